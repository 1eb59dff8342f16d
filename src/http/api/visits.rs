//! Visits, checklist state, the visit template, guidance and evidence.

use actix_files::NamedFile;
use actix_multipart::Multipart;
use actix_web::http::header;
use actix_web::http::header::{Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};

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
    visit_notice,
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

/// The multipart form of a visit with photos.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub(super) struct VisitForm {
    /// The visit, as the JSON body would carry it.
    visit: visits::VisitInput,
    /// A photo of an item: one field per item, named `photo_<item_code>`
    /// (JPEG, PNG, WebP or PDF, sniffed from the content).
    #[schema(rename = "photo_<item_code>", format = Binary, content_media_type = "application/octet-stream")]
    photo: Option<String>,
}

/// Records a visit: scores each item, moves the station's status, raises,
/// keeps and resolves guidance, in one transaction. As
/// `multipart/form-data`, a `visit` part (the JSON body) and photos named
/// `photo_<item_code>` are recorded together: a refused photo records
/// nothing. An `Idempotency-Key` header (the phone's queue sends one per
/// visit) makes a repeat of the same request by the same user return the
/// visit recorded the first time (200) instead of a second one.
#[utoipa::path(post, path = "/api/stations/{id}/visits", tag = "visits",
    params(("id" = i32, Path, description = "服务站编号"),
        ("Idempotency-Key" = Option<String>, Header, description = "重复提交同一检查记录时返回首次记录的那一份")),
    request_body(content(
        (visits::VisitInput = "application/json"),
        (VisitForm = "multipart/form-data"))),
    responses((status = 201, description = "已记录", body = visits::VisitView,
        headers(("Location" = String, description = "检查记录的地址"))),
        (status = 200, description = "同一 Idempotency-Key 已记录过：返回那一份", body = visits::VisitView),
        (status = 422, description = "内容有误，或该 Idempotency-Key 已用于另一份检查记录（error.fields.idempotency_key）",
            body = crate::http::error::ErrorBody)))]
pub(super) async fn record_visit(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let station = id(&path, "服务站")?;
    let key = idempotency_key(&req)?;
    let multipart = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    let (input, photos) = if multipart {
        // Who may record here is checked before the body is read.
        let who = p.clone();
        let t = ctx
            .run(move |conn, ctx| visits::recordable_template(conn, ctx, &who, station))
            .await?;
        let limits = Limits::visit(&ctx, t.items.len());
        let form = multipart::read(&ctx, Multipart::new(req.headers(), payload), &limits, |_| Ok(())).await?;
        visit_form(form)?
    } else {
        let Json(input) = Json::<visits::VisitInput>::from_request(&req, &mut payload.into_inner()).await?;
        (input, Vec::new())
    };
    let (visit, created) = ctx
        .run(move |conn, ctx| visits::record_once(conn, ctx, &p, station, input, photos, key))
        .await?;
    let mut resp = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(resp
        .insert_header(("Location", format!("/api/visits/{}", visit.id)))
        .json(visit))
}

/// The `Idempotency-Key` header, if sent.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, AppError> {
    req.headers()
        .get("Idempotency-Key")
        .map(|v| {
            v.to_str()
                .map(str::to_owned)
                .map_err(|_| FieldErrors::single("idempotency_key", "Idempotency-Key 须为可见 ASCII 字符"))
        })
        .transpose()
}

/// The visit and photos of a multipart visit form.
fn visit_form(mut form: multipart::Form) -> Result<(visits::VisitInput, Vec<crate::app::evidence::Photo>), AppError> {
    let mut errors = FieldErrors::new();
    for name in form.fields.keys().filter(|k| k.as_str() != "visit") {
        errors.add(name.clone(), "未知的表单字段，应为 visit 和 photo_<检查项代码>");
    }
    let photos = multipart::photos(std::mem::take(&mut form.files), &mut errors);
    let visit = form.fields.remove("visit");
    if visit.is_none() {
        errors.add("visit", "须提供 visit 部分（检查记录的 JSON）");
    }
    errors.into_result()?;
    let input = crate::http::json::parse(visit.unwrap_or_default().as_bytes())?;
    Ok((input, photos))
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

/// The visit's rectification notice (整改通知书) as a one-page A4 PDF, to
/// print and leave with the station; 404 when the visit raised nothing to
/// put right.
#[utoipa::path(get, path = "/api/visits/{id}/notice.pdf", tag = "visits", params(("id" = i32, Path, description = "检查记录编号")),
    responses((status = 200, description = "整改通知书PDF", content_type = "application/pdf", body = Vec<u8>),
        (status = 404, description = "无此检查记录或无需整改")))]
pub(super) async fn visit_notice(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let visit = id(&path, "检查记录")?;
    let (name, pdf) = ctx
        .run(move |conn, ctx| visits::notice_pdf(conn, ctx, &p, visit))
        .await?;
    Ok(super::circulars::pdf_response(&name, pdf))
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
    // Who may attach here is checked before the body is read.
    let who = p.clone();
    ctx.run(move |conn, _| evidence::check_target(conn, &who, visit, None))
        .await?;
    let mut form = multipart::read(&ctx, form, &Limits::evidence(&ctx), |_| Ok(())).await?;
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
        .run(move |conn, ctx| evidence::attach(conn, ctx, &p, visit, &item_code, &file.file_name, file.file))
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
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let eid = id(&path, "证据")?;
    let (e, file) = ctx.run(move |conn, ctx| evidence::open(conn, ctx, &p, eid)).await?;
    let disposition = ContentDisposition {
        disposition: DispositionType::Inline,
        parameters: vec![DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: e.file_name.clone().into_bytes(),
        })],
    };
    let content_type: actix_web::mime::Mime = e
        .content_type
        .parse()
        .map_err(|err| AppError::internal("stored content type", anyhow::anyhow!("{err}")))?;
    // Streamed from disk in chunks as the client reads (a client that stops
    // reading is dropped: see `http::server`); the stored hash is the ETag.
    let named = NamedFile::from_file(file, &e.file_name)
        .map_err(|err| AppError::internal("cannot stream the evidence file", err))?
        .set_content_type(content_type)
        .set_content_disposition(disposition)
        .use_etag(false)
        .use_last_modified(false);
    let mut resp = named.into_response(&req);
    let headers = resp.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    if let Ok(etag) = header::HeaderValue::from_str(&format!("\"{}\"", e.sha256)) {
        headers.insert(header::ETAG, etag);
    }
    Ok(resp.map_into_boxed_body())
}
