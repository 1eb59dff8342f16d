//! The outbox: claims due deliveries of every kind (circulars, guidance
//! notices, reminders, digests), has `mail` send them, and records the
//! outcome. Deliveries are written with what they send in one transaction,
//! so nothing acknowledged is lost; a claim is a lease, so a delivery is
//! sent by one worker at a time, across instances.
//!
//! A crash after the SMTP server accepted a message but before `sent` was
//! recorded would send it again once the lease runs out; every delivery
//! keeps one Message-ID, so receiving systems can tell the copy.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use futures_util::FutureExt;

use super::Ctx;
use crate::db::circulars::{self as store, Claimed, Content};
use crate::db::{self};
use crate::error::AppError;
use crate::mail::{self, Attachment, Email, SendError, Sender, Transport};

/// How many deliveries one claim takes.
pub const BATCH: i64 = 20;
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

enum Outcome {
    /// Sent; what to record as its message id, and how it left (`smtp`,
    /// or `file` when written as an .eml file).
    Sent(String, &'static str),
    Retry(String),
    Failed(String),
}

/// The Message-ID of a delivery: the same for every attempt.
fn message_id(c: &Claimed, from: &Sender) -> String {
    let local = match &c.content {
        Content::Circular { rendition, .. } => {
            format!("circular-{}.delivery-{}", rendition.circular_id, c.delivery.id)
        }
        Content::Notice(n) => format!("{}-{}.delivery-{}", c.delivery.kind, n.id, c.delivery.id),
    };
    from.message_id(&local.replace('_', "-"))
}

/// Builds and sends one delivery. Whatever goes wrong with it — an error or
/// a panic in building or sending the message (a header lettre cannot
/// write, say) — is this delivery's failure: the worker goes on with the
/// next one.
async fn send(transport: &Transport, c: &Claimed, from: &Sender) -> Outcome {
    match std::panic::AssertUnwindSafe(try_send(transport, c, from))
        .catch_unwind()
        .await
    {
        Ok(outcome) => outcome,
        Err(panic) => {
            let why = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Outcome::Failed(format!("cannot build or send the message: {why}"))
        }
    }
}

async fn try_send(transport: &Transport, c: &Claimed, from: &Sender) -> Outcome {
    let mid = message_id(c, from);
    let (subject, text, html, attachments, unsubscribe, names);
    match &c.content {
        Content::Circular {
            rendition,
            number,
            attachment_csv,
            pdf,
        } => {
            names = (format!("{number}进度表.csv"), format!("{number}.pdf"));
            let mut files = vec![Attachment {
                filename: &names.0,
                content_type: "text/csv; charset=utf-8",
                body: attachment_csv.as_bytes(),
            }];
            if let Some(pdf) = pdf {
                files.push(Attachment {
                    filename: &names.1,
                    content_type: "application/pdf",
                    body: pdf,
                });
            }
            (subject, text, html) = (&rendition.subject, &rendition.body_text, &rendition.body_html);
            attachments = files;
            unsubscribe = None;
        }
        Content::Notice(n) => {
            (subject, text, html) = (&n.subject, &n.body_text, &n.body_html);
            attachments = match (&n.attachment_name, &n.attachment) {
                (Some(name), Some(body)) => vec![Attachment {
                    filename: name,
                    content_type: "application/pdf",
                    body,
                }],
                _ => Vec::new(),
            };
            unsubscribe = n.unsubscribe_url.as_deref();
        }
    }
    let email = Email {
        to_name: &c.delivery.recipient_name,
        to_email: &c.delivery.recipient_email,
        subject,
        text,
        html,
        attachments,
        message_id: &mid,
        list_unsubscribe: unsubscribe,
    };
    let sent = match mail::build_message(from, &email) {
        Ok(message) => transport.send(message).await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(None) => Outcome::Sent(mid, "smtp"),
        Ok(Some(file)) => Outcome::Sent(format!("{mid} ({file})"), "file"),
        Err(SendError::Temporary(e)) => Outcome::Retry(e),
        Err(SendError::Permanent(e)) => Outcome::Failed(e),
    }
}

/// Wait before attempt `attempts + 1`: base × 2^(attempts − 1), capped.
pub fn backoff(base: Duration, attempts: i32) -> Duration {
    let exp = u32::try_from(attempts.saturating_sub(1)).unwrap_or(0).min(20);
    base.saturating_mul(1u32 << exp).min(MAX_BACKOFF)
}

fn delta(d: Duration) -> TimeDelta {
    TimeDelta::from_std(d).unwrap_or(TimeDelta::MAX)
}

/// Records what became of one claimed delivery, if the claim still holds.
async fn record(ctx: &Ctx, c: &Claimed, outcome: Outcome) {
    let id = c.delivery.id;
    let kind = c.delivery.kind;
    let claim: NaiveDateTime = c.delivery.claimed_until.unwrap_or_else(db::now);
    let attempts = c.delivery.attempts;
    let max = ctx.settings.mail.max_attempts;
    let base = ctx.settings.mail.retry_base;
    let recorded = ctx
        .run(move |conn, _| {
            let now = db::now();
            let n = match &outcome {
                Outcome::Sent(mid, via) => {
                    tracing::info!(delivery_id = id, message_id = %mid, kind = %kind, via, "email sent");
                    store::mark_sent(conn, id, claim, mid, via, now)?
                }
                Outcome::Retry(err) if attempts < max => {
                    let next = now + delta(backoff(base, attempts));
                    tracing::warn!(delivery_id = id, attempts, error = %err, %next, "email not sent; will retry");
                    store::mark_failed(conn, id, claim, err, Some(next), now)?
                }
                Outcome::Retry(err) | Outcome::Failed(err) => {
                    tracing::error!(delivery_id = id, attempts, error = %err, "email failed for good");
                    store::mark_failed(conn, id, claim, err, None, now)?
                }
            };
            if n == 0 {
                tracing::warn!(
                    delivery_id = id,
                    "delivery claim expired before its outcome was recorded"
                );
            }
            Ok(())
        })
        .await;
    if let Err(e) = recorded {
        tracing::error!(delivery_id = id, error = %e, "cannot record a delivery outcome");
    }
}

/// Claims one batch and sends it. Returns how many deliveries were handled.
pub async fn run_once(ctx: &Ctx, transport: &Transport) -> Result<usize, AppError> {
    let from = Sender::parse(&ctx.settings.mail.from)
        .map_err(|e| AppError::internal("BAYIGE_MAIL_FROM is invalid", anyhow::anyhow!(e)))?;
    let claimed = ctx
        .run(|conn, ctx| {
            let now = db::now();
            let max = ctx.settings.mail.max_attempts;
            db::write_tx(conn, |conn| {
                let abandoned = store::fail_abandoned(conn, now, max)?;
                if abandoned > 0 {
                    tracing::error!(
                        deliveries = abandoned,
                        max_attempts = max,
                        "deliveries whose sending was cut off on every attempt are marked failed"
                    );
                }
                Ok::<_, AppError>(store::claim(conn, now, now + delta(ctx.settings.mail.lease), BATCH)?)
            })
        })
        .await?;
    let n = claimed.len();
    for c in claimed {
        let outcome = send(transport, &c, &from).await;
        record(ctx, &c, outcome).await;
    }
    Ok(n)
}

/// Sends through `transport` everything that is due now, batch by batch,
/// and returns how many deliveries were handled (sent, failed, or put back
/// for a retry). Deliveries another worker holds are not waited for.
pub async fn run_pending_with(ctx: &Ctx, transport: &Transport) -> Result<usize, AppError> {
    let mut total = 0;
    loop {
        match run_once(ctx, transport).await? {
            0 => return Ok(total),
            n => total += n,
        }
    }
}

/// Like [`run_pending_with`], through the transport the settings name:
/// what the command line does after issuing, and what tests call instead of
/// waiting for the worker.
pub async fn run_pending(ctx: &Ctx) -> Result<usize, AppError> {
    let transport = Transport::from_settings(&ctx.settings.mail, &ctx.settings.data_dir)
        .map_err(|e| AppError::internal("cannot set up the mail transport", e))?;
    run_pending_with(ctx, &transport).await
}

/// The worker: sends whatever is due, then sleeps until woken by a new
/// circular or a retry, or until the poll interval passes; ends when the
/// context is shut down.
pub async fn run(ctx: Ctx, transport: Transport) {
    let poll = ctx.settings.mail.poll;
    let mut stop = ctx.stop.subscribe();
    while !*stop.borrow() {
        let handled = match run_once(&ctx, &transport).await {
            Ok(n) => n,
            Err(e) => {
                tracing::error!(error = %e, "outbox worker: cannot claim deliveries");
                0
            }
        };
        if handled == 0 {
            tokio::select! {
                _ = ctx.outbox.notified() => {}
                _ = tokio::time::sleep(poll) => {}
                _ = stop.changed() => {}
            }
        }
    }
    tracing::debug!("outbox worker stopped");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        let base = Duration::from_millis(100);
        assert_eq!(backoff(base, 0), base);
        assert_eq!(backoff(base, 1), base);
        assert_eq!(backoff(base, 2), base * 2);
        assert_eq!(backoff(base, 4), base * 8);
        assert_eq!(backoff(base, 1000), MAX_BACKOFF);
    }
}
