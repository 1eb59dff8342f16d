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

/// How a delivery stands, in the words of its status page: a sent one
/// tells 已发送 (the SMTP server accepted it) from 已写入文件 (no mail server
/// is configured: it was written as an .eml file and nobody received it).
pub fn delivery_status_zh(status: DeliveryStatus, sent_via: Option<&str>, attempts: i32) -> &'static str {
    match status {
        DeliveryStatus::Sent if sent_via == Some("file") => "已写入文件",
        DeliveryStatus::Sent => "已发送",
        DeliveryStatus::Pending if attempts > 0 => "待重试",
        other => other.label_zh(),
    }
}

/// Whether a delivery will change no more by itself (sent, or failed for
/// good until retried by hand).
pub fn delivery_final(status: DeliveryStatus) -> bool {
    matches!(status, DeliveryStatus::Sent | DeliveryStatus::Failed)
}

/// Why a delivery failed, in words for the clerk (the outbox records the
/// transport's own message, in English, for the logs and the API).
pub fn delivery_error_zh(error: &str) -> &'static str {
    let reasons: [(&str, &str); 6] = [
        ("invalid address", "收件人邮箱地址格式不正确，请核对单位联系人的邮箱"),
        (
            "SMTP rejected",
            "邮件服务器拒收了这封邮件（收件地址可能不存在），请核对邮箱后重新发送",
        ),
        ("SMTP:", "无法连接邮件服务器，或服务器暂时不可用"),
        (
            "cannot write the .eml",
            "无法把邮件写入文件（存放目录不可写或磁盘已满）",
        ),
        ("sending was cut off", "每次发送都在中途中断（服务曾停止），请重新发送"),
        ("cannot build", "邮件无法生成（附件或邮件头有误），请联系系统管理员"),
    ];
    reasons
        .iter()
        .find(|(start, _)| error.starts_with(start))
        .map_or("发送失败，原因未能识别，请联系系统管理员", |(_, zh)| zh)
}

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

    #[test]
    fn deliveries_tell_sent_from_written_to_a_file() {
        assert_eq!(delivery_status_zh(DeliveryStatus::Sent, Some("smtp"), 1), "已发送");
        assert_eq!(delivery_status_zh(DeliveryStatus::Sent, Some("file"), 1), "已写入文件");
        assert_eq!(delivery_status_zh(DeliveryStatus::Pending, None, 0), "待发送");
        assert_eq!(delivery_status_zh(DeliveryStatus::Pending, None, 2), "待重试");
        assert!(delivery_error_zh("SMTP rejected the message: 550 no such user").contains("拒收"));
        assert!(delivery_error_zh("SMTP: connection refused").contains("无法连接"));
        assert!(!delivery_error_zh("something new").is_ascii());
    }
}
