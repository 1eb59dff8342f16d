//! Per-station reads against the length of the station's history: stations
//! with 1, 10, 100 and 1,000 visits (written by `generate`, all in one
//! database), the p50 of each read the station's pages make, and the ratio
//! of p50 at 1,000 visits to p50 at 1. Baseline in the same run: the query
//! the checklist used before issue 14 (every counted visit item of the
//! station, newest first, the latest per item kept in Rust), whose cost
//! grows with the history.
//!
//! Run: `cargo bench --bench history` (SQLite; PostgreSQL too when
//! `BAYIGE_TEST_DATABASE_URL` points at a server). `BAYIGE_BENCH_ROUNDS`
//! sets the calls per figure (default 300).

mod common;

use std::time::{Duration, Instant};

use bayige::app::{Ctx, stations, visits};
use bayige::auth::Principal;
use bayige::cli::Cli;
use bayige::db::generate::{self as g, Spec};
use bayige::db::{self, Backend, DbConnection};
use clap::Parser;
use diesel::prelude::*;

const SIZES: [u32; 4] = [1, 10, 100, 1_000];
/// Stations of each history size.
const STATIONS: u64 = 20;

#[derive(diesel::QueryableByName)]
#[allow(dead_code)]
struct OldRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    item_code: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    result: String,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    id: i32,
}

/// The pre-issue-14 read: every counted item of the station, newest first;
/// the first row per item code is its latest.
fn old_latest_results(conn: &mut DbConnection, station: i32) -> usize {
    let sql = db::placeholders(
        "SELECT i.item_code, i.result, v.id FROM visit_items i JOIN visits v ON v.id = i.visit_id \
         WHERE v.station_id = ? AND v.voided_at IS NULL ORDER BY v.visited_on DESC, v.id DESC",
        conn.backend(),
    );
    let rows: Vec<OldRow> = diesel::sql_query(sql)
        .bind::<diesel::sql_types::Integer, _>(station)
        .load(conn)
        .expect("old query");
    let mut seen = std::collections::HashSet::new();
    rows.into_iter().filter(|r| seen.insert(r.item_code.clone())).count()
}

/// Writes `STATIONS` stations of each history size; returns, per size,
/// the ids of those not revoked (the template refuses revoked ones).
fn seed(ctx: &Ctx, conn: &mut DbConnection) -> Vec<Vec<i32>> {
    use bayige::db::schema::stations as t;
    let mut out = Vec::new();
    for k in SIZES {
        let spec = Spec {
            units: 2,
            stations: STATIONS,
            visits_per_station: k,
            seed: 7,
            today: ctx.today(),
        };
        let (first, sb, vb) = db::write_tx(conn, |c| {
            Ok::<_, diesel::result::Error>((g::units(c, &spec)?, g::max_id(c, "stations")?, g::max_id(c, "visits")?))
        })
        .expect("units");
        db::write_tx(conn, |c| g::batch(c, &spec, first, sb, vb, 1, STATIONS)).expect("batch");
        let ids: Vec<i32> = t::table
            .filter(t::id.between(sb as i32 + 1, (sb + STATIONS as i64) as i32))
            .filter(t::status.ne("revoked"))
            .select(t::id)
            .load(conn)
            .expect("ids");
        out.push(ids);
    }
    g::finish(conn).expect("finish");
    out
}

fn p50(mut xs: Vec<Duration>) -> f64 {
    xs.sort();
    xs[xs.len() / 2].as_secs_f64() * 1000.0
}

type Read = fn(&mut DbConnection, &Ctx, &Principal, i32);

fn reads() -> Vec<(&'static str, Read)> {
    vec![
        ("checklist", |c, ctx, p, s| {
            visits::checklist(c, ctx, p, s).expect("checklist");
        }),
        ("visit template", |c, ctx, p, s| {
            visits::template(c, ctx, p, s).expect("template");
        }),
        ("history, first page", |c, _, p, s| {
            visits::list_for_station(c, p, s, visits::VisitListQuery::default()).expect("history");
        }),
        ("station page (3 reads)", |c, ctx, p, s| {
            stations::get(c, p, s).expect("station");
            visits::checklist(c, ctx, p, s).expect("checklist");
            let q = visits::VisitListQuery {
                limit: Some("20".into()),
                before: None,
            };
            visits::list_for_station(c, p, s, q).expect("history");
        }),
        ("baseline: pre-#14 query", |c, _, _, s| {
            old_latest_results(c, s);
        }),
    ]
}

fn main() {
    let rounds: usize = std::env::var("BAYIGE_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let p = Principal::system("bench");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(db) = common::fresh(backend, "history") else {
            continue;
        };
        let cli = Cli::parse_from(["bayige", "--database-url", &db.url, "migrate"]);
        let ctx = bayige::cli::context(&cli.common, 2).expect("context");
        let mut conn = ctx.pool.get().expect("connection");
        let started = Instant::now();
        let ids = seed(&ctx, &mut conn);
        println!(
            "== {}: {} stations × {SIZES:?} visits, seeded in {:.1} s; p50 in ms over {rounds} calls ==",
            backend.as_str(),
            STATIONS,
            started.elapsed().as_secs_f64()
        );
        println!(
            "{:<26} {:>8} {:>8} {:>8} {:>8}   p50(1000)/p50(1)",
            "read", "1", "10", "100", "1000"
        );
        for (name, read) in reads() {
            let mut row = Vec::new();
            for stations in &ids {
                // Warm up, then measure, cycling over the stations.
                for s in stations.iter().take(5) {
                    read(&mut conn, &ctx, &p, *s);
                }
                let times: Vec<Duration> = (0..rounds)
                    .map(|i| {
                        let s = stations[i % stations.len()];
                        let t = Instant::now();
                        read(&mut conn, &ctx, &p, s);
                        t.elapsed()
                    })
                    .collect();
                row.push(p50(times));
            }
            println!(
                "{:<26} {:>8.3} {:>8.3} {:>8.3} {:>8.3}   {:.2}",
                name,
                row[0],
                row[1],
                row[2],
                row[3],
                row[3] / row[0].max(1e-9)
            );
        }
    }
}
