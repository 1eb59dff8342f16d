//! The 五进 roll-up in the circular (PDF, email, CSV) and the progress
//! export: stations standing by 商场、超市、市场、企业、景区 and 其他行业,
//! adding up to the stations standing.

use std::time::Duration;

use serde_json::Value;

use crate::backend_cases;
use crate::circulars::{baishan, issue, to};
use crate::documents::poppler;
use crate::smtp::SmtpServer;
use crate::spreadsheets::{download, openpyxl};
use crate::support::{Db, json};

backend_cases!(the_five_entries_add_up_in_the_circular_and_the_exports);

const ENTRIES: [&str; 6] = ["商场", "超市", "市场", "企业", "景区", "其他行业"];

/// The number written right after `label` in `text` ("商场12个" → 12).
fn count_after(text: &str, label: &str) -> i64 {
    let at = text.find(label).unwrap_or_else(|| panic!("{label} in {text}")) + label.len();
    let digits: String = text[at..].chars().take_while(char::is_ascii_digit).collect();
    digits
        .parse()
        .unwrap_or_else(|_| panic!("a count after {label} in {text}"))
}

/// The circular's 五进 sentence: (stations standing, the six counts, the
/// trades under 其他行业 added up).
fn five_entry_sentence(text: &str) -> (i64, Vec<i64>, i64) {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let start = squeezed
        .find("全市现有服务站")
        .unwrap_or_else(|| panic!("the 五进 sentence in {squeezed}"));
    let sentence = &squeezed[start..];
    let sentence = &sentence[..sentence.find('。').expect("a full stop")];
    let standing = count_after(sentence, "全市现有服务站");
    let (entries, detail) = sentence.split_once("（其中").unwrap_or((sentence, ""));
    let entries = &entries[entries.find("按“五进”分：").expect("the clerk's words")..];
    let counts = ENTRIES.iter().map(|l| count_after(entries, l)).collect();
    let detail_sum = detail
        .trim_end_matches('）')
        .split('、')
        .filter(|d| !d.is_empty())
        .map(|d| {
            d.trim_end_matches('个')
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        })
        .map(|n| n.parse::<i64>().expect("a count"))
        .sum();
    (standing, counts, detail_sum)
}

fn assert_adds_up(where_: &str, standing: i64, counts: &[i64]) {
    assert_eq!(counts.len(), 6, "{where_}: six entries");
    assert_eq!(
        counts.iter().sum::<i64>(),
        standing,
        "{where_}: the entries add up to the stations standing"
    );
}

fn int(v: &Value) -> i64 {
    v.as_i64()
        .or_else(|| v.as_f64().map(|f| f as i64))
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("a number: {v}"))
}

async fn the_five_entries_add_up_in_the_circular_and_the_exports(db: Db) {
    let smtp = SmtpServer::start();
    let app = baishan(db, &smtp).await;
    let (_, p) = json(app.get("/api/progress?year=2017&as_of=2017-07-14").await).await;
    let standing_total = p["totals"]["built"].as_i64().expect("built");
    assert_eq!(standing_total, 164, "the plan counts stations standing at the year end");

    let c = issue(&app).await;
    let pdf = app
        .get(&format!("/api/circulars/{}/pdf", c["id"]))
        .await
        .bytes()
        .await
        .expect("pdf")
        .to_vec();
    let text = poppler("pdftotext", &["-layout", "-enc", "UTF-8"], &pdf);
    let (standing, counts, other_detail) = five_entry_sentence(&text);
    assert_eq!(standing, standing_total, "the PDF");
    assert_adds_up("the PDF", standing, &counts);
    assert_eq!(other_detail, counts[5], "the trades under 其他行业 add up to it");
    assert!(
        counts[5] > 0 && counts[0] > 0,
        "the demo has malls and other trades: {counts:?}"
    );

    let mails = smtp.wait_for(8, Duration::from_secs(20)).await;
    let office = mails
        .iter()
        .find(|m| to(m) == "office@baishan.example")
        .expect("the office's copy");
    assert_eq!(
        five_entry_sentence(&office.text()),
        (standing, counts.clone(), other_detail),
        "the email"
    );

    // The CSV table: every unit's entries add up to its stations standing,
    // and the units' to the city's.
    let (_, csv) = office
        .attachments()
        .into_iter()
        .find(|(n, _)| n.ends_with(".csv"))
        .expect("the CSV");
    let text = String::from_utf8(csv).expect("UTF-8");
    let mut reader = csv::ReaderBuilder::new().from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers: Vec<String> = reader.headers().expect("headers").iter().map(str::to_owned).collect();
    let first = headers.iter().position(|h| h == "现有服务站").expect("现有服务站");
    let expected: Vec<String> = ENTRIES.iter().map(|e| format!("其中{e}")).collect();
    assert_eq!(headers[first + 1..first + 7], expected[..]);
    assert_eq!(headers[first + 7], "其他行业构成");
    let records: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.expect("record").iter().map(str::to_owned).collect())
        .collect();
    let (totals, units) = records.split_last().expect("rows");
    assert_eq!(totals[1], "合计");
    let number = |r: &Vec<String>, i: usize| r[i].parse::<i64>().unwrap_or_else(|_| panic!("{r:?}"));
    for r in units.iter().chain([totals]) {
        let entries: Vec<i64> = (first + 1..first + 7).map(|i| number(r, i)).collect();
        assert_adds_up(&r[1], number(r, first), &entries);
    }
    assert_eq!(number(totals, first), standing_total);
    assert_eq!(units.iter().map(|r| number(r, first)).sum::<i64>(), standing_total);

    // The progress export carries the same columns.
    let sheet = openpyxl(&download(&app, "/api/progress/export?year=2017&as_of=2017-07-14").await);
    let rows = sheet["rows"].as_array().expect("rows");
    let header: Vec<&str> = rows[1]
        .as_array()
        .expect("header")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let first = header
        .iter()
        .position(|h| *h == "现有服务站")
        .expect("现有服务站 in the export");
    assert_eq!(
        header[first + 1..first + 7],
        expected.iter().map(String::as_str).collect::<Vec<_>>()[..]
    );
    for r in &rows[2..] {
        let entries: Vec<i64> = (first + 1..first + 7).map(|i| int(&r[i])).collect();
        assert_adds_up(r[2].as_str().unwrap_or("?"), int(&r[first]), &entries);
    }
    let last = rows.last().expect("totals");
    assert_eq!((&last[2], int(&last[first])), (&Value::from("合计"), standing_total));
}
