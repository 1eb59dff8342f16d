//! The 整改通知书 names its issuing authority as a real notice does: the
//! county's 市场监督管理局, the city bureau's district branch, or the city
//! bureau itself for its directly-run branch (configurable per kind of unit).

use serde_json::Value;

use crate::backend_cases;
use crate::documents::poppler;
use crate::exports::failed_visit;
use crate::support::{Db, TestApp, json};

backend_cases!(the_notice_names_the_issuing_bureau);

/// A standing station of the unit named `unit`.
async fn station_of(app: &TestApp, units: &Value, unit: &str) -> i64 {
    let id = units["items"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["name"] == unit))
        .and_then(|u| u["id"].as_i64())
        .unwrap_or_else(|| panic!("{unit} in {units}"));
    let (_, page) = json(
        app.get(&format!("/api/stations?unit_id={id}&status=established&per_page=1"))
            .await,
    )
    .await;
    page["items"][0]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("a station of {unit}: {page}"))
}

async fn the_notice_names_the_issuing_bureau(db: Db) {
    let app = TestApp::new(db, |c| {
        c.today = chrono::NaiveDate::from_ymd_opt(2017, 7, 14);
        c.circular_issuer = Some("白山市工商行政管理局".into());
        // What the demo defaults to: the city districts were branches of the city bureau.
        c.documents.notice_issuer_district = Some("白山市工商行政管理局{unit_short}分局".into());
    })
    .await;
    app.load_demo().await;
    let (_, units) = json(app.get("/api/units").await).await;
    for (unit, issuer) in [
        ("江源区", "白山市工商行政管理局江源分局"),
        ("抚松县", "抚松县市场监督管理局"),
        ("临江市", "临江市市场监督管理局"),
        ("市局直属消保分局", "白山市工商行政管理局"),
    ] {
        let station = station_of(&app, &units, unit).await;
        let visit = failed_visit(&app, station).await;
        let r = app.get(&format!("/api/visits/{}/notice.pdf", visit["id"])).await;
        assert_eq!(r.status(), 200, "{unit}");
        let pdf = r.bytes().await.expect("pdf").to_vec();
        let text: String = poppler("pdftotext", &["-enc", "UTF-8"], &pdf)
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect();
        assert!(
            text.contains(&format!("检查单位（盖章）：{issuer}")),
            "{unit}'s notice is issued by {issuer}: {text}"
        );
        assert!(text.contains(&format!("并将整改情况报{issuer}。")), "{text}");
    }
}
