//! Moving a station through its statuses by hand (the bureau).

use chrono::NaiveDate;
use serde::Deserialize;
use validator::Validate;

use super::{Station, StationDetail, detail, not_found, stale};
use crate::app::audit::{self, snapshot};
use crate::app::{Ctx, clean};
use crate::auth::Principal;
use crate::auth::policy::{self, Admin};
use crate::db::stations::{self as store};
use crate::db::{self, DbConnection};
use crate::domain::StationStatus;
use crate::error::{AppError, FieldErrors};

#[derive(Debug, Default, Deserialize, Validate, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StatusInput {
    #[schema(value_type = Option<StationStatus>)]
    pub status: Option<String>,
    #[validate(length(max = 500, message = "理由不超过500个字符"))]
    pub reason: Option<String>,
    /// The date the change takes effect (for `established`, the station's
    /// establishment date); today when left out.
    pub effective_on: Option<NaiveDate>,
    /// When given, the change applies only if the station is still at this
    /// version.
    pub version: Option<i32>,
}

/// A status change that passed the checks needing no database.
struct Move {
    to: StationStatus,
    reason: String,
    effective_on: NaiveDate,
    version: Option<i32>,
}

fn check(ctx: &Ctx, input: StatusInput) -> Result<Move, AppError> {
    let mut errors = FieldErrors::new();
    if let Err(e) = input.validate() {
        errors.absorb(e);
    }
    let to = match clean(input.status).as_deref().map(StationStatus::parse) {
        None => {
            errors.add("status", "目标状态不能为空");
            None
        }
        Some(None) => {
            errors.add("status", format!("未知的状态，可选：{}", StationStatus::expected()));
            None
        }
        Some(s) => s,
    };
    let reason = clean(input.reason);
    if reason.is_none() {
        errors.add("reason", "须说明变更理由");
    }
    let today = ctx.today();
    let effective_on = input.effective_on.unwrap_or(today);
    if effective_on > today {
        errors.add("effective_on", "生效日期不能晚于今天");
    }
    errors.into_result()?;
    match (to, reason) {
        (Some(to), Some(reason)) => Ok(Move {
            to,
            reason,
            effective_on,
            version: input.version,
        }),
        _ => Err(AppError::internal(
            "status validation",
            anyhow::anyhow!("checked fields missing"),
        )),
    }
}

/// The transition rule, in words a user can act on.
fn allowed(from: StationStatus, to: StationStatus, established_on: Option<NaiveDate>) -> Result<(), AppError> {
    if from.can_move_to(to) {
        return Ok(());
    }
    let next: Vec<_> = from.next_statuses().iter().map(|s| s.as_str()).collect();
    let allowed = if next.is_empty() {
        "无".to_owned()
    } else {
        next.join(", ")
    };
    Err(FieldErrors::single(
        "status",
        format!(
            "不能从“{}”变更为“{}”；可变更为：{allowed}",
            from.label_for(established_on),
            to.label_for(established_on)
        ),
    ))
}

pub fn change_status(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    id: i32,
    input: StatusInput,
) -> Result<StationDetail, AppError> {
    policy::require_admin(p, Admin::ManageStations)?;
    let change = check(ctx, input)?;
    db::write_tx(conn, |conn| {
        let current = store::get(conn, id)?.ok_or_else(|| not_found(id))?;
        if change.version.is_some_and(|v| v != current.version) {
            return Err(stale(&current));
        }
        let (from, to) = (current.status, change.to);
        allowed(from, to, current.established_on)?;
        // (planned → established: the effective date becomes the
        // establishment date, so there is nothing to compare with.)
        if current.established_on.is_some_and(|est| change.effective_on < est) {
            return Err(FieldErrors::single("effective_on", "生效日期不能早于建站日期"));
        }
        let established_on = if from == StationStatus::Planned && to == StationStatus::Established {
            Some(change.effective_on)
        } else {
            current.established_on
        };
        let revoked_on = (to == StationStatus::Revoked).then_some(change.effective_on);
        let station = store::set_status(
            conn,
            &current,
            to,
            established_on,
            revoked_on,
            &change.reason,
            change.effective_on,
            db::now(),
            None,
        )?
        .ok_or_else(|| stale(&current))?;
        tracing::info!(station_id = id, %from, %to, "station status changed");
        let (before, after) = (Station::from(current), Station::from(station.clone()));
        audit::record(
            conn,
            p,
            "station.status",
            "station",
            id,
            snapshot(&before),
            snapshot(&after),
        )?;
        detail(conn, station)
    })
}
