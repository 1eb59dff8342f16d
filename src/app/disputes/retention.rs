//! Erasing consumers' names and phones once the retention period after a
//! case was closed has passed (个人信息保护法: kept no longer than needed).
//! The case stays, with its figures.

use chrono::Months;

use crate::app::Ctx;
use crate::app::audit;
use crate::auth::Principal;
use crate::db::disputes as store;
use crate::db::{self, DbConnection};
use crate::error::AppError;

/// Erases the names and phones of cases closed more than the retention
/// period before today; returns how many cases were erased. One
/// transaction with its audit entry (which holds counts, never values).
pub fn erase_expired(conn: &mut DbConnection, ctx: &Ctx, p: &Principal) -> Result<usize, AppError> {
    let years = ctx.settings.disputes.retention_years;
    let today = ctx.today();
    let Some(cutoff) = today.checked_sub_months(Months::new(12 * years)) else {
        return Ok(0);
    };
    if !store::any_erasable(conn, cutoff)? {
        return Ok(0);
    }
    db::write_tx(conn, |conn| {
        let n = store::erase_personal_before(conn, cutoff, db::now())?;
        if n > 0 {
            let after = serde_json::json!({"cases": n, "closed_before": cutoff, "retention_years": years});
            audit::record(conn, p, "dispute.erase_personal", "dispute", "*", None, Some(after))?;
            tracing::info!(cases = n, %cutoff, "consumers' names and phones erased after the retention period");
        }
        Ok(n)
    })
}

/// Runs [`erase_expired`] at start-up and then every `every`.
pub async fn run_retention(ctx: Ctx, every: std::time::Duration) {
    let mut stop = ctx.stop.subscribe();
    while !*stop.borrow() {
        let result = ctx
            .run(|conn, ctx| erase_expired(conn, ctx, &Principal::system("retention")))
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "erasing expired personal information failed; will try again");
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => {}
        }
    }
}
