//! The guidance list and the visit records as spreadsheets.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::app::{Ctx, exports};
use crate::error::AppError;
use crate::http::auth::Auth;

handlers! {
    export_guidance,
    export_visits,
}

/// The guidance list (整改意见) as a spreadsheet, with the list's filters:
/// every matching row the caller may read (no paging), in the order raised.
/// XLSX with a title row (the day overdue is judged on), Chinese headers, a
/// frozen header row, widths and filters, overdue rows marked "▲"; or CSV
/// (UTF-8 with BOM). Text a spreadsheet would run as a formula is
/// neutralised.
#[utoipa::path(get, path = "/api/guidance/export", tag = "visits", params(exports::GuidanceExportQuery),
    responses((status = 200, description = "整改意见清单", content(
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (Vec<u8> = "text/csv")))))]
pub(super) async fn export_guidance(
    req: HttpRequest,
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<exports::GuidanceExportQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let (format, file, _) = ctx
        .run(move |conn, ctx| exports::export_guidance(conn, ctx, &p, query))
        .await?;
    super::stations::sheet_response(&req, "整改意见清单", format, file)
}

/// Visit records (检查记录) as a spreadsheet: every visit the caller may
/// read that matches the filters (a unit, a station's history, a kind, a
/// date range), in the order recorded, voided ones included and noted,
/// non-compliant ones marked "▲", with the items each found failing. XLSX
/// (score as a percent format, dates as dates) or CSV (UTF-8 with BOM).
#[utoipa::path(get, path = "/api/visits/export", tag = "visits", params(exports::VisitExportQuery),
    responses((status = 200, description = "检查记录", content(
        (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (Vec<u8> = "text/csv")))))]
pub(super) async fn export_visits(
    req: HttpRequest,
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<exports::VisitExportQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let (format, file, _) = ctx
        .run(move |conn, ctx| exports::export_visits(conn, ctx, &p, query))
        .await?;
    super::stations::sheet_response(&req, "检查记录", format, file)
}
