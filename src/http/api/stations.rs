//! The station registry.

use actix_web::{HttpRequest, HttpResponse, web};

use super::id;
use crate::app::{Ctx, stations};
use crate::error::AppError;
use crate::http::auth::Auth;
use crate::http::json::Json;

handlers! {
    list_stations,
    export_stations,
    import_stations,
    create_station,
    get_station,
    station_status_history,
    update_station,
    change_station_status,
}

/// Stations the caller may read, filtered; by page number or by key
/// (`after` = the previous page's `next_after`).
#[utoipa::path(get, path = "/api/stations", tag = "stations", params(stations::ListQuery),
    responses((status = 200, description = "一页服务站", body = crate::app::Page<crate::app::stations::Station>)))]
pub(super) async fn list_stations(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<stations::ListQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page = ctx.run(move |conn, _| stations::list(conn, &p, query)).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// The station register (名录) as a spreadsheet, with the list's filters:
/// every matching station the caller may read (no paging). XLSX with
/// Chinese headers, a frozen header row, widths and filters; or CSV
/// (UTF-8 with BOM). Text that a spreadsheet would run as a formula is
/// neutralised.
#[utoipa::path(get, path = "/api/stations/export", tag = "stations", params(stations::ExportQuery),
    responses((status = 200, description = "服务站名录", content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", body = Vec<u8>)))]
pub(super) async fn export_stations(
    req: HttpRequest,
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<stations::ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let (format, file, _) = ctx
        .run(move |conn, ctx| stations::export_register(conn, ctx, &p, query))
        .await?;
    sheet_response(&req, "服务站名录", format, file)
}

/// The multipart form of a register import.
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
pub(super) struct ImportForm {
    /// The register as XLSX or CSV (UTF-8), with the export's columns.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct ImportQuery {
    /// Check every row and report what would change, writing nothing.
    #[param(value_type = Option<bool>)]
    dry_run: Option<String>,
}

/// What a 422 of the import carries: the report of the rows at fault, or
/// the error body when the request itself is wrong (a bad `dry_run`, no
/// file). For the document only.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub(super) enum ImportRefused {
    Report(stations::ImportReport),
    Error(crate::http::error::ErrorBody),
}

/// Imports the station register (admins): rows matched by credit code,
/// else by unit and name; all or nothing in one transaction. 200 with the
/// report; 422 with the same report (nothing written) when any row is bad.
/// Limits (memory stays bounded): a file of at most 10 MiB (10,485,760
/// bytes; more is a 413 naming the limit, before it is read), unpacking to
/// at most 200 MiB, and at most 20,000 rows under the header (more is a
/// 422 on `file` naming the limit and the first row over it); a larger
/// register goes in from the command line (`bayige import stations FILE
/// --max-rows N`).
#[utoipa::path(post, path = "/api/stations/import", tag = "stations", params(ImportQuery),
    request_body(content = ImportForm, content_type = "multipart/form-data"),
    responses((status = 200, description = "导入结果", body = stations::ImportReport),
        (status = 413, description = "文件超过10 MB（10485760字节）的上限", body = crate::http::error::ErrorBody),
        (status = 422, description = "有错误的行，未写入（导入报告）；或请求本身有误，如超过20000行（错误体）", body = ImportRefused)))]
pub(super) async fn import_stations(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    query: web::Query<ImportQuery>,
    form: actix_multipart::Multipart,
) -> Result<HttpResponse, AppError> {
    use crate::error::FieldErrors;
    use crate::http::multipart::{self, Limits};
    let dry_run = match query.into_inner().dry_run.as_deref() {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") | Some("") => true,
        Some(_) => return Err(FieldErrors::single("dry_run", "应为 true 或 false")),
    };
    // Only the bureau imports: refused before the body is read.
    crate::auth::policy::require_admin(&p, crate::auth::policy::Admin::ManageStations)?;
    let form = multipart::read(&ctx, form, &Limits::sheet(), |_| Ok(())).await?;
    let Some(file) = form.files.into_iter().find(|f| f.field == "file") else {
        return Err(FieldErrors::single("file", "请选择要导入的名录文件（xlsx 或 csv）"));
    };
    let bytes = file.file.read_all().await?;
    let report = ctx
        .run(move |conn, ctx| stations::import(conn, ctx, &p, &bytes, dry_run))
        .await?;
    Ok(if report.errors.is_empty() || report.dry_run {
        HttpResponse::Ok().json(report)
    } else {
        HttpResponse::UnprocessableEntity().json(report)
    })
}

/// A spreadsheet download named `stem`.xlsx or `stem`.csv, streamed from
/// its file in chunks as the client reads (`app::spool`): the file is
/// closed, and its space freed, when the response ends or the client goes.
pub(crate) fn sheet_response(
    req: &HttpRequest,
    stem: &str,
    format: crate::sheets::write::SheetFormat,
    file: crate::app::spool::Spooled,
) -> Result<HttpResponse, AppError> {
    use crate::sheets::write::SheetFormat;
    let (ext, content_type) = match format {
        SheetFormat::Xlsx => (
            "xlsx",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        SheetFormat::Csv => ("csv", "text/csv; charset=utf-8"),
    };
    let name = format!("{stem}.{ext}");
    let content_type: actix_web::mime::Mime = content_type
        .parse()
        .map_err(|e| AppError::internal("sheet content type", anyhow::anyhow!("{e}")))?;
    let named = actix_files::NamedFile::from_file(file.file, &name)
        .map_err(|e| AppError::internal("cannot stream the export", e))?
        .set_content_type(content_type)
        .set_content_disposition(super::circulars::disposition(&name, false))
        .use_etag(false)
        .use_last_modified(false);
    tracing::debug!(bytes = file.len, "sending an export");
    Ok(named.into_response(req).map_into_boxed_body())
}

/// Registers a station (admins).
#[utoipa::path(post, path = "/api/stations", tag = "stations", request_body = stations::StationInput,
    responses((status = 201, description = "已登记", body = stations::StationDetail,
        headers(("Location" = String, description = "新服务站的地址")))))]
pub(super) async fn create_station(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    Json(input): Json<stations::StationInput>,
) -> Result<HttpResponse, AppError> {
    let station = ctx.run(move |conn, ctx| stations::create(conn, ctx, &p, input)).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/stations/{}", station.station.id)))
        .json(station))
}

/// A station with its unit and status history.
#[utoipa::path(get, path = "/api/stations/{id}", tag = "stations", params(("id" = i32, Path, description = "服务站编号")),
    responses((status = 200, description = "服务站", body = stations::StationDetail)))]
pub(super) async fn get_station(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let id = id(&path, "服务站")?;
    let station = ctx.run(move |conn, _| stations::get(conn, &p, id)).await?;
    Ok(HttpResponse::Ok().json(station))
}

/// The station's status changes, newest first, a page at a time (`limit`,
/// default and most 100; `before` = the previous page's `next_before`).
#[utoipa::path(get, path = "/api/stations/{id}/status-history", tag = "stations",
    params(("id" = i32, Path, description = "服务站编号"), stations::StatusHistoryQuery),
    responses((status = 200, description = "一页状态变更", body = stations::StatusHistoryPage)))]
pub(super) async fn station_status_history(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    query: web::Query<stations::StatusHistoryQuery>,
) -> Result<HttpResponse, AppError> {
    let id = id(&path, "服务站")?;
    let query = query.into_inner();
    let page = ctx
        .run(move |conn, _| stations::status_history(conn, &p, id, query))
        .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Edits a station; `version` must be the one read (else 409 with the
/// current record). The bureau (admin) may change any field; an inspector
/// of the station's unit only `address`, `liaison_name` and
/// `liaison_phone` (403 naming any other field sent).
#[utoipa::path(patch, path = "/api/stations/{id}", tag = "stations", params(("id" = i32, Path, description = "服务站编号")),
    request_body = stations::StationPatch,
    responses((status = 200, description = "已修改", body = stations::StationDetail),
        (status = 409, description = "他人已先修改：error.current 为当前记录", body = crate::http::error::ErrorBody)))]
pub(super) async fn update_station(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    Json(patch): Json<stations::StationPatch>,
) -> Result<HttpResponse, AppError> {
    let id = id(&path, "服务站")?;
    let station = ctx
        .run(move |conn, ctx| stations::update(conn, ctx, &p, id, patch))
        .await?;
    Ok(HttpResponse::Ok().json(station))
}

/// Moves a station to another status (建成, 示范, 整改, 撤销 …).
#[utoipa::path(post, path = "/api/stations/{id}/status", tag = "stations", params(("id" = i32, Path, description = "服务站编号")),
    request_body = stations::StatusInput,
    responses((status = 200, description = "状态已变更", body = stations::StationDetail),
        (status = 409, description = "他人已先修改：error.current 为当前记录", body = crate::http::error::ErrorBody)))]
pub(super) async fn change_station_status(
    ctx: web::Data<Ctx>,
    Auth(p): Auth,
    path: web::Path<String>,
    Json(input): Json<stations::StatusInput>,
) -> Result<HttpResponse, AppError> {
    let id = id(&path, "服务站")?;
    let station = ctx
        .run(move |conn, ctx| stations::change_status(conn, ctx, &p, id, input))
        .await?;
    Ok(HttpResponse::Ok().json(station))
}
