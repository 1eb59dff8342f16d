//! The bureau's desk over HTTP: the burn-up figures (stations built by each
//! month's end, from the registry's establishment and revocation dates),
//! and a second circular for the same 截至 date asked for first.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::pages::sign_in;
use crate::support::{TestApp, json};

backend_tests!(
    burnup_counts_whole_stations_by_month_end,
    a_second_circular_for_the_same_date_asks_first
);

async fn station(app: &TestApp, unit: i64, name: &str, established_on: &str) -> i64 {
    let (status, s) = json(
        app.post(
            "/api/stations",
            &json!({"unit_id": unit, "name": name, "host_business": "某商场", "category": "mall",
                    "address": "某路1号", "liaison_name": "李明", "liaison_phone": "13943900001",
                    "standard_id": "baxiangyi-common", "status": "established", "established_on": established_on}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{s}");
    s["id"].as_i64().expect("id")
}

async fn revoke(app: &TestApp, station: i64, on: &str) {
    let (status, s) = json(
        app.post(
            &format!("/api/stations/{station}/status"),
            &json!({"status": "revoked", "effective_on": on, "reason": "年度复查不合格，撤销命名"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{s}");
}

async fn plan(app: &TestApp, unit: i64, target: i64, basis: &str) {
    let (status, p) = json(
        app.put(
            &format!("/api/units/{unit}/plans/2017"),
            &json!({"target": target, "basis": basis}),
        )
        .await,
    )
    .await;
    assert!(status < 300, "{p}");
}

fn column(series: &Value, field: &str) -> Vec<Option<i64>> {
    series["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p[field].as_i64())
        .collect()
}

fn built(series: &Value) -> Vec<i64> {
    column(series, "built").into_iter().map(|b| b.expect("built")).collect()
}

async fn burnup_counts_whole_stations_by_month_end(app: TestApp) {
    // 浑江区 counts stations built this year; 抚松县 every station standing.
    let hunjiang = app.unit("220602", "浑江区").await;
    let fusong = app.unit("220621", "抚松县").await;
    plan(&app, hunjiang, 10, "new").await;
    plan(&app, fusong, 20, "total").await;
    station(&app, hunjiang, "浑江老站", "2016-06-01").await;
    station(&app, hunjiang, "浑江一站", "2017-01-10").await;
    station(&app, hunjiang, "浑江二站", "2017-01-20").await;
    let short_lived = station(&app, hunjiang, "浑江三站", "2017-02-10").await;
    station(&app, hunjiang, "浑江四站", "2017-03-05").await;
    revoke(&app, short_lived, "2017-04-15").await;
    let old = station(&app, fusong, "抚松老站", "2016-05-01").await;
    station(&app, fusong, "抚松一站", "2017-02-01").await;
    revoke(&app, old, "2017-03-10").await;
    // Established after the day asked about: not counted anywhere.
    station(&app, fusong, "抚松五月站", "2017-05-20").await;

    let (status, b) = json(app.get("/api/progress/burnup?year=2017&as_of=2017-04-30").await).await;
    assert_eq!(status, 200, "{b}");
    assert_eq!(b["days_in_year"], 365);
    let days: Vec<&str> = b["total"]["points"]
        .as_array()
        .expect("points")
        .iter()
        .map(|p| p["on"].as_str().expect("on"))
        .collect();
    assert_eq!(days, ["2017-01-31", "2017-02-28", "2017-03-31", "2017-04-30"]);
    let unit = |id: i64| {
        b["units"]
            .as_array()
            .expect("units")
            .iter()
            .find(|u| u["unit_id"] == id)
            .cloned()
            .expect("the unit's series")
    };
    let (hj, fs) = (unit(hunjiang), unit(fusong));
    // New stations: two in January, the third in February, the fourth in
    // March, and February's revoked in April; the 2016 one never counts.
    assert_eq!((hj["start"].as_i64(), built(&hj)), (Some(0), vec![2, 3, 4, 3]));
    // Stations standing: the 2016 one until its revocation in March.
    assert_eq!((fs["start"].as_i64(), built(&fs)), (Some(1), vec![1, 2, 1, 1]));
    assert_eq!(built(&b["total"]), vec![3, 5, 5, 4]);
    assert_eq!(b["total"]["target"], 30);
    // 序时进度, whole stations rounded up: 10 × 31/365 = 0.85 → 1, … ,
    // 10 × 120/365 = 3.29 → 4; the city 30 × 31/365 = 2.55 → 3.
    assert_eq!(column(&hj, "expected"), [Some(1), Some(2), Some(3), Some(4)]);
    assert_eq!(column(&b["total"], "expected"), [Some(3), Some(5), Some(8), Some(10)]);

    // The last point is the progress table's figure for the same day.
    let (_, p) = json(app.get("/api/progress?year=2017&as_of=2017-04-30").await).await;
    for row in p["rows"].as_array().expect("rows") {
        let series = unit(row["unit_id"].as_i64().expect("unit"));
        assert_eq!(built(&series).last().copied(), row["built"].as_i64(), "{row}");
    }

    // The progress page draws one per unit, with its figures as a table.
    let (client, _) = sign_in(&app, "admin").await;
    let page = client
        .get(app.url("/progress?year=2017&as_of=2017-04-30"))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("page");
    assert!(page.contains(&format!("id=\"burnup-{hunjiang}\"")), "{page}");
    assert!(
        page.contains("<td>4月30日</td><td>3</td><td>4</td><td>尚差1个</td>"),
        "{page}"
    );

    // A county lead sees their own unit, and the total is theirs, not the city's.
    let lead = app.as_user("lead", "county_lead", &[fusong as i32]).await;
    let (status, mine) = json(lead.get("/api/progress/burnup?year=2017&as_of=2017-04-30").await).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["city_wide"], false);
    assert_eq!(mine["units"].as_array().map(Vec::len), Some(1));
    assert_eq!(built(&mine["total"]), vec![1, 2, 1, 1]);

    // Bad input names its field.
    for (query, field) in [
        ("year=abc", "year"),
        ("year=2017&as_of=2018-01-01", "as_of"),
        ("year=2016", "year"),
    ] {
        let (status, e) = json(app.get(&format!("/api/progress/burnup?{query}")).await).await;
        assert_eq!(status, 422, "{query}: {e}");
        assert!(e["error"]["fields"][field].is_array(), "{query}: {e}");
    }
}

/// Posts the confirmation form as the page would.
async fn confirm(
    client: &reqwest::Client,
    app: &TestApp,
    csrf: &str,
    number: &str,
    same_date: bool,
) -> reqwest::Response {
    let mut form = vec![
        ("csrf_token", csrf.to_owned()),
        ("year", "2017".into()),
        ("as_of", "2017-07-14".into()),
        ("expected_number", number.to_owned()),
    ];
    if same_date {
        form.push(("confirm_same_as_of", "1".into()));
    }
    client
        .post(app.url("/circulars"))
        .form(&form)
        .send()
        .await
        .expect("issue")
}

async fn circulars(app: &TestApp) -> Vec<Value> {
    let (_, list) = json(app.get("/api/circulars").await).await;
    list["items"].as_array().cloned().unwrap_or_default()
}

async fn a_second_circular_for_the_same_date_asks_first(app: TestApp) {
    // The outbox is emptied by the test alone (`run_pending`).
    app.stop_background().await;
    let app = app
        .restart_with(|c| {
            c.today = chrono::NaiveDate::from_ymd_opt(2017, 7, 14);
            c.circular_prefix = Some("白市工商消".into());
        })
        .await;
    // The outbox is emptied by the test alone (`run_pending`).
    app.stop_background().await;
    let unit = app.unit("220602", "浑江区").await;
    plan(&app, unit, 10, "new").await;
    station(&app, unit, "浑江一站", "2017-03-01").await;
    app.as_user("hj_lead", "county_lead", &[unit as i32]).await;
    let (client, csrf) = sign_in(&app, "admin").await;
    let page = |path: &'static str| {
        let client = client.clone();
        let url = app.url(path);
        async move { client.get(url).send().await.expect("get").text().await.expect("text") }
    };

    // The confirmation shows the number the circular will get.
    let first = page("/circulars/preview?year=2017&as_of=2017-07-14").await;
    assert!(
        first.contains("印发后的文号：<strong id=\"number\">白市工商消〔2017〕1号</strong>"),
        "{first}"
    );
    assert!(!first.contains("已经印发过"), "nothing issued yet: {first}");
    let r = confirm(&client, &app, &csrf, "白市工商消〔2017〕1号", false).await;
    assert_eq!(r.status(), 303, "issued");
    assert_eq!(circulars(&app).await.len(), 1);

    // A second one for the same date: the confirmation warns and asks.
    let second = page("/circulars/preview?year=2017&as_of=2017-07-14").await;
    assert!(second.contains("白市工商消〔2017〕2号"), "{second}");
    assert!(second.contains("截至2017年7月14日的通报已经印发过"), "{second}");
    assert!(second.contains("name=\"confirm_same_as_of\""), "{second}");
    // Not ticked: refused with the reason on the page, nothing written.
    let r = confirm(&client, &app, &csrf, "白市工商消〔2017〕2号", false).await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.expect("text");
    assert!(body.contains("请勾选确认"), "{body}");
    assert!(body.contains("白市工商消〔2017〕1号"), "names the earlier one: {body}");
    assert_eq!(circulars(&app).await.len(), 1, "no half-written circular");
    // A number shown before another was issued is not silently replaced.
    let r = confirm(&client, &app, &csrf, "白市工商消〔2017〕1号", true).await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.expect("text").contains("请重新确认"));
    assert_eq!(circulars(&app).await.len(), 1);
    // Ticked: issued with the number shown.
    let r = confirm(&client, &app, &csrf, "白市工商消〔2017〕2号", true).await;
    assert_eq!(r.status(), 303);
    let list = circulars(&app).await;
    assert_eq!(list[0]["number"], "白市工商消〔2017〕2号");

    // Until every delivery is final the page reloads itself.
    let id = list[0]["id"].as_i64().expect("id");
    let pending = client
        .get(app.url(&format!("/circulars/{id}")))
        .send()
        .await
        .expect("get");
    let pending = pending.text().await.expect("text");
    assert!(
        pending.contains("<meta http-equiv=\"refresh\" content=\"5\">"),
        "{pending}"
    );
    assert!(pending.contains(">待发送</span>"), "{pending}");

    // The issuer is a person; no mail server: the delivery is written to a
    // file, and says so.
    app.run_pending().await;
    let (_, me) = json(app.get("/api/me").await).await;
    let r = client
        .get(app.url(&format!("/circulars/{id}")))
        .send()
        .await
        .expect("get");
    let shown = r.text().await.expect("text");
    let name = me["user"]["display_name"].as_str().expect("display name");
    assert!(shown.contains(&format!("（{name}）")), "{shown}");
    assert!(!shown.contains("web:admin"), "{shown}");
    assert!(shown.contains(">已写入文件</span>"), "{shown}");
    assert!(!shown.contains(">已发送</span>"), "{shown}");
    assert!(
        !shown.contains("http-equiv=\"refresh\""),
        "final: no more refreshing: {shown}"
    );
    let (_, d) = json(app.get(&format!("/api/circulars/{id}/deliveries")).await).await;
    assert_eq!(d["items"][0]["sent_via"], "file", "{d}");
}
