//! The outbox of every kind of email, and the signed-in user's choice of
//! optional notices (digests and reminders).

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::id;
use crate::app::Ctx;
use crate::app::notices::{deliveries, optout};
use crate::error::AppError;
use crate::http::auth::Auth;
use crate::http::json::Json;

handlers! {
    list_all_deliveries,
    retry_any_delivery,
    get_notice_preferences,
    set_notice_preferences,
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct DeliveriesQuery {
    /// Only this kind of email.
    #[param(value_type = Option<String>, pattern = "^(circular|guidance_notice|reminder|digest)$")]
    kind: Option<String>,
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000000)]
    page: Option<String>,
    /// Items per page (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    per_page: Option<String>,
}

/// Every email of the outbox (circulars, guidance notices, reminders,
/// digests), newest first, with where each stands (admins).
#[utoipa::path(get, path = "/api/deliveries", tag = "circulars", operation_id = "list_all_deliveries",
    params(DeliveriesQuery),
    responses((status = 200, description = "一页投递记录", body = crate::app::Page<crate::app::circulars::Delivery>)))]
pub(super) async fn list_all_deliveries(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<DeliveriesQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let page = ctx
        .run(move |conn, _| deliveries::list(conn, &p, q.kind, q.page, q.per_page))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Puts a failed email of any kind back in the queue (admins; 409 unless it failed).
#[utoipa::path(post, path = "/api/deliveries/{id}/retry", tag = "circulars", operation_id = "retry_any_delivery",
    params(("id" = i32, Path, description = "投递记录编号")),
    responses((status = 200, description = "已重新排队", body = crate::app::circulars::Delivery)))]
pub(super) async fn retry_any_delivery(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let did = id(&path, "投递记录")?;
    let d = ctx.run(move |conn, ctx| deliveries::retry(conn, ctx, &p, did)).await?;
    Ok(HttpResponse::Ok().json(d))
}

/// Which optional emails the signed-in user receives.
#[utoipa::path(get, path = "/api/me/notices", tag = "users", operation_id = "get_notice_preferences",
    responses((status = 200, description = "邮件提醒设置", body = optout::Preferences)))]
pub(super) async fn get_notice_preferences(ctx: web::Data<Ctx>, Auth(p): Auth) -> Result<HttpResponse, AppError> {
    let prefs = ctx.run(move |conn, _| optout::preferences(conn, &p)).await?;
    Ok(HttpResponse::Ok().json(prefs))
}

/// Turns the weekly digest and overdue reminders on or off for the
/// signed-in user (circulars and notices about deadlines stay on).
#[utoipa::path(put, path = "/api/me/notices", tag = "users", operation_id = "set_notice_preferences",
    request_body = optout::Preferences,
    responses((status = 200, description = "已保存", body = optout::Preferences)))]
pub(super) async fn set_notice_preferences(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    Json(prefs): Json<optout::Preferences>,
) -> Result<HttpResponse, AppError> {
    let prefs = ctx.run(move |conn, _| optout::set_preferences(conn, &p, prefs)).await?;
    Ok(HttpResponse::Ok().json(prefs))
}
