//! Lists that grow with time page by key: a circular's deliveries, the
//! guidance list (with a capped count), a station's status history. Each
//! walk by cursor must give every row once, in the list's order.

use serde_json::{Value, json};

use crate::backend_cases;
use crate::backend_tests;
use crate::circulars::{baishan, issue};
use crate::smtp::SmtpServer;
use crate::support::{Db, TestApp, assert_field_error, json};

backend_tests!(guidance_pages_by_key, status_history_pages_by_key);
mod deliveries {
    use super::*;
    backend_cases!(circular_deliveries_page_by_key);
}

const CODES: [&str; 8] = [
    "place", "plaque", "liaison", "phone", "register", "bulletin", "rules", "computer",
];

fn visit(kind: &str, on: &str, unmet: &[&str]) -> Value {
    let items: Vec<Value> = CODES
        .iter()
        .map(|code| {
            if unmet.contains(code) {
                json!({"code": code, "result": "unmet", "note": "未见实物"})
            } else {
                json!({"code": code, "result": "met"})
            }
        })
        .collect();
    json!({"kind": kind, "visited_on": on, "inspector": "吴晓伟", "items": items})
}

async fn get(app: &TestApp, path: &str) -> Value {
    let (status, v) = json(app.get(path).await).await;
    assert_eq!(status, 200, "{path}: {v}");
    v
}

async fn station(app: &TestApp, unit: i64, name: &str) -> i64 {
    let body = json!({
        "unit_id": unit, "name": name, "host_business": "某商贸有限公司", "category": "mall",
        "address": "前郭县1号", "liaison_name": "李明", "liaison_phone": "13943900001",
        "standard_id": "baxiangyi-common"
    });
    let (status, s) = json(app.post("/api/stations", &body).await).await;
    assert_eq!(status, 201, "{s}");
    s["id"].as_i64().expect("id")
}

async fn record(app: &TestApp, station: i64, body: &Value) {
    let (status, v) = json(app.post(&format!("/api/stations/{station}/visits"), body).await).await;
    assert_eq!(status, 201, "{v}");
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_i64().expect("id"))
        .collect()
}

/// Follows `cursor` from `first` until it is null; every id seen.
async fn walk(app: &TestApp, first: &str, cursor: &str) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut path = first.to_owned();
    loop {
        let page = get(app, &path).await;
        seen.extend(ids(&page));
        match page[cursor].as_i64() {
            Some(c) => path = format!("{first}&{}={c}", cursor.trim_start_matches("next_")),
            None => return seen,
        }
    }
}

async fn circular_deliveries_page_by_key(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;
    let c = issue(&app).await;
    let base = format!("/api/circulars/{}/deliveries", c["id"]);
    let all = get(&app, &base).await;
    let every = ids(&all);
    assert!(every.len() >= 7, "one per unit lead at least: {all}");
    assert_eq!(all["next_after"], Value::Null, "one page holds them all");
    let mut sorted = every.clone();
    sorted.sort();
    assert_eq!(every, sorted, "in the order they were queued");
    let walked = walk(&app, &format!("{base}?limit=3"), "next_after").await;
    assert_eq!(walked, every, "pages of 3 give each delivery once, in order");
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("after=x", "after"),
        ("after=0", "after"),
    ] {
        let (status, err) = json(app.get(&format!("{base}?{query}")).await).await;
        assert_field_error(status, &err, field);
    }
}

async fn guidance_pages_by_key(app: TestApp) {
    let unit = app.unit("220721", "前郭尔罗斯蒙古族自治县").await;
    // Three stations, each with guidance due on different days.
    for (i, on) in ["2024-03-01", "2024-03-05", "2024-03-03"].iter().enumerate() {
        let s = station(&app, unit, &format!("前郭第{i}服务站")).await;
        record(&app, s, &visit("acceptance", "2024-02-01", &[])).await;
        record(&app, s, &visit("routine", on, &["plaque", "phone", "rules"])).await;
    }
    let all = get(&app, "/api/guidance?status=open&per_page=100").await;
    assert_eq!((all["total"].as_i64(), &all["total_exact"]), (Some(9), &json!(true)));
    let every = ids(&all);
    let due: Vec<&str> = all["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|g| g["due_on"].as_str().unwrap_or_default())
        .collect();
    let mut sorted = due.clone();
    sorted.sort();
    assert_eq!(due, sorted, "most urgent first");
    let walked = walk(&app, "/api/guidance?status=open&per_page=2", "next_after").await;
    assert_eq!(walked, every, "pages of 2 by key give each row once, in order");
    // A keyset page does not count again.
    let next = get(
        &app,
        &format!("/api/guidance?status=open&per_page=2&after={}", every[1]),
    )
    .await;
    assert_eq!(ids(&next), every[2..4].to_vec());
    assert_eq!(next["total"], Value::Null);
    for query in ["after=x", "after=0", "after=2&page=2", "after=999999"] {
        let (status, err) = json(app.get(&format!("/api/guidance?{query}")).await).await;
        assert_field_error(status, &err, "after");
    }
}

async fn status_history_pages_by_key(app: TestApp) {
    let unit = app.unit("220721", "前郭尔罗斯蒙古族自治县").await;
    let s = station(&app, unit, "查干湖服务站").await;
    record(&app, s, &visit("acceptance", "2020-01-02", &[])).await;
    // Failing and passing in turn: each visit changes the status.
    let mut day = chrono::NaiveDate::from_ymd_opt(2020, 2, 1).expect("date");
    for i in 0..60 {
        let unmet: &[&str] = if i % 2 == 0 { &["plaque"] } else { &[] };
        let kind = if i % 2 == 0 { "routine" } else { "follow_up" };
        record(&app, s, &visit(kind, &day.to_string(), unmet)).await;
        day = day.succ_opt().expect("date");
    }
    let detail = get(&app, &format!("/api/stations/{s}")).await;
    let shown = ids(&json!({"items": detail["status_history"]}));
    assert_eq!(shown.len(), 50, "the newest 50 with the station");
    let mut ascending = shown.clone();
    ascending.sort();
    assert_eq!(shown, ascending, "oldest of them first, as before");
    let cursor = detail["status_history_next_before"]
        .as_i64()
        .expect("older changes exist");
    assert_eq!(cursor, shown[0]);
    let base = format!("/api/stations/{s}/status-history");
    let all = walk(&app, &format!("{base}?limit=7"), "next_before").await;
    assert_eq!(all.len(), 61, "the acceptance and 60 changes");
    let mut newest_first = all.clone();
    newest_first.sort_by(|a, b| b.cmp(a));
    assert_eq!(all, newest_first);
    assert_eq!(&all[..50], shown.iter().rev().copied().collect::<Vec<_>>().as_slice());
    let older = get(&app, &format!("{base}?before={cursor}")).await;
    assert_eq!(ids(&older), all[50..].to_vec());
    assert_eq!(older["next_before"], Value::Null);
    assert_eq!(older["items"][10]["to_status"], "established", "the acceptance, oldest");
    for (query, field) in [("limit=0", "limit"), ("limit=101", "limit"), ("before=x", "before")] {
        let (status, err) = json(app.get(&format!("{base}?{query}")).await).await;
        assert_field_error(status, &err, field);
    }
    let (status, _) = json(app.get("/api/stations/999999/status-history").await).await;
    assert_eq!(status, 404);
}
