//! Accounts, API tokens and sign-in. Passwords are Argon2id hashes and are
//! never logged, returned or audited; token and session secrets are stored
//! as SHA-256 hashes and shown once.

use chrono::{NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};
use validator::ValidateEmail;

use super::audit::{self, snapshot};
use super::{Ctx, clean};
use crate::auth::policy::{self, Admin};
use crate::auth::{self, MIN_PASSWORD, Principal, Role, Via};
use crate::db::units as units_store;
use crate::db::users::{self as store, ApiToken, NewUser, User, UserChange};
use crate::db::{self, DbConnection};
use crate::error::{AppError, FieldErrors};

/// Consecutive failed sign-ins before the account is locked.
pub const MAX_FAILURES: i32 = 5;
/// How long a locked account stays locked.
pub const LOCK_MINUTES: i64 = 15;
/// How long a sign-in session lasts.
pub const SESSION_HOURS: i64 = 12;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    #[serde(flatten)]
    pub user: User,
    pub units: Vec<i32>,
    /// Whether a password is set (without one the account cannot sign in).
    pub can_sign_in: bool,
}

fn view(conn: &mut DbConnection, user: User) -> Result<UserView, AppError> {
    let units = store::units_of(conn, user.id)?;
    Ok(UserView {
        can_sign_in: !user.password_hash.is_empty(),
        user,
        units,
    })
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct UserInput {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub role: Option<String>,
    /// Unit ids (inspectors: one or more; county leads: exactly one;
    /// viewers: none for city-wide or one; admins: none).
    pub units: Option<Vec<i32>>,
    pub password: Option<String>,
    pub active: Option<bool>,
}

fn check_password(errors: &mut FieldErrors, password: Option<&str>) {
    if let Some(p) = password
        && (p.chars().count() < MIN_PASSWORD || p.chars().count() > 200)
    {
        errors.add("password", format!("密码长度应为{MIN_PASSWORD}至200个字符"));
    }
}

fn check_units(
    conn: &mut DbConnection,
    errors: &mut FieldErrors,
    role: Option<Role>,
    units: &[i32],
) -> Result<(), AppError> {
    for u in units {
        if units_store::get(conn, *u)?.is_none() {
            errors.add("units", format!("单位 {u} 不存在"));
        }
    }
    if let Some(role) = role
        && let Err(msg) = policy::check_units_for_role(role, units)
    {
        errors.add("units", msg);
    }
    Ok(())
}

fn check_email(errors: &mut FieldErrors, email: Option<&str>) {
    if let Some(e) = email
        && (!e.validate_email() || e.parse::<lettre::Address>().is_err())
    {
        errors.add("email", format!("电子邮箱“{e}”格式不正确"));
    }
}

fn parse_role(errors: &mut FieldErrors, role: Option<&str>) -> Option<Role> {
    match role.map(Role::parse) {
        None => None,
        Some(None) => {
            errors.add("role", format!("未知的角色，应为：{}", Role::expected()));
            None
        }
        Some(r) => r,
    }
}

pub fn create(conn: &mut DbConnection, p: &Principal, input: UserInput) -> Result<UserView, AppError> {
    policy::require_admin(p, Admin::ManageUsers)?;
    let mut errors = FieldErrors::new();
    let username = clean(input.username);
    match &username {
        None => errors.add("username", "须填写用户名"),
        Some(u)
            if u.len() > 64
                || !u
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')) =>
        {
            errors.add("username", "用户名为1至64个字母、数字或 . _ - @")
        }
        _ => {}
    }
    let display_name = clean(input.display_name)
        .or_else(|| username.clone())
        .unwrap_or_default();
    if display_name.chars().count() > 50 {
        errors.add("display_name", "姓名不超过50个字符");
    }
    let email = clean(input.email);
    check_email(&mut errors, email.as_deref());
    let role = parse_role(&mut errors, clean(input.role).as_deref());
    if role.is_none() && !errors.0.contains_key("role") {
        errors.add("role", format!("须选择角色：{}", Role::expected()));
    }
    let units = input.units.unwrap_or_default();
    check_units(conn, &mut errors, role, &units)?;
    check_password(&mut errors, input.password.as_deref());
    if role == Some(Role::CountyLead) && email.is_none() {
        errors.add("email", "县级负责人须填写电子邮箱（接收通报）");
    }
    errors.into_result()?;
    let (Some(username), Some(role)) = (username, role) else {
        return Err(AppError::internal(
            "user validation",
            anyhow::anyhow!("checked fields missing"),
        ));
    };
    let hash = match &input.password {
        Some(pw) => auth::hash_password(pw)?,
        None => String::new(),
    };
    db::write_tx(conn, |conn| {
        if store::by_username(conn, &username)?.is_some() {
            return Err(FieldErrors::single("username", format!("用户名 {username} 已存在")));
        }
        let now = db::now();
        let user = store::insert(
            conn,
            &NewUser {
                username: &username,
                display_name: &display_name,
                email: email.as_deref(),
                role,
                password_hash: &hash,
                active: input.active.unwrap_or(true),
                failed_logins: 0,
                created_at: now,
                updated_at: now,
            },
            &units,
        )?;
        let v = view(conn, user)?;
        audit::record(conn, p, "user.create", "user", v.user.id, None, snapshot(&v))?;
        tracing::info!(user_id = v.user.id, username = %v.user.username, role = %v.user.role, "user created");
        Ok(v)
    })
}

/// Changes an account. Nobody changes their own role, units or active flag.
pub fn update(conn: &mut DbConnection, p: &Principal, id: i32, input: UserInput) -> Result<UserView, AppError> {
    policy::require_admin(p, Admin::ManageUsers)?;
    if input.username.is_some() {
        return Err(FieldErrors::single("username", "用户名不能修改"));
    }
    let own = p.user_id == Some(id);
    if own && (input.role.is_some() || input.units.is_some() || input.active.is_some()) {
        return Err(AppError::Forbidden("不能修改自己的角色、单位或启用状态".into()));
    }
    let mut errors = FieldErrors::new();
    let role_in = parse_role(&mut errors, clean(input.role.clone()).as_deref());
    check_password(&mut errors, input.password.as_deref());
    errors.into_result()?;
    let hash = match &input.password {
        Some(pw) => Some(auth::hash_password(pw)?),
        None => None,
    };
    db::write_tx(conn, |conn| {
        let before_user = store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("用户 {id} 不存在")))?;
        let before = view(conn, before_user.clone())?;
        let mut errors = FieldErrors::new();
        let role = role_in.or(Some(before_user.role));
        let units = input.units.clone().unwrap_or_else(|| before.units.clone());
        check_units(conn, &mut errors, role, &units)?;
        let email = match &input.email {
            Some(e) => clean(Some(e.clone())),
            None => before_user.email.clone(),
        };
        check_email(&mut errors, email.as_deref());
        let display_name = clean(input.display_name.clone()).unwrap_or(before_user.display_name.clone());
        if role == Some(Role::CountyLead) && email.is_none() {
            errors.add("email", "县级负责人须填写电子邮箱（接收通报）");
        }
        errors.into_result()?;
        let role = role.ok_or_else(|| AppError::internal("stored role", anyhow::anyhow!("{}", before_user.role)))?;
        let active = input.active.unwrap_or(before_user.active);
        let now = db::now();
        store::update(
            conn,
            id,
            &UserChange {
                display_name: &display_name,
                email: email.as_deref(),
                role,
                active,
            },
            now,
        )?;
        store::set_units(conn, id, &units)?;
        if let Some(h) = &hash {
            store::set_password(conn, id, h, now)?;
        }
        if !active || hash.is_some() {
            // Disabled or new password: sign out everywhere.
            store::delete_sessions_of(conn, id)?;
        }
        let after_user = store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("用户 {id} 不存在")))?;
        let after = view(conn, after_user)?;
        audit::record(conn, p, "user.update", "user", id, snapshot(&before), snapshot(&after))?;
        Ok(after)
    })
}

pub fn list(conn: &mut DbConnection, p: &Principal) -> Result<Vec<UserView>, AppError> {
    policy::require_admin(p, Admin::ManageUsers)?;
    let users = store::list(conn)?;
    let links = store::units_of_all(conn)?;
    Ok(users
        .into_iter()
        .map(|u| UserView {
            can_sign_in: !u.password_hash.is_empty(),
            units: links
                .iter()
                .filter(|(uid, _)| *uid == u.id)
                .map(|(_, unit)| *unit)
                .collect(),
            user: u,
        })
        .collect())
}

pub fn get(conn: &mut DbConnection, p: &Principal, id: i32) -> Result<UserView, AppError> {
    if p.user_id != Some(id) {
        policy::require_admin(p, Admin::ManageUsers)?;
    }
    let u = store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("用户 {id} 不存在")))?;
    view(conn, u)
}

pub fn by_username(conn: &mut DbConnection, username: &str) -> Result<User, AppError> {
    store::by_username(conn, username)?.ok_or_else(|| AppError::NotFound(format!("用户 {username} 不存在")))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub user: Option<UserView>,
    pub username: String,
    pub role: Role,
    pub units: Vec<i32>,
    pub via: Via,
}

pub fn me(conn: &mut DbConnection, p: &Principal) -> Result<Me, AppError> {
    let user = match p.user_id {
        Some(id) => store::get(conn, id)?.map(|u| view(conn, u)).transpose()?,
        None => None,
    };
    Ok(Me {
        user,
        username: p.username.clone(),
        role: p.role,
        units: p.units.clone(),
        via: p.via.clone(),
    })
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
        let token = store::insert_token(conn, owner, &name, &auth::secret_hash(&secret), db::now())?;
        audit::record(conn, p, "token.create", "token", token.id, None, snapshot(&token))?;
        Ok(NewToken { token, secret })
    })
}

pub fn tokens(conn: &mut DbConnection, p: &Principal) -> Result<Vec<ApiToken>, AppError> {
    let all = policy::require_admin(p, Admin::ManageUsers).is_ok();
    Ok(store::tokens(conn, if all { None } else { p.user_id.or(Some(-1)) })?)
}

pub fn revoke_token(conn: &mut DbConnection, p: &Principal, id: i32) -> Result<ApiToken, AppError> {
    db::write_tx(conn, |conn| {
        let t = store::get_token(conn, id)?.ok_or_else(|| AppError::NotFound(format!("令牌 {id} 不存在")))?;
        if p.user_id != Some(t.user_id) {
            policy::require_admin(p, Admin::ManageUsers)?;
        }
        if store::revoke_token(conn, id, db::now())? == 0 {
            return Err(AppError::conflict("令牌已吊销"));
        }
        let after = store::get_token(conn, id)?.ok_or_else(|| AppError::NotFound(format!("令牌 {id} 不存在")))?;
        audit::record(conn, p, "token.revoke", "token", id, snapshot(&t), snapshot(&after))?;
        Ok(after)
    })
}

fn principal_of(conn: &mut DbConnection, user: &User, via: Via) -> Result<Principal, AppError> {
    let role = user.role;
    Ok(Principal {
        user_id: Some(user.id),
        username: user.username.clone(),
        role,
        units: store::units_of(conn, user.id)?,
        via,
    })
}

fn unauthorized(msg: &str) -> AppError {
    AppError::Unauthorized(msg.to_owned())
}

/// The principal behind a bearer token.
pub fn principal_from_token(conn: &mut DbConnection, secret: &str) -> Result<Principal, AppError> {
    let (token, user) =
        store::token_with_user(conn, &auth::secret_hash(secret))?.ok_or_else(|| unauthorized("令牌无效"))?;
    if token.revoked_at.is_some() {
        return Err(unauthorized("令牌已吊销"));
    }
    if !user.active {
        return Err(unauthorized("用户已停用"));
    }
    let now = db::now();
    // Record use at most once a minute, so reads stay reads.
    if token.last_used_at.is_none_or(|t| now - t > TimeDelta::minutes(1)) {
        store::touch_token(conn, token.id, now)?;
    }
    principal_of(conn, &user, Via::Token)
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
    pub user: UserView,
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
        let v = view(conn, user.clone())?;
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

/// Sets a new password for a user (command line and administrators).
pub fn set_password(conn: &mut DbConnection, p: &Principal, id: i32, password: &str) -> Result<(), AppError> {
    policy::require_admin(p, Admin::ManageUsers)?;
    let mut errors = FieldErrors::new();
    check_password(&mut errors, Some(password));
    errors.into_result()?;
    let hash = auth::hash_password(password)?;
    db::write_tx(conn, |conn| {
        store::set_password(conn, id, &hash, db::now())?;
        store::delete_sessions_of(conn, id)?;
        audit::record(conn, p, "user.password", "user", id, None, None)?;
        Ok(())
    })
}
