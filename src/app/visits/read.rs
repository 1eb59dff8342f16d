//! Reading visits: one visit, a station's history page by page.

use serde::{Deserialize, Serialize};

use super::view::{self, VisitSummary, VisitView};
use super::{station_or_404, visit_or_404};
use crate::app::{Ctx, int_param};
use crate::auth::Principal;
use crate::auth::policy;
use crate::db::DbConnection;
use crate::db::visits as store;
use crate::error::{AppError, FieldErrors};

/// Visits per page of a station's history, and the default.
pub const MAX_VISITS_PER_PAGE: i64 = 100;

pub fn get(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, id: i32) -> Result<VisitView, AppError> {
    let visit = visit_or_404(conn, id)?;
    let station = station_or_404(conn, visit.station_id)?;
    policy::can_read_station(p, station.id, station.unit_id)?;
    view::build(ctx, conn, visit, Vec::new())
}

/// Query string of a station's visit history; parsed by hand so that a bad
/// value is reported by field name.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct VisitListQuery {
    /// Visits per page (default and most 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Keyset pagination: the visits after this one in the list (the
    /// previous page's `next_before`, a visit of this station).
    #[param(value_type = Option<i32>, minimum = 1)]
    pub before: Option<String>,
}

/// One page of a station's visits, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VisitPage {
    pub items: Vec<VisitSummary>,
    /// Cursor for the next page (`?before=`); null on the last page.
    pub next_before: Option<i32>,
}

/// A station's visits, newest first (voided ones included, marked), at
/// most `limit` per page; `before` continues after a visit of a previous
/// page. The cost of a page does not grow with the station's history.
pub fn list_for_station(
    conn: &mut DbConnection,
    p: &Principal,
    station_id: i32,
    query: VisitListQuery,
) -> Result<VisitPage, AppError> {
    let mut errors = FieldErrors::new();
    let limit = int_param(&mut errors, "limit", query.limit, 1..=MAX_VISITS_PER_PAGE).unwrap_or(MAX_VISITS_PER_PAGE);
    let before = int_param(&mut errors, "before", query.before, 1..=i64::from(i32::MAX));
    errors.into_result()?;
    let station = station_or_404(conn, station_id)?;
    policy::can_read_station(p, station.id, station.unit_id)?;
    let cursor = match before {
        Some(id) => match store::get(conn, id as i32)? {
            Some(v) if v.station_id == station_id => Some((v.visited_on, v.id)),
            _ => return Err(FieldErrors::single("before", "不是该服务站的检查记录")),
        },
        None => None,
    };
    let items: Vec<VisitSummary> = store::for_station(conn, station_id, cursor, limit)?
        .into_iter()
        .map(VisitSummary::from)
        .collect();
    let next_before = (items.len() as i64 == limit)
        .then(|| items.last().map(|v| v.id))
        .flatten();
    Ok(VisitPage { items, next_before })
}
