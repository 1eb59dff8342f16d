//! HTTP: the actix-web application, JSON in and out, errors as one shape.

pub mod api;
pub mod auth;
pub mod error;
pub mod headers;
pub mod json;
pub mod limits;
pub mod multipart;
pub mod pages;

use std::net::TcpListener;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};

use crate::app::Ctx;
use crate::error::AppError;

/// The largest JSON body accepted.
pub const JSON_LIMIT: usize = 256 * 1024;

pub fn configure(ctx: Ctx) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg| {
        cfg.app_data(web::Data::new(ctx))
            .app_data(web::PayloadConfig::new(JSON_LIMIT))
            // Query strings and paths that cannot be read answer in the
            // JSON error shape like everything else.
            .app_data(web::QueryConfig::default().error_handler(|e, _| {
                tracing::info!(error = %e, "query string unreadable");
                AppError::BadRequest("查询参数无法解析：请检查地址中“?”之后的参数".into()).into()
            }))
            .app_data(web::PathConfig::default().error_handler(|e, _| {
                tracing::info!(error = %e, "path unreadable");
                AppError::NotFound("地址无法解析：请检查链接是否完整".into()).into()
            }))
            .configure(api::routes)
            .configure(pages::routes)
            .default_service(web::to(error::not_found));
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
            .wrap(actix_web::middleware::from_fn(headers::secure))
            .configure(configure(ctx.clone()))
    })
    // The head of a request must arrive within the timeout (else 408).
    .client_request_timeout(timeout)
    // And a client must take what it is sent within it (else dropped).
    .on_connect(move |conn, _| limits::drop_stalled_readers(conn, timeout))
    .workers(workers)
    .worker_max_blocking_threads(blocking)
    .listen(listener)?
    .run();
    Ok(server)
}
