//! Many inspectors at once: on SQLite every visit goes through one writer
//! that commits the queued ones together (group commit). Each request is
//! answered for itself: recorded exactly once, or refused with its own
//! error while the others of its batch are kept. PostgreSQL runs the same
//! checks on its pool.

use std::collections::HashSet;

use serde_json::{Value, json};

use crate::backend_cases;
use crate::backend_tests;
use crate::circulars::baishan;
use crate::smtp::SmtpServer;
use crate::support::{Db, TestApp, json};

backend_tests!(
    concurrent_visits_are_each_recorded_once,
    a_refused_visit_does_not_fail_the_others,
    each_answer_is_what_reading_the_visit_shows,
);
mod keys {
    use super::*;
    backend_cases!(idempotency_keys_hold_among_concurrent_writes);
}

const CODES: [&str; 8] = [
    "place", "plaque", "liaison", "phone", "register", "bulletin", "rules", "computer",
];

fn visit(kind: &str, on: &str, unmet: Option<&str>) -> Value {
    let items: Vec<Value> = CODES
        .iter()
        .map(|code| {
            let result = if Some(*code) == unmet { "unmet" } else { "met" };
            json!({"code": code, "result": result, "note": if result == "unmet" { "未见实物" } else { "" }})
        })
        .collect();
    json!({"kind": kind, "visited_on": on, "inspector": "吴晓伟", "summary": "现场检查", "items": items})
}

async fn stations(app: &TestApp, n: usize) -> Vec<i64> {
    let unit = app.unit("220721", "前郭尔罗斯蒙古族自治县").await;
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let body = json!({
            "unit_id": unit, "name": format!("前郭第{i}服务站"), "host_business": "某商贸有限公司",
            "category": "mall", "address": "前郭县1号", "liaison_name": "李明",
            "liaison_phone": "13943900001", "standard_id": "baxiangyi-common"
        });
        let (status, s) = json(app.post("/api/stations", &body).await).await;
        assert_eq!(status, 201, "{s}");
        ids.push(s["id"].as_i64().expect("id"));
    }
    ids
}

/// Sends every (station, body) at once; the answers in the same order.
async fn all_at_once(app: &TestApp, requests: Vec<(i64, Value)>) -> Vec<(u16, Value)> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|(station, body)| {
            let req = app
                .client
                .post(app.url(&format!("/api/stations/{station}/visits")))
                .json(&body);
            tokio::spawn(async move { json(req.send().await.expect("POST visit")).await })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.expect("task"));
    }
    answers
}

async fn history(app: &TestApp, station: i64) -> Vec<Value> {
    let (status, page) = json(app.get(&format!("/api/stations/{station}/visits?limit=100")).await).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

async fn audited_visits(app: &TestApp) -> i64 {
    let (status, page) = json(app.get("/api/audit?entity=visit&per_page=1").await).await;
    assert_eq!(status, 200, "{page}");
    page["total"].as_i64().expect("total")
}

async fn concurrent_visits_are_each_recorded_once(app: TestApp) {
    let ids = stations(&app, 16).await;
    // 16 acceptances at once, then four routine visits per station at once
    // (each with a failing item, so each raises or keeps guidance).
    let first: Vec<_> = ids
        .iter()
        .map(|s| (*s, visit("acceptance", "2024-03-01", None)))
        .collect();
    let second: Vec<_> = ids
        .iter()
        .flat_map(|s| (0..4).map(move |_| (*s, visit("routine", "2024-04-01", Some("plaque")))))
        .collect();
    let mut recorded = HashSet::new();
    for round in [first, second] {
        let sent = round.len();
        let answers = all_at_once(&app, round).await;
        for (status, v) in &answers {
            assert_eq!(*status, 201, "{v}");
            assert!(
                recorded.insert(v["id"].as_i64().expect("id")),
                "visit id given twice: {v}"
            );
        }
        assert_eq!(answers.len(), sent);
    }
    assert_eq!(recorded.len(), 16 * 5);
    for s in &ids {
        let visits = history(&app, *s).await;
        assert_eq!(visits.len(), 5, "station {s}: {visits:?}");
        let (status, station) = json(app.get(&format!("/api/stations/{s}")).await).await;
        assert_eq!(status, 200);
        assert_eq!(station["status"], "rectifying", "{station}");
        let (_, guidance) = json(app.get(&format!("/api/guidance?station_id={s}&status=open")).await).await;
        assert_eq!(
            guidance["total"], 1,
            "one open guidance, raised once and kept: {guidance}"
        );
        let (_, checklist) = json(app.get(&format!("/api/stations/{s}/checklist")).await).await;
        let plaque = checklist["items"]
            .as_array()
            .and_then(|items| items.iter().find(|i| i["code"] == "plaque"))
            .cloned()
            .unwrap_or_default();
        assert_eq!(plaque["result"], "unmet", "{checklist}");
        assert_eq!(
            plaque["visit_id"], visits[0]["id"],
            "the newest visit is the current one"
        );
    }
    assert_eq!(audited_visits(&app).await, 16 * 5, "one audit entry per recorded visit");
}

fn codes_of(list: &Value) -> Vec<&str> {
    list.as_array()
        .map(|l| l.iter().filter_map(|g| g["item_code"].as_str()).collect())
        .unwrap_or_default()
}

/// The answer to a recorded visit is built from what was written, not read
/// back: it must be what reading the visit shows — items, guidance raised
/// and resolved (the guidance a visit kept open is only in its answer).
async fn each_answer_is_what_reading_the_visit_shows(app: TestApp) {
    let ids = stations(&app, 6).await;
    let rounds: [(&str, &str, &[&str]); 3] = [
        ("acceptance", "2024-03-01", &[]),
        ("routine", "2024-04-01", &["plaque", "register"]),
        ("follow_up", "2024-04-20", &["register"]),
    ];
    for (kind, on, unmet) in rounds {
        let mut body = visit(kind, on, None);
        for item in body["items"].as_array_mut().expect("items") {
            if unmet.contains(&item["code"].as_str().unwrap_or_default()) {
                item["result"] = json!("unmet");
                item["note"] = json!("未见实物");
            }
        }
        let round = ids.iter().map(|s| (*s, body.clone())).collect();
        for (status, mut answer) in all_at_once(&app, round).await {
            assert_eq!(status, 201, "{answer}");
            match kind {
                "routine" => assert_eq!(codes_of(&answer["guidance_raised"]), ["plaque", "register"]),
                "follow_up" => {
                    assert_eq!(codes_of(&answer["guidance_resolved"]), ["plaque"], "{answer}");
                    assert_eq!(codes_of(&answer["guidance_kept"]), ["register"], "{answer}");
                }
                _ => assert_eq!(answer["items"].as_array().map(Vec::len), Some(8), "{answer}"),
            }
            let (status, read) = json(app.get(&format!("/api/visits/{}", answer["id"])).await).await;
            assert_eq!(status, 200, "{read}");
            answer["guidance_kept"] = json!([]);
            assert_eq!(read, answer, "answer and reading differ");
        }
    }
}

async fn a_refused_visit_does_not_fail_the_others(app: TestApp) {
    let ids = stations(&app, 25).await;
    let (target, others) = ids.split_first().expect("stations");
    let (status, v) = json(
        app.post(
            &format!("/api/stations/{target}/visits"),
            &visit("acceptance", "2024-05-01", None),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    // Refused only once the station is read inside the transaction: dated
    // before its latest visit, or a second acceptance of a built station.
    let mut requests: Vec<_> = others
        .iter()
        .map(|s| (*s, visit("acceptance", "2024-06-01", Some("computer"))))
        .collect();
    for i in 0..8 {
        let bad = if i % 2 == 0 {
            visit("routine", "2024-01-01", None)
        } else {
            visit("acceptance", "2024-06-01", None)
        };
        requests.insert(i * 3, (*target, bad));
    }
    let answers = all_at_once(&app, requests.clone()).await;
    for ((station, body), (status, v)) in requests.iter().zip(&answers) {
        if station == target {
            let field = if body["kind"] == "routine" {
                "visited_on"
            } else {
                "kind"
            };
            assert_eq!(*status, 422, "{v}");
            assert!(v["error"]["fields"][field].is_array(), "names {field}: {v}");
        } else {
            assert_eq!(*status, 201, "{v}");
            assert_eq!(v["station_id"].as_i64(), Some(*station));
        }
    }
    assert_eq!(
        history(&app, *target).await.len(),
        1,
        "nothing of the refused visits is kept"
    );
    for s in others {
        let visits = history(&app, *s).await;
        assert_eq!(visits.len(), 1, "station {s}");
        let (_, station) = json(app.get(&format!("/api/stations/{s}")).await).await;
        assert_eq!(station["status"], "established", "{station}");
    }
    assert_eq!(audited_visits(&app).await, 25);
}

/// Circulars with one `Idempotency-Key` sent many times at once, while
/// visits are being recorded: one circular, every answer names it.
async fn idempotency_keys_hold_among_concurrent_writes(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;
    let ids = stations(&app, 12).await;
    let visits: Vec<_> = ids
        .iter()
        .map(|s| (*s, visit("acceptance", "2017-07-10", None)))
        .collect();
    let circulars: Vec<_> = (0..8)
        .map(|_| {
            let req = app
                .client
                .post(app.url("/api/circulars"))
                .header("Idempotency-Key", "report-2017-07")
                .json(&json!({"year": 2017, "as_of": "2017-07-14"}));
            tokio::spawn(async move { json(req.send().await.expect("POST circular")).await })
        })
        .collect();
    let recorded = all_at_once(&app, visits).await;
    let mut issued = Vec::new();
    for c in circulars {
        issued.push(c.await.expect("task"));
    }
    assert!(recorded.iter().all(|(status, _)| *status == 201), "{recorded:?}");
    let created = issued.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 1, "{issued:?}");
    assert!(issued.iter().all(|(status, _)| *status == 200 || *status == 201));
    let first = &issued[0].1["id"];
    assert!(issued.iter().all(|(_, c)| c["id"] == *first), "{issued:?}");
    let (_, list) = json(app.get("/api/circulars").await).await;
    assert_eq!(list["total"], 1, "{list}");
    for s in &ids {
        assert_eq!(history(&app, *s).await.len(), 1);
    }
}
