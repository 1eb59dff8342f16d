//! The burn-up of a year's plan, the picture of 时间过半、任务过半: stations
//! built through the year, counted at each month's end (the last point at
//! the day asked about), against the straight 序时进度 line from nothing on
//! 1 January to the target on 31 December.
//!
//! Counting follows the progress table exactly: a station stands on day d
//! when it was established on or before d and not revoked by d (revoked
//! after d, or never). A plan counting new stations (当年新建) counts those
//! established in the year; one counting the total (年末建成总数) counts
//! every standing station. Stations are whole and 应建成 is rounded up, as
//! in [`super::progress::expected_stations`].

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::progress::{Basis, expected_stations};

/// What the registry holds about one unit's stations for the year.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnitEvents {
    /// Stations standing on 31 December of the year before.
    pub standing_before: i64,
    /// Stations established on a day of the year (and not revoked that day
    /// or earlier), by day.
    pub established: Vec<(NaiveDate, i64)>,
    /// Stations revoked on a day of the year after their establishment, by
    /// day: all of them, and those established in the year.
    pub revoked: Vec<(NaiveDate, i64, i64)>,
}

/// One point of a series: the stations built by `on`, and where the plan
/// says the unit should be by then (应建成; null without a target).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Point {
    pub on: NaiveDate,
    /// Day of the year of `on` (1 January is 1).
    pub day: u32,
    pub built: i64,
    pub expected: Option<i64>,
}

/// The days a series is counted on: the end of each month up to the month
/// of `as_of`, that month ending at `as_of` itself.
pub fn checkpoints(as_of: NaiveDate) -> Vec<NaiveDate> {
    (1..=as_of.month())
        .filter_map(|m| {
            let next = if m == 12 {
                NaiveDate::from_ymd_opt(as_of.year() + 1, 1, 1)
            } else {
                NaiveDate::from_ymd_opt(as_of.year(), m + 1, 1)
            };
            next.and_then(|d| d.pred_opt()).map(|end| end.min(as_of))
        })
        .collect()
}

/// Stations built by `day` under `basis`.
pub fn built_on(events: &UnitEvents, basis: Basis, day: NaiveDate) -> i64 {
    let established: i64 = events
        .established
        .iter()
        .filter(|(d, _)| *d <= day)
        .map(|(_, n)| n)
        .sum();
    let revoked: i64 = events
        .revoked
        .iter()
        .filter(|(d, ..)| *d <= day)
        .map(|(_, all, new)| if basis == Basis::Total { *all } else { *new })
        .sum();
    let base = if basis == Basis::Total {
        events.standing_before
    } else {
        0
    };
    (base + established - revoked).max(0)
}

/// One unit's series at `points` (days of one year of `days_in_year` days).
pub fn series(
    events: &UnitEvents,
    basis: Basis,
    target: Option<i64>,
    points: &[NaiveDate],
    days_in_year: u32,
) -> Vec<Point> {
    points
        .iter()
        .map(|on| Point {
            on: *on,
            day: on.ordinal(),
            built: built_on(events, basis, *on),
            expected: target.map(|t| expected_stations(t, on.ordinal(), days_in_year)),
        })
        .collect()
}

/// The sum of several series counted on the same days.
pub fn sum(series: &[&[Point]], points: &[NaiveDate], target: Option<i64>, days_in_year: u32) -> Vec<Point> {
    points
        .iter()
        .enumerate()
        .map(|(i, on)| Point {
            on: *on,
            day: on.ordinal(),
            built: series.iter().filter_map(|s| s.get(i)).map(|p| p.built).sum(),
            expected: target.map(|t| expected_stations(t, on.ordinal(), days_in_year)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2017, m, day).expect("date")
    }

    #[test]
    fn checkpoints_are_month_ends_up_to_the_day_asked() {
        assert_eq!(checkpoints(d(3, 14)), vec![d(1, 31), d(2, 28), d(3, 14)]);
        assert_eq!(checkpoints(d(1, 31)), vec![d(1, 31)]);
        assert_eq!(checkpoints(d(12, 31)).len(), 12);
        assert_eq!(checkpoints(d(12, 31))[11], d(12, 31));
    }

    #[test]
    fn counts_follow_the_basis_and_revocations() {
        let events = UnitEvents {
            standing_before: 10,
            established: vec![(d(1, 5), 2), (d(2, 10), 3)],
            // One old station revoked in February, one new one in March.
            revoked: vec![(d(2, 20), 1, 0), (d(3, 1), 1, 1)],
        };
        let points = checkpoints(d(3, 31));
        let total = series(&events, Basis::Total, Some(30), &points, 365);
        assert_eq!(total.iter().map(|p| p.built).collect::<Vec<_>>(), vec![12, 14, 13]);
        let new = series(&events, Basis::New, Some(30), &points, 365);
        assert_eq!(new.iter().map(|p| p.built).collect::<Vec<_>>(), vec![2, 5, 4]);
        // 30 × 31 / 365 = 2.55 → 3; × 59 → 4.85 → 5; × 90 → 7.40 → 8.
        assert_eq!(
            new.iter().map(|p| p.expected).collect::<Vec<_>>(),
            vec![Some(3), Some(5), Some(8)]
        );
    }

    #[test]
    fn a_sum_adds_built_and_takes_the_whole_target() {
        let points = checkpoints(d(2, 28));
        let a = series(
            &UnitEvents {
                established: vec![(d(1, 2), 1)],
                ..Default::default()
            },
            Basis::New,
            Some(10),
            &points,
            365,
        );
        let b = series(
            &UnitEvents {
                established: vec![(d(2, 2), 4)],
                ..Default::default()
            },
            Basis::New,
            None,
            &points,
            365,
        );
        let city = sum(&[&a, &b], &points, Some(10), 365);
        assert_eq!(city.iter().map(|p| p.built).collect::<Vec<_>>(), vec![1, 5]);
        assert_eq!(city[1].expected, Some(2));
    }
}
