//! Health, checklists, units and plans.

use serde_json::json;

use crate::backend_tests;
use crate::support::{TestApp, assert_field_error, json};

backend_tests!(
    health_names_the_backend,
    standards_are_served_read_only,
    units_and_plans,
    unit_validation,
    unknown_paths_and_bad_json_get_the_error_shape,
);

async fn health_names_the_backend(app: TestApp) {
    let (status, body) = json(app.get("/healthz").await).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"status": "ok", "database": app.backend}));
}

async fn standards_are_served_read_only(app: TestApp) {
    let (status, body) = json(app.get("/api/standards").await).await;
    assert_eq!(status, 200);
    let ids: Vec<_> = body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|s| s["id"].clone())
        .collect();
    assert_eq!(ids, vec![json!("baxiangyi-common"), json!("baxiangyi-nanyue")]);

    let (status, common) = json(app.get("/api/standards/baxiangyi-common").await).await;
    assert_eq!(status, 200);
    let items = common["items"].as_array().expect("items");
    assert_eq!(items.len(), 8);
    assert_eq!(items[0]["code"], "place");
    assert_eq!(items[0]["title_zh"], "一个相对固定的工作场所");
    let computer = items.iter().find(|i| i["code"] == "computer").expect("computer item");
    assert_eq!(computer["optional"], true);
    assert!(
        items
            .iter()
            .filter(|i| i["code"] != "computer")
            .all(|i| i["optional"] == false)
    );

    let (status, nanyue) = json(app.get("/api/standards/baxiangyi-nanyue?version=1").await).await;
    assert_eq!(status, 200);
    assert_eq!(nanyue["items"][7]["title_zh"], "一块宣传标志牌");

    let (status, body) = json(app.get("/api/standards/nope").await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, _) = json(app.get("/api/standards/baxiangyi-common?version=9").await).await;
    assert_eq!(status, 404);
    let (status, body) = json(app.get("/api/standards/baxiangyi-common?version=x").await).await;
    assert_field_error(status, &body, "version");

    let r = app.post("/api/standards", &json!({"id": "x"})).await;
    assert!(r.status().is_client_error(), "standards are read-only: {}", r.status());
}

async fn units_and_plans(app: TestApp) {
    let hunjiang = app.unit("220602", "浑江区").await;
    let (status, unit) = json(
        app.post(
            "/api/units",
            &json!({"code": "220600-ZS", "name": "市局直属消保分局", "kind": "branch"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 201, "{unit}");
    assert_eq!(unit["kind"], "branch");
    let branch = unit["id"].as_i64().expect("id");

    let (status, list) = json(app.get("/api/units").await).await;
    assert_eq!(status, 200);
    let names: Vec<_> = list["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["name"].clone())
        .collect();
    assert_eq!(names, vec![json!("浑江区"), json!("市局直属消保分局")]);

    let (status, plan) = json(
        app.put(&format!("/api/units/{hunjiang}/plans/2017"), &json!({"target": 70}))
            .await,
    )
    .await;
    assert_eq!(status, 200, "{plan}");
    assert_eq!(
        (plan["unit_id"].as_i64(), plan["year"].as_i64(), plan["target"].as_i64()),
        (Some(hunjiang), Some(2017), Some(70))
    );
    // Setting it again replaces the target.
    let (status, plan) = json(
        app.put(&format!("/api/units/{hunjiang}/plans/2017"), &json!({"target": 72}))
            .await,
    )
    .await;
    assert_eq!((status, plan["target"].as_i64()), (200, Some(72)));

    let (status, plans) = json(app.get("/api/plans?year=2017").await).await;
    assert_eq!(status, 200);
    assert_eq!(plans["total_target"], 72);
    let rows = plans["items"].as_array().expect("items");
    assert_eq!(rows.len(), 2, "every unit is listed: {plans}");
    assert_eq!(rows[0]["target"], 72);
    assert_eq!(rows[1]["unit_id"].as_i64(), Some(branch));
    assert_eq!(rows[1]["target"], json!(null), "no plan yet is shown as null, not 0");

    let (status, plans) = json(app.get("/api/plans?year=2018").await).await;
    assert_eq!((status, plans["total_target"].as_i64()), (200, Some(0)));

    let (status, body) = json(
        app.put(&format!("/api/units/{hunjiang}/plans/2017"), &json!({"target": -1}))
            .await,
    )
    .await;
    assert_field_error(status, &body, "target");
    let (status, body) = json(app.put(&format!("/api/units/{hunjiang}/plans/2017"), &json!({})).await).await;
    assert_field_error(status, &body, "target");
    let (status, body) = json(
        app.put(&format!("/api/units/{hunjiang}/plans/1850"), &json!({"target": 3}))
            .await,
    )
    .await;
    assert_field_error(status, &body, "year");
    let (status, body) = json(
        app.put(&format!("/api/units/{hunjiang}/plans/abc"), &json!({"target": 3}))
            .await,
    )
    .await;
    assert_field_error(status, &body, "year");
    let (status, _) = json(app.put("/api/units/999/plans/2017", &json!({"target": 3})).await).await;
    assert_eq!(status, 404);
    let (status, body) = json(app.get("/api/plans?year=twenty").await).await;
    assert_field_error(status, &body, "year");
}

async fn unit_validation(app: TestApp) {
    app.unit("220621", "抚松县").await;
    let (status, body) = json(
        app.post(
            "/api/units",
            &json!({"code": "220621", "name": "又一个", "kind": "county"}),
        )
        .await,
    )
    .await;
    assert_field_error(status, &body, "code");
    let (status, body) = json(
        app.post(
            "/api/units",
            &json!({"code": "220622", "name": "  ", "kind": "village"}),
        )
        .await,
    )
    .await;
    assert_field_error(status, &body, "name");
    assert_field_error(status, &body, "kind");
    let (status, body) = json(
        app.post("/api/units", &json!({"name": "靖宇县", "kind": "county"}))
            .await,
    )
    .await;
    assert_field_error(status, &body, "code");
    let (_, list) = json(app.get("/api/units").await).await;
    assert_eq!(
        list["items"].as_array().map(Vec::len),
        Some(1),
        "nothing written by a rejected request"
    );
}

async fn unknown_paths_and_bad_json_get_the_error_shape(app: TestApp) {
    let (status, body) = json(app.get("/api/nothing-here").await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, body) = json(app.post_raw("/api/units", "{\"code\": \"1\",").await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("bad_request")),
        "{body}"
    );
    let (status, body) = json(app.post_raw("/api/units", "[1, 2]").await).await;
    assert_eq!(status, 422, "a JSON array where an object belongs: {body}");
    // An array holding the fields in order would fill the struct by position
    // (found by schemathesis: a token was created from `["name", null]`).
    let (status, body) = json(app.post_raw("/api/tokens", r#"["按位置", null]"#).await).await;
    assert_field_error(status, &body, "body");
    let (_, tokens) = json(app.get("/api/tokens").await).await;
    assert!(!tokens.to_string().contains("按位置"), "no token was made: {tokens}");
    let (status, body) = json(
        app.post(
            "/api/units",
            &json!({"code": 220602, "name": "浑江区", "kind": "district"}),
        )
        .await,
    )
    .await;
    assert_field_error(status, &body, "code");
    let (status, body) = json(
        app.post(
            "/api/units",
            &json!({"code": "1", "name": "a", "kind": "district", "colour": "red"}),
        )
        .await,
    )
    .await;
    assert_eq!(status, 422, "unknown fields are refused: {body}");
    let r = app
        .client
        .post(app.url("/api/units"))
        .header("content-type", "text/plain")
        .body("code=1")
        .send()
        .await
        .expect("post");
    let (status, body) = json(r).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let big = format!("{{\"code\": \"{}\"}}", "x".repeat(300 * 1024));
    let (status, body) = json(app.post_raw("/api/units", &big).await).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (413, Some("payload_too_large"))
    );
}
