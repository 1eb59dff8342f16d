//! Circulars (通报): preview, issue (numbered, rendered, queued for email in
//! one transaction), read back exactly as sent, and retry failed deliveries.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::Ctx;
use super::audit::{self, snapshot};
use crate::auth::Principal;
use crate::auth::policy::{self, Admin};
use crate::db::circulars::{self as store, Circular};
use crate::db::{self, DbConnection};
use crate::domain::circular::{delivery_error_zh, delivery_final, delivery_status_zh};
use crate::domain::progress::Progress;
use crate::domain::{DeliveryKind, DeliveryStatus};
use crate::error::{AppError, FieldErrors};

mod issue;

pub use issue::{IssueOptions, issue, preview};

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Rendition {
    pub id: i32,
    pub circular_id: i32,
    pub unit_id: Option<i32>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
}

impl From<store::Rendition> for Rendition {
    fn from(row: store::Rendition) -> Self {
        Rendition {
            id: row.id,
            circular_id: row.circular_id,
            unit_id: row.unit_id,
            subject: row.subject,
            body_text: row.body_text,
            body_html: row.body_html,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Delivery {
    pub id: i32,
    /// What the email is: a circular, a guidance notice, a reminder or a digest.
    #[schema(value_type = String)]
    pub kind: DeliveryKind,
    /// What it is about, e.g. `circular/3`, `visit/12`, `digest/2017-07-10`.
    pub reference: String,
    /// Circulars only (with `rendition_id`).
    pub circular_id: Option<i32>,
    pub rendition_id: Option<i32>,
    pub recipient_name: String,
    pub recipient_email: String,
    pub unit_id: Option<i32>,
    pub copy: bool,
    #[schema(value_type = String)]
    pub status: DeliveryStatus,
    pub attempts: i32,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub next_attempt_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::option")]
    pub claimed_until: Option<NaiveDateTime>,
    pub last_error: Option<String>,
    pub message_id: Option<String>,
    #[serde(serialize_with = "crate::db::utc::option")]
    pub sent_at: Option<NaiveDateTime>,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub created_at: NaiveDateTime,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub updated_at: NaiveDateTime,
    /// How a sent delivery left: `smtp` (accepted by the SMTP server) or
    /// `file` (written as an .eml file: no mail server configured).
    pub sent_via: Option<String>,
    /// The status in words: 待发送, 发送中, 待重试, 已发送, 已写入文件, 发送失败.
    pub status_zh: String,
    /// Why the last attempt failed, in words for the clerk.
    pub error_zh: Option<String>,
    /// True once the delivery changes no more by itself (sent or failed).
    pub is_final: bool,
}

impl From<store::Delivery> for Delivery {
    fn from(row: store::Delivery) -> Self {
        Delivery {
            id: row.id,
            kind: row.kind,
            reference: row.reference,
            circular_id: row.circular_id,
            rendition_id: row.rendition_id,
            recipient_name: row.recipient_name,
            recipient_email: row.recipient_email,
            unit_id: row.unit_id,
            copy: row.copy,
            status: row.status,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            claimed_until: row.claimed_until,
            error_zh: row.last_error.as_deref().map(|e| delivery_error_zh(e).to_owned()),
            last_error: row.last_error,
            message_id: row.message_id,
            sent_at: row.sent_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
            status_zh: delivery_status_zh(row.status, row.sent_via.as_deref(), row.attempts).to_owned(),
            is_final: delivery_final(row.status),
            sent_via: row.sent_via,
        }
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Recipient {
    pub name: String,
    pub email: String,
    pub unit_id: Option<i32>,
    pub copy: bool,
}

/// A circular issued before for the same 截至 date.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Earlier {
    pub id: i32,
    pub number: String,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub issued_at: NaiveDateTime,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// The number the circular would get if issued now (not reserved).
    pub number: String,
    /// Circulars already issued for the same 截至 date (newest first): the
    /// web page asks for a confirmation before issuing another.
    pub same_as_of: Vec<Earlier>,
    pub subject: String,
    pub body_text: String,
    pub body_html: String,
    pub attachment_csv: String,
    pub progress: Progress,
    pub recipients: Vec<Recipient>,
}

/// The data a circular was computed from, stored with it.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Snapshot {
    pub year: i32,
    pub as_of: NaiveDate,
    pub prefix: String,
    pub issuer: String,
    pub tolerance: f64,
    pub progress: Progress,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryCounts {
    pub pending: i64,
    pub sending: i64,
    /// Sent, of which `written_to_file` went to .eml files (no mail server).
    pub sent: i64,
    pub written_to_file: i64,
    pub failed: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CircularView {
    pub id: i32,
    pub number: String,
    pub year: i32,
    pub serial: i32,
    pub as_of: NaiveDate,
    pub title: String,
    pub subject: String,
    pub issued_by: String,
    /// Who issued it, as a page names them: the person's display name, or
    /// 定时发送 (the monthly schedule), 命令行, 接口.
    pub issuer_zh: String,
    pub schedule_period: Option<String>,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub issued_at: chrono::NaiveDateTime,
    pub deliveries: DeliveryCounts,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CircularDetail {
    #[serde(flatten)]
    pub summary: CircularView,
    pub body_text: String,
    pub body_html: String,
    pub attachment_csv: String,
    /// Whether the circular was rendered as PDF (at `/api/circulars/{id}/pdf`).
    pub pdf: bool,
    pub snapshot: serde_json::Value,
    /// The per-unit versions as sent (their own row highlighted).
    pub renditions: Vec<Rendition>,
}

/// Delivery counts per circular and status, and those written to files.
struct Counts {
    by_status: Vec<(i32, DeliveryStatus, i64)>,
    written: Vec<(i32, i64)>,
}

fn load_counts(conn: &mut DbConnection, ids: &[i32]) -> Result<Counts, AppError> {
    Ok(Counts {
        by_status: store::delivery_counts(conn, ids)?,
        written: crate::db::circular_lookup::written_to_file(conn, ids)?,
    })
}

fn counts(counts: &Counts, id: i32) -> DeliveryCounts {
    let all = &counts.by_status;
    let n = |status: DeliveryStatus| {
        all.iter()
            .filter(|(c, st, _)| *c == id && *st == status)
            .map(|(_, _, n)| *n)
            .sum()
    };
    DeliveryCounts {
        pending: n(DeliveryStatus::Pending),
        sending: n(DeliveryStatus::Sending),
        sent: n(DeliveryStatus::Sent),
        written_to_file: counts.written.iter().filter(|(c, _)| *c == id).map(|(_, n)| n).sum(),
        failed: n(DeliveryStatus::Failed),
    }
}

/// The user a circular's `issued_by` names (`web:NAME`, `api:NAME`).
fn issuer_username(issued_by: &str) -> Option<&str> {
    issued_by
        .strip_prefix("web:")
        .or_else(|| issued_by.strip_prefix("api:"))
}

/// Display names of the people who issued `circulars`.
fn issuer_names(conn: &mut DbConnection, circulars: &[&Circular]) -> Result<Vec<(String, String)>, AppError> {
    let users: Vec<String> = circulars
        .iter()
        .filter_map(|c| issuer_username(&c.issued_by))
        .map(str::to_owned)
        .collect();
    Ok(crate::db::circular_lookup::display_names(conn, &users)?)
}

fn issuer_zh(issued_by: &str, names: &[(String, String)]) -> String {
    match (issued_by, issuer_username(issued_by)) {
        (_, Some(user)) => names
            .iter()
            .find(|(u, _)| u == user)
            .map_or_else(|| "已删除的用户".to_owned(), |(_, name)| name.clone()),
        ("schedule", _) => "定时发送".to_owned(),
        ("cli", _) => "命令行".to_owned(),
        _ => "接口".to_owned(),
    }
}

fn summary(c: &Circular, all: &Counts, names: &[(String, String)]) -> CircularView {
    CircularView {
        id: c.id,
        number: c.number.clone(),
        year: c.year,
        serial: c.serial,
        as_of: c.as_of,
        title: c.title.clone(),
        subject: c.subject.clone(),
        issued_by: c.issued_by.clone(),
        issuer_zh: issuer_zh(&c.issued_by, names),
        schedule_period: c.schedule_period.clone(),
        issued_at: c.issued_at,
        deliveries: counts(all, c.id),
    }
}

fn detail(conn: &mut DbConnection, p: &Principal, c: Circular) -> Result<CircularDetail, AppError> {
    let all = load_counts(conn, &[c.id])?;
    let renditions = store::renditions_of(conn, c.id)?
        .into_iter()
        .filter(|r| policy::can_read_rendition(p, r.unit_id))
        .map(Rendition::from)
        .collect();
    let snapshot = serde_json::from_str(&c.snapshot).map_err(|e| AppError::internal("stored snapshot", e))?;
    let names = issuer_names(conn, &[&c])?;
    Ok(CircularDetail {
        summary: summary(&c, &all, &names),
        body_text: c.body_text,
        body_html: c.body_html,
        attachment_csv: c.attachment_csv,
        pdf: store::has_pdf(conn, c.id)?,
        snapshot,
        renditions,
    })
}

/// One circular: its text and city table for every signed-in user, the
/// per-unit renditions only those the principal may read (see
/// [`policy::can_read_rendition`]).
pub fn get(conn: &mut DbConnection, p: &Principal, id: i32) -> Result<CircularDetail, AppError> {
    policy::can_read_circular(p)?;
    let c = store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("通报 {id} 不存在")))?;
    detail(conn, p, c)
}

pub fn list(
    conn: &mut DbConnection,
    p: &Principal,
    page: i64,
    per_page: i64,
) -> Result<super::Page<CircularView>, AppError> {
    policy::can_read_circular(p)?;
    let (items, total) = store::list(conn, per_page, (page - 1) * per_page)?;
    let ids: Vec<i32> = items.iter().map(|c| c.id).collect();
    let all = load_counts(conn, &ids)?;
    let names = issuer_names(conn, &items.iter().collect::<Vec<_>>())?;
    Ok(super::Page {
        items: items.iter().map(|c| summary(c, &all, &names)).collect(),
        total: Some(total),
        total_exact: true,
        page,
        per_page,
        next_after: None,
    })
}

/// Deliveries per page, and the default.
pub const MAX_DELIVERIES_PER_PAGE: i64 = 100;

/// Query string of a circular's deliveries; parsed by hand so that a bad
/// value is reported by field name.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct DeliveryQuery {
    /// Deliveries per page (default and most 100).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// Keyset pagination: the deliveries after this one (the previous
    /// page's `next_after`).
    #[param(value_type = Option<i32>, minimum = 1)]
    pub after: Option<String>,
}

/// One page of a circular's deliveries, in the order they were queued.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DeliveryPage {
    pub items: Vec<Delivery>,
    /// Cursor for the next page (`?after=`); null on the last page.
    pub next_after: Option<i32>,
}

/// A circular's deliveries a page at a time (`limit`, default and most
/// 100; `after` = the previous page's `next_after`): the cost of a page
/// does not grow with the number of recipients.
pub fn deliveries(conn: &mut DbConnection, p: &Principal, id: i32, q: DeliveryQuery) -> Result<DeliveryPage, AppError> {
    let mut errors = FieldErrors::new();
    let limit =
        super::int_param(&mut errors, "limit", q.limit, 1..=MAX_DELIVERIES_PER_PAGE).unwrap_or(MAX_DELIVERIES_PER_PAGE);
    let after = super::int_param(&mut errors, "after", q.after, 1..=i64::from(i32::MAX)).map(|a| a as i32);
    errors.into_result()?;
    policy::require_admin(p, Admin::Circulars)?;
    store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("通报 {id} 不存在")))?;
    let items: Vec<Delivery> = store::deliveries_of(conn, id, after, limit)?
        .into_iter()
        .map(Delivery::from)
        .collect();
    let next_after = (items.len() as i64 == limit)
        .then(|| items.last().map(|d| d.id))
        .flatten();
    Ok(DeliveryPage { items, next_after })
}

/// Puts a failed delivery back in the queue.
pub fn retry(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    circular_id: i32,
    delivery_id: i32,
) -> Result<Delivery, AppError> {
    policy::require_admin(p, Admin::Circulars)?;
    let d = db::write_tx(conn, |conn| {
        let d = store::get_delivery(conn, delivery_id)?
            .map(Delivery::from)
            .filter(|d| d.circular_id == Some(circular_id))
            .ok_or_else(|| AppError::NotFound(format!("通报 {circular_id} 没有投递记录 {delivery_id}")))?;
        if d.status != DeliveryStatus::Failed {
            return Err(AppError::conflict(format!(
                "只有发送失败的投递可以重发（当前状态：{}）",
                d.status
            )));
        }
        store::requeue(conn, delivery_id, db::now())?;
        tracing::info!(delivery_id, "failed delivery queued again");
        let after = store::get_delivery(conn, delivery_id)?.map(Delivery::from);
        audit::record(
            conn,
            p,
            "delivery.retry",
            "delivery",
            delivery_id,
            snapshot(&d),
            after.as_ref().and_then(snapshot),
        )?;
        Ok(after)
    })?;
    ctx.outbox.notify_one();
    d.ok_or_else(|| AppError::NotFound(format!("投递记录 {delivery_id} 不存在")))
}

/// The circular's PDF as issued: (number, bytes).
pub fn pdf(conn: &mut DbConnection, id: i32) -> Result<(String, Vec<u8>), AppError> {
    let c = store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("通报 {id} 不存在")))?;
    let pdf = store::pdf_of(conn, id)?
        .ok_or_else(|| AppError::NotFound(format!("通报 {} 签发时未生成PDF（PDF输出未开启）", c.number)))?;
    Ok((c.number, pdf))
}
