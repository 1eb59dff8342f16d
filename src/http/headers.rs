//! Headers every answer carries, `HEAD` answered as `GET`, and one access
//! log line per request.
//!
//! - Pages: a strict Content-Security-Policy (scripts, styles, images and
//!   forms only from this site; nothing inline) and `frame-ancestors
//!   'none'`; the API's Swagger UI (`/api/docs/`) also allows inline styles,
//!   which it sets from script.
//! - Everything else (JSON, evidence files, CSV): `sandbox` with nothing
//!   allowed, so a PDF or SVG uploaded as evidence and opened inline runs
//!   no script and reaches nothing.
//! - `X-Content-Type-Options: nosniff`, `Referrer-Policy: same-origin`,
//!   `X-Frame-Options: DENY`; `Strict-Transport-Security` when the cookie
//!   is Secure (the service is reached over HTTPS).
//! - `Cache-Control: no-store` unless the handler set its own (the static
//!   files): pages and API answers hold personal data.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web::Data;

use crate::app::Ctx;

/// The policy of the server-rendered pages.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
    connect-src 'self'; manifest-src 'self'; worker-src 'self'; form-action 'self'; base-uri 'none'; \
    frame-ancestors 'none'";
/// The policy of the service worker (`/sw.js`): it loads its queue script
/// and fetches from its own origin, nothing else.
pub const WORKER_CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'";
/// The policy of Swagger UI, which sets inline styles from its script.
pub const DOCS_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
    img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";
/// The policy of everything that is not a page: evidence, JSON, CSV.
pub const FILE_CSP: &str = "default-src 'none'; sandbox; frame-ancestors 'none'";

fn is_html(res: &ServiceResponse<impl MessageBody>) -> bool {
    res.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("text/html"))
}

fn set_security_headers(res: &mut ServiceResponse<impl MessageBody>, path: &str, hsts: bool) {
    let csp = match (is_html(res), path.starts_with("/api/docs")) {
        _ if path == "/sw.js" => WORKER_CSP,
        (true, true) => DOCS_CSP,
        (true, false) => PAGE_CSP,
        (false, _) => FILE_CSP,
    };
    let h = res.headers_mut();
    let fixed: [(HeaderName, &'static str); 4] = [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        h.insert(name, HeaderValue::from_static(value));
    }
    if hsts {
        h.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The path with each query value replaced by `…`: values may hold
/// secrets (a `next` address, a search for a person's name).
fn loggable(req: &ServiceRequest) -> String {
    let query = req.query_string();
    if query.is_empty() {
        return req.path().to_owned();
    }
    let keys: Vec<&str> = query
        .split('&')
        .map(|pair| pair.split('=').next().unwrap_or(""))
        .collect();
    format!("{}?{}", req.path(), keys.join("=…&") + "=…")
}

/// Middleware: answers `HEAD` as `GET` without the body, sets the security
/// headers, and logs the request (method, path without query values,
/// status, milliseconds) through `tracing`.
pub async fn secure(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let method = req.method().clone();
    let path = req.path().to_owned();
    let logged = loggable(&req);
    let hsts = req.app_data::<Data<Ctx>>().is_some_and(|c| c.settings.cookie_secure);
    let head = method == Method::HEAD;
    if head {
        req.head_mut().method = Method::GET;
    }
    // Inner middleware answers its refusals (a NUL in the query) as
    // responses, so they get these headers too; an error that still comes
    // back as `Err` is logged and answered by actix.
    let mut res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        Err(e) => {
            let status = e.as_response_error().status_code().as_u16();
            let ms = started.elapsed().as_millis() as u64;
            tracing::info!(%method, path = %logged, status, ms, "request");
            return Err(e);
        }
    };
    set_security_headers(&mut res, &path, hsts);
    if head {
        res = res.map_body(|_, _| BoxBody::new(()));
    }
    tracing::info!(
        %method,
        path = %logged,
        status = res.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    Ok(res)
}
