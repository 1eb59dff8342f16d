//! Progress, numbered circulars and their delivery by email to a real SMTP
//! server on 127.0.0.1.

use std::time::Duration;

use bayige::cli::Common;
use serde_json::{Value, json};

use crate::backend_cases;
use crate::smtp::{Mail, SmtpServer};
use crate::support::{Db, TestApp, assert_field_error, json};

backend_cases!(
    baishan_progress_and_circular_end_to_end,
    two_instances_share_numbers_mail_sessions_and_tokens,
    unit_names_are_escaped_in_html,
    unit_names_are_not_formulas_in_the_csv,
    bad_requests_write_nothing,
    monthly_schedule_issues_once_per_month,
);

const LAGGING: [&str; 4] = ["江源区", "靖宇县", "临江市", "市局直属消保分局"];
const OFFICE: &str = "市局办公室 <office@baishan.example>";

/// Baishan's settings on 14 July 2017 with mail going to `smtp`.
fn baishan_config(smtp: &SmtpServer) -> impl Fn(&mut Common) + Clone + Send + 'static {
    let url = smtp.url();
    move |c: &mut Common| {
        c.today = chrono::NaiveDate::from_ymd_opt(2017, 7, 14);
        c.circular_prefix = Some("白市工商通".into());
        c.circular_issuer = Some("白山市工商行政管理局".into());
        c.circular_cc = Some(OFFICE.into());
        // What `serve --demo` defaults to (the demo is loaded after start here).
        c.documents.circular_addressees = Some("各县（市）市场监督管理局、城区工商分局，市局直属消保分局".into());
        c.smtp_url = Some(url.clone());
    }
}

/// The Baishan demo on 14 July 2017 with mail going to `smtp`.
pub(crate) async fn baishan(db: Db, smtp: &SmtpServer) -> TestApp {
    let app = TestApp::new(db, baishan_config(smtp)).await;
    app.load_demo().await;
    app
}

fn period() -> Value {
    json!({"year": 2017, "as_of": "2017-07-14"})
}

pub(crate) async fn issue(app: &TestApp) -> Value {
    let (status, c) = json(app.post("/api/circulars", &period()).await).await;
    assert_eq!(status, 201, "{c}");
    c
}

pub(crate) fn to(mail: &Mail) -> String {
    mail.to.join(",")
}

pub(crate) async fn deliveries(app: &TestApp, circular: &Value) -> Vec<Value> {
    let (status, d) = json(app.get(&format!("/api/circulars/{}/deliveries", circular["id"])).await).await;
    assert_eq!(status, 200, "{d}");
    d["items"].as_array().cloned().unwrap_or_default()
}

/// Waits until every delivery of `circular` is in one of `states`.
pub(crate) async fn settle(app: &TestApp, circular: &Value, states: &[&str]) -> Vec<Value> {
    for _ in 0..400 {
        let ds = deliveries(app, circular).await;
        if ds.iter().all(|d| states.contains(&d["status"].as_str().unwrap_or(""))) {
            return ds;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "deliveries did not settle in {states:?}: {:?}",
        deliveries(app, circular).await
    );
}

async fn baishan_progress_and_circular_end_to_end(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;

    let (status, p) = json(app.get("/api/progress?year=2017&as_of=2017-07-14").await).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        (p["expected"].as_f64(), p["days_elapsed"].as_i64()),
        (Some(0.5342), Some(195))
    );
    assert_eq!(
        (p["totals"]["target"].as_i64(), p["totals"]["built"].as_i64()),
        (Some(330), Some(164))
    );
    let rows = p["rows"].as_array().expect("rows");
    let lagging: Vec<_> = rows
        .iter()
        .filter(|r| r["lagging"] == true)
        .map(|r| r["unit_name"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(lagging, LAGGING);
    let jiangyuan = &rows[1];
    assert_eq!(
        (
            jiangyuan["built"].as_i64(),
            jiangyuan["rate"].as_f64(),
            jiangyuan["expected_built"].as_i64(),
            jiangyuan["shortfall"].as_i64(),
            jiangyuan["ahead"].as_i64()
        ),
        (Some(18), Some(0.45), Some(22), Some(4), Some(0)),
        "whole stations: 40 × 195/365 = 21.4 is 22 to build by now, 4 short"
    );
    assert_eq!((rows[0]["rank"].as_i64(), rows[3]["rank"].as_i64()), (Some(1), Some(7)));
    assert!(rows.iter().all(|r| r["compliant"].as_i64() <= r["built"].as_i64()));
    assert!(p["totals"]["overdue_guidance"].as_i64().unwrap_or(0) > 0);

    // Preview: the number it would get, the text, the recipients.
    let (status, pv) = json(app.post("/api/circulars/preview", &period()).await).await;
    assert_eq!(status, 200, "{pv}");
    assert_eq!(pv["number"], "白市工商通〔2017〕1号");
    assert!(
        pv["body_text"].as_str().unwrap_or("").contains(&LAGGING.join("、")),
        "{}",
        pv["body_text"]
    );
    assert_eq!(
        pv["recipients"].as_array().map(Vec::len),
        Some(8),
        "seven unit leads and the office"
    );
    let (_, list) = json(app.get("/api/circulars").await).await;
    assert_eq!(list["total"], 0, "a preview issues nothing");

    let c = issue(&app).await;
    assert_eq!(c["number"], "白市工商通〔2017〕1号");
    assert_eq!((c["year"].as_i64(), c["serial"].as_i64()), (Some(2017), Some(1)));
    let text = c["body_text"].as_str().unwrap_or("");
    for needle in [
        "关于对全市建立“12315消费维权服务站”工作进度情况的通报",
        "各县（市）市场监督管理局、城区工商分局，市局直属消保分局",
        "截至2017年7月14日",
        "330",
        "164",
        "白山市工商行政管理局",
    ] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
    assert!(text.contains(&format!("{}等4个单位未达到序时进度", LAGGING.join("、"))));

    let mails = smtp.wait_for(8, Duration::from_secs(20)).await;
    assert_eq!(mails.len(), 8);
    let mut recipients: Vec<String> = mails.iter().map(to).collect();
    recipients.sort();
    assert_eq!(recipients.len(), 8);
    recipients.dedup();
    assert_eq!(recipients.len(), 8, "each recipient once");
    let jy = mails
        .iter()
        .find(|m| to(m) == "jiangyuan@baishan.example")
        .expect("江源区's lead got it");
    assert_eq!(
        jy.from, "noreply@baishan.example",
        "the envelope sender is BAYIGE_MAIL_FROM"
    );
    assert_eq!(
        jy.subject(),
        "白市工商通〔2017〕1号 关于对全市建立“12315消费维权服务站”工作进度情况的通报"
    );
    assert!(jy.text().contains("江源区、靖宇县"), "Chinese text arrives intact");
    assert!(
        jy.html().contains("font-weight: bold;\"><td>5</td><td>江源区</td>"),
        "own row highlighted: {}",
        jy.html()
    );
    assert!(jy.text().contains("★江源区"));
    let office = mails
        .iter()
        .find(|m| to(m) == "office@baishan.example")
        .expect("the office's copy");
    assert!(
        !office.html().contains("font-weight: bold;\"><td>"),
        "the copy highlights nothing"
    );
    let attachments = office.attachments();
    assert_eq!(attachments.len(), 2, "the CSV table and the circular as PDF");
    assert!(attachments[0].0.ends_with(".csv"));
    assert!(attachments[1].0.ends_with(".pdf") && attachments[1].1.starts_with(b"%PDF"));
    let csv = String::from_utf8(attachments[0].1.clone()).expect("UTF-8 CSV");
    assert!(
        csv.starts_with('\u{feff}') && csv.contains("江源区") && csv.contains("合计"),
        "{csv}"
    );

    let ds = settle(&app, &c, &["sent"]).await;
    assert_eq!(ds.len(), 8);
    for d in &ds {
        let mail = mails
            .iter()
            .find(|m| to(m) == d["recipient_email"])
            .expect("mail for delivery");
        assert_eq!(
            mail.message_id(),
            d["message_id"].as_str().unwrap_or("").trim_matches(['<', '>'])
        );
        assert_eq!(d["attempts"], 1);
    }

    // Reading it later shows what was sent, even after the data changed.
    let (_, units) = json(app.get("/api/units").await).await;
    let jiangyuan_id = units["items"][1]["id"].as_i64().expect("id");
    let (status, _) = json(
        app.put(
            &format!("/api/units/{jiangyuan_id}/plans/2017"),
            &json!({"target": 10, "basis": "total"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200);
    let (_, later) = json(app.get(&format!("/api/circulars/{}", c["id"])).await).await;
    assert_eq!(later["body_text"], c["body_text"]);
    assert_eq!(later["body_html"], c["body_html"]);
    assert_eq!(later["snapshot"]["progress"]["rows"][1]["target"], 40);
    assert_eq!(
        later["renditions"].as_array().map(Vec::len),
        Some(8),
        "plain + one per unit"
    );
    assert_eq!(later["deliveries"]["sent"], 8);

    // The next one gets the next number; a repeated request with the same
    // Idempotency-Key gets the same circular back.
    let send = |key: &'static str| {
        app.client
            .post(app.url("/api/circulars"))
            .header("Idempotency-Key", key)
            .json(&period())
            .send()
    };
    let (s1, c2) = json(send("retry-me").await.expect("post")).await;
    let (s2, again) = json(send("retry-me").await.expect("post")).await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(c2["number"], "白市工商通〔2017〕2号");
    assert_eq!(again["id"], c2["id"]);
    // The key is bound to its request: another body with it is refused, and
    // issues nothing.
    let other = app
        .client
        .post(app.url("/api/circulars"))
        .header("Idempotency-Key", "retry-me")
        .json(&json!({"year": 2017, "as_of": "2017-07-10"}))
        .send()
        .await
        .expect("post");
    let (status, err) = json(other).await;
    assert_field_error(status, &err, "idempotency_key");
    let (_, list) = json(app.get("/api/circulars").await).await;
    assert_eq!(list["total"], 2);
    assert_eq!(list["items"][0]["number"], "白市工商通〔2017〕2号", "newest first");
}

async fn two_instances_share_numbers_mail_sessions_and_tokens(db: Db) {
    let smtp = SmtpServer::start();
    let a = baishan(db, &smtp).await;
    // B finds the demo data, so its monthly schedule would be on and issue
    // July's circular at start, taking a number: off here, tested below.
    let config = baishan_config(&smtp);
    let b = a
        .restart_with(move |c| {
            config(c);
            c.circular_schedule = Some("off".into());
        })
        .await;
    // A rejected request in between must not use up a number.
    let (status, _) = json(
        a.post("/api/circulars", &json!({"year": 2017, "as_of": "2018-01-01"}))
            .await,
    )
    .await;
    assert_eq!(status, 422);
    let handles: Vec<_> = (0..10)
        .map(|i| {
            let app = if i % 2 == 0 { &a } else { &b };
            let req = app.client.post(app.url("/api/circulars")).json(&period());
            tokio::spawn(async move { req.send().await.expect("POST") })
        })
        .collect();
    let mut serials = Vec::new();
    for h in handles {
        let (status, c) = json(h.await.expect("task")).await;
        assert_eq!(status, 201, "{c}");
        assert_eq!(c["number"], format!("白市工商通〔2017〕{}号", c["serial"]));
        serials.push(c["serial"].as_i64().expect("serial"));
    }
    serials.sort();
    assert_eq!(serials, (1..=10).collect::<Vec<_>>(), "unique and gap-free");
    // Two workers on one database: every email once.
    let mails = smtp.wait_for(80, Duration::from_secs(30)).await;
    // Once both workers have ended, nothing is being sent any more: no
    // copy can still arrive, and nothing is left due.
    a.stop_background().await;
    b.stop_background().await;
    assert_eq!(a.run_pending().await, 0, "every delivery was handled by the workers");
    assert_eq!(smtp.mails().len(), 80, "10 circulars × 8 recipients, each once");
    let mut ids: Vec<String> = mails.iter().map(Mail::message_id).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 80);

    // Sessions and tokens are in the database, not in either process.
    let (status, _) = json(
        a.post(
            "/api/users",
            &json!({"username": "liu", "display_name": "刘", "role": "admin", "password": "两个实例都认这个口令"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201);
    let browser = reqwest::Client::builder().cookie_store(true).build().expect("client");
    let signed: serde_json::Value = browser
        .post(a.url("/login"))
        .json(&json!({"username": "liu", "password": "两个实例都认这个口令"}))
        .send()
        .await
        .expect("login on A")
        .json()
        .await
        .expect("signed");
    let csrf = signed["csrf_token"].as_str().expect("csrf").to_owned();
    let me = browser.get(b.url("/api/me")).send().await.expect("me on B");
    assert_eq!(me.status(), 200, "the session from A works on B");
    let r = browser
        .post(b.url("/api/tokens"))
        .header("X-CSRF-Token", &csrf)
        .json(&json!({"name": "两实例"}))
        .send()
        .await
        .expect("token on B");
    assert_eq!(r.status(), 201);
    let token: serde_json::Value = r.json().await.expect("token");
    let secret = token["secret"].as_str().expect("secret");
    let on_a = crate::support::client_with(secret);
    assert_eq!(
        on_a.get(a.url("/api/me")).send().await.expect("me").status(),
        200,
        "B's token on A"
    );
    let revoked = browser
        .delete(a.url(&format!("/api/tokens/{}", token["id"])))
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .expect("revoke on A");
    assert_eq!(revoked.status(), 200);
    assert_eq!(
        on_a.get(b.url("/api/me")).send().await.expect("me").status(),
        401,
        "revoked on A, refused on B"
    );
    let out = browser
        .post(b.url("/logout"))
        .header("X-CSRF-Token", &csrf)
        .send()
        .await
        .expect("logout on B");
    assert_eq!(out.status(), 200);
    assert_eq!(
        browser.get(a.url("/api/me")).send().await.expect("me").status(),
        401,
        "signed out on B, out on A"
    );
}

async fn unit_names_are_escaped_in_html(db: Db) {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::new(db, move |c| {
        c.today = chrono::NaiveDate::from_ymd_opt(2017, 7, 14);
        c.smtp_url = Some(url);
    })
    .await;
    let (status, unit) = json(
        app.post(
            "/api/units",
            &json!({"code": "X1", "name": "<b>甲&乙</b>县", "kind": "county"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{unit}");
    let id = unit["id"].as_i64().expect("id");
    let (status, _) = json(
        app.put(&format!("/api/units/{id}/plans/2017"), &json!({"target": 10}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, lead) = json(
        app.post(
            "/api/users",
            &json!({"username": "li", "display_name": "李明", "email": "li@x.example", "role": "county_lead", "units": [id]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{lead}");
    let c = issue(&app).await;
    let html = c["body_html"].as_str().unwrap_or("");
    assert!(
        html.contains("&lt;b&gt;甲&amp;乙&lt;&#x2f;b&gt;县") || html.contains("&lt;b&gt;甲&amp;乙&lt;/b&gt;县"),
        "{html}"
    );
    assert!(!html.contains("<b>甲"), "never raw");
    assert!(
        c["body_text"].as_str().unwrap_or("").contains("<b>甲&乙</b>县"),
        "plain text keeps the name"
    );
    let mails = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert!(!mails[0].html().contains("<b>甲"));
    assert!(mails[0].subject().contains("〔2017〕1号"));
}

/// A unit named like a spreadsheet formula reaches every county lead in the
/// circular's CSV table as inert text (a leading `'`), never as a formula.
async fn unit_names_are_not_formulas_in_the_csv(db: Db) {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::new(db, move |c| {
        c.today = chrono::NaiveDate::from_ymd_opt(2017, 7, 14);
        c.smtp_url = Some(url);
    })
    .await;
    let formula = r#"=HYPERLINK("http://evil.example/x","点击查看")"#;
    let (status, unit) = json(
        app.post("/api/units", &json!({"code": "X1", "name": formula, "kind": "county"}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{unit}");
    let id = unit["id"].as_i64().expect("id");
    let (status, _) = json(
        app.put(&format!("/api/units/{id}/plans/2017"), &json!({"target": 10}))
            .await,
    )
    .await;
    assert_eq!(status, 200);
    let (status, lead) = json(
        app.post(
            "/api/users",
            &json!({"username": "li", "display_name": "李明", "email": "li@x.example", "role": "county_lead", "units": [id]}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{lead}");
    issue(&app).await;
    let mails = smtp.wait_for(1, Duration::from_secs(10)).await;
    let attachments = mails[0].attachments();
    let csv = String::from_utf8(attachments[0].1.clone()).expect("UTF-8 CSV");
    let mut reader = csv::Reader::from_reader(csv.trim_start_matches('\u{feff}').as_bytes());
    let names: Vec<String> = reader.records().map(|r| r.expect("a CSV row")[1].to_owned()).collect();
    assert!(names.contains(&format!("'{formula}")), "{csv}");
    assert!(names.iter().all(|n| !n.starts_with(['=', '+', '-', '@'])), "{names:?}");
}

async fn bad_requests_write_nothing(db: Db) {
    let app = TestApp::new(db, |c| c.today = chrono::NaiveDate::from_ymd_opt(2017, 7, 14)).await;
    let (status, err) = json(app.post("/api/circulars", &period()).await).await;
    assert_field_error(status, &err, "year");
    let (status, err) = json(app.get("/api/progress?year=2017").await).await;
    assert_field_error(status, &err, "year");
    app.load_demo().await;
    let cases = [
        (json!({"year": 2017, "as_of": "2018-03-01"}), "as_of"),
        (json!({"year": 2017, "as_of": "2017-09-01"}), "as_of"),
        (json!({"year": 2016, "as_of": "2016-07-01"}), "nothing"),
        (json!({"year": 2017, "as_of": "14.7.2017"}), "as_of"),
        (json!({"year": "2017"}), "year"),
        (json!({"year": 2017, "colour": 1}), "colour"),
    ];
    for (body, field) in cases {
        let (status, err) = json(app.post("/api/circulars", &body).await).await;
        if field == "nothing" {
            assert_eq!(status, 201, "2016 has plans: {err}");
            continue;
        }
        assert_eq!(status, 422, "{body}: {err}");
        assert!(err["error"]["fields"].to_string().contains(field), "{body}: {err}");
    }
    let (status, err) = json(app.get("/api/progress?year=2017&as_of=2016-12-31").await).await;
    assert_field_error(status, &err, "as_of");
    let (status, err) = json(app.get("/api/progress?year=abc").await).await;
    assert_field_error(status, &err, "year");
    let (status, _) = json(app.post_raw("/api/circulars", "{\"year\": 20").await).await;
    assert_eq!(status, 400);

    let (_, list) = json(app.get("/api/circulars").await).await;
    assert_eq!(list["total"], 1, "only the valid 2016 circular was written");
    assert_eq!(list["items"][0]["number"], "市监通〔2016〕1号");
}

async fn monthly_schedule_issues_once_per_month(db: Db) {
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let config = move |c: &mut Common| {
        c.today = chrono::NaiveDate::from_ymd_opt(2017, 8, 14);
        c.circular_schedule = Some("monthly:14".into());
        c.smtp_url = Some(url);
    };
    let app = TestApp::new(db, config.clone()).await;
    app.load_demo().await;
    // The schedule checks at start-up: restart to have it see the demo data.
    let again = app.restart_with(config.clone()).await;
    let mut list = Value::Null;
    for _ in 0..200 {
        list = json(app.get("/api/circulars").await).await.1;
        if list["total"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(list["total"], 1, "{list}");
    assert_eq!(list["items"][0]["issued_by"], "schedule");
    assert_eq!(list["items"][0]["schedule_period"], "monthly:2017-08");
    assert_eq!(list["items"][0]["as_of"], "2017-08-14");
    // Another restart the same day, and a third instance: still one. Its
    // start-up check has run (or not) once its schedule has ended; check
    // once more, directly.
    let third = again.restart_with(config).await;
    third.stop_background().await;
    let issued = third
        .ctx
        .run(bayige::app::schedule::run_once)
        .await
        .expect("schedule check");
    assert_eq!(issued, None, "nothing more to issue this month");
    let (_, list) = json(third.get("/api/circulars").await).await;
    assert_eq!(list["total"], 1, "idempotent per period");
    let mails = smtp.wait_for(7, Duration::from_secs(10)).await;
    assert_eq!(mails.len(), 7);
}
