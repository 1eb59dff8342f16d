//! Follow-up guidance (整改意见) raised by visits.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{guidance, stations};
use crate::domain::GuidanceStatus;

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = guidance)]
pub struct Guidance {
    pub id: i32,
    pub station_id: i32,
    pub raised_by: i32,
    pub item_code: String,
    pub instruction: String,
    pub due_on: NaiveDate,
    pub status: GuidanceStatus,
    pub resolved_by: Option<i32>,
    pub resolved_on: Option<NaiveDate>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The station's unit, kept here for counting by unit (not shown: a
    /// [`GuidanceRow`] carries the station's unit).
    pub unit_id: Option<i32>,
}

// `None` as NULL: one SQL text, prepared once per connection.
#[derive(Debug, Insertable)]
#[diesel(table_name = guidance, treat_none_as_default_value = false)]
pub struct NewGuidance<'a> {
    pub station_id: i32,
    pub raised_by: i32,
    pub item_code: &'a str,
    pub instruction: &'a str,
    pub due_on: NaiveDate,
    pub status: GuidanceStatus,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub unit_id: Option<i32>,
}

pub fn insert(conn: &mut DbConnection, g: &NewGuidance) -> QueryResult<Guidance> {
    diesel::insert_into(guidance::table)
        .values(g)
        .returning(guidance::all_columns)
        .get_result(conn)
}

pub fn get(conn: &mut DbConnection, id: i32) -> QueryResult<Option<Guidance>> {
    guidance::table
        .find(id)
        .select(guidance::all_columns)
        .first(conn)
        .optional()
}

pub fn open_for_station(conn: &mut DbConnection, station_id: i32) -> QueryResult<Vec<Guidance>> {
    // Read by every recorded visit, on the backend's own connection.
    native!(conn, |c| guidance::table
        .filter(guidance::station_id.eq(station_id))
        .filter(guidance::status.eq(GuidanceStatus::Open))
        .order(guidance::id.asc())
        .select(guidance::all_columns)
        .load(c))
}

pub fn set_due(conn: &mut DbConnection, id: i32, due_on: NaiveDate, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(guidance::table.find(id))
        .set((guidance::due_on.eq(due_on), guidance::updated_at.eq(at)))
        .execute(conn)
}

pub fn resolve(
    conn: &mut DbConnection,
    id: i32,
    visit_id: i32,
    on: NaiveDate,
    at: NaiveDateTime,
) -> QueryResult<Option<Guidance>> {
    diesel::update(
        guidance::table
            .filter(guidance::id.eq(id))
            .filter(guidance::status.eq(GuidanceStatus::Open)),
    )
    .set((
        guidance::status.eq(GuidanceStatus::Resolved),
        guidance::resolved_by.eq(Some(visit_id)),
        guidance::resolved_on.eq(Some(on)),
        guidance::updated_at.eq(at),
    ))
    .returning(guidance::all_columns)
    .get_result(conn)
    .optional()
}

/// Guidance raised by a visit (any status).
pub fn raised_by(conn: &mut DbConnection, visit_id: i32) -> QueryResult<Vec<Guidance>> {
    guidance::table
        .filter(guidance::raised_by.eq(visit_id))
        .order(guidance::id.asc())
        .select(guidance::all_columns)
        .load(conn)
}

/// Guidance resolved by a visit.
pub fn resolved_by(conn: &mut DbConnection, visit_id: i32) -> QueryResult<Vec<Guidance>> {
    guidance::table
        .filter(guidance::resolved_by.eq(visit_id))
        .order(guidance::id.asc())
        .select(guidance::all_columns)
        .load(conn)
}

/// Undoes what a voided visit did to guidance: what it raised is
/// withdrawn, what it resolved is open again.
pub fn undo_visit(conn: &mut DbConnection, visit_id: i32, at: NaiveDateTime) -> QueryResult<(usize, usize)> {
    let withdrawn = diesel::update(guidance::table.filter(guidance::raised_by.eq(visit_id)))
        .set((
            guidance::status.eq(GuidanceStatus::Withdrawn),
            guidance::updated_at.eq(at),
        ))
        .execute(conn)?;
    let reopened = diesel::update(guidance::table.filter(guidance::resolved_by.eq(visit_id)))
        .set((
            guidance::status.eq(GuidanceStatus::Open),
            guidance::resolved_by.eq(None::<i32>),
            guidance::resolved_on.eq(None::<NaiveDate>),
            guidance::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok((withdrawn, reopened))
}

pub use crate::domain::GuidanceFilter as StatusFilter;

#[derive(Debug, Clone)]
pub struct Filter {
    pub status: Option<StatusFilter>,
    pub unit_id: Option<i32>,
    /// Only these units (the reader's scope); None = all.
    pub units: Option<Vec<i32>>,
    pub station_id: Option<i32>,
    pub as_of: NaiveDate,
}

type Joined = diesel::dsl::InnerJoin<guidance::table, stations::table>;

/// Applies a [`Filter`] to a boxed query that has the guidance columns
/// (with or without the stations join).
macro_rules! apply_filter {
    ($q:expr, $f:expr) => {{
        let (mut q, f) = ($q, $f);
        match f.status {
            Some(StatusFilter::Open) => q = q.filter(guidance::status.eq(GuidanceStatus::Open)),
            Some(StatusFilter::Overdue) => {
                q = q
                    .filter(guidance::status.eq(GuidanceStatus::Open))
                    .filter(guidance::due_on.lt(f.as_of))
            }
            Some(StatusFilter::Resolved) => q = q.filter(guidance::status.eq(GuidanceStatus::Resolved)),
            None => q = q.filter(guidance::status.ne(GuidanceStatus::Withdrawn)),
        }
        if let Some(s) = f.station_id {
            q = q.filter(guidance::station_id.eq(s));
        }
        if let Some(u) = f.unit_id {
            q = q.filter(guidance::unit_id.eq(u));
        }
        if let Some(units) = &f.units {
            q = q.filter(guidance::unit_id.eq_any(units.clone()));
        }
        q
    }};
}

pub(super) fn filtered(f: &Filter) -> diesel::dsl::IntoBoxed<'static, Joined, super::MultiBackend> {
    apply_filter!(guidance::table.inner_join(stations::table).into_boxed(), f)
}

/// The same filter on guidance alone, for counting without the join.
fn counted(f: &Filter) -> guidance::BoxedQuery<'static, super::MultiBackend> {
    apply_filter!(guidance::table.into_boxed(), f)
}

/// Points a station's guidance at its new unit.
pub fn move_station(conn: &mut DbConnection, station_id: i32, unit_id: i32) -> QueryResult<usize> {
    diesel::update(guidance::table.filter(guidance::station_id.eq(station_id)))
        .set(guidance::unit_id.eq(Some(unit_id)))
        .execute(conn)
}

/// A guidance row with the station it concerns.
#[derive(Debug, Clone, Queryable, PartialEq)]
pub struct GuidanceRow {
    pub guidance: Guidance,
    pub station_name: String,
    pub unit_id: i32,
    /// The station's own checklist (its items' titles come from it).
    pub standard_id: String,
}

/// Counting stops here: past it the list says "more than" instead of
/// counting every guidance row of a province on each first page.
pub const COUNT_CAP: i64 = 10_000;

/// One page of guidance, most urgent first (earliest due date), and how
/// many match (exact up to [`COUNT_CAP`], else the cap with `false`). With
/// `after` (the due date and id of the last row of the previous page) the
/// page is the `per_page` rows that follow it (keyset: no rows skipped
/// however deep) and nothing is counted.
pub fn list(
    conn: &mut DbConnection,
    f: &Filter,
    page: i64,
    per_page: i64,
    after: Option<(NaiveDate, i32)>,
) -> QueryResult<(Vec<GuidanceRow>, Option<i64>, bool)> {
    let (total, exact) = match after {
        Some(_) => (None, false),
        None => {
            let ids: Vec<i32> = counted(f).select(guidance::id).limit(COUNT_CAP + 1).load(conn)?;
            let n = ids.len() as i64;
            (Some(n.min(COUNT_CAP)), n <= COUNT_CAP)
        }
    };
    let query = filtered(f)
        .order((guidance::due_on.asc(), guidance::id.asc()))
        .limit(per_page);
    let query = match after {
        Some((due_on, id)) => query.filter(
            guidance::due_on
                .gt(due_on)
                .or(guidance::due_on.eq(due_on).and(guidance::id.gt(id))),
        ),
        None => query.offset((page - 1) * per_page),
    };
    let items = query
        .select((
            guidance::all_columns,
            stations::name,
            stations::unit_id,
            stations::standard_id,
        ))
        .load(conn)?;
    Ok((items, total, exact))
}
