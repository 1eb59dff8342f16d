//! Progress, circulars, their deliveries, and unit contacts.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::id;
use crate::app::circulars::{self, IssueOptions};
use crate::app::progress::{self, Period, PeriodQuery};
use crate::app::{Ctx, paging};
use crate::error::{AppError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::json::Json;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/progress", web::get().to(get_progress))
        .route("/circulars/preview", web::post().to(preview))
        .route("/circulars", web::post().to(issue))
        .route("/circulars", web::get().to(list))
        .route("/circulars/{id}", web::get().to(get))
        .route("/circulars/{id}/deliveries", web::get().to(deliveries))
        .route("/circulars/{id}/deliveries/{did}/retry", web::post().to(retry));
}

async fn get_progress(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, AppError> {
    let period = query.into_inner().parse()?;
    let p = ctx
        .run(move |conn, ctx| progress::for_principal(conn, ctx, &p, &period))
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

async fn preview(ctx: web::Data<Ctx>, Auth(p): Auth, Json(period): Json<Period>) -> Result<HttpResponse, AppError> {
    let p = ctx
        .run(move |conn, ctx| circulars::preview(conn, ctx, &p, period))
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Issues a circular. An `Idempotency-Key` header makes a retried request
/// return the circular issued the first time (200) instead of a new one.
async fn issue(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    req: HttpRequest,
    Json(period): Json<Period>,
) -> Result<HttpResponse, AppError> {
    let key = match req.headers().get("Idempotency-Key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| AppError::BadRequest("Idempotency-Key 须为可见 ASCII 字符".into()))?
                .to_owned(),
        ),
    };
    let opts = IssueOptions {
        issued_by: "api".into(),
        idempotency_key: key,
        schedule_period: None,
    };
    let (c, created) = ctx
        .run(move |conn, ctx| circulars::issue(conn, ctx, &p, period, opts))
        .await?;
    let mut resp = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(resp
        .insert_header(("Location", format!("/api/circulars/{}", c.summary.id)))
        .json(c))
}

#[derive(Deserialize)]
struct ListQuery {
    page: Option<String>,
    per_page: Option<String>,
}

async fn list(ctx: web::Data<Ctx>, Auth(_p): Auth, query: web::Query<ListQuery>) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let mut errors = FieldErrors::new();
    let (page, per_page) = paging(&mut errors, q.page, q.per_page);
    errors.into_result()?;
    let items = ctx.run(move |conn, _| circulars::list(conn, page, per_page)).await?;
    Ok(HttpResponse::Ok().json(items))
}

async fn get(ctx: web::Data<Ctx>, Auth(_p): Auth, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let cid = id(&path, "通报")?;
    let c = ctx.run(move |conn, _| circulars::get(conn, cid)).await?;
    Ok(HttpResponse::Ok().json(c))
}

async fn deliveries(ctx: web::Data<Ctx>, Auth(p): Auth, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let cid = id(&path, "通报")?;
    let items = ctx.run(move |conn, _| circulars::deliveries(conn, &p, cid)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn retry(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (c, d) = path.into_inner();
    let (cid, did) = (id(&c, "通报")?, id(&d, "投递记录")?);
    let delivery = ctx
        .run(move |conn, ctx| circulars::retry(conn, ctx, &p, cid, did))
        .await?;
    Ok(HttpResponse::Ok().json(delivery))
}
