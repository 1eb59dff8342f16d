//! Visits, their item results, and evidence metadata.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{evidence, station_items, visit_items, visits};
use crate::domain::{ItemResult, StationStatus, VisitKind};

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = visits)]
pub struct Visit {
    pub id: i32,
    pub station_id: i32,
    pub kind: VisitKind,
    pub visited_on: NaiveDate,
    pub inspector: String,
    pub summary: String,
    pub standard_id: String,
    pub standard_version: i32,
    pub score_bp: i32,
    pub compliant: bool,
    pub status_before: StationStatus,
    pub status_after: StationStatus,
    pub voided_at: Option<NaiveDateTime>,
    pub void_reason: Option<String>,
    pub created_at: NaiveDateTime,
    /// The phone's clock when the inspector saved the visit.
    pub captured_at: Option<NaiveDateTime>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub accuracy_m: Option<f64>,
}

// `None` is written as NULL, not left out: one SQL text whatever is
// missing, so the statement is prepared once per connection and cached.
#[derive(Debug, Insertable)]
#[diesel(table_name = visits, treat_none_as_default_value = false)]
pub struct NewVisit<'a> {
    pub station_id: i32,
    pub kind: VisitKind,
    pub visited_on: NaiveDate,
    pub inspector: &'a str,
    pub summary: &'a str,
    pub standard_id: &'a str,
    pub standard_version: i32,
    pub score_bp: i32,
    pub compliant: bool,
    pub status_before: StationStatus,
    pub status_after: StationStatus,
    pub created_at: NaiveDateTime,
    pub captured_at: Option<NaiveDateTime>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub accuracy_m: Option<f64>,
}

// Plain values, no defaults: a batch of these is one multi-row INSERT on
// SQLite (with defaultable values diesel inserts row by row).
#[derive(Debug, Clone, Queryable, Insertable, PartialEq)]
#[diesel(table_name = visit_items, treat_none_as_default_value = false)]
pub struct VisitItem {
    pub visit_id: i32,
    pub item_code: String,
    pub position: i32,
    pub result: ItemResult,
    pub note: String,
}

#[derive(Debug, Clone, Queryable, PartialEq)]
pub struct Evidence {
    pub id: i32,
    pub visit_id: i32,
    pub item_code: String,
    pub sha256: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub file_name: String,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = evidence)]
pub struct NewEvidence<'a> {
    pub visit_id: i32,
    pub item_code: &'a str,
    pub sha256: &'a str,
    pub content_type: &'a str,
    pub size_bytes: i64,
    pub file_name: &'a str,
    pub created_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, v: &NewVisit, items: &[VisitItem]) -> QueryResult<Visit> {
    let visit: Visit = native!(conn, |c| diesel::insert_into(visits::table)
        .values(v)
        .returning(visits::all_columns)
        .get_result(c))?;
    let rows: Vec<VisitItem> = items
        .iter()
        .map(|i| VisitItem {
            visit_id: visit.id,
            ..i.clone()
        })
        .collect();
    match conn {
        // One multi-row INSERT: one round trip.
        DbConnection::Pg(pg) => {
            diesel::insert_into(visit_items::table).values(&rows).execute(pg)?;
        }
        // A multi-row INSERT whose text depends on the row count is prepared
        // anew at every call; one of a fixed size is prepared once per
        // connection. Checklists have eight items: eight at a time, the rest
        // one by one (also prepared once).
        DbConnection::Sqlite(lite) => {
            for chunk in rows.chunks(8) {
                match <&[VisitItem; 8]>::try_from(chunk) {
                    Ok(eight) => diesel::insert_into(visit_items::table).values(eight).execute(lite)?,
                    Err(_) => chunk.iter().try_fold(0, |n, row| {
                        diesel::insert_into(visit_items::table)
                            .values(row)
                            .execute(lite)
                            .map(|m| n + m)
                    })?,
                };
            }
        }
    }
    Ok(visit)
}

pub fn get(conn: &mut DbConnection, id: i32) -> QueryResult<Option<Visit>> {
    visits::table
        .find(id)
        .select(visits::all_columns)
        .first(conn)
        .optional()
}

/// A page of a station's visits, newest first: at most `limit`, those
/// ordered after `before` (the (date, id) of the previous page's last
/// visit) when given. Reads through `visits_station_date`.
pub fn for_station(
    conn: &mut DbConnection,
    station_id: i32,
    before: Option<(NaiveDate, i32)>,
    limit: i64,
) -> QueryResult<Vec<Visit>> {
    let mut q = visits::table
        .filter(visits::station_id.eq(station_id))
        .order((visits::visited_on.desc(), visits::id.desc()))
        .select(visits::all_columns)
        .limit(limit)
        .into_boxed();
    if let Some((on, id)) = before {
        q = q.filter(
            visits::visited_on
                .lt(on)
                .or(visits::visited_on.eq(on).and(visits::id.lt(id))),
        );
    }
    q.load(conn)
}

/// The date and id of a station's newest visit that still counts.
pub fn latest_counted_key(conn: &mut DbConnection, station_id: i32) -> QueryResult<Option<(NaiveDate, i32)>> {
    native!(conn, |c| visits::table
        .filter(visits::station_id.eq(station_id))
        .filter(visits::voided_at.is_null())
        .order((visits::visited_on.desc(), visits::id.desc()))
        .select((visits::visited_on, visits::id))
        .first(c)
        .optional())
}

/// The newest visit of a station that still counts (not voided).
pub fn latest_counted(conn: &mut DbConnection, station_id: i32) -> QueryResult<Option<Visit>> {
    visits::table
        .filter(visits::station_id.eq(station_id))
        .filter(visits::voided_at.is_null())
        .order((visits::visited_on.desc(), visits::id.desc()))
        .select(visits::all_columns)
        .first(conn)
        .optional()
}

pub fn items_of(conn: &mut DbConnection, visit_ids: &[i32]) -> QueryResult<Vec<VisitItem>> {
    visit_items::table
        .filter(visit_items::visit_id.eq_any(visit_ids))
        .order((visit_items::visit_id.asc(), visit_items::position.asc()))
        .select(visit_items::all_columns)
        .load(conn)
}

/// A station's current result for one checklist item: the latest counted
/// one, with its visit and date (table `station_items`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable, PartialEq)]
#[diesel(table_name = station_items)]
pub struct CurrentItem {
    pub station_id: i32,
    pub item_code: String,
    pub visit_id: i32,
    pub visited_on: NaiveDate,
    pub result: ItemResult,
    pub note: String,
}

impl CurrentItem {
    fn of(visit: &Visit, item: &VisitItem) -> Self {
        CurrentItem {
            station_id: visit.station_id,
            item_code: item.item_code.clone(),
            visit_id: visit.id,
            visited_on: visit.visited_on,
            result: item.result,
            note: item.note.clone(),
        }
    }
}

/// The station's current result per item: one row per item ever scored
/// in a counted visit, read by primary key whatever the history's length.
pub fn current_items(conn: &mut DbConnection, station_id: i32) -> QueryResult<Vec<CurrentItem>> {
    station_items::table
        .filter(station_items::station_id.eq(station_id))
        .select(CurrentItem::as_select())
        .load(conn)
}

/// Makes a just-recorded visit's results the station's current ones. The
/// visit is the station's newest counted visit (a visit may not be dated
/// before the latest one); items it did not score keep theirs.
pub fn set_current(conn: &mut DbConnection, visit: &Visit) -> QueryResult<()> {
    // One statement for all items, prepared once per connection.
    let q = super::fixed::SetCurrent {
        station_id: visit.station_id,
        visit_id: visit.id,
        visited_on: visit.visited_on,
    };
    native!(conn, |c| q.execute(c))?;
    Ok(())
}

/// After `voided` stopped counting: every item whose current result came
/// from it gets the latest counted result before it back (or none, if no
/// other counted visit scored it). Reads one newest row per such item
/// through `visits_station_date`.
pub fn restore_current(conn: &mut DbConnection, station_id: i32, voided: i32) -> QueryResult<()> {
    let codes: Vec<String> = station_items::table
        .filter(station_items::station_id.eq(station_id))
        .filter(station_items::visit_id.eq(voided))
        .select(station_items::item_code)
        .load(conn)?;
    diesel::delete(
        station_items::table
            .filter(station_items::station_id.eq(station_id))
            .filter(station_items::visit_id.eq(voided)),
    )
    .execute(conn)?;
    for code in codes {
        let latest: Option<(VisitItem, Visit)> = visit_items::table
            .inner_join(visits::table)
            .filter(visits::station_id.eq(station_id))
            .filter(visits::voided_at.is_null())
            .filter(visit_items::item_code.eq(&code))
            .order((visits::visited_on.desc(), visits::id.desc()))
            .select((visit_items::all_columns, visits::all_columns))
            .first(conn)
            .optional()?;
        if let Some((item, visit)) = latest {
            diesel::insert_into(station_items::table)
                .values(CurrentItem::of(&visit, &item))
                .execute(conn)?;
        }
    }
    Ok(())
}

pub fn void(conn: &mut DbConnection, id: i32, reason: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        visits::table
            .filter(visits::id.eq(id))
            .filter(visits::voided_at.is_null()),
    )
    .set((visits::voided_at.eq(at), visits::void_reason.eq(reason)))
    .execute(conn)
}

pub fn insert_evidence(conn: &mut DbConnection, e: &NewEvidence) -> QueryResult<Evidence> {
    diesel::insert_into(evidence::table)
        .values(e)
        .returning(evidence::all_columns)
        .get_result(conn)
}

pub fn get_evidence(conn: &mut DbConnection, id: i32) -> QueryResult<Option<Evidence>> {
    evidence::table
        .find(id)
        .select(evidence::all_columns)
        .first(conn)
        .optional()
}

pub fn evidence_of(conn: &mut DbConnection, visit_ids: &[i32]) -> QueryResult<Vec<Evidence>> {
    evidence::table
        .filter(evidence::visit_id.eq_any(visit_ids))
        .order(evidence::id.asc())
        .select(evidence::all_columns)
        .load(conn)
}
