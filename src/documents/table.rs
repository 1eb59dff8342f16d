//! Ruled tables that split across pages with the header row repeated.

use super::TableRow;
use super::fonts::FontRole;
use super::layout::{ASCENT_EM, Color, Flow, Line, Op, Style, break_lines, visible_width};

const OUTER_RULE: f32 = 1.0;
const INNER_RULE: f32 = 0.5;

/// Text size, and which columns are flush left (bit `i` for column `i`;
/// the others are centred).
#[derive(Debug, Clone, Copy)]
pub struct TableStyle {
    pub size: f32,
    pub left_columns: u32,
}

impl TableStyle {
    fn pad(&self) -> f32 {
        0.35 * self.size
    }
    fn pitch(&self) -> f32 {
        1.45 * self.size
    }
}

/// A laid-out row: each cell's lines and the style they are drawn in.
struct RowLayout {
    cells: Vec<Vec<Line>>,
    style: Style,
    height: f32,
}

/// Draws the table at the flow's cursor, breaking pages between rows.
pub fn place_table(flow: &mut Flow<'_>, columns: &[String], rows: &[TableRow], ts: TableStyle) {
    let widths = column_widths(flow, columns, rows, ts);
    let header = layout_row(flow, columns, Style::new(FontRole::Hei, ts.size), &widths, ts);
    flow.ensure(header.height + ts.pitch() * 2.0);
    draw_row(flow, &header, &widths, ts, OUTER_RULE);
    for row in rows {
        let style = Style::new(row_role(row), ts.size);
        let layout = layout_row(flow, &row_cells(row), style, &widths, ts);
        if flow.y + layout.height > flow.area.bottom() {
            close(flow, &widths);
            flow.new_page();
            draw_row(flow, &header, &widths, ts, OUTER_RULE);
        }
        draw_row(flow, &layout, &widths, ts, INNER_RULE);
    }
    close(flow, &widths);
}

fn row_role(row: &TableRow) -> FontRole {
    if row.marked { FontRole::Hei } else { FontRole::FangSong }
}

/// A marked row carries "▲" before its first cell.
fn row_cells(row: &TableRow) -> Vec<String> {
    let mut cells = row.cells.clone();
    if row.marked
        && let Some(first) = cells.first_mut()
    {
        first.insert(0, '▲');
    }
    cells
}

fn layout_row(flow: &Flow<'_>, cells: &[String], style: Style, widths: &[f32], ts: TableStyle) -> RowLayout {
    let face = flow.face(style.role);
    let cells: Vec<Vec<Line>> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let text = cells.get(i).map(String::as_str).unwrap_or("");
            let inner = w - 2.0 * ts.pad();
            break_lines(text, inner, inner, face, style)
        })
        .collect();
    let lines = cells.iter().map(Vec::len).max().unwrap_or(1).max(1);
    RowLayout {
        cells,
        style,
        height: lines as f32 * ts.pitch() + 2.0 * ts.pad(),
    }
}

fn draw_row(flow: &mut Flow<'_>, row: &RowLayout, widths: &[f32], ts: TableStyle, top_rule: f32) {
    let top = flow.y;
    let bottom = top + row.height;
    hline(flow, top, widths, top_rule);
    let mut x = flow.area.left;
    for (i, (lines, w)) in row.cells.iter().zip(widths).enumerate() {
        let block = lines.len() as f32 * ts.pitch();
        let mut y = top + (row.height - block) / 2.0;
        for line in lines {
            let lw = visible_width(line.width, row.style);
            let lx = if ts.left_columns & (1 << i) != 0 {
                x + ts.pad()
            } else {
                x + (w - lw) / 2.0
            };
            let baseline = y + (ts.pitch() - ts.size) / 2.0 + ASCENT_EM * ts.size;
            flow.text(lx, baseline, &line.text, row.style);
            y += ts.pitch();
        }
        let rule = if i == 0 { OUTER_RULE } else { INNER_RULE };
        vline(flow, x, top, bottom, rule);
        x += w;
    }
    vline(flow, x, top, bottom, OUTER_RULE);
    flow.y = bottom;
}

fn close(flow: &mut Flow<'_>, widths: &[f32]) {
    let y = flow.y;
    hline(flow, y, widths, OUTER_RULE);
}

fn hline(flow: &mut Flow<'_>, y: f32, widths: &[f32], width: f32) {
    let x1 = flow.area.left;
    let x2 = x1 + widths.iter().sum::<f32>();
    flow.push(Op::Line {
        x1,
        y1: y,
        x2,
        y2: y,
        width,
        color: Color::Black,
    });
}

fn vline(flow: &mut Flow<'_>, x: f32, y1: f32, y2: f32, width: f32) {
    flow.push(Op::Line {
        x1: x,
        y1,
        x2: x,
        y2,
        width,
        color: Color::Black,
    });
}

/// Widths that fill the type area: each column first gets its text's
/// width up to nine characters (so short cells stay on one line), then the
/// rest is shared in proportion to what each column still lacks.
fn column_widths(flow: &Flow<'_>, columns: &[String], rows: &[TableRow], ts: TableStyle) -> Vec<f32> {
    let total = flow.area.width;
    let natural: Vec<f32> = (0..columns.len())
        .map(|i| natural_width(flow, i, columns, rows, ts))
        .collect();
    let floor = 2.0 * ts.size + 2.0 * ts.pad();
    let cap = 9.0 * ts.size + 2.0 * ts.pad();
    let mut widths: Vec<f32> = natural.iter().map(|n| n.min(cap).max(floor)).collect();
    let used: f32 = widths.iter().sum();
    if used >= total {
        return widths.iter().map(|w| w * total / used).collect();
    }
    let lack: Vec<f32> = natural.iter().zip(&widths).map(|(n, w)| (n - w).max(0.0)).collect();
    let lack_sum: f32 = lack.iter().sum();
    let spare = total - used;
    for (i, w) in widths.iter_mut().enumerate() {
        *w += if lack_sum > 0.0 {
            spare * lack[i] / lack_sum
        } else {
            spare * natural[i] / natural.iter().sum::<f32>()
        };
    }
    widths
}

/// The widest unbroken text in column `i`, header included, plus padding.
fn natural_width(flow: &Flow<'_>, i: usize, columns: &[String], rows: &[TableRow], ts: TableStyle) -> f32 {
    let head = flow.width(&columns[i], Style::new(FontRole::Hei, ts.size));
    let body = rows
        .iter()
        .map(|r| {
            let cells = row_cells(r);
            let text = cells.get(i).map(String::as_str).unwrap_or("");
            flow.width(text, Style::new(row_role(r), ts.size))
        })
        .fold(0.0f32, f32::max);
    head.max(body) + 2.0 * ts.pad()
}
