//! Signing in and out, and the principal behind a session or a token.

use chrono::{NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};

use super::{LOCK_MINUTES, MAX_FAILURES, SESSION_HOURS};
use crate::app::{Ctx, clean};
use crate::auth::{self, Principal, Via};
use crate::db::users as store;
use crate::db::{self, DbConnection};
use crate::error::{AppError, FieldErrors};

pub(super) fn principal_of(conn: &mut DbConnection, user: &store::User, via: Via) -> Result<Principal, AppError> {
    let role = user.role;
    Ok(Principal {
        user_id: Some(user.id),
        username: user.username.clone(),
        role,
        units: store::units_of(conn, user.id)?,
        via,
    })
}

pub(super) fn unauthorized(msg: &str) -> AppError {
    AppError::Unauthorized(msg.to_owned())
}

/// The principal behind a session cookie, and the session's CSRF token.
pub fn principal_from_session(conn: &mut DbConnection, secret: &str) -> Result<(Principal, String), AppError> {
    let (session, user) =
        store::session_with_user(conn, &auth::secret_hash(secret))?.ok_or_else(|| unauthorized("请先登录"))?;
    if session.expires_at <= db::now() {
        store::delete_session(conn, &session.token_hash)?;
        return Err(unauthorized("登录已过期，请重新登录"));
    }
    if !user.active {
        return Err(unauthorized("用户已停用"));
    }
    Ok((principal_of(conn, &user, Via::Session)?, session.csrf_token))
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LoginInput {
    pub username: Option<String>,
    pub password: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Signed {
    pub user: super::UserView,
    pub csrf_token: String,
    #[serde(skip)]
    pub session_secret: String,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub expires_at: NaiveDateTime,
}

/// A refused sign-in and how long to wait before answering (slowing down
/// repeated guesses).
pub struct Refused {
    pub error: AppError,
    pub delay_ms: u64,
}

/// Checks a password and opens a session. After [`MAX_FAILURES`] failures
/// in a row the account is locked for [`LOCK_MINUTES`].
pub fn login(conn: &mut DbConnection, _ctx: &Ctx, input: LoginInput) -> Result<Signed, Refused> {
    let refuse = |error: AppError, delay_ms: u64| Refused { error, delay_ms };
    let db_err = |e: diesel::result::Error| refuse(AppError::from(e), 0);
    let (Some(username), Some(password)) = (clean(input.username), input.password) else {
        return Err(refuse(FieldErrors::single("username", "须填写用户名和密码"), 0));
    };
    let user = store::by_username(conn, &username).map_err(db_err)?;
    let Some(user) = user else {
        // Spend the same time as for a real account.
        auth::verify_password(&password, auth::dummy_hash());
        tracing::warn!(%username, "sign-in refused: unknown user");
        return Err(refuse(unauthorized("用户名或密码错误"), 300));
    };
    let now = db::now();
    if user.locked_until.is_some_and(|t| t > now) {
        tracing::warn!(%username, "sign-in refused: account locked");
        return Err(refuse(
            AppError::Locked(format!("连续登录失败次数过多，账户已锁定{LOCK_MINUTES}分钟")),
            0,
        ));
    }
    if !auth::verify_password(&password, &user.password_hash) {
        let failures = user.failed_logins + 1;
        let lock = (failures >= MAX_FAILURES).then(|| now + TimeDelta::minutes(LOCK_MINUTES));
        store::record_failure(conn, user.id, lock).map_err(db_err)?;
        tracing::warn!(%username, failures, locked = lock.is_some(), "sign-in refused: wrong password");
        let delay = (300 * failures as u64).min(3000);
        if lock.is_some() {
            return Err(refuse(
                AppError::Locked(format!("连续登录失败次数过多，账户已锁定{LOCK_MINUTES}分钟")),
                delay,
            ));
        }
        return Err(refuse(unauthorized("用户名或密码错误"), delay));
    }
    if !user.active {
        tracing::warn!(%username, "sign-in refused: account disabled");
        return Err(refuse(unauthorized("账户已停用"), 300));
    }
    let session_secret = auth::new_secret("bys_").map_err(|e| refuse(e, 0))?;
    let csrf = auth::new_secret("").map_err(|e| refuse(e, 0))?;
    let expires = now + TimeDelta::hours(SESSION_HOURS);
    let signed = db::write_tx(conn, |conn| {
        store::record_success(conn, user.id)?;
        store::insert_session(conn, &auth::secret_hash(&session_secret), user.id, &csrf, now, expires)?;
        let v = super::accounts::view(conn, user.clone())?;
        Ok::<_, AppError>(v)
    })
    .map_err(|e| refuse(e, 0))?;
    tracing::info!(%username, "signed in");
    Ok(Signed {
        user: signed,
        csrf_token: csrf,
        session_secret,
        expires_at: expires,
    })
}

pub fn logout(conn: &mut DbConnection, secret: &str) -> Result<(), AppError> {
    store::delete_session(conn, &auth::secret_hash(secret))?;
    Ok(())
}
