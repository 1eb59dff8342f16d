//! What the API and the pages show of a visit.

use chrono::{NaiveDate, NaiveDateTime};
use serde::Serialize;

use super::super::Ctx;
use crate::app::evidence::Evidence;
use crate::app::guidance::Guidance;
use crate::db::DbConnection;
use crate::db::guidance as guidance_store;
use crate::db::visits::{self as store, Visit};
use crate::domain::{ItemResult, StationStatus, VisitKind};
use crate::error::AppError;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ItemView {
    pub code: String,
    pub title_zh: String,
    #[schema(value_type = String)]
    pub result: ItemResult,
    pub note: String,
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VisitView {
    pub id: i32,
    pub station_id: i32,
    #[schema(value_type = String)]
    pub kind: VisitKind,
    pub visited_on: NaiveDate,
    pub inspector: String,
    pub summary: String,
    pub standard_id: String,
    pub standard_version: i32,
    /// Weighted share of met items, in percent with two decimals.
    pub score: f64,
    pub compliant: bool,
    #[schema(value_type = String)]
    pub status_before: StationStatus,
    #[schema(value_type = String)]
    pub status_after: StationStatus,
    pub voided: bool,
    #[serde(serialize_with = "crate::db::utc::option")]
    pub voided_at: Option<NaiveDateTime>,
    pub void_reason: Option<String>,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub created_at: NaiveDateTime,
    /// The phone's clock when the inspector saved the visit.
    #[serde(serialize_with = "crate::db::utc::option")]
    pub captured_at: Option<NaiveDateTime>,
    /// Where the phone was when the visit was saved, if the inspector
    /// allowed it.
    pub location: Option<LocationView>,
    pub items: Vec<ItemView>,
    /// Guidance this visit raised.
    pub guidance_raised: Vec<Guidance>,
    /// Open guidance from earlier visits that this visit found still failing.
    pub guidance_kept: Vec<Guidance>,
    /// Guidance this visit resolved.
    pub guidance_resolved: Vec<Guidance>,
}

/// A visit's recorded position (WGS 84 degrees; accuracy in metres).
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct LocationView {
    pub latitude: f64,
    pub longitude: f64,
    pub accuracy_m: Option<f64>,
}

impl LocationView {
    pub fn of(v: &Visit) -> Option<LocationView> {
        Some(LocationView {
            latitude: v.latitude?,
            longitude: v.longitude?,
            accuracy_m: v.accuracy_m,
        })
    }
}

/// One line of a station's visit history.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VisitSummary {
    pub id: i32,
    #[schema(value_type = String)]
    pub kind: VisitKind,
    pub visited_on: NaiveDate,
    pub inspector: String,
    pub standard_id: String,
    pub standard_version: i32,
    pub score: f64,
    pub compliant: bool,
    #[schema(value_type = String)]
    pub status_after: StationStatus,
    pub voided: bool,
    #[serde(serialize_with = "crate::db::utc::option")]
    pub captured_at: Option<NaiveDateTime>,
    pub location: Option<LocationView>,
}

impl From<Visit> for VisitSummary {
    fn from(v: Visit) -> Self {
        let location = LocationView::of(&v);
        VisitSummary {
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
            captured_at: v.captured_at,
            location,
        }
    }
}

pub fn score_percent(bp: i32) -> f64 {
    f64::from(bp) / 100.0
}

/// What a visit's page shows besides the visit's own row.
pub(super) struct Parts {
    pub items: Vec<store::VisitItem>,
    pub evidence: Vec<Evidence>,
    /// Guidance the visit raised, kept open and resolved.
    pub raised: Vec<Guidance>,
    pub kept: Vec<Guidance>,
    pub resolved: Vec<Guidance>,
}

/// Builds what the user sees of a visit, reading its items, evidence and
/// guidance. `kept` is only known when the visit is recorded.
pub(super) fn build(ctx: &Ctx, conn: &mut DbConnection, v: Visit, kept: Vec<Guidance>) -> Result<VisitView, AppError> {
    let guidance = |rows: Vec<guidance_store::Guidance>| rows.into_iter().map(Guidance::from).collect();
    let parts = Parts {
        items: store::items_of(conn, &[v.id])?,
        evidence: store::evidence_of(conn, &[v.id])?
            .into_iter()
            .map(Evidence::from)
            .collect(),
        raised: guidance(guidance_store::raised_by(conn, v.id)?),
        kept,
        resolved: guidance(guidance_store::resolved_by(conn, v.id)?),
    };
    Ok(assemble(ctx, v, parts))
}

/// What the user sees of a visit, from its row and its parts (in the
/// order they are kept: items by position, evidence and guidance by id).
pub(super) fn assemble(ctx: &Ctx, v: Visit, parts: Parts) -> VisitView {
    let Parts {
        items,
        mut evidence,
        raised,
        kept,
        resolved,
    } = parts;
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
    let location = LocationView::of(&v);
    VisitView {
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
        location,
        void_reason: v.void_reason,
        created_at: v.created_at,
        captured_at: v.captured_at,
        items,
        guidance_raised: raised,
        guidance_kept: kept,
        guidance_resolved: resolved,
    }
}
