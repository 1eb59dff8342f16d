//! Uploads: who may send a body is checked before it is read, a request is
//! bounded as a whole, and a visit with its photos is recorded whole or not
//! at all — from the page's form and from the API.

use std::io::{Read, Write};
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::pages::sign_in;
use crate::support::{TEST_EVIDENCE_LIMIT, TestApp, assert_field_error, issue_token, json};

backend_tests!(
    a_body_is_not_read_for_who_may_not_send_it,
    one_request_is_bounded_as_a_whole,
    a_visit_whose_photo_is_refused_writes_nothing,
    the_api_records_a_visit_with_its_photos,
    nul_in_a_form_field_is_named_not_a_500,
);

const CODES: [&str; 8] = [
    "place", "plaque", "liaison", "phone", "register", "bulletin", "rules", "computer",
];
const BOUNDARY: &str = "----bayige-test-boundary";

/// A station in a unit of its own, and the unit's id.
async fn station(app: &TestApp) -> (i64, i64) {
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

async fn user(app: &TestApp, name: &str, role: &str, units: &[i64]) -> String {
    let ctx = app.ctx.clone();
    let (name, role) = (name.to_owned(), role.to_owned());
    let units: Vec<i32> = units.iter().map(|u| *u as i32).collect();
    tokio::task::spawn_blocking(move || issue_token(&ctx, &name, &role, &units))
        .await
        .expect("join")
}

/// The page form's text fields for an acceptance visit with every item met.
fn form_fields(csrf: &str) -> Vec<(String, String)> {
    let mut f = vec![
        ("csrf_token".to_owned(), csrf.to_owned()),
        ("kind".to_owned(), "acceptance".to_owned()),
        ("visited_on".to_owned(), "2017-05-05".to_owned()),
        ("summary".to_owned(), "现场检查".to_owned()),
    ];
    for code in CODES {
        f.push((format!("result_{code}"), "met".to_owned()));
    }
    f
}

fn form_of(fields: &[(String, String)], files: &[(&str, Vec<u8>)]) -> Form {
    let mut form = Form::new();
    for (k, v) in fields {
        form = form.text(k.clone(), v.clone());
    }
    for (name, bytes) in files {
        form = form.part(name.to_string(), Part::bytes(bytes.clone()).file_name("现场.png"));
    }
    form
}

async fn visits_of(app: &TestApp, station: i64) -> usize {
    let (status, list) = json(app.get(&format!("/api/stations/{station}/visits")).await).await;
    assert_eq!(status, 200, "{list}");
    list["items"].as_array().map_or(0, Vec::len)
}

/// A PNG of `n` bytes (the signature, then padding): accepted by content.
fn png(n: usize) -> Vec<u8> {
    let mut b = crate::visits_png();
    b.resize(n.max(b.len()), 0);
    b
}

/// Starts a POST whose body announces 50 MB, sends `first` of it and then
/// stalls. Returns the status the server answered with while the body was
/// still unsent (0 when it gave none within a few seconds: it waited for
/// the body).
async fn stalled_post(app: &TestApp, path: &str, auth: &str, first: String) -> u16 {
    let addr = app.base.trim_start_matches("http://").to_owned();
    let path = path.to_owned();
    let auth = auth.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(5))).expect("timeout");
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\n\
             Content-Type: multipart/form-data; boundary={BOUNDARY}\r\nContent-Length: 50000000\r\n\r\n"
        );
        s.write_all(head.as_bytes()).expect("head");
        s.write_all(first.as_bytes()).expect("first part");
        let mut buf = [0u8; 64];
        match s.read(&mut buf) {
            Ok(n) if n >= 12 => String::from_utf8_lossy(&buf[9..12]).parse().unwrap_or(0),
            _ => 0,
        }
    })
    .await
    .expect("join")
}

fn text_part(name: &str, value: &str) -> String {
    format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
}

fn file_head(name: &str) -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"a.png\"\r\n\
         Content-Type: image/png\r\n\r\n\u{89}PNG"
    )
}

/// The session cookie and CSRF token of `username`, signed in by the form.
async fn session(app: &TestApp, username: &str) -> (String, String) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = client
        .post(app.url("/login"))
        .form(&[("username", username), ("password", "correct horse battery")])
        .send()
        .await
        .expect("login");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|h| h.to_str().ok())
        .and_then(|c| c.split(';').next())
        .expect("a session cookie")
        .to_owned();
    let page = client
        .get(app.url("/stations"))
        .header("Cookie", &cookie)
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    let csrf = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token")
        .to_owned();
    (format!("Cookie: {cookie}"), csrf)
}

/// A read-only viewer, a form with a forged CSRF token, or an upload to
/// another unit's visit is refused before the body is read: the answer
/// comes while the (announced 50 MB) body is still unsent.
async fn a_body_is_not_read_for_who_may_not_send_it(app: TestApp) {
    let (sid, unit) = station(&app).await;
    user(&app, "view", "viewer", &[]).await;
    user(&app, "insp", "inspector", &[unit]).await;
    let other = app.unit("220681", "临江市").await;
    let outsider = user(&app, "other", "inspector", &[other]).await;
    let form = format!("/stations/{sid}/visit");

    let (viewer, csrf) = session(&app, "view").await;
    let first = text_part("csrf_token", &csrf) + &file_head("photo_plaque");
    assert_eq!(stalled_post(&app, &form, &viewer, first).await, 403, "a viewer");

    let (inspector, _) = session(&app, "insp").await;
    let first = text_part("csrf_token", "forged") + &file_head("photo_plaque");
    assert_eq!(
        stalled_post(&app, &form, &inspector, first).await,
        403,
        "a forged token"
    );

    let v = json(
        app.post(
            &format!("/api/stations/{sid}/visits"),
            &json!({"kind": "acceptance", "visited_on": "2017-05-05", "items":
                CODES.iter().map(|c| json!({"code": c, "result": "met"})).collect::<Vec<_>>()}),
        )
        .await,
    )
    .await
    .1;
    let bearer = format!("Authorization: Bearer {outsider}");
    let upload = format!("/api/visits/{}/evidence", v["id"]);
    let first = text_part("item_code", "plaque") + &file_head("file");
    assert_eq!(
        stalled_post(&app, &upload, &bearer, first).await,
        403,
        "another unit's visit"
    );
    let api_form = format!("/api/stations/{sid}/visits");
    let first = text_part("visit", "{}") + &file_head("photo_plaque");
    assert_eq!(
        stalled_post(&app, &api_form, &bearer, first).await,
        403,
        "another unit's station"
    );
    assert_eq!(visits_of(&app, sid).await, 1, "only the API's visit");
}

/// Files each within the per-file limit but together over the request's
/// bound, or more files than the form has items, are refused (413) and
/// nothing is recorded.
async fn one_request_is_bounded_as_a_whole(app: TestApp) {
    let (sid, unit) = station(&app).await;
    user(&app, "insp", "inspector", &[unit]).await;
    let (client, csrf) = sign_in(&app, "insp").await;
    let fields = form_fields(&csrf);
    let each = TEST_EVIDENCE_LIMIT - 1024;
    let six: Vec<(&str, Vec<u8>)> = CODES[..6]
        .iter()
        .map(|c| (Box::leak(format!("photo_{c}").into_boxed_str()) as &str, png(each)))
        .collect();
    let r = client
        .post(app.url(&format!("/stations/{sid}/visit")))
        .multipart(form_of(&fields, &six))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 413, "six photos near the limit are too much together");
    let nine: Vec<(&str, Vec<u8>)> = (0..9).map(|_| ("photo_place", png(100))).collect();
    let r = client
        .post(app.url(&format!("/stations/{sid}/visit")))
        .multipart(form_of(&fields, &nine))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 413, "more photos than items");
    assert_eq!(visits_of(&app, sid).await, 0, "nothing recorded");
    let (status, _) = json(
        app.client
            .post(app.url(&format!("/api/stations/{sid}/visits")))
            .multipart(form_of(&[("visit".into(), visit_json().to_string())], &six))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, 413, "the API too");
    assert_eq!(visits_of(&app, sid).await, 0, "nothing recorded");
    // Four photos' worth is accepted.
    let four = &six[..4];
    let r = client
        .post(app.url(&format!("/stations/{sid}/visit")))
        .multipart(form_of(&fields, four))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 303);
    assert_eq!(visits_of(&app, sid).await, 1);
}

fn visit_json() -> Value {
    json!({"kind": "acceptance", "visited_on": "2017-05-05", "summary": "现场检查",
        "items": CODES.iter().map(|c| json!({"code": c, "result": "met"})).collect::<Vec<_>>()})
}

/// A photo the service cannot keep (not an image, or for an item not in
/// the checklist) fails the whole form: no visit, no photo, so the
/// inspector's resubmission is not a duplicate.
async fn a_visit_whose_photo_is_refused_writes_nothing(app: TestApp) {
    let (sid, unit) = station(&app).await;
    user(&app, "insp", "inspector", &[unit]).await;
    let (client, csrf) = sign_in(&app, "insp").await;
    let fields = form_fields(&csrf);
    for (files, field) in [
        (vec![("photo_plaque", png(200)), ("photo_nosuch", png(200))], "nosuch"),
        (
            vec![("photo_plaque", png(200)), ("photo_rules", b"%!PS-Adobe".to_vec())],
            "rules",
        ),
    ] {
        let r = client
            .post(app.url(&format!("/stations/{sid}/visit")))
            .multipart(form_of(&fields, &files))
            .send()
            .await
            .expect("post");
        let status = r.status().as_u16();
        let page = r.text().await.expect("page");
        assert_eq!(status, 422, "{field}: {page}");
        assert!(page.contains("照片需要重新选择"), "{page}");
        assert_eq!(visits_of(&app, sid).await, 0, "{field}: nothing recorded");
    }
    let r = client
        .post(app.url(&format!("/stations/{sid}/visit")))
        .multipart(form_of(
            &fields,
            &[("photo_plaque", png(200)), ("photo_rules", png(300))],
        ))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 303);
    let (_, list) = json(app.get(&format!("/api/stations/{sid}/visits")).await).await;
    let v = json(app.get(&format!("/api/visits/{}", list["items"][0]["id"])).await)
        .await
        .1;
    let with_photos: Vec<&str> = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter(|i| i["evidence"].as_array().is_some_and(|e| !e.is_empty()))
        .filter_map(|i| i["code"].as_str().or(i["item_code"].as_str()))
        .collect();
    assert_eq!(with_photos, ["plaque", "rules"], "{v}");
}

/// `POST /api/stations/{id}/visits` as multipart: a `visit` part and
/// `photo_<code>` files, recorded together; a bad photo is 422 naming it.
async fn the_api_records_a_visit_with_its_photos(app: TestApp) {
    let (sid, _) = station(&app).await;
    let path = format!("/api/stations/{sid}/visits");
    let post = |form: Form| app.client.post(app.url(&path)).multipart(form).send();
    let visit = [("visit".to_owned(), visit_json().to_string())];
    let (status, err) = json(
        post(form_of(
            &visit,
            &[("photo_plaque", png(200)), ("photo_register", b"plain text".to_vec())],
        ))
        .await
        .expect("post"),
    )
    .await;
    assert_field_error(status, &err, "photo_register");
    let (status, err) = json(post(form_of(&[], &[("photo_plaque", png(200))])).await.expect("post")).await;
    assert_field_error(status, &err, "visit");
    let bad_visit = [("visit".to_owned(), json!({"kind": "acceptance"}).to_string())];
    let (status, err) = json(post(form_of(&bad_visit, &[])).await.expect("post")).await;
    assert_field_error(status, &err, "visited_on");
    assert_eq!(visits_of(&app, sid).await, 0, "nothing recorded");

    let (status, v) = json(
        post(form_of(&visit, &[("photo_plaque", png(200))]))
            .await
            .expect("post"),
    )
    .await;
    assert_eq!(status, 201, "{v}");
    let plaque = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["code"] == "plaque" || i["item_code"] == "plaque")
        .cloned()
        .expect("plaque");
    assert_eq!(plaque["evidence"][0]["size_bytes"], 200, "{v}");
    // The answer is built from what was written; reading the visit back
    // shows the same, photos included.
    let (status, read) = json(app.get(&format!("/api/visits/{}", v["id"])).await).await;
    assert_eq!((status, &read), (200, &v));
    let r = app.get(&format!("/api/evidence/{}", plaque["evidence"][0]["id"])).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.bytes().await.expect("bytes").to_vec(), png(200));
}

/// A NUL in a text field of a multipart form is a 422 naming the field, on
/// PostgreSQL too (which cannot store it), never a 500.
async fn nul_in_a_form_field_is_named_not_a_500(app: TestApp) {
    let (sid, unit) = station(&app).await;
    user(&app, "insp", "inspector", &[unit]).await;
    let (client, csrf) = sign_in(&app, "insp").await;
    let mut fields = form_fields(&csrf);
    fields.push(("note_plaque".into(), "牌匾\0缺失".into()));
    let r = client
        .post(app.url(&format!("/stations/{sid}/visit")))
        .multipart(form_of(&fields, &[]))
        .send()
        .await
        .expect("post");
    let status = r.status().as_u16();
    let page = r.text().await.expect("page");
    assert_eq!(status, 422, "{page}");
    assert!(page.contains("NUL"), "the page says why: {page}");
    let mut visit = visit_json();
    visit["summary"] = json!("现场\u{0}检查");
    let (status, err) = json(
        app.client
            .post(app.url(&format!("/api/stations/{sid}/visits")))
            .multipart(form_of(&[("visit".into(), visit.to_string())], &[]))
            .send()
            .await
            .expect("post"),
    )
    .await;
    assert_field_error(status, &err, "summary");
    assert_eq!(visits_of(&app, sid).await, 0);
}
