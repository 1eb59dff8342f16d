//! The circular as an official document (GB/T 9704-2012): the same content
//! the emails carry, as the PDF renderer's input.

use super::circular::CircularDoc;
use crate::documents::{AttachmentTable, Block, OfficialDocument, TableRow};

/// The attachment table's columns.
pub const COLUMNS: [&str; 8] = [
    "排名",
    "单位",
    "年度计划",
    "已建成",
    "完成率",
    "序时进度应建成",
    "进度情况",
    "逾期未整改",
];

fn attachment(doc: &CircularDoc) -> AttachmentTable {
    let mut rows: Vec<TableRow> = doc
        .rows
        .iter()
        .map(|r| TableRow {
            cells: vec![
                r.rank.map_or_else(|| "—".to_owned(), |x| x.to_string()),
                r.name.clone(),
                r.target.clone(),
                r.built.to_string(),
                r.rate_pct.clone(),
                r.expected_built.clone(),
                r.position_zh.clone(),
                r.overdue.to_string(),
            ],
            marked: r.lagging,
        })
        .collect();
    let t = &doc.totals;
    rows.push(TableRow {
        cells: vec![
            String::new(),
            "合计".to_owned(),
            t.target.to_string(),
            t.built.to_string(),
            format!("{}%", t.rate_pct),
            t.expected_built.to_string(),
            t.position_zh.clone(),
            t.overdue.to_string(),
        ],
        marked: false,
    });
    AttachmentTable {
        heading: "附件".to_owned(),
        title: doc.attachment_name.clone(),
        columns: COLUMNS.iter().map(|c| (*c).to_owned()).collect(),
        rows,
        notes: vec![format!(
            "注：截至{}，序时进度{}%；▲为未达到序时进度的单位；“应建成”按序时进度折算后向上取整。",
            doc.as_of_zh, doc.expected_pct
        )],
    }
}

/// The circular in GB/T 9704 layout (the plain copy: no unit highlighted;
/// `doc` must have its body blocks, see [`super::with_body`]).
pub fn official_document(doc: &CircularDoc) -> OfficialDocument {
    OfficialDocument {
        issuer_mark: doc.head.mark.clone(),
        number: doc.number.clone(),
        title: doc.head.title.clone(),
        addressees: doc.head.addressees.clone(),
        body: doc
            .blocks
            .iter()
            .map(|b| match b.kind {
                "h1" => Block::Heading1(b.text.clone()),
                "h2" => Block::Heading2(b.text.clone()),
                _ => Block::Paragraph(b.text.clone()),
            })
            .collect(),
        attachments: vec![doc.attachment_name.clone()],
        signature: doc.head.issuer.clone(),
        date_zh: doc.issued_on_zh.clone(),
        cc: doc.head.cc.clone(),
        printed_by: doc.head.printed_by.clone(),
        printed_on_zh: doc.issued_on_zh.clone(),
        attachment: Some(attachment(doc)),
    }
}
