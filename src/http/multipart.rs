//! The one reader of `multipart/form-data` bodies, for the API's evidence
//! upload and the page's visit form: text fields (bounded, no NUL), files
//! (bounded in size and number, names without control characters).

use std::collections::HashMap;

use actix_multipart::{Field, Multipart, MultipartError};
use futures_util::StreamExt;

use crate::error::{AppError, FieldErrors};
use crate::http::json::NUL_MESSAGE;

/// A file field as uploaded.
pub struct Upload {
    /// The form field's name (e.g. `file`, `photo_plaque`).
    pub field: String,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

/// What one request may carry.
pub struct Limits {
    /// Bytes of one text field.
    pub text_bytes: usize,
    /// Bytes of one file.
    pub file_bytes: usize,
    /// Number of files.
    pub files: usize,
    /// Which fields carry files even when the client sent no file name.
    pub is_file: fn(&str) -> bool,
}

/// A multipart body: text fields by name (the last of a repeated name wins)
/// and the files, in the order sent. Empty file fields (a form's file input
/// left empty) are dropped.
#[derive(Default)]
pub struct Form {
    pub fields: HashMap<String, String>,
    pub files: Vec<Upload>,
}

/// The file name of a field that carries a file: one with a file name in
/// its disposition, or one the caller expects a file in.
fn file_name(field: &Field, name: &str, limits: &Limits) -> Option<String> {
    let given = field
        .content_disposition()
        .and_then(|cd| cd.get_filename().map(str::to_owned));
    match given {
        Some(n) => Some(n),
        None if (limits.is_file)(name) => Some(String::new()),
        None => None,
    }
}

async fn read_field(field: &mut Field, name: &str, limit: usize) -> Result<Vec<u8>, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(error)?;
        if bytes.len() + chunk.len() > limit {
            return Err(AppError::TooLarge(format!("“{name}”超过 {limit} 字节的上限")));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Reads the whole body within `limits`.
pub async fn read(mut payload: Multipart, limits: &Limits) -> Result<Form, AppError> {
    let mut form = Form::default();
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(error)?;
        let name = field.name().unwrap_or_default().to_owned();
        if name.contains('\0') {
            return Err(FieldErrors::single("body", NUL_MESSAGE));
        }
        match file_name(&field, &name, limits) {
            Some(file_name) => {
                if file_name.chars().any(char::is_control) {
                    return Err(FieldErrors::single(name, "文件名不能含有控制字符"));
                }
                let bytes = read_field(&mut field, &name, limits.file_bytes).await?;
                if bytes.is_empty() {
                    continue;
                }
                if form.files.len() == limits.files {
                    return Err(AppError::TooLarge(format!("一次最多上传 {} 个文件", limits.files)));
                }
                form.files.push(Upload {
                    field: name,
                    file_name,
                    bytes,
                });
            }
            None => {
                let bytes = read_field(&mut field, &name, limits.text_bytes).await?;
                let text = String::from_utf8(bytes).map_err(|_| FieldErrors::single(&name, "须为 UTF-8 文本"))?;
                if text.contains('\0') {
                    return Err(FieldErrors::single(name, NUL_MESSAGE));
                }
                form.fields.insert(name, text);
            }
        }
    }
    Ok(form)
}

fn error(e: MultipartError) -> AppError {
    match e {
        MultipartError::ContentTypeMissing
        | MultipartError::ContentTypeParse
        | MultipartError::ContentTypeIncompatible => {
            AppError::UnsupportedMediaType("请以 multipart/form-data 上传文件".into())
        }
        MultipartError::Payload(p) if crate::http::limits::is_timeout(&p) => {
            AppError::Timeout("上传未能在限定时间内完成，请在网络较好时重试".into())
        }
        other => AppError::BadRequest(format!("上传内容无法解析：{other}")),
    }
}
