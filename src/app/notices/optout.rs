//! Saying no: each user turns digests and reminders off (and on) on their
//! own page; digest and reminder emails carry a one-click unsubscribe link
//! (RFC 8058) signed with HMAC-SHA-256 over the user and kind, with a key
//! kept in the database (every instance signs alike), so it works without
//! signing in and cannot be forged for someone else.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::app::Ctx;
use crate::app::audit;
use crate::auth::Principal;
use crate::db::notices as store;
use crate::db::{self, DbConnection};
use crate::domain::DeliveryKind;
use crate::error::{AppError, FieldErrors};

const KEY_NAME: &str = "unsubscribe";

/// What a user receives of the optional kinds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Preferences {
    /// The weekly digest.
    pub digest: bool,
    /// Overdue-guidance reminders for the user's units.
    pub reminder: bool,
}

fn key(conn: &mut DbConnection) -> Result<Vec<u8>, AppError> {
    let fresh = crate::auth::new_secret("")?;
    Ok(store::key(conn, KEY_NAME, &fresh, db::now())?.into_bytes())
}

fn mac(key: &[u8], user_id: i32, kind: DeliveryKind) -> Result<Hmac<Sha256>, AppError> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key)
        .map_err(|e| AppError::internal("unsubscribe key", anyhow::anyhow!("{e}")))?;
    mac.update(format!("unsubscribe:{user_id}:{kind}").as_bytes());
    Ok(mac)
}

/// The signature of an unsubscribe link, in hex.
fn sign(key: &[u8], user_id: i32, kind: DeliveryKind) -> Result<String, AppError> {
    let tag = mac(key, user_id, kind)?.finalize().into_bytes();
    Ok(tag.iter().map(|b| format!("{b:02x}")).collect())
}

/// The one-click link that turns `kind` off for `user_id`.
pub fn unsubscribe_url(
    conn: &mut DbConnection,
    ctx: &Ctx,
    user_id: i32,
    kind: DeliveryKind,
) -> Result<String, AppError> {
    let sig = sign(&key(conn)?, user_id, kind)?;
    Ok(ctx
        .settings
        .notices
        .link(&format!("/unsubscribe?user={user_id}&kind={kind}&sig={sig}")))
}

/// A link's parameters, checked: the user and kind it turns off.
pub fn check_link(
    conn: &mut DbConnection,
    user: Option<&str>,
    kind: Option<&str>,
    sig: Option<&str>,
) -> Result<(i32, DeliveryKind), AppError> {
    let mut errors = FieldErrors::new();
    let user_id = user.and_then(|u| u.parse::<i32>().ok()).filter(|u| *u > 0);
    if user_id.is_none() {
        errors.add("user", "退订链接不完整或已损坏");
    }
    let kind = kind.and_then(DeliveryKind::parse).filter(|k| k.is_optional());
    if kind.is_none() {
        errors.add("kind", "只能退订每周摘要或整改期限提醒");
    }
    let sig_bytes = sig.and_then(|s| {
        (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())).then(|| {
            (0..32)
                .filter_map(|i| u8::from_str_radix(&s[i * 2..i * 2 + 2], 16).ok())
                .collect::<Vec<u8>>()
        })
    });
    if sig_bytes.is_none() {
        errors.add("sig", "退订链接的签名无效");
    }
    errors.into_result()?;
    let (Some(user_id), Some(kind), Some(sig)) = (user_id, kind, sig_bytes) else {
        return Err(FieldErrors::single("sig", "退订链接的签名无效"));
    };
    mac(&key(conn)?, user_id, kind)?
        .verify_slice(&sig)
        .map_err(|_| AppError::Forbidden("退订链接的签名无效，请使用邮件中的原始链接".into()))?;
    if crate::db::users::get(conn, user_id)?.is_none() {
        return Err(AppError::NotFound("该用户不存在".into()));
    }
    Ok((user_id, kind))
}

/// Turns `kind` off for the user a checked link names (no session needed).
pub fn unsubscribe(conn: &mut DbConnection, user_id: i32, kind: DeliveryKind) -> Result<(), AppError> {
    db::write_tx(conn, |conn| {
        store::set_optout(conn, user_id, kind, true, db::now())?;
        let p = Principal::system("unsubscribe");
        audit::record(
            conn,
            &p,
            "notices.unsubscribe",
            "user",
            user_id,
            None,
            Some(serde_json::json!({ "kind": kind.as_str() })),
        )?;
        tracing::info!(user_id, %kind, "unsubscribed by one-click link");
        Ok(())
    })
}

fn own_user(p: &Principal) -> Result<i32, AppError> {
    p.user_id
        .ok_or_else(|| AppError::Forbidden("须以用户身份设置邮件提醒".into()))
}

/// The signed-in user's preferences.
pub fn preferences(conn: &mut DbConnection, p: &Principal) -> Result<Preferences, AppError> {
    let off = store::optouts(conn, own_user(p)?)?;
    Ok(Preferences {
        digest: !off.contains(&DeliveryKind::Digest),
        reminder: !off.contains(&DeliveryKind::Reminder),
    })
}

/// Sets the signed-in user's preferences (audited).
pub fn set_preferences(conn: &mut DbConnection, p: &Principal, prefs: Preferences) -> Result<Preferences, AppError> {
    let user_id = own_user(p)?;
    db::write_tx(conn, |conn| {
        let before = preferences(conn, p)?;
        let now = db::now();
        store::set_optout(conn, user_id, DeliveryKind::Digest, !prefs.digest, now)?;
        store::set_optout(conn, user_id, DeliveryKind::Reminder, !prefs.reminder, now)?;
        let after = preferences(conn, p)?;
        audit::record(
            conn,
            p,
            "notices.preferences",
            "user",
            user_id,
            serde_json::to_value(&before).ok(),
            serde_json::to_value(&after).ok(),
        )?;
        Ok(after)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_bind_user_and_kind() {
        let a = sign(b"key", 7, DeliveryKind::Digest).expect("sign");
        assert_eq!(a.len(), 64);
        assert_ne!(a, sign(b"key", 8, DeliveryKind::Digest).expect("sign"));
        assert_ne!(a, sign(b"key", 7, DeliveryKind::Reminder).expect("sign"));
        assert_ne!(a, sign(b"other", 7, DeliveryKind::Digest).expect("sign"));
        assert_eq!(a, sign(b"key", 7, DeliveryKind::Digest).expect("sign"));
    }
}
