//! Pages of the notices: the user's own email settings, the one-click
//! unsubscribe link (no session: the link's signature is the proof), and
//! the outbox of every kind for administrators.

use std::collections::HashMap;

use actix_web::web;
use minijinja::context;

use super::{PageResult, Viewer, redirect, render, val};
use crate::app::Ctx;
use crate::app::notices::{deliveries, optout};
use crate::domain::DeliveryKind;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/me/notices", web::get().to(settings_page))
        .route("/me/notices", web::post().to(save_settings))
        .route("/unsubscribe", web::get().to(unsubscribe_page))
        .route("/unsubscribe", web::post().to(unsubscribe))
        .route("/deliveries", web::get().to(deliveries_page))
        .route("/deliveries/{id}/retry", web::post().to(retry));
}

async fn settings_page(ctx: web::Data<Ctx>, v: Viewer, query: web::Query<HashMap<String, String>>) -> PageResult {
    let p = v.p.clone();
    let prefs = ctx.run(move |conn, _| optout::preferences(conn, &p)).await?;
    let flash = (query.get("ok").map(String::as_str) == Some("saved")).then_some("邮件提醒设置已保存。");
    render(
        "notice_settings.html",
        Some(&v),
        "邮件提醒设置",
        flash,
        context! { prefs => val(&prefs) },
    )
}

async fn save_settings(ctx: web::Data<Ctx>, v: Viewer, super::Body(body): super::Body) -> PageResult {
    let f = super::parse_form(&body)?;
    v.check_csrf(f.get("csrf_token").map(String::as_str))?;
    let prefs = optout::Preferences {
        digest: f.get("digest").map(String::as_str) == Some("on"),
        reminder: f.get("reminder").map(String::as_str) == Some("on"),
    };
    let p = v.p.clone();
    ctx.run(move |conn, _| optout::set_preferences(conn, &p, prefs)).await?;
    Ok(redirect("/me/notices?ok=saved"))
}

fn link_params(query: &HashMap<String, String>) -> (Option<String>, Option<String>, Option<String>) {
    (
        query.get("user").cloned(),
        query.get("kind").cloned(),
        query.get("sig").cloned(),
    )
}

/// The link opened in a browser: asks to confirm (a GET changes nothing,
/// so that a mail scanner following links unsubscribes no one).
async fn unsubscribe_page(ctx: web::Data<Ctx>, query: web::Query<HashMap<String, String>>) -> PageResult {
    let (user, kind, sig) = link_params(&query);
    let (u, k, s) = (user.clone(), kind.clone(), sig.clone());
    let (_, checked) = ctx
        .run(move |conn, _| optout::check_link(conn, u.as_deref(), k.as_deref(), s.as_deref()))
        .await?;
    let action = format!(
        "/unsubscribe?user={}&kind={}&sig={}",
        super::encode(&user.unwrap_or_default()),
        super::encode(&kind.unwrap_or_default()),
        super::encode(&sig.unwrap_or_default())
    );
    render(
        "unsubscribe.html",
        None,
        "退订邮件",
        None,
        context! { kind_zh => checked.label_zh(), action, done => false },
    )
}

/// One-click unsubscribe (RFC 8058: the mail program POSTs
/// `List-Unsubscribe=One-Click`), or the confirmation page's button.
async fn unsubscribe(ctx: web::Data<Ctx>, query: web::Query<HashMap<String, String>>) -> PageResult {
    let (user, kind, sig) = link_params(&query);
    let kind = ctx
        .run(move |conn, _| {
            let (user_id, kind) = optout::check_link(conn, user.as_deref(), kind.as_deref(), sig.as_deref())?;
            optout::unsubscribe(conn, user_id, kind)?;
            Ok(kind)
        })
        .await?;
    render(
        "unsubscribe.html",
        None,
        "退订邮件",
        None,
        context! { kind_zh => kind.label_zh(), action => "", done => true },
    )
}

async fn deliveries_page(ctx: web::Data<Ctx>, v: Viewer, query: web::Query<HashMap<String, String>>) -> PageResult {
    let p = v.p.clone();
    let kind = super::filled(&query, "kind");
    let page = super::filled(&query, "page");
    let list = ctx
        .run(move |conn, _| deliveries::list(conn, &p, kind, page, None))
        .await?;
    let kinds: Vec<(&str, &str)> = DeliveryKind::ALL.iter().map(|k| (k.as_str(), k.label_zh())).collect();
    let flash = super::flash_for(&query);
    render(
        "deliveries.html",
        Some(&v),
        "邮件发送情况",
        flash,
        context! { list => val(&list), kinds, kind => query.get("kind").cloned().unwrap_or_default() },
    )
}

async fn retry(ctx: web::Data<Ctx>, v: Viewer, path: web::Path<String>, super::Body(body): super::Body) -> PageResult {
    let f = super::parse_form(&body)?;
    v.check_csrf(f.get("csrf_token").map(String::as_str))?;
    let id = crate::http::api::id(&path, "投递记录")?;
    let p = v.p.clone();
    ctx.run(move |conn, ctx| deliveries::retry(conn, ctx, &p, id)).await?;
    Ok(redirect("/deliveries?ok=retry"))
}
