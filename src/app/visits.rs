//! Use cases of inspection visits: record, read, void; per-station checklist
//! state and the next-visit template.

use std::collections::HashMap;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use super::audit::{self, snapshot};
use super::{Ctx, clean};
use crate::auth::policy::{self, Admin};
use crate::auth::{Principal, Via};
use crate::db::guidance::{self as guidance_store, Guidance, NewGuidance};
use crate::db::stations::{self as station_store, Station};
use crate::db::visits::{self as store, Evidence, NewVisit, Visit, VisitItem};
use crate::db::{self, DbConnection};
use crate::domain::visit::{self as rules, GuidanceAction, Submitted};
use crate::domain::{ItemResult, StationStatus, VisitKind};
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    pub code: String,
    pub title_zh: String,
    pub result: String,
    pub note: String,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VisitView {
    pub id: i32,
    pub station_id: i32,
    pub kind: String,
    pub visited_on: NaiveDate,
    pub inspector: String,
    pub summary: String,
    pub standard_id: String,
    pub standard_version: i32,
    /// Weighted share of met items, in percent with two decimals.
    pub score: f64,
    pub compliant: bool,
    pub status_before: String,
    pub status_after: String,
    pub voided: bool,
    #[serde(serialize_with = "crate::db::utc::option")]
    pub voided_at: Option<chrono::NaiveDateTime>,
    pub void_reason: Option<String>,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub created_at: chrono::NaiveDateTime,
    pub items: Vec<ItemView>,
    /// Guidance this visit raised.
    pub guidance_raised: Vec<Guidance>,
    /// Open guidance from earlier visits that this visit found still failing.
    pub guidance_kept: Vec<Guidance>,
    /// Guidance this visit resolved.
    pub guidance_resolved: Vec<Guidance>,
}

pub fn score_percent(bp: i32) -> f64 {
    f64::from(bp) / 100.0
}

fn standard_of<'a>(ctx: &'a Ctx, id: &str, version: i32) -> Result<&'a Standard, AppError> {
    ctx.standards.get(id, version).ok_or_else(|| {
        AppError::conflict(format!(
            "检查标准 {id} 第{version}版未加载，请用 --checklists 提供该版本"
        ))
    })
}

fn latest_standard<'a>(ctx: &'a Ctx, id: &str) -> Result<&'a Standard, AppError> {
    ctx.standards
        .latest(id)
        .ok_or_else(|| AppError::conflict(format!("检查标准 {id} 未加载，请用 --checklists 提供")))
}

fn station_or_404(conn: &mut DbConnection, id: i32) -> Result<Station, AppError> {
    station_store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("服务站 {id} 不存在")))
}

fn visit_or_404(conn: &mut DbConnection, id: i32) -> Result<Visit, AppError> {
    store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("检查记录 {id} 不存在")))
}

fn stored_status(s: &Station) -> Result<StationStatus, AppError> {
    StationStatus::parse(&s.status)
        .ok_or_else(|| AppError::internal("stored status", anyhow::anyhow!("unknown status {:?}", s.status)))
}

/// Builds what the user sees of a visit, reading its items, evidence and
/// guidance. `kept` is only known when the visit is recorded.
fn view(ctx: &Ctx, conn: &mut DbConnection, v: Visit, kept: Vec<Guidance>) -> Result<VisitView, AppError> {
    let items = store::items_of(conn, &[v.id])?;
    let mut evidence = store::evidence_of(conn, &[v.id])?;
    let standard = ctx.standards.get(&v.standard_id, v.standard_version);
    let items = items
        .into_iter()
        .map(|i| {
            let title_zh = standard
                .and_then(|s| s.item(&i.item_code))
                .map(|s| s.title_zh.clone())
                .unwrap_or_default();
            let (mine, rest): (Vec<_>, Vec<_>) = evidence.drain(..).partition(|e| e.item_code == i.item_code);
            evidence = rest;
            ItemView {
                code: i.item_code,
                title_zh,
                result: i.result,
                note: i.note,
                evidence: mine,
            }
        })
        .collect();
    let guidance_raised = guidance_store::raised_by(conn, v.id)?;
    let guidance_resolved = guidance_store::resolved_by(conn, v.id)?;
    Ok(VisitView {
        id: v.id,
        station_id: v.station_id,
        kind: v.kind,
        visited_on: v.visited_on,
        inspector: v.inspector,
        summary: v.summary,
        standard_id: v.standard_id,
        standard_version: v.standard_version,
        score: score_percent(v.score_bp),
        compliant: v.compliant,
        status_before: v.status_before,
        status_after: v.status_after,
        voided: v.voided_at.is_some(),
        voided_at: v.voided_at,
        void_reason: v.void_reason,
        created_at: v.created_at,
        items,
        guidance_raised,
        guidance_kept: kept,
        guidance_resolved,
    })
}

/// Checks everything that does not need the database.
fn check_input(
    ctx: &Ctx,
    standard: &Standard,
    input: &VisitInput,
) -> Result<(VisitKind, NaiveDate, String, String, Vec<rules::Checked>), AppError> {
    let mut errors = FieldErrors::new();
    let kind = match clean(input.kind.clone()).as_deref().map(VisitKind::parse) {
        None => {
            errors.add("kind", format!("须填写检查类型：{}", VisitKind::expected()));
            None
        }
        Some(None) => {
            errors.add("kind", format!("未知的检查类型，应为：{}", VisitKind::expected()));
            None
        }
        Some(k) => k,
    };
    let today = ctx.today();
    match input.visited_on {
        None => errors.add("visited_on", "须填写检查日期"),
        Some(d) if d > today => errors.add("visited_on", format!("检查日期不能晚于今天（{today}）")),
        _ => {}
    }
    let inspector = clean(input.inspector.clone());
    match &inspector {
        None => errors.add("inspector", "须填写检查人员"),
        Some(i) if i.chars().count() > 50 => errors.add("inspector", "检查人员不超过50个字符"),
        _ => {}
    }
    let summary = clean(input.summary.clone()).unwrap_or_default();
    if summary.chars().count() > 2000 {
        errors.add("summary", "检查小结不超过2000个字符");
    }
    let submitted: Vec<Submitted> = input
        .items
        .iter()
        .flatten()
        .map(|i| Submitted {
            code: i.code.clone(),
            result: i.result.clone(),
            note: i.note.clone(),
        })
        .collect();
    let checked = match rules::check_items(standard, &submitted) {
        Ok(c) => c,
        Err(e) => {
            for (field, messages) in e.0 {
                for m in messages {
                    errors.add(field.clone(), m);
                }
            }
            Vec::new()
        }
    };
    let items = input.items.as_deref().unwrap_or_default();
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
            } else if input.visited_on.is_some_and(|v| due < v) {
                errors.add(format!("items[{i}].due_on"), "整改期限不能早于检查日期");
            }
        }
    }
    errors.into_result()?;
    match (kind, input.visited_on, inspector) {
        (Some(k), Some(d), Some(i)) => Ok((k, d, i, summary, checked)),
        _ => Err(AppError::internal(
            "visit validation",
            anyhow::anyhow!("checked fields missing"),
        )),
    }
}

/// Records a visit: scores it, moves the station, raises, keeps and
/// resolves guidance — all in one transaction.
pub fn record(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    station_id: i32,
    mut input: VisitInput,
) -> Result<VisitView, AppError> {
    let station = station_or_404(conn, station_id)?;
    policy::can_record_visit(p, station.unit_id)?;
    if input.inspector.is_none() && p.via != Via::System {
        input.inspector = Some(p.username.clone());
    }
    let standard = latest_standard(ctx, &station.standard_id)?;
    let (kind, visited_on, inspector, summary, checked) = check_input(ctx, standard, &input)?;
    let items_in = input.items.unwrap_or_default();
    db::write_tx(conn, |conn| {
        // Serialise visits to one station (a row lock on PostgreSQL; SQLite
        // holds the database write lock already), then read it fresh.
        station_store::touch(conn, station_id)?;
        let station = station_or_404(conn, station_id)?;
        let before = stored_status(&station)?;
        let score = rules::score(
            standard,
            &checked.iter().map(|c| (c.code.clone(), c.result)).collect::<Vec<_>>(),
        );
        let after = rules::status_after(kind, before, score.compliant).map_err(|e| {
            let field = if e == rules::VisitRefused::Revoked {
                "station_id"
            } else {
                "kind"
            };
            FieldErrors::single(field, e.message_zh())
        })?;
        if let Some(last) = store::latest_counted(conn, station_id)?
            && visited_on < last.visited_on
        {
            return Err(FieldErrors::single(
                "visited_on",
                format!(
                    "检查日期不能早于该站最近一次检查（{}，记录 #{}）",
                    last.visited_on, last.id
                ),
            ));
        }
        if station.established_on.is_some_and(|e| visited_on < e) && before.is_built() {
            return Err(FieldErrors::single("visited_on", "检查日期不能早于建站日期"));
        }
        let now = db::now();
        let rows: Vec<VisitItem> = checked
            .iter()
            .map(|c| VisitItem {
                visit_id: 0,
                item_code: c.code.clone(),
                position: c.position as i32,
                result: c.result.as_str().to_owned(),
                note: c.note.clone(),
            })
            .collect();
        let visit = store::insert(
            conn,
            &NewVisit {
                station_id,
                kind: kind.as_str(),
                visited_on,
                inspector: &inspector,
                summary: &summary,
                standard_id: &standard.id,
                standard_version: standard.version,
                score_bp: score.basis_points as i32,
                compliant: score.compliant,
                status_before: before.as_str(),
                status_after: after.as_str(),
                created_at: now,
            },
            &rows,
        )?;

        station_store::set_compliance(conn, station_id, Some(score.compliant), Some(visited_on))?;
        let open: HashMap<String, i32> = guidance_store::open_for_station(conn, station_id)?
            .into_iter()
            .map(|g| (g.item_code, g.id))
            .collect();
        let mut kept = Vec::new();
        for action in rules::guidance_actions(&checked, &open) {
            match action {
                GuidanceAction::Raise { code } => {
                    let (given, spec) = item_input(&checked, &items_in, standard, &code);
                    let instruction =
                        clean(given.and_then(|g| g.instruction.clone())).unwrap_or_else(|| spec.guidance.clone());
                    let due_on = match given.and_then(|g| g.due_on) {
                        Some(d) => d,
                        None => default_due(ctx, visited_on)?,
                    };
                    guidance_store::insert(
                        conn,
                        &NewGuidance {
                            station_id,
                            raised_by: visit.id,
                            item_code: &code,
                            instruction: &instruction,
                            due_on,
                            status: "open",
                            created_at: now,
                            updated_at: now,
                            unit_id: Some(station.unit_id),
                        },
                    )?;
                }
                GuidanceAction::Keep { code, guidance_id } => {
                    let (given, _) = item_input(&checked, &items_in, standard, &code);
                    if let Some(due) = given.and_then(|g| g.due_on) {
                        guidance_store::set_due(conn, guidance_id, due, now)?;
                    }
                    if let Some(g) = guidance_store::get(conn, guidance_id)? {
                        kept.push(g);
                    }
                }
                GuidanceAction::Resolve { guidance_id, .. } => {
                    guidance_store::resolve(conn, guidance_id, visit.id, visited_on, now)?;
                }
            }
        }

        if after != before {
            let established_on = if before == StationStatus::Planned {
                Some(visited_on)
            } else {
                station.established_on
            };
            let reason = format!(
                "检查记录 #{}（{}，得分 {:.2}%）{}",
                visit.id,
                kind.label_zh(),
                score_percent(visit.score_bp),
                if score.compliant {
                    "各必备项均符合"
                } else {
                    "存在不符合项"
                }
            );
            station_store::set_status(
                conn,
                &station,
                after.as_str(),
                established_on,
                None,
                &reason,
                visited_on,
                now,
                Some(visit.id),
            )?
            .ok_or_else(|| AppError::conflict("服务站刚被他人修改，请重试"))?;
        }
        tracing::info!(
            visit_id = visit.id,
            station_id,
            score_bp = visit.score_bp,
            compliant = visit.compliant,
            from = before.as_str(),
            to = after.as_str(),
            "visit recorded"
        );
        let v = view(ctx, conn, visit, kept)?;
        audit::record(conn, p, "visit.record", "visit", v.id, None, snapshot(&v))?;
        Ok(v)
    })
}

fn default_due(ctx: &Ctx, visited_on: NaiveDate) -> Result<NaiveDate, AppError> {
    visited_on
        .checked_add_days(Days::new(u64::from(ctx.settings.guidance_due_days)))
        .ok_or_else(|| FieldErrors::single("visited_on", "检查日期超出范围"))
}

/// The submitted input and the checklist item for one item code.
fn item_input<'a>(
    checked: &[rules::Checked],
    items: &'a [ItemInput],
    standard: &'a Standard,
    code: &str,
) -> (Option<&'a ItemInput>, &'a crate::standard::Item) {
    let given = checked.iter().find(|c| c.code == code).and_then(|c| items.get(c.index));
    let spec = standard
        .items
        .iter()
        .find(|i| i.code == code)
        .unwrap_or(&standard.items[0]);
    (given, spec)
}

pub fn get(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, id: i32) -> Result<VisitView, AppError> {
    let v = visit_or_404(conn, id)?;
    let station = station_or_404(conn, v.station_id)?;
    policy::can_read_unit(p, station.unit_id)?;
    view(ctx, conn, v, Vec::new())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VisitSummary {
    pub id: i32,
    pub kind: String,
    pub visited_on: NaiveDate,
    pub inspector: String,
    pub standard_id: String,
    pub standard_version: i32,
    pub score: f64,
    pub compliant: bool,
    pub status_after: String,
    pub voided: bool,
}

pub fn list_for_station(
    conn: &mut DbConnection,
    p: &Principal,
    station_id: i32,
) -> Result<Vec<VisitSummary>, AppError> {
    let station = station_or_404(conn, station_id)?;
    policy::can_read_unit(p, station.unit_id)?;
    Ok(store::for_station(conn, station_id)?
        .into_iter()
        .map(|v| VisitSummary {
            id: v.id,
            kind: v.kind,
            visited_on: v.visited_on,
            inspector: v.inspector,
            standard_id: v.standard_id,
            standard_version: v.standard_version,
            score: score_percent(v.score_bp),
            compliant: v.compliant,
            status_after: v.status_after,
            voided: v.voided_at.is_some(),
        })
        .collect())
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct VoidInput {
    pub reason: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Voided {
    #[serde(flatten)]
    pub visit: VisitView,
    /// Whether the station's status went back to what it was before the
    /// visit (only when no later change has happened since).
    pub status_reverted: bool,
}

/// Voids a visit: it stays visible and stops counting. Guidance it raised is
/// withdrawn, guidance it resolved is open again, and a status change it made
/// is undone if it is still the station's latest.
pub fn void(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, id: i32, input: VoidInput) -> Result<Voided, AppError> {
    policy::require_admin(p, Admin::VoidVisit)?;
    let reason = clean(input.reason).ok_or_else(|| FieldErrors::single("reason", "须说明作废理由"))?;
    if reason.chars().count() > 500 {
        return Err(FieldErrors::single("reason", "作废理由不超过500个字符"));
    }
    db::write_tx(conn, |conn| {
        let v = visit_or_404(conn, id)?;
        station_store::touch(conn, v.station_id)?;
        let now = db::now();
        if store::void(conn, id, &reason, now)? == 0 {
            return Err(AppError::conflict(format!("检查记录 {id} 已作废")));
        }
        guidance_store::undo_visit(conn, id, now)?;
        let latest = store::latest_counted(conn, v.station_id)?;
        station_store::set_compliance(
            conn,
            v.station_id,
            latest.as_ref().map(|l| l.compliant),
            latest.as_ref().map(|l| l.visited_on),
        )?;
        let station = station_or_404(conn, v.station_id)?;
        // Undo the visit's effect on the status only if nothing came after
        // it: no later counted visit, and no change by hand since.
        let later_visit =
            store::latest_counted(conn, v.station_id)?.is_some_and(|l| (l.visited_on, l.id) > (v.visited_on, v.id));
        let manual_since = station_store::last_status_change(conn, v.station_id)?
            .is_some_and(|c| c.visit_id.is_none() && c.created_at > v.created_at);
        let mut status_reverted = false;
        if v.status_before != v.status_after && station.status == v.status_after && !later_visit && !manual_since {
            let back = StationStatus::parse(&v.status_before)
                .ok_or_else(|| AppError::internal("stored status", anyhow::anyhow!("{:?}", v.status_before)))?;
            let established_on = if back == StationStatus::Planned {
                None
            } else {
                station.established_on
            };
            station_store::set_status(
                conn,
                &station,
                back.as_str(),
                established_on,
                station.revoked_on,
                &format!("作废检查记录 #{id}：{reason}"),
                ctx.today(),
                now,
                Some(id),
            )?
            .ok_or_else(|| AppError::conflict("服务站刚被他人修改，请重试"))?;
            status_reverted = true;
        }
        tracing::info!(visit_id = id, status_reverted, "visit voided");
        let after = visit_or_404(conn, id)?;
        audit::record(conn, p, "visit.void", "visit", id, snapshot(&v), snapshot(&after))?;
        Ok(Voided {
            visit: view(ctx, conn, after, Vec::new())?,
            status_reverted,
        })
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemState {
    pub code: String,
    pub title_zh: String,
    pub title_en: String,
    pub guidance: String,
    pub optional: bool,
    pub weight: u32,
    /// The latest counted result; null if never scored.
    pub result: Option<String>,
    pub note: Option<String>,
    pub visit_id: Option<i32>,
    pub visited_on: Option<NaiveDate>,
    pub open_guidance: Vec<Guidance>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChecklistState {
    pub station_id: i32,
    pub station_status: String,
    pub standard_id: String,
    pub standard_version: i32,
    pub last_visit: Option<VisitSummary>,
    pub items: Vec<ItemState>,
}

fn item_states(standard: &Standard, latest: &[(VisitItem, Visit)], open: &[Guidance]) -> Vec<ItemState> {
    standard
        .items
        .iter()
        .map(|spec| {
            let last = latest.iter().find(|(i, _)| i.item_code == spec.code);
            ItemState {
                code: spec.code.clone(),
                title_zh: spec.title_zh.clone(),
                title_en: spec.title_en.clone(),
                guidance: spec.guidance.clone(),
                optional: spec.optional,
                weight: spec.weight,
                result: last.map(|(i, _)| i.result.clone()),
                note: last.map(|(i, _)| i.note.clone()),
                visit_id: last.map(|(_, v)| v.id),
                visited_on: last.map(|(_, v)| v.visited_on),
                open_guidance: open.iter().filter(|g| g.item_code == spec.code).cloned().collect(),
            }
        })
        .collect()
}

/// Each item of the station's checklist: its latest counted result, from
/// which visit and date, and its open guidance.
pub fn checklist(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    station_id: i32,
) -> Result<ChecklistState, AppError> {
    let station = station_or_404(conn, station_id)?;
    policy::can_read_unit(p, station.unit_id)?;
    let last = store::latest_counted(conn, station_id)?;
    let standard = match &last {
        Some(v) => standard_of(ctx, &v.standard_id, v.standard_version)?,
        None => latest_standard(ctx, &station.standard_id)?,
    };
    let latest = store::latest_results(conn, station_id)?;
    let open = guidance_store::open_for_station(conn, station_id)?;
    Ok(ChecklistState {
        station_id,
        station_status: station.status,
        standard_id: standard.id.clone(),
        standard_version: standard.version,
        last_visit: last.map(|v| VisitSummary {
            id: v.id,
            kind: v.kind,
            visited_on: v.visited_on,
            inspector: v.inspector,
            standard_id: v.standard_id,
            standard_version: v.standard_version,
            score: score_percent(v.score_bp),
            compliant: v.compliant,
            status_after: v.status_after,
            voided: false,
        }),
        items: item_states(standard, &latest, &open),
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VisitTemplate {
    pub station_id: i32,
    pub station_name: String,
    pub station_status: String,
    /// acceptance for a planned station, follow_up when guidance is open,
    /// routine otherwise.
    pub suggested_kind: String,
    pub standard_id: String,
    pub standard_version: i32,
    /// Codes of the items with open guidance: what the visit must re-check.
    pub open_items: Vec<String>,
    /// Items in checklist order, each with its last result and open guidance.
    pub items: Vec<ItemState>,
}

/// The form for the next visit, pre-filled with what is still open.
pub fn template(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, station_id: i32) -> Result<VisitTemplate, AppError> {
    let station = station_or_404(conn, station_id)?;
    policy::can_read_unit(p, station.unit_id)?;
    let status = stored_status(&station)?;
    if status == StationStatus::Revoked {
        return Err(AppError::conflict(rules::VisitRefused::Revoked.message_zh()));
    }
    let standard = latest_standard(ctx, &station.standard_id)?;
    let latest = store::latest_results(conn, station_id)?;
    let open = guidance_store::open_for_station(conn, station_id)?;
    let items = item_states(standard, &latest, &open);
    let mut open_items: Vec<String> = items
        .iter()
        .filter(|i| !i.open_guidance.is_empty())
        .map(|i| i.code.clone())
        .collect();
    // Guidance on items the newest version no longer has is still listed.
    for g in &open {
        if !open_items.contains(&g.item_code) {
            open_items.push(g.item_code.clone());
        }
    }
    let suggested = if status == StationStatus::Planned {
        VisitKind::Acceptance
    } else if !open.is_empty() {
        VisitKind::FollowUp
    } else {
        VisitKind::Routine
    };
    Ok(VisitTemplate {
        station_id,
        station_name: station.name,
        station_status: station.status,
        suggested_kind: suggested.as_str().to_owned(),
        standard_id: standard.id.clone(),
        standard_version: standard.version,
        open_items,
        items,
    })
}
