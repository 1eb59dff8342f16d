//! The audit log in words a clerk reads: Chinese names for its actions,
//! objects, actors and fields, and before/after as a list of the fields
//! that changed. Pure: the caller passes the unit names it knows.

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::auth::Role;
use crate::domain::dispute::{Channel, DisputeStatus, Handling, Outcome, Satisfaction, SubjectKind};
use crate::domain::{Category, DeliveryStatus, GuidanceStatus, ItemResult, StationStatus, UnitKind, VisitKind};

/// Actions, as the use cases record them, and their Chinese names.
pub const ACTIONS: &[(&str, &str)] = &[
    ("station.create", "登记服务站"),
    ("station.update", "修改服务站信息"),
    ("station.status", "变更服务站状态"),
    ("visit.record", "记录检查"),
    ("visit.void", "作废检查记录"),
    ("evidence.add", "上传检查照片"),
    ("unit.create", "新增单位"),
    ("plan.set", "下达建站计划"),
    ("circular.issue", "印发通报"),
    ("circular.set_serial", "设定通报文号序号"),
    ("delivery.retry", "重新发送邮件"),
    ("user.create", "新建用户"),
    ("user.update", "修改用户"),
    ("user.password", "重设密码"),
    ("user.signin_link", "发送登录链接"),
    ("token.create", "创建接口令牌"),
    ("token.revoke", "吊销接口令牌"),
    ("review.ack", "确认问题"),
    ("dispute.create", "登记投诉"),
    ("dispute.dispatch", "登记12315派单"),
    ("dispute.update", "办理投诉"),
    ("dispute.reveal", "查看消费者个人信息"),
    ("dispute.erase_personal", "删除到期的个人信息"),
    ("notices.unsubscribe", "退订邮件提醒"),
    ("notices.preferences", "修改邮件提醒设置"),
    ("demo.load", "载入演示数据"),
];

/// Kinds of object the log names, and their Chinese names.
pub const ENTITIES: &[(&str, &str)] = &[
    ("station", "服务站"),
    ("visit", "检查记录"),
    ("evidence", "检查照片"),
    ("unit", "单位"),
    ("plan", "建站计划"),
    ("circular", "通报"),
    ("circular_serial", "通报文号"),
    ("delivery", "邮件投递"),
    ("user", "用户"),
    ("token", "接口令牌"),
    ("guidance", "整改意见"),
    ("progress", "建站进度"),
    ("dispute", "投诉"),
    ("seed", "演示数据"),
];

fn lookup(table: &'static [(&'static str, &'static str)], code: &str) -> Option<&'static str> {
    table.iter().find(|(c, _)| *c == code).map(|(_, zh)| *zh)
}

/// An action's Chinese name ("visit.record" → "记录检查").
pub fn action_zh(action: &str) -> String {
    lookup(ACTIONS, action).map_or_else(|| "其他操作".to_owned(), str::to_owned)
}

/// An object kind's Chinese name ("station" → "服务站").
pub fn entity_zh(entity: &str) -> String {
    lookup(ENTITIES, entity).map_or_else(|| "其他对象".to_owned(), str::to_owned)
}

/// Who acted, in words: the service's own parts by what they do, a
/// person by the name `names` gives their username (else the username).
pub fn actor_zh(username: &str, names: &HashMap<String, String>) -> String {
    if let Some(part) = username.strip_prefix("system:") {
        return match part.split(':').collect::<Vec<_>>().as_slice() {
            ["demo"] => "系统（载入演示数据）".to_owned(),
            ["schedule"] => "定时发送".to_owned(),
            ["digest"] => "系统（每周提醒）".to_owned(),
            ["retention"] => "系统（到期删除个人信息）".to_owned(),
            ["unsubscribe"] => "收件人（邮件退订链接）".to_owned(),
            ["cli", who] => format!("命令行（{who}）"),
            ["cli"] => "命令行".to_owned(),
            _ => "系统".to_owned(),
        };
    }
    let person = username.strip_prefix("web:").unwrap_or(username);
    names.get(person).cloned().unwrap_or_else(|| person.to_owned())
}

/// Fields the log keeps that say nothing to a reader (bookkeeping).
const SKIPPED: &[&str] = &["id", "created_at", "updated_at", "version", "target_id", "user_id"];

/// Field names and their Chinese labels.
const FIELDS: &[(&str, &str)] = &[
    ("name", "名称"),
    ("username", "用户名"),
    ("display_name", "姓名"),
    ("email", "电子邮箱"),
    ("role", "角色"),
    ("units", "单位"),
    ("unit_id", "单位"),
    ("unit", "单位"),
    ("active", "启用"),
    ("can_sign_in", "已设密码"),
    ("locked_until", "锁定至"),
    ("station_id", "服务站"),
    ("station_name", "服务站"),
    ("host_business", "经营者"),
    ("credit_code", "统一社会信用代码"),
    ("category", "类别"),
    ("address", "地址"),
    ("liaison_name", "联络员"),
    ("liaison_phone", "联络电话"),
    ("liaison_email", "联络员邮箱"),
    ("standard_id", "检查标准"),
    ("standard_version", "标准版本"),
    ("status", "状态"),
    ("established_on", "建站日期"),
    ("revoked_on", "撤销日期"),
    ("compliant", "达标"),
    ("last_visit_on", "最近检查日期"),
    ("kind", "类型"),
    ("visited_on", "检查日期"),
    ("inspector", "检查人员"),
    ("summary", "检查情况"),
    ("score", "得分"),
    ("items", "检查项目"),
    ("item_code", "检查项目"),
    ("result", "结果"),
    ("note", "说明"),
    ("reason", "原因"),
    ("void_reason", "作废原因"),
    ("voided_at", "作废时间"),
    ("effective_on", "生效日期"),
    ("comment", "说明"),
    ("target", "建站目标"),
    ("year", "年度"),
    ("code", "代码"),
    ("number", "文号"),
    ("prefix", "发文代字"),
    ("serial", "序号"),
    ("next", "下一个序号"),
    ("next_serial", "下一个序号"),
    ("as_of", "截至日期"),
    ("issued_by", "印发人"),
    ("title", "标题"),
    ("instruction", "整改要求"),
    ("due_on", "整改期限"),
    ("file_name", "文件名"),
    ("content_type", "文件类型"),
    ("size", "文件大小（字节）"),
    ("sha256", "文件校验值"),
    ("recipient", "收件人"),
    ("attempts", "发送次数"),
    ("last_error", "失败原因"),
    ("revoked_at", "吊销时间"),
    ("last_used_at", "最近使用时间"),
    ("subject", "事由"),
    ("received_on", "受理日期"),
    ("channel", "受理渠道"),
    ("amount_fen", "争议金额（分）"),
    ("recovered_fen", "挽回经济损失（分）"),
    ("handling", "处理方式"),
    ("outcome", "处理结果"),
    ("consumer_name", "消费者姓名"),
    ("consumer_phone", "消费者电话"),
    ("amount", "争议金额（元）"),
    ("recovered", "挽回经济损失（元）"),
    ("complaint", "投诉内容"),
    ("subject_kind", "商品或服务类别"),
    ("created_by", "登记人"),
    ("dispatch_ref", "派单编号"),
    ("received_time", "受理时间"),
    ("respond_by", "应响应日期"),
    ("responded_on", "响应日期"),
    ("close_by", "应办结日期"),
    ("handled_on", "办结日期"),
    ("handling_note", "处理说明"),
    ("followed_up_on", "回访日期"),
    ("satisfaction", "满意度"),
    ("overdue", "已逾期"),
    ("personal_erased", "个人信息已删除"),
    ("personal_masked", "个人信息已隐去"),
    ("status_before", "检查前状态"),
    ("status_after", "检查后状态"),
    ("guidance_raised", "提出整改意见"),
    ("guidance_kept", "保留整改意见"),
    ("guidance_resolved", "已整改"),
    ("voided", "已作废"),
    ("visits", "检查次数"),
    ("digest", "每周提醒"),
    ("reminders", "到期提醒"),
    ("stations", "服务站数"),
    ("units_loaded", "单位数"),
];

/// A field's Chinese label; `None` for a field the log has no word for.
pub fn field_zh(key: &str) -> Option<&'static str> {
    lookup(FIELDS, key)
}

/// One changed field: its label and the values before and after ("—"
/// where it had none).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Change {
    pub field: String,
    pub before: String,
    pub after: String,
}

/// An enum value's Chinese label, where `key` holds one.
fn enum_zh(key: &str, text: &str) -> Option<String> {
    let label = match key {
        "role" => Role::parse(text).map(|r| r.label_zh()),
        "status" | "status_before" | "status_after" => StationStatus::parse(text)
            .map(|s| s.label_zh())
            .or_else(|| DisputeStatus::parse(text).map(|s| s.label_zh()))
            .or_else(|| GuidanceStatus::parse(text).map(|s| s.label_zh()))
            .or_else(|| DeliveryStatus::parse(text).map(|s| s.label_zh())),
        "category" => Category::parse(text).map(|c| c.label_zh()),
        "kind" => VisitKind::parse(text)
            .map(|k| k.label_zh())
            .or_else(|| UnitKind::parse(text).map(|k| k.label_zh())),
        "result" => ItemResult::parse(text).map(|r| r.label_zh()),
        "channel" => Channel::parse(text).map(|c| c.label_zh()),
        "subject_kind" => SubjectKind::parse(text).map(|k| k.label_zh()),
        "handling" => Handling::parse(text).map(|h| h.label_zh()),
        "outcome" => Outcome::parse(text).map(|o| o.label_zh()),
        "satisfaction" => Satisfaction::parse(text).map(|o| o.label_zh()),
        _ => None,
    };
    label.map(str::to_owned)
}

/// A value as a clerk reads it: 是/否, dates and text as they are, unit
/// ids by name, lists joined with "、", records as "label：value".
pub fn value_zh(key: &str, value: &Value, units: &HashMap<i32, String>) -> String {
    let unit_name = |v: &Value| {
        v.as_i64()
            .and_then(|id| i32::try_from(id).ok())
            .and_then(|id| units.get(&id).cloned())
    };
    match value {
        Value::Null => "—".to_owned(),
        Value::Bool(true) => "是".to_owned(),
        Value::Bool(false) => "否".to_owned(),
        Value::Number(n) if key == "unit_id" => unit_name(value).unwrap_or_else(|| n.to_string()),
        Value::Number(n) if key == "score" => format!("{n}%"),
        Value::Number(n) => n.to_string(),
        Value::String(s) if s.is_empty() => "—".to_owned(),
        Value::String(s) => enum_zh(key, s).unwrap_or_else(|| time_zh(s).unwrap_or_else(|| s.clone())),
        Value::Array(items) if items.is_empty() => "—".to_owned(),
        Value::Array(items) if key == "units" => items
            .iter()
            .map(|v| unit_name(v).unwrap_or_else(|| v.to_string()))
            .collect::<Vec<_>>()
            .join("、"),
        Value::Array(items) if items.iter().all(|v| !v.is_object() && !v.is_array()) => items
            .iter()
            .map(|v| value_zh(key, v, units))
            .collect::<Vec<_>>()
            .join("、"),
        Value::Array(items) => format!("{}项", items.len()),
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| !SKIPPED.contains(&k.as_str()))
            .filter_map(|(k, v)| field_zh(k).map(|label| format!("{label}：{}", value_zh(k, v, units))))
            .collect::<Vec<_>>()
            .join("；"),
    }
}

/// An RFC 3339 UTC time from the log as "2017-07-14 10:30（UTC）"; the
/// page shows its own times in the service's zone.
fn time_zh(s: &str) -> Option<String> {
    let t = chrono::DateTime::parse_from_rfc3339(s).ok()?;
    Some(
        t.with_timezone(&chrono_tz::Asia::Shanghai)
            .format("%Y-%m-%d %H:%M（北京时间）")
            .to_string(),
    )
}

/// The fields that differ between `before` and `after` (a record created
/// has no before, one removed no after), in a stable order: known fields
/// first as [`FIELDS`] lists them. Fields without a Chinese label are
/// counted together under "其他信息".
pub fn changes(before: Option<&Value>, after: Option<&Value>, units: &HashMap<i32, String>) -> Vec<Change> {
    let empty = serde_json::Map::new();
    let as_map = |v: Option<&Value>| match v {
        Some(Value::Object(m)) => Some(m.clone()),
        _ => None,
    };
    let (b, a) = (as_map(before), as_map(after));
    if b.is_none() && a.is_none() {
        // Scalars or nothing: one line with the whole values.
        if before == after {
            return Vec::new();
        }
        let show = |v: Option<&Value>| v.map_or_else(|| "—".to_owned(), |v| value_zh("", v, units));
        return vec![Change {
            field: "内容".to_owned(),
            before: show(before),
            after: show(after),
        }];
    }
    let (b, a) = (b.unwrap_or_else(|| empty.clone()), a.unwrap_or(empty));
    let keys: BTreeSet<&String> = b.keys().chain(a.keys()).collect();
    let mut known: Vec<(usize, Change)> = Vec::new();
    let mut unknown = 0;
    for key in keys {
        if SKIPPED.contains(&key.as_str()) || b.get(key) == a.get(key) {
            continue;
        }
        let Some(position) = FIELDS.iter().position(|(k, _)| k == key) else {
            unknown += 1;
            continue;
        };
        let show = |v: Option<&Value>| v.map_or_else(|| "—".to_owned(), |v| value_zh(key, v, units));
        known.push((
            position,
            Change {
                field: FIELDS[position].1.to_owned(),
                before: show(b.get(key)),
                after: show(a.get(key)),
            },
        ));
    }
    known.sort_by_key(|(position, _)| *position);
    let mut out: Vec<Change> = known.into_iter().map(|(_, c)| c).collect();
    if unknown > 0 {
        out.push(Change {
            field: "其他信息".to_owned(),
            before: String::new(),
            after: format!("另有{unknown}项变更"),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn actions_entities_and_actors_read_in_chinese() {
        assert_eq!(action_zh("visit.record"), "记录检查");
        assert_eq!(entity_zh("station"), "服务站");
        assert_eq!(action_zh("nonsense.thing"), "其他操作");
        let names = HashMap::from([("admin".to_owned(), "市局管理员".to_owned())]);
        assert_eq!(actor_zh("system:demo", &names), "系统（载入演示数据）");
        assert_eq!(actor_zh("web:admin", &names), "市局管理员");
        assert_eq!(actor_zh("system:cli:root", &names), "命令行（root）");
        assert_eq!(actor_zh("wu", &names), "wu");
        assert!(ACTIONS.iter().all(|(_, zh)| !zh.is_ascii()));
    }

    #[test]
    fn changes_list_only_what_changed_with_labels() {
        let units = HashMap::from([(5, "临江市".to_owned()), (6, "抚松县".to_owned())]);
        let before =
            json!({"id": 3, "role": "inspector", "units": [5], "active": true, "email": "a@b.c", "updated_at": "x"});
        let after =
            json!({"id": 3, "role": "county_lead", "units": [6], "active": false, "email": "a@b.c", "updated_at": "y"});
        let c = changes(Some(&before), Some(&after), &units);
        let fields: Vec<&str> = c.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(fields, ["角色", "单位", "启用"]);
        assert_eq!((c[0].before.as_str(), c[0].after.as_str()), ("检查员", "县级负责人"));
        assert_eq!((c[1].before.as_str(), c[1].after.as_str()), ("临江市", "抚松县"));
        assert_eq!((c[2].before.as_str(), c[2].after.as_str()), ("是", "否"));
    }

    #[test]
    fn a_created_record_lists_its_fields_and_unknown_ones_are_counted() {
        let after = json!({"name": "万达站", "status": "established", "mystery": 1, "other": 2});
        let c = changes(None, Some(&after), &HashMap::new());
        assert_eq!(
            c[0],
            Change {
                field: "名称".into(),
                before: "—".into(),
                after: "万达站".into()
            }
        );
        assert_eq!(c[1].after, "已建成");
        assert_eq!(c[2].after, "另有2项变更");
    }
}
