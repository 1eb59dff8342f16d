//! Deadline reminders: `reminder_days` before a guidance deadline the
//! station's liaison is reminded; the day after it, the unit's inspectors
//! and county lead are told it is overdue. One email per recipient and run
//! lists every item due for them; each item is registered once per
//! recipient (its period key names the guidance and its due date, so a
//! moved deadline is reminded again).

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::Serialize;

use super::{Outgoing, item_title, optout, queue};
use crate::app::Ctx;
use crate::auth::Role;
use crate::db::notices::{self as store, OpenGuidance, To};
use crate::db::{self, DbConnection};
use crate::domain::DeliveryKind;
use crate::domain::circular::date_zh;
use crate::domain::notices::{overdue_due, reminder_due};
use crate::error::AppError;

#[derive(Debug, Serialize)]
struct Item {
    station_name: String,
    title: String,
    instruction: String,
    due_zh: String,
    /// "还有3天" or "已逾期2天".
    when_zh: String,
}

#[derive(Debug, Serialize)]
struct ReminderMail {
    recipient_name: String,
    overdue: bool,
    unit_name: String,
    station_name: String,
    first_due_zh: String,
    items: Vec<Item>,
    link: String,
    unsubscribe_url: Option<String>,
}

fn item(ctx: &Ctx, g: &OpenGuidance, today: NaiveDate) -> Item {
    let days = (g.due_on - today).num_days();
    Item {
        station_name: g.station_name.clone(),
        title: item_title(ctx, &g.standard_id, &g.item_code),
        instruction: g.instruction.clone(),
        due_zh: date_zh(g.due_on),
        when_zh: if days >= 0 {
            format!("还有{days}天")
        } else {
            format!("已逾期{}天", -days)
        },
    }
}

/// Sends what is due on `today`: (liaison reminders, overdue notices) queued.
pub fn run(conn: &mut DbConnection, ctx: &Ctx, today: NaiveDate) -> Result<(usize, usize), AppError> {
    let s = &ctx.settings.notices;
    let horizon = today
        .checked_add_days(Days::new(u64::from(s.reminder_days)))
        .unwrap_or(today);
    let open = store::open_guidance(conn, horizon)?;
    let units: BTreeMap<i32, String> = store::unit_names(conn)?.into_iter().collect();
    let mut by_station: BTreeMap<i32, Vec<&OpenGuidance>> = BTreeMap::new();
    let mut by_unit: BTreeMap<i32, Vec<&OpenGuidance>> = BTreeMap::new();
    for g in &open {
        if g.liaison_email.is_some() && reminder_due(g.due_on, today, s.reminder_days, s.catch_up_days) {
            by_station.entry(g.station_id).or_default().push(g);
        }
        if overdue_due(g.due_on, today, s.catch_up_days) {
            by_unit.entry(g.unit_id).or_default().push(g);
        }
    }
    let mut reminders = 0;
    for items in by_station.values() {
        reminders += usize::from(remind_liaison(conn, ctx, today, &units, items)?);
    }
    let mut overdue = 0;
    if !by_unit.is_empty() {
        let optouts = store::all_optouts(conn)?;
        let staff = store::users_in_units(conn, &[Role::Inspector, Role::CountyLead])?;
        for (unit_id, items) in &by_unit {
            for user in staff.iter().filter(|u| u.unit_id == *unit_id) {
                if optouts.contains(&(user.user_id, DeliveryKind::Reminder)) {
                    continue;
                }
                overdue += usize::from(tell_overdue(conn, ctx, today, &units, user, items)?);
            }
        }
    }
    Ok((reminders, overdue))
}

/// One station's liaison: the items whose reminder is due and not yet sent.
fn remind_liaison(
    conn: &mut DbConnection,
    ctx: &Ctx,
    today: NaiveDate,
    units: &BTreeMap<i32, String>,
    items: &[&OpenGuidance],
) -> Result<bool, AppError> {
    let Some(first) = items.first() else {
        return Ok(false);
    };
    let Some(email) = first.liaison_email.clone() else {
        return Ok(false);
    };
    let recipient = format!("liaison:{}", first.station_id);
    let mail = ReminderMail {
        recipient_name: first.liaison_name.clone(),
        overdue: false,
        unit_name: units.get(&first.unit_id).cloned().unwrap_or_default(),
        station_name: first.station_name.clone(),
        first_due_zh: date_zh(first.due_on),
        items: Vec::new(),
        link: ctx.settings.notices.link(&format!("/stations/{}", first.station_id)),
        unsubscribe_url: None,
    };
    let to = To {
        name: &first.liaison_name,
        email: &email,
        unit_id: Some(first.unit_id),
        copy: false,
    };
    send_once(conn, ctx, today, &recipient, items, mail, to, |g| {
        format!("guidance/{}/due/{}", g.id, g.due_on)
    })
}

/// One inspector or county lead: the unit's items newly overdue.
fn tell_overdue(
    conn: &mut DbConnection,
    ctx: &Ctx,
    today: NaiveDate,
    units: &BTreeMap<i32, String>,
    user: &store::Recipient,
    items: &[&OpenGuidance],
) -> Result<bool, AppError> {
    let Some(email) = user.email.clone() else {
        return Ok(false);
    };
    let recipient = format!("user:{}", user.user_id);
    let unsubscribe = optout::unsubscribe_url(conn, ctx, user.user_id, DeliveryKind::Reminder)?;
    let mail = ReminderMail {
        recipient_name: user.name.clone(),
        overdue: true,
        unit_name: units.get(&user.unit_id).cloned().unwrap_or_default(),
        station_name: String::new(),
        first_due_zh: String::new(),
        items: Vec::new(),
        link: ctx.settings.notices.link("/guidance?status=overdue"),
        unsubscribe_url: Some(unsubscribe),
    };
    let to = To {
        name: &user.name,
        email: &email,
        unit_id: Some(user.unit_id),
        copy: false,
    };
    send_once(conn, ctx, today, &recipient, items, mail, to, |g| {
        format!("guidance/{}/overdue/{}", g.id, g.due_on)
    })
}

/// In one transaction: takes the register row of every item for this
/// recipient; the items taken (not sent before) go into one email, queued
/// with its delivery. Returns whether an email was queued.
#[allow(clippy::too_many_arguments)]
fn send_once(
    conn: &mut DbConnection,
    ctx: &Ctx,
    today: NaiveDate,
    recipient: &str,
    items: &[&OpenGuidance],
    mut mail: ReminderMail,
    to: To,
    period: impl Fn(&OpenGuidance) -> String,
) -> Result<bool, AppError> {
    db::write_tx(conn, |conn| {
        let now = db::now();
        let mut taken = Vec::new();
        for g in items {
            let key = period(g);
            if store::take(conn, DeliveryKind::Reminder, recipient, &key, now)? {
                taken.push((key, *g));
            }
        }
        if taken.is_empty() {
            return Ok(false);
        }
        mail.items = taken.iter().map(|(_, g)| item(ctx, g, today)).collect();
        let rendered = crate::mail::render_notice(DeliveryKind::Reminder, &mail)?;
        let keys: Vec<String> = taken.iter().map(|(k, _)| k.clone()).collect();
        let reference = format!("reminder/{today}");
        let delivery = queue(
            conn,
            &Outgoing {
                kind: DeliveryKind::Reminder,
                rendered: &rendered,
                attachment: None,
                unsubscribe_url: mail.unsubscribe_url.as_deref(),
                to,
                reference: &reference,
            },
        )?;
        store::link(conn, DeliveryKind::Reminder, recipient, &keys, delivery)?;
        Ok(true)
    })
}
