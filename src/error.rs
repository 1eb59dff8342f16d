//! The errors a use case can end in, and how each maps to HTTP.

use std::collections::BTreeMap;

use serde::Serialize;

/// Messages per field, keyed by the field's path (`credit_code`,
/// `items[2].note`).
#[derive(Debug, Default, Clone, Serialize, PartialEq)]
#[serde(transparent)]
pub struct FieldErrors(pub BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds every error of `other`.
    pub fn merge(&mut self, other: FieldErrors) {
        for (field, messages) in other.0 {
            self.0.entry(field).or_default().extend(messages);
        }
    }

    /// Adds the errors found by a `validator` derive.
    pub fn absorb(&mut self, errors: validator::ValidationErrors) {
        for (field, errs) in errors.field_errors() {
            for e in errs {
                let msg = e
                    .message
                    .as_ref()
                    .map(|m| m.to_string())
                    .unwrap_or_else(|| e.code.to_string());
                self.add(field.to_string(), msg);
            }
        }
    }

    /// `Err(AppError::Validation)` when any error was collected.
    pub fn into_result(self) -> Result<(), AppError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(AppError::Validation(self))
        }
    }

    /// One message for one field.
    pub fn of(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut f = Self::new();
        f.add(field, message);
        f
    }

    pub fn single(field: impl Into<String>, message: impl Into<String>) -> AppError {
        let mut f = Self::new();
        f.add(field, message);
        AppError::Validation(f)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The request is well-formed but its fields break the rules (422).
    #[error("请求数据未通过校验")]
    Validation(FieldErrors),
    /// The request cannot be parsed at all (400).
    #[error("{0}")]
    BadRequest(String),
    /// No valid credentials (401).
    #[error("{0}")]
    Unauthorized(String),
    /// Credentials are valid but do not allow this (403).
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed sign-ins: locked for a while (429).
    #[error("{0}")]
    Locked(String),
    #[error("{0}")]
    NotFound(String),
    /// The client took too long to send the request (408).
    #[error("{0}")]
    Timeout(String),
    /// The body is larger than allowed (413).
    #[error("{0}")]
    TooLarge(String),
    /// The body is of a type not accepted here (415).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The record changed since the client read it, or the change clashes
    /// with existing data (409). `current` carries the record as it is now.
    #[error("{message}")]
    Conflict {
        message: String,
        current: Option<serde_json::Value>,
    },
    /// The database cannot be reached or is too busy (503).
    #[error("数据库暂时不可用，请稍后重试：{0}")]
    Unavailable(String),
    /// A fault of the server, never of the client (500).
    #[error("服务器内部错误")]
    Internal(#[source] anyhow::Error),
}

impl AppError {
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Validation(_) => "validation_failed",
            AppError::BadRequest(_) => "bad_request",
            AppError::Unauthorized(_) => "unauthorized",
            AppError::Forbidden(_) => "forbidden",
            AppError::Locked(_) => "locked",
            AppError::NotFound(_) => "not_found",
            AppError::TooLarge(_) => "payload_too_large",
            AppError::Timeout(_) => "request_timeout",
            AppError::UnsupportedMediaType(_) => "unsupported_media_type",
            AppError::Conflict { .. } => "conflict",
            AppError::Unavailable(_) => "database_unavailable",
            AppError::Internal(_) => "internal_error",
        }
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        AppError::Conflict {
            message: message.into(),
            current: None,
        }
    }

    pub fn internal(context: &'static str, e: impl Into<anyhow::Error>) -> Self {
        AppError::Internal(e.into().context(context))
    }
}

impl From<FieldErrors> for AppError {
    fn from(errors: FieldErrors) -> Self {
        AppError::Validation(errors)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind as K, Error as E};
        match &e {
            E::DatabaseError(K::UniqueViolation, info) => {
                AppError::conflict(format!("与已有记录冲突：{}", info.message()))
            }
            E::DatabaseError(K::ClosedConnection, info) => AppError::Unavailable(info.message().to_owned()),
            E::DatabaseError(_, info) if is_busy(info.message()) => AppError::Unavailable(info.message().to_owned()),
            _ => AppError::Internal(anyhow::Error::new(e).context("database query failed")),
        }
    }
}

fn is_busy(message: &str) -> bool {
    message.contains("database is locked") || message.contains("database is busy")
}

impl From<r2d2_error::PoolError> for AppError {
    fn from(e: r2d2_error::PoolError) -> Self {
        AppError::Unavailable(e.to_string())
    }
}

/// r2d2's error type, re-exported by diesel.
pub mod r2d2_error {
    pub use diesel::r2d2::PoolError;
}

/// A URL fit for messages and logs: the password of its user information
/// (`scheme://user:password@host`) replaced by `***`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split_once(':').map_or(userinfo, |(u, _)| u);
            let hidden = if userinfo.contains(':') { ":***" } else { "" };
            format!("{scheme}://{user}{hidden}@{host}{tail}")
        }
        None => url.to_owned(),
    }
}

/// `text` with every occurrence of the password in `url` replaced by `***`
/// (for error messages of libraries that repeat what they were given).
pub fn redact_in(text: &str, url: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split(['/', '?', '#']).next())
        .and_then(|authority| authority.rsplit_once('@'))
        .and_then(|(userinfo, _)| userinfo.split_once(':'))
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty());
    match password {
        Some(p) => text.replace(p, "***"),
        None => text.to_owned(),
    }
}

#[cfg(test)]
mod redact_tests {
    use super::*;

    #[test]
    fn passwords_in_urls_are_hidden() {
        assert_eq!(
            redact_url("smtps://mailer:s3cr%40t@mail.example:465/x?y"),
            "smtps://mailer:***@mail.example:465/x?y"
        );
        assert_eq!(redact_url("smtp://relay.example:25"), "smtp://relay.example:25");
        assert_eq!(redact_url("smtp://user@relay.example"), "smtp://user@relay.example");
        assert_eq!(
            redact_in("bad port in mailer:s3cr@t@h", "smtp://mailer:s3cr@t@h"),
            "bad port in mailer:***@h"
        );
    }
}
