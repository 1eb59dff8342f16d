//! The registry's establishments and revocations in a year, per unit and
//! day, for the burn-up: four GROUP BY queries whose rows are bounded by
//! units × days of the year, whatever the number of stations.

use std::collections::HashMap;

use chrono::NaiveDate;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::stations;
use crate::domain::burnup::UnitEvents;

/// Per unit, the stations standing before the year and the year's
/// establishments and revocations up to `as_of`. A station revoked on or
/// before the day it was established never stood, and is left out, as the
/// progress table leaves it out.
pub fn events(
    conn: &mut DbConnection,
    year_start: NaiveDate,
    as_of: NaiveDate,
) -> QueryResult<HashMap<i32, UnitEvents>> {
    let standing_before: Vec<(i32, i64)> = stations::table
        .filter(stations::established_on.lt(year_start))
        .filter(stations::revoked_on.is_null().or(stations::revoked_on.ge(year_start)))
        .group_by(stations::unit_id)
        .select((stations::unit_id, diesel::dsl::count_star()))
        .load(conn)?;
    let established: Vec<(i32, Option<NaiveDate>, i64)> = stations::table
        .filter(stations::established_on.ge(year_start))
        .filter(stations::established_on.le(as_of))
        .filter(
            stations::revoked_on
                .is_null()
                .or(stations::revoked_on.nullable().gt(stations::established_on.nullable())),
        )
        .group_by((stations::unit_id, stations::established_on))
        .select((stations::unit_id, stations::established_on, diesel::dsl::count_star()))
        .load(conn)?;
    let revoked = revocations(conn, year_start, as_of, None)?;
    let revoked_new = revocations(conn, year_start, as_of, Some(year_start))?;
    let mut out: HashMap<i32, UnitEvents> = HashMap::new();
    for (unit, n) in standing_before {
        out.entry(unit).or_default().standing_before = n;
    }
    for (unit, day, n) in established {
        if let Some(day) = day {
            out.entry(unit).or_default().established.push((day, n));
        }
    }
    for (unit, day, n) in revoked {
        let Some(day) = day else { continue };
        let new = revoked_new
            .iter()
            .find(|(u, d, _)| *u == unit && *d == Some(day))
            .map_or(0, |(.., k)| *k);
        out.entry(unit).or_default().revoked.push((day, n, new));
    }
    Ok(out)
}

/// Stations revoked in `[year_start, as_of]` after their establishment,
/// per unit and day; only those established since `established_since` when
/// given.
fn revocations(
    conn: &mut DbConnection,
    year_start: NaiveDate,
    as_of: NaiveDate,
    established_since: Option<NaiveDate>,
) -> QueryResult<Vec<(i32, Option<NaiveDate>, i64)>> {
    // Every station revoked after its establishment was established on
    // some day: 1 January of year 1 stands for "any" (both backends store it).
    let since = established_since
        .or(NaiveDate::from_ymd_opt(1, 1, 1))
        .unwrap_or(year_start);
    stations::table
        .filter(stations::revoked_on.ge(year_start))
        .filter(stations::revoked_on.le(as_of))
        .filter(stations::revoked_on.nullable().gt(stations::established_on.nullable()))
        .filter(stations::established_on.ge(since))
        .group_by((stations::unit_id, stations::revoked_on))
        .select((stations::unit_id, stations::revoked_on, diesel::dsl::count_star()))
        .load(conn)
}
