//! Station pages: the list, one station, the registry forms and the visit
//! form an inspector fills in on a phone.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::web;
use chrono::NaiveDate;
use futures_util::StreamExt;
use minijinja::context;

use super::{PageError, PageResult, Viewer, flash_for, parse_form, redirect, render, render_status, val};
use crate::app::stations::{self, ListQuery, StationInput, StationPatch};
use crate::app::visits::{self, ItemInput, VisitInput};
use crate::app::{Ctx, evidence};
use crate::auth::policy;
use crate::auth::{Principal, Role};
use crate::db::DbConnection;
use crate::db::units::{self as units_store, Unit};
use crate::domain::{Category, ItemResult, StationStatus, VisitKind};
use crate::error::{AppError, FieldErrors};
use crate::http::api::id;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stations", web::get().to(list))
        .route("/stations/new", web::get().to(new_form))
        .route("/stations/new", web::post().to(create))
        .route("/stations/{id}", web::get().to(show))
        .route("/stations/{id}/edit", web::get().to(edit_form))
        .route("/stations/{id}/edit", web::post().to(update))
        .route("/stations/{id}/visit", web::get().to(visit_form))
        .route("/stations/{id}/visit", web::post().to(record_visit));
}

/// The units a principal may read (for filters and names).
pub fn readable_units(conn: &mut DbConnection, p: &Principal) -> Result<Vec<Unit>, AppError> {
    let scope = policy::read_scope(p);
    Ok(units_store::list(conn)?
        .into_iter()
        .filter(|u| scope.contains(u.id))
        .collect())
}

/// Item code → Chinese title, across every loaded checklist.
pub fn item_titles(ctx: &Ctx) -> HashMap<String, String> {
    ctx.standards
        .latest_all()
        .iter()
        .flat_map(|s| s.items.iter().map(|i| (i.code.clone(), i.title_zh.clone())))
        .collect()
}

fn pairs<T: Copy>(
    all: &[T],
    code: impl Fn(T) -> &'static str,
    zh: impl Fn(T) -> &'static str,
) -> Vec<(&'static str, &'static str)> {
    all.iter().map(|x| (code(*x), zh(*x))).collect()
}

async fn list(ctx: web::Data<Ctx>, v: Viewer, query: web::Query<HashMap<String, String>>) -> PageResult {
    let q = ListQuery {
        unit_id: super::filled(&query, "unit_id"),
        status: super::filled(&query, "status"),
        category: super::filled(&query, "category"),
        q: super::filled(&query, "q"),
        page: super::filled(&query, "page"),
        per_page: Some("20".into()),
        after: None,
    };
    let p = v.p.clone();
    let (page, units) = ctx
        .run(move |conn, _| Ok((stations::list(conn, &p, q)?, readable_units(conn, &p)?)))
        .await?;
    let unit_names: HashMap<String, String> = units.iter().map(|u| (u.id.to_string(), u.name.clone())).collect();
    let category_names: HashMap<&str, &str> = Category::ALL.iter().map(|c| (c.as_str(), c.label_zh())).collect();
    let pages = ((page.total.unwrap_or(0) + page.per_page - 1) / page.per_page).max(1);
    let keep: Vec<(String, String)> = ["q", "unit_id", "status", "category"]
        .iter()
        .filter_map(|k| query.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    let query_string = serde_urlencoded::to_string(&keep).unwrap_or_default();
    render(
        "stations.html",
        Some(&v),
        "服务站名录",
        flash_for(&query),
        context! {
            page => val(&page), pages, query => query_string,
            units => val(&units), unit_names, category_names,
            unit_id => query.get("unit_id").and_then(|u| u.parse::<i32>().ok()),
            status => query.get("status").cloned().unwrap_or_default(),
            category => query.get("category").cloned().unwrap_or_default(),
            q => query.get("q").cloned().unwrap_or_default(),
            statuses => pairs(StationStatus::ALL, StationStatus::as_str, StationStatus::label_zh),
            categories => pairs(Category::ALL, Category::as_str, Category::label_zh),
        },
    )
}

async fn show(
    ctx: web::Data<Ctx>,
    v: Viewer,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> PageResult {
    let sid = id(&path, "服务站")?;
    let p = v.p.clone();
    let (s, checklist, visit_list, evidence) = ctx
        .run(move |conn, ctx| {
            let s = stations::get(conn, &p, sid)?;
            let checklist = visits::checklist(conn, ctx, &p, sid)?;
            let list = visits::list_for_station(conn, &p, sid)?;
            let ids: Vec<i32> = list.iter().map(|v| v.id).collect();
            let ev = crate::db::visits::evidence_of(conn, &ids)?;
            Ok((s, checklist, list, ev))
        })
        .await?;
    let mut by_visit: HashMap<String, Vec<crate::db::visits::Evidence>> = HashMap::new();
    for e in evidence {
        by_visit.entry(e.visit_id.to_string()).or_default().push(e);
    }
    let open: Vec<_> = checklist.items.iter().flat_map(|i| i.open_guidance.clone()).collect();
    let can_inspect = policy::can_record_visit(&v.p, s.station.unit_id).is_ok();
    let can_edit = policy::can_edit_station(&v.p, s.station.unit_id, &[]).is_ok();
    let title = s.station.name.clone();
    render(
        "station.html",
        Some(&v),
        &title,
        flash_for(&query),
        context! {
            s => context! { unit => val(&s.unit), ..val(&s.station) },
            category => s.station.category.label_zh(),
            checklist => val(&checklist),
            visits => val(&visit_list),
            evidence => val(&by_visit),
            open_guidance => val(&open),
            item_titles => item_titles(&ctx),
            kinds => VisitKind::ALL.iter().map(|k| (k.as_str(), k.label_zh())).collect::<HashMap<_, _>>(),
            today => ctx.today().to_string(),
            can_inspect,
            can_edit => can_edit && v.p.role == Role::Admin,
            can_correct => can_edit && v.p.role != Role::Admin,
        },
    )
}

const TEXT_FIELDS: &[(&str, &str, &str)] = &[
    ("name", "服务站名称", "text"),
    ("host_business", "经营者", "text"),
    ("credit_code", "统一社会信用代码（可不填）", "text"),
    ("address", "地址", "text"),
    ("liaison_name", "联络员", "text"),
    ("liaison_phone", "联络电话", "text"),
];

#[allow(clippy::too_many_arguments)]
fn station_form(
    ctx: &Ctx,
    v: &Viewer,
    status: StatusCode,
    title: &str,
    action: &str,
    cancel: &str,
    form: &HashMap<String, String>,
    units: &[Unit],
    err: Option<AppError>,
) -> PageResult {
    let (errors, message) = match err {
        None => (FieldErrors::new(), None),
        Some(AppError::Validation(f)) => (f, Some("请修改标红的项目后再提交。".to_owned())),
        Some(e @ AppError::Conflict { .. }) => (FieldErrors::new(), Some(e.to_string())),
        Some(e) => return Err(e.into()),
    };
    let mut form = form.clone();
    for key in [
        "unit_id",
        "category",
        "standard_id",
        "name",
        "host_business",
        "credit_code",
        "address",
        "liaison_name",
        "liaison_phone",
    ] {
        form.entry(key.to_owned()).or_default();
    }
    // An inspector corrects the contact details only (see the policy).
    let contact_only = v.p.role != Role::Admin;
    let mut fields: Vec<(&str, &str, &str)> = TEXT_FIELDS
        .iter()
        .filter(|f| !contact_only || policy::INSPECTOR_STATION_FIELDS.contains(&f.0))
        .copied()
        .collect();
    if !contact_only && (form.contains_key("established_on") || !form.contains_key("version")) {
        fields.push(("established_on", "建站日期（已建成的填写）", "date"));
    }
    let standards: Vec<_> = ctx.standards.latest_all().into_iter().cloned().collect();
    render_status(
        status,
        "station_form.html",
        Some(v),
        title,
        None,
        context! {
            action, cancel, form, units => val(units), contact_only,
            errors => val(&errors), message, fields,
            categories => pairs(Category::ALL, Category::as_str, Category::label_zh),
            standards => val(&standards),
        },
    )
}

fn opt(f: &HashMap<String, String>, k: &str) -> Option<String> {
    f.get(k).cloned()
}

fn date_field(f: &HashMap<String, String>, k: &str, errors: &mut FieldErrors) -> Option<NaiveDate> {
    let v = f.get(k).map(|s| s.trim()).filter(|s| !s.is_empty())?;
    match NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            errors.add(k, "日期格式应为 YYYY-MM-DD");
            None
        }
    }
}

async fn new_form(ctx: web::Data<Ctx>, v: Viewer) -> PageResult {
    policy::require_admin(&v.p, policy::Admin::ManageStations)?;
    let p = v.p.clone();
    let units = ctx.run(move |conn, _| readable_units(conn, &p)).await?;
    let mut form = HashMap::new();
    form.insert("standard_id".to_owned(), "baxiangyi-common".to_owned());
    station_form(
        &ctx,
        &v,
        StatusCode::OK,
        "登记服务站",
        "/stations/new",
        "/stations",
        &form,
        &units,
        None,
    )
}

async fn create(ctx: web::Data<Ctx>, v: Viewer, body: web::Bytes) -> PageResult {
    let f = parse_form(&body)?;
    v.check_csrf(f.get("csrf_token").map(String::as_str))?;
    let mut errors = FieldErrors::new();
    let established_on = date_field(&f, "established_on", &mut errors);
    let input = StationInput {
        unit_id: f.get("unit_id").and_then(|u| u.parse().ok()),
        name: opt(&f, "name"),
        host_business: opt(&f, "host_business"),
        credit_code: opt(&f, "credit_code"),
        category: opt(&f, "category"),
        address: opt(&f, "address"),
        liaison_name: opt(&f, "liaison_name"),
        liaison_phone: opt(&f, "liaison_phone"),
        standard_id: opt(&f, "standard_id"),
        status: established_on.map(|_| "established".to_owned()),
        established_on,
    };
    let p = v.p.clone();
    let result = if errors.is_empty() {
        ctx.run(move |conn, ctx| stations::create(conn, ctx, &p, input)).await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(s) => Ok(redirect(&format!("/stations/{}?ok=station", s.station.id))),
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let p = v.p.clone();
            let units = ctx.run(move |conn, _| readable_units(conn, &p)).await?;
            station_form(
                &ctx,
                &v,
                e.status_code_for_page(),
                "登记服务站",
                "/stations/new",
                "/stations",
                &f,
                &units,
                Some(e),
            )
        }
        Err(e) => Err(e.into()),
    }
}

async fn edit_form(ctx: web::Data<Ctx>, v: Viewer, path: web::Path<String>) -> PageResult {
    let sid = id(&path, "服务站")?;
    let p = v.p.clone();
    let (s, units) = ctx
        .run(move |conn, _| Ok((stations::get(conn, &p, sid)?, readable_units(conn, &p)?)))
        .await?;
    let st = &s.station;
    policy::can_edit_station(&v.p, st.unit_id, &[])?;
    let mut form: HashMap<String, String> = HashMap::new();
    for (k, val) in [
        ("unit_id", st.unit_id.to_string()),
        ("name", st.name.clone()),
        ("host_business", st.host_business.clone()),
        ("credit_code", st.credit_code.clone().unwrap_or_default()),
        ("category", st.category.as_str().to_owned()),
        ("address", st.address.clone()),
        ("liaison_name", st.liaison_name.clone()),
        ("liaison_phone", st.liaison_phone.clone()),
        ("standard_id", st.standard_id.clone()),
        ("version", st.version.to_string()),
    ] {
        form.insert(k.to_owned(), val);
    }
    if let Some(d) = st.established_on {
        form.insert("established_on".into(), d.to_string());
    }
    let action = format!("/stations/{sid}/edit");
    let cancel = format!("/stations/{sid}");
    station_form(
        &ctx,
        &v,
        StatusCode::OK,
        edit_title(&v),
        &action,
        &cancel,
        &form,
        &units,
        None,
    )
}

fn edit_title(v: &Viewer) -> &'static str {
    if v.p.role == Role::Admin {
        "修改服务站信息"
    } else {
        "更正联系信息"
    }
}

async fn update(ctx: web::Data<Ctx>, v: Viewer, path: web::Path<String>, body: web::Bytes) -> PageResult {
    let sid = id(&path, "服务站")?;
    let f = parse_form(&body)?;
    v.check_csrf(f.get("csrf_token").map(String::as_str))?;
    let mut errors = FieldErrors::new();
    let established_on = date_field(&f, "established_on", &mut errors);
    let contact = StationPatch {
        version: f.get("version").and_then(|x| x.parse().ok()),
        address: opt(&f, "address"),
        liaison_name: opt(&f, "liaison_name"),
        liaison_phone: opt(&f, "liaison_phone"),
        ..StationPatch::default()
    };
    // An inspector's form holds the contact details only.
    let patch = if v.p.role == Role::Admin {
        StationPatch {
            unit_id: f.get("unit_id").and_then(|u| u.parse().ok()),
            name: opt(&f, "name"),
            host_business: opt(&f, "host_business"),
            credit_code: Some(opt(&f, "credit_code").filter(|c| !c.trim().is_empty())),
            category: opt(&f, "category"),
            standard_id: opt(&f, "standard_id"),
            established_on,
            ..contact
        }
    } else {
        contact
    };
    let p = v.p.clone();
    let result = if errors.is_empty() {
        ctx.run(move |conn, ctx| stations::update(conn, ctx, &p, sid, patch))
            .await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(_) => Ok(redirect(&format!("/stations/{sid}?ok=station"))),
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let p = v.p.clone();
            let units = ctx.run(move |conn, _| readable_units(conn, &p)).await?;
            let (action, cancel) = (format!("/stations/{sid}/edit"), format!("/stations/{sid}"));
            station_form(
                &ctx,
                &v,
                e.status_code_for_page(),
                edit_title(&v),
                &action,
                &cancel,
                &f,
                &units,
                Some(e),
            )
        }
        Err(e) => Err(e.into()),
    }
}

fn visit_page(
    ctx: &Ctx,
    v: &Viewer,
    status: StatusCode,
    t: &visits::VisitTemplate,
    form: &HashMap<String, String>,
    err: Option<FieldErrors>,
    message: Option<String>,
) -> PageResult {
    // Errors keyed items[i].field belong to the i-th item of the form,
    // which lists the template's items in order.
    let mut errors = FieldErrors::new();
    let mut item_errors: HashMap<String, Vec<String>> = HashMap::new();
    for (key, msgs) in err.map(|e| e.0).unwrap_or_default() {
        let item = key
            .strip_prefix("items[")
            .and_then(|rest| rest.split_once(']'))
            .and_then(|(i, _)| i.parse::<usize>().ok())
            .and_then(|i| t.items.get(i));
        match item {
            Some(it) => item_errors.entry(it.code.clone()).or_default().extend(msgs),
            None => errors.0.entry(key).or_default().extend(msgs),
        }
    }
    let results: Vec<(&str, &str)> = ItemResult::ALL.iter().map(|r| (r.as_str(), r.label_zh())).collect();
    let mut form = form.clone();
    for it in &t.items {
        for key in [format!("result_{}", it.code), format!("note_{}", it.code)] {
            form.entry(key).or_default();
        }
    }
    let kinds: Vec<(&str, &str)> = VisitKind::ALL.iter().map(|k| (k.as_str(), k.label_zh())).collect();
    render_status(
        status,
        "visit_form.html",
        Some(v),
        "记录检查",
        None,
        context! {
            t => val(t), form, errors => val(&errors),
            item_errors, results, kinds, message, item_titles => item_titles(ctx), today => ctx.today().to_string(),
        },
    )
}

async fn visit_form(ctx: web::Data<Ctx>, v: Viewer, path: web::Path<String>) -> PageResult {
    let sid = id(&path, "服务站")?;
    let p = v.p.clone();
    let t = ctx
        .run(move |conn, ctx| {
            let station = stations::get(conn, &p, sid)?;
            policy::can_record_visit(&p, station.station.unit_id)?;
            visits::template(conn, ctx, &p, sid)
        })
        .await?;
    let mut form = HashMap::new();
    form.insert("kind".to_owned(), t.suggested_kind.as_str().to_owned());
    form.insert("visited_on".to_owned(), ctx.today().to_string());
    // Pre-fill what the last visit found for items that are fine; items
    // under guidance are left for the inspector to re-check.
    for it in &t.items {
        if let Some(r) = &it.result
            && it.open_guidance.is_empty()
            && t.suggested_kind == VisitKind::FollowUp
        {
            form.insert(format!("result_{}", it.code), r.as_str().to_owned());
        }
    }
    visit_page(&ctx, &v, StatusCode::OK, &t, &form, None, None)
}

/// A photo chosen for an item, checked before anything is recorded.
struct Photo {
    code: String,
    name: String,
    bytes: Vec<u8>,
}

async fn record_visit(ctx: web::Data<Ctx>, v: Viewer, path: web::Path<String>, mut form: Multipart) -> PageResult {
    let sid = id(&path, "服务站")?;
    let limit = ctx.settings.evidence_max_bytes;
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut photos: Vec<Photo> = Vec::new();
    while let Some(field) = form.next().await {
        let mut field = field.map_err(|e| AppError::BadRequest(format!("表单无法解析：{e}")))?;
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename().map(str::to_owned));
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|e| AppError::BadRequest(format!("表单无法解析：{e}")))?;
            let cap = if name.starts_with("photo_") { limit } else { 64 * 1024 };
            if bytes.len() + chunk.len() > cap {
                return Err(AppError::TooLarge(format!("“{name}”超过 {cap} 字节的上限")).into());
            }
            bytes.extend_from_slice(&chunk);
        }
        match name.strip_prefix("photo_") {
            Some(code) if !bytes.is_empty() => photos.push(Photo {
                code: code.to_owned(),
                name: file_name.unwrap_or_default(),
                bytes,
            }),
            Some(_) => {}
            None => {
                fields.insert(name, String::from_utf8_lossy(&bytes).into_owned());
            }
        }
    }
    v.check_csrf(fields.get("csrf_token").map(String::as_str))?;
    let p = v.p.clone();
    let t = ctx.run(move |conn, ctx| visits::template(conn, ctx, &p, sid)).await?;

    let mut errors = FieldErrors::new();
    for photo in &photos {
        if let Err(e) = evidence::sniff(&photo.bytes) {
            let i = t.items.iter().position(|it| it.code == photo.code).unwrap_or(0);
            errors.add(format!("items[{i}].photo"), e.to_string());
        }
    }
    let visited_on = date_field(&fields, "visited_on", &mut errors);
    let input = VisitInput {
        kind: fields.get("kind").cloned(),
        visited_on,
        inspector: None,
        summary: fields.get("summary").cloned(),
        items: Some(
            t.items
                .iter()
                .map(|it| ItemInput {
                    code: Some(it.code.clone()),
                    result: fields.get(&format!("result_{}", it.code)).cloned(),
                    note: fields.get(&format!("note_{}", it.code)).cloned(),
                    instruction: None,
                    due_on: None,
                })
                .collect(),
        ),
    };
    let result = if errors.is_empty() {
        let p = v.p.clone();
        ctx.run(move |conn, ctx| visits::record(conn, ctx, &p, sid, input))
            .await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(visit) => {
            for photo in photos {
                let p = v.p.clone();
                let visit_id = visit.id;
                ctx.run(move |conn, ctx| {
                    evidence::attach(conn, ctx, &p, visit_id, &photo.code, &photo.name, &photo.bytes)
                })
                .await
                .map_err(PageError::from)?;
            }
            Ok(redirect(&format!("/stations/{sid}?ok=visit")))
        }
        Err(AppError::Validation(f)) => {
            let message = if photos.is_empty() {
                "请修改标红的项目后再提交，已填写的内容已保留。".to_owned()
            } else {
                "请修改标红的项目后再提交，已填写的内容已保留；照片需要重新选择。".to_owned()
            };
            visit_page(
                &ctx,
                &v,
                StatusCode::UNPROCESSABLE_ENTITY,
                &t,
                &fields,
                Some(f),
                Some(message),
            )
        }
        Err(e) => Err(e.into()),
    }
}

impl AppError {
    /// The status a page answers with when it shows the form again.
    pub fn status_code_for_page(&self) -> StatusCode {
        match self {
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        }
    }
}
