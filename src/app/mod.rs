//! Use cases: one function per user action. Each takes a connection, owns
//! its transaction, applies the domain rules and returns what the user sees.

pub mod audit;
pub mod burnup;
pub mod circulars;
pub mod demo;
mod demo_disputes;
mod demo_hosts;
pub mod disputes;
pub mod evidence;
pub mod exports;
pub mod field_home;
pub mod guidance;
pub mod notices;
pub mod outbox;
pub mod progress;
pub mod progress_sheet;
pub mod review;
pub mod schedule;
pub mod serials;
pub mod spool;
pub mod staging;
pub mod stations;
pub mod units;
pub mod users;
pub mod visits;

use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use chrono_tz::Tz;

use crate::db::{Backend, DbConnection, Pool};
use crate::error::{AppError, FieldErrors};
pub use crate::mail::MailSettings;
use crate::standard::Registry;

/// What every request needs: the pool, the checklists and the settings.
#[derive(Clone)]
pub struct Ctx {
    pub pool: Pool,
    pub backend: Backend,
    /// Where writes that go through group commit are sent (SQLite's one
    /// writer; nothing on PostgreSQL).
    pub writer: crate::db::Writer,
    pub standards: Arc<Registry>,
    pub tz: Tz,
    pub settings: Settings,
    /// Wakes the outbox worker of this instance when deliveries are queued.
    pub outbox: Arc<tokio::sync::Notify>,
    /// Set to true to stop this instance's background tasks.
    pub stop: Arc<tokio::sync::watch::Sender<bool>>,
    /// Progress computed in the last few seconds (a cache only).
    pub progress_cache: Arc<progress::ProgressCache>,
    /// The faces documents are set in; None when PDF output is off.
    pub fonts: Option<Arc<crate::documents::FontSet>>,
    /// Failed sign-in counters (per account and client address).
    pub sign_in: Arc<users::Throttle>,
}

/// Tunable rules and places.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Days a failed item is given to be fixed when the inspector sets no
    /// due date.
    pub guidance_due_days: u32,
    /// Where evidence files are kept (by SHA-256).
    pub data_dir: PathBuf,
    /// The largest evidence file accepted, in bytes.
    pub evidence_max_bytes: usize,
    /// Pins "today" (demonstrations and tests); the real date when None.
    pub today: Option<NaiveDate>,
    pub circular: CircularSettings,
    pub mail: MailSettings,
    /// Mark the session cookie Secure (HTTPS only).
    pub cookie_secure: bool,
    /// How long computed progress may be reused (zero: never).
    pub progress_cache: std::time::Duration,
    /// How long a client may take to send a request's head, and its body;
    /// slower clients get 408 and their connection is closed.
    pub request_timeout: std::time::Duration,
    /// Render circulars and notices as PDF (fonts are loaded at start-up).
    pub pdf: bool,
    /// PDF output was asked for (`--pdf true` or a font folder): missing
    /// fonts stop the service. Otherwise they turn PDF output off, loudly.
    pub pdf_required: bool,
    /// Where fonts are looked for (None: the Debian font folders).
    pub font_dir: Option<PathBuf>,
    /// Who issues a unit's 整改通知书.
    pub notice_issuers: crate::domain::issuers::NoticeIssuers,
    /// Guidance notices, reminders and digests.
    pub notices: notices::NoticeSettings,
    /// The dispute ledger's deadlines and retention.
    pub disputes: disputes::DisputeSettings,
}

#[derive(Debug, Clone)]
pub struct CircularSettings {
    /// Agency code of the document number, e.g. 白市工商通.
    pub prefix: String,
    /// Who signs the circular, e.g. 白山市工商行政管理局.
    pub issuer: String,
    /// 发文机关标志, e.g. 白山市工商行政管理局文件.
    pub mark: String,
    pub title: String,
    /// 主送机关.
    pub addressees: String,
    /// 印发机关 (版记).
    pub printed_by: String,
    /// The city's copy list: (name, email).
    pub cc: Vec<(String, String)>,
    /// A unit lags when its rate is below 序时进度 minus this.
    pub lag_tolerance: f64,
    /// Issue one circular a month on this day (None: off).
    pub monthly_day: Option<u32>,
}

impl CircularSettings {
    /// The letterhead the circular's documents carry.
    pub fn letterhead(&self) -> crate::mail::Letterhead {
        crate::mail::Letterhead {
            mark: self.mark.clone(),
            issuer: self.issuer.clone(),
            title: self.title.clone(),
            addressees: self.addressees.clone(),
            cc: self.cc.iter().map(|(name, _)| name.clone()).collect(),
            printed_by: self.printed_by.clone(),
        }
    }
}

impl Ctx {
    /// Asks the background tasks (outbox worker, schedule) to stop.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }

    /// Today's date where the bureau works.
    pub fn today(&self) -> NaiveDate {
        self.settings
            .today
            .unwrap_or_else(|| chrono::Utc::now().with_timezone(&self.tz).date_naive())
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
            let mut conn = crate::db::checkout(&ctx.pool)?;
            let result = f(&mut conn, &ctx);
            if matches!(result, Err(AppError::Unavailable(_) | AppError::Internal(_))) {
                crate::db::suspect_connection();
            }
            result
        })
        .await
        .map_err(|e| AppError::internal("blocking task was cancelled", anyhow::anyhow!(e.to_string())))?
    }
}

/// Trims a text field (white space and invisible characters such as
/// zero-width spaces); a value with nothing visible counts as absent.
pub(crate) fn clean(s: Option<String>) -> Option<String> {
    s.map(|v| crate::domain::text::trim_invisible(&v).to_owned())
        .filter(|v| !v.is_empty())
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// How many match; null on keyset pages (`after`), which do not count
    /// again what the first page counted.
    pub total: Option<i64>,
    /// False when `total` is a lower bound (a very long list is not counted
    /// to the end) or absent.
    pub total_exact: bool,
    pub page: i64,
    pub per_page: i64,
    /// Keyset cursor for the next page (`?after=`), where the list offers
    /// one (the station list); null on the last page.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_after: Option<i32>,
}

pub const MAX_PER_PAGE: i64 = 100;
pub const DEFAULT_PER_PAGE: i64 = 20;

/// A query parameter that must not be blank when given: `?unit_id=` is an
/// error naming the parameter, not "any unit".
pub(crate) fn query_param(errors: &mut FieldErrors, field: &str, value: Option<String>) -> Option<String> {
    let v = value?;
    let v = v.trim();
    if v.is_empty() {
        errors.add(field, "不能为空；不按此条件筛选时请省略该参数");
        return None;
    }
    Some(v.to_owned())
}

/// Parses an optional whole-number query parameter within `range`.
pub(crate) fn int_param(
    errors: &mut FieldErrors,
    field: &str,
    value: Option<String>,
    range: std::ops::RangeInclusive<i64>,
) -> Option<i64> {
    let v = query_param(errors, field, value)?;
    match v.parse::<i64>() {
        Ok(n) if range.contains(&n) => Some(n),
        _ => {
            errors.add(field, format!("应为{}至{}之间的整数", range.start(), range.end()));
            None
        }
    }
}

/// Page number and size from the query, with the defaults and the cap.
pub(crate) fn paging(errors: &mut FieldErrors, page: Option<String>, per_page: Option<String>) -> (i64, i64) {
    let page = int_param(errors, "page", page, 1..=1_000_000).unwrap_or(1);
    let per_page = int_param(errors, "per_page", per_page, 1..=MAX_PER_PAGE).unwrap_or(DEFAULT_PER_PAGE);
    (page, per_page)
}
