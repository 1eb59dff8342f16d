//! The visit form on an inspector's phone (375 px, headless Chromium):
//! recorded with no connection, queued on the device, sent once when the
//! connection returns; axe-core on the form, the queue and the station
//! page.

use std::time::Duration;

use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::browser::{arrive, axe, browser, choose, click, shot, sign_in, text};
use crate::support::{Db, TestApp, issue_token, json};

/// chromedriver's network emulation (`/session/{id}/chromium/network_conditions`).
#[derive(Debug)]
struct Network {
    offline: bool,
}

impl WebDriverCompatibleCommand for Network {
    fn endpoint(&self, base: &url::Url, session: Option<&str>) -> Result<url::Url, url::ParseError> {
        base.join(&format!(
            "session/{}/chromium/network_conditions",
            session.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"network_conditions": {
            "offline": self.offline, "latency": 0, "download_throughput": -1, "upload_throughput": -1
        }});
        (http::Method::POST, Some(body.to_string()))
    }
}

async fn network(c: &Client, offline: bool) {
    c.issue_cmd(Network { offline }).await.expect("network conditions");
}

/// What the header says is waiting on this phone ("" when nothing).
async fn queued(c: &Client) -> String {
    let v = c
        .execute(
            "var b = document.querySelector('[data-queue-count]'); return b && !b.hidden ? b.textContent : '';",
            vec![],
        )
        .await
        .expect("badge");
    v.as_str().unwrap_or_default().to_owned()
}

async fn wait_for(c: &Client, what: &str, mut ok: impl AsyncFnMut(&Client) -> bool) {
    for _ in 0..200 {
        if ok(c).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("waited in vain for {what}");
}

async fn visits(app: &TestApp, sid: i64) -> Vec<Value> {
    let (_, list) = json(app.get(&format!("/api/stations/{sid}/visits")).await).await;
    list["items"].as_array().cloned().unwrap_or_default()
}

/// A JPEG photo of a few hundred kilobytes, 2400 px wide, as a phone's
/// camera takes it (made by Chromium's own encoder, then resized on the
/// page before upload).
async fn camera_photo(c: &Client, dir: &std::path::Path) -> std::path::PathBuf {
    let b64 = c
        .execute(
            "var cv = document.createElement('canvas'); cv.width = 2400; cv.height = 1800;
             var g = cv.getContext('2d');
             for (var i = 0; i < 400; i++) { g.fillStyle = 'hsl(' + (i * 37 % 360) + ',70%,50%)';
               g.fillRect((i * 131) % 2400, (i * 71) % 1800, 160, 120); }
             return cv.toDataURL('image/jpeg', 0.95).split(',')[1];",
            vec![],
        )
        .await
        .expect("draw a photo");
    let bytes = base64_decode(b64.as_str().expect("base64"));
    let path = dir.join("register.jpg");
    std::fs::write(&path, bytes).expect("write photo");
    path
}

fn base64_decode(s: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for b in s.bytes().filter(|b| *b != b'=') {
        let v = ALPHABET.iter().position(|a| *a == b).expect("base64 digit") as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

/// The signal drops while the inspector records a visit: it waits on the
/// phone ("待上传 1"), goes out once when the connection is back, with
/// its photo, instruction and due date; a reload sends nothing again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visit_recorded_offline_arrives_once() {
    let Some((_driver, c, profile)) = browser().await else {
        return;
    };
    let app = TestApp::new(Db::Sqlite, |cfg| {
        cfg.today = chrono::NaiveDate::from_ymd_opt(2017, 7, 14)
    })
    .await;
    app.load_demo().await;
    // An established station of the demo.
    let (_, stations) = json(app.get("/api/stations?status=established&per_page=1").await).await;
    let station = &stations["items"][0];
    let sid = station["id"].as_i64().expect("station");
    let unit = station["unit_id"].as_i64().expect("unit") as i32;
    let ctx = app.ctx.clone();
    tokio::task::spawn_blocking(move || issue_token(&ctx, "wu", "inspector", &[unit]))
        .await
        .expect("join");
    let before = visits(&app, sid).await.len();
    c.set_window_size(375, 812).await.expect("phone size");
    sign_in(&c, &app.base, "wu").await;
    assert!(text(&c).await.contains("需要检查的服务站"), "the inspector's own home");
    shot(&c, "field-home-phone.png").await;
    axe(&c, "the inspector home").await;
    let photo = camera_photo(&c, profile.path()).await;
    c.goto(&format!("{}/stations/{sid}/visit", app.base))
        .await
        .expect("form");
    c.wait()
        .for_element(Locator::Css("form[data-keep] [data-all-met]:not([hidden])"))
        .await
        .expect("the form's script ran");
    axe(&c, "the visit form").await;

    network(&c, true).await;
    click(&c, "[data-all-met]").await;
    choose(&c, "register", "unmet").await;
    c.find(Locator::Id("note-register"))
        .await
        .expect("note")
        .send_keys("投诉登记簿缺失")
        .await
        .expect("type");
    let instruction = c.find(Locator::Id("instruction-register")).await.expect("instruction");
    instruction.clear().await.expect("clear");
    instruction.send_keys("一周内补建投诉登记簿").await.expect("type");
    c.execute("document.getElementById('due-register').value = '2017-07-31';", vec![])
        .await
        .expect("due date");
    c.find(Locator::Id("photo-register"))
        .await
        .expect("photo input")
        .send_keys(&photo.display().to_string())
        .await
        .expect("attach");
    click(&c, "form[data-keep] button[type=submit]").await;
    wait_for(&c, "the visit to wait on the phone", async |c| {
        queued(c).await == "待上传 1"
    })
    .await;
    assert!(text(&c).await.contains("已保存在本机，待上传"));
    shot(&c, "field-queued-phone.png").await;
    assert_eq!(visits(&app, sid).await.len(), before, "nothing reached the server");

    network(&c, false).await;
    // The connection is back: the page sends the visit on `online` and
    // shows what it found; failing that, the next page load sends it.
    let station_path = format!("/stations/{sid}");
    let mut arrived = false;
    for _ in 0..50 {
        if c.current_url().await.expect("url").path() == station_path {
            arrived = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !arrived {
        c.refresh().await.expect("reload");
        wait_for(&c, "the queue to empty", async |c| queued(c).await.is_empty()).await;
        c.goto(&format!("{}{station_path}", app.base))
            .await
            .expect("station page");
    }
    arrive(&c, &station_path).await;
    let page = text(&c).await;
    assert!(page.contains("一周内补建投诉登记簿"), "{page}");
    assert!(page.contains("2017-07-31"), "{page}");
    assert!(page.contains("限期整改"), "the station's new status: {page}");
    assert_eq!(queued(&c).await, "", "the queue is empty");
    shot(&c, "field-sent-phone.png").await;
    axe(&c, "the station page").await;

    let after = visits(&app, sid).await;
    assert_eq!(after.len(), before + 1, "exactly one visit");
    let (_, v) = json(app.get(&format!("/api/visits/{}", after[0]["id"])).await).await;
    let register = v["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|i| i["code"] == "register")
        .expect("register")
        .clone();
    let evidence = register["evidence"].as_array().expect("evidence");
    assert_eq!(evidence.len(), 1, "its photo: {register}");
    assert_eq!(evidence[0]["content_type"], "image/jpeg");
    assert!(
        evidence[0]["size_bytes"].as_i64().expect("size") < std::fs::metadata(&photo).expect("photo").len() as i64,
        "downscaled on the phone: {}",
        evidence[0]
    );
    let raised = v["guidance_raised"].as_array().expect("guidance");
    assert_eq!(raised.len(), 1, "{v}");
    assert_eq!(raised[0]["instruction"], "一周内补建投诉登记簿");
    assert_eq!(raised[0]["due_on"], "2017-07-31");

    // A reload sends nothing again.
    c.refresh().await.expect("reload");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(visits(&app, sid).await.len(), before + 1, "still one visit");
    c.goto(&format!("{}/queue", app.base)).await.expect("queue page");
    assert!(text(&c).await.contains("本机没有待上传的检查记录"));
    axe(&c, "the queue page").await;

    // The lists an inspector reads on the phone are cards, not squeezed tables.
    for (path, name) in [("/stations", "the station list"), ("/guidance", "the guidance list")] {
        c.goto(&format!("{}{path}", app.base)).await.expect("list");
        let display = c
            .execute(
                "return getComputedStyle(document.querySelector('table.stack tbody tr')).display;",
                vec![],
            )
            .await
            .expect("style");
        assert_eq!(display, json!("block"), "{name} shows cards at 375 px");
        axe(&c, name).await;
    }
    shot(&c, "field-guidance-phone.png").await;
    c.close().await.expect("close");
}

/// On a shared phone a queued visit is its recorder's: the inspector's
/// session ends while offline, a colleague signs in on the same phone and
/// neither sees nor sends it; the inspector signs in again and it is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_visit_waits_for_its_own_user() {
    let Some((_driver, c, _profile)) = browser().await else {
        return;
    };
    let app = TestApp::new(Db::Sqlite, |cfg| {
        cfg.today = chrono::NaiveDate::from_ymd_opt(2017, 7, 14)
    })
    .await;
    app.load_demo().await;
    let (_, stations) = json(app.get("/api/stations?status=established&per_page=1").await).await;
    let station = &stations["items"][0];
    let sid = station["id"].as_i64().expect("station");
    let unit = station["unit_id"].as_i64().expect("unit") as i32;
    for name in ["wu", "zhao"] {
        let ctx = app.ctx.clone();
        tokio::task::spawn_blocking(move || issue_token(&ctx, name, "inspector", &[unit]))
            .await
            .expect("join");
    }
    let before = visits(&app, sid).await.len();
    c.set_window_size(375, 812).await.expect("phone size");
    sign_in(&c, &app.base, "wu").await;
    c.goto(&format!("{}/stations/{sid}/visit", app.base))
        .await
        .expect("form");
    c.wait()
        .for_element(Locator::Css("form[data-keep] [data-all-met]:not([hidden])"))
        .await
        .expect("the form's script ran");
    network(&c, true).await;
    click(&c, "[data-all-met]").await;
    c.find(Locator::Id("summary"))
        .await
        .expect("summary")
        .send_keys("吴离线记录的检查")
        .await
        .expect("type");
    click(&c, "form[data-keep] button[type=submit]").await;
    wait_for(&c, "the visit to wait on the phone", async |c| {
        queued(c).await == "待上传 1"
    })
    .await;

    // Wu's session ends while offline; Zhao takes the phone.
    c.delete_all_cookies().await.expect("cookies");
    network(&c, false).await;
    sign_in(&c, &app.base, "zhao").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(queued(&c).await, "", "Zhao does not see Wu's visit");
    c.goto(&format!("{}/queue", app.base)).await.expect("queue page");
    let page = text(&c).await;
    assert!(page.contains("本机没有待上传的检查记录"), "{page}");
    assert_eq!(visits(&app, sid).await.len(), before, "nor sends it as his own");

    // Wu signs in again: the visit goes, as Wu's.
    c.delete_all_cookies().await.expect("cookies");
    sign_in(&c, &app.base, "wu").await;
    let mut after = visits(&app, sid).await;
    for _ in 0..100 {
        if after.len() > before {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        after = visits(&app, sid).await;
    }
    wait_for(&c, "the queue to empty", async |c| queued(c).await.is_empty()).await;
    assert_eq!(after.len(), before + 1, "sent once");
    assert_eq!(after[0]["inspector"], "测试wu", "recorded as Wu's");
    c.close().await.expect("close");
}
