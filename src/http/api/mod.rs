//! The JSON API. Handlers parse input and call one use case each.
//!
//! Each handler's `#[utoipa::path]` names its method and path, once: the
//! routes are registered from it, and the route table and the OpenAPI
//! document (collected with utoipa-actix-web's `OpenApiFactory`) come from
//! the same list of handlers.

/// Lists a module's handlers as `handlers()`. Each handler's
/// `#[utoipa::path]` names its method and path; nothing else does.
macro_rules! handlers {
    ($($handler:ident),* $(,)?) => {
        pub(super) fn handlers() -> Vec<super::Documented> {
            pastey::paste! { vec![$(super::Documented::new([<__path_ $handler>], $handler)),*] }
        }
    };
}

mod circulars;
mod disputes;
pub mod doc;
mod exports;
mod notices;
mod standards;
mod stations;
mod units;
mod users;
mod visits;

use actix_web::http::Method;
use actix_web::{FromRequest, Handler, HttpResponse, Responder, Route, web};
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::{HttpMethod, OpenApi, OpenApiBuilder, PathItem};
use utoipa_actix_web::OpenApiFactory;

use crate::app::Ctx;
use crate::error::AppError;
use crate::http::{error, pages};

/// `GET /healthz`.
#[derive(Serialize, ToSchema)]
pub struct Health {
    pub status: String,
    /// `sqlite` or `postgres`.
    pub database: String,
}

/// `{"items": [...]}`, for lists that are never long enough to page.
#[derive(Serialize, ToSchema)]
pub struct Items<T> {
    pub items: Vec<T>,
}

/// Signing in and out: the pages module serves them (a form or JSON), the
/// document lists them with the API.
const SIGN_IN: [&dyn OpenApiFactory; 3] = [
    &pages::__path_login_page,
    &pages::__path_login_post,
    &pages::__path_logout_post,
];

/// A handler with what its `#[utoipa::path]` states: the path, a route per
/// method, and the documentation.
pub(crate) struct Documented {
    path: String,
    routes: Vec<(Method, Route)>,
    doc: Box<dyn OpenApiFactory>,
}

impl Documented {
    fn new<P, F, Args>(doc: P, handler: F) -> Self
    where
        P: OpenApiFactory + utoipa::Path + 'static,
        F: Handler<Args>,
        Args: FromRequest + 'static,
        F::Output: Responder + 'static,
    {
        let routes = P::methods()
            .iter()
            .map(|m| {
                let method = to_actix(m);
                (method.clone(), web::method(method).to(handler.clone()))
            })
            .collect();
        Documented {
            path: P::path(),
            routes,
            doc: Box::new(doc),
        }
    }
}

fn to_actix(method: &HttpMethod) -> Method {
    match method {
        HttpMethod::Get => Method::GET,
        HttpMethod::Post => Method::POST,
        HttpMethod::Put => Method::PUT,
        HttpMethod::Patch => Method::PATCH,
        HttpMethod::Delete => Method::DELETE,
        HttpMethod::Head => Method::HEAD,
        HttpMethod::Options => Method::OPTIONS,
        HttpMethod::Trace => Method::TRACE,
    }
}

/// Every handler the binary serves under `/healthz` and `/api`.
fn all() -> Vec<Documented> {
    let mut all = vec![Documented::new(__path_healthz, healthz)];
    for module in [
        standards::handlers,
        units::handlers,
        stations::handlers,
        // Before visits: /api/visits/export must not be taken for /api/visits/{id}.
        exports::handlers,
        visits::handlers,
        circulars::handlers,
        users::handlers,
        notices::handlers,
        disputes::handlers,
    ] {
        all.extend(module());
    }
    all
}

/// The paths of every handler (and of signing in and out) with the schemas
/// they use, as the handlers' annotations state them.
pub fn collected() -> OpenApi {
    let mut api = OpenApiBuilder::new().build();
    let components = api.components.get_or_insert_with(Default::default);
    let handlers = all();
    let docs = handlers.iter().map(|h| h.doc.as_ref()).chain(SIGN_IN);
    for doc in docs {
        api.paths.merge(doc.paths());
        let mut schemas = Vec::new();
        doc.schemas(&mut schemas);
        components.schemas.extend(schemas);
    }
    api
}

/// The methods a path takes, as `Allow` names them.
fn methods(item: &PathItem) -> Vec<&'static str> {
    [
        ("GET", &item.get),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
    ]
    .into_iter()
    .filter(|(_, op)| op.is_some())
    .map(|(m, _)| m)
    .collect()
}

/// Every JSON route the binary serves, as (method, path), with `/healthz`
/// and sign-in and out (`GET /login` is the HTML sign-in page).
pub fn route_table() -> Vec<(String, String)> {
    collected()
        .paths
        .paths
        .iter()
        .flat_map(|(path, item)| methods(item).into_iter().map(|m| (m.to_lowercase(), path.clone())))
        .collect()
}

/// Registers handlers as one resource per path, so that a known path asked
/// with another method answers 405 with an `Allow` header (not 404).
fn register(cfg: &mut web::ServiceConfig, prefix: &str, handlers: Vec<Documented>) {
    let mut groups: Vec<(String, Vec<String>, Vec<Route>)> = Vec::new();
    for handler in handlers {
        let path = handler.path.strip_prefix(prefix).unwrap_or(&handler.path).to_owned();
        let at = match groups.iter().position(|g| g.0 == path) {
            Some(i) => i,
            None => {
                groups.push((path, Vec::new(), Vec::new()));
                groups.len() - 1
            }
        };
        for (method, route) in handler.routes {
            groups[at].1.push(method.to_string());
            groups[at].2.push(route);
        }
    }
    for (path, methods, routes) in groups {
        let allow = methods.join(", ");
        let resource = routes
            .into_iter()
            .fold(web::resource(path), |r, route| r.route(route))
            .default_service(web::to(move || {
                let allow = allow.clone();
                async move { error::method_not_allowed(&allow) }
            }));
        cfg.service(resource);
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    let (api, outside): (Vec<_>, Vec<_>) = all().into_iter().partition(|h| h.path.starts_with("/api/"));
    register(cfg, "", outside);
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
        .service(web::scope("/api").configure(|scope| register(scope, "/api", api)));
}

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "system", security(()),
    responses((status = 200, description = "服务与数据库正常", body = Health)))]
pub(super) async fn healthz(ctx: web::Data<Ctx>) -> Result<HttpResponse, AppError> {
    ctx.run(|conn, _| {
        use diesel::connection::SimpleConnection;
        conn.batch_execute("SELECT 1")?;
        Ok(())
    })
    .await?;
    Ok(HttpResponse::Ok().json(Health {
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
