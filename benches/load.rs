//! Load benchmark: the release binary serving on 127.0.0.1, driven by this
//! program (a bounded Rust load generator), against baselines measured in
//! the same run. See `benches/RESULTS.md` for figures and how to read them.
//!
//! Run: `cargo bench --bench load` (SQLite; PostgreSQL too when
//! `BAYIGE_TEST_DATABASE_URL` is set). `BAYIGE_BENCH_STATIONS=10000,1000000`
//! chooses the data sizes (default 10000); `BAYIGE_BENCH_SECONDS` the length
//! of each phase (default 8); `BAYIGE_BENCH_BACKENDS=postgres` one backend;
//! `BAYIGE_BENCH_SKIP_FANOUT=1` leaves out the 3,000-recipient circular.
//! Every request goes to 127.0.0.1 and every phase stops by itself.

#[path = "../tests/it/smtp.rs"]
#[allow(dead_code)]
mod smtp;

mod common;

use common::cli::{BIN, admin_token, run};

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bayige::app::visits::{self, ItemInput, VisitInput};
use bayige::auth::Principal;
use bayige::db::Backend;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

const CODES: [&str; 8] = [
    "place", "plaque", "liaison", "phone", "register", "bulletin", "rules", "computer",
];

fn seconds() -> Duration {
    Duration::from_secs(
        std::env::var("BAYIGE_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(8),
    )
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn rss_kb(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            })
            .unwrap_or(0)
    }
}

async fn serve(url: &str, data: &std::path::Path, smtp: Option<&str>) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let mut cmd = Command::new(BIN);
    cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--pool-size", "16"])
        .env("BAYIGE_DATABASE_URL", url)
        .env("BAYIGE_DATA_DIR", data)
        .env("BAYIGE_LOG", "warn")
        .env("BAYIGE_MAIL_POLL_MS", "200")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(s) = smtp {
        cmd.env("BAYIGE_SMTP_URL", s);
    }
    // Killed and waited for when the `Server` is dropped.
    let server = Server {
        child: cmd.spawn().expect("serve"),
        base: format!("http://127.0.0.1:{port}"),
    };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        let up = client.get(format!("{}/healthz", server.base)).send().await;
        if up.is_ok_and(|r| r.status().is_success()) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not start");
}

/// The path of the i-th request of a phase.
type PathOf = Arc<dyn Fn(usize) -> String + Send + Sync>;

#[derive(Default)]
struct Stats {
    latencies: Vec<Duration>,
    errors: usize,
    elapsed: Duration,
}

impl Stats {
    fn pct(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        self.latencies[i].as_secs_f64() * 1000.0
    }

    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn line(&self, what: &str) -> String {
        format!(
            "{what:<44} {:>8.1}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  n={} errors={}",
            self.rate(),
            self.pct(0.5),
            self.pct(0.99),
            self.latencies.len(),
            self.errors
        )
    }
}

/// Runs `make(i)` requests from `concurrency` tasks for the phase length.
async fn load<F, Fut>(concurrency: usize, make: F) -> Stats
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send,
{
    let make = Arc::new(make);
    let deadline = Instant::now() + seconds();
    let started = Instant::now();
    let tasks: Vec<_> = (0..concurrency)
        .map(|t| {
            let make = make.clone();
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0;
                let mut i = t;
                while Instant::now() < deadline {
                    let s = Instant::now();
                    if make(i).await {
                        lat.push(s.elapsed());
                    } else {
                        errors += 1;
                    }
                    i += concurrency;
                }
                (lat, errors)
            })
        })
        .collect();
    let mut stats = Stats::default();
    for t in tasks {
        let (lat, errors) = t.await.expect("task");
        stats.latencies.extend(lat);
        stats.errors += errors;
    }
    stats.elapsed = started.elapsed();
    stats.latencies.sort();
    stats
}

fn visit_body() -> serde_json::Value {
    let items: Vec<_> = CODES
        .iter()
        .map(|c| serde_json::json!({"code": c, "result": "met"}))
        .collect();
    serde_json::json!({"kind": "routine", "visited_on": chrono::Utc::now().date_naive().to_string(), "inspector": "压测", "items": items})
}

fn visit_input() -> VisitInput {
    VisitInput {
        kind: Some("routine".into()),
        visited_on: Some(chrono::Utc::now().date_naive()),
        inspector: Some("压测".into()),
        summary: None,
        items: Some(
            CODES
                .iter()
                .map(|c| ItemInput {
                    code: Some((*c).into()),
                    result: Some("met".into()),
                    ..ItemInput::default()
                })
                .collect(),
        ),
        ..VisitInput::default()
    }
}

fn ids(url: &str, sql_status: &str) -> Vec<i32> {
    let mut conn = bayige::db::DbUrl::parse(url).expect("url").connect().expect("connect");
    use bayige::db::schema::stations;
    stations::table
        .filter(stations::status.eq_any(sql_status.split(',').collect::<Vec<_>>()))
        .select(stations::id)
        .order(stations::id)
        .load(&mut conn)
        .expect("ids")
}

async fn bench_backend(backend: Backend, n: u64) {
    let Some(db) = common::fresh(backend, &format!("load_{n}")) else {
        return;
    };
    let data = tempfile::tempdir().expect("data");
    let t = Instant::now();
    run(&["migrate"], &db.url, None);
    run(
        &[
            "generate",
            "--units",
            "100",
            "--stations",
            &n.to_string(),
            "--seed",
            "7",
        ],
        &db.url,
        None,
    );
    println!(
        "\n== {} · {n} stations (generated in {:.1} s) ==",
        backend.as_str(),
        t.elapsed().as_secs_f64()
    );
    let token = admin_token(&db.url, "load");
    let built = ids(&db.url, "established,model,rectifying");
    let server = serve(&db.url, data.path(), None).await;
    let idle = server.rss_kb("VmRSS:");
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("authorization", format!("Bearer {token}").parse().expect("header"));
    let api = reqwest::Client::builder()
        .default_headers(headers)
        .pool_max_idle_per_host(64)
        .build()
        .expect("client");
    // A browser-like session for the dashboard page.
    let web = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("c");
    web.post(format!("{}/login", server.base))
        .form(&[("username", "bench"), ("password", "bench password 1")])
        .send()
        .await
        .expect("login");

    let base = Arc::new(server.base.clone());
    let ids = Arc::new(built);
    let year = chrono::Utc::now().date_naive().format("%Y").to_string();
    let reads: Vec<(&str, PathOf)> = vec![
        (
            "GET station list (unit 1, page 1)",
            Arc::new(|_| "/api/stations?unit_id=1".to_owned()),
        ),
        (
            "GET station list (all, page 50)",
            Arc::new(|_| "/api/stations?page=50".to_owned()),
        ),
        (
            "GET station list (all, keyset after id 980)",
            Arc::new(|_| "/api/stations?after=980".to_owned()),
        ),
        ("GET station page", {
            let ids = ids.clone();
            Arc::new(move |i| format!("/api/stations/{}", ids[(i * 7919) % ids.len()]))
        }),
        ("GET checklist state", {
            let ids = ids.clone();
            Arc::new(move |i| format!("/api/stations/{}/checklist", ids[(i * 7919) % ids.len()]))
        }),
        (
            "GET guidance (overdue, unit 1)",
            Arc::new(|_| "/api/guidance?status=overdue&unit_id=1".to_owned()),
        ),
        ("GET progress", {
            let y = year.clone();
            Arc::new(move |_| format!("/api/progress?year={y}"))
        }),
    ];
    for (name, path) in reads {
        let (api, base) = (api.clone(), base.clone());
        let stats = load(32, move |i| {
            let req = api.get(format!("{base}{}", path(i)));
            async move { req.send().await.is_ok_and(|r| r.status().is_success()) }
        })
        .await;
        println!("{}", stats.line(&format!("{name} ×32")));
    }
    let (w, b) = (web.clone(), base.clone());
    let stats = load(32, move |_| {
        let req = w.get(format!("{b}/"));
        async move { req.send().await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    println!("{}", stats.line("GET dashboard page ×32"));
    let peak_reads = server.rss_kb("VmHWM:");

    let mut http = Vec::new();
    for c in [1usize, 8, 32] {
        let (api, base, ids) = (api.clone(), base.clone(), ids.clone());
        let body = Arc::new(visit_body());
        let stats = load(c, move |i| {
            let req = api
                .post(format!(
                    "{base}/api/stations/{}/visits",
                    ids[(i * 7919 + 13) % ids.len()]
                ))
                .json(&*body);
            async move { req.send().await.is_ok_and(|r| r.status().as_u16() == 201) }
        })
        .await;
        println!("{}", stats.line(&format!("POST visit over HTTP ×{c}")));
        http.push(stats.rate());
    }
    let peak = server.rss_kb("VmHWM:");
    drop(server);

    // The same use case in-process, no HTTP: the baseline.
    let cli = bayige::cli::Cli::parse_from_args(&["bayige", "--database-url", &db.url, "migrate"]);
    let ctx = bayige::cli::context(&cli.common, 16).expect("context");
    for (k, c) in [1usize, 8, 32].into_iter().enumerate() {
        let (ctx, ids) = (ctx.clone(), ids.clone());
        let p = Principal::system("bench");
        let stats = load(c, move |i| {
            let (ctx, ids, p) = (ctx.clone(), ids.clone(), p.clone());
            async move {
                tokio::task::spawn_blocking(move || {
                    let mut conn = ctx.pool.get().expect("conn");
                    visits::record(&mut conn, &ctx, &p, ids[(i * 7919 + 29) % ids.len()], visit_input()).is_ok()
                })
                .await
                .unwrap_or(false)
            }
        })
        .await;
        println!(
            "{}   HTTP/in-process = {:.2}",
            stats.line(&format!("record visit in-process ×{c}")),
            http[k] / stats.rate()
        );
    }
    println!(
        "server RSS: idle {:.1} MB, peak under reads {:.1} MB, peak overall {:.1} MB",
        idle as f64 / 1024.0,
        peak_reads as f64 / 1024.0,
        peak as f64 / 1024.0
    );
}

async fn fan_out(backend: Backend) {
    let Some(db) = common::fresh(backend, "load_fanout") else {
        return;
    };
    let data = tempfile::tempdir().expect("data");
    run(&["migrate"], &db.url, None);
    run(
        &["generate", "--units", "30", "--stations", "3000", "--seed", "3"],
        &db.url,
        None,
    );
    let token = admin_token(&db.url, "fanout");
    {
        // 3,000 county leads, 100 per unit.
        let mut conn = bayige::db::DbUrl::parse(&db.url)
            .expect("url")
            .connect()
            .expect("connect");
        let now = if backend == Backend::Sqlite {
            "'2026-01-01 00:00:00'"
        } else {
            "TIMESTAMP '2026-01-01 00:00:00'"
        };
        let t = if backend == Backend::Sqlite { "1" } else { "TRUE" };
        let mut sql = String::new();
        for i in 0..3000 {
            sql.push_str(&format!(
                "INSERT INTO users (username, display_name, email, role, password_hash, active, failed_logins, created_at, updated_at) \
                 VALUES ('lead{i}', '负责人{i}', 'lead{i}@bench.example', 'county_lead', '', {t}, 0, {now}, {now});
                 INSERT INTO user_units (user_id, unit_id) SELECT id, {} FROM users WHERE username = 'lead{i}';\n",
                1 + i % 30
            ));
        }
        conn.batch_execute(&format!("BEGIN; {sql} COMMIT;")).expect("leads");
    }
    let sink = smtp::SmtpServer::start();
    let server = serve(&db.url, data.path(), Some(&sink.url())).await;
    let client = reqwest::Client::new();
    let year = chrono::Utc::now().date_naive().format("%Y").to_string();
    let started = Instant::now();
    let r = client
        .post(format!("{}/api/circulars", server.base))
        .bearer_auth(&token)
        .json(&serde_json::json!({"year": year.parse::<i32>().unwrap_or(2026)}))
        .send()
        .await
        .expect("issue");
    assert_eq!(r.status(), 201, "{:?}", r.text().await);
    let mails = sink.wait_for(3000, Duration::from_secs(600)).await;
    let ours = started.elapsed();
    assert_eq!(mails.len(), 3000);
    let body = mails[0].raw.clone();
    drop(server);

    // Baseline: a plain lettre loop sending 3,000 messages of the same size.
    let sink2 = smtp::SmtpServer::start();
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous("127.0.0.1")
        .port(sink2.port)
        .build();
    let from: Mailbox = "bench <noreply@bench.example>".parse().expect("from");
    let text = String::from_utf8_lossy(&body).into_owned();
    let started = Instant::now();
    for i in 0..3000 {
        let msg = Message::builder()
            .from(from.clone())
            .to(format!("lead{i}@bench.example").parse().expect("to"))
            .subject("通报")
            .multipart(MultiPart::alternative_plain_html(text.clone(), text.clone()))
            .expect("message");
        transport.send(msg).await.expect("send");
    }
    let plain = started.elapsed();
    let (r1, r2) = (3000.0 / ours.as_secs_f64(), 3000.0 / plain.as_secs_f64());
    println!(
        "\n== {} · circular fan-out to 3000 recipients ==\nbayige outbox {:.1} mails/s ({:.1} s, issue to last mail) · plain lettre loop {:.1} mails/s ({:.1} s) · ratio {:.2}",
        backend.as_str(),
        r1,
        ours.as_secs_f64(),
        r2,
        plain.as_secs_f64(),
        r1 / r2
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let sizes: Vec<u64> = std::env::var("BAYIGE_BENCH_STATIONS")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000]);
    println!(
        "machine: {} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        mem()
    );
    let only = std::env::var("BAYIGE_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite,postgres".into());
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if !only.contains(backend.as_str()) {
            continue;
        }
        for &n in &sizes {
            bench_backend(backend, n).await;
        }
        if std::env::var("BAYIGE_BENCH_SKIP_FANOUT").is_err() {
            fan_out(backend).await;
        }
    }
}

fn mem() -> String {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").to_owned())
        })
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or("unknown memory".into(), |kb| {
            format!("{:.1} GiB", kb as f64 / 1024.0 / 1024.0)
        })
}
