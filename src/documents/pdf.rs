//! Turns laid-out pages into PDF bytes with krilla (fonts subset and
//! embedded, text extractable through ToUnicode maps).

use krilla::Document;
use krilla::color::rgb;
use krilla::geom::{PathBuilder, Point};
use krilla::metadata::Metadata;
use krilla::num::NormalizedF32;
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::surface::Surface;

use super::fonts::FontSet;
use super::layout::{A4_H, A4_W, Color, Op};

/// Rendering failed inside the PDF writer.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Font(#[from] super::fonts::FontError),
    #[error("the PDF writer failed: {0}")]
    Pdf(String),
}

fn paint(color: Color) -> rgb::Color {
    match color {
        Color::Black => rgb::Color::new(0, 0, 0),
        // GB/T 9704 only says red; this is the usual 红头 red.
        Color::Red => rgb::Color::new(230, 0, 18),
    }
}

/// Writes A4 pages of `ops` as one PDF document titled `title`.
pub fn write_pdf(pages: &[Vec<Op>], fonts: &FontSet, title: &str) -> Result<Vec<u8>, RenderError> {
    let mut document = Document::new();
    document.set_metadata(Metadata::new().title(title.to_string()).language("zh-CN".to_string()));
    let settings = PageSettings::from_wh(A4_W, A4_H).ok_or_else(|| RenderError::Pdf("bad page size".into()))?;
    for ops in pages {
        let mut page = document.start_page_with(settings.clone());
        let mut surface = page.surface();
        for op in ops {
            draw(&mut surface, op, fonts);
        }
        surface.finish();
        page.finish();
    }
    document.finish().map_err(|e| RenderError::Pdf(format!("{e:?}")))
}

fn draw(surface: &mut Surface<'_>, op: &Op, fonts: &FontSet) {
    match op {
        Op::Text {
            x,
            baseline,
            role,
            size,
            tracking,
            text,
            color,
        } => {
            let face = fonts.face(*role);
            let missing = face.missing(text);
            if !missing.is_empty() {
                tracing::warn!(font = %face.path.display(), ?missing, "characters without a glyph");
            }
            let glyphs = face.glyphs(text, tracking / size);
            surface.set_stroke(None);
            surface.set_fill(Some(Fill {
                paint: paint(*color).into(),
                opacity: NormalizedF32::ONE,
                rule: Default::default(),
            }));
            surface.draw_glyphs(Point::from_xy(*x, *baseline), &glyphs, face.font(), text, *size, false);
        }
        Op::Line {
            x1,
            y1,
            x2,
            y2,
            width,
            color,
        } => {
            let mut pb = PathBuilder::new();
            pb.move_to(*x1, *y1);
            pb.line_to(*x2, *y2);
            let Some(path) = pb.finish() else { return };
            surface.set_fill(None);
            surface.set_stroke(Some(Stroke {
                paint: paint(*color).into(),
                width: *width,
                ..Default::default()
            }));
            surface.draw_path(&path);
        }
    }
}
