//! The circular's content as its templates see it: the figures written as a
//! clerk writes them (whole stations, "尚差N个" / "超序时进度N个"), the
//! letterhead, and the body blocks rendered from
//! `templates/documents/circular.txt`.

use serde::Serialize;

use super::five_entries::FiveEntriesView;
use crate::domain::Category;
use crate::domain::circular::date_zh;
use crate::domain::progress::{Basis, Progress, Row, Totals};

/// Who issues the circular and to whom: the 版头, 主送 and 版记 parts.
#[derive(Debug, Clone, Serialize)]
pub struct Letterhead {
    /// 发文机关标志, e.g. 白山市工商行政管理局文件.
    pub mark: String,
    /// 发文机关署名, e.g. 白山市工商行政管理局.
    pub issuer: String,
    pub title: String,
    /// 主送机关.
    pub addressees: String,
    /// 抄送机关 (the names on the copy list).
    pub cc: Vec<String>,
    /// 印发机关.
    pub printed_by: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct RowView {
    pub unit_id: i32,
    pub name: String,
    pub target: String,
    pub basis_zh: &'static str,
    /// "计划年底前建成40个", or "未制定年度建站计划".
    pub plan_zh: String,
    pub built: i64,
    pub rate_pct: String,
    pub expected_built: String,
    /// "尚差4个", "超序时进度2个", "达到序时进度" or "未制定年度建站计划".
    pub position_zh: String,
    pub lagging: bool,
    pub status_zh: &'static str,
    pub rank: Option<u32>,
    pub compliant: i64,
    pub overdue: i64,
    pub highlight: bool,
    /// The unit's stations standing at the date, by 五进 (empty until
    /// [`CircularDoc::with_five_entries`]).
    pub five_entries: FiveEntriesView,
}

#[derive(Debug, Clone, Serialize)]
pub struct TotalsView {
    pub target: i64,
    /// "年底前建成330个" (stations standing at the year end), "年内新建60个".
    pub plan_zh: String,
    pub built: i64,
    pub rate_pct: String,
    pub expected_built: i64,
    pub position_zh: String,
    pub lagging: bool,
    pub compliant: i64,
    pub overdue: i64,
}

/// A block of the document body: `kind` is "h1", "h2" or "p".
#[derive(Debug, Clone, Serialize)]
pub struct BlockView {
    pub kind: &'static str,
    pub text: String,
}

/// Everything a circular's templates see.
#[derive(Debug, Clone, Serialize)]
pub struct CircularDoc {
    pub number: String,
    pub head: Letterhead,
    pub issued_on_zh: String,
    pub as_of_zh: String,
    pub year: i32,
    pub expected_pct: String,
    pub totals: TotalsView,
    pub rows: Vec<RowView>,
    pub lagging_names: String,
    pub lagging_count: usize,
    /// The attachment's name, as the 附件说明 gives it.
    pub attachment_name: String,
    /// The body, rendered from the document template ([`super::render`]
    /// fills it in).
    pub blocks: Vec<BlockView>,
    /// The recipient unit whose row is highlighted; empty for the plain copy.
    pub highlight_unit: String,
    /// The city's stations standing at the date, by 五进.
    pub five_entries: FiveEntriesView,
    /// The city's dispute-ledger figures in the clerk's words (figures
    /// only, never a consumer); empty when no case was received.
    pub disputes_zh: String,
}

fn pct(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

/// What a plan asks, in words: "年底前建成330个" / "年内新建60个".
pub fn plan_zh(basis: Option<Basis>, target: i64) -> String {
    match basis {
        Some(Basis::Total) => format!("年底前建成{target}个"),
        Some(Basis::New) => format!("年内新建{target}个"),
        None => format!("年度计划建站{target}个"),
    }
}

/// Where a unit stands against 序时进度, in whole stations.
pub fn position_zh(shortfall: i64, ahead: i64) -> String {
    if shortfall > 0 {
        format!("尚差{shortfall}个")
    } else if ahead > 0 {
        format!("超序时进度{ahead}个")
    } else {
        "达到序时进度".to_owned()
    }
}

const NO_PLAN: &str = "未制定年度建站计划";

fn row_view(r: &Row) -> RowView {
    let planned = r.target.filter(|t| *t > 0);
    RowView {
        unit_id: r.unit_id,
        name: r.unit_name.clone(),
        target: planned.map_or_else(|| "—".to_owned(), |t| t.to_string()),
        basis_zh: match r.basis {
            Basis::New => "当年新建",
            Basis::Total => "年末建成总数",
        },
        plan_zh: match planned {
            Some(t) => format!("计划{}", plan_zh(Some(r.basis), i64::from(t))),
            None => NO_PLAN.to_owned(),
        },
        built: r.built,
        rate_pct: pct(r.rate),
        expected_built: r
            .expected_built
            .filter(|_| planned.is_some())
            .map_or_else(|| "—".to_owned(), |e| e.to_string()),
        position_zh: match (planned, r.shortfall, r.ahead) {
            (Some(_), Some(s), Some(a)) => position_zh(s, a),
            _ => NO_PLAN.to_owned(),
        },
        lagging: r.lagging,
        status_zh: match (r.rate, r.lagging) {
            (None, _) => NO_PLAN,
            (Some(_), true) => "未达到序时进度",
            (Some(_), false) => "达到序时进度",
        },
        rank: r.rank,
        compliant: r.compliant,
        overdue: r.overdue_guidance,
        highlight: false,
        five_entries: FiveEntriesView::default(),
    }
}

fn totals_view(t: &Totals) -> TotalsView {
    TotalsView {
        target: t.target,
        plan_zh: plan_zh(t.basis, t.target),
        built: t.built,
        rate_pct: t.rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}", r * 100.0)),
        expected_built: t.expected_built,
        position_zh: position_zh(t.shortfall, t.ahead),
        lagging: t.lagging,
        compliant: t.compliant,
        overdue: t.overdue_guidance,
    }
}

impl CircularDoc {
    pub fn new(number: &str, head: &Letterhead, issued_on: chrono::NaiveDate, p: &Progress) -> Self {
        let lagging: Vec<&str> = p
            .rows
            .iter()
            .filter(|r| r.lagging)
            .map(|r| r.unit_name.as_str())
            .collect();
        CircularDoc {
            number: number.to_owned(),
            head: head.clone(),
            issued_on_zh: date_zh(issued_on),
            as_of_zh: date_zh(p.as_of),
            year: p.year,
            expected_pct: format!("{:.1}", p.expected * 100.0),
            totals: totals_view(&p.totals),
            rows: p.rows.iter().map(row_view).collect(),
            lagging_names: lagging.join("、"),
            lagging_count: lagging.len(),
            attachment_name: format!("{}年全市建立12315消费维权服务站工作进度表", p.year),
            blocks: Vec::new(),
            highlight_unit: String::new(),
            five_entries: FiveEntriesView::default(),
            disputes_zh: String::new(),
        }
    }

    /// Fills in the 五进 roll-up, for the city and each unit's row, from
    /// the stations standing at the date: (unit id, category, stations).
    pub fn with_five_entries(mut self, counts: &[(i32, Category, i64)]) -> Self {
        let (city, mut units) = FiveEntriesView::city_and_units(counts);
        self.five_entries = city;
        for r in &mut self.rows {
            r.five_entries = units
                .remove(&r.unit_id)
                .unwrap_or_else(|| FiveEntriesView::from_counts([]));
        }
        self
    }

    /// The same document with one unit's row highlighted.
    pub fn for_unit(&self, unit_id: i32) -> Self {
        let mut doc = self.clone();
        for r in &mut doc.rows {
            r.highlight = r.unit_id == unit_id;
            if r.highlight {
                doc.highlight_unit = r.name.clone();
            }
        }
        doc
    }
}
