//! Users, roles and scopes: every endpoint × every role, in and out of
//! scope; sign-in with sessions, CSRF and lockout; API tokens; the audit log;
//! the county lead's review queue.

use reqwest::Method;
use serde_json::{Value, json};

use crate::PNG;
use crate::backend_tests;
use crate::support::{TestApp, assert_field_error, json};

backend_tests!(
    every_endpoint_for_every_role,
    sign_in_sessions_csrf_and_lockout,
    tokens_can_be_revoked_and_forged_ones_fail,
    audit_log_records_every_write_kind,
    review_queue_for_a_county_lead,
    hostile_text_is_stored_verbatim_and_changes_nothing,
);

/// Two units (A = 临江市, B = 抚松县), each with a station whose routine
/// visit failed one item, with evidence; plans for 2017.
struct World {
    a: i64,
    b: i64,
    station_a: i64,
    station_b: i64,
    visit_a: i64,
    visit_b: i64,
    guidance_a: i64,
    guidance_b: i64,
    evidence_b: i64,
}

fn items(fail: Option<&str>) -> Value {
    let codes = [
        "place", "plaque", "liaison", "phone", "register", "bulletin", "rules", "computer",
    ];
    Value::Array(
        codes
            .iter()
            .map(|c| {
                if Some(*c) == fail {
                    json!({"code": c, "result": "unmet", "note": "缺失"})
                } else {
                    json!({"code": c, "result": "met"})
                }
            })
            .collect(),
    )
}

async fn ok(app: &TestApp, method: Method, path: &str, body: Value) -> Value {
    let (status, v) = json(app.send(method, path, &body).await).await;
    assert!(status < 300, "{path}: {status} {v}");
    v
}

async fn world(app: &TestApp) -> World {
    let a = app.unit("220681", "临江市").await;
    let b = app.unit("220621", "抚松县").await;
    for u in [a, b] {
        ok(
            app,
            Method::PUT,
            &format!("/api/units/{u}/plans/2017"),
            json!({"target": 10}),
        )
        .await;
    }
    let station = |unit: i64, name: &str| {
        let body = json!({
            "unit_id": unit, "name": name, "host_business": "某超市", "category": "supermarket",
            "address": "某路1号", "liaison_name": "李明", "liaison_phone": "13943900001",
            "standard_id": "baxiangyi-common"
        });
        async move {
            ok(app, Method::POST, "/api/stations", body).await["id"]
                .as_i64()
                .expect("id")
        }
    };
    let station_a = station(a, "临江超市服务站").await;
    let station_b = station(b, "抚松超市服务站").await;
    let mut visits = Vec::new();
    let mut guidance = Vec::new();
    for s in [station_a, station_b] {
        let accept = json!({"kind": "acceptance", "visited_on": "2017-03-01", "inspector": "吴", "items": items(None)});
        ok(app, Method::POST, &format!("/api/stations/{s}/visits"), accept).await;
        let fail =
            json!({"kind": "routine", "visited_on": "2017-06-01", "inspector": "吴", "items": items(Some("register"))});
        let v = ok(app, Method::POST, &format!("/api/stations/{s}/visits"), fail).await;
        visits.push(v["id"].as_i64().expect("visit"));
        guidance.push(v["guidance_raised"][0]["id"].as_i64().expect("guidance"));
    }
    let form = reqwest::multipart::Form::new()
        .text("item_code", "register")
        .part("file", reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("p.png"));
    let r = app
        .client
        .post(app.url(&format!("/api/visits/{}/evidence", visits[1])))
        .multipart(form)
        .send()
        .await
        .expect("upload");
    let (status, e) = json(r).await;
    assert_eq!(status, 201, "{e}");
    World {
        a,
        b,
        station_a,
        station_b,
        visit_a: visits[0],
        visit_b: visits[1],
        guidance_a: guidance[0],
        guidance_b: guidance[1],
        evidence_b: e["id"].as_i64().expect("evidence"),
    }
}

const ROLES: [&str; 6] = ["admin", "inspector", "lead", "viewer", "viewer_b", "anonymous"];

async fn audit_count(app: &TestApp) -> i64 {
    json(app.get("/api/audit?per_page=1").await).await.1["total"]
        .as_i64()
        .expect("total")
}

async fn every_endpoint_for_every_role(app: TestApp) {
    let w = world(&app).await;
    let (_, circular) = json(
        app.post("/api/circulars", &json!({"year": 2017, "as_of": "2017-07-14"}))
            .await,
    )
    .await;
    let cid = circular["id"].as_i64().expect("circular");
    let clients = [
        app.with_client(app.client.clone()),
        app.as_user("insp", "inspector", &[w.a as i32]).await,
        app.as_user("lead", "county_lead", &[w.a as i32]).await,
        app.as_user("view", "viewer", &[]).await,
        app.as_user("viewb", "viewer", &[w.b as i32]).await,
        app.with_client(reqwest::Client::new()),
    ];
    let (a, b) = (w.a, w.b);
    let (sa, sb, va, vb) = (w.station_a, w.station_b, w.visit_a, w.visit_b);
    // (method, path, body, expected status per role in ROLES order)
    let all = [200, 200, 200, 200, 200, 401];
    let admin_only = [200, 403, 403, 403, 403, 401];
    let reads_a = [200, 200, 200, 200, 403, 401];
    let reads_b = [200, 403, 403, 200, 200, 401];
    let reads: Vec<(String, [u16; 6])> = vec![
        ("/api/me".into(), all),
        ("/api/standards".into(), all),
        ("/api/standards/baxiangyi-common".into(), all),
        ("/api/units".into(), all),
        ("/api/plans?year=2017".into(), all),
        ("/api/stations".into(), all),
        (format!("/api/stations?unit_id={b}"), [200, 403, 403, 200, 200, 401]),
        (format!("/api/stations/{sa}"), reads_a),
        (format!("/api/stations/{sb}"), reads_b),
        (format!("/api/stations/{sb}/visits"), reads_b),
        (format!("/api/stations/{sb}/checklist"), reads_b),
        (format!("/api/stations/{sb}/visit-template"), reads_b),
        (format!("/api/stations/{sa}/checklist"), reads_a),
        (format!("/api/visits/{va}"), reads_a),
        (format!("/api/visits/{vb}"), reads_b),
        (format!("/api/evidence/{}", w.evidence_b), reads_b),
        ("/api/guidance".into(), all),
        (format!("/api/guidance?unit_id={b}"), reads_b),
        (format!("/api/guidance?station_id={sb}"), reads_b),
        ("/api/progress?year=2017&as_of=2017-07-14".into(), all),
        ("/api/circulars".into(), all),
        (format!("/api/circulars/{cid}"), all),
        (format!("/api/circulars/{cid}/deliveries"), admin_only),
        ("/api/users".into(), admin_only),
        ("/api/audit".into(), admin_only),
        ("/api/tokens".into(), all),
        // Inspectors have no review queue.
        (format!("/api/review?unit_id={a}"), [200, 403, 200, 200, 403, 401]),
        (format!("/api/review?unit_id={b}"), reads_b),
    ];
    for (path, expected) in &reads {
        for (i, c) in clients.iter().enumerate() {
            let status = c.get(path).await.status().as_u16();
            assert_eq!(status, expected[i], "GET {path} as {}", ROLES[i]);
        }
    }
    // Lists hold only in-scope rows, and their totals count only those.
    let ids = |v: &Value, key: &str| -> Vec<i64> {
        v["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|x| x[key].as_i64().unwrap_or(-1))
            .collect()
    };
    let lead = &clients[2];
    let (_, st) = json(lead.get("/api/stations").await).await;
    assert_eq!((ids(&st, "id"), st["total"].as_i64()), (vec![sa], Some(1)));
    let (_, st) = json(clients[4].get("/api/stations").await).await;
    assert_eq!(ids(&st, "id"), vec![sb]);
    let (_, st) = json(clients[3].get("/api/stations").await).await;
    assert_eq!(ids(&st, "id"), vec![sa, sb], "a city-wide viewer sees all");
    let (_, g) = json(lead.get("/api/guidance").await).await;
    assert_eq!((ids(&g, "id"), g["total"].as_i64()), (vec![w.guidance_a], Some(1)));
    let (_, pl) = json(lead.get("/api/plans?year=2017").await).await;
    assert_eq!((ids(&pl, "unit_id"), pl["total_target"].as_i64()), (vec![a], Some(10)));
    let (_, pr) = json(lead.get("/api/progress?year=2017&as_of=2017-07-14").await).await;
    assert_eq!(pr["rows"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        (pr["rows"][0]["unit_id"].as_i64(), pr["city_wide"].as_bool()),
        (Some(a), Some(false))
    );
    assert_eq!(pr["totals"]["target"], 10, "totals over what the lead may see");
    let (_, pr) = json(clients[3].get("/api/progress?year=2017&as_of=2017-07-14").await).await;
    assert_eq!(
        (pr["rows"].as_array().map(Vec::len), pr["city_wide"].as_bool()),
        (Some(2), Some(true))
    );
    let (_, me) = json(lead.get("/api/me").await).await;
    assert_eq!(
        (me["role"].as_str(), me["units"].clone()),
        (Some("county_lead"), json!([a]))
    );

    // Writes: denied ones change nothing (no audit entry either).
    let visit = |on: &str| json!({"kind": "routine", "visited_on": on, "inspector": "吴", "items": items(None)});
    let station = json!({
        "unit_id": a, "name": "新服务站", "host_business": "某店", "category": "other", "address": "某路",
        "liaison_name": "王", "liaison_phone": "13943900002", "standard_id": "baxiangyi-common"
    });
    let writes: Vec<(Method, String, Value, [u16; 6])> = vec![
        (
            Method::POST,
            "/api/units".into(),
            json!({"code": "X9", "name": "新区", "kind": "district"}),
            [201, 403, 403, 403, 403, 401],
        ),
        (
            Method::PUT,
            format!("/api/units/{a}/plans/2018"),
            json!({"target": 5}),
            [200, 403, 403, 403, 403, 401],
        ),
        (
            Method::POST,
            "/api/stations".into(),
            station,
            [201, 403, 403, 403, 403, 401],
        ),
        (
            Method::POST,
            format!("/api/stations/{sa}/status"),
            json!({"status": "model", "reason": "样板"}),
            [403, 403, 403, 403, 403, 401],
        ),
        (
            Method::POST,
            format!("/api/stations/{sa}/visits"),
            visit("2017-07-01"),
            [201, 201, 403, 403, 403, 401],
        ),
        (
            Method::POST,
            format!("/api/stations/{sb}/visits"),
            visit("2017-07-01"),
            [201, 403, 403, 403, 403, 401],
        ),
        (
            Method::POST,
            "/api/circulars/preview".into(),
            json!({"year": 2017, "as_of": "2017-07-14"}),
            [200, 403, 403, 403, 403, 401],
        ),
        (
            Method::POST,
            "/api/circulars".into(),
            json!({"year": 2017, "as_of": "2017-07-14"}),
            [201, 403, 403, 403, 403, 401],
        ),
        (
            Method::POST,
            format!("/api/review/guidance/{}/ack", w.guidance_a),
            json!({"comment": "已督促"}),
            [403, 403, 201, 403, 403, 401],
        ),
        (
            Method::POST,
            format!("/api/review/guidance/{}/ack", w.guidance_b),
            json!({"comment": "越权"}),
            [403, 403, 403, 403, 403, 401],
        ),
        (
            Method::POST,
            "/api/users".into(),
            json!({"username": "x", "role": "viewer"}),
            [201, 403, 403, 403, 403, 401],
        ),
        (
            Method::POST,
            format!("/api/visits/{va}/void"),
            json!({"reason": "录入错误"}),
            [200, 403, 403, 403, 403, 401],
        ),
    ];
    for (method, path, body, expected) in &writes {
        // Ask the admin last, so that every denied attempt sees the same state.
        for i in [1, 2, 3, 4, 5, 0] {
            let before = audit_count(&app).await;
            let r = clients[i]
                .client
                .request(method.clone(), app.url(path))
                .json(body)
                .send()
                .await
                .expect("send");
            let status = r.status().as_u16();
            // The model status change needs the station established; admin gets 200 or 422, never 5xx.
            let want = expected[i];
            if path.ends_with("/status") && i == 0 {
                assert!(status == 200 || status == 422, "{method} {path} as admin: {status}");
            } else {
                assert_eq!(status, want, "{method} {path} as {}", ROLES[i]);
            }
            let after = audit_count(&app).await;
            if status >= 400 || path.ends_with("/preview") {
                assert_eq!(after, before, "{method} {path} as {} wrote to the audit log", ROLES[i]);
            } else {
                assert_eq!(after, before + 1, "{method} {path} by {} is audited", ROLES[i]);
            }
        }
    }
    let r = clients[1]
        .client
        .post(app.url(&format!("/api/visits/{vb}/evidence")))
        .multipart(
            reqwest::multipart::Form::new()
                .text("item_code", "register")
                .part("file", reqwest::multipart::Part::bytes(PNG.to_vec()).file_name("p.png")),
        )
        .send()
        .await
        .expect("upload");
    assert_eq!(r.status(), 403, "an inspector uploads only in assigned units");
}

async fn sign_in_sessions_csrf_and_lockout(app: TestApp) {
    let admin = &app;
    let (status, u) = json(
        admin
            .post("/api/users", &json!({"username": "wang", "display_name": "王丽华", "role": "viewer", "password": "a long password 1"}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{u}");
    assert!(
        u.get("password_hash").is_none() && !u.to_string().contains("argon2"),
        "never returned: {u}"
    );
    let anon = reqwest::Client::new();
    let login = |user: &str, pw: &str| {
        anon.post(app.url("/login"))
            .json(&json!({"username": user, "password": pw}))
            .send()
    };

    let r = login("wang", "wrong password!!").await.expect("login");
    let (status, err) = json(r).await;
    assert_eq!((status, err["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (status, unknown) = json(login("nobody", "wrong password!!").await.expect("login")).await;
    assert_eq!(status, 401);
    assert_eq!(
        unknown["error"]["message"], err["error"]["message"],
        "unknown users look the same"
    );

    let r = login("wang", "a long password 1").await.expect("login");
    assert_eq!(r.status(), 200);
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|h| h.to_str().ok())
        .expect("cookie")
        .to_owned();
    for attr in ["bayige_session=", "HttpOnly", "SameSite=Lax", "Secure", "Path=/"] {
        assert!(cookie.contains(attr), "{attr} in {cookie}");
    }
    let session = cookie.split(';').next().expect("pair").to_owned();
    let (_, signed) = json(r).await;
    let csrf = signed["csrf_token"].as_str().expect("csrf").to_owned();

    let with_cookie = |m: Method, path: &str| anon.request(m, app.url(path)).header("cookie", session.clone());
    let (status, me) = json(with_cookie(Method::GET, "/api/me").send().await.expect("me")).await;
    assert_eq!(
        (status, me["via"].as_str(), me["username"].as_str()),
        (200, Some("session"), Some("wang"))
    );
    // A state-changing request needs the CSRF token (and a viewer may not write anyway).
    let r = with_cookie(Method::POST, "/api/tokens")
        .json(&json!({"name": "t"}))
        .send()
        .await
        .expect("post");
    let (status, err) = json(r).await;
    assert_eq!(status, 403, "{err}");
    assert!(err["error"]["message"].as_str().unwrap_or("").contains("CSRF"));
    let r = with_cookie(Method::POST, "/api/tokens")
        .header("X-CSRF-Token", &csrf)
        .json(&json!({"name": "mine"}))
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 201, "with the token it works");
    let r = with_cookie(Method::POST, "/logout")
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .expect("logout");
    assert_eq!(r.status(), 200);
    let r = with_cookie(Method::GET, "/api/me").send().await.expect("me");
    assert_eq!(r.status(), 401, "the session is gone");
    let r = anon
        .get(app.url("/api/me"))
        .header("cookie", "bayige_session=forged")
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), 401);
    let r = anon
        .get(app.url("/api/me"))
        .header("authorization", "Basic d2FuZzp4")
        .send()
        .await
        .expect("me");
    assert_eq!(r.status(), 401);

    // Five wrong passwords lock the account; then even the right one is refused.
    for i in 1..=5 {
        let status = login("wang", "not the password")
            .await
            .expect("login")
            .status()
            .as_u16();
        assert_eq!(status, if i < 5 { 401 } else { 429 }, "attempt {i}");
    }
    let r = login("wang", "a long password 1").await.expect("login");
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));

    // A disabled account can neither sign in nor use its tokens.
    let viewer = app.as_user("zhao", "viewer", &[]).await;
    assert_eq!(viewer.get("/api/me").await.status(), 200);
    let (_, me) = json(viewer.get("/api/me").await).await;
    let id = me["user"]["id"].as_i64().expect("id");
    let (status, _) = json(
        admin
            .patch(&format!("/api/users/{id}"), &json!({"active": false}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(viewer.get("/api/me").await.status(), 401);
    let status = login("zhao", "correct horse battery").await.expect("login").status();
    assert_eq!(status, 401);

    // Nobody changes their own role; passwords have a minimum length.
    let (_, me) = json(admin.get("/api/me").await).await;
    let own = me["user"]["id"].as_i64().expect("id");
    let (status, _) = json(
        admin
            .patch(&format!("/api/users/{own}"), &json!({"role": "viewer"}))
            .await,
    )
    .await;
    assert_eq!(status, 403);
    let (status, err) = json(
        admin
            .post(
                "/api/users",
                &json!({"username": "li", "role": "viewer", "password": "short"}),
            )
            .await,
    )
    .await;
    assert_field_error(status, &err, "password");
    let (status, err) = json(
        admin
            .post(
                "/api/users",
                &json!({"username": "li", "role": "county_lead", "units": []}),
            )
            .await,
    )
    .await;
    assert_field_error(status, &err, "units");
}

async fn tokens_can_be_revoked_and_forged_ones_fail(app: TestApp) {
    let (status, t) = json(app.post("/api/tokens", &json!({"name": "夜间同步任务"})).await).await;
    assert_eq!(status, 201, "{t}");
    let secret = t["secret"].as_str().expect("secret").to_owned();
    let job = app.with_client(crate::support::client_with(&secret));
    assert_eq!(job.get("/api/stations").await.status(), 200);
    let (_, list) = json(app.get("/api/tokens").await).await;
    let mine = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|x| x["id"] == t["id"])
        .expect("listed")
        .clone();
    assert!(mine["last_used_at"].is_string(), "{mine}");
    assert!(
        mine.get("secret").is_none() && !list.to_string().contains(&secret),
        "never shown again"
    );
    let (status, _) = json(
        app.send(Method::DELETE, &format!("/api/tokens/{}", t["id"]), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let r = job.get("/api/stations").await;
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("www-authenticate"));
    let forged = app.with_client(crate::support::client_with(&format!(
        "{}0",
        &secret[..secret.len() - 1]
    )));
    assert_eq!(forged.get("/api/me").await.status(), 401);
    let (status, _) = json(
        app.send(Method::DELETE, &format!("/api/tokens/{}", t["id"]), &json!({}))
            .await,
    )
    .await;
    assert_eq!(status, 409, "already revoked");
}

async fn audit_log_records_every_write_kind(app: TestApp) {
    let w = world(&app).await;
    let path = format!("/api/stations/{}", w.station_a);
    let (_, s) = json(app.get(&path).await).await;
    let (status, _) = json(
        app.patch(&path, &json!({"version": s["version"], "liaison_name": "张志强"}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    json(
        app.post(
            &format!("/api/visits/{}/void", w.visit_b),
            &json!({"reason": "录入错误"}),
        )
        .await,
    )
    .await;
    json(
        app.post("/api/circulars", &json!({"year": 2017, "as_of": "2017-07-14"}))
            .await,
    )
    .await;
    let lead = app.as_user("lead", "county_lead", &[w.a as i32]).await;
    let (status, _) = json(
        lead.post(
            &format!("/api/review/guidance/{}/ack", w.guidance_a),
            &json!({"comment": "已督促整改"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let (_, t) = json(app.post("/api/tokens", &json!({"name": "x"})).await).await;
    json(
        app.send(Method::DELETE, &format!("/api/tokens/{}", t["id"]), &json!({}))
            .await,
    )
    .await;

    let (status, log) = json(app.get("/api/audit?per_page=100").await).await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|e| e["action"].as_str())
        .collect();
    for action in [
        "unit.create",
        "plan.set",
        "station.create",
        "station.update",
        "visit.record",
        "visit.void",
        "evidence.add",
        "circular.issue",
        "user.create",
        "token.create",
        "token.revoke",
        "review.ack",
    ] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
    assert!(!log.to_string().contains("argon2"), "no password hash in the log");
    let (_, one) = json(
        app.get(&format!("/api/audit?entity=station&entity_id={}", w.station_a))
            .await,
    )
    .await;
    let update = one["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "station.update")
        .expect("update");
    assert_eq!(update["before"]["liaison_name"], "李明");
    assert_eq!(update["after"]["liaison_name"], "张志强");
    assert!(update["username"].as_str().is_some_and(|u| u == "admin"));
    let (_, by_lead) = json(app.get("/api/audit?user=lead").await).await;
    assert_eq!(by_lead["total"], 1);
    let (status, err) = json(app.get("/api/audit?from=yesterday").await).await;
    assert_field_error(status, &err, "from");
    let (_, none) = json(app.get("/api/audit?to=2000-01-01").await).await;
    assert_eq!(none["total"], 0);
    // Append-only: there is no way to change it.
    for m in [Method::DELETE, Method::PUT, Method::PATCH, Method::POST] {
        let status = app.send(m.clone(), "/api/audit", &json!({})).await.status().as_u16();
        assert!(status == 404 || status == 405, "{m} /api/audit: {status}");
    }
}

async fn review_queue_for_a_county_lead(app: TestApp) {
    let w = world(&app).await;
    let lead = app.as_user("lead", "county_lead", &[w.a as i32]).await;
    let (status, q) = json(lead.get("/api/review").await).await;
    assert_eq!(status, 200, "{q}");
    assert_eq!(q["unit"]["id"].as_i64(), Some(w.a));
    assert_eq!(
        q["stations"].as_array().map(Vec::len),
        Some(1),
        "the non-compliant station"
    );
    assert_eq!(q["stations"][0]["id"].as_i64(), Some(w.station_a));
    let overdue: Vec<i64> = q["overdue_guidance"]
        .as_array()
        .expect("g")
        .iter()
        .filter_map(|g| g["id"].as_i64())
        .collect();
    assert_eq!(overdue, vec![w.guidance_a], "overdue as of today, own unit only");
    assert_eq!(q["overdue_guidance"][0]["acknowledgement"], json!(null));

    let (status, a) = json(
        lead.post(
            &format!("/api/review/guidance/{}/ack", w.guidance_a),
            &json!({"comment": "已约谈经营者"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{a}");
    let (status, _) = json(
        lead.post(
            &format!("/api/review/station/{}/ack", w.station_a),
            &json!({"comment": "限期整改"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let (_, q) = json(lead.get("/api/review").await).await;
    assert_eq!(q["overdue_guidance"][0]["acknowledgement"]["comment"], "已约谈经营者");
    assert_eq!(q["stations"][0]["acknowledgement"]["comment"], "限期整改");

    let (status, err) = json(
        lead.post(
            &format!("/api/review/guidance/{}/ack", w.guidance_a),
            &json!({"comment": " "}),
        )
        .await,
    )
    .await;
    assert_field_error(status, &err, "comment");
    let (status, _) = json(
        lead.post(
            &format!("/api/review/station/{}/ack", w.station_b),
            &json!({"comment": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 403, "another unit's station");
    let (status, _) = json(lead.post("/api/review/nonsense/1/ack", &json!({"comment": "x"})).await).await;
    assert_eq!(status, 404);
    let (status, _) = json(
        lead.post("/api/review/guidance/99999/ack", &json!({"comment": "x"}))
            .await,
    )
    .await;
    assert_eq!(status, 404);
    let (status, _) = json(lead.get(&format!("/api/review?unit_id={}", w.b)).await).await;
    assert_eq!(status, 403);
    let (status, err) = json(app.get("/api/review").await).await;
    assert_field_error(status, &err, "unit_id");
}

async fn hostile_text_is_stored_verbatim_and_changes_nothing(app: TestApp) {
    let unit = app.unit("220623", "长白朝鲜族自治县").await;
    let nasty = "'; DROP TABLE stations; -- <script>alert(1)</script>";
    let (status, s) = json(
        app.post(
            "/api/stations",
            &json!({
                "unit_id": unit, "name": nasty, "host_business": "\" OR 1=1 --", "category": "other",
                "address": "<img src=x onerror=alert(1)>", "liaison_name": "Robert'); DROP TABLE users;--",
                "liaison_phone": "13943900003", "standard_id": "baxiangyi-common"
            }),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{s}");
    assert_eq!(s["name"], nasty);
    let (_, list) = json(app.get(&format!("/api/stations?q={}", urlencode("DROP TABLE"))).await).await;
    assert_eq!(list["total"], 1);
    let (_, all) = json(app.get("/api/stations").await).await;
    assert_eq!(all["total"], 1, "the table is still there");
    let (status, _) = json(app.get("/api/users").await).await;
    assert_eq!(status, 200);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
