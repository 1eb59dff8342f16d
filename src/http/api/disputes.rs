//! The dispute ledger (台账): cases per station, 12315 dispatches, the
//! figures, the audited reveal and the ledger export.

use actix_web::{HttpResponse, web};

use super::id;
use crate::app::{Ctx, disputes};
use crate::error::AppError;
use crate::http::auth::Auth;
use crate::http::json::Json;

handlers! {
    create_dispute,
    list_disputes,
    dispute_stats,
    export_disputes,
    get_dispute,
    update_dispute,
    reveal_dispute,
}

/// Records a case at a station: its own account (or the bureau). A case
/// with `channel` `dispatch` is a 12315 dispatch: the bureau or the county
/// lead of the station's unit assigns it. `respond_by` and `close_by` are
/// counted in working days from `received_on` (409 for a planned or revoked
/// station; 422 naming the field for bad input).
#[utoipa::path(post, path = "/api/stations/{id}/disputes", tag = "disputes",
    params(("id" = i32, Path, description = "服务站编号")),
    request_body = disputes::DisputeInput,
    responses((status = 201, description = "已登记", body = disputes::Dispute,
        headers(("Location" = String, description = "新投诉记录的地址"))),
        (status = 409, description = "服务站未建成或已撤销", body = crate::http::error::ErrorBody)))]
pub(super) async fn create_dispute(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    Json(input): Json<disputes::DisputeInput>,
) -> Result<HttpResponse, AppError> {
    let station = id(&path, "服务站")?;
    let case = ctx
        .run(move |conn, ctx| disputes::create(conn, ctx, &p, station, input))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/disputes/{}", case.id)))
        .json(case))
}

/// Cases the caller may read, newest received first: a station account its
/// own, others their units'. Consumers' names and phones are masked except
/// for the station and the staff of its unit.
#[utoipa::path(get, path = "/api/disputes", tag = "disputes", params(disputes::ListQuery),
    responses((status = 200, description = "一页投诉记录", body = crate::app::Page<disputes::Dispute>)))]
pub(super) async fn list_disputes(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<disputes::ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page = ctx.run(move |conn, ctx| disputes::list(conn, ctx, &p, query)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The ledger's figures for a year up to `as_of`: per unit the caller may
/// read (or one station) and the totals: received, handled, settled,
/// followed up, satisfied, answered on time, recovered (yuan), and the
/// rates (percent with one decimal, rounded half up; null over nothing).
#[utoipa::path(get, path = "/api/disputes/stats", tag = "disputes", params(disputes::StatsQuery),
    responses((status = 200, description = "台账统计", body = disputes::Figures)))]
pub(super) async fn dispute_stats(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<disputes::StatsQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let figures = ctx.run(move |conn, ctx| disputes::stats(conn, ctx, &p, query)).await?;
    Ok(HttpResponse::Ok().json(figures))
}

/// The ledger as XLSX (default) or CSV with the list's filters; names and
/// phones always masked; overdue cases marked ▲.
#[utoipa::path(get, path = "/api/disputes/export", tag = "disputes", params(disputes::ExportQuery),
    responses((status = 200, description = "投诉受理台账", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
pub(super) async fn export_disputes(
    req: actix_web::HttpRequest,
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<disputes::ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let (format, file) = ctx
        .run(move |conn, ctx| disputes::export_ledger(conn, ctx, &p, query))
        .await?;
    super::stations::sheet_response(&req, "投诉受理台账", format, file)
}

/// One case.
#[utoipa::path(get, path = "/api/disputes/{id}", tag = "disputes",
    params(("id" = i32, Path, description = "投诉记录编号")),
    responses((status = 200, description = "投诉记录", body = disputes::Dispute)))]
pub(super) async fn get_dispute(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id(&path, "投诉记录")?;
    let case = ctx.run(move |conn, ctx| disputes::get(conn, ctx, &p, id)).await?;
    Ok(HttpResponse::Ok().json(case))
}

/// Changes the fields sent (handling, outcome, follow-up …); `version`
/// must be the one read (else 409 with the current record). The station
/// itself, or the bureau.
#[utoipa::path(patch, path = "/api/disputes/{id}", tag = "disputes",
    params(("id" = i32, Path, description = "投诉记录编号")),
    request_body = disputes::DisputeInput,
    responses((status = 200, description = "已修改", body = disputes::Dispute),
        (status = 409, description = "他人已先修改：error.current 为当前记录", body = crate::http::error::ErrorBody)))]
pub(super) async fn update_dispute(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    Json(patch): Json<disputes::DisputeInput>,
) -> Result<HttpResponse, AppError> {
    let id = id(&path, "投诉记录")?;
    let case = ctx
        .run(move |conn, ctx| disputes::update(conn, ctx, &p, id, patch))
        .await?;
    Ok(HttpResponse::Ok().json(case))
}

/// The consumer's name and phone in full, for the bureau (admin), with a
/// stated reason; audited (who, when, why). 409 once erased.
#[utoipa::path(post, path = "/api/disputes/{id}/reveal", tag = "disputes",
    params(("id" = i32, Path, description = "投诉记录编号")),
    request_body = disputes::RevealInput,
    responses((status = 200, description = "完整的消费者姓名与电话", body = disputes::Revealed),
        (status = 409, description = "个人信息已按保存期限删除", body = crate::http::error::ErrorBody)))]
pub(super) async fn reveal_dispute(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    Json(input): Json<disputes::RevealInput>,
) -> Result<HttpResponse, AppError> {
    let id = id(&path, "投诉记录")?;
    let revealed = ctx.run(move |conn, _| disputes::reveal(conn, &p, id, input)).await?;
    Ok(HttpResponse::Ok().json(revealed))
}
