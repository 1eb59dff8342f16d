//! Inspection visits, checklist state, follow-up guidance and evidence.

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::PNG;
use crate::backend_tests;
use crate::support::{TEST_EVIDENCE_LIMIT, TestApp, assert_field_error, json};

backend_tests!(
    inspector_story_end_to_end,
    bad_visits_name_the_item_and_write_nothing,
    voiding_a_visit_undoes_what_it_did,
    evidence_is_checked_by_content_and_stored_once,
    visits_keep_their_checklist_version,
    concurrent_visits_neither_fail_nor_duplicate_guidance,
    guidance_follows_a_station_to_its_new_unit,
);

const CODES: [&str; 8] = [
    "place", "plaque", "liaison", "phone", "register", "bulletin", "rules", "computer",
];

/// A visit body: every item met, then `changes` (code → (result, note)).
fn visit(kind: &str, on: &str, changes: &[(&str, &str, &str)]) -> Value {
    let items: Vec<Value> = CODES
        .iter()
        .map(|code| match changes.iter().find(|(c, _, _)| c == code) {
            Some((_, result, note)) => json!({"code": code, "result": result, "note": note}),
            None => json!({"code": code, "result": "met"}),
        })
        .collect();
    json!({"kind": kind, "visited_on": on, "inspector": "吴晓伟", "summary": "现场检查", "items": items})
}

async fn planned_station(app: &TestApp, unit: i64, name: &str) -> i64 {
    let (status, s) = json(
        app.post(
            "/api/stations",
            &json!({
                "unit_id": unit, "name": name, "host_business": "临江市某商贸有限公司", "category": "supermarket",
                "address": "临江市建设街1号", "liaison_name": "李明", "liaison_phone": "13943900001",
                "standard_id": "baxiangyi-common"
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{s}");
    s["id"].as_i64().expect("id")
}

async fn record(app: &TestApp, station: i64, body: &Value) -> Value {
    let (status, v) = json(app.post(&format!("/api/stations/{station}/visits"), body).await).await;
    assert_eq!(status, 201, "{v}");
    v
}

async fn get(app: &TestApp, path: &str) -> Value {
    let (status, v) = json(app.get(path).await).await;
    assert_eq!(status, 200, "{path}: {v}");
    v
}

fn codes(list: &Value) -> Vec<String> {
    list.as_array()
        .expect("array")
        .iter()
        .map(|g| g["item_code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

async fn inspector_story_end_to_end(app: TestApp) {
    let unit = app.unit("220681", "临江市").await;
    let other_unit = app.unit("220621", "抚松县").await;
    let a = planned_station(&app, unit, "临江甲超市服务站").await;
    let b = planned_station(&app, unit, "临江乙超市服务站").await;
    let elsewhere = planned_station(&app, other_unit, "抚松超市服务站").await;

    // Acceptance at A: every item met (the computer is optional: n/a).
    let v = record(
        &app,
        a,
        &visit("acceptance", "2017-03-01", &[("computer", "not_applicable", "")]),
    )
    .await;
    assert_eq!(
        (v["score"].as_f64(), v["compliant"].as_bool()),
        (Some(100.0), Some(true))
    );
    assert_eq!(
        (v["status_before"].as_str(), v["status_after"].as_str()),
        (Some("planned"), Some("established"))
    );
    assert_eq!(
        (v["standard_id"].as_str(), v["standard_version"].as_i64()),
        (Some("baxiangyi-common"), Some(1))
    );
    assert_eq!(v["items"].as_array().map(Vec::len), Some(8));
    let station_a = get(&app, &format!("/api/stations/{a}")).await;
    assert_eq!(
        (station_a["status"].as_str(), station_a["established_on"].as_str()),
        (Some("established"), Some("2017-03-01"))
    );
    assert_eq!(station_a["status_history"][0]["visit_id"], v["id"]);

    // B is accepted, then a routine visit finds two items failing.
    record(&app, b, &visit("acceptance", "2017-04-10", &[])).await;
    let (status, err) = json(app.get(&format!("/api/stations/{b}/visit-template")).await).await;
    assert_eq!((status, err["suggested_kind"].as_str()), (200, Some("routine")));
    let failing = record(
        &app,
        b,
        &visit(
            "routine",
            "2017-06-20",
            &[
                ("register", "unmet", "登记簿缺失"),
                ("bulletin", "partial", "未公示投诉电话"),
            ],
        ),
    )
    .await;
    assert_eq!(failing["compliant"], false);
    assert_eq!(failing["score"], 81.25, "6 met + half of 1 partial out of 8");
    assert_eq!(failing["status_after"], "rectifying");
    let raised = &failing["guidance_raised"];
    assert_eq!(codes(raised), ["register", "bulletin"]);
    assert!(
        raised
            .as_array()
            .expect("raised")
            .iter()
            .all(|g| g["due_on"] == "2017-07-05"),
        "15 days: {raised}"
    );
    assert_eq!(
        raised[0]["instruction"],
        "建立投诉受理和处理登记簿（台账），逐件登记受理时间、诉求、处理结果和回访情况。"
    );
    record(
        &app,
        elsewhere,
        &visit("acceptance", "2017-06-01", &[("phone", "unmet", "无电话")]),
    )
    .await;

    // The county lead lists overdue guidance in the county.
    let overdue = get(
        &app,
        &format!("/api/guidance?status=overdue&unit_id={unit}&as_of=2017-07-14"),
    )
    .await;
    assert_eq!(overdue["total"], 2, "{overdue}");
    assert_eq!(codes(&overdue["items"]), ["register", "bulletin"]);
    assert!(overdue["items"][0]["overdue"].as_bool().unwrap_or(false));
    assert_eq!(overdue["items"][0]["station_name"], "临江乙超市服务站");
    let not_yet = get(
        &app,
        &format!("/api/guidance?status=overdue&unit_id={unit}&as_of=2017-07-05"),
    )
    .await;
    assert_eq!(not_yet["total"], 0, "due today is not overdue yet");
    let all_open = get(&app, "/api/guidance?status=open").await;
    assert_eq!(all_open["total"], 3, "across units");
    let by_station = get(&app, &format!("/api/guidance?station_id={elsewhere}")).await;
    assert_eq!(codes(&by_station["items"]), ["phone"]);
    for (q, field) in [
        ("status=late", "status"),
        ("as_of=14.7.2017", "as_of"),
        ("unit_id=x", "unit_id"),
    ] {
        let (status, err) = json(app.get(&format!("/api/guidance?{q}")).await).await;
        assert_field_error(status, &err, field);
    }

    // The template for the next visit carries what is still open.
    let t = get(&app, &format!("/api/stations/{b}/visit-template")).await;
    assert_eq!(t["suggested_kind"], "follow_up");
    assert_eq!(t["open_items"], json!(["register", "bulletin"]));
    let items = t["items"].as_array().expect("items");
    assert_eq!(
        items
            .iter()
            .map(|i| i["code"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        CODES
    );
    assert_eq!(items[4]["result"], "unmet");
    assert_eq!(items[4]["open_guidance"][0]["due_on"], "2017-07-05");
    assert_eq!(items[0]["open_guidance"], json!([]));

    // Follow-up: the register is fixed, the bulletin still is not (new due date).
    let mut body = visit("follow_up", "2017-07-20", &[("bulletin", "partial", "仍未公示")]);
    body["items"][5]["due_on"] = json!("2017-08-15");
    let follow = record(&app, b, &body).await;
    assert_eq!(codes(&follow["guidance_resolved"]), ["register"]);
    assert_eq!(follow["guidance_resolved"][0]["resolved_on"], "2017-07-20");
    assert_eq!(follow["guidance_resolved"][0]["resolved_by"], follow["id"]);
    assert_eq!(codes(&follow["guidance_kept"]), ["bulletin"]);
    assert_eq!(follow["guidance_kept"][0]["due_on"], "2017-08-15");
    assert_eq!(
        follow["guidance_raised"],
        json!([]),
        "no duplicate guidance for an item already open"
    );
    assert_eq!(follow["status_after"], "rectifying");

    let state = get(&app, &format!("/api/stations/{b}/checklist")).await;
    assert_eq!(state["station_status"], "rectifying");
    assert_eq!(state["last_visit"]["id"], follow["id"]);
    let reg = &state["items"][4];
    assert_eq!(
        (reg["result"].as_str(), reg["visit_id"].as_i64()),
        (Some("met"), follow["id"].as_i64())
    );
    assert_eq!(reg["open_guidance"], json!([]));
    let bulletin = &state["items"][5];
    assert_eq!(
        (bulletin["result"].as_str(), bulletin["note"].as_str()),
        (Some("partial"), Some("仍未公示"))
    );
    assert_eq!(bulletin["open_guidance"][0]["due_on"], "2017-08-15");
    let resolved = get(&app, &format!("/api/guidance?status=resolved&station_id={b}")).await;
    assert_eq!(codes(&resolved["items"]), ["register"]);

    // A later follow-up finds everything fixed: the station is established again.
    let done = record(&app, b, &visit("follow_up", "2017-08-10", &[])).await;
    assert_eq!(
        (done["status_after"].as_str(), done["score"].as_f64()),
        (Some("established"), Some(100.0))
    );
    assert_eq!(codes(&done["guidance_resolved"]), ["bulletin"]);
    let station_b = get(&app, &format!("/api/stations/{b}")).await;
    assert_eq!(
        (station_b["status"].as_str(), station_b["established_on"].as_str()),
        (Some("established"), Some("2017-04-10"))
    );
    let history = get(&app, &format!("/api/stations/{b}/visits")).await;
    let kinds: Vec<_> = history["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|v| v["kind"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        ["follow_up", "follow_up", "routine", "acceptance"],
        "newest first"
    );
    let one = get(&app, &format!("/api/visits/{}", failing["id"])).await;
    assert_eq!(one["score"], 81.25);
    assert_eq!(codes(&one["guidance_raised"]), ["register", "bulletin"]);
    assert_eq!(one["items"][4]["note"], "登记簿缺失");
    let open_b = get(&app, &format!("/api/guidance?status=open&station_id={b}")).await;
    assert_eq!(open_b["total"], 0);
}

async fn bad_visits_name_the_item_and_write_nothing(app: TestApp) {
    let unit = app.unit("220622", "靖宇县").await;
    let s = planned_station(&app, unit, "靖宇超市服务站").await;
    let path = format!("/api/stations/{s}/visits");
    let ok = || visit("acceptance", "2017-05-01", &[]);

    let mut missing = ok();
    missing["items"].as_array_mut().expect("items").remove(3);
    let mut duplicate = ok();
    duplicate["items"][7] = json!({"code": "place", "result": "met"});
    let mut unknown = ok();
    unknown["items"][2]["code"] = json!("wifi");
    let mut bad_result = ok();
    bad_result["items"][1]["result"] = json!("good");
    let mut no_note = ok();
    no_note["items"][4] = json!({"code": "register", "result": "unmet"});
    let mut na_required = ok();
    na_required["items"][0]["result"] = json!("not_applicable");
    let mut due_on_met = ok();
    due_on_met["items"][0]["due_on"] = json!("2017-06-01");
    let mut due_before_visit = visit("acceptance", "2017-05-01", &[("rules", "unmet", "无制度")]);
    due_before_visit["items"][6]["due_on"] = json!("2017-04-01");
    let mut future = ok();
    future["visited_on"] = json!("2999-01-01");
    let mut bad_kind = ok();
    bad_kind["kind"] = json!("surprise");
    let mut no_inspector = ok();
    no_inspector["inspector"] = json!(" ");
    let mut wrong_type = ok();
    wrong_type["items"][3]["result"] = json!(3);
    let cases: Vec<(&str, Value, &str)> = vec![
        ("missing item", missing, "items"),
        ("duplicate item", duplicate, "items[7].code"),
        ("unknown code", unknown, "items[2].code"),
        ("result outside the four values", bad_result, "items[1].result"),
        ("note required for unmet", no_note, "items[4].note"),
        ("n/a on a required item", na_required, "items[0].result"),
        ("due date on a met item", due_on_met, "items[0].due_on"),
        ("due date before the visit", due_before_visit, "items[6].due_on"),
        ("future date", future, "visited_on"),
        ("unknown kind", bad_kind, "kind"),
        ("no inspector", no_inspector, "inspector"),
        (
            "routine visit before acceptance",
            visit("routine", "2017-05-01", &[]),
            "kind",
        ),
        ("wrong JSON type", wrong_type, "items[3].result"),
        (
            "no items",
            json!({"kind": "acceptance", "visited_on": "2017-05-01", "inspector": "吴"}),
            "items",
        ),
    ];
    for (why, body, field) in cases {
        let (status, err) = json(app.post(&path, &body).await).await;
        assert_eq!(status, 422, "{why}: {err}");
        assert!(
            err["error"]["fields"][field].is_array(),
            "{why}: expected {field} named: {err}"
        );
    }
    let (status, _) = json(app.post("/api/stations/999/visits", &ok()).await).await;
    assert_eq!(status, 404);

    // Nothing was written by any of them.
    let visits = get(&app, &format!("/api/stations/{s}/visits")).await;
    assert_eq!(visits["items"], json!([]));
    let guidance = get(&app, "/api/guidance").await;
    assert_eq!(guidance["total"], 0);
    let station = get(&app, &format!("/api/stations/{s}")).await;
    assert_eq!(
        (station["status"].as_str(), station["version"].as_i64()),
        (Some("planned"), Some(1))
    );

    // Acceptance twice, a visit dated before the last one, a revoked station.
    record(&app, s, &ok()).await;
    let (status, err) = json(app.post(&path, &visit("acceptance", "2017-06-01", &[])).await).await;
    assert_field_error(status, &err, "kind");
    let (status, err) = json(app.post(&path, &visit("routine", "2017-04-30", &[])).await).await;
    assert_field_error(status, &err, "visited_on");
    let (status, st) = json(
        app.post(
            &format!("/api/stations/{s}/status"),
            &json!({"status": "revoked", "reason": "经营者停业"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{st}");
    let (status, err) = json(app.post(&path, &visit("routine", "2017-07-01", &[])).await).await;
    assert_field_error(status, &err, "station_id");
    let (status, _) = json(app.get(&format!("/api/stations/{s}/visit-template")).await).await;
    assert_eq!(status, 409, "a revoked station has no next visit");
    let visits = get(&app, &format!("/api/stations/{s}/visits")).await;
    assert_eq!(visits["items"].as_array().map(Vec::len), Some(1));
}

async fn voiding_a_visit_undoes_what_it_did(app: TestApp) {
    let unit = app.unit("220623", "长白朝鲜族自治县").await;
    let s = planned_station(&app, unit, "长白景区服务站").await;
    record(&app, s, &visit("acceptance", "2017-02-01", &[])).await;
    let bad = record(
        &app,
        s,
        &visit("routine", "2017-03-01", &[("plaque", "unmet", "牌匾未悬挂")]),
    )
    .await;
    let fix = record(&app, s, &visit("follow_up", "2017-03-10", &[])).await;
    assert_eq!(codes(&fix["guidance_resolved"]), ["plaque"]);

    // Voiding the follow-up reopens the guidance and puts the station back.
    let (status, v) = json(
        app.post(
            &format!("/api/visits/{}/void", fix["id"]),
            &json!({"reason": "录入错误"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(
        (v["voided"].as_bool(), v["void_reason"].as_str()),
        (Some(true), Some("录入错误"))
    );
    assert_eq!(v["status_reverted"], true);
    let station = get(&app, &format!("/api/stations/{s}")).await;
    assert_eq!(station["status"], "rectifying");
    let open = get(&app, &format!("/api/guidance?status=open&station_id={s}")).await;
    assert_eq!(codes(&open["items"]), ["plaque"]);
    let state = get(&app, &format!("/api/stations/{s}/checklist")).await;
    assert_eq!(state["last_visit"]["id"], bad["id"], "a voided visit stops counting");
    assert_eq!(state["items"][1]["result"], "unmet");
    let history = get(&app, &format!("/api/stations/{s}/visits")).await;
    assert_eq!(history["items"][0]["voided"], true, "voided visits stay visible");

    // Voiding the failing visit withdraws its guidance and ends rectification.
    let (status, v) = json(
        app.post(&format!("/api/visits/{}/void", bad["id"]), &json!({"reason": "误判"}))
            .await,
    )
    .await;
    assert_eq!((status, v["status_reverted"].as_bool()), (200, Some(true)));
    let station = get(&app, &format!("/api/stations/{s}")).await;
    assert_eq!(station["status"], "established");
    let any = get(&app, &format!("/api/guidance?station_id={s}")).await;
    assert_eq!(any["total"], 0, "withdrawn guidance is not listed");

    let (status, err) = json(
        app.post(&format!("/api/visits/{}/void", bad["id"]), &json!({"reason": "再次"}))
            .await,
    )
    .await;
    assert_eq!((status, err["error"]["code"].as_str()), (409, Some("conflict")));
    let (status, err) = json(
        app.post(&format!("/api/visits/{}/void", fix["id"]), &json!({"reason": "x"}))
            .await,
    )
    .await;
    assert_eq!(status, 409, "already voided: {err}");
    let (status, _) = json(app.post("/api/visits/999/void", &json!({"reason": "x"})).await).await;
    assert_eq!(status, 404);
    let other = record(&app, s, &visit("routine", "2017-04-01", &[])).await;
    let (status, err) = json(
        app.post(&format!("/api/visits/{}/void", other["id"]), &json!({"reason": ""}))
            .await,
    )
    .await;
    assert_field_error(status, &err, "reason");
}

fn stored_files(app: &TestApp) -> usize {
    fn walk(p: &std::path::Path) -> usize {
        std::fs::read_dir(p).map_or(0, |rd| {
            rd.flatten()
                .map(|e| if e.path().is_dir() { walk(&e.path()) } else { 1 })
                .sum()
        })
    }
    walk(app.data.path())
}

async fn upload(app: &TestApp, visit: &Value, code: &str, name: &str, bytes: Vec<u8>) -> (u16, Value) {
    let form = Form::new()
        .text("item_code", code.to_owned())
        .part("file", Part::bytes(bytes).file_name(name.to_owned()));
    let r = app
        .client
        .post(app.url(&format!("/api/visits/{}/evidence", visit["id"])))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    json(r).await
}

async fn evidence_is_checked_by_content_and_stored_once(app: TestApp) {
    let unit = app.unit("220605", "江源区").await;
    let s = planned_station(&app, unit, "江源市场服务站").await;
    let v = record(&app, s, &visit("acceptance", "2017-05-05", &[])).await;

    let (status, e) = upload(&app, &v, "plaque", "牌匾照片.png", PNG.to_vec()).await;
    assert_eq!(status, 201, "{e}");
    assert_eq!(
        (e["content_type"].as_str(), e["size_bytes"].as_i64()),
        (Some("image/png"), Some(PNG.len() as i64))
    );
    let r = app.get(&format!("/api/evidence/{}", e["id"])).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers().get("content-type").and_then(|h| h.to_str().ok()),
        Some("image/png")
    );
    let disposition = r
        .headers()
        .get("content-disposition")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(disposition.contains("UTF-8''"), "{disposition}");
    assert_eq!(r.bytes().await.expect("bytes").as_ref(), PNG);
    assert_eq!(stored_files(&app), 1);

    // The same photo for another item: a second record, one file.
    let (status, again) = upload(&app, &v, "bulletin", "same.png", PNG.to_vec()).await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(again["sha256"], e["sha256"]);
    assert_eq!(stored_files(&app), 1, "stored once by SHA-256");
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n".to_vec();
    let (status, p) = upload(&app, &v, "rules", "制度.pdf", pdf).await;
    assert_eq!((status, p["content_type"].as_str()), (201, Some("application/pdf")));

    // Checked by content, not by name; size limit; item must be in the visit.
    let (status, err) = upload(&app, &v, "plaque", "photo.jpg", b"just some text, not a photo".to_vec()).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let mut big = PNG.to_vec();
    big.resize(TEST_EVIDENCE_LIMIT + 1, 0);
    let (status, err) = upload(&app, &v, "plaque", "big.png", big).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
    let (status, err) = upload(&app, &v, "wifi", "x.png", PNG.to_vec()).await;
    assert_field_error(status, &err, "item_code");
    let (status, _) = upload(&app, &json!({"id": 999}), "plaque", "x.png", PNG.to_vec()).await;
    assert_eq!(status, 404);
    let r = app
        .client
        .post(app.url(&format!("/api/visits/{}/evidence", v["id"])))
        .json(&json!({}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 415, "not multipart");
    assert_eq!(
        stored_files(&app),
        2,
        "the PNG and the PDF; nothing from rejected uploads"
    );

    let one = get(&app, &format!("/api/visits/{}", v["id"])).await;
    assert_eq!(one["items"][1]["evidence"][0]["id"], e["id"]);
    assert_eq!(one["items"][5]["evidence"][0]["id"], again["id"]);
    let (status, _) = json(app.get("/api/evidence/999").await).await;
    assert_eq!(status, 404);
}

async fn visits_keep_their_checklist_version(app: TestApp) {
    let unit = app.unit("220602", "浑江区").await;
    let s = planned_station(&app, unit, "浑江商场服务站").await;
    record(&app, s, &visit("acceptance", "2017-01-10", &[])).await;
    let old = record(
        &app,
        s,
        &visit("routine", "2017-02-10", &[("computer", "unmet", "无电脑")]),
    )
    .await;
    assert_eq!(
        (old["score"].as_f64(), old["compliant"].as_bool()),
        (Some(87.5), Some(true))
    );

    // Version 2 makes the computer required and weighs it triple.
    let dir = tempfile::tempdir().expect("dir");
    let v2 = include_str!("../../checklists/baxiangyi-common.toml")
        .replace("version = 1", "version = 2")
        .replace("optional = true\nweight = 1", "optional = false\nweight = 3");
    std::fs::write(dir.path().join("common-v2.toml"), v2).expect("write");
    let app2 = app.restart(Some(dir.path().to_owned())).await;

    let again = get(&app2, &format!("/api/visits/{}", old["id"])).await;
    assert_eq!(
        (again["standard_version"].as_i64(), again["score"].as_f64()),
        (Some(1), Some(87.5))
    );
    assert_eq!(again["compliant"], true, "history is not rewritten by a new version");
    let state = get(&app2, &format!("/api/stations/{s}/checklist")).await;
    assert_eq!(
        state["standard_version"], 1,
        "state is read against the version of the last visit"
    );
    let t = get(&app2, &format!("/api/stations/{s}/visit-template")).await;
    assert_eq!(t["standard_version"], 2, "the next visit uses the newest version");

    let new = record(
        &app2,
        s,
        &visit("routine", "2017-03-10", &[("computer", "unmet", "仍无电脑")]),
    )
    .await;
    assert_eq!(new["standard_version"], 2);
    assert_eq!(
        (new["score"].as_f64(), new["compliant"].as_bool()),
        (Some(70.0), Some(false))
    );
}

async fn concurrent_visits_neither_fail_nor_duplicate_guidance(app: TestApp) {
    let unit = app.unit("220681", "临江市").await;
    let mut stations = Vec::new();
    for i in 0..6 {
        let s = planned_station(&app, unit, &format!("并发服务站{i}")).await;
        record(&app, s, &visit("acceptance", "2017-01-05", &[])).await;
        stations.push(s);
    }
    // Six stations at once, then six visits to one station at once, all
    // finding the same item failing.
    let failing = visit("routine", "2017-02-01", &[("phone", "unmet", "电话停机")]);
    let mut targets = stations.clone();
    targets.extend(std::iter::repeat_n(stations[0], 6));
    let handles: Vec<_> = targets
        .iter()
        .map(|s| {
            let req = app
                .client
                .post(app.url(&format!("/api/stations/{s}/visits")))
                .json(&failing);
            tokio::spawn(async move { req.send().await.expect("POST") })
        })
        .collect();
    for h in handles {
        let (status, body) = json(h.await.expect("task")).await;
        assert_eq!(status, 201, "{body}");
    }
    for s in &stations {
        let open = get(&app, &format!("/api/guidance?status=open&station_id={s}")).await;
        assert_eq!(open["total"], 1, "one open guidance per failing item: {open}");
    }
    let visits = get(&app, &format!("/api/stations/{}/visits", stations[0])).await;
    assert_eq!(visits["items"].as_array().map(Vec::len), Some(8));
}

async fn guidance_follows_a_station_to_its_new_unit(app: TestApp) {
    let old = app.unit("220681", "临江市").await;
    let new = app.unit("220621", "抚松县").await;
    let s = planned_station(&app, old, "迁移服务站").await;
    record(&app, s, &visit("acceptance", "2017-01-05", &[])).await;
    record(
        &app,
        s,
        &visit("routine", "2017-02-01", &[("phone", "unmet", "电话停机")]),
    )
    .await;
    let count = |unit: i64| {
        let app = &app;
        async move { get(app, &format!("/api/guidance?status=open&unit_id={unit}")).await["total"].as_i64() }
    };
    assert_eq!((count(old).await, count(new).await), (Some(1), Some(0)));
    let (_, st) = json(app.get(&format!("/api/stations/{s}")).await).await;
    let (status, _) = json(
        app.patch(
            &format!("/api/stations/{s}"),
            &json!({"version": st["version"], "unit_id": new}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        (count(old).await, count(new).await),
        (Some(0), Some(1)),
        "the guidance moved with the station"
    );
    let (_, p) = json(
        app.put(&format!("/api/units/{new}/plans/2017"), &json!({"target": 5}))
            .await,
    )
    .await;
    assert_eq!(p["target"], 5);
    let (_, progress) = json(app.get("/api/progress?year=2017&as_of=2017-07-14").await).await;
    let row = progress["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["unit_id"].as_i64() == Some(new))
        .cloned();
    assert_eq!(row.expect("row")["overdue_guidance"], 1, "counted in the new unit");
}
