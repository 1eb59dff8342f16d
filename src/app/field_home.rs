//! The inspector's home on the phone: the stations of the inspector's own
//! units that are due for a visit, and the guidance there still open.

use chrono::{Days, NaiveDate};
use serde::Serialize;

use super::Ctx;
use super::guidance::{self, GuidanceQuery};
use crate::auth::{Principal, Role};
use crate::db::DbConnection;
use crate::db::stations as station_store;
use crate::domain::StationStatus;
use crate::error::AppError;

/// Stations and guidance items shown at most.
const SHOWN: i64 = 50;

/// Stations of the inspector's units whose page and visit form the phone
/// keeps for offline use, at most (newest first).
pub const KEPT_OFFLINE: i64 = 300;

#[derive(Debug, Serialize)]
pub struct DueStation {
    pub id: i32,
    pub name: String,
    pub address: String,
    pub status: StationStatus,
    pub established_on: Option<NaiveDate>,
    pub last_visit_on: Option<NaiveDate>,
    /// Days since the last counted visit (None: never visited).
    pub days_since: Option<i64>,
}

#[derive(Debug, Serialize)]
pub struct OpenGuidance {
    pub station_id: i32,
    pub station_name: String,
    pub item_code: String,
    pub instruction: String,
    pub due_on: NaiveDate,
    /// Days past the due date (0: not yet due).
    pub days_overdue: i64,
}

#[derive(Debug, Serialize)]
pub struct InspectorHome {
    pub interval_days: u32,
    pub due: Vec<DueStation>,
    pub guidance: Vec<OpenGuidance>,
    pub overdue: usize,
    /// The stations of the inspector's units the phone keeps for offline
    /// use (their page and visit form), newest first, at most
    /// [`KEPT_OFFLINE`].
    pub kept_offline: Vec<i32>,
}

/// What an inspector's home shows: stations of the inspector's units due
/// for a visit (planned ones first) and open guidance there, overdue
/// first.
pub fn inspector_home(conn: &mut DbConnection, ctx: &Ctx, p: &Principal) -> Result<InspectorHome, AppError> {
    if p.role != Role::Inspector {
        return Err(AppError::Forbidden("只有检查人员有此首页".into()));
    }
    let today = ctx.today();
    // The interval the weekly digest counts "not visited" by.
    let interval = ctx.settings.notices.visit_interval_days;
    let before = today.checked_sub_days(Days::new(u64::from(interval))).unwrap_or(today);
    let due = station_store::due_for_visit(conn, &p.units, before, SHOWN)?
        .into_iter()
        .map(|s| DueStation {
            id: s.id,
            name: s.name,
            address: s.address,
            status: s.status,
            established_on: s.established_on,
            last_visit_on: s.last_visit_on,
            days_since: s.last_visit_on.map(|d| (today - d).num_days()),
        })
        .collect();
    let page = guidance::list(
        conn,
        ctx,
        p,
        GuidanceQuery {
            status: Some("open".into()),
            per_page: Some(SHOWN.to_string()),
            ..Default::default()
        },
    )?;
    let mut open: Vec<OpenGuidance> = page
        .page
        .items
        .into_iter()
        .map(|item| OpenGuidance {
            station_id: item.row.guidance.station_id,
            station_name: item.row.station_name,
            item_code: item.row.guidance.item_code,
            instruction: item.row.guidance.instruction,
            due_on: item.row.guidance.due_on,
            days_overdue: (today - item.row.guidance.due_on).num_days().max(0),
        })
        .collect();
    open.sort_by_key(|g| (std::cmp::Reverse(g.days_overdue), g.due_on));
    let overdue = open.iter().filter(|g| g.days_overdue > 0).count();
    Ok(InspectorHome {
        interval_days: interval,
        due,
        guidance: open,
        overdue,
        kept_offline: station_store::visitable_ids(conn, &p.units, KEPT_OFFLINE)?,
    })
}
