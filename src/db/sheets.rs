//! Batched reads for the spreadsheet exports of guidance and visits. Each
//! batch continues after the last primary key of the one before (keyset),
//! so a whole export is one pass over the matching rows whatever its size.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::DbConnection;
use super::guidance::{Filter as GuidanceFilter, GuidanceRow, filtered};
use super::schema::{guidance, stations, visit_items, visits};
use super::visits::Visit;
use crate::domain::{ItemResult, VisitKind};

/// The next `limit` guidance rows matching `f` with an id above `after`,
/// in the order they were raised.
pub fn guidance_batch(
    conn: &mut DbConnection,
    f: &GuidanceFilter,
    after: i32,
    limit: i64,
) -> QueryResult<Vec<GuidanceRow>> {
    filtered(f)
        .filter(guidance::id.gt(after))
        .order(guidance::id.asc())
        .limit(limit)
        .select((
            guidance::all_columns,
            stations::name,
            stations::unit_id,
            stations::standard_id,
        ))
        .load(conn)
}

/// What the guidance sheet needs of the visits that raised a batch:
/// (visit id, visit date, standard id, standard version).
pub fn visit_dates(conn: &mut DbConnection, ids: &[i32]) -> QueryResult<Vec<(i32, NaiveDate, String, i32)>> {
    visits::table
        .filter(visits::id.eq_any(ids))
        .select((
            visits::id,
            visits::visited_on,
            visits::standard_id,
            visits::standard_version,
        ))
        .load(conn)
}

/// Which visits to export.
#[derive(Debug, Clone, Default)]
pub struct VisitFilter {
    /// Only these units (the reader's scope); None = all.
    pub units: Option<Vec<i32>>,
    pub unit_id: Option<i32>,
    pub station_id: Option<i32>,
    pub kind: Option<VisitKind>,
    /// Visited on or after.
    pub from: Option<NaiveDate>,
    /// Visited on or before.
    pub to: Option<NaiveDate>,
}

/// A visit with what the sheet shows of its station.
#[derive(Debug, Clone, Queryable)]
pub struct VisitRow {
    pub visit: Visit,
    pub station_name: String,
    pub unit_id: i32,
    pub established_on: Option<NaiveDate>,
}

/// The next `limit` visits matching `f` with an id above `after`, in the
/// order they were recorded (voided ones included).
pub fn visits_batch(conn: &mut DbConnection, f: &VisitFilter, after: i32, limit: i64) -> QueryResult<Vec<VisitRow>> {
    let mut q = visits::table
        .inner_join(stations::table)
        .filter(visits::id.gt(after))
        .into_boxed();
    if let Some(units) = &f.units {
        q = q.filter(stations::unit_id.eq_any(units.clone()));
    }
    if let Some(u) = f.unit_id {
        q = q.filter(stations::unit_id.eq(u));
    }
    if let Some(s) = f.station_id {
        q = q.filter(visits::station_id.eq(s));
    }
    if let Some(k) = f.kind {
        q = q.filter(visits::kind.eq(k));
    }
    if let Some(d) = f.from {
        q = q.filter(visits::visited_on.ge(d));
    }
    if let Some(d) = f.to {
        q = q.filter(visits::visited_on.le(d));
    }
    q.order(visits::id.asc())
        .limit(limit)
        .select((
            visits::all_columns,
            stations::name,
            stations::unit_id,
            stations::established_on,
        ))
        .load(conn)
}

/// The failing items (基本符合 or 不符合) of a batch of visits, in checklist
/// order: (visit id, item code).
pub fn failing_items(conn: &mut DbConnection, visit_ids: &[i32]) -> QueryResult<Vec<(i32, String)>> {
    visit_items::table
        .filter(visit_items::visit_id.eq_any(visit_ids))
        .filter(visit_items::result.eq_any([ItemResult::Partial, ItemResult::Unmet]))
        .order((visit_items::visit_id.asc(), visit_items::position.asc()))
        .select((visit_items::visit_id, visit_items::item_code))
        .load(conn)
}
