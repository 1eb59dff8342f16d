//! Spreadsheet exports read back with openpyxl, a reader this project did
//! not write (installed by `.ci/run` into target/py).

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use crate::backend_cases;
use crate::circulars::baishan;
use crate::smtp::SmtpServer;
use crate::support::{Db, TestApp, assert_field_error, json};

backend_cases!(the_register_goes_out_to_excel, the_progress_table_goes_out_to_excel);

/// Dumps the first sheet: values (dates as ISO text), number formats,
/// bold, frozen panes and the filter range.
const DUMP: &str = r#"
import sys, json, datetime, openpyxl
ws = openpyxl.load_workbook(sys.argv[1]).worksheets[0]
def v(c):
    return c.value.isoformat() if isinstance(c.value, (datetime.date, datetime.datetime)) else c.value
print(json.dumps({
    "rows": [[v(c) for c in r] for r in ws.iter_rows()],
    "formats": [[c.number_format for c in r] for r in ws.iter_rows()],
    "bold": [bool(r[0].font and r[0].font.b) for r in ws.iter_rows()],
    "freeze": ws.freeze_panes,
    "filter": ws.auto_filter.ref,
}, ensure_ascii=False))
"#;

fn openpyxl(xlsx: &[u8]) -> Value {
    let py = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/py/bin/python");
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("t.xlsx");
    std::fs::write(&path, xlsx).expect("write");
    let out = Command::new(&py)
        .args(["-c", DUMP])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("{} with openpyxl (.ci/run installs it): {e}", py.display()));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON from the dump")
}

async fn download(app: &TestApp, path: &str) -> Vec<u8> {
    let r = app.get(path).await;
    assert_eq!(r.status(), 200, "{path}");
    r.bytes().await.expect("body").to_vec()
}

async fn total(app: &TestApp, query: &str) -> usize {
    let (_, page) = json(app.get(&format!("/api/stations?per_page=1{query}")).await).await;
    page["total"].as_u64().expect("total") as usize
}

async fn the_register_goes_out_to_excel(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;
    let (_, units) = json(app.get("/api/units").await).await;
    let jiangyuan = &units["items"][1];
    let unit = jiangyuan["id"].as_i64().expect("id");
    let evil = "=HYPERLINK(\"http://evil.example\",\"点我\")";
    let (status, s) = json(
        app.post(
            "/api/stations",
            &json!({"unit_id": unit, "name": evil, "host_business": "+白山市江源百货有限公司",
                    "credit_code": "91350100M000100Y43", "category": "mall", "address": "白山市江源区孙家堡子大街1号",
                    "liaison_name": "王丽华", "liaison_phone": "0439-3221234", "standard_id": "baxiangyi-common"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{s}");

    let sheet = openpyxl(&download(&app, "/api/stations/export?format=xlsx").await);
    let rows = sheet["rows"].as_array().expect("rows");
    assert_eq!(
        rows[0],
        json!([
            "单位代码",
            "服务站名称",
            "经营者",
            "统一社会信用代码",
            "类别",
            "地址",
            "联络员",
            "联络电话",
            "检查标准",
            "状态",
            "建站日期"
        ])
    );
    assert_eq!(sheet["freeze"], "A2");
    assert_eq!(sheet["filter"], format!("A1:K{}", rows.len()));
    assert_eq!(rows.len() - 1, total(&app, "").await, "every station, no paging");
    let row = rows
        .iter()
        .find(|r| r[3] == "91350100M000100Y43")
        .expect("the new station");
    assert_eq!(row[0], jiangyuan["code"]);
    assert_eq!(row[1], format!("'{evil}"), "a formula is neutralised");
    assert_eq!(row[2], "'+白山市江源百货有限公司");
    assert_eq!((&row[4], &row[9]), (&json!("商场"), &json!("计划建设")));

    // The list's filters apply.
    let sheet = openpyxl(&download(&app, &format!("/api/stations/export?unit_id={unit}")).await);
    let rows = sheet["rows"].as_array().expect("rows");
    assert_eq!(rows.len() - 1, total(&app, &format!("&unit_id={unit}")).await);
    assert!(rows[1..].iter().all(|r| r[0] == jiangyuan["code"]));

    // CSV: UTF-8 with a byte-order mark, one line a station.
    let csv =
        String::from_utf8(download(&app, "/api/stations/export?format=csv&status=established").await).expect("UTF-8");
    assert!(csv.starts_with("\u{feff}单位代码,服务站名称"), "{csv}");
    assert_eq!(csv.lines().count() - 1, total(&app, "&status=established").await);

    // A county lead gets the own unit's stations only.
    let lead = app.as_user("lead_jy", "county_lead", &[unit as i32]).await;
    let sheet = openpyxl(&download(&lead, "/api/stations/export").await);
    let rows = sheet["rows"].as_array().expect("rows");
    assert!(rows.len() > 1 && rows[1..].iter().all(|r| r[0] == jiangyuan["code"]));

    for (query, field) in [
        ("format=pdf", "format"),
        ("unit_id=x", "unit_id"),
        ("status=gone", "status"),
    ] {
        let (status, err) = json(app.get(&format!("/api/stations/export?{query}")).await).await;
        assert_field_error(status, &err, field);
    }
}

async fn the_progress_table_goes_out_to_excel(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;
    let sheet = openpyxl(&download(&app, "/api/progress/export?year=2017&as_of=2017-07-14").await);
    let rows = sheet["rows"].as_array().expect("rows");
    assert!(
        rows[0][0]
            .as_str()
            .is_some_and(|t| t.contains("2017年") && t.contains("截至2017年7月14日")),
        "{}",
        rows[0][0]
    );
    assert_eq!(rows[1][0], "未达序时进度");
    assert_eq!(rows[1][6], "序时进度应建成");
    let i = rows.iter().position(|r| r[2] == "江源区").expect("江源区");
    let jy = &rows[i];
    assert_eq!(jy[0], "▲", "lagging units are marked");
    assert_eq!(
        (&jy[3], &jy[4], &jy[6], &jy[7]),
        (&json!("年底前建成40个"), &json!(18), &json!(22), &json!("尚差4个"))
    );
    assert_eq!(jy[5], 0.45);
    assert!(
        sheet["formats"][i][5].as_str().is_some_and(|f| f.contains('%')),
        "{}",
        sheet["formats"][i]
    );
    let hj = rows.iter().find(|r| r[2] == "浑江区").expect("浑江区");
    assert_eq!((&hj[0], &hj[7]), (&Value::Null, &json!("超序时进度2个")));
    let last = rows.last().expect("totals");
    assert_eq!(
        (&last[2], &last[3], &last[6], &last[7]),
        (
            &json!("合计"),
            &json!("年底前建成330个"),
            &json!(177),
            &json!("尚差13个")
        )
    );
    let cells = rows.iter().filter_map(Value::as_array).flatten();
    assert!(
        cells
            .filter_map(Value::as_str)
            .all(|s| !(s.contains('.') && s.ends_with('个')))
    );

    let (status, err) = json(app.get("/api/progress/export?year=2017&format=doc").await).await;
    assert_field_error(status, &err, "format");
}
