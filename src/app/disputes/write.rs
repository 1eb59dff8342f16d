//! Recording a case, dispatching one, changing one, revealing one.

use serde::{Deserialize, Serialize};

use super::input::{self, DisputeInput};
use super::{Dispute, not_found, readable};
use crate::app::Ctx;
use crate::app::audit::{self, snapshot};
use crate::auth::Principal;
use crate::auth::policy::{self, Admin};
use crate::db::disputes as store;
use crate::db::stations as station_store;
use crate::db::{self, DbConnection};
use crate::domain::StationStatus;
use crate::domain::dispute::Channel;
use crate::error::{AppError, FieldErrors};

/// Records a case at station `station_id`: the station itself (or the
/// bureau); a `dispatch` case is the bureau's or the unit's county lead's.
pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    station_id: i32,
    input: DisputeInput,
) -> Result<Dispute, AppError> {
    let station = station_store::get(conn, station_id)?
        .ok_or_else(|| AppError::NotFound(format!("服务站 {station_id} 不存在")))?;
    let dispatch = input.channel.as_deref().map(str::trim) == Some(Channel::Dispatch.as_str());
    if dispatch {
        policy::can_dispatch(p, station.unit_id)?;
    } else {
        policy::can_record_dispute(p, station_id)?;
    }
    if input.version.is_some() {
        return Err(FieldErrors::single("version", "新登记的投诉不带版本号"));
    }
    if matches!(station.status, StationStatus::Planned | StationStatus::Revoked) {
        return Err(AppError::conflict(format!(
            "服务站“{}”{}，不能登记投诉",
            station.name,
            station.status.label_for(station.established_on)
        )));
    }
    let today = ctx.today();
    let fields = input::check(input, ctx.settings.disputes, today, true)?;
    db::write_tx(conn, |conn| {
        let row = store::insert(conn, station_id, &fields, &p.username, db::now())?;
        tracing::info!(dispute_id = row.id, station_id, channel = %row.channel, "dispute recorded");
        let shown = Dispute::for_audit(row.clone(), station.unit_id, today);
        let action = if dispatch { "dispute.dispatch" } else { "dispute.create" };
        audit::record(conn, p, action, "dispute", row.id, None, snapshot(&shown))?;
        Ok(Dispute::for_reader(p, row, station.unit_id, today))
    })
}

/// Changes the fields a patch sets if the case is still at the version the
/// client read (409 with the case as it is now otherwise).
pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    id: i32,
    patch: DisputeInput,
) -> Result<Dispute, AppError> {
    let Some(version) = patch.version else {
        return Err(FieldErrors::single("version", "须提供读取时的版本号 version"));
    };
    let today = ctx.today();
    db::write_tx(conn, |conn| {
        let (current, unit) = readable(conn, p, id)?;
        policy::can_record_dispute(p, current.station_id)?;
        if current.version != version {
            return Err(stale(p, current, unit, today));
        }
        let channel_sent = patch.channel.as_deref().map(str::trim);
        if let Some(c) = channel_sent
            && (c == Channel::Dispatch.as_str()) != (current.channel == Channel::Dispatch)
        {
            return Err(FieldErrors::single("channel", "12315派单的来源不能更改"));
        }
        if current.erased_at.is_some() && (patch.consumer_name.is_some() || patch.consumer_phone.is_some()) {
            return Err(FieldErrors::single(
                "consumer_name",
                "个人信息已按保存期限删除，不能再填写",
            ));
        }
        let merged = patch.over(&current);
        let fields = input::check(merged, ctx.settings.disputes, today, current.erased_at.is_none())?;
        let Some(row) = store::update_if_version(conn, id, version, &fields, db::now())? else {
            let now_stored = store::get(conn, id)?.ok_or_else(|| not_found(id))?;
            return Err(stale(p, now_stored, unit, today));
        };
        tracing::info!(dispute_id = id, version = row.version, "dispute updated");
        let before = Dispute::for_audit(current, unit, today);
        let after = Dispute::for_audit(row.clone(), unit, today);
        audit::record(
            conn,
            p,
            "dispute.update",
            "dispute",
            id,
            snapshot(&before),
            snapshot(&after),
        )?;
        Ok(Dispute::for_reader(p, row, unit, today))
    })
}

fn stale(p: &Principal, current: store::Dispute, unit: i32, today: chrono::NaiveDate) -> AppError {
    let version = current.version;
    AppError::Conflict {
        message: format!("投诉记录已被他人修改（当前版本 {version}），请刷新后重试"),
        current: serde_json::to_value(Dispute::for_reader(p, current, unit, today)).ok(),
    }
}

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct RevealInput {
    /// Why the bureau needs the consumer's name and phone (kept in the
    /// audit log).
    #[schema(min_length = 1, max_length = 200)]
    pub reason: Option<String>,
}

/// A consumer's name and phone in full.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Revealed {
    pub id: i32,
    pub consumer_name: Option<String>,
    pub consumer_phone: Option<String>,
}

/// The bureau sees one case's name and phone in full, for a stated reason;
/// the reveal is audited (who, when, why; never the values).
pub fn reveal(conn: &mut DbConnection, p: &Principal, id: i32, input: RevealInput) -> Result<Revealed, AppError> {
    policy::require_admin(p, Admin::RevealPersonal)?;
    let reason = crate::app::clean(input.reason);
    let reason = match reason {
        None => return Err(FieldErrors::single("reason", "须说明查看完整个人信息的理由")),
        Some(r) if r.chars().count() > 200 => return Err(FieldErrors::single("reason", "理由不超过200个字符")),
        Some(r) => r,
    };
    db::write_tx(conn, |conn| {
        let (row, _) = readable(conn, p, id)?;
        if row.erased_at.is_some() {
            return Err(AppError::conflict("该投诉的个人信息已按保存期限删除"));
        }
        let entry = serde_json::json!({"reason": reason, "fields": ["consumer_name", "consumer_phone"]});
        audit::record(conn, p, "dispute.reveal", "dispute", id, None, Some(entry))?;
        tracing::info!(dispute_id = id, user = %p.username, "personal information revealed");
        Ok(Revealed {
            id,
            consumer_name: row.consumer_name,
            consumer_phone: row.consumer_phone,
        })
    })
}
