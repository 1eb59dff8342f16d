//! Evidence files (photos, PDFs) attached to a visit item. Files are kept
//! once per content under `data_dir/evidence/ab/abcdef...` (SHA-256); the
//! database holds what each attachment is.

use std::io::Write;
use std::path::PathBuf;

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Ctx;
use super::audit::{self, snapshot};
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

/// Writes the file under its hash unless it is there already; durable
/// before returning (written to a temporary name, synced, renamed).
pub fn store_file(ctx: &Ctx, bytes: &[u8]) -> Result<String, AppError> {
    let sha = format!("{:x}", Sha256::digest(bytes));
    let path = path_for(ctx, &sha);
    if path.exists() {
        return Ok(sha);
    }
    let dir = path
        .parent()
        .ok_or_else(|| AppError::internal("evidence path", anyhow::anyhow!("no parent")))?;
    std::fs::create_dir_all(dir).map_err(|e| AppError::internal("cannot create the evidence folder", e))?;
    let tmp = dir.join(format!(".{sha}.{}.tmp", std::process::id()));
    let write = || -> std::io::Result<()> {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &path)?;
        std::fs::File::open(dir)?.sync_all()
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(AppError::internal("cannot write the evidence file", e));
    }
    Ok(sha)
}

/// Checks that evidence may be attached to this visit item.
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

/// Stores the file and records the attachment.
pub fn attach(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    visit_id: i32,
    item_code: &str,
    file_name: &str,
    bytes: &[u8],
) -> Result<Evidence, AppError> {
    if bytes.is_empty() {
        return Err(FieldErrors::single("file", "文件为空"));
    }
    if file_name.chars().any(crate::domain::text::is_bidi_control) {
        return Err(FieldErrors::single(
            "file",
            format!("文件名{}", crate::domain::text::BIDI_MESSAGE),
        ));
    }
    let content_type = sniff(bytes)?;
    check_target(conn, p, visit_id, Some(item_code))?;
    let sha = store_file(ctx, bytes)?;
    let name: String = crate::domain::text::trim_invisible(file_name)
        .chars()
        .filter(|c| !c.is_control() && *c != '/' && *c != '\\')
        .take(200)
        .collect();
    let e = db::write_tx(conn, |conn| {
        check_target(conn, p, visit_id, Some(item_code))?;
        let e = store::insert_evidence(
            conn,
            &NewEvidence {
                visit_id,
                item_code,
                sha256: &sha,
                content_type,
                size_bytes: bytes.len() as i64,
                file_name: if name.is_empty() { "evidence" } else { &name },
                created_at: db::now(),
            },
        )?;
        let e = Evidence::from(e);
        audit::record(conn, p, "evidence.add", "evidence", e.id, None, snapshot(&e))?;
        Ok::<_, AppError>(e)
    })?;
    tracing::info!(evidence_id = e.id, visit_id, sha256 = %e.sha256, size = e.size_bytes, "evidence stored");
    Ok(e)
}

/// The attachment and its bytes.
pub fn read(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, id: i32) -> Result<(Evidence, Vec<u8>), AppError> {
    let e = store::get_evidence(conn, id)?.ok_or_else(|| AppError::NotFound(format!("证据 {id} 不存在")))?;
    let visit = store::get(conn, e.visit_id)?.ok_or_else(|| AppError::NotFound(format!("证据 {id} 不存在")))?;
    let station =
        station_store::get(conn, visit.station_id)?.ok_or_else(|| AppError::NotFound(format!("证据 {id} 不存在")))?;
    policy::can_read_unit(p, station.unit_id)?;
    let bytes = std::fs::read(path_for(ctx, &e.sha256)).map_err(|err| {
        AppError::internal(
            "cannot read the evidence file",
            anyhow::Error::new(err).context(e.sha256.clone()),
        )
    })?;
    Ok((e.into(), bytes))
}
