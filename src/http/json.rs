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
            let bytes = bytes.await.map_err(|e| {
                if e.as_response_error().status_code() == actix_web::http::StatusCode::PAYLOAD_TOO_LARGE {
                    AppError::TooLarge(format!("请求体超过 {} 字节的上限", super::JSON_LIMIT))
                } else {
                    AppError::BadRequest(format!("无法读取请求体：{e}"))
                }
            })?;
            parse(&bytes).map(Json)
        })
    }
}

/// Parses a JSON body, reporting where it failed.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
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
