//! The stations of an inspector's own units are on the phone, not only
//! those the home page lists: after the home page was loaded once online,
//! a station it does not show opens offline and a visit recorded there
//! waits on the phone and arrives once the connection is back (375 px,
//! headless Chromium).

use fantoccini::Locator;

use crate::browser::{axe, browser, click, sign_in, text};
use crate::field_browser::{Link, queued, visits, wait_for};
use crate::support::{Db, TestApp, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_station_not_on_the_home_page_is_recorded_offline() {
    let Some((_driver, c, _profile)) = browser().await else {
        return;
    };
    let app = TestApp::demo(Db::Sqlite).await;
    let link = Link::to(&app).await;
    let (_, stations) = json(app.get("/api/stations?status=established&per_page=1").await).await;
    let unit = stations["items"][0]["unit_id"].as_i64().expect("unit") as i32;
    app.token("wu", "inspector", &[unit]).await;
    c.set_window_size(375, 812).await.expect("phone size");
    sign_in(&c, &link.base, "wu").await;
    assert!(text(&c).await.contains("需要检查的服务站"), "the inspector's own home");

    // The home page keeps the unit's stations in the background and says
    // when they are on the phone.
    c.wait()
        .for_element(Locator::Css("[data-keep-stations][data-kept]"))
        .await
        .expect("the stations kept on the phone");
    let home = text(&c).await;
    assert!(home.contains("个服务站及其检查表，离线时可打开和记录"), "{home}");
    axe(&c, "the inspector home with its stations kept").await;
    let (kept, shown) = {
        let v = c
            .execute(
                "return [document.querySelector('[data-keep-stations]').getAttribute('data-keep-stations'),
                  Array.prototype.map.call(document.querySelectorAll('a[data-offline]'),
                    function (a) { return a.getAttribute('href'); }).join(' ')];",
                vec![],
            )
            .await
            .expect("kept and shown");
        let v = v.as_array().expect("pair").clone();
        (
            v[0].as_str().unwrap_or_default().to_owned(),
            v[1].as_str().unwrap_or_default().to_owned(),
        )
    };
    let shown: Vec<&str> = shown.split(' ').collect();
    let sid: i64 = kept
        .split(',')
        .find(|id| !shown.contains(&format!("/stations/{id}").as_str()))
        .expect("a station of the unit the home page does not list")
        .parse()
        .expect("id");
    let before = visits(&app, sid).await.len();

    // No connection: the station list and that station's form open.
    link.cut();
    c.goto(&format!("{}/stations", link.base)).await.expect("list offline");
    assert!(!text(&c).await.contains("当前离线"), "the station list is on the phone");
    c.goto(&format!("{}/stations/{sid}/visit", link.base))
        .await
        .expect("form offline");
    c.wait()
        .for_element(Locator::Css("form[data-keep] [data-all-met]:not([hidden])"))
        .await
        .expect("the form and its script, offline");
    click(&c, "[data-all-met]").await;
    click(&c, "form[data-keep] button[type=submit]").await;
    wait_for(&c, "the visit to wait on the phone", async |c| {
        queued(c).await == "待上传 1"
    })
    .await;
    assert_eq!(visits(&app, sid).await.len(), before, "nothing reached the server");

    link.restore();
    let mut after = visits(&app, sid).await;
    for _ in 0..100 {
        if after.len() > before {
            break;
        }
        if after.len() == before && queued(&c).await == "待上传 1" {
            // The page sends it on `online`; a reload sends it too.
            let _ = c.refresh().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        after = visits(&app, sid).await;
    }
    assert_eq!(after.len(), before + 1, "the visit arrived once");
    c.close().await.expect("close");
}
