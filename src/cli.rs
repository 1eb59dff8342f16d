//! Command line and settings. Every setting also comes from an environment
//! variable, so the same binary is configured the same way everywhere.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::app::{Ctx, Settings, demo};
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
    /// Folder for evidence files.
    #[arg(long, global = true, env = "BAYIGE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Days given to fix a failed item when the inspector sets no due date.
    #[arg(long, global = true, env = "BAYIGE_GUIDANCE_DUE_DAYS", default_value_t = 15)]
    pub guidance_due_days: u32,
    /// The largest evidence upload, in bytes.
    #[arg(long, global = true, env = "BAYIGE_EVIDENCE_MAX_BYTES", default_value_t = 10 * 1024 * 1024)]
    pub evidence_max_bytes: usize,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service.
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
}

/// Loads settings that every command needs: checklists, time zone, database.
pub fn context(common: &Common, pool_size: u32) -> Result<Ctx> {
    let mut standards = standard::Registry::embedded().context("built-in checklists are invalid")?;
    if let Some(dir) = &common.checklists {
        standards.add_dir(dir)?;
    }
    let tz: chrono_tz::Tz = common
        .timezone
        .parse()
        .map_err(|_| anyhow::anyhow!("unknown time zone {:?} (BAYIGE_TIMEZONE)", common.timezone))?;
    let (pool, backend) = db::open(&common.database_url, pool_size)?;
    Ok(Ctx {
        pool,
        backend,
        standards: Arc::new(standards),
        tz,
        settings: Settings {
            guidance_due_days: common.guidance_due_days,
            data_dir: common.data_dir.clone(),
            evidence_max_bytes: common.evidence_max_bytes,
        },
    })
}

fn load_demo(ctx: &Ctx) -> Result<()> {
    let mut conn = ctx.pool.get().context("cannot get a database connection")?;
    let loaded = demo::load(&mut conn, ctx).map_err(|e| anyhow::anyhow!("cannot load the demo data: {e}"))?;
    if loaded.already_loaded {
        tracing::info!("demo data already present; nothing loaded");
    } else {
        tracing::info!(units = loaded.units, stations = loaded.stations, "demo data loaded");
    }
    Ok(())
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
            let ctx = context(&cli.common, 2)?;
            load_demo(&ctx)?;
        }
        Command::Serve {
            bind,
            demo,
            pool_size,
            workers,
        } => {
            let ctx = context(&cli.common, pool_size)?;
            if demo {
                load_demo(&ctx)?;
            }
            let listener = TcpListener::bind(&bind).with_context(|| format!("cannot listen on {bind}"))?;
            let addr = listener.local_addr().context("listener address")?;
            let workers = workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            tracing::info!(%addr, database = ctx.backend.as_str(), "bayige listening on http://{addr}/");
            http::server(ctx, listener, workers)?
                .await
                .context("server stopped with an error")?;
        }
    }
    Ok(())
}
