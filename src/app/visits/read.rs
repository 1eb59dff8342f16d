//! Reading visits: one visit, a station's history.

use super::view::{self, VisitSummary, VisitView};
use super::{station_or_404, visit_or_404};
use crate::app::Ctx;
use crate::auth::Principal;
use crate::auth::policy;
use crate::db::DbConnection;
use crate::db::visits as store;
use crate::error::AppError;

pub fn get(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, id: i32) -> Result<VisitView, AppError> {
    let visit = visit_or_404(conn, id)?;
    let station = station_or_404(conn, visit.station_id)?;
    policy::can_read_unit(p, station.unit_id)?;
    view::build(ctx, conn, visit, Vec::new())
}

/// Every visit of a station, newest first (voided ones included, marked).
pub fn list_for_station(
    conn: &mut DbConnection,
    p: &Principal,
    station_id: i32,
) -> Result<Vec<VisitSummary>, AppError> {
    let station = station_or_404(conn, station_id)?;
    policy::can_read_unit(p, station.unit_id)?;
    Ok(store::for_station(conn, station_id)?
        .into_iter()
        .map(VisitSummary::from)
        .collect())
}
