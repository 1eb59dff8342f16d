//! Voiding a visit: it stays visible and stops counting.

use serde::{Deserialize, Serialize};

use super::view::{self, VisitView};
use super::{station_or_404, visit_or_404};
use crate::app::audit::{self, snapshot};
use crate::app::{Ctx, clean};
use crate::auth::Principal;
use crate::auth::policy::{self, Admin};
use crate::db::guidance as guidance_store;
use crate::db::stations as station_store;
use crate::db::visits::{self as store, Visit};
use crate::db::{self, DbConnection};
use crate::domain::StationStatus;
use crate::error::{AppError, FieldErrors};

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
        let visit = visit_or_404(conn, id)?;
        station_store::touch(conn, visit.station_id)?;
        let now = db::now();
        if store::void(conn, id, &reason, now)? == 0 {
            return Err(AppError::conflict(format!("检查记录 {id} 已作废")));
        }
        guidance_store::undo_visit(conn, id, now)?;
        store::restore_current(conn, visit.station_id, id)?;
        let latest = store::latest_counted(conn, visit.station_id)?;
        station_store::set_compliance(
            conn,
            visit.station_id,
            latest.as_ref().map(|l| l.compliant),
            latest.as_ref().map(|l| l.visited_on),
        )?;
        let status_reverted = revert_status(conn, ctx, &visit, latest.as_ref(), &reason, now)?;
        tracing::info!(visit_id = id, status_reverted, "visit voided");
        let before = view::build(ctx, conn, visit, Vec::new())?;
        let voided = visit_or_404(conn, id)?;
        let after = view::build(ctx, conn, voided, Vec::new())?;
        audit::record(conn, p, "visit.void", "visit", id, snapshot(&before), snapshot(&after))?;
        Ok(Voided {
            visit: after,
            status_reverted,
        })
    })
}

/// Undoes the visit's effect on the station's status, only if nothing came
/// after it: no later counted visit (`latest`), and no change by hand since.
fn revert_status(
    conn: &mut DbConnection,
    ctx: &Ctx,
    visit: &Visit,
    latest: Option<&Visit>,
    reason: &str,
    now: chrono::NaiveDateTime,
) -> Result<bool, AppError> {
    let station = station_or_404(conn, visit.station_id)?;
    let later_visit = latest.is_some_and(|l| (l.visited_on, l.id) > (visit.visited_on, visit.id));
    let manual_since = station_store::last_status_change(conn, visit.station_id)?
        .is_some_and(|c| c.visit_id.is_none() && c.created_at > visit.created_at);
    let changed = visit.status_before != visit.status_after;
    if !changed || station.status != visit.status_after || later_visit || manual_since {
        return Ok(false);
    }
    let back = visit.status_before;
    let established_on = if back == StationStatus::Planned {
        None
    } else {
        station.established_on
    };
    station_store::set_status(
        conn,
        &station,
        back,
        established_on,
        station.revoked_on,
        &format!("作废检查记录 #{}：{reason}", visit.id),
        ctx.today(),
        now,
        Some(visit.id),
    )?
    .ok_or_else(|| AppError::conflict("服务站刚被他人修改，请重试"))?;
    Ok(true)
}
