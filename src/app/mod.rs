//! Use cases: one function per user action. Each takes a connection, owns
//! its transaction, applies the domain rules and returns what the user sees.

pub mod demo;
pub mod stations;
pub mod units;

use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::db::{Backend, DbConnection, Pool};
use crate::error::AppError;
use crate::standard::Registry;

/// What every request needs: the pool, the checklists and the settings.
#[derive(Clone)]
pub struct Ctx {
    pub pool: Pool,
    pub backend: Backend,
    pub standards: Arc<Registry>,
    pub tz: Tz,
}

impl Ctx {
    /// Today's date where the bureau works.
    pub fn today(&self) -> NaiveDate {
        chrono::Utc::now().with_timezone(&self.tz).date_naive()
    }

    /// Runs blocking database work on the thread pool for blocking calls,
    /// never on the async workers.
    pub async fn run<T, F>(&self, f: F) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection, &Ctx) -> Result<T, AppError> + Send + 'static,
    {
        let ctx = self.clone();
        actix_web::web::block(move || {
            let mut conn = ctx.pool.get()?;
            f(&mut conn, &ctx)
        })
        .await
        .map_err(|e| {
            AppError::internal(
                "blocking task was cancelled",
                anyhow::anyhow!(e.to_string()),
            )
        })?
    }
}

/// Trims a text field; an all-blank value counts as absent.
pub(crate) fn clean(s: Option<String>) -> Option<String> {
    s.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}
