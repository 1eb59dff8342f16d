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
    let limits = Limits {
        text_bytes: 4096,
        file_bytes: crate::sheets::read::ReadLimits::default().max_bytes,
        files: 1,
        is_file: |name| name == "file",
    };
    let form = multipart::read(body, &limits).await?;
    v.check_csrf(form.fields.get("csrf_token").map(String::as_str))?;
    let dry_run = form.fields.get("dry_run").is_some_and(|d| d == "true");
    let Some(file) = form
        .files
        .into_iter()
        .find(|f| f.field == "file" && !f.bytes.is_empty())
    else {
        return Err(FieldErrors::single("file", "请选择要导入的名录文件（xlsx 或 csv）").into());
    };
    let p = v.p.clone();
    let report = ctx
        .run(move |conn, ctx| stations::import(conn, ctx, &p, &file.bytes, dry_run))
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
