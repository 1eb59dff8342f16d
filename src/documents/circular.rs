//! A circular (通报) laid out per GB/T 9704-2012: A4, type area 156 × 225
//! mm at 37 mm from the top and 28 mm from the binding edge, 3号仿宋 body
//! on a grid of 22 lines of 28 characters.

use super::fonts::{FontRole, FontSet};
use super::layout::{Area, Color, Flow, Op, Style, break_lines, mm, visible_width};
use super::pdf::{RenderError, write_pdf};
use super::table::{TableStyle, place_table};
use super::{AttachmentTable, Block, OfficialDocument};

/// 3号 = 16 pt; 2号 = 22 pt; 4号 = 14 pt.
const SIZE_3: f32 = 16.0;
const SIZE_2: f32 = 22.0;
const SIZE_4: f32 = 14.0;
const LINES_PER_PAGE: f32 = 22.0;
const CHARS_PER_LINE: f32 = 28.0;
/// Blank lines between the red separator and the title.
const TITLE_GAP_LINES: f32 = 1.0;

fn area() -> Area {
    Area {
        left: mm(28.0),
        top: mm(37.0),
        width: mm(156.0),
        height: mm(225.0),
    }
}

/// Line pitch of the 22-line grid.
fn pitch() -> f32 {
    area().height / LINES_PER_PAGE
}

/// Character pitch of the 28-character grid (a little under 16 pt).
fn ch() -> f32 {
    area().width / CHARS_PER_LINE
}

fn body() -> Style {
    Style::new(FontRole::FangSong, SIZE_3).tracked(ch() - SIZE_3)
}

/// Renders the circular, its attachment and its 版记 as PDF bytes.
pub fn render_circular(doc: &OfficialDocument, fonts: &FontSet) -> Result<Vec<u8>, RenderError> {
    let pages = layout_circular(doc, fonts);
    write_pdf(&pages, fonts, &doc.title)
}

pub(crate) fn layout_circular(doc: &OfficialDocument, fonts: &FontSet) -> Vec<Vec<Op>> {
    let mut flow = Flow::new(fonts, area());
    header(&mut flow, doc);
    title(&mut flow, &doc.title);
    flow.y += pitch();
    flow.paragraph(&format!("{}：", doc.addressees), body(), pitch(), 0.0, 0.0);
    for block in &doc.body {
        let (text, role) = match block {
            Block::Heading1(t) => (t, FontRole::Hei),
            Block::Heading2(t) => (t, FontRole::Kai),
            Block::Paragraph(t) => (t, FontRole::FangSong),
        };
        let style = Style { role, ..body() };
        flow.paragraph(text, style, pitch(), 2.0 * ch(), 0.0);
    }
    attachment_note(&mut flow, &doc.attachments);
    signature(&mut flow, doc);
    if let Some(table) = &doc.attachment {
        attachment(&mut flow, table);
    }
    imprint(&mut flow, doc);
    let mut pages = flow.pages;
    page_numbers(&mut pages, fonts);
    pages
}

/// 版头: red issuer's mark 35 mm below the type area's top edge, the
/// number two blank lines below it, a red rule 4 mm under the number.
fn header(flow: &mut Flow<'_>, doc: &OfficialDocument) {
    let chars = doc.issuer_mark.chars().count().max(1) as f32;
    let size = (0.92 * flow.area.width / chars).min(48.0);
    let mark = Style::new(FontRole::XiaoBiaoSong, size).red();
    flow.y = flow.area.top + mm(35.0);
    flow.centred(&doc.issuer_mark, mark, size);
    flow.y += 2.0 * pitch();
    flow.centred(&doc.number, body(), pitch());
    let number_bottom = flow.y - (pitch() - SIZE_3) / 2.0;
    let rule_y = number_bottom + mm(4.0);
    flow.rule(rule_y, 1.5, Color::Red);
    flow.y = rule_y + TITLE_GAP_LINES * pitch();
}

/// The title in 2号小标宋, centred, broken into lines of similar length.
fn title(flow: &mut Flow<'_>, text: &str) {
    let style = Style::new(FontRole::XiaoBiaoSong, SIZE_2);
    let total = visible_width(flow.width(text, style), style);
    let count = (total / flow.area.width).ceil().max(1.0);
    let limit = (total / count + SIZE_2).min(flow.area.width);
    let face = flow.face(style.role);
    for line in break_lines(text, limit, limit, face, style) {
        flow.centred(&line.text, style, pitch());
    }
}

/// 附件说明: one blank line after the body, two characters in; names of
/// several attachments numbered, wrapped lines aligned with the name.
fn attachment_note(flow: &mut Flow<'_>, names: &[String]) {
    if names.is_empty() {
        return;
    }
    flow.y += pitch();
    let label = "附件：";
    let label_w = visible_width(flow.width(label, body()), body()) + body().tracking;
    for (i, name) in names.iter().enumerate() {
        let num = if names.len() > 1 {
            format!("{}. ", i + 1)
        } else {
            String::new()
        };
        let num_w = flow.width(&num, body());
        let name_indent = 2.0 * ch() + label_w + num_w;
        if i == 0 {
            let text = format!("{label}{num}{name}");
            flow.paragraph(&text, body(), pitch(), 2.0 * ch(), name_indent);
        } else {
            let text = format!("{num}{name}");
            flow.paragraph(&text, body(), pitch(), 2.0 * ch() + label_w, name_indent);
        }
    }
}

/// 发文机关署名 centred over 成文日期, the date four characters in from
/// the right margin, after room for the seal.
fn signature(flow: &mut Flow<'_>, doc: &OfficialDocument) {
    let room = 4.0 * pitch();
    if flow.y + room > flow.area.bottom() + 0.5 {
        // GB/T 9704 allows no page with the signature alone ("此页无正文"):
        // the last two lines of text go over with it.
        flow.carry_lines(2, pitch());
    }
    flow.y += 2.0 * pitch();
    let date_w = visible_width(flow.width(&doc.date_zh, body()), body());
    let sig_w = visible_width(flow.width(&doc.signature, body()), body());
    let date_x = flow.area.right() - 4.0 * ch() - date_w;
    let sig_x = date_x + (date_w - sig_w) / 2.0;
    flow.line_at(sig_x, &doc.signature, body(), pitch());
    flow.line_at(date_x, &doc.date_zh, body(), pitch());
}

/// The attachment on a new page: "附件" in 3号黑体 on the first line, the
/// title centred on the third, then the table and its notes.
fn attachment(flow: &mut Flow<'_>, table: &AttachmentTable) {
    flow.new_page();
    let left = flow.area.left;
    flow.line_at(left, &table.heading, Style::new(FontRole::Hei, SIZE_3), pitch());
    flow.y += pitch();
    title(flow, &table.title);
    flow.y += pitch() / 2.0;
    let ts = TableStyle {
        size: 12.0,
        left_columns: 1,
    };
    place_table(flow, &table.columns, &table.rows, ts);
    flow.y += pitch() / 4.0;
    let note = Style::new(FontRole::FangSong, SIZE_4);
    for line in &table.notes {
        flow.paragraph(line, note, SIZE_4 * 1.6, 0.0, 0.0);
    }
}

/// 版记 at the foot of the last page: 抄送 then 印发机关 and 印发日期,
/// between thick first and last rules with a thin one between.
fn imprint(flow: &mut Flow<'_>, doc: &OfficialDocument) {
    let style = Style::new(FontRole::FangSong, SIZE_4);
    let one = SIZE_4;
    let cc_lines = if doc.cc.is_empty() {
        Vec::new()
    } else {
        let text = format!("抄送：{}。", doc.cc.join("，"));
        let label = visible_width(flow.width("抄送：", style), style);
        let inner = flow.area.width - 2.0 * one;
        break_lines(&text, inner, inner - label, flow.face(style.role), style)
            .into_iter()
            .enumerate()
            .map(|(i, l)| (if i == 0 { one } else { one + label }, l.text))
            .collect()
    };
    let row = pitch();
    let height = (cc_lines.len() as f32 + 1.0) * row;
    flow.ensure(height + row);
    flow.y = flow.area.bottom() - height;
    let (thick, thin) = (mm(0.35), mm(0.25));
    flow.rule(flow.y, thick, Color::Black);
    for (inset, text) in &cc_lines {
        flow.line_at(flow.area.left + inset, text, style, row);
    }
    if !cc_lines.is_empty() {
        flow.rule(flow.y, thin, Color::Black);
    }
    let printed_on = format!("{}印发", doc.printed_on_zh);
    let y = flow.y;
    flow.line_at(flow.area.left + one, &doc.printed_by, style, row);
    flow.y = y;
    flow.right(&printed_on, style, row, one);
    flow.rule(flow.y, thick, Color::Black);
}

/// "— n —" in 4号 Song 7 mm below the type area: odd pages one character
/// in from the right, even pages one character in from the left.
fn page_numbers(pages: &mut [Vec<Op>], fonts: &FontSet) {
    let a = area();
    let style = Style::new(FontRole::Song, SIZE_4);
    let face = fonts.face(FontRole::Song);
    for (i, ops) in pages.iter_mut().enumerate() {
        let n = i + 1;
        let text = format!("— {n} —");
        let w = face.width(&text, SIZE_4, 0.0);
        let x = if n % 2 == 1 {
            a.right() - SIZE_4 - w
        } else {
            a.left + SIZE_4
        };
        ops.push(Op::Text {
            x,
            baseline: a.bottom() + mm(7.0) + SIZE_4 * 0.5,
            role: style.role,
            size: style.size,
            tracking: 0.0,
            text,
            color: Color::Black,
        });
    }
}
