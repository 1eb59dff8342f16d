//! The visit form on an inspector's phone (375 px, headless Chromium):
//! recorded with no connection (a relay between the browser and the app is
//! cut), queued on the device, sent once when the connection returns; the
//! form opens offline from the service worker's copy; axe-core on the
//! inspector home, the form, the station page, the queue and the lists.

use std::time::Duration;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::browser::{arrive, axe, browser, choose, click, shot, sign_in, text};
use crate::support::{Db, TestApp, json};

/// The phone's connection to the service: a TCP relay in front of the app
/// that the test can cut and restore. Cut, it drops every open connection
/// and refuses new ones, for the page and its service worker alike (the
/// browser's own offline emulation leaves the service worker online).
pub(crate) struct Link {
    pub(crate) base: String,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl Link {
    pub(crate) async fn to(app: &TestApp) -> Link {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let target = app.base.trim_start_matches("http://").to_owned();
        let up = Arc::new(AtomicBool::new(true));
        let open: Arc<Mutex<Vec<tokio::task::JoinHandle<()>>>> = Arc::default();
        let (flag, tasks) = (up.clone(), open.clone());
        tokio::spawn(async move {
            while let Ok((mut phone, _)) = listener.accept().await {
                if !flag.load(Ordering::SeqCst) {
                    drop(phone);
                    continue;
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut service) = tokio::net::TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut phone, &mut service).await;
                    }
                });
                tasks.lock().expect("tasks").push(task);
            }
        });
        Link { base, up, open }
    }

    pub(crate) fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for task in self.open.lock().expect("tasks").drain(..) {
            task.abort();
        }
    }

    pub(crate) fn restore(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

/// What the header says is waiting on this phone ("" when nothing).
pub(crate) async fn queued(c: &Client) -> String {
    let v = c
        .execute(
            "var b = document.querySelector('[data-queue-count]'); return b && !b.hidden ? b.textContent : '';",
            vec![],
        )
        .await
        .expect("badge");
    v.as_str().unwrap_or_default().to_owned()
}

pub(crate) async fn wait_for(c: &Client, what: &str, mut ok: impl AsyncFnMut(&Client) -> bool) {
    for _ in 0..200 {
        if ok(c).await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("waited in vain for {what}");
}

pub(crate) async fn visits(app: &TestApp, sid: i64) -> Vec<Value> {
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
    let app = TestApp::demo(Db::Sqlite).await;
    let link = Link::to(&app).await;
    // An established station of the demo.
    let (_, stations) = json(app.get("/api/stations?status=established&per_page=1").await).await;
    let station = &stations["items"][0];
    let sid = station["id"].as_i64().expect("station");
    let unit = station["unit_id"].as_i64().expect("unit") as i32;
    app.token("wu", "inspector", &[unit]).await;
    let before = visits(&app, sid).await.len();
    c.set_window_size(375, 812).await.expect("phone size");
    sign_in(&c, &link.base, "wu").await;
    assert!(text(&c).await.contains("需要检查的服务站"), "the inspector's own home");
    shot(&c, "field-home-phone.png").await;
    axe(&c, "the inspector home").await;
    let photo = camera_photo(&c, profile.path()).await;
    c.goto(&format!("{}/stations/{sid}/visit", link.base))
        .await
        .expect("form");
    c.wait()
        .for_element(Locator::Css("form[data-keep] [data-all-met]:not([hidden])"))
        .await
        .expect("the form's script ran");
    axe(&c, "the visit form").await;

    link.cut();
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
    // The inspector allows the location: the phone's position (the
    // browser's geolocation answering as a phone's would).
    c.execute(
        "navigator.geolocation.getCurrentPosition = function (ok) {
           ok({ coords: { latitude: 41.9412, longitude: 126.4231, accuracy: 15 } }); };",
        vec![],
    )
    .await
    .expect("a position");
    click(&c, "#record-location").await;
    click(&c, "form[data-keep] button[type=submit]").await;
    wait_for(&c, "the visit to wait on the phone", async |c| {
        queued(c).await == "待上传 1"
    })
    .await;
    assert!(text(&c).await.contains("已保存在本机，待上传"));
    shot(&c, "field-queued-phone.png").await;
    assert_eq!(visits(&app, sid).await.len(), before, "nothing reached the server");

    // Still offline: the station's form opens again from the phone (kept by
    // the service worker), with the queue in the header; a page never
    // opened says the phone is offline.
    c.goto(&format!("{}/stations/{sid}/visit", link.base))
        .await
        .expect("form offline");
    c.wait()
        .for_element(Locator::Css("form[data-keep] [data-all-met]:not([hidden])"))
        .await
        .expect("the form and its script, offline");
    wait_for(&c, "the queue in the header", async |c| queued(c).await == "待上传 1").await;
    c.goto(&format!("{}/disputes", link.base))
        .await
        .expect("a page never opened");
    assert!(text(&c).await.contains("当前离线"), "the offline page");
    c.goto(&format!("{}/stations/{sid}/visit", link.base))
        .await
        .expect("form offline");

    link.restore();
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
        c.goto(&format!("{}{station_path}", link.base))
            .await
            .expect("station page");
    }
    arrive(&c, &station_path).await;
    let page = text(&c).await;
    assert!(page.contains("一周内补建投诉登记簿"), "{page}");
    assert!(page.contains("2017-07-31"), "{page}");
    assert!(page.contains("限期整改"), "the station's new status: {page}");
    assert!(page.contains("现场定位：北纬41.94°，东经126.42°（±15米）"), "{page}");
    assert!(page.contains("现场记录时间："), "{page}");
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
    assert_eq!(v["location"]["latitude"], 41.9412, "{v}");
    assert_eq!(v["location"]["accuracy_m"], 15.0, "{v}");
    assert!(v["captured_at"].as_str().is_some_and(|t| t.ends_with('Z')), "{v}");

    // A reload sends nothing again.
    c.refresh().await.expect("reload");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(visits(&app, sid).await.len(), before + 1, "still one visit");
    c.goto(&format!("{}/queue", link.base)).await.expect("queue page");
    assert!(text(&c).await.contains("本机没有待上传的检查记录"));
    axe(&c, "the queue page").await;

    // The lists an inspector reads on the phone are cards, not squeezed tables.
    for (path, name) in [("/stations", "the station list"), ("/guidance", "the guidance list")] {
        c.goto(&format!("{}{path}", link.base)).await.expect("list");
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
    let app = TestApp::demo(Db::Sqlite).await;
    let link = Link::to(&app).await;
    let (_, stations) = json(app.get("/api/stations?status=established&per_page=1").await).await;
    let station = &stations["items"][0];
    let sid = station["id"].as_i64().expect("station");
    let unit = station["unit_id"].as_i64().expect("unit") as i32;
    for name in ["wu", "zhao"] {
        app.token(name, "inspector", &[unit]).await;
    }
    let before = visits(&app, sid).await.len();
    c.set_window_size(375, 812).await.expect("phone size");
    sign_in(&c, &link.base, "wu").await;
    c.goto(&format!("{}/stations/{sid}/visit", link.base))
        .await
        .expect("form");
    c.wait()
        .for_element(Locator::Css("form[data-keep] [data-all-met]:not([hidden])"))
        .await
        .expect("the form's script ran");
    link.cut();
    click(&c, "[data-all-met]").await;
    c.find(Locator::Id("summary"))
        .await
        .expect("summary")
        .send_keys("吴离线记录的检查")
        .await
        .expect("type");
    // Wu ticks 记录现场位置 but refuses the browser's request: the visit is
    // kept without a position, and the page says so.
    c.execute(
        "navigator.geolocation.getCurrentPosition = function (ok, fail) { fail({ code: 1 }); };",
        vec![],
    )
    .await
    .expect("a refusal");
    click(&c, "#record-location").await;
    click(&c, "form[data-keep] button[type=submit]").await;
    wait_for(&c, "the visit to wait on the phone", async |c| {
        queued(c).await == "待上传 1"
    })
    .await;
    let page = text(&c).await;
    assert!(page.contains("未获准使用位置，本次记录不含现场位置。"), "{page}");

    // Wu's session ends while offline; Zhao takes the phone.
    c.delete_all_cookies().await.expect("cookies");
    link.restore();
    sign_in(&c, &link.base, "zhao").await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(queued(&c).await, "", "Zhao does not see Wu's visit");
    c.goto(&format!("{}/queue", link.base)).await.expect("queue page");
    let page = text(&c).await;
    assert!(page.contains("本机没有待上传的检查记录"), "{page}");
    assert_eq!(visits(&app, sid).await.len(), before, "nor sends it as his own");

    // Wu signs in again: the visit goes, as Wu's.
    c.delete_all_cookies().await.expect("cookies");
    sign_in(&c, &link.base, "wu").await;
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
    assert!(after[0]["location"].is_null(), "no position: {}", after[0]);
    assert!(after[0]["captured_at"].is_string(), "the phone's time: {}", after[0]);
    c.close().await.expect("close");
}
