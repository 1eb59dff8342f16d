//! Circular (通报) conventions, GB/T 9704-2012: the document number is the
//! agency code, the year in hexagonal brackets, and the serial followed by
//! 号 — `白市工商通〔2017〕3号` (no leading zeros, no 第).

use chrono::{Datelike, NaiveDate};

use crate::text_enum;

text_enum!(
    /// Where one email of the outbox stands.
    DeliveryStatus {
        /// Waiting for its (next) attempt.
        Pending = "pending" / "待发送",
        /// Claimed by a worker that is sending it.
        Sending = "sending" / "发送中",
        Sent = "sent" / "已发送",
        /// Given up after the last attempt (can be retried by hand).
        Failed = "failed" / "发送失败",
    }
);

pub fn number(prefix: &str, year: i32, serial: i32) -> String {
    format!("{prefix}〔{year}〕{serial}号")
}

/// A date as written in official documents: 2017年7月14日.
pub fn date_zh(d: NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// A prefix must be a short agency code without the brackets or 号 that the
/// number adds itself.
pub fn valid_prefix(prefix: &str) -> bool {
    let n = prefix.chars().count();
    (1..=20).contains(&n) && !prefix.chars().any(|c| "〔〕[]()（）号 \t\r\n".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_follow_gb_t_9704() {
        assert_eq!(number("白市工商通", 2017, 3), "白市工商通〔2017〕3号");
        assert_eq!(number("白市工商通", 2017, 12), "白市工商通〔2017〕12号");
        let d = NaiveDate::from_ymd_opt(2017, 7, 4).expect("date");
        assert_eq!(date_zh(d), "2017年7月4日");
        assert!(valid_prefix("白市工商通"));
        assert!(!valid_prefix("白市〔通"));
        assert!(!valid_prefix(""));
    }
}
