//! Errors as HTTP answers: one JSON shape (`ErrorBody`) for every refusal,
//! whatever produced it.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, ResponseError, http::StatusCode};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::AppError;

/// The body of every error answer.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Machine-readable: `validation_failed`, `bad_request`, `unauthorized`,
    /// `forbidden`, `locked`, `not_found`, `payload_too_large`,
    /// `unsupported_media_type`, `conflict`, `database_unavailable`,
    /// `internal`.
    pub code: String,
    /// For people, in Chinese.
    pub message: String,
    /// With `validation_failed`: messages per field path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fields: Option<BTreeMap<String, Vec<String>>>,
    /// With `conflict`: the record as it is now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<serde_json::Value>,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::Locked(_) => StatusCode::TOO_MANY_REQUESTS,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::Timeout(_) => StatusCode::REQUEST_TIMEOUT,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Conflict { .. } => StatusCode::CONFLICT,
            AppError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut body = ErrorDetail {
            code: self.code().into(),
            message: self.to_string(),
            fields: None,
            current: None,
        };
        match self {
            AppError::Validation(fields) => body.fields = Some(fields.0.clone()),
            AppError::Conflict { current: Some(c), .. } => body.current = Some(c.clone()),
            AppError::Internal(e) => tracing::error!(error = ?e, "request failed"),
            AppError::Unavailable(e) => tracing::warn!(error = %e, "database unavailable"),
            AppError::Unauthorized(e) | AppError::Forbidden(e) | AppError::Locked(e) => {
                tracing::warn!(error = %e, code = self.code(), "request refused")
            }
            _ => {}
        }
        let mut resp = HttpResponse::build(self.status_code());
        match self {
            AppError::Unauthorized(_) => {
                resp.insert_header(("WWW-Authenticate", "Bearer realm=\"bayige\""));
            }
            AppError::Locked(_) => {
                resp.insert_header(("Retry-After", "900"));
            }
            _ => {}
        }
        resp.json(ErrorBody { error: body })
    }
}

/// A known path asked with a method it does not take: 405, with the
/// methods it does take in `Allow`.
pub fn method_not_allowed(allow: &str) -> HttpResponse {
    HttpResponse::MethodNotAllowed()
        .insert_header(("Allow", allow))
        .json(ErrorBody {
            error: ErrorDetail {
                code: "method_not_allowed".into(),
                message: format!("此地址只接受 {allow} 请求"),
                fields: None,
                current: None,
            },
        })
}

/// Answers every unknown path with the JSON error shape (404).
pub async fn not_found() -> HttpResponse {
    AppError::NotFound("没有这个地址".into()).error_response()
}

/// A page that failed: to the sign-in page when not signed in, otherwise an
/// error page with the status the API would give.
#[derive(Debug)]
pub enum PageError {
    Login(String),
    App(AppError),
    /// An error of a JSON request on a shared path: the API's JSON shape.
    Json(AppError),
}

impl std::fmt::Display for PageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PageError::Login(next) => write!(f, "sign-in needed for {next}"),
            PageError::App(e) | PageError::Json(e) => write!(f, "{e}"),
        }
    }
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Unauthorized(_) => PageError::Login("/".into()),
            other => PageError::App(other),
        }
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::Login(_) => StatusCode::SEE_OTHER,
            PageError::App(e) | PageError::Json(e) => e.status_code(),
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            PageError::Login(next) => super::pages::redirect(&format!("/login?next={}", super::pages::encode(next))),
            PageError::Json(e) => e.error_response(),
            PageError::App(e) => super::pages::error_page(e),
        }
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
