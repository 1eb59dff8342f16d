//! Spreadsheet exports read back with openpyxl, a reader this project did
//! not write (installed by `.ci/run` into target/py).

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};

use crate::backend_cases;
use crate::circulars::baishan;
use crate::smtp::SmtpServer;
use crate::support::{Db, TestApp, assert_field_error, json};

backend_cases!(
    the_register_goes_out_to_excel,
    the_progress_table_goes_out_to_excel,
    the_register_comes_back_from_excel,
);

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

pub(crate) fn openpyxl(xlsx: &[u8]) -> Value {
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

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes())
        .records()
        .map(|r| r.expect("CSV record").iter().map(str::to_owned).collect())
        .collect()
}

fn to_csv(rows: &[Vec<String>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.write_record(r).expect("record");
    }
    w.into_inner().expect("bytes")
}

async fn import(app: &TestApp, file: Vec<u8>, name: &str, dry_run: bool) -> (u16, Value) {
    let part = reqwest::multipart::Part::bytes(file).file_name(name.to_owned());
    let form = reqwest::multipart::Form::new().part("file", part);
    let url = app.url(&format!("/api/stations/import?dry_run={dry_run}"));
    json(app.client.post(url).multipart(form).send().await.expect("POST")).await
}

async fn audit_total(app: &TestApp) -> i64 {
    json(app.get("/api/audit?entity=station&per_page=1").await).await.1["total"]
        .as_i64()
        .expect("total")
}

fn counts(report: &Value) -> (i64, i64, i64, usize) {
    (
        report["created"].as_i64().unwrap_or(-1),
        report["updated"].as_i64().unwrap_or(-1),
        report["unchanged"].as_i64().unwrap_or(-1),
        report["errors"].as_array().map_or(99, Vec::len),
    )
}

async fn the_register_comes_back_from_excel(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;
    let n = total(&app, "").await as i64;
    let audited = audit_total(&app).await;

    // Export → import changes nothing, twice, dry run or not.
    let xlsx = download(&app, "/api/stations/export").await;
    for dry_run in [true, false, false] {
        let (status, report) = import(&app, xlsx.clone(), "名录.xlsx", dry_run).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(counts(&report), (0, 0, n, 0), "{report}");
    }
    assert_eq!(audit_total(&app).await, audited, "nothing written, nothing audited");

    // A changed phone and a new station, through CSV.
    let mut rows =
        csv_rows(&String::from_utf8(download(&app, "/api/stations/export?format=csv").await).expect("UTF-8"));
    rows[1][7] = "0439-3339999".into();
    let mut new = rows[1].clone();
    new[1] = "江源区孙家堡子超市12315消费维权服务站".into();
    new[3] = "91220605MA0Y2B3C4R".into();
    new[9] = "计划建设".into();
    new[10] = String::new();
    rows.push(new);
    let (status, report) = import(&app, to_csv(&rows), "名录.csv", true).await;
    assert_eq!((status, counts(&report)), (200, (1, 1, n - 1, 0)), "{report}");
    assert_eq!(total(&app, "").await as i64, n, "a dry run writes nothing");
    let (status, report) = import(&app, to_csv(&rows), "名录.csv", false).await;
    assert_eq!((status, counts(&report)), (200, (1, 1, n - 1, 0)), "{report}");
    assert_eq!(total(&app, "").await as i64, n + 1);
    assert_eq!(
        audit_total(&app).await,
        audited + 2,
        "the created and the updated station are audited"
    );
    let (_, found) = json(app.get("/api/stations?q=孙家堡子超市").await).await;
    assert_eq!(found["items"][0]["credit_code"], "91220605MA0Y2B3C4R", "{found}");
    let (status, report) = import(&app, to_csv(&rows), "名录.csv", false).await;
    assert_eq!(
        (status, counts(&report)),
        (200, (0, 0, n + 1, 0)),
        "the same file twice changes nothing"
    );

    // Bad rows: every one reported by the sheet's row and column; nothing written.
    let header = rows[0].clone();
    let good = rows[2].clone();
    let bad = |col: usize, value: &str| {
        let mut r = good.clone();
        r[1] = format!("{}{col}", r[1]);
        r[col] = value.to_owned();
        r
    };
    let file = vec![
        header,
        bad(3, "91220605MA0Y2B3C4X"), // wrong check character
        bad(7, "电话"),
        bad(0, "999999"),
        bad(4, "飞机场"),
        rows[1].clone(),
        rows[1].clone(),
    ];
    let (status, report) = import(&app, to_csv(&file), "坏.csv", false).await;
    assert_eq!(status, 422, "{report}");
    let errors: Vec<(i64, &str)> = report["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| (e["row"].as_i64().unwrap_or(0), e["column"].as_str().unwrap_or("")))
        .collect();
    for expected in [
        (2, "统一社会信用代码"),
        (3, "联络电话"),
        (4, "单位代码"),
        (5, "类别"),
        (7, "统一社会信用代码"),
    ] {
        assert!(errors.contains(&expected), "{expected:?} in {report}");
    }
    assert!(
        report["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .all(|e| e["message"].as_str().is_some_and(|m| !m.is_ascii())),
        "messages in Chinese: {report}"
    );
    assert_eq!(counts(&report).0 + counts(&report).1, 0);
    assert_eq!(total(&app, "").await as i64, n + 1, "nothing written");
    assert_eq!(audit_total(&app).await, audited + 2);

    // The same from the bureau's page.
    let (browser, csrf) = crate::pages::sign_in(&app, "admin").await;
    let list = browser
        .get(app.url("/stations"))
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("text");
    assert!(
        list.contains("href=\"/stations/import\""),
        "the list links to the import page"
    );
    let post = |file: Vec<u8>, name: &str, dry_run: bool| {
        let mut form = reqwest::multipart::Form::new()
            .text("csrf_token", csrf.clone())
            .part("file", reqwest::multipart::Part::bytes(file).file_name(name.to_owned()));
        if dry_run {
            form = form.text("dry_run", "true");
        }
        browser.post(app.url("/stations/import")).multipart(form).send()
    };
    let r = post(xlsx.clone(), "名录.xlsx", true).await.expect("POST");
    assert_eq!(r.status(), 200);
    let page = r.text().await.expect("page");
    // The first export still has the old phone number: one update.
    let expected = format!("新增 0 个，更新 1 个，未变 {} 个，错误 0 处", n - 1);
    assert!(page.contains(&expected), "{page}");
    assert!(page.contains("检查结果（未写入）"), "{page}");
    let r = post(to_csv(&file), "坏.csv", false).await.expect("POST");
    assert_eq!(r.status(), 422);
    let page = r.text().await.expect("page");
    assert!(
        page.contains("有错误，未写入") && page.contains("第3行") && page.contains("联络电话"),
        "{page}"
    );
    assert_eq!(total(&app, "").await as i64, n + 1, "nothing written");

    let (status, err) = import(&app, b"not a register".to_vec(), "x.csv", true).await;
    assert_field_error(status, &err, "file");
    let viewer = app.as_user("viewer1", "viewer", &[]).await;
    assert_eq!(import(&viewer, xlsx, "名录.xlsx", true).await.0, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_register_comes_in_from_the_command_line() {
    let (url, guard) = crate::support::fresh_sqlite();
    let app = TestApp::start(url.clone(), guard, "sqlite", None).await;
    app.load_demo().await;
    let n = total(&app, "").await;
    let mut rows =
        csv_rows(&String::from_utf8(download(&app, "/api/stations/export?format=csv").await).expect("UTF-8"));
    rows[1][6] = "李新".into();
    let dir = tempfile::tempdir().expect("dir");
    let file = dir.path().join("名录.csv");
    std::fs::write(&file, to_csv(&rows)).expect("write");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_bayige"))
            .args(args)
            .env("BAYIGE_DATABASE_URL", &url)
            .env("BAYIGE_LOG", "warn")
            .output()
            .expect("run bayige")
    };
    let path = file.to_str().expect("path");
    let o = run(&["import", "stations", path, "--dry-run"]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        out.contains(&format!(
            "试导入（未写入）：新增 0 个，更新 1 个，未变 {} 个，错误 0 处",
            n - 1
        )),
        "{out}"
    );
    let o = run(&["import", "stations", path]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let (_, found) = json(app.get("/api/stations?q=&per_page=100").await).await;
    let names: Vec<&str> = found["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|s| s["liaison_name"].as_str())
        .collect();
    assert!(names.contains(&"李新"), "{names:?}");

    rows[2][7] = "电话".into();
    std::fs::write(&file, to_csv(&rows)).expect("write");
    let o = run(&["import", "stations", path]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success(), "a bad row fails the command");
    assert!(out.contains("第3行“联络电话”"), "{out}");
}
