//! The dispute ledger (台账): cases recorded by stations ([`create`],
//! [`update`]), dispatched by the bureau or a county lead, read and listed
//! within the reader's scope with consumers' names and phones masked for
//! everyone but the station and the staff of its unit ([`reveal`] for the
//! bureau, audited), the figures ([`stats`]) and the erasure of personal
//! information after the retention period ([`erase_expired`]).

mod export;
mod input;
mod retention;
mod stats;
mod write;

pub use crate::domain::dispute_figures::{Counts, Rates};
pub use export::{ExportQuery, export_ledger};
pub use input::DisputeInput;
pub use retention::{erase_expired, run_retention};
pub use stats::{CityFigures, FigureRow, Figures, StatsQuery, city_figures, station_figures, stats};
pub use write::{RevealInput, Revealed, create, reveal, update};

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::{Page, int_param, paging, query_param};
use crate::auth::Principal;
use crate::auth::policy;
use crate::db::DbConnection;
use crate::db::disputes::{self as store, Filter};
use crate::domain::dispute::{
    Channel, DisputeStatus, Handling, Outcome, Satisfaction, SubjectKind, mask_name, mask_phone,
};
use crate::domain::money::serde_yuan;
use crate::error::{AppError, FieldErrors};

/// Deadlines and retention of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisputeSettings {
    /// Working days to answer the consumer (Wuhan DB4201/T 688-2023: 1).
    pub respond_days: u32,
    /// Working days to close a case.
    pub close_days: u32,
    /// Years after a case is closed that names and phones are kept.
    pub retention_years: u32,
}

impl Default for DisputeSettings {
    fn default() -> Self {
        DisputeSettings {
            respond_days: 1,
            close_days: 7,
            retention_years: 3,
        }
    }
}

/// A case as a reader sees it: names and phones masked unless the reader
/// handles the case (the station, the staff of its unit).
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Dispute {
    pub id: i32,
    pub station_id: i32,
    pub unit_id: i32,
    #[schema(value_type = String)]
    pub channel: Channel,
    pub dispatch_ref: Option<String>,
    pub received_on: NaiveDate,
    /// Local time `HH:MM`.
    pub received_time: Option<String>,
    /// In full, masked (`张**`) or null once erased.
    pub consumer_name: Option<String>,
    /// In full, masked (`138****5678`) or null once erased.
    pub consumer_phone: Option<String>,
    /// Whether the name and phone shown are masked.
    pub personal_masked: bool,
    /// Whether the name and phone were erased after the retention period.
    pub personal_erased: bool,
    pub subject: String,
    #[schema(value_type = String)]
    pub subject_kind: SubjectKind,
    /// Amount in dispute, yuan with two decimals.
    #[serde(serialize_with = "serde_yuan::option")]
    #[schema(value_type = Option<String>, example = "199.00")]
    pub amount: Option<i64>,
    pub complaint: String,
    pub respond_by: NaiveDate,
    pub close_by: NaiveDate,
    pub responded_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>)]
    pub handling: Option<Handling>,
    pub handling_note: Option<String>,
    #[schema(value_type = Option<String>)]
    pub outcome: Option<Outcome>,
    /// 挽回经济损失, yuan with two decimals.
    #[serde(serialize_with = "serde_yuan::one")]
    #[schema(value_type = String, example = "50.00")]
    pub recovered: i64,
    pub handled_on: Option<NaiveDate>,
    pub followed_up_on: Option<NaiveDate>,
    #[schema(value_type = Option<String>)]
    pub satisfaction: Option<Satisfaction>,
    #[schema(value_type = String)]
    pub status: DisputeStatus,
    /// Not answered by `respond_by`, or not closed by `close_by`, as of today.
    pub overdue: bool,
    pub created_by: String,
    pub version: i32,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub updated_at: NaiveDateTime,
}

/// Whether a case is past a deadline at `today`.
pub fn is_overdue(row: &store::Dispute, today: NaiveDate) -> bool {
    row.status != DisputeStatus::Closed
        && (row.close_by < today || (row.responded_on.is_none() && row.respond_by < today))
}

impl Dispute {
    /// The case with names and phones in full (`full`) or masked.
    pub fn of(row: store::Dispute, unit_id: i32, full: bool, today: NaiveDate) -> Self {
        let overdue = is_overdue(&row, today);
        let (name, phone) = if full {
            (row.consumer_name, row.consumer_phone)
        } else {
            (
                row.consumer_name.as_deref().map(mask_name),
                row.consumer_phone.as_deref().map(mask_phone),
            )
        };
        Dispute {
            id: row.id,
            station_id: row.station_id,
            unit_id,
            channel: row.channel,
            dispatch_ref: row.dispatch_ref,
            received_on: row.received_on,
            received_time: row.received_time,
            consumer_name: name,
            consumer_phone: phone,
            personal_masked: !full,
            personal_erased: row.erased_at.is_some(),
            subject: row.subject,
            subject_kind: row.subject_kind,
            amount: row.amount_fen,
            complaint: row.complaint,
            respond_by: row.respond_by,
            close_by: row.close_by,
            responded_on: row.responded_on,
            handling: row.handling,
            handling_note: row.handling_note,
            outcome: row.outcome,
            recovered: row.recovered_fen,
            handled_on: row.handled_on,
            followed_up_on: row.followed_up_on,
            satisfaction: row.satisfaction,
            status: row.status,
            overdue,
            created_by: row.created_by,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }

    /// The case as `p` may see it.
    pub fn for_reader(p: &Principal, row: store::Dispute, unit_id: i32, today: NaiveDate) -> Self {
        let full = policy::sees_personal_info(p, row.station_id, unit_id);
        Dispute::of(row, unit_id, full, today)
    }

    /// The case as the audit log keeps it: always masked.
    pub fn for_audit(row: store::Dispute, unit_id: i32, today: NaiveDate) -> Self {
        Dispute::of(row, unit_id, false, today)
    }
}

fn not_found(id: i32) -> AppError {
    AppError::NotFound(format!("投诉记录 {id} 不存在"))
}

/// A case and the unit of its station, if `p` may read it.
fn readable(conn: &mut DbConnection, p: &Principal, id: i32) -> Result<(store::Dispute, i32), AppError> {
    let row = store::get(conn, id)?.ok_or_else(|| not_found(id))?;
    let station = crate::db::stations::get(conn, row.station_id)?.ok_or_else(|| not_found(id))?;
    policy::can_read_disputes(p, row.station_id, station.unit_id)?;
    Ok((row, station.unit_id))
}

pub fn get(conn: &mut DbConnection, ctx: &super::Ctx, p: &Principal, id: i32) -> Result<Dispute, AppError> {
    let (row, unit) = readable(conn, p, id)?;
    Ok(Dispute::for_reader(p, row, unit, ctx.today()))
}

/// Query string of the ledger list; parsed by hand so that a bad value is
/// reported by field name.
#[derive(Debug, Default, Clone, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ListQuery {
    #[param(value_type = Option<i32>, minimum = 1)]
    pub station_id: Option<String>,
    #[param(value_type = Option<i32>, minimum = 1)]
    pub unit_id: Option<String>,
    #[param(value_type = Option<Channel>)]
    pub channel: Option<String>,
    #[param(value_type = Option<DisputeStatus>)]
    pub status: Option<String>,
    /// Received on or after this day.
    #[param(value_type = Option<NaiveDate>)]
    pub from: Option<String>,
    /// Received on or before this day.
    #[param(value_type = Option<NaiveDate>)]
    pub to: Option<String>,
    /// Only cases past a deadline today (`true`).
    #[param(value_type = Option<bool>)]
    pub overdue: Option<String>,
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000000)]
    pub page: Option<String>,
    /// Items per page (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub per_page: Option<String>,
}

pub(crate) fn date_param(errors: &mut FieldErrors, field: &str, value: Option<String>) -> Option<NaiveDate> {
    let v = query_param(errors, field, value)?;
    match NaiveDate::parse_from_str(&v, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.add(field, "应为日期 YYYY-MM-DD");
            None
        }
    }
}

fn enum_param<T>(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<String>,
    parse: fn(&str) -> Option<T>,
    expected: String,
) -> Option<T> {
    let v = query_param(errors, field, value)?;
    let parsed = parse(&v);
    if parsed.is_none() {
        errors.add(field, format!("未知的值，可选：{expected}"));
    }
    parsed
}

/// The list's filters, checked and limited to what `p` may read.
pub(crate) fn filter_of(
    conn: &mut DbConnection,
    ctx: &super::Ctx,
    p: &Principal,
    query: ListQuery,
) -> Result<Filter, AppError> {
    let mut errors = FieldErrors::new();
    let station_id = int_param(&mut errors, "station_id", query.station_id, 1..=i32::MAX as i64).map(|s| s as i32);
    let unit_id = int_param(&mut errors, "unit_id", query.unit_id, 1..=i32::MAX as i64).map(|u| u as i32);
    let channel = enum_param(
        &mut errors,
        "channel",
        query.channel,
        Channel::parse,
        Channel::expected(),
    );
    let status = enum_param(
        &mut errors,
        "status",
        query.status,
        DisputeStatus::parse,
        DisputeStatus::expected(),
    );
    let from = date_param(&mut errors, "from", query.from);
    let to = date_param(&mut errors, "to", query.to);
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.add("to", "结束日期不能早于开始日期");
    }
    let overdue = match query_param(&mut errors, "overdue", query.overdue).as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => {
            errors.add("overdue", "应为 true 或 false");
            false
        }
    };
    errors.into_result()?;
    let own = policy::own_station(p)?;
    if let Some(s) = station_id {
        let station = crate::db::stations::get(conn, s)?
            .ok_or_else(|| FieldErrors::single("station_id", format!("服务站 {s} 不存在")))?;
        policy::can_read_disputes(p, s, station.unit_id)?;
    }
    if let Some(u) = unit_id {
        if own.is_some() {
            return Err(AppError::Forbidden("无权查看其他服务站的台账".into()));
        }
        policy::can_read_unit(p, u)?;
    }
    Ok(Filter {
        units: match own {
            Some(_) => None,
            None => policy::read_scope(p).units().map(<[i32]>::to_vec),
        },
        station_id: own.or(station_id),
        unit_id,
        channel,
        status,
        from,
        to,
        overdue_at: overdue.then(|| ctx.today()),
    })
}

/// Cases `p` may read, newest received first, a page at a time.
pub fn list(
    conn: &mut DbConnection,
    ctx: &super::Ctx,
    p: &Principal,
    mut query: ListQuery,
) -> Result<Page<Dispute>, AppError> {
    let mut errors = FieldErrors::new();
    let (page, per_page) = paging(&mut errors, query.page.take(), query.per_page.take());
    errors.into_result()?;
    let filter = filter_of(conn, ctx, p, query)?;
    let (rows, total) = store::list(conn, &filter, page, per_page)?;
    let today = ctx.today();
    let items = rows
        .into_iter()
        .map(|(row, unit)| Dispute::for_reader(p, row, unit, today))
        .collect();
    Ok(Page {
        items,
        total: Some(total),
        total_exact: true,
        page,
        per_page,
        next_after: None,
    })
}

/// The names of these stations, by id (the users page names the station
/// an account is bound to).
pub fn station_names(conn: &mut DbConnection, ids: &[i32]) -> Result<std::collections::HashMap<i32, String>, AppError> {
    Ok(store::station_names(conn, ids)?)
}

/// Open dispatches of `unit` past a deadline at `today` (the county lead's
/// review queue), as `p` may see them.
pub fn overdue_dispatches(
    conn: &mut DbConnection,
    p: &Principal,
    unit: i32,
    today: NaiveDate,
) -> Result<Vec<Dispute>, AppError> {
    policy::can_read_unit(p, unit)?;
    let filter = Filter {
        unit_id: Some(unit),
        overdue_at: Some(today),
        ..Filter::default()
    };
    Ok(store::all(conn, &filter)?
        .into_iter()
        .map(|(row, unit)| Dispute::for_reader(p, row, unit, today))
        .collect())
}
