//! Automated notices beyond circulars, all through the one outbox: the
//! guidance notice a visit sends to the station ([`guidance_notice`]), the
//! scheduler's deadline reminders ([`reminders`]) and weekly digests
//! ([`digest`]), users' opt-outs and one-click unsubscribe links
//! ([`optout`]), and the outbox of every kind for administrators
//! ([`deliveries`]).
//!
//! Exactly once: a scheduled notice for a recipient and a period is decided
//! by inserting the unique row (kind, recipient, period key) into
//! `notice_sends`, in the transaction that queues its delivery. A second
//! run, a restart or a second instance finds the row and sends nothing.

pub mod deliveries;
pub mod digest;
pub mod guidance_notice;
pub mod optout;
pub mod reminders;

use chrono::{NaiveDate, NaiveDateTime, Weekday};
use serde::Serialize;

use super::Ctx;
use crate::db::DbConnection;
use crate::db::notices::{self as store, NewNotice, To};
use crate::domain::DeliveryKind;
use crate::error::AppError;

/// When and what the scheduler sends.
#[derive(Debug, Clone)]
pub struct NoticeSettings {
    /// The service's address as users reach it (links in emails).
    pub public_url: String,
    /// Remind the liaison this many days before a guidance deadline.
    pub reminder_days: u32,
    /// The digest's day and hour (local time).
    pub digest_weekday: Weekday,
    pub digest_hour: u32,
    /// A built station with no counted visit for this many days is due for one.
    pub visit_interval_days: u32,
    /// Send a digest with nothing to report.
    pub digest_when_empty: bool,
    /// A period missed (service down) is still sent this many days late.
    pub catch_up_days: u32,
    /// `serve` runs the scheduler by itself (every `every`).
    pub scheduler: bool,
    pub every: std::time::Duration,
}

impl NoticeSettings {
    /// A link to a page of the service.
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.trim_end_matches('/'))
    }
}

/// What one run of the scheduler queued.
#[derive(Debug, Default, Clone, Serialize, PartialEq, Eq)]
pub struct RunReport {
    pub as_of: Option<NaiveDate>,
    /// The digest's period (its date), when one is due.
    pub digest_period: Option<NaiveDate>,
    pub reminders: usize,
    pub overdue: usize,
    pub digests: usize,
}

/// The local time the scheduler runs at: the end of a pinned day (so all
/// of that day's notices are due), else now.
fn now_local(ctx: &Ctx) -> NaiveDateTime {
    match ctx.settings.today {
        Some(d) => d.and_hms_opt(23, 59, 59).unwrap_or_default(),
        None => chrono::Utc::now().with_timezone(&ctx.tz).naive_local(),
    }
}

/// Runs the scheduler once: reminders, overdue notices and the digest due
/// as of `as_of` (default: today, as pinned or the real date). Each
/// recipient's notice is its own transaction.
pub async fn run_once(ctx: &Ctx, as_of: Option<NaiveDate>) -> Result<RunReport, AppError> {
    let mut ctx = ctx.clone();
    if let Some(d) = as_of {
        ctx.settings.today = Some(d);
    }
    let report = ctx
        .run(|conn, ctx| {
            let today = ctx.today();
            let now = now_local(ctx);
            let (reminders, overdue) = reminders::run(conn, ctx, today)?;
            let (digest_period, digests) = digest::run(conn, ctx, now)?;
            Ok(RunReport {
                as_of: Some(today),
                digest_period,
                reminders,
                overdue,
                digests,
            })
        })
        .await?;
    if report.reminders + report.overdue + report.digests > 0 {
        ctx.outbox.notify_one();
    }
    tracing::info!(?report, "notice scheduler ran");
    Ok(report)
}

/// `serve`'s scheduler: runs at start-up and then every `every`, until the
/// context is shut down.
pub async fn run(ctx: Ctx) {
    let every = ctx.settings.notices.every;
    let mut stop = ctx.stop.subscribe();
    while !*stop.borrow() {
        if let Err(e) = run_once(&ctx, None).await {
            tracing::error!(error = %e, "notice scheduler failed; will try again");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}

/// One notice to queue: its kind, content and recipient.
pub(crate) struct Outgoing<'a> {
    pub kind: DeliveryKind,
    pub rendered: &'a crate::mail::Rendered,
    pub attachment: Option<(&'a str, &'a [u8])>,
    pub unsubscribe_url: Option<&'a str>,
    pub to: To<'a>,
    pub reference: &'a str,
}

/// Stores the notice and queues its delivery (in the caller's transaction).
pub(crate) fn queue(conn: &mut DbConnection, out: &Outgoing) -> Result<i32, AppError> {
    let new = NewNotice {
        kind: out.kind,
        subject: &out.rendered.subject,
        body_text: &out.rendered.text,
        body_html: &out.rendered.html,
        attachment_name: out.attachment.map(|(name, _)| name),
        attachment: out.attachment.map(|(_, body)| body),
        unsubscribe_url: out.unsubscribe_url,
        created_at: crate::db::now(),
    };
    Ok(store::queue(conn, &new, &out.to, out.reference)?)
}

/// A checklist item's title for a station's standard (never the code).
pub(crate) fn item_title(ctx: &Ctx, standard_id: &str, code: &str) -> String {
    ctx.standards
        .latest(standard_id)
        .and_then(|s| s.item(code))
        .map_or_else(|| "检查项目".to_owned(), |i| i.title_zh.clone())
}
