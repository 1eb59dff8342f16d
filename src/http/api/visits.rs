//! Visits, checklist state, the visit template, guidance and evidence.

use actix_multipart::Multipart;
use actix_web::http::header::{Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue};
use actix_web::{HttpResponse, web};
use futures_util::StreamExt;

use super::id;
use crate::app::{Ctx, evidence, guidance, visits};
use crate::error::{AppError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::json::Json;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stations/{id}/visits", web::post().to(record))
        .route("/stations/{id}/visits", web::get().to(list))
        .route("/stations/{id}/checklist", web::get().to(checklist))
        .route("/stations/{id}/visit-template", web::get().to(template))
        .route("/visits/{id}", web::get().to(get))
        .route("/visits/{id}/void", web::post().to(void))
        .route("/visits/{id}/evidence", web::post().to(upload))
        .route("/evidence/{id}", web::get().to(download))
        .route("/guidance", web::get().to(list_guidance));
}

async fn record(
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

async fn list(ctx: web::Data<Ctx>, Auth(p): Auth, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let station = id(&path, "服务站")?;
    let items = ctx
        .run(move |conn, _| visits::list_for_station(conn, &p, station))
        .await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({ "items": items })))
}

async fn checklist(ctx: web::Data<Ctx>, Auth(p): Auth, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let station = id(&path, "服务站")?;
    let state = ctx
        .run(move |conn, ctx| visits::checklist(conn, ctx, &p, station))
        .await?;
    Ok(HttpResponse::Ok().json(state))
}

async fn template(ctx: web::Data<Ctx>, Auth(p): Auth, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let station = id(&path, "服务站")?;
    let t = ctx
        .run(move |conn, ctx| visits::template(conn, ctx, &p, station))
        .await?;
    Ok(HttpResponse::Ok().json(t))
}

async fn get(ctx: web::Data<Ctx>, Auth(p): Auth, path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let visit = id(&path, "检查记录")?;
    let v = ctx.run(move |conn, ctx| visits::get(conn, ctx, &p, visit)).await?;
    Ok(HttpResponse::Ok().json(v))
}

async fn void(
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

async fn list_guidance(
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
async fn upload(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    mut form: Multipart,
) -> Result<HttpResponse, AppError> {
    let visit = id(&path, "检查记录")?;
    let limit = ctx.settings.evidence_max_bytes;
    let mut item_code: Option<String> = None;
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = form.next().await {
        let mut field = field.map_err(multipart_error)?;
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "item_code" => {
                let mut text = Vec::new();
                while let Some(chunk) = field.next().await {
                    text.extend_from_slice(&chunk.map_err(multipart_error)?);
                    if text.len() > 256 {
                        return Err(FieldErrors::single("item_code", "检查项代码过长"));
                    }
                }
                item_code = Some(String::from_utf8_lossy(&text).trim().to_owned());
            }
            "file" => {
                let file_name = field
                    .content_disposition()
                    .and_then(|cd| cd.get_filename().map(str::to_owned))
                    .unwrap_or_default();
                let mut bytes = Vec::new();
                while let Some(chunk) = field.next().await {
                    let chunk = chunk.map_err(multipart_error)?;
                    if bytes.len() + chunk.len() > limit {
                        return Err(AppError::TooLarge(format!("文件超过 {limit} 字节的上限")));
                    }
                    bytes.extend_from_slice(&chunk);
                }
                file = Some((file_name, bytes));
            }
            other => {
                return Err(FieldErrors::single(other, "未知的表单字段，应为 item_code 和 file"));
            }
        }
    }
    let mut errors = FieldErrors::new();
    if item_code.as_deref().is_none_or(str::is_empty) {
        errors.add("item_code", "须填写检查项代码");
    }
    if file.is_none() {
        errors.add("file", "须上传文件");
    }
    errors.into_result()?;
    let (Some(item_code), Some((file_name, bytes))) = (item_code, file) else {
        return Err(AppError::internal("upload", anyhow::anyhow!("checked fields missing")));
    };
    let e = ctx
        .run(move |conn, ctx| evidence::attach(conn, ctx, &p, visit, &item_code, &file_name, &bytes))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/evidence/{}", e.id)))
        .json(e))
}

fn multipart_error(e: actix_multipart::MultipartError) -> AppError {
    use actix_multipart::MultipartError as M;
    match e {
        M::ContentTypeMissing | M::ContentTypeParse | M::ContentTypeIncompatible => {
            AppError::UnsupportedMediaType("请以 multipart/form-data 上传文件".into())
        }
        other => AppError::BadRequest(format!("上传内容无法解析：{other}")),
    }
}

async fn download(ctx: web::Data<Ctx>, Auth(p): Auth, path: web::Path<String>) -> Result<HttpResponse, AppError> {
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
