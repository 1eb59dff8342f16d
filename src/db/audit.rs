//! The audit log: append-only (this module has no update or delete).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::audit_log;

#[derive(Debug, Clone, Queryable, PartialEq)]
pub struct AuditEntry {
    pub id: i32,
    pub at: NaiveDateTime,
    pub user_id: Option<i32>,
    pub username: String,
    pub action: String,
    pub entity: String,
    pub entity_id: String,
    pub before_value: Option<String>,
    pub after_value: Option<String>,
}

// `None` as NULL: one SQL text, prepared once per connection.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log, treat_none_as_default_value = false)]
pub struct NewEntry<'a> {
    pub at: NaiveDateTime,
    pub user_id: Option<i32>,
    pub username: &'a str,
    pub action: &'a str,
    pub entity: &'a str,
    pub entity_id: &'a str,
    pub before_value: Option<&'a str>,
    pub after_value: Option<&'a str>,
}

pub fn append(conn: &mut DbConnection, e: &NewEntry) -> QueryResult<usize> {
    // Every write appends: on the backend's own connection.
    native!(conn, |c| diesel::insert_into(audit_log::table).values(e).execute(c))
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub entity: Option<String>,
    pub entity_id: Option<String>,
    pub username: Option<String>,
    pub from: Option<NaiveDateTime>,
    pub to: Option<NaiveDateTime>,
    /// Entries about one unit: the unit itself, its plans, and records
    /// whose kept values name it (`unit_id`, or `units` of an account).
    pub unit_id: Option<i32>,
}

fn filtered(f: &Filter) -> audit_log::BoxedQuery<'static, super::MultiBackend> {
    let mut q = audit_log::table.into_boxed();
    if let Some(e) = &f.entity {
        q = q.filter(audit_log::entity.eq(e.clone()));
    }
    if let Some(id) = &f.entity_id {
        q = q.filter(audit_log::entity_id.eq(id.clone()));
    }
    if let Some(u) = &f.username {
        q = q.filter(audit_log::username.eq(u.clone()));
    }
    if let Some(from) = f.from {
        q = q.filter(audit_log::at.ge(from));
    }
    if let Some(to) = f.to {
        q = q.filter(audit_log::at.lt(to));
    }
    if let Some(unit) = f.unit_id {
        // serde_json writes compactly: `"unit_id":5,` or `"unit_id":5}`;
        // an account's units as `"units":[5]` or `"units":[5,6]` (its
        // first unit only: LIKE cannot look inside the list safely).
        let patterns = [
            format!("%\"unit_id\":{unit},%"),
            format!("%\"unit_id\":{unit}}}%"),
            format!("%\"units\":[{unit}]%"),
            format!("%\"units\":[{unit},%"),
        ];
        let mut about: Box<
            dyn BoxableExpression<audit_log::table, super::MultiBackend, SqlType = diesel::sql_types::Bool>,
        > = Box::new(
            audit_log::entity
                .eq("unit")
                .and(audit_log::entity_id.eq(unit.to_string()))
                .or(audit_log::entity
                    .eq("plan")
                    .and(audit_log::entity_id.like(format!("{unit}/%")))),
        );
        for pattern in patterns {
            about = Box::new(
                about
                    .or(audit_log::after_value.like(pattern.clone()).assume_not_null())
                    .or(audit_log::before_value.like(pattern).assume_not_null()),
            );
        }
        q = q.filter(about);
    }
    q
}

/// Counting stops here: past it the log says "more than" instead of
/// counting a million entries on every first page.
pub const COUNT_CAP: i64 = 10_000;

/// One page of the log, newest first, and how many match (exact up to
/// [`COUNT_CAP`], else the cap with `false`). With `after` the page is the
/// `per_page` entries older than that one (keyset by id: no entries
/// skipped however deep) and nothing is counted.
pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    page: i64,
    per_page: i64,
    after: Option<i32>,
) -> QueryResult<(Vec<AuditEntry>, Option<i64>, bool)> {
    let (total, exact) = match after {
        Some(_) => (None, false),
        None => {
            let ids: Vec<i32> = filtered(f).select(audit_log::id).limit(COUNT_CAP + 1).load(conn)?;
            let n = ids.len() as i64;
            (Some(n.min(COUNT_CAP)), n <= COUNT_CAP)
        }
    };
    let query = filtered(f).order(audit_log::id.desc()).limit(per_page);
    let query = match after {
        Some(a) => query.filter(audit_log::id.lt(a)),
        None => query.offset((page - 1) * per_page),
    };
    let items = query.select(audit_log::all_columns).load(conn)?;
    Ok((items, total, exact))
}
