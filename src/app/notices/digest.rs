//! The weekly digest: on the configured weekday and hour (local time),
//! each county lead is sent their unit's overdue guidance (with days
//! overdue), overdue 12315 dispatches, stations due for a visit,
//! unacknowledged review items and
//! progress against 序时进度 with its rank; each inspector their units' due
//! stations and open guidance. Nobody is sent an empty digest (unless
//! configured). One per recipient and week: the register row
//! (digest, user, digest date) is written with the delivery.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::{Outgoing, item_title, optout, queue};
use crate::app::{Ctx, progress, review};
use crate::auth::{Principal, Role};
use crate::db::notices::{self as store, OpenGuidance, Recipient, To};
use crate::db::progress as progress_store;
use crate::db::{self, DbConnection};
use crate::domain::DeliveryKind;
use crate::domain::circular::date_zh;
use crate::domain::notices::digest_date;
use crate::domain::progress::Row;
use crate::error::AppError;

#[derive(Debug, Clone, Serialize)]
struct GuidanceLine {
    station_name: String,
    title: String,
    due_zh: String,
    days: i64,
}

/// An open 12315 dispatch past its deadline (county leads only).
#[derive(Debug, Clone, Serialize)]
struct DispatchLine {
    station_name: String,
    subject: String,
    received_zh: String,
    deadline_zh: String,
    days: i64,
    link: String,
}

#[derive(Debug, Clone, Serialize)]
struct StationLine {
    name: String,
    last_visit_zh: String,
    link: String,
}

#[derive(Debug, Clone, Serialize)]
struct ProgressLine {
    rate_pct: String,
    expected_pct: String,
    position_zh: String,
    rank: Option<u32>,
    of: usize,
}

#[derive(Debug, Clone, Serialize)]
struct UnitSection {
    name: String,
    overdue: Vec<GuidanceLine>,
    open: Vec<GuidanceLine>,
    due_stations: Vec<StationLine>,
    dispatches: Vec<DispatchLine>,
    unacknowledged: usize,
    progress: Option<ProgressLine>,
}

#[derive(Debug, Serialize)]
struct DigestMail {
    recipient_name: String,
    lead: bool,
    week_zh: String,
    as_of_zh: String,
    visit_interval: u32,
    units: Vec<UnitSection>,
    review_link: String,
    guidance_link: String,
    unsubscribe_url: Option<String>,
}

/// What the digest reads once per run, for every recipient.
struct Facts {
    today: NaiveDate,
    units: BTreeMap<i32, String>,
    open: Vec<OpenGuidance>,
    due: Vec<store::DueStation>,
    progress: Option<(f64, Vec<Row>)>,
}

fn facts(conn: &mut DbConnection, ctx: &Ctx) -> Result<Facts, AppError> {
    let today = ctx.today();
    let far = today.checked_add_days(Days::new(36_500)).unwrap_or(today);
    let since = today
        .checked_sub_days(Days::new(u64::from(ctx.settings.notices.visit_interval_days)))
        .unwrap_or(today);
    let progress = if progress_store::year_has_plans(conn, today.year())? {
        let period = progress::Period {
            year: Some(today.year()),
            as_of: Some(today),
        };
        let p = progress::cached(conn, ctx, &period)?;
        Some((p.expected, p.rows))
    } else {
        None
    };
    Ok(Facts {
        today,
        units: store::unit_names(conn)?.into_iter().collect(),
        open: store::open_guidance(conn, far)?,
        due: store::due_for_visit(conn, since)?,
        progress,
    })
}

fn section(conn: &mut DbConnection, ctx: &Ctx, f: &Facts, unit_id: i32, lead: bool) -> Result<UnitSection, AppError> {
    let line = |g: &OpenGuidance| GuidanceLine {
        station_name: g.station_name.clone(),
        title: item_title(ctx, &g.standard_id, &g.item_code),
        due_zh: date_zh(g.due_on),
        days: (f.today - g.due_on).num_days(),
    };
    let mine = || f.open.iter().filter(|g| g.unit_id == unit_id);
    let overdue = mine().filter(|g| g.due_on < f.today).map(line).collect();
    let open = if lead { Vec::new() } else { mine().map(line).collect() };
    let due_stations = f
        .due
        .iter()
        .filter(|(_, _, unit, _)| *unit == unit_id)
        .map(|(id, name, _, last)| StationLine {
            name: name.clone(),
            last_visit_zh: last.map_or_else(|| "尚无检查记录".to_owned(), |d| format!("上次检查{}", date_zh(d))),
            link: ctx.settings.notices.link(&format!("/stations/{id}")),
        })
        .collect();
    let row = f.progress.as_ref().and_then(|(expected, rows)| {
        rows.iter()
            .find(|r| r.unit_id == unit_id)
            .map(|r| (*expected, r, rows.len()))
    });
    let progress = row
        .filter(|(_, r, _)| r.target.is_some_and(|t| t > 0))
        .map(|(expected, r, of)| ProgressLine {
            rate_pct: r.rate.map_or_else(|| "—".to_owned(), |x| format!("{:.1}%", x * 100.0)),
            expected_pct: format!("{:.1}%", expected * 100.0),
            position_zh: crate::mail::position_zh(r.shortfall.unwrap_or(0), r.ahead.unwrap_or(0)),
            rank: r.rank,
            of,
        });
    let unacknowledged = if lead { unacknowledged(conn, ctx, unit_id)? } else { 0 };
    let dispatches = if lead {
        overdue_dispatches(conn, ctx, unit_id, f.today)?
    } else {
        Vec::new()
    };
    Ok(UnitSection {
        name: f.units.get(&unit_id).cloned().unwrap_or_default(),
        overdue,
        open,
        due_stations,
        dispatches,
        unacknowledged,
        progress,
    })
}

/// The unit's open dispatches past a deadline: past `respond_by` when not
/// answered yet, else past `close_by` (figures and subject only, never the
/// consumer).
fn overdue_dispatches(
    conn: &mut DbConnection,
    ctx: &Ctx,
    unit_id: i32,
    today: NaiveDate,
) -> Result<Vec<DispatchLine>, AppError> {
    let cases = crate::app::disputes::overdue_dispatches(conn, &Principal::system("digest"), unit_id, today)?;
    let ids: Vec<i32> = cases.iter().map(|d| d.station_id).collect();
    let names = crate::app::disputes::station_names(conn, &ids)?;
    Ok(cases
        .into_iter()
        .map(|d| {
            let deadline = if d.responded_on.is_none() && d.respond_by < today {
                d.respond_by
            } else {
                d.close_by
            };
            DispatchLine {
                station_name: names.get(&d.station_id).cloned().unwrap_or_default(),
                subject: d.subject,
                received_zh: date_zh(d.received_on),
                deadline_zh: date_zh(deadline),
                days: (today - deadline).num_days(),
                link: ctx.settings.notices.link(&format!("/disputes/{}", d.id)),
            }
        })
        .collect())
}

/// The unit's review items nobody has acknowledged (a progress row only
/// when it lags).
fn unacknowledged(conn: &mut DbConnection, ctx: &Ctx, unit_id: i32) -> Result<usize, AppError> {
    let q = review::queue(conn, ctx, &Principal::system("digest"), Some(unit_id))?;
    let progress = q
        .progress
        .iter()
        .filter(|p| p.item.lagging && p.acknowledgement.is_none())
        .count();
    let stations = q.stations.iter().filter(|s| s.acknowledgement.is_none()).count();
    let guidance = q
        .overdue_guidance
        .iter()
        .filter(|g| g.acknowledgement.is_none())
        .count();
    Ok(progress + stations + guidance)
}

fn is_empty(units: &[UnitSection]) -> bool {
    units.iter().all(|u| {
        u.overdue.is_empty()
            && u.open.is_empty()
            && u.due_stations.is_empty()
            && u.dispatches.is_empty()
            && u.unacknowledged == 0
    })
}

/// Sends the digest due at `now`, if one is: (its date, digests queued).
pub fn run(conn: &mut DbConnection, ctx: &Ctx, now: NaiveDateTime) -> Result<(Option<NaiveDate>, usize), AppError> {
    let s = &ctx.settings.notices;
    let Some(week) = digest_date(now, s.digest_weekday, s.digest_hour, s.catch_up_days) else {
        return Ok((None, 0));
    };
    let optouts = store::all_optouts(conn)?;
    // Those sent this week already are skipped before anything is built
    // (the register row decides, in `send_once`; this only saves work).
    let done = store::registered(conn, DeliveryKind::Digest, &period_key(week))?;
    let mut people: BTreeMap<i32, (Recipient, Vec<i32>)> = BTreeMap::new();
    for r in store::users_in_units(conn, &[Role::CountyLead, Role::Inspector])? {
        if r.email.is_none()
            || optouts.contains(&(r.user_id, DeliveryKind::Digest))
            || done.contains(&recipient_key(r.user_id))
        {
            continue;
        }
        let unit = r.unit_id;
        people.entry(r.user_id).or_insert_with(|| (r, Vec::new())).1.push(unit);
    }
    if people.is_empty() {
        return Ok((Some(week), 0));
    }
    let f = facts(conn, ctx)?;
    let mut sent = 0;
    for (user, units) in people.values() {
        let lead = user.role == Role::CountyLead;
        let sections = units
            .iter()
            .map(|u| section(conn, ctx, &f, *u, lead))
            .collect::<Result<Vec<_>, _>>()?;
        if is_empty(&sections) && !s.digest_when_empty {
            continue;
        }
        let mail = DigestMail {
            recipient_name: user.name.clone(),
            lead,
            week_zh: date_zh(week),
            as_of_zh: date_zh(f.today),
            visit_interval: s.visit_interval_days,
            units: sections,
            review_link: s.link("/review"),
            guidance_link: s.link("/guidance"),
            unsubscribe_url: Some(optout::unsubscribe_url(conn, ctx, user.user_id, DeliveryKind::Digest)?),
        };
        sent += usize::from(send_once(conn, user, &mail, week)?);
    }
    Ok((Some(week), sent))
}

fn recipient_key(user_id: i32) -> String {
    format!("user:{user_id}")
}

fn period_key(week: NaiveDate) -> String {
    format!("digest/{week}")
}

/// In one transaction: the register row for (digest, user, week) and, if
/// this run took it, the digest's delivery.
fn send_once(conn: &mut DbConnection, user: &Recipient, mail: &DigestMail, week: NaiveDate) -> Result<bool, AppError> {
    let Some(email) = user.email.as_deref() else {
        return Ok(false);
    };
    let rendered = crate::mail::render_notice(DeliveryKind::Digest, mail)?;
    let recipient = recipient_key(user.user_id);
    let key = period_key(week);
    db::write_tx(conn, |conn| {
        if !store::take(conn, DeliveryKind::Digest, &recipient, &key, db::now())? {
            return Ok(false);
        }
        let delivery = queue(
            conn,
            &Outgoing {
                kind: DeliveryKind::Digest,
                rendered: &rendered,
                attachment: None,
                unsubscribe_url: mail.unsubscribe_url.as_deref(),
                to: To {
                    name: &user.name,
                    email,
                    unit_id: Some(user.unit_id),
                    copy: false,
                },
                reference: &key,
            },
        )?;
        store::link(
            conn,
            DeliveryKind::Digest,
            &recipient,
            std::slice::from_ref(&key),
            delivery,
        )?;
        Ok(true)
    })
}
