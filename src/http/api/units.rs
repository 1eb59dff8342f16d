//! Units and annual plans.

use actix_web::{HttpResponse, web};
use serde::Deserialize;

use super::id;
use crate::app::{Ctx, units};
use crate::error::{AppError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::json::Json;

handlers! {
    list_units,
    create_unit,
    set_plan,
    list_plans,
}

/// The county-level units (区、县、县级市、分局).
#[utoipa::path(get, path = "/api/units", tag = "units",
    responses((status = 200, description = "单位", body = super::Items<crate::app::units::Unit>)))]
pub(super) async fn list_units(ctx: web::Data<Ctx>, Auth(_p): Auth) -> Result<HttpResponse, AppError> {
    let items = ctx.run(move |conn, _| units::list(conn)).await?;
    Ok(HttpResponse::Ok().json(super::Items { items }))
}

/// Adds a unit (admins).
#[utoipa::path(post, path = "/api/units", tag = "units", request_body = units::UnitInput,
    responses((status = 201, description = "已添加", body = crate::app::units::Unit,
        headers(("Location" = String, description = "单位的地址")))))]
pub(super) async fn create_unit(
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

/// Sets a unit's annual target (admins).
#[utoipa::path(put, path = "/api/units/{id}/plans/{year}", tag = "units",
    params(("id" = i32, Path, description = "单位编号"), ("year" = i32, Path, description = "年度")),
    request_body = units::PlanInput,
    responses((status = 200, description = "已保存", body = crate::app::units::Plan)))]
pub(super) async fn set_plan(
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

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct PlansQuery {
    /// The year; this year when left out.
    #[param(value_type = Option<i32>, minimum = 2000, maximum = 2100)]
    year: Option<String>,
}

/// Every unit's plan for a year.
#[utoipa::path(get, path = "/api/plans", tag = "units", params(PlansQuery),
    responses((status = 200, description = "年度计划", body = units::YearPlans)))]
pub(super) async fn list_plans(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<PlansQuery>,
) -> Result<HttpResponse, AppError> {
    let y = match query.into_inner().year {
        Some(y) => year(&y)?,
        None => chrono::Datelike::year(&ctx.today()),
    };
    let plans = ctx.run(move |conn, _| units::plans(conn, &p, y)).await?;
    Ok(HttpResponse::Ok().json(plans))
}
