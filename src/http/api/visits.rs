//! Visits, checklist state, the visit template, guidance and evidence.

use actix_multipart::Multipart;
use actix_web::http::header::{Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue};
use actix_web::{HttpResponse, web};

use super::id;
use crate::app::{Ctx, evidence, guidance, visits};
use crate::error::{AppError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::json::Json;
use crate::http::multipart::{self, Limits};

handlers! {
    record_visit,
    list_visits,
    get_checklist,
    get_visit_template,
    get_visit,
    void_visit,
    upload_evidence,
    download_evidence,
    list_guidance,
}

/// The multipart form of an evidence upload.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub(super) struct EvidenceForm {
    /// The checklist item the file shows.
    item_code: String,
    /// JPEG, PNG, WebP or PDF (sniffed from the content).
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

/// Records a visit: scores each item, moves the station's status, raises,
/// keeps and resolves guidance, in one transaction.
#[utoipa::path(post, path = "/api/stations/{id}/visits", tag = "visits", params(("id" = i32, Path, description = "服务站编号")),
    request_body = visits::VisitInput,
    responses((status = 201, description = "已记录", body = visits::VisitView,
        headers(("Location" = String, description = "检查记录的地址")))))]
pub(super) async fn record_visit(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    Json(input): Json<visits::VisitInput>,
) -> Result<HttpResponse, AppError> {
    let station = id(&path, "服务站")?;
    let visit = ctx
        .run(move |conn, ctx| visits::record(conn, ctx, &p, station, input))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/visits/{}", visit.id)))
        .json(visit))
}

/// The station's visits, newest first, a page at a time (`limit`, default
/// and most 100; `before` = the previous page's `next_before`).
#[utoipa::path(get, path = "/api/stations/{id}/visits", tag = "visits",
    params(("id" = i32, Path, description = "服务站编号"), visits::VisitListQuery),
    responses((status = 200, description = "一页检查记录", body = visits::VisitPage)))]
pub(super) async fn list_visits(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    query: web::Query<visits::VisitListQuery>,
) -> Result<HttpResponse, AppError> {
    let station = id(&path, "服务站")?;
    let query = query.into_inner();
    let page = ctx
        .run(move |conn, _| visits::list_for_station(conn, &p, station, query))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Each checklist item's latest counted result and open guidance.
#[utoipa::path(get, path = "/api/stations/{id}/checklist", tag = "visits", params(("id" = i32, Path, description = "服务站编号")),
    responses((status = 200, description = "检查项状态", body = visits::ChecklistState)))]
pub(super) async fn get_checklist(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let station = id(&path, "服务站")?;
    let state = ctx
        .run(move |conn, ctx| visits::checklist(conn, ctx, &p, station))
        .await?;
    Ok(HttpResponse::Ok().json(state))
}

/// What the next visit must re-check (open guidance first).
#[utoipa::path(get, path = "/api/stations/{id}/visit-template", tag = "visits", params(("id" = i32, Path, description = "服务站编号")),
    responses((status = 200, description = "下次检查模板", body = visits::VisitTemplate)))]
pub(super) async fn get_visit_template(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let station = id(&path, "服务站")?;
    let t = ctx
        .run(move |conn, ctx| visits::template(conn, ctx, &p, station))
        .await?;
    Ok(HttpResponse::Ok().json(t))
}

/// One visit with its items, evidence and guidance.
#[utoipa::path(get, path = "/api/visits/{id}", tag = "visits", params(("id" = i32, Path, description = "检查记录编号")),
    responses((status = 200, description = "检查记录", body = visits::VisitView)))]
pub(super) async fn get_visit(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let visit = id(&path, "检查记录")?;
    let v = ctx.run(move |conn, ctx| visits::get(conn, ctx, &p, visit)).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Voids a visit (admins): withdraws what it raised, reopens what it
/// resolved, undoes its status change if nothing came after.
#[utoipa::path(post, path = "/api/visits/{id}/void", tag = "visits", params(("id" = i32, Path, description = "检查记录编号")),
    request_body = visits::VoidInput,
    responses((status = 200, description = "已作废", body = visits::Voided)))]
pub(super) async fn void_visit(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    Json(input): Json<visits::VoidInput>,
) -> Result<HttpResponse, AppError> {
    let visit = id(&path, "检查记录")?;
    let v = ctx
        .run(move |conn, ctx| visits::void(conn, ctx, &p, visit, input))
        .await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Guidance (整改意见) the caller may read, filtered.
#[utoipa::path(get, path = "/api/guidance", tag = "visits", params(guidance::GuidanceQuery),
    responses((status = 200, description = "一页整改意见", body = guidance::GuidancePage)))]
pub(super) async fn list_guidance(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<guidance::GuidanceQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let page = ctx.run(move |conn, ctx| guidance::list(conn, ctx, &p, q)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// `multipart/form-data` with a text field `item_code` and a file field
/// `file`. The file is read up to the configured limit; beyond it, 413 and
/// nothing is stored.
#[utoipa::path(post, path = "/api/visits/{id}/evidence", tag = "visits", params(("id" = i32, Path, description = "检查记录编号")),
    request_body(content = EvidenceForm, content_type = "multipart/form-data"),
    responses((status = 201, description = "已保存", body = crate::app::evidence::Evidence,
        headers(("Location" = String, description = "文件的地址")))))]
pub(super) async fn upload_evidence(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    form: Multipart,
) -> Result<HttpResponse, AppError> {
    let visit = id(&path, "检查记录")?;
    let limits = Limits {
        text_bytes: 256,
        file_bytes: ctx.settings.evidence_max_bytes,
        files: 1,
        is_file: |name| name == "file",
    };
    let mut form = multipart::read(form, &limits).await?;
    let mut errors = FieldErrors::new();
    for name in form.fields.keys().filter(|k| k.as_str() != "item_code") {
        errors.add(name.clone(), "未知的表单字段，应为 item_code 和 file");
    }
    for file in form.files.iter().filter(|f| f.field != "file") {
        errors.add(file.field.clone(), "未知的表单字段，应为 item_code 和 file");
    }
    let item_code = form
        .fields
        .remove("item_code")
        .map(|c| c.trim().to_owned())
        .filter(|c| !c.is_empty());
    if item_code.is_none() {
        errors.add("item_code", "须填写检查项代码");
    }
    let file = form.files.pop().filter(|f| f.field == "file");
    if file.is_none() && !errors.0.contains_key("file") {
        errors.add("file", "须上传文件");
    }
    errors.into_result()?;
    let (Some(item_code), Some(file)) = (item_code, file) else {
        return Err(AppError::internal("upload", anyhow::anyhow!("checked fields missing")));
    };
    let e = ctx
        .run(move |conn, ctx| evidence::attach(conn, ctx, &p, visit, &item_code, &file.file_name, &file.bytes))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/evidence/{}", e.id)))
        .json(e))
}

/// The stored file, as uploaded.
#[utoipa::path(get, path = "/api/evidence/{id}", tag = "visits", params(("id" = i32, Path, description = "证据编号")),
    responses((status = 200, description = "文件内容", content(
        (Vec<u8> = "image/jpeg"), (Vec<u8> = "image/png"), (Vec<u8> = "image/webp"), (Vec<u8> = "application/pdf")))))]
pub(super) async fn download_evidence(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let eid = id(&path, "证据")?;
    let (e, bytes) = ctx.run(move |conn, ctx| evidence::read(conn, ctx, &p, eid)).await?;
    let disposition = ContentDisposition {
        disposition: DispositionType::Inline,
        parameters: vec![DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: e.file_name.clone().into_bytes(),
        })],
    };
    Ok(HttpResponse::Ok()
        .content_type(e.content_type.clone())
        .insert_header(disposition)
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("ETag", format!("\"{}\"", e.sha256)))
        .body(bytes))
}
