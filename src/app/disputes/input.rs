//! A case as the client sends it, the checks on it, and the fields stored.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::DisputeSettings;
use crate::app::clean;
use crate::db::disputes::{Dispute as Row, DisputeFields};
use crate::domain::dispute::{
    CaseDates, Channel, DisputeStatus, Handling, Outcome, Satisfaction, SubjectKind, date_order,
};
use crate::domain::money::{format_fen, parse_yuan};
use crate::domain::station::valid_phone;
use crate::domain::workdays;
use crate::error::{AppError, FieldErrors};

/// A case: every field optional here so that a missing one is reported by
/// name with every other problem. On `PATCH` only the fields sent change
/// (null or absent leaves a field as it is) and `version` is required.
#[derive(Debug, Default, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DisputeInput {
    /// The version read (PATCH only).
    #[schema(minimum = 1)]
    pub version: Option<i32>,
    #[schema(value_type = Option<Channel>)]
    pub channel: Option<String>,
    /// The 12315 work-order number (dispatches only).
    #[schema(max_length = 50)]
    pub dispatch_ref: Option<String>,
    pub received_on: Option<NaiveDate>,
    /// Local time `HH:MM`.
    #[schema(pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub received_time: Option<String>,
    #[schema(max_length = 50)]
    pub consumer_name: Option<String>,
    /// Mobile or landline.
    #[schema(pattern = "^[0-9 -]{5,20}(转[0-9]{1,6})?$")]
    pub consumer_phone: Option<String>,
    /// The goods or service bought.
    #[schema(max_length = 200)]
    pub subject: Option<String>,
    #[schema(value_type = Option<SubjectKind>)]
    pub subject_kind: Option<String>,
    /// Amount in dispute in yuan, as a string with at most two decimals.
    #[schema(pattern = "^[0-9]{1,8}(\\.[0-9]{1,2})?$", example = "199.00")]
    pub amount: Option<String>,
    #[schema(max_length = 2000)]
    pub complaint: Option<String>,
    /// When the consumer was first answered (default: the day handled).
    pub responded_on: Option<NaiveDate>,
    #[schema(value_type = Option<Handling>)]
    pub handling: Option<String>,
    /// Why declined, or to whom referred (required for those).
    #[schema(max_length = 500)]
    pub handling_note: Option<String>,
    #[schema(value_type = Option<Outcome>)]
    pub outcome: Option<String>,
    /// 挽回经济损失 in yuan, at most two decimals (default 0).
    #[schema(pattern = "^[0-9]{1,8}(\\.[0-9]{1,2})?$", example = "50.00")]
    pub recovered: Option<String>,
    pub handled_on: Option<NaiveDate>,
    pub followed_up_on: Option<NaiveDate>,
    #[schema(value_type = Option<Satisfaction>)]
    pub satisfaction: Option<String>,
}

impl DisputeInput {
    /// This patch laid over the stored case: a field sent replaces it.
    pub(super) fn over(self, row: &Row) -> DisputeInput {
        let text = |v: Option<String>, stored: &Option<String>| v.or_else(|| stored.clone());
        DisputeInput {
            version: self.version,
            channel: self.channel.or_else(|| Some(row.channel.as_str().to_owned())),
            dispatch_ref: text(self.dispatch_ref, &row.dispatch_ref),
            received_on: self.received_on.or(Some(row.received_on)),
            received_time: text(self.received_time, &row.received_time),
            consumer_name: text(self.consumer_name, &row.consumer_name),
            consumer_phone: text(self.consumer_phone, &row.consumer_phone),
            subject: self.subject.or_else(|| Some(row.subject.clone())),
            subject_kind: self.subject_kind.or_else(|| Some(row.subject_kind.as_str().to_owned())),
            amount: self.amount.or_else(|| row.amount_fen.map(format_fen)),
            complaint: self.complaint.or_else(|| Some(row.complaint.clone())),
            responded_on: self.responded_on.or(row.responded_on),
            handling: self.handling.or_else(|| row.handling.map(|h| h.as_str().to_owned())),
            handling_note: text(self.handling_note, &row.handling_note),
            outcome: self.outcome.or_else(|| row.outcome.map(|o| o.as_str().to_owned())),
            recovered: self.recovered.or_else(|| Some(format_fen(row.recovered_fen))),
            handled_on: self.handled_on.or(row.handled_on),
            followed_up_on: self.followed_up_on.or(row.followed_up_on),
            satisfaction: self
                .satisfaction
                .or_else(|| row.satisfaction.map(|s| s.as_str().to_owned())),
        }
    }
}

fn parse_enum<T>(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<String>,
    parse: fn(&str) -> Option<T>,
    expected: String,
) -> Option<T> {
    let v = clean(value)?;
    let parsed = parse(&v);
    if parsed.is_none() {
        errors.add(field, format!("未知的值，可选：{expected}"));
    }
    parsed
}

fn text(errors: &mut FieldErrors, field: &str, value: Option<String>, max: usize, label: &str) -> Option<String> {
    let v = clean(value)?;
    if v.chars().count() > max {
        errors.add(field, format!("{label}不超过{max}个字符"));
    }
    if v.chars().any(char::is_control) && field != "complaint" && field != "handling_note" {
        errors.add(field, format!("{label}不能含有换行等控制字符"));
    }
    Some(v)
}

fn money(errors: &mut FieldErrors, field: &str, value: Option<String>) -> Option<i64> {
    let v = clean(value)?;
    match parse_yuan(&v) {
        Ok(fen) => Some(fen),
        Err(msg) => {
            errors.add(field, msg);
            None
        }
    }
}

fn valid_time(t: &str) -> bool {
    chrono::NaiveTime::parse_from_str(t, "%H:%M").is_ok() && t.len() == 5
}

/// Checks a whole case; `personal_required` is false for a case whose
/// personal information was erased. Returns the fields to store.
pub(super) fn check(
    input: DisputeInput,
    settings: DisputeSettings,
    today: NaiveDate,
    personal_required: bool,
) -> Result<DisputeFields, AppError> {
    let mut e = FieldErrors::new();
    let channel = parse_enum(&mut e, "channel", input.channel, Channel::parse, Channel::expected());
    let subject_kind = parse_enum(
        &mut e,
        "subject_kind",
        input.subject_kind,
        SubjectKind::parse,
        SubjectKind::expected(),
    );
    let handling = parse_enum(
        &mut e,
        "handling",
        input.handling,
        Handling::parse,
        Handling::expected(),
    );
    let outcome = parse_enum(&mut e, "outcome", input.outcome, Outcome::parse, Outcome::expected());
    let satisfaction = parse_enum(
        &mut e,
        "satisfaction",
        input.satisfaction,
        Satisfaction::parse,
        Satisfaction::expected(),
    );
    let dispatch_ref = text(&mut e, "dispatch_ref", input.dispatch_ref, 50, "派单编号");
    let received_time = clean(input.received_time);
    if received_time.as_deref().is_some_and(|t| !valid_time(t)) {
        e.add("received_time", "受理时间应为 HH:MM（24小时制）");
    }
    let consumer_name = text(&mut e, "consumer_name", input.consumer_name, 50, "消费者姓名");
    let consumer_phone = clean(input.consumer_phone);
    if consumer_phone
        .as_deref()
        .is_some_and(|p| p.chars().count() > 32 || !valid_phone(p))
    {
        e.add("consumer_phone", "联系电话应为手机号或带区号的固定电话");
    }
    let subject = text(&mut e, "subject", input.subject, 200, "商品或服务");
    let complaint = text(&mut e, "complaint", input.complaint, 2000, "投诉内容");
    let handling_note = text(&mut e, "handling_note", input.handling_note, 500, "处理说明");
    let amount = money(&mut e, "amount", input.amount);
    let recovered = money(&mut e, "recovered", input.recovered);
    let required = [
        ("channel", channel.is_some(), "受理渠道"),
        ("received_on", input.received_on.is_some(), "受理日期"),
        ("subject", subject.is_some(), "商品或服务"),
        ("subject_kind", subject_kind.is_some(), "商品或服务类别"),
        ("complaint", complaint.is_some(), "投诉内容"),
    ];
    for (field, given, label) in required {
        if !given && !e.0.contains_key(field) {
            e.add(field, format!("{label}不能为空"));
        }
    }
    if personal_required && consumer_name.is_none() && !e.0.contains_key("consumer_name") {
        e.add("consumer_name", "消费者姓名不能为空");
    }
    if dispatch_ref.is_some() && channel.is_some_and(|c| c != Channel::Dispatch) {
        e.add("dispatch_ref", "只有12315派单才有派单编号");
    }
    check_handling(&mut e, handling, &handling_note, outcome, recovered, input.handled_on);
    if satisfaction.is_some() != input.followed_up_on.is_some() {
        e.add("satisfaction", "回访日期与满意度须同时填写");
    }
    // A case answered only when handled was answered that day.
    let responded_on = input.responded_on.or(input.handled_on);
    let dates = CaseDates {
        received_on: input.received_on,
        responded_on,
        handled_on: input.handled_on,
        followed_up_on: input.followed_up_on,
    };
    for (field, message) in date_order(dates, today) {
        e.add(field, message);
    }
    let deadlines = input.received_on.map(|r| deadlines(r, settings));
    if let Some(Err(message)) = &deadlines {
        e.add("received_on", message.clone());
    }
    e.into_result()?;
    let (
        Some(channel),
        Some(received_on),
        Some(subject),
        Some(subject_kind),
        Some(complaint),
        Some(Ok((respond_by, close_by))),
    ) = (channel, input.received_on, subject, subject_kind, complaint, deadlines)
    else {
        return Err(AppError::internal(
            "dispute validation",
            anyhow::anyhow!("checked fields missing"),
        ));
    };
    Ok(DisputeFields {
        channel,
        dispatch_ref,
        received_on,
        received_time,
        consumer_name,
        consumer_phone,
        subject,
        subject_kind,
        amount_fen: amount,
        complaint,
        respond_by,
        close_by,
        responded_on,
        handling,
        handling_note,
        outcome,
        recovered_fen: recovered.unwrap_or(0),
        handled_on: input.handled_on,
        followed_up_on: input.followed_up_on,
        satisfaction,
        status: DisputeStatus::of(responded_on, input.handled_on),
    })
}

fn check_handling(
    e: &mut FieldErrors,
    handling: Option<Handling>,
    note: &Option<String>,
    outcome: Option<Outcome>,
    recovered: Option<i64>,
    handled_on: Option<NaiveDate>,
) {
    if handling.is_some() != handled_on.is_some() && !e.0.contains_key("handling") {
        e.add("handled_on", "处理方式与办结日期须同时填写");
    }
    if let Some(h) = handling
        && h.needs_reason()
        && note.is_none()
    {
        let what = if h == Handling::Declined {
            "不予受理须说明理由"
        } else {
            "转交/移送须写明转交何处"
        };
        e.add("handling_note", what);
    }
    let settled = handling.is_some_and(|h| Handling::SETTLED.contains(&h));
    if outcome.is_some() && !settled {
        e.add("outcome", "只有和解或调解成功的案件才有处理结果");
    }
    if recovered.is_some_and(|r| r > 0) && !settled {
        e.add("recovered", "只有和解或调解成功的案件才有挽回经济损失");
    }
}

/// `respond_by` and `close_by` for a case received on `received_on`, in
/// working days of the State Council's calendar; a year without one is an
/// error, never a guess.
pub fn deadlines(received_on: NaiveDate, s: DisputeSettings) -> Result<(NaiveDate, NaiveDate), String> {
    let respond = workdays::add_working_days(received_on, s.respond_days).map_err(|e| e.message_zh())?;
    let close = workdays::add_working_days(received_on, s.close_days).map_err(|e| e.message_zh())?;
    Ok((respond, close))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).expect("date")
    }

    #[test]
    fn deadlines_count_working_days_of_the_notice() {
        let s = DisputeSettings::default();
        // Friday before National Day 2017: Saturday 30 Sep is a make-up
        // working day; 1-8 Oct are off.
        assert_eq!(deadlines(d(2017, 9, 29), s), Ok((d(2017, 9, 30), d(2017, 10, 16))));
        assert!(deadlines(d(2019, 5, 6), s).is_err_and(|m| m.contains("2019")));
    }
}
