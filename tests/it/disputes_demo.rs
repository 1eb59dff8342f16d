//! The demo's ledger reproduces the article's sentence about disputes.

use serde_json::Value;

use crate::backend_tests;
use crate::support::{TestApp, json};

backend_tests!(the_demo_ledger_matches_the_article);

fn rate(v: &Value) -> f64 {
    v.as_str().and_then(|s| s.parse().ok()).unwrap_or(-1.0)
}

async fn the_demo_ledger_matches_the_article(app: TestApp) {
    app.load_demo().await;
    let (status, stats) = json(app.get("/api/disputes/stats?year=2017&as_of=2017-07-14").await).await;
    assert_eq!(status, 200, "{stats}");
    let t = &stats["totals"];
    // "消费维权服务站自行调解消费纠纷共48件，和解率95%，为消费者挽回经济损失近4万余元"
    assert_eq!(t["handled"], 48, "{t}");
    let settlement = rate(&t["settlement_rate"]);
    assert!((94.0..=96.0).contains(&settlement), "和解率 about 95 %: {t}");
    let yuan: f64 = t["recovered"].as_str().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    assert!((38_000.0..=42_000.0).contains(&yuan), "about 40,000 yuan: {t}");
    assert!(
        t["dispatched"].as_i64().unwrap_or(0) >= 3,
        "a few 12315 dispatches: {t}"
    );

    // The model station at Baishan Telecom: 处理率100%，和解率95%，满意率95%.
    let (_, found) = json(app.get("/api/stations?status=model").await).await;
    let telecom = found["items"][0]["id"].as_i64().expect("model station");
    assert!(found["items"][0]["name"].as_str().unwrap_or("").starts_with("白山电信"));
    let (_, one) = json(
        app.get(&format!(
            "/api/disputes/stats?year=2017&as_of=2017-07-14&station_id={telecom}"
        ))
        .await,
    )
    .await;
    let row = &one["rows"][0];
    assert_eq!(row["handled_rate"], "100.0", "{row}");
    assert_eq!(row["settlement_rate"], "95.0", "{row}");
    assert_eq!(row["satisfaction_rate"], "95.0", "{row}");

    // One dispatch is overdue, and names are masked for the bureau.
    let (_, overdue) = json(app.get("/api/disputes?overdue=true&channel=dispatch").await).await;
    assert_eq!(overdue["total"], 1, "{overdue}");
    assert_eq!(overdue["items"][0]["personal_masked"], true);
    assert!(
        overdue["items"][0]["consumer_phone"]
            .as_str()
            .unwrap_or("")
            .contains("****")
    );

    // The circular says it in the clerk's words, without a name.
    let (status, preview) = json(
        app.post(
            "/api/circulars/preview",
            &serde_json::json!({"year": 2017, "as_of": "2017-07-14"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{preview}");
    let text = preview["body_text"].as_str().unwrap_or("");
    assert!(
        text.contains("消费维权服务站自行调解消费纠纷共48件，和解率95.8%"),
        "{text}"
    );
    assert!(text.contains("挽回经济损失40000元"), "{text}");

    // The Telecom station's account is among the demo accounts.
    let ctx = app.ctx.clone();
    let accounts = tokio::task::spawn_blocking(move || {
        let mut conn = ctx.pool.get().expect("conn");
        bayige::app::demo::reset_demo_passwords(&mut conn).expect("demo accounts")
    })
    .await
    .expect("join");
    assert!(
        accounts
            .iter()
            .any(|(name, role, _)| name == "station-telecom" && role.as_str() == "station")
    );
    let (_, users) = json(app.get("/api/users").await).await;
    let account = users["items"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["username"] == "station-telecom"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(account["station_id"], telecom, "{account}");
}
