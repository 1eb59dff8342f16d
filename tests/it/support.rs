//! Test support: the app on port 0 with a fresh database (a SQLite file in a
//! temporary folder, or a new PostgreSQL database dropped afterwards).

use std::net::TcpListener;
use std::path::PathBuf;

use bayige::cli::Common;
use diesel::Connection;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use reqwest::{Client, Response};
use serde_json::Value;

/// Why PostgreSQL tests are ignored: `build.rs` sets `cfg(bayige_pg)` only
/// when `BAYIGE_TEST_DATABASE_URL` is set (the literal is repeated in the
/// attributes, which take no constant).
pub const PG_IGNORED: &str = "set BAYIGE_TEST_DATABASE_URL to run on PostgreSQL";

/// Generates one test per backend from `async fn name(app: TestApp)`.
/// The PostgreSQL variant runs when `BAYIGE_TEST_DATABASE_URL` is set and
/// is reported as ignored otherwise.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::TestApp::sqlite().await).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(bayige_pg), ignore = "set BAYIGE_TEST_DATABASE_URL to run on PostgreSQL")]
                async fn $name() {
                    super::$name($crate::support::TestApp::postgres().await).await
                }
            )*
        }
    };
}

pub enum DbGuard {
    /// Another app owns the database (a restart on the same one).
    Shared,
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        admin_url: String,
        name: String,
    },
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let DbGuard::Postgres { admin_url, name } = self
            && let Ok(mut c) = PgConnection::establish(admin_url)
        {
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub db_url: String,
    pub backend: &'static str,
    /// The evidence folder.
    pub data: tempfile::TempDir,
    /// The app's context, for calling use cases directly.
    pub ctx: bayige::app::Ctx,
    /// The thread running this app's background tasks (outbox worker,
    /// schedule) on a runtime of its own; None for a mere view of the app,
    /// or once stopped.
    background: std::sync::Mutex<Option<std::thread::JoinHandle<()>>>,
    _guard: DbGuard,
}

/// What every test connection to PostgreSQL adds. The server is on the
/// loopback with trust auth, so neither TLS nor GSSAPI protects anything;
/// with them on, libpq calls OpenSSL (and krb5) in whatever thread is
/// connecting, and a thread still doing so while the test process exits
/// races their atexit clean-up: CI once ended "220 passed" with SIGSEGV
/// (the same crash as diesel-rs/diesel#3441).
const PG_TEST_PARAMS: &str = "sslmode=disable&gssencmode=disable";

/// `BAYIGE_TEST_DATABASE_URL` without its query string.
fn pg_env_url() -> String {
    let url = std::env::var("BAYIGE_TEST_DATABASE_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| panic!("BAYIGE_TEST_DATABASE_URL is not set: {PG_IGNORED}"));
    url.split_once('?').map(|(u, _)| u.to_owned()).unwrap_or(url)
}

/// The URL of database `name` on the test server.
pub fn pg_database_url(name: &str) -> String {
    let url = pg_env_url();
    let base = url.rsplit_once('/').map(|(b, _)| b).unwrap_or(&url);
    format!("{base}/{name}?{PG_TEST_PARAMS}")
}

/// The PostgreSQL server for tests. Only PostgreSQL tests call this, and
/// they are ignored unless the variable was set when they were built; set
/// then but not now is an error, never a silent pass.
pub fn pg_admin_url() -> String {
    format!("{}?{PG_TEST_PARAMS}", pg_env_url())
}

/// The name of the database a PostgreSQL URL names.
pub fn pg_database_name(url: &str) -> &str {
    let path = url.split_once('?').map(|(u, _)| u).unwrap_or(url);
    path.rsplit('/').next().unwrap_or(path)
}

/// A fresh, empty PostgreSQL database; its URL and the guard that drops it.
pub fn fresh_pg_database() -> (String, DbGuard) {
    let admin_url = pg_admin_url();
    // The clock alone is not unique: two tests starting in the same tick
    // once got the same name (CI: "duplicate key … pg_database_datname").
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let name = format!(
        "bayige_test_{}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
            % 1_000_000_000_000
    );
    let mut admin = PgConnection::establish(&admin_url)
        .unwrap_or_else(|e| panic!("BAYIGE_TEST_DATABASE_URL is set but PostgreSQL does not answer: {e}"));
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    let url = pg_database_url(&name);
    (url, DbGuard::Postgres { admin_url, name })
}

pub fn fresh_sqlite() -> (String, DbGuard) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("bayige.db").display());
    (url, DbGuard::Sqlite(dir))
}

/// The evidence size limit in tests (small, so the limit is quick to hit).
pub const TEST_EVIDENCE_LIMIT: usize = 256 * 1024;

pub fn common(db_url: &str, checklists: Option<PathBuf>, data_dir: PathBuf) -> Common {
    Common {
        database_url: db_url.to_owned(),
        checklists,
        timezone: "Asia/Shanghai".into(),
        today: None,
        data_dir,
        guidance_due_days: 15,
        evidence_max_bytes: TEST_EVIDENCE_LIMIT,
        circular_prefix: None,
        circular_issuer: None,
        circular_cc: None,
        lag_tolerance: 0.0,
        circular_schedule: None,
        smtp_url: None,
        mail_from: "白山市工商局 <noreply@baishan.example>".into(),
        mail_max_attempts: 8,
        mail_retry_base_ms: 100,
        mail_poll_ms: 50,
        mail_lease_secs: 300,
        request_timeout_secs: 60,
        cookie_secure: Some(true),
        progress_cache_ms: 0,
        documents: Default::default(),
        // The notice scheduler runs only where a test asks for it.
        notices: bayige::cli::NoticeArgs {
            notices: Some(false),
            ..Default::default()
        },
        disputes: Default::default(),
    }
}

/// Which database a configurable test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Like `backend_tests!`, for `async fn name(db: Db)` tests that start
/// their own apps with their own settings.
#[macro_export]
macro_rules! backend_cases {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::support::Db::Sqlite).await
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                #[cfg_attr(not(bayige_pg), ignore = "set BAYIGE_TEST_DATABASE_URL to run on PostgreSQL")]
                async fn $name() {
                    super::$name($crate::support::Db::Postgres).await
                }
            )*
        }
    };
}

impl Drop for TestApp {
    /// Stops the background tasks and waits until they have ended, before
    /// the database goes away, so that none of them works on a dropped
    /// database.
    fn drop(&mut self) {
        if let Some(thread) = self.take_background() {
            self.ctx.shutdown();
            if thread.join().is_err() && !std::thread::panicking() {
                panic!("a background task of the app panicked");
            }
        }
    }
}

/// Runs the app's background tasks on a thread with a runtime of its own,
/// so that dropping a `TestApp` can wait for them to end whatever runtime
/// the test runs on (a current-thread runtime could not run them while the
/// drop waits). The thread ends when the tasks have ended.
async fn spawn_background(ctx: bayige::app::Ctx) -> std::thread::JoinHandle<()> {
    let (started, on_start) = tokio::sync::oneshot::channel();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("background runtime");
        rt.block_on(async move {
            let tasks = bayige::cli::spawn_background(&ctx).expect("background tasks");
            let _ = started.send(());
            for t in tasks {
                t.await.expect("background task");
            }
        });
    });
    on_start.await.expect("the background tasks started");
    thread
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        let (url, guard) = fresh_sqlite();
        Self::start(url, guard, "sqlite", None).await
    }

    pub async fn postgres() -> TestApp {
        let (url, guard) = fresh_pg_database();
        Self::start(url, guard, "postgres", None).await
    }

    pub async fn start(db_url: String, guard: DbGuard, backend: &'static str, checklists: Option<PathBuf>) -> TestApp {
        Self::start_with(db_url, guard, backend, move |c| c.checklists = checklists).await
    }

    /// An app on a fresh database of `db`, with settings changed by `f`.
    pub async fn new(db: Db, f: impl FnOnce(&mut Common) + Send + 'static) -> TestApp {
        match db {
            Db::Sqlite => {
                let (url, guard) = fresh_sqlite();
                Self::start_with(url, guard, "sqlite", f).await
            }
            Db::Postgres => {
                let (url, guard) = fresh_pg_database();
                Self::start_with(url, guard, "postgres", f).await
            }
        }
    }

    /// A second instance on the same database with settings changed by `f`.
    pub async fn restart_with(&self, f: impl FnOnce(&mut Common) + Send + 'static) -> TestApp {
        Self::start_with(self.db_url.clone(), DbGuard::Shared, self.backend, f).await
    }

    pub async fn start_with(
        db_url: String,
        guard: DbGuard,
        backend: &'static str,
        f: impl FnOnce(&mut Common) + Send + 'static,
    ) -> TestApp {
        let data = tempfile::tempdir().expect("data dir");
        let mut common = common(&db_url, None, data.path().to_owned());
        f(&mut common);
        let ctx = tokio::task::spawn_blocking(move || bayige::cli::context(&common, 4))
            .await
            .expect("join")
            .expect("app context");
        let background = spawn_background(ctx.clone()).await;
        let app_ctx = ctx.clone();
        // Every app has an administrator; the default client acts as them.
        let admin_ctx = ctx.clone();
        let admin_token = tokio::task::spawn_blocking(move || issue_token(&admin_ctx, "admin", "admin", &[]))
            .await
            .expect("join");
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
        let port = listener.local_addr().expect("addr").port();
        let server = bayige::http::server(ctx, listener, 2).expect("server");
        tokio::spawn(server);
        TestApp {
            base: format!("http://127.0.0.1:{port}"),
            client: client_with(&admin_token),
            db_url,
            backend,
            data,
            ctx: app_ctx,
            background: std::sync::Mutex::new(Some(background)),
            _guard: guard,
        }
    }

    /// The Baishan demo as seen on 2017-07-14 (mid-year, when its circular
    /// is due): what most page and browser tests start from.
    pub async fn demo(db: Db) -> TestApp {
        let app = TestApp::new(db, |c| c.today = chrono::NaiveDate::from_ymd_opt(2017, 7, 14)).await;
        app.load_demo().await;
        app
    }

    /// An API token for a new user `username` with `role` in `units`.
    pub async fn token(&self, username: &str, role: &str, units: &[i32]) -> String {
        let (ctx, username, role, units) = (self.ctx.clone(), username.to_owned(), role.to_owned(), units.to_vec());
        tokio::task::spawn_blocking(move || issue_token(&ctx, &username, &role, &units))
            .await
            .expect("join")
    }

    /// Loads the Baishan demo data set into this app's database.
    pub async fn load_demo(&self) {
        let ctx = self.ctx.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = ctx.pool.get().expect("conn");
            bayige::app::demo::load(&mut conn, &ctx).expect("demo loads")
        })
        .await
        .expect("join");
    }

    /// A second server on the same database, as after a restart, with
    /// extra checklists.
    pub async fn restart(&self, checklists: Option<PathBuf>) -> TestApp {
        TestApp::start(self.db_url.clone(), DbGuard::Shared, self.backend, checklists).await
    }

    /// A client acting as a new user with `role` in `units`.
    pub async fn as_user(&self, username: &str, role: &str, units: &[i32]) -> TestApp {
        let ctx = self.ctx.clone();
        let (name, role, units) = (username.to_owned(), role.to_owned(), units.to_vec());
        let token = tokio::task::spawn_blocking(move || issue_token(&ctx, &name, &role, &units))
            .await
            .expect("join");
        self.with_client(client_with(&token))
    }

    /// The same app seen through another client.
    pub fn with_client(&self, client: Client) -> TestApp {
        TestApp {
            base: self.base.clone(),
            client,
            db_url: self.db_url.clone(),
            backend: self.backend,
            data: tempfile::tempdir().expect("dir"),
            ctx: self.ctx.clone(),
            background: std::sync::Mutex::new(None),
            _guard: DbGuard::Shared,
        }
    }

    fn take_background(&self) -> Option<std::thread::JoinHandle<()>> {
        self.background.lock().map_or(None, |mut b| b.take())
    }

    /// Stops this app's background tasks (the outbox worker and the
    /// schedule) and returns once they have ended: no delivery is being
    /// sent by them any more. The HTTP service keeps running.
    pub async fn stop_background(&self) {
        if let Some(thread) = self.take_background() {
            self.ctx.shutdown();
            tokio::task::spawn_blocking(move || thread.join())
                .await
                .expect("join")
                .expect("a background task of the app panicked");
        }
    }

    /// Sends every delivery that is due now, in this task, and returns how
    /// many were handled (see `bayige::app::outbox::run_pending`).
    pub async fn run_pending(&self) -> usize {
        bayige::app::outbox::run_pending(&self.ctx).await.expect("outbox")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn send(&self, method: reqwest::Method, path: &str, body: &Value) -> Response {
        self.client
            .request(method, self.url(path))
            .json(body)
            .send()
            .await
            .expect("request")
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.send(reqwest::Method::POST, path, body).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.send(reqwest::Method::PUT, path, body).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.send(reqwest::Method::PATCH, path, body).await
    }

    /// Sends a raw body with the JSON content type.
    pub async fn post_raw(&self, path: &str, body: &str) -> Response {
        self.client
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("POST raw")
    }

    /// Creates a unit and returns its id.
    pub async fn unit(&self, code: &str, name: &str) -> i64 {
        let r = self
            .post(
                "/api/units",
                &serde_json::json!({"code": code, "name": name, "kind": "county"}),
            )
            .await;
        let (status, body) = json(r).await;
        assert_eq!(status, 201, "{body}");
        body["id"].as_i64().expect("unit id")
    }
}

/// A client that sends `Authorization: Bearer <token>` with every request.
pub fn client_with(token: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    let value = reqwest::header::HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
    headers.insert(reqwest::header::AUTHORIZATION, value);
    Client::builder().default_headers(headers).build().expect("client")
}

/// Creates a user (or reuses it) and returns a fresh API token for it.
pub fn issue_token(ctx: &bayige::app::Ctx, username: &str, role: &str, units: &[i32]) -> String {
    use bayige::app::users::{self, TokenInput, UserInput};
    let system = bayige::auth::Principal::system("test");
    let mut conn = ctx.pool.get().expect("conn");
    let user = match users::by_username(&mut conn, username) {
        Ok(u) => u.id,
        Err(_) => {
            let input = UserInput {
                username: Some(username.to_owned()),
                display_name: Some(format!("测试{username}")),
                email: Some(format!("{username}@test.example")),
                role: Some(role.to_owned()),
                units: Some(units.to_vec()),
                password: Some("correct horse battery".to_owned()),
                active: Some(true),
                station_id: None,
            };
            users::create(&mut conn, &system, input).expect("create user").user.id
        }
    };
    let input = TokenInput {
        name: Some(format!("test token of {username}")),
        user_id: Some(user),
    };
    users::create_token(&mut conn, &system, input).expect("token").secret
}

/// Status and JSON body of a response.
pub async fn json(r: Response) -> (u16, Value) {
    let status = r.status().as_u16();
    let text = r.text().await.expect("body");
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON ({status}): {text}"));
    (status, body)
}

/// Asserts a 422 whose `fields` names `field`.
pub fn assert_field_error(status: u16, body: &Value, field: &str) {
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["code"], "validation_failed", "{body}");
    assert!(
        body["error"]["fields"][field].as_array().is_some_and(|a| !a.is_empty()),
        "expected an error for {field}: {body}"
    );
}
