//! Command line and settings. Every setting also comes from an environment
//! variable, so the same binary is configured the same way everywhere.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand};

use crate::app::circulars::{self, IssueOptions};
use crate::app::progress::Period;
use crate::app::{CircularSettings, Ctx, MailSettings, Settings, demo, outbox, schedule};
use crate::auth::Principal;
use crate::domain::circular::valid_prefix;
use crate::mail::Transport;
use crate::{db, http, standard};

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
    #[arg(long, global = true, env = "BAYIGE_SMTP_URL")]
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
    /// How long a client may take to send the head of a request, and then
    /// its body, in seconds (evidence photos come over mobile networks).
    #[arg(long, global = true, env = "BAYIGE_REQUEST_TIMEOUT_SECS", default_value_t = 60)]
    pub request_timeout_secs: u64,
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
    /// Preview or issue a progress circular (通报).
    Circular {
        #[command(subcommand)]
        action: CircularAction,
    },
    /// Manage user accounts.
    User {
        #[command(subcommand)]
        action: UserAction,
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
pub enum UserAction {
    /// Create an account; the password is read from standard input.
    Add {
        #[arg(long)]
        username: String,
        /// admin, inspector, county_lead or viewer.
        #[arg(long)]
        role: String,
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

/// Parses the copy list: `Name <a@b>, c@d`.
pub fn parse_cc(list: &str) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for part in list.split([',', '，', ';']).map(str::trim).filter(|p| !p.is_empty()) {
        let mailbox: lettre::message::Mailbox = part
            .parse()
            .map_err(|e| anyhow::anyhow!("invalid address {part:?} in BAYIGE_CIRCULAR_CC: {e}"))?;
        let name = mailbox.name.clone().unwrap_or_else(|| mailbox.email.to_string());
        out.push((name, mailbox.email.to_string()));
    }
    Ok(out)
}

/// Loads settings that every command needs: checklists, time zone, database.
pub fn context(common: &Common, pool_size: u32) -> Result<Ctx> {
    context_with(common, pool_size, false)
}

fn context_with(common: &Common, pool_size: u32, demo_flag: bool) -> Result<Ctx> {
    context_full(common, pool_size, demo_flag, true)
}

fn context_full(common: &Common, pool_size: u32, demo_flag: bool, cookie_secure_default: bool) -> Result<Ctx> {
    let mut standards = standard::Registry::embedded().context("built-in checklists are invalid")?;
    if let Some(dir) = &common.checklists {
        standards.add_dir(dir)?;
    }
    let tz: chrono_tz::Tz = common
        .timezone
        .parse()
        .map_err(|_| anyhow::anyhow!("unknown time zone {:?} (BAYIGE_TIMEZONE)", common.timezone))?;
    if !(0.0..1.0).contains(&common.lag_tolerance) {
        anyhow::bail!("BAYIGE_LAG_TOLERANCE must be from 0 to 1, not {}", common.lag_tolerance);
    }
    if common.mail_max_attempts < 1 {
        anyhow::bail!("BAYIGE_MAIL_MAX_ATTEMPTS must be at least 1");
    }
    common
        .mail_from
        .parse::<lettre::message::Mailbox>()
        .map_err(|e| anyhow::anyhow!("invalid BAYIGE_MAIL_FROM {:?}: {e}", common.mail_from))?;
    let cc = match &common.circular_cc {
        Some(list) => parse_cc(list)?,
        None => Vec::new(),
    };
    let schedule_spec = common
        .circular_schedule
        .clone()
        .or(demo_flag.then(|| "monthly:14".to_owned()));
    let monthly_day = match schedule_spec.as_deref().filter(|s| !s.is_empty() && *s != "off") {
        Some(spec) => Some(schedule::parse(spec).map_err(|e| anyhow::anyhow!(e))?),
        None => None,
    };
    let (pool, backend) = db::open(&common.database_url, pool_size)?;
    // With the demo data set, circulars read as Baishan's own by default.
    let is_demo = demo_flag || {
        let mut conn = pool.get().context("cannot get a database connection")?;
        demo::loaded(&mut conn).context("cannot read the database")?
    };
    let prefix = common
        .circular_prefix
        .clone()
        .unwrap_or_else(|| if is_demo { "白市工商通" } else { "市监通" }.to_owned());
    if !valid_prefix(&prefix) {
        anyhow::bail!("invalid BAYIGE_CIRCULAR_PREFIX {prefix:?}: 1-20 characters, without brackets or 号");
    }
    let issuer = common.circular_issuer.clone().unwrap_or_else(|| {
        if is_demo {
            "白山市工商行政管理局"
        } else {
            "市场监督管理局"
        }
        .to_owned()
    });
    Ok(Ctx {
        pool,
        backend,
        standards: Arc::new(standards),
        tz,
        settings: Settings {
            guidance_due_days: common.guidance_due_days,
            data_dir: common.data_dir.clone(),
            evidence_max_bytes: common.evidence_max_bytes,
            today: common.today,
            circular: CircularSettings {
                prefix,
                issuer,
                cc,
                lag_tolerance: common.lag_tolerance,
                monthly_day,
            },
            cookie_secure: common.cookie_secure.unwrap_or(cookie_secure_default),
            progress_cache: Duration::from_millis(common.progress_cache_ms),
            request_timeout: Duration::from_secs(common.request_timeout_secs.max(1)),
            mail: MailSettings {
                smtp_url: common.smtp_url.clone().filter(|s| !s.is_empty()),
                from: common.mail_from.clone(),
                max_attempts: common.mail_max_attempts,
                retry_base: Duration::from_millis(common.mail_retry_base_ms),
                poll: Duration::from_millis(common.mail_poll_ms.max(10)),
                lease: Duration::from_secs(common.mail_lease_secs.max(1)),
            },
        },
        outbox: Arc::new(tokio::sync::Notify::new()),
        stop: Arc::new(tokio::sync::watch::Sender::new(false)),
        progress_cache: Arc::default(),
    })
}

/// Starts the outbox worker and the circular schedule on the current Tokio
/// runtime. They end after `ctx.shutdown()`; await the handles to know when.
pub fn spawn_background(ctx: &Ctx) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let transport = Transport::from_settings(&ctx.settings.mail, &ctx.settings.data_dir)?;
    let mut tasks = vec![tokio::spawn(outbox::run(ctx.clone(), transport))];
    if ctx.settings.circular.monthly_day.is_some() {
        tasks.push(tokio::spawn(schedule::run(ctx.clone(), Duration::from_secs(60))));
    }
    Ok(tasks)
}

/// Stops the background tasks and waits (at most `limit`) for them to end,
/// so that a delivery being sent has its outcome recorded.
async fn stop_background(ctx: &Ctx, tasks: Vec<tokio::task::JoinHandle<()>>, limit: Duration) {
    ctx.shutdown();
    match tokio::time::timeout(limit, futures_util::future::join_all(tasks)).await {
        Ok(ended) => {
            for e in ended.into_iter().filter_map(Result::err) {
                tracing::error!(error = %e, "a background task failed");
            }
        }
        Err(_) => tracing::warn!(seconds = limit.as_secs(), "background tasks did not end in time"),
    }
}

fn load_demo(ctx: &Ctx, print_accounts: bool) -> Result<()> {
    let mut conn = ctx.pool.get().context("cannot get a database connection")?;
    let loaded = demo::load(&mut conn, ctx).map_err(|e| anyhow::anyhow!("cannot load the demo data: {e}"))?;
    if print_accounts {
        let accounts =
            demo::reset_demo_passwords(&mut conn).map_err(|e| anyhow::anyhow!("cannot set the demo passwords: {e}"))?;
        println!("演示账户（仅演示模式显示，每次启动重新生成密码）/ demo accounts:");
        for (username, role, password) in accounts {
            println!("  {username:<15} {:<8} {password}", role.label_zh());
        }
    }
    if loaded.already_loaded {
        tracing::info!("demo data already present; nothing loaded");
    } else {
        tracing::info!(
            units = loaded.units,
            stations = loaded.stations,
            visits = loaded.visits,
            "demo data loaded"
        );
    }
    Ok(())
}

async fn circular(ctx: Ctx, action: CircularAction) -> Result<()> {
    match action {
        CircularAction::Preview(p) => {
            let period = Period {
                year: p.year,
                as_of: p.as_of,
            };
            let preview = ctx
                .run(move |conn, ctx| circulars::preview(conn, ctx, &Principal::system("cli"), period))
                .await
                .map_err(|e| anyhow::anyhow!("{e}: {}", explain(&e)))?;
            println!("{}\n\n{}", preview.subject, preview.body_text);
            println!("收件人 {} 名", preview.recipients.len());
        }
        CircularAction::Issue(p) => {
            let period = Period {
                year: p.year,
                as_of: p.as_of,
            };
            let (c, _) = ctx
                .run(move |conn, ctx| {
                    circulars::issue(
                        conn,
                        ctx,
                        &Principal::system("cli"),
                        period,
                        IssueOptions {
                            issued_by: "cli".into(),
                            idempotency_key: None,
                            schedule_period: None,
                        },
                    )
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e}: {}", explain(&e)))?;
            println!("issued {} (id {})", c.summary.number, c.summary.id);
            let transport = Transport::from_settings(&ctx.settings.mail, &ctx.settings.data_dir)?;
            outbox::run_pending_with(&ctx, &transport).await?;
            let id = c.summary.id;
            let detail = ctx.run(move |conn, _| circulars::get(conn, id)).await?;
            let d = detail.summary.deliveries;
            println!(
                "deliveries: {} sent, {} waiting for a retry, {} failed (a running server retries them)",
                d.sent, d.pending, d.failed
            );
        }
    }
    Ok(())
}

async fn user(ctx: Ctx, action: UserAction) -> Result<()> {
    use crate::app::users::{self, UserInput};
    let p = Principal::system("cli");
    match action {
        UserAction::Add {
            username,
            role,
            units,
            email,
            name,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("cannot read the password from standard input")?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let u = ctx
                .run(move |conn, _| {
                    let all = crate::db::units::list(conn)?;
                    let mut ids = Vec::new();
                    for code in &units {
                        let unit = all.iter().find(|u| &u.code == code).ok_or_else(|| {
                            crate::error::FieldErrors::single("unit", format!("单位代码 {code} 不存在"))
                        })?;
                        ids.push(unit.id);
                    }
                    let input = UserInput {
                        username: Some(username),
                        display_name: name,
                        email,
                        role: Some(role),
                        units: Some(ids),
                        password,
                        active: Some(true),
                    };
                    users::create(conn, &p, input)
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e}: {}", explain(&e)))?;
            println!("created user {} (id {}, {})", u.user.username, u.user.id, u.user.role);
        }
        UserAction::List => {
            let list = ctx.run(move |conn, _| users::list(conn, &p)).await?;
            for u in list {
                println!(
                    "{:<5} {:<20} {:<12} {:<8} units={:?} {}",
                    u.user.id,
                    u.user.username,
                    u.user.role,
                    if u.user.active { "active" } else { "disabled" },
                    u.units,
                    u.user.email.unwrap_or_default()
                );
            }
        }
        UserAction::Disable { username } => {
            let name = username.clone();
            ctx.run(move |conn, _| {
                let user = users::by_username(conn, &username)?;
                users::update(
                    conn,
                    &p,
                    user.id,
                    UserInput {
                        active: Some(false),
                        ..UserInput::default()
                    },
                )
            })
            .await
            .map_err(|e| anyhow::anyhow!("{e}: {}", explain(&e)))?;
            println!("disabled {name}");
        }
    }
    Ok(())
}

async fn token(ctx: Ctx, action: TokenAction) -> Result<()> {
    use crate::app::users::{self, TokenInput};
    let p = Principal::system("cli");
    match action {
        TokenAction::Create { username, name } => {
            let t = ctx
                .run(move |conn, _| {
                    let user = users::by_username(conn, &username)?;
                    users::create_token(
                        conn,
                        &p,
                        TokenInput {
                            name: Some(name),
                            user_id: Some(user.id),
                        },
                    )
                })
                .await
                .map_err(|e| anyhow::anyhow!("{e}: {}", explain(&e)))?;
            eprintln!("token {} created; it is shown once:", t.token.id);
            println!("{}", t.secret);
        }
    }
    Ok(())
}

fn generate(ctx: &Ctx, units: u32, stations: u64, visits: u32, seed: u64, batch: u64) -> Result<()> {
    use crate::db::generate::{self as g, Spec};
    use std::time::Instant;
    if units == 0 || stations == 0 || visits == 0 || batch == 0 {
        anyhow::bail!("--units, --stations, --visits-per-station and --batch must be at least 1");
    }
    let spec = Spec {
        units,
        stations,
        visits_per_station: visits,
        seed,
        today: ctx.today(),
    };
    let mut conn = ctx.pool.get().context("cannot get a database connection")?;
    let started = Instant::now();
    let (first_unit, station_base, visit_base) = db::write_tx(&mut conn, |c| {
        let first = g::units(c, &spec)?;
        Ok::<_, diesel::result::Error>((first, g::max_id(c, "stations")?, g::max_id(c, "visits")?))
    })
    .context("cannot write the units")?;
    let mut done = 0u64;
    while done < stations {
        let (from, to) = (done + 1, (done + batch).min(stations));
        db::write_tx(&mut conn, |c| {
            g::batch(c, &spec, first_unit, station_base, visit_base, from, to)
        })
        .with_context(|| format!("cannot write stations {from}..={to}"))?;
        done = to;
        let secs = started.elapsed().as_secs_f64();
        let filled = (done * 30 / stations) as usize;
        eprintln!(
            "[{}{}] {done}/{stations} stations, {:.0}/s, {secs:.1} s",
            "#".repeat(filled),
            "-".repeat(30 - filled),
            done as f64 / secs.max(0.001)
        );
    }
    g::finish(&mut conn).context("cannot finish the data set")?;
    println!(
        "generated {units} units, {stations} stations, {} visits, {} visit items in {:.1} s",
        stations * u64::from(visits),
        stations * u64::from(visits) * 8,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn explain(e: &crate::error::AppError) -> String {
    match e {
        crate::error::AppError::Validation(f) => serde_json::to_string(f).unwrap_or_default(),
        _ => e.code().to_owned(),
    }
}

pub async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Migrate => {
            let url = db::DbUrl::parse(&cli.common.database_url)?;
            let mut conn = url.connect()?;
            let n = db::migrate(&mut conn)?;
            println!("applied {n} migration(s) to the {} database", url.backend().as_str());
        }
        Command::Demo => {
            let ctx = context_with(&cli.common, 2, true)?;
            load_demo(&ctx, false)?;
        }
        Command::Circular { action } => {
            let ctx = context(&cli.common, 2)?;
            circular(ctx, action).await?;
        }
        Command::User { action } => {
            let ctx = context(&cli.common, 2)?;
            user(ctx, action).await?;
        }
        Command::Backup { to } => {
            let s = crate::backup::backup(&cli.common.database_url, &cli.common.data_dir, &to)?;
            println!(
                "backup written to {}: database {} bytes (sha256 {}), {} evidence files ({} bytes)",
                s.archive.display(),
                s.manifest.database_bytes,
                s.manifest.database_sha256,
                s.manifest.evidence_files,
                s.manifest.evidence_bytes
            );
        }
        Command::Restore { from, force } => {
            let s = crate::backup::restore(&cli.common.database_url, &cli.common.data_dir, &from, force)?;
            println!(
                "restored {} (taken {}): database {} bytes, {} evidence files",
                s.archive.display(),
                s.manifest.created_at,
                s.manifest.database_bytes,
                s.manifest.evidence_files
            );
        }
        Command::Generate {
            units,
            stations,
            visits_per_station,
            seed,
            batch,
        } => {
            let ctx = context(&cli.common, 2)?;
            generate(&ctx, units, stations, visits_per_station, seed, batch)?;
        }
        Command::Token { action } => {
            let ctx = context(&cli.common, 2)?;
            token(ctx, action).await?;
        }
        Command::Serve {
            bind,
            demo,
            pool_size,
            workers,
        } => {
            let loopback = bind
                .parse::<std::net::SocketAddr>()
                .map(|a| a.ip().is_loopback())
                .unwrap_or(bind.starts_with("localhost:"));
            let ctx = context_full(&cli.common, pool_size, demo, !loopback)?;
            if demo {
                load_demo(&ctx, true)?;
            }
            let listener = TcpListener::bind(&bind).with_context(|| format!("cannot listen on {bind}"))?;
            let addr = listener.local_addr().context("listener address")?;
            let workers = workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            let background = spawn_background(&ctx)?;
            tracing::info!(%addr, database = ctx.backend.as_str(), "bayige listening on http://{addr}/");
            let result = http::server(ctx.clone(), listener, workers)?.await;
            stop_background(&ctx, background, Duration::from_secs(30)).await;
            result.context("server stopped with an error")?;
        }
    }
    Ok(())
}
