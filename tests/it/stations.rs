//! The station registry: create, read, update with versions, status
//! transitions, list filters, and every validation rule.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::support::{TestApp, assert_field_error, json};

backend_tests!(
    create_read_and_list,
    validation_names_each_field_and_writes_nothing,
    updates_need_the_current_version,
    concurrent_updates_one_wins,
    inspectors_correct_contact_details_only,
    status_transitions,
    list_filters_and_pagination,
);

/// A valid station of `unit`; the tests change one thing at a time.
fn station(unit: i64, name: &str) -> Value {
    json!({
        "unit_id": unit,
        "name": name,
        "host_business": "白山市浑江百货大楼有限公司",
        "credit_code": "91350100M000100Y43",
        "category": "mall",
        "address": "白山市浑江区浑江大街18号",
        "liaison_name": "王丽华",
        "liaison_phone": "0439-3221234",
        "standard_id": "baxiangyi-common"
    })
}

async fn create(app: &TestApp, body: &Value) -> Value {
    let (status, created) = json(app.post("/api/stations", body).await).await;
    assert_eq!(status, 201, "{created}");
    created
}

async fn create_read_and_list(app: TestApp) {
    let unit = app.unit("220602", "浑江区").await;
    let r = app
        .post("/api/stations", &station(unit, "浑江百货大楼消费维权服务站"))
        .await;
    let location = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let (status, created) = json(r).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().expect("id");
    assert_eq!(location, Some(format!("/api/stations/{id}")));
    assert_eq!(created["status"], "planned");
    assert_eq!(created["version"], 1);
    assert_eq!(created["established_on"], json!(null));
    assert_eq!(created["unit"]["name"], "浑江区");

    let (status, read) = json(app.get(&format!("/api/stations/{id}")).await).await;
    assert_eq!(status, 200);
    assert_eq!(read, created, "what was acknowledged is what is stored");

    // A station registered as already established, with a lower-case code.
    let mut old = station(unit, "七天连锁酒店消费维权服务站");
    old["category"] = json!("hotel");
    old["credit_code"] = json!("91110000802100433b");
    old["status"] = json!("established");
    old["established_on"] = json!("2016-05-20");
    old["liaison_phone"] = json!("13943912345");
    let old = create(&app, &old).await;
    assert_eq!(old["credit_code"], "91110000802100433B", "stored normalised");
    assert_eq!(old["established_on"], "2016-05-20");

    // Optional credit code.
    let mut none = station(unit, "个体商户服务站");
    none.as_object_mut().expect("object").remove("credit_code");
    assert_eq!(create(&app, &none).await["credit_code"], json!(null));

    let (status, list) = json(app.get("/api/stations").await).await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 3);
    assert_eq!((list["page"].as_i64(), list["per_page"].as_i64()), (Some(1), Some(20)));

    for path in ["/api/stations/999", "/api/stations/abc", "/api/stations/-1"] {
        let (status, body) = json(app.get(path).await).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (404, Some("not_found")),
            "{path}"
        );
    }
}

async fn validation_names_each_field_and_writes_nothing(app: TestApp) {
    let unit = app.unit("220605", "江源区").await;
    let cases: Vec<(&str, Value, &str)> = vec![
        ("credit_code", json!("91350100M000100Y44"), "bad check character"),
        ("credit_code", json!("91350100M000100Y4"), "17 characters"),
        (
            "credit_code",
            json!("9135010OM000100Y43"),
            "letter O is not in the alphabet",
        ),
        ("unit_id", json!(4242), "unknown unit"),
        ("unit_id", json!(null), "no unit"),
        ("name", json!(""), "empty name"),
        ("name", json!("   "), "blank name"),
        ("name", json!("站".repeat(101)), "name too long"),
        ("host_business", json!(null), "no host business"),
        ("category", json!("casino"), "unknown category"),
        ("liaison_phone", json!("12315"), "not a phone number"),
        ("standard_id", json!("baxiangyi-2099"), "unknown checklist"),
        ("status", json!("revoked"), "cannot register a revoked station"),
        ("status", json!("open"), "unknown status"),
        ("established_on", json!("2017-02-30"), "not a date"),
    ];
    for (field, value, why) in cases {
        let mut body = station(unit, "江源超市服务站");
        body[field] = value;
        let (status, err) = json(app.post("/api/stations", &body).await).await;
        assert_eq!(status, 422, "{why}: {err}");
        assert!(
            err["error"]["fields"][field].is_array() || err["error"]["fields"].to_string().contains(field),
            "{why}: expected {field} to be named: {err}"
        );
    }
    // Established without a date, planned with one, dates in the future.
    let mut body = station(unit, "服务站");
    body["status"] = json!("established");
    let (status, err) = json(app.post("/api/stations", &body).await).await;
    assert_field_error(status, &err, "established_on");
    let mut body = station(unit, "服务站");
    body["established_on"] = json!("2017-01-01");
    let (status, err) = json(app.post("/api/stations", &body).await).await;
    assert_field_error(status, &err, "established_on");
    let mut body = station(unit, "服务站");
    body["status"] = json!("established");
    body["established_on"] = json!("2999-01-01");
    let (status, err) = json(app.post("/api/stations", &body).await).await;
    assert_field_error(status, &err, "established_on");
    // Several problems at once are all reported.
    let (status, err) = json(app.post("/api/stations", &json!({"category": "mall"})).await).await;
    for field in [
        "unit_id",
        "name",
        "host_business",
        "address",
        "liaison_name",
        "liaison_phone",
        "standard_id",
    ] {
        assert_field_error(status, &err, field);
    }
    let (status, err) = json(app.post_raw("/api/stations", "{\"name\": ").await).await;
    assert_eq!((status, err["error"]["code"].as_str()), (400, Some("bad_request")));

    let (_, list) = json(app.get("/api/stations").await).await;
    assert_eq!(list["total"], 0, "no rejected request wrote anything: {list}");
}

async fn updates_need_the_current_version(app: TestApp) {
    let unit = app.unit("220621", "抚松县").await;
    let other = app.unit("220622", "靖宇县").await;
    let s = create(&app, &station(unit, "抚松超市服务站")).await;
    let path = format!("/api/stations/{}", s["id"]);

    let (status, updated) = json(
        app.patch(
            &path,
            &json!({"version": 1, "liaison_name": "张志强", "credit_code": null, "unit_id": other}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["version"], 2);
    assert_eq!(updated["liaison_name"], "张志强");
    assert_eq!(updated["credit_code"], json!(null), "null clears the code");
    assert_eq!(updated["unit"]["name"], "靖宇县");
    assert_eq!(updated["name"], "抚松超市服务站", "fields left out are kept");

    // A client that still holds version 1 is refused and shown version 2.
    let (status, err) = json(app.patch(&path, &json!({"version": 1, "liaison_name": "李明"})).await).await;
    assert_eq!(status, 409, "{err}");
    assert_eq!(err["error"]["code"], "conflict");
    assert_eq!(err["error"]["current"]["version"], 2);
    assert_eq!(err["error"]["current"]["liaison_name"], "张志强");
    let (_, now) = json(app.get(&path).await).await;
    assert_eq!(now["liaison_name"], "张志强", "the stale write changed nothing");

    let (status, err) = json(app.patch(&path, &json!({"liaison_name": "李明"})).await).await;
    assert_field_error(status, &err, "version");
    let (status, err) = json(app.patch(&path, &json!({"version": 2, "status": "model"})).await).await;
    assert_field_error(status, &err, "status");
    let (status, err) = json(app.patch(&path, &json!({"version": 2, "credit_code": "123"})).await).await;
    assert_field_error(status, &err, "credit_code");
    let (status, err) = json(app.patch(&path, &json!({"version": 2, "unit_id": 999})).await).await;
    assert_field_error(status, &err, "unit_id");
    let (status, err) = json(
        app.patch(&path, &json!({"version": 2, "established_on": "2017-01-01"}))
            .await,
    )
    .await;
    assert_field_error(status, &err, "established_on");
    let (_, now) = json(app.get(&path).await).await;
    assert_eq!(now["version"], 2, "no rejected patch bumped the version");
    let (status, _) = json(app.patch("/api/stations/999", &json!({"version": 1})).await).await;
    assert_eq!(status, 404);
}

/// Two inspectors at one station, each correcting the liaison twice at
/// the same moment: one edit wins, the others learn the current version.
async fn concurrent_updates_one_wins(app: TestApp) {
    let unit = app.unit("220623", "长白朝鲜族自治县").await;
    let s = create(&app, &station(unit, "长白景区服务站")).await;
    let path = format!("/api/stations/{}", s["id"]);
    let inspectors = [
        app.as_user("piao", "inspector", &[unit as i32]).await,
        app.as_user("jin", "inspector", &[unit as i32]).await,
    ];
    let names = ["朴春梅", "金德胜", "崔玉兰", "李国庆"];
    let url = app.url(&path);
    let requests = names.iter().enumerate().map(|(i, n)| {
        let req = inspectors[i % 2]
            .client
            .patch(&url)
            .json(&json!({"version": 1, "liaison_name": n}));
        async move { req.send().await.expect("PATCH") }
    });
    let responses = futures_join(requests).await;
    let mut winners = Vec::new();
    for (r, name) in responses.into_iter().zip(names) {
        let (status, body) = json(r).await;
        match status {
            200 => winners.push(name),
            409 => assert_eq!(body["error"]["current"]["version"], 2, "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one of the concurrent edits wins");
    let (_, now) = json(app.get(&path).await).await;
    assert_eq!(
        (now["version"].as_i64(), now["liaison_name"].as_str()),
        (Some(2), Some(winners[0]))
    );
    // A loser applies its change to the record as it now is: both changes
    // stand, nothing is lost.
    let (status, after) = json(
        inspectors[1]
            .patch(&path, &json!({"version": 2, "liaison_phone": "0439-8225566"}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(
        (
            after["version"].as_i64(),
            after["liaison_name"].as_str(),
            after["liaison_phone"].as_str()
        ),
        (Some(3), Some(winners[0]), Some("0439-8225566"))
    );
}

/// What an inspector finds changed on site (address, liaison) they correct
/// in their own units; the registry fields stay with the bureau, and
/// nothing changes on a refused edit.
async fn inspectors_correct_contact_details_only(app: TestApp) {
    let unit = app.unit("220621", "抚松县").await;
    let other = app.unit("220622", "靖宇县").await;
    let s = create(&app, &station(unit, "抚松万达服务站")).await;
    let path = format!("/api/stations/{}", s["id"]);
    let inspector = app.as_user("sun", "inspector", &[unit as i32]).await;
    let elsewhere = app.as_user("qian", "inspector", &[other as i32]).await;
    let lead = app.as_user("lead", "county_lead", &[unit as i32]).await;
    let viewer = app.as_user("view", "viewer", &[]).await;

    for body in [
        json!({"version": 1, "name": "新名称"}),
        json!({"version": 1, "unit_id": other, "liaison_name": "孙"}),
        json!({"version": 1, "standard_id": "baxiangyi-nanyue"}),
        json!({"version": 1, "credit_code": null}),
    ] {
        let (status, err) = json(inspector.patch(&path, &body).await).await;
        assert_eq!(status, 403, "{body}: {err}");
        let field = body
            .as_object()
            .and_then(|o| o.keys().find(|k| !["version", "liaison_name"].contains(&k.as_str())))
            .expect("a registry field")
            .clone();
        let message = err["error"]["message"].as_str().unwrap_or("");
        assert!(message.contains(&field), "the refusal names {field}: {err}");
        assert!(
            !message.contains("liaison_name"),
            "an allowed field is not named: {err}"
        );
    }
    for (who, client) in [
        ("another unit's inspector", &elsewhere),
        ("county lead", &lead),
        ("viewer", &viewer),
    ] {
        let (status, err) = json(client.patch(&path, &json!({"version": 1, "liaison_name": "孙"})).await).await;
        assert_eq!(status, 403, "{who}: {err}");
    }
    let (_, unchanged) = json(app.get(&path).await).await;
    assert_eq!(unchanged["version"], 1, "nothing refused was written: {unchanged}");

    let (status, after) = json(
        inspector
            .patch(
                &path,
                &json!({"version": 1, "address": "抚松县万达广场一楼服务台", "liaison_name": "孙明", "liaison_phone": "13943911111"}),
            )
            .await,
    )
    .await;
    assert_eq!(status, 200, "{after}");
    assert_eq!(
        (
            after["version"].as_i64(),
            after["liaison_name"].as_str(),
            after["name"].as_str()
        ),
        (Some(2), Some("孙明"), Some("抚松万达服务站"))
    );
    // Checked as the bureau's edits are, and audited under the inspector.
    let (status, err) = json(
        inspector
            .patch(&path, &json!({"version": 2, "liaison_phone": "12315"}))
            .await,
    )
    .await;
    assert_field_error(status, &err, "liaison_phone");
    let (_, audit) = json(
        app.get(&format!("/api/audit?entity=station&entity_id={}", s["id"]))
            .await,
    )
    .await;
    let update = audit["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "station.update")
        .cloned()
        .unwrap_or_default();
    assert_eq!(update["username"], "sun", "{audit}");
    assert_eq!(
        (
            update["before"]["liaison_name"].as_str(),
            update["after"]["liaison_name"].as_str()
        ),
        (Some("王丽华"), Some("孙明")),
        "{update}"
    );
}

async fn futures_join<F: std::future::Future + Send + 'static>(futs: impl Iterator<Item = F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

async fn status_transitions(app: TestApp) {
    let unit = app.unit("220681", "临江市").await;
    let s = create(&app, &station(unit, "临江市场服务站")).await;
    let path = format!("/api/stations/{}/status", s["id"]);
    let go = |to: &str, on: Option<&str>| {
        let mut body = json!({"status": to, "reason": format!("测试：变更为{to}")});
        if let Some(on) = on {
            body["effective_on"] = json!(on);
        }
        body
    };

    // planned → model is not allowed: a model station is chosen among built ones.
    let (status, err) = json(app.post(&path, &go("model", None)).await).await;
    assert_field_error(status, &err, "status");
    let (status, err) = json(app.post(&path, &json!({"status": "established"})).await).await;
    assert_field_error(status, &err, "reason");

    let (status, st) = json(app.post(&path, &go("established", Some("2017-03-15"))).await).await;
    assert_eq!(status, 200, "{st}");
    assert_eq!(
        (st["status"].as_str(), st["established_on"].as_str()),
        (Some("established"), Some("2017-03-15"))
    );
    let (status, st) = json(app.post(&path, &go("rectifying", Some("2017-06-01"))).await).await;
    assert_eq!((status, st["status"].as_str()), (200, Some("rectifying")));
    let (status, err) = json(app.post(&path, &go("planned", None)).await).await;
    assert_field_error(status, &err, "status");
    let (status, err) = json(app.post(&path, &go("established", Some("2016-01-01"))).await).await;
    assert_field_error(status, &err, "effective_on");
    let (status, st) = json(app.post(&path, &go("established", Some("2017-07-01"))).await).await;
    assert_eq!(
        (status, st["established_on"].as_str()),
        (200, Some("2017-03-15")),
        "re-established keeps its date"
    );
    let (status, st) = json(app.post(&path, &go("model", None)).await).await;
    assert_eq!((status, st["status"].as_str()), (200, Some("model")));
    let (status, st) = json(app.post(&path, &go("revoked", Some("2017-08-01"))).await).await;
    assert_eq!(
        (status, st["status"].as_str(), st["revoked_on"].as_str()),
        (200, Some("revoked"), Some("2017-08-01"))
    );
    let history: Vec<_> = st["status_history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| {
            (
                h["from_status"].as_str().unwrap_or(""),
                h["to_status"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        history,
        vec![
            ("planned", "established"),
            ("established", "rectifying"),
            ("rectifying", "established"),
            ("established", "model"),
            ("model", "revoked")
        ]
    );
    assert_eq!(st["status_history"][4]["reason"], "测试：变更为revoked");

    // Revoked is final, and a revoked station cannot be edited.
    for to in ["established", "model", "rectifying", "planned"] {
        let (status, err) = json(app.post(&path, &go(to, None)).await).await;
        assert_field_error(status, &err, "status");
    }
    let (status, err) = json(
        app.patch(
            &format!("/api/stations/{}", s["id"]),
            &json!({"version": st["version"], "name": "x"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 409, "{err}");

    // A stale version on a status change is a conflict.
    let s2 = create(&app, &station(unit, "临江超市服务站")).await;
    let mut body = go("established", None);
    body["version"] = json!(7);
    let (status, err) = json(app.post(&format!("/api/stations/{}/status", s2["id"]), &body).await).await;
    assert_eq!((status, err["error"]["current"]["version"].as_i64()), (409, Some(1)));
    let (status, err) = json(
        app.post(
            &format!("/api/stations/{}/status", s2["id"]),
            &go("established", Some("2999-01-01")),
        )
        .await,
    )
    .await;
    assert_field_error(status, &err, "effective_on");
    let (status, _) = json(app.post("/api/stations/999/status", &go("established", None)).await).await;
    assert_eq!(status, 404);
}

async fn list_filters_and_pagination(app: TestApp) {
    let a = app.unit("220602", "浑江区").await;
    let b = app.unit("220605", "江源区").await;
    for i in 0..25 {
        let mut body = station(if i % 5 == 0 { b } else { a }, &format!("服务站{i:02}"));
        body["category"] = json!(if i % 2 == 0 { "supermarket" } else { "market" });
        body["host_business"] = json!(if i == 7 {
            "白山电信分公司"
        } else {
            "某商贸有限公司"
        });
        if i % 3 == 0 {
            body["status"] = json!("established");
            body["established_on"] = json!("2017-04-01");
        }
        create(&app, &body).await;
    }
    let total = |q: String| {
        let app = &app;
        async move {
            let (status, list) = json(app.get(&format!("/api/stations?{q}")).await).await;
            assert_eq!(status, 200, "{q}: {list}");
            list["total"].as_i64().expect("total")
        }
    };
    assert_eq!(total("".into()).await, 25);
    assert_eq!(total(format!("unit_id={b}")).await, 5);
    assert_eq!(total("status=established".into()).await, 9);
    assert_eq!(total("status=planned&category=supermarket".into()).await, 8);
    assert_eq!(
        total("q=%E7%94%B5%E4%BF%A1".into()).await,
        1,
        "电信 matches the host business"
    );
    assert_eq!(
        total("q=%E6%9C%8D%E5%8A%A1%E7%AB%9907".into()).await,
        1,
        "服务站07 matches the name"
    );
    assert_eq!(total("q=100%25".into()).await, 0, "a % in the search is literal");

    let (_, p1) = json(app.get("/api/stations?per_page=10").await).await;
    let (_, p3) = json(app.get("/api/stations?per_page=10&page=3").await).await;
    assert_eq!(p1["items"].as_array().map(Vec::len), Some(10));
    assert_eq!(p3["items"].as_array().map(Vec::len), Some(5));
    assert_eq!(p3["items"][0]["name"], "服务站20");
    assert_eq!((p3["total"].as_i64(), p3["page"].as_i64()), (Some(25), Some(3)));

    // Keyset pagination walks the same stations in the same order as pages.
    let mut walked = Vec::new();
    let mut url = format!("/api/stations?per_page=10&unit_id={a}");
    loop {
        let (status, page) = json(app.get(&url).await).await;
        assert_eq!(status, 200, "{url}: {page}");
        let first = !url.contains("after=");
        assert_eq!(
            page["total"].as_i64(),
            first.then_some(20),
            "only the first page counts"
        );
        walked.extend(
            page["items"]
                .as_array()
                .expect("items")
                .iter()
                .map(|s| s["name"].clone()),
        );
        match page["next_after"].as_i64() {
            Some(after) => url = format!("/api/stations?per_page=10&unit_id={a}&after={after}"),
            None => break,
        }
    }
    let expected: Vec<_> = (0..25)
        .filter(|i| i % 5 != 0)
        .map(|i| json!(format!("服务站{i:02}")))
        .collect();
    assert_eq!(walked, expected);
    let (_, last) = json(app.get("/api/stations?per_page=10&page=3").await).await;
    assert!(last.get("next_after").is_none(), "a short page is the last: {last}");

    for (q, field) in [
        ("page=0", "page"),
        ("per_page=1000", "per_page"),
        ("unit_id=x", "unit_id"),
        ("status=gone", "status"),
        ("category=bank", "category"),
        ("after=-1", "after"),
        ("unit_id=", "unit_id"),
        ("status=%20", "status"),
        ("after=5&page=2", "after"),
    ] {
        let (status, err) = json(app.get(&format!("/api/stations?{q}")).await).await;
        assert_field_error(status, &err, field);
    }
}
