//! The visit form an inspector fills in on a phone: one page per station,
//! results, notes and a photo per item, posted as one multipart form.

use std::collections::HashMap;

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::web;
use chrono::NaiveDate;
use minijinja::context;

use super::{PageResult, Viewer, redirect, render_status, val};
use crate::app::Ctx;
use crate::app::visits::{self, ItemInput, VisitInput, VisitTemplate};
use crate::auth::policy;
use crate::domain::{ItemResult, VisitKind};
use crate::error::{AppError, FieldErrors};
use crate::http::api::id;
use crate::http::multipart::{self, Limits};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/stations/{id}/visit", web::get().to(visit_form))
        .route("/stations/{id}/visit", web::post().to(record_visit));
}

/// A fresh idempotency key for a form: a double tap or a resent form
/// records the visit once.
fn new_key() -> Result<String, AppError> {
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| AppError::internal("no randomness for a form key", anyhow::anyhow!("{e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// One line of the error summary at the top of a refused form: where the
/// error is (an element id to link to), what it is called, what is wrong.
#[derive(serde::Serialize)]
struct Problem {
    anchor: String,
    label: String,
    message: String,
}

fn problems(t: &VisitTemplate, errors: &FieldErrors, item_errors: &HashMap<String, Vec<String>>) -> Vec<Problem> {
    let mut out = Vec::new();
    for (field, label) in [
        ("kind", "检查类型"),
        ("visited_on", "检查日期"),
        ("station_id", "服务站"),
        ("items", "检查项目"),
        ("summary", "检查小结"),
        ("idempotency_key", "提交"),
    ] {
        for msg in errors.0.get(field).into_iter().flatten() {
            let anchor = match field {
                "station_id" | "idempotency_key" => "kind",
                "items" => "visited_on",
                other => other,
            };
            out.push(Problem {
                anchor: anchor.to_owned(),
                label: label.to_owned(),
                message: msg.clone(),
            });
        }
    }
    for it in &t.items {
        for msg in item_errors.get(&it.code).into_iter().flatten() {
            out.push(Problem {
                anchor: format!("item-{}", it.code),
                label: it.title_zh.clone(),
                message: msg.clone(),
            });
        }
    }
    out
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

/// Errors keyed `items[i].field` belong to the i-th item of the form, which
/// lists the template's items in order; the rest are the visit's own.
fn split_errors(t: &VisitTemplate, err: Option<FieldErrors>) -> (FieldErrors, HashMap<String, Vec<String>>) {
    let mut errors = FieldErrors::new();
    let mut item_errors: HashMap<String, Vec<String>> = HashMap::new();
    for (key, msgs) in err.map(|e| e.0).unwrap_or_default() {
        let item = match key.strip_prefix("photo_") {
            Some(code) => t.items.iter().find(|it| it.code == code),
            None => key
                .strip_prefix("items[")
                .and_then(|rest| rest.split_once(']'))
                .and_then(|(i, _)| i.parse::<usize>().ok())
                .and_then(|i| t.items.get(i)),
        };
        match item {
            Some(it) => item_errors.entry(it.code.clone()).or_default().extend(msgs),
            None => errors.0.entry(key).or_default().extend(msgs),
        }
    }
    (errors, item_errors)
}

fn visit_page(
    ctx: &Ctx,
    v: &Viewer,
    status: StatusCode,
    t: &VisitTemplate,
    form: &HashMap<String, String>,
    err: Option<FieldErrors>,
    message: Option<String>,
) -> PageResult {
    let (errors, item_errors) = split_errors(t, err);
    let results: Vec<(&str, &str)> = ItemResult::ALL.iter().map(|r| (r.as_str(), r.label_zh())).collect();
    let problems = problems(t, &errors, &item_errors);
    let mut form = form.clone();
    let due = ctx
        .today()
        .checked_add_days(chrono::Days::new(u64::from(ctx.settings.guidance_due_days)))
        .unwrap_or(ctx.today())
        .to_string();
    for it in &t.items {
        for key in [format!("result_{}", it.code), format!("note_{}", it.code)] {
            form.entry(key).or_default();
        }
        form.entry(format!("instruction_{}", it.code))
            .or_insert_with(|| it.guidance.clone());
        form.entry(format!("due_on_{}", it.code)).or_insert_with(|| due.clone());
    }
    if !form.contains_key("idempotency_key") {
        form.insert("idempotency_key".to_owned(), new_key()?);
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
            item_errors, problems => val(&problems), results, kinds, message, item_titles => super::stations::own_titles(ctx, &t.standard_id),
            today => ctx.today().to_string(),
        },
    )
}

async fn visit_form(ctx: web::Data<Ctx>, v: Viewer, path: web::Path<String>) -> PageResult {
    let sid = id(&path, "服务站")?;
    let p = v.p.clone();
    let t = ctx
        .run(move |conn, ctx| {
            let station = crate::app::stations::get(conn, &p, sid)?;
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

/// The visit as the use case takes it, from the form's fields. The
/// instruction and due date of an item count only when it is answered
/// 基本符合 or 不符合 (the form shows them, prefilled, for every item).
fn visit_input(t: &VisitTemplate, fields: &HashMap<String, String>, errors: &mut FieldErrors) -> VisitInput {
    let items = t
        .items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            let result = fields.get(&format!("result_{}", it.code)).cloned();
            let failing = result
                .as_deref()
                .and_then(ItemResult::parse)
                .is_some_and(ItemResult::is_failing);
            let (instruction, due_on) = if failing {
                let due_key = format!("due_on_{}", it.code);
                let due = date_field(fields, &due_key, errors);
                if let Some(msgs) = errors.0.remove(&due_key) {
                    errors.0.entry(format!("items[{i}].due_on")).or_default().extend(msgs);
                }
                (fields.get(&format!("instruction_{}", it.code)).cloned(), due)
            } else {
                (None, None)
            };
            ItemInput {
                code: Some(it.code.clone()),
                result,
                note: fields.get(&format!("note_{}", it.code)).cloned(),
                instruction,
                due_on,
            }
        })
        .collect();
    VisitInput {
        kind: fields.get("kind").cloned(),
        visited_on: date_field(fields, "visited_on", errors),
        inspector: None,
        summary: fields.get("summary").cloned(),
        items: Some(items),
        ..VisitInput::default()
    }
}

/// Records the visit and its photos in one use case. Who may record at
/// this station is checked before the body is read, and the CSRF token
/// (sent before the files) before any file is read.
async fn record_visit(ctx: web::Data<Ctx>, v: Viewer, path: web::Path<String>, body: Multipart) -> PageResult {
    let sid = id(&path, "服务站")?;
    let p = v.p.clone();
    let t = ctx
        .run(move |conn, ctx| visits::recordable_template(conn, ctx, &p, sid))
        .await?;
    let limits = Limits::visit(&ctx, t.items.len());
    let csrf = |f: &HashMap<String, String>| v.csrf_ok(f.get("csrf_token").map(String::as_str));
    let form = multipart::read(&ctx, body, &limits, csrf).await?;
    let mut errors = FieldErrors::new();
    let photos = multipart::photos(form.files, &mut errors);
    let had_photos = !photos.is_empty();
    let input = visit_input(&t, &form.fields, &mut errors);
    let key = form.fields.get("idempotency_key").cloned().filter(|k| !k.is_empty());
    let result = match errors.into_result() {
        Ok(()) => {
            let p = v.p.clone();
            ctx.run(move |conn, ctx| visits::record_once(conn, ctx, &p, sid, input, photos, key))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok((visit, _)) => Ok(redirect(&format!("/stations/{sid}?ok=visit&visit={}", visit.id))),
        Err(AppError::Validation(f)) => {
            let message = if had_photos {
                "请修改标红的项目后再提交，已填写的内容已保留；照片需要重新选择。"
            } else {
                "请修改标红的项目后再提交，已填写的内容已保留。"
            };
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            visit_page(&ctx, &v, status, &t, &form.fields, Some(f), Some(message.to_owned()))
        }
        Err(e) => Err(e.into()),
    }
}
