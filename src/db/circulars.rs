//! Circulars, their renditions, recipients and the delivery outbox.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::DbConnection;
use super::schema::{circular_documents, circular_renditions, circulars, deliveries, user_units, users};
pub use super::serials::{max_issued_serial, next_serial, peek_serial, set_next_serial};
use crate::auth::Role;
use crate::domain::{DeliveryKind, DeliveryStatus};

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = circulars)]
pub struct Circular {
    pub id: i32,
    pub number: String,
    pub prefix: String,
    pub year: i32,
    pub serial: i32,
    pub as_of: NaiveDate,
    pub title: String,
    pub snapshot: String,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub attachment_csv: String,
    pub issued_by: String,
    pub schedule_period: Option<String>,
    pub idempotency_key: Option<String>,
    pub issued_at: NaiveDateTime,
    /// The SHA-256 of the request that came with the idempotency key.
    pub idempotency_body_sha256: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = circulars)]
pub struct NewCircular<'a> {
    pub number: &'a str,
    pub prefix: &'a str,
    pub year: i32,
    pub serial: i32,
    pub as_of: NaiveDate,
    pub title: &'a str,
    pub snapshot: &'a str,
    pub subject: &'a str,
    pub body_text: &'a str,
    pub body_html: &'a str,
    pub attachment_csv: &'a str,
    pub issued_by: &'a str,
    pub schedule_period: Option<&'a str>,
    pub idempotency_key: Option<&'a str>,
    pub issued_at: NaiveDateTime,
    pub idempotency_body_sha256: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, PartialEq)]
pub struct Rendition {
    pub id: i32,
    pub circular_id: i32,
    pub unit_id: Option<i32>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

#[derive(Debug, Clone, Queryable, Selectable, PartialEq)]
#[diesel(table_name = deliveries)]
pub struct Delivery {
    pub id: i32,
    /// Set for circulars only (with `rendition_id`); other kinds have
    /// `notice_id`.
    pub circular_id: Option<i32>,
    pub rendition_id: Option<i32>,
    pub recipient_name: String,
    pub recipient_email: String,
    pub unit_id: Option<i32>,
    pub copy: bool,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub message_id: Option<String>,
    pub sent_at: Option<NaiveDateTime>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub kind: DeliveryKind,
    /// What the email is about, e.g. `circular/3`, `visit/12`, `digest/2017-07-10`.
    pub reference: String,
    pub notice_id: Option<i32>,
    /// How a sent delivery left: `smtp` or `file` (an .eml file).
    pub sent_via: Option<String>,
}

pub fn insert_pdf(conn: &mut DbConnection, circular_id: i32, pdf: &[u8]) -> QueryResult<usize> {
    diesel::insert_into(circular_documents::table)
        .values((
            circular_documents::circular_id.eq(circular_id),
            circular_documents::pdf.eq(pdf),
        ))
        .execute(conn)
}

pub fn has_pdf(conn: &mut DbConnection, circular_id: i32) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(circular_documents::table.find(circular_id))).get_result(conn)
}

/// The circular's PDF, if one was rendered when it was issued.
pub fn pdf_of(conn: &mut DbConnection, circular_id: i32) -> QueryResult<Option<Vec<u8>>> {
    circular_documents::table
        .find(circular_id)
        .select(circular_documents::pdf)
        .first(conn)
        .optional()
}

pub fn insert(conn: &mut DbConnection, c: &NewCircular) -> QueryResult<Circular> {
    diesel::insert_into(circulars::table)
        .values(c)
        .returning(circulars::all_columns)
        .get_result(conn)
}

pub fn insert_rendition(
    conn: &mut DbConnection,
    circular_id: i32,
    unit_id: Option<i32>,
    subject: &str,
    body_text: &str,
    body_html: &str,
) -> QueryResult<i32> {
    diesel::insert_into(circular_renditions::table)
        .values((
            circular_renditions::circular_id.eq(circular_id),
            circular_renditions::unit_id.eq(unit_id),
            circular_renditions::subject.eq(subject),
            circular_renditions::body_text.eq(body_text),
            circular_renditions::body_html.eq(body_html),
        ))
        .returning(circular_renditions::id)
        .get_result(conn)
}

pub struct NewDelivery<'a> {
    pub circular_id: i32,
    pub rendition_id: i32,
    pub name: &'a str,
    pub email: &'a str,
    pub unit_id: Option<i32>,
    pub copy: bool,
}

pub fn insert_delivery(conn: &mut DbConnection, d: &NewDelivery, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::insert_into(deliveries::table)
        .values((
            deliveries::circular_id.eq(Some(d.circular_id)),
            deliveries::rendition_id.eq(Some(d.rendition_id)),
            deliveries::kind.eq(DeliveryKind::Circular),
            deliveries::reference.eq(format!("circular/{}", d.circular_id)),
            deliveries::recipient_name.eq(d.name),
            deliveries::recipient_email.eq(d.email),
            deliveries::unit_id.eq(d.unit_id),
            deliveries::copy.eq(d.copy),
            deliveries::status.eq(DeliveryStatus::Pending),
            deliveries::attempts.eq(0),
            deliveries::next_attempt_at.eq(at),
            deliveries::created_at.eq(at),
            deliveries::updated_at.eq(at),
        ))
        .execute(conn)
}

pub fn get(conn: &mut DbConnection, id: i32) -> QueryResult<Option<Circular>> {
    circulars::table
        .find(id)
        .select(circulars::all_columns)
        .first(conn)
        .optional()
}

pub fn by_idempotency_key(conn: &mut DbConnection, key: &str) -> QueryResult<Option<Circular>> {
    circulars::table
        .filter(circulars::idempotency_key.eq(key))
        .select(circulars::all_columns)
        .first(conn)
        .optional()
}

pub fn by_period(conn: &mut DbConnection, period: &str) -> QueryResult<Option<Circular>> {
    circulars::table
        .filter(circulars::schedule_period.eq(period))
        .select(circulars::all_columns)
        .first(conn)
        .optional()
}

/// Newest first.
pub fn list(conn: &mut DbConnection, limit: i64, offset: i64) -> QueryResult<(Vec<Circular>, i64)> {
    let total = circulars::table.count().get_result(conn)?;
    let items = circulars::table
        .order(circulars::id.desc())
        .limit(limit)
        .offset(offset)
        .select(circulars::all_columns)
        .load(conn)?;
    Ok((items, total))
}

/// Delivery counts per circular and status, for the given circulars.
pub fn delivery_counts(conn: &mut DbConnection, ids: &[i32]) -> QueryResult<Vec<(i32, DeliveryStatus, i64)>> {
    let rows: Vec<(Option<i32>, DeliveryStatus, i64)> = deliveries::table
        .filter(deliveries::circular_id.eq_any(ids))
        .group_by((deliveries::circular_id, deliveries::status))
        .select((deliveries::circular_id, deliveries::status, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(c, status, n)| c.map(|c| (c, status, n)))
        .collect())
}

/// At most `limit` deliveries of a circular in the order they were queued,
/// after delivery `after` (keyset by id: a page costs the same however
/// many recipients the circular has).
pub fn deliveries_of(
    conn: &mut DbConnection,
    circular_id: i32,
    after: Option<i32>,
    limit: i64,
) -> QueryResult<Vec<Delivery>> {
    deliveries::table
        .filter(deliveries::circular_id.eq(Some(circular_id)))
        .filter(deliveries::id.gt(after.unwrap_or(0)))
        .order(deliveries::id.asc())
        .limit(limit)
        .select(deliveries::all_columns)
        .load(conn)
}

pub fn renditions_of(conn: &mut DbConnection, circular_id: i32) -> QueryResult<Vec<Rendition>> {
    circular_renditions::table
        .filter(circular_renditions::circular_id.eq(circular_id))
        .order(circular_renditions::id.asc())
        .select(circular_renditions::all_columns)
        .load(conn)
}

pub fn get_delivery(conn: &mut DbConnection, id: i32) -> QueryResult<Option<Delivery>> {
    deliveries::table
        .find(id)
        .select(deliveries::all_columns)
        .first(conn)
        .optional()
}

/// What a claimed delivery sends.
pub enum Content {
    Circular {
        rendition: Rendition,
        number: String,
        attachment_csv: String,
        /// The circular as PDF, when one was rendered.
        pdf: Option<Vec<u8>>,
    },
    Notice(super::notices::Notice),
}

/// A claimed delivery with what is needed to send it.
pub struct Claimed {
    pub delivery: Delivery,
    pub content: Content,
}

/// Claims up to `limit` deliveries that are due (pending and past their
/// next attempt, or claimed by a worker whose lease ran out), marking them
/// `sending` until `lease_until`. On PostgreSQL the rows are locked with
/// `FOR UPDATE SKIP LOCKED`, so two instances never claim the same row; on
/// SQLite the write transaction serialises claimers. Runs in the caller's
/// transaction.
pub fn claim(
    conn: &mut DbConnection,
    now: NaiveDateTime,
    lease_until: NaiveDateTime,
    limit: i64,
) -> QueryResult<Vec<Claimed>> {
    let due = deliveries::status
        .eq(DeliveryStatus::Pending)
        .and(deliveries::next_attempt_at.le(now))
        .or(deliveries::status
            .eq(DeliveryStatus::Sending)
            .and(deliveries::claimed_until.lt(now)));
    let ids: Vec<i32> = match conn {
        DbConnection::Pg(pg) => deliveries::table
            .filter(due)
            .order(deliveries::id.asc())
            .limit(limit)
            .select(deliveries::id)
            .for_update()
            .skip_locked()
            .load(pg)?,
        DbConnection::Sqlite(_) => deliveries::table
            .filter(due)
            .order(deliveries::id.asc())
            .limit(limit)
            .select(deliveries::id)
            .load(conn)?,
    };
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    diesel::update(deliveries::table.filter(deliveries::id.eq_any(&ids)))
        .set((
            deliveries::status.eq(DeliveryStatus::Sending),
            deliveries::claimed_until.eq(Some(lease_until)),
            deliveries::attempts.eq(deliveries::attempts + 1),
            deliveries::updated_at.eq(now),
        ))
        .execute(conn)?;
    let rows: Vec<Delivery> = deliveries::table
        .filter(deliveries::id.eq_any(&ids))
        .order(deliveries::id.asc())
        .select(deliveries::all_columns)
        .load(conn)?;
    let wanted = |f: fn(&Delivery) -> Option<i32>| {
        let mut v: Vec<i32> = rows.iter().filter_map(f).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let circular_ids = wanted(|d| d.circular_id);
    let renditions: Vec<Rendition> = circular_renditions::table
        .filter(circular_renditions::id.eq_any(wanted(|d| d.rendition_id)))
        .select(circular_renditions::all_columns)
        .load(conn)?;
    let heads: Vec<(i32, String, String)> = circulars::table
        .filter(circulars::id.eq_any(&circular_ids))
        .select((circulars::id, circulars::number, circulars::attachment_csv))
        .load(conn)?;
    // One PDF per circular, however many of its deliveries are claimed.
    let pdfs: Vec<(i32, Vec<u8>)> = circular_documents::table
        .filter(circular_documents::circular_id.eq_any(&circular_ids))
        .select((circular_documents::circular_id, circular_documents::pdf))
        .load(conn)?;
    let notices = super::notices::notices_by_id(conn, &wanted(|d| d.notice_id))?;
    let mut claimed = Vec::with_capacity(rows.len());
    for delivery in rows {
        let content = match (delivery.circular_id, delivery.rendition_id, delivery.notice_id) {
            (Some(cid), Some(rid), _) => {
                let (Some(rendition), Some((_, number, csv))) = (
                    renditions.iter().find(|r| r.id == rid),
                    heads.iter().find(|(id, ..)| *id == cid),
                ) else {
                    return Err(diesel::result::Error::NotFound);
                };
                Content::Circular {
                    rendition: rendition.clone(),
                    number: number.clone(),
                    attachment_csv: csv.clone(),
                    pdf: pdfs.iter().find(|(id, _)| *id == cid).map(|(_, pdf)| pdf.clone()),
                }
            }
            (_, _, Some(nid)) => match notices.iter().find(|n| n.id == nid) {
                Some(n) => Content::Notice(n.clone()),
                None => return Err(diesel::result::Error::NotFound),
            },
            _ => return Err(diesel::result::Error::NotFound),
        };
        claimed.push(Claimed { delivery, content });
    }
    Ok(claimed)
}

/// Marks failed the deliveries left `sending` by workers that never came
/// back (their lease ran out) once they have had `max_attempts` attempts:
/// a message whose sending ends its worker every time is shown as failed,
/// with the reason, and can be retried, instead of being claimed forever.
pub fn fail_abandoned(conn: &mut DbConnection, now: NaiveDateTime, max_attempts: i32) -> QueryResult<usize> {
    diesel::update(
        deliveries::table
            .filter(deliveries::status.eq(DeliveryStatus::Sending))
            .filter(deliveries::claimed_until.lt(now))
            .filter(deliveries::attempts.ge(max_attempts)),
    )
    .set((
        deliveries::status.eq(DeliveryStatus::Failed),
        deliveries::last_error.eq(Some(
            "sending was cut off on every attempt (the worker ended before recording an outcome)",
        )),
        deliveries::claimed_until.eq(None::<NaiveDateTime>),
        deliveries::updated_at.eq(now),
    ))
    .execute(conn)
}

/// Records a successful send, if this worker still holds the claim.
pub fn mark_sent(
    conn: &mut DbConnection,
    id: i32,
    claim: NaiveDateTime,
    message_id: &str,
    via: &str,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(
        deliveries::table
            .filter(deliveries::id.eq(id))
            .filter(deliveries::status.eq(DeliveryStatus::Sending))
            .filter(deliveries::claimed_until.eq(Some(claim))),
    )
    .set((
        deliveries::status.eq(DeliveryStatus::Sent),
        deliveries::message_id.eq(Some(message_id)),
        deliveries::sent_via.eq(Some(via)),
        deliveries::sent_at.eq(Some(at)),
        deliveries::claimed_until.eq(None::<NaiveDateTime>),
        deliveries::last_error.eq(None::<String>),
        deliveries::updated_at.eq(at),
    ))
    .execute(conn)
}

/// Records a failed attempt: back to `pending` with the next attempt time,
/// or `failed` for good (`next` = None).
pub fn mark_failed(
    conn: &mut DbConnection,
    id: i32,
    claim: NaiveDateTime,
    error: &str,
    next: Option<NaiveDateTime>,
    at: NaiveDateTime,
) -> QueryResult<usize> {
    let status = if next.is_some() {
        DeliveryStatus::Pending
    } else {
        DeliveryStatus::Failed
    };
    diesel::update(
        deliveries::table
            .filter(deliveries::id.eq(id))
            .filter(deliveries::status.eq(DeliveryStatus::Sending))
            .filter(deliveries::claimed_until.eq(Some(claim))),
    )
    .set((
        deliveries::status.eq(status),
        deliveries::last_error.eq(Some(error)),
        deliveries::next_attempt_at.eq(next.unwrap_or(at)),
        deliveries::claimed_until.eq(None::<NaiveDateTime>),
        deliveries::updated_at.eq(at),
    ))
    .execute(conn)
}

/// Puts a failed delivery back in the queue with a fresh set of attempts.
pub fn requeue(conn: &mut DbConnection, id: i32, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        deliveries::table
            .filter(deliveries::id.eq(id))
            .filter(deliveries::status.eq(DeliveryStatus::Failed)),
    )
    .set((
        deliveries::status.eq(DeliveryStatus::Pending),
        deliveries::attempts.eq(0),
        deliveries::next_attempt_at.eq(at),
        deliveries::updated_at.eq(at),
    ))
    .execute(conn)
}

/// Every active county lead with an email address, with their unit: the
/// circular's recipients for the units.
pub fn lead_recipients(conn: &mut DbConnection) -> QueryResult<Vec<(String, String, i32)>> {
    let rows: Vec<(String, Option<String>, i32)> = users::table
        .inner_join(user_units::table)
        .filter(users::role.eq(Role::CountyLead))
        .filter(users::active.eq(true))
        .filter(users::email.is_not_null())
        .order((user_units::unit_id.asc(), users::id.asc()))
        .select((users::display_name, users::email, user_units::unit_id))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(name, email, unit)| email.map(|e| (name, e, unit)))
        .collect())
}
