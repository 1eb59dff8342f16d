//! Signing in and out, and the principal behind a session or a token.

use chrono::{NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};

use std::net::IpAddr;

use super::SESSION_HOURS;
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
        station: match role {
            auth::Role::Station => crate::db::disputes::station_of_account(conn, user.id)?,
            _ => None,
        },
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

/// The one answer to a wrong username, a wrong password and a disabled
/// account: none of them may tell which it was.
const WRONG: &str = "用户名或密码错误";

fn locked(wait: std::time::Duration) -> AppError {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    AppError::Locked(format!("登录失败次数过多，请{minutes}分钟后再试"))
}

/// Checks a password from `address` and opens a session. Failures are
/// counted per account and address before the password is hashed (see
/// [`super::throttle`]); unknown, wrong and disabled accounts take the same
/// time and get the same answer.
pub fn login(conn: &mut DbConnection, ctx: &Ctx, input: LoginInput, address: IpAddr) -> Result<Signed, Refused> {
    let refuse = |error: AppError, delay_ms: u64| Refused { error, delay_ms };
    let db_err = |e: diesel::result::Error| refuse(AppError::from(e), 0);
    let (Some(username), Some(password)) = (clean(input.username), input.password) else {
        return Err(refuse(FieldErrors::single("username", "须填写用户名和密码"), 0));
    };
    let attempt = ctx.sign_in.begin(&username, address).map_err(|wait| {
        tracing::warn!(%address, "sign-in refused: locked");
        refuse(locked(wait), 0)
    })?;
    let user = store::by_username(conn, &username).map_err(db_err)?;
    let hash = user.as_ref().map_or(auth::dummy_hash(), |u| u.password_hash.as_str());
    let right = auth::verify_password(&password, hash);
    let known = match user {
        Some(u) if right && u.active => Ok(u),
        other => Err(other),
    };
    let user = known.or_else(|known| {
        // What was typed as a username may be a password typed in the wrong
        // box: an unknown name is not logged, a known one only escaped.
        if let Some(u) = &known {
            store::record_failure(conn, u.id, None).map_err(db_err)?;
        }
        let now_locked = ctx.sign_in.is_locked(&username, address);
        tracing::warn!(
            username = ?known.as_ref().map(|u| &u.username),
            %address,
            failures = attempt.failures,
            locked = now_locked,
            "sign-in refused"
        );
        let delay = (300 * u64::from(attempt.failures)).min(3000);
        let error = if now_locked {
            locked(super::throttle::LOCK)
        } else {
            unauthorized(WRONG)
        };
        Err(refuse(error, delay))
    })?;
    ctx.sign_in.succeeded(&username, address);
    let now = db::now();
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
    tracing::info!(username = ?user.username, %address, "signed in");
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
