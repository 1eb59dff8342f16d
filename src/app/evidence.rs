//! Evidence files (photos, PDFs) attached to a visit item. Files are kept
//! once per content under `data_dir/evidence/ab/abcdef...` (SHA-256); the
//! database holds what each attachment is.

use std::path::PathBuf;

use serde::Serialize;

use super::Ctx;
use super::audit::{self, snapshot};
use super::staging::Staged;
use crate::auth::Principal;
use crate::auth::policy;
use crate::db::stations as station_store;
use crate::db::visits::{self as store, NewEvidence};
use crate::db::{self, DbConnection};
use crate::error::{AppError, FieldErrors};

/// An evidence file attached to a visit item.
#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Evidence {
    pub id: i32,
    pub visit_id: i32,
    pub item_code: String,
    pub sha256: String,
    pub content_type: String,
    pub size_bytes: i64,
    pub file_name: String,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub created_at: chrono::NaiveDateTime,
}

impl From<store::Evidence> for Evidence {
    fn from(e: store::Evidence) -> Self {
        Evidence {
            id: e.id,
            visit_id: e.visit_id,
            item_code: e.item_code,
            sha256: e.sha256,
            content_type: e.content_type,
            size_bytes: e.size_bytes,
            file_name: e.file_name,
            created_at: e.created_at,
        }
    }
}

/// Evidence of these visits, oldest first.
pub fn of_visits(conn: &mut DbConnection, visit_ids: &[i32]) -> Result<Vec<Evidence>, AppError> {
    Ok(store::evidence_of(conn, visit_ids)?
        .into_iter()
        .map(Evidence::from)
        .collect())
}

/// The accepted kinds, recognised by their content, never by the file name.
pub const ACCEPTED: &[&str] = &["image/jpeg", "image/png", "image/webp", "application/pdf"];

/// The content type of `bytes` if it is one we accept.
pub fn sniff(bytes: &[u8]) -> Result<&'static str, AppError> {
    let found = infer::get(bytes).map(|t| t.mime_type());
    match found.and_then(|m| ACCEPTED.iter().find(|a| **a == m)) {
        Some(m) => Ok(m),
        None => Err(AppError::UnsupportedMediaType(format!(
            "只接受 JPEG、PNG、WebP 图片或 PDF 文件（按内容识别为 {}）",
            found.unwrap_or("未知类型")
        ))),
    }
}

fn path_for(ctx: &Ctx, sha: &str) -> PathBuf {
    ctx.settings.data_dir.join("evidence").join(&sha[..2]).join(sha)
}

/// Keeps a staged file under its hash unless it is there already; durable
/// before returning (the staged file was synced; renamed, then the folder
/// synced). Blocking.
pub fn keep(ctx: &Ctx, file: Staged) -> Result<(), AppError> {
    let path = path_for(ctx, &file.sha256);
    if path.exists() {
        return Ok(());
    }
    let dir = path
        .parent()
        .ok_or_else(|| AppError::internal("evidence path", anyhow::anyhow!("no parent")))?;
    std::fs::create_dir_all(dir).map_err(|e| AppError::internal("cannot create the evidence folder", e))?;
    file.path
        .persist(&path)
        .map_err(|e| AppError::internal("cannot keep the evidence file", e.error))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| AppError::internal("cannot write the evidence file", e))
}

/// What is recorded of a file: a name without control characters or
/// folders, at most 200 characters.
fn clean_name(file_name: &str) -> String {
    let name: String = crate::domain::text::trim_invisible(file_name)
        .chars()
        .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
        .take(200)
        .collect();
    if name.is_empty() { "evidence".into() } else { name }
}

/// Checks that `p` may attach evidence to this visit (and, when given, this
/// item of it).
pub fn check_target(
    conn: &mut DbConnection,
    p: &Principal,
    visit_id: i32,
    item_code: Option<&str>,
) -> Result<(), AppError> {
    let visit = store::get(conn, visit_id)?.ok_or_else(|| AppError::NotFound(format!("检查记录 {visit_id} 不存在")))?;
    let station = station_store::get(conn, visit.station_id)?
        .ok_or_else(|| AppError::NotFound(format!("服务站 {} 不存在", visit.station_id)))?;
    policy::can_record_visit(p, station.unit_id)?;
    let Some(item_code) = item_code else {
        return Ok(());
    };
    if visit.voided_at.is_some() {
        return Err(AppError::conflict(format!(
            "检查记录 {visit_id} 已作废，不能再添加证据"
        )));
    }
    let items = store::items_of(conn, &[visit_id])?;
    if !items.iter().any(|i| i.item_code == item_code) {
        let codes: Vec<_> = items.iter().map(|i| i.item_code.as_str()).collect();
        return Err(FieldErrors::single(
            "item_code",
            format!("该检查记录没有检查项“{item_code}”，应为：{}", codes.join(", ")),
        ));
    }
    Ok(())
}

/// Keeps the file and records the attachment.
pub fn attach(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    visit_id: i32,
    item_code: &str,
    file_name: &str,
    file: Staged,
) -> Result<Evidence, AppError> {
    if file.size == 0 {
        return Err(FieldErrors::single("file", "文件为空"));
    }
    if file_name.chars().any(crate::domain::text::is_bidi_control) {
        return Err(FieldErrors::single(
            "file",
            format!("文件名{}", crate::domain::text::BIDI_MESSAGE),
        ));
    }
    let content_type = sniff(&file.head)?;
    check_target(conn, p, visit_id, Some(item_code))?;
    let kept = Kept {
        item_code: item_code.to_owned(),
        file_name: clean_name(file_name),
        sha256: file.sha256.clone(),
        content_type,
        size: file.size,
    };
    keep(ctx, file)?;
    let mut rows = db::write_tx(conn, |conn| {
        check_target(conn, p, visit_id, Some(item_code))?;
        insert(conn, p, visit_id, std::slice::from_ref(&kept))
    })?;
    rows.pop()
        .ok_or_else(|| AppError::internal("evidence", anyhow::anyhow!("no row recorded")))
}

/// A file checked and kept on disk, waiting for its row.
#[derive(Debug, Clone)]
pub struct Kept {
    pub item_code: String,
    pub file_name: String,
    pub sha256: String,
    pub content_type: &'static str,
    pub size: u64,
}

/// A photo sent with a visit, for one of its items (form field
/// `photo_<item_code>`).
#[derive(Debug)]
pub struct Photo {
    pub item_code: String,
    pub file_name: String,
    pub file: Staged,
}

/// Checks photos sent with a visit: each of an item `is_item` knows, and of
/// an accepted kind. Errors are keyed by the photo's form field.
pub fn check_photos(photos: &[Photo], is_item: impl Fn(&str) -> bool, errors: &mut FieldErrors) {
    for photo in photos {
        let field = format!("photo_{}", photo.item_code);
        if !is_item(&photo.item_code) {
            errors.add(field, format!("检查项“{}”不在本次检查中", photo.item_code));
        } else if photo.file_name.chars().any(crate::domain::text::is_bidi_control) {
            errors.add(field, format!("文件名{}", crate::domain::text::BIDI_MESSAGE));
        } else if let Err(e) = sniff(&photo.file.head) {
            errors.add(field, e.to_string());
        }
    }
}

/// Keeps checked photos on disk (before the visit's transaction: files are
/// kept by content, so a rolled-back visit leaves at most a file nothing
/// refers to). Blocking.
pub fn keep_photos(ctx: &Ctx, photos: Vec<Photo>) -> Result<Vec<Kept>, AppError> {
    let mut kept = Vec::with_capacity(photos.len());
    for photo in photos {
        let content_type = sniff(&photo.file.head)?;
        kept.push(Kept {
            item_code: photo.item_code,
            file_name: clean_name(&photo.file_name),
            sha256: photo.file.sha256.clone(),
            content_type,
            size: photo.file.size,
        });
        keep(ctx, photo.file)?;
    }
    Ok(kept)
}

/// Records kept files as evidence of a visit, in the caller's transaction.
pub fn insert(conn: &mut DbConnection, p: &Principal, visit_id: i32, kept: &[Kept]) -> Result<Vec<Evidence>, AppError> {
    let mut out = Vec::with_capacity(kept.len());
    for k in kept {
        let e = store::insert_evidence(
            conn,
            &NewEvidence {
                visit_id,
                item_code: &k.item_code,
                sha256: &k.sha256,
                content_type: k.content_type,
                size_bytes: i64::try_from(k.size).unwrap_or(i64::MAX),
                file_name: &k.file_name,
                created_at: db::now(),
            },
        )?;
        let e = Evidence::from(e);
        audit::record(conn, p, "evidence.add", "evidence", e.id, None, snapshot(&e))?;
        tracing::info!(evidence_id = e.id, visit_id, sha256 = %e.sha256, size = e.size_bytes, "evidence stored");
        out.push(e);
    }
    Ok(out)
}

/// The attachment and its file, opened for reading (streamed to the client
/// by the caller, never read whole). Blocking.
pub fn open(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, id: i32) -> Result<(Evidence, std::fs::File), AppError> {
    let e = store::get_evidence(conn, id)?.ok_or_else(|| AppError::NotFound(format!("证据 {id} 不存在")))?;
    let visit = store::get(conn, e.visit_id)?.ok_or_else(|| AppError::NotFound(format!("证据 {id} 不存在")))?;
    let station =
        station_store::get(conn, visit.station_id)?.ok_or_else(|| AppError::NotFound(format!("证据 {id} 不存在")))?;
    policy::can_read_station(p, station.id, station.unit_id)?;
    let file = std::fs::File::open(path_for(ctx, &e.sha256)).map_err(|err| {
        AppError::internal(
            "cannot open the evidence file",
            anyhow::Error::new(err).context(e.sha256.clone()),
        )
    })?;
    Ok((e.into(), file))
}
