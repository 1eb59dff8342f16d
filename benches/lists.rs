//! Long lists read a page at a time: the audit log at 10^6 entries and a
//! circular with 10^4 deliveries. Each read is the use case in-process on
//! one connection (no HTTP); p50 over `BAYIGE_BENCH_ROUNDS` calls (default
//! 50). Figures: the first page, a deep page by key (`after`), and for
//! contrast a deep page by number (offset) and, for the deliveries, the
//! whole list as it was read before issue 14. The ratio that matters is
//! deep (keyset) / first.
//!
//! Run: `cargo bench --bench lists` (SQLite; PostgreSQL too when
//! `BAYIGE_TEST_DATABASE_URL` is set). `BAYIGE_BENCH_AUDIT_ROWS` sets the
//! log size (default 1,000,000).

mod common;

use std::time::{Duration, Instant};

use bayige::app::audit::{self, AuditQuery};
use bayige::app::circulars::{self, DeliveryQuery};
use bayige::auth::Principal;
use bayige::cli::Cli;
use bayige::db::{Backend, DbConnection};
use clap::Parser;
use diesel::connection::SimpleConnection;

const RECIPIENTS: i64 = 10_000;

fn env(name: &str, default: i64) -> i64 {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

/// p50 in ms of `f` over the rounds.
fn p50(mut f: impl FnMut()) -> f64 {
    let mut times: Vec<Duration> = (0..env("BAYIGE_BENCH_ROUNDS", 50))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2].as_secs_f64() * 1000.0
}

/// `rows` audit entries (ids 1..=rows), written by the database itself.
fn fill_audit(conn: &mut DbConnection, backend: Backend, rows: i64) {
    let sql = match backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})
             INSERT INTO audit_log (at, user_id, username, action, entity, entity_id, before_value, after_value)
             SELECT datetime('2020-01-01', '+' || (i / 10) || ' seconds'), NULL, 'bench', 'visit.record', 'visit',
                    CAST(i AS TEXT), NULL, '{{\"id\": 1}}' FROM n"
        ),
        Backend::Postgres => format!(
            "INSERT INTO audit_log (at, user_id, username, action, entity, entity_id, before_value, after_value)
             SELECT timestamp '2020-01-01' + i * interval '100 milliseconds', NULL, 'bench', 'visit.record',
                    'visit', i::text, NULL, '{{\"id\": 1}}' FROM generate_series(1, {rows}) i;
             ANALYZE audit_log"
        ),
    };
    conn.batch_execute(&sql).expect("fill the audit log");
}

/// One circular (id 1) with `RECIPIENTS` deliveries.
fn fill_deliveries(conn: &mut DbConnection, backend: Backend) {
    let series = match backend {
        Backend::Sqlite => format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {RECIPIENTS}) SELECT i FROM n"
        ),
        Backend::Postgres => format!("SELECT i FROM generate_series(1, {RECIPIENTS}) i"),
    };
    conn.batch_execute(&format!(
        "INSERT INTO circulars (id, number, prefix, year, serial, as_of, title, snapshot, subject, body_text,
            body_html, attachment_csv, issued_by, issued_at)
         VALUES (1, '测通〔2026〕1号', '测通', 2026, 1, '2026-06-30', '通报', '{{}}', '通报', '', '', '', 'bench',
            '2026-07-01 00:00:00');
         INSERT INTO circular_renditions (id, circular_id, unit_id, subject, body_text, body_html)
         VALUES (1, 1, NULL, '通报', '', '');
         INSERT INTO deliveries (circular_id, rendition_id, recipient_name, recipient_email, unit_id, copy, status,
            attempts, next_attempt_at, created_at, updated_at)
         SELECT 1, 1, '收件人', 'r' || i || '@example.org', NULL, FALSE, 'sent', 1, '2026-07-01 00:00:00',
            '2026-07-01 00:00:00', '2026-07-01 00:00:00' FROM ({series}) AS s;"
    ))
    .expect("fill the deliveries");
    if backend == Backend::Postgres {
        conn.batch_execute("ANALYZE deliveries").expect("analyze");
    }
}

fn audit_page(conn: &mut DbConnection, p: &Principal, page: Option<i64>, after: Option<i64>) -> usize {
    let q = AuditQuery {
        per_page: Some("100".into()),
        page: page.map(|n| n.to_string()),
        after: after.map(|a| a.to_string()),
        ..AuditQuery::default()
    };
    audit::list(conn, p, q).expect("audit page").items.len()
}

fn delivery_page(conn: &mut DbConnection, p: &Principal, after: Option<i64>) -> usize {
    let q = DeliveryQuery {
        limit: None,
        after: after.map(|a| a.to_string()),
    };
    circulars::deliveries(conn, p, 1, q).expect("deliveries").items.len()
}

fn main() {
    let rows = env("BAYIGE_BENCH_AUDIT_ROWS", 1_000_000);
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let Some(db) = common::fresh(backend, "lists") else {
            continue;
        };
        let cli = Cli::parse_from(["bayige", "--database-url", &db.url, "migrate"]);
        let ctx = bayige::cli::context(&cli.common, 2).expect("context");
        let mut conn = ctx.pool.get().expect("connection");
        let p = Principal::system("bench");
        let t = Instant::now();
        fill_audit(&mut conn, backend, rows);
        fill_deliveries(&mut conn, backend);
        println!(
            "== {}: {rows} audit entries, {RECIPIENTS} deliveries (written in {:.1} s) ==",
            backend.as_str(),
            t.elapsed().as_secs_f64()
        );
        let first = p50(|| assert_eq!(audit_page(&mut conn, &p, None, None), 100));
        // The oldest entries: by key after id 1,001, by number the same page.
        let deep_key = p50(|| assert_eq!(audit_page(&mut conn, &p, None, Some(1_001)), 100));
        let last_page = (rows - 1_000) / 100;
        let deep_offset = p50(|| assert_eq!(audit_page(&mut conn, &p, Some(last_page), None), 100));
        println!("audit log, 100 per page            p50 ms   / first page");
        println!("first page (counts up to 10,000)  {first:>8.3}   1.00");
        println!(
            "oldest page by key (after)        {deep_key:>8.3}   {:.2}",
            deep_key / first
        );
        println!(
            "oldest page by number (offset)    {deep_offset:>8.3}   {:.2}",
            deep_offset / first
        );

        let first = p50(|| assert_eq!(delivery_page(&mut conn, &p, None), 100));
        let last = p50(|| assert_eq!(delivery_page(&mut conn, &p, Some(RECIPIENTS - 100)), 100));
        let whole = p50(|| {
            let all = bayige::db::circulars::deliveries_of(&mut conn, 1, None, i64::MAX).expect("all");
            assert_eq!(all.len() as i64, RECIPIENTS);
        });
        println!("deliveries, 100 per page          p50 ms   / first page");
        println!("first page                        {first:>8.3}   1.00");
        println!("last page by key (after)          {last:>8.3}   {:.2}", last / first);
        println!(
            "baseline: all {RECIPIENTS} at once (before)  {whole:>8.3}   {:.2}",
            whole / first
        );
        drop(conn);
        drop(ctx);
        drop(db);
    }
}
