//! Evidence downloads are streamed from disk (ranges work, the stored
//! hash is the ETag) and a client that stops reading is dropped.

use std::io::{Read, Write};
use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::json;
use sha2::Digest;

use crate::backend_cases;
use crate::support::{Db, TestApp, issue_token, json};

backend_cases!(a_download_streams_and_a_stalled_reader_is_dropped);

/// Larger than what the socket buffers hold (4 MiB sending, 64 KiB
/// receiving here).
const BIG: usize = 16 * 1024 * 1024;

/// A PNG of `n` bytes: the signature, then bytes that vary.
fn png(n: usize) -> Vec<u8> {
    let mut b = crate::visits_png();
    b.extend((0..n.saturating_sub(b.len())).map(|i| (i % 251) as u8));
    b
}

/// A visit at a new station with a photo of `bytes` on "plaque"; the
/// evidence id.
async fn evidence(app: &TestApp, bytes: Vec<u8>) -> i64 {
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
    let codes = [
        "place", "plaque", "liaison", "phone", "register", "bulletin", "rules", "computer",
    ];
    let visit = json!({"kind": "acceptance", "visited_on": "2017-05-05",
        "items": codes.iter().map(|c| json!({"code": c, "result": "met"})).collect::<Vec<_>>()});
    let form = Form::new()
        .text("visit", visit.to_string())
        .part("photo_plaque", Part::bytes(bytes).file_name("牌匾.png"));
    let r = app
        .client
        .post(app.url(&format!("/api/stations/{}/visits", s["id"])))
        .multipart(form)
        .send()
        .await
        .expect("post");
    let (status, v) = json(r).await;
    assert_eq!(status, 201, "{v}");
    v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find_map(|i| i["evidence"][0]["id"].as_i64())
        .expect("the photo's evidence")
}

/// Reads a GET of `path` after a pause as long as `pause`, with a small
/// receive buffer: how many body bytes arrived before the connection
/// ended, and the announced length.
async fn read_after_pause(app: &TestApp, path: &str, token: &str, pause: Duration) -> (usize, usize) {
    let addr: std::net::SocketAddr = app.base.trim_start_matches("http://").parse().expect("addr");
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\r\n");
    tokio::task::spawn_blocking(move || {
        let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
        socket.set_recv_buffer_size(64 * 1024).expect("rcvbuf");
        socket.connect(&addr.into()).expect("connect");
        let mut s: std::net::TcpStream = socket.into();
        s.write_all(req.as_bytes()).expect("request");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            s.read_exact(&mut byte).expect("head");
            head.push(byte[0]);
        }
        let head = String::from_utf8_lossy(&head).to_lowercase();
        let announced = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .expect("a content length");
        std::thread::sleep(pause);
        s.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let mut got = 0;
        let mut buf = vec![0u8; 1 << 16];
        while got < announced {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => got += n,
            }
        }
        (got, announced)
    })
    .await
    .expect("join")
}

async fn a_download_streams_and_a_stalled_reader_is_dropped(db: Db) {
    // The file is uploaded with the usual timeout; the downloads go to a
    // second instance on the same database and files with a short one.
    let first = TestApp::new(db, |c| c.evidence_max_bytes = 2 * BIG).await;
    let bytes = png(BIG);
    let id = evidence(&first, bytes.clone()).await;
    let data = first.data.path().to_owned();
    let app = first
        .restart_with(move |c| {
            c.data_dir = data;
            c.request_timeout_secs = 2;
        })
        .await;
    let path = format!("/api/evidence/{id}");

    let r = app.get(&path).await;
    assert_eq!(r.status(), 200);
    let etag = r.headers().get("etag").and_then(|h| h.to_str().ok()).map(str::to_owned);
    assert_eq!(etag, Some(format!("\"{:x}\"", sha2::Sha256::digest(&bytes))));
    assert_eq!(r.bytes().await.expect("body").len(), BIG, "the whole file");
    let r = app
        .client
        .get(app.url(&path))
        .header("Range", "bytes=0-7")
        .send()
        .await
        .expect("range");
    assert_eq!(r.status(), 206, "a part of the file, read from disk");
    assert_eq!(r.bytes().await.expect("part").to_vec(), bytes[..8].to_vec());

    let ctx = app.ctx.clone();
    let token = tokio::task::spawn_blocking(move || issue_token(&ctx, "reader", "admin", &[]))
        .await
        .expect("join");
    // A reader that keeps reading gets everything.
    let (got, announced) = read_after_pause(&app, &path, &token, Duration::ZERO).await;
    assert_eq!((got, announced), (BIG, BIG));
    // One that stops for longer than the timeout is dropped.
    let (got, announced) = read_after_pause(&app, &path, &token, Duration::from_secs(8)).await;
    assert_eq!(announced, BIG);
    assert!(got < BIG, "the stalled reader was cut off after {got} bytes");
}
