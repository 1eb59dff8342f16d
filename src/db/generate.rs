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
         SELECT n, 'G' || n, '合成单位' || n, CASE WHEN n % 7 = 0 THEN 'branch' WHEN n % 3 = 0 THEN 'district' ELSE 'county' END, {now}
         FROM ({series}) s;
         INSERT INTO plans (unit_id, year, target, updated_at, basis)
         SELECT n, {year}, CAST({per_year} / ((n - {first} + 1) * {harmonic}) AS INTEGER) + 1, {now}, 'new'
         FROM ({series}) s;",
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
/// visits, items and guidance, in one transaction.
pub fn batch(
    conn: &mut DbConnection,
    spec: &Spec,
    first_unit: i64,
    station_base: i64,
    visit_base: i64,
    from: u64,
    to: u64,
) -> QueryResult<Counts> {
    let d = Dialect {
        backend: conn.backend(),
    };
    let seed = spec.seed;
    let k = u64::from(spec.visits_per_station);
    let units_n = u64::from(spec.units);
    // Skewed unit: floor(N * r^2) for r uniform in [0, 1).
    let unit = format!(
        "{first_unit} + ({units_n} * {r} * {r}) / 1000000000000",
        r = h("n", 1, seed, 1_000_000)
    );
    // Established between 5 years ago and (visits × gap) days ago, so that
    // every visit lies in the past.
    let span = 5 * 365 - k * u64::from(VISIT_GAP);
    let start = spec.today - chrono::Days::new(5 * 365);
    let established = d.add_days(&d.date(start), &h("n", 2, seed, span.max(1)));
    let category = CATEGORIES
        .iter()
        .enumerate()
        .map(|(i, c)| format!("WHEN {i} THEN '{c}'"))
        .collect::<Vec<_>>()
        .join(" ");
    let status_pick = h("n", 3, seed, 100);
    // Visit (station n, k-th): failing 1 in 8; a station's last visit decides.
    let failing = |n: &str, kk: &str| format!("{} = 0", h(&format!("({n}) * 131 + ({kk})"), 4, seed, 8));
    let last_fails = failing("n", &(k - 1).to_string());
    let visits_per = k;
    let sql = format!(
        "INSERT INTO stations (id, unit_id, name, host_business, credit_code, category, address, liaison_name,
            liaison_phone, standard_id, status, established_on, revoked_on, version, created_at, updated_at,
            compliant, last_visit_on)
         SELECT {station_base} + n, {unit}, '合成服务站' || n, '合成经营者' || n, NULL,
            CASE {cat} {category} END, '合成地址' || n, '联络员' || n, '139' || (10000000 + n % 89999999),
            'baxiangyi-common',
            CASE WHEN {status_pick} < 2 THEN 'revoked' WHEN {status_pick} < 5 THEN 'model'
                 WHEN {last_fails} THEN 'rectifying' ELSE 'established' END,
            {established},
            CASE WHEN {status_pick} < 2 THEN {revoked} ELSE NULL END,
            1, {now}, {now}, {compliant}, {last_visit}
         FROM ({series}) s;
         INSERT INTO visits (id, station_id, kind, visited_on, inspector, summary, standard_id, standard_version,
            score_bp, compliant, status_before, status_after, created_at)
         SELECT {visit_base} + (s.id - {station_base} - 1) * {visits_per} + v.k + 1, s.id,
            CASE WHEN v.k = 0 THEN 'acceptance' ELSE 'routine' END,
            {visited}, '检查员' || (s.id % 97), '', 'baxiangyi-common', 1,
            CASE WHEN {vfail} THEN 8750 ELSE 10000 END, {vcompliant}, 'established', 'established', {now}
         FROM stations s, ({kseries}) v
         WHERE s.id BETWEEN {station_base} + {from} AND {station_base} + {to};
         INSERT INTO visit_items (visit_id, item_code, position, result, note)
         SELECT v.id, i.code, i.pos, CASE WHEN v.compliant = {f} AND i.pos = {fail_item} THEN 'unmet' ELSE 'met' END,
            CASE WHEN v.compliant = {f} AND i.pos = {fail_item} THEN '未达到要求' ELSE '' END
         FROM visits v, ({items}) i
         WHERE v.id BETWEEN {visit_base} + {from_v} AND {visit_base} + {to_v};
         INSERT INTO guidance (station_id, raised_by, item_code, instruction, due_on, status, resolved_by, resolved_on,
            created_at, updated_at, unit_id)
         SELECT v.station_id, v.id, CASE {fail_item_v} {item_case} END, '限期整改', {due},
            CASE WHEN nx.id IS NULL THEN 'open' ELSE 'resolved' END, nx.id, nx.visited_on, {now}, {now}, st.unit_id
         FROM visits v JOIN stations st ON st.id = v.station_id
         LEFT JOIN visits nx ON nx.id = v.id + 1 AND nx.station_id = v.station_id
         WHERE v.compliant = {f} AND v.id BETWEEN {visit_base} + {from_v} AND {visit_base} + {to_v};",
        cat = h("n", 5, seed, 10),
        revoked = d.add_days(&established, &((k - 1) * u64::from(VISIT_GAP) + 1).to_string()),
        now = d.now(),
        compliant = d.boolean(&format!("NOT ({last_fails})")),
        last_visit = d.add_days(&established, &((k - 1) * u64::from(VISIT_GAP)).to_string()),
        series = d.series(from, to),
        kseries = match d.backend {
            Backend::Postgres => format!("SELECT generate_series(0, {}) AS k", k - 1),
            Backend::Sqlite => format!(
                "WITH RECURSIVE ks(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM ks WHERE k < {}) SELECT k FROM ks",
                k - 1
            ),
        },
        visited = d.add_days("s.established_on", &format!("v.k * {VISIT_GAP}")),
        vfail = failing(&format!("s.id - {station_base}"), "v.k"),
        vcompliant = d.boolean(&format!("NOT ({})", failing(&format!("s.id - {station_base}"), "v.k"))),
        items = ITEMS
            .iter()
            .enumerate()
            .map(|(i, c)| format!("SELECT '{c}' AS code, {i} AS pos"))
            .collect::<Vec<_>>()
            .join(" UNION ALL "),
        f = if d.backend == Backend::Postgres { "FALSE" } else { "0" },
        fail_item = h("v.id", 6, seed, 7),
        fail_item_v = h("v.id", 6, seed, 7),
        item_case = ITEMS
            .iter()
            .enumerate()
            .map(|(i, c)| format!("WHEN {i} THEN '{c}'"))
            .collect::<Vec<_>>()
            .join(" "),
        due = d.add_days("v.visited_on", "15"),
        from_v = (from - 1) * k + 1,
        to_v = to * k,
    );
    conn.batch_execute(&sql)?;
    let n = to - from + 1;
    Ok(Counts {
        units: 0,
        stations: n,
        visits: n * k,
        visit_items: n * k * 8,
        guidance: 0,
    })
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
