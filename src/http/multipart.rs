//! The one reader of `multipart/form-data` bodies, for the API's visits
//! and evidence uploads and the page's visit form: text fields (bounded, no
//! NUL), files (bounded in size and number, names without control
//! characters, streamed to disk as they arrive), and the whole request
//! bounded. A gate runs on the text fields sent before the first file
//! (the CSRF token, say), before any file is read.

use std::collections::HashMap;

use actix_multipart::{Field, Multipart, MultipartError};
use futures_util::StreamExt;

use crate::app::Ctx;
use crate::app::evidence::Photo;
use crate::app::staging::{Staged, Stager};
use crate::error::{AppError, FieldErrors};
use crate::http::json::NUL_MESSAGE;

/// A file field as uploaded.
#[derive(Debug)]
pub struct Upload {
    /// The form field's name (e.g. `file`, `photo_plaque`).
    pub field: String,
    pub file_name: String,
    pub file: Staged,
}

/// What one request may carry.
pub struct Limits {
    /// Bytes of one text field.
    pub text_bytes: usize,
    /// Bytes of one file.
    pub file_bytes: usize,
    /// Number of files.
    pub files: usize,
    /// Number of parts (fields and files) altogether.
    pub parts: usize,
    /// Bytes of every field and file together.
    pub total_bytes: usize,
    /// Which fields carry files even when the client sent no file name.
    pub is_file: fn(&str) -> bool,
    /// The field names a form may have (None: any); another name is a 422
    /// naming it, as soon as it is seen.
    pub known: Option<fn(&str) -> bool>,
}

impl Limits {
    /// A visit with its photos: a photo per checklist item, each within
    /// the evidence limit, and four photos' worth (plus the text)
    /// altogether.
    pub fn visit(ctx: &Ctx, items: usize) -> Limits {
        let file = ctx.settings.evidence_max_bytes;
        Limits {
            text_bytes: crate::http::JSON_LIMIT,
            file_bytes: file,
            files: items,
            parts: 8 + 3 * items,
            total_bytes: file.saturating_mul(4).saturating_add(crate::http::JSON_LIMIT),
            is_file: |name| name.starts_with("photo_"),
            known: None,
        }
    }

    /// One spreadsheet (the station register) and a few form fields.
    pub fn sheet() -> Limits {
        let file = crate::sheets::read::ReadLimits::default().max_bytes;
        Limits {
            text_bytes: 4096,
            file_bytes: file,
            files: 1,
            parts: 8,
            total_bytes: file.saturating_add(16 * 1024),
            is_file: |name| name == "file",
            known: Some(|name| matches!(name, "file" | "dry_run" | "csrf_token")),
        }
    }

    /// One evidence file and its item code.
    pub fn evidence(ctx: &Ctx) -> Limits {
        let file = ctx.settings.evidence_max_bytes;
        Limits {
            text_bytes: 256,
            file_bytes: file,
            files: 1,
            parts: 4,
            total_bytes: file.saturating_add(1024),
            is_file: |name| name == "file",
            known: Some(|name| matches!(name, "file" | "item_code")),
        }
    }
}

/// A multipart body: text fields by name (the last of a repeated name wins)
/// and the files, in the order sent. Empty file fields (a form's file input
/// left empty) are dropped.
#[derive(Debug, Default)]
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

/// Counts what a request has carried so far against its bounds.
struct Budget<'a> {
    limits: &'a Limits,
    bytes: usize,
    parts: usize,
}

impl Budget<'_> {
    fn part(&mut self) -> Result<(), AppError> {
        self.parts += 1;
        if self.parts > self.limits.parts {
            return Err(AppError::TooLarge(format!("一次提交最多 {} 个字段", self.limits.parts)));
        }
        Ok(())
    }

    fn take(&mut self, name: &str, field_bytes: usize, limit: usize, n: usize) -> Result<(), AppError> {
        if field_bytes + n > limit {
            return Err(AppError::TooLarge(format!("“{name}”超过 {limit} 字节的上限")));
        }
        self.bytes += n;
        if self.bytes > self.limits.total_bytes {
            return Err(AppError::TooLarge(format!(
                "一次提交的内容超过 {} 字节的上限",
                self.limits.total_bytes
            )));
        }
        Ok(())
    }
}

async fn read_text(field: &mut Field, name: &str, budget: &mut Budget<'_>) -> Result<String, AppError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(error)?;
        budget.take(name, bytes.len(), budget.limits.text_bytes, chunk.len())?;
        bytes.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(bytes).map_err(|_| FieldErrors::single(name, "须为 UTF-8 文本"))?;
    if text.contains('\0') {
        return Err(FieldErrors::single(name, NUL_MESSAGE));
    }
    if text.chars().any(crate::domain::text::is_bidi_control) {
        return Err(FieldErrors::single(name, crate::domain::text::BIDI_MESSAGE));
    }
    Ok(text)
}

async fn read_file(ctx: &Ctx, field: &mut Field, name: &str, budget: &mut Budget<'_>) -> Result<Staged, AppError> {
    let mut file = Stager::new(ctx).await?;
    while let Some(chunk) = field.next().await {
        let chunk = chunk.map_err(error)?;
        let so_far = usize::try_from(file.size()).unwrap_or(usize::MAX);
        budget.take(name, so_far, budget.limits.file_bytes, chunk.len())?;
        file.push(&chunk).await?;
    }
    file.finish().await
}

/// Reads the whole body within `limits`. `gate` sees the text fields sent
/// before the first file, before that file is read (or all of them, when
/// there is no file); its error ends the reading.
pub async fn read(
    ctx: &Ctx,
    mut payload: Multipart,
    limits: &Limits,
    mut gate: impl FnMut(&HashMap<String, String>) -> Result<(), AppError>,
) -> Result<Form, AppError> {
    let mut form = Form::default();
    let mut budget = Budget {
        limits,
        bytes: 0,
        parts: 0,
    };
    let mut gated = false;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(error)?;
        let name = field.name().unwrap_or_default().to_owned();
        if name.contains('\0') {
            return Err(FieldErrors::single("body", NUL_MESSAGE));
        }
        if limits.known.is_some_and(|known| !known(&name)) {
            return Err(FieldErrors::single(name, "未知的表单字段"));
        }
        if limits.known.is_some() && (form.fields.contains_key(&name) || form.files.iter().any(|f| f.field == name)) {
            return Err(FieldErrors::single(name, "字段重复：每个字段只能提交一次"));
        }
        budget.part()?;
        let Some(file_name) = file_name(&field, &name, limits) else {
            let text = read_text(&mut field, &name, &mut budget).await?;
            form.fields.insert(name, text);
            continue;
        };
        if !gated {
            gate(&form.fields)?;
            gated = true;
        }
        if file_name.chars().any(char::is_control) {
            return Err(FieldErrors::single(name, "文件名不能含有控制字符"));
        }
        if form.files.len() == limits.files {
            return Err(AppError::TooLarge(format!("一次最多上传 {} 个文件", limits.files)));
        }
        let file = read_file(ctx, &mut field, &name, &mut budget).await?;
        if file.size > 0 {
            form.files.push(Upload {
                field: name,
                file_name,
                file,
            });
        }
    }
    if !gated {
        gate(&form.fields)?;
    }
    Ok(form)
}

/// The photos as the use case takes them: `photo_<item_code>` fields.
pub fn photos(files: Vec<Upload>, errors: &mut FieldErrors) -> Vec<Photo> {
    let mut out = Vec::new();
    for file in files {
        match file.field.strip_prefix("photo_") {
            Some(code) => out.push(Photo {
                item_code: code.to_owned(),
                file_name: file.file_name,
                file: file.file,
            }),
            None => errors.add(file.field.clone(), "未知的文件字段"),
        }
    }
    out
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
        // "Payload error" and the like stay in the log, in English.
        other => {
            tracing::info!(error = %other, "multipart body unreadable");
            AppError::BadRequest("上传内容无法解析（连接中断或数据不完整），请重新提交".into())
        }
    }
}
