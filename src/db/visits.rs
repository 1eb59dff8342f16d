//! Visits, their item results, and evidence metadata.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{evidence, visit_items, visits};
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
}

#[derive(Debug, Insertable)]
#[diesel(table_name = visits)]
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
}

#[derive(Debug, Clone, Queryable, Insertable, PartialEq)]
#[diesel(table_name = visit_items)]
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
    let visit: Visit = diesel::insert_into(visits::table)
        .values(v)
        .returning(visits::all_columns)
        .get_result(conn)?;
    let rows: Vec<VisitItem> = items
        .iter()
        .map(|i| VisitItem {
            visit_id: visit.id,
            ..i.clone()
        })
        .collect();
    for row in &rows {
        diesel::insert_into(visit_items::table).values(row).execute(conn)?;
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

/// Every visit of a station, newest first.
pub fn for_station(conn: &mut DbConnection, station_id: i32) -> QueryResult<Vec<Visit>> {
    visits::table
        .filter(visits::station_id.eq(station_id))
        .order((visits::visited_on.desc(), visits::id.desc()))
        .select(visits::all_columns)
        .load(conn)
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

/// The latest counted result of every item ever scored at a station: one row
/// per item code, from the newest counted visit that scored it.
pub fn latest_results(conn: &mut DbConnection, station_id: i32) -> QueryResult<Vec<(VisitItem, Visit)>> {
    let rows: Vec<(VisitItem, Visit)> = visit_items::table
        .inner_join(visits::table)
        .filter(visits::station_id.eq(station_id))
        .filter(visits::voided_at.is_null())
        .order((visits::visited_on.desc(), visits::id.desc()))
        .select((visit_items::all_columns, visits::all_columns))
        .load(conn)?;
    let mut seen = std::collections::HashSet::new();
    Ok(rows
        .into_iter()
        .filter(|(i, _)| seen.insert(i.item_code.clone()))
        .collect())
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
