//! A station's status history, a page at a time (keyset, newest first):
//! the station page and its JSON carry the newest changes only, so their
//! cost does not grow with the station's history.

use serde::{Deserialize, Serialize};

use super::{StatusChange, not_found};
use crate::app::int_param;
use crate::auth::Principal;
use crate::auth::policy;
use crate::db::DbConnection;
use crate::db::stations as store;
use crate::error::{AppError, FieldErrors};

/// Status changes shown with the station itself.
pub(super) const IN_DETAIL: i64 = 50;
/// Status changes per page, and the default.
pub const MAX_PER_PAGE: i64 = 100;

/// Query string of a station's status history; parsed by hand so that a
/// bad value is reported by field name.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct StatusHistoryQuery {
    /// Changes per page (default and most 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Keyset pagination: the changes older than this one (the previous
    /// page's `next_before`, or the station's `status_history_next_before`).
    #[param(value_type = Option<i32>, minimum = 1)]
    pub before: Option<String>,
}

/// One page of a station's status changes, newest first.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatusHistoryPage {
    pub items: Vec<StatusChange>,
    /// Cursor for the next page (`?before=`); null on the last page.
    pub next_before: Option<i32>,
}

/// The newest `limit` changes older than `before`, with the next cursor.
fn page(
    conn: &mut DbConnection,
    station_id: i32,
    before: Option<i32>,
    limit: i64,
) -> Result<StatusHistoryPage, AppError> {
    // One more than asked: a full page says whether another follows.
    let mut rows = store::status_history(conn, station_id, before, limit + 1)?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let items: Vec<StatusChange> = rows.into_iter().map(StatusChange::from).collect();
    let next_before = more.then(|| items.last().map(|c| c.id)).flatten();
    Ok(StatusHistoryPage { items, next_before })
}

/// The newest `limit` changes of a station (no access check: the caller
/// read the station).
pub(super) fn newest(conn: &mut DbConnection, station_id: i32, limit: i64) -> Result<StatusHistoryPage, AppError> {
    page(conn, station_id, None, limit)
}

/// A station's status changes, newest first, a page at a time.
pub fn status_history(
    conn: &mut DbConnection,
    p: &Principal,
    station_id: i32,
    q: StatusHistoryQuery,
) -> Result<StatusHistoryPage, AppError> {
    let mut errors = FieldErrors::new();
    let limit = int_param(&mut errors, "limit", q.limit, 1..=MAX_PER_PAGE).unwrap_or(MAX_PER_PAGE);
    let before = int_param(&mut errors, "before", q.before, 1..=i64::from(i32::MAX)).map(|b| b as i32);
    errors.into_result()?;
    let station = store::get(conn, station_id)?.ok_or_else(|| not_found(station_id))?;
    policy::can_read_unit(p, station.unit_id)?;
    page(conn, station_id, before, limit)
}
