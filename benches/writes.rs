//! Recording visits against what the disk allows. First the limit, on
//! SQLite: the rows one recorded visit writes (the visit, its 8 items, its
//! 8 current-item rows, the station's compliance, an audit entry) inserted
//! by a plain program with `synchronous=FULL` in WAL mode, one transaction
//! per visit and 32 visits per transaction. Then the record-visit use case
//! (in-process, a pooled connection per call as a request has) with 1, 8
//! and 32 client threads: visits/s, p50, p99, p99 against the single-client
//! p50, and the share of the one-transaction-per-visit limit. PostgreSQL
//! too (its curve only) when `BAYIGE_TEST_DATABASE_URL` is set.
//!
//! Then the real path: `bayige serve` on 127.0.0.1 and the same visits
//! posted over HTTP by 1, 8 and 32 clients (`writes/http.rs`). On SQLite
//! both go through the group-commit writer (`src/db/group.rs`).
//!
//! Run: `cargo bench --bench writes`; `BAYIGE_BENCH_SECONDS` per phase
//! (default 5).

mod common;
#[path = "writes/http.rs"]
mod http;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bayige::app::visits::{self, ItemInput, VisitInput};
use bayige::auth::Principal;
use bayige::cli::Cli;
use bayige::db::generate::{self as g, Spec};
use bayige::db::{self, Backend, DbConnection, DbUrl};
use clap::Parser;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

const CODES: [&str; 8] = [
    "place", "plaque", "liaison", "phone", "register", "bulletin", "rules", "computer",
];
const STATIONS: u64 = 2_000;

fn seconds() -> Duration {
    Duration::from_secs(
        std::env::var("BAYIGE_BENCH_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(5),
    )
}

/// The SQL of one recorded visit's rows, for station `s`, visit id `v`.
fn visit_sql(s: i64, v: i64) -> String {
    let mut sql = format!(
        "INSERT INTO visits (id, station_id, kind, visited_on, inspector, summary, standard_id, standard_version,
            score_bp, compliant, status_before, status_after, created_at)
         VALUES ({v}, {s}, 'routine', date('now'), '压测', '', 'baxiangyi-common', 1, 10000, 1, 'established',
            'established', strftime('%Y-%m-%d %H:%M:%f', 'now'));
         UPDATE stations SET version = version + 1, compliant = 1, last_visit_on = date('now') WHERE id = {s};
         DELETE FROM station_items WHERE station_id = {s};\n"
    );
    for (i, c) in CODES.iter().enumerate() {
        sql.push_str(&format!(
            "INSERT INTO visit_items (visit_id, item_code, position, result, note) VALUES ({v}, '{c}', {i}, 'met', '');
             INSERT INTO station_items (station_id, item_code, visit_id, visited_on, result, note)
             VALUES ({s}, '{c}', {v}, date('now'), 'met', '');\n"
        ));
    }
    sql.push_str(&format!(
        "INSERT INTO audit_log (at, user_id, username, action, entity, entity_id, before_value, after_value)
         VALUES (strftime('%Y-%m-%d %H:%M:%f', 'now'), NULL, 'bench', 'visit.record', 'visit', '{v}', NULL,
            '{{\"id\": {v}, \"station_id\": {s}, \"score_bp\": 10000, \"compliant\": true}}');\n"
    ));
    sql
}

/// Visits/s a plain program reaches on this disk, `per_tx` visits per
/// transaction, for the phase length.
fn limit(url: &str, per_tx: usize, first_visit: i64) -> (f64, i64) {
    let mut conn = DbUrl::parse(url).expect("url").connect().expect("connect");
    let (started, mut v) = (Instant::now(), first_visit);
    let mut n = 0u64;
    while started.elapsed() < seconds() {
        let mut sql = String::from("BEGIN IMMEDIATE;\n");
        for _ in 0..per_tx {
            v += 1;
            sql.push_str(&visit_sql(1 + (v % STATIONS as i64), v));
        }
        sql.push_str("COMMIT;");
        conn.batch_execute(&sql).expect("plain insert");
        n += per_tx as u64;
    }
    (n as f64 / started.elapsed().as_secs_f64(), v)
}

fn input() -> VisitInput {
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

struct Phase {
    rate: f64,
    p50: f64,
    p99: f64,
    /// Group commits per second during the phase (in process, SQLite).
    commits: Option<f64>,
}

impl Phase {
    fn of(mut all: Vec<Duration>, elapsed: Duration) -> Phase {
        all.sort();
        let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)].as_secs_f64() * 1000.0;
        Phase {
            rate: all.len() as f64 / elapsed.as_secs_f64(),
            p50: at(0.5),
            p99: at(0.99),
            commits: None,
        }
    }
}

/// `clients` threads recording visits, each on its own stations, for the
/// phase length.
fn curve(ctx: &Arc<bayige::app::Ctx>, stations: &Arc<Vec<i32>>, clients: usize) -> Phase {
    let commits_before = ctx.writer.commits();
    let started = Instant::now();
    let handles: Vec<_> = (0..clients)
        .map(|c| {
            let (ctx, stations) = (ctx.clone(), stations.clone());
            std::thread::spawn(move || {
                let p = Principal::system("bench");
                let mut times = Vec::new();
                let mut i = c;
                while started.elapsed() < seconds() {
                    let s = stations[i % stations.len()];
                    i += clients;
                    let t = Instant::now();
                    let mut conn = ctx.pool.get().expect("connection");
                    visits::record(&mut conn, &ctx, &p, s, input()).expect("record");
                    drop(conn);
                    times.push(t.elapsed());
                }
                times
            })
        })
        .collect();
    let all: Vec<Duration> = handles.into_iter().flat_map(|h| h.join().expect("client")).collect();
    let elapsed = started.elapsed();
    let mut phase = Phase::of(all, elapsed);
    phase.commits = ctx
        .writer
        .commits()
        .zip(commits_before)
        .map(|(after, before)| (after - before) as f64 / elapsed.as_secs_f64());
    phase
}

/// Prints a curve: visits/s, p50, p99, p99 against the single-client p50,
/// and the share of the plain program's two limits.
fn report(what: &str, curve: &[(usize, Phase)], limits: Option<(f64, f64)>) {
    println!("{what}");
    println!(
        "clients  visits/s  p50_ms  p99_ms  p99/p50(1 client)  share of 1-visit/tx  share of 32-visit/tx  commits/s  visits/commit  p99 in commits"
    );
    let base = curve.first().map_or(f64::NAN, |(_, ph)| ph.p50);
    for (clients, ph) in curve {
        let share = |l: f64| format!("{:.2}", ph.rate / l);
        // A wait in commits: the p99 over the mean time between commits.
        let (commits, per, waits) = match ph.commits {
            Some(c) if c > 0.0 => (
                format!("{c:.0}"),
                format!("{:.1}", ph.rate / c),
                format!("{:.1}", ph.p99 / (1000.0 / c)),
            ),
            _ => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{clients:>7}  {:>8.0}  {:>6.2}  {:>6.2}  {:>17.1}  {:>19}  {:>20}  {commits:>9}  {per:>13}  {waits:>14}",
            ph.rate,
            ph.p50,
            ph.p99,
            ph.p99 / base,
            limits.map_or("-".into(), |(one, _)| share(one)),
            limits.map_or("-".into(), |(_, batched)| share(batched)),
        );
    }
}

fn seed(ctx: &bayige::app::Ctx, conn: &mut DbConnection) -> Vec<i32> {
    use bayige::db::schema::stations as t;
    let spec = Spec {
        units: 10,
        stations: STATIONS,
        visits_per_station: 3,
        seed: 11,
        today: ctx.today(),
    };
    let first = db::write_tx(conn, |c| g::units(c, &spec)).expect("units");
    db::write_tx(conn, |c| g::batch(c, &spec, first, 0, 0, 1, STATIONS)).expect("batch");
    g::finish(conn).expect("finish");
    t::table
        .filter(t::status.ne("revoked"))
        .select(t::id)
        .order(t::id)
        .load(conn)
        .expect("ids")
}

fn main() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(db) = common::fresh(backend, "writes") else {
            continue;
        };
        let url = db.url.clone();
        let cli = Cli::parse_from(["bayige", "--database-url", &url, "migrate"]);
        let ctx = Arc::new(bayige::cli::context(&cli.common, 40).expect("context"));
        let stations = {
            let mut conn = ctx.pool.get().expect("connection");
            Arc::new(seed(&ctx, &mut conn))
        };
        println!(
            "== {}: {STATIONS} stations, {:?} per phase ==",
            backend.as_str(),
            seconds()
        );
        let mut limits = None;
        if backend == Backend::Sqlite {
            let (one, last) = limit(&url, 1, 1_000_000);
            let (batched, _) = limit(&url, 32, last);
            println!("disk limit, plain program: 1 visit/tx {one:.0}/s; 32 visits/tx {batched:.0}/s");
            limits = Some((one, batched));
        }
        let in_process: Vec<_> = [1, 8, 32]
            .into_iter()
            .map(|clients| (clients, curve(&ctx, &stations, clients)))
            .collect();
        report("record-visit use case, in process:", &in_process, limits);
        report(
            "POST /api/stations/{id}/visits over HTTP:",
            &http::curves(&url, &stations),
            limits,
        );
        // The pool's connections close before the database is dropped.
        drop(ctx);
        drop(db);
    }
}
