//! Working days (工作日) under the State Council's yearly holiday notices
//! (国务院办公厅关于X年部分节假日安排的通知).
//!
//! A day is a working day when it is Monday to Friday and not a holiday of
//! the notice, or when it is a weekend day the notice makes a working day
//! (调休上班). Each year's notice is a TOML file under `workdays/`, embedded
//! in the binary and parsed once. A year without a file is an error
//! ([`CalendarError::MissingYear`]), never a guess from weekends alone: add
//! the file when the State Council publishes the next year's notice
//! (usually in November).
//!
//! A notice's dates fall in its year or in the December before: some
//! notices start 元旦 there (the 2019 notice: 2018-12-30 to 2019-01-01 off,
//! Saturday 2018-12-29 worked). Such a December day is read from the next
//! year's file when that file is embedded; without it the day follows the
//! December year's own notice, so add each notice as soon as it is out.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

/// The embedded notices, one file per year: (file name, contents).
const FILES: &[(&str, &str)] = &[
    ("2017.toml", include_str!("workdays/2017.toml")),
    ("2018.toml", include_str!("workdays/2018.toml")),
    ("2025.toml", include_str!("workdays/2025.toml")),
    ("2026.toml", include_str!("workdays/2026.toml")),
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// No notice for this year is embedded.
    #[error("no holiday calendar for {0}")]
    MissingYear(i32),
    /// An embedded file is malformed or inconsistent.
    #[error("holiday calendar {file}, field {field}: {reason}")]
    BadFile {
        file: String,
        field: String,
        reason: String,
    },
}

impl CalendarError {
    /// A message for the person using the system.
    pub fn message_zh(&self) -> String {
        match self {
            Self::MissingYear(year) => format!("缺少{year}年的节假日安排，无法计算工作日"),
            Self::BadFile { file, field, reason } => {
                format!("节假日安排文件{file}的字段{field}有误：{reason}")
            }
        }
    }
}

/// Where a year's arrangement comes from.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// The notice's title.
    pub title: String,
    /// Its document number, e.g. 国办发明电〔2016〕17号.
    pub number: String,
    /// The date it was issued (YYYY-MM-DD).
    pub date: String,
    /// Where it was published.
    pub published: String,
}

/// What a notice says about one date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Adjustment {
    /// A day off for the festival (放假).
    Holiday(String),
    /// A weekend day worked to make up for the festival (调休上班).
    MakeUpWorkday(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct YearFile {
    year: i32,
    source: Source,
    holidays: Vec<HolidayRange>,
    #[serde(default)]
    workdays: Vec<MakeUpDay>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct HolidayRange {
    festival: String,
    from: NaiveDate,
    to: NaiveDate,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MakeUpDay {
    date: NaiveDate,
    festival: String,
}

/// The holiday arrangements of the years with a notice.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    sources: BTreeMap<i32, Source>,
    days: BTreeMap<NaiveDate, Adjustment>,
}

impl Calendar {
    /// The calendar in use: the embedded notices, and any the operator
    /// added with [`install`] at start-up; parsed on first use.
    pub fn embedded() -> Result<&'static Calendar, CalendarError> {
        CALENDAR
            .get_or_init(|| Calendar::from_files(FILES))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// Builds a calendar from `(file name, TOML text)` pairs, checking each.
    pub fn from_files(files: &[(&str, &str)]) -> Result<Calendar, CalendarError> {
        let mut calendar = Calendar::default();
        for (name, text) in files {
            calendar.add_file(name, text)?;
        }
        Ok(calendar)
    }

    fn add_file(&mut self, name: &str, text: &str) -> Result<(), CalendarError> {
        let file = parse_toml(name, text)?;
        if self.sources.contains_key(&file.year) {
            return Err(bad(name, "year", format!("{}年出现了两次", file.year)));
        }
        for (i, h) in file.holidays.iter().enumerate() {
            add_holidays(name, file.year, i, h, &mut self.days)?;
        }
        for (i, w) in file.workdays.iter().enumerate() {
            add_workday(name, file.year, i, w, &mut self.days)?;
        }
        self.sources.insert(file.year, file.source);
        Ok(())
    }

    /// The years with a notice, in order.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.sources.keys().copied()
    }

    /// The notice a year's arrangement comes from.
    pub fn source(&self, year: i32) -> Option<&Source> {
        self.sources.get(&year)
    }

    /// What the notice says about `date`: `None` for an ordinary day.
    pub fn adjustment(&self, date: NaiveDate) -> Result<Option<&Adjustment>, CalendarError> {
        if !self.sources.contains_key(&date.year()) {
            return Err(CalendarError::MissingYear(date.year()));
        }
        Ok(self.days.get(&date))
    }

    /// Whether `date` is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> Result<bool, CalendarError> {
        Ok(match self.adjustment(date)? {
            Some(Adjustment::Holiday(_)) => false,
            Some(Adjustment::MakeUpWorkday(_)) => true,
            None => !is_weekend(date),
        })
    }

    /// The `n`-th working day after `start` (`start` itself does not count):
    /// a case received on Friday 2017-09-29 with 1 working day is due on
    /// Saturday 2017-09-30 (a make-up working day), with 2 on 2017-10-09.
    ///
    /// `n = 0` means "no later than the day received": `start` when it is a
    /// working day, else the first working day after it.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
        if n == 0 && self.is_working_day(start)? {
            return Ok(start);
        }
        let mut date = start;
        let mut left = n.max(1);
        while left > 0 {
            date = next_day(date)?;
            if self.is_working_day(date)? {
                left -= 1;
            }
        }
        Ok(date)
    }

    /// The number of working days after `a` up to and including `b` (0 when
    /// `b` is not after `a`): for a deadline `a` and today `b`, the working
    /// days overdue.
    pub fn working_days_between(&self, a: NaiveDate, b: NaiveDate) -> Result<u32, CalendarError> {
        let mut count = 0;
        let mut date = a;
        while date < b {
            date = next_day(date)?;
            if self.is_working_day(date)? {
                count += 1;
            }
        }
        Ok(count)
    }
}

/// The calendar in use, set once per process.
static CALENDAR: OnceLock<Result<Calendar, CalendarError>> = OnceLock::new();

/// Adds notices the operator supplies (`(file name, TOML text)`, e.g. next
/// year's, published after this release) to the embedded ones, before
/// anything has used the calendar. A bad file, a year given twice, or a
/// calendar already in use is an error naming the file.
pub fn install(extra: &[(String, String)]) -> Result<&'static Calendar, CalendarError> {
    let mut files: Vec<(&str, &str)> = FILES.to_vec();
    files.extend(extra.iter().map(|(n, t)| (n.as_str(), t.as_str())));
    let calendar = Calendar::from_files(&files)?;
    CALENDAR.set(Ok(calendar)).map_err(|_| CalendarError::BadFile {
        file: extra.first().map(|(n, _)| n.clone()).unwrap_or_default(),
        field: "year".into(),
        reason: "节假日安排已在使用中，须在启动时加入".into(),
    })?;
    Calendar::embedded()
}

/// [`Calendar::is_working_day`] on the embedded calendar.
pub fn is_working_day(date: NaiveDate) -> Result<bool, CalendarError> {
    Calendar::embedded()?.is_working_day(date)
}

/// [`Calendar::add_working_days`] on the embedded calendar.
pub fn add_working_days(start: NaiveDate, n: u32) -> Result<NaiveDate, CalendarError> {
    Calendar::embedded()?.add_working_days(start, n)
}

/// [`Calendar::working_days_between`] on the embedded calendar.
pub fn working_days_between(a: NaiveDate, b: NaiveDate) -> Result<u32, CalendarError> {
    Calendar::embedded()?.working_days_between(a, b)
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn next_day(date: NaiveDate) -> Result<NaiveDate, CalendarError> {
    date.succ_opt().ok_or(CalendarError::MissingYear(date.year() + 1))
}

fn bad(file: &str, field: impl Into<String>, reason: impl Into<String>) -> CalendarError {
    CalendarError::BadFile {
        file: file.to_owned(),
        field: field.into(),
        reason: reason.into(),
    }
}

/// Parses a file; an error names the field's path (`holidays[2].from`).
fn parse_toml(name: &str, text: &str) -> Result<YearFile, CalendarError> {
    let de = toml::Deserializer::parse(text).map_err(|e| bad(name, "", e.message()))?;
    serde_path_to_error::deserialize(de).map_err(|e| bad(name, e.path().to_string(), e.inner().message()))
}

fn add_holidays(
    file: &str,
    year: i32,
    index: usize,
    range: &HolidayRange,
    days: &mut BTreeMap<NaiveDate, Adjustment>,
) -> Result<(), CalendarError> {
    let field = |f: &str| format!("holidays[{index}].{f}");
    check_in_year(file, year, &field("from"), range.from)?;
    check_in_year(file, year, &field("to"), range.to)?;
    if range.to < range.from {
        return Err(bad(file, field("to"), format!("{} 早于 from {}", range.to, range.from)));
    }
    for date in range.from.iter_days().take_while(|d| *d <= range.to) {
        if days.insert(date, Adjustment::Holiday(range.festival.clone())).is_some() {
            return Err(bad(file, field("from"), format!("{date} 重复列出")));
        }
    }
    Ok(())
}

fn add_workday(
    file: &str,
    year: i32,
    index: usize,
    day: &MakeUpDay,
    days: &mut BTreeMap<NaiveDate, Adjustment>,
) -> Result<(), CalendarError> {
    let field = format!("workdays[{index}].date");
    check_in_year(file, year, &field, day.date)?;
    if !is_weekend(day.date) {
        return Err(bad(file, field, format!("{} 不是周末，无需调休上班", day.date)));
    }
    if days
        .insert(day.date, Adjustment::MakeUpWorkday(day.festival.clone()))
        .is_some()
    {
        return Err(bad(file, field, format!("{} 已列为放假日或重复列出", day.date)));
    }
    Ok(())
}

/// A notice's dates fall in its year or in the December before.
fn check_in_year(file: &str, year: i32, field: &str, date: NaiveDate) -> Result<(), CalendarError> {
    if date.year() == year || (date.year() == year - 1 && date.month() == 12) {
        Ok(())
    } else {
        Err(bad(file, field, format!("{date} 不在{year}年（或上年12月）")))
    }
}

#[cfg(test)]
mod tests;
