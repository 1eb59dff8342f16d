//! Use cases of the station registry (名录): register ([`create`]), read
//! and list, edit ([`update`]) and move through statuses
//! ([`change_status`]).

mod edit;
mod export;
mod history;
mod import;
mod input;
mod status;

pub use edit::{create, update};
pub use export::{ExportQuery, export_register, sheet_format};
pub use history::{StatusHistoryPage, StatusHistoryQuery, status_history};
pub use import::{ImportError, ImportReport, import, import_with_progress};
pub use input::{StationInput, StationPatch};
pub use status::{StatusInput, change_status};

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::units::Unit;
use super::{Page, clean, int_param, paging, query_param};
use crate::auth::Principal;
use crate::auth::policy;
use crate::db::DbConnection;
use crate::db::stations::{self as store, Filter};
use crate::db::units as units_store;
use crate::domain::{Category, StationStatus};
use crate::error::{AppError, FieldErrors};

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Station {
    pub id: i32,
    pub unit_id: i32,
    pub name: String,
    pub host_business: String,
    pub credit_code: Option<String>,
    #[schema(value_type = String)]
    pub category: Category,
    pub address: String,
    pub liaison_name: String,
    pub liaison_phone: String,
    pub standard_id: String,
    #[schema(value_type = String)]
    pub status: StationStatus,
    pub established_on: Option<NaiveDate>,
    pub revoked_on: Option<NaiveDate>,
    pub version: i32,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub updated_at: NaiveDateTime,
    /// Whether the latest counted visit found every required item met;
    /// null before the first visit.
    pub compliant: Option<bool>,
    pub last_visit_on: Option<NaiveDate>,
    /// The liaison's email: guidance notices and deadline reminders go there.
    #[schema(format = "email", max_length = 254)]
    pub liaison_email: Option<String>,
}

impl From<store::Station> for Station {
    fn from(row: store::Station) -> Self {
        Station {
            id: row.id,
            unit_id: row.unit_id,
            name: row.name,
            host_business: row.host_business,
            credit_code: row.credit_code,
            category: row.category,
            address: row.address,
            liaison_name: row.liaison_name,
            liaison_phone: row.liaison_phone,
            standard_id: row.standard_id,
            status: row.status,
            established_on: row.established_on,
            revoked_on: row.revoked_on,
            version: row.version,
            created_at: row.created_at,
            updated_at: row.updated_at,
            compliant: row.compliant,
            last_visit_on: row.last_visit_on,
            liaison_email: row.liaison_email,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct StatusChange {
    pub id: i32,
    pub station_id: i32,
    #[schema(value_type = String)]
    pub from_status: StationStatus,
    #[schema(value_type = String)]
    pub to_status: StationStatus,
    pub reason: String,
    pub effective_on: NaiveDate,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub created_at: NaiveDateTime,
    /// The visit that made the change, if a visit did.
    pub visit_id: Option<i32>,
}

impl From<store::StatusChange> for StatusChange {
    fn from(row: store::StatusChange) -> Self {
        StatusChange {
            id: row.id,
            station_id: row.station_id,
            from_status: row.from_status,
            to_status: row.to_status,
            reason: row.reason,
            effective_on: row.effective_on,
            created_at: row.created_at,
            visit_id: row.visit_id,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StationDetail {
    #[serde(flatten)]
    pub station: Station,
    pub unit: Unit,
    /// The newest status changes (at most 50), oldest of them first.
    pub status_history: Vec<StatusChange>,
    /// When there are older changes: the cursor for
    /// `GET /api/stations/{id}/status-history?before=`; else null.
    pub status_history_next_before: Option<i32>,
}

fn not_found(id: i32) -> AppError {
    AppError::NotFound(format!("服务站 {id} 不存在"))
}

fn stale(current: &store::Station) -> AppError {
    AppError::Conflict {
        message: format!("服务站已被他人修改（当前版本 {}），请刷新后重试", current.version),
        current: serde_json::to_value(Station::from(current.clone())).ok(),
    }
}

fn unit_must_exist(conn: &mut DbConnection, unit_id: i32) -> Result<units_store::Unit, AppError> {
    units_store::get(conn, unit_id)?.ok_or_else(|| FieldErrors::single("unit_id", format!("单位 {unit_id} 不存在")))
}

fn detail(conn: &mut DbConnection, station: store::Station) -> Result<StationDetail, AppError> {
    let unit = unit_must_exist(conn, station.unit_id)?.into();
    let page = history::newest(conn, station.id, history::IN_DETAIL)?;
    let mut status_history = page.items;
    status_history.reverse();
    Ok(StationDetail {
        station: station.into(),
        unit,
        status_history,
        status_history_next_before: page.next_before,
    })
}

pub fn get(conn: &mut DbConnection, p: &Principal, id: i32) -> Result<StationDetail, AppError> {
    let station = store::get(conn, id)?.ok_or_else(|| not_found(id))?;
    policy::can_read_station(p, station.id, station.unit_id)?;
    detail(conn, station)
}
/// Query string of the station list; parsed by hand so that a bad value is
/// reported by field name.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ListQuery {
    #[param(value_type = Option<i32>, minimum = 1)]
    pub unit_id: Option<String>,
    #[param(value_type = Option<StationStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<Category>)]
    pub category: Option<String>,
    /// Text in the name or the host business.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000000)]
    pub page: Option<String>,
    /// Items per page (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub per_page: Option<String>,
    /// Keyset pagination: stations with an id above this one (the previous
    /// page's `next_after`); cannot be combined with `page`.
    #[param(value_type = Option<i32>, minimum = 0)]
    pub after: Option<String>,
}

/// The list's filters, checked (bad values added to `errors` by field) and
/// limited to what the principal may read.
fn filter_of(errors: &mut FieldErrors, p: &Principal, query: &mut ListQuery) -> Result<Filter, AppError> {
    let unit_id = int_param(errors, "unit_id", query.unit_id.take(), 1..=i32::MAX as i64);
    let status = query_param(errors, "status", query.status.take()).and_then(|s| {
        let parsed = StationStatus::parse(&s);
        if parsed.is_none() {
            errors.add("status", format!("未知的状态，可选：{}", StationStatus::expected()));
        }
        parsed
    });
    let category = query_param(errors, "category", query.category.take()).and_then(|c| {
        let parsed = Category::parse(&c);
        if parsed.is_none() {
            errors.add("category", format!("未知的类别，可选：{}", Category::expected()));
        }
        parsed
    });
    let q = clean(query.q.take());
    if q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        errors.add("q", "搜索词不超过100个字符");
    }
    if let Some(u) = unit_id {
        policy::can_read_unit(p, u as i32)?;
    }
    Ok(Filter {
        units: policy::read_scope(p).units().map(<[i32]>::to_vec),
        unit_id: unit_id.map(|u| u as i32),
        status,
        category,
        q,
    })
}

/// Stations the principal may read, filtered and paginated.
pub fn list(conn: &mut DbConnection, p: &Principal, mut query: ListQuery) -> Result<Page<Station>, AppError> {
    let mut errors = FieldErrors::new();
    let page_given = query.page.is_some();
    let (page, per_page) = paging(&mut errors, query.page.take(), query.per_page.take());
    let after = int_param(&mut errors, "after", query.after.take(), 0..=i32::MAX as i64).map(|a| a as i32);
    if after.is_some() && page_given {
        errors.add("after", "after 与 page 只能用其一");
    }
    let filter = filter_of(&mut errors, p, &mut query);
    errors.into_result()?;
    let filter = filter?;
    let (rows, total, total_exact) = store::list(conn, &filter, page, per_page, after)?;
    let items: Vec<Station> = rows.into_iter().map(Station::from).collect();
    let next_after = (items.len() as i64 == per_page)
        .then(|| items.last().map(|s| s.id))
        .flatten();
    Ok(Page {
        items,
        total,
        total_exact,
        page,
        per_page,
        next_after,
    })
}
