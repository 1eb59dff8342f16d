//! The bureau's page for moving the station register (名录) in from Excel.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::web;
use minijinja::context;

use super::{PageResult, Viewer, render, render_status, val};
use crate::app::{Ctx, stations};
use crate::auth::policy;
use crate::error::FieldErrors;
use crate::http::multipart::{self, Limits};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stations/import", web::get().to(form))
        .route("/stations/import", web::post().to(upload));
}

async fn form(v: Viewer) -> PageResult {
    policy::require_admin(&v.p, policy::Admin::ManageStations)?;
    render(
        "station_import.html",
        Some(&v),
        "导入服务站名录",
        None,
        context! { dry_run => true },
    )
}

async fn upload(ctx: web::Data<Ctx>, v: Viewer, body: Multipart) -> PageResult {
    policy::require_admin(&v.p, policy::Admin::ManageStations)?;
    let csrf = |f: &std::collections::HashMap<String, String>| v.csrf_ok(f.get("csrf_token").map(String::as_str));
    let form = multipart::read(&ctx, body, &Limits::sheet(), csrf).await?;
    let dry_run = form.fields.get("dry_run").is_some_and(|d| d == "true");
    let Some(file) = form.files.into_iter().find(|f| f.field == "file" && f.file.size > 0) else {
        return Err(FieldErrors::single("file", "请选择要导入的名录文件（xlsx 或 csv）").into());
    };
    let bytes = file.file.read_all().await?;
    let p = v.p.clone();
    let report = ctx
        .run(move |conn, ctx| stations::import(conn, ctx, &p, &bytes, dry_run))
        .await?;
    let status = if report.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render_status(
        status,
        "station_import.html",
        Some(&v),
        "导入服务站名录",
        None,
        context! { report => val(&report), dry_run },
    )
}
