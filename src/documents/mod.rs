//! PDF renderings of the bureau's documents: circulars (通报) laid out per
//! GB/T 9704-2012 and rectification notices (整改通知书) left with a station.
//!
//! Inputs are plain structs; [`render_circular`] and [`render_notice`] return
//! PDF bytes with the fonts from a [`FontSet`] subset and embedded.

mod circular;
mod fonts;
mod layout;
mod notice;
mod pdf;
mod table;

#[cfg(test)]
mod tests;

pub use circular::render_circular;
pub use fonts::{DEFAULT_FONT_DIRS, FontError, FontRole, FontSet};
pub use notice::render_notice;
pub use pdf::RenderError;

/// A block of the circular's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Block {
    /// A first-level head such as "一、总体情况" (黑体).
    Heading1(String),
    /// A second-level head such as "（一）进度情况" (楷体).
    Heading2(String),
    /// A paragraph of body text (仿宋), first line indented two characters.
    Paragraph(String),
}

/// A row of an attachment table; a marked row (a lagging unit, say) is
/// printed in 黑体 with "▲" before its first cell, so the mark survives
/// black-and-white printing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRow {
    pub cells: Vec<String>,
    pub marked: bool,
}

/// The attachment (附件) printed on its own page(s) after the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachmentTable {
    /// "附件", or "附件1" when there are several.
    pub heading: String,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<TableRow>,
    /// Lines printed under the table ("注：▲为未达到序时进度的单位。").
    pub notes: Vec<String>,
}

/// A circular (通报) or other official document in GB/T 9704-2012 layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficialDocument {
    /// 发文机关标志, e.g. "白山市工商行政管理局文件".
    pub issuer_mark: String,
    /// 发文字号, e.g. "白市工商通〔2017〕3号".
    pub number: String,
    pub title: String,
    /// 主送机关, without the closing colon.
    pub addressees: String,
    pub body: Vec<Block>,
    /// 附件说明: attachment names; numbered when there are several.
    pub attachments: Vec<String>,
    /// 发文机关署名.
    pub signature: String,
    /// 成文日期, e.g. "2017年7月14日".
    pub date_zh: String,
    /// 抄送机关.
    pub cc: Vec<String>,
    /// 印发机关.
    pub printed_by: String,
    /// 印发日期 without "印发", e.g. "2017年7月14日".
    pub printed_on_zh: String,
    pub attachment: Option<AttachmentTable>,
}

/// A failed item of an inspection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeItem {
    /// The standard's item, e.g. "一块牌子".
    pub title: String,
    /// 存在问题.
    pub finding: String,
    /// 整改意见.
    pub instruction: String,
    /// 整改期限, e.g. "2017年7月31日前".
    pub deadline_zh: String,
}

/// A rectification notice (整改通知书) left with a station after a visit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RectificationNotice {
    /// Document number, if the unit numbers its notices.
    pub number: Option<String>,
    pub station_name: String,
    /// 依托单位: the business hosting the station.
    pub host_business: String,
    pub address: String,
    /// 检查日期, e.g. "2017年7月10日".
    pub visit_date_zh: String,
    pub items: Vec<NoticeItem>,
    /// Inspectors' names, as written on the notice.
    pub inspectors: Vec<String>,
    /// 检查单位 (and issuer of the notice).
    pub issuing_unit: String,
    /// The date the notice is issued.
    pub issued_on_zh: String,
}
