//! Exactly-once recording: a visit sent with an `Idempotency-Key` (the
//! phone's queue makes one per visit) is recorded once; a repeat of the
//! same request by the same user returns the visit recorded then.

use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use super::input::VisitInput;
use super::view::VisitView;
use crate::app::Ctx;
use crate::app::evidence::Photo;
use crate::auth::Principal;
use crate::db::DbConnection;
use crate::db::visit_requests::{self as store, VisitRequest};
use crate::error::{AppError, FieldErrors};

/// The longest key accepted (a UUID has 36 characters).
const MAX_KEY_CHARS: usize = 200;

/// A request to record a visit under an idempotency key.
#[derive(Debug, Clone)]
pub(super) struct Keyed {
    key: String,
    username: String,
    body_sha256: String,
}

impl Keyed {
    /// Binds `key` to who sends it and what is sent: the station, the
    /// visit's JSON and the photos' item codes and sizes.
    pub fn new(
        p: &Principal,
        key: String,
        station_id: i32,
        input: &VisitInput,
        photos: &[Photo],
    ) -> Result<Keyed, AppError> {
        let key = key.trim().to_owned();
        if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || key.chars().any(|c| !c.is_ascii_graphic()) {
            return Err(FieldErrors::single(
                "idempotency_key",
                format!("Idempotency-Key 应为1至{MAX_KEY_CHARS}个可见 ASCII 字符"),
            ));
        }
        let json =
            serde_json::to_vec(&(station_id, input)).map_err(|e| AppError::internal("cannot hash the visit", e))?;
        let mut hash = Sha256::new();
        hash.update(&json);
        for photo in photos {
            hash.update(format!("\n{}:{}", photo.item_code, photo.file.size).as_bytes());
        }
        Ok(Keyed {
            key,
            username: p.username.clone(),
            body_sha256: format!("{:x}", hash.finalize()),
        })
    }

    /// The visit recorded under this key already, as `p` may read it; a
    /// key used by another user or for another request is refused.
    pub fn recorded(&self, conn: &mut DbConnection, ctx: &Ctx, p: &Principal) -> Result<Option<VisitView>, AppError> {
        let Some(row) = store::by_key(conn, &self.key)? else {
            return Ok(None);
        };
        if row.username != self.username || row.body_sha256 != self.body_sha256 {
            return Err(FieldErrors::single(
                "idempotency_key",
                "该 Idempotency-Key 已用于另一份检查记录；新的检查记录请换一个键",
            ));
        }
        tracing::info!(
            visit_id = row.visit_id,
            "visit request repeated: answered with the visit recorded then"
        );
        super::get(conn, ctx, p, row.visit_id).map(Some)
    }

    /// Binds the key to the visit, in the visit's transaction.
    pub fn bind(&self, conn: &mut DbConnection, visit_id: i32, now: NaiveDateTime) -> Result<(), AppError> {
        store::insert(
            conn,
            &VisitRequest {
                idempotency_key: self.key.clone(),
                visit_id,
                username: self.username.clone(),
                body_sha256: self.body_sha256.clone(),
                created_at: now,
            },
        )?;
        Ok(())
    }
}
