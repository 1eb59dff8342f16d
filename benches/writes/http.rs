//! The real path of `benches/writes.rs`: `bayige serve` (this build's
//! binary) on 127.0.0.1, visits posted as JSON with an API token by 1, 8
//! and 32 concurrent clients, each on its own stations. Included by
//! `writes.rs` (not a bench of its own).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::common::cli::{BIN, admin_token};
use super::{CODES, Phase, seconds};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn serve(url: &str, data: &std::path::Path) -> (Server, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("addr")
        .port();
    let child = Command::new(BIN)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}"), "--pool-size", "40"])
        .env("BAYIGE_DATABASE_URL", url)
        .env("BAYIGE_DATA_DIR", data)
        .env("BAYIGE_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("serve");
    let (server, base) = (Server(child), format!("http://127.0.0.1:{port}"));
    let client = reqwest::Client::new();
    for _ in 0..200 {
        let up = client.get(format!("{base}/healthz")).send().await;
        if up.is_ok_and(|r| r.status().is_success()) {
            return (server, base);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the server did not start");
}

fn body() -> serde_json::Value {
    let items: Vec<_> = CODES
        .iter()
        .map(|c| serde_json::json!({"code": c, "result": "met"}))
        .collect();
    let today = chrono::Utc::now().date_naive().to_string();
    serde_json::json!({"kind": "routine", "visited_on": today, "inspector": "压测", "items": items})
}

/// `clients` tasks posting visits for the phase length; every answer must
/// be 201.
async fn curve(api: &reqwest::Client, base: &str, stations: &Arc<Vec<i32>>, clients: usize) -> Phase {
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (api, base, stations) = (api.clone(), base.to_owned(), stations.clone());
            tokio::spawn(async move {
                let (body, mut times, mut i) = (body(), Vec::new(), c);
                while started.elapsed() < seconds() {
                    let s = stations[i % stations.len()];
                    i += clients;
                    let t = Instant::now();
                    let r = api
                        .post(format!("{base}/api/stations/{s}/visits"))
                        .json(&body)
                        .send()
                        .await
                        .expect("POST visit");
                    assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap_or_default());
                    times.push(t.elapsed());
                }
                times
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client"));
    }
    Phase::of(all, started.elapsed())
}

/// The curve over HTTP against the server of this build.
pub fn curves(url: &str, stations: &Arc<Vec<i32>>) -> Vec<(usize, Phase)> {
    let token = admin_token(url, "writes");
    let data = tempfile::tempdir().expect("data dir");
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (server, base) = serve(url, data.path()).await;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("authorization", format!("Bearer {token}").parse().expect("header"));
        let api = reqwest::Client::builder()
            .default_headers(headers)
            .pool_max_idle_per_host(64)
            .build()
            .expect("client");
        let mut out = Vec::new();
        for clients in [1, 8, 32] {
            out.push((clients, curve(&api, &base, stations, clients).await));
        }
        drop(server);
        out
    })
}
