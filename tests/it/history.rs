//! A station's history at length: the checklist keeps each item's latest
//! counted result (voiding gives back the one before), the visit list pages
//! by key, and `generate` writes long histories.

use chrono::{Days, NaiveDate};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::cli::{bayige, stderr};
use crate::pages::sign_in;
use crate::support::{DbGuard, TestApp, assert_field_error, fresh_pg_database, fresh_sqlite, issue_token, json};

backend_tests!(
    checklist_keeps_each_items_latest_counted_result,
    visit_history_pages_by_key,
    audit_log_pages_by_key,
);

const CODES: [&str; 8] = [
    "place", "plaque", "liaison", "phone", "register", "bulletin", "rules", "computer",
];

/// A visit body: every item met except `changes` (code, result).
fn visit(kind: &str, on: &str, changes: &[(&str, &str)]) -> Value {
    let items: Vec<Value> = CODES
        .iter()
        .map(|code| match changes.iter().find(|(c, _)| c == code) {
            Some((_, result)) => json!({"code": code, "result": result, "note": format!("{on} {result}")}),
            None => json!({"code": code, "result": "met"}),
        })
        .collect();
    json!({"kind": kind, "visited_on": on, "inspector": "吴晓伟", "summary": "现场检查", "items": items})
}

async fn station(app: &TestApp, name: &str) -> i64 {
    let units = get(app, "/api/units").await;
    let unit = match units["items"].as_array().and_then(|u| u.first()) {
        Some(u) => u["id"].as_i64().expect("unit id"),
        None => app.unit("220721", "前郭尔罗斯蒙古族自治县").await,
    };
    let body = json!({
        "unit_id": unit, "name": name, "host_business": "某商贸有限公司", "category": "mall",
        "address": "前郭县1号", "liaison_name": "李明", "liaison_phone": "13943900001",
        "standard_id": "baxiangyi-common"
    });
    let (status, s) = json(app.post("/api/stations", &body).await).await;
    assert_eq!(status, 201, "{s}");
    s["id"].as_i64().expect("id")
}

async fn record(app: &TestApp, station: i64, body: &Value) -> i64 {
    let (status, v) = json(app.post(&format!("/api/stations/{station}/visits"), body).await).await;
    assert_eq!(status, 201, "{v}");
    v["id"].as_i64().expect("id")
}

async fn get(app: &TestApp, path: &str) -> Value {
    let (status, v) = json(app.get(path).await).await;
    assert_eq!(status, 200, "{path}: {v}");
    v
}

async fn void(app: &TestApp, visit: i64) {
    let (status, v) = json(
        app.post(&format!("/api/visits/{visit}/void"), &json!({"reason": "录入错误"}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
}

/// Item code → (result, visit id, date) as the checklist shows it.
async fn state(app: &TestApp, s: i64, path: &str) -> Vec<(String, Value, Value, Value)> {
    let body = get(app, &format!("/api/stations/{s}/{path}")).await;
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            (
                i["code"].as_str().unwrap_or_default().to_owned(),
                i["result"].clone(),
                i["visit_id"].clone(),
                i["visited_on"].clone(),
            )
        })
        .collect()
}

fn of<'a>(state: &'a [(String, Value, Value, Value)], code: &str) -> &'a (String, Value, Value, Value) {
    state.iter().find(|(c, ..)| c == code).expect("item listed")
}

async fn checklist_keeps_each_items_latest_counted_result(app: TestApp) {
    let s = station(&app, "查干湖服务站").await;
    let a = record(&app, s, &visit("acceptance", "2018-01-10", &[])).await;
    let b = record(
        &app,
        s,
        &visit("routine", "2018-03-10", &[("plaque", "unmet"), ("phone", "partial")]),
    )
    .await;
    let c = record(
        &app,
        s,
        &visit("follow_up", "2018-03-20", &[("computer", "not_applicable")]),
    )
    .await;
    for path in ["checklist", "visit-template"] {
        let now = state(&app, s, path).await;
        assert_eq!(now.len(), 8, "{path}");
        assert!(
            now.iter().all(|(_, _, v, d)| *v == json!(c) && *d == "2018-03-20"),
            "{path}: {now:?}"
        );
        assert_eq!(of(&now, "computer").1, "not_applicable");
    }

    // Voiding the newest visit gives every item back its result before.
    void(&app, c).await;
    let now = state(&app, s, "checklist").await;
    assert_eq!(of(&now, "plaque").1, "unmet");
    assert_eq!(of(&now, "phone").1, "partial");
    assert_eq!(of(&now, "computer").1, "met");
    assert!(
        now.iter().all(|(_, _, v, d)| *v == json!(b) && *d == "2018-03-10"),
        "{now:?}"
    );
    let template = state(&app, s, "visit-template").await;
    assert_eq!(template, now, "the template shows the same state");

    // And again: the acceptance is all that counts.
    void(&app, b).await;
    let now = state(&app, s, "checklist").await;
    assert!(
        now.iter()
            .all(|(_, r, v, d)| *r == "met" && *v == json!(a) && *d == "2018-01-10"),
        "{now:?}"
    );

    // A later visit counts again, whatever was voided before it.
    let d = record(&app, s, &visit("routine", "2018-05-01", &[("computer", "unmet")])).await;
    let now = state(&app, s, "checklist").await;
    assert_eq!(
        (&of(&now, "computer").1, &of(&now, "computer").2),
        (&json!("unmet"), &json!(d))
    );
    void(&app, a).await;
    let now = state(&app, s, "checklist").await;
    assert!(
        now.iter().all(|(_, _, v, _)| *v == json!(d)),
        "voiding an older visit changes nothing: {now:?}"
    );
    void(&app, d).await;
    let now = state(&app, s, "checklist").await;
    assert!(
        now.iter().all(|(_, r, v, d)| r.is_null() && v.is_null() && d.is_null()),
        "nothing counts any more: {now:?}"
    );
}

async fn visit_history_pages_by_key(app: TestApp) {
    let s = station(&app, "乾安服务站").await;
    let start = NaiveDate::from_ymd_opt(2019, 1, 1).expect("date");
    let mut ids = Vec::new();
    for i in 0..23u64 {
        let on = (start + Days::new(i * 7)).to_string();
        let kind = if i == 0 { "acceptance" } else { "routine" };
        ids.push(record(&app, s, &visit(kind, &on, &[])).await);
    }
    void(&app, ids[10]).await;
    let newest_first: Vec<i64> = ids.iter().rev().copied().collect();

    // Without paging parameters: the whole (short) history, as before.
    let all = get(&app, &format!("/api/stations/{s}/visits")).await;
    let listed: Vec<i64> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|v| v["id"].as_i64())
        .collect();
    assert_eq!(listed, newest_first);
    assert_eq!(all["next_before"], Value::Null);

    // Page by page: every visit once, in order, voided ones included.
    let mut walked = Vec::new();
    let mut before: Option<i64> = None;
    for _ in 0..10 {
        let path = match before {
            Some(b) => format!("/api/stations/{s}/visits?limit=5&before={b}"),
            None => format!("/api/stations/{s}/visits?limit=5"),
        };
        let page = get(&app, &path).await;
        let items = page["items"].as_array().expect("items");
        assert!(items.len() <= 5);
        walked.extend(items.iter().filter_map(|v| v["id"].as_i64()));
        before = page["next_before"].as_i64();
        if before.is_none() {
            break;
        }
    }
    assert_eq!(walked, newest_first);

    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("limit=x", "limit"),
        ("before=abc", "before"),
        ("before=999999", "before"),
    ] {
        let (status, err) = json(app.get(&format!("/api/stations/{s}/visits?{query}")).await).await;
        assert_field_error(status, &err, field);
    }
    let other = station(&app, "大安服务站").await;
    let foreign = record(&app, other, &visit("acceptance", "2019-01-01", &[])).await;
    let (status, err) = json(app.get(&format!("/api/stations/{s}/visits?before={foreign}")).await).await;
    assert_field_error(status, &err, "before");

    // The station page shows the newest 20 and links to the rest.
    let ctx = app.ctx.clone();
    tokio::task::spawn_blocking(move || issue_token(&ctx, "lead", "admin", &[]))
        .await
        .expect("join");
    let (client, _) = sign_in(&app, "lead").await;
    let page = |path: String| {
        let client = client.clone();
        let url = app.url(&path);
        async move { client.get(url).send().await.expect("page").text().await.expect("text") }
    };
    let first = page(format!("/stations/{s}")).await;
    let link = format!("/stations/{s}?before={}", newest_first[19]);
    assert!(first.contains(&link), "a link to older visits");
    assert!(
        first.contains("2019-05-28") && !first.contains("2019-01-08"),
        "the newest 20 only"
    );
    let rest = page(link).await;
    assert!(
        rest.contains("2019-01-01") && rest.contains("2019-01-15"),
        "the oldest three"
    );
    assert!(!rest.contains("2019-05-28") && !rest.contains("更早的检查记录"));
}

async fn audit_log_pages_by_key(app: TestApp) {
    let s = station(&app, "扶余服务站").await;
    for i in 0..101u64 {
        let on = (NaiveDate::from_ymd_opt(2019, 1, 1).expect("date") + Days::new(i)).to_string();
        record(&app, s, &visit(if i == 0 { "acceptance" } else { "routine" }, &on, &[])).await;
    }
    let ids = |page: &Value| -> Vec<i64> {
        page["items"]
            .as_array()
            .expect("items")
            .iter()
            .filter_map(|e| e["id"].as_i64())
            .collect()
    };
    let first = get(&app, "/api/audit?entity=visit&per_page=40").await;
    assert_eq!(
        (first["total"].as_i64(), first["total_exact"].as_bool()),
        (Some(101), Some(true))
    );
    let mut walked = ids(&first);
    let mut after = first["next_after"].as_i64();
    while let Some(a) = after {
        let page = get(&app, &format!("/api/audit?entity=visit&per_page=40&after={a}")).await;
        assert_eq!(page["total"], Value::Null, "keyset pages do not count again");
        walked.extend(ids(&page));
        after = page["next_after"].as_i64();
        assert!(walked.len() <= 101, "the walk ends");
    }
    let mut by_number = Vec::new();
    for page in 1..=3 {
        by_number.extend(ids(&get(
            &app,
            &format!("/api/audit?entity=visit&per_page=40&page={page}"),
        )
        .await));
    }
    assert_eq!(walked.len(), 101);
    assert_eq!(walked, by_number, "every entry once, newest first, as by page number");
    for query in ["after=x", "after=0", "after=5&page=2"] {
        let (status, err) = json(app.get(&format!("/api/audit?{query}")).await).await;
        assert_field_error(status, &err, "after");
    }

    // The page shows 100 and links to the older ones, the filter kept.
    let ctx = app.ctx.clone();
    tokio::task::spawn_blocking(move || issue_token(&ctx, "auditor", "admin", &[]))
        .await
        .expect("join");
    let (client, _) = sign_in(&app, "auditor").await;
    let html = |path: String| {
        let (client, url) = (client.clone(), app.url(&path));
        async move { client.get(url).send().await.expect("page").text().await.expect("text") }
    };
    let newest = html("/audit?entity=visit".into()).await;
    assert!(newest.contains("共 101 条"), "the first page counts");
    // (minijinja writes the link's `/` as `&#x2f;`.)
    let link = format!("audit?entity=visit&amp;after={}", walked[99]);
    assert!(
        newest.contains(&format!("{link}\" rel=\"next\">下一页（更早的记录）")),
        "a link to older entries: {}",
        newest.rsplit("</table>").next().unwrap_or_default()
    );
    let older = html(format!("/{}", link.replace("&amp;", "&"))).await;
    assert_eq!(older.matches("<td>记录检查</td>").count(), 1, "the oldest entry alone");
    assert!(!older.contains("visit.record"), "the action in Chinese");
    assert!(!older.contains("更早的记录"));
}

/// `generate` with 200 visits per station (33 years of visits every 60
/// days): every visit dated in the past, the checklist shows the last one.
async fn long_histories_are_generated(url: String, guard: DbGuard, backend: &'static str) {
    let o = bayige(
        &[
            "generate",
            "--units",
            "2",
            "--stations",
            "3",
            "--visits-per-station",
            "200",
            "--seed",
            "5",
        ],
        &url,
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("3 stations, 600 visits"));
    let app = TestApp::start(url, guard, backend, None).await;
    let today = app.ctx.today();
    for s in 1..=3 {
        let checklist = get(&app, &format!("/api/stations/{s}/checklist")).await;
        let last = &checklist["last_visit"];
        assert_eq!(last["id"], s * 200, "{checklist}");
        let on: NaiveDate = last["visited_on"]
            .as_str()
            .and_then(|d| d.parse().ok())
            .expect("a date");
        assert!(on <= today, "visits lie in the past: {on}");
        let items = checklist["items"].as_array().expect("items");
        assert!(
            items
                .iter()
                .all(|i| i["visit_id"] == last["id"] && i["visited_on"] == last["visited_on"]),
            "{checklist}"
        );
        let history = get(&app, &format!("/api/stations/{s}/visits")).await;
        let oldest = get(
            &app,
            &format!("/api/stations/{s}/visits?before={}", history["next_before"]),
        )
        .await;
        assert_eq!(
            history["items"].as_array().map(Vec::len).unwrap_or(0)
                + oldest["items"].as_array().map(Vec::len).unwrap_or(0),
            200
        );
        assert_eq!(oldest["items"][99]["kind"], "acceptance", "{oldest}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_histories_are_generated_on_sqlite() {
    let (url, guard) = fresh_sqlite();
    long_histories_are_generated(url, guard, "sqlite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(not(bayige_pg), ignore = "set BAYIGE_TEST_DATABASE_URL to run on PostgreSQL")]
async fn long_histories_are_generated_on_postgres() {
    let (url, guard) = fresh_pg_database();
    long_histories_are_generated(url, guard, "postgres").await;
}
