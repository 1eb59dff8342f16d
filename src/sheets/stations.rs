//! The station register (名录) as a sheet: one column set for export and
//! import, the row of an export, and the checks of an imported row with
//! Chinese messages that name the sheet row and column.
//!
//! The checks mirror the station use case (`app::stations`): required
//! values, lengths, GB 32100 credit code, phone, category and status by
//! Chinese label or code, known unit code and standard, and the status /
//! 建站日期 rules that need no clock. "Not later than today" and the
//! database's own uniqueness are left to the use case that stores the rows.

use chrono::NaiveDate;

use super::read::{Expected, Row};
use super::write::{Cell, Column, ColumnKind, TableSpec, restore};
use crate::domain::station::{DROPPED_PLAN_ZH, valid_phone};
use crate::domain::{Category, StationStatus, credit_code};

pub const UNIT: &str = "单位代码";
pub const NAME: &str = "服务站名称";
pub const HOST: &str = "经营者";
pub const CREDIT_CODE: &str = "统一社会信用代码";
pub const CATEGORY: &str = "类别";
pub const ADDRESS: &str = "地址";
pub const LIAISON: &str = "联络员";
pub const PHONE: &str = "联络电话";
pub const STANDARD: &str = "检查标准";
pub const STATUS: &str = "状态";
pub const ESTABLISHED: &str = "建站日期";

/// A register column: header, export width and kind, and whether an import
/// must have it (a required column must also have a value in every row).
#[derive(Debug, Clone, Copy)]
pub struct RegisterColumn {
    pub header_zh: &'static str,
    pub width: f64,
    pub kind: ColumnKind,
    pub required: bool,
}

const fn col(header_zh: &'static str, width: f64, kind: ColumnKind, required: bool) -> RegisterColumn {
    RegisterColumn {
        header_zh,
        width,
        kind,
        required,
    }
}

/// The register's columns, in export order. Status and 建站日期 are optional
/// on import: an empty status means 计划建设, as in the station form.
pub const COLUMNS: [RegisterColumn; 11] = [
    col(UNIT, 10.0, ColumnKind::Text, true),
    col(NAME, 28.0, ColumnKind::Text, true),
    col(HOST, 28.0, ColumnKind::Text, true),
    col(CREDIT_CODE, 22.0, ColumnKind::Text, false),
    col(CATEGORY, 10.0, ColumnKind::Text, true),
    col(ADDRESS, 36.0, ColumnKind::Text, true),
    col(LIAISON, 10.0, ColumnKind::Text, true),
    col(PHONE, 16.0, ColumnKind::Text, true),
    col(STANDARD, 14.0, ColumnKind::Text, true),
    col(STATUS, 10.0, ColumnKind::Text, false),
    col(ESTABLISHED, 12.0, ColumnKind::Date, false),
];

/// Longest values, in characters, as in the station form.
const MAX_CHARS: [(&str, usize); 5] = [(NAME, 100), (HOST, 200), (ADDRESS, 300), (LIAISON, 50), (PHONE, 32)];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StationRecord {
    pub unit_code: String,
    pub name: String,
    pub host_business: String,
    pub credit_code: Option<String>,
    pub category: Category,
    pub address: String,
    pub liaison_name: String,
    pub liaison_phone: String,
    pub standard_id: String,
    pub status: StationStatus,
    pub established_on: Option<NaiveDate>,
}

/// A problem with one cell (or with a row, when `column_zh` names the column
/// that identifies it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    pub row: u32,
    pub column_zh: &'static str,
    pub message_zh: String,
}

impl std::fmt::Display for CellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "第{}行“{}”：{}", self.row, self.column_zh, self.message_zh)
    }
}

/// The export's table spec (no mark column: the register marks nothing).
pub fn table_spec(title: Option<String>) -> TableSpec {
    TableSpec {
        sheet_name: "服务站名录".into(),
        title,
        mark_header: None,
        columns: COLUMNS
            .iter()
            .map(|c| Column::new(c.header_zh, c.width, c.kind))
            .collect(),
    }
}

/// The columns an import looks for.
pub fn expected() -> Vec<Expected> {
    COLUMNS
        .iter()
        .map(|c| Expected {
            header_zh: c.header_zh,
            required: c.required,
        })
        .collect()
}

/// One export row, in [`COLUMNS`] order (labels in Chinese).
pub fn record_cells(r: &StationRecord) -> Vec<Cell> {
    let text = |s: &str| Cell::Text(s.to_string());
    vec![
        text(&r.unit_code),
        text(&r.name),
        text(&r.host_business),
        r.credit_code.as_deref().map_or(Cell::Empty, text),
        text(r.category.label_zh()),
        text(&r.address),
        text(&r.liaison_name),
        text(&r.liaison_phone),
        text(&r.standard_id),
        text(r.status.label_for(r.established_on)),
        r.established_on.map_or(Cell::Empty, Cell::Date),
    ]
}

/// Collects the errors of one row.
struct RowCheck<'a> {
    row: &'a Row,
    errors: Vec<CellError>,
}

impl<'a> RowCheck<'a> {
    fn add(&mut self, column_zh: &'static str, message_zh: impl Into<String>) {
        self.errors.push(CellError {
            row: self.row.number,
            column_zh,
            message_zh: message_zh.into(),
        });
    }

    /// The value, with the export's formula-neutralising `'` removed.
    fn value(&self, column_zh: &str) -> &'a str {
        restore(self.row.get(column_zh)).trim()
    }

    fn required(&mut self, column_zh: &'static str) -> String {
        let v = self.value(column_zh);
        if v.is_empty() {
            self.add(column_zh, "不能为空");
        }
        v.to_string()
    }

    /// Parses a value of a closed set by its Chinese label or its code.
    fn choice<T: Copy>(
        &mut self,
        column_zh: &'static str,
        all: &[T],
        label: fn(T) -> &'static str,
        code: fn(T) -> &'static str,
    ) -> Option<T> {
        let v = self.value(column_zh);
        let found = all.iter().copied().find(|t| label(*t) == v || code(*t) == v);
        if found.is_none() && !v.is_empty() {
            let labels: Vec<&str> = all.iter().map(|t| label(*t)).collect();
            self.add(column_zh, format!("无法识别“{v}”，可选：{}", labels.join("、")));
        }
        found
    }
}

/// Checks one imported row against the domain rules.
pub fn parse_station_row(
    row: &Row,
    known_units: &[&str],
    known_standards: &[&str],
) -> Result<StationRecord, Vec<CellError>> {
    let mut c = RowCheck {
        row,
        errors: Vec::new(),
    };
    let [
        unit_code,
        name,
        host_business,
        address,
        liaison_name,
        liaison_phone,
        standard_id,
    ] = [UNIT, NAME, HOST, ADDRESS, LIAISON, PHONE, STANDARD].map(|h| c.required(h));
    check_texts(&mut c, known_units, known_standards);
    let credit_code = match c.value(CREDIT_CODE) {
        "" => None,
        code => credit_code::normalize(code)
            .map_err(|e| c.add(CREDIT_CODE, e.message_zh()))
            .ok(),
    };
    let (category, status, established_on) = (category(&mut c), status(&mut c), established_on(&mut c));
    check_status_date(&mut c, status, established_on);
    match (category, status) {
        (Some(category), Some(status)) if c.errors.is_empty() => Ok(StationRecord {
            unit_code,
            name,
            host_business,
            credit_code,
            category,
            address,
            liaison_name,
            liaison_phone,
            standard_id,
            status,
            established_on,
        }),
        _ => Err(c.errors),
    }
}

/// Lengths, the phone, and the unit and standard the row refers to.
fn check_texts(c: &mut RowCheck<'_>, known_units: &[&str], known_standards: &[&str]) {
    for (column, max) in MAX_CHARS {
        if c.value(column).chars().count() > max {
            c.add(column, format!("不能超过{max}个字"));
        }
    }
    let unit_code = c.value(UNIT);
    if !unit_code.is_empty() && !known_units.contains(&unit_code) {
        c.add(UNIT, format!("未知的单位代码“{unit_code}”"));
    }
    let standard_id = c.value(STANDARD);
    if !standard_id.is_empty() && !known_standards.contains(&standard_id) {
        let known = known_standards.join("、");
        c.add(STANDARD, format!("未知的检查标准“{standard_id}”，可选：{known}"));
    }
    let phone = c.value(PHONE);
    if !phone.is_empty() && !valid_phone(phone) {
        c.add(PHONE, "应为11位手机号或带区号的固定电话");
    }
}

fn category(c: &mut RowCheck<'_>) -> Option<Category> {
    if c.value(CATEGORY).is_empty() {
        c.add(CATEGORY, "不能为空");
    }
    c.choice(CATEGORY, Category::ALL, Category::label_zh, Category::as_str)
}

/// An empty status means 计划建设, as in the station form.
fn status(c: &mut RowCheck<'_>) -> Option<StationStatus> {
    match c.value(STATUS) {
        "" => Some(StationStatus::Planned),
        // a dropped plan, as the export writes it
        DROPPED_PLAN_ZH => Some(StationStatus::Revoked),
        _ => c.choice(
            STATUS,
            StationStatus::ALL,
            StationStatus::label_zh,
            StationStatus::as_str,
        ),
    }
}

fn established_on(c: &mut RowCheck<'_>) -> Option<NaiveDate> {
    match c.value(ESTABLISHED) {
        "" => None,
        text => parse_date(text).or_else(|| {
            c.add(ESTABLISHED, format!("日期“{text}”无法识别，应如 2026-03-15"));
            None
        }),
    }
}

fn check_status_date(c: &mut RowCheck<'_>, status: Option<StationStatus>, date: Option<NaiveDate>) {
    let has_date_text = !c.value(ESTABLISHED).is_empty();
    match status {
        Some(s) if s.is_built() && !has_date_text => {
            c.add(ESTABLISHED, format!("“{}”的服务站须填写建站日期", s.label_zh()))
        }
        Some(StationStatus::Planned) if date.is_some() => c.add(ESTABLISHED, "计划建设的服务站不能填写建站日期"),
        _ => {}
    }
}

/// YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD or YYYY年M月D日 (as clerks type them).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    let t = text.trim();
    ["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日"]
        .iter()
        .find_map(|f| NaiveDate::parse_from_str(t, f).ok())
}

/// Rows of the same file that repeat a credit code, or a unit code and
/// name: every repeat after the first, naming the row it repeats.
pub fn duplicates(records: &[(u32, StationRecord)]) -> Vec<CellError> {
    use std::collections::HashMap;
    let mut codes: HashMap<&str, u32> = HashMap::new();
    let mut names: HashMap<(&str, &str), u32> = HashMap::new();
    let mut errors = Vec::new();
    for (row, r) in records {
        if let Some(code) = r.credit_code.as_deref() {
            let first = *codes.entry(code).or_insert(*row);
            if first != *row {
                let message_zh = format!("与第{first}行的统一社会信用代码重复");
                errors.push(CellError {
                    row: *row,
                    column_zh: CREDIT_CODE,
                    message_zh,
                });
            }
        }
        let key = (r.unit_code.as_str(), r.name.as_str());
        if let Some(&first) = names.get(&key) {
            errors.push(CellError {
                row: *row,
                column_zh: NAME,
                message_zh: format!("与第{first}行同一单位的服务站名称重复"),
            });
        } else {
            names.insert(key, *row);
        }
    }
    errors
}
