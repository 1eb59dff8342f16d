//! The dispute ledger (台账): cases with exact money and versions, station
//! accounts' scope, 12315 dispatches with working-day deadlines, the
//! figures on a hand-computed set, masking of personal information (pages,
//! API, exports, audit), the audited reveal and retention.

use serde_json::{Value, json};

use crate::backend_cases;
use crate::support::{Db, TestApp, assert_field_error, client_with, json};

backend_cases!(
    cases_keep_exact_money_versions_and_an_audit_trail,
    a_station_account_sees_only_its_own_ledger,
    dispatch_deadlines_count_working_days_across_national_day,
    figures_on_a_hand_computed_set,
    names_and_phones_are_masked_beyond_the_case_and_in_exports,
    the_bureau_reveals_one_case_with_a_reason_and_it_is_audited,
    retention_erases_names_and_phones_and_keeps_the_figures,
);

/// An app whose "today" is 2017-10-20, with two units, a built station in
/// each, and the station account of the first.
pub struct Ledger {
    pub app: TestApp,
    pub unit_a: i64,
    pub unit_b: i64,
    pub station_a: i64,
    pub station_b: i64,
    pub own: TestApp,
}

async fn station(app: &TestApp, unit: i64, name: &str) -> i64 {
    let body = json!({
        "unit_id": unit, "name": name, "host_business": "中国电信股份有限公司白山分公司",
        "category": "telecom", "address": "白山市浑江区浑江大街18号", "liaison_name": "王丽华",
        "liaison_phone": "0439-3221234", "standard_id": "baxiangyi-common",
        "status": "established", "established_on": "2017-01-10"
    });
    let (status, created) = json(app.post("/api/stations", &body).await).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().expect("station id")
}

/// A client acting as the station account `username` of `station`.
pub async fn station_account(app: &TestApp, username: &str, station: i64) -> TestApp {
    let body = json!({"username": username, "role": "station", "station_id": station,
                      "display_name": "白山电信服务站", "password": "correct horse battery"});
    let (status, user) = json(app.post("/api/users", &body).await).await;
    assert_eq!(status, 201, "{user}");
    assert_eq!(user["station_id"], station);
    let (status, token) = json(
        app.post("/api/tokens", &json!({"name": "phone", "user_id": user["id"]}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{token}");
    app.with_client(client_with(token["secret"].as_str().expect("token secret")))
}

pub async fn ledger(db: Db, today: Option<&str>) -> Ledger {
    let today = today.map(|t| t.parse().expect("date"));
    let app = TestApp::new(db, move |c| c.today = today).await;
    let unit_a = app.unit("220602", "浑江区").await;
    let unit_b = app.unit("220681", "临江市").await;
    let station_a = station(&app, unit_a, "白山电信消费维权服务站").await;
    let station_b = station(&app, unit_b, "临江百货消费维权服务站").await;
    let own = station_account(&app, "station-a", station_a).await;
    Ledger {
        app,
        unit_a,
        unit_b,
        station_a,
        station_b,
        own,
    }
}

/// A walk-in case received on `received_on`.
pub fn case(received_on: &str) -> Value {
    json!({"channel": "walk_in", "received_on": received_on, "received_time": "09:30",
           "consumer_name": "张三", "consumer_phone": "13812345678",
           "subject": "手机套餐", "subject_kind": "service", "amount": "120.00",
           "complaint": "套餐外流量计费有误"})
}

/// `base` with the fields of `more` set.
pub fn with(mut base: Value, more: Value) -> Value {
    if let (Some(b), Some(m)) = (base.as_object_mut(), more.as_object()) {
        for (k, v) in m {
            b.insert(k.clone(), v.clone());
        }
    }
    base
}

pub async fn record(app: &TestApp, station: i64, body: &Value) -> Value {
    let (status, created) = json(app.post(&format!("/api/stations/{station}/disputes"), body).await).await;
    assert_eq!(status, 201, "{created}");
    created
}

async fn cases_keep_exact_money_versions_and_an_audit_trail(db: Db) {
    let l = ledger(db, Some("2017-10-20")).await;
    let created = record(&l.own, l.station_a, &case("2017-10-16")).await;
    assert_eq!(created["amount"], "120.00");
    assert_eq!(created["recovered"], "0.00");
    assert_eq!(created["status"], "pending");
    assert_eq!(created["respond_by"], "2017-10-17");
    assert_eq!(
        created["consumer_phone"], "13812345678",
        "the station sees its own case in full"
    );
    assert_eq!(created["version"], 1);
    let path = format!("/api/disputes/{}", created["id"]);

    let handled = json!({"version": 1, "handling": "settled", "outcome": "refund",
                         "recovered": "0.1", "handled_on": "2017-10-17"});
    let (status, updated) = json(l.own.patch(&path, &handled).await).await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["recovered"], "0.10", "money is exact, two decimals");
    assert_eq!(updated["status"], "closed");
    assert_eq!(updated["responded_on"], "2017-10-17", "answered the day it was handled");
    assert_eq!(updated["version"], 2);
    let (status, stale) = json(l.own.patch(&path, &json!({"version": 1, "recovered": "5"})).await).await;
    assert_eq!(status, 409, "{stale}");
    assert_eq!(stale["error"]["current"]["version"], 2);
    assert_eq!(stale["error"]["current"]["recovered"], "0.10");

    let bad = [
        (with(case("2017-10-16"), json!({"amount": "12.345"})), "amount"),
        (with(case("2017-10-16"), json!({"amount": 12.5})), "amount"),
        (with(case("2017-10-16"), json!({"amount": "-1"})), "amount"),
        (
            with(
                case("2017-10-16"),
                json!({"handling": "declined", "handled_on": "2017-10-16"}),
            ),
            "handling_note",
        ),
        (
            with(
                case("2017-10-16"),
                json!({"handling": "settled", "handled_on": "2017-10-12"}),
            ),
            "handled_on",
        ),
        (
            with(case("2017-10-16"), json!({"followed_up_on": "2017-10-18"})),
            "satisfaction",
        ),
        (
            with(case("2017-10-16"), json!({"received_on": "2017-10-21"})),
            "received_on",
        ),
        (with(case("2017-10-16"), json!({"channel": "fax"})), "channel"),
        (
            with(case("2017-10-16"), json!({"consumer_phone": "call me"})),
            "consumer_phone",
        ),
        (with(case("2017-10-16"), json!({"recovered": "10.00"})), "recovered"),
        (
            with(case("2017-10-16"), json!({"dispatch_ref": "BS-1"})),
            "dispatch_ref",
        ),
        (
            with(case("2017-10-16"), json!({"consumer_name": null})),
            "consumer_name",
        ),
    ];
    for (body, field) in bad {
        let (status, err) = json(
            l.own
                .post(&format!("/api/stations/{}/disputes", l.station_a), &body)
                .await,
        )
        .await;
        assert_field_error(status, &err, field);
    }
    let (_, page) = json(l.own.get("/api/disputes").await).await;
    assert_eq!(page["total"], 1, "nothing half-written: {page}");

    let (_, audit) = json(l.app.get("/api/audit?entity=dispute").await).await;
    let text = audit.to_string();
    let actions: Vec<&str> = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["dispute.update", "dispute.create"]);
    assert!(text.contains("138****5678") && text.contains("张**"), "{text}");
    assert!(
        !text.contains("13812345678") && !text.contains("张三"),
        "no personal information in the audit log"
    );
}

async fn a_station_account_sees_only_its_own_ledger(db: Db) {
    let l = ledger(db, Some("2017-10-20")).await;
    let own_case = record(&l.own, l.station_a, &case("2017-10-16")).await;
    let other = record(&l.app, l.station_b, &case("2017-10-17")).await;
    let (status, _) = json(
        l.own
            .post(&format!("/api/stations/{}/disputes", l.station_b), &case("2017-10-16"))
            .await,
    )
    .await;
    assert_eq!(status, 403, "records only at its own station");
    for path in [
        format!("/api/disputes/{}", other["id"]),
        format!("/api/disputes?station_id={}", l.station_b),
        format!("/api/disputes?unit_id={}", l.unit_b),
        format!("/api/disputes/stats?year=2017&station_id={}", l.station_b),
        format!("/api/stations/{}", l.station_b),
        format!("/api/stations/{}/visits", l.station_b),
        format!("/api/guidance?station_id={}", l.station_b),
        format!("/api/guidance?unit_id={}", l.unit_a),
        format!("/api/review?unit_id={}", l.unit_a),
        "/api/audit".to_owned(),
    ] {
        let r = l.own.get(&path).await;
        assert_eq!(r.status(), 403, "{path}");
    }
    let (status, _) = json(
        l.own
            .patch(
                &format!("/api/disputes/{}", other["id"]),
                &json!({"version": 1, "subject": "改"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 403);
    let (_, page) = json(l.own.get("/api/disputes").await).await;
    assert_eq!(page["total"], 1, "{page}");
    assert_eq!(page["items"][0]["id"], own_case["id"]);
    let (_, stations) = json(l.own.get("/api/stations").await).await;
    assert_eq!(
        stations["items"].as_array().map(Vec::len),
        Some(0),
        "no other list shows it anything"
    );
    // Its own station, visit results and guidance it reads.
    for path in [
        format!("/api/stations/{}", l.station_a),
        format!("/api/stations/{}/visits", l.station_a),
        format!("/api/stations/{}/checklist", l.station_a),
        "/api/guidance".to_owned(),
    ] {
        let (status, body) = json(l.own.get(&path).await).await;
        assert_eq!(status, 200, "{path}: {body}");
    }
    let (_, stats) = json(l.own.get("/api/disputes/stats?year=2017&as_of=2017-10-20").await).await;
    assert_eq!(stats["rows"].as_array().map(Vec::len), Some(1), "{stats}");
    assert_eq!(stats["rows"][0]["station_id"], l.station_a);
    assert_eq!(stats["totals"]["received"], 1);
    // The bureau sees both; a station account must name exactly one station.
    let (_, all) = json(l.app.get("/api/disputes").await).await;
    assert_eq!(all["total"], 2);
    let (status, err) = json(
        l.app
            .post(
                "/api/users",
                &json!({"username": "station-x", "role": "station", "password": "correct horse battery"}),
            )
            .await,
    )
    .await;
    assert_field_error(status, &err, "station_id");
    let (status, err) = json(
        l.app
            .post(
                "/api/users",
                &json!({"username": "insp-x", "role": "inspector", "units": [l.unit_a],
                        "station_id": l.station_a, "password": "correct horse battery"}),
            )
            .await,
    )
    .await;
    assert_field_error(status, &err, "station_id");
}

async fn dispatch_deadlines_count_working_days_across_national_day(db: Db) {
    let l = ledger(db, Some("2017-10-20")).await;
    let lead = l.app.as_user("lead-a", "county_lead", &[l.unit_a as i32]).await;
    let inspector = l.app.as_user("insp-a", "inspector", &[l.unit_a as i32]).await;
    let dispatch = |received: &str| {
        with(
            case(received),
            json!({"channel": "dispatch", "dispatch_ref": "12315-2017-0929-01"}),
        )
    };
    // Friday 29 September 2017: Saturday 30 September is a make-up working
    // day; 1-8 October are the National Day holiday.
    let overdue = record(&lead, l.station_a, &dispatch("2017-09-29")).await;
    assert_eq!(overdue["channel"], "dispatch");
    assert_eq!(overdue["respond_by"], "2017-09-30");
    assert_eq!(overdue["close_by"], "2017-10-16");
    assert_eq!(overdue["overdue"], true);
    // Thursday 19 October: due Friday, closed within 7 working days by Monday 30 October.
    let fresh = record(&l.app, l.station_a, &dispatch("2017-10-19")).await;
    assert_eq!(fresh["respond_by"], "2017-10-20");
    assert_eq!(fresh["close_by"], "2017-10-30");
    assert_eq!(fresh["overdue"], false);
    for (who, station) in [(&lead, l.station_b), (&l.own, l.station_a), (&inspector, l.station_a)] {
        let (status, _) = json(
            who.post(&format!("/api/stations/{station}/disputes"), &dispatch("2017-10-19"))
                .await,
        )
        .await;
        assert_eq!(status, 403, "only the bureau and the unit's county lead dispatch");
    }
    let (status, err) = json(
        l.app
            .post(
                &format!("/api/stations/{}/disputes", l.station_a),
                &dispatch("2019-05-06"),
            )
            .await,
    )
    .await;
    assert_field_error(status, &err, "received_on");
    assert!(
        err.to_string().contains("2019"),
        "a year without a calendar is named: {err}"
    );

    let (status, queue) = json(lead.get("/api/review").await).await;
    assert_eq!(status, 200, "{queue}");
    let ids: Vec<&Value> = queue["overdue_dispatches"]
        .as_array()
        .expect("overdue dispatches")
        .iter()
        .map(|d| &d["id"])
        .collect();
    assert_eq!(ids, [&overdue["id"]], "{queue}");
    assert_eq!(
        queue["overdue_dispatches"][0]["consumer_phone"], "13812345678",
        "the unit's lead handles it"
    );
    // The station answers and closes it: it leaves the queue.
    let closed = json!({"version": 1, "responded_on": "2017-09-30", "handling": "mediated",
                        "outcome": "compensation", "recovered": "50", "handled_on": "2017-10-09"});
    let (status, body) = json(l.own.patch(&format!("/api/disputes/{}", overdue["id"]), &closed).await).await;
    assert_eq!(status, 200, "{body}");
    let (_, queue) = json(lead.get("/api/review").await).await;
    assert_eq!(queue["overdue_dispatches"].as_array().map(Vec::len), Some(0));
    let (_, stats) = json(l.app.get("/api/disputes/stats?year=2017&as_of=2017-10-20").await).await;
    assert_eq!(stats["totals"]["dispatched"], 2);
    assert_eq!(
        stats["totals"]["responded_on_time"], 1,
        "answered on the make-up Saturday"
    );
}

async fn figures_on_a_hand_computed_set(db: Db) {
    let l = ledger(db, Some("2017-10-20")).await;
    let cases = [
        (
            l.station_a,
            json!({"received_on": "2017-03-01", "responded_on": "2017-03-01", "handling": "settled",
            "outcome": "refund", "recovered": "100.50", "handled_on": "2017-03-02",
            "followed_up_on": "2017-03-05", "satisfaction": "satisfied"}),
        ),
        (
            l.station_a,
            json!({"received_on": "2017-04-10", "handling": "mediated", "outcome": "exchange",
            "recovered": "50.25", "handled_on": "2017-04-12", "followed_up_on": "2017-04-20",
            "satisfaction": "basically_satisfied"}),
        ),
        (
            l.station_a,
            json!({"received_on": "2017-05-03", "responded_on": "2017-05-04", "handling": "failed",
            "handled_on": "2017-05-10", "followed_up_on": "2017-05-12", "satisfaction": "unsatisfied"}),
        ),
        (
            l.station_a,
            json!({"received_on": "2017-06-01", "handling": "declined",
            "handling_note": "不属于消费纠纷", "handled_on": "2017-06-01"}),
        ),
        (l.station_a, json!({"received_on": "2017-10-18"})),
        (
            l.station_b,
            json!({"received_on": "2017-08-01", "responded_on": "2017-08-01", "handling": "settled",
            "recovered": "10", "handled_on": "2017-08-02"}),
        ),
        (
            l.station_b,
            json!({"received_on": "2017-10-19", "handling": "settled", "recovered": "999",
            "handled_on": "2017-10-19"}),
        ),
    ];
    for (station, fields) in cases {
        record(&l.own_or_admin(station), station, &with(case("2017-01-03"), fields)).await;
    }
    let (status, stats) = json(l.app.get("/api/disputes/stats?year=2017&as_of=2017-10-18").await).await;
    assert_eq!(status, 200, "{stats}");
    let row = |unit: i64| {
        stats["rows"]
            .as_array()
            .and_then(|rows| rows.iter().find(|r| r["unit_id"] == unit))
            .cloned()
            .unwrap_or_else(|| panic!("no row for unit {unit}: {stats}"))
    };
    let a = row(l.unit_a);
    // 5 received, 4 handled, 2 settled, 3 followed up (2 content), answered
    // on time: 1 March (due 2 March), 4 May (due 4 May), 1 June; not 12
    // April (due 11 April) nor the open one.
    for (k, v) in [
        ("received", 5),
        ("handled", 4),
        ("settled", 2),
        ("followed_up", 3),
        ("satisfied", 2),
        ("responded_on_time", 3),
    ] {
        assert_eq!(a[k], v, "{k}: {a}");
    }
    assert_eq!(a["recovered"], "150.75");
    assert_eq!(a["handled_rate"], "80.0");
    assert_eq!(a["settlement_rate"], "50.0");
    assert_eq!(a["satisfaction_rate"], "66.7", "2/3 rounds half up");
    assert_eq!(a["on_time_rate"], "60.0");
    let b = row(l.unit_b);
    assert_eq!(b["received"], 1, "the case received after as_of is not counted: {b}");
    assert_eq!(b["recovered"], "10.00");
    assert_eq!(b["satisfaction_rate"], Value::Null, "nobody followed up: no rate");
    let t = &stats["totals"];
    assert_eq!(
        (t["received"].as_i64(), t["handled"].as_i64(), t["settled"].as_i64()),
        (Some(6), Some(5), Some(3))
    );
    assert_eq!(t["recovered"], "160.75");
    assert_eq!(t["handled_rate"], "83.3", "5/6");
    assert_eq!(t["settlement_rate"], "60.0");
    assert_eq!(t["on_time_rate"], "66.7", "4/6");
    let (status, err) = json(l.app.get("/api/disputes/stats?year=2017&as_of=2018-01-01").await).await;
    assert_field_error(status, &err, "as_of");
    let (status, one) = json(
        l.app
            .get(&format!(
                "/api/disputes/stats?year=2017&as_of=2017-10-18&unit_id={}",
                l.unit_b
            ))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(one["rows"].as_array().map(Vec::len), Some(1));
}

impl Ledger {
    /// The station account for its own station, the bureau for others.
    fn own_or_admin(&self, station: i64) -> TestApp {
        let client = if station == self.station_a {
            &self.own
        } else {
            &self.app
        };
        client.with_client(client.client.clone())
    }
}

async fn names_and_phones_are_masked_beyond_the_case_and_in_exports(db: Db) {
    let l = ledger(db, Some("2017-10-20")).await;
    let created = record(&l.own, l.station_a, &case("2017-10-16")).await;
    let path = format!("/api/disputes/{}", created["id"]);
    let viewer = l.app.as_user("city-viewer", "viewer", &[]).await;
    let inspector = l.app.as_user("insp-a", "inspector", &[l.unit_a as i32]).await;
    let lead_b = l.app.as_user("lead-b", "county_lead", &[l.unit_b as i32]).await;
    for who in [&viewer, &l.app] {
        let (status, seen) = json(who.get(&path).await).await;
        assert_eq!(status, 200);
        assert_eq!(seen["consumer_name"], "张**");
        assert_eq!(seen["consumer_phone"], "138****5678");
        assert_eq!(seen["personal_masked"], true);
        let (_, page) = json(who.get("/api/disputes").await).await;
        assert!(!page.to_string().contains("13812345678"), "{page}");
    }
    let (_, seen) = json(inspector.get(&path).await).await;
    assert_eq!(
        seen["consumer_phone"], "13812345678",
        "staff of the station's unit handle it"
    );
    let (status, _) = json(lead_b.get(&path).await).await;
    assert_eq!(status, 403, "another unit's lead reads nothing of it");
    for who in [&l.own, &inspector, &viewer] {
        let r = who.get("/api/disputes/export?format=csv").await;
        assert_eq!(r.status(), 200);
        let csv = r.text().await.expect("csv");
        assert!(csv.contains("138****5678") && csv.contains("张**"), "{csv}");
        assert!(
            !csv.contains("13812345678") && !csv.contains("张三"),
            "exports are masked: {csv}"
        );
    }
    let r = l.own.get("/api/disputes/export").await;
    assert_eq!(r.status(), 200);
    let xlsx = r.bytes().await.expect("xlsx");
    let sheet = crate::spreadsheets::openpyxl(&xlsx);
    let text = sheet["rows"].to_string();
    assert!(text.contains("138****5678") && !text.contains("13812345678"), "{text}");
    assert!(text.contains("手机套餐") && text.contains("120.00"), "{text}");
}

async fn the_bureau_reveals_one_case_with_a_reason_and_it_is_audited(db: Db) {
    let l = ledger(db, Some("2017-10-20")).await;
    let created = record(&l.own, l.station_a, &case("2017-10-16")).await;
    let path = format!("/api/disputes/{}/reveal", created["id"]);
    let viewer = l.app.as_user("city-viewer", "viewer", &[]).await;
    let (status, _) = json(viewer.post(&path, &json!({"reason": "核查"})).await).await;
    assert_eq!(status, 403);
    let (status, err) = json(l.app.post(&path, &json!({})).await).await;
    assert_field_error(status, &err, "reason");
    let (status, revealed) = json(
        l.app
            .post(&path, &json!({"reason": "消费者再次投诉至12315，需电话核实"}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{revealed}");
    assert_eq!(revealed["consumer_name"], "张三");
    assert_eq!(revealed["consumer_phone"], "13812345678");
    let (_, audit) = json(
        l.app
            .get(&format!("/api/audit?entity=dispute&entity_id={}", created["id"]))
            .await,
    )
    .await;
    let reveal = audit["items"]
        .as_array()
        .and_then(|items| items.iter().find(|e| e["action"] == "dispute.reveal"))
        .cloned()
        .unwrap_or_else(|| panic!("no reveal in the audit log: {audit}"));
    assert_eq!(reveal["username"], "admin");
    assert_eq!(reveal["after"]["reason"], "消费者再次投诉至12315，需电话核实");
    assert!(
        !audit.to_string().contains("13812345678"),
        "the log says who and why, not the number"
    );
}

async fn retention_erases_names_and_phones_and_keeps_the_figures(db: Db) {
    // Today is the real date: cases closed in 2017 are years past retention.
    let l = ledger(db, None).await;
    let closed = record(
        &l.own,
        l.station_a,
        &with(
            case("2017-10-16"),
            json!({"handling": "settled", "recovered": "88.80", "handled_on": "2017-10-17"}),
        ),
    )
    .await;
    let open = record(&l.own, l.station_a, &case("2017-10-18")).await;
    let (_, before) = json(l.app.get("/api/disputes/stats?year=2017").await).await;
    let ctx = l.app.ctx.clone();
    let erased = tokio::task::spawn_blocking(move || {
        let mut conn = ctx.pool.get().expect("conn");
        bayige::app::disputes::erase_expired(&mut conn, &ctx, &bayige::auth::Principal::system("test"))
            .expect("retention")
    })
    .await
    .expect("join");
    assert_eq!(erased, 1);
    let (_, gone) = json(l.own.get(&format!("/api/disputes/{}", closed["id"])).await).await;
    assert_eq!(gone["consumer_name"], Value::Null);
    assert_eq!(gone["consumer_phone"], Value::Null);
    assert_eq!(gone["personal_erased"], true);
    assert_eq!(gone["recovered"], "88.80");
    let (_, kept) = json(l.own.get(&format!("/api/disputes/{}", open["id"])).await).await;
    assert_eq!(
        kept["consumer_phone"], "13812345678",
        "an open case keeps what it needs"
    );
    let (_, after) = json(l.app.get("/api/disputes/stats?year=2017").await).await;
    assert_eq!(before["totals"], after["totals"], "the figures stay");
    let (status, _) = json(
        l.app
            .post(
                &format!("/api/disputes/{}/reveal", closed["id"]),
                &json!({"reason": "核查"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 409, "nothing left to reveal");
    // The case can still be edited without its erased fields.
    let (status, body) = json(
        l.own
            .patch(
                &format!("/api/disputes/{}", closed["id"]),
                &json!({"version": 1, "followed_up_on": "2017-10-20", "satisfaction": "satisfied"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let (_, audit) = json(l.app.get("/api/audit?entity=dispute").await).await;
    assert!(audit.to_string().contains("dispute.erase_personal"), "{audit}");
}
