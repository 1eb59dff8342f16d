//! A visit as the inspector sends it, and the checks that need no database.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};

use super::super::{Ctx, clean};
use crate::domain::visit::{self as rules, Submitted};
use crate::domain::{ItemResult, VisitKind};
use crate::error::{AppError, FieldErrors};
use crate::standard::Standard;

#[derive(Debug, Default, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ItemInput {
    /// The checklist item's code (see `GET /api/standards/{id}`).
    pub code: Option<String>,
    #[schema(value_type = Option<crate::domain::visit::ItemResult>)]
    pub result: Option<String>,
    pub note: Option<String>,
    /// The corrective action for a partial or unmet item; the checklist's
    /// guidance text when left out.
    pub instruction: Option<String>,
    /// When a partial or unmet item must be fixed; the visit date plus the
    /// configured number of days when left out.
    pub due_on: Option<NaiveDate>,
}

#[derive(Debug, Default, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VisitInput {
    #[schema(value_type = Option<crate::domain::visit::VisitKind>)]
    pub kind: Option<String>,
    pub visited_on: Option<NaiveDate>,
    pub inspector: Option<String>,
    pub summary: Option<String>,
    pub items: Option<Vec<ItemInput>>,
    /// The phone's clock when the inspector saved the visit (RFC 3339).
    #[schema(value_type = Option<String>, format = DateTime)]
    pub captured_at: Option<String>,
    /// Where the phone was when the visit was saved, when the inspector
    /// allowed the location to be recorded.
    pub location: Option<LocationInput>,
}

/// A position as the phone's browser reports it (WGS 84).
#[derive(Debug, Default, Clone, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LocationInput {
    /// Degrees north, -90 to 90.
    pub latitude: Option<f64>,
    /// Degrees east, -180 to 180.
    pub longitude: Option<f64>,
    /// The radius of the position's uncertainty, in metres (0 or more).
    pub accuracy_m: Option<f64>,
}

/// A checked position.
#[derive(Debug, Clone, Copy)]
pub struct Location {
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_m: Option<f64>,
}

/// A visit whose fields passed every check that needs no database.
pub(super) struct CheckedVisit {
    pub kind: VisitKind,
    pub visited_on: NaiveDate,
    pub inspector: String,
    pub summary: String,
    /// The results in checklist order.
    pub items: Vec<rules::Checked>,
    /// What was sent, item by item, in the order sent (instructions and
    /// due dates are looked up here by [`rules::Checked::index`]).
    pub sent: Vec<ItemInput>,
    pub captured_at: Option<NaiveDateTime>,
    pub location: Option<Location>,
}

impl CheckedVisit {
    /// What the inspector sent for one item code.
    pub fn sent_for(&self, code: &str) -> Option<&ItemInput> {
        self.items
            .iter()
            .find(|c| c.code == code)
            .and_then(|c| self.sent.get(c.index))
    }
}

fn kind(errors: &mut FieldErrors, value: Option<String>) -> Option<VisitKind> {
    match clean(value).as_deref().map(VisitKind::parse) {
        None => {
            errors.add("kind", format!("须填写检查类型：{}", VisitKind::expected()));
            None
        }
        Some(None) => {
            errors.add("kind", format!("未知的检查类型，应为：{}", VisitKind::expected()));
            None
        }
        Some(k) => k,
    }
}

/// Instructions and due dates, which only failing items may carry.
fn check_follow_up(errors: &mut FieldErrors, visited_on: Option<NaiveDate>, items: &[ItemInput]) {
    for (i, item) in items.iter().enumerate() {
        let failing = item
            .result
            .as_deref()
            .and_then(|r| ItemResult::parse(r.trim()))
            .is_some_and(ItemResult::is_failing);
        if item.instruction.as_deref().is_some_and(|t| t.chars().count() > 1000) {
            errors.add(format!("items[{i}].instruction"), "整改意见不超过1000个字符");
        }
        if let Some(due) = item.due_on {
            if !failing {
                errors.add(
                    format!("items[{i}].due_on"),
                    "只有基本符合或不符合的项目才能设置整改期限",
                );
            } else if visited_on.is_some_and(|v| due < v) {
                errors.add(format!("items[{i}].due_on"), "整改期限不能早于检查日期");
            }
        }
    }
}

/// The phone's capture time: RFC 3339, not before 2000 and not more than
/// a day ahead of the server's clock (a phone's clock may be a little off).
fn captured_at(errors: &mut FieldErrors, value: Option<String>) -> Option<NaiveDateTime> {
    let text = clean(value)?;
    let Ok(t) = DateTime::parse_from_rfc3339(&text) else {
        errors.add(
            "captured_at",
            "现场记录时间格式应为 RFC 3339，如 2017-07-14T10:30:00+08:00",
        );
        return None;
    };
    let t = t.naive_utc();
    let earliest = NaiveDate::from_ymd_opt(2000, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
    if earliest.is_some_and(|e| t < e) {
        errors.add("captured_at", "现场记录时间不能早于2000年");
        return None;
    }
    if t > crate::db::now() + TimeDelta::days(1) {
        errors.add("captured_at", "现场记录时间不能晚于当前时间");
        return None;
    }
    DateTime::from_timestamp_micros(t.and_utc().timestamp_micros()).map(|d| d.naive_utc())
}

/// The phone's position: latitude and longitude both given and in range,
/// the accuracy (if given) a finite number of metres, 0 or more.
fn location(errors: &mut FieldErrors, value: Option<LocationInput>) -> Option<Location> {
    let l = value?;
    let mut ok = true;
    let mut coordinate = |field: &str, v: Option<f64>, max: f64, name: &str| match v {
        None => {
            errors.add(format!("location.{field}"), format!("须填写{name}"));
            ok = false;
        }
        Some(x) if !x.is_finite() || x.abs() > max => {
            errors.add(format!("location.{field}"), format!("{name}应在-{max}至{max}度之间"));
            ok = false;
        }
        _ => {}
    };
    coordinate("latitude", l.latitude, 90.0, "纬度");
    coordinate("longitude", l.longitude, 180.0, "经度");
    if l.accuracy_m.is_some_and(|a| !a.is_finite() || a < 0.0) {
        errors.add("location.accuracy_m", "定位精度应为0或更大的米数");
        ok = false;
    }
    match (ok, l.latitude, l.longitude) {
        (true, Some(latitude), Some(longitude)) => Some(Location {
            latitude,
            longitude,
            accuracy_m: l.accuracy_m,
        }),
        _ => None,
    }
}

/// Checks everything that does not need the database.
pub(super) fn check(ctx: &Ctx, standard: &Standard, input: VisitInput) -> Result<CheckedVisit, AppError> {
    let mut errors = FieldErrors::new();
    let kind = kind(&mut errors, input.kind);
    let today = ctx.today();
    match input.visited_on {
        None => errors.add("visited_on", "须填写检查日期"),
        Some(d) if d > today => errors.add("visited_on", format!("检查日期不能晚于今天（{today}）")),
        _ => {}
    }
    let inspector = clean(input.inspector);
    match &inspector {
        None => errors.add("inspector", "须填写检查人员"),
        Some(i) if i.chars().count() > 50 => errors.add("inspector", "检查人员不超过50个字符"),
        _ => {}
    }
    let summary = clean(input.summary).unwrap_or_default();
    if summary.chars().count() > 2000 {
        errors.add("summary", "检查小结不超过2000个字符");
    }
    let sent = input.items.unwrap_or_default();
    let submitted: Vec<Submitted> = sent
        .iter()
        .map(|i| Submitted {
            code: i.code.clone(),
            result: i.result.clone(),
            note: i.note.clone(),
        })
        .collect();
    let items = rules::check_items(standard, &submitted).unwrap_or_else(|e| {
        errors.merge(e);
        Vec::new()
    });
    check_follow_up(&mut errors, input.visited_on, &sent);
    let captured_at = captured_at(&mut errors, input.captured_at);
    let location = location(&mut errors, input.location);
    errors.into_result()?;
    match (kind, input.visited_on, inspector) {
        (Some(kind), Some(visited_on), Some(inspector)) => Ok(CheckedVisit {
            kind,
            visited_on,
            inspector,
            summary,
            items,
            sent,
            captured_at,
            location,
        }),
        _ => Err(AppError::internal(
            "visit validation",
            anyhow::anyhow!("checked fields missing"),
        )),
    }
}
