//! An administrator resets a user's password: the service makes a new
//! random one, shown once to the administrator (never stored in clear,
//! logged or audited), and every session and API token of the user ends.

use serde::Serialize;

use super::accounts::end_credentials;
use crate::app::audit;
use crate::auth::policy::{self, Admin};
use crate::auth::{self, Principal};
use crate::db::users as store;
use crate::db::{self, DbConnection};
use crate::error::AppError;

/// A new password, in this answer only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewPassword {
    pub user_id: i32,
    pub username: String,
    /// Shown once: give it to the user, who should change it.
    pub password: String,
}

/// Sixteen characters from an alphabet without look-alikes (no 0/O, 1/l/I),
/// in four groups: read out over the phone without mistakes.
fn readable_password() -> Result<String, AppError> {
    const ALPHABET: &[u8] = b"23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";
    let mut bytes = [0u8; 16];
    getrandom::getrandom(&mut bytes).map_err(|e| AppError::internal("no randomness", anyhow::anyhow!("{e}")))?;
    let chars: Vec<char> = bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect();
    Ok(chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-"))
}

/// Gives user `id` a new random password and returns it (once).
pub fn reset_password(conn: &mut DbConnection, p: &Principal, id: i32) -> Result<NewPassword, AppError> {
    policy::require_admin(p, Admin::ManageUsers)?;
    if p.user_id == Some(id) {
        return Err(AppError::Forbidden("不能为自己生成新密码：请由另一位管理员重设".into()));
    }
    let password = readable_password()?;
    let hash = auth::hash_password(&password)?;
    let user = db::write_tx(conn, |conn| {
        let user = store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("用户 {id} 不存在")))?;
        let now = db::now();
        store::set_password(conn, id, &hash, now)?;
        end_credentials(conn, id, now)?;
        audit::record(conn, p, "user.password", "user", id, None, None)?;
        Ok::<_, AppError>(user)
    })?;
    tracing::info!(user_id = id, by = %p.username, "password reset by an administrator");
    Ok(NewPassword {
        user_id: id,
        username: user.username,
        password,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_password_is_readable_and_strong() {
        let pw = readable_password().expect("password");
        assert_eq!(pw.len(), 19);
        assert_eq!(pw.matches('-').count(), 3);
        assert!(zxcvbn::zxcvbn(&pw, &[]).score() >= zxcvbn::Score::Three);
        assert_ne!(pw, readable_password().expect("another"));
    }
}
