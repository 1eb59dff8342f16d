//! The outbox: deliveries survive an SMTP server that is down or refuses,
//! are sent once each, and can be sent from a test without the worker.

use std::time::Duration;

use serde_json::json;

use crate::backend_cases;
use crate::circulars::{baishan, deliveries, issue, settle, to};
use crate::smtp::SmtpServer;
use crate::support::{Db, TestApp, assert_field_error, json};

backend_cases!(
    smtp_down_then_up_delivers_each_email_once,
    failure_past_max_attempts_shows_and_can_be_retried,
    run_pending_sends_what_is_due_without_the_worker,
    a_bad_recipient_name_fails_alone_and_mail_goes_on,
    a_delivery_cut_off_on_every_attempt_is_failed_and_retryable,
    names_that_reach_a_mail_header_refuse_control_characters,
);

/// Runs `f` on a connection of the app's database: for rows that the API
/// would refuse (data from before a rule existed).
async fn on_db<T: Send + 'static>(
    app: &TestApp,
    f: impl FnOnce(&mut bayige::db::DbConnection) -> T + Send + 'static,
) -> T {
    let ctx = app.ctx.clone();
    tokio::task::spawn_blocking(move || f(&mut ctx.pool.get().expect("conn")))
        .await
        .expect("join")
}

/// The first county lead: (id, email).
async fn a_county_lead(app: &TestApp) -> (i64, String) {
    let (_, users) = json(app.get("/api/users").await).await;
    let list = users
        .as_array()
        .or(users["items"].as_array())
        .cloned()
        .unwrap_or_default();
    let lead = list
        .iter()
        .map(|u| if u["user"].is_object() { &u["user"] } else { u })
        .find(|u| u["role"] == "county_lead")
        .cloned()
        .expect("a county lead");
    (
        lead["id"].as_i64().expect("id"),
        lead["email"].as_str().expect("email").to_owned(),
    )
}

/// A name with a line break (stored before names were checked) makes the
/// mail library give up building the `To` header. That one delivery fails
/// with its reason; every other one is delivered, and the worker lives on.
async fn a_bad_recipient_name_fails_alone_and_mail_goes_on(db: Db) {
    use bayige::db::schema::users;
    use diesel::prelude::*;
    let smtp = SmtpServer::start();
    let app = crate::circulars::baishan(db, &smtp).await;
    let (lead, bad_email) = a_county_lead(&app).await;
    on_db(&app, move |conn| {
        diesel::update(users::table.filter(users::id.eq(lead as i32)))
            .set(users::display_name.eq("江源区\r\nBcc: someone@evil.example"))
            .execute(conn)
            .expect("legacy name")
    })
    .await;
    let c = issue(&app).await;
    let ds = settle(&app, &c, &["sent", "failed"]).await;
    let (failed, sent): (Vec<_>, Vec<_>) = ds.iter().partition(|d| d["status"] == "failed");
    assert_eq!(failed.len(), 1, "{ds:?}");
    assert_eq!(failed[0]["recipient_email"], bad_email.as_str());
    assert!(
        failed[0]["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("cannot build or send the message")),
        "the reason is kept: {:?}",
        failed[0]
    );
    assert_eq!(sent.len(), 7, "every good recipient is served: {ds:?}");
    let mails = smtp.wait_for(7, Duration::from_secs(10)).await;
    assert_eq!(mails.len(), 7);
    assert!(mails.iter().all(|m| to(m) != bad_email), "nothing went to the bad one");
    // The worker is still there: the next circular goes out too.
    let (status, next) = json(
        app.post("/api/circulars", &json!({"year": 2017, "as_of": "2017-07-13"}))
            .await,
    )
    .await;
    assert_eq!(status, 201, "{next}");
    let ds = settle(&app, &next, &["sent", "failed"]).await;
    assert_eq!(ds.iter().filter(|d| d["status"] == "sent").count(), 7, "{ds:?}");
    // And it never panicked (this joins it and fails on a panic).
    app.stop_background().await;
}

/// A delivery whose sending ended its worker on every attempt (left
/// `sending`, lease run out, attempts used up) is shown as failed with the
/// reason instead of being taken up forever, and can be retried.
async fn a_delivery_cut_off_on_every_attempt_is_failed_and_retryable(db: Db) {
    use bayige::db::schema::deliveries;
    use bayige::domain::DeliveryStatus;
    use diesel::prelude::*;
    let smtp = SmtpServer::start();
    let url = smtp.url();
    let app = TestApp::new(db, move |c| {
        c.today = chrono::NaiveDate::from_ymd_opt(2017, 7, 14);
        c.smtp_url = Some(url);
        c.mail_max_attempts = 3;
    })
    .await;
    app.load_demo().await;
    app.stop_background().await;
    let c = issue(&app).await;
    let stuck = deliveries(&app, &c).await[0]["id"].as_i64().expect("id") as i32;
    on_db(&app, move |conn| {
        let past = bayige::db::now() - chrono::TimeDelta::minutes(30);
        diesel::update(deliveries::table.find(stuck))
            .set((
                deliveries::status.eq(DeliveryStatus::Sending),
                deliveries::attempts.eq(3),
                deliveries::claimed_until.eq(Some(past)),
            ))
            .execute(conn)
            .expect("a delivery cut off mid-send")
    })
    .await;
    app.run_pending().await;
    let ds = deliveries(&app, &c).await;
    let d = ds.iter().find(|d| d["id"] == stuck).expect("the stuck one");
    assert_eq!(d["status"], "failed", "{d}");
    assert!(d["last_error"].as_str().is_some_and(|e| e.contains("cut off")), "{d}");
    assert_eq!(smtp.mails().len(), ds.len() - 1, "the others were sent");

    let path = format!("/api/circulars/{}/deliveries/{stuck}/retry", c["id"]);
    let (status, d) = json(app.post(&path, &json!({})).await).await;
    assert_eq!((status, d["status"].as_str()), (200, Some("pending")), "{d}");
    assert_eq!(app.run_pending().await, 1);
    let ds = deliveries(&app, &c).await;
    assert!(ds.iter().all(|d| d["status"] == "sent"), "{ds:?}");
    assert_eq!(smtp.mails().len(), ds.len());
}

/// A name or a copy-list entry with a line break is refused where it is
/// typed, naming the field.
async fn names_that_reach_a_mail_header_refuse_control_characters(db: Db) {
    let app = TestApp::new(db, |_| {}).await;
    let (status, body) = json(
        app.post(
            "/api/users",
            &json!({"username": "lead9", "display_name": "张三\r\nBcc: x@evil.example",
                "role": "viewer", "email": "lead9@example.org"}),
        )
        .await,
    )
    .await;
    assert_field_error(status, &body, "display_name");
    let (status, user) = json(
        app.post(
            "/api/users",
            &json!({"username": "lead9", "display_name": "张三", "role": "viewer"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let id = user["user"]["id"].as_i64().or(user["id"].as_i64()).expect("id");
    let (status, body) = json(
        app.patch(&format!("/api/users/{id}"), &json!({"display_name": "张\t三"}))
            .await,
    )
    .await;
    assert_field_error(status, &body, "display_name");
    let (_, after) = json(app.get(&format!("/api/users/{id}")).await).await;
    assert!(after.to_string().contains("张三"), "unchanged: {after}");
    assert!(bayige::cli::parse_cc("\"A\r\nB\" <a@example.org>").is_err());
    assert!(bayige::cli::parse_cc("办公室 <office@example.org>").is_ok());
}

async fn smtp_down_then_up_delivers_each_email_once(db: Db) {
    // A port with nothing listening: the server is down.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let url = format!("smtp://127.0.0.1:{port}");
    let app = TestApp::new(db, move |c| {
        c.today = chrono::NaiveDate::from_ymd_opt(2017, 7, 14);
        c.smtp_url = Some(url);
        c.mail_max_attempts = 50;
        c.mail_retry_base_ms = 50;
    })
    .await;
    app.load_demo().await;
    let c = issue(&app).await;
    // Wait (bounded) until the worker has tried each one at least once.
    let mut ds = Vec::new();
    for _ in 0..400 {
        ds = deliveries(&app, &c).await;
        if ds.len() == 7
            && ds
                .iter()
                .all(|d| d["attempts"].as_i64().unwrap_or(0) >= 1 && d["last_error"].is_string())
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(ds.len(), 7);
    assert!(ds.iter().all(|d| d["status"] != "sent"), "nothing can be sent yet");
    assert!(
        ds.iter()
            .all(|d| d["attempts"].as_i64().unwrap_or(0) >= 1 && d["last_error"].is_string()),
        "{ds:?}"
    );

    let smtp = SmtpServer::start_on(port);
    let ds = settle(&app, &c, &["sent"]).await;
    assert!(
        ds.iter().all(|d| d["attempts"].as_i64().unwrap_or(0) >= 2),
        "retried: {ds:?}"
    );
    // Every delivery is recorded as sent; with the worker ended, no copy
    // can still be on its way.
    app.stop_background().await;
    let mails = smtp.mails();
    assert_eq!(mails.len(), 7, "each email exactly once");
    let mut to_list: Vec<String> = mails.iter().map(to).collect();
    to_list.sort();
    to_list.dedup();
    assert_eq!(to_list.len(), 7);
}

async fn failure_past_max_attempts_shows_and_can_be_retried(db: Db) {
    let smtp = SmtpServer::start();
    smtp.set_rejecting(true);
    let url = smtp.url();
    let app = TestApp::new(db, move |c| {
        c.today = chrono::NaiveDate::from_ymd_opt(2017, 7, 14);
        c.smtp_url = Some(url);
        c.mail_max_attempts = 3;
        c.mail_retry_base_ms = 20;
    })
    .await;
    app.load_demo().await;
    let c = issue(&app).await;
    let ds = settle(&app, &c, &["failed"]).await;
    for d in &ds {
        assert_eq!(d["attempts"], 3);
        assert!(d["last_error"].as_str().unwrap_or("").contains("451"), "{d}");
    }
    let (_, detail) = json(app.get(&format!("/api/circulars/{}", c["id"])).await).await;
    assert_eq!(detail["deliveries"]["failed"], 7);
    assert!(smtp.mails().is_empty());

    smtp.set_rejecting(false);
    let first = &ds[0];
    let path = format!("/api/circulars/{}/deliveries/{}/retry", c["id"], first["id"]);
    let (status, d) = json(app.post(&path, &json!({})).await).await;
    assert_eq!((status, d["status"].as_str()), (200, Some("pending")), "{d}");
    let mails = smtp.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mails.len(), 1);
    assert_eq!(to(&mails[0]), first["recipient_email"].as_str().unwrap_or(""));
    settle(&app, &c, &["sent", "failed"]).await;
    let (_, now) = json(app.get(&format!("/api/circulars/{}", c["id"])).await).await;
    assert_eq!(now["deliveries"]["sent"], 1, "{now}");
    assert_eq!(now["deliveries"]["failed"], 6, "the others stay failed");
    let (status, err) = json(app.post(&path, &json!({})).await).await;
    assert_eq!(
        (status, err["error"]["code"].as_str()),
        (409, Some("conflict")),
        "a sent delivery is not resent"
    );
    let (status, _) = json(
        app.post(
            &format!("/api/circulars/{}/deliveries/99999/retry", c["id"]),
            &json!({}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 404);
}

/// `run_pending` sends everything due, in the caller's task, and says how
/// many deliveries it handled: tests need not wait for the worker.
async fn run_pending_sends_what_is_due_without_the_worker(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;
    app.stop_background().await;
    let c = issue(&app).await;
    assert!(
        deliveries(&app, &c).await.iter().all(|d| d["status"] == "pending"),
        "no worker runs"
    );
    assert_eq!(app.run_pending().await, 8, "7 county leads and the office");
    assert_eq!(smtp.mails().len(), 8, "the SMTP server has each one already");
    let ds = deliveries(&app, &c).await;
    assert!(ds.iter().all(|d| d["status"] == "sent"), "{ds:?}");
    assert_eq!(app.run_pending().await, 0, "nothing is due any more");
    assert_eq!(smtp.mails().len(), 8);
}
