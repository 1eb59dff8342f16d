//! Spreadsheets at scale through the release binary (issue 17, part 4).
//!
//! Export: `bayige generate` fills a fresh database with
//! `BAYIGE_BENCH_STATIONS` stations (default 100000; comma-separated for
//! several sizes), then for XLSX and CSV a fresh `bayige serve` answers
//! `GET /api/stations/export`: time, file size and the server's peak
//! resident memory (`VmHWM`) against its idle memory. Baseline in the same
//! run: the sheet writer alone writing as many register rows in this
//! process (no database, no HTTP).
//!
//! Import: for `BAYIGE_BENCH_IMPORT_ROWS` rows (default 10000), the
//! register exported from a generated database with every phone number
//! changed (but revoked stations', which cannot be edited), written as XLSX, imported by `bayige import stations` with and
//! without `--dry-run` (every row an update): time and peak memory of the
//! command (`/usr/bin/time`). Baseline: the export of the same register.
//!
//! `cargo bench --bench exports`; `BAYIGE_BENCH_BACKENDS=sqlite,postgres`
//! (default sqlite; PostgreSQL needs `BAYIGE_TEST_DATABASE_URL`).

mod common;

use common::cli::{BIN, admin_token, run};

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bayige::db::Backend;
use bayige::domain::{Category, StationStatus};
use bayige::sheets::stations::{StationRecord, record_cells, table_spec};
use bayige::sheets::write::{Cell, SheetFormat, TableWriter};

fn sizes(var: &str, default: u64) -> Vec<u64> {
    std::env::var(var)
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![default])
}

/// Runs bayige under `/usr/bin/time`: (seconds, peak RSS in KiB, stdout).
fn run_measured(args: &[&str], url: &str) -> (f64, u64, String) {
    let started = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "peak_kib=%M"])
        .arg(BIN)
        .args(args)
        .env("BAYIGE_DATABASE_URL", url)
        .env("BAYIGE_LOG", "warn")
        .output()
        .expect("/usr/bin/time (Debian package time)");
    let secs = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bayige {args:?} failed: {stderr}");
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix("peak_kib="))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    (secs, peak, String::from_utf8_lossy(&out.stdout).into_owned())
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
    async fn start(url: &str, data: &std::path::Path) -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(BIN)
            .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
            .env("BAYIGE_DATABASE_URL", url)
            .env("BAYIGE_DATA_DIR", data)
            .env("BAYIGE_LOG", "warn")
            .env("BAYIGE_PDF", "false")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("serve");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..400 {
            let up = reqwest::get(format!("{}/healthz", server.base)).await;
            if up.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the server did not start");
    }

    fn kib(&self, field: &str) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with(field))
                    .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
            })
            .unwrap_or(0)
    }

    /// GETs `path` with the token: (seconds, body).
    async fn get(&self, path: &str, token: &str) -> (f64, Vec<u8>) {
        let started = Instant::now();
        let r = reqwest::Client::new()
            .get(format!("{}{path}", self.base))
            .bearer_auth(token)
            .timeout(Duration::from_secs(1800))
            .send()
            .await
            .expect("request");
        assert!(r.status().is_success(), "{path}: {}", r.status());
        let body = r.bytes().await.expect("body").to_vec();
        (started.elapsed().as_secs_f64(), body)
    }
}

fn record(n: u64) -> StationRecord {
    StationRecord {
        unit_code: "220602".into(),
        name: format!("白山七天连锁酒店民主路店{n}号12315消费维权服务站"),
        host_business: "七天连锁酒店民主路店".into(),
        credit_code: Some("91220602MA0Y3ABC4X".into()),
        category: Category::Hotel,
        address: format!("白山市民主路{}号", n % 300),
        liaison_name: "王丽".into(),
        liaison_phone: "13943912345".into(),
        standard_id: "baxiangyi-common".into(),
        status: StationStatus::Established,
        established_on: chrono::NaiveDate::from_ymd_opt(2017, 7, 14),
    }
}

/// The baseline: the writer alone, `rows` register rows (seconds, bytes).
fn writer_alone(format: SheetFormat, rows: u64) -> (f64, usize) {
    let started = Instant::now();
    let mut w = TableWriter::new(format, table_spec(None)).expect("writer");
    for n in 0..rows {
        w.push(&record_cells(&record(n)), false).expect("row");
    }
    let bytes = w.finish().expect("finish");
    (started.elapsed().as_secs_f64(), bytes.len())
}

fn generate(url: &str, stations: u64) -> f64 {
    let started = Instant::now();
    run(&["migrate"], url, None);
    let n = stations.to_string();
    let args = [
        "generate",
        "--units",
        "100",
        "--stations",
        &n,
        "--visits-per-station",
        "1",
        "--seed",
        "7",
    ];
    run(&args, url, None);
    started.elapsed().as_secs_f64()
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

async fn export(backend: Backend, n: u64) {
    let Some(db) = common::fresh(backend, &format!("exports_{n}")) else {
        return;
    };
    let data = tempfile::tempdir().expect("data dir");
    let generated = generate(&db.url, n);
    let token = admin_token(&db.url, "exports");
    println!(
        "\n== export · {} · {n} stations (generated in {generated:.1} s) ==",
        backend.as_str()
    );
    for (format, name) in [(SheetFormat::Xlsx, "xlsx"), (SheetFormat::Csv, "csv")] {
        let (base_secs, base_bytes) = writer_alone(format, n);
        let server = Server::start(&db.url, data.path()).await;
        let idle = server.kib("VmRSS:");
        let (secs, body) = server.get(&format!("/api/stations/export?format={name}"), &token).await;
        let peak = server.kib("VmHWM:");
        println!(
            "{name}: {secs:.2} s, {:.1} MB, server RSS idle {:.1} MiB → peak {:.1} MiB (+{:.1}); \
             writer alone {base_secs:.2} s, {:.1} MB → API/writer time {:.2}",
            body.len() as f64 / 1e6,
            mib(idle),
            mib(peak),
            mib(peak.saturating_sub(idle)),
            base_bytes as f64 / 1e6,
            secs / base_secs.max(1e-9)
        );
    }
}

/// The exported register (CSV) with every phone number changed, as XLSX.
fn changed_register(csv_bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(csv_bytes);
    let mut reader = csv::ReaderBuilder::new().from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let mut w = TableWriter::new(SheetFormat::Xlsx, table_spec(None)).expect("writer");
    for (i, record) in reader.records().enumerate() {
        let record = record.expect("a CSV record");
        // A revoked station cannot be edited (the import says so per row).
        let revoked = matches!(record.get(9), Some("已撤销" | "取消建站计划"));
        let cells: Vec<Cell> = record
            .iter()
            .enumerate()
            .map(|(col, value)| match (col, value) {
                (_, "") => Cell::Empty,
                (7, _) if !revoked => Cell::Text(format!("0439-{}", 1_000_000 + i)),
                (10, d) => d.parse().map_or_else(|_| Cell::Text(d.to_owned()), Cell::Date),
                (_, v) => Cell::Text(bayige::sheets::write::restore(v).to_owned()),
            })
            .collect();
        w.push(&cells, false).expect("row");
    }
    w.finish().expect("finish")
}

async fn import(n: u64) {
    let Some(db) = common::fresh(Backend::Sqlite, &format!("import_{n}")) else {
        return;
    };
    let data = tempfile::tempdir().expect("data dir");
    generate(&db.url, n);
    let token = admin_token(&db.url, "exports");
    let server = Server::start(&db.url, data.path()).await;
    let (export_secs, csv_bytes) = server.get("/api/stations/export?format=csv", &token).await;
    drop(server);
    let file = data.path().join("register.xlsx");
    std::fs::write(&file, changed_register(&csv_bytes)).expect("write the file");
    let path = file.to_str().expect("path");
    let max = n.to_string();
    println!(
        "\n== import · sqlite · {n} rows, all but the revoked an update (export of the same: {export_secs:.2} s) =="
    );
    let mut dry = 0.0;
    for dry_run in [true, false] {
        let mut args = vec!["import", "stations", path, "--max-rows", &max];
        if dry_run {
            args.push("--dry-run");
        }
        let (secs, peak, out) = run_measured(&args, &db.url);
        if dry_run {
            dry = secs;
        }
        println!(
            "{}: {secs:.2} s, peak RSS {:.1} MiB, {:.0} rows/s, import/export time {:.1}{}; {}",
            if dry_run { "dry run" } else { "real" },
            mib(peak),
            n as f64 / secs,
            secs / export_secs.max(1e-9),
            if dry_run {
                String::new()
            } else {
                format!(", real/dry run {:.2}", secs / dry)
            },
            out.trim()
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let backends = std::env::var("BAYIGE_BENCH_BACKENDS").unwrap_or_else(|_| "sqlite".into());
    for backend in [Backend::Sqlite, Backend::Postgres] {
        if backends.contains(backend.as_str()) {
            for n in sizes("BAYIGE_BENCH_STATIONS", 100_000) {
                export(backend, n).await;
            }
        }
    }
    for n in sizes("BAYIGE_BENCH_IMPORT_ROWS", 10_000) {
        import(n).await;
    }
}
