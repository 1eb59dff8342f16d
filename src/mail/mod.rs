//! Email: the circular's documents rendered from `templates/email/*` with
//! minijinja (HTML auto-escaped, undefined variables are errors), the CSV
//! progress table, and the transports that send a message. Which messages
//! are due, and what became of them, is the outbox's business
//! (`app::outbox`); this module knows no database.

mod send;

pub use send::{Attachment, Built, Email, MailSettings, SendError, Sender, Transport, build_message};

use std::sync::OnceLock;

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;

use crate::domain::circular::date_zh;
use crate::domain::progress::{Basis, Progress};
use crate::error::AppError;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "circular/subject.txt",
        include_str!("../../templates/email/circular/subject.txt"),
    ),
    (
        "circular/body.txt",
        include_str!("../../templates/email/circular/body.txt"),
    ),
    (
        "circular/body.html",
        include_str!("../../templates/email/circular/body.html"),
    ),
];

fn env() -> Result<&'static Environment<'static>, AppError> {
    static ENV: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        for (name, source) in TEMPLATES {
            env.add_template(name, source).map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(env)
    })
    .as_ref()
    .map_err(|e| AppError::internal("email templates are invalid", anyhow::anyhow!(e.clone())))
}

pub const CIRCULAR_TITLE: &str = "关于全市12315消费维权服务站建设工作进度情况的通报";

#[derive(Debug, Clone, Serialize)]
pub struct RowView {
    pub unit_id: i32,
    pub name: String,
    pub target: String,
    pub basis_zh: &'static str,
    pub built: i64,
    pub rate_pct: String,
    pub expected_built: String,
    pub gap: String,
    pub lagging: bool,
    pub status_zh: &'static str,
    pub rank: Option<u32>,
    pub compliant: i64,
    pub overdue: i64,
    pub highlight: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct TotalsView {
    pub target: i64,
    pub built: i64,
    pub rate_pct: String,
    pub expected_built: String,
    pub gap: String,
    pub lagging: bool,
    pub compliant: i64,
    pub overdue: i64,
}

/// Everything a circular's templates see.
#[derive(Debug, Clone, Serialize)]
pub struct CircularDoc {
    pub number: String,
    pub title: String,
    pub addressees: String,
    pub issuer: String,
    pub issued_on_zh: String,
    pub as_of_zh: String,
    pub year: i32,
    pub expected_pct: String,
    pub totals: TotalsView,
    pub rows: Vec<RowView>,
    pub lagging_names: String,
    pub lagging_count: usize,
    /// The recipient unit whose row is highlighted; empty for the plain copy.
    pub highlight_unit: String,
}

fn pct(rate: Option<f64>) -> String {
    rate.map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0))
}

fn num(x: Option<f64>) -> String {
    x.map_or_else(|| "—".to_owned(), |v| format!("{v:.1}"))
}

impl CircularDoc {
    pub fn new(number: &str, issuer: &str, issued_on: chrono::NaiveDate, p: &Progress) -> Self {
        let rows: Vec<RowView> = p
            .rows
            .iter()
            .map(|r| RowView {
                unit_id: r.unit_id,
                name: r.unit_name.clone(),
                target: r.target.map_or_else(|| "—".to_owned(), |t| t.to_string()),
                basis_zh: match r.basis {
                    Basis::New => "当年新建",
                    Basis::Total => "年末建成总数",
                },
                built: r.built,
                rate_pct: pct(r.rate),
                expected_built: num(r.expected_built),
                gap: num(r.gap),
                lagging: r.lagging,
                status_zh: match (r.rate, r.lagging) {
                    (None, _) => "无年度计划",
                    (Some(_), true) => "未达到序时进度",
                    (Some(_), false) => "达到序时进度",
                },
                rank: r.rank,
                compliant: r.compliant,
                overdue: r.overdue_guidance,
                highlight: false,
            })
            .collect();
        let lagging: Vec<&str> = p
            .rows
            .iter()
            .filter(|r| r.lagging)
            .map(|r| r.unit_name.as_str())
            .collect();
        CircularDoc {
            number: number.to_owned(),
            title: CIRCULAR_TITLE.to_owned(),
            addressees: "各县（市、区）局，市局直属分局".to_owned(),
            issuer: issuer.to_owned(),
            issued_on_zh: date_zh(issued_on),
            as_of_zh: date_zh(p.as_of),
            year: p.year,
            expected_pct: format!("{:.1}", p.expected * 100.0),
            totals: TotalsView {
                target: p.totals.target,
                built: p.totals.built,
                rate_pct: p
                    .totals
                    .rate
                    .map_or_else(|| "—".to_owned(), |r| format!("{:.1}", r * 100.0)),
                expected_built: format!("{:.1}", p.totals.expected_built),
                gap: format!("{:.1}", p.totals.gap),
                lagging: p.totals.lagging,
                compliant: p.totals.compliant,
                overdue: p.totals.overdue_guidance,
            },
            rows,
            lagging_names: lagging.join("、"),
            lagging_count: lagging.len(),
            highlight_unit: String::new(),
        }
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

/// Subject, plain text and HTML of a circular.
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

pub fn render(doc: &CircularDoc) -> Result<Rendered, AppError> {
    let env = env()?;
    let render = |name: &str| {
        env.get_template(name)
            .and_then(|t| t.render(minijinja::value::Serde(doc)))
            .map_err(|e| AppError::internal("cannot render the circular", anyhow::anyhow!("{name}: {e:#}")))
    };
    Ok(Rendered {
        subject: render("circular/subject.txt")?.trim().to_owned(),
        text: render("circular/body.txt")?,
        html: render("circular/body.html")?,
    })
}

/// The progress table as CSV (UTF-8 with a byte-order mark, so that
/// spreadsheet programs show the Chinese text).
pub fn progress_csv(doc: &CircularDoc) -> Result<String, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::internal("cannot write the CSV table", e);
    w.write_record([
        "排名",
        "单位",
        "计划口径",
        "年度目标",
        "已建成",
        "完成率",
        "序时进度应建成",
        "差距",
        "是否达到序时进度",
        "达标站数",
        "逾期未整改",
    ])
    .map_err(fail)?;
    for r in &doc.rows {
        w.write_record([
            r.rank.map(|x| x.to_string()).unwrap_or_default(),
            // A unit's name is typed by people: a leading = + - @ would
            // make it a formula in the county lead's spreadsheet.
            crate::sheets::write::neutralise(&r.name).into_owned(),
            r.basis_zh.to_owned(),
            r.target.clone(),
            r.built.to_string(),
            r.rate_pct.clone(),
            r.expected_built.clone(),
            r.gap.clone(),
            r.status_zh.to_owned(),
            r.compliant.to_string(),
            r.overdue.to_string(),
        ])
        .map_err(fail)?;
    }
    let t = &doc.totals;
    w.write_record([
        String::new(),
        "合计".to_owned(),
        String::new(),
        t.target.to_string(),
        t.built.to_string(),
        format!("{}%", t.rate_pct),
        t.expected_built.clone(),
        t.gap.clone(),
        if t.lagging {
            "未达到序时进度"
        } else {
            "达到序时进度"
        }
        .to_owned(),
        t.compliant.to_string(),
        t.overdue.to_string(),
    ])
    .map_err(fail)?;
    let bytes = w
        .into_inner()
        .map_err(|e| AppError::internal("cannot write the CSV table", anyhow::anyhow!("{e}")))?;
    let body = String::from_utf8(bytes).map_err(|e| AppError::internal("CSV is not UTF-8", e))?;
    Ok(format!("\u{feff}{body}"))
}
