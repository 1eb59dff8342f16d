//! The outbox: deliveries survive an SMTP server that is down or refuses,
//! are sent once each, and can be sent from a test without the worker.

use std::time::Duration;

use serde_json::json;

use crate::backend_cases;
use crate::circulars::{baishan, deliveries, issue, settle, to};
use crate::smtp::SmtpServer;
use crate::support::{Db, TestApp, json};

backend_cases!(
    smtp_down_then_up_delivers_each_email_once,
    failure_past_max_attempts_shows_and_can_be_retried,
    run_pending_sends_what_is_due_without_the_worker,
);

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
