//! Who is calling: an `Authorization: Bearer` API token, or the session
//! cookie set by `POST /login` (then every state-changing request must carry
//! the session's CSRF token in `X-CSRF-Token`).

use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::{Method, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, dev::Payload, web};

use crate::app::Ctx;
use crate::app::users::{self, LoginInput, SESSION_HOURS};
use crate::auth::Principal;
use crate::error::AppError;

pub const SESSION_COOKIE: &str = "bayige_session";
pub const CSRF_HEADER: &str = "X-CSRF-Token";

/// The authenticated principal of a request; 401 without credentials.
pub struct Auth(pub Principal);

/// Compares secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn bearer(req: &HttpRequest) -> Option<String> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim().to_owned())
}

impl FromRequest for Auth {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ctx = req.app_data::<web::Data<Ctx>>().cloned();
        let bearer = bearer(req);
        let has_authorization = req.headers().contains_key(header::AUTHORIZATION);
        let cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
        let csrf = req
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        Box::pin(async move {
            let ctx = ctx.ok_or_else(|| AppError::internal("no app context", anyhow::anyhow!("missing Ctx")))?;
            if let Some(token) = bearer {
                let p = ctx
                    .run(move |conn, _| users::principal_from_token(conn, &token))
                    .await?;
                return Ok(Auth(p));
            }
            if has_authorization {
                return Err(AppError::Unauthorized("Authorization 头应为 Bearer 令牌".into()));
            }
            if let Some(secret) = cookie {
                let (p, expected) = ctx
                    .run(move |conn, _| users::principal_from_session(conn, &secret))
                    .await?;
                if !safe && !csrf.as_deref().is_some_and(|c| same_secret(c, &expected)) {
                    tracing::warn!(user = %p.username, "CSRF token missing or wrong");
                    return Err(AppError::Forbidden("CSRF 校验失败，请刷新页面后重试".into()));
                }
                return Ok(Auth(p));
            }
            Err(AppError::Unauthorized("请先登录或提供 API 令牌".into()))
        })
    }
}

/// The client's address for sign-in counters: the peer of the connection.
/// `X-Forwarded-For` and `Forwarded` are not believed (any client can send
/// them); behind a reverse proxy every client has the proxy's address.
pub fn client_address(req: &HttpRequest) -> IpAddr {
    req.peer_addr()
        .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |a| a.ip())
}

/// Whether a request comes from this site, as far as the browser says:
/// `Sec-Fetch-Site` must be `same-origin` or `none` (typed or bookmarked),
/// else `Origin` must name the host the request was sent to. Without
/// either header (not a browser, or an old one) the request is believed.
pub fn same_site(req: &HttpRequest) -> bool {
    let text = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = text("sec-fetch-site") {
        return matches!(site, "same-origin" | "none");
    }
    match req.headers().get(header::ORIGIN) {
        None => true,
        Some(origin) => {
            let origin = origin.to_str().unwrap_or("null");
            let authority = origin.split_once("://").map(|(_, a)| a);
            authority.is_some_and(|a| Some(a) == text("host"))
        }
    }
}

/// The session cookie (HttpOnly, SameSite=Lax, Secure unless configured off).
pub fn session_cookie(ctx: &Ctx, value: &str, max_age_hours: i64) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, value.to_owned())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(ctx.settings.cookie_secure)
        .max_age(CookieDuration::hours(max_age_hours))
        .finish()
}

/// `POST /login` with `{"username","password"}`: sets the session cookie and
/// returns the user and the CSRF token. Failures are slowed down; repeated
/// ones lock the account for a while (429).
pub async fn login(ctx: web::Data<Ctx>, input: LoginInput, address: IpAddr) -> Result<HttpResponse, AppError> {
    let outcome = ctx
        .run(move |conn, ctx| Ok(users::login(conn, ctx, input, address)))
        .await?;
    match outcome {
        Ok(signed) => {
            let cookie = session_cookie(&ctx, &signed.session_secret, SESSION_HOURS);
            Ok(HttpResponse::Ok().cookie(cookie).json(signed))
        }
        Err(refused) => {
            if refused.delay_ms > 0 {
                tokio::time::sleep(std::time::Duration::from_millis(refused.delay_ms)).await;
            }
            Err(refused.error)
        }
    }
}

/// Ends the session of the request's cookie, if the CSRF token `sent` (from
/// a form field, or else the `X-CSRF-Token` header) matches; returns the
/// removal cookie.
pub async fn end_session(ctx: &Ctx, req: &HttpRequest, sent: Option<String>) -> Result<Cookie<'static>, AppError> {
    let secret = req
        .cookie(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .ok_or_else(|| AppError::Unauthorized("请先登录".into()))?;
    let lookup = secret.clone();
    let (p, csrf) = ctx
        .run(move |conn, _| users::principal_from_session(conn, &lookup))
        .await?;
    let sent = sent.or_else(|| {
        req.headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    });
    if !sent.as_deref().is_some_and(|c| same_secret(c, &csrf)) {
        return Err(AppError::Forbidden("CSRF 校验失败，请刷新页面后重试".into()));
    }
    ctx.run(move |conn, _| users::logout(conn, &secret)).await?;
    tracing::info!(user = %p.username, "signed out");
    let mut gone = session_cookie(ctx, "", 0);
    gone.make_removal();
    Ok(gone)
}
