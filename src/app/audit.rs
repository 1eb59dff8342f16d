//! Appending to and reading the audit log. Every write use case calls
//! [`record`] inside its own transaction, so the entry and the change land
//! together or not at all.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Page, clean, paging};
use crate::auth::Principal;
use crate::auth::policy::{self, Admin};
use crate::db::audit::{self as store, AuditEntry, Filter, NewEntry};
use crate::db::{self, DbConnection};
use crate::error::{AppError, FieldErrors};

/// A value as the audit log keeps it.
pub fn snapshot<T: Serialize>(value: &T) -> Option<Value> {
    serde_json::to_value(value).ok()
}

pub fn record(
    conn: &mut DbConnection,
    p: &Principal,
    action: &str,
    entity: &str,
    entity_id: impl ToString,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<(), AppError> {
    let before = before.map(|v| v.to_string());
    let after = after.map(|v| v.to_string());
    append(conn, p, action, entity, &entity_id.to_string(), before, after)
}

/// [`record`] of something created, serialised once straight to text (a
/// [`snapshot`] builds a `Value` first and prints it: twice the work, which
/// on a hot path runs on SQLite's one writer thread).
pub fn record_created<T: Serialize>(
    conn: &mut DbConnection,
    p: &Principal,
    action: &str,
    entity: &str,
    entity_id: impl ToString,
    created: &T,
) -> Result<(), AppError> {
    let after = serde_json::to_string(created).ok();
    append(conn, p, action, entity, &entity_id.to_string(), None, after)
}

fn append(
    conn: &mut DbConnection,
    p: &Principal,
    action: &str,
    entity: &str,
    entity_id: &str,
    before: Option<String>,
    after: Option<String>,
) -> Result<(), AppError> {
    store::append(
        conn,
        &NewEntry {
            at: db::now(),
            user_id: p.user_id,
            username: &p.username,
            action,
            entity,
            entity_id,
            before_value: before.as_deref(),
            after_value: after.as_deref(),
        },
    )?;
    Ok(())
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct AuditQuery {
    /// `station`, `visit`, `user`, `token`, `circular` …
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    /// A username.
    pub user: Option<String>,
    /// Entries about one unit: the unit, its plans and records whose
    /// values name it (`unit_id`; an account's first unit).
    #[param(value_type = Option<i32>, minimum = 1)]
    pub unit_id: Option<String>,
    /// From this day or moment, inclusive: `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM:SS` (UTC) or RFC 3339.
    pub from: Option<String>,
    /// Up to this day or moment (UTC), inclusive.
    pub to: Option<String>,
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000000)]
    pub page: Option<String>,
    /// Items per page (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub per_page: Option<String>,
    /// Keyset pagination: the entries older than this one (the previous
    /// page's `next_after`); cannot be combined with `page`.
    #[param(value_type = Option<i32>, minimum = 1)]
    pub after: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryView {
    pub id: i32,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub at: NaiveDateTime,
    pub user_id: Option<i32>,
    pub username: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

fn view(e: AuditEntry) -> EntryView {
    let parse = |s: Option<String>| s.and_then(|t| serde_json::from_str(&t).ok());
    EntryView {
        id: e.id,
        at: e.at,
        user_id: e.user_id,
        username: e.username,
        action: e.action,
        entity: e.entity,
        entity_id: e.entity_id,
        before: parse(e.before_value),
        after: parse(e.after_value),
    }
}

fn moment(errors: &mut FieldErrors, field: &str, value: Option<String>, end_of_day: bool) -> Option<NaiveDateTime> {
    let v = super::query_param(errors, field, value)?;
    if let Ok(t) = NaiveDateTime::parse_from_str(&v, "%Y-%m-%dT%H:%M:%S") {
        return Some(t);
    }
    // As the log shows its times: RFC 3339 with an offset.
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(&v) {
        return Some(t.naive_utc());
    }
    match NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
        Ok(d) => {
            let d = if end_of_day { d.succ_opt().unwrap_or(d) } else { d };
            d.and_hms_opt(0, 0, 0)
        }
        Err(_) => {
            errors.add(
                field,
                "应为 YYYY-MM-DD、YYYY-MM-DDTHH:MM:SS（UTC）或带时区的 RFC 3339 时间",
            );
            None
        }
    }
}

/// The log, newest first; `to` given as a date includes that whole day.
/// By page number, or by key (`after` = the previous page's `next_after`),
/// which costs the same however deep into a long log.
pub fn list(conn: &mut DbConnection, p: &Principal, q: AuditQuery) -> Result<Page<EntryView>, AppError> {
    policy::require_admin(p, Admin::ReadAudit)?;
    let mut errors = FieldErrors::new();
    let from = moment(&mut errors, "from", q.from, false);
    let to = moment(&mut errors, "to", q.to, true);
    let page_given = q.page.is_some();
    let (page, per_page) = paging(&mut errors, q.page, q.per_page);
    let after = super::int_param(&mut errors, "after", q.after, 1..=i64::from(i32::MAX)).map(|a| a as i32);
    let unit_id = super::int_param(&mut errors, "unit_id", q.unit_id, 1..=i64::from(i32::MAX)).map(|u| u as i32);
    if after.is_some() && page_given {
        errors.add("after", "after 与 page 只能用其一");
    }
    errors.into_result()?;
    let filter = Filter {
        entity: clean(q.entity),
        entity_id: clean(q.entity_id),
        username: clean(q.user),
        from,
        to,
        unit_id,
    };
    let (rows, total, total_exact) = store::list(conn, &filter, page, per_page, after)?;
    let next_after = (rows.len() as i64 == per_page)
        .then(|| rows.last().map(|e| e.id))
        .flatten();
    Ok(Page {
        items: rows.into_iter().map(view).collect(),
        total,
        total_exact,
        page,
        per_page,
        next_after,
    })
}
