//! The desk in a real browser (issue 16): a county lead on a phone goes
//! from the dashboard to an acknowledgement; the bureau at a desk edits a
//! user (role, units by checkbox, a reset password shown once, disabling
//! with confirmation) and reads the audit log in Chinese with a filter and
//! its next page. axe-core checks every page at 1280 and 375 pixels.

use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::{arrive, axe, browser, click, shot, sign_in, text};
use crate::desk::with_password;
use crate::support::{Db, TestApp, issue_token, json};

/// axe-core at a desk's width and a phone's, back at `width` after.
async fn axe_both(c: &Client, page: &str, width: u32) {
    for (w, h) in [(1280, 900), (375, 812)] {
        c.set_window_size(w, h).await.expect("window size");
        axe(c, &format!("{page} at {w} px")).await;
    }
    let height = if width == 375 { 812 } else { 900 };
    c.set_window_size(width, height).await.expect("window size");
}

async fn type_into(c: &Client, css: &str, value: &str) {
    let field = c.find(Locator::Css(css)).await.expect(css);
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_county_lead_acknowledges_and_the_bureau_manages_users_and_reads_the_log() {
    let Some((_driver, c, _profile)) = browser().await else {
        return;
    };
    let app = TestApp::demo(Db::Sqlite).await;
    with_password(&app, "lead-linjiang").await;
    let (_, units) = json(app.get("/api/units").await).await;
    let unit_ids: Vec<i64> = units["items"]
        .as_array()
        .expect("units")
        .iter()
        .filter_map(|u| u["id"].as_i64())
        .collect();
    let ctx = app.ctx.clone();
    let first_unit = unit_ids[0] as i32;
    tokio::task::spawn_blocking(move || issue_token(&ctx, "wu", "inspector", &[first_unit]))
        .await
        .expect("join");
    // Enough entries that the audit log has a second page.
    for n in 0..100 {
        let (status, _) = json(
            app.post(
                "/api/units",
                &json!({"code": format!("2298{n:02}"), "name": format!("测试{n}县"), "kind": "county"}),
            )
            .await,
        )
        .await;
        assert_eq!(status, 201);
    }

    // --- The county lead, on a phone. -------------------------------
    c.set_window_size(375, 812).await.expect("phone size");
    c.goto(&format!("{}/login", app.base)).await.expect("login");
    axe_both(&c, "the sign-in page", 375).await;
    sign_in(&c, &app.base, "lead-linjiang").await;
    let lead = app.with_client(
        reqwest::Client::builder()
            .default_headers({
                let mut h = reqwest::header::HeaderMap::new();
                let cookie = c.get_named_cookie("bayige_session").await.expect("session cookie");
                h.insert(
                    reqwest::header::COOKIE,
                    format!("bayige_session={}", cookie.value()).parse().expect("header"),
                );
                h
            })
            .build()
            .expect("client"),
    );
    let (_, queue) = json(lead.get("/api/review").await).await;
    let awaiting = queue["awaiting"]["total"].as_u64().expect("awaiting");
    let (rank, ranked) = (
        queue["progress"]["rank"].as_u64().expect("rank"),
        queue["ranked_units"].as_u64().expect("ranked"),
    );
    let g = &queue["overdue_guidance"][0];
    let home = text(&c).await;
    assert!(home.contains(&format!("待您处理 {awaiting} 项")), "{home}");
    assert!(home.contains(&format!("第{rank}名（共{ranked}个单位）")), "{home}");
    let nav = c
        .find(Locator::Css("header.top nav a[href='/review']"))
        .await
        .expect("the menu's queue link")
        .text()
        .await
        .expect("text");
    assert_eq!(nav, format!("待确认问题（{awaiting}）"));
    shot(&c, "dashboard-lead-phone.png").await;
    axe_both(&c, "the county lead's dashboard", 375).await;
    click(&c, "section.lead ul.todo a[href='/review#guidance']").await;
    arrive(&c, "/review").await;
    let page = text(&c).await;
    assert!(page.contains(&format!("排名第{rank}名（共{ranked}个单位）")), "{page}");
    assert!(page.contains("“确认”表示您已知悉该问题"), "what 确认 means");
    let card = c
        .find(Locator::Css(".card.overdue"))
        .await
        .expect("an overdue card")
        .text()
        .await
        .expect("text");
    for part in [
        g["station_name"].as_str().expect("station").to_owned(),
        g["item_title"].as_str().expect("item").to_owned(),
        format!("整改要求：{}", g["instruction"].as_str().expect("instruction")),
        format!("整改期限 {}", g["due_on"].as_str().expect("due")),
        format!("已逾期{}天", g["days_overdue"].as_i64().expect("days")),
    ] {
        assert!(card.contains(&part), "the card says {part}: {card}");
    }
    axe_both(&c, "the review queue", 375).await;
    let gid = g["id"].as_i64().expect("guidance id");
    let form = format!("form[action='/review/guidance/{gid}/ack']");
    type_into(&c, &format!("{form} input[name=comment]"), "已约谈站长，7月31日前补齐").await;
    click(&c, &format!("{form} button[type=submit]")).await;
    arrive(&c, "/review").await;
    let page = text(&c).await;
    assert!(page.contains("已确认，该问题已移入“已确认”列表"), "{page}");
    assert!(c.find(Locator::Css(&form)).await.is_err(), "it left the queue");
    let done = c
        .find(Locator::Css("ul.acked"))
        .await
        .expect("the 已确认 list")
        .text()
        .await
        .expect("text");
    assert!(done.contains(g["station_name"].as_str().expect("station")), "{done}");
    assert!(done.contains("临江市局消保科 于 "), "who: {done}");
    assert!(
        done.contains("（北京时间）确认：已约谈站长，7月31日前补齐"),
        "when and what: {done}"
    );
    let nav = c
        .find(Locator::Css("header.top nav a[href='/review']"))
        .await
        .expect("menu")
        .text()
        .await
        .expect("text");
    assert_eq!(nav, format!("待确认问题（{}）", awaiting - 1), "one fewer awaits");
    shot(&c, "review-acknowledged-phone.png").await;
    axe_both(&c, "the review queue after 确认", 375).await;
    // The station named on the card, and the guidance list: the item by
    // the station's own checklist.
    click(&c, "ul.acked li a").await;
    c.wait()
        .for_element(Locator::Css("main h1"))
        .await
        .expect("station page");
    assert!(text(&c).await.contains(g["item_title"].as_str().expect("item")));
    axe_both(&c, "the station page", 375).await;
    c.goto(&format!("{}/guidance?status=overdue", app.base))
        .await
        .expect("guidance");
    axe_both(&c, "the guidance list", 375).await;
    // Another unit's queue: 无权访问, as a page.
    c.goto(&format!("{}/review?unit_id={}", app.base, unit_ids[0]))
        .await
        .expect("other unit");
    assert!(text(&c).await.contains("无权"));
    axe_both(&c, "the error page", 375).await;
    c.goto(&format!("{}/", app.base)).await.expect("home");
    click(&c, "header.top form[data-logout] button").await;
    c.wait().for_element(Locator::Id("username")).await.expect("signed out");

    // --- The bureau, at a desk. -------------------------------------
    c.set_window_size(1280, 900).await.expect("desk size");
    sign_in(&c, &app.base, "admin").await;
    c.goto(&format!("{}/review", app.base)).await.expect("review");
    axe_both(&c, "the unit picker of the review queue", 1280).await;
    c.goto(&format!("{}/users", app.base)).await.expect("users");
    axe_both(&c, "the users page", 1280).await;
    let (_, list) = json(app.get("/api/users").await).await;
    let wu = list["items"]
        .as_array()
        .expect("users")
        .iter()
        .find(|u| u["username"] == "wu")
        .expect("wu")["id"]
        .as_i64()
        .expect("id");
    click(&c, &format!("a[href='/users/{wu}']")).await;
    arrive(&c, &format!("/users/{wu}")).await;
    axe_both(&c, "the user edit page", 1280).await;
    type_into(&c, "#display_name", "吴检查").await;
    type_into(&c, "#email", "wu.jiancha@example.cn").await;
    click(&c, &format!("input[name=units][value='{}']", unit_ids[1])).await;
    click(&c, "form[action^='/users/'] button[type=submit]").await;
    arrive(&c, "/users").await;
    assert!(text(&c).await.contains("用户信息已保存"));
    let (_, user) = json(app.get(&format!("/api/users/{wu}")).await).await;
    assert_eq!(user["display_name"], "吴检查");
    assert_eq!(user["units"], json!([unit_ids[0], unit_ids[1]]));
    // A new password, shown once.
    c.goto(&format!("{}/users/{wu}", app.base)).await.expect("edit");
    click(&c, &format!("form[action='/users/{wu}/password'] button")).await;
    let shown = c
        .wait()
        .for_element(Locator::Id("new-password"))
        .await
        .expect("the new password")
        .text()
        .await
        .expect("text");
    assert_eq!(shown.len(), 19, "{shown}");
    assert!(text(&c).await.contains("只显示这一次"));
    axe_both(&c, "the new password page", 1280).await;
    let ok = reqwest::Client::new()
        .post(app.url("/login"))
        .json(&json!({"username": "wu", "password": shown}))
        .send()
        .await
        .expect("login");
    assert_eq!(ok.status(), 200, "the new password works");
    c.goto(&format!("{}/users/{wu}", app.base)).await.expect("edit");
    assert!(!c.source().await.expect("source").contains(&shown), "shown once only");
    // Disabling asks first.
    click(&c, &format!("form[action='/users/{wu}/active'] button")).await;
    c.wait()
        .for_element(Locator::Css("input[name=confirmed]"))
        .await
        .expect("a confirmation");
    assert!(text(&c).await.contains("确定停用 吴检查"));
    axe_both(&c, "the confirmation page", 1280).await;
    click(&c, "form.actions button[type=submit]").await;
    arrive(&c, "/users").await;
    assert!(text(&c).await.contains("账号已停用"));
    let (_, user) = json(app.get(&format!("/api/users/{wu}")).await).await;
    assert_eq!(user["active"], false);

    // The audit log in Chinese, with a filter and the next page.
    c.goto(&format!("{}/audit", app.base)).await.expect("audit");
    let log = text(&c).await;
    for word in ["时间（北京时间）", "修改用户", "重设密码", "新增单位", "姓名", "吴检查"] {
        assert!(log.contains(word), "{word} in the log: {log}");
    }
    for raw in ["user.update", "visit.record", "system:", "web:"] {
        assert!(!log.contains(raw), "no {raw}");
    }
    axe_both(&c, "the audit log", 1280).await;
    c.find(Locator::Css("select[name=entity]"))
        .await
        .expect("kind of object")
        .select_by_label("用户")
        .await
        .expect("choose");
    click(&c, "form.filters button[type=submit]").await;
    c.wait()
        .for_element(Locator::Css("select[name=entity] option[value=user][selected]"))
        .await
        .expect("filtered");
    let rows = c.find_all(Locator::Css("table.audit tbody tr")).await.expect("rows");
    assert!(!rows.is_empty());
    for row in rows {
        let t = row.text().await.expect("row");
        assert!(t.contains("用户："), "only users: {t}");
    }
    c.goto(&format!("{}/audit", app.base)).await.expect("audit");
    click(&c, "nav.pager a[rel=next]").await;
    c.wait()
        .for_element(Locator::LinkText("回到最新记录"))
        .await
        .expect("the next page");
    assert!(
        c.current_url()
            .await
            .expect("url")
            .query()
            .unwrap_or_default()
            .contains("after=")
    );
    shot(&c, "audit-desk.png").await;
    axe_both(&c, "the audit log's next page", 1280).await;
    c.close().await.expect("close");
}
