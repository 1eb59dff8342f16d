//! The bureau's desk in a real browser (see `browser.rs`): the dashboard's
//! chart and burn-up, the progress page, and two circulars for the same date
//! — the first sent by an SMTP server, the second, with no mail server,
//! written to files — with axe-core on every page at 1280 and 375 pixels.
//! Saves the README's screenshots into `tests/screenshots/`.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};

use crate::browser::{arrive, axe, browser, click, shot, sign_in, text};
use crate::smtp::SmtpServer;
use crate::support::{Db, issue_token, json};

const LAGGING: [&str; 4] = ["江源区", "靖宇县", "临江市", "市局直属消保分局"];
const AS_OF: &str = "year=2017&as_of=2017-07-14";

/// Saves a screenshot where README shows it.
async fn readme_shot(c: &Client, name: &str) {
    let png = c.screenshot().await.expect("screenshot");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshots dir");
    std::fs::write(dir.join(name), png).expect("save screenshot");
}

/// axe-core on the page the browser shows, at the desk's and a phone's width.
async fn axe_both(c: &Client, page: &str) {
    c.set_window_size(375, 812).await.expect("phone size");
    axe(c, &format!("{page} (375 px)")).await;
    shot(c, &format!("bureau-{}-phone.png", page.replace([' ', ','], "-"))).await;
    c.set_window_size(1280, 900).await.expect("desk size");
    axe(c, &format!("{page} (1280 px)")).await;
}

async fn texts(c: &Client, css: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in c.find_all(Locator::Css(css)).await.expect(css) {
        out.push(e.text().await.expect("text"));
    }
    out
}

/// "▲ 45.5%" → 45.5.
fn percent(label: &str) -> f64 {
    label
        .trim_start_matches('▲')
        .trim()
        .trim_end_matches('%')
        .parse()
        .unwrap_or_else(|_| panic!("a rate: {label}"))
}

async fn wait_for_text(c: &Client, what: &str, count: usize) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let page = text(c).await;
        if page.matches(what).count() >= count || Instant::now() > deadline {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bureau_reads_its_dashboard_and_issues_a_circular() {
    let Some((_driver, c, _profile)) = browser().await else {
        return;
    };
    let smtp = SmtpServer::start();
    let app = crate::circulars::baishan(Db::Sqlite, &smtp).await;
    c.set_window_size(1280, 900).await.expect("desk size");
    sign_in(&c, &app.base, "admin").await;

    // The dashboard: bars by rate, a legend, lagging named and marked.
    c.goto(&format!("{}/?{AS_OF}", app.base)).await.expect("dashboard");
    c.wait().for_element(Locator::Css("svg.chart")).await.expect("chart");
    let rates: Vec<f64> = texts(&c, "svg.chart text.bar-value")
        .await
        .iter()
        .map(|t| percent(t))
        .collect();
    assert_eq!(rates.len(), 7, "a bar per unit: {rates:?}");
    assert!(rates.windows(2).all(|w| w[0] >= w[1]), "sorted by rate: {rates:?}");
    let marked = texts(&c, "svg.chart text.bar-value").await;
    assert_eq!(marked.iter().filter(|t| t.starts_with('▲')).count(), 4, "{marked:?}");
    let legend = texts(&c, "ul.legend").await.join(" ");
    for words in ["已达到序时进度", "▲ 未达到序时进度", "序时进度 53.4%"] {
        assert!(legend.contains(words), "legend: {legend}");
    }
    let mut named = texts(&c, ".lagging-units .names a").await;
    named
        .iter_mut()
        .for_each(|n| *n = n.trim_start_matches("▲ ").to_owned());
    let mut expected: Vec<String> = LAGGING.iter().map(|s| s.to_string()).collect();
    named.sort();
    expected.sort();
    assert_eq!(named, expected, "the lagging-units card names them");
    let (_, units) = json(app.get("/api/units").await).await;
    let id_of = |name: &str| {
        units["items"]
            .as_array()
            .expect("units")
            .iter()
            .find(|u| u["name"] == name)
            .and_then(|u| u["id"].as_i64())
            .expect("unit id")
    };
    let bar = c.find(Locator::Css("svg.chart a")).await.expect("first bar");
    let first = bar
        .find(Locator::Css("text.bar-name"))
        .await
        .expect("name")
        .text()
        .await
        .expect("text");
    let href = bar.attr("href").await.expect("href").expect("a link");
    assert_eq!(
        href,
        format!("/stations?unit_id={}", id_of(&first)),
        "the best unit's bar links to its stations"
    );
    // The burn-up: the city's stations month by month, with its table.
    c.find(Locator::Css("#burnup-total svg polyline"))
        .await
        .expect("the burn-up line");
    click(&c, "#burnup-total details summary").await;
    let rows = texts(&c, "#burnup-total tbody tr").await;
    assert_eq!(rows.len(), 7, "January to 14 July: {rows:?}");
    let last: Vec<&str> = rows[6].split_whitespace().collect();
    assert_eq!(
        last[..2],
        ["7月14日", "164"],
        "the last point is the day's figure: {rows:?}"
    );
    axe_both(&c, "dashboard").await;
    c.execute("window.scrollTo(0, 0);", vec![])
        .await
        .expect("scroll to the top");
    readme_shot(&c, "dashboard-desk.png").await;

    // A bar leads to that unit's stations.
    click(&c, "svg.chart a rect.bar").await;
    arrive(&c, "/stations").await;
    let url = c.current_url().await.expect("url");
    assert_eq!(url.query(), Some(format!("unit_id={}", id_of(&first)).as_str()));

    // The progress page: by rank, one 序时进度 statement, printable.
    c.goto(&format!("{}/progress?{AS_OF}", app.base))
        .await
        .expect("progress");
    let ranks: Vec<u32> = texts(&c, "table.progress-table tbody tr td:first-child")
        .await
        .iter()
        .map(|r| r.parse().unwrap_or(u32::MAX))
        .collect();
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "by rank: {ranks:?}");
    assert_eq!(ranks[0], 1);
    let page = text(&c).await;
    assert_eq!(page.matches("序时进度为").count(), 1, "one statement: {page}");
    let table = texts(&c, "table.progress-table tbody").await.join("");
    assert!(!table.contains("已达到"), "no per-row 序时进度 column: {table}");
    assert_eq!(
        table.matches('▲').count(),
        4 + 1,
        "four lagging units and the city total marked: {table}"
    );
    let print = c
        .execute(
            "return [...document.styleSheets].flatMap(s => [...s.cssRules])
                .filter(r => r.media && r.media.mediaText === 'print')
                .map(r => r.cssText).join('\\n');",
            vec![],
        )
        .await
        .expect("stylesheets");
    let print = print.as_str().unwrap_or_default();
    assert!(
        print.contains(".print-head") && print.contains("display: block"),
        "{print}"
    );
    let head = c
        .execute("return document.querySelector('.print-head').textContent;", vec![])
        .await
        .expect("print head");
    let head = head.as_str().unwrap_or_default();
    for words in [
        "白山市工商行政管理局",
        "2017年度12315消费维权服务站建设进度表",
        "截至2017年7月14日",
    ] {
        assert!(head.contains(words), "print heading: {head}");
    }
    let multiples = c
        .find_all(Locator::Css(".small-multiples figure"))
        .await
        .expect("burn-ups");
    assert_eq!(multiples.len(), 8, "the city and each of seven units");
    axe_both(&c, "progress").await;

    // Issuing: the confirmation shows the number.
    c.goto(&format!("{}/circulars", app.base)).await.expect("circulars");
    axe_both(&c, "circulars").await;
    click(&c, "form.filters button[type=submit]").await;
    arrive(&c, "/circulars/preview").await;
    let number = c
        .find(Locator::Id("number"))
        .await
        .expect("number")
        .text()
        .await
        .expect("text");
    assert_eq!(number, "白市工商通〔2017〕1号");
    assert!(c.find(Locator::Id("same-date")).await.is_err(), "no earlier circular");
    axe_both(&c, "circular confirmation").await;
    click(&c, "form.confirm button[type=submit]").await;
    c.wait()
        .for_element(Locator::Id("delivery-summary"))
        .await
        .expect("circular page");
    // The page refreshes itself until every delivery is final.
    let page = wait_for_text(&c, "全部投递已有结果", 1).await;
    assert!(page.contains("全部投递已有结果"), "{page}");
    assert_eq!(
        texts(&c, "td .badge").await,
        vec!["已发送"; 8],
        "seven units' leads and the copy, accepted by the SMTP server"
    );
    assert!(
        !page.contains("web:admin") && page.contains("（测试admin）"),
        "issuer by name: {page}"
    );
    axe_both(&c, "circular").await;

    // No mail server now: a second circular for the same date asks first,
    // and its deliveries are written to files.
    app.stop_background().await;
    let filed = app
        .restart_with(|cfg| {
            cfg.today = chrono::NaiveDate::from_ymd_opt(2017, 7, 14);
            cfg.circular_prefix = Some("白市工商通".into());
        })
        .await;
    sign_in(&c, &filed.base, "admin").await;
    c.goto(&format!("{}/circulars/preview?{AS_OF}", filed.base))
        .await
        .expect("preview");
    let warning = c
        .find(Locator::Id("same-date"))
        .await
        .expect("same-date warning")
        .text()
        .await
        .expect("text");
    assert!(
        warning.contains("截至2017年7月14日的通报已经印发过") && warning.contains("白市工商通〔2017〕1号"),
        "{warning}"
    );
    let number = c
        .find(Locator::Id("number"))
        .await
        .expect("number")
        .text()
        .await
        .expect("text");
    assert_eq!(number, "白市工商通〔2017〕2号");
    axe_both(&c, "circular confirmation, same date").await;
    // Unticked, the browser does not send the form.
    click(&c, "form.confirm button[type=submit]").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(c.current_url().await.expect("url").path(), "/circulars/preview");
    click(&c, "#confirm_same_as_of").await;
    click(&c, "form.confirm button[type=submit]").await;
    c.wait()
        .for_element(Locator::Id("delivery-summary"))
        .await
        .expect("circular page");
    let page = wait_for_text(&c, "全部投递已有结果", 1).await;
    assert!(page.contains("写入文件 7 封"), "{page}");
    assert_eq!(
        texts(&c, "td .badge").await,
        vec!["已写入文件"; 7],
        "no mail server (and no copy list here): files"
    );
    assert!(
        c.find(Locator::Css("meta[http-equiv=refresh]")).await.is_err(),
        "final: no more refreshing"
    );
    axe_both(&c, "circular written to files").await;
    c.goto(&format!("{}/circulars", filed.base)).await.expect("circulars");
    let list = text(&c).await;
    assert!(list.contains("已写入文件 7") && list.contains("已发送 8"), "{list}");

    // The visit form on an inspector's phone, for README.
    let hunjiang = id_of("浑江区");
    let ctx = filed.ctx.clone();
    tokio::task::spawn_blocking(move || issue_token(&ctx, "wu", "inspector", &[hunjiang as i32]))
        .await
        .expect("join");
    let (_, stations) = json(filed.get(&format!("/api/stations?unit_id={hunjiang}&per_page=1")).await).await;
    let station = stations["items"][0]["id"].as_i64().expect("a station");
    click(&c, "header.top form button").await;
    c.wait().for_element(Locator::Id("username")).await.expect("signed out");
    c.set_window_size(375, 812).await.expect("phone size");
    sign_in(&c, &filed.base, "wu").await;
    c.goto(&format!("{}/stations/{station}/visit", filed.base))
        .await
        .expect("visit form");
    c.wait()
        .for_element(Locator::Css("form[data-keep]"))
        .await
        .expect("the form");
    readme_shot(&c, "visit-form-phone.png").await;
    c.close().await.expect("close");
}
