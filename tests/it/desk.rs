//! The desk (issue 16) over HTTP: who may open the review queue, what a
//! county lead's queue and dashboard say, editing users and resetting
//! passwords (API and pages), and the audit log in Chinese with paging.

use serde_json::json;

use crate::pages::sign_in;
use crate::support::{Db, TestApp, assert_field_error, issue_token, json};

/// Gives an existing account (e.g. a demo county lead) the test password.
pub(crate) async fn with_password(app: &TestApp, username: &str) -> i32 {
    let ctx = app.ctx.clone();
    let name = username.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = ctx.pool.get().expect("conn");
        let system = bayige::auth::Principal::system("test");
        let user = bayige::app::users::by_username(&mut conn, &name).expect("user");
        bayige::app::users::set_password(&mut conn, &system, user.id, "correct horse battery").expect("password");
        user.id
    })
    .await
    .expect("join")
}

async fn page(client: &reqwest::Client, app: &TestApp, path: &str) -> (u16, String) {
    let r = client.get(app.url(path)).send().await.expect("get");
    (r.status().as_u16(), r.text().await.expect("body"))
}

async fn an_inspector_opening_review_is_refused_with_a_page(db: Db) {
    let app = TestApp::new(db, |_| {}).await;
    let unit = app.unit("220681", "临江市").await as i32;
    let ctx = app.ctx.clone();
    tokio::task::spawn_blocking(move || issue_token(&ctx, "insp", "inspector", &[unit]))
        .await
        .expect("join");
    let (client, _) = sign_in(&app, "insp").await;
    for path in ["/review".to_owned(), format!("/review?unit_id={unit}")] {
        let (status, body) = page(&client, &app, &path).await;
        assert_eq!(status, 403, "{path}");
        assert!(body.contains("无权访问"), "{path}: {body}");
        assert!(!body.contains("unit_id"), "{path} names no parameter: {body}");
    }
    let insp = app.as_user("insp", "inspector", &[unit]).await;
    let (status, _) = json(insp.get(&format!("/api/review?unit_id={unit}")).await).await;
    assert_eq!(status, 403);
}

async fn a_county_lead_sees_what_awaits_them_and_what_is_acknowledged(db: Db) {
    let app = TestApp::demo(db).await;
    with_password(&app, "lead-linjiang").await;
    let (client, csrf) = sign_in(&app, "lead-linjiang").await;
    let lead = app.with_client(client.clone());
    let (_, before) = json(lead.get("/api/review").await).await;
    let awaiting = before["awaiting"]["total"].as_u64().expect("awaiting");
    assert!(awaiting > 0, "the demo's Linjiang has shortfalls: {before}");
    let (_, home) = page(&client, &app, "/").await;
    assert!(home.contains(&format!("待您处理 {awaiting} 项")), "{home}");
    assert!(
        home.contains(&format!("待确认问题（{awaiting}）")),
        "the menu counts them"
    );
    let ranked = before["ranked_units"].as_u64().expect("ranked");
    let rank = before["progress"]["rank"].as_u64().expect("rank");
    let (_, queue) = page(&client, &app, "/review").await;
    assert!(queue.contains(&format!("第{rank}名（共{ranked}个单位）")), "{queue}");
    assert!(queue.contains("“确认”表示"), "the page says what 确认 means");
    let guidance = &before["overdue_guidance"][0];
    let gid = guidance["id"].as_i64().expect("an overdue guidance");
    let days = guidance["days_overdue"].as_i64().expect("days");
    assert!(days > 0);
    assert!(queue.contains(&format!("已逾期{days}天")), "{queue}");
    assert!(queue.contains(guidance["item_title"].as_str().expect("title")));
    // Acknowledging moves the item to the 已确认 list with who, when, what.
    let r = client
        .post(app.url(&format!("/review/guidance/{gid}/ack")))
        .form(&[("csrf_token", csrf.as_str()), ("comment", "已约谈站长，月底前整改完毕")])
        .send()
        .await
        .expect("ack");
    assert_eq!(r.status(), 303);
    let (_, after) = json(lead.get("/api/review").await).await;
    assert_eq!(after["awaiting"]["total"].as_u64(), Some(awaiting - 1));
    let (_, queue) = page(&client, &app, "/review?ok=ack").await;
    let done = queue.split("id=\"acked\"").nth(1).expect("the 已确认 list");
    assert!(done.contains("已约谈站长，月底前整改完毕"), "{done}");
    assert!(done.contains("临江市局消保科"), "who: {done}");
    assert!(done.contains(" 于 20") && done.contains("确认："), "when: {done}");
    assert!(done.contains("北京时间"), "{done}");
    let open = queue.split("id=\"acked\"").next().expect("open part");
    assert!(
        !open.contains(&format!("/review/guidance/{gid}/ack")),
        "no form is left for it"
    );
}

async fn users_are_edited_with_fields_named_and_every_change_audited(db: Db) {
    let app = TestApp::new(db, |_| {}).await;
    let a = app.unit("220681", "临江市").await;
    let b = app.unit("220621", "抚松县").await;
    let (_, u) = json(
        app.post(
            "/api/users",
            &json!({"username": "wang", "display_name": "王芳", "email": "wang@example.cn",
                    "role": "inspector", "units": [a], "password": "correct horse battery"}),
        )
        .await,
    )
    .await;
    let id = u["id"].as_i64().expect("user");
    let path = format!("/api/users/{id}");
    let (status, err) = json(app.patch(&path, &json!({"email": "not an address"})).await).await;
    assert_field_error(status, &err, "email");
    let (status, err) = json(app.patch(&path, &json!({"role": "county_lead", "units": [a, b]})).await).await;
    assert_field_error(status, &err, "units");
    let (status, err) = json(app.patch(&path, &json!({"role": "boss"})).await).await;
    assert_field_error(status, &err, "role");
    let (status, err) = json(app.patch(&path, &json!({"display_name": "王\n芳"})).await).await;
    assert_field_error(status, &err, "display_name");
    let (_, unchanged) = json(app.get(&path).await).await;
    assert_eq!(
        (unchanged["role"].as_str(), &unchanged["units"]),
        (Some("inspector"), &json!([a]))
    );

    // The page: role, units by checkbox, name and email in one form.
    let (client, csrf) = sign_in_admin(&app).await;
    let (status, form) = page(&client, &app, &format!("/users/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        form.contains("type=\"checkbox\" name=\"units\""),
        "units are checkboxes"
    );
    let (a_s, b_s) = (a.to_string(), b.to_string());
    let bad = client
        .post(app.url(&format!("/users/{id}")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("display_name", "王芳"),
            ("email", "bad"),
            ("role", "inspector"),
            ("units", &a_s),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(bad.status(), 422);
    assert!(bad.text().await.expect("body").contains("电子邮箱“bad”格式不正确"));
    let ok = client
        .post(app.url(&format!("/users/{id}")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("display_name", "王芳芳"),
            ("email", "wff@example.cn"),
            ("role", "inspector"),
            ("units", &a_s),
            ("units", &b_s),
        ])
        .send()
        .await
        .expect("post");
    assert_eq!(ok.status(), 303);
    let (_, changed) = json(app.get(&path).await).await;
    assert_eq!(changed["display_name"], "王芳芳");
    assert_eq!(changed["email"], "wff@example.cn");
    assert_eq!(changed["units"], json!([a, b]));

    // A reset password works once shown; the old one no longer does.
    let (status, new) = json(app.post(&format!("{path}/password-reset"), &json!({})).await).await;
    assert_eq!(status, 200, "{new}");
    let password = new["password"].as_str().expect("password").to_owned();
    let login = |pw: String| {
        let app_url = app.url("/login");
        async move {
            reqwest::Client::new()
                .post(app_url)
                .json(&json!({"username": "wang", "password": pw}))
                .send()
                .await
                .expect("login")
                .status()
                .as_u16()
        }
    };
    assert_eq!(login(password.clone()).await, 200);
    assert_eq!(login("correct horse battery".into()).await, 401);
    let (status, _) = json(app.post("/api/users/999999/password-reset", &json!({})).await).await;
    assert_eq!(status, 404);

    // Disabling asks first; the confirmed form disables.
    let r = client
        .post(app.url(&format!("/users/{id}/active")))
        .form(&[("csrf_token", csrf.as_str()), ("active", "false")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 200);
    assert!(r.text().await.expect("body").contains("确定停用"));
    let (_, still) = json(app.get(&path).await).await;
    assert_eq!(still["active"], true, "nothing changes before the confirmation");
    let r = client
        .post(app.url(&format!("/users/{id}/active")))
        .form(&[("csrf_token", csrf.as_str()), ("active", "false"), ("confirmed", "yes")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 303);
    let (_, off) = json(app.get(&path).await).await;
    assert_eq!(off["active"], false);

    let (_, log) = json(app.get(&format!("/api/audit?entity=user&entity_id={id}")).await).await;
    let actions: Vec<&str> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    assert_eq!(actions, ["user.update", "user.password", "user.update", "user.create"]);
    assert!(!log.to_string().contains(&password), "no password in the log");
}

/// The app's administrator (made with the test password), on the pages.
async fn sign_in_admin(app: &TestApp) -> (reqwest::Client, String) {
    sign_in(app, "admin").await
}

fn cells(body: &str) -> usize {
    body.matches("<tr><td>").count()
}

async fn the_audit_log_reads_in_chinese_filters_and_pages(db: Db) {
    let app = TestApp::new(db, |_| {}).await;
    // 104 units: more entries than one page holds.
    let mut first = 0;
    for n in 0..104 {
        let id = app.unit(&format!("2299{n:02}"), &format!("测试{n}县")).await;
        if n == 0 {
            first = id;
        }
    }
    json(
        app.put(&format!("/api/units/{first}/plans/2017"), &json!({"target": 12}))
            .await,
    )
    .await;
    let (client, _) = sign_in_admin(&app).await;
    let (status, body) = page(&client, &app, "/audit").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cells(&body), 100, "a page of 100");
    for raw in ["unit.create", "system:", "web:", "{\""] {
        assert!(!body.contains(raw), "no raw {raw} on the page");
    }
    assert!(body.contains("新增单位") && body.contains("时间（北京时间）"));
    let next = body
        .replace("&#x2f;", "/")
        .split("href=\"")
        .filter_map(|s| s.split('"').next())
        .find(|h| h.starts_with("/audit?after="))
        .expect("a link to the next page")
        .replace("&amp;", "&");
    let (_, older) = page(&client, &app, &next).await;
    // 104 units, one plan, the admin's password set, and its token.
    assert!(cells(&older) >= 6, "the rest on the next page: {}", cells(&older));
    assert!(older.contains("回到最新记录"));
    // Filters in Chinese: by unit, kind of object and date.
    let (_, by_unit) = page(
        &client,
        &app,
        &format!("/audit?unit_id={first}&entity=&user=&from=&to="),
    )
    .await;
    assert_eq!(cells(&by_unit), 2, "the unit and its plan");
    assert!(by_unit.contains("下达建站计划") && by_unit.contains("建站目标</strong>：12"));
    let (_, plans) = page(&client, &app, "/audit?entity=plan").await;
    assert_eq!(cells(&plans), 1);
    let (status, bad) = page(&client, &app, "/audit?from=yesterday").await;
    assert_eq!(status, 422);
    assert!(bad.contains("日期格式"), "{bad}");
    let (status, err) = json(app.get("/api/audit?unit_id=abc").await).await;
    assert_field_error(status, &err, "unit_id");
    let (_, api) = json(app.get(&format!("/api/audit?unit_id={first}")).await).await;
    assert_eq!(api["total"], 2);
}

/// The station page names items by the station's own checklist.
async fn items_are_titled_by_the_stations_own_checklist(db: Db) {
    let app = TestApp::new(db, |_| {}).await;
    let unit = app.unit("220681", "临江市").await;
    let (status, s) = json(
        app.post(
            "/api/stations",
            &json!({"unit_id": unit, "name": "南岳站", "host_business": "某商场", "category": "mall",
                    "address": "某路", "liaison_name": "李", "liaison_phone": "13943900001",
                    "standard_id": "baxiangyi-nanyue", "status": "established", "established_on": "2017-01-05"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{s}");
    let (client, _) = sign_in_admin(&app).await;
    let (_, body) = page(&client, &app, &format!("/stations/{}", s["id"])).await;
    assert!(body.contains("一块服务站匾牌"), "the Nanyue title");
    assert!(!body.contains("一块机构牌匾"), "not the common version's");
    assert!(
        body.contains("（南岳区版）") && !body.contains("baxiangyi"),
        "the checklist by its title"
    );
}

/// A body the server cannot read is refused in Chinese: the library's
/// English ("Payload error") stays in the log.
async fn unreadable_bodies_are_refused_in_chinese(db: Db) {
    let app = TestApp::new(db, |_| {}).await;
    let unit = app.unit("220681", "临江市").await;
    let (_, s) = json(
        app.post(
            "/api/stations",
            &json!({"unit_id": unit, "name": "某站", "host_business": "某商场", "category": "mall",
                    "address": "某路", "liaison_name": "李", "liaison_phone": "13943900001",
                    "standard_id": "baxiangyi-common", "status": "established", "established_on": "2017-01-05"}),
        )
        .await,
    )
    .await;
    let r = app
        .client
        .post(app.url(&format!("/api/stations/{}/visits", s["id"])))
        .header("content-type", "multipart/form-data; boundary=xyz")
        .body("--xyz\r\nContent-Disposition: form-data; name=\"visit\"\r\n\r\n{\"kind\"")
        .send()
        .await
        .expect("post");
    let status = r.status().as_u16();
    let body = r.text().await.expect("body");
    assert!((400..500).contains(&status), "{status}: {body}");
    assert!(!body.contains("Payload") && !body.contains("error:"), "{body}");
    let (_, err): (u16, serde_json::Value) = (status, serde_json::from_str(&body).expect("JSON"));
    let message = err["error"]["message"].as_str().expect("message");
    assert!(
        message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{message}"
    );
}

crate::backend_cases!(
    unreadable_bodies_are_refused_in_chinese,
    an_inspector_opening_review_is_refused_with_a_page,
    a_county_lead_sees_what_awaits_them_and_what_is_acknowledged,
    users_are_edited_with_fields_named_and_every_change_audited,
    the_audit_log_reads_in_chinese_filters_and_pages,
    items_are_titled_by_the_stations_own_checklist,
);
