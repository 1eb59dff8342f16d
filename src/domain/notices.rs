//! Automated notices: the kinds of email of the one outbox, and when a
//! scheduled notice falls due (pure date rules, unit-tested).

use chrono::{Datelike, Days, NaiveDate, NaiveDateTime, Weekday};

use crate::text_enum;

text_enum!(
    /// What an email of the outbox is.
    DeliveryKind {
        /// A progress circular (通报).
        Circular = "circular" / "通报",
        /// Sent when a visit raises guidance: to the station's liaison, a
        /// copy to the inspector.
        GuidanceNotice = "guidance_notice" / "整改通知",
        /// A deadline is near (to the liaison) or past (to the unit's
        /// inspectors and county lead).
        Reminder = "reminder" / "整改期限提醒",
        /// The weekly summary for a county lead or an inspector.
        Digest = "digest" / "每周摘要",
    }
);

impl DeliveryKind {
    /// The kinds a user may turn off for themselves.
    pub const OPTIONAL: [DeliveryKind; 2] = [DeliveryKind::Digest, DeliveryKind::Reminder];

    pub fn is_optional(self) -> bool {
        Self::OPTIONAL.contains(&self)
    }
}

/// The date of the weekly digest due at `now` (local wall-clock time): the
/// latest `weekday` at or before `now` whose `hour` has come, if it is at
/// most `catch_up_days` old (a period missed while the service was down is
/// sent once when it comes back; older ones are let go).
pub fn digest_date(now: NaiveDateTime, weekday: Weekday, hour: u32, catch_up_days: u32) -> Option<NaiveDate> {
    let today = now.date();
    let back = (7 + today.weekday().num_days_from_monday() - weekday.num_days_from_monday()) % 7;
    let mut day = today.checked_sub_days(Days::new(u64::from(back)))?;
    let starts = day.and_hms_opt(hour.min(23), 0, 0)?;
    if now < starts {
        day = day.checked_sub_days(Days::new(7))?;
    }
    let late = (today - day).num_days();
    (late <= i64::from(catch_up_days)).then_some(day)
}

/// Whether the liaison is reminded on `as_of` of a deadline on `due_on`:
/// from `days_before` days before it until the day before it (a run missed
/// on the first day catches up on the next, within `catch_up_days`).
pub fn reminder_due(due_on: NaiveDate, as_of: NaiveDate, days_before: u32, catch_up_days: u32) -> bool {
    let Some(from) = due_on.checked_sub_days(Days::new(u64::from(days_before))) else {
        return false;
    };
    as_of >= from && as_of < due_on && (as_of - from).num_days() <= i64::from(catch_up_days)
}

/// Whether the unit is told on `as_of` that a deadline on `due_on` has
/// passed: from the day after it, within `catch_up_days`.
pub fn overdue_due(due_on: NaiveDate, as_of: NaiveDate, catch_up_days: u32) -> bool {
    let late = (as_of - due_on).num_days();
    late >= 1 && late - 1 <= i64::from(catch_up_days)
}

/// A weekday from `1`..`7` (Monday = 1) or its English name or abbreviation.
pub fn parse_weekday(s: &str) -> Option<Weekday> {
    match s.trim().parse::<u8>() {
        Ok(n @ 1..=7) => Weekday::try_from(n - 1).ok(),
        Ok(_) => None,
        Err(_) => s.trim().parse::<Weekday>().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2017, m, day).expect("date")
    }

    #[test]
    fn the_digest_is_monday_morning_and_caught_up_within_the_window() {
        let at = |m, day, h| d(m, day).and_hms_opt(h, 0, 0).expect("time");
        // 10 July 2017 is a Monday.
        assert_eq!(digest_date(at(7, 10, 8), Weekday::Mon, 8, 6), Some(d(7, 10)));
        assert_eq!(
            digest_date(at(7, 10, 7), Weekday::Mon, 8, 7),
            Some(d(7, 3)),
            "before 8 it is last week's"
        );
        assert_eq!(
            digest_date(at(7, 10, 7), Weekday::Mon, 8, 6),
            None,
            "too late for last week's"
        );
        assert_eq!(
            digest_date(at(7, 14, 12), Weekday::Mon, 8, 6),
            Some(d(7, 10)),
            "caught up on Friday"
        );
        assert_eq!(
            digest_date(at(7, 14, 12), Weekday::Mon, 8, 2),
            None,
            "too late to catch up"
        );
        assert_eq!(digest_date(at(7, 16, 23), Weekday::Mon, 8, 6), Some(d(7, 10)));
        assert_eq!(digest_date(at(7, 12, 9), Weekday::Wed, 9, 0), Some(d(7, 12)));
    }

    #[test]
    fn reminders_fall_before_the_deadline_across_a_month_end() {
        // Due 2 August, reminded 3 days before: from 30 July.
        assert!(!reminder_due(d(8, 2), d(7, 29), 3, 7));
        assert!(reminder_due(d(8, 2), d(7, 30), 3, 7));
        assert!(reminder_due(d(8, 2), d(8, 1), 3, 7));
        assert!(
            !reminder_due(d(8, 2), d(8, 2), 3, 7),
            "on the day it is not a reminder any more"
        );
        assert!(!reminder_due(d(8, 2), d(8, 1), 3, 1), "outside the catch-up window");
        assert!(!overdue_due(d(8, 2), d(8, 2), 7));
        assert!(
            overdue_due(d(7, 31), d(8, 1), 7),
            "overdue from the day after, across the month end"
        );
        assert!(overdue_due(d(7, 31), d(8, 8), 7));
        assert!(!overdue_due(d(7, 31), d(8, 9), 7), "long overdue is left to the digest");
    }

    #[test]
    fn weekdays() {
        assert_eq!(parse_weekday("1"), Some(Weekday::Mon));
        assert_eq!(parse_weekday("7"), Some(Weekday::Sun));
        assert_eq!(parse_weekday("mon"), Some(Weekday::Mon));
        assert_eq!(parse_weekday("8"), None);
        assert_eq!(parse_weekday("someday"), None);
    }
}
