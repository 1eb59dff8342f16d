//! Progress, circulars, their deliveries, and unit contacts.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::id;
use crate::app::circulars::{self, IssueOptions};
use crate::app::progress::{self, Period, PeriodQuery};
use crate::app::serials;
use crate::app::{Ctx, paging};
use crate::error::{AppError, FieldErrors};
use crate::http::auth::Auth;
use crate::http::json::Json;

handlers! {
    get_progress,
    get_burnup,
    export_progress,
    preview_circular,
    issue_circular,
    list_circulars,
    get_circular,
    list_deliveries,
    retry_delivery,
    circular_pdf,
    get_serial,
    set_serial,
}

/// Each unit's progress against its plan and the time-proportional
/// target (序时进度), for the caller's scope.
#[utoipa::path(get, path = "/api/progress", tag = "circulars", params(PeriodQuery),
    responses((status = 200, description = "进度", body = progress::ScopedProgress)))]
pub(super) async fn get_progress(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, AppError> {
    let period = query.into_inner().parse()?;
    let p = ctx
        .run(move |conn, ctx| progress::for_principal(conn, ctx, &p, &period))
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

/// Stations built through the year (at each month's end, the last point
/// at `as_of`) against the 序时进度 line, for the city and each unit in the
/// caller's scope: the figures behind the burn-up charts.
#[utoipa::path(get, path = "/api/progress/burnup", tag = "circulars", params(PeriodQuery),
    responses((status = 200, description = "累计建成与序时进度", body = crate::app::burnup::Burnup)))]
pub(super) async fn get_burnup(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<PeriodQuery>,
) -> Result<HttpResponse, AppError> {
    let period = query.into_inner().parse()?;
    let burnup = ctx
        .run(move |conn, ctx| crate::app::burnup::for_principal(conn, ctx, &p, &period))
        .await?;
    Ok(HttpResponse::Ok().json(burnup))
}

/// The progress table as a spreadsheet (XLSX by default, or CSV): rates as
/// percent formats, lagging units marked "▲", whole stations.
#[utoipa::path(get, path = "/api/progress/export", tag = "circulars", params(crate::app::progress_sheet::ProgressExportQuery),
    responses((status = 200, description = "进度表", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
pub(super) async fn export_progress(
    req: actix_web::HttpRequest,
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<crate::app::progress_sheet::ProgressExportQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let (format, file) = ctx
        .run(move |conn, ctx| crate::app::progress_sheet::export(conn, ctx, &p, query))
        .await?;
    super::stations::sheet_response(&req, "建站进度表", format, file)
}

/// What a circular for this period would say, without issuing it.
#[utoipa::path(post, path = "/api/circulars/preview", tag = "circulars", request_body = Period,
    responses((status = 200, description = "通报预览", body = circulars::Preview)))]
pub(super) async fn preview_circular(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    Json(period): Json<Period>,
) -> Result<HttpResponse, AppError> {
    let p = ctx
        .run(move |conn, ctx| circulars::preview(conn, ctx, &p, period))
        .await?;
    Ok(HttpResponse::Ok().json(p))
}

#[utoipa::path(post, path = "/api/circulars", tag = "circulars", request_body = Period,
    params(("Idempotency-Key" = Option<String>, Header, description = "重试同一请求时返回首次签发的通报")),
    responses((status = 201, description = "已签发，邮件已排队", body = circulars::CircularDetail,
            headers(("Location" = String, description = "通报的地址"))),
        (status = 200, description = "同一 Idempotency-Key 已签发过：返回那一份", body = circulars::CircularDetail),
        (status = 422, description = "期间不对，或该 Idempotency-Key 已用于内容不同的请求（error.fields.idempotency_key）",
            body = crate::http::error::ErrorBody)))]
/// Issues a circular. An `Idempotency-Key` header makes a retried request
/// return the circular issued the first time (200) instead of a new one;
/// the key is bound to the request's body, and a different body with a used
/// key is refused (422).
pub(super) async fn issue_circular(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    req: HttpRequest,
    Json(period): Json<Period>,
) -> Result<HttpResponse, AppError> {
    let key = match req.headers().get("Idempotency-Key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| AppError::BadRequest("Idempotency-Key 须为可见 ASCII 字符".into()))?
                .to_owned(),
        ),
    };
    let opts = IssueOptions {
        issued_by: format!("api:{}", p.username),
        idempotency_key: key,
        schedule_period: None,
        allow_same_as_of: true,
        expected_number: None,
    };
    let (c, created) = ctx
        .run(move |conn, ctx| circulars::issue(conn, ctx, &p, period, opts))
        .await?;
    let mut resp = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(resp
        .insert_header(("Location", format!("/api/circulars/{}", c.summary.id)))
        .json(c))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ListQuery {
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000000)]
    page: Option<String>,
    /// Items per page (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    per_page: Option<String>,
}

/// Circulars issued, newest first.
#[utoipa::path(get, path = "/api/circulars", tag = "circulars", params(ListQuery),
    responses((status = 200, description = "一页通报", body = crate::app::Page<circulars::CircularView>)))]
pub(super) async fn list_circulars(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let mut errors = FieldErrors::new();
    let (page, per_page) = paging(&mut errors, q.page, q.per_page);
    errors.into_result()?;
    let items = ctx
        .run(move |conn, _| circulars::list(conn, &p, page, per_page))
        .await?;
    Ok(HttpResponse::Ok().json(items))
}

/// One circular with its snapshot and delivery counts.
#[utoipa::path(get, path = "/api/circulars/{id}", tag = "circulars", params(("id" = i32, Path, description = "通报编号")),
    responses((status = 200, description = "通报", body = circulars::CircularDetail)))]
pub(super) async fn get_circular(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let cid = id(&path, "通报")?;
    let c = ctx.run(move |conn, _| circulars::get(conn, &p, cid)).await?;
    Ok(HttpResponse::Ok().json(c))
}

/// The circular's emails and where each stands.
/// A page at a time (`limit`, default and most 100; `after` = the previous
/// page's `next_after`), in the order they were queued.
#[utoipa::path(get, path = "/api/circulars/{id}/deliveries", tag = "circulars",
    params(("id" = i32, Path, description = "通报编号"), circulars::DeliveryQuery),
    responses((status = 200, description = "一页投递记录", body = circulars::DeliveryPage)))]
pub(super) async fn list_deliveries(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    query: web::Query<circulars::DeliveryQuery>,
) -> Result<HttpResponse, AppError> {
    let cid = id(&path, "通报")?;
    let query = query.into_inner();
    let page = ctx
        .run(move |conn, _| circulars::deliveries(conn, &p, cid, query))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Puts a failed delivery back in the queue (admins).
#[utoipa::path(post, path = "/api/circulars/{id}/deliveries/{did}/retry", tag = "circulars",
    params(("id" = i32, Path, description = "通报编号"), ("did" = i32, Path, description = "投递记录编号")),
    responses((status = 200, description = "已重新排队", body = crate::app::circulars::Delivery)))]
pub(super) async fn retry_delivery(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    let (c, d) = path.into_inner();
    let (cid, did) = (id(&c, "通报")?, id(&d, "投递记录")?);
    let delivery = ctx
        .run(move |conn, ctx| circulars::retry(conn, ctx, &p, cid, did))
        .await?;
    Ok(HttpResponse::Ok().json(delivery))
}

/// The circular as issued, as an A4 PDF in GB/T 9704 layout (fonts
/// embedded); 404 when it was issued with PDF output off.
#[utoipa::path(get, path = "/api/circulars/{id}/pdf", tag = "circulars", params(("id" = i32, Path, description = "通报编号")),
    responses((status = 200, description = "通报PDF", content_type = "application/pdf", body = Vec<u8>),
        (status = 404, description = "无此通报或未生成PDF")))]
pub(super) async fn circular_pdf(
    ctx: web::Data<Ctx>,
    Auth(_p): Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let cid = id(&path, "通报")?;
    let (number, pdf) = ctx.run(move |conn, _| circulars::pdf(conn, cid)).await?;
    Ok(pdf_response(&format!("{number}.pdf"), pdf))
}

/// A PDF shown in the browser, saved under `filename`.
pub(crate) fn pdf_response(filename: &str, pdf: Vec<u8>) -> HttpResponse {
    download(filename, "application/pdf", true, pdf)
}

/// A file for the browser to show (`inline`) or save, under `filename`
/// (UTF-8, RFC 6266).
pub(crate) fn download(filename: &str, content_type: &str, inline: bool, body: Vec<u8>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(disposition(filename, inline))
        .body(body)
}

/// The Content-Disposition of a file shown (`inline`) or saved under
/// `filename` (UTF-8, RFC 6266).
pub(crate) fn disposition(filename: &str, inline: bool) -> actix_web::http::header::ContentDisposition {
    use actix_web::http::header::{Charset, ContentDisposition, DispositionParam, DispositionType, ExtendedValue};
    ContentDisposition {
        disposition: if inline {
            DispositionType::Inline
        } else {
            DispositionType::Attachment
        },
        parameters: vec![DispositionParam::FilenameExt(ExtendedValue {
            charset: Charset::Ext("UTF-8".into()),
            language_tag: None,
            value: filename.as_bytes().to_vec(),
        })],
    }
}

fn year(path: &str) -> Result<i32, AppError> {
    path.parse()
        .map_err(|_| FieldErrors::single("year", "年份应为四位整数"))
}

/// Where the 发文字号 register stands for a year: the next serial (admins).
#[utoipa::path(get, path = "/api/circular-serials/{year}", tag = "circulars", params(("year" = i32, Path, description = "年份")),
    responses((status = 200, description = "发文字号登记", body = serials::SerialView)))]
pub(super) async fn get_serial(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let y = year(&path)?;
    let v = ctx.run(move |conn, ctx| serials::get(conn, ctx, &p, y)).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Sets the next serial of a year from the bureau's 收发文 register
/// (admins; audited). Refused (422, field `next`) at or below a serial
/// already issued.
#[utoipa::path(put, path = "/api/circular-serials/{year}", tag = "circulars", params(("year" = i32, Path, description = "年份")),
    request_body = serials::SetSerial,
    responses((status = 200, description = "已设置", body = serials::SerialView)))]
pub(super) async fn set_serial(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    Json(body): Json<serials::SetSerial>,
) -> Result<HttpResponse, AppError> {
    let y = year(&path)?;
    let v = ctx
        .run(move |conn, ctx| serials::set(conn, ctx, &p, y, body.next))
        .await?;
    Ok(HttpResponse::Ok().json(v))
}
