//! Progress of every unit against its annual plan as of a date.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use super::Ctx;
use crate::auth::Principal;
use crate::auth::policy::{self, Scope};
use crate::db::{DbConnection, progress as store};
use crate::domain::five_entries::{self, EntryCount};
use crate::domain::progress::{self, Progress, ProgressError};
use crate::error::{AppError, FieldErrors};

#[derive(Debug, Default, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Period {
    #[schema(minimum = 2000, maximum = 2100)]
    pub year: Option<i32>,
    pub as_of: Option<NaiveDate>,
}

/// Query-string form of [`Period`], parsed by hand so errors name the field.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct PeriodQuery {
    /// The plan year; the current year when left out.
    #[param(value_type = Option<i32>, minimum = 2000, maximum = 2100)]
    pub year: Option<String>,
    /// The day progress is measured on (YYYY-MM-DD); today (or the year's end) when left out.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub as_of: Option<String>,
}

impl PeriodQuery {
    pub fn parse(self) -> Result<Period, AppError> {
        let mut errors = FieldErrors::new();
        let year = super::query_param(&mut errors, "year", self.year).and_then(|y| match y.parse::<i32>() {
            Ok(y) => Some(y),
            Err(_) => {
                errors.add("year", "年度应为四位整数");
                None
            }
        });
        let as_of =
            super::query_param(&mut errors, "as_of", self.as_of).and_then(|d| {
                match NaiveDate::parse_from_str(&d, "%Y-%m-%d") {
                    Ok(d) => Some(d),
                    Err(_) => {
                        errors.add("as_of", "日期格式应为 YYYY-MM-DD");
                        None
                    }
                }
            });
        errors.into_result()?;
        Ok(Period { year, as_of })
    }
}

/// The year and date a request is about: `as_of` defaults to today, moved
/// into the year when the year is another; the year defaults to `as_of`'s.
pub fn resolve(ctx: &Ctx, period: &Period) -> Result<(i32, NaiveDate), AppError> {
    let today = ctx.today();
    let year = period.year.or(period.as_of.map(|d| d.year())).unwrap_or(today.year());
    super::units::check_year(year)?;
    let as_of = match period.as_of {
        Some(d) => d,
        None if year == today.year() => today,
        None if year < today.year() => NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(today),
        None => NaiveDate::from_ymd_opt(year, 1, 1).unwrap_or(today),
    };
    if as_of.year() != year {
        return Err(FieldErrors::single("as_of", format!("截止日期应在{year}年内")));
    }
    Ok((year, as_of))
}

/// Progress as the principal may see it: city-wide readers get every row
/// and the city totals; others get their units' rows (ranked among all
/// units, as circulars publish them) and no city totals.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ScopedProgress {
    #[serde(flatten)]
    pub progress: Progress,
    pub city_wide: bool,
}

pub fn for_principal(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    period: &Period,
) -> Result<ScopedProgress, AppError> {
    let mut progress = cached(conn, ctx, period)?;
    let scope = policy::read_scope(p);
    let city_wide = scope == Scope::City;
    if !city_wide {
        progress.rows.retain(|r| scope.contains(r.unit_id));
        // The exact 序时进度, not the rounded one shown.
        let days = (progress.days_elapsed, progress.days_in_year);
        progress.totals = crate::domain::progress::totals(&progress.rows, days, progress.tolerance);
    }
    Ok(ScopedProgress { progress, city_wide })
}

/// Stations standing at `as_of` rolled up into the 五进 (with the finer
/// categories), over the units the principal may read.
pub fn five_entries(conn: &mut DbConnection, p: &Principal, as_of: NaiveDate) -> Result<Vec<EntryCount>, AppError> {
    let scope = policy::read_scope(p);
    let counts = store::standing_by_category(conn, as_of)
        .map_err(|e| AppError::internal("counting standing stations by category", e))?;
    let readable = counts.into_iter().filter(|(unit, ..)| scope.contains(*unit));
    Ok(five_entries::roll_up(readable.map(|(_, category, n)| (category, n))))
}

/// Recently computed progress by (year, as of), kept for a few seconds so
/// that a dashboard under load does not aggregate every station on every
/// request. Only a cache: any instance recomputes what it does not have.
#[derive(Default)]
pub struct ProgressCache {
    entries: Mutex<HashMap<(i32, NaiveDate), (Instant, Progress)>>,
}

/// City-wide progress from the cache when fresh (`BAYIGE_PROGRESS_CACHE_MS`),
/// else computed. One computation at a time fills the cache: concurrent
/// readers wait for it instead of all aggregating at once.
pub fn cached(conn: &mut DbConnection, ctx: &Ctx, period: &Period) -> Result<Progress, AppError> {
    let ttl = ctx.settings.progress_cache;
    if ttl.is_zero() {
        return compute(conn, ctx, period);
    }
    let key = resolve(ctx, period)?;
    let mut entries = ctx
        .progress_cache
        .entries
        .lock()
        .map_err(|_| AppError::internal("progress cache", anyhow::anyhow!("poisoned lock")))?;
    if let Some((at, p)) = entries.get(&key)
        && at.elapsed() < ttl
    {
        return Ok(p.clone());
    }
    let fresh = compute(conn, ctx, period)?;
    entries.retain(|_, (at, _)| at.elapsed() < ttl);
    entries.insert(key, (Instant::now(), fresh.clone()));
    Ok(fresh)
}

/// The whole city's progress (for circulars and city-wide readers).
pub fn compute(conn: &mut DbConnection, ctx: &Ctx, period: &Period) -> Result<Progress, AppError> {
    let (year, as_of) = resolve(ctx, period)?;
    if !store::year_has_plans(conn, year)? {
        return Err(FieldErrors::single("year", format!("{year}年度尚未下达建站计划")));
    }
    let counts = store::unit_counts(conn, year, as_of)?;
    progress::compute(year, as_of, ctx.settings.circular.lag_tolerance, counts).map_err(|e| match e {
        ProgressError::AsOfOutsideYear => FieldErrors::single("as_of", format!("截止日期应在{year}年内")),
    })
}

/// The year to show when none is asked for: this year if it has plans,
/// otherwise the latest year that has (as of its last day).
pub fn default_period(conn: &mut DbConnection, ctx: &Ctx) -> Result<Option<Period>, AppError> {
    let today = ctx.today();
    Ok(store::latest_plan_year(conn, today.year())?.map(|y| Period {
        year: Some(y),
        as_of: Some(if y == today.year() {
            today
        } else {
            NaiveDate::from_ymd_opt(y, 12, 31).unwrap_or(today)
        }),
    }))
}
