//! Storage: one code path over SQLite and PostgreSQL through diesel's
//! `MultiConnection`, an r2d2 pool, embedded migrations per backend.

/// Runs `$body` with `$c` bound to the backend's own diesel connection.
/// A statement run so goes to diesel's SQLite or PostgreSQL connection as
/// it is; through [`DbConnection`] the multi-backend layer renders its SQL
/// anew at every execution (once to look it up in the statement cache,
/// again to collect its binds) — on record-visit a seventh of the SQLite
/// writer's work. For the statements of hot write paths only.
macro_rules! native {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::db::DbConnection::Pg($c) => $body,
            $crate::db::DbConnection::Sqlite($c) => $body,
        }
    };
}

pub mod audit;
pub mod burnup;
mod checkpoint;
pub mod circular_lookup;
pub mod circulars;
pub mod disputes;
mod fixed;
pub mod generate;
pub mod group;
pub mod guidance;
pub mod notices;
pub mod progress;
pub mod schema;
pub mod serials;
pub mod sheets;
pub mod stable_plans;
pub mod stations;
pub mod units;
pub mod users;
pub mod visit_requests;
pub mod visits;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

pub use group::Writer;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

impl DbConnection {
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Pg(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// A database URL split by scheme: we pick the backend ourselves so that a
/// connection error says what went wrong (diesel's own multi-connection
/// `establish` tries every backend and hides the cause).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbUrl {
    Sqlite(String),
    Postgres(String),
}

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://USER@HOST/DB")]
    BadUrl(String),
    #[error("cannot connect to the {backend} database: {source}")]
    Connect {
        backend: &'static str,
        source: ConnectionError,
    },
    #[error("cannot apply database migrations: {0}")]
    Migrate(String),
    #[error("cannot set up the connection pool: {0}")]
    Pool(String),
    #[error("cannot prepare the SQLite connection: {0}")]
    Pragma(diesel::result::Error),
}

impl DbUrl {
    pub fn parse(url: &str) -> Result<Self, DbError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(DbError::BadUrl(crate::error::redact_url(url)));
            }
            Ok(DbUrl::Sqlite(path.into()))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(DbUrl::Postgres(url.into()))
        } else {
            Err(DbError::BadUrl(crate::error::redact_url(url)))
        }
    }

    pub fn backend(&self) -> Backend {
        match self {
            DbUrl::Sqlite(_) => Backend::Sqlite,
            DbUrl::Postgres(_) => Backend::Postgres,
        }
    }

    pub fn connect(&self) -> Result<DbConnection, DbError> {
        match self {
            DbUrl::Sqlite(path) => {
                stable_plans::install();
                let mut c = SqliteConnection::establish(path).map_err(|source| DbError::Connect {
                    backend: "sqlite",
                    source,
                })?;
                // WAL for concurrent readers; FULL sync so an acknowledged
                // commit survives a power cut; wait for the write lock rather
                // than failing at once.
                c.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                )
                .map_err(DbError::Pragma)?;
                Ok(DbConnection::Sqlite(c))
            }
            DbUrl::Postgres(url) => {
                PgConnection::establish(url)
                    .map(DbConnection::Pg)
                    .map_err(|source| DbError::Connect {
                        backend: "postgres",
                        source,
                    })
            }
        }
    }
}

/// Timestamps are stored in UTC without an offset; answers give them in
/// RFC 3339 with `Z` so no reader has to guess the zone.
pub mod utc {
    use chrono::{NaiveDateTime, SecondsFormat};
    use serde::Serializer;

    fn text(t: &NaiveDateTime) -> String {
        t.and_utc().to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    pub fn one<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&text(t))
    }

    pub fn option<S: Serializer>(t: &Option<NaiveDateTime>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&text(t)),
            None => s.serialize_none(),
        }
    }
}

/// r2d2 manager that connects through [`DbUrl::connect`].
pub struct Manager {
    url: DbUrl,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = DbError;

    fn connect(&self) -> Result<DbConnection, DbError> {
        self.url.connect()
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), DbError> {
        conn.batch_execute("SELECT 1").map_err(|e| DbError::Connect {
            backend: conn.backend().as_str(),
            source: ConnectionError::CouldntSetupConfiguration(e),
        })
    }

    /// Called as a connection goes back to the pool, on the thread that
    /// used it: checks it (one round trip) only if that use failed in a way
    /// that may mean a lost connection, so healthy requests pay nothing.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        if BROKEN.with(|b| b.replace(false)) {
            return true;
        }
        if SUSPECT.with(|s| s.replace(false)) && self.is_valid(conn).is_err() {
            // Lost connections rarely come alone (a restart, a failover, an
            // idle timeout on a proxy): have every other one checked once
            // before it is used again.
            GENERATION.fetch_add(1, Ordering::Relaxed);
            tracing::warn!("a database connection was lost; checking the others before use");
            return true;
        }
        false
    }
}

thread_local! {
    static SUSPECT: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static BROKEN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Bumped when a connection is found lost. Each pooled connection records
/// the generation it was last known good in; one older than this is checked
/// (one round trip) at its next checkout. Process-wide: another pool in the
/// same process pays at most one extra check per connection.
static GENERATION: AtomicU64 = AtomicU64::new(0);

/// The generation a connection was last known good in.
struct KnownGood(u64);

/// A connection from the pool, checked first if a connection was lost since
/// it was last known good: after PostgreSQL restarts, the request that
/// finds the first dead connection fails (503), the others are replaced
/// before any request uses them.
pub fn checkout(pool: &Pool) -> Result<PooledConn, r2d2::PoolError> {
    // Every idle connection may be dead: try them all, then a new one.
    for _ in 0..=pool.max_size() {
        let mut conn = pool.get()?;
        let now = GENERATION.load(Ordering::Relaxed);
        let good = match PooledConnection::extensions(&conn).get::<KnownGood>() {
            Some(KnownGood(g)) if *g == now => return Ok(conn),
            // New: it just connected.
            None => true,
            Some(_) => conn.batch_execute("SELECT 1").is_ok(),
        };
        if good {
            PooledConnection::extensions_mut(&mut conn).insert(KnownGood(now));
            return Ok(conn);
        }
        // Dropped on return (`has_broken`), without a second check.
        BROKEN.with(|b| b.set(true));
        drop(conn);
    }
    pool.get()
}

/// Marks the connection this thread holds as possibly broken: r2d2 checks
/// it when it is returned and drops it if it no longer answers.
pub fn suspect_connection() {
    SUSPECT.with(|s| s.set(true));
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = PooledConnection<Manager>;

/// Connects once (so a bad URL or password is reported as such), applies
/// pending migrations, and builds the pool.
pub fn open(url: &str, max_size: u32) -> Result<(Pool, Backend), DbError> {
    let url = DbUrl::parse(url)?;
    let backend = url.backend();
    let mut first = url.connect()?;
    migrate(&mut first)?;
    drop(first);
    let pool = r2d2::Pool::builder()
        .max_size(max_size)
        // No connections opened in the background: one made by the pool's
        // threads to refill an idle slot could still be inside libpq when
        // a short command (`bayige token create`) exits, and a process
        // exiting under it can crash. Connections are made when asked for.
        .min_idle(Some(0))
        // Connections are checked on return after a failure instead
        // (`has_broken`): a check on every checkout costs a round trip per
        // request.
        .test_on_check_out(false)
        .connection_timeout(Duration::from_secs(5))
        .build(Manager { url })
        .map_err(|e| DbError::Pool(e.to_string()))?;
    Ok((pool, backend))
}

/// Applies every pending migration of the connection's backend.
pub fn migrate(conn: &mut DbConnection) -> Result<usize, DbError> {
    let applied = match conn {
        DbConnection::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
        DbConnection::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len()),
    };
    applied.map_err(|e| DbError::Migrate(e.to_string()))
}

/// Runs `f` in one write transaction. On SQLite it begins with `BEGIN
/// IMMEDIATE`, taking the write lock up front (waiting up to the busy
/// timeout) so that a transaction that reads before it writes cannot fail
/// with SQLITE_BUSY when another writer commits in between.
pub fn write_tx<T, E>(conn: &mut DbConnection, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let DbConnection::Sqlite(inner) = conn else {
        return conn.transaction(f);
    };
    let depth = AnsiTransactionManager::transaction_manager_status_mut(inner)
        .transaction_depth()
        .map_err(E::from)?;
    if depth.is_some() {
        // Nested in a transaction that holds the lock already: a savepoint.
        return conn.transaction(f);
    }
    AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?;
    let result = f(conn);
    let DbConnection::Sqlite(inner) = conn else {
        // `f` cannot change the variant of a connection it only borrows.
        return result;
    };
    match result {
        Ok(value) => match AnsiTransactionManager::commit_transaction(inner) {
            Ok(()) => Ok(value),
            Err(e) => {
                // Commit failed: roll back so the connection is usable again.
                let _ = AnsiTransactionManager::rollback_transaction(inner);
                Err(e.into())
            }
        },
        Err(e) => {
            AnsiTransactionManager::rollback_transaction(inner)?;
            Err(e)
        }
    }
}

/// Current time in UTC, truncated to microseconds so that values read back
/// compare equal on both backends.
pub fn now() -> chrono::NaiveDateTime {
    let t = chrono::Utc::now().naive_utc();
    let micros = t.and_utc().timestamp_micros();
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|d| d.naive_utc())
        .unwrap_or(t)
}

/// Numbers `?` placeholders as `$1, $2, ...` for PostgreSQL.
pub fn placeholders(sql: &str, backend: Backend) -> String {
    if backend == Backend::Sqlite {
        return sql.to_owned();
    }
    let mut out = String::with_capacity(sql.len() + 8);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("${n}"));
        } else {
            out.push(c);
        }
    }
    out
}
