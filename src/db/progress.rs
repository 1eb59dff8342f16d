//! The progress aggregate: a constant number of queries (units with their
//! plans, one GROUP BY over stations, one over overdue guidance), whatever
//! the number of stations.

use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Integer};

use super::DbConnection;
use super::schema::{guidance, plans, stations, units};
use crate::domain::Category;
use crate::domain::progress::{Basis, UnitCounts};

#[derive(QueryableByName, Debug)]
struct StationAgg {
    #[diesel(sql_type = Integer)]
    unit_id: i32,
    #[diesel(sql_type = BigInt)]
    built_total: i64,
    #[diesel(sql_type = BigInt)]
    built_new: i64,
    #[diesel(sql_type = BigInt)]
    compliant_total: i64,
    #[diesel(sql_type = BigInt)]
    compliant_new: i64,
}

/// A unit with its plan for the year: id, code, name, kind, target, basis.
pub type UnitPlan = (i32, String, String, String, Option<i32>, Option<String>);

/// Every unit, by id, with its plan for the year if it has one.
pub fn unit_plans(conn: &mut DbConnection, year: i32) -> QueryResult<Vec<UnitPlan>> {
    units::table
        .left_join(plans::table.on(plans::unit_id.eq(units::id).and(plans::year.eq(year))))
        .order(units::id.asc())
        .select((
            units::id,
            units::code,
            units::name,
            units::kind,
            plans::target.nullable(),
            plans::basis.nullable(),
        ))
        .load(conn)
}

/// Stations standing at `as_of` per unit: all of them, those established
/// since `year_start`, and of each how many were compliant at their latest
/// visit. One scan of the stations standing at `as_of`.
const STATION_AGG: &str = "\
SELECT unit_id,
       COUNT(*) AS built_total,
       COALESCE(SUM(CASE WHEN established_on >= ? THEN 1 ELSE 0 END), 0) AS built_new,
       COALESCE(SUM(CASE WHEN compliant THEN 1 ELSE 0 END), 0) AS compliant_total,
       COALESCE(SUM(CASE WHEN compliant AND established_on >= ? THEN 1 ELSE 0 END), 0) AS compliant_new
FROM stations
WHERE established_on <= ? AND (revoked_on IS NULL OR revoked_on > ?)
GROUP BY unit_id";

pub fn unit_counts(conn: &mut DbConnection, year: i32, as_of: NaiveDate) -> QueryResult<Vec<UnitCounts>> {
    let year_start = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(as_of);
    let listed = unit_plans(conn, year)?;
    let sql = super::placeholders(STATION_AGG, conn.backend());
    let aggs: Vec<StationAgg> = diesel::sql_query(sql)
        .bind::<Date, _>(year_start)
        .bind::<Date, _>(year_start)
        .bind::<Date, _>(as_of)
        .bind::<Date, _>(as_of)
        .load(conn)?;
    let overdue: Vec<(Option<i32>, i64)> = guidance::table
        .filter(guidance::status.eq(crate::domain::GuidanceStatus::Open))
        .filter(guidance::due_on.lt(as_of))
        .group_by(guidance::unit_id)
        .select((guidance::unit_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(listed
        .into_iter()
        .map(|(unit_id, code, name, kind, target, basis)| {
            let agg = aggs.iter().find(|a| a.unit_id == unit_id);
            UnitCounts {
                unit_id,
                code,
                name,
                kind,
                target,
                basis: basis.as_deref().and_then(Basis::parse).unwrap_or(Basis::New),
                built_new: agg.map_or(0, |a| a.built_new),
                built_total: agg.map_or(0, |a| a.built_total),
                compliant_new: agg.map_or(0, |a| a.compliant_new),
                compliant_total: agg.map_or(0, |a| a.compliant_total),
                overdue_guidance: overdue.iter().find(|(u, _)| *u == Some(unit_id)).map_or(0, |(_, n)| *n),
            }
        })
        .collect())
}

/// Whether any unit has a plan for the year.
pub fn year_has_plans(conn: &mut DbConnection, year: i32) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(plans::table.filter(plans::year.eq(year)))).get_result(conn)
}

/// The latest year up to `year` that has plans.
pub fn latest_plan_year(conn: &mut DbConnection, year: i32) -> QueryResult<Option<i32>> {
    plans::table
        .filter(plans::year.le(year))
        .select(diesel::dsl::max(plans::year))
        .first(conn)
}

/// Stations standing at `as_of` per unit and category: one GROUP BY over
/// the stations standing then (at most units × categories rows).
pub fn standing_by_category(conn: &mut DbConnection, as_of: NaiveDate) -> QueryResult<Vec<(i32, Category, i64)>> {
    stations::table
        .filter(stations::established_on.le(as_of))
        .filter(stations::revoked_on.is_null().or(stations::revoked_on.gt(as_of)))
        .group_by((stations::unit_id, stations::category))
        .select((stations::unit_id, stations::category, diesel::dsl::count_star()))
        .load(conn)
}
