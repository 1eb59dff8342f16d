//! The command line: every option is also an environment variable, so the
//! same binary is configured the same way everywhere.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "bayige", version, about = "12315 消费维权服务站“八个一”检查与通报服务")]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct Common {
    /// Database URL: sqlite://PATH (embedded, the default) or postgres://...
    #[arg(
        long,
        global = true,
        env = "BAYIGE_DATABASE_URL",
        hide_env_values = true,
        default_value = "sqlite://bayige.db"
    )]
    pub database_url: String,
    /// A folder of extra checklist files (*.toml), added to the built-in ones.
    #[arg(long, global = true, env = "BAYIGE_CHECKLISTS")]
    pub checklists: Option<PathBuf>,
    /// The time zone that decides what "today" is.
    #[arg(long, global = true, env = "BAYIGE_TIMEZONE", default_value = "Asia/Shanghai")]
    pub timezone: String,
    /// Pin "today" to a date (YYYY-MM-DD), for demonstrations and tests.
    #[arg(long, global = true, env = "BAYIGE_TODAY")]
    pub today: Option<NaiveDate>,
    /// Folder for evidence files (and .eml files when no SMTP server is set).
    #[arg(long, global = true, env = "BAYIGE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Days given to fix a failed item when the inspector sets no due date.
    #[arg(long, global = true, env = "BAYIGE_GUIDANCE_DUE_DAYS", default_value_t = 15)]
    pub guidance_due_days: u32,
    /// The largest evidence upload, in bytes.
    #[arg(long, global = true, env = "BAYIGE_EVIDENCE_MAX_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub evidence_max_bytes: usize,
    /// Agency code of circular numbers (白市工商通 with the demo data).
    #[arg(long, global = true, env = "BAYIGE_CIRCULAR_PREFIX")]
    pub circular_prefix: Option<String>,
    /// Who signs circulars (白山市工商行政管理局 with the demo data).
    #[arg(long, global = true, env = "BAYIGE_CIRCULAR_ISSUER")]
    pub circular_issuer: Option<String>,
    /// The city's copy list: comma-separated `Name <email>` or `email`.
    #[arg(long, global = true, env = "BAYIGE_CIRCULAR_CC")]
    pub circular_cc: Option<String>,
    /// A unit lags when its rate is below 序时进度 minus this (0 to 1).
    #[arg(long, global = true, env = "BAYIGE_LAG_TOLERANCE", default_value_t = 0.0)]
    pub lag_tolerance: f64,
    /// Issue a circular every month: `monthly:DAY` (on with --demo: monthly:14).
    #[arg(long, global = true, env = "BAYIGE_CIRCULAR_SCHEDULE")]
    pub circular_schedule: Option<String>,
    /// SMTP server: smtp://HOST:PORT, smtp://HOST:PORT?tls=required or
    /// smtps://USER:PASS@HOST. Without it, emails are written as .eml files.
    #[arg(long, global = true, env = "BAYIGE_SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// The From mailbox of circular emails.
    #[arg(
        long,
        global = true,
        env = "BAYIGE_MAIL_FROM",
        default_value = "bayige <noreply@localhost>"
    )]
    pub mail_from: String,
    /// Attempts per delivery before it is marked failed.
    #[arg(long, global = true, env = "BAYIGE_MAIL_MAX_ATTEMPTS", default_value_t = 8)]
    pub mail_max_attempts: i32,
    /// Wait before the first retry, in milliseconds; doubled each time.
    #[arg(long, global = true, env = "BAYIGE_MAIL_RETRY_BASE_MS", default_value_t = 30_000)]
    pub mail_retry_base_ms: u64,
    /// Mark the session cookie Secure (sent over HTTPS only). Default: on,
    /// except when serving on a loopback address (local demo).
    #[arg(long, global = true, env = "BAYIGE_COOKIE_SECURE")]
    pub cookie_secure: Option<bool>,
    /// How long computed progress (dashboard, progress page) may be reused,
    /// in milliseconds; 0 computes it on every request.
    #[arg(long, global = true, env = "BAYIGE_PROGRESS_CACHE_MS", default_value_t = 5_000)]
    pub progress_cache_ms: u64,
    /// How often the outbox worker looks for due deliveries, in milliseconds.
    #[arg(long, global = true, env = "BAYIGE_MAIL_POLL_MS", default_value_t = 5_000)]
    pub mail_poll_ms: u64,
    /// How long a worker's claim on a batch of deliveries holds, in seconds;
    /// after a crash, what it had claimed is sent once this has passed. Must
    /// exceed the time one batch can take (20 messages, 30 s SMTP timeout).
    #[arg(long, global = true, env = "BAYIGE_MAIL_LEASE_SECS", default_value_t = 300)]
    pub mail_lease_secs: u64,
    /// How long a client may take to send the head of a request, and how
    /// long its body may stall, in seconds: a body that keeps arriving (at
    /// least 512 bytes a second on average) may take longer, as photos over
    /// a weak mobile signal do.
    #[arg(long, global = true, env = "BAYIGE_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    pub request_timeout_secs: u64,
    #[command(flatten)]
    pub documents: DocumentArgs,
    #[command(flatten)]
    pub notices: super::notice_args::NoticeArgs,
    #[command(flatten)]
    pub disputes: DisputeArgs,
}

/// The dispute ledger's deadlines (in working days) and how long consumers'
/// names and phones are kept.
#[derive(Debug, Args, Clone)]
pub struct DisputeArgs {
    /// Working days a station has to answer a consumer.
    #[arg(long, global = true, env = "BAYIGE_DISPUTE_RESPOND_DAYS", default_value_t = 1)]
    pub dispute_respond_days: u32,
    /// Working days a station has to close a case.
    #[arg(long, global = true, env = "BAYIGE_DISPUTE_CLOSE_DAYS", default_value_t = 7)]
    pub dispute_close_days: u32,
    /// Years after a case is closed that consumers' names and phones are
    /// kept; then they are erased (the case and its figures stay).
    #[arg(long, global = true, env = "BAYIGE_DISPUTE_RETENTION_YEARS", default_value_t = 3)]
    pub dispute_retention_years: u32,
    /// A folder of extra holiday notices (`*.toml`, one per year, in the
    /// format of `src/domain/workdays/`), e.g. next year's as soon as the
    /// State Council publishes it; added to the notices built in.
    #[arg(long, global = true, env = "BAYIGE_HOLIDAY_DIR")]
    pub holiday_dir: Option<std::path::PathBuf>,
}

impl Default for DisputeArgs {
    fn default() -> Self {
        let d = crate::app::disputes::DisputeSettings::default();
        DisputeArgs {
            dispute_respond_days: d.respond_days,
            dispute_close_days: d.close_days,
            dispute_retention_years: d.retention_years,
            holiday_dir: None,
        }
    }
}

/// How the circular reads as an official document (GB/T 9704) and whether
/// it is rendered as PDF.
#[derive(Debug, Args, Clone, Default)]
pub struct DocumentArgs {
    /// Render circulars (and rectification notices) as PDF. Unset: on when
    /// the fonts are found, else off with a warning; `true`: missing fonts
    /// stop the service at start-up; `false`: off.
    #[arg(long, global = true, env = "BAYIGE_PDF")]
    pub pdf: Option<bool>,
    /// A folder of fonts (searched recursively) instead of the Debian font
    /// folders; the Fandol fonts of texlive-lang-chinese are the first choice.
    #[arg(long, global = true, env = "BAYIGE_FONT_DIR")]
    pub font_dir: Option<PathBuf>,
    /// 发文机关标志 (default: the issuer's name + 文件).
    #[arg(long, global = true, env = "BAYIGE_CIRCULAR_MARK")]
    pub circular_mark: Option<String>,
    /// The circular's title.
    #[arg(long, global = true, env = "BAYIGE_CIRCULAR_TITLE")]
    pub circular_title: Option<String>,
    /// 主送机关 of the circular.
    #[arg(long, global = true, env = "BAYIGE_CIRCULAR_ADDRESSEES")]
    pub circular_addressees: Option<String>,
    /// 印发机关 in the 版记 (default: the issuer's 办公室).
    #[arg(long, global = true, env = "BAYIGE_CIRCULAR_PRINTED_BY")]
    pub circular_printed_by: Option<String>,
    /// Who issues the 整改通知书 of a county or county-level city's
    /// stations; `{unit}` is the unit's name, `{unit_short}` the name
    /// without its last character (default: {unit}市场监督管理局).
    #[arg(long, global = true, env = "BAYIGE_NOTICE_ISSUER_COUNTY")]
    pub notice_issuer_county: Option<String>,
    /// The same for a city district's stations (default:
    /// {unit}市场监督管理局; the demo: 白山市工商行政管理局{unit_short}分局).
    #[arg(long, global = true, env = "BAYIGE_NOTICE_ISSUER_DISTRICT")]
    pub notice_issuer_district: Option<String>,
    /// The same for a directly-run branch's stations (default: the circular's issuer).
    #[arg(long, global = true, env = "BAYIGE_NOTICE_ISSUER_BRANCH")]
    pub notice_issuer_branch: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (and its outbox worker and circular schedule).
    Serve {
        /// Address to listen on.
        #[arg(long, env = "BAYIGE_BIND", default_value = "127.0.0.1:8080")]
        bind: String,
        /// Load the Baishan demo data set first (once; later starts keep it).
        #[arg(long, env = "BAYIGE_DEMO")]
        demo: bool,
        /// Size of the database connection pool.
        #[arg(long, env = "BAYIGE_DB_POOL", default_value_t = 8)]
        pool_size: u32,
        /// HTTP worker threads (default: one per core).
        #[arg(long, env = "BAYIGE_WORKERS")]
        workers: Option<usize>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Load the Baishan demo data set into the database and exit.
    Demo,
    /// Guidance reminders and weekly digests.
    Notices {
        #[command(subcommand)]
        action: super::notice_args::NoticesAction,
    },
    /// Preview or issue a progress circular (通报).
    Circular {
        #[command(subcommand)]
        action: CircularAction,
    },
    /// Import a spreadsheet (all or nothing, in one transaction).
    Import {
        #[command(subcommand)]
        what: ImportWhat,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
    },
    /// The dispute ledger (台账).
    Disputes {
        #[command(subcommand)]
        action: DisputeAction,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Write a consistent snapshot of the SQLite database and its evidence
    /// files to one archive, while the service keeps running.
    Backup {
        /// The archive to write (a new file).
        #[arg(long)]
        to: std::path::PathBuf,
    },
    /// Restore an archive written by `backup` (checked before anything is
    /// replaced), then apply pending migrations.
    Restore {
        #[arg(long)]
        from: std::path::PathBuf,
        /// Replace an existing database (stop the service first).
        #[arg(long)]
        force: bool,
    },
    /// Write a deterministic synthetic data set (for load tests) into the
    /// database: units with plans for this year, stations, visits, guidance.
    Generate {
        #[arg(long, default_value_t = 100)]
        units: u32,
        #[arg(long, default_value_t = 10_000)]
        stations: u64,
        #[arg(long, default_value_t = 3)]
        visits_per_station: u32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Stations per transaction.
        #[arg(long, default_value_t = 50_000)]
        batch: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum ImportWhat {
    /// The station register (名录), XLSX or CSV with the export's columns:
    /// rows matched by credit code, else by unit and name.
    Stations {
        file: PathBuf,
        /// Check every row and report what would change, writing nothing.
        #[arg(long)]
        dry_run: bool,
        /// The most data rows a file may hold (the web form's limit is
        /// 20,000; an operator may allow a province's register here).
        #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u32).range(1..=1_048_575))]
        max_rows: u32,
    },
}

#[derive(Debug, Subcommand)]
pub enum UserAction {
    /// Create an account; the password is read from standard input.
    Add {
        #[arg(long)]
        username: String,
        /// admin, inspector, county_lead, viewer or station.
        #[arg(long)]
        role: String,
        /// The station a `station` account is bound to (its id).
        #[arg(long)]
        station: Option<i32>,
        /// A unit code the user acts in (repeat for several).
        #[arg(long = "unit")]
        units: Vec<String>,
        #[arg(long)]
        email: Option<String>,
        #[arg(long)]
        name: Option<String>,
        /// Read the password from standard input (first line).
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Disable an account (it can no longer sign in or use its tokens).
    Disable { username: String },
}

#[derive(Debug, Subcommand)]
pub enum DisputeAction {
    /// Erase consumers' names and phones of cases closed longer ago than
    /// the retention period (the service also does this every hour).
    EraseExpired,
    /// List the years whose holiday notice is known (built in or from
    /// `--holiday-dir`), with each notice's title and number.
    Holidays,
}

#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create an API token for a user and print it (shown once).
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum CircularAction {
    /// Print the circular as it would be issued now.
    Preview(PeriodArgs),
    /// Issue the circular, queue its emails and send what can be sent now.
    Issue(PeriodArgs),
    /// Set the next serial of 发文字号 for a year, as the bureau's 收发文
    /// register gives it (later numbers follow on from it, without gaps).
    SetSerial {
        #[arg(long)]
        year: i32,
        #[arg(long)]
        next: i32,
    },
}

#[derive(Debug, Args)]
pub struct PeriodArgs {
    #[arg(long)]
    pub year: Option<i32>,
    #[arg(long)]
    pub as_of: Option<NaiveDate>,
}

impl Cli {
    /// Parses arguments given as a list (for benchmarks and tools).
    pub fn parse_from_args(args: &[&str]) -> Cli {
        Cli::parse_from(args)
    }
}
