//! HTTP: the actix-web application, JSON in and out, errors as one shape.

pub mod api;
pub mod auth;
pub mod json;
pub mod limits;
pub mod pages;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpResponse, HttpServer, ResponseError, http::StatusCode, web};

use crate::app::Ctx;
use crate::error::AppError;

/// The largest JSON body accepted.
pub const JSON_LIMIT: usize = 256 * 1024;

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Locked(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = api::doc::ErrorDetail {
            code: self.code().into(),
            message: self.to_string(),
            fields: None,
            current: None,
        };
        match self {
            AppError::Validation(fields) => body.fields = Some(fields.0.clone()),
            AppError::Conflict { current: Some(c), .. } => body.current = Some(c.clone()),
            AppError::Internal(e) => tracing::error!(error = ?e, "request failed"),
            AppError::Unavailable(e) => tracing::warn!(error = %e, "database unavailable"),
            AppError::Unauthorized(e) | AppError::Forbidden(e) | AppError::Locked(e) => {
                tracing::warn!(error = %e, code = self.code(), "request refused")
            }
            _ => {}
        }
        let mut resp = HttpResponse::build(self.status_code());
        match self {
            AppError::Unauthorized(_) => {
                resp.insert_header(("WWW-Authenticate", "Bearer realm=\"bayige\""));
            }
            AppError::Locked(_) => {
                resp.insert_header(("Retry-After", "900"));
            }
            _ => {}
        }
        resp.json(api::doc::ErrorBody { error: body })
    }
}

/// Answers every unknown path with the JSON error shape.
async fn not_found() -> HttpResponse {
    AppError::NotFound("没有这个地址".into()).error_response()
}

pub fn configure(ctx: Ctx) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(ctx))
            .app_data(web::PayloadConfig::new(JSON_LIMIT))
            // Query strings and paths that cannot be read answer in the
            // JSON error shape like everything else.
            .app_data(
                web::QueryConfig::default()
                    .error_handler(|e, _| AppError::BadRequest(format!("查询参数无法解析：{e}")).into()),
            )
            .app_data(
                web::PathConfig::default()
                    .error_handler(|e, _| AppError::NotFound(format!("地址无法解析：{e}")).into()),
            )
            .configure(api::routes)
            .configure(pages::routes)
            .default_service(web::to(not_found));
    }
}

/// Builds the server on an already bound listener (port 0 in tests).
pub fn server(ctx: Ctx, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    // Database work runs on each worker's blocking pool; more threads than
    // pooled connections would only wait, each with its own stack and
    // allocator arena.
    let workers = workers.max(1);
    let blocking = (ctx.pool.max_size() as usize).div_ceil(workers).max(2);
    let timeout = ctx.settings.request_timeout;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(limits::body_deadline))
            .wrap(actix_web::middleware::Logger::default())
            .configure(configure(ctx.clone()))
    })
    // The head of a request must arrive within the timeout (else 408).
    .client_request_timeout(timeout)
    .workers(workers)
    .worker_max_blocking_threads(blocking)
    .listen(listener)?
    .run();
    Ok(server)
}
