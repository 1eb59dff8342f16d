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
            item_errors, results, kinds, message, item_titles => super::stations::own_titles(ctx, &t.standard_id),
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

/// The visit as the use case takes it, from the form's fields.
fn visit_input(t: &VisitTemplate, fields: &HashMap<String, String>, errors: &mut FieldErrors) -> VisitInput {
    VisitInput {
        kind: fields.get("kind").cloned(),
        visited_on: date_field(fields, "visited_on", errors),
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
    let result = match errors.into_result() {
        Ok(()) => {
            let p = v.p.clone();
            ctx.run(move |conn, ctx| visits::record_with_photos(conn, ctx, &p, sid, input, photos))
                .await
        }
        Err(e) => Err(e),
    };
    match result {
        Ok(_) => Ok(redirect(&format!("/stations/{sid}?ok=visit"))),
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
