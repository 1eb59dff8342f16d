//! The Baishan demo data set: loaded once, the article's figures.

use crate::backend_tests;
use crate::support::{TestApp, json};

backend_tests!(demo_matches_the_article_and_loads_once);

async fn demo_matches_the_article_and_loads_once(app: TestApp) {
    let url = app.db_url.clone();
    let load = || {
        let url = url.clone();
        let data = app.data.path().to_owned();
        tokio::task::spawn_blocking(move || {
            let ctx = bayige::cli::context(&crate::support::common(&url, None, data), 2).expect("context");
            let mut conn = ctx.pool.get().expect("conn");
            bayige::app::demo::load(&mut conn, &ctx).expect("demo loads")
        })
    };
    let first = load().await.expect("join");
    assert!(!first.already_loaded);
    assert_eq!(first.units, 7);
    let second = load().await.expect("join");
    assert!(second.already_loaded, "a second load adds nothing");

    let (_, units) = json(app.get("/api/units").await).await;
    let names: Vec<_> = units["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|u| u["name"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(
        names,
        [
            "浑江区",
            "江源区",
            "抚松县",
            "靖宇县",
            "长白朝鲜族自治县",
            "临江市",
            "市局直属消保分局"
        ]
    );
    let (_, plans) = json(app.get("/api/plans?year=2017").await).await;
    assert_eq!(plans["total_target"], 330);

    let count = |q: String| {
        let app = &app;
        async move {
            json(app.get(&format!("/api/stations?per_page=1&{q}")).await).await.1["total"]
                .as_i64()
                .unwrap_or(-1)
        }
    };
    let built = count("status=established".into()).await
        + count("status=model".into()).await
        + count("status=rectifying".into()).await;
    assert_eq!(built, 164, "164 stations stand in mid-2017");
    assert_eq!(
        count("status=model".into()).await,
        1,
        "the model station at Baishan Telecom"
    );
    assert!(count("status=rectifying".into()).await >= 1);
    assert!(count("status=planned".into()).await >= 1);
    assert!(count("status=revoked".into()).await >= 1);
    assert_eq!(count(String::new()).await, first.stations as i64);

    // 60 new in 2017, 17 of them by the directly-run branch.
    let mut new_2017 = 0;
    let mut branch_2017 = 0;
    let branch_id = units["items"][6]["id"].as_i64().expect("branch id");
    for page in 1..=2 {
        let (_, list) = json(app.get(&format!("/api/stations?per_page=100&page={page}")).await).await;
        for s in list["items"].as_array().expect("items") {
            // Words a Baishan clerk would recognise: 91 companies, 92 sole
            // traders; addresses are streets, not unit names.
            let code = s["credit_code"].as_str().unwrap_or("91");
            assert!(code.starts_with("91") || code.starts_with("92"), "{s}");
            let address = s["address"].as_str().expect("address");
            assert!(names.iter().all(|unit| !address.contains(unit.as_str())), "{s}");
            if s["unit_id"].as_i64() == Some(branch_id) {
                let host = s["host_business"].as_str().expect("host");
                let seed = [
                    "七天连锁酒店",
                    "无限极",
                    "白山烟草",
                    "邮政快递",
                    "白山农村商业银行",
                    "白山电信",
                ];
                assert!(seed.iter().any(|h| host.starts_with(h)), "{s}");
            }
            let built = ["established", "model", "rectifying"].contains(&s["status"].as_str().unwrap_or(""));
            if built && s["established_on"].as_str().is_some_and(|d| d.starts_with("2017")) {
                new_2017 += 1;
                if s["unit_id"].as_i64() == Some(branch_id) {
                    branch_2017 += 1;
                }
            }
        }
    }
    assert_eq!((new_2017, branch_2017), (60, 17));
    // A visit history: every built station was accepted; shortfalls are open,
    // overdue in mid-July 2017, or resolved by follow-ups.
    assert!(first.visits > 164, "{first:?}");
    let g = |q: &'static str| {
        let app = &app;
        async move {
            json(app.get(&format!("/api/guidance?{q}")).await).await.1["total"]
                .as_i64()
                .unwrap_or(-1)
        }
    };
    let overdue = g("status=overdue&as_of=2017-07-14").await;
    let open = g("status=open").await;
    assert!(
        overdue > 0 && open > overdue,
        "some overdue, some still in time: {overdue} of {open}"
    );
    assert!(g("status=resolved").await > 0);
    let (_, rectifying) = json(app.get("/api/stations?status=rectifying&per_page=1").await).await;
    let id = rectifying["items"][0]["id"].as_i64().expect("a rectifying station");
    let (_, state) = json(app.get(&format!("/api/stations/{id}/checklist")).await).await;
    assert_eq!(
        state["last_visit"]["compliant"], false,
        "put under rectification by a failing visit: {state}"
    );

    let (_, telecom) = json(app.get("/api/stations?status=model").await).await;
    assert_eq!(telecom["items"][0]["host_business"], "白山电信");
}
