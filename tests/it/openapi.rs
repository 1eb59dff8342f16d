//! The OpenAPI document: complete, served, browsable.

use std::collections::{BTreeMap, BTreeSet};

use crate::support::{TestApp, json};

/// Every route the binary serves is in the document, and the document
/// names nothing the binary does not serve.
#[tokio::test]
async fn every_route_is_documented() {
    let app = TestApp::sqlite().await;
    let (status, doc) = json(app.get("/api/openapi.json").await).await;
    assert_eq!(status, 200);
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );

    let served: BTreeSet<(String, String)> = bayige::http::api::route_table().into_iter().collect();
    let mut documented = BTreeSet::new();
    let mut operation_ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in ["get", "post", "put", "patch", "delete"] {
            if let Some(op) = item.get(method) {
                documented.insert((method.to_owned(), path.clone()));
                let id = op["operationId"].as_str().unwrap_or_default().to_owned();
                operation_ids.entry(id).or_default().push(format!("{method} {path}"));
                let responses = op["responses"].as_object().expect("responses");
                assert!(
                    responses.keys().any(|k| k.starts_with('2')),
                    "{method} {path} documents no success answer"
                );
                assert!(
                    responses.contains_key("4XX"),
                    "{method} {path} documents no error answer"
                );
            }
        }
    }
    // Generated clients name their methods after operation ids.
    assert!(
        !operation_ids.contains_key(""),
        "operations without an id: {:?}",
        operation_ids[""]
    );
    let repeated: Vec<_> = operation_ids.iter().filter(|(_, ops)| ops.len() > 1).collect();
    assert!(repeated.is_empty(), "operation ids used more than once: {repeated:?}");

    let missing: Vec<_> = served.difference(&documented).collect();
    assert!(missing.is_empty(), "served but not in /api/openapi.json: {missing:?}");
    let extra: Vec<_> = documented.difference(&served).collect();
    assert!(extra.is_empty(), "documented but not served: {extra:?}");
    assert!(served.len() >= 40, "the route table lists {} routes", served.len());

    // Every documented route answers (not the catch-all 404 of unknown paths).
    for (method, path) in &served {
        let url: Vec<&str> = path
            .split('/')
            .map(|seg| match seg {
                "{kind}" => "station",
                "{year}" => "2026",
                s if s.starts_with('{') => "1",
                s => s,
            })
            .collect();
        let url = url.join("/");
        let r = app
            .send(method.parse().expect("method"), &url, &serde_json::json!({}))
            .await;
        let status = r.status().as_u16();
        let body: serde_json::Value = r.json().await.unwrap_or_default();
        assert!(
            !(status == 404 && body["error"]["message"] == "没有这个地址"),
            "{method} {url}: the route is documented but not served"
        );
    }
}

#[tokio::test]
async fn the_api_is_browsable_and_other_methods_get_405() {
    let app = TestApp::sqlite().await;
    let anon = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let r = anon.get(app.url("/api/docs")).send().await.expect("docs");
    assert_eq!(r.status(), 308);
    assert_eq!(r.headers()["location"], "/api/docs/");
    let r = anon.get(app.url("/api/docs/")).send().await.expect("docs");
    assert_eq!(r.status(), 200);
    let page = r.text().await.expect("page");
    assert!(page.contains("swagger-ui"), "{page}");
    // The assets come from the binary, not from a CDN.
    assert!(!page.contains("https://"), "external assets: {page}");
    for asset in ["swagger-ui-bundle.js", "swagger-ui.css", "swagger-initializer.js"] {
        let r = anon
            .get(app.url(&format!("/api/docs/{asset}")))
            .send()
            .await
            .expect("asset");
        assert_eq!(r.status(), 200, "{asset}");
        let body = r.text().await.expect("asset body");
        assert!(body.len() > 100, "{asset} is empty");
        if asset == "swagger-initializer.js" {
            assert!(body.contains("/api/openapi.json"), "{body}");
        }
    }

    let r = app
        .send(reqwest::Method::PUT, "/api/stations", &serde_json::json!({}))
        .await;
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "GET, POST");
    let (_, body) = json(r).await;
    assert_eq!(body["error"]["code"], "method_not_allowed");
    let r = app
        .send(reqwest::Method::DELETE, "/healthz", &serde_json::json!({}))
        .await;
    assert_eq!(r.status(), 405);
}
