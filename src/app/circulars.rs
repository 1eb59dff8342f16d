//! Circulars (通报): preview, issue (numbered, rendered, queued for email in
//! one transaction), read back exactly as sent, and retry failed deliveries.

use chrono::{NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::Ctx;
use super::audit::{self, snapshot};
use super::progress::{self, Period};
use crate::auth::Principal;
use crate::auth::policy::{self, Admin};
use crate::db::circulars::{self as store, Circular, NewCircular, NewDelivery};
use crate::db::{self, DbConnection};
use crate::domain::DeliveryStatus;
use crate::domain::circular::number;
use crate::domain::progress::Progress;
use crate::error::{AppError, FieldErrors};
use crate::mail::{self, CircularDoc};

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
    pub circular_id: i32,
    pub rendition_id: i32,
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
}

impl From<store::Delivery> for Delivery {
    fn from(row: store::Delivery) -> Self {
        Delivery {
            id: row.id,
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
            last_error: row.last_error,
            message_id: row.message_id,
            sent_at: row.sent_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// The number the circular would get if issued now (not reserved).
    pub number: String,
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
    pub sent: i64,
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

/// The recipients of a circular: every unit's lead contacts, then the
/// city's copy list.
fn recipients(conn: &mut DbConnection, ctx: &Ctx) -> Result<Vec<Recipient>, AppError> {
    let mut out: Vec<Recipient> = store::lead_recipients(conn)?
        .into_iter()
        .map(|(name, email, unit)| Recipient {
            name,
            email,
            unit_id: Some(unit),
            copy: false,
        })
        .collect();
    for (name, email) in &ctx.settings.circular.cc {
        out.push(Recipient {
            name: name.clone(),
            email: email.clone(),
            unit_id: None,
            copy: true,
        });
    }
    Ok(out)
}

/// The circular's content: figures, letterhead and body.
fn document(ctx: &Ctx, number: &str, progress: &Progress) -> Result<CircularDoc, AppError> {
    let head = ctx.settings.circular.letterhead();
    mail::with_body(CircularDoc::new(number, &head, ctx.today(), progress))
}

/// The circular as PDF, when PDF output is on.
fn render_pdf(ctx: &Ctx, doc: &CircularDoc) -> Result<Option<Vec<u8>>, AppError> {
    let Some(fonts) = &ctx.fonts else {
        return Ok(None);
    };
    let started = std::time::Instant::now();
    let pdf = crate::documents::render_circular(&mail::official_document(doc), fonts).map_err(|e| {
        AppError::Internal(anyhow::Error::new(e).context(format!("cannot render circular {} as PDF", doc.number)))
    })?;
    tracing::info!(number = %doc.number, bytes = pdf.len(), ms = started.elapsed().as_millis() as u64, "circular rendered as PDF");
    Ok(Some(pdf))
}

/// The circular's PDF as issued: (number, bytes).
pub fn pdf(conn: &mut DbConnection, id: i32) -> Result<(String, Vec<u8>), AppError> {
    let c = store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("通报 {id} 不存在")))?;
    let pdf = store::pdf_of(conn, id)?
        .ok_or_else(|| AppError::NotFound(format!("通报 {} 签发时未生成PDF（PDF输出未开启）", c.number)))?;
    Ok((c.number, pdf))
}

fn check_period(ctx: &Ctx, period: &Period) -> Result<(), AppError> {
    let (_, as_of) = progress::resolve(ctx, period)?;
    if as_of > ctx.today() {
        return Err(FieldErrors::single("as_of", "截止日期不能晚于今天"));
    }
    Ok(())
}

pub fn preview(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, period: Period) -> Result<Preview, AppError> {
    policy::require_admin(p, Admin::Circulars)?;
    check_period(ctx, &period)?;
    let progress = progress::compute(conn, ctx, &period)?;
    let prefix = &ctx.settings.circular.prefix;
    let serial = store::peek_serial(conn, prefix, progress.year)?;
    let num = number(prefix, progress.year, serial);
    let doc = document(ctx, &num, &progress)?;
    let rendered = mail::render(&doc)?;
    Ok(Preview {
        number: num,
        subject: rendered.subject,
        body_text: rendered.text,
        body_html: rendered.html,
        attachment_csv: mail::progress_csv(&doc)?,
        progress,
        recipients: recipients(conn, ctx)?,
    })
}

/// Who or what issued a circular, and the keys that make a repeat harmless.
pub struct IssueOptions {
    pub issued_by: String,
    pub idempotency_key: Option<String>,
    pub schedule_period: Option<String>,
}

/// What an idempotency key is bound to: the SHA-256 of the request's
/// period as sent (its canonical JSON), so a replay must be the same request.
fn request_sha256(period: &Period) -> Result<String, AppError> {
    use sha2::{Digest, Sha256};
    let json = serde_json::to_vec(period).map_err(|e| AppError::internal("cannot hash the request", e))?;
    Ok(format!("{:x}", Sha256::digest(json)))
}

/// Issues a circular: the next number, the rendered bodies, and one delivery
/// per recipient, in one transaction. With an idempotency key or schedule
/// period already used, returns the circular issued then (`false`).
pub fn issue(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    period: Period,
    opts: IssueOptions,
) -> Result<(CircularDetail, bool), AppError> {
    policy::require_admin(p, Admin::Circulars)?;
    check_period(ctx, &period)?;
    if let Some(k) = &opts.idempotency_key
        && (k.is_empty() || k.len() > 200)
    {
        return Err(AppError::BadRequest("Idempotency-Key 应为1至200个字符".into()));
    }
    let body_sha256 = request_sha256(&period)?;
    let result = db::write_tx(conn, |conn| {
        if let Some(key) = &opts.idempotency_key
            && let Some(c) = store::by_idempotency_key(conn, key)?
        {
            if c.idempotency_body_sha256.as_ref().is_some_and(|h| *h != body_sha256) {
                return Err(FieldErrors::single(
                    "idempotency_key",
                    format!(
                        "该 Idempotency-Key 已用于签发 {}，但这次请求的内容不同；新的请求请换一个键",
                        c.number
                    ),
                ));
            }
            return Ok((c, false));
        }
        if let Some(period) = &opts.schedule_period
            && let Some(c) = store::by_period(conn, period)?
        {
            return Ok((c, false));
        }
        let progress = progress::compute(conn, ctx, &period)?;
        let settings = &ctx.settings.circular;
        let serial = store::next_serial(conn, &settings.prefix, progress.year)?;
        let num = number(&settings.prefix, progress.year, serial);
        let doc = document(ctx, &num, &progress)?;
        let plain = mail::render(&doc)?;
        let csv = mail::progress_csv(&doc)?;
        let pdf = render_pdf(ctx, &doc)?;
        let snapshot = serde_json::to_string(&Snapshot {
            year: progress.year,
            as_of: progress.as_of,
            prefix: settings.prefix.clone(),
            issuer: settings.issuer.clone(),
            tolerance: settings.lag_tolerance,
            progress: progress.clone(),
        })
        .map_err(|e| AppError::internal("cannot store the snapshot", e))?;
        let now = db::now();
        let circular = store::insert(
            conn,
            &NewCircular {
                number: &num,
                prefix: &settings.prefix,
                year: progress.year,
                serial,
                as_of: progress.as_of,
                title: &settings.title,
                snapshot: &snapshot,
                subject: &plain.subject,
                body_text: &plain.text,
                body_html: &plain.html,
                attachment_csv: &csv,
                issued_by: &opts.issued_by,
                schedule_period: opts.schedule_period.as_deref(),
                idempotency_key: opts.idempotency_key.as_deref(),
                issued_at: now,
                idempotency_body_sha256: opts.idempotency_key.as_ref().map(|_| body_sha256.as_str()),
            },
        )?;
        if let Some(pdf) = &pdf {
            store::insert_pdf(conn, circular.id, pdf)?;
        }
        let plain_id = store::insert_rendition(conn, circular.id, None, &plain.subject, &plain.text, &plain.html)?;
        let mut by_unit: Vec<(i32, i32)> = Vec::new();
        for r in recipients(conn, ctx)? {
            let rendition_id = match r.unit_id {
                None => plain_id,
                Some(unit) => match by_unit.iter().find(|(u, _)| *u == unit) {
                    Some((_, id)) => *id,
                    None => {
                        let own = mail::render(&doc.for_unit(unit))?;
                        let id =
                            store::insert_rendition(conn, circular.id, Some(unit), &own.subject, &own.text, &own.html)?;
                        by_unit.push((unit, id));
                        id
                    }
                },
            };
            store::insert_delivery(
                conn,
                &NewDelivery {
                    circular_id: circular.id,
                    rendition_id,
                    name: &r.name,
                    email: &r.email,
                    unit_id: r.unit_id,
                    copy: r.copy,
                },
                now,
            )?;
        }
        tracing::info!(circular_id = circular.id, number = %circular.number, by = %opts.issued_by, "circular issued");
        let recorded = serde_json::json!({
            "number": circular.number, "year": circular.year, "as_of": circular.as_of,
            "issued_by": circular.issued_by, "schedule_period": circular.schedule_period,
        });
        audit::record(conn, p, "circular.issue", "circular", circular.id, None, Some(recorded))?;
        Ok::<_, AppError>((circular, true))
    });
    let (circular, created) = match result {
        // Two instances ran the same schedule period at once: the other won.
        Err(AppError::Conflict { .. }) if opts.schedule_period.is_some() => {
            let period = opts.schedule_period.as_deref().unwrap_or_default();
            let c = store::by_period(conn, period)?
                .ok_or_else(|| AppError::conflict("通报正在由另一实例印发，请稍后查看"))?;
            (c, false)
        }
        other => other?,
    };
    if created {
        ctx.outbox.notify_one();
    }
    Ok((detail(conn, p, circular)?, created))
}

fn counts(all: &[(i32, DeliveryStatus, i64)], id: i32) -> DeliveryCounts {
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
        failed: n(DeliveryStatus::Failed),
    }
}

fn summary(c: &Circular, all: &[(i32, DeliveryStatus, i64)]) -> CircularView {
    CircularView {
        id: c.id,
        number: c.number.clone(),
        year: c.year,
        serial: c.serial,
        as_of: c.as_of,
        title: c.title.clone(),
        subject: c.subject.clone(),
        issued_by: c.issued_by.clone(),
        schedule_period: c.schedule_period.clone(),
        issued_at: c.issued_at,
        deliveries: counts(all, c.id),
    }
}

fn detail(conn: &mut DbConnection, p: &Principal, c: Circular) -> Result<CircularDetail, AppError> {
    let all = store::delivery_counts(conn, &[c.id])?;
    let renditions = store::renditions_of(conn, c.id)?
        .into_iter()
        .filter(|r| policy::can_read_rendition(p, r.unit_id))
        .map(Rendition::from)
        .collect();
    let snapshot = serde_json::from_str(&c.snapshot).map_err(|e| AppError::internal("stored snapshot", e))?;
    Ok(CircularDetail {
        summary: summary(&c, &all),
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
    let all = store::delivery_counts(conn, &ids)?;
    Ok(super::Page {
        items: items.iter().map(|c| summary(c, &all)).collect(),
        total: Some(total),
        total_exact: true,
        page,
        per_page,
        next_after: None,
    })
}

pub fn deliveries(conn: &mut DbConnection, p: &Principal, id: i32) -> Result<Vec<Delivery>, AppError> {
    policy::require_admin(p, Admin::Circulars)?;
    store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("通报 {id} 不存在")))?;
    Ok(store::deliveries_of(conn, id)?
        .into_iter()
        .map(Delivery::from)
        .collect())
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
            .filter(|d| d.circular_id == circular_id)
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
