//! A station's checklist state (latest counted result per item) and the
//! form of its next visit.

use chrono::NaiveDate;
use serde::Serialize;

use super::view::VisitSummary;
use super::{latest_standard, standard_of, station_or_404};
use crate::app::Ctx;
use crate::app::guidance::Guidance;
use crate::auth::Principal;
use crate::auth::policy;
use crate::db::DbConnection;
use crate::db::guidance as guidance_store;
use crate::db::visits::{self as store, CurrentItem};
use crate::domain::visit::VisitRefused;
use crate::domain::{ItemResult, StationStatus, VisitKind};
use crate::error::AppError;
use crate::standard::Standard;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemState {
    pub code: String,
    pub title_zh: String,
    pub title_en: String,
    pub guidance: String,
    pub optional: bool,
    pub weight: u32,
    /// The latest counted result; null if never scored.
    #[schema(value_type = Option<String>)]
    pub result: Option<ItemResult>,
    pub note: Option<String>,
    pub visit_id: Option<i32>,
    pub visited_on: Option<NaiveDate>,
    pub open_guidance: Vec<Guidance>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ChecklistState {
    pub station_id: i32,
    #[schema(value_type = String)]
    pub station_status: StationStatus,
    pub standard_id: String,
    pub standard_version: i32,
    pub last_visit: Option<VisitSummary>,
    pub items: Vec<ItemState>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VisitTemplate {
    pub station_id: i32,
    pub station_name: String,
    #[schema(value_type = String)]
    pub station_status: StationStatus,
    /// acceptance for a planned station, follow_up when guidance is open,
    /// routine otherwise.
    #[schema(value_type = String)]
    pub suggested_kind: VisitKind,
    pub standard_id: String,
    pub standard_version: i32,
    /// Codes of the items with open guidance: what the visit must re-check.
    pub open_items: Vec<String>,
    /// Items in checklist order, each with its last result and open guidance.
    pub items: Vec<ItemState>,
}

fn item_states(standard: &Standard, current: &[CurrentItem], open: &[Guidance]) -> Vec<ItemState> {
    standard
        .items
        .iter()
        .map(|spec| {
            let last = current.iter().find(|c| c.item_code == spec.code);
            ItemState {
                code: spec.code.clone(),
                title_zh: spec.title_zh.clone(),
                title_en: spec.title_en.clone(),
                guidance: spec.guidance.clone(),
                optional: spec.optional,
                weight: spec.weight,
                result: last.map(|c| c.result),
                note: last.map(|c| c.note.clone()),
                visit_id: last.map(|c| c.visit_id),
                visited_on: last.map(|c| c.visited_on),
                open_guidance: open.iter().filter(|g| g.item_code == spec.code).cloned().collect(),
            }
        })
        .collect()
}

fn open_guidance(conn: &mut DbConnection, station_id: i32) -> Result<Vec<Guidance>, AppError> {
    Ok(guidance_store::open_for_station(conn, station_id)?
        .into_iter()
        .map(Guidance::from)
        .collect())
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
    policy::can_read_station(p, station.id, station.unit_id)?;
    let last = store::latest_counted(conn, station_id)?;
    let standard = match &last {
        Some(v) => standard_of(ctx, &v.standard_id, v.standard_version)?,
        None => latest_standard(ctx, &station.standard_id)?,
    };
    let current = store::current_items(conn, station_id)?;
    let open = open_guidance(conn, station_id)?;
    Ok(ChecklistState {
        station_id,
        station_status: station.status,
        standard_id: standard.id.clone(),
        standard_version: standard.version,
        last_visit: last.map(|v| VisitSummary {
            voided: false,
            ..VisitSummary::from(v)
        }),
        items: item_states(standard, &current, &open),
    })
}

/// The form for the next visit, pre-filled with what is still open.
pub fn template(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, station_id: i32) -> Result<VisitTemplate, AppError> {
    let station = station_or_404(conn, station_id)?;
    policy::can_read_station(p, station.id, station.unit_id)?;
    if station.status == StationStatus::Revoked {
        return Err(AppError::conflict(VisitRefused::Revoked.message_zh()));
    }
    let standard = latest_standard(ctx, &station.standard_id)?;
    let current = store::current_items(conn, station_id)?;
    let open = open_guidance(conn, station_id)?;
    let items = item_states(standard, &current, &open);
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
    let suggested_kind = if station.status == StationStatus::Planned {
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
        suggested_kind,
        standard_id: standard.id.clone(),
        standard_version: standard.version,
        open_items,
        items,
    })
}
