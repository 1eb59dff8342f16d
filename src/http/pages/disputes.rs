//! The dispute ledger (台账) pages: the list with the year's figures, the
//! phone-friendly form a station keeps its ledger with, and one case with
//! its handling and follow-up form. The same use cases as the API; names
//! and phones masked as the policy decides.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::web;
use chrono::Datelike;
use minijinja::context;

use super::stations::pairs;
use super::{PageResult, Viewer, filled, parse_form, redirect, render, render_status, val};
use crate::app::disputes::{self, DisputeInput, ListQuery, StatsQuery};
use crate::app::{Ctx, units};
use crate::domain::dispute::{Channel, DisputeStatus, Handling, Outcome, Satisfaction, SubjectKind};
use crate::error::{AppError, FieldErrors};
use crate::http::api::id;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/disputes", web::get().to(list))
        .route("/disputes/new", web::get().to(new_form))
        .route("/disputes/new", web::post().to(create))
        .route("/disputes/{id}", web::get().to(show))
        .route("/disputes/{id}", web::post().to(update));
}

/// The closed sets the forms offer, with their Chinese labels.
fn choices() -> minijinja::Value {
    context! {
        channels => pairs(Channel::ALL, Channel::as_str, Channel::label_zh),
        kinds => pairs(SubjectKind::ALL, SubjectKind::as_str, SubjectKind::label_zh),
        handlings => pairs(Handling::ALL, Handling::as_str, Handling::label_zh),
        outcomes => pairs(Outcome::ALL, Outcome::as_str, Outcome::label_zh),
        satisfactions => pairs(Satisfaction::ALL, Satisfaction::as_str, Satisfaction::label_zh),
        statuses => pairs(DisputeStatus::ALL, DisputeStatus::as_str, DisputeStatus::label_zh),
        labels => labels(),
    }
}

/// Every stored value's Chinese label, for showing a case.
fn labels() -> HashMap<&'static str, &'static str> {
    let mut all = HashMap::new();
    all.extend(Channel::ALL.iter().map(|c| (c.as_str(), c.label_zh())));
    all.extend(SubjectKind::ALL.iter().map(|c| (c.as_str(), c.label_zh())));
    all.extend(Handling::ALL.iter().map(|c| (c.as_str(), c.label_zh())));
    all.extend(Outcome::ALL.iter().map(|c| (c.as_str(), c.label_zh())));
    all.extend(Satisfaction::ALL.iter().map(|c| (c.as_str(), c.label_zh())));
    all.extend(DisputeStatus::ALL.iter().map(|c| (c.as_str(), c.label_zh())));
    all
}

async fn list(ctx: web::Data<Ctx>, v: Viewer, query: web::Query<HashMap<String, String>>) -> PageResult {
    let q = ListQuery {
        station_id: filled(&query, "station_id"),
        unit_id: filled(&query, "unit_id"),
        channel: filled(&query, "channel"),
        status: filled(&query, "status"),
        from: filled(&query, "from"),
        to: filled(&query, "to"),
        overdue: filled(&query, "overdue"),
        page: filled(&query, "page"),
        per_page: Some("20".into()),
    };
    let p = v.p.clone();
    let today = ctx.today();
    let (page, figures, units) = ctx
        .run(move |conn, ctx| {
            let stats = StatsQuery {
                year: Some(today.year().to_string()),
                as_of: Some(today.to_string()),
                ..StatsQuery::default()
            };
            Ok((
                disputes::list(conn, ctx, &p, q)?,
                disputes::stats(conn, ctx, &p, stats)?,
                units::readable(conn, &p)?,
            ))
        })
        .await?;
    let pages = ((page.total.unwrap_or(0) + page.per_page - 1) / page.per_page).max(1);
    const FILTERS: [&str; 7] = ["station_id", "unit_id", "channel", "status", "from", "to", "overdue"];
    let keep: Vec<(String, String)> = FILTERS
        .iter()
        .filter_map(|k| filled(&query, k).map(|v| (k.to_string(), v)))
        .collect();
    // Every filter, blank when not set (the template compares them).
    let f: HashMap<&str, String> = FILTERS
        .iter()
        .map(|k| (*k, filled(&query, k).unwrap_or_default()))
        .collect();
    render(
        "disputes.html",
        Some(&v),
        "投诉受理台账",
        None,
        context! {
            page => val(&page), pages, figures => val(&figures), units => val(&units),
            query => serde_urlencoded::to_string(&keep).unwrap_or_default(),
            f, is_station => v.p.station.is_some(),
            ..choices()
        },
    )
}

/// A form's fields as a case (blank fields left out).
fn input_of(form: &HashMap<String, String>) -> Result<DisputeInput, AppError> {
    let text = |k: &str| filled(form, k);
    let date = |k: &str| -> Result<Option<chrono::NaiveDate>, AppError> {
        match text(k) {
            None => Ok(None),
            Some(d) => d
                .parse()
                .map(Some)
                .map_err(|_| FieldErrors::single(k, "应为日期 YYYY-MM-DD")),
        }
    };
    let version = match text("version") {
        None => None,
        Some(v) => Some(
            v.parse()
                .map_err(|_| FieldErrors::single("version", "版本号应为整数"))?,
        ),
    };
    Ok(DisputeInput {
        version,
        channel: text("channel"),
        dispatch_ref: text("dispatch_ref"),
        received_on: date("received_on")?,
        received_time: text("received_time"),
        consumer_name: text("consumer_name"),
        consumer_phone: text("consumer_phone"),
        subject: text("subject"),
        subject_kind: text("subject_kind"),
        amount: text("amount"),
        complaint: text("complaint"),
        responded_on: date("responded_on")?,
        handling: text("handling"),
        handling_note: text("handling_note"),
        outcome: text("outcome"),
        recovered: text("recovered"),
        handled_on: date("handled_on")?,
        followed_up_on: date("followed_up_on")?,
        satisfaction: text("satisfaction"),
    })
}

fn form_page(
    v: &Viewer,
    status: StatusCode,
    station_id: Option<i32>,
    form: HashMap<String, String>,
    errors: Option<FieldErrors>,
) -> PageResult {
    render_status(
        status,
        "dispute_form.html",
        Some(v),
        "登记投诉",
        None,
        context! { form, errors => val(errors.map(|e| e.0)), station_id, ..choices() },
    )
}

async fn new_form(ctx: web::Data<Ctx>, v: Viewer, query: web::Query<HashMap<String, String>>) -> PageResult {
    let station_id =
        v.p.station
            .or_else(|| filled(&query, "station_id").and_then(|s| s.parse().ok()));
    let mut form = HashMap::new();
    form.insert("received_on".to_owned(), ctx.today().to_string());
    form.insert("channel".to_owned(), Channel::WalkIn.as_str().to_owned());
    form_page(&v, StatusCode::OK, station_id, form, None)
}

async fn create(ctx: web::Data<Ctx>, v: Viewer, super::Body(body): super::Body) -> PageResult {
    let form = parse_form(&body)?;
    v.check_csrf(form.get("csrf_token").map(String::as_str))?;
    let station_id = match v.p.station {
        Some(own) => own,
        None => id(form.get("station_id").map_or("", String::as_str), "服务站")?,
    };
    let input = input_of(&form)?;
    let p = v.p.clone();
    match ctx
        .run(move |conn, ctx| disputes::create(conn, ctx, &p, station_id, input))
        .await
    {
        Ok(case) => Ok(redirect(&format!("/disputes/{}?ok=1", case.id))),
        Err(AppError::Validation(errors)) => form_page(
            &v,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(station_id),
            form,
            Some(errors),
        ),
        Err(e) => Err(e.into()),
    }
}

async fn show(
    ctx: web::Data<Ctx>,
    v: Viewer,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> PageResult {
    let case_id = id(&path, "投诉记录")?;
    let p = v.p.clone();
    let case = ctx.run(move |conn, ctx| disputes::get(conn, ctx, &p, case_id)).await?;
    let flash = query.get("ok").map(|_| "投诉记录已保存。");
    case_page(&v, StatusCode::OK, flash, case, HashMap::new(), None)
}

fn case_page(
    v: &Viewer,
    status: StatusCode,
    flash: Option<&str>,
    case: disputes::Dispute,
    form: HashMap<String, String>,
    errors: Option<FieldErrors>,
) -> PageResult {
    let can_edit = crate::auth::policy::can_record_dispute(&v.p, case.station_id).is_ok();
    render_status(
        status,
        "dispute.html",
        Some(v),
        "投诉记录",
        flash,
        context! { d => val(&case), can_edit, form, errors => val(errors.map(|e| e.0)), ..choices() },
    )
}

async fn update(ctx: web::Data<Ctx>, v: Viewer, path: web::Path<String>, super::Body(body): super::Body) -> PageResult {
    let case_id = id(&path, "投诉记录")?;
    let form = parse_form(&body)?;
    v.check_csrf(form.get("csrf_token").map(String::as_str))?;
    let input = input_of(&form)?;
    let p = v.p.clone();
    match ctx
        .run(move |conn, ctx| disputes::update(conn, ctx, &p, case_id, input))
        .await
    {
        Ok(case) => Ok(redirect(&format!("/disputes/{}?ok=1", case.id))),
        Err(AppError::Validation(errors)) => {
            let p = v.p.clone();
            let case = ctx.run(move |conn, ctx| disputes::get(conn, ctx, &p, case_id)).await?;
            case_page(&v, StatusCode::UNPROCESSABLE_ENTITY, None, case, form, Some(errors))
        }
        Err(e) => Err(e.into()),
    }
}
