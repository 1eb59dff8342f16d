//! The web pages without a browser: who may see what, forms with CSRF,
//! and user text escaped.

use reqwest::redirect::Policy;
use serde_json::json;

use crate::backend_tests;
use crate::support::{TestApp, issue_token, json};

backend_tests!(
    pages_follow_roles_and_escape_text,
    forms_need_the_csrf_token,
    an_inspector_corrects_contact_details_on_site
);

/// Signs in through the form; returns a cookie-carrying client and the
/// CSRF token read from a page.
pub async fn sign_in(app: &TestApp, username: &str) -> (reqwest::Client, String) {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client");
    let r = client
        .post(app.url("/login"))
        .form(&[
            ("username", username),
            ("password", "correct horse battery"),
            ("next", "/stations"),
        ])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 303, "signed in as {username}");
    assert_eq!(
        r.headers().get("location").and_then(|h| h.to_str().ok()),
        Some("/stations")
    );
    let page = client
        .get(app.url("/stations"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    let csrf = page
        .split("name=\"csrf_token\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("a CSRF token in the page")
        .to_owned();
    (client, csrf)
}

pub(crate) async fn user(app: &TestApp, name: &str, role: &str, units: &[i32]) {
    let ctx = app.ctx.clone();
    let (name, role, units) = (name.to_owned(), role.to_owned(), units.to_vec());
    tokio::task::spawn_blocking(move || issue_token(&ctx, &name, &role, &units))
        .await
        .expect("join");
}

async fn pages_follow_roles_and_escape_text(app: TestApp) {
    let a = app.unit("220681", "临江市").await;
    let b = app.unit("220621", "抚松<b>县</b>").await;
    json(
        app.put(&format!("/api/units/{a}/plans/2017"), &json!({"target": 10}))
            .await,
    )
    .await;
    let mk = |unit: i64, name: &str| {
        json!({"unit_id": unit, "name": name, "host_business": "某店 & <i>公司</i>", "category": "mall",
               "address": "某路", "liaison_name": "李", "liaison_phone": "13943900001", "standard_id": "baxiangyi-common",
               "status": "established", "established_on": "2017-01-05"})
    };
    let (_, sa) = json(
        app.post("/api/stations", &mk(a, "临江<script>alert(1)</script>站"))
            .await,
    )
    .await;
    let (_, sb) = json(app.post("/api/stations", &mk(b, "抚松站")).await).await;
    let (sa, sb) = (sa["id"].as_i64().expect("id"), sb["id"].as_i64().expect("id"));
    // A visit with a photo, so that the station page shows a thumbnail.
    let items: Vec<_> = [
        "place", "plaque", "liaison", "phone", "register", "bulletin", "rules", "computer",
    ]
    .iter()
    .map(|c| json!({"code": c, "result": "met"}))
    .collect();
    let (_, visit) = json(
        app.post(
            &format!("/api/stations/{sa}/visits"),
            &json!({"kind": "routine", "visited_on": "2017-03-01", "items": items}),
        )
        .await,
    )
    .await;
    let form = reqwest::multipart::Form::new().text("item_code", "plaque").part(
        "file",
        reqwest::multipart::Part::bytes(crate::visits_png()).file_name("<b>牌匾</b>.png"),
    );
    let r = app
        .client
        .post(app.url(&format!("/api/visits/{}/evidence", visit["id"])))
        .multipart(form)
        .send()
        .await;
    assert_eq!(r.expect("upload").status(), 201);
    user(&app, "admin", "admin", &[]).await;
    user(&app, "insp", "inspector", &[a as i32]).await;
    user(&app, "lead", "county_lead", &[a as i32]).await;
    user(&app, "view", "viewer", &[]).await;

    let admin_only = [200, 403, 403, 403];
    let all = [200, 200, 200, 200];
    let pages: Vec<(String, [u16; 4])> = vec![
        ("/".into(), all),
        ("/stations".into(), all),
        // A filter form sends its blank fields: they mean "any".
        ("/stations?q=&unit_id=&status=&category=".into(), all),
        ("/guidance?status=open&unit_id=&as_of=".into(), all),
        ("/audit?entity=&user=&from=&to=".into(), admin_only),
        (format!("/stations/{sa}"), all),
        (format!("/stations/{sb}"), [200, 403, 403, 200]),
        (format!("/stations/{sa}/visit"), [200, 200, 403, 403]),
        (format!("/stations/{sb}/visit"), [200, 403, 403, 403]),
        // An inspector of the unit corrects the contact details only.
        (format!("/stations/{sa}/edit"), [200, 200, 403, 403]),
        (format!("/stations/{sb}/edit"), admin_only),
        ("/stations/new".into(), admin_only),
        ("/guidance".into(), all),
        ("/progress?year=2017&as_of=2017-07-14".into(), all),
        ("/circulars".into(), all),
        ("/circulars/preview?year=2017&as_of=2017-07-14".into(), admin_only),
        ("/users".into(), admin_only),
        ("/audit".into(), admin_only),
        // The bureau and viewers pick a unit; an inspector has no queue.
        ("/review".into(), [200, 403, 200, 200]),
        (format!("/review?unit_id={a}"), [200, 403, 200, 200]),
    ];
    for (i, name) in ["admin", "insp", "lead", "view"].iter().enumerate() {
        let (client, _) = sign_in(&app, name).await;
        for (path, expected) in &pages {
            let r = client.get(app.url(path)).send().await.expect("get");
            let status = r.status().as_u16();
            let body = r.text().await.expect("body");
            assert_eq!(status, expected[i], "GET {path} as {name}");
            assert!(body.contains("<html lang=\"zh-CN\">"), "{path} as {name} is a page");
            assert!(!body.contains("<script>alert(1)"), "{path}: user text is escaped");
            assert!(
                !body.contains("<b>县</b>") && !body.contains("<i>公司</i>"),
                "{path}: user text is escaped"
            );
        }
        // Links a user may not use are not shown.
        let home = client
            .get(app.url("/"))
            .send()
            .await
            .expect("home")
            .text()
            .await
            .expect("text");
        assert_eq!(home.contains("href=\"/users\""), *name == "admin", "{name}");
        assert_eq!(home.contains("href=\"/review\""), *name == "lead", "{name}");
        let station = client
            .get(app.url(&format!("/stations/{sa}")))
            .send()
            .await
            .expect("s")
            .text()
            .await
            .expect("t");
        assert_eq!(
            station.contains("记录检查</a>"),
            ["admin", "insp"].contains(name),
            "{name}"
        );
        assert_eq!(
            (station.contains("修改信息</a>"), station.contains("更正联系信息</a>")),
            (*name == "admin", *name == "insp"),
            "{name}"
        );
        assert!(station.contains("临江&lt;script&gt;"), "escaped, still readable");
        assert!(station.contains("<img src=\"/api/evidence/"), "the photo's thumbnail");
    }
    let anon = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .expect("client");
    let r = anon.get(app.url("/stations")).send().await.expect("get");
    assert_eq!(r.status(), 303, "not signed in: to the sign-in page");
    assert_eq!(
        r.headers().get("location").and_then(|h| h.to_str().ok()),
        Some("/login?next=/stations")
    );
    let r = anon.get(app.url("/login")).send().await.expect("get");
    assert_eq!(r.status(), 200);
    for asset in ["/static/app.css", "/static/app.js"] {
        assert_eq!(anon.get(app.url(asset)).send().await.expect("asset").status(), 200);
    }
    let r = anon
        .post(app.url("/login"))
        .form(&[("username", "admin"), ("password", "wrong password!")])
        .send()
        .await
        .expect("login");
    assert_eq!(r.status(), 401);
    assert!(r.text().await.expect("text").contains("用户名或密码错误"));
}

async fn forms_need_the_csrf_token(app: TestApp) {
    let a = app.unit("220681", "临江市").await;
    user(&app, "admin", "admin", &[]).await;
    let (client, csrf) = sign_in(&app, "admin").await;
    let station = [
        ("unit_id", a.to_string()),
        ("name", "表单登记的服务站".into()),
        ("host_business", "某商场".into()),
        ("category", "mall".into()),
        ("address", "某路".into()),
        ("liaison_name", "王".into()),
        ("liaison_phone", "13943900009".into()),
        ("standard_id", "baxiangyi-common".into()),
    ];
    let r = client
        .post(app.url("/stations/new"))
        .form(&station)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403, "no CSRF token");
    let mut with = station.to_vec();
    with.push(("csrf_token", "forged".into()));
    assert_eq!(
        client
            .post(app.url("/stations/new"))
            .form(&with)
            .send()
            .await
            .expect("post")
            .status(),
        403
    );
    with.pop();
    with.push(("csrf_token", csrf.clone()));
    let mut bad = with.clone();
    bad[6] = ("liaison_phone", "12315".into());
    let r = client
        .post(app.url("/stations/new"))
        .form(&bad)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 422);
    let page = r.text().await.expect("text");
    assert!(
        page.contains("联络电话应为11位手机号") && page.contains("value=\"表单登记的服务站\""),
        "error beside the field, input kept"
    );
    let r = client
        .post(app.url("/stations/new"))
        .form(&with)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 303);
    let (_, list) = json(app.get("/api/stations").await).await;
    assert_eq!(list["total"], 1, "one station, from the valid form only");
    // Disable an account from the users page, then enable it again.
    let ctx = app.ctx.clone();
    tokio::task::spawn_blocking(move || issue_token(&ctx, "zhao", "viewer", &[]))
        .await
        .expect("join");
    let (_, users) = json(app.get("/api/users").await).await;
    let zhao = users["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|u| u["username"] == "zhao")
        .expect("zhao")["id"]
        .clone();
    let path = format!("/users/{zhao}/active");
    let r = client
        .post(app.url(&path))
        .form(&[("active", "false")])
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 403, "no CSRF token");
    for active in [false, true] {
        // The confirmation page's button sends `confirmed`.
        let form = [
            ("csrf_token", csrf.as_str()),
            ("active", if active { "true" } else { "false" }),
            ("confirmed", "yes"),
        ];
        let r = client.post(app.url(&path)).form(&form).send().await.expect("post");
        assert_eq!(r.status(), 303);
        let (_, u) = json(app.get(&format!("/api/users/{zhao}")).await).await;
        assert_eq!(u["active"], active);
    }
    let r = client
        .post(app.url("/logout"))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .expect("logout");
    assert_eq!(
        (
            r.status().as_u16(),
            r.headers().get("location").and_then(|h| h.to_str().ok())
        ),
        (303, Some("/login"))
    );
    let r = client.get(app.url("/stations")).send().await.expect("get");
    assert_eq!(r.status(), 303, "signed out");
}

/// An inspector finds a new liaison on site and corrects the record from
/// the station page; the registry fields are not in the form, and a
/// crafted post cannot change them.
async fn an_inspector_corrects_contact_details_on_site(app: TestApp) {
    let a = app.unit("220681", "临江市").await;
    let (status, s) = json(
        app.post(
            "/api/stations",
            &json!({"unit_id": a, "name": "临江商场服务站", "host_business": "临江商场", "category": "mall",
                    "address": "临江市建国路1号", "liaison_name": "王", "liaison_phone": "13943900009",
                    "standard_id": "baxiangyi-common"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{s}");
    let sid = s["id"].as_i64().expect("id");
    user(&app, "insp", "inspector", &[a as i32]).await;
    let (client, csrf) = sign_in(&app, "insp").await;
    let path = format!("/stations/{sid}/edit");
    let form = client
        .get(app.url(&path))
        .send()
        .await
        .expect("get")
        .text()
        .await
        .expect("text");
    assert!(form.contains("<h1>更正联系信息</h1>"), "{form}");
    assert!(form.contains("id=\"liaison_name\"") && form.contains("value=\"13943900009\""));
    for registry in ["id=\"unit_id\"", "id=\"name\"", "id=\"category\"", "id=\"standard_id\""] {
        assert!(!form.contains(registry), "{registry} is the bureau's to change");
    }
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("version", "1"),
        ("address", "临江市建国路1号一楼服务台"),
        ("liaison_name", "赵新民"),
        ("liaison_phone", "13943900010"),
        ("name", "改名不生效"),
    ];
    let mut bad = fields.to_vec();
    bad[4] = ("liaison_phone", "12315");
    let r = client.post(app.url(&path)).form(&bad).send().await.expect("post");
    assert_eq!(r.status(), 422);
    assert!(r.text().await.expect("text").contains("联络电话应为11位手机号"));
    let r = client.post(app.url(&path)).form(&fields).send().await.expect("post");
    assert_eq!(r.status(), 303);
    let (_, now) = json(app.get(&format!("/api/stations/{sid}")).await).await;
    assert_eq!(
        (
            now["version"].as_i64(),
            now["address"].as_str(),
            now["liaison_name"].as_str(),
            now["liaison_phone"].as_str(),
            now["name"].as_str()
        ),
        (
            Some(2),
            Some("临江市建国路1号一楼服务台"),
            Some("赵新民"),
            Some("13943900010"),
            Some("临江商场服务站")
        )
    );
    // The same form again holds a stale version: the page says so.
    let r = client.post(app.url(&path)).form(&fields).send().await.expect("post");
    assert_eq!(r.status(), 409);
    assert!(r.text().await.expect("text").contains("服务站已被他人修改"));
}
