//! What an outside probe tried against sign-in and sessions (issue 13):
//! lock-outs, open redirects, login CSRF, circular scope, token
//! revocation, weak passwords. (Headers, unicode and logs: exposure.rs.)

use std::net::{IpAddr, Ipv4Addr};

use reqwest::{Client, StatusCode, redirect::Policy};
use serde_json::{Value, json};

use crate::support::{Db, TestApp, assert_field_error, client_with, json};
use crate::{backend_cases, backend_tests};

backend_tests!(
    guessing_locks_one_address_not_the_user,
    disabled_and_unknown_accounts_answer_like_a_wrong_password,
    sign_in_follows_only_local_paths_and_refuses_foreign_forms,
    credentials_end_when_password_role_or_state_change,
    weak_passwords_are_refused_in_chinese,
);

const PASSWORD: &str = "瓦房店 tiger lantern 93";

/// A client whose connections come from `ip` (any 127.x address reaches
/// the test server), without cookies or redirects.
pub(crate) fn from(ip: [u8; 4]) -> Client {
    Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::from(ip)))
        .redirect(Policy::none())
        .build()
        .expect("client")
}

async fn create_user(app: &TestApp, username: &str, role: &str) -> Value {
    let (status, u) = json(
        app.post(
            "/api/users",
            &json!({"username": username, "display_name": "王丽华", "role": role, "password": PASSWORD}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{u}");
    u
}

async fn sign_in(app: &TestApp, client: &Client, username: &str, password: &str) -> (u16, Value) {
    let r = client
        .post(app.url("/login"))
        .json(&json!({"username": username, "password": password}))
        .send()
        .await
        .expect("login");
    json(r).await
}

async fn guessing_locks_one_address_not_the_user(app: TestApp) {
    create_user(&app, "wang", "viewer").await;
    let attacker = from([127, 0, 0, 9]);
    // Eleven guesses at once: only five passwords are checked (the first
    // four answered 401, the fifth locks and answers 429 like the rest).
    let guesses = (0..11).map(|i| {
        let (a, app) = (attacker.clone(), app.url("/login"));
        tokio::spawn(async move {
            let body = json!({"username": "wang", "password": format!("guess number {i}")});
            a.post(app).json(&body).send().await.expect("login").status().as_u16()
        })
    });
    let mut statuses = Vec::new();
    for g in guesses {
        statuses.push(g.await.expect("join"));
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert_eq!(checked, 4, "four wrong, then locked: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");

    // The attacker's address is locked out, even with the right password…
    let (status, err) = sign_in(&app, &attacker, "wang", PASSWORD).await;
    assert_eq!(status, 429, "{err}");
    // …but the user, from their own address, still signs in.
    let (status, me) = sign_in(&app, &from([127, 0, 0, 10]), "wang", PASSWORD).await;
    assert_eq!(status, 200, "{me}");
    assert_eq!(me["user"]["username"], "wang");
}

async fn disabled_and_unknown_accounts_answer_like_a_wrong_password(app: TestApp) {
    let u = create_user(&app, "zhao", "viewer").await;
    let client = from([127, 0, 0, 11]);
    let (status, wrong) = sign_in(&app, &client, "zhao", "not the password at all").await;
    assert_eq!(status, 401);
    let (status, unknown) = sign_in(&app, &client, "nobody", "not the password at all").await;
    assert_eq!((status, &unknown), (401, &wrong), "unknown users look the same");
    let (status, _) = json(
        app.patch(&format!("/api/users/{}", u["id"]), &json!({"active": false}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, disabled) = sign_in(&app, &client, "zhao", PASSWORD).await;
    assert_eq!(
        (status, &disabled),
        (401, &wrong),
        "a disabled account does not confirm the password"
    );
    // Unknown names are locked like known ones: the lock tells nothing.
    let spray = from([127, 0, 0, 12]);
    for name in ["nobody", "zhao"] {
        let mut last = 0;
        for _ in 0..6 {
            last = sign_in(&app, &spray, name, "still not the password").await.0;
        }
        assert_eq!(last, 429, "{name} is locked after five failures");
    }
}

async fn sign_in_follows_only_local_paths_and_refuses_foreign_forms(app: TestApp) {
    create_user(&app, "li", "viewer").await;
    let client = from([127, 0, 0, 13]);
    let form_sign_in = |next: &'static str| {
        client
            .post(app.url("/login"))
            .form(&[("username", "li"), ("password", PASSWORD), ("next", next)])
            .send()
    };
    for (next, expected) in [
        ("/stations?unit=1", "/stations?unit=1"),
        ("/\t/evil.example/x", "/"),
        ("/\\evil.example", "/"),
        ("//evil.example", "/"),
        ("/\nSet-Cookie: x=1", "/"),
        ("https://evil.example/", "/"),
    ] {
        let r = form_sign_in(next).await.expect("login");
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        let location = r.headers().get("location").and_then(|h| h.to_str().ok()).unwrap_or("");
        assert_eq!(location, expected, "{next:?}");
    }
    let page = client
        .get(app.url("/login?next=/%09/evil.example/x"))
        .send()
        .await
        .expect("page");
    let html = page.text().await.expect("html");
    assert!(!html.contains("evil.example"), "the form does not carry it on: {html}");

    // A form posted from another site neither signs in nor out.
    let r = client
        .post(app.url("/login"))
        .header("origin", "https://evil.example")
        .form(&[("username", "li"), ("password", PASSWORD)])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 403);
    assert!(r.headers().get("set-cookie").is_none(), "no session");
    let r = client
        .post(app.url("/login"))
        .header("sec-fetch-site", "cross-site")
        .json(&json!({"username": "li", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 403);
    let own_origin = app.base.clone();
    let r = client
        .post(app.url("/login"))
        .header("origin", own_origin.clone())
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"username": "li", "password": PASSWORD}))
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 200, "the site's own form works");
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let session = cookie.split(';').next().unwrap_or("").to_owned();
    let (_, signed) = json(r).await;
    let csrf = signed["csrf_token"].as_str().unwrap_or("").to_owned();
    let logout = |site: &'static str| {
        client
            .post(app.url("/logout"))
            .header("cookie", session.clone())
            .header("x-csrf-token", csrf.clone())
            .header("sec-fetch-site", site)
            .send()
    };
    assert_eq!(logout("cross-site").await.expect("logout").status(), 403);
    let me = |c: &Client| c.get(app.url("/api/me")).header("cookie", session.clone()).send();
    assert_eq!(me(&client).await.expect("me").status(), 200, "still signed in");
    assert_eq!(logout("same-origin").await.expect("logout").status(), 200);
    assert_eq!(me(&client).await.expect("me").status(), 401);
}

async fn credentials_end_when_password_role_or_state_change(app: TestApp) {
    for (name, change) in [
        ("sun", json!({"password": "新的口令 river maple 58"})),
        ("zhou", json!({"role": "inspector", "units": []})),
        ("qian", json!({"active": false})),
    ] {
        let u = create_user(&app, name, "viewer").await;
        let client = from([127, 0, 0, 15]);
        let (status, _) = sign_in(&app, &client, name, PASSWORD).await;
        assert_eq!(status, 200);
        let (status, t) = json(
            app.post("/api/tokens", &json!({"name": "同步", "user_id": u["id"]}))
                .await,
        )
        .await;
        assert_eq!(status, 201, "{t}");
        let job = app.with_client(client_with(t["secret"].as_str().unwrap_or("")));
        assert_eq!(job.get("/api/me").await.status(), 200);
        let (status, body) = json(app.patch(&format!("/api/users/{}", u["id"]), &change).await).await;
        if name == "zhou" {
            // Inspectors need a unit; give one.
            assert_field_error(status, &body, "units");
            let unit = app.unit("220621", "抚松县").await;
            let change = json!({"role": "inspector", "units": [unit]});
            let (status, body) = json(app.patch(&format!("/api/users/{}", u["id"]), &change).await).await;
            assert_eq!(status, 200, "{body}");
        } else {
            assert_eq!(status, 200, "{body}");
        }
        assert_eq!(job.get("/api/me").await.status(), 401, "{name}: the token is revoked");
        if name == "qian" {
            let (status, _) = json(
                app.patch(&format!("/api/users/{}", u["id"]), &json!({"active": true}))
                    .await,
            )
            .await;
            assert_eq!(status, 200);
            assert_eq!(
                job.get("/api/me").await.status(),
                401,
                "re-enabling brings no token back"
            );
        }
        let (_, tokens) = json(app.get("/api/tokens").await).await;
        let theirs: Vec<&Value> = tokens["items"]
            .as_array()
            .map_or(Vec::new(), |a| a.iter().filter(|t| t["user_id"] == u["id"]).collect());
        assert!(
            !theirs.is_empty() && theirs.iter().all(|t| t["revoked_at"].is_string()),
            "{name}: listed as revoked: {tokens}"
        );
    }
}

async fn weak_passwords_are_refused_in_chinese(app: TestApp) {
    for (username, password) in [
        ("wu", "          "),
        ("zhengxiaoming", "zhengxiaoming"),
        ("feng", "aaaaaaaaaaaa"),
        ("chen", "1234567890"),
        ("chu", "password123"),
        ("wei", "qwertyuiop"),
    ] {
        let (status, err) = json(
            app.post(
                "/api/users",
                &json!({"username": username, "role": "viewer", "password": password}),
            )
            .await,
        )
        .await;
        assert_field_error(status, &err, "password");
        let msg = err["error"]["fields"]["password"][0].as_str().unwrap_or("");
        assert!(msg.contains("密码"), "in Chinese: {msg}");
    }
    create_user(&app, "jiang", "viewer").await;
    let (_, users) = json(app.get("/api/users").await).await;
    let names: Vec<&str> = users["items"].as_array().map_or(Vec::new(), |a| {
        a.iter().filter_map(|u| u["username"].as_str()).collect()
    });
    assert!(names.contains(&"jiang") && !names.contains(&"wu"), "{names:?}");
}

/// Circular scope (its own module: one `backend_cases!` per module).
mod scope {
    use super::*;

    backend_cases!(a_unit_reads_the_circular_but_only_its_own_rendition);

    async fn a_unit_reads_the_circular_but_only_its_own_rendition(db: Db) {
        let smtp = crate::smtp::SmtpServer::start();
        let app = crate::circulars::baishan(db, &smtp).await;
        let c = crate::circulars::issue(&app).await;
        let (_, units) = json(app.get("/api/units").await).await;
        let own = units["items"][1]["id"].as_i64().expect("unit");
        let path = format!("/api/circulars/{}", c["id"]);

        let city = app.as_user("city_viewer", "viewer", &[]).await;
        let (status, all) = json(city.get(&path).await).await;
        assert_eq!(status, 200);
        assert_eq!(
            all["renditions"].as_array().map(Vec::len),
            Some(8),
            "city-wide readers see all"
        );

        let lead = app.as_user("lead_one", "county_lead", &[own as i32]).await;
        let (status, mine) = json(lead.get(&path).await).await;
        assert_eq!(status, 200, "every unit reads the circular");
        assert_eq!(mine["body_text"], all["body_text"], "with the city table");
        let units_seen: Vec<Option<i64>> = mine["renditions"]
            .as_array()
            .map_or(Vec::new(), |a| a.iter().map(|r| r["unit_id"].as_i64()).collect());
        assert_eq!(units_seen.len(), 2, "the plain copy and its own: {units_seen:?}");
        assert!(
            units_seen.iter().all(|u| u.is_none() || *u == Some(own)),
            "{units_seen:?}"
        );
        let (status, list) = json(lead.get("/api/circulars").await).await;
        assert_eq!((status, list["total"].as_i64()), (200, Some(1)));
        let page = lead.get(&format!("/circulars/{}", c["id"])).await;
        assert_eq!(page.status(), 200);
    }
}
