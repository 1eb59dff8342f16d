//! Station pages: the list, one station and the registry forms.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web;
use chrono::{Datelike, NaiveDate};
use minijinja::context;

use super::{PageResult, Viewer, flash_for, parse_form, redirect, render, render_status, val};
use crate::app::stations::{self, ListQuery, StationInput, StationPatch};
use crate::app::units::{self, Unit};
use crate::app::{Ctx, evidence, visits};
use crate::auth::policy::{self, StationEditMode};
use crate::domain::station::{FormKind, STATION_FIELDS};
use crate::domain::{Category, StationStatus, VisitKind};
use crate::error::{AppError, FieldErrors};
use crate::http::api::id;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stations", web::get().to(list))
        .route("/stations/new", web::get().to(new_form))
        .route("/stations/new", web::post().to(create))
        .route("/stations/{id}", web::get().to(show))
        .route("/stations/{id}/edit", web::get().to(edit_form))
        .route("/stations/{id}/edit", web::post().to(update));
}

pub(super) fn pairs<T: Copy>(
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
        .run(move |conn, _| Ok((stations::list(conn, &p, q)?, units::readable(conn, &p)?)))
        .await?;
    let unit_names: HashMap<String, String> = units.iter().map(|u| (u.id.to_string(), u.name.clone())).collect();
    let category_names: HashMap<&str, &str> = Category::ALL.iter().map(|c| (c.as_str(), c.label_zh())).collect();
    let pages = ((page.total.unwrap_or(0) + page.per_page - 1) / page.per_page).max(1);
    let keep: Vec<(String, String)> = ["q", "unit_id", "status", "category"]
        .iter()
        .filter_map(|k| query.get(*k).map(|v| (k.to_string(), v.clone())))
        .collect();
    let query_string = serde_urlencoded::to_string(&keep).unwrap_or_default();
    // The exports take the same filters; a blank one is left out.
    let filled: Vec<&(String, String)> = keep.iter().filter(|(_, v)| !v.trim().is_empty()).collect();
    let export_query = serde_urlencoded::to_string(&filled).unwrap_or_default();
    let visits_query = serde_urlencoded::to_string(filled.iter().filter(|(k, _)| k == "unit_id").collect::<Vec<_>>())
        .unwrap_or_default();
    render(
        "stations.html",
        Some(&v),
        "服务站名录",
        flash_for(&query),
        context! {
            page => val(&page), pages, query => query_string, export_query, visits_query,
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

/// Visits shown per page of a station's history.
const VISITS_ON_PAGE: i64 = 20;

async fn show(
    ctx: web::Data<Ctx>,
    v: Viewer,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> PageResult {
    let sid = id(&path, "服务站")?;
    let p = v.p.clone();
    // The history a page at a time: `?before=` continues it.
    let history = visits::VisitListQuery {
        limit: Some(VISITS_ON_PAGE.to_string()),
        before: query.get("before").cloned(),
    };
    // After a visit was recorded (`?visit=`): what it found, beside the
    // station's new state.
    let just_recorded = query.get("visit").and_then(|v| v.parse::<i32>().ok());
    let (s, checklist, visit_list, evidence) = ctx
        .run(move |conn, ctx| {
            let s = stations::get(conn, &p, sid)?;
            let recorded = match just_recorded {
                Some(id) => visits::get(conn, ctx, &p, id).ok().filter(|v| v.station_id == sid),
                None => None,
            };
            let checklist = visits::checklist(conn, ctx, &p, sid)?;
            let list = visits::list_for_station(conn, &p, sid, history)?;
            let ids: Vec<i32> = list.items.iter().map(|v| v.id).collect();
            let ev = evidence::of_visits(conn, &ids)?;
            let today = ctx.today();
            let year_start = NaiveDate::from_ymd_opt(today.year(), 1, 1).unwrap_or(today);
            let ledger = crate::app::disputes::station_figures(conn, &p, sid, year_start, today)?;
            Ok((s, checklist, list, (ev, ledger, recorded)))
        })
        .await?;
    let (evidence, ledger, recorded) = evidence;
    let standard_title = ctx
        .standards
        .get(&checklist.standard_id, checklist.standard_version)
        .map(|st| st.title_zh.clone());
    let mut by_visit: HashMap<String, Vec<evidence::Evidence>> = HashMap::new();
    for e in evidence {
        by_visit.entry(e.visit_id.to_string()).or_default().push(e);
    }
    let open: Vec<_> = checklist.items.iter().flat_map(|i| i.open_guidance.clone()).collect();
    let can_inspect = policy::can_record_visit(&v.p, s.station.unit_id).is_ok();
    let edit_mode = policy::station_edit_mode(&v.p, s.station.unit_id);
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
            visits => val(&visit_list.items),
            next_before => visit_list.next_before,
            evidence => val(&by_visit),
            open_guidance => val(&open),
            item_titles => own_titles(&ctx, &s.station.standard_id),
            standard_title => ctx.standards.title_zh(&checklist.standard_id),
            kinds => VisitKind::ALL.iter().map(|k| (k.as_str(), k.label_zh())).collect::<HashMap<_, _>>(),
            today => ctx.today().to_string(),
            can_inspect,
            can_edit => edit_mode == StationEditMode::Full,
            can_correct => edit_mode == StationEditMode::ContactOnly,
            ledger => val(&ledger),
            ledger_year => ctx.today().year(),
            recorded => val(&recorded),
            standard_title,
        },
    )
}

/// Item code → title as the station's own checklist words it (the common
/// version's 一块机构牌匾 is the Nanyue version's 一块服务站匾牌); items of
/// other checklists only where the station's has no such code.
pub(super) fn own_titles(ctx: &Ctx, standard_id: &str) -> HashMap<String, String> {
    let mut titles = ctx.standards.item_titles();
    if let Some(own) = ctx.standards.item_titles_by_standard().remove(standard_id) {
        titles.extend(own);
    }
    titles
}

/// What a registry form page shows around its fields.
struct FormPage {
    title: &'static str,
    action: String,
    cancel: String,
}

impl FormPage {
    fn new_station() -> Self {
        FormPage {
            title: "登记服务站",
            action: "/stations/new".into(),
            cancel: "/stations".into(),
        }
    }

    fn edit(sid: i32, mode: StationEditMode) -> Self {
        FormPage {
            title: if mode == StationEditMode::Full {
                "修改服务站信息"
            } else {
                "更正联系信息"
            },
            action: format!("/stations/{sid}/edit"),
            cancel: format!("/stations/{sid}"),
        }
    }
}

/// The registry form: every field of [`STATION_FIELDS`] the viewer may
/// change (all for the bureau, the contact details for an inspector).
fn station_form(
    ctx: &Ctx,
    v: &Viewer,
    status: StatusCode,
    page: &FormPage,
    (form, mode): (&HashMap<String, String>, StationEditMode),
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
    for f in STATION_FIELDS {
        form.entry(f.name.to_owned()).or_default();
    }
    // The establishment date is asked on registration and kept on edits
    // of built stations; a planned station gets it from its acceptance.
    let editing = form.get("version").is_some_and(|v| !v.is_empty());
    let show_date = !editing || form.get("established_on").is_some_and(|d| !d.is_empty());
    let fields: Vec<(&str, &str, &str)> = STATION_FIELDS
        .iter()
        .filter(|f| mode.allows(f.name))
        .filter_map(|f| match f.form {
            FormKind::Text => Some((f.name, f.label_zh, "text")),
            FormKind::Date if show_date => Some((f.name, f.label_zh, "date")),
            _ => None,
        })
        .collect();
    let standards: Vec<_> = ctx.standards.latest_all().into_iter().cloned().collect();
    render_status(
        status,
        "station_form.html",
        Some(v),
        page.title,
        None,
        context! {
            action => &page.action, cancel => &page.cancel, form, units => val(units),
            contact_only => mode != StationEditMode::Full,
            errors => val(&errors), message, fields,
            categories => pairs(Category::ALL, Category::as_str, Category::label_zh),
            standards => val(&standards),
        },
    )
}

/// The fields of a registry form the viewer may change, as the API's JSON
/// would carry them (blank text as absent; on an edit a blank credit code
/// clears it).
fn form_values(
    f: &HashMap<String, String>,
    mode: StationEditMode,
    editing: bool,
    errors: &mut FieldErrors,
) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value;
    let mut out = serde_json::Map::new();
    for field in STATION_FIELDS.iter().filter(|field| mode.allows(field.name)) {
        let raw = f.get(field.name).map(|s| s.trim()).unwrap_or_default();
        let value = match field.form {
            _ if raw.is_empty() && editing && matches!(field.name, "credit_code" | "liaison_email") => Value::Null,
            _ if raw.is_empty() => continue,
            FormKind::Unit => match raw.parse::<i32>() {
                Ok(n) => Value::from(n),
                Err(_) => {
                    errors.add(field.name, "请选择所属单位");
                    continue;
                }
            },
            FormKind::Date => match NaiveDate::parse_from_str(raw, "%Y-%m-%d") {
                Ok(_) => Value::from(raw),
                Err(_) => {
                    errors.add(field.name, "日期格式应为 YYYY-MM-DD");
                    continue;
                }
            },
            FormKind::Text | FormKind::Category | FormKind::Standard => Value::from(raw),
        };
        out.insert(field.name.to_owned(), value);
    }
    out
}

fn from_form<T: serde::de::DeserializeOwned>(
    values: serde_json::Map<String, serde_json::Value>,
) -> Result<T, AppError> {
    serde_json::from_value(serde_json::Value::Object(values)).map_err(|e| AppError::internal("registry form fields", e))
}

async fn new_form(ctx: web::Data<Ctx>, v: Viewer) -> PageResult {
    policy::require_admin(&v.p, policy::Admin::ManageStations)?;
    let p = v.p.clone();
    let units = ctx.run(move |conn, _| units::readable(conn, &p)).await?;
    let mut form = HashMap::new();
    form.insert("standard_id".to_owned(), "baxiangyi-common".to_owned());
    let page = FormPage::new_station();
    station_form(
        &ctx,
        &v,
        StatusCode::OK,
        &page,
        (&form, StationEditMode::Full),
        &units,
        None,
    )
}

async fn create(ctx: web::Data<Ctx>, v: Viewer, super::Body(body): super::Body) -> PageResult {
    let f = parse_form(&body)?;
    v.check_csrf(f.get("csrf_token").map(String::as_str))?;
    let mut errors = FieldErrors::new();
    let mut values = form_values(&f, StationEditMode::Full, false, &mut errors);
    if values.contains_key("established_on") {
        values.insert("status".into(), StationStatus::Established.as_str().into());
    }
    let result = match errors.into_result().and_then(|()| from_form::<StationInput>(values)) {
        Ok(input) => {
            let p = v.p.clone();
            ctx.run(move |conn, ctx| stations::create(conn, ctx, &p, input)).await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(s) => Ok(redirect(&format!("/stations/{}?ok=station", s.station.id))),
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let p = v.p.clone();
            let units = ctx.run(move |conn, _| units::readable(conn, &p)).await?;
            let page = FormPage::new_station();
            let status = e.status_code_for_page();
            station_form(&ctx, &v, status, &page, (&f, StationEditMode::Full), &units, Some(e))
        }
        Err(e) => Err(e.into()),
    }
}

async fn edit_form(ctx: web::Data<Ctx>, v: Viewer, path: web::Path<String>) -> PageResult {
    let sid = id(&path, "服务站")?;
    let p = v.p.clone();
    let (s, units) = ctx
        .run(move |conn, _| Ok((stations::get(conn, &p, sid)?, units::readable(conn, &p)?)))
        .await?;
    policy::can_edit_station(&v.p, s.station.unit_id, &[])?;
    let mode = policy::station_edit_mode(&v.p, s.station.unit_id);
    let stored = serde_json::to_value(&s.station).map_err(|e| AppError::internal("station form", e))?;
    let mut form: HashMap<String, String> = HashMap::new();
    for f in STATION_FIELDS {
        let text = match &stored[f.name] {
            serde_json::Value::String(t) => t.clone(),
            serde_json::Value::Null => continue,
            other => other.to_string(),
        };
        form.insert(f.name.to_owned(), text);
    }
    form.insert("version".into(), s.station.version.to_string());
    station_form(
        &ctx,
        &v,
        StatusCode::OK,
        &FormPage::edit(sid, mode),
        (&form, mode),
        &units,
        None,
    )
}

async fn update(ctx: web::Data<Ctx>, v: Viewer, path: web::Path<String>, super::Body(body): super::Body) -> PageResult {
    let sid = id(&path, "服务站")?;
    let f = parse_form(&body)?;
    v.check_csrf(f.get("csrf_token").map(String::as_str))?;
    // The form holds the fields this viewer may change (for an inspector,
    // the contact details); the use case checks the station's own unit.
    let p = v.p.clone();
    let station = ctx.run(move |conn, _| stations::get(conn, &p, sid)).await?;
    let mode = policy::station_edit_mode(&v.p, station.station.unit_id);
    let mut errors = FieldErrors::new();
    let mut values = form_values(&f, mode, true, &mut errors);
    if let Some(version) = f.get("version").and_then(|x| x.parse::<i32>().ok()) {
        values.insert("version".into(), version.into());
    }
    let result = match errors.into_result().and_then(|()| from_form::<StationPatch>(values)) {
        Ok(patch) => {
            let p = v.p.clone();
            ctx.run(move |conn, ctx| stations::update(conn, ctx, &p, sid, patch))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(redirect(&format!("/stations/{sid}?ok=station"))),
        Err(e @ (AppError::Validation(_) | AppError::Conflict { .. })) => {
            let p = v.p.clone();
            let units = ctx.run(move |conn, _| units::readable(conn, &p)).await?;
            let status = e.status_code_for_page();
            station_form(
                &ctx,
                &v,
                status,
                &FormPage::edit(sid, mode),
                (&f, mode),
                &units,
                Some(e),
            )
        }
        Err(e) => Err(e.into()),
    }
}
