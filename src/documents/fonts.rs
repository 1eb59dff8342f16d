//! Chinese faces for official documents, found by file name under font
//! directories, with a fallback chain per role.
//!
//! GB/T 9704-2012 asks for 仿宋 (body), 小标宋 (mark and title), 黑体 and
//! 楷体 (section heads) and 宋体 (page numbers). 小标宋 is rarely free, so a
//! bold Song stands in for it. The first choice for every role is a Fandol
//! face (Debian `texlive-lang-chinese`); Noto CJK, AR PL and WenQuanYi files
//! follow as fallbacks where the style is close enough.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use krilla::text::{Font, GlyphId, KrillaGlyph};
use skrifa::MetadataProvider;
use skrifa::instance::{LocationRef, Size};
use skrifa::raw::TableProvider;

/// Where fonts are looked for when no directory is given: Debian's font
/// tree and the TeX trees where `texlive-lang-chinese` puts Fandol.
pub const DEFAULT_FONT_DIRS: &[&str] = &[
    "/usr/share/fonts",
    "/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol",
    "/usr/share/texmf/fonts/opentype/public/fandol",
];

/// The typographic role a face plays in a document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FontRole {
    /// 仿宋: body text.
    FangSong,
    /// 宋体: page numbers.
    Song,
    /// 小标宋: issuer's mark and titles (a bold Song stands in).
    XiaoBiaoSong,
    /// 黑体: first-level heads, table headers.
    Hei,
    /// 楷体: second-level heads.
    Kai,
}

impl FontRole {
    pub const ALL: [FontRole; 5] = [
        FontRole::FangSong,
        FontRole::Song,
        FontRole::XiaoBiaoSong,
        FontRole::Hei,
        FontRole::Kai,
    ];

    pub fn name(self) -> &'static str {
        match self {
            FontRole::FangSong => "仿宋 (FangSong)",
            FontRole::Song => "宋体 (Song)",
            FontRole::XiaoBiaoSong => "小标宋 (XiaoBiaoSong, bold Song)",
            FontRole::Hei => "黑体 (Hei)",
            FontRole::Kai => "楷体 (Kai)",
        }
    }

    /// File names (and face index inside a collection), best first.
    pub fn candidates(self) -> &'static [(&'static str, u32)] {
        match self {
            FontRole::FangSong => &[("FandolFang-Regular.otf", 0)],
            FontRole::Song => &[
                ("FandolSong-Regular.otf", 0),
                ("NotoSerifCJKsc-Regular.otf", 0),
                ("NotoSerifCJK-Regular.ttc", 2),
            ],
            FontRole::XiaoBiaoSong => &[
                ("FandolSong-Bold.otf", 0),
                ("NotoSerifCJKsc-Bold.otf", 0),
                ("NotoSerifCJK-Bold.ttc", 2),
                ("FandolSong-Regular.otf", 0),
            ],
            FontRole::Hei => &[
                ("FandolHei-Regular.otf", 0),
                ("NotoSansCJKsc-Regular.otf", 0),
                ("NotoSansCJK-Regular.ttc", 2),
                ("wqy-zenhei.ttc", 0),
            ],
            FontRole::Kai => &[
                ("FandolKai-Regular.otf", 0),
                ("ukai.ttc", 0),
                ("gkai00mp.ttf", 0),
                ("FandolSong-Regular.otf", 0),
            ],
        }
    }
}

/// A role had none of its files under the directories searched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FontError {
    Missing {
        role: FontRole,
        looked_for: Vec<String>,
        dirs: Vec<PathBuf>,
    },
    Unreadable {
        role: FontRole,
        path: PathBuf,
        reason: String,
    },
}

impl fmt::Display for FontError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FontError::Missing { role, looked_for, dirs } => write!(
                f,
                "no font for {} under {:?}: looked for {} (install the Debian package \
                 texlive-lang-chinese, which ships the Fandol fonts)",
                role.name(),
                dirs,
                looked_for.join(", ")
            ),
            FontError::Unreadable { role, path, reason } => write!(
                f,
                "font for {} at {} cannot be used: {reason}",
                role.name(),
                path.display()
            ),
        }
    }
}

impl std::error::Error for FontError {}

/// One loaded face: the bytes for krilla and the metrics for layout.
#[derive(Clone)]
pub struct Face {
    pub path: PathBuf,
    pub index: u32,
    font: Font,
    data: Arc<Vec<u8>>,
}

impl fmt::Debug for Face {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Face({}#{})", self.path.display(), self.index)
    }
}

impl Face {
    fn open(role: FontRole, path: &Path, index: u32) -> Result<Face, FontError> {
        let unreadable = |reason: String| FontError::Unreadable {
            role,
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
        let data = Arc::new(bytes);
        skrifa::FontRef::from_index(&data, index).map_err(|e| unreadable(e.to_string()))?;
        let font =
            Font::new(data.clone().into(), index).ok_or_else(|| unreadable("not a font krilla can read".into()))?;
        Ok(Face {
            path: path.to_path_buf(),
            index,
            font,
            data,
        })
    }

    pub fn font(&self) -> Font {
        self.font.clone()
    }

    /// Glyphs for `text` at one advance per character (in em), with
    /// `tracking_em` added after each. Positions are the font's own
    /// advances: no shaping is needed for Chinese text and digits.
    pub fn glyphs(&self, text: &str, tracking_em: f32) -> Vec<KrillaGlyph> {
        let Ok(font) = skrifa::FontRef::from_index(&self.data, self.index) else {
            return Vec::new();
        };
        let upem = f32::from(font.head().map(|h| h.units_per_em()).unwrap_or(1000));
        let charmap = font.charmap();
        let metrics = font.glyph_metrics(Size::unscaled(), LocationRef::default());
        text.char_indices()
            .map(|(i, c)| {
                let gid = charmap.map(c).unwrap_or_default();
                let adv = metrics.advance_width(gid).unwrap_or(upem) / upem;
                KrillaGlyph::new(
                    GlyphId::new(gid.to_u32()),
                    adv + tracking_em,
                    0.0,
                    0.0,
                    0.0,
                    i..i + c.len_utf8(),
                    None,
                )
            })
            .collect()
    }

    /// Width of `text` in points at `size` with `tracking` points per char.
    pub fn width(&self, text: &str, size: f32, tracking: f32) -> f32 {
        self.glyphs(text, tracking / size)
            .iter()
            .map(|g| g.x_advance * size)
            .sum()
    }

    /// Characters of `text` the face has no glyph for (drawn as empty
    /// boxes; the text stays extractable).
    pub fn missing(&self, text: &str) -> Vec<char> {
        let Ok(font) = skrifa::FontRef::from_index(&self.data, self.index) else {
            return text.chars().collect();
        };
        let charmap = font.charmap();
        text.chars()
            .filter(|c| !c.is_whitespace() && charmap.map(*c).is_none())
            .collect()
    }
}

/// The faces a document uses, one per role.
#[derive(Debug, Clone)]
pub struct FontSet {
    faces: HashMap<FontRole, Face>,
}

impl FontSet {
    /// Searches `dir` recursively for each role's files.
    pub fn load(dir: &Path) -> Result<FontSet, FontError> {
        FontSet::load_from(&[dir.to_path_buf()])
    }

    /// Searches [`DEFAULT_FONT_DIRS`].
    pub fn load_default() -> Result<FontSet, FontError> {
        let dirs: Vec<PathBuf> = DEFAULT_FONT_DIRS.iter().map(PathBuf::from).collect();
        FontSet::load_from(&dirs)
    }

    /// Searches every directory (recursively); the first candidate file
    /// found in any of them wins for its role.
    pub fn load_from(dirs: &[PathBuf]) -> Result<FontSet, FontError> {
        let mut found: HashMap<String, PathBuf> = HashMap::new();
        for dir in dirs {
            index_files(dir, &mut found, 0);
        }
        let mut faces = HashMap::new();
        for role in FontRole::ALL {
            let hit = role
                .candidates()
                .iter()
                .find_map(|(name, index)| found.get(*name).map(|p| (p, *index)));
            let Some((path, index)) = hit else {
                return Err(FontError::Missing {
                    role,
                    looked_for: role.candidates().iter().map(|c| c.0.to_string()).collect(),
                    dirs: dirs.to_vec(),
                });
            };
            faces.insert(role, Face::open(role, path, index)?);
        }
        Ok(FontSet { faces })
    }

    pub fn face(&self, role: FontRole) -> &Face {
        // Every role is filled by `load_from` or it returns an error.
        &self.faces[&role]
    }
}

/// Records the first path seen for each file name below `dir`.
fn index_files(dir: &Path, found: &mut HashMap<String, PathBuf>, depth: usize) {
    if depth > 12 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            index_files(&path, found, depth + 1);
        } else if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
            found.entry(name.to_string()).or_insert(path.clone());
        }
    }
}
