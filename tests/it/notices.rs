//! Automated notices through the one outbox, to a real SMTP server on
//! 127.0.0.1: guidance notices, deadline reminders, weekly digests, exactly
//! once per recipient and period, and one-click unsubscribe.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use chrono::NaiveDate;
use serde_json::{Value, json};

use crate::backend_cases;
use crate::circulars::to;
use crate::smtp::{Mail, SmtpServer};
use crate::support::{Db, TestApp, assert_field_error, json};

backend_cases!(
    notices_run_twice_sends_each_lead_one_digest_of_their_own_unit,
    a_visit_with_a_failed_item_sends_the_liaison_one_notice,
    reminders_fire_on_the_right_days_across_a_month_end,
    an_smtp_outage_during_a_run_delivers_everything_once_afterwards,
    two_instances_running_the_scheduler_send_one_of_each,
    unsubscribed_users_get_no_digest_and_the_link_needs_no_session,
    the_outbox_migration_keeps_every_circular_delivery,
);

/// Monday 17 July 2017.
const MONDAY: &str = "2017-07-17";

fn date(s: &str) -> NaiveDate {
    s.parse().expect("date")
}

fn digests(mails: &[Mail]) -> Vec<&Mail> {
    mails.iter().filter(|m| m.subject().starts_with("每周摘要")).collect()
}

/// The Baishan demo on `MONDAY`, mail to `smtp_url`.
async fn baishan_monday(db: Db, smtp_url: String) -> TestApp {
    let app = TestApp::new(db, move |c| {
        c.today = Some(date(MONDAY));
        c.smtp_url = Some(smtp_url);
        c.mail_max_attempts = 50;
        c.mail_retry_base_ms = 50;
    })
    .await;
    app.load_demo().await;
    app
}

async fn run_notices(app: &TestApp, as_of: Option<&str>) -> bayige::app::notices::RunReport {
    bayige::app::notices::run_once(&app.ctx, as_of.map(date))
        .await
        .expect("notices run")
}

/// Every user: (id, username, role, email, units).
async fn users(app: &TestApp) -> Vec<(i64, String, String, String, Vec<i64>)> {
    let (status, body) = json(app.get("/api/users").await).await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .or(body.as_array())
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|u| if u["user"].is_object() { &u["user"] } else { u })
        .map(|u| {
            (
                u["id"].as_i64().unwrap_or(0),
                u["username"].as_str().unwrap_or("").to_owned(),
                u["role"].as_str().unwrap_or("").to_owned(),
                u["email"].as_str().unwrap_or("").to_owned(),
                u["units"]
                    .as_array()
                    .map(|a| a.iter().filter_map(|x| x.as_i64().or(x["id"].as_i64())).collect())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// Station names by unit.
async fn station_names(app: &TestApp) -> BTreeMap<i64, BTreeSet<String>> {
    let mut out: BTreeMap<i64, BTreeSet<String>> = BTreeMap::new();
    let mut after: Option<i64> = None;
    loop {
        let path = match after {
            Some(a) => format!("/api/stations?per_page=100&after={a}"),
            None => "/api/stations?per_page=100".to_owned(),
        };
        let (status, page) = json(app.get(&path).await).await;
        assert_eq!(status, 200, "{page}");
        for s in page["items"].as_array().cloned().unwrap_or_default() {
            out.entry(s["unit_id"].as_i64().unwrap_or(0))
                .or_default()
                .insert(s["name"].as_str().unwrap_or("").to_owned());
        }
        match page["next_after"].as_i64() {
            Some(a) => after = Some(a),
            None => return out,
        }
    }
}

async fn notices_run_twice_sends_each_lead_one_digest_of_their_own_unit(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan_monday(db, smtp.url()).await;
    app.stop_background().await;
    let data = tempfile::tempdir().expect("dir");
    let dir = data.path().to_string_lossy().into_owned();
    let args = [
        "--today",
        MONDAY,
        "--smtp-url",
        &smtp.url(),
        "--data-dir",
        &dir,
        "--pdf",
        "false",
        "notices",
        "run",
    ];
    for round in 0..2 {
        let o = crate::cli::bayige(&args, &app.db_url);
        assert!(o.status.success(), "run {round}: {}", crate::cli::stderr(&o));
    }
    let mails = smtp.mails();
    let got = digests(&mails);
    let leads: Vec<_> = users(&app)
        .await
        .into_iter()
        .filter(|u| u.2 == "county_lead" && !u.3.is_empty())
        .collect();
    assert_eq!(leads.len(), 7, "{leads:?}");
    let names = station_names(&app).await;
    // The 12315 dispatches past a deadline on that Monday, by unit.
    let (_, cases) = json(app.get("/api/disputes?channel=dispatch&per_page=100").await).await;
    let overdue: Vec<(i64, String)> = cases["items"]
        .as_array()
        .expect("cases")
        .iter()
        .filter(|d| d["overdue"] == true)
        .map(|d| {
            (
                d["unit_id"].as_i64().expect("unit"),
                d["subject"].as_str().expect("subject").to_owned(),
            )
        })
        .collect();
    assert!(!overdue.is_empty(), "the demo has an overdue dispatch: {cases}");
    for (_, username, _, email, units) in &leads {
        let own: Vec<&Mail> = got.iter().copied().filter(|m| to(m) == *email).collect();
        assert_eq!(own.len(), 1, "{username} gets exactly one digest");
        let text = own[0].text();
        let mine: BTreeSet<&String> = units.iter().flat_map(|u| names.get(u).into_iter().flatten()).collect();
        assert!(
            mine.iter().any(|n| text.contains(n.as_str())),
            "{username}: names their stations\n{text}"
        );
        for (unit, list) in &names {
            if units.contains(unit) {
                continue;
            }
            for other in list.iter().filter(|n| !mine.contains(n)) {
                assert!(
                    !text.contains(other.as_str()),
                    "{username}'s digest names {other} of unit {unit}"
                );
            }
        }
        assert!(text.contains("逾期未整改") && text.contains("待回访服务站"), "{text}");
        assert!(text.contains("2017年7月17日"), "{text}");
        assert!(text.contains("逾期未办结的12315派单"), "{text}");
        for (unit, subject) in &overdue {
            assert_eq!(
                text.contains(subject.as_str()),
                units.contains(unit),
                "{username}: the overdue dispatch {subject} of unit {unit}\n{text}"
            );
        }
    }
    assert!(
        got.iter()
            .any(|m| m.text().contains("序时进度") && m.text().contains("全市排名第")),
        "progress against 序时进度 with its rank"
    );
    let (_, list) = json(app.get("/api/deliveries?kind=digest&per_page=100").await).await;
    assert_eq!(list["total"].as_i64(), Some(got.len() as i64), "{list}");
    assert!(
        list["items"]
            .as_array()
            .is_some_and(|a| a.iter().all(|d| d["status"] == "sent"))
    );
}

/// A station with a liaison email, in a unit with an inspector.
async fn station_with_liaison(app: &TestApp) -> (i64, i64, TestApp) {
    let unit = app.unit("220681", "临江市").await;
    let (status, body) = json(
        app.post(
            "/api/stations",
            &json!({
                "unit_id": unit, "name": "临江甲超市服务站", "host_business": "临江市某商贸有限公司",
                "category": "supermarket", "address": "临江市建设街1号", "liaison_name": "李明",
                "liaison_phone": "13943900001", "standard_id": "baxiangyi-common",
                "liaison_email": "not an address"
            }),
        )
        .await,
    )
    .await;
    assert_field_error(status, &body, "liaison_email");
    let (status, s) = json(
        app.post(
            "/api/stations",
            &json!({
                "unit_id": unit, "name": "临江甲超市服务站", "host_business": "临江市某商贸有限公司",
                "category": "supermarket", "address": "临江市建设街1号", "liaison_name": "李明",
                "liaison_phone": "13943900001", "standard_id": "baxiangyi-common",
                "liaison_email": "liming@station.example"
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["liaison_email"], "liming@station.example");
    let inspector = app.as_user("wuxw", "inspector", &[unit as i32]).await;
    (unit, s["id"].as_i64().expect("id"), inspector)
}

const CODES: [&str; 8] = [
    "place", "plaque", "liaison", "phone", "register", "bulletin", "rules", "computer",
];

fn visit(kind: &str, on: &str, failing: &[(&str, &str)]) -> Value {
    let items: Vec<Value> = CODES
        .iter()
        .map(|code| match failing.iter().find(|(c, _)| c == code) {
            Some((_, due)) => json!({"code": code, "result": "unmet", "note": "登记簿缺失", "due_on": due}),
            None => json!({"code": code, "result": "met"}),
        })
        .collect();
    json!({"kind": kind, "visited_on": on, "summary": "现场检查", "items": items})
}

async fn a_visit_with_a_failed_item_sends_the_liaison_one_notice(db: Db) {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::new(db, move |c| c.smtp_url = Some(url)).await;
    let (_, station, inspector) = station_with_liaison(&app).await;
    let (status, v) = json(
        inspector
            .post(
                &format!("/api/stations/{station}/visits"),
                &visit("acceptance", "2017-07-01", &[]),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let (status, v) = json(
        inspector
            .post(
                &format!("/api/stations/{station}/visits"),
                &visit("routine", "2017-07-10", &[("register", "2017-07-31")]),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let mails = smtp.wait_for(2, Duration::from_secs(10)).await;
    assert_eq!(mails.len(), 2, "the liaison and the inspector's copy");
    let liaison = mails
        .iter()
        .find(|m| to(m) == "liming@station.example")
        .expect("to the liaison");
    assert!(liaison.subject().starts_with("整改通知"), "{}", liaison.subject());
    let text = liaison.text();
    for needle in ["临江甲超市服务站", "2017年7月31日前", "wuxw", "李明", "登记簿缺失"] {
        assert!(text.contains(needle), "{needle}: {text}");
    }
    assert!(!text.contains("register"), "no item code: {text}");
    if app.ctx.fonts.is_some() {
        let files = liaison.attachments();
        assert_eq!(files.len(), 1, "the 整改通知书");
        assert!(files[0].0.starts_with("整改通知书") && files[0].1.starts_with(b"%PDF"));
    }
    let copy = mails.iter().find(|m| to(m) == "wuxw@test.example").expect("the copy");
    assert!(copy.subject().starts_with("【抄送】"), "{}", copy.subject());
    // A later visit that raises nothing sends nothing.
    let (status, _) = json(
        inspector
            .post(
                &format!("/api/stations/{station}/visits"),
                &visit("follow_up", "2017-07-20", &[]),
            )
            .await,
    )
    .await;
    assert_eq!(status, 201);
    let (_, list) = json(app.get("/api/deliveries?kind=guidance_notice").await).await;
    assert_eq!(list["total"], 2, "{list}");
    assert!(
        list["items"][0]["reference"]
            .as_str()
            .is_some_and(|r| r.starts_with("visit/"))
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(smtp.mails().len(), 2, "one notice, once");
    let (status, body) = json(app.get("/api/deliveries?kind=telegram").await).await;
    assert_field_error(status, &body, "kind");
}

async fn reminders_fire_on_the_right_days_across_a_month_end(db: Db) {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::new(db, move |c| {
        c.smtp_url = Some(url);
        c.today = Some(date("2017-07-20"));
    })
    .await;
    app.stop_background().await;
    let (unit, station, inspector) = station_with_liaison(&app).await;
    app.as_user("lead1", "county_lead", &[unit as i32]).await;
    for body in [
        visit("acceptance", "2017-07-10", &[]),
        visit("routine", "2017-07-20", &[("register", "2017-08-02")]),
    ] {
        let (status, v) = json(inspector.post(&format!("/api/stations/{station}/visits"), &body).await).await;
        assert_eq!(status, 201, "{v}");
    }
    app.run_pending().await;
    smtp.wait_for(2, Duration::from_secs(5)).await;
    let reminders = |mails: Vec<Mail>| -> Vec<(String, String)> {
        mails
            .into_iter()
            .filter(|m| m.subject().starts_with("整改"))
            .filter(|m| !m.subject().starts_with("整改通知"))
            .map(|m| (to(&m), m.subject()))
            .collect()
    };
    let mut seen = 0;
    for (day, expect) in [
        ("2017-07-28", vec![]),
        ("2017-07-29", vec![]),
        ("2017-07-30", vec!["liming@station.example"]),
        ("2017-07-31", vec![]),
        ("2017-08-01", vec![]),
        ("2017-08-02", vec![]),
        ("2017-08-03", vec!["lead1@test.example", "wuxw@test.example"]),
        ("2017-08-04", vec![]),
    ] {
        run_notices(&app, Some(day)).await;
        app.run_pending().await;
        let all = reminders(smtp.mails());
        let mut new: Vec<String> = all[seen..].iter().map(|(t, _)| t.clone()).collect();
        new.sort();
        assert_eq!(new, expect, "on {day}: {all:?}");
        if day == "2017-07-30" {
            assert!(all[seen].1.contains("2017年8月2日"), "{all:?}");
        }
        seen = all.len();
    }
}

async fn an_smtp_outage_during_a_run_delivers_everything_once_afterwards(db: Db) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let app = baishan_monday(db, format!("smtp://127.0.0.1:{port}")).await;
    let report = run_notices(&app, None).await;
    assert!(report.digests >= 7, "{report:?}");
    let queued = report.digests + report.overdue + report.reminders;
    let mut failing = Vec::new();
    for _ in 0..400 {
        let (_, list) = json(app.get("/api/deliveries?per_page=100").await).await;
        failing = list["items"].as_array().cloned().unwrap_or_default();
        if failing.iter().all(|d| d["last_error"].is_string()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(failing.len(), queued, "{failing:?}");
    assert!(
        failing
            .iter()
            .all(|d| d["status"] != "sent" && d["last_error"].is_string())
    );
    // The server comes back; the same run again queues nothing more.
    let smtp = SmtpServer::start_on(port);
    let again = run_notices(&app, None).await;
    assert_eq!(again.digests + again.overdue + again.reminders, 0, "{again:?}");
    for _ in 0..400 {
        let (_, list) = json(app.get("/api/deliveries?per_page=100").await).await;
        if list["items"]
            .as_array()
            .is_some_and(|a| a.iter().all(|d| d["status"] == "sent"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    app.stop_background().await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), queued, "each once");
    let distinct: BTreeSet<(String, String)> = mails.iter().map(|m| (to(m), m.subject())).collect();
    assert_eq!(distinct.len(), mails.len());
}

async fn two_instances_running_the_scheduler_send_one_of_each(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan_monday(db, smtp.url()).await;
    let url = smtp.url();
    let other = app
        .restart_with(move |c| {
            c.today = Some(date(MONDAY));
            c.smtp_url = Some(url);
            c.notices.notices = Some(true);
            c.notices.notice_every_secs = Some(1);
        })
        .await;
    // Three schedulers at once: two runs called here and the second
    // instance's own background one.
    let (a, b) = tokio::join!(run_notices(&app, None), run_notices(&other, None));
    let mut total = 0;
    for _ in 0..800 {
        let (_, list) = json(app.get("/api/deliveries?per_page=100").await).await;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        total = items.len();
        if total > 0 && items.iter().all(|d| d["status"] == "sent") && smtp.mails().len() >= total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    other.stop_background().await;
    app.stop_background().await;
    let (_, list) = json(app.get("/api/deliveries?per_page=100").await).await;
    assert_eq!(
        list["total"].as_i64(),
        Some(total as i64),
        "nothing more was queued: {a:?} {b:?}"
    );
    let mails = smtp.mails();
    assert_eq!(mails.len(), total, "one of each");
    let distinct: BTreeSet<(String, String)> = mails.iter().map(|m| (to(m), m.subject())).collect();
    assert_eq!(distinct.len(), mails.len(), "nobody got anything twice");
    assert!(digests(&mails).len() >= 7, "every lead's digest");
}

async fn unsubscribed_users_get_no_digest_and_the_link_needs_no_session(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan_monday(db, smtp.url()).await;
    app.stop_background().await;
    let leads: Vec<_> = users(&app)
        .await
        .into_iter()
        .filter(|u| u.2 == "county_lead" && !u.3.is_empty())
        .collect();
    // One lead turns the digest off on their own settings.
    let (first, second) = (&leads[0], &leads[1]);
    let me = app.as_user(&first.1, "county_lead", &[]).await;
    let (status, prefs) = json(
        me.put("/api/me/notices", &json!({"digest": false, "reminder": true}))
            .await,
    )
    .await;
    assert_eq!((status, prefs["digest"].as_bool()), (200, Some(false)), "{prefs}");
    let (_, prefs) = json(me.get("/api/me/notices").await).await;
    assert_eq!(prefs, json!({"digest": false, "reminder": true}));
    run_notices(&app, None).await;
    app.run_pending().await;
    let mails = smtp.mails();
    let got = digests(&mails);
    assert!(!got.iter().any(|m| to(m) == first.3), "the unsubscribed lead gets none");
    let theirs = got.iter().find(|m| to(m) == second.3).expect("the other lead's digest");
    // RFC 8058 headers, and a link that works without signing in.
    let raw = String::from_utf8_lossy(&theirs.raw).into_owned();
    assert!(
        raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{raw}"
    );
    let link = raw
        .lines()
        .find_map(|l| l.strip_prefix("List-Unsubscribe: <"))
        .and_then(|l| l.strip_suffix('>'))
        .expect("List-Unsubscribe header")
        .to_owned();
    let path = &link[link.find("/unsubscribe").expect("path")..];
    let anonymous = reqwest::Client::new();
    let page = anonymous.get(app.url(path)).send().await.expect("GET");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("body");
    assert!(html.contains("确认退订") && html.contains("每周摘要"), "{html}");
    let mut forged = path.to_owned();
    let last = forged.pop().expect("a signature");
    forged.push(if last == 'a' { 'b' } else { 'a' });
    let r = anonymous
        .post(app.url(&forged))
        .body("List-Unsubscribe=One-Click")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("POST");
    assert!(
        matches!(r.status().as_u16(), 403 | 422),
        "a forged signature is refused: {}",
        r.status()
    );
    let other_user = path.replacen(&format!("user={}", second.0), &format!("user={}", first.0), 1);
    let r = anonymous.post(app.url(&other_user)).send().await.expect("POST");
    assert_eq!(r.status(), 403, "the link is for its user only");
    let r = anonymous
        .post(app.url(path))
        .body("List-Unsubscribe=One-Click")
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .expect("POST");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap_or_default().contains("已退订"));
    // The next Monday neither of them gets a digest; the others do.
    let before = smtp.mails().len();
    run_notices(&app, Some("2017-07-24")).await;
    app.run_pending().await;
    let mails = smtp.mails();
    let next = digests(&mails[before..]);
    assert!(!next.is_empty());
    assert!(
        next.iter().all(|m| to(m) != first.3 && to(m) != second.3),
        "both said no"
    );
}

/// The migration that gives deliveries a kind (SQLite rebuilds the table)
/// keeps every row as a circular delivery, and its indexes.
async fn the_outbox_migration_keeps_every_circular_delivery(db: Db) {
    use diesel::connection::SimpleConnection;
    use diesel_migrations::MigrationHarness;
    let (url, guard, backend) = match db {
        Db::Sqlite => {
            let (u, g) = crate::support::fresh_sqlite();
            (u, g, "sqlite")
        }
        Db::Postgres => {
            let (u, g) = crate::support::fresh_pg_database();
            (u, g, "postgres")
        }
    };
    let target = "2026-12-02-000301_notices";
    let db_url = url.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = bayige::db::DbUrl::parse(&db_url).expect("url").connect().expect("connect");
        macro_rules! until_mine {
            ($c:expr, $m:expr) => {
                loop {
                    let pending = $c.pending_migrations($m).expect("pending");
                    let next = pending.first().map(|m| m.name().to_string()).expect("mine is pending");
                    if next == target {
                        break;
                    }
                    $c.run_next_migration($m).expect("migrate");
                }
            };
        }
        match &mut conn {
            bayige::db::DbConnection::Sqlite(c) => until_mine!(c, bayige::db::SQLITE_MIGRATIONS),
            bayige::db::DbConnection::Pg(c) => until_mine!(c, bayige::db::PG_MIGRATIONS),
        }
        conn.batch_execute(
            "INSERT INTO units (id, code, name, kind, created_at) VALUES (1, '220602', '浑江区', 'county', '2017-07-14 08:00:00');
             INSERT INTO circulars (id, number, prefix, year, serial, as_of, title, snapshot, subject, body_text, body_html,
                 attachment_csv, issued_by, issued_at)
               VALUES (1, '白市工商通〔2017〕1号', '白市工商通', 2017, 1, '2017-07-14', '通报', '{}', '通报', '正文', '<p>正文</p>',
                 '', 'admin', '2017-07-14 08:00:00');
             INSERT INTO circular_renditions (id, circular_id, unit_id, subject, body_text, body_html)
               VALUES (1, 1, 1, '通报', '正文', '<p>正文</p>');
             INSERT INTO deliveries (id, circular_id, rendition_id, recipient_name, recipient_email, unit_id, copy, status,
                 attempts, next_attempt_at, message_id, sent_at, created_at, updated_at)
               VALUES (1, 1, 1, '浑江区局', 'hj@baishan.example', 1, FALSE, 'sent', 1, '2017-07-14 08:00:00',
                 '<circular-1.delivery-1@baishan.example>', '2017-07-14 08:00:01', '2017-07-14 08:00:00',
                 '2017-07-14 08:00:00');",
        )
        .expect("rows written before the migration");
    })
    .await
    .expect("join");
    let app = TestApp::start_with(url, guard, backend, |_| {}).await;
    let (status, list) = json(app.get("/api/deliveries").await).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["total"], 1, "{list}");
    let d = &list["items"][0];
    assert_eq!(
        (
            d["kind"].as_str(),
            d["reference"].as_str(),
            d["status"].as_str(),
            d["circular_id"].as_i64()
        ),
        (Some("circular"), Some("circular/1"), Some("sent"), Some(1)),
        "{d}"
    );
    let (status, ds) = json(app.get("/api/circulars/1/deliveries").await).await;
    assert_eq!(
        (status, ds["items"][0]["recipient_email"].as_str()),
        (200, Some("hj@baishan.example"))
    );
    if backend == "sqlite" {
        let ctx = app.ctx.clone();
        let indexes: Vec<String> = tokio::task::spawn_blocking(move || {
            use diesel::prelude::*;
            #[derive(QueryableByName)]
            struct Name {
                #[diesel(sql_type = diesel::sql_types::Text)]
                name: String,
            }
            let mut conn = ctx.pool.get().expect("conn");
            diesel::sql_query("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries'")
                .load::<Name>(&mut *conn)
                .expect("indexes")
                .into_iter()
                .map(|n| n.name)
                .collect()
        })
        .await
        .expect("join");
        for index in ["deliveries_due", "deliveries_circular", "deliveries_kind"] {
            assert!(indexes.iter().any(|i| i == index), "{index}: {indexes:?}");
        }
    }
}
