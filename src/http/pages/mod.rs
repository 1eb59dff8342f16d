//! The web interface: server-rendered pages in Chinese from
//! `templates/pages/` (minijinja, HTML auto-escaped, strict undefined
//! variables). Pages call the same use cases as the API; the policy module
//! decides what each user may see and do. Forms carry the session's CSRF
//! token.

mod admin;
mod audit;
mod bureau;
mod charts;
mod disputes;
mod field;
mod home;
mod notices;
mod overview;
mod register;
mod review;
mod sign_in;
mod stations;
mod user_edit;
mod visit_form;

pub(crate) use sign_in::{
    __path_login_page, __path_login_post, __path_logout_post, login_page, login_post, logout_post,
};

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, dev::Payload, web};
use minijinja::{Environment, UndefinedBehavior, Value, context};
use serde::Serialize;

use crate::app::{Ctx, users};
use crate::auth::{Principal, Role};
use crate::domain::StationStatus;
use crate::error::AppError;
use crate::http::auth::{SESSION_COOKIE, same_secret};
pub use crate::http::error::PageError;
use crate::http::limits::Body;

const TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../../templates/pages/layout.html")),
    ("macros.html", include_str!("../../../templates/pages/macros.html")),
    ("charts.html", include_str!("../../../templates/pages/charts.html")),
    ("login.html", include_str!("../../../templates/pages/login.html")),
    ("error.html", include_str!("../../../templates/pages/error.html")),
    (
        "dashboard.html",
        include_str!("../../../templates/pages/dashboard.html"),
    ),
    ("stations.html", include_str!("../../../templates/pages/stations.html")),
    ("station.html", include_str!("../../../templates/pages/station.html")),
    (
        "station_form.html",
        include_str!("../../../templates/pages/station_form.html"),
    ),
    (
        "visit_form.html",
        include_str!("../../../templates/pages/visit_form.html"),
    ),
    ("guidance.html", include_str!("../../../templates/pages/guidance.html")),
    ("progress.html", include_str!("../../../templates/pages/progress.html")),
    (
        "circulars.html",
        include_str!("../../../templates/pages/circulars.html"),
    ),
    (
        "circular_preview.html",
        include_str!("../../../templates/pages/circular_preview.html"),
    ),
    ("circular.html", include_str!("../../../templates/pages/circular.html")),
    (
        "station_import.html",
        include_str!("../../../templates/pages/station_import.html"),
    ),
    ("review.html", include_str!("../../../templates/pages/review.html")),
    (
        "review_units.html",
        include_str!("../../../templates/pages/review_units.html"),
    ),
    (
        "dashboard_lead.html",
        include_str!("../../../templates/pages/dashboard_lead.html"),
    ),
    ("users.html", include_str!("../../../templates/pages/users.html")),
    (
        "user_edit.html",
        include_str!("../../../templates/pages/user_edit.html"),
    ),
    (
        "user_confirm.html",
        include_str!("../../../templates/pages/user_confirm.html"),
    ),
    (
        "user_password.html",
        include_str!("../../../templates/pages/user_password.html"),
    ),
    ("audit.html", include_str!("../../../templates/pages/audit.html")),
    (
        "notice_settings.html",
        include_str!("../../../templates/pages/notice_settings.html"),
    ),
    (
        "unsubscribe.html",
        include_str!("../../../templates/pages/unsubscribe.html"),
    ),
    (
        "deliveries.html",
        include_str!("../../../templates/pages/deliveries.html"),
    ),
    ("disputes.html", include_str!("../../../templates/pages/disputes.html")),
    ("dispute.html", include_str!("../../../templates/pages/dispute.html")),
    (
        "dispute_form.html",
        include_str!("../../../templates/pages/dispute_form.html"),
    ),
    ("queue.html", include_str!("../../../templates/pages/queue.html")),
    (
        "inspector_home.html",
        include_str!("../../../templates/pages/inspector_home.html"),
    ),
];

/// `{{ t|local(tz) }}`: an RFC 3339 timestamp as local wall-clock time
/// ("2026-11-30 19:50"); anything else is shown as it is.
fn local_time(value: String, tz: String) -> String {
    let zone: chrono_tz::Tz = tz.parse().unwrap_or(chrono_tz::UTC);
    match chrono::DateTime::parse_from_rfc3339(&value) {
        Ok(t) => t.with_timezone(&zone).format("%Y-%m-%d %H:%M").to_string(),
        Err(_) => value,
    }
}

/// `{{ v.location|place_zh }}`: a recorded position in Chinese, e.g.
/// "北纬41.94°，东经126.42°（±15米）".
fn place_zh(location: minijinja::Value) -> String {
    let num = |k: &str| location.get_attr(k).ok().and_then(|v| f64::try_from(v).ok());
    let (Some(lat), Some(lon)) = (num("latitude"), num("longitude")) else {
        return String::new();
    };
    let ns = if lat < 0.0 { "南纬" } else { "北纬" };
    let ew = if lon < 0.0 { "西经" } else { "东经" };
    let mut text = format!("{ns}{:.2}°，{ew}{:.2}°", lat.abs(), lon.abs());
    if let Some(a) = num("accuracy_m") {
        text.push_str(&format!("（±{:.0}米）", a));
    }
    text
}

/// What the times on a page are in, as a reader says it: "北京时间" for
/// China's zone, else the zone's name.
pub fn zone_zh(tz: &str) -> String {
    match tz {
        "Asia/Shanghai" | "Asia/Chongqing" | "Asia/Harbin" | "Asia/Urumqi" | "PRC" => "北京时间".to_owned(),
        "UTC" | "Etc/UTC" => "协调世界时".to_owned(),
        _ => "本系统设定时区时间".to_owned(),
    }
}

/// A station status in Chinese, as the domain words it (`{{ s.status|status_zh(s.established_on) }}`).
fn status_zh(status: String, established_on: Option<String>) -> String {
    let established = established_on.and_then(|d| d.parse::<chrono::NaiveDate>().ok());
    match StationStatus::parse(&status) {
        Some(s) => s.label_for(established).to_owned(),
        None => status,
    }
}

fn env() -> Result<&'static Environment<'static>, AppError> {
    static ENV: OnceLock<Result<Environment<'static>, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        // Printing an undefined value is an error; testing one (`x or ""`,
        // `if x`) is allowed, for optional form fields.
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.add_filter("local", local_time);
        env.add_filter("status_zh", status_zh);
        env.add_filter("place_zh", place_zh);
        for (name, source) in TEMPLATES {
            env.add_template(name, source).map_err(|e| format!("{name}: {e}"))?;
        }
        Ok(env)
    })
    .as_ref()
    .map_err(|e| AppError::internal("page templates are invalid", anyhow::anyhow!(e.clone())))
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/static/app.css", web::get().to(css))
        .route("/static/app.js", web::get().to(js))
        .service(web::resource("/login").get(login_page).post(login_post))
        .service(web::resource("/logout").post(logout_post));
    overview::routes(cfg);
    register::routes(cfg);
    stations::routes(cfg);
    visit_form::routes(cfg);
    field::routes(cfg);
    review::routes(cfg);
    admin::routes(cfg);
    audit::routes(cfg);
    notices::routes(cfg);
    disputes::routes(cfg);
}

async fn css() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../../templates/static/app.css"))
}

async fn js() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../../templates/static/app.js"))
}

/// Any serialisable value as a template value.
pub fn val<T: Serialize>(x: T) -> Value {
    Value::from(minijinja::value::Serde(x))
}

/// What the layout needs to know about the signed-in user.
#[derive(Debug, Serialize)]
pub struct Me {
    pub username: String,
    pub role: Role,
    pub role_zh: &'static str,
    pub is_admin: bool,
    pub can_inspect: bool,
    pub is_lead: bool,
    /// A station's own account: its ledger is all it has.
    pub is_station: bool,
    /// The station of a station account.
    pub station_id: Option<i32>,
    /// A county lead's unacknowledged shortfalls (the menu shows the count).
    pub awaiting: Option<usize>,
}

/// The signed-in user of a page request, with the session's CSRF token.
pub struct Viewer {
    pub p: Principal,
    pub csrf: String,
    /// The service's time zone, for showing timestamps (`|local(tz)`).
    pub tz: chrono_tz::Tz,
    /// What awaits a county lead in their queue (None for other roles).
    pub awaiting: Option<crate::app::review::Awaiting>,
}

impl Viewer {
    pub fn me(&self) -> Me {
        let menus = crate::auth::policy::menus(&self.p);
        Me {
            username: self.p.username.clone(),
            role: self.p.role,
            role_zh: self.p.role.label_zh(),
            is_admin: menus.bureau,
            can_inspect: menus.inspection,
            is_lead: menus.review,
            is_station: self.p.role == Role::Station,
            station_id: self.p.station,
            awaiting: self.awaiting.map(|a| a.total),
        }
    }

    /// Checks the CSRF token a form sent.
    pub fn check_csrf(&self, sent: Option<&str>) -> Result<(), PageError> {
        self.csrf_ok(sent).map_err(PageError::App)
    }

    /// [`Viewer::check_csrf`], as the use cases' error.
    pub fn csrf_ok(&self, sent: Option<&str>) -> Result<(), AppError> {
        if sent.is_some_and(|s| same_secret(s, &self.csrf)) {
            Ok(())
        } else {
            tracing::warn!(user = %self.p.username, "form without a valid CSRF token");
            Err(AppError::Forbidden(
                "表单已过期（CSRF 校验失败），请刷新页面后重试".into(),
            ))
        }
    }
}

/// The error page (HTML) for a page request that failed.
pub(crate) fn error_page(e: &AppError) -> HttpResponse {
    if let AppError::Internal(inner) = e {
        tracing::error!(error = ?inner, "page failed");
    }
    let fields: Vec<(String, String)> = match e {
        AppError::Validation(f) => {
            f.0.iter()
                .flat_map(|(k, v)| v.iter().map(move |m| (k.clone(), m.clone())))
                .collect()
        }
        _ => Vec::new(),
    };
    let title = match e.status_code() {
        StatusCode::FORBIDDEN => "无权访问",
        StatusCode::NOT_FOUND => "页面不存在",
        StatusCode::CONFLICT => "操作冲突",
        StatusCode::UNPROCESSABLE_ENTITY => "提交的内容有误",
        s if s.is_server_error() => "服务暂时不可用",
        _ => "无法完成",
    };
    let ctx = context! { me => Value::from(()), csrf => "", flash => Value::from(()), title, message => e.to_string(), fields };
    match env().and_then(|env| {
        env.get_template("error.html")
            .and_then(|t| t.render(ctx))
            .map_err(|err| AppError::internal("error page", anyhow::anyhow!("{err:#}")))
    }) {
        Ok(body) => HttpResponse::build(e.status_code())
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(_) => HttpResponse::build(e.status_code()).body(e.to_string()),
    }
}

pub type PageResult = Result<HttpResponse, PageError>;

/// Percent-encodes a path for a query string.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

impl FromRequest for Viewer {
    type Error = PageError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, PageError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ctx = req.app_data::<web::Data<Ctx>>().cloned();
        let cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let next = req
            .uri()
            .path_and_query()
            .map_or("/".to_owned(), |p| p.as_str().to_owned());
        Box::pin(async move {
            let ctx =
                ctx.ok_or_else(|| PageError::App(AppError::internal("no app context", anyhow::anyhow!("Ctx"))))?;
            let Some(secret) = cookie else {
                return Err(PageError::Login(next));
            };
            match ctx
                .run(move |conn, ctx| {
                    let (p, csrf) = users::principal_from_session(conn, &secret)?;
                    // A county lead's menu counts what awaits them; a failed
                    // count leaves the menu without it, never the page.
                    let awaiting = crate::app::review::awaiting(conn, ctx, &p).unwrap_or_else(|e| {
                        tracing::warn!(error = %e, "cannot count the review queue");
                        None
                    });
                    Ok((p, csrf, awaiting))
                })
                .await
            {
                Ok((p, csrf, awaiting)) => Ok(Viewer {
                    p,
                    csrf,
                    tz: ctx.tz,
                    awaiting,
                }),
                Err(AppError::Unauthorized(_)) => Err(PageError::Login(next)),
                Err(e) => Err(PageError::App(e)),
            }
        })
    }
}

/// Renders a page with the layout's context (user, CSRF token, flash).
pub fn render(name: &str, viewer: Option<&Viewer>, title: &str, flash: Option<&str>, extra: Value) -> PageResult {
    render_status(StatusCode::OK, name, viewer, title, flash, extra)
}

pub fn render_status(
    status: StatusCode,
    name: &str,
    viewer: Option<&Viewer>,
    title: &str,
    flash: Option<&str>,
    extra: Value,
) -> PageResult {
    let me = viewer.map_or(Value::from(()), |v| val(v.me()));
    let csrf = viewer.map_or(String::new(), |v| v.csrf.clone());
    let tz = viewer.map_or("UTC".to_owned(), |v| v.tz.name().to_owned());
    let tz_zh = zone_zh(&tz);
    let ctx = context! { me, csrf, title, tz, tz_zh, flash => flash.map_or(Value::from(()), Value::from), ..extra };
    let body = env()?
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .map_err(|e| AppError::internal("cannot render the page", anyhow::anyhow!("{name}: {e:#}")))?;
    Ok(HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .body(body))
}

/// Flash messages after a redirect, by code (never text from the URL).
pub fn flash_for(query: &HashMap<String, String>) -> Option<&'static str> {
    match query.get("ok").map(String::as_str) {
        Some("visit") => Some("检查记录已提交。"),
        Some("station") => Some("服务站信息已保存。"),
        Some("issued") => Some("通报已印发，邮件正在发送。"),
        Some("retry") => Some("已重新排队发送。"),
        Some("ack") => Some("已确认，该问题已移入“已确认”列表。"),
        Some("user") => Some("用户已创建。"),
        Some("user_saved") => Some("用户信息已保存。"),
        Some("user_disabled") => Some("账号已停用，其登录和令牌均已失效。"),
        Some("user_enabled") => Some("账号已启用。"),
        _ => None,
    }
}

/// A form's fields as a map (the last value of a repeated name wins), and
/// every value of repeated names.
pub fn form_map(fields: &[(String, String)]) -> HashMap<String, String> {
    fields.iter().cloned().collect()
}

/// Whether the body is an HTML form; anything else (JSON, or no body) is
/// answered as the JSON API answers.
pub(crate) fn is_form(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/x-www-form-urlencoded"))
}

/// A form or query field, `None` when left blank (a filter form sends
/// every field; the API treats a blank parameter as an error).
pub fn filled(map: &HashMap<String, String>, key: &str) -> Option<String> {
    map.get(key).filter(|v| !v.trim().is_empty()).cloned()
}

/// Form fields of an `application/x-www-form-urlencoded` body.
pub fn parse_form(body: &[u8]) -> Result<HashMap<String, String>, AppError> {
    Ok(form_map(&parse_pairs(body)?))
}

/// Form fields in order (a field may repeat); no value may hold a NUL.
pub fn parse_pairs(body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|e| {
        tracing::info!(error = %e, "form unreadable");
        AppError::BadRequest("表单无法解析，请刷新页面后重新填写".into())
    })?;
    if let Some((k, _)) = pairs.iter().find(|(k, v)| k.contains('\0') || v.contains('\0')) {
        return Err(crate::error::FieldErrors::single(
            k.clone(),
            crate::http::json::NUL_MESSAGE,
        ));
    }
    let bidi = |s: &String| s.chars().any(crate::domain::text::is_bidi_control);
    if let Some((k, _)) = pairs.iter().find(|(k, v)| bidi(k) || bidi(v)) {
        return Err(crate::error::FieldErrors::single(
            k.clone(),
            crate::domain::text::BIDI_MESSAGE,
        ));
    }
    Ok(pairs)
}
