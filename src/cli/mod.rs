//! Command line: arguments ([`args`]), settings ([`config`]) and the
//! commands ([`commands`]); `serve` runs the HTTP service and its
//! background tasks.

mod args;
mod commands;
mod config;
mod notice_args;

pub use args::{CircularAction, Cli, Command, Common, DocumentArgs, ImportWhat, PeriodArgs, TokenAction, UserAction};
pub use config::{DemoDefaults, parse_cc};
pub use notice_args::{NoticeArgs, NoticesAction};

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::app::{Ctx, Settings, demo, outbox, schedule};
use crate::documents::FontSet;
use crate::mail::Transport;
use crate::{db, http, standard};

/// Loads what every command needs: checklists, time zone, database and the
/// settings (with the demo's defaults when the demo data is loaded).
pub fn context(common: &Common, pool_size: u32) -> Result<Ctx> {
    context_full(common, pool_size, false, true)
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
    // Checked before the database is opened: a bad option is reported as such.
    let asked = DemoDefaults {
        data: demo_flag,
        running: demo_flag,
    };
    Settings::from_args(common, asked, cookie_secure_default)?;
    let (pool, backend) = db::open(&common.database_url, pool_size)?;
    let demo = DemoDefaults {
        data: demo_flag || {
            let mut conn = pool.get().context("cannot get a database connection")?;
            demo::loaded(&mut conn).context("cannot read the database")?
        },
        running: demo_flag,
    };
    let settings = Settings::from_args(common, demo, cookie_secure_default)?;
    clear_unfinished_exports(&settings.data_dir);
    Ok(Ctx {
        writer: db::Writer::new(&common.database_url)?,
        pool,
        backend,
        standards: Arc::new(standards),
        tz,
        fonts: load_fonts(&settings)?,
        settings,
        outbox: Arc::new(tokio::sync::Notify::new()),
        stop: Arc::new(tokio::sync::watch::Sender::new(false)),
        progress_cache: Arc::default(),
        sign_in: Arc::default(),
    })
}

/// The faces for PDF output, when it is on: read once per process and font
/// folder (about 30 MB), and shared. A missing face is an error that names
/// it and the package that ships it.
fn load_fonts(settings: &Settings) -> Result<Option<Arc<FontSet>>> {
    static LOADED: std::sync::Mutex<Vec<(Option<std::path::PathBuf>, Arc<FontSet>)>> =
        std::sync::Mutex::new(Vec::new());
    if !settings.pdf {
        return Ok(None);
    }
    let dir = settings.font_dir.clone();
    let mut loaded = LOADED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((_, fonts)) = loaded.iter().find(|(d, _)| *d == dir) {
        return Ok(Some(fonts.clone()));
    }
    let fonts = match &dir {
        Some(d) => FontSet::load(d),
        None => FontSet::load_default(),
    };
    let fonts = match fonts {
        Ok(fonts) => fonts,
        Err(e) if !settings.pdf_required => {
            tracing::warn!(
                error = %e,
                "no fonts for PDF output: circulars and rectification notices are issued WITHOUT PDF \
                 (install Debian's texlive-lang-chinese, or set BAYIGE_FONT_DIR)"
            );
            return Ok(None);
        }
        Err(e) => {
            anyhow::bail!("PDF output is on (BAYIGE_PDF) but {e}; set BAYIGE_FONT_DIR, or BAYIGE_PDF=false")
        }
    };
    let fonts = Arc::new(fonts);
    tracing::info!(font_dir = ?dir, "fonts for PDF output loaded");
    loaded.push((dir, fonts.clone()));
    Ok(Some(fonts))
}

/// Starts the outbox worker and the circular schedule on the current Tokio
/// runtime. They end after `ctx.shutdown()`; await the handles to know when.
pub fn spawn_background(ctx: &Ctx) -> Result<Vec<tokio::task::JoinHandle<()>>> {
    let transport = Transport::from_settings(&ctx.settings.mail, &ctx.settings.data_dir)?;
    let mut tasks = vec![tokio::spawn(outbox::run(ctx.clone(), transport))];
    if ctx.settings.circular.monthly_day.is_some() {
        tasks.push(tokio::spawn(schedule::run(ctx.clone(), Duration::from_secs(60))));
    }
    if ctx.settings.notices.scheduler {
        tasks.push(tokio::spawn(crate::app::notices::run(ctx.clone())));
    }
    tasks.push(tokio::spawn(crate::app::disputes::run_retention(
        ctx.clone(),
        Duration::from_secs(3600),
    )));
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

async fn serve(common: &Common, bind: String, demo: bool, pool_size: u32, workers: Option<usize>) -> Result<()> {
    let loopback = bind
        .parse::<std::net::SocketAddr>()
        .map(|a| a.ip().is_loopback())
        .unwrap_or(bind.starts_with("localhost:"));
    let ctx = context_full(common, pool_size, demo, !loopback)?;
    if demo {
        commands::load_demo(&ctx, true)?;
    }
    let listener = TcpListener::bind(&bind).with_context(|| format!("cannot listen on {bind}"))?;
    let addr = listener.local_addr().context("listener address")?;
    let workers = workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let background = spawn_background(&ctx)?;
    tracing::info!(%addr, database = ctx.backend.as_str(), "bayige listening on http://{addr}/");
    let result = http::server(ctx.clone(), listener, workers)?.await;
    stop_background(&ctx, background, Duration::from_secs(30)).await;
    result.context("server stopped with an error")
}

/// Removes exports a crash left half written (`app::spool`); a folder
/// that cannot be cleared is logged, not fatal: it only holds space.
fn clear_unfinished_exports(data_dir: &std::path::Path) {
    match crate::app::spool::clear_leftovers(data_dir) {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "removed unfinished exports left by an earlier run"),
        Err(e) => tracing::warn!(error = %e, folder = %crate::app::spool::folder(data_dir).display(),
            "cannot clear the folder of unfinished exports"),
    }
}

/// Adds the operator's holiday notices (every `*.toml` of the folder, in
/// name order) to the built-in ones, before anything counts working days.
fn install_holidays(common: &Common) -> Result<()> {
    let Some(dir) = &common.disputes.holiday_dir else {
        return Ok(());
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read BAYIGE_HOLIDAY_DIR {}", dir.display()))? {
        let path = entry
            .with_context(|| format!("cannot read BAYIGE_HOLIDAY_DIR {}", dir.display()))?
            .path();
        if path.extension().is_some_and(|e| e == "toml") {
            names.push(path);
        }
    }
    names.sort();
    let mut files = Vec::new();
    for path in names {
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        files.push((path.display().to_string(), text));
    }
    let calendar = crate::domain::workdays::install(&files).map_err(|e| anyhow::anyhow!("BAYIGE_HOLIDAY_DIR: {e}"))?;
    tracing::info!(years = ?calendar.years().collect::<Vec<_>>(), "holiday notices");
    Ok(())
}

pub async fn run(cli: Cli) -> Result<()> {
    install_holidays(&cli.common)?;
    match cli.command {
        Command::Migrate => {
            let url = db::DbUrl::parse(&cli.common.database_url)?;
            let mut conn = url.connect()?;
            let n = db::migrate(&mut conn)?;
            println!("applied {n} migration(s) to the {} database", url.backend().as_str());
        }
        Command::Demo => {
            let ctx = context_full(&cli.common, 2, true, true)?;
            commands::load_demo(&ctx, false)?;
        }
        Command::Circular { action } => commands::circular(context(&cli.common, 2)?, action).await?,
        Command::Notices { action } => notice_args::run(context(&cli.common, 2)?, action).await?,
        Command::Import { what } => commands::import(context(&cli.common, 2)?, what).await?,
        Command::User { action } => commands::user(context(&cli.common, 2)?, action).await?,
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
            commands::generate(&ctx, units, stations, visits_per_station, seed, batch)?;
        }
        Command::Token { action } => commands::token(context(&cli.common, 2)?, action).await?,
        Command::Disputes {
            action: args::DisputeAction::Holidays,
        } => commands::holidays()?,
        Command::Disputes { action } => commands::disputes(context(&cli.common, 2)?, action).await?,
        Command::Serve {
            bind,
            demo,
            pool_size,
            workers,
        } => serve(&cli.common, bind, demo, pool_size, workers).await?,
    }
    Ok(())
}
