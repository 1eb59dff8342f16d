//! The circular as an official document: its PDF read back with poppler's
//! `pdftotext` and `pdffonts` (tools this project did not write), the same
//! PDF on every email, the clerk's whole numbers, and the 发文字号 register.

use std::process::Command;
use std::time::Duration;

use serde_json::json;

use crate::backend_cases;
use crate::circulars::{baishan, issue, to};
use crate::smtp::SmtpServer;
use crate::support::{Db, TestApp, assert_field_error, fresh_sqlite, json};

backend_cases!(
    the_circular_pdf_is_a_document_a_clerk_files,
    the_register_sets_the_next_serial,
    a_visit_leaves_a_rectification_notice,
);

/// Runs a poppler tool on `pdf` and returns its standard output.
pub(crate) fn poppler(tool: &str, args: &[&str], pdf: &[u8]) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("doc.pdf");
    std::fs::write(&path, pdf).expect("write pdf");
    let mut cmd = Command::new(tool);
    cmd.args(args).arg(&path);
    if tool == "pdftotext" {
        cmd.arg("-");
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{tool} (poppler-utils) must be installed: {e}"));
    assert!(out.status.success(), "{tool}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 text")
}

/// A station count with a fraction ("176.3个"), as a clerk never writes.
fn fractional_counts(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut found = Vec::new();
    for (i, c) in chars.iter().enumerate() {
        if *c == '个' && i >= 3 && chars[i - 1].is_ascii_digit() && chars[i - 2] == '.' && chars[i - 3].is_ascii_digit()
        {
            found.push(chars[i.saturating_sub(8)..=i].iter().collect());
        }
    }
    found
}

/// pdffonts lists one face a line after two header lines; the "emb" column
/// says whether it is embedded.
fn unembedded_fonts(listing: &str) -> Vec<String> {
    listing
        .lines()
        .skip(2)
        .filter(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            // name type [encoding…] emb sub uni object ID: emb is 5th from the end.
            cols.len() < 5 || cols[cols.len() - 5] != "yes"
        })
        .map(str::to_owned)
        .collect()
}

async fn the_circular_pdf_is_a_document_a_clerk_files(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;
    let c = issue(&app).await;
    assert_eq!(c["pdf"], true, "{c}");

    let r = app.get(&format!("/api/circulars/{}/pdf", c["id"])).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.expect("body").to_vec();
    assert!(pdf.starts_with(b"%PDF"));

    // -nopgbrk keeps lines whole; spaces from the 28-character grid are dropped.
    let text: String = poppler("pdftotext", &["-layout", "-enc", "UTF-8"], &pdf)
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    for needle in [
        "白山市工商行政管理局文件",
        "白市工商通〔2017〕1号",
        "关于对全市建立“12315消费维权服务站”工作进度情况的通报",
        "各县（市）市场监督管理局、城区工商分局，市局直属消保分局：",
        "全市计划年底前建成330个，已建成164个",
        "应建成177个，全市整体未达到序时进度，尚差13个",
        "江源区：计划年底前建成40个，已建成18个",
        "尚差4个",
        "附件：2017年全市建立12315消费维权服务站工作进度表",
        "抄送：市局办公室",
        "白山市工商行政管理局办公室",
        "2017年7月14日印发",
    ] {
        assert!(text.contains(needle), "{needle} missing from the PDF: {text}");
    }
    assert_eq!(fractional_counts(&text), Vec::<String>::new(), "no fractional stations");
    assert!(!text.contains("贵单位"), "a superior never writes 贵单位 in a 通报");
    assert!(!text.contains("-"), "no negative gap: {text}");

    let fonts = poppler("pdffonts", &[], &pdf);
    assert!(fonts.lines().count() > 2, "fonts are listed: {fonts}");
    assert_eq!(
        unembedded_fonts(&fonts),
        Vec::<String>::new(),
        "every font embedded: {fonts}"
    );

    // Every email carries the same PDF; only a unit's cover note says 贵单位.
    let mails = smtp.wait_for(8, Duration::from_secs(20)).await;
    for m in &mails {
        let pdfs: Vec<_> = m
            .attachments()
            .into_iter()
            .filter(|(n, _)| n.ends_with(".pdf"))
            .collect();
        assert_eq!(pdfs.len(), 1, "{} got the PDF", to(m));
        assert_eq!(pdfs[0].0, "白市工商通〔2017〕1号.pdf");
        assert!(pdfs[0].1 == pdf, "the PDF as issued");
    }
    let jy = mails
        .iter()
        .find(|m| to(m) == "jiangyuan@baishan.example")
        .expect("江源区");
    let office = mails
        .iter()
        .find(|m| to(m) == "office@baishan.example")
        .expect("office");
    assert!(
        jy.text().starts_with("江源区：") && jy.text().contains("贵单位所在行"),
        "{}",
        jy.text()
    );
    assert!(!office.text().contains("贵单位"), "{}", office.text());
    assert_eq!(fractional_counts(&office.text()), Vec::<String>::new());
    assert!(office.text().contains("抄送：市局办公室。"), "{}", office.text());

    // The circular page links to it, and the link works with the session.
    let (browser, _) = crate::pages::sign_in(&app, "admin").await;
    let page = browser
        .get(app.url(&format!("/circulars/{}", c["id"])))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    let link = format!("/api/circulars/{}/pdf", c["id"]);
    assert!(page.contains(&link), "{page}");
    let r = browser.get(app.url(&link)).send().await.expect("pdf");
    assert_eq!(r.status(), 200);
    assert!(r.bytes().await.expect("body").to_vec() == pdf);

    let r = app.get("/api/circulars/999999/pdf").await;
    assert_eq!(r.status(), 404);
}

async fn the_register_sets_the_next_serial(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;
    let (status, v) = json(app.get("/api/circular-serials/2017").await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!((v["next"].as_i64(), v["last_issued"].as_i64()), (Some(1), Some(0)));

    // The bureau's register is at 4: the next circular is number 5.
    let (status, v) = json(app.put("/api/circular-serials/2017", &json!({"next": 5})).await).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["next_number"], "白市工商通〔2017〕5号");
    let (_, pv) = json(
        app.post("/api/circulars/preview", &json!({"year": 2017, "as_of": "2017-07-14"}))
            .await,
    )
    .await;
    assert_eq!(pv["number"], "白市工商通〔2017〕5号");
    let c = issue(&app).await;
    assert_eq!(
        (c["number"].as_str(), c["serial"].as_i64()),
        (Some("白市工商通〔2017〕5号"), Some(5))
    );
    let c = issue(&app).await;
    assert_eq!(c["serial"], 6, "gap-free from there on");

    // Never back onto a number already issued; bad values name the field.
    for (body, field) in [
        (json!({"next": 6}), "next"),
        (json!({"next": 3}), "next"),
        (json!({"next": 0}), "next"),
        (json!({"next": "七"}), "next"),
    ] {
        let (status, err) = json(app.put("/api/circular-serials/2017", &body).await).await;
        assert_field_error(status, &err, field);
    }
    let (status, err) = json(app.put("/api/circular-serials/二〇一七", &json!({"next": 9})).await).await;
    assert_field_error(status, &err, "year");
    let (_, v) = json(app.get("/api/circular-serials/2017").await).await;
    assert_eq!(
        (v["next"].as_i64(), v["last_issued"].as_i64()),
        (Some(7), Some(6)),
        "nothing changed"
    );

    // Only admins keep the register.
    let viewer = app.as_user("viewer1", "viewer", &[]).await;
    let r = viewer.put("/api/circular-serials/2017", &json!({"next": 20})).await;
    assert_eq!(r.status(), 403);
    let r = viewer.get("/api/circular-serials/2017").await;
    assert_eq!(r.status(), 403);

    // The audit log says who set it, from what to what.
    let (status, log) = json(app.get("/api/audit?entity=circular_serial&per_page=10").await).await;
    assert_eq!(status, 200, "{log}");
    let items = log["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{log}");
    assert_eq!(items[0]["action"], "circular.set_serial");
    assert_eq!(items[0]["entity_id"], "白市工商通/2017");
    let (_, me) = json(app.get("/api/me").await).await;
    assert_eq!(items[0]["username"], me["username"], "{log}");
    assert_eq!(items[0]["after"]["next"], 5, "{log}");
}

fn bayige(args: &[&str], db_url: &str, env: &[(&str, &str)]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_bayige"))
        .args(args)
        .env("BAYIGE_DATABASE_URL", db_url)
        .env("BAYIGE_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .expect("run bayige")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_register_is_kept_from_the_command_line() {
    let (url, guard) = fresh_sqlite();
    let app = TestApp::start(url.clone(), guard, "sqlite", None).await;
    let args = ["circular", "set-serial", "--year", "2017", "--next", "12"];
    let o = bayige(&args, &url, &[("USER", "wang")]);
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains("市监通〔2017〕12号"), "{out}");
    let (_, v) = json(app.get("/api/circular-serials/2017").await).await;
    assert_eq!(v["next"], 12, "{v}");
    let (_, log) = json(app.get("/api/audit?entity=circular_serial").await).await;
    assert_eq!(log["items"][0]["username"], "system:cli:wang", "{log}");

    let o = bayige(&["circular", "set-serial", "--year", "2017", "--next", "0"], &url, &[]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success() && err.contains("next") && err.contains("序号"),
        "{err}"
    );
}

#[test]
fn a_missing_font_is_a_clear_start_up_error() {
    let (url, _guard) = fresh_sqlite();
    let no_fonts = [("BAYIGE_FONT_DIR", "/nonexistent/fonts")];
    let o = bayige(&["serve", "--bind", "127.0.0.1:0"], &url, &no_fonts);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!o.status.success(), "{err}");
    let line = err
        .lines()
        .find(|l| l.starts_with("bayige: error:"))
        .unwrap_or_default();
    for needle in [
        "PDF output is on",
        "/nonexistent/fonts",
        "texlive-lang-chinese",
        "BAYIGE_PDF=false",
    ] {
        assert!(line.contains(needle), "{needle} missing: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    // With PDF output off, the fonts are not needed.
    let off = [("BAYIGE_FONT_DIR", "/nonexistent/fonts"), ("BAYIGE_PDF", "false")];
    let o = bayige(&["circular", "set-serial", "--year", "2017", "--next", "2"], &url, &off);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

async fn a_visit_leaves_a_rectification_notice(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;
    let (status, open) = json(app.get("/api/guidance?status=open&per_page=1").await).await;
    assert_eq!(status, 200, "{open}");
    let g = &open["items"][0];
    let (_, visit) = json(app.get(&format!("/api/visits/{}", g["raised_by"])).await).await;
    let (_, station) = json(app.get(&format!("/api/stations/{}", visit["station_id"])).await).await;
    let item = visit["items"]
        .as_array()
        .and_then(|items| items.iter().find(|i| i["code"] == g["item_code"]))
        .expect("the failed item");

    let r = app.get(&format!("/api/visits/{}/notice.pdf", visit["id"])).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let pdf = r.bytes().await.expect("body").to_vec();
    let squeeze = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    let text = squeeze(&poppler("pdftotext", &["-enc", "UTF-8"], &pdf));
    let due: chrono::NaiveDate = g["due_on"].as_str().and_then(|d| d.parse().ok()).expect("due_on");
    let visited: chrono::NaiveDate = visit["visited_on"].as_str().and_then(|d| d.parse().ok()).expect("date");
    use chrono::Datelike;
    let zh = |d: chrono::NaiveDate| format!("{}年{}月{}日", d.year(), d.month(), d.day());
    for needle in [
        "整改通知书".to_owned(),
        squeeze(station["name"].as_str().unwrap_or("?")),
        squeeze(station["host_business"].as_str().unwrap_or("?")),
        squeeze(item["title_zh"].as_str().unwrap_or("?")),
        // Table cells wrap; the deadline column can come between two lines.
        squeeze(g["instruction"].as_str().unwrap_or("?"))
            .chars()
            .take(12)
            .collect(),
        format!("{}前", zh(due)),
        zh(visited),
        squeeze(visit["inspector"].as_str().unwrap_or("?")),
        "检查人员签字".to_owned(),
        "服务站负责人签字".to_owned(),
    ] {
        assert!(text.contains(&needle), "{needle} missing from the notice: {text}");
    }
    let info = poppler("pdfinfo", &[], &pdf);
    assert!(
        info.lines().any(|l| l.starts_with("Pages:") && l.ends_with(" 1")),
        "one page: {info}"
    );
    assert_eq!(unembedded_fonts(&poppler("pdffonts", &[], &pdf)), Vec::<String>::new());

    // The station page links to it; a lead of another unit may not read it.
    let (browser, _) = crate::pages::sign_in(&app, "admin").await;
    let page = browser
        .get(app.url(&format!("/stations/{}", station["id"])))
        .send()
        .await
        .expect("page")
        .text()
        .await
        .expect("text");
    assert!(
        page.contains(&format!("/api/visits/{}/notice.pdf", visit["id"])),
        "{page}"
    );
    let (_, units) = json(app.get("/api/units").await).await;
    let other = units["items"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["id"] != station["unit_id"]))
        .and_then(|u| u["id"].as_i64())
        .expect("another unit");
    let lead = app.as_user("lead_other", "county_lead", &[other as i32]).await;
    let r = lead.get(&format!("/api/visits/{}/notice.pdf", visit["id"])).await;
    assert_eq!(r.status(), 403);
    assert_eq!(app.get("/api/visits/999999/notice.pdf").await.status(), 404);
}
