//! Renders the Baishan circular and a notice, then reads the PDFs back with
//! poppler-utils (pdftotext, pdffonts, pdfinfo, pdftoppm). The fonts and
//! poppler-utils are installed by `.ci/run`; a missing one fails the test.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::fonts::FontRole;
use super::layout::{Style, break_lines, is_closing, is_opening, units};
use super::*;

fn fonts() -> FontSet {
    FontSet::load_default()
        .unwrap_or_else(|e| panic!("the document fonts are missing ({e}); .ci/run installs texlive-lang-chinese"))
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/documents-test");
    std::fs::create_dir_all(&dir).expect("create target/documents-test");
    dir
}

/// Runs a poppler tool and returns its standard output.
fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name} ({e}): install poppler-utils (.ci/run does)"));
    assert!(
        out.status.success(),
        "{name} {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn row(cells: [&str; 6], marked: bool) -> TableRow {
    TableRow {
        cells: cells.iter().map(|s| s.to_string()).collect(),
        marked,
    }
}

pub(crate) fn baishan_circular() -> OfficialDocument {
    let p = |s: &str| Block::Paragraph(s.to_string());
    OfficialDocument {
        issuer_mark: "白山市工商行政管理局文件".into(),
        number: "白市工商通〔2017〕3号".into(),
        title: "关于对全市建立“12315消费维权服务站”工作进度情况的通报".into(),
        addressees: "各县（市）市场监督管理局、城区工商分局，市局直属消保分局".into(),
        body: vec![
            p(
                "为推进12315“五进”规范化建设，市局制定了《2017年全市建立“12315消费维权服务站”计划》，要求年底前建成330个。按照“时间过半、任务过半”的要求，现将各地建站进度情况通报如下。",
            ),
            Block::Heading1("一、总体情况".into()),
            p(
                "截至7月14日，全市设在商场、超市、市场和企业、景区的消费维权服务站共164个，完成率49.7%；今年新增60个，其中市局直属消保分局建立17个。消费维权服务站自行调解消费纠纷48件，和解率95%，为消费者挽回经济损失近4万元。",
            ),
            Block::Heading2("（一）达到序时进度的单位".into()),
            p("浑江区、抚松县、长白朝鲜族自治县、临江市和市局直属消保分局达到或超过序时进度。"),
            Block::Heading2("（二）未达到序时进度的单位".into()),
            p("江源区尚差4个，靖宇县尚差2个，未达到序时进度。"),
            Block::Heading1("二、下一步工作要求".into()),
            p(
                "各地要高度重视，主要领导亲自安排部署，分管领导亲自带队深入商场、市场、超市、企业、景区实地落实；对已经建立的消费维权服务站进行回访指导，按照“八个一”标准规范运行，确保年底前完成建站任务。",
            ),
        ],
        attachments: vec!["2017年全市建立12315消费维权服务站工作进度表".into()],
        signature: "白山市工商行政管理局".into(),
        date_zh: "2017年7月14日".into(),
        cc: vec![
            "白山市人民政府办公室".into(),
            "吉林省工商行政管理局消费者权益保护局".into(),
        ],
        printed_by: "白山市工商行政管理局办公室".into(),
        printed_on_zh: "2017年7月14日".into(),
        attachment: Some(AttachmentTable {
            heading: "附件".into(),
            title: "2017年全市建立12315消费维权服务站工作进度表".into(),
            columns: [
                "单位",
                "年底前建成",
                "已建成",
                "完成率",
                "序时进度应建成",
                "与序时进度比",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            rows: vec![
                row(["浑江区", "80", "42", "52.5%", "40", "超序时进度2个"], false),
                row(["江源区", "50", "21", "42.0%", "25", "尚差4个"], true),
                row(["抚松县", "60", "31", "51.7%", "30", "超序时进度1个"], false),
                row(["靖宇县", "40", "18", "45.0%", "20", "尚差2个"], true),
                row(["长白朝鲜族自治县", "30", "15", "50.0%", "15", "达到序时进度"], false),
                row(["临江市", "40", "20", "50.0%", "20", "达到序时进度"], false),
                row(["市局直属消保分局", "30", "17", "56.7%", "15", "超序时进度2个"], false),
            ],
            notes: vec!["注：▲为未达到序时进度的单位。序时进度应建成数按年底前建成数的50%向上取整。".into()],
        }),
    }
}

pub(crate) fn sample_notice() -> RectificationNotice {
    let item = |t: &str, f: &str, i: &str, d: &str| NoticeItem {
        title: t.into(),
        finding: f.into(),
        instruction: i.into(),
        deadline_zh: d.into(),
    };
    RectificationNotice {
        number: Some("白市工商消保整〔2017〕12号".into()),
        station_name: "七天连锁酒店白山店12315消费维权服务站".into(),
        host_business: "白山七天连锁酒店有限公司".into(),
        address: "吉林省白山市浑江区浑江大街88号".into(),
        visit_date_zh: "2017年7月10日".into(),
        items: vec![
            item(
                "一块牌子",
                "服务站标牌未悬挂在醒目位置。",
                "将标牌悬挂于前台等消费者易见处。",
                "2017年7月20日前",
            ),
            item(
                "一本台账",
                "消费纠纷台账缺少6月以后的记录，回访情况未登记。",
                "补记6月以来受理的纠纷及回访结果，做到件件有记录。",
                "2017年7月31日前",
            ),
            item(
                "一套制度",
                "未制定消费纠纷和解工作制度。",
                "制定并上墙公示和解工作制度。",
                "2017年7月31日前",
            ),
        ],
        inspectors: vec!["王明".into(), "李华".into()],
        issuing_unit: "白山市工商行政管理局直属消保分局".into(),
        issued_on_zh: "2017年7月10日".into(),
    }
}

fn write(name: &str, bytes: &[u8]) -> String {
    let path = out_dir().join(name);
    std::fs::write(&path, bytes).expect("write the PDF");
    path.to_string_lossy().into_owned()
}

/// Every font is embedded and subset, with a ToUnicode map.
fn assert_fonts_embedded(pdf: &str) {
    let listing = tool("pdffonts", &[pdf]);
    let rows: Vec<&str> = listing.lines().skip(2).collect();
    assert!(!rows.is_empty(), "no fonts in {pdf}:\n{listing}");
    for line in rows {
        let cols: Vec<&str> = line.split_whitespace().collect();
        let n = cols.len();
        assert!(n >= 7, "unexpected pdffonts line: {line}");
        assert_eq!(
            &cols[n - 5..n - 2],
            ["yes", "yes", "yes"],
            "font not embedded+subset+unicode: {line}"
        );
        assert!(cols[0].contains('+'), "subset fonts carry a tag: {line}");
    }
}

fn assert_a4(pdf: &str, pages: Option<usize>) -> usize {
    let info = tool("pdfinfo", &[pdf]);
    assert!(info.contains("595.276 x 841.89 pts (A4)"), "not A4:\n{info}");
    let count = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("page count");
    if let Some(expected) = pages {
        assert_eq!(count, expected, "{info}");
    }
    count
}

fn png(pdf: &str, page: usize, stem: &str) {
    let p = page.to_string();
    let prefix = out_dir().join(stem);
    tool(
        "pdftoppm",
        &[
            "-r",
            "60",
            "-png",
            "-singlefile",
            "-f",
            &p,
            "-l",
            &p,
            pdf,
            &prefix.to_string_lossy(),
        ],
    );
    assert!(prefix.with_extension("png").exists());
}

#[test]
fn circular_text_fonts_and_pages() {
    let bytes = render_circular(&baishan_circular(), &fonts()).expect("render");
    let pdf = write("circular.pdf", &bytes);
    let pages = assert_a4(&pdf, None);
    assert!(pages >= 2, "body and attachment are on separate pages");
    assert_fonts_embedded(&pdf);
    let text = squeeze(&tool("pdftotext", &["-layout", &pdf, "-"]));
    for needle in [
        "白山市工商行政管理局文件",
        "白市工商通〔2017〕3号",
        "工作进度情况的通报",
        "各县（市）市场监督管理局、城区工商分局，市局直属消保分局：",
        "附件：2017年全市建立12315消费维权服务站工作进度表",
        "抄送：白山市人民政府办公室",
        "2017年7月14日印发",
        "▲江源区",
        "长白朝鲜族自治县",
    ] {
        assert!(text.contains(needle), "{needle} not in the text:\n{text}");
    }
    for n in 1..=pages {
        assert!(text.contains(&format!("—{n}—")), "page mark {n} missing");
    }
    png(&pdf, 1, "circular-1");
    png(&pdf, pages, "circular-last");
}

#[test]
fn notice_is_one_a4_page() {
    let bytes = render_notice(&sample_notice(), &fonts()).expect("render");
    let pdf = write("notice.pdf", &bytes);
    assert_a4(&pdf, Some(1));
    assert_fonts_embedded(&pdf);
    let text = squeeze(&tool("pdftotext", &["-layout", &pdf, "-"]));
    let raw = squeeze(&tool("pdftotext", &["-raw", &pdf, "-"]));
    for needle in ["一块牌子", "一本台账", "2017年7月31日前"] {
        assert!(raw.contains(needle), "{needle} not in the table's text:\n{raw}");
    }
    for needle in [
        "整改通知书",
        "七天连锁酒店白山店12315消费维权服务站",
        "检查人员签字：",
        "服务站负责人签字：",
        "王明、李华",
    ] {
        assert!(text.contains(needle), "{needle} not in the text:\n{text}");
    }
    png(&pdf, 1, "notice");
}

#[test]
fn missing_fonts_name_the_role_and_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = FontSet::load(dir.path()).expect_err("an empty directory has no fonts");
    let message = err.to_string();
    assert!(message.contains("仿宋"), "{message}");
    assert!(message.contains("FandolFang-Regular.otf"), "{message}");
}

#[test]
fn units_glue_punctuation_and_numbers() {
    assert_eq!(
        units("共164个，完成率49.7%。"),
        ["共", "164", "个，", "完", "成", "率", "49.7%。"]
    );
    assert_eq!(units("（一）进度"), ["（一）", "进", "度"]);
}

#[test]
fn no_line_starts_with_closing_or_ends_with_opening_punctuation() {
    let fonts = fonts();
    let style = Style::new(FontRole::FangSong, 16.0);
    let face = fonts.face(FontRole::FangSong);
    let text = "甲乙丙，丁戊己（庚）辛。壬癸「子丑」寅卯、辰巳！午未？申酉；戌亥：".repeat(6);
    for width in [16.0 * 3.0, 16.0 * 5.0, 16.0 * 7.0, 16.0 * 11.0] {
        let lines = break_lines(&text, width, width, face, style);
        let joined: String = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(joined, text, "breaking loses no text");
        for line in &lines {
            let first = line.text.chars().next().unwrap();
            let last = line.text.chars().last().unwrap();
            assert!(!is_closing(first), "line starts with {first}: {}", line.text);
            assert!(!is_opening(last), "line ends with {last}: {}", line.text);
            assert!(line.width <= width + 16.5, "line too wide: {}", line.text);
        }
    }
}

#[test]
fn body_grid_is_28_characters_a_line() {
    let fonts = fonts();
    let para = "国".repeat(28 * 3);
    let style = Style::new(FontRole::FangSong, 16.0).tracked(156.0 * super::layout::PT_PER_MM / 28.0 - 16.0);
    let width = super::layout::mm(156.0);
    let lines = break_lines(&para, width, width, fonts.face(FontRole::FangSong), style);
    assert_eq!(lines.len(), 3);
    assert!(lines.iter().all(|l| l.text.chars().count() == 28));
}

/// Baselines of 16 pt text on one laid-out page, top to bottom.
fn body_baselines(page: &[super::layout::Op]) -> Vec<(f32, String)> {
    let mut out: Vec<(f32, String)> = page
        .iter()
        .filter_map(|op| match op {
            super::layout::Op::Text {
                baseline, size, text, ..
            } if *size == 16.0 => Some((*baseline, text.clone())),
            _ => None,
        })
        .collect();
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

fn plain(lines: usize) -> OfficialDocument {
    let mut doc = baishan_circular();
    doc.attachment = None;
    doc.attachments.clear();
    doc.body = vec![Block::Paragraph("国".repeat(28 * lines - 2))];
    doc
}

#[test]
fn full_pages_hold_22_lines() {
    let pages = super::circular::layout_circular(&plain(40), &fonts());
    let second = body_baselines(&pages[1]);
    assert_eq!(second.len(), 22, "{second:?}");
    assert!(second.iter().all(|(_, t)| t.chars().count() == 28));
}

#[test]
fn signature_never_stands_alone_on_a_page() {
    let fonts = fonts();
    for lines in 5..40 {
        let doc = plain(lines);
        let pages = super::circular::layout_circular(&doc, &fonts);
        let page = pages
            .iter()
            .find(|p| body_baselines(p).iter().any(|(_, t)| *t == doc.date_zh))
            .expect("a page with the date");
        let texts = body_baselines(page);
        let sig = texts.iter().position(|(_, t)| *t == doc.signature).expect("signature");
        assert!(sig > 0, "{lines} lines: the signature opens a page");
        assert!(texts[sig - 1].1.starts_with('国'), "{lines} lines: {texts:?}");
    }
}

#[test]
fn long_table_splits_with_the_header_repeated() {
    let mut doc = baishan_circular();
    let table = doc.attachment.as_mut().expect("attachment");
    let rows = table.rows.clone();
    table.rows = rows.iter().cycle().take(50).cloned().collect();
    let bytes = render_circular(&doc, &fonts()).expect("render");
    let pdf = write("circular-long-table.pdf", &bytes);
    let pages = assert_a4(&pdf, None);
    let page_text = |n: usize| {
        let n = n.to_string();
        squeeze(&tool("pdftotext", &["-layout", "-f", &n, "-l", &n, &pdf, "-"]))
    };
    let attachment_pages: Vec<usize> = (1..=pages).filter(|n| page_text(*n).starts_with("附件")).collect();
    assert_eq!(attachment_pages.len(), 1, "one page opens the attachment");
    let first = attachment_pages[0];
    assert!(pages > first, "50 rows need a second page");
    for n in first..=pages {
        assert!(page_text(n).contains("与序时进度比"), "page {n} lacks the header row");
    }
    assert!(page_text(pages).contains("抄送："), "版记 on the last page");
    png(&pdf, pages, "circular-long-table-last");
}

#[test]
fn faces_report_characters_they_cannot_draw() {
    let fonts = fonts();
    for role in FontRole::ALL {
        let face = fonts.face(role);
        assert_eq!(
            face.missing("白市工商通〔2017〕3号，▲（一）"),
            Vec::<char>::new(),
            "{role:?}"
        );
    }
    assert_eq!(fonts.face(FontRole::FangSong).missing("国\u{20000}"), ['\u{20000}']);
}
