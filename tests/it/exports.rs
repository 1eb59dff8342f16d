//! The guidance list and the visit records go out to Excel and CSV with the
//! lists' filters and the reader's scope; read back with openpyxl.

use serde_json::{Value, json};

use crate::backend_cases;
use crate::circulars::baishan;
use crate::smtp::SmtpServer;
use crate::spreadsheets::{download, openpyxl};
use crate::support::{Db, TestApp, assert_field_error, json};

backend_cases!(the_guidance_list_goes_out_to_excel, the_visit_records_go_out_to_excel);

const EVIL: &str = "=HYPERLINK(\"http://evil.example\",\"点我\")";

/// 江源区 (its id and name) and one of its standing stations.
async fn jiangyuan_station(app: &TestApp) -> (i64, i64) {
    let (_, units) = json(app.get("/api/units").await).await;
    let unit = &units["items"][1];
    assert_eq!(unit["name"], "江源区");
    let unit = unit["id"].as_i64().expect("unit id");
    let (_, page) = json(
        app.get(&format!("/api/stations?unit_id={unit}&status=established&per_page=1"))
            .await,
    )
    .await;
    (unit, page["items"][0]["id"].as_i64().expect("a standing station"))
}

/// A routine visit on the demo's "today" that finds the bulletin board
/// missing, with an instruction a spreadsheet would run as a formula.
pub(crate) async fn failed_visit(app: &TestApp, station: i64) -> Value {
    let (_, template) = json(app.get(&format!("/api/stations/{station}/visit-template")).await).await;
    let items: Vec<Value> = template["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| match i["code"].as_str() {
            Some("bulletin") => json!({"code": "bulletin", "result": "unmet", "note": "未设宣传栏",
                                       "instruction": EVIL, "due_on": "2017-07-20"}),
            code => json!({"code": code, "result": "met"}),
        })
        .collect();
    let body = json!({"kind": "routine", "visited_on": "2017-07-14", "inspector": "吴晓伟",
                      "summary": "回访", "items": items});
    let (status, v) = json(app.post(&format!("/api/stations/{station}/visits"), &body).await).await;
    assert_eq!(status, 201, "{v}");
    v
}

async fn list_total(app: &TestApp, query: &str) -> usize {
    let (status, page) = json(app.get(&format!("/api/guidance?per_page=1&{query}")).await).await;
    assert_eq!(status, 200, "{page}");
    page["total"].as_u64().expect("total") as usize
}

fn rows(sheet: &Value) -> &Vec<Value> {
    sheet["rows"].as_array().expect("rows")
}

async fn the_guidance_list_goes_out_to_excel(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;
    let (unit, station) = jiangyuan_station(&app).await;
    failed_visit(&app, station).await;

    let sheet = openpyxl(&download(&app, "/api/guidance/export?as_of=2017-08-01").await);
    let all = rows(&sheet);
    assert!(
        all[0][0].as_str().is_some_and(|t| t.contains("截至2017年8月1日")),
        "the title says the day overdue is judged on: {}",
        all[0][0]
    );
    assert_eq!(
        all[1],
        json!([
            "逾期",
            "单位",
            "服务站名称",
            "检查项目",
            "整改意见",
            "检查日期",
            "整改期限",
            "状态",
            "整改完成日期"
        ])
    );
    assert_eq!(sheet["freeze"], "A3");
    assert_eq!(sheet["filter"], format!("A2:I{}", all.len()));
    assert_eq!(
        all.len() - 2,
        list_total(&app, "as_of=2017-08-01").await,
        "every row, no paging"
    );
    let marked = all[2..].iter().filter(|r| r[0] == "▲").count();
    assert_eq!(
        marked,
        list_total(&app, "as_of=2017-08-01&status=overdue").await,
        "overdue rows are marked"
    );

    let i = all
        .iter()
        .position(|r| r[4] == format!("'{EVIL}"))
        .expect("the new guidance, neutralised");
    let ours = &all[i];
    assert_eq!(
        (&ours[0], &ours[1], &ours[3], &ours[5], &ours[6], &ours[7]),
        (
            &json!("▲"),
            &json!("江源区"),
            &json!("一块宣传栏"),
            &json!("2017-07-14T00:00:00"),
            &json!("2017-07-20T00:00:00"),
            &json!("逾期未整改")
        ),
        "{ours}"
    );
    assert_eq!(sheet["formats"][i][6], "yyyy-mm-dd", "a date cell");
    for r in &all[2..] {
        assert!(
            ["整改中", "逾期未整改", "已整改"].contains(&r[7].as_str().unwrap_or("")),
            "a Chinese status: {r}"
        );
        let item = r[3].as_str().unwrap_or("");
        assert!(
            !item.is_empty() && !item.is_ascii(),
            "an item's Chinese title, not its code: {r}"
        );
    }

    // The list's filters apply, and the reader's scope.
    let query = format!("as_of=2017-08-01&status=overdue&unit_id={unit}");
    let sheet = openpyxl(&download(&app, &format!("/api/guidance/export?{query}")).await);
    let some = rows(&sheet);
    assert_eq!(some.len() - 2, list_total(&app, &query).await);
    assert!(some[2..].iter().all(|r| r[0] == "▲" && r[1] == "江源区"), "{some:?}");
    let lead = app.as_user("lead_jy", "county_lead", &[unit as i32]).await;
    let sheet = openpyxl(&download(&lead, "/api/guidance/export?as_of=2017-08-01").await);
    let own = rows(&sheet);
    assert!(own.len() > 2 && own[2..].iter().all(|r| r[1] == "江源区"), "{own:?}");
    assert_eq!(lead.get("/api/guidance/export?unit_id=1").await.status(), 403);

    // CSV: UTF-8 with a byte-order mark, the title, the header, a line a row.
    let csv =
        String::from_utf8(download(&app, &format!("/api/guidance/export?format=csv&{query}")).await).expect("UTF-8");
    assert!(csv.starts_with("\u{feff}整改意见清单（截至2017年8月1日）"), "{csv}");
    assert!(csv.contains("逾期,单位,服务站名称,检查项目"), "{csv}");
    assert!(csv.contains("'=HYPERLINK"), "neutralised in CSV too");

    for (query, field) in [
        ("format=pdf", "format"),
        ("status=gone", "status"),
        ("as_of=8月1日", "as_of"),
        ("unit_id=x", "unit_id"),
    ] {
        let (status, err) = json(app.get(&format!("/api/guidance/export?{query}")).await).await;
        assert_field_error(status, &err, field);
    }

    // The guidance page links to the export with its filters.
    let (browser, _) = crate::pages::sign_in(&app, "admin").await;
    let page = browser
        .get(app.url(&format!("/guidance?status=overdue&unit_id={unit}&as_of=2017-08-01")))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    let link = format!("/api/guidance/export?as_of=2017-08-01&amp;status=overdue&amp;unit_id={unit}");
    assert!(page.contains(&link), "{page}");
}

async fn the_visit_records_go_out_to_excel(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;
    let (unit, station) = jiangyuan_station(&app).await;
    let visit = failed_visit(&app, station).await;

    let (_, history) = json(app.get(&format!("/api/stations/{station}/visits")).await).await;
    let history = history["items"].as_array().expect("history").len();
    let path = format!("/api/visits/export?station_id={station}");
    let sheet = openpyxl(&download(&app, &path).await);
    let all = rows(&sheet);
    assert_eq!(
        all[0],
        json!([
            "未达标",
            "单位",
            "服务站名称",
            "检查日期",
            "检查类型",
            "检查人员",
            "检查标准",
            "得分",
            "结论",
            "未达标项目",
            "检查后状态",
            "备注"
        ])
    );
    assert_eq!(sheet["freeze"], "A2");
    assert_eq!(sheet["filter"], format!("A1:L{}", all.len()));
    assert_eq!(all.len() - 1, history, "the station's whole history");
    let i = all.len() - 1;
    let ours = &all[i];
    assert_eq!(
        (
            &ours[0], &ours[1], &ours[3], &ours[4], &ours[5], &ours[8], &ours[9], &ours[11]
        ),
        (
            &json!("▲"),
            &json!("江源区"),
            &json!("2017-07-14T00:00:00"),
            &json!("日常检查"),
            &json!("吴晓伟"),
            &json!("未达标"),
            &json!("一块宣传栏"),
            &Value::Null
        ),
        "the newest visit comes last: {ours}"
    );
    assert!(
        ours[6]
            .as_str()
            .is_some_and(|s| s.contains("“八个一”标准") && s.contains("第1版")),
        "{ours}"
    );
    let score = visit["score"].as_f64().expect("score") / 100.0;
    assert!((ours[7].as_f64().expect("a number") - score).abs() < 1e-9, "{ours}");
    assert!(sheet["formats"][i][7].as_str().is_some_and(|f| f.contains('%')));
    assert_eq!(sheet["formats"][i][3], "yyyy-mm-dd");
    assert!(
        ours[10].as_str().is_some_and(|s| !s.is_empty() && !s.is_ascii()),
        "a Chinese status: {ours}"
    );

    // A voided visit stays in the record, said so, and is no longer marked.
    let (status, v) = json(
        app.post(
            &format!("/api/visits/{}/void", visit["id"]),
            &json!({"reason": "录入错误"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let sheet = openpyxl(&download(&app, &path).await);
    let last = rows(&sheet).last().cloned().expect("row");
    assert_eq!(
        (&last[0], &last[11]),
        (&Value::Null, &json!("已作废：录入错误")),
        "{last}"
    );

    // Filters: a unit, a kind and a date range.
    let query = format!("unit_id={unit}&kind=acceptance&from=2017-01-01&to=2017-06-30");
    let sheet = openpyxl(&download(&app, &format!("/api/visits/export?{query}")).await);
    let some = rows(&sheet);
    assert!(some.len() > 1, "江源区 has acceptance visits in the first half of 2017");
    for r in &some[1..] {
        let on = r[3].as_str().unwrap_or("");
        assert!(
            r[1] == "江源区" && r[4] == "验收检查" && ("2017-01-01".."2017-07-01").contains(&on),
            "{r}"
        );
    }
    let csv =
        String::from_utf8(download(&app, &format!("/api/visits/export?format=csv&{query}")).await).expect("UTF-8");
    assert!(csv.starts_with("\u{feff}未达标,单位,服务站名称,检查日期"), "{csv}");
    assert_eq!(csv.lines().count(), some.len(), "the same rows in CSV");

    // The reader's scope.
    let lead = app.as_user("lead_jy", "county_lead", &[unit as i32]).await;
    let sheet = openpyxl(&download(&lead, "/api/visits/export?from=2017-07-01").await);
    let own = rows(&sheet);
    assert!(own.len() > 1 && own[1..].iter().all(|r| r[1] == "江源区"), "{own:?}");
    let other = app.as_user("lead_other", "county_lead", &[unit as i32 + 1]).await;
    assert_eq!(other.get(&path).await.status(), 403);
    assert_eq!(app.get("/api/visits/export?station_id=999999").await.status(), 404);
    for (query, field) in [
        ("kind=inspection", "kind"),
        ("from=2017-07-14&to=2017-01-01", "to"),
        ("from=yesterday", "from"),
        ("format=doc", "format"),
        ("station_id=0", "station_id"),
    ] {
        let (status, err) = json(app.get(&format!("/api/visits/export?{query}")).await).await;
        assert_field_error(status, &err, field);
    }

    // The station page and the register link to the exports.
    let (browser, _) = crate::pages::sign_in(&app, "admin").await;
    let text = |path: String| {
        let browser = browser.clone();
        let url = app.url(&path);
        async move { browser.get(url).send().await.expect("page").text().await.expect("text") }
    };
    assert!(
        text(format!("/stations/{station}"))
            .await
            .contains(&format!("/api/visits/export?station_id={station}"))
    );
    let list = text(format!("/stations?unit_id={unit}&q=")).await;
    assert!(list.contains(&format!("/api/visits/export?unit_id={unit}")), "{list}");
    assert!(
        list.contains(&format!("/api/stations/export?unit_id={unit}\"")),
        "{list}"
    );
}
