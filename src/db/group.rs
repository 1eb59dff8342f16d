//! Group commit on SQLite: one writer thread owns one connection and
//! commits the write requests queued while the previous commit was on the
//! disk together, each in its own savepoint, with one durable `COMMIT`
//! (`synchronous=FULL`). A request is answered only after the commit that
//! holds it; a request that fails rolls back its own savepoint and gets its
//! own error, the others of the batch commit. The queue is a bounded FIFO
//! channel: no busy-wait retries, no unfair lock races.
//!
//! On PostgreSQL (and inside a transaction the caller already holds) the
//! write runs as [`super::write_tx`] on the caller's pooled connection, so
//! PostgreSQL keeps its concurrency and the use cases have one code path.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};

use diesel::connection::{AnsiTransactionManager, Connection, TransactionManager};
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::checkpoint::Checkpointer;
use super::{DbConnection, DbError, DbUrl, write_tx};

/// Requests taken into one commit at most.
const MAX_BATCH: usize = 64;
/// Requests waiting for the writer at most; a full queue makes the next
/// request wait for room (back-pressure), in order.
const QUEUE: usize = 256;

/// Where a database's writes go: a handle to the SQLite writer thread
/// (started at the first write), or nothing on PostgreSQL. Cheap to clone;
/// the thread ends when the last handle is dropped.
#[derive(Clone)]
pub struct Writer(Option<Arc<Inner>>);

struct Inner {
    url: DbUrl,
    queue: Mutex<Option<SyncSender<Box<dyn Job>>>>,
    /// Batches committed since the writer was made.
    commits: Arc<AtomicU64>,
}

impl Writer {
    /// The writer for the database at `url`: group commit on SQLite.
    pub fn new(url: &str) -> Result<Writer, DbError> {
        Ok(match DbUrl::parse(url)? {
            url @ DbUrl::Sqlite(_) => Writer(Some(Arc::new(Inner {
                url,
                queue: Mutex::new(None),
                commits: Arc::default(),
            }))),
            DbUrl::Postgres(_) => Writer(None),
        })
    }

    /// How many group commits the writer has made (SQLite; `None` on
    /// PostgreSQL, which has no writer): with the requests answered, how
    /// many requests a commit holds, and a wait in commits.
    pub fn commits(&self) -> Option<u64> {
        self.0.as_ref().map(|i| i.commits.load(Ordering::Relaxed))
    }

    /// Runs `f` in one write transaction and returns once it is durable.
    /// On SQLite, `f` runs on the writer's connection inside a savepoint of
    /// a shared transaction; its reads there see every earlier request of
    /// the batch. Reads and checks that need no lock belong before this
    /// call, on `conn`.
    pub fn write<T, E, F>(&self, conn: &mut DbConnection, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<DieselError> + Send + 'static,
    {
        let Some(inner) = &self.0 else {
            return write_tx(conn, f);
        };
        if in_transaction(conn) {
            // The caller holds the write lock already (a loader writing many
            // visits in one transaction): the writer would wait for it.
            return write_tx(conn, f);
        }
        let (reply, answer) = mpsc::sync_channel(1);
        inner.send(Box::new(Request { f, reply }))?;
        answer
            .recv()
            .unwrap_or_else(|_| Err(unavailable("the database writer stopped before answering").into()))
    }
}

impl Inner {
    /// Queues a request, starting the writer thread if none is running
    /// (the first write, or after the thread died).
    fn send(&self, job: Box<dyn Job>) -> Result<(), DieselError> {
        let sender = {
            let mut queue = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
            match &*queue {
                Some(s) => s.clone(),
                None => {
                    let s = start(&self.url, self.commits.clone())?;
                    *queue = Some(s.clone());
                    s
                }
            }
        };
        sender.send(job).map_err(|_| {
            *self.queue.lock().unwrap_or_else(PoisonError::into_inner) = None;
            tracing::error!("the database writer thread is gone; it is restarted at the next write");
            unavailable("the database writer stopped")
        })
    }
}

fn start(url: &DbUrl, commits: Arc<AtomicU64>) -> Result<SyncSender<Box<dyn Job>>, DieselError> {
    let mut conn = url.connect().map_err(|e| unavailable(&e.to_string()))?;
    // Checkpoints run beside the writer, not inside its commits.
    let checkpointer = Checkpointer::start(url).filter(|c| c.hand_over(&mut conn));
    let (sender, queue) = mpsc::sync_channel(QUEUE);
    let url = url.clone();
    std::thread::Builder::new()
        .name("bayige-writer".into())
        .spawn(move || run(conn, url, queue, checkpointer, commits))
        .map_err(|e| unavailable(&format!("cannot start the database writer: {e}")))?;
    Ok(sender)
}

/// The writer: takes what is queued (up to [`MAX_BATCH`]), commits it as
/// one transaction, answers, and waits for more.
fn run(
    mut conn: DbConnection,
    url: DbUrl,
    queue: Receiver<Box<dyn Job>>,
    checkpointer: Option<Checkpointer>,
    commits: Arc<AtomicU64>,
) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if !commit_batch(&mut conn, batch, &commits) {
            // The connection's transaction state is unknown: a new one.
            match url.connect() {
                Ok(mut fresh) => {
                    if let Some(c) = &checkpointer {
                        c.hand_over(&mut fresh);
                    }
                    conn = fresh
                }
                Err(e) => {
                    tracing::error!(error = %e, "the database writer cannot reconnect; it stops");
                    return;
                }
            }
        }
    }
}

/// One transaction for the batch, counted in `commits` before anyone is
/// answered. Returns false when the connection must be replaced (its
/// transaction could not be ended cleanly).
fn commit_batch(conn: &mut DbConnection, batch: Vec<Box<dyn Job>>, commits: &AtomicU64) -> bool {
    let size = batch.len();
    if let Err(e) = begin(conn) {
        tracing::warn!(error = %e, size, "cannot begin a write batch");
        let why = e.to_string();
        batch.into_iter().for_each(|job| job.refuse(&why));
        return true;
    }
    let mut acks = Vec::with_capacity(size);
    let mut broken = None;
    let mut jobs = batch.into_iter();
    for job in jobs.by_ref() {
        match catch_unwind(AssertUnwindSafe(|| job.run(conn))) {
            Ok(ack) => acks.push(ack),
            // The panicking request's caller hears that its writer stopped
            // (its reply channel is dropped); the others are not committed.
            Err(_) => {
                broken = Some("a write request of the same batch panicked".to_owned());
                break;
            }
        }
        if depth(conn) != Some(1) {
            broken = Some("a write request left the batch's transaction unusable".to_owned());
            break;
        }
    }
    let outcome = match broken {
        Some(why) => Err(why),
        None => commit(conn),
    };
    match outcome {
        Ok(()) => {
            tracing::debug!(size, "write batch committed");
            commits.fetch_add(1, Ordering::Relaxed);
            acks.into_iter().for_each(|ack| ack.answer(Ok(())));
            true
        }
        Err(why) => {
            tracing::error!(error = %why, size, "write batch not committed; every request in it is answered 503");
            let clean = rollback(conn);
            acks.into_iter().for_each(|ack| ack.answer(Err(&why)));
            jobs.for_each(|job| job.refuse(&why));
            clean
        }
    }
}

/// A queued write: run in the batch's transaction (its savepoint), or
/// refused unrun when the batch cannot begin.
trait Job: Send {
    fn run(self: Box<Self>, conn: &mut DbConnection) -> Box<dyn Ack>;
    fn refuse(self: Box<Self>, why: &str);
}

/// A ran request waiting for its batch's commit.
trait Ack: Send {
    /// `Ok` when the batch committed; otherwise why it did not.
    fn answer(self: Box<Self>, batch: Result<(), &str>);
}

struct Request<F, T, E> {
    f: F,
    reply: SyncSender<Result<T, E>>,
}

struct Ran<T, E> {
    result: Result<T, E>,
    reply: SyncSender<Result<T, E>>,
}

impl<F, T, E> Job for Request<F, T, E>
where
    F: FnOnce(&mut DbConnection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<DieselError> + Send + 'static,
{
    fn run(self: Box<Self>, conn: &mut DbConnection) -> Box<dyn Ack> {
        // Nested in the batch's transaction: a savepoint, released on
        // success and rolled back (this request only) on error.
        let result = conn.transaction(self.f);
        Box::new(Ran {
            result,
            reply: self.reply,
        })
    }

    fn refuse(self: Box<Self>, why: &str) {
        let _ = self.reply.send(Err(unavailable(why).into()));
    }
}

impl<T: Send, E: From<DieselError> + Send> Ack for Ran<T, E> {
    fn answer(self: Box<Self>, batch: Result<(), &str>) {
        let result = match (self.result, batch) {
            (Ok(_), Err(why)) => Err(unavailable(why).into()),
            // A failed request keeps its own error: nothing of it was kept.
            (result, _) => result,
        };
        // The caller may have gone (its request was cancelled): nothing to do.
        let _ = self.reply.send(result);
    }
}

fn in_transaction(conn: &mut DbConnection) -> bool {
    depth(conn) != Some(0)
}

/// Transaction depth of a SQLite connection: 0 outside a transaction;
/// None when the transaction manager is broken (or not SQLite).
fn depth(conn: &mut DbConnection) -> Option<u32> {
    let DbConnection::Sqlite(inner) = conn else {
        return None;
    };
    match AnsiTransactionManager::transaction_manager_status_mut(inner).transaction_depth() {
        Ok(d) => Some(d.map_or(0, |d| d.get())),
        Err(_) => None,
    }
}

fn begin(conn: &mut DbConnection) -> Result<(), DieselError> {
    let DbConnection::Sqlite(inner) = conn else {
        return Err(unavailable("the writer holds no SQLite connection"));
    };
    AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")
}

fn commit(conn: &mut DbConnection) -> Result<(), String> {
    let DbConnection::Sqlite(inner) = conn else {
        return Err("the writer holds no SQLite connection".into());
    };
    AnsiTransactionManager::commit_transaction(inner).map_err(|e| format!("commit failed: {e}"))
}

/// Rolls the batch back; false when the connection is left in an unknown
/// state and must be replaced.
fn rollback(conn: &mut DbConnection) -> bool {
    let DbConnection::Sqlite(inner) = conn else {
        return false;
    };
    while let Ok(Some(_)) = AnsiTransactionManager::transaction_manager_status_mut(inner).transaction_depth() {
        if let Err(e) = AnsiTransactionManager::rollback_transaction(inner) {
            tracing::error!(error = %e, "cannot roll the write batch back");
            return false;
        }
    }
    depth(conn) == Some(0)
}

/// An error the request's caller answers with 503 (nothing of it was
/// committed; it may be retried).
fn unavailable(why: &str) -> DieselError {
    DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, Box::new(why.to_owned()))
}

#[cfg(test)]
mod tests {
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    use diesel::sql_types::BigInt;

    use super::*;

    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }

    fn count(conn: &mut DbConnection, sql: &str) -> i64 {
        diesel::sql_query(sql).get_result::<Count>(conn).expect("count").n
    }

    /// Requests queued together: the ones that fail (after writing a row)
    /// leave nothing, each gets its own answer, the others are committed.
    #[test]
    fn a_failing_request_rolls_back_only_its_own_savepoint() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("g.db").display());
        let writer = Writer::new(&url).expect("writer");
        let mut setup = DbUrl::parse(&url).expect("url").connect().expect("connect");
        setup
            .batch_execute("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL UNIQUE)")
            .expect("table");
        let threads: Vec<_> = (0..24i64)
            .map(|i| {
                let (writer, url) = (writer.clone(), url.clone());
                std::thread::spawn(move || {
                    let mut conn = DbUrl::parse(&url).expect("url").connect().expect("connect");
                    writer.write(&mut conn, move |c| {
                        diesel::sql_query(format!("INSERT INTO t (n) VALUES ({i})")).execute(c)?;
                        if i % 3 == 0 {
                            // Written, then refused.
                            diesel::sql_query("INSERT INTO t (n) VALUES (NULL)").execute(c)?;
                        }
                        Ok::<_, DieselError>(i)
                    })
                })
            })
            .collect();
        for (i, t) in threads.into_iter().enumerate() {
            let answer = t.join().expect("thread");
            let i = i as i64;
            match answer {
                Ok(n) => assert!(n == i && i % 3 != 0, "{i}"),
                Err(DieselError::DatabaseError(DatabaseErrorKind::NotNullViolation, _)) => {
                    assert_eq!(i % 3, 0, "only the requests that failed fail")
                }
                Err(e) => panic!("request {i}: {e}"),
            }
        }
        assert_eq!(count(&mut setup, "SELECT COUNT(*) AS n FROM t"), 16);
        assert_eq!(count(&mut setup, "SELECT COUNT(*) AS n FROM t WHERE n % 3 = 0"), 0);
    }

    /// What the writer commits reaches the database file itself, copied
    /// there by the checkpoint thread (the writer does not checkpoint in
    /// its commits; a few hundred rows would otherwise stay in the WAL
    /// until SQLite's 1,000-page threshold or the last connection closed).
    #[test]
    fn commits_reach_the_database_file_beside_the_writer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("g.db");
        let url = format!("sqlite://{}", path.display());
        let writer = Writer::new(&url).expect("writer");
        let mut conn = DbUrl::parse(&url).expect("url").connect().expect("connect");
        conn.batch_execute("CREATE TABLE t (n INTEGER NOT NULL)")
            .expect("table");
        for i in 0..300 {
            writer
                .write(&mut conn, move |c| {
                    diesel::sql_query(format!("INSERT INTO t (n) VALUES ({i})")).execute(c)
                })
                .expect("write");
        }
        // One at a time, each request is a commit of its own.
        assert_eq!(writer.commits(), Some(300));
        // A copy of the database file alone (no WAL) catches up.
        let alone = dir.path().join("alone.db");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let _ = std::fs::remove_file(dir.path().join("alone.db-wal"));
            std::fs::copy(&path, &alone).expect("copy");
            let seen = DbUrl::parse(&format!("sqlite://{}", alone.display()))
                .expect("url")
                .connect()
                .ok()
                .and_then(|mut c| {
                    diesel::sql_query("SELECT COUNT(*) AS n FROM t")
                        .get_result::<Count>(&mut c)
                        .ok()
                });
            if seen.is_some_and(|c| c.n == 300) {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the database file did not catch up with the WAL"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// A caller already in a transaction writes in it (a savepoint), not
    /// through the writer, which would wait for its lock.
    #[test]
    fn a_write_inside_a_transaction_stays_in_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("g.db").display());
        let writer = Writer::new(&url).expect("writer");
        let mut conn = DbUrl::parse(&url).expect("url").connect().expect("connect");
        conn.batch_execute("CREATE TABLE t (n INTEGER NOT NULL)")
            .expect("table");
        let result = write_tx(&mut conn, |c| {
            writer.write(c, |c| diesel::sql_query("INSERT INTO t (n) VALUES (1)").execute(c))?;
            Err::<(), _>(DieselError::RollbackTransaction)
        });
        assert!(result.is_err());
        assert_eq!(
            count(&mut conn, "SELECT COUNT(*) AS n FROM t"),
            0,
            "rolled back with its caller"
        );
    }
}
