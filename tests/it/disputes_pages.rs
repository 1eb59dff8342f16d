//! A station keeps its ledger on a phone: the Chinese pages, errors beside
//! the field with nothing typed lost, and masking on the pages of others.

use crate::backend_cases;
use crate::disputes::ledger;
use crate::pages::sign_in;
use crate::support::Db;

backend_cases!(a_station_keeps_its_ledger_on_the_pages);

async fn a_station_keeps_its_ledger_on_the_pages(db: Db) {
    let l = ledger(db, Some("2017-10-20")).await;
    let (client, csrf) = sign_in(&l.app, "station-a").await;
    let home = client.get(l.app.url("/")).send().await.expect("home");
    assert_eq!(home.status(), 303, "a station account lands on its ledger");
    let page = client.get(l.app.url("/disputes")).send().await.expect("list");
    let status = page.status();
    let text = page.text().await.expect("text");
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("投诉受理台账") && text.contains("登记投诉"), "{text}");
    assert!(text.contains("name=\"viewport\""), "phone-friendly layout");
    assert!(
        !text.contains("建站进度"),
        "nothing but its ledger and station in the menu"
    );

    let blank = client.get(l.app.url("/disputes/new")).send().await.expect("form");
    assert_eq!(blank.status(), 200);
    let blank = blank.text().await.expect("text");
    assert!(
        blank.contains("消费者姓名") && blank.contains("2017-10-20"),
        "today's date filled in: {blank}"
    );
    let mut form = vec![
        ("csrf_token", csrf.as_str()),
        ("channel", "walk_in"),
        ("received_on", "2017-10-19"),
        ("received_time", "10:05"),
        ("consumer_name", "李秀英"),
        ("consumer_phone", "13943901234"),
        ("subject", "宽带业务"),
        ("subject_kind", "service"),
        ("amount", "12.345"),
        ("complaint", "宽带到期未续约仍扣费"),
    ];
    let r = client
        .post(l.app.url("/disputes/new"))
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 422);
    let text = r.text().await.expect("text");
    assert!(text.contains("最多两位小数"), "the error beside the amount: {text}");
    assert!(
        text.contains("宽带到期未续约仍扣费") && text.contains("13943901234"),
        "nothing typed is lost"
    );
    form.retain(|(k, _)| *k != "amount");
    form.push(("amount", "12.50"));
    let r = client
        .post(l.app.url("/disputes/new"))
        .form(&form)
        .send()
        .await
        .expect("post");
    assert_eq!(r.status(), 303);
    let to = r
        .headers()
        .get("location")
        .and_then(|h| h.to_str().ok())
        .expect("location")
        .to_owned();
    let shown = client
        .get(l.app.url(&to))
        .send()
        .await
        .expect("case")
        .text()
        .await
        .expect("text");
    assert!(
        shown.contains("李秀英") && shown.contains("12.50 元") && shown.contains("处理与回访"),
        "{shown}"
    );
    let case_path = to.split('?').next().expect("path").to_owned();

    // The follow-up form closes it.
    let version = "1";
    let r = client
        .post(l.app.url(&case_path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("version", version),
            ("handling", "settled"),
            ("outcome", "refund"),
            ("recovered", "12.50"),
            ("handled_on", "2017-10-19"),
        ])
        .send()
        .await
        .expect("update");
    assert_eq!(r.status(), 303);

    // Its own station page: the 八个一 results and its ledger's figures.
    let own = client
        .get(l.app.url(&format!("/stations/{}", l.station_a)))
        .send()
        .await
        .expect("station");
    assert_eq!(own.status(), 200);
    let own = own.text().await.expect("text");
    assert!(
        own.contains("“八个一”检查情况") && own.contains("和解率 100.0%"),
        "{own}"
    );
    let other = client
        .get(l.app.url(&format!("/stations/{}", l.station_b)))
        .send()
        .await
        .expect("station");
    assert_eq!(other.status(), 403);

    // A city-wide viewer sees the case masked.
    l.app.as_user("city-viewer", "viewer", &[]).await;
    let (viewer, _) = sign_in(&l.app, "city-viewer").await;
    let seen = viewer
        .get(l.app.url(&case_path))
        .send()
        .await
        .expect("case")
        .text()
        .await
        .expect("text");
    assert!(seen.contains("李**") && seen.contains("139****1234"), "{seen}");
    assert!(!seen.contains("李秀英") && !seen.contains("13943901234"), "{seen}");
    assert!(!seen.contains("处理与回访"), "only the station records");
    let list = viewer
        .get(l.app.url("/disputes"))
        .send()
        .await
        .expect("list")
        .text()
        .await
        .expect("text");
    assert!(list.contains("李**") && list.contains("已办结"), "{list}");

    // The users page binds a station account to its station and names it.
    let (admin, admin_csrf) = sign_in(&l.app, "admin").await;
    let users = admin
        .get(l.app.url("/users"))
        .send()
        .await
        .expect("users")
        .text()
        .await
        .expect("text");
    assert!(
        users.contains("白山电信消费维权服务站") && users.contains("绑定的服务站编号"),
        "{users}"
    );
    let station_b = l.station_b.to_string();
    for (station, expected) in [("", 422), (station_b.as_str(), 303)] {
        let r = admin
            .post(l.app.url("/users"))
            .form(&[
                ("csrf_token", admin_csrf.as_str()),
                ("username", "station-b"),
                ("role", "station"),
                ("station_id", station),
                ("password", "correct horse battery"),
            ])
            .send()
            .await
            .expect("create");
        assert_eq!(r.status(), expected);
        if expected == 422 {
            assert!(r.text().await.expect("text").contains("服务站账号须绑定一个服务站"));
        }
    }
}
