//! The JSON API. Handlers parse input and call one use case each.

mod circulars;
mod standards;
mod stations;
mod units;
mod users;
mod visits;

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::app::Ctx;
use crate::error::AppError;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz)).service(
        web::scope("/api")
            .configure(standards::routes)
            .configure(units::routes)
            .configure(stations::routes)
            .configure(visits::routes)
            .configure(circulars::routes)
            .configure(users::routes),
    );
}

/// Liveness and database reachability.
async fn healthz(ctx: web::Data<Ctx>) -> Result<HttpResponse, AppError> {
    ctx.run(|conn, _| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SELECT 1")?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ok", "database": ctx.backend.as_str() })))
}

/// Parses an id from the path; a non-number is a 404 (no such resource).
pub(crate) fn id(raw: &str, what: &str) -> Result<i32, AppError> {
    raw.parse::<i32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::NotFound(format!("{what} {raw} 不存在")))
}
