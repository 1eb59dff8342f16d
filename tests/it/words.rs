//! Words a Baishan clerk reads: a planned station that is dropped reads
//! 取消建站计划 (it was never named), a station stripped of its title
//! 已撤销, the model station 样板站 — on the pages and in the export.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::pages::sign_in;
use crate::support::{TestApp, issue_token, json};

backend_tests!(a_dropped_plan_is_not_a_revoked_title);

async fn station(app: &TestApp, unit: i64, name: &str, established_on: Option<&str>) -> i64 {
    let mut body = json!({"unit_id": unit, "name": name, "host_business": format!("{name}经营者"),
        "category": "mall", "address": "白山市民主路12号", "liaison_name": "王丽华",
        "liaison_phone": "13943900001", "standard_id": "baxiangyi-common"});
    if let Some(on) = established_on {
        body["status"] = json!("established");
        body["established_on"] = json!(on);
    }
    let (status, s) = json(app.post("/api/stations", &body).await).await;
    assert_eq!(status, 201, "{s}");
    s["id"].as_i64().expect("id")
}

async fn move_to(app: &TestApp, id: i64, to: &str) -> Value {
    let body = json!({"status": to, "reason": "测试", "effective_on": "2017-06-30"});
    let (status, s) = json(app.post(&format!("/api/stations/{id}/status"), &body).await).await;
    assert_eq!(status, 200, "{s}");
    s
}

async fn a_dropped_plan_is_not_a_revoked_title(app: TestApp) {
    let unit = app.unit("220602", "浑江区").await;
    let dropped = station(&app, unit, "计划站甲", None).await;
    let stripped = station(&app, unit, "已建站乙", Some("2016-05-01")).await;
    let model = station(&app, unit, "白山电信丙", Some("2016-05-01")).await;
    for (id, to) in [(dropped, "revoked"), (stripped, "revoked"), (model, "model")] {
        assert_eq!(move_to(&app, id, to).await["status"], to);
    }

    let ctx = app.ctx.clone();
    tokio::task::spawn_blocking(move || issue_token(&ctx, "clerk", "admin", &[]))
        .await
        .expect("join");
    let (client, _) = sign_in(&app, "clerk").await;
    let page = |path: String| {
        let client = client.clone();
        let url = app.url(&path);
        async move { client.get(url).send().await.expect("page").text().await.expect("text") }
    };
    let badge = |label: &str, colour: &str| format!("<span class=\"badge {colour}\">{label}</span>");
    let p = page(format!("/stations/{dropped}")).await;
    assert!(p.contains(&badge("取消建站计划", "red")), "{p}");
    assert!(!p.contains("已撤销"), "{p}");
    let p = page(format!("/stations/{stripped}")).await;
    assert!(
        p.contains(&badge("已撤销", "red")) && !p.contains("取消建站计划"),
        "{p}"
    );
    let p = page(format!("/stations/{model}")).await;
    assert!(p.contains(&badge("样板站", "green")) && !p.contains("示范站"), "{p}");
    let list = page(format!("/stations?unit_id={unit}")).await;
    for label in ["取消建站计划", "已撤销", "样板站"] {
        assert!(
            list.contains(&badge(label, if label == "样板站" { "green" } else { "red" })),
            "{label}: {list}"
        );
    }

    let r = app.get("/api/stations/export?format=csv").await;
    assert_eq!(r.status(), 200);
    let csv = r.text().await.expect("csv");
    let row = |name: &str| csv.lines().find(|l| l.contains(name)).unwrap_or_default().to_owned();
    assert!(row("计划站甲").contains(",取消建站计划,"), "{csv}");
    assert!(row("已建站乙").contains(",已撤销,2016-05-01"), "{csv}");
    assert!(row("白山电信丙").contains(",样板站,"), "{csv}");
}
