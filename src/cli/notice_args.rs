//! Options and the command of the notice scheduler (guidance reminders and
//! weekly digests). Every option is optional, so that settings built in
//! code (`Default`) get the documented defaults.

use std::time::Duration;

use anyhow::Result;
use chrono::NaiveDate;
use clap::{Args, Subcommand};

use crate::app::Ctx;
use crate::app::notices::{self, NoticeSettings};
use crate::domain::notices::parse_weekday;

#[derive(Debug, Args, Clone, Default)]
pub struct NoticeArgs {
    /// The service's address as users reach it, for links in emails
    /// (default http://127.0.0.1:8080).
    #[arg(long, global = true, env = "BAYIGE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Remind a station's liaison this many days before a guidance deadline (default 3).
    #[arg(long, global = true, env = "BAYIGE_REMINDER_DAYS")]
    pub reminder_days: Option<u32>,
    /// The weekly digest's day: 1-7 (Monday = 1) or mon..sun (default 1).
    #[arg(long, global = true, env = "BAYIGE_DIGEST_DAY")]
    pub digest_day: Option<String>,
    /// The weekly digest's hour, local time, 0-23 (default 8).
    #[arg(long, global = true, env = "BAYIGE_DIGEST_HOUR")]
    pub digest_hour: Option<u32>,
    /// A built station not visited for this many days is due for a visit (default 180).
    #[arg(long, global = true, env = "BAYIGE_VISIT_INTERVAL_DAYS")]
    pub visit_interval_days: Option<u32>,
    /// Send a digest to someone with nothing to report (default false).
    #[arg(long, global = true, env = "BAYIGE_DIGEST_WHEN_EMPTY")]
    pub digest_when_empty: Option<bool>,
    /// A notice missed while the service was down is still sent this many days late (default 6).
    #[arg(long, global = true, env = "BAYIGE_NOTICE_CATCH_UP_DAYS")]
    pub notice_catch_up_days: Option<u32>,
    /// `serve` runs the notice scheduler by itself (default true).
    #[arg(long, global = true, env = "BAYIGE_NOTICES")]
    pub notices: Option<bool>,
    /// How often `serve` runs the notice scheduler, in seconds (default 300).
    #[arg(long, global = true, env = "BAYIGE_NOTICE_EVERY_SECS")]
    pub notice_every_secs: Option<u64>,
}

impl NoticeArgs {
    /// The settings these options ask for; a bad value names its variable.
    pub fn settings(&self) -> Result<NoticeSettings> {
        let public_url = self
            .public_url
            .clone()
            .unwrap_or_else(|| "http://127.0.0.1:8080".to_owned());
        if !(public_url.starts_with("http://") || public_url.starts_with("https://"))
            || public_url
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || c == '>')
        {
            anyhow::bail!("BAYIGE_PUBLIC_URL must be an http:// or https:// address, not {public_url:?}");
        }
        let day = self.digest_day.as_deref().unwrap_or("1");
        let digest_weekday = parse_weekday(day)
            .ok_or_else(|| anyhow::anyhow!("BAYIGE_DIGEST_DAY must be 1-7 or mon..sun, not {day:?}"))?;
        let digest_hour = self.digest_hour.unwrap_or(8);
        if digest_hour > 23 {
            anyhow::bail!("BAYIGE_DIGEST_HOUR must be from 0 to 23, not {digest_hour}");
        }
        let reminder_days = self.reminder_days.unwrap_or(3);
        if !(1..=60).contains(&reminder_days) {
            anyhow::bail!("BAYIGE_REMINDER_DAYS must be from 1 to 60, not {reminder_days}");
        }
        let catch_up_days = self.notice_catch_up_days.unwrap_or(6);
        if catch_up_days > 60 {
            anyhow::bail!("BAYIGE_NOTICE_CATCH_UP_DAYS must be at most 60, not {catch_up_days}");
        }
        Ok(NoticeSettings {
            public_url,
            reminder_days,
            digest_weekday,
            digest_hour,
            visit_interval_days: self.visit_interval_days.unwrap_or(180).max(1),
            digest_when_empty: self.digest_when_empty.unwrap_or(false),
            catch_up_days,
            scheduler: self.notices.unwrap_or(true),
            every: Duration::from_secs(self.notice_every_secs.unwrap_or(300).max(1)),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum NoticesAction {
    /// Run the scheduler once (reminders, overdue notices, the weekly
    /// digest due), send what can be sent now, and exit: for cron and tests.
    Run {
        /// The day to run for (YYYY-MM-DD); default: today (or --today).
        #[arg(long)]
        as_of: Option<NaiveDate>,
    },
}

pub async fn run(ctx: Ctx, action: NoticesAction) -> Result<()> {
    match action {
        NoticesAction::Run { as_of } => {
            let report = notices::run_once(&ctx, as_of).await?;
            let sent = crate::app::outbox::run_pending(&ctx).await?;
            println!(
                "notices as of {}: {} reminder(s), {} overdue notice(s), {} digest(s) queued{}; {sent} email(s) handled",
                report.as_of.map(|d| d.to_string()).unwrap_or_default(),
                report.reminders,
                report.overdue,
                report.digests,
                report
                    .digest_period
                    .map(|d| format!(" (digest of {d})"))
                    .unwrap_or_default(),
            );
        }
    }
    Ok(())
}
