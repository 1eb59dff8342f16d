//! The 八个一 checklists as data: loading and validating `checklists/*.toml`.
//!
//! Checklists are embedded in the binary at build time; `--checklists DIR`
//! adds more. Every version of every checklist is kept, so a visit scored
//! against an older version can always be read back against it.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/checklists.rs"));
}

/// One item of a checklist (one of the "eight ones").
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub code: String,
    pub title_zh: String,
    pub title_en: String,
    pub guidance: String,
    #[serde(default)]
    pub optional: bool,
    pub weight: u32,
}

/// One version of a checklist standard.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Standard {
    pub id: String,
    pub version: i32,
    pub title_zh: String,
    pub title_en: String,
    pub source: String,
    pub items: Vec<Item>,
}

impl Standard {
    pub fn item(&self, code: &str) -> Option<&Item> {
        self.items.iter().find(|i| i.code == code)
    }
}

/// A checklist file that cannot be used; names the file and the field.
#[derive(Debug, thiserror::Error)]
#[error("checklist {file}: {field}: {message}")]
pub struct LoadError {
    pub file: String,
    pub field: String,
    pub message: String,
}

fn err(file: &str, field: impl Into<String>, message: impl Into<String>) -> LoadError {
    LoadError {
        file: file.to_owned(),
        field: field.into(),
        message: message.into(),
    }
}

/// Parses and validates one checklist file.
pub fn parse(file: &str, text: &str) -> Result<Standard, LoadError> {
    let std: Standard = toml::from_str(text).map_err(|e| {
        let field = e
            .span()
            .map(|s| format!("line {}", text[..s.start].lines().count().max(1)))
            .unwrap_or_else(|| "document".into());
        err(file, field, e.message().to_owned())
    })?;
    validate(file, &std)?;
    Ok(std)
}

fn is_code(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn validate(file: &str, s: &Standard) -> Result<(), LoadError> {
    if !is_code(&s.id) {
        return Err(err(file, "id", "must be 1-64 characters of a-z, 0-9, '-' or '_'"));
    }
    if s.version < 1 {
        return Err(err(file, "version", "must be a whole number of at least 1"));
    }
    for (field, value) in [
        ("title_zh", &s.title_zh),
        ("title_en", &s.title_en),
        ("source", &s.source),
    ] {
        if value.trim().is_empty() {
            return Err(err(file, field, "must not be empty"));
        }
    }
    if s.items.is_empty() {
        return Err(err(file, "items", "a checklist needs at least one item"));
    }
    let mut seen = HashSet::new();
    for (i, item) in s.items.iter().enumerate() {
        let at = |f: &str| format!("items[{i}].{f}");
        if !is_code(&item.code) {
            return Err(err(file, at("code"), "must be 1-64 characters of a-z, 0-9, '-' or '_'"));
        }
        if !seen.insert(item.code.as_str()) {
            return Err(err(file, at("code"), format!("duplicate item code {:?}", item.code)));
        }
        if item.weight == 0 {
            return Err(err(file, at("weight"), "must be greater than 0"));
        }
        for (f, v) in [
            ("title_zh", &item.title_zh),
            ("title_en", &item.title_en),
            ("guidance", &item.guidance),
        ] {
            if v.trim().is_empty() {
                return Err(err(file, at(f), "must not be empty"));
            }
        }
    }
    if s.items.iter().all(|i| i.optional) {
        return Err(err(
            file,
            "items",
            "at least one item must be required (optional = false)",
        ));
    }
    Ok(())
}

/// All loaded checklists, every version, keyed by (id, version).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    by_key: BTreeMap<(String, i32), Standard>,
}

impl Registry {
    /// The checklists compiled into the binary.
    pub fn embedded() -> Result<Self, LoadError> {
        let mut reg = Registry::default();
        for (name, text) in embedded::EMBEDDED {
            reg.insert(&format!("checklists/{name}"), parse(name, text)?)?;
        }
        Ok(reg)
    }

    /// Adds every `*.toml` file of `dir`.
    pub fn add_dir(&mut self, dir: &Path) -> Result<(), LoadError> {
        let shown = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|e| err(&shown, "directory", e.to_string()))?;
        let mut paths = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| err(&shown, "directory", e.to_string()))?;
            let path = entry.path();
            if path.extension().is_some_and(|x| x == "toml") {
                paths.push(path);
            }
        }
        paths.sort();
        for path in paths {
            let file = path.display().to_string();
            let text = std::fs::read_to_string(&path).map_err(|e| err(&file, "file", e.to_string()))?;
            let std = parse(&file, &text)?;
            self.insert(&file, std)?;
        }
        Ok(())
    }

    fn insert(&mut self, file: &str, s: Standard) -> Result<(), LoadError> {
        let key = (s.id.clone(), s.version);
        if let Some(existing) = self.by_key.get(&key) {
            if existing == &s {
                return Ok(());
            }
            return Err(err(
                file,
                "version",
                format!(
                    "{} version {} is already loaded with different content",
                    s.id, s.version
                ),
            ));
        }
        self.by_key.insert(key, s);
        Ok(())
    }

    /// The newest version of every checklist, ordered by id.
    pub fn latest_all(&self) -> Vec<&Standard> {
        let mut out: BTreeMap<&str, &Standard> = BTreeMap::new();
        for s in self.by_key.values() {
            out.insert(&s.id, s); // values are ordered by version, so the last wins
        }
        out.into_values().collect()
    }

    /// Item code → Chinese title, across the newest version of every
    /// checklist.
    pub fn item_titles(&self) -> std::collections::HashMap<String, String> {
        self.latest_all()
            .iter()
            .flat_map(|s| s.items.iter().map(|i| (i.code.clone(), i.title_zh.clone())))
            .collect()
    }

    /// Item code → Chinese title for each checklist id, as its newest
    /// version words it (items only older versions have keep their title
    /// there): a station's items are named by its own checklist.
    pub fn item_titles_by_standard(
        &self,
    ) -> std::collections::HashMap<String, std::collections::HashMap<String, String>> {
        let mut out: std::collections::HashMap<String, std::collections::HashMap<String, String>> =
            std::collections::HashMap::new();
        // Ordered by (id, version): newer versions overwrite older titles.
        for ((id, _), s) in &self.by_key {
            let titles = out.entry(id.clone()).or_default();
            for item in &s.items {
                titles.insert(item.code.clone(), item.title_zh.clone());
            }
        }
        out
    }

    /// The Chinese title of checklist `id`, e.g. "“八个一”通用标准"; the id
    /// itself only for an unknown checklist.
    pub fn title_zh(&self, id: &str) -> String {
        self.latest(id).map_or_else(|| id.to_owned(), |s| s.title_zh.clone())
    }

    /// The newest version of one checklist.
    pub fn latest(&self, id: &str) -> Option<&Standard> {
        self.by_key
            .range((id.to_owned(), i32::MIN)..=(id.to_owned(), i32::MAX))
            .next_back()
            .map(|(_, s)| s)
    }

    pub fn get(&self, id: &str, version: i32) -> Option<&Standard> {
        self.by_key.get(&(id.to_owned(), version))
    }

    /// Every version of one checklist, oldest first.
    pub fn versions(&self, id: &str) -> Vec<i32> {
        self.by_key
            .range((id.to_owned(), i32::MIN)..=(id.to_owned(), i32::MAX))
            .map(|((_, v), _)| *v)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_checklists_load() {
        let reg = Registry::embedded().expect("embedded checklists are valid");
        let common = reg.latest("baxiangyi-common").expect("common version");
        assert_eq!(common.items.len(), 8);
        assert!(common.item("computer").expect("computer item").optional);
        let nanyue = reg.latest("baxiangyi-nanyue").expect("nanyue version");
        assert!(nanyue.item("sign").is_some());
        assert!(nanyue.items.iter().all(|i| !i.optional));
    }

    const ONE: &str = r#"
id = "x"
version = 1
title_zh = "甲"
title_en = "A"
source = "s"
[[items]]
code = "a"
title_zh = "甲"
title_en = "A"
guidance = "g"
weight = 1
"#;

    #[test]
    fn rejects_bad_files_naming_the_field() {
        assert!(parse("ok.toml", ONE).is_ok());
        let dup = format!(
            "{ONE}\n[[items]]\ncode = \"a\"\ntitle_zh = \"乙\"\ntitle_en = \"B\"\nguidance = \"g\"\nweight = 1\n"
        );
        let e = parse("dup.toml", &dup).unwrap_err();
        assert_eq!((e.file.as_str(), e.field.as_str()), ("dup.toml", "items[1].code"));
        let e = parse("w.toml", &ONE.replace("weight = 1", "weight = 0")).unwrap_err();
        assert_eq!(e.field, "items[0].weight");
        let none = ONE.split("[[items]]").next().unwrap_or_default().to_owned() + "items = []\n";
        assert_eq!(parse("n.toml", &none).unwrap_err().field, "items");
        let e = parse("t.toml", "id = 3").unwrap_err();
        assert!(e.to_string().starts_with("checklist t.toml: line 1:"), "{e}");
    }
}
