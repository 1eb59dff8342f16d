//! Units (county-level regulator units) and their annual plans.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{plans, units};
use crate::domain::{Basis, UnitKind};

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = units)]
pub struct Unit {
    pub id: i32,
    pub code: String,
    pub name: String,
    pub kind: UnitKind,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = units)]
pub struct NewUnit<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub kind: UnitKind,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, PartialEq)]
pub struct Plan {
    pub unit_id: i32,
    pub year: i32,
    pub target: i32,
    pub updated_at: NaiveDateTime,
    /// `new`: stations established in the year; `total`: stations standing.
    pub basis: Basis,
}

pub fn insert(conn: &mut DbConnection, new: &NewUnit) -> QueryResult<Unit> {
    diesel::insert_into(units::table)
        .values(new)
        .returning(units::all_columns)
        .get_result(conn)
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<Unit>> {
    units::table
        .order(units::id.asc())
        .select(units::all_columns)
        .load(conn)
}

pub fn get(conn: &mut DbConnection, id: i32) -> QueryResult<Option<Unit>> {
    units::table.find(id).select(units::all_columns).first(conn).optional()
}

pub fn code_taken(conn: &mut DbConnection, code: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(units::table.filter(units::code.eq(code)))).get_result(conn)
}

/// Sets the target of one unit for one year; returns the plan as stored.
pub fn set_plan(
    conn: &mut DbConnection,
    unit_id: i32,
    year: i32,
    target: i32,
    basis: Basis,
    at: NaiveDateTime,
) -> QueryResult<Plan> {
    let updated = diesel::update(plans::table.find((unit_id, year)))
        .set((
            plans::target.eq(target),
            plans::basis.eq(basis),
            plans::updated_at.eq(at),
        ))
        .execute(conn)?;
    if updated == 0 {
        diesel::insert_into(plans::table)
            .values((
                plans::unit_id.eq(unit_id),
                plans::year.eq(year),
                plans::target.eq(target),
                plans::basis.eq(basis),
                plans::updated_at.eq(at),
            ))
            .execute(conn)?;
    }
    plans::table
        .find((unit_id, year))
        .select(plans::all_columns)
        .first(conn)
}

pub fn plans_for_year(conn: &mut DbConnection, year: i32) -> QueryResult<Vec<Plan>> {
    plans::table
        .filter(plans::year.eq(year))
        .order(plans::unit_id.asc())
        .select(plans::all_columns)
        .load(conn)
}
