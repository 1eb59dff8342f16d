//! A JSON body extractor whose errors name the field: malformed JSON is 400,
//! a well-formed body with a wrong value or an unknown field is 422.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use serde::de::DeserializeOwned;

use crate::error::{AppError, FieldErrors};

pub struct Json<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let content_type = req
            .headers()
            .get(actix_web::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if let Some(ct) = content_type.filter(|ct| !ct.starts_with("application/json")) {
                return Err(AppError::UnsupportedMediaType(format!(
                    "请求体须为 JSON（Content-Type: application/json），收到 {ct}"
                )));
            }
            let bytes = bytes.await.map_err(super::limits::body_error)?;
            parse(&bytes).map(Json)
        })
    }
}

/// The message for text holding a NUL character, which no field may hold
/// (PostgreSQL cannot store it; no form or document needs it).
pub const NUL_MESSAGE: &str = "不能含有 NUL（\\u0000）控制字符";

/// What no string of any body may hold: NUL, and bidirectional controls.
fn bad_char(s: &str) -> Option<&'static str> {
    if s.contains('\0') {
        Some(NUL_MESSAGE)
    } else if s.chars().any(crate::domain::text::is_bidi_control) {
        Some(crate::domain::text::BIDI_MESSAGE)
    } else {
        None
    }
}

/// The path of the first string holding a character no field may hold,
/// and why.
fn nul_path(v: &serde_json::Value, path: &str) -> Option<(String, &'static str)> {
    use serde_json::Value;
    let join = |key: &str| {
        if path.is_empty() {
            key.to_owned()
        } else {
            format!("{path}.{key}")
        }
    };
    match v {
        Value::String(s) => bad_char(s).map(|why| (if path.is_empty() { "body".into() } else { path.into() }, why)),
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, x)| nul_path(x, &format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(k, x)| {
            if let Some(why) = bad_char(k) {
                Some((join(k), why))
            } else {
                nul_path(x, &join(k))
            }
        }),
        _ => None,
    }
}

/// Parses a JSON body, reporting where it failed.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    // Rare, so looked for only when an escape or a bidirectional control
    // (UTF-8 E2 80 AA–AE, E2 81 A6–A9) is in the text at all.
    let suspect = bytes.windows(3).any(|w| {
        w.starts_with(b"\\u")
            || w.starts_with(b"\\U")
            || matches!(w, [0xE2, 0x80, 0xAA..=0xAE] | [0xE2, 0x81, 0xA6..=0xA9])
    });
    if suspect
        && let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes)
        && let Some((path, why)) = nul_path(&v, "")
    {
        return Err(FieldErrors::single(path, why));
    }
    // Every body is an object. serde would also fill a struct from an array
    // of its fields in order (`["name", null]`), a form no schema allows.
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[') {
        return Err(FieldErrors::single("body", "须为 JSON 对象（{…}），不能是数组"));
    }
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        use serde_json::error::Category;
        match inner.classify() {
            Category::Data => {
                let field = if path == "." { "body".to_owned() } else { path };
                FieldErrors::single(field, format!("取值无效：{inner}"))
            }
            Category::Syntax | Category::Eof | Category::Io => AppError::BadRequest(format!("JSON 格式错误：{inner}")),
        }
    })
}
