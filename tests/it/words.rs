//! Words a Baishan clerk reads: a planned station that is dropped reads
//! 取消建站计划 (it was never named), a station stripped of its title
//! 已撤销, the model station 样板站 — on the pages and in the export; the
//! progress page counts standing stations by the 五进.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::pages::sign_in;
use crate::support::{TestApp, issue_token, json};

backend_tests!(
    a_dropped_plan_is_not_a_revoked_title,
    the_progress_page_counts_by_the_five_entries
);

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

/// The cells of each row of the table that follows `marker` in `html`.
fn table_after(html: &str, marker: &str) -> Vec<Vec<String>> {
    let start = html.find(marker).expect("the table is on the page");
    let table = &html[start..start + html[start..].find("</table>").expect("table end")];
    table
        .split("<tr>")
        .skip(1)
        .map(|row| {
            let marked = row.replace("</td>", "\u{1}").replace("</th>", "\u{1}");
            let mut text = String::new();
            let mut in_tag = false;
            for ch in marked.chars() {
                match ch {
                    '<' => in_tag = true,
                    '>' => in_tag = false,
                    c if !in_tag => text.push(c),
                    _ => {}
                }
            }
            text.split('\u{1}').map(|c| c.trim().to_owned()).collect()
        })
        .collect()
}

async fn the_progress_page_counts_by_the_five_entries(app: TestApp) {
    app.load_demo().await;
    // What stands in the demo (nothing changes after mid-July 2017), per
    // category, from the register API.
    let mut standing = std::collections::HashMap::new();
    let categories = [
        "mall",
        "supermarket",
        "market",
        "enterprise",
        "scenic_spot",
        "hotel",
        "telecom",
        "finance",
        "post_express",
        "other",
    ];
    for category in categories {
        let mut n = 0;
        for status in ["established", "model", "rectifying"] {
            let (_, page) = json(
                app.get(&format!("/api/stations?per_page=1&category={category}&status={status}"))
                    .await,
            )
            .await;
            n += page["total"].as_i64().expect("total");
        }
        standing.insert(category, n);
    }
    let other: i64 = ["hotel", "telecom", "finance", "post_express", "other"]
        .iter()
        .map(|c| standing[c])
        .sum();
    let expected = [
        ("商场", standing["mall"]),
        ("超市", standing["supermarket"]),
        ("市场", standing["market"]),
        ("企业", standing["enterprise"]),
        ("景区", standing["scenic_spot"]),
        ("其他行业", other),
    ];

    let ctx = app.ctx.clone();
    tokio::task::spawn_blocking(move || issue_token(&ctx, "clerk", "admin", &[]))
        .await
        .expect("join");
    let (client, _) = sign_in(&app, "clerk").await;
    let url = app.url("/progress?year=2017&as_of=2017-07-14");
    let html = client.get(url).send().await.expect("page").text().await.expect("text");
    let rows = table_after(&html, "id=\"five-entries\"");
    assert_eq!(rows.len(), 8, "header, six entries, total: {rows:?}");
    assert_eq!(rows[0][..3], ["类别", "服务站", "其中"]);
    let mut sum = 0;
    for ((label, n), row) in expected.iter().zip(&rows[1..7]) {
        assert_eq!(
            (row[0].as_str(), row[1].parse::<i64>().ok()),
            (*label, Some(*n)),
            "{rows:?}"
        );
        sum += n;
    }
    assert!(
        other > 0 && rows[6][2].contains("电信"),
        "finer categories beside 其他行业: {rows:?}"
    );
    assert_eq!(
        sum, 164,
        "the five entries add up to the stations standing in mid-July 2017"
    );
    assert_eq!((rows[7][0].as_str(), rows[7][1].as_str()), ("合计", "164"));
}
