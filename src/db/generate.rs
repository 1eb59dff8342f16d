//! Synthetic data at scale, generated inside the database (`generate_series`
//! on PostgreSQL, a recursive CTE on SQLite) in batched transactions: each
//! batch is one `INSERT ... SELECT` per table, so 10^6 stations and their
//! visits load in minutes on two cores.
//!
//! Deterministic: every choice is a hash of the row number and the seed.
//! Unit sizes are skewed like real counties (a few large, many small);
//! statuses, categories and visit outcomes follow fixed shares; each
//! station's visits run from its acceptance every 60 days, a failed visit
//! raises guidance that the next visit resolves (the last one's stays open).

use crate::domain::{Basis, GuidanceStatus, ItemResult, StationStatus, UnitKind, VisitKind};
use chrono::{Datelike, NaiveDate};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::schema::{stations, units, visits};
use super::{Backend, DbConnection};

#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub units: u32,
    pub stations: u64,
    pub visits_per_station: u32,
    pub seed: u64,
    pub today: NaiveDate,
}

/// Rows of each table written so far.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub units: u64,
    pub stations: u64,
    pub visits: u64,
    pub visit_items: u64,
    pub guidance: u64,
}

/// SQL fragments that differ between the backends.
struct Dialect {
    backend: Backend,
}

impl Dialect {
    /// Rows n = from..=to.
    fn series(&self, from: u64, to: u64) -> String {
        match self.backend {
            Backend::Postgres => format!("SELECT generate_series({from}::bigint, {to}::bigint) AS n"),
            Backend::Sqlite => format!(
                "WITH RECURSIVE s(n) AS (SELECT {from} UNION ALL SELECT n + 1 FROM s WHERE n < {to}) SELECT n FROM s"
            ),
        }
    }

    /// `date + days`.
    fn add_days(&self, date: &str, days: &str) -> String {
        match self.backend {
            Backend::Postgres => format!("(({date})::date + ({days})::int)"),
            Backend::Sqlite => format!("date({date}, '+' || ({days}) || ' days')"),
        }
    }

    fn date(&self, d: NaiveDate) -> String {
        match self.backend {
            Backend::Postgres => format!("DATE '{d}'"),
            Backend::Sqlite => format!("'{d}'"),
        }
    }

    fn now(&self) -> &'static str {
        match self.backend {
            Backend::Postgres => "LOCALTIMESTAMP",
            Backend::Sqlite => "strftime('%Y-%m-%d %H:%M:%f', 'now')",
        }
    }

    fn boolean(&self, expr: &str) -> String {
        match self.backend {
            Backend::Postgres => format!("({expr})"),
            Backend::Sqlite => format!("CASE WHEN {expr} THEN 1 ELSE 0 END"),
        }
    }
}

/// A deterministic hash in 0..m of an SQL integer expression and the seed.
fn h(expr: &str, salt: u64, seed: u64, m: u64) -> String {
    let k = seed.wrapping_mul(1_000_003).wrapping_add(salt * 7_919) % 1_000_000_007;
    format!("((({expr}) * 2654435761 + {k}) % 4294967291 % {m})")
}

const CATEGORIES: [&str; 10] = [
    "mall",
    "supermarket",
    "market",
    "enterprise",
    "scenic_spot",
    "hotel",
    "telecom",
    "finance",
    "post_express",
    "other",
];
const ITEMS: [&str; 8] = [
    "place", "plaque", "liaison", "phone", "register", "bulletin", "rules", "computer",
];
/// Days between a station's visits.
const VISIT_GAP: u32 = 60;

pub fn max_id(conn: &mut DbConnection, table: &str) -> QueryResult<i64> {
    let id: Option<i32> = match table {
        "units" => units::table.select(diesel::dsl::max(units::id)).first(conn)?,
        "stations" => stations::table.select(diesel::dsl::max(stations::id)).first(conn)?,
        _ => visits::table.select(diesel::dsl::max(visits::id)).first(conn)?,
    };
    Ok(i64::from(id.unwrap_or(0)))
}

/// Creates the units with plans for the current year; returns the first id.
pub fn units(conn: &mut DbConnection, spec: &Spec) -> QueryResult<i64> {
    let d = Dialect {
        backend: conn.backend(),
    };
    let first = max_id(conn, "units")? + 1;
    let last = first + i64::from(spec.units) - 1;
    let year = spec.today.year();
    // Unit u of N holds a share of stations proportional to 1/(u - first + 1)
    // (Zipf-like); its plan asks for that share of the year's new stations.
    let harmonic: f64 = (1..=spec.units).map(|i| 1.0 / f64::from(i)).sum();
    let per_year = spec.stations as f64 / 5.0;
    let sql = format!(
        "INSERT INTO units (id, code, name, kind, created_at)
         SELECT n, 'G' || n, '合成单位' || n, CASE WHEN n % 7 = 0 THEN {branch} WHEN n % 3 = 0 THEN {district} ELSE {county} END, {now}
         FROM ({series}) s;
         INSERT INTO plans (unit_id, year, target, updated_at, basis)
         SELECT n, {year}, CAST({per_year} / ((n - {first} + 1) * {harmonic}) AS INTEGER) + 1, {now}, {basis_new}
         FROM ({series}) s;",
            branch = lit(UnitKind::Branch),
            district = lit(UnitKind::District),
            county = lit(UnitKind::County),
            basis_new = lit(Basis::New),
        now = d.now(),
        series = d.series(first as u64, last as u64),
    );
    conn.batch_execute(&sql)?;
    if d.backend == Backend::Postgres {
        conn.batch_execute("SELECT setval(pg_get_serial_sequence('units', 'id'), (SELECT MAX(id) FROM units))")?;
    }
    Ok(first)
}

/// Writes stations `from..=to` (1-based numbers within this run) with their
/// visits, items, guidance and current item state, in one transaction.
pub fn batch(
    conn: &mut DbConnection,
    spec: &Spec,
    first_unit: i64,
    station_base: i64,
    visit_base: i64,
    from: u64,
    to: u64,
) -> QueryResult<Counts> {
    let b = Batch {
        d: Dialect {
            backend: conn.backend(),
        },
        spec,
        first_unit,
        station_base,
        visit_base,
        from,
        to,
    };
    let sql = [b.stations(), b.visits(), b.items(), b.guidance(), b.current()].join(";\n");
    conn.batch_execute(&sql)?;
    let n = to - from + 1;
    let k = b.k();
    Ok(Counts {
        units: 0,
        stations: n,
        visits: n * k,
        visit_items: n * k * 8,
        guidance: 0,
    })
}

/// One batch's SQL, table by table.
struct Batch<'a> {
    d: Dialect,
    spec: &'a Spec,
    first_unit: i64,
    station_base: i64,
    visit_base: i64,
    from: u64,
    to: u64,
}

impl Batch<'_> {
    /// Visits per station.
    fn k(&self) -> u64 {
        u64::from(self.spec.visits_per_station).max(1)
    }

    /// Days from a station's acceptance to its last visit.
    fn history_days(&self) -> u64 {
        (self.k() - 1) * u64::from(VISIT_GAP)
    }

    /// Visit (station n, k-th) fails 1 in 8.
    fn failing(&self, n: &str, kk: &str) -> String {
        format!("{} = 0", h(&format!("({n}) * 131 + ({kk})"), 4, self.spec.seed, 8))
    }

    /// A station's last visit decides its status and compliance.
    fn last_fails(&self) -> String {
        self.failing("n", &(self.k() - 1).to_string())
    }

    /// Established within the five years before its whole history (all
    /// visits every VISIT_GAP days) fits before today; further back when
    /// the history is longer than that (200 visits are 33 years).
    fn established(&self) -> String {
        let history = self.history_days();
        let back = (5 * 365).max(history + 365);
        let start = self.spec.today - chrono::Days::new(back);
        let span = back - history;
        self.d
            .add_days(&self.d.date(start), &h("n", 2, self.spec.seed, span.max(1)))
    }

    fn stations(&self) -> String {
        let (d, seed) = (&self.d, self.spec.seed);
        // Skewed unit: floor(N * r^2) for r uniform in [0, 1).
        let unit = format!(
            "{} + ({} * {r} * {r}) / 1000000000000",
            self.first_unit,
            self.spec.units,
            r = h("n", 1, seed, 1_000_000)
        );
        let category = CATEGORIES
            .iter()
            .enumerate()
            .map(|(i, c)| format!("WHEN {i} THEN '{c}'"))
            .collect::<Vec<_>>()
            .join(" ");
        let status_pick = h("n", 3, seed, 100);
        let last_fails = self.last_fails();
        let established = self.established();
        format!(
            "INSERT INTO stations (id, unit_id, name, host_business, credit_code, category, address, liaison_name,
                liaison_phone, standard_id, status, established_on, revoked_on, version, created_at, updated_at,
                compliant, last_visit_on)
             SELECT {station_base} + n, {unit}, '合成服务站' || n, '合成经营者' || n, NULL,
                CASE {cat} {category} END, '合成地址' || n, '联络员' || n, '139' || (10000000 + n % 89999999),
                'baxiangyi-common',
                CASE WHEN {status_pick} < 2 THEN {st_revoked} WHEN {status_pick} < 5 THEN {st_model}
                     WHEN {last_fails} THEN {st_rectifying} ELSE {st_established} END,
                {established},
                CASE WHEN {status_pick} < 2 THEN {revoked} ELSE NULL END,
                1, {now}, {now}, {compliant}, {last_visit}
             FROM ({series}) s",
            st_revoked = lit(StationStatus::Revoked),
            st_model = lit(StationStatus::Model),
            st_rectifying = lit(StationStatus::Rectifying),
            st_established = lit(StationStatus::Established),
            station_base = self.station_base,
            cat = h("n", 5, seed, 10),
            revoked = d.add_days(&established, &(self.history_days() + 1).to_string()),
            now = d.now(),
            compliant = d.boolean(&format!("NOT ({last_fails})")),
            last_visit = d.add_days(&established, &self.history_days().to_string()),
            series = d.series(self.from, self.to),
        )
    }

    fn visits(&self) -> String {
        let (d, k, station_base) = (&self.d, self.k(), self.station_base);
        let vfail = self.failing(&format!("s.id - {station_base}"), "v.k");
        format!(
            "INSERT INTO visits (id, station_id, kind, visited_on, inspector, summary, standard_id, standard_version,
                score_bp, compliant, status_before, status_after, created_at)
             SELECT {visit_base} + (s.id - {station_base} - 1) * {k} + v.k + 1, s.id,
                CASE WHEN v.k = 0 THEN {acceptance} ELSE {routine} END,
                {visited}, '检查员' || (s.id % 97), '', 'baxiangyi-common', 1,
                CASE WHEN {vfail} THEN 8750 ELSE 10000 END, {vcompliant}, {st_established}, {st_established}, {now}
             FROM stations s, ({kseries}) v
             WHERE s.id BETWEEN {station_base} + {from} AND {station_base} + {to}",
            acceptance = lit(VisitKind::Acceptance),
            routine = lit(VisitKind::Routine),
            st_established = lit(StationStatus::Established),
            visit_base = self.visit_base,
            visited = d.add_days("s.established_on", &format!("v.k * {VISIT_GAP}")),
            vcompliant = d.boolean(&format!("NOT ({vfail})")),
            now = d.now(),
            kseries = match d.backend {
                Backend::Postgres => format!("SELECT generate_series(0, {}) AS k", k - 1),
                Backend::Sqlite => format!(
                    "WITH RECURSIVE ks(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM ks WHERE k < {}) SELECT k FROM ks",
                    k - 1
                ),
            },
            from = self.from,
            to = self.to,
        )
    }

    /// `visits.id BETWEEN ...` of this batch's visits.
    fn visit_range(&self, column: &str) -> String {
        let k = self.k();
        format!(
            "{column} BETWEEN {base} + {} AND {base} + {}",
            (self.from - 1) * k + 1,
            self.to * k,
            base = self.visit_base
        )
    }

    fn false_literal(&self) -> &'static str {
        if self.d.backend == Backend::Postgres {
            "FALSE"
        } else {
            "0"
        }
    }

    fn items(&self) -> String {
        let items = ITEMS
            .iter()
            .enumerate()
            .map(|(i, c)| format!("SELECT '{c}' AS code, {i} AS pos"))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        let (f, fail_item) = (self.false_literal(), h("v.id", 6, self.spec.seed, 7));
        format!(
            "INSERT INTO visit_items (visit_id, item_code, position, result, note)
             SELECT v.id, i.code, i.pos, CASE WHEN v.compliant = {f} AND i.pos = {fail_item} THEN {unmet} ELSE {met} END,
                CASE WHEN v.compliant = {f} AND i.pos = {fail_item} THEN '未达到要求' ELSE '' END
             FROM visits v, ({items}) i
             WHERE {range}",
            unmet = lit(ItemResult::Unmet),
            met = lit(ItemResult::Met),
            range = self.visit_range("v.id"),
        )
    }

    /// A failed visit raises guidance on its failing item; the station's
    /// next visit resolves it (the last visit's stays open).
    fn guidance(&self) -> String {
        let item_case = ITEMS
            .iter()
            .enumerate()
            .map(|(i, c)| format!("WHEN {i} THEN '{c}'"))
            .collect::<Vec<_>>()
            .join(" ");
        format!(
            "INSERT INTO guidance (station_id, raised_by, item_code, instruction, due_on, status, resolved_by, resolved_on,
                created_at, updated_at, unit_id)
             SELECT v.station_id, v.id, CASE {fail_item} {item_case} END, '限期整改', {due},
                CASE WHEN nx.id IS NULL THEN {g_open} ELSE {g_resolved} END, nx.id, nx.visited_on, {now}, {now}, st.unit_id
             FROM visits v JOIN stations st ON st.id = v.station_id
             LEFT JOIN visits nx ON nx.id = v.id + 1 AND nx.station_id = v.station_id
             WHERE v.compliant = {f} AND {range}",
            g_open = lit(GuidanceStatus::Open),
            g_resolved = lit(GuidanceStatus::Resolved),
            fail_item = h("v.id", 6, self.spec.seed, 7),
            due = self.d.add_days("v.visited_on", "15"),
            now = self.d.now(),
            f = self.false_literal(),
            range = self.visit_range("v.id"),
        )
    }

    /// Each station's current item state: the items of its last visit.
    fn current(&self) -> String {
        format!(
            "INSERT INTO station_items (station_id, item_code, visit_id, visited_on, result, note)
             SELECT v.station_id, i.item_code, v.id, v.visited_on, i.result, i.note
             FROM visits v JOIN visit_items i ON i.visit_id = v.id
             WHERE {range} AND (v.id - {base}) % {k} = 0",
            range = self.visit_range("v.id"),
            base = self.visit_base,
            k = self.k(),
        )
    }
}

/// Moves PostgreSQL's identity sequences past the explicit ids, and
/// vacuums and analyses what was loaded.
pub fn finish(conn: &mut DbConnection) -> QueryResult<()> {
    if conn.backend() == Backend::Postgres {
        conn.batch_execute(
            "SELECT setval(pg_get_serial_sequence('stations', 'id'), (SELECT MAX(id) FROM stations));
             SELECT setval(pg_get_serial_sequence('visits', 'id'), (SELECT MAX(id) FROM visits));
             SELECT setval(pg_get_serial_sequence('guidance', 'id'), COALESCE((SELECT MAX(id) FROM guidance), 1));",
        )?;
        // Bulk-loaded tables have no visibility map until autovacuum passes;
        // without it index-only scans read the heap. VACUUM cannot run in a
        // transaction, so on its own.
        conn.batch_execute("VACUUM ANALYZE")?;
    } else {
        conn.batch_execute("ANALYZE;")?;
    }
    Ok(())
}

/// A stored enum value as an SQL string literal (its text has no quote).
fn lit(value: impl std::fmt::Display) -> String {
    format!("'{value}'")
}
