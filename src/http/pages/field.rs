//! What the inspector's phone needs to work in the field: the web app
//! manifest, the service worker, the visit queue's scripts and icons
//! (all embedded in the binary), and the page listing visits waiting to be
//! uploaded (the list itself lives on the device, in IndexedDB).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use minijinja::context;

use super::{PageResult, Viewer, render};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sw.js", web::get().to(service_worker))
        .route("/manifest.webmanifest", web::get().to(manifest))
        .route("/static/queue.js", web::get().to(queue_js))
        .route("/static/field.js", web::get().to(field_js))
        .route("/static/icon.svg", web::get().to(icon_svg))
        .route("/static/icon-192.png", web::get().to(icon_192))
        .route("/static/icon-512.png", web::get().to(icon_512))
        .route("/queue", web::get().to(queue_page));
}

fn asset(content_type: &'static str, body: &'static [u8]) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(body)
}

/// The service worker, at the root so that it may serve every page; never
/// cached by HTTP, so a new release reaches phones on their next visit.
async fn service_worker() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .body(include_str!("../../../templates/static/sw.js"))
}

async fn manifest() -> HttpResponse {
    asset(
        "application/manifest+json; charset=utf-8",
        include_bytes!("../../../templates/static/manifest.webmanifest"),
    )
}

async fn queue_js() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_bytes!("../../../templates/static/queue.js"),
    )
}

async fn field_js() -> HttpResponse {
    asset(
        "text/javascript; charset=utf-8",
        include_bytes!("../../../templates/static/field.js"),
    )
}

async fn icon_svg() -> HttpResponse {
    asset("image/svg+xml", include_bytes!("../../../templates/static/icon.svg"))
}

async fn icon_192() -> HttpResponse {
    asset("image/png", include_bytes!("../../../templates/static/icon-192.png"))
}

async fn icon_512() -> HttpResponse {
    asset("image/png", include_bytes!("../../../templates/static/icon-512.png"))
}

/// Visits waiting on this phone (filled in by the page's script).
async fn queue_page(v: Viewer) -> PageResult {
    render("queue.html", Some(&v), "待上传的检查记录", None, context! {})
}
