//! Page geometry, Chinese line breaking and a cursor that fills pages
//! from top to bottom.

use super::fonts::{Face, FontRole, FontSet};

pub const PT_PER_MM: f32 = 72.0 / 25.4;

/// Millimetres to PDF points.
pub fn mm(v: f32) -> f32 {
    v * PT_PER_MM
}

pub const A4_W: f32 = 210.0 * PT_PER_MM;
pub const A4_H: f32 = 297.0 * PT_PER_MM;

/// Where the glyphs' baseline sits inside a CJK em box (Fandol and Noto
/// draw ideographs from about -0.12 em to 0.88 em).
pub const ASCENT_EM: f32 = 0.88;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Color {
    Black,
    Red,
}

/// One thing drawn on a page; y grows downwards from the top edge.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Text {
        x: f32,
        baseline: f32,
        role: FontRole,
        size: f32,
        /// Points added after every character.
        tracking: f32,
        text: String,
        color: Color,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        width: f32,
        color: Color,
    },
}

/// The type area (版心) of a page.
#[derive(Debug, Clone, Copy)]
pub struct Area {
    pub left: f32,
    pub top: f32,
    pub width: f32,
    pub height: f32,
}

impl Area {
    pub fn right(&self) -> f32 {
        self.left + self.width
    }
    pub fn bottom(&self) -> f32 {
        self.top + self.height
    }
}

/// A text style: face, size, and tracking in points per character.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub role: FontRole,
    pub size: f32,
    pub tracking: f32,
    pub color: Color,
}

impl Style {
    pub fn new(role: FontRole, size: f32) -> Style {
        Style {
            role,
            size,
            tracking: 0.0,
            color: Color::Black,
        }
    }
    pub fn tracked(mut self, tracking: f32) -> Style {
        self.tracking = tracking;
        self
    }
    pub fn red(mut self) -> Style {
        self.color = Color::Red;
        self
    }
}

/// Fills pages top to bottom; `y` is the top of the next line box.
pub struct Flow<'a> {
    pub fonts: &'a FontSet,
    pub area: Area,
    pub pages: Vec<Vec<Op>>,
    pub y: f32,
}

impl<'a> Flow<'a> {
    pub fn new(fonts: &'a FontSet, area: Area) -> Flow<'a> {
        Flow {
            fonts,
            area,
            pages: vec![Vec::new()],
            y: area.top,
        }
    }

    pub fn face(&self, role: FontRole) -> &'a Face {
        self.fonts.face(role)
    }

    pub fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = self.area.top;
    }

    /// Starts a new page unless `height` points still fit on this one.
    pub fn ensure(&mut self, height: f32) {
        if self.y + height > self.area.bottom() + 0.5 {
            self.new_page();
        }
    }

    pub fn push(&mut self, op: Op) {
        self.pages.last_mut().expect("a flow always has a page").push(op);
    }

    pub fn width(&self, text: &str, style: Style) -> f32 {
        self.face(style.role).width(text, style.size, style.tracking)
    }

    /// Draws one line of text in a box of height `pitch` at the cursor,
    /// `x` from the page's left edge, and moves the cursor down.
    pub fn line_at(&mut self, x: f32, text: &str, style: Style, pitch: f32) {
        self.ensure(pitch);
        let baseline = self.y + (pitch - style.size) / 2.0 + ASCENT_EM * style.size;
        self.text(x, baseline, text, style);
        self.y += pitch;
    }

    pub fn text(&mut self, x: f32, baseline: f32, text: &str, style: Style) {
        self.push(Op::Text {
            x,
            baseline,
            role: style.role,
            size: style.size,
            tracking: style.tracking,
            text: text.to_string(),
            color: style.color,
        });
    }

    /// A centred line.
    pub fn centred(&mut self, text: &str, style: Style, pitch: f32) {
        let w = visible_width(self.width(text, style), style);
        let x = self.area.left + (self.area.width - w) / 2.0;
        self.line_at(x, text, style, pitch);
    }

    /// A line ending `right_inset` points before the right margin.
    pub fn right(&mut self, text: &str, style: Style, pitch: f32, right_inset: f32) {
        let w = visible_width(self.width(text, style), style);
        let x = self.area.right() - right_inset - w;
        self.line_at(x, text, style, pitch);
    }

    /// A paragraph broken into lines of the type area's width, the first
    /// indented by `first_indent`, the others by `indent`; every line but
    /// the last is justified to the right margin.
    pub fn paragraph(&mut self, text: &str, style: Style, pitch: f32, first_indent: f32, indent: f32) {
        let face = self.face(style.role);
        let lines = break_lines(
            text,
            self.area.width - first_indent,
            self.area.width - indent,
            face,
            style,
        );
        let count = lines.len();
        for (i, line) in lines.into_iter().enumerate() {
            let inset = if i == 0 { first_indent } else { indent };
            let target = self.area.width - inset;
            let mut st = style;
            if i + 1 < count {
                st.tracking = justified_tracking(&line, target, style);
            }
            self.line_at(self.area.left + inset, &line.text, st, pitch);
        }
    }

    /// Moves the last `n` lines of text on this page to the top of a new
    /// page, so that what follows (a signature) never stands alone there.
    /// Lines are found as the page's trailing text operations.
    pub fn carry_lines(&mut self, n: usize, pitch: f32) {
        let page = self.pages.last_mut().expect("a flow always has a page");
        let trailing = page.iter().rev().take_while(|op| matches!(op, Op::Text { .. })).count();
        if n == 0 || trailing < n || page.len() == n {
            self.new_page();
            return;
        }
        let carried = page.split_off(page.len() - n);
        let Some(Op::Text { baseline, size, .. }) = carried.first() else {
            return;
        };
        let top = baseline - (pitch - size) / 2.0 - ASCENT_EM * size;
        let dy = self.area.top - top;
        let end = self.y + dy;
        self.new_page();
        for mut op in carried {
            if let Op::Text { baseline, .. } = &mut op {
                *baseline += dy;
            }
            self.push(op);
        }
        self.y = end;
    }

    pub fn rule(&mut self, y: f32, width: f32, color: Color) {
        let (x1, x2) = (self.area.left, self.area.right());
        self.push(Op::Line {
            x1,
            y1: y,
            x2,
            y2: y,
            width,
            color,
        });
    }
}

/// Width without the tracking that follows the last character.
pub fn visible_width(width: f32, style: Style) -> f32 {
    width - style.tracking
}

/// Tracking that makes `line` end exactly at `target` points; the
/// style's own tracking if the gap is too wide to spread decently.
fn justified_tracking(line: &Line, target: f32, style: Style) -> f32 {
    let chars = line.text.chars().count();
    let gap = target - visible_width(line.width, style);
    if chars < 2 || gap <= 0.0 || gap > 3.0 * style.size {
        return style.tracking;
    }
    style.tracking + gap / (chars - 1) as f32
}

/// A broken line and its width (trailing tracking included).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub text: String,
    pub width: f32,
}

/// Closing punctuation: never at the start of a line.
pub fn is_closing(c: char) -> bool {
    "，。、；：？！）」』》〉】”’…%,.;:?!)]".contains(c)
}

/// Opening punctuation: never at the end of a line.
pub fn is_opening(c: char) -> bool {
    "（「『《〈【“‘([".contains(c)
}

fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '%' || c == '/'
}

/// Splits text into pieces that must stay on one line: a CJK character
/// with any closing punctuation after it and opening punctuation before
/// it, or a run of Latin letters and digits.
pub fn units(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for c in text.chars() {
        let glue = match out.last() {
            None => false,
            Some(last) => {
                let prev = last.chars().last().unwrap_or(' ');
                is_closing(c) || is_opening(prev) || (is_word_char(c) && is_word_char(prev))
            }
        };
        match out.last_mut() {
            Some(last) if glue => last.push(c),
            _ => out.push(c.to_string()),
        }
    }
    out
}

/// Greedy line breaking of `text`: `first` points for the first line,
/// `rest` for the others.
pub fn break_lines(text: &str, first: f32, rest: f32, face: &Face, style: Style) -> Vec<Line> {
    let measure = |s: &str| face.width(s, style.size, style.tracking);
    let fits = |w: f32, limit: f32| visible_width(w, style) <= limit + 0.5;
    let mut lines = Vec::new();
    let mut cur = Line {
        text: String::new(),
        width: 0.0,
    };
    for unit in units(text) {
        let limit = if lines.is_empty() { first } else { rest };
        let w = measure(&unit);
        if fits(cur.width + w, limit) {
            cur.text.push_str(&unit);
            cur.width += w;
            continue;
        }
        if !cur.text.is_empty() {
            lines.push(std::mem::replace(
                &mut cur,
                Line {
                    text: String::new(),
                    width: 0.0,
                },
            ));
        }
        if fits(w, rest) {
            cur = Line { text: unit, width: w };
        } else {
            // A piece wider than a line (a long number): split it anywhere.
            for c in unit.chars() {
                let cw = measure(&c.to_string());
                if !cur.text.is_empty() && !fits(cur.width + cw, rest) {
                    lines.push(std::mem::replace(
                        &mut cur,
                        Line {
                            text: String::new(),
                            width: 0.0,
                        },
                    ));
                }
                cur.text.push(c);
                cur.width += cw;
            }
        }
    }
    if !cur.text.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
}
