//! Field capture from the phone's queue: a visit and its photos in one
//! request keyed by an `Idempotency-Key` are recorded exactly once; a
//! refused photo records nothing (and does not use up the key); the
//! inspector's own instruction and due date are kept; a slow upload that
//! keeps progressing is not cut off by the body deadline.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::{Db, TestApp, assert_field_error, issue_token, json};

backend_tests!(
    the_same_key_twice_records_one_visit,
    a_refused_photo_writes_nothing_and_keeps_the_key_free,
    the_form_keeps_the_inspectors_instruction_and_due_date,
    the_inspector_home_lists_due_stations_and_open_guidance,
);
mod slow {
    use crate::backend_cases;
    use crate::support::Db;
    backend_cases!(slow_upload);
    async fn slow_upload(db: Db) {
        super::a_slow_upload_that_keeps_progressing_succeeds(db).await
    }
}

const CODES: [&str; 8] = [
    "place", "plaque", "liaison", "phone", "register", "bulletin", "rules", "computer",
];

/// A station in a unit of its own, and the unit's id.
pub(crate) async fn station(app: &TestApp) -> (i64, i64) {
    let unit = app.unit("220605", "江源区").await;
    let (status, s) = json(
        app.post(
            "/api/stations",
            &json!({
                "unit_id": unit, "name": "江源市场服务站", "host_business": "江源区某商贸有限公司",
                "category": "supermarket", "address": "江源区建设街1号", "liaison_name": "李明",
                "liaison_phone": "13943900001", "standard_id": "baxiangyi-common"
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{s}");
    (s["id"].as_i64().expect("id"), unit)
}

/// An acceptance visit with the register missing: the inspector's own
/// instruction and due date for it.
pub(crate) fn visit_json() -> Value {
    let items: Vec<Value> = CODES
        .iter()
        .map(|c| match *c {
            "register" => json!({"code": c, "result": "unmet", "note": "未建立投诉登记簿",
                "instruction": "三日内建立投诉登记簿并逐件登记", "due_on": "2017-05-20"}),
            _ => json!({"code": c, "result": "met"}),
        })
        .collect();
    json!({"kind": "acceptance", "visited_on": "2017-05-05", "summary": "现场检查", "items": items})
}

/// A PNG of `n` bytes (the signature, then padding): accepted by content.
fn png(n: usize) -> Vec<u8> {
    let mut b = crate::visits_png();
    b.resize(n.max(b.len()), 0);
    b
}

fn multipart(visit: &Value, photos: &[(&str, Vec<u8>)]) -> Form {
    let mut form = Form::new().text("visit", visit.to_string());
    for (code, bytes) in photos {
        form = form.part(
            format!("photo_{code}"),
            Part::bytes(bytes.clone()).file_name("现场.jpg"),
        );
    }
    form
}

pub(crate) async fn send(
    app: &TestApp,
    sid: i64,
    key: &str,
    visit: &Value,
    photos: &[(&str, Vec<u8>)],
) -> (u16, Value) {
    json(
        app.client
            .post(app.url(&format!("/api/stations/{sid}/visits")))
            .header("Idempotency-Key", key)
            .multipart(multipart(visit, photos))
            .send()
            .await
            .expect("post"),
    )
    .await
}

async fn visits_of(app: &TestApp, station: i64) -> Vec<Value> {
    let (status, list) = json(app.get(&format!("/api/stations/{station}/visits")).await).await;
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().cloned().unwrap_or_default()
}

async fn open_guidance(app: &TestApp, station: i64) -> Vec<Value> {
    let (status, page) = json(app.get(&format!("/api/guidance?station_id={station}")).await).await;
    assert_eq!(status, 200, "{page}");
    page["items"].as_array().cloned().unwrap_or_default()
}

/// A retry after a lost answer, a double tap, a second tab: one visit, one
/// photo, one guidance item; the repeat gets the first visit back (200).
async fn the_same_key_twice_records_one_visit(app: TestApp) {
    let (sid, unit) = station(&app).await;
    let key = "0b6f3a52-8c1d-4e0a-9a51-2f7d8e4c1a10";
    let photos = [("register", png(5000))];
    let (first_status, first) = send(&app, sid, key, &visit_json(), &photos).await;
    assert_eq!(first_status, 201, "{first}");
    let (again_status, again) = send(&app, sid, key, &visit_json(), &photos).await;
    assert_eq!(again_status, 200, "a repeat answers with the visit: {again}");
    assert_eq!(again["id"], first["id"], "the first visit");
    assert_eq!(visits_of(&app, sid).await.len(), 1, "one visit");
    let (_, v) = json(app.get(&format!("/api/visits/{}", first["id"])).await).await;
    let photos: usize = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["evidence"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(photos, 1, "one photo: {v}");
    assert_eq!(open_guidance(&app, sid).await.len(), 1, "one guidance item");

    // The same key for another visit is refused, naming the key.
    let mut other = visit_json();
    other["summary"] = json!("另一次检查");
    let (status, body) = send(&app, sid, key, &other, &[]).await;
    assert_field_error(status, &body, "idempotency_key");
    // And so is another user's use of it.
    let ctx = app.ctx.clone();
    let token = tokio::task::spawn_blocking(move || issue_token(&ctx, "insp", "inspector", &[unit as i32]))
        .await
        .expect("join");
    let inspector = app.with_client(crate::support::client_with(&token));
    let (status, body) = send(&inspector, sid, key, &visit_json(), &[("register", png(5000))]).await;
    assert_field_error(status, &body, "idempotency_key");
    assert_eq!(visits_of(&app, sid).await.len(), 1, "still one visit");

    // A key that is no key is refused before anything is read.
    let (status, body) = send(&app, sid, "", &visit_json(), &[]).await;
    assert_field_error(status, &body, "idempotency_key");
}

/// A photo the server refuses fails the whole visit: no visit, no photo,
/// no guidance, no station change; the same key then records the
/// corrected visit.
async fn a_refused_photo_writes_nothing_and_keeps_the_key_free(app: TestApp) {
    let (sid, _) = station(&app).await;
    let key = "c2b0e0c4-1f7b-4d55-8a1e-6a4bde0f9e21";
    let (status, body) = send(
        &app,
        sid,
        key,
        &visit_json(),
        &[("plaque", png(400)), ("register", b"%!PS-Adobe-3.0".to_vec())],
    )
    .await;
    assert_field_error(status, &body, "photo_register");
    assert!(visits_of(&app, sid).await.is_empty(), "no visit");
    assert!(open_guidance(&app, sid).await.is_empty(), "no guidance");
    let (_, s) = json(app.get(&format!("/api/stations/{sid}")).await).await;
    assert_eq!(s["status"], "planned", "the station did not move: {s}");

    let (status, v) = send(&app, sid, key, &visit_json(), &[("register", png(400))]).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(visits_of(&app, sid).await.len(), 1);
}

/// The instruction (整改意见) and due date (整改期限) the inspector wrote in
/// the page's form are the guidance's, and the station page that follows
/// says the score, the station's new status and each deadline.
async fn the_form_keeps_the_inspectors_instruction_and_due_date(app: TestApp) {
    let (sid, unit) = station(&app).await;
    let ctx = app.ctx.clone();
    tokio::task::spawn_blocking(move || issue_token(&ctx, "insp", "inspector", &[unit as i32]))
        .await
        .expect("join");
    // Established at an acceptance visit that found everything in place.
    let all_met: Vec<Value> = CODES.iter().map(|c| json!({"code": c, "result": "met"})).collect();
    let (status, v) = json(
        app.post(
            &format!("/api/stations/{sid}/visits"),
            &json!({"kind": "acceptance", "visited_on": "2017-05-01", "items": all_met}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let (client, csrf) = crate::pages::sign_in(&app, "insp").await;
    let form_page = client
        .get(app.url(&format!("/stations/{sid}/visit")))
        .send()
        .await
        .expect("form")
        .text()
        .await
        .expect("page");
    assert!(form_page.contains("整改意见"), "the form asks for the instruction");
    assert!(form_page.contains("整改期限"), "and the due date");
    let key = form_page
        .split("name=\"idempotency_key\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a key in the form")
        .to_owned();
    let mut fields = vec![
        ("csrf_token".to_owned(), csrf),
        ("idempotency_key".to_owned(), key),
        ("kind".to_owned(), "routine".to_owned()),
        ("visited_on".to_owned(), "2017-05-05".to_owned()),
    ];
    for code in CODES {
        let result = if code == "register" { "unmet" } else { "met" };
        fields.push((format!("result_{code}"), result.to_owned()));
        // The form sends the prefilled instruction and due date of every
        // item; only the failing one's count.
        fields.push((format!("instruction_{code}"), "按标准整改".to_owned()));
        fields.push((format!("due_on_{code}"), "2017-05-01".to_owned()));
    }
    fields.push(("note_register".to_owned(), "未建立投诉登记簿".to_owned()));
    fields.retain(|(k, _)| k != "instruction_register" && k != "due_on_register");
    fields.push(("instruction_register".to_owned(), "三日内建立投诉登记簿".to_owned()));
    fields.push(("due_on_register".to_owned(), "2017-05-20".to_owned()));
    let post = |fields: Vec<(String, String)>| {
        let mut form = Form::new();
        for (k, v) in fields {
            form = form.text(k, v);
        }
        client
            .post(app.url(&format!("/stations/{sid}/visit")))
            .multipart(form)
            .send()
    };
    let r = post(fields.clone()).await.expect("post");
    assert_eq!(r.status(), 303);
    let to = r
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .expect("to the station page")
        .to_owned();
    assert!(to.starts_with(&format!("/stations/{sid}?ok=visit&visit=")), "{to}");
    let page = client
        .get(app.url(&to))
        .send()
        .await
        .expect("station page")
        .text()
        .await
        .expect("page");
    assert!(page.contains("本次检查结果"), "{page}");
    assert!(page.contains("得分"), "the score");
    assert!(page.contains("限期整改"), "the station's new status: {page}");
    assert!(page.contains("三日内建立投诉登记簿"), "the instruction");
    assert!(page.contains("2017-05-20前整改"), "its deadline");
    assert!(
        page.contains("href=\"tel:13943900001\""),
        "the liaison's phone can be called"
    );
    assert!(
        page.contains("消费维权服务站“八个一”标准"),
        "the standard by its Chinese title"
    );
    assert!(!page.contains("baxiangyi-common"), "not by its id");
    assert!(page.contains("测试insp"), "the inspector by name, not login");
    // A second post of the same form (a double tap) records nothing more.
    let r = post(fields).await.expect("post again");
    assert_eq!(r.status(), 303, "the same visit again");
    assert_eq!(visits_of(&app, sid).await.len(), 2, "one visit besides the acceptance");
    let guidance = open_guidance(&app, sid).await;
    assert_eq!(guidance.len(), 1, "{guidance:?}");
    assert_eq!(guidance[0]["instruction"], "三日内建立投诉登记簿");
    assert_eq!(guidance[0]["due_on"], "2017-05-20");
}

/// A photo near the size limit sent over a weak uplink: it takes several
/// times the body timeout, arriving all along, and is recorded; a body
/// that stops arriving still gets 408.
async fn a_slow_upload_that_keeps_progressing_succeeds(db: Db) {
    let app = TestApp::new(db, |c| c.request_timeout_secs = 1).await;
    let (sid, _) = station(&app).await;
    let boundary = "----bayige-slow-uplink";
    let photo = png(200 * 1024);
    let mut body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"visit\"\r\n\r\n{}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"photo_register\"; filename=\"a.jpg\"\r\n\
         Content-Type: image/jpeg\r\n\r\n",
        visit_json()
    )
    .into_bytes();
    body.extend_from_slice(&photo);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let token = {
        let ctx = app.ctx.clone();
        tokio::task::spawn_blocking(move || issue_token(&ctx, "slow", "admin", &[]))
            .await
            .expect("join")
    };
    let addr = app.base.trim_start_matches("http://").to_owned();
    let path = format!("/api/stations/{sid}/visits");
    let (status, took) = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
             Idempotency-Key: slow-uplink-1\r\nConnection: close\r\n\
             Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        let started = Instant::now();
        s.write_all(head.as_bytes()).expect("head");
        // About 60 KB a second (a weak 3G uplink): some 3.5 s for the body,
        // in chunks a quarter of a second apart.
        for chunk in body.chunks(15 * 1024) {
            if s.write_all(chunk).is_err() {
                // The server gave up on the body: its answer says why.
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let text = String::from_utf8_lossy(&answer).into_owned();
        (text.lines().next().unwrap_or_default().to_owned(), started.elapsed())
    })
    .await
    .expect("join");
    assert!(
        took > Duration::from_secs(2),
        "the upload took longer than the timeout: {took:?}"
    );
    assert!(status.contains(" 201 "), "{status}");
    assert_eq!(visits_of(&app, sid).await.len(), 1);
}

/// An inspector's home on the phone: the stations of the inspector's own
/// units due for a visit (awaiting acceptance first, then not visited for
/// the configured interval), and the open guidance there with the days it
/// is overdue; nothing of another unit.
async fn the_inspector_home_lists_due_stations_and_open_guidance(app: TestApp) {
    let (visited, unit) = station(&app).await;
    let all_met: Vec<Value> = CODES.iter().map(|c| json!({"code": c, "result": "met"})).collect();
    let (status, v) = json(
        app.post(
            &format!("/api/stations/{visited}/visits"),
            &json!({"kind": "acceptance", "visited_on": "2017-05-01", "items": all_met}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let mut routine = visit_json();
    routine["kind"] = json!("routine");
    let (status, v) = json(app.post(&format!("/api/stations/{visited}/visits"), &routine).await).await;
    assert_eq!(status, 201, "{v}");
    let mut planned = json!({
        "unit_id": unit, "name": "江源待验收服务站", "host_business": "江源区另一商贸有限公司",
        "category": "market", "address": "江源区建设街2号", "liaison_name": "王芳",
        "liaison_phone": "13943900002", "standard_id": "baxiangyi-common"
    });
    let (status, s) = json(app.post("/api/stations", &planned).await).await;
    assert_eq!(status, 201, "{s}");
    let other = app.unit("220681", "临江市").await;
    planned["unit_id"] = json!(other);
    planned["name"] = json!("临江市场服务站");
    let (status, s) = json(app.post("/api/stations", &planned).await).await;
    assert_eq!(status, 201, "{s}");
    let ctx = app.ctx.clone();
    tokio::task::spawn_blocking(move || issue_token(&ctx, "insp", "inspector", &[unit as i32]))
        .await
        .expect("join");
    let (client, _) = crate::pages::sign_in(&app, "insp").await;
    let page = client
        .get(app.url("/"))
        .send()
        .await
        .expect("home")
        .text()
        .await
        .expect("page");
    assert!(page.contains("需要检查的服务站"), "{page}");
    let planned_at = page.find("江源待验收服务站").expect("the planned station");
    let visited_at = page.find("江源市场服务站").expect("the station last visited in 2017");
    assert!(planned_at < visited_at, "awaiting acceptance first");
    assert!(!page.contains("临江市场服务站"), "nothing of another unit");
    assert!(page.contains("三日内建立投诉登记簿并逐件登记"), "the open guidance");
    let today = app.ctx.today();
    let due = chrono::NaiveDate::from_ymd_opt(2017, 5, 20).expect("date");
    assert!(
        page.contains(&format!("逾期 {} 天", (today - due).num_days())),
        "days overdue: {page}"
    );
    assert!(page.contains("name=\"q\""), "a search box");
}
