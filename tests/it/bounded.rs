//! Issue 17, bounded memory: exports are written to a file in the data
//! folder and streamed from it, and nothing of them stays behind (after a
//! download, after a client that went away, after a crash: cleared at
//! start); the register import refuses what is over its limits, naming
//! them.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::backend_cases;
use crate::circulars::baishan;
use crate::smtp::SmtpServer;
use crate::support::{Db, TestApp, assert_field_error, json};

backend_cases!(
    exports_leave_no_file_behind,
    a_client_that_goes_away_leaves_no_file,
    the_import_refuses_what_is_over_its_limits,
);

/// What is in the export folder, by name.
fn leftovers(data: &Path) -> Vec<String> {
    match std::fs::read_dir(data.join(".exports")) {
        Ok(entries) => entries
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Files of the export folder this process still holds open (removed from
/// the folder or not): what a stream that never ended would keep.
fn open_exports(data: &Path) -> Vec<String> {
    let folder = data.join(".exports").to_string_lossy().into_owned();
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .map(|target| target.to_string_lossy().into_owned())
        .filter(|target| target.starts_with(&folder))
        .collect()
}

/// Waits (a few seconds at most) until no export file is held open.
async fn none_held_open(data: &Path) {
    let start = Instant::now();
    loop {
        let open = open_exports(data);
        if open.is_empty() {
            return;
        }
        assert!(start.elapsed() < Duration::from_secs(10), "still open: {open:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn exports_leave_no_file_behind(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;
    let (_, stations) = json(app.get("/api/stations?per_page=1").await).await;
    let stations = stations["total"].as_u64().expect("total");
    for path in [
        "/api/stations/export",
        "/api/progress/export?year=2017&as_of=2017-07-14",
        "/api/guidance/export?as_of=2017-08-01",
        "/api/visits/export",
        "/api/disputes/export",
    ] {
        for format in ["xlsx", "csv"] {
            let sep = if path.contains('?') { '&' } else { '?' };
            let r = app.get(&format!("{path}{sep}format={format}")).await;
            assert_eq!(r.status(), 200, "{path} {format}");
            let length: usize = r.headers()["content-length"]
                .to_str()
                .ok()
                .and_then(|l| l.parse().ok())
                .expect("a Content-Length: the file is complete before it is sent");
            let disposition = r.headers()["content-disposition"].to_str().expect("ASCII").to_owned();
            assert!(
                disposition.starts_with("attachment") && disposition.ends_with(format),
                "{disposition}"
            );
            let body = r.bytes().await.expect("body");
            assert_eq!(body.len(), length, "{path} {format}");
            match format {
                "xlsx" => assert!(body.starts_with(b"PK\x03\x04"), "{path}: a zip"),
                _ => assert!(body.starts_with("\u{feff}".as_bytes()), "{path}: CSV with a BOM"),
            }
            if path == "/api/stations/export" && format == "csv" {
                let lines = String::from_utf8(body.to_vec()).expect("UTF-8").lines().count() as u64;
                assert_eq!(lines, stations + 1, "every station and the header");
            }
            assert_eq!(leftovers(app.data.path()), Vec::<String>::new(), "{path} {format}");
        }
    }
    none_held_open(app.data.path()).await;
    // A refused export writes nothing either.
    let (status, err) = json(app.get("/api/stations/export?format=doc").await).await;
    assert_field_error(status, &err, "format");
    assert_eq!(leftovers(app.data.path()), Vec::<String>::new());
}

/// A download stopped after its first bytes: the file is closed (and its
/// space freed) all the same.
async fn a_client_that_goes_away_leaves_no_file(db: Db) {
    let app = TestApp::new(db, |_| {}).await;
    let out = crate::cli::bayige(
        &["generate", "--units", "4", "--stations", "60000", "--seed", "3"],
        &app.db_url,
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut r = app.get("/api/stations/export?format=csv").await;
    assert_eq!(r.status(), 200);
    let length: u64 = r.headers()["content-length"]
        .to_str()
        .expect("ASCII")
        .parse()
        .expect("length");
    assert!(length > 4 << 20, "larger than what the sockets buffer: {length}");
    let first = r.chunk().await.expect("a chunk").expect("some bytes");
    assert!(!first.is_empty());
    assert_eq!(
        leftovers(app.data.path()),
        Vec::<String>::new(),
        "removed from the folder already"
    );
    drop(r);
    none_held_open(app.data.path()).await;
}

/// Files left in the export folder (a crash while writing) are removed
/// when the app starts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leftovers_are_removed_at_start() {
    let data = tempfile::tempdir().expect("data dir");
    let folder = data.path().join(".exports");
    std::fs::create_dir_all(&folder).expect("folder");
    std::fs::write(folder.join("export-crashed"), b"half a sheet").expect("leftover");
    let dir = data.path().to_owned();
    let app = TestApp::new(Db::Sqlite, move |c| c.data_dir = dir).await;
    assert_eq!(leftovers(data.path()), Vec::<String>::new());
    let r = app.get("/api/stations/export").await;
    assert_eq!(r.status(), 200);
}

async fn import(app: &TestApp, file: Vec<u8>) -> (u16, Value) {
    let part = reqwest::multipart::Part::bytes(file).file_name("名录.csv");
    let form = reqwest::multipart::Form::new().part("file", part);
    let url = app.url("/api/stations/import?dry_run=true");
    json(app.client.post(url).multipart(form).send().await.expect("POST")).await
}

async fn the_import_refuses_what_is_over_its_limits(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;
    let header = String::from_utf8(crate::spreadsheets::download(&app, "/api/stations/export?format=csv").await)
        .expect("UTF-8")
        .lines()
        .next()
        .expect("header")
        .to_owned();
    // 20,001 rows under the header: one over the limit (the rows need not
    // be valid: the count is checked first).
    let mut csv = header.clone();
    for i in 0..20_001 {
        csv.push_str(&format!("\n220605,服务站{i},,,,,,,,,"));
    }
    let (status, err) = import(&app, csv.into_bytes()).await;
    assert_field_error(status, &err, "file");
    let message = err["error"]["fields"]["file"][0].as_str().expect("message");
    assert!(
        message.contains("20000") && message.contains("20002"),
        "names the limit and the row: {message}"
    );

    // A file over 10 MiB: 413 naming the limit, before it is parsed.
    let big = format!("{header}\n{}", "x".repeat(10 << 20)).into_bytes();
    let (status, err) = import(&app, big).await;
    assert_eq!(status, 413, "{err}");
    assert_eq!(err["error"]["code"], "payload_too_large", "{err}");
    let message = err["error"]["message"].as_str().expect("message");
    assert!(message.contains("10 MB") || message.contains("10485760"), "{message}");

    // Within the limits the same kind of file is read (and its bad rows reported).
    let (status, report) = import(&app, format!("{header}\n220605,服务站,,,,,,,,,").into_bytes()).await;
    assert_eq!(status, 200, "{report}");
    assert!(!report["errors"].as_array().expect("errors").is_empty(), "{report}");
}
