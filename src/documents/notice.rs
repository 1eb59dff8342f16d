//! The rectification notice (整改通知书): one A4 page an inspector leaves
//! with a station, with signature lines for both sides.

use super::RectificationNotice;
use super::TableRow;
use super::fonts::{FontRole, FontSet};
use super::layout::{Area, Color, Flow, Op, Style, mm, visible_width};
use super::pdf::{RenderError, write_pdf};
use super::table::{TableStyle, place_table};

const SIZE: f32 = 14.0;
const PITCH: f32 = 26.0;

fn area() -> Area {
    Area {
        left: mm(20.0),
        top: mm(20.0),
        width: mm(170.0),
        height: mm(257.0),
    }
}

fn text() -> Style {
    Style::new(FontRole::FangSong, SIZE)
}

/// Renders the notice as PDF bytes (a second page only if the items do not
/// fit on one).
pub fn render_notice(notice: &RectificationNotice, fonts: &FontSet) -> Result<Vec<u8>, RenderError> {
    let pages = layout_notice(notice, fonts);
    write_pdf(&pages, fonts, &format!("整改通知书 {}", notice.station_name))
}

pub(crate) fn layout_notice(notice: &RectificationNotice, fonts: &FontSet) -> Vec<Vec<Op>> {
    let mut flow = Flow::new(fonts, area());
    let title = Style::new(FontRole::XiaoBiaoSong, 26.0).tracked(13.0);
    flow.centred("整改通知书", title, 44.0);
    if let Some(number) = &notice.number {
        flow.centred(number, text(), PITCH);
    }
    flow.y += PITCH / 2.0;
    field(&mut flow, "服务站名称：", &notice.station_name);
    field(&mut flow, "依托单位：", &notice.host_business);
    field(&mut flow, "地址：", &notice.address);
    field(&mut flow, "检查日期：", &notice.visit_date_zh);
    let lead = format!(
        "经检查，你站存在以下问题，请按整改意见在整改期限内完成整改，并将整改情况报{}。",
        notice.issuing_unit
    );
    flow.paragraph(&lead, text(), PITCH, 2.0 * SIZE, 0.0);
    flow.y += PITCH / 4.0;
    items(&mut flow, notice);
    flow.y += PITCH / 2.0;
    field(&mut flow, "检查人员：", &notice.inspectors.join("、"));
    field(&mut flow, "检查单位（盖章）：", &notice.issuing_unit);
    flow.right(&notice.issued_on_zh, text(), PITCH, 2.0 * SIZE);
    flow.y += PITCH / 2.0;
    sign_line(&mut flow, "检查人员签字：");
    sign_line(&mut flow, "服务站负责人签字：");
    flow.y += PITCH / 2.0;
    let small = Style::new(FontRole::FangSong, 11.0);
    flow.paragraph("本通知书一式两份，服务站与检查单位各执一份。", small, 18.0, 0.0, 0.0);
    flow.pages
}

/// "label：value", wrapped lines aligned with the value.
fn field(flow: &mut Flow<'_>, label: &str, value: &str) {
    let label_w = flow.width(label, text());
    let style = Style::new(FontRole::Hei, SIZE);
    let y = flow.y;
    flow.line_at(flow.area.left, label, style, PITCH);
    flow.y = y;
    let full = flow.area.width;
    let face = flow.face(FontRole::FangSong);
    let lines = super::layout::break_lines(value, full - label_w, full - label_w, face, text());
    for line in lines {
        flow.line_at(flow.area.left + label_w, &line.text, text(), PITCH);
    }
}

fn items(flow: &mut Flow<'_>, notice: &RectificationNotice) {
    let columns: Vec<String> = ["序号", "检查项目", "存在问题", "整改意见", "整改期限"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let rows: Vec<TableRow> = notice
        .items
        .iter()
        .enumerate()
        .map(|(i, item)| TableRow {
            cells: vec![
                (i + 1).to_string(),
                item.title.clone(),
                item.finding.clone(),
                item.instruction.clone(),
                item.deadline_zh.clone(),
            ],
            marked: false,
        })
        .collect();
    let ts = TableStyle {
        size: 11.0,
        left_columns: 0b01110,
    };
    place_table(flow, &columns, &rows, ts);
}

/// "label ________  日期：____" with drawn rules to sign on.
fn sign_line(flow: &mut Flow<'_>, label: &str) {
    let pitch = PITCH * 1.5;
    flow.ensure(pitch);
    let label_w = visible_width(flow.width(label, text()), text());
    let left = flow.area.left;
    let y = flow.y;
    flow.line_at(left, label, text(), pitch);
    let rule_y = flow.y - (pitch - SIZE) / 2.0;
    let sign_end = left + label_w + mm(55.0);
    underline(flow, left + label_w + 2.0, sign_end, rule_y);
    flow.y = y;
    let date_x = sign_end + mm(8.0);
    flow.line_at(date_x, "日期：", text(), pitch);
    let date_w = flow.width("日期：", text());
    underline(flow, date_x + date_w + 2.0, flow.area.right(), rule_y);
}

fn underline(flow: &mut Flow<'_>, x1: f32, x2: f32, y: f32) {
    flow.push(Op::Line {
        x1,
        y1: y,
        x2,
        y2: y,
        width: 0.6,
        color: Color::Black,
    });
}
