//! A visit as the inspector sends it, and the checks that need no database.

use chrono::NaiveDate;
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
    errors.into_result()?;
    match (kind, input.visited_on, inspector) {
        (Some(kind), Some(visited_on), Some(inspector)) => Ok(CheckedVisit {
            kind,
            visited_on,
            inspector,
            summary,
            items,
            sent,
        }),
        _ => Err(AppError::internal(
            "visit validation",
            anyhow::anyhow!("checked fields missing"),
        )),
    }
}
