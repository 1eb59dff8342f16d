//! The burn-up of a year's plan for the city and for each unit, as the
//! principal may read them.

use chrono::NaiveDate;
use serde::Serialize;

use super::Ctx;
use super::progress::{Period, resolve};
use crate::auth::Principal;
use crate::auth::policy::{self, Scope};
use crate::db::{DbConnection, burnup as store, progress as plans};
use crate::domain::burnup::{self, Point};
use crate::domain::progress::{Basis, elapsed};
use crate::error::{AppError, FieldErrors};

/// One line of stations built through the year.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Series {
    /// The unit; null for the sum over the units shown.
    pub unit_id: Option<i32>,
    pub name: String,
    /// The year's target; null when the unit has no plan.
    pub target: Option<i64>,
    /// Built on 31 December of the year before: the stations then standing
    /// for a plan counting the total, none for one counting new stations.
    pub start: i64,
    /// Month ends up to `as_of` (the last point is `as_of` itself).
    pub points: Vec<Point>,
}

/// Stations built through the year against the 序时进度 line.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Burnup {
    pub year: i32,
    pub as_of: NaiveDate,
    pub days_in_year: u32,
    /// True when `total` is the whole city's.
    pub city_wide: bool,
    /// The sum over the units below (全市, or the reader's units).
    pub total: Series,
    pub units: Vec<Series>,
}

/// The burn-up for the period, over the units `p` may read.
pub fn for_principal(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, period: &Period) -> Result<Burnup, AppError> {
    let (year, as_of) = resolve(ctx, period)?;
    if !plans::year_has_plans(conn, year)? {
        return Err(FieldErrors::single("year", format!("{year}年度尚未下达建站计划")));
    }
    let (_, days_in_year) =
        elapsed(year, as_of).map_err(|_| FieldErrors::single("as_of", format!("截止日期应在{year}年内")))?;
    let year_start = NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(as_of);
    let scope = policy::read_scope(p);
    let listed = plans::unit_plans(conn, year)?;
    let mut events = store::events(conn, year_start, as_of)?;
    let points = burnup::checkpoints(as_of);
    let units: Vec<Series> = listed
        .into_iter()
        .filter(|(id, ..)| scope.contains(*id))
        .map(|(unit_id, _, name, _, target, basis)| {
            let basis = basis.as_deref().and_then(Basis::parse).unwrap_or(Basis::New);
            let target = target.filter(|t| *t > 0).map(i64::from);
            let unit_events = events.remove(&unit_id).unwrap_or_default();
            Series {
                unit_id: Some(unit_id),
                name,
                target,
                start: year_start
                    .pred_opt()
                    .map_or(0, |eve| burnup::built_on(&unit_events, basis, eve)),
                points: burnup::series(&unit_events, basis, target, &points, days_in_year),
            }
        })
        .collect();
    let city_wide = scope == Scope::City;
    let target: i64 = units.iter().filter_map(|u| u.target).sum();
    let lines: Vec<&[Point]> = units.iter().map(|u| u.points.as_slice()).collect();
    let total = Series {
        unit_id: None,
        name: if city_wide { "全市" } else { "所辖单位合计" }.to_owned(),
        target: (target > 0).then_some(target),
        start: units.iter().map(|u| u.start).sum(),
        points: burnup::sum(&lines, &points, (target > 0).then_some(target), days_in_year),
    };
    Ok(Burnup {
        year,
        as_of,
        days_in_year,
        city_wide,
        total,
        units,
    })
}
