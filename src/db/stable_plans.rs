//! SQLite's query planner stability guarantee (QPSG) on every SQLite
//! connection this process opens.
//!
//! Without it SQLite plans some statements with the values bound to them
//! (`LIMIT ?`, `LIKE ?`, and any column with `sqlite_stat4` samples after
//! `ANALYZE`) and marks such a statement expired whenever that parameter is
//! bound again — which diesel does at every execution. The statement is then
//! compiled anew at every step: a cached `SELECT … WHERE id = ? LIMIT ?`
//! cost as much as an uncached one (measured with callgrind on record-visit:
//! about a fifth of the writer thread's instructions went to recompiling).
//! With the guarantee a statement keeps the plan it was prepared with, so
//! diesel's statement cache does what it is for. Plans chosen without the
//! bound values are what PostgreSQL's generic plans are too.
//!
//! diesel does not hand out the raw `sqlite3*` handle, so the setting is
//! made by SQLite's own hook for this: an auto-extension, which SQLite runs
//! on each connection as it opens (`sqlite3_auto_extension`).

use std::ffi::{c_char, c_int};
use std::sync::Once;

use libsqlite3_sys as ffi;

/// Registers the hook once per process; every SQLite connection opened
/// after this call has the guarantee on.
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: `stable_plans` has the signature SQLite calls
        // auto-extensions with and only sets a flag on the handle it is given.
        let rc = unsafe { ffi::sqlite3_auto_extension(Some(stable_plans)) };
        if rc != ffi::SQLITE_OK {
            tracing::warn!(
                rc,
                "cannot register SQLite's plan stability hook; statements may be recompiled"
            );
        }
    });
}

/// The auto-extension: turns the query planner stability guarantee on for
/// the connection being opened. A failure is not fatal to the connection
/// (plans are then chosen as SQLite's default), so it reports success.
unsafe extern "C" fn stable_plans(
    db: *mut ffi::sqlite3,
    _err: *mut *mut c_char,
    _api: *const ffi::sqlite3_api_routines,
) -> c_int {
    // SAFETY: `db` is the connection SQLite is opening; the option takes an
    // int and a nullable int pointer for the previous value.
    let rc = unsafe {
        ffi::sqlite3_db_config(
            db,
            ffi::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        )
    };
    if rc != ffi::SQLITE_OK {
        tracing::warn!(rc, "SQLite refused the plan stability guarantee on a connection");
    }
    ffi::SQLITE_OK
}

#[cfg(test)]
mod tests {
    use std::ffi::CString;

    use super::*;

    /// Whether a raw connection has the guarantee on.
    fn qpsg(db: *mut ffi::sqlite3) -> c_int {
        let mut on: c_int = -1;
        // SAFETY: `db` is open; -1 asks for the current value only.
        let rc =
            unsafe { ffi::sqlite3_db_config(db, ffi::SQLITE_DBCONFIG_ENABLE_QPSG, -1 as c_int, &mut on as *mut c_int) };
        assert_eq!(rc, ffi::SQLITE_OK);
        on
    }

    /// A connection opened after `install`, by any opener, plans without
    /// its bound values.
    #[test]
    fn every_connection_opened_after_install_has_stable_plans() {
        install();
        let dir = tempfile::tempdir().expect("temp dir");
        let path = CString::new(dir.path().join("p.db").to_string_lossy().as_bytes()).expect("path");
        let mut db = std::ptr::null_mut();
        // SAFETY: a fresh handle, closed below.
        let rc = unsafe { ffi::sqlite3_open(path.as_ptr(), &mut db) };
        assert_eq!(rc, ffi::SQLITE_OK);
        assert_eq!(qpsg(db), 1, "the guarantee is on");
        // SAFETY: opened above, no statement outstanding.
        unsafe { ffi::sqlite3_close(db) };
    }
}
