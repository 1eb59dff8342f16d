//! The outbox worker: claims due deliveries, sends them through lettre, and
//! records the outcome. Deliveries are written with their circular in one
//! transaction, so nothing acknowledged is lost; a claim is a lease, so a
//! delivery is sent by one worker at a time, across instances.
//!
//! A crash after the SMTP server accepted a message but before `sent` was
//! recorded would send it again once the lease runs out; every delivery
//! keeps one Message-ID, so receiving systems can tell the copy.

use std::time::Duration;

use chrono::{NaiveDateTime, TimeDelta};
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::app::Ctx;
use crate::db::circulars::{self as store, Claimed};
use crate::db::{self};
use crate::error::AppError;

/// How many deliveries one claim takes.
pub const BATCH: i64 = 20;
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(3600);

/// Where mail goes.
#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// No SMTP server configured: messages are written as .eml files.
    Files(AsyncFileTransport<Tokio1Executor>, std::path::PathBuf),
}

impl Transport {
    pub fn from_settings(ctx: &Ctx) -> anyhow::Result<Transport> {
        match &ctx.settings.mail.smtp_url {
            Some(url) => {
                let t = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| anyhow::anyhow!("invalid BAYIGE_SMTP_URL {url:?}: {e}"))?
                    .timeout(Some(Duration::from_secs(30)))
                    .build();
                Ok(Transport::Smtp(t))
            }
            None => {
                let dir = ctx.settings.data_dir.join("outbox");
                std::fs::create_dir_all(&dir)
                    .map_err(|e| anyhow::anyhow!("cannot create the outbox folder {}: {e}", dir.display()))?;
                tracing::warn!(
                    folder = %dir.display(),
                    "BAYIGE_SMTP_URL is not set: circular emails are NOT sent, they are written as .eml files into {}",
                    dir.display()
                );
                Ok(Transport::Files(AsyncFileTransport::new(&dir), dir))
            }
        }
    }
}

enum Outcome {
    Sent(String),
    Retry(String),
    Failed(String),
}

fn message_id(c: &Claimed, from: &Mailbox) -> String {
    format!(
        "<circular-{}.delivery-{}@{}>",
        c.delivery.circular_id,
        c.delivery.id,
        from.email.domain()
    )
}

fn build(c: &Claimed, from: &Mailbox) -> Result<Message, String> {
    let to_addr = c
        .delivery
        .recipient_email
        .parse()
        .map_err(|e| format!("invalid address {:?}: {e}", c.delivery.recipient_email))?;
    let to = Mailbox::new(Some(c.delivery.recipient_name.clone()), to_addr);
    let csv_type = ContentType::parse("text/csv; charset=utf-8").map_err(|e| e.to_string())?;
    let attachment =
        Attachment::new(format!("{}进度表.csv", c.number)).body(c.attachment_csv.clone().into_bytes(), csv_type);
    Message::builder()
        .from(from.clone())
        .to(to)
        .subject(c.rendition.subject.clone())
        .message_id(Some(message_id(c, from)))
        .date_now()
        .multipart(
            MultiPart::mixed()
                .multipart(MultiPart::alternative_plain_html(
                    c.rendition.body_text.clone(),
                    c.rendition.body_html.clone(),
                ))
                .singlepart(attachment),
        )
        .map_err(|e| format!("cannot build the message: {e}"))
}

async fn send(transport: &Transport, c: &Claimed, from: &Mailbox) -> Outcome {
    let msg = match build(c, from) {
        Ok(m) => m,
        Err(e) => return Outcome::Failed(e),
    };
    match transport {
        Transport::Smtp(t) => match t.send(msg).await {
            Ok(_) => Outcome::Sent(message_id(c, from)),
            Err(e) if e.is_permanent() => Outcome::Failed(format!("SMTP rejected the message: {e}")),
            Err(e) => Outcome::Retry(format!("SMTP: {e}")),
        },
        Transport::Files(t, dir) => match t.send(msg).await {
            Ok(id) => Outcome::Sent(format!("{} ({}/{id}.eml)", message_id(c, from), dir.display())),
            Err(e) => Outcome::Retry(format!("cannot write the .eml file: {e}")),
        },
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

/// Claims one batch and sends it. Returns how many deliveries were handled.
pub async fn run_once(ctx: &Ctx, transport: &Transport) -> Result<usize, AppError> {
    let claimed = ctx
        .run(|conn, ctx| {
            let now = db::now();
            db::write_tx(conn, |conn| {
                Ok::<_, AppError>(store::claim(conn, now, now + delta(ctx.settings.mail.lease), BATCH)?)
            })
        })
        .await?;
    let from: Mailbox = ctx
        .settings
        .mail
        .from
        .parse()
        .map_err(|e| AppError::internal("BAYIGE_MAIL_FROM is invalid", anyhow::anyhow!("{e}")))?;
    let n = claimed.len();
    for c in claimed {
        let outcome = send(transport, &c, &from).await;
        let id = c.delivery.id;
        let claim: NaiveDateTime = c.delivery.claimed_until.unwrap_or_else(db::now);
        let attempts = c.delivery.attempts;
        let max = ctx.settings.mail.max_attempts;
        let base = ctx.settings.mail.retry_base;
        let recorded = ctx
            .run(move |conn, _| {
                let now = db::now();
                let n = match &outcome {
                    Outcome::Sent(mid) => {
                        tracing::info!(delivery_id = id, message_id = %mid, "circular email sent");
                        store::mark_sent(conn, id, claim, mid, now)?
                    }
                    Outcome::Retry(err) if attempts < max => {
                        let next = now + delta(backoff(base, attempts));
                        tracing::warn!(delivery_id = id, attempts, error = %err, %next, "circular email not sent; will retry");
                        store::mark_failed(conn, id, claim, err, Some(next), now)?
                    }
                    Outcome::Retry(err) | Outcome::Failed(err) => {
                        tracing::error!(delivery_id = id, attempts, error = %err, "circular email failed for good");
                        store::mark_failed(conn, id, claim, err, None, now)?
                    }
                };
                if n == 0 {
                    tracing::warn!(delivery_id = id, "delivery claim expired before its outcome was recorded");
                }
                Ok(())
            })
            .await;
        if let Err(e) = recorded {
            tracing::error!(delivery_id = id, error = %e, "cannot record a delivery outcome");
        }
    }
    Ok(n)
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
}
