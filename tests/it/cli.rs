//! The binary itself: start-up errors are one clear line and a non-zero
//! exit; `migrate`, `demo` and `--checklists` work from the command line.

use std::process::{Command, Output};

use crate::support::{DbGuard, TestApp, fresh_pg_database, fresh_sqlite, json, pg_database_url};

pub(crate) fn bayige(args: &[&str], db_url: &str) -> Output {
    Command::new(env!("CARGO_BIN_EXE_bayige"))
        .args(args)
        .env("BAYIGE_DATABASE_URL", db_url)
        .env("BAYIGE_LOG", "warn")
        .output()
        .expect("run bayige")
}

pub(crate) fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The last line on stderr is the one error line.
fn error_line(o: &Output) -> String {
    assert!(!o.status.success(), "should fail: {}", stderr(o));
    let text = stderr(o);
    let lines: Vec<_> = text.lines().filter(|l| l.starts_with("bayige: error:")).collect();
    assert_eq!(lines.len(), 1, "one error line: {text}");
    lines[0].to_owned()
}

#[test]
fn unreachable_database_is_one_clear_line() {
    let o = bayige(
        &["serve", "--bind", "127.0.0.1:0"],
        "postgres://postgres@127.0.0.1:1/bayige",
    );
    let line = error_line(&o);
    assert!(line.contains("cannot connect to the postgres database"), "{line}");
    assert!(
        line.contains("127.0.0.1") && line.contains('1'),
        "names the server: {line}"
    );
}

#[test]
fn unsupported_url_is_named() {
    let o = bayige(&["migrate"], "mysql://root@127.0.0.1/x");
    let line = error_line(&o);
    assert!(
        line.contains("unsupported database URL") && line.contains("mysql://"),
        "{line}"
    );
}

#[test]
fn missing_sqlite_folder_is_named() {
    let o = bayige(&["migrate"], "sqlite:///nonexistent-folder/deeper/bayige.db");
    let line = error_line(&o);
    assert!(line.contains("cannot connect to the sqlite database"), "{line}");
}

#[test]
#[cfg_attr(not(bayige_pg), ignore = "set BAYIGE_TEST_DATABASE_URL to run on PostgreSQL")]
fn missing_postgres_database_is_named() {
    let o = bayige(&["migrate"], &pg_database_url("bayige_no_such_database"));
    let line = error_line(&o);
    assert!(
        line.contains("bayige_no_such_database") && line.contains("does not exist"),
        "{line}"
    );
}

#[test]
fn bad_checklist_names_file_and_field() {
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "id = \"local\"\nversion = 1\ntitle_zh = \"本地\"\ntitle_en = \"Local\"\nsource = \"s\"\n\
         [[items]]\ncode = \"place\"\ntitle_zh = \"场所\"\ntitle_en = \"Place\"\nguidance = \"g\"\nweight = 0\n",
    )
    .expect("write");
    let (url, _guard) = fresh_sqlite();
    let o = bayige(
        &[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--checklists",
            &dir.path().display().to_string(),
        ],
        &url,
    );
    let line = error_line(&o);
    assert!(line.contains("bad.toml") && line.contains("items[0].weight"), "{line}");

    let missing = bayige(&["migrate", "--checklists", "/nonexistent-checklists"], &url);
    assert!(
        missing.status.success(),
        "migrate needs no checklists: {}",
        stderr(&missing)
    );
    let o = bayige(&["demo", "--checklists", "/nonexistent-checklists"], &url);
    assert!(error_line(&o).contains("/nonexistent-checklists"));
}

#[test]
fn migrate_and_demo_from_the_command_line_load_once() {
    let (url, _guard) = fresh_sqlite();
    check_demo_cli(&url);
}

#[test]
#[cfg_attr(not(bayige_pg), ignore = "set BAYIGE_TEST_DATABASE_URL to run on PostgreSQL")]
fn migrate_and_demo_from_the_command_line_load_once_postgres() {
    let (url, _guard) = fresh_pg_database();
    check_demo_cli(&url);
}

fn check_demo_cli(url: &str) {
    let o = bayige(&["migrate"], url);
    assert!(o.status.success(), "{}", stderr(&o));
    let migrations = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite"))
        .expect("migrations folder")
        .count();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains(&format!("applied {migrations} migration")), "{stdout}");
    let o = bayige(&["migrate"], url);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("applied 0 migration"),
        "migrations apply once"
    );
    for _ in 0..2 {
        let o = bayige(&["demo"], url);
        assert!(o.status.success(), "{}", stderr(&o));
    }
    let mut conn = bayige::db::DbUrl::parse(url).expect("url").connect().expect("connect");
    use diesel::prelude::*;
    let n: i64 = bayige::db::schema::stations::table
        .count()
        .get_result(&mut conn)
        .expect("count");
    let units: i64 = bayige::db::schema::units::table
        .count()
        .get_result(&mut conn)
        .expect("count");
    assert_eq!(units, 7, "demo loaded once");
    assert!((164..=200).contains(&n), "about 164 stations, once: {n}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extra_checklists_are_served() {
    let dir = tempfile::tempdir().expect("dir");
    let text = include_str!("../../checklists/baxiangyi-common.toml")
        .replace("version = 1", "version = 2")
        .replace("一台计算机", "一台联网计算机");
    std::fs::write(dir.path().join("common-v2.toml"), text).expect("write");
    let (url, guard) = fresh_sqlite();
    let app = TestApp::start(url, guard, "sqlite", Some(dir.path().to_owned())).await;
    let (_, list) = json(app.get("/api/standards").await).await;
    assert_eq!(list["items"][0]["version"], 2, "{list}");
    assert_eq!(list["items"][0]["versions"], serde_json::json!([1, 2]));
    let (_, v2) = json(app.get("/api/standards/baxiangyi-common").await).await;
    assert_eq!(v2["items"][7]["title_zh"], "一台联网计算机");
    let (_, v1) = json(app.get("/api/standards/baxiangyi-common?version=1").await).await;
    assert_eq!(v1["items"][7]["title_zh"], "一台计算机", "older versions stay readable");
    let _: Option<DbGuard> = None;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn circular_preview_and_issue_from_the_command_line() {
    let (url, _guard) = fresh_sqlite();
    let data = tempfile::tempdir().expect("data");
    let smtp = crate::smtp::SmtpServer::start();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_bayige"))
            .args(args)
            .env("BAYIGE_DATABASE_URL", &url)
            .env("BAYIGE_DATA_DIR", data.path())
            .env("BAYIGE_SMTP_URL", smtp.url())
            .env("BAYIGE_LOG", "warn")
            .output()
            .expect("run bayige")
    };
    assert!(run(&["demo"]).status.success());
    let o = run(&["circular", "preview", "--year", "2017", "--as-of", "2017-07-14"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains("白市工商通〔2017〕1号") && out.contains("江源区、靖宇县、临江市、市局直属消保分局"),
        "{out}"
    );
    assert!(smtp.mails().is_empty(), "a preview sends nothing");

    let o = run(&["circular", "issue", "--year", "2017", "--as-of", "2017-07-14"]);
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        out.contains("issued 白市工商通〔2017〕1号") && out.contains("7 sent"),
        "{out}"
    );
    assert_eq!(smtp.mails().len(), 7, "one email per unit lead");

    let o = run(&["circular", "issue", "--year", "2017", "--as-of", "2018-01-01"]);
    let line = error_line(&o);
    assert!(line.contains("as_of"), "{line}");
    let o = run(&["circular", "issue", "--year", "2017", "--as-of", "2017-07-14"]);
    assert!(String::from_utf8_lossy(&o.stdout).contains("〔2017〕2号"));
}

/// Every migration can be reverted and applied again, on both backends.
#[test]
fn migrations_revert_and_reapply() {
    let (url, _guard) = fresh_sqlite();
    check_migrations_revert(&url);
}

#[test]
#[cfg_attr(not(bayige_pg), ignore = "set BAYIGE_TEST_DATABASE_URL to run on PostgreSQL")]
fn migrations_revert_and_reapply_postgres() {
    let (url, _guard) = fresh_pg_database();
    check_migrations_revert(&url);
}

fn check_migrations_revert(url: &str) {
    use bayige::db::DbConnection;
    use diesel_migrations::MigrationHarness;
    let mut conn = bayige::db::DbUrl::parse(url).expect("url").connect().expect("connect");
    let applied = bayige::db::migrate(&mut conn).expect("migrate");
    assert!(applied >= 3);
    for _ in 0..applied {
        let reverted = match &mut conn {
            DbConnection::Sqlite(c) => c.revert_last_migration(bayige::db::SQLITE_MIGRATIONS).map(|_| ()),
            DbConnection::Pg(c) => c.revert_last_migration(bayige::db::PG_MIGRATIONS).map(|_| ()),
        };
        reverted.unwrap_or_else(|e| panic!("{url}: revert failed: {e}"));
    }
    assert_eq!(bayige::db::migrate(&mut conn).expect("again"), applied, "{url}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_tokens_from_the_command_line() {
    use std::io::Write;
    use std::process::Stdio;
    let (url, guard) = fresh_sqlite();
    let run = |args: &[&str], stdin: Option<&str>| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bayige"))
            .args(args)
            .env("BAYIGE_DATABASE_URL", &url)
            .env("BAYIGE_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(input.as_bytes())
                .expect("write");
        }
        drop(child.stdin.take());
        child.wait_with_output().expect("output")
    };
    assert!(run(&["demo"], None).status.success());
    let o = run(
        &[
            "user",
            "add",
            "--username",
            "zhou",
            "--role",
            "inspector",
            "--unit",
            "220681",
            "--password-stdin",
        ],
        Some("a very long password\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(
        &[
            "user",
            "add",
            "--username",
            "bad",
            "--role",
            "county_lead",
            "--unit",
            "999999",
        ],
        None,
    );
    assert!(error_line(&o).contains("999999"));
    // A station's own account is bound to one station.
    let o = run(
        &[
            "user",
            "add",
            "--username",
            "station-1",
            "--role",
            "station",
            "--station",
            "1",
            "--password-stdin",
        ],
        Some("a very long password\n"),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = run(&["user", "add", "--username", "station-2", "--role", "station"], None);
    assert!(error_line(&o).contains("服务站"), "{}", error_line(&o));
    let o = run(&["token", "create", "--username", "zhou", "--name", "巡检平板"], None);
    assert!(o.status.success(), "{}", stderr(&o));
    let token = String::from_utf8_lossy(&o.stdout).trim().to_owned();
    assert!(token.starts_with("byg_"), "{token}");
    let listed = String::from_utf8_lossy(&run(&["user", "list"], None).stdout).into_owned();
    assert!(
        listed.contains("zhou") && listed.contains("inspector") && listed.contains("lead-linjiang"),
        "{listed}"
    );

    // The token works against the service, for the user's unit only.
    let app = TestApp::start(url.clone(), guard, "sqlite", None).await;
    let zhou = app.with_client(crate::support::client_with(&token));
    let (status, me) = json(zhou.get("/api/me").await).await;
    assert_eq!(
        (status, me["username"].as_str(), me["role"].as_str()),
        (200, Some("zhou"), Some("inspector"))
    );
    let (_, list) = json(zhou.get("/api/stations?per_page=100").await).await;
    let units: std::collections::BTreeSet<i64> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|s| s["unit_id"].as_i64())
        .collect();
    assert_eq!(units.len(), 1, "临江市 only: {units:?}");
    assert!(run(&["user", "disable", "zhou"], None).status.success());
    assert_eq!(
        zhou.get("/api/me").await.status(),
        401,
        "a disabled user's token stops working"
    );
}

/// `bayige generate` writes the same data set for the same seed, and the
/// service reads it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generated_data_is_deterministic_and_served() {
    check_generated(vec![fresh_sqlite(), fresh_sqlite()]).await;
}

/// The same data set for the same seed on PostgreSQL as on SQLite.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(bayige_pg), ignore = "set BAYIGE_TEST_DATABASE_URL to run on PostgreSQL")]
async fn generated_data_is_the_same_on_postgres() {
    check_generated(vec![fresh_sqlite(), fresh_pg_database()]).await;
}

/// Generates the same seed into each database (the first one SQLite),
/// compares them, and serves the first.
async fn check_generated(mut urls: Vec<(String, DbGuard)>) {
    let mut summaries = Vec::new();
    for (url, _) in &urls {
        let o = bayige(
            &[
                "generate",
                "--units",
                "7",
                "--stations",
                "700",
                "--visits-per-station",
                "3",
                "--seed",
                "42",
                "--batch",
                "300",
            ],
            url,
        );
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(String::from_utf8_lossy(&o.stdout).contains("700 stations, 2100 visits"));
        assert!(
            stderr(&o).contains("[##############################] 700/700"),
            "progress is shown"
        );
        let mut conn = bayige::db::DbUrl::parse(url).expect("url").connect().expect("connect");
        use bayige::db::schema::{guidance, stations, visit_items};
        use diesel::prelude::*;
        let by_status: Vec<(String, i64)> = stations::table
            .group_by(stations::status)
            .select((stations::status, diesel::dsl::count_star()))
            .order(stations::status)
            .load(&mut conn)
            .expect("count");
        let items: i64 = visit_items::table.count().get_result(&mut conn).expect("items");
        let open: i64 = guidance::table
            .filter(guidance::status.eq("open"))
            .count()
            .get_result(&mut conn)
            .expect("g");
        let non_compliant: i64 = stations::table
            .filter(stations::compliant.eq(false))
            .count()
            .get_result(&mut conn)
            .expect("nc");
        assert_eq!(items, 700 * 3 * 8);
        assert!(open > 0 && non_compliant > 0, "shortfalls exist");
        summaries.push((by_status, open, non_compliant));
    }
    assert!(
        summaries.windows(2).all(|w| w[0] == w[1]),
        "same seed, same data: {summaries:?}"
    );
    let (url, guard) = urls.remove(0);
    let app = TestApp::start(url, guard, "sqlite", None).await;
    let (status, p) = json(app.get("/api/progress").await).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["rows"].as_array().map(Vec::len), Some(7));
    let (_, big) = json(app.get("/api/stations?unit_id=1&per_page=1").await).await;
    let (_, small) = json(app.get("/api/stations?unit_id=7&per_page=1").await).await;
    assert!(
        big["total"].as_i64() > small["total"].as_i64(),
        "unit sizes are skewed: {big} {small}"
    );
}

/// A list longer than the counting cap says so instead of counting it all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn very_long_lists_report_a_lower_bound() {
    let (url, guard) = fresh_sqlite();
    let o = bayige(
        &[
            "generate",
            "--units",
            "50",
            "--stations",
            "10050",
            "--visits-per-station",
            "1",
        ],
        &url,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let app = TestApp::start(url, guard, "sqlite", None).await;
    let (_, all) = json(app.get("/api/stations?per_page=5&page=3").await).await;
    assert_eq!(
        (all["total"].as_i64(), all["total_exact"].as_bool()),
        (Some(10_000), Some(false))
    );
    assert_eq!(all["items"][0]["id"], 11, "pages still work past the count");
    let (_, one) = json(app.get("/api/stations?unit_id=50").await).await;
    assert_eq!(one["total_exact"], true);
    assert!(one["total"].as_i64().is_some_and(|n| n > 0 && n < 10_000));
}

/// A short command on PostgreSQL exits cleanly every time. (The pool used
/// to open a connection in the background to keep one idle; a process
/// exiting while that thread was inside libpq crashed now and then with
/// SIGSEGV: about 1 run in 30.)
#[test]
#[cfg_attr(not(bayige_pg), ignore = "set BAYIGE_TEST_DATABASE_URL to run on PostgreSQL")]
fn short_commands_exit_cleanly_on_postgres() {
    let (url, _guard) = fresh_pg_database();
    assert!(bayige(&["migrate"], &url).status.success());
    for i in 0..60 {
        let o = bayige(&["user", "list"], &url);
        assert!(o.status.success(), "run {i}: {:?} {}", o.status, stderr(&o));
    }
}

/// An operator adds a year's holiday notice the day it is published,
/// without a new release: `--holiday-dir` (BAYIGE_HOLIDAY_DIR) adds its
/// `*.toml` files to the built-in notices; a bad file stops the command
/// naming the file and the field. (The year 2099 and its notice are test
/// data, not a real notice.)
#[test]
fn operators_add_next_years_holiday_notice() {
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("sqlite://{}/h.db", dir.path().display());
    let o = bayige(&["disputes", "holidays"], &url);
    assert!(o.status.success(), "{}", stderr(&o));
    let built_in = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        built_in.contains("2017\t国务院办公厅关于2017年部分节假日安排的通知\t国办发明电〔2016〕17号"),
        "{built_in}"
    );
    assert!(!built_in.contains("2099"), "{built_in}");

    let extra = dir.path().join("holidays");
    std::fs::create_dir(&extra).expect("dir");
    std::fs::write(
        extra.join("2099.toml"),
        r#"year = 2099
[source]
title = "测试用：2099年部分节假日安排"
number = "测试〔2098〕1号"
date = "2098-11-01"
published = "测试数据"
[[holidays]]
festival = "元旦"
from = "2099-01-01"
to = "2099-01-03"
"#,
    )
    .expect("write");
    let dir_arg = extra.to_string_lossy().into_owned();
    let o = bayige(&["--holiday-dir", &dir_arg, "disputes", "holidays"], &url);
    assert!(o.status.success(), "{}", stderr(&o));
    let listed = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        listed.contains("2099\t测试用：2099年部分节假日安排\t测试〔2098〕1号"),
        "{listed}"
    );
    assert!(listed.contains("2026\t"), "the built-in notices stay: {listed}");

    std::fs::write(
        extra.join("2098.toml"),
        "year = 2098\n[source]\ntitle = \"x\"\nnumber = \"y\"\ndate = \"2097-11-01\"\npublished = \"z\"\n[[holidays]]\nfestival = \"元旦\"\nfrom = \"2098-01-03\"\nto = \"2098-01-01\"\n",
    )
    .expect("write");
    let o = bayige(&["--holiday-dir", &dir_arg, "disputes", "holidays"], &url);
    let line = error_line(&o);
    assert!(line.contains("2098.toml"), "names the file: {line}");
    assert!(line.contains("BAYIGE_HOLIDAY_DIR"), "{line}");
}
