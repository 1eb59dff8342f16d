//! Progress against the annual plan: 时间过半、任务过半 / 序时进度.
//!
//! For year Y as of date D: expected = days elapsed in Y up to and including
//! D / days in Y; rate = built / target; a unit lags when rate < expected −
//! tolerance. Stations are whole: where a unit should be by now (应建成) is
//! expected × target rounded up, and a unit is behind (尚差N个) or ahead
//! (超序时进度N个) of it by a whole number, never a negative one.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::text_enum;

text_enum!(
    /// What a plan's target counts.
    Basis {
        /// Stations established in the year.
        New = "new" / "当年新建",
        /// Stations standing (established and not revoked).
        Total = "total" / "年末建成总数",
    }
);

/// The counts for one unit, as the database aggregates them.
#[derive(Debug, Clone, PartialEq)]
pub struct UnitCounts {
    pub unit_id: i32,
    pub code: String,
    pub name: String,
    pub kind: String,
    pub target: Option<i32>,
    pub basis: Basis,
    /// Established in Y on or before D and not revoked by D.
    pub built_new: i64,
    /// Standing at D (established on or before D, not revoked by D).
    pub built_total: i64,
    pub compliant_new: i64,
    pub compliant_total: i64,
    /// Open guidance past its due date as of D.
    pub overdue_guidance: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Row {
    pub unit_id: i32,
    pub unit_code: String,
    pub unit_name: String,
    pub unit_kind: String,
    pub target: Option<i32>,
    pub basis: Basis,
    pub built: i64,
    /// Of the built stations, those whose latest visit was compliant.
    pub compliant: i64,
    /// built / target; null without a target.
    pub rate: Option<f64>,
    /// expected × target rounded up to whole stations: where the unit
    /// should be by now (应建成); null without a target.
    pub expected_built: Option<i64>,
    /// Stations short of `expected_built` (尚差), 0 when on or ahead.
    pub shortfall: Option<i64>,
    /// Stations beyond `expected_built` (超序时进度), 0 when behind.
    pub ahead: Option<i64>,
    pub lagging: bool,
    /// 1 = best rate; equal rates share a rank; null without a target.
    pub rank: Option<u32>,
    pub overdue_guidance: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Totals {
    pub target: i64,
    pub built: i64,
    pub compliant: i64,
    pub rate: Option<f64>,
    /// The city's target × expected, rounded up to whole stations.
    pub expected_built: i64,
    pub shortfall: i64,
    pub ahead: i64,
    /// What the targets count, when every planned unit counts alike.
    pub basis: Option<Basis>,
    pub lagging: bool,
    pub lagging_units: usize,
    pub overdue_guidance: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Progress {
    pub year: i32,
    pub as_of: NaiveDate,
    pub days_elapsed: u32,
    pub days_in_year: u32,
    /// 序时进度: the share of the year gone by.
    pub expected: f64,
    pub tolerance: f64,
    pub rows: Vec<Row>,
    pub totals: Totals,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProgressError {
    AsOfOutsideYear,
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// `target` × `days_elapsed` / `days_in_year`, rounded up: computed on
/// integers, so that a whole result is never pushed up by a rounding error.
pub fn expected_stations(target: i64, days_elapsed: u32, days_in_year: u32) -> i64 {
    let n = i64::from(days_in_year.max(1));
    (target.max(0) * i64::from(days_elapsed) + n - 1) / n
}

/// (shortfall, ahead) of `built` against `expected`: one of them is zero.
pub fn position(expected: i64, built: i64) -> (i64, i64) {
    ((expected - built).max(0), (built - expected).max(0))
}

/// Days elapsed in the year up to and including `as_of`, and days in it.
pub fn elapsed(year: i32, as_of: NaiveDate) -> Result<(u32, u32), ProgressError> {
    if as_of.year() != year {
        return Err(ProgressError::AsOfOutsideYear);
    }
    let days_in_year = if NaiveDate::from_ymd_opt(year, 2, 29).is_some() {
        366
    } else {
        365
    };
    Ok((as_of.ordinal(), days_in_year))
}

/// The totals over `rows` (the whole city, or the rows a reader may see).
pub fn totals(rows: &[Row], (days_elapsed, days_in_year): (u32, u32), tolerance: f64) -> Totals {
    let expected = f64::from(days_elapsed) / f64::from(days_in_year.max(1));
    let target: i64 = rows.iter().filter_map(|r| r.target).map(i64::from).sum();
    let built: i64 = rows.iter().map(|r| r.built).sum();
    let rate = (target > 0).then(|| built as f64 / target as f64);
    let expected_built = expected_stations(target, days_elapsed, days_in_year);
    let (shortfall, ahead) = position(expected_built, built);
    let mut bases = rows.iter().filter(|r| r.target.is_some()).map(|r| r.basis);
    let first = bases.next();
    Totals {
        target,
        built,
        compliant: rows.iter().map(|r| r.compliant).sum(),
        rate: rate.map(round4),
        expected_built,
        shortfall,
        ahead,
        basis: first.filter(|b| bases.all(|x| x == *b)),
        lagging: rate.is_some_and(|r| r < expected - tolerance),
        lagging_units: rows.iter().filter(|r| r.lagging).count(),
        overdue_guidance: rows.iter().map(|r| r.overdue_guidance).sum(),
    }
}

pub fn compute(year: i32, as_of: NaiveDate, tolerance: f64, units: Vec<UnitCounts>) -> Result<Progress, ProgressError> {
    let (days_elapsed, days_in_year) = elapsed(year, as_of)?;
    let expected = f64::from(days_elapsed) / f64::from(days_in_year);
    let mut rows: Vec<Row> = units
        .into_iter()
        .map(|u| {
            let (built, compliant) = match u.basis {
                Basis::New => (u.built_new, u.compliant_new),
                Basis::Total => (u.built_total, u.compliant_total),
            };
            let target = u.target.filter(|t| *t > 0);
            let rate = target.map(|t| built as f64 / f64::from(t));
            let expected_built = u
                .target
                .map(|t| expected_stations(i64::from(t), days_elapsed, days_in_year));
            let pos = expected_built.map(|e| position(e, built));
            Row {
                unit_id: u.unit_id,
                unit_code: u.code,
                unit_name: u.name,
                unit_kind: u.kind,
                target: u.target,
                basis: u.basis,
                built,
                compliant,
                lagging: rate.is_some_and(|r| r < expected - tolerance),
                rate: rate.map(round4),
                expected_built,
                shortfall: pos.map(|p| p.0),
                ahead: pos.map(|p| p.1),
                rank: None,
                overdue_guidance: u.overdue_guidance,
            }
        })
        .collect();
    // Competition ranking by rate (1, 2, 2, 4): ties share a rank.
    let mut rates: Vec<f64> = rows.iter().filter_map(|r| r.rate).collect();
    rates.sort_by(|a, b| b.total_cmp(a));
    for row in &mut rows {
        row.rank = row
            .rate
            .and_then(|r| rates.iter().position(|x| *x == r))
            .map(|p| p as u32 + 1);
    }
    let totals = totals(&rows, (days_elapsed, days_in_year), tolerance);
    Ok(Progress {
        year,
        as_of,
        days_elapsed,
        days_in_year,
        expected: round4(expected),
        tolerance,
        rows,
        totals,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(id: i32, name: &str, target: Option<i32>, built: i64) -> UnitCounts {
        UnitCounts {
            unit_id: id,
            code: format!("{id}"),
            name: name.into(),
            kind: "county".into(),
            target,
            basis: Basis::Total,
            built_new: 0,
            built_total: built,
            compliant_new: 0,
            compliant_total: built / 2,
            overdue_guidance: 1,
        }
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn baishan_mid_july_2017() {
        let units = vec![
            unit(1, "浑江区", Some(70), 40),
            unit(2, "江源区", Some(40), 18),
            unit(3, "抚松县", Some(55), 30),
            unit(4, "靖宇县", Some(35), 14),
        ];
        let p = compute(2017, d(2017, 7, 14), 0.0, units).expect("in year");
        assert_eq!((p.days_elapsed, p.days_in_year), (195, 365));
        assert_eq!(p.expected, 0.5342);
        let lagging: Vec<_> = p
            .rows
            .iter()
            .filter(|r| r.lagging)
            .map(|r| r.unit_name.as_str())
            .collect();
        assert_eq!(lagging, ["江源区", "靖宇县"]);
        assert_eq!(p.rows[1].rate, Some(0.45));
        assert_eq!(
            (p.rows[1].expected_built, p.rows[1].shortfall, p.rows[1].ahead),
            (Some(22), Some(4), Some(0)),
            "40 × 195/365 = 21.4, rounded up to 22; 22 − 18"
        );
        assert_eq!(
            (p.rows[0].expected_built, p.rows[0].shortfall, p.rows[0].ahead),
            (Some(38), Some(0), Some(2)),
            "70 × 195/365 = 37.4 → 38; 40 built is 2 ahead"
        );
        let ranks: Vec<_> = p.rows.iter().map(|r| r.rank).collect();
        assert_eq!(ranks, [Some(1), Some(3), Some(2), Some(4)]);
        assert_eq!((p.totals.target, p.totals.built, p.totals.lagging_units), (200, 102, 2));
        assert_eq!(
            (p.totals.expected_built, p.totals.shortfall, p.totals.basis),
            (107, 5, Some(Basis::Total))
        );
        assert_eq!(p.totals.overdue_guidance, 4);
    }

    #[test]
    fn no_target_is_shown_not_divided_by_zero_and_ties_share_a_rank() {
        let units = vec![
            unit(1, "甲", None, 5),
            unit(2, "乙", Some(10), 5),
            unit(3, "丙", Some(0), 3),
            unit(4, "丁", Some(20), 10),
        ];
        let p = compute(2016, d(2016, 12, 31), 0.0, units).expect("in year");
        assert_eq!((p.days_elapsed, p.days_in_year, p.expected), (366, 366, 1.0));
        assert_eq!((p.rows[0].rate, p.rows[0].rank, p.rows[0].lagging), (None, None, false));
        assert_eq!(
            (p.rows[2].rate, p.rows[2].rank),
            (None, None),
            "a zero target has no rate"
        );
        assert_eq!((p.rows[1].rank, p.rows[3].rank), (Some(1), Some(1)));
        assert!(p.rows[1].lagging, "half done at the year end");
    }

    #[test]
    fn whole_stations_are_rounded_up_exactly() {
        assert_eq!(expected_stations(330, 195, 365), 177, "176.3 → 177");
        assert_eq!(expected_stations(365, 195, 365), 195, "exact, not pushed up");
        assert_eq!(expected_stations(10, 1, 365), 1, "any share of a station is one");
        assert_eq!(expected_stations(0, 195, 365), 0);
        assert_eq!(position(22, 18), (4, 0));
        assert_eq!(position(22, 25), (0, 3));
    }

    #[test]
    fn tolerance_and_bounds() {
        let p = compute(2017, d(2017, 7, 14), 0.05, vec![unit(1, "甲", Some(100), 50)]).expect("in year");
        assert!(!p.rows[0].lagging, "0.50 ≥ 0.534 − 0.05");
        let p = compute(2017, d(2017, 7, 14), 0.0, vec![unit(1, "甲", Some(100), 50)]).expect("in year");
        assert!(p.rows[0].lagging && p.totals.lagging);
        assert_eq!(
            compute(2017, d(2018, 1, 1), 0.0, vec![]),
            Err(ProgressError::AsOfOutsideYear)
        );
        let mut new = unit(1, "甲", Some(10), 99);
        new.basis = Basis::New;
        new.built_new = 6;
        let p = compute(2017, d(2017, 1, 1), 0.0, vec![new]).expect("in year");
        assert_eq!(
            (p.rows[0].built, p.rows[0].rate),
            (6, Some(0.6)),
            "the basis picks the count"
        );
    }
}
