//! Units and annual plans.

use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::id;
use crate::app::{Ctx, units};
use crate::error::{AppError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::json::Json;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/units", web::get().to(list))
        .route("/units", web::post().to(create))
        .route("/units/{id}/plans/{year}", web::put().to(set_plan))
        .route("/plans", web::get().to(plans));
}

async fn list(ctx: web::Data<Ctx>, Auth(_p): Auth) -> Result<HttpResponse, AppError> {
    let items = ctx.run(move |conn, _| units::list(conn)).await?;
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn create(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    Json(input): Json<units::UnitInput>,
) -> Result<HttpResponse, AppError> {
    let unit = ctx.run(move |conn, ctx| units::create(conn, ctx, &p, input)).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/units/{}", unit.id)))
        .json(unit))
}

fn year(raw: &str) -> Result<i32, AppError> {
    raw.parse().map_err(|_| FieldErrors::single("year", "年度应为四位整数"))
}

async fn set_plan(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
    Json(input): Json<units::PlanInput>,
) -> Result<HttpResponse, AppError> {
    let (unit_id, y) = path.into_inner();
    let unit_id = id(&unit_id, "单位")?;
    let y = year(&y)?;
    let plan = ctx
        .run(move |conn, _| units::set_plan(conn, &p, unit_id, y, input))
        .await?;
    Ok(HttpResponse::Ok().json(plan))
}

#[derive(Deserialize)]
struct PlansQuery {
    year: Option<String>,
}

async fn plans(ctx: web::Data<Ctx>, Auth(p): Auth, query: web::Query<PlansQuery>) -> Result<HttpResponse, AppError> {
    let y = match query.into_inner().year {
        Some(y) => year(&y)?,
        None => chrono::Datelike::year(&ctx.today()),
    };
    let plans = ctx.run(move |conn, _| units::plans(conn, &p, y)).await?;
    Ok(HttpResponse::Ok().json(plans))
}
