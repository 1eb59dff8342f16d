//! `bayige backup` and `bayige restore`: the demo data with evidence makes
//! the round trip while the service runs, and a damaged archive restores
//! nothing.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

use crate::PNG;
use crate::support::{DbGuard, TestApp, json};

fn bayige(args: &[&str], db_url: &str, data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bayige"))
        .args(args)
        .env("BAYIGE_DATABASE_URL", db_url)
        .env("BAYIGE_DATA_DIR", data_dir)
        .env("BAYIGE_LOG", "warn")
        .output()
        .expect("run bayige")
}

fn ok(o: Output) -> String {
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// What a reader sees of an installation.
async fn view(app: &TestApp, evidence: i64) -> Vec<Value> {
    let mut out = Vec::new();
    for path in [
        "/api/stations?per_page=100",
        "/api/stations?per_page=100&page=2",
        "/api/units",
        "/api/plans?year=2017",
        "/api/progress?year=2017&as_of=2017-07-14",
        "/api/guidance?status=open&per_page=100",
        "/api/circulars",
        "/api/users",
        "/api/stations/1/checklist",
        "/api/stations/25/visits",
    ] {
        let (status, body) = json(app.get(path).await).await;
        assert_eq!(status, 200, "{path}: {body}");
        out.push(body);
    }
    let r = app.get(&format!("/api/evidence/{evidence}")).await;
    assert_eq!(r.status(), 200);
    out.push(json!(r.bytes().await.expect("evidence").to_vec()));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_restore_round_trip_the_demo_data() {
    let app = TestApp::sqlite().await;
    app.load_demo().await;
    let (status, issued) = json(
        app.post("/api/circulars", &json!({"year": 2017, "as_of": "2017-07-14"}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{issued}");
    let (_, visits) = json(app.get("/api/stations/25/visits").await).await;
    let visit = visits["items"][0]["id"].as_i64().expect("a demo visit");
    let form = reqwest::multipart::Form::new().text("item_code", "register").part(
        "file",
        reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("台账.png"),
    );
    let r = app
        .client
        .post(app.url(&format!("/api/visits/{visit}/evidence")))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), 201);
    let evidence = r.json::<Value>().await.expect("evidence")["id"].as_i64().expect("id");
    // Have the outbox write the circular's emails first (its .eml files):
    // end the worker, then send what it left.
    app.stop_background().await;
    app.run_pending().await;
    let (_, list) = json(app.get("/api/circulars").await).await;
    assert_eq!(list["items"][0]["deliveries"]["pending"], 0, "{list}");
    let before = view(&app, evidence).await;

    // Online: the service keeps running (and writing) during the backup.
    let dir = tempfile::tempdir().expect("dir");
    let archive = dir.path().join("bayige-2017.tar");
    let archive_s = archive.to_string_lossy().into_owned();
    let data = app.ctx.settings.data_dir.clone();
    let writer = {
        let c = app.client.clone();
        let url = app.url("/api/stations/30/visits");
        tokio::spawn(async move {
            for _ in 0..20 {
                let body = json!({"kind": "routine", "visited_on": "2026-11-30", "items": []});
                let _ = c.post(&url).json(&body).send().await;
            }
        })
    };
    let out = ok(bayige(&["backup", "--to", &archive_s], &app.db_url, &data));
    writer.await.expect("writer");
    assert!(out.contains("1 evidence files"), "{out}");
    let again = bayige(&["backup", "--to", &archive_s], &app.db_url, &data);
    assert!(!again.status.success(), "an existing archive is never overwritten");

    // Restore into a new place and serve it.
    let restored_db = format!("sqlite://{}", dir.path().join("restored/bayige.db").display());
    let restored_data = dir.path().join("restored-data");
    let out = ok(bayige(&["restore", "--from", &archive_s], &restored_db, &restored_data));
    assert!(out.contains("restored"), "{out}");
    let refused = bayige(&["restore", "--from", &archive_s], &restored_db, &restored_data);
    assert!(
        !refused.status.success(),
        "an existing database is replaced only with --force"
    );
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--force"));

    let data_dir = restored_data.clone();
    let restored = TestApp::start_with(restored_db.clone(), DbGuard::Shared, "sqlite", move |c| {
        c.data_dir = data_dir;
    })
    .await;
    let after = view(&restored, evidence).await;
    for (i, (a, b)) in before.iter().zip(&after).enumerate() {
        assert_eq!(a, b, "view {i} differs after the round trip");
    }
    drop(restored);

    // A damaged archive restores nothing.
    let mut bytes = std::fs::read(&archive).expect("read archive");
    let db_at = bytes
        .windows(16)
        .position(|w| w == b"SQLite format 3\0")
        .expect("database in the archive");
    bytes[db_at + 5000] ^= 0xff;
    let damaged = dir.path().join("damaged.tar");
    std::fs::write(&damaged, &bytes).expect("write");
    let fresh_db = format!("sqlite://{}", dir.path().join("fresh/bayige.db").display());
    let o = bayige(
        &["restore", "--from", &damaged.to_string_lossy()],
        &fresh_db,
        &dir.path().join("fresh-data"),
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("damaged"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!dir.path().join("fresh/bayige.db").exists(), "nothing restored");
    assert!(!dir.path().join("fresh-data/evidence").exists(), "no evidence restored");
}
