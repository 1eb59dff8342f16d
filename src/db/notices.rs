//! Notices other than circulars: their rendered content, the register that
//! makes a scheduled notice exactly once per recipient and period, users'
//! opt-outs, the signing key, and what the scheduler reads.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::circulars::Delivery;
use super::schema::{
    deliveries, guidance, notice_optouts, notice_sends, notices, server_keys, stations, units, user_units, users,
};
use crate::auth::Role;
use crate::domain::{DeliveryKind, DeliveryStatus, GuidanceStatus, StationStatus};

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = notices)]
pub struct Notice {
    pub id: i32,
    pub kind: DeliveryKind,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub attachment_name: Option<String>,
    pub attachment: Option<Vec<u8>>,
    pub unsubscribe_url: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = notices)]
pub struct NewNotice<'a> {
    pub kind: DeliveryKind,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub attachment_name: Option<&'a str>,
    pub attachment: Option<&'a [u8]>,
    pub unsubscribe_url: Option<&'a str>,
    pub created_at: NaiveDateTime,
}

pub fn notices_by_id(conn: &mut DbConnection, ids: &[i32]) -> QueryResult<Vec<Notice>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    notices::table
        .filter(notices::id.eq_any(ids))
        .select(notices::all_columns)
        .load(conn)
}

/// Who a notice goes to.
pub struct To<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub unit_id: Option<i32>,
    pub copy: bool,
}

/// Stores a notice and queues its delivery; returns the delivery's id.
pub fn queue(conn: &mut DbConnection, n: &NewNotice, to: &To, reference: &str) -> QueryResult<i32> {
    let notice_id: i32 = diesel::insert_into(notices::table)
        .values(n)
        .returning(notices::id)
        .get_result(conn)?;
    diesel::insert_into(deliveries::table)
        .values((
            deliveries::kind.eq(n.kind),
            deliveries::reference.eq(reference),
            deliveries::notice_id.eq(Some(notice_id)),
            deliveries::recipient_name.eq(to.name),
            deliveries::recipient_email.eq(to.email),
            deliveries::unit_id.eq(to.unit_id),
            deliveries::copy.eq(to.copy),
            deliveries::status.eq(DeliveryStatus::Pending),
            deliveries::attempts.eq(0),
            deliveries::next_attempt_at.eq(n.created_at),
            deliveries::created_at.eq(n.created_at),
            deliveries::updated_at.eq(n.created_at),
        ))
        .returning(deliveries::id)
        .get_result(conn)
}

/// Takes the register row (kind, recipient, period): true when this caller
/// took it, false when it was taken before (by another run or instance;
/// PostgreSQL makes a concurrent taker wait for the first one's outcome).
pub fn take(
    conn: &mut DbConnection,
    kind: DeliveryKind,
    recipient: &str,
    period_key: &str,
    at: NaiveDateTime,
) -> QueryResult<bool> {
    let row = (
        notice_sends::kind.eq(kind),
        notice_sends::recipient.eq(recipient),
        notice_sends::period_key.eq(period_key),
        notice_sends::created_at.eq(at),
    );
    let n = match conn {
        DbConnection::Pg(pg) => diesel::insert_into(notice_sends::table)
            .values(row)
            .on_conflict((notice_sends::kind, notice_sends::recipient, notice_sends::period_key))
            .do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(lite) => diesel::insert_into(notice_sends::table)
            .values(row)
            .on_conflict((notice_sends::kind, notice_sends::recipient, notice_sends::period_key))
            .do_nothing()
            .execute(lite)?,
    };
    Ok(n == 1)
}

/// The recipients already registered for (kind, period key): a run skips
/// them before building anything.
pub fn registered(conn: &mut DbConnection, kind: DeliveryKind, period_key: &str) -> QueryResult<Vec<String>> {
    notice_sends::table
        .filter(notice_sends::kind.eq(kind))
        .filter(notice_sends::period_key.eq(period_key))
        .select(notice_sends::recipient)
        .load(conn)
}

/// Points the register rows a run took at the delivery it queued for them.
pub fn link(
    conn: &mut DbConnection,
    kind: DeliveryKind,
    recipient: &str,
    period_keys: &[String],
    delivery_id: i32,
) -> QueryResult<usize> {
    diesel::update(
        notice_sends::table
            .filter(notice_sends::kind.eq(kind))
            .filter(notice_sends::recipient.eq(recipient))
            .filter(notice_sends::period_key.eq_any(period_keys)),
    )
    .set(notice_sends::delivery_id.eq(Some(delivery_id)))
    .execute(conn)
}

/// The kinds a user has turned off.
pub fn optouts(conn: &mut DbConnection, user_id: i32) -> QueryResult<Vec<DeliveryKind>> {
    notice_optouts::table
        .filter(notice_optouts::user_id.eq(user_id))
        .select(notice_optouts::kind)
        .load(conn)
}

/// Every (user, kind) turned off.
pub fn all_optouts(conn: &mut DbConnection) -> QueryResult<Vec<(i32, DeliveryKind)>> {
    notice_optouts::table
        .select((notice_optouts::user_id, notice_optouts::kind))
        .load(conn)
}

/// Turns a kind off (`off`) or on again for a user; idempotent.
pub fn set_optout(
    conn: &mut DbConnection,
    user_id: i32,
    kind: DeliveryKind,
    off: bool,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::delete(
        notice_optouts::table
            .filter(notice_optouts::user_id.eq(user_id))
            .filter(notice_optouts::kind.eq(kind)),
    )
    .execute(conn)?;
    if off {
        diesel::insert_into(notice_optouts::table)
            .values((
                notice_optouts::user_id.eq(user_id),
                notice_optouts::kind.eq(kind),
                notice_optouts::created_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// The named key, made from `fresh` the first time (the first writer wins,
/// so every instance reads the same key).
pub fn key(conn: &mut DbConnection, name: &str, fresh: &str, at: NaiveDateTime) -> QueryResult<String> {
    let row = (
        server_keys::name.eq(name),
        server_keys::secret.eq(fresh),
        server_keys::created_at.eq(at),
    );
    match conn {
        DbConnection::Pg(pg) => diesel::insert_into(server_keys::table)
            .values(row)
            .on_conflict(server_keys::name)
            .do_nothing()
            .execute(pg)?,
        DbConnection::Sqlite(lite) => diesel::insert_into(server_keys::table)
            .values(row)
            .on_conflict(server_keys::name)
            .do_nothing()
            .execute(lite)?,
    };
    server_keys::table.find(name).select(server_keys::secret).first(conn)
}

/// A user the scheduler writes to.
#[derive(Debug, Clone, Queryable, PartialEq)]
pub struct Recipient {
    pub user_id: i32,
    pub name: String,
    pub email: Option<String>,
    pub role: Role,
    pub unit_id: i32,
}

/// Active users of `roles` with their units (one row per user and unit).
pub fn users_in_units(conn: &mut DbConnection, roles: &[Role]) -> QueryResult<Vec<Recipient>> {
    users::table
        .inner_join(user_units::table)
        .filter(users::role.eq_any(roles.to_vec()))
        .filter(users::active.eq(true))
        .order((users::id.asc(), user_units::unit_id.asc()))
        .select((
            users::id,
            users::display_name,
            users::email,
            users::role,
            user_units::unit_id,
        ))
        .load(conn)
}

/// Active users (any role) whose username or display name is one of `names`.
pub fn users_named(conn: &mut DbConnection, names: &[String]) -> QueryResult<Vec<(i32, String, Option<String>)>> {
    users::table
        .filter(users::active.eq(true))
        .filter(users::username.eq_any(names).or(users::display_name.eq_any(names)))
        .order(users::id.asc())
        .select((users::id, users::display_name, users::email))
        .load(conn)
}

/// Open guidance with its station, for reminders and digests.
#[derive(Debug, Clone, Queryable, PartialEq)]
pub struct OpenGuidance {
    pub id: i32,
    pub station_id: i32,
    pub item_code: String,
    pub instruction: String,
    pub due_on: NaiveDate,
    pub station_name: String,
    pub unit_id: i32,
    pub liaison_name: String,
    pub liaison_email: Option<String>,
    pub standard_id: String,
}

/// Open guidance due on or before `until`, earliest first.
pub fn open_guidance(conn: &mut DbConnection, until: NaiveDate) -> QueryResult<Vec<OpenGuidance>> {
    guidance::table
        .inner_join(stations::table)
        .filter(guidance::status.eq(GuidanceStatus::Open))
        .filter(guidance::due_on.le(until))
        .order((guidance::due_on.asc(), guidance::id.asc()))
        .select((
            guidance::id,
            guidance::station_id,
            guidance::item_code,
            guidance::instruction,
            guidance::due_on,
            stations::name,
            stations::unit_id,
            stations::liaison_name,
            stations::liaison_email,
            stations::standard_id,
        ))
        .load(conn)
}

/// A station due for a visit: (id, name, unit, last visit).
pub type DueStation = (i32, String, i32, Option<NaiveDate>);

/// Stations that hold the title and have had no counted visit since
/// `since` (or never).
pub fn due_for_visit(conn: &mut DbConnection, since: NaiveDate) -> QueryResult<Vec<DueStation>> {
    stations::table
        .filter(stations::status.eq_any(StationStatus::BUILT.to_vec()))
        .filter(stations::last_visit_on.is_null().or(stations::last_visit_on.lt(since)))
        .order((
            stations::unit_id.asc(),
            stations::last_visit_on.asc(),
            stations::id.asc(),
        ))
        .select((stations::id, stations::name, stations::unit_id, stations::last_visit_on))
        .load(conn)
}

/// Unit names by id.
pub fn unit_names(conn: &mut DbConnection) -> QueryResult<Vec<(i32, String)>> {
    units::table.select((units::id, units::name)).load(conn)
}

/// One page of the outbox, newest first, optionally of one kind.
pub fn deliveries_page(
    conn: &mut DbConnection,
    kind: Option<DeliveryKind>,
    limit: i64,
    offset: i64,
) -> QueryResult<(Vec<Delivery>, i64)> {
    let mut count = deliveries::table.into_boxed();
    let mut items = deliveries::table.into_boxed();
    if let Some(k) = kind {
        count = count.filter(deliveries::kind.eq(k));
        items = items.filter(deliveries::kind.eq(k));
    }
    let total = count.count().get_result(conn)?;
    let rows = items
        .order(deliveries::id.desc())
        .limit(limit)
        .offset(offset)
        .select(deliveries::all_columns)
        .load(conn)?;
    Ok((rows, total))
}
