//! The dispute ledger (台账): the closed sets a case is described by, its
//! status as the handling so far makes it, and the rules on its dates.

use chrono::NaiveDate;

use crate::text_enum;

text_enum!(
    /// How a case reached the station.
    Channel {
        WalkIn = "walk_in" / "到站",
        Phone = "phone" / "电话",
        Dispatch = "dispatch" / "12315派单",
        Online = "online" / "网络",
    }
);

text_enum!(
    /// What the consumer bought.
    SubjectKind {
        Goods = "goods" / "商品",
        Service = "service" / "服务",
    }
);

text_enum!(
    /// How the station handled the case.
    Handling {
        Settled = "settled" / "和解",
        Mediated = "mediated" / "调解成功",
        Referred = "referred" / "转交/移送",
        Declined = "declined" / "不予受理",
        Failed = "failed" / "调解不成",
    }
);

impl Handling {
    /// 和解 and 调解成功: what the 和解率 counts.
    pub const SETTLED: &'static [Handling] = &[Handling::Settled, Handling::Mediated];

    /// Whether the handling needs a stated reason (declined, referred).
    pub fn needs_reason(self) -> bool {
        matches!(self, Handling::Declined | Handling::Referred)
    }
}

text_enum!(
    /// What the consumer got.
    Outcome {
        Return = "return" / "退货",
        Exchange = "exchange" / "换货",
        Refund = "refund" / "退款",
        Compensation = "compensation" / "赔偿",
        Repair = "repair" / "修理",
        Other = "other" / "其他",
    }
);

text_enum!(
    /// The consumer's answer at the follow-up call (回访).
    Satisfaction {
        Satisfied = "satisfied" / "满意",
        Basically = "basically_satisfied" / "基本满意",
        Unsatisfied = "unsatisfied" / "不满意",
    }
);

impl Satisfaction {
    /// 满意 and 基本满意: what the 满意率 counts.
    pub const CONTENT: &'static [Satisfaction] = &[Satisfaction::Satisfied, Satisfaction::Basically];
}

text_enum!(
    /// Where a case stands.
    DisputeStatus {
        /// Received, nobody has answered the consumer yet.
        Pending = "pending" / "待响应",
        /// Answered, not handled yet.
        Open = "open" / "处理中",
        /// Handled (whatever the handling).
        Closed = "closed" / "已办结",
    }
);

impl DisputeStatus {
    /// The status the dates of a case give it.
    pub fn of(responded_on: Option<NaiveDate>, handled_on: Option<NaiveDate>) -> Self {
        match (responded_on, handled_on) {
            (_, Some(_)) => DisputeStatus::Closed,
            (Some(_), None) => DisputeStatus::Open,
            (None, None) => DisputeStatus::Pending,
        }
    }
}

/// The dates of a case, in the order they must come.
#[derive(Debug, Clone, Copy, Default)]
pub struct CaseDates {
    pub received_on: Option<NaiveDate>,
    pub responded_on: Option<NaiveDate>,
    pub handled_on: Option<NaiveDate>,
    pub followed_up_on: Option<NaiveDate>,
}

/// The fields whose dates come before the one received, or before the one
/// they follow, with a message for each; and dates after `today`.
pub fn date_order(d: CaseDates, today: NaiveDate) -> Vec<(&'static str, String)> {
    let mut errors = Vec::new();
    let named = [
        ("received_on", d.received_on, "受理日期"),
        ("responded_on", d.responded_on, "响应日期"),
        ("handled_on", d.handled_on, "办结日期"),
        ("followed_up_on", d.followed_up_on, "回访日期"),
    ];
    for (field, date, label) in named {
        if date.is_some_and(|x| x > today) {
            errors.push((field, format!("{label}不能晚于今天")));
        }
    }
    let before = |a: Option<NaiveDate>, b: Option<NaiveDate>| matches!((a, b), (Some(a), Some(b)) if b < a);
    if before(d.received_on, d.responded_on) {
        errors.push(("responded_on", "响应日期不能早于受理日期".to_owned()));
    }
    if before(d.received_on, d.handled_on) {
        errors.push(("handled_on", "办结日期不能早于受理日期".to_owned()));
    }
    if before(d.handled_on, d.followed_up_on) {
        errors.push(("followed_up_on", "回访日期不能早于办结日期".to_owned()));
    } else if d.followed_up_on.is_some() && d.handled_on.is_none() {
        errors.push(("followed_up_on", "办结后才能回访".to_owned()));
    }
    errors
}

/// A consumer's name as people outside the case see it: the first
/// character and two stars whatever the length (张** for 张三 and 张三丰).
pub fn mask_name(name: &str) -> String {
    match name.chars().next() {
        Some(first) => format!("{first}**"),
        None => String::new(),
    }
}

/// A phone number as people outside the case see it: the first three and
/// the last four digits of a longer number (138****5678), else only stars.
pub fn mask_phone(phone: &str) -> String {
    let digits: Vec<char> = phone.chars().filter(char::is_ascii_digit).collect();
    if digits.len() < 8 {
        return "****".to_owned();
    }
    let head: String = digits[..3].iter().collect();
    let tail: String = digits[digits.len() - 4..].iter().collect();
    format!("{head}****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(2017, m, day)
    }

    #[test]
    fn masks_hide_all_but_a_hint() {
        assert_eq!(mask_name("张三"), "张**");
        assert_eq!(mask_name("欧阳娜娜"), "欧**");
        assert_eq!(mask_phone("13812345678"), "138****5678");
        assert_eq!(mask_phone("0439-3212345"), "043****2345");
        assert_eq!(mask_phone("12315"), "****");
    }

    #[test]
    fn status_and_date_order() {
        assert_eq!(DisputeStatus::of(None, None), DisputeStatus::Pending);
        assert_eq!(DisputeStatus::of(d(7, 1), None), DisputeStatus::Open);
        assert_eq!(DisputeStatus::of(None, d(7, 2)), DisputeStatus::Closed);
        let today = d(7, 14).expect("date");
        let ok = CaseDates {
            received_on: d(7, 1),
            responded_on: d(7, 1),
            handled_on: d(7, 3),
            followed_up_on: d(7, 5),
        };
        assert!(date_order(ok, today).is_empty());
        let bad = CaseDates {
            received_on: d(7, 3),
            responded_on: d(7, 2),
            handled_on: d(7, 1),
            followed_up_on: d(7, 20),
        };
        let fields: Vec<&str> = date_order(bad, today).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, ["followed_up_on", "responded_on", "handled_on"]);
    }
}
