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
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn cal() -> &'static Calendar {
        Calendar::embedded().expect("embedded calendar files are valid")
    }

    #[test]
    fn every_embedded_file_parses_and_matches_its_name() {
        for (name, text) in FILES {
            let file = parse_toml(name, text).unwrap_or_else(|e| panic!("{e}"));
            let year = file.year;
            assert_eq!(*name, format!("{year}.toml"));
            assert!(file.source.title.contains(&format!("{year}年")), "{name}");
            assert!(file.source.number.starts_with("国办发明电〔"), "{name}");
            // The shipped notices keep to their own year.
            assert!(
                file.holidays
                    .iter()
                    .all(|h| h.from.year() == year && h.to.year() == year),
                "{name}"
            );
            assert!(file.workdays.iter().all(|w| w.date.year() == year), "{name}");
            Calendar::from_files(&[(name, text)]).unwrap_or_else(|e| panic!("{e}"));
        }
        assert_eq!(cal().years().collect::<Vec<_>>(), [2017, 2018, 2025, 2026]);
    }

    #[test]
    fn make_up_days_are_weekends_and_not_holidays() {
        for (date, adj) in &cal().days {
            match adj {
                Adjustment::MakeUpWorkday(_) => {
                    assert!(is_weekend(*date), "{date}");
                    assert_eq!(cal().is_working_day(*date), Ok(true), "{date}");
                }
                Adjustment::Holiday(_) => assert_eq!(cal().is_working_day(*date), Ok(false), "{date}"),
            }
        }
    }

    #[test]
    fn national_day_2017() {
        // Friday 29 Sep, 1 working day: Saturday 30 Sep is worked.
        assert_eq!(cal().add_working_days(d(2017, 9, 29), 1), Ok(d(2017, 9, 30)));
        // 1-8 Oct off, so the next working day is Monday 9 Oct.
        assert_eq!(cal().add_working_days(d(2017, 9, 29), 2), Ok(d(2017, 10, 9)));
        assert_eq!(cal().working_days_between(d(2017, 9, 29), d(2017, 10, 9)), Ok(2));
        assert!(matches!(cal().adjustment(d(2017, 10, 4)), Ok(Some(Adjustment::Holiday(f))) if f == "中秋节、国庆节"));
    }

    #[test]
    fn spring_festival_2017() {
        // 27 Jan - 2 Feb off; Friday 3 Feb is the first working day after.
        assert_eq!(cal().add_working_days(d(2017, 1, 26), 1), Ok(d(2017, 2, 3)));
        assert_eq!(cal().add_working_days(d(2017, 1, 26), 2), Ok(d(2017, 2, 4)));
        assert_eq!(cal().is_working_day(d(2017, 1, 22)), Ok(true));
        assert_eq!(cal().is_working_day(d(2017, 2, 4)), Ok(true));
    }

    #[test]
    fn zero_days_is_the_same_day_or_the_next_working_day() {
        assert_eq!(cal().add_working_days(d(2017, 9, 29), 0), Ok(d(2017, 9, 29)));
        assert_eq!(cal().add_working_days(d(2017, 10, 1), 0), Ok(d(2017, 10, 9)));
        assert_eq!(cal().add_working_days(d(2017, 9, 30), 0), Ok(d(2017, 9, 30)));
    }

    #[test]
    fn plain_weekend_is_off() {
        // Saturday 2017-03-11 and Sunday 2017-03-12: no adjustment.
        assert_eq!(cal().is_working_day(d(2017, 3, 11)), Ok(false));
        assert_eq!(cal().is_working_day(d(2017, 3, 12)), Ok(false));
        assert_eq!(cal().add_working_days(d(2017, 3, 10), 1), Ok(d(2017, 3, 13)));
        assert_eq!(cal().working_days_between(d(2017, 3, 10), d(2017, 3, 17)), Ok(5));
    }

    #[test]
    fn across_the_year_end() {
        // Friday 2017-12-29; 2018-01-01 is 元旦, so Tuesday 2 Jan.
        assert_eq!(cal().add_working_days(d(2017, 12, 29), 1), Ok(d(2018, 1, 2)));
        assert_eq!(cal().working_days_between(d(2017, 12, 29), d(2018, 1, 2)), Ok(1));
    }

    #[test]
    fn a_year_without_a_notice_is_an_error() {
        let missing = CalendarError::MissingYear(2027);
        assert_eq!(cal().is_working_day(d(2027, 1, 4)), Err(missing.clone()));
        // 2026-12-31 is a Thursday; Friday 1 Jan 2027 needs the 2027 notice.
        assert_eq!(cal().add_working_days(d(2026, 12, 31), 1), Err(missing.clone()));
        assert_eq!(
            cal().working_days_between(d(2026, 12, 30), d(2027, 1, 1)),
            Err(missing.clone())
        );
        assert_eq!(
            cal().add_working_days(d(2018, 12, 31), 1),
            Err(CalendarError::MissingYear(2019))
        );
        assert_eq!(missing.message_zh(), "缺少2027年的节假日安排，无法计算工作日");
    }

    #[test]
    fn make_up_days_2026() {
        for (m, day) in [(1, 4), (2, 14), (2, 28), (5, 9), (9, 20), (10, 10)] {
            assert_eq!(is_working_day(d(2026, m, day)), Ok(true), "2026-{m}-{day}");
        }
        // Friday 2026-02-13 + 1: Saturday 14 Feb is worked; + 2: 15-23 off, so 24 Feb.
        assert_eq!(add_working_days(d(2026, 2, 13), 1), Ok(d(2026, 2, 14)));
        assert_eq!(add_working_days(d(2026, 2, 13), 2), Ok(d(2026, 2, 24)));
        assert_eq!(is_working_day(d(2026, 2, 23)), Ok(false));
        assert_eq!(working_days_between(d(2026, 9, 30), d(2026, 10, 10)), Ok(3));
        assert_eq!(working_days_between(d(2026, 10, 10), d(2026, 9, 30)), Ok(0));
    }

    #[test]
    fn make_up_days_2025() {
        for (m, day) in [(1, 26), (2, 8), (4, 27), (9, 28), (10, 11)] {
            assert_eq!(is_working_day(d(2025, m, day)), Ok(true), "2025-{m}-{day}");
        }
        assert_eq!(is_working_day(d(2025, 10, 8)), Ok(false));
    }

    #[test]
    fn a_notice_may_start_in_the_december_before() {
        // Like the 2019 notice: 元旦 from 30 Dec of the year before, Saturday 29 Dec worked.
        let source = "[source]\ntitle = \"t\"\nnumber = \"n\"\ndate = \"d\"\npublished = \"p\"\n";
        let y2030 = format!(
            "year = 2030\n{source}[[holidays]]\nfestival = \"元旦\"\nfrom = \"2030-01-01\"\nto = \"2030-01-01\"\n"
        );
        let y2031 = format!(
            "year = 2031\n{source}[[holidays]]\nfestival = \"元旦\"\nfrom = \"2030-12-30\"\nto = \"2031-01-01\"\n\
             [[workdays]]\ndate = \"2030-12-28\"\nfestival = \"元旦\"\n"
        );
        let cal = Calendar::from_files(&[("2030.toml", &y2030), ("2031.toml", &y2031)]).unwrap();
        assert_eq!(cal.is_working_day(d(2030, 12, 28)), Ok(true));
        assert_eq!(cal.is_working_day(d(2030, 12, 31)), Ok(false));
        assert_eq!(cal.add_working_days(d(2030, 12, 27), 2), Ok(d(2031, 1, 2)));
        // The same notice twice is refused, naming the second file.
        let twice = Calendar::from_files(&[("2031.toml", &y2031), ("2031b.toml", &y2031)]).unwrap_err();
        assert!(
            matches!(twice, CalendarError::BadFile { ref file, .. } if file == "2031b.toml"),
            "{twice}"
        );
    }

    #[test]
    fn bad_files_name_the_file_and_field() {
        let base = "year = 2030\n[source]\ntitle = \"t\"\nnumber = \"n\"\ndate = \"d\"\npublished = \"p\"\n";
        let cases = [
            (
                "[[holidays]]\nfestival = \"元旦\"\nfrom = \"2030-13-01\"\nto = \"2030-01-01\"\n",
                "holidays[0].from",
            ),
            (
                "[[holidays]]\nfestival = \"元旦\"\nfrom = \"2031-01-01\"\nto = \"2031-01-01\"\n",
                "holidays[0].from",
            ),
            (
                "[[holidays]]\nfestival = \"元旦\"\nfrom = \"2030-01-02\"\nto = \"2030-01-01\"\n",
                "holidays[0].to",
            ),
            // 2030-01-07 is a Monday.
            (
                "[[holidays]]\nfestival = \"元旦\"\nfrom = \"2030-01-01\"\nto = \"2030-01-01\"\n\
                 [[workdays]]\ndate = \"2030-01-07\"\nfestival = \"元旦\"\n",
                "workdays[0].date",
            ),
            (
                "[[holidays]]\nfestival = \"元旦\"\nfrom = \"2029-11-30\"\nto = \"2030-01-01\"\n",
                "holidays[0].from",
            ),
            (
                "[[holidays]]\nfestival = \"元旦\"\nfrom = \"2030-01-05\"\nto = \"2030-01-05\"\n\
                 [[workdays]]\ndate = \"2030-01-05\"\nfestival = \"元旦\"\n",
                "workdays[0].date",
            ),
        ];
        for (rest, want) in cases {
            let text = format!("{base}{rest}");
            match Calendar::from_files(&[("2030.toml", &text)]) {
                Err(CalendarError::BadFile { file, field, .. }) => {
                    assert_eq!((file.as_str(), field.as_str()), ("2030.toml", want), "{rest}");
                }
                other => panic!("{rest}: {other:?}"),
            }
        }
    }
}
