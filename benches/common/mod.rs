//! What the benchmarks share: a throw-away database per backend (a SQLite
//! file in a temporary folder, or a new PostgreSQL database on the server
//! of `BAYIGE_TEST_DATABASE_URL`, dropped afterwards).

// Not every benchmark runs the binary.
#[allow(dead_code)]
pub mod cli;

use bayige::db::Backend;
use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;

/// A fresh database; a PostgreSQL one is dropped when this is.
pub struct Db {
    pub url: String,
    cleanup: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.cleanup
            && let Ok(mut c) = PgConnection::establish(admin)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// A new empty database of `backend` named after `label`; None for
/// PostgreSQL when `BAYIGE_TEST_DATABASE_URL` is not set.
pub fn fresh(backend: Backend, label: &str) -> Option<Db> {
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir().ok()?;
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            Some(Db {
                url,
                cleanup: None,
                _dir: Some(dir),
            })
        }
        Backend::Postgres => {
            let admin = std::env::var("BAYIGE_TEST_DATABASE_URL").ok()?;
            let name = format!("bayige_{label}_{}", std::process::id());
            let mut c = PgConnection::establish(&admin).expect("PostgreSQL answers");
            c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .expect("drop a leftover database");
            c.batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create database");
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_owned())
                .unwrap_or(admin.clone());
            Some(Db {
                url: format!("{base}/{name}"),
                cleanup: Some((admin, name)),
                _dir: None,
            })
        }
    }
}
