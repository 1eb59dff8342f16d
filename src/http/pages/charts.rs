//! The bureau's charts as the templates draw them (`templates/pages/
//! charts.html`): server-rendered SVG whose geometry is worked out here, so
//! the templates only place what they are given. Both charts fit a phone
//! (a 420-unit-wide view box) and come with their figures as a table.

use serde::Serialize;

use crate::app::burnup::{Burnup, Series};
use crate::app::progress::ScopedProgress;
use crate::domain::progress::position;

/// View-box width of every chart.
const WIDTH: f64 = 420.0;
/// Bar chart: the bars' area (the value labels sit to its right, outside
/// it, so no label meets the 序时进度 line).
const PLOT: f64 = 300.0;
const ROW: f64 = 46.0;
const HEAD: f64 = 26.0;

fn r1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[derive(Debug, Serialize)]
pub struct Bar {
    pub unit_id: i32,
    pub name: String,
    pub rate_label: String,
    pub lagging: bool,
    pub rank: Option<u32>,
    pub target: Option<i32>,
    pub built: i64,
    /// Where the unit's stations are listed.
    pub href: String,
    /// The unit's row and burn-up on the progress page.
    pub progress_href: String,
    pub y_name: f64,
    pub y_bar: f64,
    pub width: f64,
}

#[derive(Debug, Serialize)]
pub struct BarChart {
    pub width: f64,
    pub height: f64,
    pub plot: f64,
    pub label_x: f64,
    pub line_x: f64,
    /// Where the line's caption starts, kept inside the view box.
    pub line_label_x: f64,
    pub line_anchor: &'static str,
    pub expected_pct: f64,
    /// The value the full width stands for: 100 %, or the largest rate.
    pub scale_pct: f64,
    pub ticks: Vec<(f64, String)>,
    pub bars: Vec<Bar>,
    pub lagging: usize,
}

/// Bars sorted by rate (best first; units without a target last), scaled to
/// 100 % or the largest rate if that is more.
pub fn bar_chart(sp: &ScopedProgress) -> BarChart {
    let p = &sp.progress;
    let mut rows: Vec<_> = p.rows.iter().filter(|r| r.rate.is_some()).collect();
    rows.sort_by(|a, b| {
        b.rate
            .unwrap_or(0.0)
            .total_cmp(&a.rate.unwrap_or(0.0))
            .then(a.unit_id.cmp(&b.unit_id))
    });
    let largest = rows.iter().filter_map(|r| r.rate).fold(0.0_f64, f64::max) * 100.0;
    let scale_pct = largest.max(100.0).ceil();
    let x = |pct: f64| r1(pct.clamp(0.0, scale_pct) / scale_pct * PLOT);
    let expected_pct = r1(p.expected * 100.0);
    let line_x = x(expected_pct);
    let query = format!("year={}&as_of={}", p.year, p.as_of);
    let bars: Vec<Bar> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let top = HEAD + i as f64 * ROW;
            let rate_pct = r.rate.unwrap_or(0.0) * 100.0;
            Bar {
                unit_id: r.unit_id,
                name: r.unit_name.clone(),
                rate_label: format!("{:.1}%", rate_pct),
                lagging: r.lagging,
                rank: r.rank,
                target: r.target,
                built: r.built,
                href: format!("/stations?unit_id={}", r.unit_id),
                progress_href: format!("/progress?{query}#unit-{}", r.unit_id),
                y_name: top + 14.0,
                y_bar: top + 20.0,
                width: x(rate_pct).max(1.0),
            }
        })
        .collect();
    let (line_label_x, line_anchor) = if line_x < 70.0 {
        (0.0, "start")
    } else if line_x > PLOT - 70.0 {
        (PLOT, "end")
    } else {
        (line_x, "middle")
    };
    let ticks = [0.0, 50.0, 100.0, scale_pct].iter().filter(|t| **t <= scale_pct).fold(
        Vec::new(),
        |mut acc: Vec<(f64, String)>, t| {
            if acc.last().is_none_or(|(at, _)| *at < x(*t)) {
                acc.push((x(*t), format!("{t}%")));
            }
            acc
        },
    );
    BarChart {
        width: WIDTH,
        height: HEAD + bars.len() as f64 * ROW + 22.0,
        plot: PLOT,
        label_x: PLOT + 8.0,
        line_x,
        line_label_x,
        line_anchor,
        expected_pct,
        scale_pct,
        ticks,
        lagging: bars.iter().filter(|b| b.lagging).count(),
        bars,
    }
}

/// Burn-up plot area inside the 420 × 240 view box.
const LEFT: f64 = 44.0;
const TOP: f64 = 12.0;
const PLOT_W: f64 = 366.0;
const PLOT_H: f64 = 190.0;

#[derive(Debug, Serialize)]
pub struct BurnupRow {
    pub on: String,
    pub built: i64,
    pub expected: Option<i64>,
    /// "尚差3个", "超序时进度2个" or "达到序时进度" (never a negative number).
    pub position_zh: String,
}

#[derive(Debug, Serialize)]
pub struct BurnupChart {
    /// Unique on the page (ids of the SVG's title and description).
    pub id: String,
    pub name: String,
    pub target: Option<i64>,
    pub built: i64,
    pub width: f64,
    pub height: f64,
    pub left: f64,
    pub top: f64,
    pub bottom: f64,
    pub right: f64,
    /// "x,y x,y …" of stations built, stepping at each count.
    pub built_points: String,
    /// The 序时进度 line from 1 January to the target on 31 December.
    pub plan_line: Option<(f64, f64, f64, f64)>,
    pub y_ticks: Vec<(f64, i64)>,
    pub x_ticks: Vec<(f64, String)>,
    pub rows: Vec<BurnupRow>,
}

fn position_zh(expected: Option<i64>, built: i64) -> String {
    match expected.map(|e| position(e, built)) {
        None => "未制定年度建站计划".to_owned(),
        Some((short, _)) if short > 0 => format!("尚差{short}个"),
        Some((_, ahead)) if ahead > 0 => format!("超序时进度{ahead}个"),
        Some(_) => "达到序时进度".to_owned(),
    }
}

/// A top for the y axis: a round number at or above `n`.
fn nice_top(n: i64) -> i64 {
    let n = n.max(4);
    let step = match n {
        0..=10 => 2,
        11..=50 => 10,
        51..=200 => 25,
        201..=1000 => 100,
        _ => 10_i64.pow((n as f64).log10().floor() as u32),
    };
    (n + step - 1) / step * step
}

pub fn burnup_chart(b: &Burnup, s: &Series, id: &str) -> BurnupChart {
    let days = f64::from(b.days_in_year.max(1));
    let most = s.points.iter().map(|p| p.built).max().unwrap_or(0).max(s.start);
    let top_value = nice_top(most.max(s.target.unwrap_or(0)));
    let x = |day: f64| r1(LEFT + day / days * PLOT_W);
    let y = |v: i64| r1(TOP + PLOT_H - v as f64 / top_value as f64 * PLOT_H);
    // A step line: flat until the month's end, then up (or down) to its count.
    let mut path = vec![format!("{},{}", x(0.0), y(s.start))];
    let mut last = s.start;
    for p in &s.points {
        let px = x(f64::from(p.day));
        path.push(format!("{px},{}", y(last)));
        path.push(format!("{px},{}", y(p.built)));
        last = p.built;
    }
    let month_starts = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
    let leap = u32::from(b.days_in_year == 366);
    let x_ticks = month_starts
        .iter()
        .enumerate()
        .map(|(i, d)| {
            (
                x(f64::from(d + if i >= 2 { leap } else { 0 }) + 15.0),
                format!("{}", i + 1),
            )
        })
        .collect();
    let rows = s
        .points
        .iter()
        .map(|p| BurnupRow {
            on: format!("{}月{}日", p.on.format("%-m"), p.on.format("%-d")),
            built: p.built,
            expected: p.expected,
            position_zh: position_zh(p.expected, p.built),
        })
        .collect();
    let now = s.points.last();
    BurnupChart {
        id: id.to_owned(),
        name: s.name.clone(),
        target: s.target,
        built: now.map_or(0, |p| p.built),
        width: WIDTH,
        height: TOP + PLOT_H + 36.0,
        left: LEFT,
        top: TOP,
        bottom: TOP + PLOT_H,
        right: LEFT + PLOT_W,
        built_points: path.join(" "),
        plan_line: s.target.map(|t| (x(0.0), y(0), x(days), y(t))),
        y_ticks: [0, top_value / 2, top_value].iter().map(|v| (y(*v), *v)).collect(),
        x_ticks,
        rows,
    }
}

/// The city's (or the reader's units') burn-up, and one per unit.
pub fn burnup_charts(b: &Burnup) -> (BurnupChart, Vec<BurnupChart>) {
    let total = burnup_chart(b, &b.total, "burnup-total");
    let units = b
        .units
        .iter()
        .map(|u| burnup_chart(b, u, &format!("burnup-{}", u.unit_id.unwrap_or(0))))
        .collect();
    (total, units)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;
    use crate::domain::progress::{Basis, UnitCounts, compute};

    fn unit(id: i32, target: Option<i32>, built: i64) -> UnitCounts {
        UnitCounts {
            unit_id: id,
            code: id.to_string(),
            name: format!("单位{id}"),
            kind: "county".into(),
            target,
            basis: Basis::New,
            built_new: built,
            built_total: built,
            compliant_new: 0,
            compliant_total: 0,
            overdue_guidance: 0,
        }
    }

    fn chart(units: Vec<UnitCounts>) -> BarChart {
        let as_of = NaiveDate::from_ymd_opt(2017, 7, 14).expect("date");
        let progress = compute(2017, as_of, 0.0, units).expect("progress");
        bar_chart(&ScopedProgress {
            progress,
            city_wide: true,
        })
    }

    #[test]
    fn bars_run_best_first_on_a_scale_of_one_hundred_percent() {
        let c = chart(vec![
            unit(1, Some(10), 2),
            unit(2, Some(10), 9),
            unit(3, None, 4),
            unit(4, Some(10), 6),
        ]);
        let order: Vec<i32> = c.bars.iter().map(|b| b.unit_id).collect();
        assert_eq!(order, [2, 4, 1], "by rate; a unit without a target has no bar");
        assert_eq!(c.scale_pct, 100.0);
        assert_eq!(c.bars[0].width, 270.0, "90 % of the plot");
        assert_eq!(c.lagging, 1, "only 20 % is under 53.4 %");
        // Value labels sit beyond the plot, so none meets the 序时进度 line.
        assert!(c.label_x > c.plot && c.line_x < c.plot);
        assert!(
            c.bars.windows(2).all(|w| w[1].y_name - w[0].y_bar > 16.0),
            "no name on a bar"
        );
    }

    #[test]
    fn a_rate_over_one_hundred_percent_sets_the_scale() {
        let c = chart(vec![unit(1, Some(10), 15), unit(2, Some(10), 5)]);
        assert_eq!(c.scale_pct, 150.0);
        assert_eq!(c.bars[0].width, c.plot, "the largest fills the plot");
        assert_eq!(c.bars[0].rate_label, "150.0%");
        assert!(c.ticks.iter().any(|(_, t)| t == "150%"));
    }
}
