//! The web interface in a real browser: headless Chromium driven through
//! ChromeDriver (WebDriver). An inspector on a 375-pixel phone records a
//! visit with a failed item, sees the guidance, resolves it with a follow-up;
//! the bureau issues a circular and sees it delivered. Screenshots are saved
//! under `target/screenshots/`.
//!
//! Skipped, with the reason printed, where no browser is installed;
//! `.ci/run` installs Debian's chromium and chromium-driver, so CI runs it.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

use crate::smtp::SmtpServer;
use crate::support::{Db, TestApp, issue_token, json};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";

pub(crate) struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) async fn browser() -> Option<(Driver, Client, tempfile::TempDir)> {
    if !std::path::Path::new(CHROMEDRIVER).exists() || !std::path::Path::new(CHROMIUM).exists() {
        eprintln!(
            "browser test skipped: {CHROMEDRIVER} or {CHROMIUM} is not installed (apt-get install chromium chromium-driver)"
        );
        return None;
    }
    let port = TcpListener::bind("127.0.0.1:0").ok()?.local_addr().ok()?.port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    let profile = tempfile::tempdir().expect("profile dir");
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--lang=zh-CN", format!("--user-data-dir={}", profile.path().display()),
            ]
        }),
    );
    let url = format!("http://127.0.0.1:{port}");
    for _ in 0..100 {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        if let Ok(c) = ClientBuilder::new(connector)
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            return Some((driver, c, profile));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not start");
}

/// Clicks the element `css` finds.
pub(crate) async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
}

pub(crate) async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots dir");
    std::fs::write(dir.join(name), png).expect("save screenshot");
}

/// The text of the page's main element. A page still loading after a
/// click can replace the element between finding and reading it (a stale
/// element); then it is looked up again.
pub(crate) async fn text(c: &Client) -> String {
    let mut last = None;
    for _ in 0..50 {
        match c.find(Locator::Css("main")).await {
            Ok(main) => match main.text().await {
                Ok(t) => return t,
                Err(e) => last = Some(e),
            },
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no text in main: {last:?}")
}

pub(crate) async fn sign_in(c: &Client, base: &str, user: &str) {
    c.goto(&format!("{base}/login")).await.expect("login page");
    axe(c, "登录页").await;
    c.find(Locator::Id("username"))
        .await
        .expect("username")
        .send_keys(user)
        .await
        .expect("type");
    c.find(Locator::Id("password"))
        .await
        .expect("password")
        .send_keys("correct horse battery")
        .await
        .expect("type");
    click(c, "form button[type=submit]").await;
    c.wait()
        .for_element(Locator::Css("header.top nav"))
        .await
        .expect("signed in");
}

/// Waits until the browser shows `path` (after a form's redirect).
pub(crate) async fn arrive(c: &Client, path: &str) {
    for _ in 0..200 {
        if let Ok(u) = c.current_url().await
            && u.path() == path
            && c.find(Locator::Css("main")).await.is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the browser did not arrive at {path}: {:?}", c.current_url().await);
}

pub(crate) async fn choose(c: &Client, code: &str, result: &str) {
    c.find(Locator::Css(&format!("label[for='r-{code}-{result}']")))
        .await
        .expect("result button")
        .click()
        .await
        .expect("click");
}

/// Where `.ci/run` installs axe-core from the npm registry.
const AXE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/target/axe/node_modules/axe-core/axe.min.js"
);

/// Runs axe-core (WCAG 2 A and AA rules) on the page the browser shows
/// and fails with every violation it finds, naming `page` and the nodes.
/// Not installed is a failure with the command that installs it, never a
/// silent pass.
pub(crate) async fn axe(c: &Client, page: &str) {
    let source = std::fs::read_to_string(AXE).unwrap_or_else(|e| {
        panic!("axe-core is not installed at {AXE} ({e}): run `npm install --prefix target/axe axe-core@4.14.1`")
    });
    c.execute(&source, vec![]).await.expect("inject axe-core");
    let result = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } })
                .then(r => done(r.violations.map(v => ({
                    id: v.id, help: v.help,
                    nodes: v.nodes.map(n => n.target.join(' ') + ' — ' + n.failureSummary)
                }))))
                .catch(e => done([{ id: 'axe-error', help: String(e), nodes: [] }]));",
            vec![],
        )
        .await
        .expect("run axe-core");
    let violations = result.as_array().cloned().unwrap_or_default();
    assert!(
        violations.is_empty(),
        "axe-core found {} violation(s) on {page}:\n{}",
        violations.len(),
        serde_json::to_string_pretty(&violations).unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspector_on_a_phone_and_the_bureau_at_a_desk() {
    let Some((_driver, c, _profile)) = browser().await else {
        return;
    };
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::new(Db::Sqlite, move |cfg| {
        cfg.today = chrono::NaiveDate::from_ymd_opt(2017, 7, 14);
        cfg.smtp_url = Some(url);
        cfg.circular_prefix = Some("白市工商通".into());
    })
    .await;
    app.load_demo().await;
    let (_, units) = json(app.get("/api/units").await).await;
    let hunjiang = units["items"][0]["id"].as_i64().expect("unit");
    let ctx = app.ctx.clone();
    tokio::task::spawn_blocking(move || issue_token(&ctx, "wu", "inspector", &[hunjiang as i32]))
        .await
        .expect("join");
    let (status, s) = json(
        app.post(
            "/api/stations",
            &json!({"unit_id": hunjiang, "name": "浑江万达广场12315消费维权服务站", "host_business": "白山万达广场",
                    "category": "mall", "address": "浑江大街1号", "liaison_name": "李明", "liaison_phone": "13943900001",
                    "standard_id": "baxiangyi-common", "status": "established", "established_on": "2017-01-10"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{s}");
    let station = s["id"].as_i64().expect("id");
    let photo = tempfile::NamedTempFile::with_suffix(".png").expect("photo file");
    std::fs::write(photo.path(), crate::visits_png()).expect("write photo");

    // The inspector, on a phone.
    c.set_window_size(375, 812).await.expect("phone size");
    sign_in(&c, &app.base, "wu").await;
    c.goto(&format!("{}/stations/{station}", app.base))
        .await
        .expect("station");
    c.find(Locator::LinkText("记录检查"))
        .await
        .expect("record link")
        .click()
        .await
        .expect("click");
    c.wait()
        .for_element(Locator::Css("form[data-keep]"))
        .await
        .expect("visit form");
    for code in ["place", "plaque", "liaison", "phone", "bulletin", "rules", "computer"] {
        choose(&c, code, "met").await;
    }
    choose(&c, "register", "unmet").await;
    c.find(Locator::Id("summary"))
        .await
        .expect("summary")
        .send_keys("现场检查，登记簿缺失")
        .await
        .expect("type");
    shot(&c, "visit-form-phone.png").await;
    click(&c, "form[data-keep] button[type=submit]").await;
    // The note is missing: the error stands beside the item, input is kept.
    let err = c
        .wait()
        .for_element(Locator::Css("#item-register .field-error"))
        .await
        .expect("error beside the item");
    assert!(err.text().await.expect("text").contains("须填写说明"));
    let summary = c
        .find(Locator::Id("summary"))
        .await
        .expect("summary")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(
        summary.as_deref(),
        Some("现场检查，登记簿缺失"),
        "nothing typed is lost"
    );
    let kept = c
        .find(Locator::Id("r-place-met"))
        .await
        .expect("radio")
        .prop("checked")
        .await
        .expect("checked");
    assert_eq!(kept.as_deref(), Some("true"));
    shot(&c, "visit-form-error-phone.png").await;
    c.find(Locator::Id("note-register"))
        .await
        .expect("note")
        .send_keys("未建立投诉登记簿")
        .await
        .expect("type");
    c.find(Locator::Id("photo-register"))
        .await
        .expect("photo input")
        .send_keys(&photo.path().display().to_string())
        .await
        .expect("attach");
    click(&c, "form[data-keep] button[type=submit]").await;
    arrive(&c, &format!("/stations/{station}")).await;
    let page = text(&c).await;
    assert!(page.contains("检查记录已提交"), "{page}");
    assert!(
        page.contains("建立投诉受理和处理登记簿"),
        "the guidance appears: {page}"
    );
    assert!(
        c.find(Locator::Css(".thumbs img")).await.is_ok(),
        "the photo shows as a thumbnail"
    );
    shot(&c, "station-phone.png").await;

    // The follow-up finds it fixed.
    c.find(Locator::LinkText("记录检查"))
        .await
        .expect("record link")
        .click()
        .await
        .expect("click");
    c.wait()
        .for_element(Locator::Css("form[data-keep]"))
        .await
        .expect("visit form");
    let kind = c
        .find(Locator::Css("#kind option[selected]"))
        .await
        .expect("kind")
        .text()
        .await
        .expect("text");
    assert_eq!(kind, "回访复查", "pre-filled for a follow-up");
    choose(&c, "register", "met").await;
    click(&c, "form[data-keep] button[type=submit]").await;
    arrive(&c, &format!("/stations/{station}")).await;
    assert!(text(&c).await.contains("没有未完成的整改意见"));
    let (_, g) = json(
        app.get(&format!("/api/guidance?station_id={station}&status=resolved"))
            .await,
    )
    .await;
    assert_eq!(g["total"], 1, "resolved by the follow-up");

    // The bureau, at a desk.
    click(&c, "header.top form button").await;
    c.wait().for_element(Locator::Id("username")).await.expect("signed out");
    c.set_window_size(1280, 900).await.expect("desk size");
    sign_in(&c, &app.base, "admin").await;
    c.goto(&format!("{}/?year=2017&as_of=2017-07-14", app.base))
        .await
        .expect("dashboard");
    c.wait().for_element(Locator::Css("svg.chart")).await.expect("chart");
    let bars = c.find_all(Locator::Css("svg.chart rect.bar.lag")).await.expect("bars");
    assert_eq!(bars.len(), 4, "four lagging units, hatched red");
    shot(&c, "dashboard-desk.png").await;
    c.goto(&format!("{}/circulars/preview?year=2017&as_of=2017-07-14", app.base))
        .await
        .expect("preview");
    click(&c, "form.actions button[type=submit]").await;
    // The preview has an iframe.doc too: wait for the issued page's notice.
    c.wait()
        .for_element(Locator::Css("p.flash[role=status]"))
        .await
        .expect("circular page");
    c.find(Locator::Css("iframe.doc")).await.expect("the circular's text");
    assert!(text(&c).await.contains("通报已印发"));
    let mails = smtp.wait_for(7, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 7, "one to each county lead");
    assert!(mails[0].subject().contains("白市工商通〔2017〕1号"));
    // The SMTP server has the mail a moment before the service records that
    // it was accepted: reload until the page shows all seven as sent.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let page = loop {
        c.refresh().await.expect("reload");
        let page = text(&c).await;
        if page.matches("已发送").count() == 7 || std::time::Instant::now() > deadline {
            break page;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(page.matches("已发送").count(), 7, "each delivery shows as sent: {page}");
    shot(&c, "circular-desk.png").await;
    c.close().await.expect("close");
}

/// The keys this site keeps in the browser's localStorage.
async fn stored_keys(c: &Client) -> Vec<String> {
    let keys = c
        .execute("return Object.keys(window.localStorage);", vec![])
        .await
        .expect("localStorage");
    serde_json::from_value(keys).expect("a list of keys")
}

/// On a shared phone, a visit-form draft is the typist's own: another user
/// signing in on the same browser does not get it, and signing out ends
/// every draft kept there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn visit_drafts_belong_to_their_user_and_end_at_sign_out() {
    let Some((_driver, c, _profile)) = browser().await else {
        return;
    };
    let app = TestApp::demo(Db::Sqlite).await;
    let (_, stations) = json(app.get("/api/stations?per_page=1").await).await;
    let station = &stations["items"][0];
    let (sid, unit) = (
        station["id"].as_i64().expect("station"),
        station["unit_id"].as_i64().expect("unit") as i32,
    );
    for name in ["wu", "zhao"] {
        app.token(name, "inspector", &[unit]).await;
    }
    let form = format!("{}/stations/{sid}/visit", app.base);
    c.set_window_size(375, 812).await.expect("phone size");

    sign_in(&c, &app.base, "wu").await;
    c.goto(&form).await.expect("visit form");
    c.find(Locator::Id("summary"))
        .await
        .expect("summary")
        .send_keys("吴的草稿")
        .await
        .expect("type");
    let keys = stored_keys(&c).await;
    assert!(
        keys.iter().any(|k| k.contains("wu")),
        "the draft is kept, as wu's: {keys:?}"
    );

    // Wu's session ends without signing out (it expired); Zhao takes the phone.
    c.delete_all_cookies().await.expect("cookies");
    sign_in(&c, &app.base, "zhao").await;
    c.goto(&form).await.expect("visit form");
    c.wait()
        .for_element(Locator::Css("form[data-keep]"))
        .await
        .expect("form");
    let summary = c
        .find(Locator::Id("summary"))
        .await
        .expect("summary")
        .prop("value")
        .await
        .expect("value");
    assert_eq!(summary.as_deref(), Some(""), "Zhao does not see Wu's draft");

    click(&c, "header.top form[data-logout] button").await;
    c.wait().for_element(Locator::Id("username")).await.expect("signed out");
    let keys = stored_keys(&c).await;
    assert!(
        keys.iter().all(|k| !k.starts_with("bayige:")),
        "no draft outlives the sign-out: {keys:?}"
    );
    c.close().await.expect("close");
}
