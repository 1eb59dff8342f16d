//! Email: the circular's documents rendered from `templates/email/*` with
//! minijinja (HTML auto-escaped, undefined variables are errors), the CSV
//! progress table, and the transports that send a message. Which messages
//! are due, and what became of them, is the outbox's business
//! (`app::outbox`); this module knows no database.

mod circular;
mod document;
mod five_entries;
mod send;

pub use circular::{BlockView, CircularDoc, Letterhead, RowView, TotalsView, plan_zh, position_zh};
pub use document::official_document;
pub use five_entries::{FiveEntriesView, entry_labels};
pub use send::{Attachment, Built, Email, MailSettings, SendError, Sender, Transport, build_message};

use std::sync::OnceLock;

use minijinja::{Environment, UndefinedBehavior};

use crate::error::AppError;

const TEMPLATES: &[(&str, &str)] = &[
    (
        "circular/document.txt",
        include_str!("../../templates/documents/circular.txt"),
    ),
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
    (
        "guidance_notice/subject.txt",
        include_str!("../../templates/email/guidance_notice/subject.txt"),
    ),
    (
        "guidance_notice/body.txt",
        include_str!("../../templates/email/guidance_notice/body.txt"),
    ),
    (
        "guidance_notice/body.html",
        include_str!("../../templates/email/guidance_notice/body.html"),
    ),
    (
        "reminder/subject.txt",
        include_str!("../../templates/email/reminder/subject.txt"),
    ),
    (
        "reminder/body.txt",
        include_str!("../../templates/email/reminder/body.txt"),
    ),
    (
        "reminder/body.html",
        include_str!("../../templates/email/reminder/body.html"),
    ),
    (
        "digest/subject.txt",
        include_str!("../../templates/email/digest/subject.txt"),
    ),
    ("digest/body.txt", include_str!("../../templates/email/digest/body.txt")),
    (
        "digest/body.html",
        include_str!("../../templates/email/digest/body.html"),
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

/// Subject, plain text and HTML of a circular.
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// The default title of the circular (the seed's own words).
pub const CIRCULAR_TITLE: &str = "关于对全市建立“12315消费维权服务站”工作进度情况的通报";

/// Renders the document body (`templates/documents/circular.txt`) into
/// blocks: a line "# …" is a first-level head, "## …" a second-level one,
/// any other non-blank line a paragraph.
pub fn body_blocks(doc: &CircularDoc) -> Result<Vec<BlockView>, AppError> {
    let text = env()?
        .get_template("circular/document.txt")
        .and_then(|t| t.render(minijinja::value::Serde(doc)))
        .map_err(|e| AppError::internal("cannot render the circular", anyhow::anyhow!("document.txt: {e:#}")))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| match (l.strip_prefix("## "), l.strip_prefix("# ")) {
            (Some(h), _) => BlockView {
                kind: "h2",
                text: h.trim().to_owned(),
            },
            (None, Some(h)) => BlockView {
                kind: "h1",
                text: h.trim().to_owned(),
            },
            (None, None) => BlockView {
                kind: "p",
                text: l.to_owned(),
            },
        })
        .collect())
}

/// Fills in the body blocks of `doc` (once, before any rendition).
pub fn with_body(mut doc: CircularDoc) -> Result<CircularDoc, AppError> {
    doc.blocks = body_blocks(&doc)?;
    Ok(doc)
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

/// Subject, plain text and HTML of a notice of `kind` (a guidance notice,
/// reminder or digest) from `templates/email/<kind>/`.
pub fn render_notice<T: serde::Serialize>(kind: crate::domain::DeliveryKind, value: &T) -> Result<Rendered, AppError> {
    let env = env()?;
    let render = |file: &str| {
        let name = format!("{kind}/{file}");
        env.get_template(&name)
            .and_then(|t| t.render(minijinja::value::Serde(value)))
            .map_err(|e| AppError::internal("cannot render the notice", anyhow::anyhow!("{name}: {e:#}")))
    };
    Ok(Rendered {
        subject: render("subject.txt")?.trim().to_owned(),
        text: render("body.txt")?,
        html: render("body.html")?,
    })
}

/// The progress table as CSV (UTF-8 with a byte-order mark, so that
/// spreadsheet programs show the Chinese text).
pub fn progress_csv(doc: &CircularDoc) -> Result<String, AppError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| AppError::internal("cannot write the CSV table", e);
    w.write_record(
        [
            "排名",
            "单位",
            "计划口径",
            "年度目标",
            "已建成",
            "完成率",
            "序时进度应建成",
            "进度情况",
            "是否达到序时进度",
            "达标站数",
            "逾期未整改",
        ]
        .into_iter()
        .map(str::to_owned)
        .chain(five_entry_headers()),
    )
    .map_err(fail)?;
    for r in &doc.rows {
        w.write_record(
            [
                r.rank.map(|x| x.to_string()).unwrap_or_default(),
                // A unit's name is typed by people: a leading = + - @ would
                // make it a formula in the county lead's spreadsheet.
                crate::sheets::write::neutralise(&r.name).into_owned(),
                r.basis_zh.to_owned(),
                r.target.clone(),
                r.built.to_string(),
                r.rate_pct.clone(),
                r.expected_built.clone(),
                r.position_zh.clone(),
                r.status_zh.to_owned(),
                r.compliant.to_string(),
                r.overdue.to_string(),
            ]
            .into_iter()
            .chain(five_entry_cells(&r.five_entries)),
        )
        .map_err(fail)?;
    }
    let t = &doc.totals;
    w.write_record(
        [
            String::new(),
            "合计".to_owned(),
            String::new(),
            t.target.to_string(),
            t.built.to_string(),
            format!("{}%", t.rate_pct),
            t.expected_built.to_string(),
            t.position_zh.clone(),
            if t.lagging {
                "未达到序时进度"
            } else {
                "达到序时进度"
            }
            .to_owned(),
            t.compliant.to_string(),
            t.overdue.to_string(),
        ]
        .into_iter()
        .chain(five_entry_cells(&doc.five_entries)),
    )
    .map_err(fail)?;
    let bytes = w
        .into_inner()
        .map_err(|e| AppError::internal("cannot write the CSV table", anyhow::anyhow!("{e}")))?;
    let body = String::from_utf8(bytes).map_err(|e| AppError::internal("CSV is not UTF-8", e))?;
    Ok(format!("\u{feff}{body}"))
}

/// The 五进 columns of a progress table: stations standing, one column an
/// entry (商场 … 其他行业), and the trades under 其他行业.
pub fn five_entry_headers() -> impl Iterator<Item = String> {
    std::iter::once("现有服务站".to_owned())
        .chain(entry_labels().into_iter().map(|l| format!("其中{l}")))
        .chain(std::iter::once("其他行业构成".to_owned()))
}

fn five_entry_cells(v: &FiveEntriesView) -> impl Iterator<Item = String> + use<> {
    let counts: Vec<String> = v.counts.iter().map(i64::to_string).collect();
    std::iter::once(v.standing.to_string())
        .chain(counts)
        .chain(std::iter::once(v.other_detail_zh.clone()))
}
