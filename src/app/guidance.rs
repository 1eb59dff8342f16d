//! Listing follow-up guidance: open, overdue (as of a date) or resolved.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::{Ctx, Page, int_param, paging, query_param};
use crate::auth::Principal;
use crate::auth::policy;
use crate::db::DbConnection;
use crate::db::guidance::{self as store, Filter, StatusFilter};
use crate::db::stations as station_store;
use crate::domain::GuidanceStatus;
use crate::error::{AppError, FieldErrors};

/// Follow-up guidance (整改意见) raised by a visit for one item.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Guidance {
    pub id: i32,
    pub station_id: i32,
    /// The visit that raised it.
    pub raised_by: i32,
    pub item_code: String,
    pub instruction: String,
    pub due_on: NaiveDate,
    #[schema(value_type = String)]
    pub status: GuidanceStatus,
    pub resolved_by: Option<i32>,
    pub resolved_on: Option<NaiveDate>,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub updated_at: NaiveDateTime,
}

impl From<store::Guidance> for Guidance {
    fn from(g: store::Guidance) -> Self {
        Guidance {
            id: g.id,
            station_id: g.station_id,
            raised_by: g.raised_by,
            item_code: g.item_code,
            instruction: g.instruction,
            due_on: g.due_on,
            status: g.status,
            resolved_by: g.resolved_by,
            resolved_on: g.resolved_on,
            created_at: g.created_at,
            updated_at: g.updated_at,
        }
    }
}

/// A guidance row with the station it concerns.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct GuidanceRow {
    #[serde(flatten)]
    pub guidance: Guidance,
    pub station_name: String,
    pub unit_id: i32,
    /// The station's own checklist: the item's title is the one it gives.
    pub standard_id: String,
}

impl From<store::GuidanceRow> for GuidanceRow {
    fn from(row: store::GuidanceRow) -> Self {
        GuidanceRow {
            guidance: row.guidance.into(),
            station_name: row.station_name,
            unit_id: row.unit_id,
            standard_id: row.standard_id,
        }
    }
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct GuidanceQuery {
    /// `open`, `overdue` (open and past due as of `as_of`) or `resolved`.
    #[param(value_type = Option<String>, pattern = "^(open|overdue|resolved)$")]
    pub status: Option<String>,
    #[param(value_type = Option<i32>, minimum = 1)]
    pub unit_id: Option<String>,
    #[param(value_type = Option<i32>, minimum = 1)]
    pub station_id: Option<String>,
    /// The day "overdue" is judged on (YYYY-MM-DD); today when left out.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub as_of: Option<String>,
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000000)]
    pub page: Option<String>,
    /// Items per page (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub per_page: Option<String>,
    /// Keyset pagination: the rows after this guidance in the list (the
    /// previous page's `next_after`); cannot be combined with `page`.
    #[param(value_type = Option<i32>, minimum = 1)]
    pub after: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GuidanceItem {
    #[serde(flatten)]
    pub row: GuidanceRow,
    /// Open and past its due date as of `as_of`.
    pub overdue: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct GuidancePage {
    pub as_of: NaiveDate,
    #[serde(flatten)]
    pub page: Page<GuidanceItem>,
}

/// The filters of a guidance list or export, as sent.
#[derive(Debug, Default)]
pub(crate) struct FilterParams {
    pub status: Option<String>,
    pub unit_id: Option<String>,
    pub station_id: Option<String>,
    pub as_of: Option<String>,
}

/// Checks the filters (adding to `errors`, which may hold others already),
/// then that the principal may read the unit or station asked for; the
/// filter is limited to the principal's scope.
pub(crate) fn filter_of(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    mut errors: FieldErrors,
    q: FilterParams,
) -> Result<Filter, AppError> {
    let status = match query_param(&mut errors, "status", q.status).as_deref() {
        None => None,
        Some(s) if StatusFilter::parse(s).is_some() => StatusFilter::parse(s),
        Some(_) => {
            errors.add("status", "应为 open、overdue 或 resolved");
            None
        }
    };
    let unit_id = int_param(&mut errors, "unit_id", q.unit_id, 1..=i64::from(i32::MAX));
    let station_id = int_param(&mut errors, "station_id", q.station_id, 1..=i64::from(i32::MAX));
    let as_of = match query_param(&mut errors, "as_of", q.as_of) {
        None => ctx.today(),
        Some(d) => match NaiveDate::parse_from_str(&d, "%Y-%m-%d") {
            Ok(d) => d,
            Err(_) => {
                errors.add("as_of", "日期格式应为 YYYY-MM-DD");
                ctx.today()
            }
        },
    };
    errors.into_result()?;
    let own = policy::own_station(p)?;
    if let Some(u) = unit_id {
        if own.is_some() {
            return Err(AppError::Forbidden("无权查看其他服务站的整改意见".into()));
        }
        policy::can_read_unit(p, u as i32)?;
    }
    if let Some(s) = station_id {
        let station =
            station_store::get(conn, s as i32)?.ok_or_else(|| AppError::NotFound(format!("服务站 {s} 不存在")))?;
        policy::can_read_station(p, station.id, station.unit_id)?;
    }
    Ok(Filter {
        // A station account: its own station's guidance, nothing else.
        units: match own {
            Some(_) => None,
            None => policy::read_scope(p).units().map(<[i32]>::to_vec),
        },
        status,
        unit_id: unit_id.map(|u| u as i32),
        station_id: own.or(station_id.map(|s| s as i32)),
        as_of,
    })
}

/// Guidance in the principal's scope, most urgent first; by page number,
/// or by key (`after` = the previous page's `next_after`), which costs the
/// same however deep. The count stops at 10,000 (`total_exact` false).
pub fn list(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, q: GuidanceQuery) -> Result<GuidancePage, AppError> {
    let mut errors = FieldErrors::new();
    let page_given = q.page.is_some();
    let (page, per_page) = paging(&mut errors, q.page, q.per_page);
    let after = int_param(&mut errors, "after", q.after, 1..=i64::from(i32::MAX)).map(|a| a as i32);
    if after.is_some() && page_given {
        errors.add("after", "after 与 page 只能用其一");
    }
    let params = FilterParams {
        status: q.status,
        unit_id: q.unit_id,
        station_id: q.station_id,
        as_of: q.as_of,
    };
    let filter = filter_of(conn, ctx, p, errors, params)?;
    let after = match after {
        Some(id) => match store::get(conn, id)? {
            Some(g) => Some((g.due_on, g.id)),
            None => return Err(FieldErrors::single("after", format!("整改意见 {id} 不存在"))),
        },
        None => None,
    };
    let as_of = filter.as_of;
    let (rows, total, total_exact) = store::list(conn, &filter, page, per_page, after)?;
    let next_after = (rows.len() as i64 == per_page)
        .then(|| rows.last().map(|g| g.guidance.id))
        .flatten();
    let items = rows
        .into_iter()
        .map(|row| GuidanceItem {
            overdue: row.guidance.status == GuidanceStatus::Open && row.guidance.due_on < as_of,
            row: row.into(),
        })
        .collect();
    Ok(GuidancePage {
        as_of,
        page: Page {
            items,
            total,
            total_exact,
            page,
            per_page,
            next_after,
        },
    })
}
