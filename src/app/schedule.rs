//! The monthly circular: on or after the configured day of each month, one
//! circular for the current year as of today, once per month (the period is
//! stored with the circular and unique, so restarts and a second instance do
//! not issue another).

use chrono::{Datelike, NaiveDate};

use super::Ctx;
use super::circulars::{self, IssueOptions};
use super::progress::Period;
use crate::auth::Principal;
use crate::db::DbConnection;
use crate::db::progress as progress_store;
use crate::error::{AppError, FieldErrors};

/// Parses `monthly:DAY` (DAY 1..=28, so that every month has it).
pub fn parse(spec: &str) -> Result<u32, String> {
    let day = spec
        .strip_prefix("monthly:")
        .and_then(|d| d.parse::<u32>().ok())
        .filter(|d| (1..=28).contains(d));
    day.ok_or_else(|| format!("invalid circular schedule {spec:?}: use monthly:DAY with DAY from 1 to 28"))
}

/// The period due today, if any: `monthly:YYYY-MM` once the day has come.
pub fn due_period(today: NaiveDate, day: u32) -> Option<String> {
    (today.day() >= day).then(|| format!("monthly:{:04}-{:02}", today.year(), today.month()))
}

/// Issues this month's circular if it is due and not issued yet.
pub fn run_once(conn: &mut DbConnection, ctx: &Ctx) -> Result<Option<String>, AppError> {
    let Some(day) = ctx.settings.circular.monthly_day else {
        return Ok(None);
    };
    let today = ctx.today();
    let Some(period) = due_period(today, day) else {
        return Ok(None);
    };
    if crate::db::circulars::by_period(conn, &period)?.is_some() {
        return Ok(None);
    }
    if !progress_store::year_has_plans(conn, today.year())? {
        // Reported by `run`, once per period.
        return Err(FieldErrors::single(
            "year",
            format!("{}年度尚未下达建站计划，本月通报未印发", today.year()),
        ));
    }
    let (c, created) = circulars::issue(
        conn,
        ctx,
        &Principal::system("schedule"),
        Period {
            year: Some(today.year()),
            as_of: Some(today),
        },
        IssueOptions {
            issued_by: "schedule".into(),
            idempotency_key: None,
            schedule_period: Some(period.clone()),
            allow_same_as_of: true,
            expected_number: None,
        },
    )?;
    if created {
        tracing::info!(%period, number = %c.summary.number, "scheduled circular issued");
    }
    Ok(created.then_some(c.summary.number))
}

/// Checks at start-up and then every `every`.
pub async fn run(ctx: Ctx, every: std::time::Duration) {
    let mut warned_period: Option<String> = None;
    let mut stop = ctx.stop.subscribe();
    while !*stop.borrow() {
        match ctx.run(run_once).await {
            Ok(_) => warned_period = None,
            Err(e) => {
                let period = ctx
                    .settings
                    .circular
                    .monthly_day
                    .and_then(|d| due_period(ctx.today(), d));
                if warned_period != period {
                    if matches!(e, AppError::Validation(_)) {
                        tracing::warn!(error = ?e, ?period, "scheduled circular skipped this month");
                    } else {
                        tracing::error!(error = %e, "scheduled circular could not be issued; will try again");
                    }
                    warned_period = period;
                }
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monthly_periods() {
        assert_eq!(parse("monthly:14"), Ok(14));
        assert!(parse("monthly:31").is_err() && parse("weekly:1").is_err() && parse("monthly:").is_err());
        let d = |m, day| NaiveDate::from_ymd_opt(2017, m, day).expect("date");
        assert_eq!(due_period(d(8, 13), 14), None);
        assert_eq!(due_period(d(8, 14), 14).as_deref(), Some("monthly:2017-08"));
        assert_eq!(
            due_period(d(8, 30), 14).as_deref(),
            Some("monthly:2017-08"),
            "a missed day is caught up"
        );
    }
}
