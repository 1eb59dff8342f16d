//! Signing in and out from the web interface and the API: `GET /login`,
//! `POST /login` (JSON or the form), `POST /logout`; where to go after
//! sign-in, and refusing sign-in forms posted from other sites.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use minijinja::{Value, context};

use super::{PageError, PageResult, is_form, parse_form, redirect, render, render_status};
use crate::app::{Ctx, users};
use crate::error::AppError;
use crate::http::auth::{client_address, session_cookie};
use crate::http::limits::Body;

/// Only paths of this site are followed after sign-in. Browsers drop tabs
/// and line breaks from a URL and read `\\` as `/`, so `/\t/evil.example`
/// would leave the site: a `next` holding anything but visible ASCII
/// (percent-encoded paths are), a backslash, or starting with `//`, is
/// replaced by `/`.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/') && !n.starts_with("//") && n.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') =>
        {
            n.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// The sign-in page (HTML) of the web interface; its form posts to `/login`.
#[utoipa::path(get, path = "/login", tag = "system", security(()),
    params(("next" = Option<String>, Query, description = "站内地址：登录后前往")),
    responses((status = 200, description = "登录页面（HTML）", body = String, content_type = "text/html")))]
pub(crate) async fn login_page(query: web::Query<HashMap<String, String>>) -> PageResult {
    let next = safe_next(query.get("next").map(String::as_str));
    render(
        "login.html",
        None,
        "登录",
        None,
        context! { next, username => "", error => Value::from(()) },
    )
}

/// `POST /login`: JSON (`{"username","password"}`, answered with JSON) or
/// the sign-in form (answered with a redirect or the form again).
#[utoipa::path(post, path = "/login", operation_id = "login", tag = "system", security(()), request_body = users::LoginInput,
    responses((status = 200, description = "已登录：设置会话 Cookie，返回 CSRF 令牌", body = users::Signed),
        (status = 403, description = "来自其他网站的表单（Origin / Sec-Fetch-Site）", body = crate::http::error::ErrorBody),
        (status = 429, description = "失败次数过多：此地址暂时不能登录此账户", body = crate::http::error::ErrorBody)))]
pub(crate) async fn login_post(ctx: web::Data<Ctx>, req: HttpRequest, Body(body): Body) -> PageResult {
    cross_site_refused(&req)?;
    if !is_form(&req) {
        if let Some(ct) = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok())
            && !ct.starts_with("application/json")
        {
            return Err(PageError::Json(AppError::UnsupportedMediaType(format!(
                "请以 JSON（application/json）或表单提交登录信息，收到 {ct}"
            ))));
        }
        let input: users::LoginInput = crate::http::json::parse(&body).map_err(PageError::Json)?;
        return crate::http::auth::login(ctx, input, client_address(&req))
            .await
            .map_err(PageError::Json);
    }
    let f = parse_form(&body)?;
    let next = safe_next(f.get("next").map(String::as_str));
    let username = f.get("username").cloned().unwrap_or_default();
    let input = users::LoginInput {
        username: Some(username.clone()),
        password: f.get("password").cloned(),
    };
    let address = client_address(&req);
    let outcome = ctx
        .run(move |conn, ctx| Ok(users::login(conn, ctx, input, address)))
        .await?;
    match outcome {
        Ok(signed) => {
            let cookie = session_cookie(&ctx, &signed.session_secret, users::SESSION_HOURS);
            Ok(HttpResponse::SeeOther()
                .cookie(cookie)
                .insert_header((header::LOCATION, next))
                .finish())
        }
        Err(refused) => {
            if refused.delay_ms > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(refused.delay_ms)).await;
            }
            let status = refused.error.status_code();
            let error = refused.error.to_string();
            render_status(
                status,
                "login.html",
                None,
                "登录",
                None,
                context! { next, username, error },
            )
        }
    }
}

/// Login CSRF: a browser sending a form from another site says so in
/// `Sec-Fetch-Site` or `Origin`; such a sign-in or sign-out is refused
/// (403). Clients that send neither (scripts, older browsers) go ahead.
fn cross_site_refused(req: &HttpRequest) -> Result<(), PageError> {
    if crate::http::auth::same_site(req) {
        return Ok(());
    }
    tracing::warn!(address = %client_address(req), path = req.path(), "cross-site sign-in form refused");
    let e = AppError::Forbidden("拒绝来自其他网站的登录或退出请求".into());
    Err(if is_form(req) {
        PageError::App(e)
    } else {
        PageError::Json(e)
    })
}

/// Sent with a sign-out: the browser clears this site's storage (the visit
/// form's drafts on a shared phone).
const CLEAR_STORAGE: (&str, &str) = ("Clear-Site-Data", "\"storage\"");

/// The answer to a JSON sign-out.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct SignedOut {
    pub signed_out: bool,
}

/// `POST /logout`: with `X-CSRF-Token` (answered with JSON) or the form's
/// `csrf_token` (answered with a redirect to the sign-in page).
#[utoipa::path(post, path = "/logout", operation_id = "logout", tag = "system", security(("session" = [])),
    params(("X-CSRF-Token" = String, Header, description = "登录时返回的 CSRF 令牌")),
    responses((status = 200, description = "已退出", body = SignedOut),
        (status = 403, description = "CSRF 令牌不符，或来自其他网站", body = crate::http::error::ErrorBody)))]
pub(crate) async fn logout_post(ctx: web::Data<Ctx>, req: HttpRequest, Body(body): Body) -> PageResult {
    cross_site_refused(&req)?;
    let form = is_form(&req);
    let sent = if form {
        parse_form(&body)?.get("csrf_token").cloned()
    } else {
        None
    };
    match crate::http::auth::end_session(&ctx, &req, sent).await {
        Ok(gone) if form => Ok(HttpResponse::SeeOther()
            .cookie(gone)
            .insert_header((header::LOCATION, "/login"))
            .insert_header(CLEAR_STORAGE)
            .finish()),
        Ok(gone) => Ok(HttpResponse::Ok()
            .cookie(gone)
            .insert_header(CLEAR_STORAGE)
            .json(SignedOut { signed_out: true })),
        Err(AppError::Unauthorized(_)) if form => Ok(redirect("/login")),
        Err(e) if form => Err(PageError::App(e)),
        Err(e) => Err(PageError::Json(e)),
    }
}
