//! The station registry.

use actix_web::{HttpResponse, web};

use super::id;
use crate::app::{Ctx, stations};
use crate::error::AppError;
use crate::http::auth::Auth;
use crate::http::json::Json;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stations", web::get().to(list))
        .route("/stations", web::post().to(create))
        .route("/stations/{id}", web::get().to(get))
        .route("/stations/{id}", web::patch().to(update))
        .route("/stations/{id}/status", web::post().to(change_status));
}

async fn list(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<stations::ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page = ctx.run(move |conn, _| stations::list(conn, &p, query)).await?;
    Ok(HttpResponse::Ok().json(page))
}

async fn create(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    Json(input): Json<stations::StationInput>,
) -> Result<HttpResponse, AppError> {
    let station = ctx.run(move |conn, ctx| stations::create(conn, ctx, &p, input)).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/stations/{}", station.station.id)))
        .json(station))
}

async fn get(ctx: web::Data<Ctx>, Auth(p): Auth, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let id = id(&path, "服务站")?;
    let station = ctx.run(move |conn, _| stations::get(conn, &p, id)).await?;
    Ok(HttpResponse::Ok().json(station))
}

async fn update(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    Json(patch): Json<stations::StationPatch>,
) -> Result<HttpResponse, AppError> {
    let id = id(&path, "服务站")?;
    let station = ctx
        .run(move |conn, ctx| stations::update(conn, ctx, &p, id, patch))
        .await?;
    Ok(HttpResponse::Ok().json(station))
}

async fn change_status(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    Json(input): Json<stations::StatusInput>,
) -> Result<HttpResponse, AppError> {
    let id = id(&path, "服务站")?;
    let station = ctx
        .run(move |conn, ctx| stations::change_status(conn, ctx, &p, id, input))
        .await?;
    Ok(HttpResponse::Ok().json(station))
}
