//! The station registry (名录) and its status history.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{station_status_changes, stations};
use crate::domain::{Category, StationStatus};

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = stations)]
pub struct Station {
    pub id: i32,
    pub unit_id: i32,
    pub name: String,
    pub host_business: String,
    pub credit_code: Option<String>,
    pub category: Category,
    pub address: String,
    pub liaison_name: String,
    pub liaison_phone: String,
    pub standard_id: String,
    pub status: StationStatus,
    pub established_on: Option<NaiveDate>,
    pub revoked_on: Option<NaiveDate>,
    pub version: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// Whether the latest counted visit found every required item met;
    /// null before the first visit.
    pub compliant: Option<bool>,
    pub last_visit_on: Option<NaiveDate>,
    /// Where guidance notices and deadline reminders go (optional).
    pub liaison_email: Option<String>,
}

/// The editable fields of a station, all of them, as written.
#[derive(Debug, Clone, Insertable, AsChangeset)]
#[diesel(table_name = stations, treat_none_as_null = true)]
pub struct StationFields {
    pub unit_id: i32,
    pub name: String,
    pub host_business: String,
    pub credit_code: Option<String>,
    pub category: Category,
    pub address: String,
    pub liaison_name: String,
    pub liaison_phone: String,
    pub standard_id: String,
    pub established_on: Option<NaiveDate>,
    pub liaison_email: Option<String>,
}

#[derive(Debug, Clone, Queryable, PartialEq)]
pub struct StatusChange {
    pub id: i32,
    pub station_id: i32,
    pub from_status: StationStatus,
    pub to_status: StationStatus,
    pub reason: String,
    pub effective_on: NaiveDate,
    pub created_at: NaiveDateTime,
    /// The visit that made the change, if a visit did.
    pub visit_id: Option<i32>,
}

pub fn insert(
    conn: &mut DbConnection,
    f: &StationFields,
    status: StationStatus,
    at: NaiveDateTime,
) -> QueryResult<Station> {
    diesel::insert_into(stations::table)
        .values((
            f,
            stations::status.eq(status),
            stations::version.eq(1),
            stations::created_at.eq(at),
            stations::updated_at.eq(at),
        ))
        .returning(stations::all_columns)
        .get_result(conn)
}

/// The first station with this credit code (an import's first match).
pub fn by_credit_code(conn: &mut DbConnection, code: &str) -> QueryResult<Option<Station>> {
    stations::table
        .filter(stations::credit_code.eq(code))
        .order(stations::id.asc())
        .select(stations::all_columns)
        .first(conn)
        .optional()
}

/// The first station of `unit_id` named `name` (an import's second match).
pub fn by_unit_and_name(conn: &mut DbConnection, unit_id: i32, name: &str) -> QueryResult<Option<Station>> {
    stations::table
        .filter(stations::unit_id.eq(unit_id).and(stations::name.eq(name)))
        .order(stations::id.asc())
        .select(stations::all_columns)
        .first(conn)
        .optional()
}

pub fn get(conn: &mut DbConnection, id: i32) -> QueryResult<Option<Station>> {
    // Read by nearly every request, on the backend's own connection.
    native!(conn, |c| stations::table
        .find(id)
        .select(stations::all_columns)
        .first(c)
        .optional())
}

/// Writes `f` if the stored version is still `version`; returns the new row,
/// or `None` when someone else changed it first (or it does not exist).
pub fn update_if_version(
    conn: &mut DbConnection,
    id: i32,
    version: i32,
    f: &StationFields,
    at: NaiveDateTime,
) -> QueryResult<Option<Station>> {
    let n = diesel::update(
        stations::table
            .filter(stations::id.eq(id))
            .filter(stations::version.eq(version)),
    )
    .set((f, stations::version.eq(version + 1), stations::updated_at.eq(at)))
    .execute(conn)?;
    if n == 0 { Ok(None) } else { get(conn, id) }
}

/// Moves a station to `to` if it is still at `version`, and records why.
#[allow(clippy::too_many_arguments)]
pub fn set_status(
    conn: &mut DbConnection,
    station: &Station,
    to: StationStatus,
    established_on: Option<NaiveDate>,
    revoked_on: Option<NaiveDate>,
    reason: &str,
    effective_on: NaiveDate,
    at: NaiveDateTime,
    visit_id: Option<i32>,
) -> QueryResult<Option<Station>> {
    let n = diesel::update(
        stations::table
            .filter(stations::id.eq(station.id))
            .filter(stations::version.eq(station.version)),
    )
    .set((
        stations::status.eq(to),
        stations::established_on.eq(established_on),
        stations::revoked_on.eq(revoked_on),
        stations::version.eq(station.version + 1),
        stations::updated_at.eq(at),
    ))
    .execute(conn)?;
    if n == 0 {
        return Ok(None);
    }
    diesel::insert_into(station_status_changes::table)
        .values((
            station_status_changes::station_id.eq(station.id),
            station_status_changes::from_status.eq(station.status),
            station_status_changes::to_status.eq(to),
            station_status_changes::reason.eq(reason),
            station_status_changes::effective_on.eq(effective_on),
            station_status_changes::created_at.eq(at),
            station_status_changes::visit_id.eq(visit_id),
        ))
        .execute(conn)?;
    get(conn, station.id)
}

/// At most `limit` status changes of a station, newest first, older than
/// change `before` (keyset by id: a page costs the same however long the
/// station's history).
pub fn status_history(
    conn: &mut DbConnection,
    station_id: i32,
    before: Option<i32>,
    limit: i64,
) -> QueryResult<Vec<StatusChange>> {
    station_status_changes::table
        .filter(station_status_changes::station_id.eq(station_id))
        .filter(station_status_changes::id.lt(before.unwrap_or(i32::MAX)))
        .order(station_status_changes::id.desc())
        .limit(limit)
        .select(station_status_changes::all_columns)
        .load(conn)
}

#[derive(Debug, Default, Clone)]
pub struct Filter {
    pub unit_id: Option<i32>,
    /// Only these units (the reader's scope); None = all.
    pub units: Option<Vec<i32>>,
    pub status: Option<StationStatus>,
    pub category: Option<Category>,
    pub q: Option<String>,
}

fn filtered<'a>(f: &'a Filter) -> stations::BoxedQuery<'a, super::MultiBackend> {
    let mut query = stations::table.into_boxed();
    if let Some(u) = f.unit_id {
        query = query.filter(stations::unit_id.eq(u));
    }
    if let Some(units) = &f.units {
        query = query.filter(stations::unit_id.eq_any(units));
    }
    if let Some(s) = &f.status {
        query = query.filter(stations::status.eq(s));
    }
    if let Some(c) = &f.category {
        query = query.filter(stations::category.eq(c));
    }
    if let Some(q) = &f.q {
        let pattern = format!("%{}%", escape_like(q));
        query = query.filter(
            stations::name
                .like(pattern.clone())
                .escape('\\')
                .or(stations::host_business.like(pattern).escape('\\')),
        );
    }
    query
}

/// Escapes LIKE wildcards so that a search for "100%" finds "100%".
fn escape_like(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One page of stations matching `f`, ordered by id, and the total count.
#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// How many stations match, counting at most [`COUNT_CAP`] + 1 of them in
/// one statement: `SELECT count(*) FROM (SELECT 1 ... LIMIT cap + 1)`.
fn capped_count(conn: &mut DbConnection, f: &Filter) -> QueryResult<(i64, bool)> {
    use diesel::sql_types::{Integer, Text};
    let mut sql = String::from("SELECT COUNT(*) AS n FROM (SELECT 1 FROM stations WHERE 1 = 1");
    if f.unit_id.is_some() {
        sql.push_str(" AND unit_id = ?");
    }
    if let Some(units) = &f.units {
        // Ids are integers from the policy, never user text.
        let list: Vec<String> = units.iter().map(i32::to_string).collect();
        sql.push_str(&format!(
            " AND unit_id IN ({})",
            if list.is_empty() { "NULL".into() } else { list.join(",") }
        ));
    }
    if f.status.is_some() {
        sql.push_str(" AND status = ?");
    }
    if f.category.is_some() {
        sql.push_str(" AND category = ?");
    }
    let pattern = f.q.as_ref().map(|q| format!("%{}%", escape_like(q)));
    if pattern.is_some() {
        sql.push_str(" AND (name LIKE ? ESCAPE '\\' OR host_business LIKE ? ESCAPE '\\')");
    }
    sql.push_str(&format!(" LIMIT {}) AS capped", COUNT_CAP + 1));
    let sql = super::placeholders(&sql, conn.backend());
    let mut q = diesel::sql_query(sql).into_boxed::<super::MultiBackend>();
    if let Some(u) = f.unit_id {
        q = q.bind::<Integer, _>(u);
    }
    if let Some(s) = &f.status {
        q = q.bind::<Text, _>(*s);
    }
    if let Some(c) = &f.category {
        q = q.bind::<Text, _>(*c);
    }
    if let Some(p) = &pattern {
        q = q.bind::<Text, _>(p.clone()).bind::<Text, _>(p.clone());
    }
    let n = q.get_result::<Count>(conn)?.n;
    Ok(if n > COUNT_CAP { (COUNT_CAP, false) } else { (n, true) })
}

/// Id order; within one unit as (unit_id, id), which is the same order
/// but lets the database use the (unit_id, id) index.
fn ordered<'a>(
    q: stations::BoxedQuery<'a, super::MultiBackend>,
    f: &Filter,
) -> stations::BoxedQuery<'a, super::MultiBackend> {
    if f.unit_id.is_some() {
        q.order((stations::unit_id.asc(), stations::id.asc()))
    } else {
        q.order(stations::id.asc())
    }
}

/// Counting stops here: past it a list says "more than" instead of
/// counting every row of a province on every page.
pub const COUNT_CAP: i64 = 10_000;

/// One page of stations and how many match: exact up to [`COUNT_CAP`],
/// else the cap with `false`. With `after` the page is the `per_page`
/// stations with ids above it (keyset: no rows skipped however deep) and
/// nothing is counted.
pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    page: i64,
    per_page: i64,
    after: Option<i32>,
) -> QueryResult<(Vec<Station>, Option<i64>, bool)> {
    let (total, exact) = match after {
        Some(_) => (None, false),
        None => capped_count(conn, f).map(|(n, exact)| (Some(n), exact))?,
    };
    let mut query = ordered(filtered(f), f).limit(per_page);
    query = match after {
        Some(a) => query.filter(stations::id.gt(a)),
        None => query.offset((page - 1) * per_page),
    };
    let items = query.select(stations::all_columns).load(conn)?;
    Ok((items, total, exact))
}

/// Stations of `units` due for a visit: planned ones (awaiting their
/// acceptance) first, then those not visited since before `before` (never
/// visited first, then the longest ago); revoked ones never. At most `limit`.
/// The ids of the stations of `units` that may still be visited (not
/// revoked), newest first, at most `limit`.
pub fn visitable_ids(conn: &mut DbConnection, units: &[i32], limit: i64) -> QueryResult<Vec<i32>> {
    stations::table
        .filter(stations::unit_id.eq_any(units))
        .filter(stations::status.ne(StationStatus::Revoked))
        .order(stations::id.desc())
        .limit(limit)
        .select(stations::id)
        .load(conn)
}

pub fn due_for_visit(
    conn: &mut DbConnection,
    units: &[i32],
    before: NaiveDate,
    limit: i64,
) -> QueryResult<Vec<Station>> {
    let mut due: Vec<Station> = stations::table
        .filter(stations::unit_id.eq_any(units))
        .filter(stations::status.eq(StationStatus::Planned))
        .order(stations::id.asc())
        .limit(limit)
        .select(stations::all_columns)
        .load(conn)?;
    let rest = limit - due.len() as i64;
    if rest > 0 {
        due.extend(
            stations::table
                .filter(stations::unit_id.eq_any(units))
                .filter(stations::status.ne_all([StationStatus::Planned, StationStatus::Revoked]))
                .filter(stations::last_visit_on.is_null().or(stations::last_visit_on.lt(before)))
                .order((
                    stations::last_visit_on.is_not_null(),
                    stations::last_visit_on.asc(),
                    stations::id.asc(),
                ))
                .limit(rest)
                .select(stations::all_columns)
                .load::<Station>(conn)?,
        );
    }
    Ok(due)
}

/// The most recent status change of a station.
pub fn last_status_change(conn: &mut DbConnection, station_id: i32) -> QueryResult<Option<StatusChange>> {
    station_status_changes::table
        .filter(station_status_changes::station_id.eq(station_id))
        .order(station_status_changes::id.desc())
        .select(station_status_changes::all_columns)
        .first(conn)
        .optional()
}

/// Takes the station's row lock for the rest of the transaction (PostgreSQL)
/// without changing anything a reader sees.
pub fn touch(conn: &mut DbConnection, id: i32) -> QueryResult<usize> {
    diesel::update(stations::table.find(id))
        .set(stations::updated_at.eq(stations::updated_at))
        .execute(conn)
}

/// Records the verdict of a visit that becomes the station's newest
/// counted one and returns the station as it now is — one statement, which
/// on PostgreSQL also locks the row until the transaction ends, so visits
/// to one station are recorded one after the other.
pub fn record_verdict(
    conn: &mut DbConnection,
    id: i32,
    compliant: bool,
    visited_on: NaiveDate,
) -> QueryResult<Option<Station>> {
    // Prepared once per connection (diesel's own UPDATE is prepared anew
    // at every call).
    let q = super::fixed::RecordVerdict {
        station_id: id,
        compliant,
        visited_on,
    };
    native!(conn, |c| q.get_result(c).optional())
}

/// Records the verdict of the station's latest counted visit.
pub fn set_compliance(
    conn: &mut DbConnection,
    id: i32,
    compliant: Option<bool>,
    last_visit_on: Option<NaiveDate>,
) -> QueryResult<usize> {
    diesel::update(stations::table.find(id))
        .set((
            stations::compliant.eq(compliant),
            stations::last_visit_on.eq(last_visit_on),
        ))
        .execute(conn)
}

/// Built stations of a unit whose latest counted visit was not compliant.
pub fn non_compliant(conn: &mut DbConnection, unit_id: i32) -> QueryResult<Vec<Station>> {
    stations::table
        .filter(stations::unit_id.eq(unit_id))
        .filter(stations::status.eq_any(StationStatus::BUILT))
        .filter(stations::compliant.eq(false))
        .order(stations::id.asc())
        .select(stations::all_columns)
        .load(conn)
}
