//! Users, tokens, `me`, the audit log and the review queue.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::id;
use crate::app::{Ctx, audit, review, users};
use crate::error::AppError;
use crate::http::auth::Auth;
use crate::http::json::Json;

handlers! {
    get_me,
    list_users,
    create_user,
    get_user,
    update_user,
    reset_user_password,
    list_tokens,
    create_token,
    revoke_token,
    audit_log,
    review_queue,
    acknowledge_review,
}

/// Who is calling, with which role and units.
#[utoipa::path(get, path = "/api/me", tag = "users",
    responses((status = 200, description = "当前用户", body = users::Me)))]
pub(super) async fn get_me(ctx: web::Data<Ctx>, Auth(p): Auth) -> Result<HttpResponse, AppError> {
    let me = ctx.run(move |conn, _| users::me(conn, &p)).await?;
    Ok(HttpResponse::Ok().json(me))
}

/// All accounts (admins).
#[utoipa::path(get, path = "/api/users", tag = "users",
    responses((status = 200, description = "用户", body = super::Items<users::UserView>)))]
pub(super) async fn list_users(ctx: web::Data<Ctx>, Auth(p): Auth) -> Result<HttpResponse, AppError> {
    let items = ctx.run(move |conn, _| users::list(conn, &p)).await?;
    Ok(HttpResponse::Ok().json(super::Items { items }))
}

/// Creates an account (admins).
#[utoipa::path(post, path = "/api/users", tag = "users", request_body = users::UserInput,
    responses((status = 201, description = "已创建", body = users::UserView,
        headers(("Location" = String, description = "用户的地址")))))]
pub(super) async fn create_user(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    Json(input): Json<users::UserInput>,
) -> Result<HttpResponse, AppError> {
    let u = ctx.run(move |conn, _| users::create(conn, &p, input)).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/users/{}", u.user.id)))
        .json(u))
}

#[utoipa::path(get, path = "/api/users/{id}", tag = "users", params(("id" = i32, Path, description = "用户编号")),
    responses((status = 200, description = "用户", body = users::UserView)))]
pub(super) async fn get_user(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let uid = id(&path, "用户")?;
    let u = ctx.run(move |conn, _| users::get(conn, &p, uid)).await?;
    Ok(HttpResponse::Ok().json(u))
}

/// Changes an account (admins; anyone their own password).
#[utoipa::path(patch, path = "/api/users/{id}", tag = "users", params(("id" = i32, Path, description = "用户编号")),
    request_body = users::UserInput,
    responses((status = 200, description = "已修改", body = users::UserView)))]
pub(super) async fn update_user(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    Json(input): Json<users::UserInput>,
) -> Result<HttpResponse, AppError> {
    let uid = id(&path, "用户")?;
    let u = ctx.run(move |conn, _| users::update(conn, &p, uid, input)).await?;
    Ok(HttpResponse::Ok().json(u))
}

/// Gives an account a new random password (admins; not their own): it is
/// in this answer only. The account's sessions and API tokens end.
#[utoipa::path(post, path = "/api/users/{id}/password-reset", tag = "users",
    params(("id" = i32, Path, description = "用户编号")),
    responses((status = 200, description = "新密码（仅此一次）", body = users::NewPassword)))]
pub(super) async fn reset_user_password(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let uid = id(&path, "用户")?;
    let new = ctx.run(move |conn, _| users::reset_password(conn, &p, uid)).await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(new))
}

/// API tokens (admins: all; others: their own), without secrets.
#[utoipa::path(get, path = "/api/tokens", tag = "users",
    responses((status = 200, description = "令牌", body = super::Items<crate::app::users::ApiToken>)))]
pub(super) async fn list_tokens(ctx: web::Data<Ctx>, Auth(p): Auth) -> Result<HttpResponse, AppError> {
    let items = ctx.run(move |conn, _| users::tokens(conn, &p)).await?;
    Ok(HttpResponse::Ok().json(super::Items { items }))
}

/// Creates an API token; the secret is in this answer only.
#[utoipa::path(post, path = "/api/tokens", tag = "users", request_body = users::TokenInput,
    responses((status = 201, description = "已创建", body = users::NewToken)))]
pub(super) async fn create_token(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    Json(input): Json<users::TokenInput>,
) -> Result<HttpResponse, AppError> {
    let t = ctx.run(move |conn, _| users::create_token(conn, &p, input)).await?;
    Ok(HttpResponse::Created().json(t))
}

/// Revokes a token at once.
#[utoipa::path(delete, path = "/api/tokens/{id}", tag = "users", params(("id" = i32, Path, description = "令牌编号")),
    responses((status = 200, description = "已吊销", body = crate::app::users::ApiToken)))]
pub(super) async fn revoke_token(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let tid = id(&path, "令牌")?;
    let t = ctx.run(move |conn, _| users::revoke_token(conn, &p, tid)).await?;
    Ok(HttpResponse::Ok().json(t))
}

/// The audit log (admins), newest first.
#[utoipa::path(get, path = "/api/audit", tag = "users", params(audit::AuditQuery),
    responses((status = 200, description = "一页审计记录", body = crate::app::Page<audit::EntryView>)))]
pub(super) async fn audit_log(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<audit::AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let page = ctx.run(move |conn, _| audit::list(conn, &p, q)).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ReviewQuery {
    /// One unit (city-wide readers); a county lead sees their own.
    #[param(value_type = Option<i32>, minimum = 1)]
    unit_id: Option<String>,
}

/// Shortfalls to review: non-compliant stations and overdue guidance.
#[utoipa::path(get, path = "/api/review", tag = "users", params(ReviewQuery),
    responses((status = 200, description = "待复核事项", body = review::Review)))]
pub(super) async fn review_queue(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<ReviewQuery>,
) -> Result<HttpResponse, AppError> {
    let unit = match query.into_inner().unit_id {
        Some(u) => Some(
            u.parse::<i32>()
                .map_err(|_| crate::error::FieldErrors::single("unit_id", "应为单位编号"))?,
        ),
        None => None,
    };
    let r = ctx.run(move |conn, ctx| review::queue(conn, ctx, &p, unit)).await?;
    Ok(HttpResponse::Ok().json(r))
}

/// A county lead acknowledges one shortfall with a comment.
#[utoipa::path(post, path = "/api/review/{kind}/{id}/ack", tag = "users",
    params(("kind" = String, Path, description = "`station`、`guidance` 或 `progress`"),
        ("id" = i32, Path, description = "服务站或整改意见编号；progress 为年度")),
    request_body = review::AckInput,
    responses((status = 201, description = "已确认", body = crate::app::review::Acknowledgement)))]
pub(super) async fn acknowledge_review(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
    Json(input): Json<review::AckInput>,
) -> Result<HttpResponse, AppError> {
    let (kind, target) = path.into_inner();
    let a = ctx
        .run(move |conn, ctx| review::acknowledge(conn, ctx, &p, &kind, &target, input))
        .await?;
    Ok(HttpResponse::Created().json(a))
}
