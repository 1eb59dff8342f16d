//! Users, their units, sessions, API tokens and acknowledgements.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{acknowledgements, api_tokens, sessions, user_units, users};
use crate::auth::Role;

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i32,
    pub username: String,
    pub display_name: String,
    pub email: Option<String>,
    pub role: Role,
    /// Never serialised: neither logged, returned nor audited.
    pub password_hash: String,
    pub active: bool,
    pub failed_logins: i32,
    pub locked_until: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub role: Role,
    pub password_hash: &'a str,
    pub active: bool,
    pub failed_logins: i32,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

pub fn insert(conn: &mut DbConnection, u: &NewUser, units: &[i32]) -> QueryResult<User> {
    let user: User = diesel::insert_into(users::table)
        .values(u)
        .returning(users::all_columns)
        .get_result(conn)?;
    set_units(conn, user.id, units)?;
    Ok(user)
}

pub fn set_units(conn: &mut DbConnection, user_id: i32, units: &[i32]) -> QueryResult<()> {
    diesel::delete(user_units::table.filter(user_units::user_id.eq(user_id))).execute(conn)?;
    for unit in units {
        diesel::insert_into(user_units::table)
            .values((user_units::user_id.eq(user_id), user_units::unit_id.eq(unit)))
            .execute(conn)?;
    }
    Ok(())
}

pub fn units_of(conn: &mut DbConnection, user_id: i32) -> QueryResult<Vec<i32>> {
    user_units::table
        .filter(user_units::user_id.eq(user_id))
        .order(user_units::unit_id.asc())
        .select(user_units::unit_id)
        .load(conn)
}

pub fn units_of_all(conn: &mut DbConnection) -> QueryResult<Vec<(i32, i32)>> {
    user_units::table
        .select((user_units::user_id, user_units::unit_id))
        .load(conn)
}

pub fn get(conn: &mut DbConnection, id: i32) -> QueryResult<Option<User>> {
    users::table.find(id).select(users::all_columns).first(conn).optional()
}

pub fn by_username(conn: &mut DbConnection, username: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::username.eq(username))
        .select(users::all_columns)
        .first(conn)
        .optional()
}

pub fn list(conn: &mut DbConnection) -> QueryResult<Vec<User>> {
    users::table
        .order(users::id.asc())
        .select(users::all_columns)
        .load(conn)
}

pub struct UserChange<'a> {
    pub display_name: &'a str,
    pub email: Option<&'a str>,
    pub role: Role,
    pub active: bool,
}

pub fn update(conn: &mut DbConnection, id: i32, c: &UserChange, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::display_name.eq(c.display_name),
            users::email.eq(c.email),
            users::role.eq(c.role),
            users::active.eq(c.active),
            users::updated_at.eq(at),
        ))
        .execute(conn)
}

pub fn set_password(conn: &mut DbConnection, id: i32, hash: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(hash),
            users::failed_logins.eq(0),
            users::locked_until.eq(None::<NaiveDateTime>),
            users::updated_at.eq(at),
        ))
        .execute(conn)
}

/// Records a failed sign-in; locks the account until `lock` when given.
pub fn record_failure(conn: &mut DbConnection, id: i32, lock: Option<NaiveDateTime>) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::failed_logins.eq(users::failed_logins + 1),
            users::locked_until.eq(lock),
        ))
        .execute(conn)
}

pub fn record_success(conn: &mut DbConnection, id: i32) -> QueryResult<usize> {
    diesel::update(users::table.find(id))
        .set((
            users::failed_logins.eq(0),
            users::locked_until.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)
}

#[derive(Debug, Clone, Queryable, PartialEq)]
pub struct Session {
    pub id: i32,
    pub token_hash: String,
    pub user_id: i32,
    pub csrf_token: String,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
}

pub fn insert_session(
    conn: &mut DbConnection,
    token_hash: &str,
    user_id: i32,
    csrf: &str,
    at: NaiveDateTime,
    expires: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::insert_into(sessions::table)
        .values((
            sessions::token_hash.eq(token_hash),
            sessions::user_id.eq(user_id),
            sessions::csrf_token.eq(csrf),
            sessions::created_at.eq(at),
            sessions::expires_at.eq(expires),
        ))
        .execute(conn)
}

pub fn delete_session(conn: &mut DbConnection, token_hash: &str) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::token_hash.eq(token_hash))).execute(conn)
}

pub fn delete_sessions_of(conn: &mut DbConnection, user_id: i32) -> QueryResult<usize> {
    diesel::delete(sessions::table.filter(sessions::user_id.eq(user_id))).execute(conn)
}

#[derive(Debug, Clone, Queryable, PartialEq)]
pub struct ApiToken {
    pub id: i32,
    pub user_id: i32,
    pub name: String,
    pub token_hash: String,
    pub created_at: NaiveDateTime,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked_at: Option<NaiveDateTime>,
}

pub fn insert_token(
    conn: &mut DbConnection,
    user_id: i32,
    name: &str,
    token_hash: &str,
    at: NaiveDateTime,
) -> QueryResult<ApiToken> {
    diesel::insert_into(api_tokens::table)
        .values((
            api_tokens::user_id.eq(user_id),
            api_tokens::name.eq(name),
            api_tokens::token_hash.eq(token_hash),
            api_tokens::created_at.eq(at),
        ))
        .returning(api_tokens::all_columns)
        .get_result(conn)
}

/// A token and its user in one query (every API request asks).
pub fn token_with_user(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<(ApiToken, User)>> {
    api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(token_hash))
        .select((api_tokens::all_columns, users::all_columns))
        .first(conn)
        .optional()
}

/// A session and its user in one query.
pub fn session_with_user(conn: &mut DbConnection, token_hash: &str) -> QueryResult<Option<(Session, User)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::token_hash.eq(token_hash))
        .select((sessions::all_columns, users::all_columns))
        .first(conn)
        .optional()
}

pub fn get_token(conn: &mut DbConnection, id: i32) -> QueryResult<Option<ApiToken>> {
    api_tokens::table
        .find(id)
        .select(api_tokens::all_columns)
        .first(conn)
        .optional()
}

pub fn tokens(conn: &mut DbConnection, user_id: Option<i32>) -> QueryResult<Vec<ApiToken>> {
    let mut q = api_tokens::table.into_boxed();
    if let Some(u) = user_id {
        q = q.filter(api_tokens::user_id.eq(u));
    }
    q.order(api_tokens::id.asc()).select(api_tokens::all_columns).load(conn)
}

pub fn touch_token(conn: &mut DbConnection, id: i32, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::last_used_at.eq(Some(at)))
        .execute(conn)
}

pub fn revoke_token(conn: &mut DbConnection, id: i32, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        api_tokens::table
            .filter(api_tokens::id.eq(id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(Some(at)))
    .execute(conn)
}

/// Revokes every API token of a user still in force.
pub fn revoke_tokens_of(conn: &mut DbConnection, user_id: i32, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        api_tokens::table
            .filter(api_tokens::user_id.eq(user_id))
            .filter(api_tokens::revoked_at.is_null()),
    )
    .set(api_tokens::revoked_at.eq(Some(at)))
    .execute(conn)
}

#[derive(Debug, Clone, Queryable, PartialEq)]
pub struct Acknowledgement {
    pub id: i32,
    pub kind: crate::domain::ReviewKind,
    pub target_id: String,
    pub unit_id: i32,
    pub user_id: i32,
    pub comment: String,
    pub created_at: NaiveDateTime,
}

pub fn acknowledge(
    conn: &mut DbConnection,
    kind: crate::domain::ReviewKind,
    target_id: &str,
    unit_id: i32,
    user_id: i32,
    comment: &str,
    at: NaiveDateTime,
) -> QueryResult<Acknowledgement> {
    diesel::insert_into(acknowledgements::table)
        .values((
            acknowledgements::kind.eq(kind),
            acknowledgements::target_id.eq(target_id),
            acknowledgements::unit_id.eq(unit_id),
            acknowledgements::user_id.eq(user_id),
            acknowledgements::comment.eq(comment),
            acknowledgements::created_at.eq(at),
        ))
        .returning(acknowledgements::all_columns)
        .get_result(conn)
}

/// Acknowledgements of one unit, newest first.
pub fn acknowledgements_of(conn: &mut DbConnection, unit_id: i32) -> QueryResult<Vec<Acknowledgement>> {
    acknowledgements::table
        .filter(acknowledgements::unit_id.eq(unit_id))
        .order(acknowledgements::id.desc())
        .select(acknowledgements::all_columns)
        .load(conn)
}

/// Account id → name to show (姓名, else the username), for `ids`.
pub fn names_of(conn: &mut DbConnection, ids: &[i32]) -> QueryResult<std::collections::HashMap<i32, String>> {
    let rows: Vec<(i32, String, String)> = users::table
        .filter(users::id.eq_any(ids))
        .select((users::id, users::display_name, users::username))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, username)| (id, if name.trim().is_empty() { username } else { name }))
        .collect())
}
