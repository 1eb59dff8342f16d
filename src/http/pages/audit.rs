//! The audit log page (审计日志): who did what to which record, in
//! Chinese, with the changed fields listed, filters a clerk can use
//! (unit, user, kind of object, days in the service's zone) and paging by
//! key past the first hundred entries.

use std::collections::HashMap;

use actix_web::web;
use chrono::{NaiveDate, TimeZone};
use minijinja::{Value, context};

use super::{PageResult, Viewer, render, val};
use crate::app::audit::{self, AuditQuery};
use crate::app::{Ctx, users};
use crate::domain::audit_words::{self, ENTITIES};
use crate::error::{AppError, FieldErrors};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/audit", web::get().to(audit_page));
}

/// Entries on one page.
const PER_PAGE: i64 = 100;

/// The filter fields the page keeps from one page to the next.
const KEPT: [&str; 5] = ["entity", "unit_id", "user", "from", "to"];

/// The audit page's link to the next older page: the same filter, by key.
fn older_link(query: &HashMap<String, String>, after: i32) -> String {
    let mut keep: Vec<(&str, String)> = KEPT
        .into_iter()
        .filter_map(|k| super::filled(query, k).map(|v| (k, v)))
        .collect();
    keep.push(("after", after.to_string()));
    format!("/audit?{}", serde_urlencoded::to_string(&keep).unwrap_or_default())
}

/// The first page of the same filter.
fn newest_link(query: &HashMap<String, String>) -> String {
    let keep: Vec<(&str, String)> = KEPT
        .into_iter()
        .filter_map(|k| super::filled(query, k).map(|v| (k, v)))
        .collect();
    format!("/audit?{}", serde_urlencoded::to_string(&keep).unwrap_or_default())
}

/// A day picked on the page is a day in the service's zone: its start (or,
/// for `to`, the next day's start) as an RFC 3339 moment for the log.
fn local_day(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<String>,
    tz: chrono_tz::Tz,
    end: bool,
) -> Option<String> {
    let v = value?;
    let Ok(day) = NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d") else {
        errors.add(field, "日期格式应为 年-月-日，例如 2017-07-14");
        return None;
    };
    let day = if end { day.succ_opt().unwrap_or(day) } else { day };
    let start = day.and_hms_opt(0, 0, 0)?;
    match tz.from_local_datetime(&start).earliest() {
        Some(t) => Some(t.to_rfc3339()),
        None => {
            errors.add(field, "该日期在本时区不存在");
            None
        }
    }
}

async fn audit_page(ctx: web::Data<Ctx>, v: Viewer, query: web::Query<HashMap<String, String>>) -> PageResult {
    let mut errors = FieldErrors::new();
    let from = local_day(&mut errors, "from", super::filled(&query, "from"), v.tz, false);
    let to = local_day(&mut errors, "to", super::filled(&query, "to"), v.tz, true);
    errors.into_result()?;
    let q = AuditQuery {
        entity: super::filled(&query, "entity"),
        entity_id: super::filled(&query, "entity_id"),
        user: super::filled(&query, "user"),
        unit_id: super::filled(&query, "unit_id"),
        from,
        to,
        page: None,
        per_page: Some(PER_PAGE.to_string()),
        after: super::filled(&query, "after"),
    };
    let p = v.p.clone();
    let (page, accounts, units) = ctx
        .run(move |conn, _| {
            let page = audit::list(conn, &p, q)?;
            let accounts = users::list(conn, &p)?;
            Ok::<_, AppError>((page, accounts, crate::app::units::list(conn)?))
        })
        .await?;
    let names: HashMap<String, String> = accounts
        .iter()
        .map(|u| (u.user.username.clone(), u.user.display_name.clone()))
        .collect();
    let unit_names: HashMap<i32, String> = units.iter().map(|u| (u.id, u.name.clone())).collect();
    let items: Vec<Value> = page
        .items
        .iter()
        .map(|e| {
            let object = [&e.after, &e.before]
                .into_iter()
                .flatten()
                .find_map(|snapshot| {
                    ["name", "number", "display_name", "station_name", "subject"]
                        .iter()
                        .find_map(|k| snapshot.get(*k).and_then(|n| n.as_str()).map(str::to_owned))
                })
                .unwrap_or_else(|| format!("编号{}", e.entity_id));
            context! {
                at => chrono::Utc.from_utc_datetime(&e.at).with_timezone(&v.tz).format("%Y-%m-%d %H:%M:%S").to_string(),
                actor => audit_words::actor_zh(&e.username, &names),
                action => audit_words::action_zh(&e.action),
                entity => audit_words::entity_zh(&e.entity),
                object,
                changes => val(audit_words::changes(e.before.as_ref(), e.after.as_ref(), &unit_names)),
            }
        })
        .collect();
    let mut people: Vec<(String, String)> = accounts
        .iter()
        .map(|u| {
            (
                u.user.username.clone(),
                format!("{}（{}）", u.user.display_name, u.user.role.label_zh()),
            )
        })
        .collect();
    people.sort();
    let entities: Vec<(&str, &str)> = ENTITIES.to_vec();
    let filtered = KEPT.iter().any(|k| super::filled(&query, k).is_some());
    render(
        "audit.html",
        Some(&v),
        "审计日志",
        None,
        context! {
            page => context! { items, total => page.total, exact => page.total_exact },
            older => page.next_after.map(|a| older_link(&query, a)),
            newest => query.get("after").map(|_| newest_link(&query)),
            filtered,
            people, entities, units => val(&units),
            q => query.into_inner(),
        },
    )
}
