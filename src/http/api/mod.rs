//! The JSON API. Handlers parse input and call one use case each.

/// Declares a module's routes once: registers them with actix-web and lists
/// them as `ROUTES`, which the OpenAPI completeness test compares with the
/// document.
macro_rules! routes {
    ($($method:ident $path:literal => $handler:ident),* $(,)?) => {
        /// (method, path under `/api`) of every route of this module.
        pub const ROUTES: &[(&str, &str)] = &[$((stringify!($method), $path)),*];

        pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
            super::register(cfg, vec![$(($path, stringify!($method), actix_web::web::$method().to($handler))),*]);
        }
    };
}

mod circulars;
pub mod doc;
mod standards;
mod stations;
mod units;
mod users;
mod visits;

use actix_web::{HttpResponse, web};

use crate::app::Ctx;
use crate::error::AppError;

/// Registers routes as one resource per path, so that a known path asked
/// with another method answers 405 with an `Allow` header (not 404).
fn register(cfg: &mut web::ServiceConfig, routes: Vec<(&'static str, &'static str, actix_web::Route)>) {
    let mut groups: Vec<(&'static str, Vec<String>, Vec<actix_web::Route>)> = Vec::new();
    for (path, method, route) in routes {
        let at = match groups.iter().position(|g| g.0 == path) {
            Some(i) => i,
            None => {
                groups.push((path, Vec::new(), Vec::new()));
                groups.len() - 1
            }
        };
        groups[at].1.push(method.to_uppercase());
        groups[at].2.push(route);
    }
    for (path, methods, routes) in groups {
        let allow = methods.join(", ");
        let resource = routes
            .into_iter()
            .fold(web::resource(path), |r, route| r.route(route))
            .default_service(web::to(move || {
                let allow = allow.clone();
                async move { method_not_allowed(&allow) }
            }));
        cfg.service(resource);
    }
}

fn method_not_allowed(allow: &str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header(("Allow", allow))
        .json(doc::ErrorBody {
            error: doc::ErrorDetail {
                code: "method_not_allowed".into(),
                message: format!("此地址只接受 {allow} 请求"),
                fields: None,
                current: None,
            },
        })
}

/// Every JSON route the binary serves, as (method, path), with `/healthz`
/// and sign-in and out (`GET /login` is the HTML sign-in page).
pub fn route_table() -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = [
        ("get", "/healthz"),
        ("get", "/login"),
        ("post", "/login"),
        ("post", "/logout"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    for table in [
        standards::ROUTES,
        units::ROUTES,
        stations::ROUTES,
        visits::ROUTES,
        circulars::ROUTES,
        users::ROUTES,
    ] {
        all.extend(table.iter().map(|(m, p)| (m.to_string(), format!("/api{p}"))));
    }
    all
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    register(cfg, vec![("/healthz", "get", web::get().to(healthz))]);
    cfg
        // Before the /api scope, which would otherwise take these paths.
        .route(
            "/api/docs",
            web::get().to(|| async {
                HttpResponse::PermanentRedirect()
                    .insert_header(("Location", "/api/docs/"))
                    .finish()
            }),
        )
        .service(doc::swagger_ui())
        .service(
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
#[utoipa::path(get, path = "/healthz", tag = "system", security(()),
    responses((status = 200, description = "服务与数据库正常", body = doc::Health)))]
pub(super) async fn healthz(ctx: web::Data<Ctx>) -> Result<HttpResponse, AppError> {
    ctx.run(|conn, _| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SELECT 1")?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(doc::Health {
        status: "ok".into(),
        database: ctx.backend.as_str().into(),
    }))
}

/// Parses an id from the path; a non-number is a 404 (no such resource).
pub(crate) fn id(raw: &str, what: &str) -> Result<i32, AppError> {
    raw.parse::<i32>()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| AppError::NotFound(format!("{what} {raw} 不存在")))
}
