//! User accounts: create, change, list, read; passwords.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use validator::ValidateEmail;

use crate::app::audit::{self, snapshot};
use crate::app::clean;
use crate::auth::policy::{self, Admin};
use crate::auth::{self, MIN_PASSWORD, Principal, Role, Via};
use crate::db::units as units_store;
use crate::db::users::{self as store, NewUser, UserChange};
use crate::db::{self, DbConnection};
use crate::error::{AppError, FieldErrors};

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct User {
    pub id: i32,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    #[schema(value_type = String)]
    pub role: Role,
    pub active: bool,
    #[serde(serialize_with = "crate::db::utc::option")]
    pub locked_until: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub updated_at: NaiveDateTime,
}

impl From<store::User> for User {
    fn from(row: store::User) -> Self {
        User {
            id: row.id,
            username: row.username,
            display_name: row.display_name,
            email: row.email,
            role: row.role,
            active: row.active,
            locked_until: row.locked_until,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    #[serde(flatten)]
    pub user: User,
    pub units: Vec<i32>,
    /// The station a `station` account is bound to.
    pub station_id: Option<i32>,
    /// Whether a password is set (without one the account cannot sign in).
    pub can_sign_in: bool,
}

pub(super) fn view(conn: &mut DbConnection, user: store::User) -> Result<UserView, AppError> {
    let units = store::units_of(conn, user.id)?;
    let station_id = crate::db::disputes::station_of_account(conn, user.id)?;
    Ok(UserView {
        can_sign_in: !user.password_hash.is_empty(),
        user: user.into(),
        units,
        station_id,
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
    /// The station a `station` account is bound to (required for that
    /// role, refused for the others).
    #[schema(minimum = 1)]
    pub station_id: Option<i32>,
}

/// The weakest password accepted: zxcvbn's score 3 ("safely unguessable",
/// more than 10^8 guesses).
const MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

/// Length, then strength as zxcvbn estimates it, counting the account's own
/// names (`known`: username, display name, email) as words an attacker
/// tries first.
fn check_password(errors: &mut FieldErrors, password: Option<&str>, known: &[&str]) {
    let Some(p) = password else { return };
    let len = p.chars().count();
    if !(MIN_PASSWORD..=200).contains(&len) {
        errors.add("password", format!("密码长度应为{MIN_PASSWORD}至200个字符"));
    } else if known
        .iter()
        .any(|k| !k.is_empty() && p.trim().eq_ignore_ascii_case(k.trim()))
    {
        errors.add("password", "密码不能与用户名、姓名或邮箱相同");
    } else if zxcvbn::zxcvbn(p, known).score() < MIN_SCORE {
        errors.add(
            "password",
            "密码太容易被猜到：请避免重复字符、键盘顺序、常见词和个人信息，可用几个不相关的词或更长的句子",
        );
    }
}

/// A name goes into the `To` header of every circular sent to its holder:
/// no control characters (a line break there once stopped all mail).
fn check_display_name(errors: &mut FieldErrors, name: &str) {
    if name.chars().count() > 50 {
        errors.add("display_name", "姓名不超过50个字符");
    }
    if name.chars().any(char::is_control) {
        errors.add("display_name", "姓名不能含有换行、制表符等控制字符");
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

/// A station account names exactly one existing station; no other role
/// names one.
fn check_station(
    conn: &mut DbConnection,
    errors: &mut FieldErrors,
    role: Option<Role>,
    station_id: Option<i32>,
) -> Result<(), AppError> {
    match (role, station_id) {
        (Some(Role::Station), None) => errors.add("station_id", "服务站账号须绑定一个服务站"),
        (Some(Role::Station), Some(s)) => {
            if crate::db::stations::get(conn, s)?.is_none() {
                errors.add("station_id", format!("服务站 {s} 不存在"));
            }
        }
        (_, Some(_)) => errors.add("station_id", "只有服务站账号才绑定服务站"),
        (None, None) | (Some(_), None) => {}
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
    check_display_name(&mut errors, &display_name);
    let email = clean(input.email);
    check_email(&mut errors, email.as_deref());
    let role = parse_role(&mut errors, clean(input.role).as_deref());
    if role.is_none() && !errors.0.contains_key("role") {
        errors.add("role", format!("须选择角色：{}", Role::expected()));
    }
    let units = input.units.unwrap_or_default();
    check_units(conn, &mut errors, role, &units)?;
    check_station(conn, &mut errors, role, input.station_id)?;
    let known = [
        username.as_deref().unwrap_or(""),
        &display_name,
        email.as_deref().unwrap_or(""),
    ];
    check_password(&mut errors, input.password.as_deref(), &known);
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
        crate::db::disputes::bind_account(conn, user.id, input.station_id.filter(|_| role == Role::Station))?;
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
    if input.password.is_some() {
        let u = store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("用户 {id} 不存在")))?;
        let display = clean(input.display_name.clone()).unwrap_or(u.display_name);
        let email = clean(input.email.clone()).or(u.email).unwrap_or_default();
        check_password(&mut errors, input.password.as_deref(), &[&u.username, &display, &email]);
    }
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
        let station_id = match role {
            Some(Role::Station) => input.station_id.or(before.station_id),
            _ => input.station_id,
        };
        check_station(conn, &mut errors, role, station_id)?;
        let email = match &input.email {
            Some(e) => clean(Some(e.clone())),
            None => before_user.email.clone(),
        };
        check_email(&mut errors, email.as_deref());
        let display_name = match clean(input.display_name.clone()) {
            Some(name) => {
                check_display_name(&mut errors, &name);
                name
            }
            None => before_user.display_name.clone(),
        };
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
        crate::db::disputes::bind_account(conn, id, station_id.filter(|_| role == Role::Station))?;
        if let Some(h) = &hash {
            store::set_password(conn, id, h, now)?;
        }
        if !active || hash.is_some() || role != before_user.role || station_id != before.station_id {
            // Disabled, new password or new role: every session ends and
            // every API token is revoked (a new one must be issued).
            end_credentials(conn, id, now)?;
        }
        let after_user = store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("用户 {id} 不存在")))?;
        let after = view(conn, after_user)?;
        audit::record(conn, p, "user.update", "user", id, snapshot(&before), snapshot(&after))?;
        Ok(after)
    })
}

/// Ends every session of a user and revokes every API token of theirs.
pub(super) fn end_credentials(conn: &mut DbConnection, id: i32, now: NaiveDateTime) -> Result<(), AppError> {
    let sessions = store::delete_sessions_of(conn, id)?;
    let tokens = store::revoke_tokens_of(conn, id, now)?;
    tracing::info!(user_id = id, sessions, tokens, "sessions ended and API tokens revoked");
    Ok(())
}

pub fn list(conn: &mut DbConnection, p: &Principal) -> Result<Vec<UserView>, AppError> {
    policy::require_admin(p, Admin::ManageUsers)?;
    let users = store::list(conn)?;
    let links = store::units_of_all(conn)?;
    let bindings = crate::db::disputes::account_bindings(conn)?;
    Ok(users
        .into_iter()
        .map(|u| UserView {
            can_sign_in: !u.password_hash.is_empty(),
            units: links
                .iter()
                .filter(|(uid, _)| *uid == u.id)
                .map(|(_, unit)| *unit)
                .collect(),
            station_id: bindings.iter().find(|(uid, _)| *uid == u.id).map(|(_, s)| *s),
            user: u.into(),
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
    store::by_username(conn, username)?
        .map(User::from)
        .ok_or_else(|| AppError::NotFound(format!("用户 {username} 不存在")))
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

/// Sets a new password for a user (command line and administrators).
pub fn set_password(conn: &mut DbConnection, p: &Principal, id: i32, password: &str) -> Result<(), AppError> {
    policy::require_admin(p, Admin::ManageUsers)?;
    let u = store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("用户 {id} 不存在")))?;
    let mut errors = FieldErrors::new();
    let email = u.email.clone().unwrap_or_default();
    check_password(&mut errors, Some(password), &[&u.username, &u.display_name, &email]);
    errors.into_result()?;
    let hash = auth::hash_password(password)?;
    db::write_tx(conn, |conn| {
        let now = db::now();
        store::set_password(conn, id, &hash, now)?;
        end_credentials(conn, id, now)?;
        audit::record(conn, p, "user.password", "user", id, None, None)?;
        Ok(())
    })
}
