//! WAL checkpoints off the writer's path.
//!
//! In WAL mode a commit appends pages to the `-wal` file and syncs it; a
//! checkpoint later copies them into the database file and syncs that.
//! SQLite runs the checkpoint inside whichever commit pushes the WAL past
//! 1,000 pages — on SQLite's one writer thread, that is the group commit
//! itself, so every few hundred visits one batch waited for a copy of a
//! thousand pages and two more syncs (measured: a fifth of the writer's
//! time was in the kernel). Here the writer's connection does not
//! checkpoint; a thread with its own connection runs a PASSIVE checkpoint
//! (it never blocks the writer or readers) every [`EVERY`], until the
//! writer that started it ends. Durability does not change: a commit is
//! durable once its WAL pages are synced, checkpointed or not.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender};
use std::time::Duration;

use diesel::connection::SimpleConnection;

use super::{DbConnection, DbUrl};

/// How often committed pages are copied into the database file. At the
/// writer's peak (a few thousand visits a second, a few pages each) the
/// WAL holds some tens of MiB before it is copied and starts over.
const EVERY: Duration = Duration::from_millis(200);

/// Keeps the checkpointer running; dropping it stops the thread.
pub struct Checkpointer {
    _stop: SyncSender<()>,
}

impl Checkpointer {
    /// Starts the thread for the SQLite database at `url`, or `None` (the
    /// writer then keeps SQLite's own checkpoints) when it cannot.
    pub fn start(url: &DbUrl) -> Option<Checkpointer> {
        let conn = match url.connect() {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "no checkpoint thread: the writer checkpoints as it commits");
                return None;
            }
        };
        let (stop, stopped) = mpsc::sync_channel(1);
        match std::thread::Builder::new()
            .name("bayige-checkpoint".into())
            .spawn(move || run(conn, stopped))
        {
            Ok(_) => Some(Checkpointer { _stop: stop }),
            Err(e) => {
                tracing::warn!(error = %e, "no checkpoint thread: the writer checkpoints as it commits");
                None
            }
        }
    }

    /// Makes `conn` (the writer's) leave checkpoints to this thread.
    pub fn hand_over(&self, conn: &mut DbConnection) -> bool {
        match conn.batch_execute("PRAGMA wal_autocheckpoint = 0") {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!(error = %e, "the writer keeps checkpointing as it commits");
                false
            }
        }
    }
}

fn run(mut conn: DbConnection, stopped: Receiver<()>) {
    // Until the writer that started this thread drops its end.
    while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(EVERY) {
        if let Err(e) = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)") {
            // The next round tries again; a busy database is normal.
            tracing::debug!(error = %e, "checkpoint deferred");
        }
    }
    // A last copy, so the WAL a stopped service leaves behind is short.
    let _ = conn.batch_execute("PRAGMA wal_checkpoint(PASSIVE)");
}
