//! axe-core on the pages no walk-through visits (issue 16: "no violation
//! on any page at 1280 and 375 pixels"): the registry's forms and import,
//! users, notices, deliveries, the dispute ledger as the bureau and as a
//! station's own account, a circular's preview, and the error page. Each
//! page must show itself (its heading), not an error, before it is checked.

use fantoccini::{Client, Locator};

use crate::browser::{axe, browser, sign_in};
use crate::desk::with_password;
use crate::support::{Db, TestApp, json};

/// Opens `path`, checks that its main heading reads `heading`, and runs
/// axe-core at a desk's width and a phone's.
async fn check(c: &Client, base: &str, path: &str, heading: &str) {
    for (w, h) in [(1280, 900), (375, 812)] {
        c.set_window_size(w, h).await.expect("window size");
        c.goto(&format!("{base}{path}")).await.expect(path);
        let h1 = c
            .find(Locator::Css("main h1"))
            .await
            .unwrap_or_else(|e| panic!("{path}: no heading ({e})"))
            .text()
            .await
            .expect("heading");
        assert!(h1.contains(heading), "{path} shows {h1:?}, not {heading:?}");
        axe(c, &format!("{path} at {w} px")).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_other_page_passes_axe_at_both_widths() {
    let Some((_driver, c, _profile)) = browser().await else {
        return;
    };
    let app = TestApp::demo(Db::Sqlite).await;
    let (_, stations) = json(app.get("/api/stations").await).await;
    let station = stations["items"][0]["id"].as_i64().expect("a station");
    let (_, users) = json(app.get("/api/users").await).await;
    let user = users["items"][0]["id"].as_i64().expect("a user");
    let (_, cases) = json(app.get("/api/disputes").await).await;
    let case = cases["items"][0]["id"].as_i64().expect("a dispute case");
    let subject = cases["items"][0]["subject"].as_str().expect("its subject").to_owned();

    // The API client's token is the admin's: a new password revokes it, so
    // the ids are read first.
    let ctx = app.ctx.clone();
    tokio::task::spawn_blocking(move || {
        let mut conn = ctx.pool.get().expect("conn");
        bayige::app::demo::reset_demo_passwords(&mut conn).expect("demo accounts")
    })
    .await
    .expect("join");
    with_password(&app, "admin").await;
    with_password(&app, "station-telecom").await;
    let b = &app.base;
    sign_in(&c, b, "admin").await;
    check(&c, b, "/stations/new", "登记服务站").await;
    check(&c, b, &format!("/stations/{station}/edit"), "修改服务站信息").await;
    check(&c, b, "/stations/import", "导入服务站名录").await;
    check(&c, b, "/users", "用户管理").await;
    check(&c, b, &format!("/users/{user}"), "编辑用户").await;
    check(&c, b, "/me/notices", "邮件提醒设置").await;
    check(&c, b, "/deliveries", "邮件发送情况").await;
    check(&c, b, "/disputes", "投诉受理台账").await;
    check(&c, b, &format!("/disputes/{case}"), &subject).await;
    check(&c, b, "/circulars", "通报").await;
    check(&c, b, "/circulars/preview?year=2017&as_of=2017-06-30", "确认印发通报").await;
    check(&c, b, "/stations/999999", "页面不存在").await;
    c.goto(&format!("{b}/logout")).await.ok();
    c.delete_all_cookies().await.expect("sign out");

    // A station's own account keeps its ledger on a phone.
    sign_in(&c, b, "station-telecom").await;
    check(&c, b, "/disputes", "投诉受理台账").await;
    check(&c, b, "/disputes/new", "登记投诉").await;
}
