//! Crash safety: the real binary is killed with SIGKILL at random moments
//! while clients record visits, edit stations and issue circulars; after
//! every restart each write that got a 2xx answer is there and whole,
//! nothing half-written exists, SQLite passes `PRAGMA integrity_check`, and
//! at the end every circular email has arrived.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::BigInt;
use reqwest::Client;
use serde_json::{Value, json};

use crate::smtp::SmtpServer;
use crate::support::{DbGuard, client_with, fresh_pg_database, fresh_sqlite};

/// Kills per backend.
const KILLS: usize = 20;
/// Every demo checklist has eight items.
const ITEMS: i64 = 8;

fn bayige(db_url: &str, data_dir: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bayige"));
    c.env("BAYIGE_DATABASE_URL", db_url)
        .env("BAYIGE_DATA_DIR", data_dir)
        .env("BAYIGE_LOG", "warn");
    c
}

fn run(cmd: &mut Command) -> String {
    let o = cmd.output().expect("run bayige");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).into_owned()
}

struct Server {
    child: Child,
    base: String,
}

async fn start(db_url: &str, data_dir: &Path, smtp: &SmtpServer) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let child = bayige(db_url, data_dir)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("BAYIGE_SMTP_URL", smtp.url())
        .env("BAYIGE_MAIL_POLL_MS", "50")
        // What a killed worker had claimed is taken up again after this.
        .env("BAYIGE_MAIL_LEASE_SECS", "2")
        // The emails counted here are the circulars' (the notice scheduler
        // would add this week's digests; `tests/it/notices.rs` counts those).
        .env("BAYIGE_NOTICES", "false")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn bayige serve");
    let base = format!("http://127.0.0.1:{port}");
    let probe = Client::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = probe.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(Instant::now() < deadline, "the server did not come up at {base}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Server { child, base }
}

/// What the clients were told was done.
#[derive(Default)]
struct Acked {
    /// visit id → (station id, ids of the guidance it raised)
    visits: BTreeMap<i64, (i64, Vec<i64>)>,
    /// station id → (version, address) of the last acknowledged edit
    edits: BTreeMap<i64, (i64, String)>,
    /// circular id → number
    circulars: BTreeMap<i64, String>,
    /// Acknowledged station edits in all.
    edit_count: usize,
}

/// A small deterministic generator for kill times and choices.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

async fn record_visits(
    c: Client,
    base: String,
    stations: Vec<(i64, Vec<String>)>,
    seed: u64,
    acked: Arc<Mutex<Acked>>,
) {
    let today = chrono::Utc::now().date_naive().to_string();
    let mut rng = Lcg(seed);
    loop {
        let (station, codes) = &stations[rng.next(stations.len() as u64) as usize];
        let failing = rng.next(codes.len() as u64) as usize;
        let items: Vec<Value> = codes
            .iter()
            .enumerate()
            .map(|(i, code)| {
                if i == failing {
                    json!({"code": code, "result": "unmet", "note": "现场未见"})
                } else {
                    json!({"code": code, "result": "met"})
                }
            })
            .collect();
        let body = json!({"kind": "routine", "visited_on": today, "inspector": "断电测试", "items": items});
        let Ok(r) = c
            .post(format!("{base}/api/stations/{station}/visits"))
            .json(&body)
            .send()
            .await
        else {
            return;
        };
        if r.status() == 201 {
            let Ok(v) = r.json::<Value>().await else { return };
            let raised = v["guidance_raised"]
                .as_array()
                .map(|a| a.iter().filter_map(|g| g["id"].as_i64()).collect())
                .unwrap_or_default();
            let id = v["id"].as_i64().expect("visit id");
            acked.lock().expect("acked").visits.insert(id, (*station, raised));
        } else {
            assert!(r.status().is_client_error(), "record visit: {}", r.status());
        }
    }
}

async fn edit_stations(c: Client, base: String, stations: Vec<i64>, seed: u64, acked: Arc<Mutex<Acked>>) {
    let mut rng = Lcg(seed);
    let mut n = 0;
    loop {
        let id = stations[rng.next(stations.len() as u64) as usize];
        let Ok(r) = c.get(format!("{base}/api/stations/{id}")).send().await else {
            return;
        };
        let Ok(s) = r.json::<Value>().await else { return };
        let version = s["version"].as_i64().expect("version");
        n += 1;
        let address = format!("白山市浑江区测试路{seed}-{n}号");
        let Ok(r) = c
            .patch(format!("{base}/api/stations/{id}"))
            .json(&json!({"version": version, "address": address}))
            .send()
            .await
        else {
            return;
        };
        if r.status() == 200 {
            let Ok(s) = r.json::<Value>().await else { return };
            let v = s["version"].as_i64().expect("version");
            let mut acked = acked.lock().expect("acked");
            acked.edits.insert(id, (v, address));
            acked.edit_count += 1;
        } else {
            assert!(r.status().is_client_error(), "edit station: {}", r.status());
        }
    }
}

async fn issue_circulars(c: Client, base: String, seed: u64, acked: Arc<Mutex<Acked>>) {
    let mut n = 0;
    loop {
        n += 1;
        let Ok(r) = c
            .post(format!("{base}/api/circulars"))
            .header("Idempotency-Key", format!("crash-{seed}-{n}"))
            .json(&json!({"year": 2017, "as_of": "2017-07-14"}))
            .send()
            .await
        else {
            return;
        };
        if r.status().is_success() {
            let Ok(v) = r.json::<Value>().await else { return };
            let id = v["id"].as_i64().expect("circular id");
            let number = v["number"].as_str().expect("number").to_owned();
            acked.lock().expect("acked").circulars.insert(id, number);
        } else {
            panic!("issue circular: {}", r.status());
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// What the database holds that no complete write could have left.
fn half_written(db_url: &str) -> Vec<String> {
    let mut conn = bayige::db::DbUrl::parse(db_url)
        .and_then(|u| u.connect())
        .expect("connect");
    let checks = [
        (
            "visits without all their items",
            format!(
                "SELECT COUNT(*) AS n FROM visits v WHERE (SELECT COUNT(*) FROM visit_items i WHERE i.visit_id = v.id) <> {ITEMS}"
            ),
        ),
        (
            "failed items without guidance",
            "SELECT COUNT(*) AS n FROM visit_items i JOIN visits v ON v.id = i.visit_id \
             WHERE i.result = 'unmet' AND v.inspector = '断电测试' AND NOT EXISTS \
             (SELECT 1 FROM guidance g WHERE g.station_id = v.station_id AND g.item_code = i.item_code)"
                .to_owned(),
        ),
        (
            "circulars without deliveries",
            "SELECT COUNT(*) AS n FROM circulars c WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.circular_id = c.id)"
                .to_owned(),
        ),
        (
            "writes without their audit entry",
            "SELECT COUNT(*) AS n FROM visits v WHERE v.inspector = '断电测试' AND NOT EXISTS \
             (SELECT 1 FROM audit_log a WHERE a.entity = 'visit' AND a.entity_id = CAST(v.id AS TEXT))"
                .to_owned(),
        ),
    ];
    let mut found = Vec::new();
    for (what, sql) in checks {
        let n = diesel::sql_query(&sql)
            .get_result::<Found>(&mut conn)
            .unwrap_or_else(|e| panic!("{what}: {e}"))
            .n;
        if n > 0 {
            found.push(format!("{n} {what}"));
        }
    }
    found
}

fn sqlite_integrity(db_url: &str) {
    let path = Path::new(db_url.trim_start_matches("sqlite://"));
    if let Err(e) = bayige::backup::integrity_check(path) {
        panic!("PRAGMA integrity_check: {e:#}");
    }
}

async fn verify(c: &Client, base: &str, acked: &Acked) {
    for (id, (station, raised)) in &acked.visits {
        let r = c
            .get(format!("{base}/api/visits/{id}"))
            .send()
            .await
            .expect("get visit");
        assert_eq!(r.status(), 200, "acknowledged visit {id} is gone");
        let v: Value = r.json().await.expect("visit");
        assert_eq!(v["station_id"].as_i64(), Some(*station), "visit {id}");
        assert_eq!(
            v["items"].as_array().map(Vec::len),
            Some(ITEMS as usize),
            "visit {id} items"
        );
        let got: Vec<i64> = v["guidance_raised"]
            .as_array()
            .map(|a| a.iter().filter_map(|g| g["id"].as_i64()).collect())
            .unwrap_or_default();
        assert_eq!(&got, raised, "visit {id} guidance");
    }
    for (id, (version, address)) in &acked.edits {
        let s: Value = c
            .get(format!("{base}/api/stations/{id}"))
            .send()
            .await
            .expect("get station")
            .json()
            .await
            .expect("station");
        let now = s["version"].as_i64().expect("version");
        assert!(
            now >= *version,
            "station {id}: acknowledged version {version}, now {now}"
        );
        if now == *version {
            assert_eq!(
                s["address"].as_str(),
                Some(address.as_str()),
                "station {id} lost its edit"
            );
        }
    }
    for (id, number) in &acked.circulars {
        let r = c
            .get(format!("{base}/api/circulars/{id}"))
            .send()
            .await
            .expect("circular");
        assert_eq!(r.status(), 200, "acknowledged circular {id} is gone");
        let v: Value = r.json().await.expect("circular");
        assert_eq!(v["number"].as_str(), Some(number.as_str()));
    }
}

async fn sigkill_loop(db_url: String, guard: DbGuard, backend: &str) {
    let data = tempfile::tempdir().expect("data dir");
    let data_dir: PathBuf = data.path().to_owned();
    run(bayige(&db_url, &data_dir).arg("migrate"));
    run(bayige(&db_url, &data_dir).arg("demo"));
    run(bayige(&db_url, &data_dir).args([
        "user",
        "add",
        "--username",
        "crash-admin",
        "--role",
        "admin",
        "--name",
        "断电测试",
    ]));
    let out = run(bayige(&db_url, &data_dir).args(["token", "create", "--username", "crash-admin", "--name", "crash"]));
    let token = out.trim().to_owned();
    let c = client_with(&token);
    let smtp = SmtpServer::start();

    let mut server = start(&db_url, &data_dir, &smtp).await;
    assert!(half_written(&db_url).is_empty(), "the demo data is whole");
    // Twelve stations to visit, with their checklist codes; six to edit.
    let mut stations = Vec::new();
    for id in 1..=12i64 {
        let t: Value = c
            .get(format!("{}/api/stations/{id}/visit-template", server.base))
            .send()
            .await
            .expect("template")
            .json()
            .await
            .expect("template json");
        let codes: Vec<String> = t["items"]
            .as_array()
            .expect("template items")
            .iter()
            .map(|i| i["code"].as_str().expect("code").to_owned())
            .collect();
        assert_eq!(codes.len() as i64, ITEMS);
        stations.push((id, codes));
    }
    let to_edit: Vec<i64> = (13..=18).collect();

    let acked = Arc::new(Mutex::new(Acked::default()));
    let mut rng = Lcg(20261130);
    let started = Instant::now();
    for kill in 0..KILLS {
        let seed = kill as u64 * 100;
        let mut tasks = Vec::new();
        for k in 0..2 {
            tasks.push(tokio::spawn(record_visits(
                c.clone(),
                server.base.clone(),
                stations.clone(),
                seed + k,
                acked.clone(),
            )));
        }
        tasks.push(tokio::spawn(edit_stations(
            c.clone(),
            server.base.clone(),
            to_edit.clone(),
            seed + 7,
            acked.clone(),
        )));
        tasks.push(tokio::spawn(issue_circulars(
            c.clone(),
            server.base.clone(),
            seed,
            acked.clone(),
        )));
        tokio::time::sleep(Duration::from_millis(150 + rng.next(600))).await;
        if kill == 0 {
            // Issuing a circular (figures, PDF, every delivery) can take
            // longer than a kill window on a busy machine: the first round
            // lets one be acknowledged, so the check below always covers
            // circulars; the other rounds kill at random moments.
            let deadline = Instant::now() + Duration::from_secs(60);
            while acked.lock().expect("acked").circulars.is_empty() {
                assert!(Instant::now() < deadline, "{backend}: no circular was issued in 60 s");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
        server.child.kill().expect("SIGKILL");
        server.child.wait().expect("reap");
        for t in tasks {
            t.await.expect("client task");
        }
        if backend == "sqlite" {
            sqlite_integrity(&db_url);
        }
        let broken = half_written(&db_url);
        assert!(broken.is_empty(), "{backend}, kill {kill}: {broken:?}");
        server = start(&db_url, &data_dir, &smtp).await;
        let snapshot = std::mem::take(&mut *acked.lock().expect("acked"));
        verify(&c, &server.base, &snapshot).await;
        *acked.lock().expect("acked") = snapshot;
    }
    let acked = std::mem::take(&mut *acked.lock().expect("acked"));

    // Circular numbers stay unique and gap-free through the kills.
    let listed: Value = c
        .get(format!("{}/api/circulars?per_page=100", server.base))
        .send()
        .await
        .expect("circulars")
        .json()
        .await
        .expect("json");
    let mut serials: Vec<i64> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["serial"].as_i64().expect("serial"))
        .collect();
    serials.sort_unstable();
    assert_eq!(
        serials,
        (1..=serials.len() as i64).collect::<Vec<_>>(),
        "circular serials"
    );

    // Every delivery of every circular is sent after the restarts, and what
    // arrived is exactly the deliveries (a message whose acceptance the
    // killed process had not recorded may come twice, with one Message-ID).
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut expected = BTreeSet::new();
    let ids: Vec<i64> = listed["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|c| c["id"].as_i64().expect("id"))
        .collect();
    for id in &ids {
        loop {
            let d: Value = c
                .get(format!("{}/api/circulars/{id}/deliveries", server.base))
                .send()
                .await
                .expect("deliveries")
                .json()
                .await
                .expect("json");
            let items = d["items"].as_array().expect("items").clone();
            if items.iter().all(|x| x["status"] == "sent") {
                expected.extend(
                    items
                        .iter()
                        .map(|x| x["message_id"].as_str().expect("message id").to_owned()),
                );
                break;
            }
            assert!(Instant::now() < deadline, "circular {id}: deliveries not all sent: {d}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    let mails = smtp.mails();
    let arrived: BTreeSet<String> = mails.iter().map(|m| m.message_id()).map(|m| format!("<{m}>")).collect();
    assert_eq!(arrived, expected, "the emails that arrived are the deliveries");
    // The only message that can arrive twice is the one in flight when the
    // process died: the SMTP server had it, the process never heard its 250.
    let duplicates = mails.len() - arrived.len();
    assert!(duplicates <= KILLS, "{duplicates} repeated emails after {KILLS} kills");

    server.child.kill().expect("stop");
    server.child.wait().expect("reap");
    if backend == "sqlite" {
        sqlite_integrity(&db_url);
    }
    eprintln!(
        "crash harness ({backend}): {KILLS} SIGKILLs in {:.1} s; acknowledged and checked: {} visits, {} station edits, \
         {} circulars; {} emails for {} deliveries ({duplicates} repeated after a kill)",
        started.elapsed().as_secs_f64(),
        acked.visits.len(),
        acked.edit_count,
        acked.circulars.len(),
        mails.len(),
        expected.len(),
    );
    assert!(!acked.visits.is_empty() && !acked.edits.is_empty() && !acked.circulars.is_empty());
    drop(guard);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_sqlite() {
    let (url, guard) = fresh_sqlite();
    sigkill_loop(url, guard, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(bayige_pg), ignore = "set BAYIGE_TEST_DATABASE_URL to run on PostgreSQL")]
async fn sigkill_postgres() {
    let (url, guard) = fresh_pg_database();
    sigkill_loop(url, guard, "postgres").await;
}

/// PostgreSQL restarts or drops connections: the request that meets the
/// first dead connection answers 503 (never 500); the pool then checks the
/// other idle connections before use and replaces the dead ones, so no
/// other request fails, and the service is back without a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(bayige_pg), ignore = "set BAYIGE_TEST_DATABASE_URL to run on PostgreSQL")]
async fn pool_recovers_when_postgresql_drops_its_connections() {
    let app = crate::support::TestApp::postgres().await;
    let (status, _) = crate::support::json(app.get("/api/units").await).await;
    assert_eq!(status, 200);
    // Fill the pool: every connection is open and idle.
    let ctx = app.ctx.clone();
    tokio::task::spawn_blocking(move || {
        let held: Vec<_> = (0..ctx.pool.max_size())
            .map(|_| bayige::db::checkout(&ctx.pool).expect("connection"))
            .collect();
        drop(held);
    })
    .await
    .expect("join");
    let name = crate::support::pg_database_name(&app.db_url).to_owned();
    let admin = crate::support::pg_admin_url();
    let mut conn = bayige::db::DbUrl::parse(&admin)
        .and_then(|u| u.connect())
        .expect("admin connection");
    let killed = diesel::sql_query(format!(
        "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = '{name}'"
    ))
    .get_result::<Found>(&mut conn)
    .expect("terminate")
    .n;
    assert!(killed >= 4, "the app had its pool of connections to drop: {killed}");
    let mut statuses = Vec::new();
    for _ in 0..12 {
        statuses.push(app.get("/api/units").await.status().as_u16());
    }
    eprintln!("after dropping {killed} connections: {statuses:?}");
    assert!(statuses.iter().all(|s| matches!(s, 200 | 503)), "{statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s == 503).count() <= 1,
        "one request learns of the loss, not one per connection: {statuses:?}"
    );
    assert!(statuses[1..].iter().all(|s| *s == 200), "{statuses:?}");
}
