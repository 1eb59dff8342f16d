//! The working-day calendar against the State Council notices it ships.

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
    let y2030 =
        format!("year = 2030\n{source}[[holidays]]\nfestival = \"元旦\"\nfrom = \"2030-01-01\"\nto = \"2030-01-01\"\n");
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
