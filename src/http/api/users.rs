//! Users, tokens, `me`, the audit log and the review queue.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::id;
use crate::app::{Ctx, audit, review, users};
use crate::error::AppError;
use crate::http::auth::Auth;
use crate::http::json::Json;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me", web::get().to(me))
        .route("/users", web::get().to(list))
        .route("/users", web::post().to(create))
        .route("/users/{id}", web::get().to(get))
        .route("/users/{id}", web::patch().to(update))
        .route("/tokens", web::get().to(tokens))
        .route("/tokens", web::post().to(create_token))
        .route("/tokens/{id}", web::delete().to(revoke_token))
        .route("/audit", web::get().to(audit_log))
        .route("/review", web::get().to(review_queue))
        .route("/review/{kind}/{id}/ack", web::post().to(acknowledge));
}

async fn me(ctx: web::Data<Ctx>, Auth(p): Auth) -> Result<HttpResponse, AppError> {
    let me = ctx.run(move |conn, _| users::me(conn, &p)).await?;
    Ok(HttpResponse::Ok().json(me))
}

async fn list(ctx: web::Data<Ctx>, Auth(p): Auth) -> Result<HttpResponse, AppError> {
    let items = ctx.run(move |conn, _| users::list(conn, &p)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn create(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    Json(input): Json<users::UserInput>,
) -> Result<HttpResponse, AppError> {
    let u = ctx.run(move |conn, _| users::create(conn, &p, input)).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/users/{}", u.user.id)))
        .json(u))
}

async fn get(ctx: web::Data<Ctx>, Auth(p): Auth, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let uid = id(&path, "用户")?;
    let u = ctx.run(move |conn, _| users::get(conn, &p, uid)).await?;
    Ok(HttpResponse::Ok().json(u))
}

async fn update(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    Json(input): Json<users::UserInput>,
) -> Result<HttpResponse, AppError> {
    let uid = id(&path, "用户")?;
    let u = ctx.run(move |conn, _| users::update(conn, &p, uid, input)).await?;
    Ok(HttpResponse::Ok().json(u))
}

async fn tokens(ctx: web::Data<Ctx>, Auth(p): Auth) -> Result<HttpResponse, AppError> {
    let items = ctx.run(move |conn, _| users::tokens(conn, &p)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn create_token(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    Json(input): Json<users::TokenInput>,
) -> Result<HttpResponse, AppError> {
    let t = ctx.run(move |conn, _| users::create_token(conn, &p, input)).await?;
    Ok(HttpResponse::Created().json(t))
}

async fn revoke_token(ctx: web::Data<Ctx>, Auth(p): Auth, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let tid = id(&path, "令牌")?;
    let t = ctx.run(move |conn, _| users::revoke_token(conn, &p, tid)).await?;
    Ok(HttpResponse::Ok().json(t))
}

async fn audit_log(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<audit::AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let page = ctx.run(move |conn, _| audit::list(conn, &p, q)).await?;
    Ok(HttpResponse::Ok().json(page))
}

#[derive(Deserialize)]
struct ReviewQuery {
    unit_id: Option<String>,
}

async fn review_queue(
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

async fn acknowledge(
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
