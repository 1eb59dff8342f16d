//! What an outside probe tried against what the service shows (issue 13):
//! security headers, `HEAD`, evidence names with reordering characters, a
//! slow sign-in body, and what reaches the logs.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use reqwest::{Client, Method};
use serde_json::{Value, json};

use crate::security::from;
use crate::support::{Db, TestApp, assert_field_error, json};
use crate::{PNG, backend_tests};

backend_tests!(
    pages_and_answers_carry_security_headers,
    invisible_and_reordering_characters_are_refused,
);

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

async fn pages_and_answers_carry_security_headers(app: TestApp) {
    let anon = from([127, 0, 0, 14]);
    let page = anon.get(app.url("/login")).send().await.expect("page");
    let csp = header(&page, "content-security-policy");
    for part in [
        "default-src 'none'",
        "script-src 'self'",
        "frame-ancestors 'none'",
        "form-action 'self'",
    ] {
        assert!(csp.contains(part), "{part} in {csp}");
    }
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(header(&page, "x-content-type-options"), "nosniff");
    assert_eq!(header(&page, "referrer-policy"), "same-origin");
    assert_eq!(header(&page, "cache-control"), "no-store");
    assert!(
        header(&page, "strict-transport-security").contains("max-age="),
        "the cookie is Secure"
    );
    let html = page.text().await.expect("html");
    assert!(
        !html.contains(" style=") && !html.contains(" onclick="),
        "nothing inline: {html}"
    );

    let api = app.get("/api/me").await;
    assert_eq!(header(&api, "cache-control"), "no-store");
    assert!(header(&api, "content-security-policy").contains("sandbox"));
    // A refusal before routing (a NUL in the query) carries them too.
    let refused = app.get("/api/stations?q=%00").await;
    assert_eq!(refused.status(), 422);
    assert_eq!(header(&refused, "x-content-type-options"), "nosniff");
    assert!(header(&refused, "content-security-policy").contains("sandbox"));
    let css = app.get("/static/app.css").await;
    assert!(
        header(&css, "cache-control").contains("max-age"),
        "static files stay cacheable"
    );
    let docs = app.get("/api/docs/").await;
    assert_eq!(docs.status(), 200);
    assert!(header(&docs, "content-security-policy").contains("frame-ancestors 'none'"));

    // HEAD is answered as GET, without a body.
    let head = app.client.head(app.url("/login")).send().await.expect("head");
    assert_eq!(head.status(), 200);
    assert_eq!(header(&head, "content-type"), "text/html; charset=utf-8");
    assert!(head.bytes().await.expect("body").is_empty());
    let head = app
        .client
        .request(Method::HEAD, app.url("/api/units"))
        .send()
        .await
        .expect("head");
    assert_eq!(head.status(), 200);

    // Evidence opened inline runs nothing.
    let (_, visit) = visit(&app).await;
    let (status, e) = upload(&app, &visit, "照片.png").await;
    assert_eq!(status, 201, "{e}");
    let file = app.get(&format!("/api/evidence/{}", e["id"])).await;
    assert_eq!(file.status(), 200);
    let csp = header(&file, "content-security-policy");
    assert!(csp.contains("sandbox") && csp.contains("default-src 'none'"), "{csp}");
    assert_eq!(header(&file, "x-content-type-options"), "nosniff");
}

/// A unit, a station in it and a visit there.
async fn visit(app: &TestApp) -> (i64, Value) {
    let unit = app.unit("220605", "江源区").await;
    let (status, s) = json(
        app.post(
            "/api/stations",
            &json!({
                "unit_id": unit, "name": "江源市场服务站", "host_business": "江源某商贸有限公司",
                "category": "supermarket", "address": "江源区建设街1号", "liaison_name": "李明",
                "liaison_phone": "13943900001", "standard_id": "baxiangyi-common"
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{s}");
    let items: Vec<Value> = [
        "place", "plaque", "liaison", "phone", "register", "bulletin", "rules", "computer",
    ]
    .iter()
    .map(|code| json!({"code": code, "result": "met"}))
    .collect();
    let body = json!({"kind": "acceptance", "visited_on": "2017-05-05", "inspector": "吴晓伟", "summary": "现场检查", "items": items});
    let (status, v) = json(app.post(&format!("/api/stations/{}/visits", s["id"]), &body).await).await;
    assert_eq!(status, 201, "{v}");
    (unit, v)
}

async fn upload(app: &TestApp, visit: &Value, name: &str) -> (u16, Value) {
    let form = Form::new()
        .text("item_code", "plaque")
        .part("file", Part::bytes(PNG.to_vec()).file_name(name.to_owned()));
    let r = app
        .client
        .post(app.url(&format!("/api/visits/{}/evidence", visit["id"])))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    json(r).await
}

async fn invisible_and_reordering_characters_are_refused(app: TestApp) {
    let (status, err) = json(
        app.post(
            "/api/units",
            &json!({"code": "220602", "name": "\u{200B}\u{200D}\u{FEFF}", "kind": "district"}),
        )
        .await,
    )
    .await;
    assert_field_error(status, &err, "name");
    let (status, err) = json(
        app.post(
            "/api/units",
            &json!({"code": "220602", "name": "浑江区\u{202E}局", "kind": "district"}),
        )
        .await,
    )
    .await;
    assert_field_error(status, &err, "name");
    let (_, visit) = visit(&app).await;
    let (status, err) = upload(&app, &visit, "照片\u{202E}gnp.exe").await;
    assert_field_error(status, &err, "file");
    let (status, e) = upload(&app, &visit, "\u{200B}照片.png\u{200B}").await;
    assert_eq!((status, e["file_name"].as_str()), (201, Some("照片.png")), "{e}");
}

/// `/login` with a body that never finishes: 408, not 400.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trickled_sign_in_body_gets_408() {
    let app = TestApp::new(Db::Sqlite, |c| c.request_timeout_secs = 1).await;
    let addr = app.base.trim_start_matches("http://").to_owned();
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(15))).expect("timeout");
        let head = "POST /login HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"username\"";
        s.write_all(head.as_bytes()).expect("send");
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        String::from_utf8_lossy(&answer).into_owned()
    })
    .await
    .expect("join");
    let status = answer.lines().next().unwrap_or_default();
    assert!(status.contains(" 408 "), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
}

/// Runs the binary until it exits or `limit` passes (then it is killed).
fn run_for(mut cmd: std::process::Command, limit: Duration) -> std::process::Output {
    use std::process::Stdio;
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn bayige");
    let started = std::time::Instant::now();
    while child.try_wait().expect("wait").is_none() && started.elapsed() < limit {
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = child.kill();
    child.wait_with_output().expect("output")
}

fn bayige(db_url: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_bayige"));
    cmd.env("BAYIGE_DATABASE_URL", db_url).env("NO_COLOR", "1");
    cmd
}

/// The SMTP password of a bad URL is not printed; a typed username is
/// never logged raw (an unknown one not at all); the access log shows
/// query names, not values.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_hold_no_secrets_and_no_forged_lines() {
    let (url, _guard) = crate::support::fresh_sqlite();
    let mut cmd = bayige(&url);
    cmd.args(["serve", "--bind", "127.0.0.1:0"])
        .env("BAYIGE_LOG", "warn")
        .env("BAYIGE_SMTP_URL", "smtp://mailer:TopSecret99@mail.example:notaport");
    let o = tokio::task::spawn_blocking(move || run_for(cmd, Duration::from_secs(30)))
        .await
        .expect("join");
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("BAYIGE_SMTP_URL") && err.contains("mailer:***@mail.example"),
        "{err}"
    );
    assert!(!err.contains("TopSecret99"), "{err}");

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let base = format!("http://127.0.0.1:{port}");
    let mut cmd = bayige(&url);
    cmd.args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .env("BAYIGE_LOG", "info");
    let server = tokio::task::spawn_blocking(move || run_for(cmd, Duration::from_secs(20)));
    let client = Client::new();
    let mut up = false;
    for _ in 0..100 {
        if client.get(format!("{base}/healthz")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(up, "the server started");
    let forged = "nobody\n2026-12-01T00:00:00Z  INFO bayige: forged signed in\u{1b}[2K";
    for _ in 0..2 {
        let r = client
            .post(format!("{base}/login"))
            .json(&json!({"username": forged, "password": "x"}))
            .send()
            .await
            .expect("login");
        assert_eq!(r.status(), 401);
    }
    let r = client
        .get(format!("{base}/login?next=/stations/secret-place"))
        .send()
        .await
        .expect("page");
    assert_eq!(r.status(), 200);
    let o = server.await.expect("join");
    let log = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(log.contains("sign-in refused"), "{log}");
    assert!(!log.contains("forged"), "an unknown name is not logged: {log}");
    assert!(log.contains("/login?next=…") && !log.contains("secret-place"), "{log}");
    assert!(log.contains("status=200"), "{log}");
}
