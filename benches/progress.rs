//! Progress at 10^3, 10^4 and 10^5 stations (10^6 with
//! `BAYIGE_BENCH_SIZES`): the time of the progress use case against a
//! baseline measured in the same run (the same figures by hand-written SQL),
//! the number of SQL statements it issues (counted with diesel's
//! instrumentation), which must not grow with the data, and the query plans
//! at the largest size.
//!
//! Run: `cargo bench --bench progress` (SQLite; PostgreSQL too when
//! `BAYIGE_TEST_DATABASE_URL` points at a server, e.g.
//! `postgres://postgres@127.0.0.1:5432/postgres`). Sizes can be changed with
//! `BAYIGE_BENCH_SIZES=1000,10000`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bayige::app::progress::{self, Period};
use bayige::cli::Cli;
use bayige::db::{Backend, DbConnection};
use chrono::NaiveDate;
use clap::Parser;
use diesel::connection::{Connection, InstrumentationEvent, SimpleConnection};

const UNITS: usize = 20;
const RUNS: usize = 7;

fn seed_sql(backend: Backend, n: usize) -> String {
    let mut sql = String::new();
    for u in 1..=UNITS {
        sql.push_str(&format!(
            "INSERT INTO units (code, name, kind, created_at) VALUES ('U{u:03}', '单位{u}', 'county', '2017-01-01 00:00:00');\n\
             INSERT INTO plans (unit_id, year, target, updated_at, basis) VALUES ({u}, 2017, {t}, '2017-01-01 00:00:00', 'new');\n",
            t = n / UNITS
        ));
    }
    let (seq, day, bool_expr, ts) = match backend {
        Backend::Sqlite => (
            format!("WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {n})"),
            "date('2017-01-01', '+' || (n % 365) || ' days')",
            "(n % 3) <> 0",
            "'2017-01-01 00:00:00'",
        ),
        Backend::Postgres => (
            format!("WITH seq(n) AS (SELECT generate_series(1, {n}))"),
            "DATE '2017-01-01' + (n % 365)",
            "(n % 3) <> 0",
            "TIMESTAMP '2017-01-01 00:00:00'",
        ),
    };
    sql.push_str(&format!(
        "{seq}
INSERT INTO stations (unit_id, name, host_business, credit_code, category, address, liaison_name,
    liaison_phone, standard_id, status, established_on, revoked_on, version, created_at, updated_at,
    compliant, last_visit_on)
SELECT 1 + (n % {UNITS}), 'S' || n, 'H' || n, NULL, 'mall', 'addr', 'l', '13900000000', 'baxiangyi-common',
    CASE WHEN n % 40 = 0 THEN 'planned' WHEN n % 50 = 0 THEN 'revoked' ELSE 'established' END,
    CASE WHEN n % 40 = 0 THEN NULL ELSE {day} END,
    CASE WHEN n % 50 = 0 AND n % 40 <> 0 THEN {day} ELSE NULL END,
    1, {ts}, {ts}, {bool_expr}, {day}
FROM seq;
INSERT INTO visits (station_id, kind, visited_on, inspector, summary, standard_id, standard_version, score_bp,
    compliant, status_before, status_after, created_at)
SELECT id, 'routine', established_on, 'i', '', 'baxiangyi-common', 1, 8750, FALSE, 'established', 'rectifying', {ts}
FROM stations WHERE id % 10 = 0 AND established_on IS NOT NULL;
INSERT INTO guidance (station_id, raised_by, item_code, instruction, due_on, status, created_at, updated_at, unit_id)
SELECT v.station_id, v.id, 'register', 'g', {due}, 'open', {ts}, {ts}, s.unit_id FROM visits v JOIN stations s ON s.id = v.station_id;
",
        due = match backend {
            Backend::Sqlite => "date(visited_on, '+15 days')",
            Backend::Postgres => "visited_on + 15",
        }
    ));
    sql
}

/// The progress figures as one would write them by hand: stations
/// standing at the date per unit (all, and established this year, each with
/// how many are compliant), overdue guidance per unit, units with plans.
fn hand_written(backend: Backend) -> String {
    let (d, y) = match backend {
        Backend::Sqlite => ("'2017-07-14'", "'2017-01-01'"),
        Backend::Postgres => ("DATE '2017-07-14'", "DATE '2017-01-01'"),
    };
    format!(
        "SELECT u.id, p.target, p.basis FROM units u LEFT JOIN plans p ON p.unit_id = u.id AND p.year = 2017;
         SELECT unit_id, COUNT(*), SUM(CASE WHEN established_on >= {y} THEN 1 ELSE 0 END),
                SUM(CASE WHEN compliant THEN 1 ELSE 0 END),
                SUM(CASE WHEN compliant AND established_on >= {y} THEN 1 ELSE 0 END)
         FROM stations WHERE established_on <= {d} AND (revoked_on IS NULL OR revoked_on > {d}) GROUP BY unit_id;
         SELECT unit_id, COUNT(*) FROM guidance WHERE status = 'open' AND due_on < {d} GROUP BY unit_id;"
    )
}

#[derive(diesel::QueryableByName)]
struct PgPlan {
    #[diesel(sql_type = diesel::sql_types::Text, column_name = "QUERY PLAN")]
    line: String,
}

#[derive(diesel::QueryableByName)]
struct SqlitePlan {
    #[diesel(sql_type = diesel::sql_types::Text)]
    detail: String,
}

/// Prints how the database runs the two aggregates (which indices).
fn explain(conn: &mut DbConnection, backend: Backend, n: usize) {
    use diesel::RunQueryDsl;
    let hand = hand_written(backend);
    println!("-- {} plan at {n} stations --", backend.as_str());
    for stmt in hand.split(';').map(str::trim).filter(|s| s.contains("stations")) {
        let lines: Vec<String> = match conn {
            DbConnection::Pg(pg) => diesel::sql_query(format!("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) {stmt}"))
                .load::<PgPlan>(pg)
                .map(|v| v.into_iter().map(|p| p.line).collect())
                .unwrap_or_default(),
            DbConnection::Sqlite(sq) => diesel::sql_query(format!("EXPLAIN QUERY PLAN {stmt}"))
                .load::<SqlitePlan>(sq)
                .map(|v| v.into_iter().map(|p| p.detail).collect())
                .unwrap_or_default(),
        };
        for l in lines {
            println!("   {l}");
        }
    }
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let sizes: Vec<usize> = std::env::var("BAYIGE_BENCH_SIZES")
        .ok()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![1_000, 10_000, 100_000]);
    println!("backend   stations  progress_ms  hand_sql_ms  ratio  queries");
    for backend in [Backend::Sqlite, Backend::Postgres] {
        for &n in &sizes {
            let Some(db) = common::fresh(backend, &format!("bench_{n}")) else {
                continue;
            };
            let cli = Cli::parse_from(["bayige", "--database-url", &db.url, "--today", "2017-12-31", "migrate"]);
            let ctx = bayige::cli::context(&cli.common, 2).expect("context");
            let mut conn = ctx.pool.get().expect("connection");
            let started = Instant::now();
            conn.batch_execute(&seed_sql(backend, n)).expect("seed");
            conn.batch_execute("ANALYZE").expect("analyze");
            let seeded = started.elapsed();
            let queries = Arc::new(AtomicUsize::new(0));
            let counter = queries.clone();
            let conn_ref: &mut DbConnection = &mut conn;
            conn_ref.set_instrumentation(move |e: InstrumentationEvent<'_>| {
                if matches!(e, InstrumentationEvent::StartQuery { .. }) {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
            });
            let period = Period {
                year: Some(2017),
                as_of: NaiveDate::from_ymd_opt(2017, 7, 14),
            };
            let mut times = Vec::new();
            let mut per_run = 0;
            for _ in 0..RUNS {
                let before = queries.load(Ordering::Relaxed);
                let t = Instant::now();
                let p = progress::compute(conn_ref, &ctx, &period).expect("progress");
                times.push(t.elapsed());
                per_run = queries.load(Ordering::Relaxed) - before;
                assert_eq!(p.rows.len(), UNITS);
            }
            // Baseline: the same figures by hand-written SQL, no diesel DSL,
            // no use case around it.
            let hand = hand_written(backend);
            let mut base = Vec::new();
            for _ in 0..RUNS {
                let t = Instant::now();
                conn_ref.batch_execute(&hand).expect("hand-written aggregate");
                base.push(t.elapsed());
            }
            if std::env::var("BAYIGE_BENCH_EXPLAIN").is_ok() || n == *sizes.last().unwrap_or(&0) {
                explain(conn_ref, backend, n);
            }
            let (p, b) = (median(times), median(base));
            println!(
                "{:<9} {:>8}  {:>11.2}  {:>11.2}  {:>5.2}  {:>7}   (seeded in {:.1} s)",
                backend.as_str(),
                n,
                ms(p),
                ms(b),
                ms(p) / ms(b).max(0.001),
                per_run,
                seeded.as_secs_f64()
            );
        }
    }
}
