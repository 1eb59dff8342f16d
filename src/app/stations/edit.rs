//! Registering a station and changing its fields.

use super::input::{self, StationInput, StationPatch};
use super::{Station, StationDetail, detail, not_found, stale, unit_must_exist};
use crate::app::Ctx;
use crate::app::audit::{self, snapshot};
use crate::auth::Principal;
use crate::auth::policy::{self, Admin};
use crate::db::guidance as guidance_store;
use crate::db::stations as store;
use crate::db::{self, DbConnection};
use crate::domain::StationStatus;
use crate::error::{AppError, FieldErrors};

pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    input: StationInput,
) -> Result<StationDetail, AppError> {
    policy::require_admin(p, Admin::ManageStations)?;
    let (fields, status) = input::check(ctx, input, true)?;
    db::write_tx(conn, |conn| {
        unit_must_exist(conn, fields.unit_id)?;
        let station = store::insert(conn, &fields, status, db::now())?;
        tracing::info!(station_id = station.id, unit_id = station.unit_id, "station created");
        let shown = Station::from(station.clone());
        audit::record(conn, p, "station.create", "station", station.id, None, snapshot(&shown))?;
        detail(conn, station)
    })
}

/// Changes the fields a patch sets, if the station is still at the
/// version the client read (409 with the current record otherwise).
pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    id: i32,
    patch: StationPatch,
) -> Result<StationDetail, AppError> {
    policy::may_edit_stations(p)?;
    let Some(version) = patch.version else {
        return Err(FieldErrors::single("version", "须提供读取时的版本号 version"));
    };
    if patch.status.is_some() {
        return Err(FieldErrors::single(
            "status",
            "状态不能在此修改，请使用 POST /api/stations/{id}/status",
        ));
    }
    db::write_tx(conn, |conn| {
        let current = store::get(conn, id)?.ok_or_else(|| not_found(id))?;
        policy::can_edit_station(p, current.unit_id, &patch.fields())?;
        if current.version != version {
            return Err(stale(&current));
        }
        if current.status == StationStatus::Revoked {
            return Err(AppError::conflict("已撤销的服务站不能修改"));
        }
        if patch.established_on.is_some() && current.status == StationStatus::Planned {
            return Err(FieldErrors::single(
                "established_on",
                "计划建设的服务站不能填写建站日期",
            ));
        }
        let (fields, _) = input::check(ctx, patch.merge_onto(&current)?, false)?;
        unit_must_exist(conn, fields.unit_id)?;
        let Some(station) = store::update_if_version(conn, id, version, &fields, db::now())? else {
            let now_stored = store::get(conn, id)?.ok_or_else(|| not_found(id))?;
            return Err(stale(&now_stored));
        };
        if station.unit_id != current.unit_id {
            guidance_store::move_station(conn, id, station.unit_id)?;
        }
        tracing::info!(station_id = id, version = station.version, "station updated");
        let (before, after) = (Station::from(current), Station::from(station.clone()));
        audit::record(
            conn,
            p,
            "station.update",
            "station",
            id,
            snapshot(&before),
            snapshot(&after),
        )?;
        detail(conn, station)
    })
}
