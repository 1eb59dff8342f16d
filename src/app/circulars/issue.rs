//! Previewing and issuing a circular: numbered, rendered and queued for
//! email in one transaction.

use super::{CircularDetail, Preview, Recipient, Snapshot};
use crate::app::Ctx;
use crate::app::audit;
use crate::app::progress::{self, Period};
use crate::auth::Principal;
use crate::auth::policy::{self, Admin};
use crate::db::circulars::{self as store, Circular, NewCircular, NewDelivery};
use crate::db::{self, DbConnection};
use crate::domain::circular::number;
use crate::domain::progress::Progress;
use crate::error::{AppError, FieldErrors};
use crate::mail::{self, CircularDoc};

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

/// The circular's content: figures (with the stations standing by 五进 and
/// the dispute ledger's city figures), letterhead and body.
fn document(conn: &mut DbConnection, ctx: &Ctx, number: &str, progress: &Progress) -> Result<CircularDoc, AppError> {
    let head = ctx.settings.circular.letterhead();
    let standing = crate::db::progress::standing_by_category(conn, progress.as_of)
        .map_err(|e| AppError::internal("counting standing stations by category", e))?;
    let mut doc = CircularDoc::new(number, &head, ctx.today(), progress).with_five_entries(&standing);
    let ledger = crate::app::disputes::city_figures(conn, progress.year, progress.as_of)?;
    if ledger.counts.received > 0 {
        doc.disputes_zh = ledger.sentence;
    }
    mail::with_body(doc)
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
    let doc = document(conn, ctx, &num, &progress)?;
    let rendered = mail::render(&doc)?;
    let earlier = crate::db::circular_lookup::issued_for(conn, progress.as_of)?;
    Ok(Preview {
        same_as_of: earlier
            .into_iter()
            .map(|(id, number, issued_at)| super::Earlier { id, number, issued_at })
            .collect(),
        number: num,
        subject: rendered.subject,
        body_text: rendered.text,
        body_html: rendered.html,
        attachment_csv: mail::progress_csv(&doc)?,
        progress,
        recipients: recipients(conn, ctx)?,
    })
}

/// Who or what issued a circular, the keys that make a repeat harmless, and
/// what the issuer confirmed.
pub struct IssueOptions {
    pub issued_by: String,
    pub idempotency_key: Option<String>,
    pub schedule_period: Option<String>,
    /// Issue even if a circular for the same 截至 date exists (the web page
    /// asks first; scripts and the schedule decide for themselves).
    pub allow_same_as_of: bool,
    /// The number the issuer was shown: issuing stops if it would be
    /// another (a circular was issued in between).
    pub expected_number: Option<String>,
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
        if let Some(c) = already_issued(conn, &opts, &body_sha256)? {
            return Ok((c, false));
        }
        if !opts.allow_same_as_of {
            check_same_as_of(conn, ctx, &period)?;
        }
        let (circular, doc) = write_circular(conn, ctx, &period, &opts, &body_sha256)?;
        queue_deliveries(conn, ctx, &circular, &doc)?;
        tracing::info!(circular_id = circular.id, number = %circular.number, by = %opts.issued_by, "circular issued");
        let recorded = serde_json::json!({
            "number": circular.number, "year": circular.year, "as_of": circular.as_of,
            "issued_by": circular.issued_by, "schedule_period": circular.schedule_period,
        });
        audit::record(conn, p, "circular.issue", "circular", circular.id, None, Some(recorded))?;
        Ok::<_, AppError>((circular, true))
    });
    let (circular, created) = match result {
        // Two requests with the same idempotency key, or two instances
        // running the same schedule period, at once (PostgreSQL lets both
        // look before either writes): the other won, and its circular is
        // the answer.
        Err(AppError::Conflict { .. }) if opts.schedule_period.is_some() || opts.idempotency_key.is_some() => {
            let c = already_issued(conn, &opts, &body_sha256)?
                .ok_or_else(|| AppError::conflict("通报正在由另一实例印发，请稍后查看"))?;
            (c, false)
        }
        other => other?,
    };
    if created {
        ctx.outbox.notify_one();
    }
    Ok((super::detail(conn, p, circular)?, created))
}

/// Refuses a second circular for the same 截至 date unless confirmed.
fn check_same_as_of(conn: &mut DbConnection, ctx: &Ctx, period: &Period) -> Result<(), AppError> {
    let (_, as_of) = progress::resolve(ctx, period)?;
    if let Some((_, earlier, _)) = crate::db::circular_lookup::issued_for(conn, as_of)?.first() {
        return Err(FieldErrors::single(
            "confirm_same_as_of",
            format!(
                "截至{}的通报已印发（{earlier}）；确需再印发一份，请勾选确认后再印发",
                crate::domain::circular::date_zh(as_of)
            ),
        ));
    }
    Ok(())
}

/// The circular a repeated request (same idempotency key and body, or the
/// same schedule period) issued already; a used key with another body is
/// refused.
fn already_issued(
    conn: &mut DbConnection,
    opts: &IssueOptions,
    body_sha256: &str,
) -> Result<Option<Circular>, AppError> {
    if let Some(key) = &opts.idempotency_key
        && let Some(c) = store::by_idempotency_key(conn, key)?
    {
        if c.idempotency_body_sha256.as_ref().is_some_and(|h| h != body_sha256) {
            return Err(FieldErrors::single(
                "idempotency_key",
                format!(
                    "该 Idempotency-Key 已用于签发 {}，但这次请求的内容不同；新的请求请换一个键",
                    c.number
                ),
            ));
        }
        return Ok(Some(c));
    }
    if let Some(period) = &opts.schedule_period {
        return Ok(store::by_period(conn, period)?);
    }
    Ok(None)
}

/// Takes the next serial, renders the document (text, HTML, CSV, PDF) and
/// writes the circular with its data snapshot.
fn write_circular(
    conn: &mut DbConnection,
    ctx: &Ctx,
    period: &Period,
    opts: &IssueOptions,
    body_sha256: &str,
) -> Result<(Circular, CircularDoc), AppError> {
    let progress = progress::compute(conn, ctx, period)?;
    let settings = &ctx.settings.circular;
    let serial = store::next_serial(conn, &settings.prefix, progress.year)?;
    let num = number(&settings.prefix, progress.year, serial);
    if let Some(shown) = &opts.expected_number
        && *shown != num
    {
        // The transaction rolls back: the serial is not used up.
        return Err(FieldErrors::single(
            "expected_number",
            format!("确认时的文号{shown}已被占用，本通报将为{num}；请重新确认"),
        ));
    }
    let doc = document(conn, ctx, &num, &progress)?;
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
            issued_at: db::now(),
            idempotency_body_sha256: opts.idempotency_key.as_ref().map(|_| body_sha256),
        },
    )?;
    if let Some(pdf) = &pdf {
        store::insert_pdf(conn, circular.id, pdf)?;
    }
    Ok((circular, doc))
}

/// One delivery per recipient: a unit's leads get that unit's rendition
/// (its cover note), the copy list the plain one.
fn queue_deliveries(
    conn: &mut DbConnection,
    ctx: &Ctx,
    circular: &Circular,
    doc: &CircularDoc,
) -> Result<(), AppError> {
    let plain = mail::render(doc)?;
    let plain_id = store::insert_rendition(conn, circular.id, None, &plain.subject, &plain.text, &plain.html)?;
    let mut by_unit: Vec<(i32, i32)> = Vec::new();
    let now = db::now();
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
        let delivery = NewDelivery {
            circular_id: circular.id,
            rendition_id,
            name: &r.name,
            email: &r.email,
            unit_id: r.unit_id,
            copy: r.copy,
        };
        store::insert_delivery(conn, &delivery, now)?;
    }
    Ok(())
}
