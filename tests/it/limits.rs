//! Limits on clients: slow heads and bodies get 408 and lose their
//! connection; nesting and sizes beyond the limits get a clear 4xx.
//! (Body size: foundation.rs; upload size: visits.rs; page size: stations.rs.)

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::backend_tests;
use crate::support::{Db, TestApp, assert_field_error, issue_token, json};

backend_tests!(nul_characters_are_refused_naming_the_field);

/// PostgreSQL cannot store U+0000; every way in refuses it with a 422 that
/// names the field, on both backends alike.
async fn nul_characters_are_refused_naming_the_field(app: TestApp) {
    let (status, body) = json(
        app.post(
            "/api/units",
            &json!({"code": "220602", "name": "浑江\u{0}区", "kind": "district"}),
        )
        .await,
    )
    .await;
    assert_field_error(status, &body, "name");
    let (status, body) = json(app.post("/api/tokens", &json!({"name": "\u{0}(g"})).await).await;
    assert_field_error(status, &body, "name");
    let (status, body) = json(app.get("/api/stations?q=%00").await).await;
    assert_field_error(status, &body, "q");
    let (status, body) = json(app.get("/api/audit?user=a%00b").await).await;
    assert_field_error(status, &body, "user");
    let (status, units) = json(app.get("/api/units").await).await;
    assert_eq!(
        (status, units["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "nothing written"
    );
}

/// What a raw client that stalls gets back: the status line and the body.
fn stall(base: &str, sent: &str) -> (String, String, Duration) {
    let addr = base.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
    let started = Instant::now();
    s.write_all(sent.as_bytes()).expect("send");
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text.lines().next().unwrap_or_default().to_owned();
    let body = text.split("\r\n\r\n").nth(1).unwrap_or_default().to_owned();
    (status, body, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_get_408_and_are_disconnected() {
    let app = TestApp::new(Db::Sqlite, |c| c.request_timeout_secs = 1).await;
    let ctx = app.ctx.clone();
    let token = tokio::task::spawn_blocking(move || issue_token(&ctx, "slow", "admin", &[]))
        .await
        .expect("join");
    let base = app.base.clone();

    // A body that never finishes.
    let head = format!(
        "POST /api/units HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"code\""
    );
    let b = base.clone();
    let (status, body, took) = tokio::task::spawn_blocking(move || stall(&b, &head))
        .await
        .expect("join");
    assert!(status.contains(" 408 "), "{status} {body}");
    assert!(body.contains("request_timeout"), "{body}");
    assert!(took < Duration::from_secs(10), "answered after {took:?}");

    // A head that never finishes.
    let b = base.clone();
    let (status, _, took) = tokio::task::spawn_blocking(move || stall(&b, "GET /api/units HTTP/1.1\r\nHost: t\r\n"))
        .await
        .expect("join");
    assert!(status.contains(" 408 ") || status.is_empty(), "{status}");
    assert!(took < Duration::from_secs(10), "disconnected after {took:?}");

    // Nothing was written by the stalled request, and the service still answers.
    let (status, units) = json(app.get("/api/units").await).await;
    assert_eq!((status, units["items"].as_array().map(Vec::len)), (200, Some(0)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nesting_and_sizes_are_bounded() {
    let app = TestApp::sqlite().await;
    // Nesting beyond what any input has, deeper than the parser allows.
    let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
    let r = app.post_raw("/api/units", &deep).await;
    let status = r.status().as_u16();
    let body: serde_json::Value = r.json().await.expect("json error");
    assert!(matches!(status, 400 | 422), "{status} {body}");
    let deep_field = format!(
        r#"{{"kind": "routine", "items": [{{"code": {}1{}}}]}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let r = app.post_raw("/api/stations/1/visits", &deep_field).await;
    assert!(r.status().is_client_error(), "{}", r.status());

    // Many small items: the body limit, not memory, decides.
    let items: Vec<_> = (0..20_000)
        .map(|i| json!({"code": format!("c{i}"), "result": "met"}))
        .collect();
    let r = app
        .post("/api/stations/1/visits", &json!({"kind": "routine", "items": items}))
        .await;
    let status = r.status().as_u16();
    let (_, body) = json(r).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );

    // Sign-in answers in JSON unless it is an HTML form.
    let anon = reqwest::Client::new();
    let r = anon.post(app.url("/login")).send().await.expect("login");
    let status = r.status().as_u16();
    let (_, body) = json(r).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let r = anon
        .post(app.url("/login"))
        .header("content-type", "text/plain")
        .body("admin")
        .send()
        .await
        .expect("login");
    let status = r.status().as_u16();
    let (_, body) = json(r).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );

    // Page sizes are capped.
    for q in ["per_page=101", "page=0", "page=1000001"] {
        let (status, body) = json(app.get(&format!("/api/audit?{q}")).await).await;
        assert_eq!(status, 422, "{q}: {body}");
    }
}
