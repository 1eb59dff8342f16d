//! Where and when the phone captured a visit: the device's time and,
//! when the inspector allowed it, its position are kept with the visit,
//! shown on the station page in Chinese, audited, checked (422 naming the
//! field) and part of what an `Idempotency-Key` is bound to.

use serde_json::{Value, json};

use crate::backend_tests;
use crate::field::{send, station, visit_json};
use crate::support::{TestApp, assert_field_error, json};

backend_tests!(
    the_capture_time_and_place_are_kept_shown_and_audited,
    bad_places_and_times_are_refused_naming_the_field,
    a_repeat_with_the_place_is_the_same_request,
);

fn located() -> Value {
    let mut v = visit_json();
    v["captured_at"] = json!("2017-05-05T10:30:00+08:00");
    v["location"] = json!({"latitude": 41.9412, "longitude": 126.4231, "accuracy_m": 15.0});
    v
}

async fn the_capture_time_and_place_are_kept_shown_and_audited(app: TestApp) {
    let (sid, _) = station(&app).await;
    let (status, v) = send(&app, sid, "loc-1", &located(), &[]).await;
    assert_eq!(status, 201, "{v}");
    assert_eq!(v["captured_at"], "2017-05-05T02:30:00.000000Z", "{v}");
    assert_eq!(v["location"]["latitude"], 41.9412, "{v}");
    assert_eq!(v["location"]["longitude"], 126.4231, "{v}");
    assert_eq!(v["location"]["accuracy_m"], 15.0, "{v}");

    // Read back, and in the station's history.
    let (_, read) = json(app.get(&format!("/api/visits/{}", v["id"])).await).await;
    assert_eq!(read["location"], v["location"], "{read}");
    assert_eq!(read["captured_at"], v["captured_at"], "{read}");
    let (_, list) = json(app.get(&format!("/api/stations/{sid}/visits")).await).await;
    assert_eq!(list["items"][0]["location"]["latitude"], 41.9412, "{list}");

    // The station page says it in Chinese, in the service's time zone.
    crate::pages::user(&app, "admin", "admin", &[]).await;
    let (browser, _) = crate::pages::sign_in(&app, "admin").await;
    let station_page = || async {
        let r = browser
            .get(app.url(&format!("/stations/{sid}")))
            .send()
            .await
            .expect("page");
        r.text().await.expect("page")
    };
    let page = station_page().await;
    assert!(page.contains("现场定位：北纬41.94°，东经126.42°（±15米）"), "{page}");
    assert!(page.contains("现场记录时间："), "{page}");

    // The audit entry of the visit holds them.
    let (_, log) = json(app.get("/api/audit?per_page=100").await).await;
    let entry = log["items"]
        .as_array()
        .expect("items")
        .iter()
        .find(|e| e["action"] == "visit.record")
        .cloned()
        .expect("visit.record audited");
    assert!(entry.to_string().contains("126.4231"), "{entry}");

    // A visit sent without them has none, and its row says nothing of it.
    let mut plain = visit_json();
    plain["visited_on"] = json!("2017-05-10");
    let (status, p) = send(&app, sid, "loc-2", &plain, &[]).await;
    assert_eq!(status, 201, "{p}");
    assert!(p["location"].is_null() && p["captured_at"].is_null(), "{p}");
    let page = station_page().await;
    assert_eq!(page.matches("现场定位：").count(), 1, "only the located visit");
}

async fn bad_places_and_times_are_refused_naming_the_field(app: TestApp) {
    let (sid, _) = station(&app).await;
    let cases = [
        ("location.latitude", json!({"latitude": 91.0, "longitude": 126.0})),
        ("location.longitude", json!({"latitude": 41.0, "longitude": -180.5})),
        (
            "location.accuracy_m",
            json!({"latitude": 41.0, "longitude": 126.0, "accuracy_m": -1.0}),
        ),
        ("location.longitude", json!({"latitude": 41.0})),
    ];
    for (i, (field, location)) in cases.into_iter().enumerate() {
        let mut v = visit_json();
        v["location"] = location;
        let (status, body) = send(&app, sid, &format!("bad-{i}"), &v, &[]).await;
        assert_field_error(status, &body, field);
    }
    for (i, at) in ["yesterday", "1999-12-31T23:00:00Z", "2999-01-01T00:00:00Z"]
        .into_iter()
        .enumerate()
    {
        let mut v = visit_json();
        v["captured_at"] = json!(at);
        let (status, body) = send(&app, sid, &format!("bad-t{i}"), &v, &[]).await;
        assert_field_error(status, &body, "captured_at");
    }
    // Nothing was written: the station has no visit.
    let (_, list) = json(app.get(&format!("/api/stations/{sid}/visits")).await).await;
    assert_eq!(list["items"].as_array().map_or(0, Vec::len), 0, "{list}");
}

async fn a_repeat_with_the_place_is_the_same_request(app: TestApp) {
    let (sid, _) = station(&app).await;
    let (status, first) = send(&app, sid, "loc-again", &located(), &[]).await;
    assert_eq!(status, 201, "{first}");
    let (status, again) = send(&app, sid, "loc-again", &located(), &[]).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["location"], first["location"]);
    // Another place under the same key is another request: refused.
    let mut moved = located();
    moved["location"]["latitude"] = json!(42.0);
    let (status, body) = send(&app, sid, "loc-again", &moved, &[]).await;
    assert_field_error(status, &body, "idempotency_key");
}

/// The OpenAPI document describes both fields, in and out, and the
/// schemas they refer to are in it.
#[tokio::test]
async fn the_document_describes_the_place_and_time() {
    let app = TestApp::sqlite().await;
    let (status, doc) = json(app.get("/api/openapi.json").await).await;
    assert_eq!(status, 200);
    let schemas = &doc["components"]["schemas"];
    for schema in ["VisitInput", "VisitView", "VisitSummary"] {
        let props = &schemas[schema]["properties"];
        assert!(props["captured_at"].is_object(), "{schema}: {props}");
        let location = props["location"].to_string();
        let target = if schema == "VisitInput" {
            "LocationInput"
        } else {
            "LocationView"
        };
        assert!(
            location.contains(&format!("#/components/schemas/{target}")),
            "{schema}: {location}"
        );
    }
    for schema in ["LocationInput", "LocationView"] {
        let props = &schemas[schema]["properties"];
        for field in ["latitude", "longitude", "accuracy_m"] {
            assert!(props[field].is_object(), "{schema}.{field}: {}", schemas[schema]);
        }
    }
}
