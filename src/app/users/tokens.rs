//! API tokens: created for a user, stored hashed, revocable.

use chrono::{NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};

use crate::app::audit::{self, snapshot};
use crate::app::clean;
use crate::auth::policy::{self, Admin};
use crate::auth::{self, Principal, Via};
use crate::db::users as store;
use crate::db::{self, DbConnection};
use crate::error::{AppError, FieldErrors};

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: i32,
    pub user_id: i32,
    pub name: String,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::option")]
    pub last_used_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::utc::option")]
    pub revoked_at: Option<NaiveDateTime>,
}

impl From<store::ApiToken> for ApiToken {
    fn from(row: store::ApiToken) -> Self {
        ApiToken {
            id: row.id,
            user_id: row.user_id,
            name: row.name,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
            revoked_at: row.revoked_at,
        }
    }
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TokenInput {
    pub name: Option<String>,
    /// Whose token (admins only; yourself when left out).
    pub user_id: Option<i32>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewToken {
    #[serde(flatten)]
    pub token: ApiToken,
    /// The secret, shown this once; only its hash is kept.
    pub secret: String,
}

pub fn create_token(conn: &mut DbConnection, p: &Principal, input: TokenInput) -> Result<NewToken, AppError> {
    let name = clean(input.name).ok_or_else(|| FieldErrors::single("name", "须为令牌命名"))?;
    if name.chars().count() > 100 {
        return Err(FieldErrors::single("name", "名称不超过100个字符"));
    }
    let owner = match (input.user_id, p.user_id) {
        (Some(u), me) if Some(u) != me => {
            policy::require_admin(p, Admin::ManageUsers)?;
            u
        }
        (Some(u), _) => u,
        (None, Some(me)) => me,
        (None, None) => return Err(FieldErrors::single("user_id", "须指定令牌所属用户")),
    };
    let secret = auth::new_secret("byg_")?;
    db::write_tx(conn, |conn| {
        let user = store::get(conn, owner)?.ok_or_else(|| AppError::NotFound(format!("用户 {owner} 不存在")))?;
        if !user.active {
            return Err(AppError::conflict("停用的用户不能创建令牌"));
        }
        let token = ApiToken::from(store::insert_token(
            conn,
            owner,
            &name,
            &auth::secret_hash(&secret),
            db::now(),
        )?);
        audit::record(conn, p, "token.create", "token", token.id, None, snapshot(&token))?;
        Ok(NewToken { token, secret })
    })
}

pub fn tokens(conn: &mut DbConnection, p: &Principal) -> Result<Vec<ApiToken>, AppError> {
    let all = policy::require_admin(p, Admin::ManageUsers).is_ok();
    Ok(store::tokens(conn, if all { None } else { p.user_id.or(Some(-1)) })?
        .into_iter()
        .map(ApiToken::from)
        .collect())
}

pub fn revoke_token(conn: &mut DbConnection, p: &Principal, id: i32) -> Result<ApiToken, AppError> {
    db::write_tx(conn, |conn| {
        let t = store::get_token(conn, id)?
            .map(ApiToken::from)
            .ok_or_else(|| AppError::NotFound(format!("令牌 {id} 不存在")))?;
        if p.user_id != Some(t.user_id) {
            policy::require_admin(p, Admin::ManageUsers)?;
        }
        if store::revoke_token(conn, id, db::now())? == 0 {
            return Err(AppError::conflict("令牌已吊销"));
        }
        let after = store::get_token(conn, id)?
            .map(ApiToken::from)
            .ok_or_else(|| AppError::NotFound(format!("令牌 {id} 不存在")))?;
        audit::record(conn, p, "token.revoke", "token", id, snapshot(&t), snapshot(&after))?;
        Ok(after)
    })
}

/// The principal behind a bearer token.
pub fn principal_from_token(conn: &mut DbConnection, secret: &str) -> Result<Principal, AppError> {
    let (token, user) = store::token_with_user(conn, &auth::secret_hash(secret))?
        .ok_or_else(|| super::sessions::unauthorized("令牌无效"))?;
    if token.revoked_at.is_some() {
        return Err(super::sessions::unauthorized("令牌已吊销"));
    }
    if !user.active {
        return Err(super::sessions::unauthorized("用户已停用"));
    }
    let now = db::now();
    // Record use at most once a minute, so reads stay reads.
    if token.last_used_at.is_none_or(|t| now - t > TimeDelta::minutes(1)) {
        store::touch_token(conn, token.id, now)?;
    }
    super::sessions::principal_of(conn, &user, Via::Token)
}
