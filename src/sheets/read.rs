//! Reads the first sheet of an XLSX file, or a CSV file, into rows of text
//! keyed by the Chinese header of their column.
//!
//! Row numbers are the sheet's own (1-based, as Excel shows them), so an
//! error can say "第5行". The header row is the first of the first
//! [`HEADER_SEARCH_ROWS`] rows that holds an expected header (an export with
//! a title row above the header reads back too). Values come back as the
//! text a clerk sees in Excel: a phone typed as a number is "13943912345",
//! not "1.3943912345e10"; a date cell is "2026-03-15".
//!
//! Input is bounded: the file size, the unzipped size of an XLSX (a zip
//! bomb is rejected before parsing) and the row number.

use std::collections::BTreeMap;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};

use calamine::{DataRef, Reader, Xlsx};

/// How far down the header row is looked for.
pub const HEADER_SEARCH_ROWS: u32 = 5;
/// Columns beyond this are ignored.
const MAX_COLUMNS: u32 = 256;

#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    /// The largest file accepted, in bytes.
    pub max_bytes: usize,
    /// The sum of the uncompressed sizes of an XLSX's parts.
    pub max_unzipped_bytes: u64,
    /// The largest sheet row number accepted (the header counts).
    pub max_rows: u32,
}

impl Default for ReadLimits {
    fn default() -> Self {
        Self {
            max_bytes: 10 << 20,
            max_unzipped_bytes: 200 << 20,
            max_rows: 20_001,
        }
    }
}

/// A column the caller expects, by its header text.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    pub header_zh: &'static str,
    pub required: bool,
}

/// One data row: its sheet row number and its values by header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Row {
    pub number: u32,
    pub values: BTreeMap<&'static str, String>,
}

impl Row {
    /// The trimmed value under `header_zh` ("" when absent or empty).
    pub fn get(&self, header_zh: &str) -> &str {
        self.values.get(header_zh).map(|v| v.trim()).unwrap_or("")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The sheet row number of the header.
    pub header_row: u32,
    /// Headers in the file that are not expected (ignored), in sheet order.
    pub unknown_headers: Vec<String>,
    /// Non-empty data rows, in sheet order.
    pub rows: Vec<Row>,
}

/// Why a file could not be read at all; the text is for the clerk.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ReadError {
    #[error("文件过大：{size}字节，上限为{limit}字节")]
    TooLarge { size: u64, limit: u64 },
    #[error("行数过多：每个文件最多{}行数据（表头另计），第{row}行超出上限，请分成几个文件导入", .limit.saturating_sub(1))]
    TooManyRows { row: u32, limit: u32 },
    #[error("无法读取 Excel 文件（文件可能已损坏）：{0}")]
    Corrupt(String),
    #[error("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx")]
    OldXls,
    #[error("CSV 文件不是 UTF-8 编码（第{row}行），请在 Excel 中另存为“CSV UTF-8（逗号分隔）”")]
    NotUtf8 { row: u32 },
    #[error("无法读取 CSV 文件（第{row}行）：{message}")]
    Csv { row: u32, message: String },
    #[error("文件中没有工作表")]
    NoSheet,
    #[error("前{HEADER_SEARCH_ROWS}行中找不到表头，表头应包括：{0}")]
    NoHeader(String),
    #[error("缺少必填列：{}", .0.join("、"))]
    MissingHeaders(Vec<String>),
    #[error("第{row}行表头“{header}”重复")]
    DuplicateHeader { row: u32, header: String },
}

/// Reads an XLSX (recognised by its zip signature) or a CSV file.
pub fn read_table(bytes: &[u8], expected: &[Expected], limits: &ReadLimits) -> Result<Table, ReadError> {
    read_table_from(Cursor::new(bytes), expected, limits)
}

/// [`read_table`] from a file (or any seekable reader), a row at a time:
/// what is kept is the rows under the header, never the file's text
/// besides (a CSV is read through a buffer; an XLSX's sheet is unzipped as
/// it is read).
pub fn read_table_from<R: Read + Seek>(
    mut input: R,
    expected: &[Expected],
    limits: &ReadLimits,
) -> Result<Table, ReadError> {
    let size = input.seek(SeekFrom::End(0)).map_err(corrupt)?;
    if size > limits.max_bytes as u64 {
        return Err(ReadError::TooLarge {
            size,
            limit: limits.max_bytes as u64,
        });
    }
    input.seek(SeekFrom::Start(0)).map_err(corrupt)?;
    let mut magic = [0u8; 4];
    let got = read_up_to(&mut input, &mut magic)?;
    input.seek(SeekFrom::Start(0)).map_err(corrupt)?;
    let mut table = Builder::new(expected);
    if magic[..got] == *b"PK\x03\x04" {
        xlsx_rows(input, limits, &mut table)?;
    } else if magic[..got] == [0xD0, 0xCF, 0x11, 0xE0] {
        return Err(ReadError::OldXls);
    } else {
        if magic[..got.min(3)] == *"\u{feff}".as_bytes() {
            input.seek(SeekFrom::Start(3)).map_err(corrupt)?;
        }
        csv_rows(input, limits, &mut table)?;
    }
    table.finish()
}

/// Fills `buf` as far as the input goes; how many bytes it got.
fn read_up_to(input: &mut impl Read, buf: &mut [u8]) -> Result<usize, ReadError> {
    let mut got = 0;
    while got < buf.len() {
        match input.read(&mut buf[got..]).map_err(corrupt)? {
            0 => break,
            n => got += n,
        }
    }
    Ok(got)
}

/// Builds the table from the sheet's rows as they are read: looks for the
/// header in the first [`HEADER_SEARCH_ROWS`] rows, then keeps each
/// non-empty row under it by header.
struct Builder<'e> {
    expected: &'e [Expected],
    /// The header's row, its columns (None: not expected) and the table.
    found: Option<(Vec<Option<&'static str>>, Table)>,
}

impl<'e> Builder<'e> {
    fn new(expected: &'e [Expected]) -> Self {
        Builder { expected, found: None }
    }

    /// Takes sheet row `number` with its cells in sheet column order.
    fn push(&mut self, number: u32, cells: Vec<String>) -> Result<(), ReadError> {
        if let Some((columns, table)) = &mut self.found {
            if cells.iter().any(|c| !c.trim().is_empty()) {
                table.rows.push(Row {
                    number,
                    values: columns
                        .iter()
                        .zip(cells)
                        .filter_map(|(col, v)| col.map(|c| (c, v)))
                        .collect(),
                });
            }
            return Ok(());
        }
        if number > HEADER_SEARCH_ROWS {
            return Err(self.no_header());
        }
        if cells.iter().any(|c| self.is_expected(c)) {
            self.found = Some(self.header(number, &cells)?);
        }
        Ok(())
    }

    fn is_expected(&self, h: &str) -> bool {
        self.expected.iter().any(|e| e.header_zh == h.trim())
    }

    fn no_header(&self) -> ReadError {
        ReadError::NoHeader(self.expected.iter().map(|e| e.header_zh).collect::<Vec<_>>().join("、"))
    }

    /// The header row's columns, checked: no expected header twice, every
    /// required one present.
    fn header(&self, row: u32, headers: &[String]) -> Result<(Vec<Option<&'static str>>, Table), ReadError> {
        let mut columns: Vec<Option<&'static str>> = Vec::with_capacity(headers.len());
        let mut unknown_headers = Vec::new();
        for h in headers {
            let found = self
                .expected
                .iter()
                .find(|e| e.header_zh == h.trim())
                .map(|e| e.header_zh);
            if let Some(f) = found
                && columns.contains(&Some(f))
            {
                return Err(ReadError::DuplicateHeader {
                    row,
                    header: f.to_string(),
                });
            }
            if found.is_none() && !h.trim().is_empty() {
                unknown_headers.push(h.trim().to_string());
            }
            columns.push(found);
        }
        let missing: Vec<String> = self
            .expected
            .iter()
            .filter(|e| e.required && !columns.contains(&Some(e.header_zh)))
            .map(|e| e.header_zh.to_string())
            .collect();
        if !missing.is_empty() {
            return Err(ReadError::MissingHeaders(missing));
        }
        let table = Table {
            header_row: row,
            unknown_headers,
            rows: Vec::new(),
        };
        Ok((columns, table))
    }

    fn finish(self) -> Result<Table, ReadError> {
        match self.found {
            Some((_, table)) => Ok(table),
            None => Err(self.no_header()),
        }
    }
}

fn corrupt(e: impl std::fmt::Display) -> ReadError {
    ReadError::Corrupt(e.to_string())
}

/// Rejects a zip whose parts would unpack beyond the limit (as declared in
/// the central directory, which the decompressor also enforces per entry).
fn check_unzipped_size<R: Read + Seek>(input: &mut R, limit: u64) -> Result<(), ReadError> {
    let mut zip = zip::ZipArchive::new(&mut *input).map_err(corrupt)?;
    let mut total: u64 = 0;
    for i in 0..zip.len() {
        total = total.saturating_add(zip.by_index_raw(i).map_err(corrupt)?.size());
    }
    if total > limit {
        return Err(ReadError::TooLarge { size: total, limit });
    }
    Ok(())
}

fn xlsx_rows<R: Read + Seek>(mut input: R, limits: &ReadLimits, table: &mut Builder) -> Result<(), ReadError> {
    check_unzipped_size(&mut input, limits.max_unzipped_bytes)?;
    input.seek(SeekFrom::Start(0)).map_err(corrupt)?;
    let mut book: Xlsx<_> = Xlsx::new(BufReader::new(input)).map_err(corrupt)?;
    let first = book.sheet_names().first().cloned().ok_or(ReadError::NoSheet)?;
    let mut cells = book.worksheet_cells_reader(&first).map_err(corrupt)?;
    // The row being read: its number and its cells so far.
    let mut row: Option<(u32, Vec<String>)> = None;
    while let Some(cell) = cells.next_cell().map_err(corrupt)? {
        let (r, c) = cell.get_position();
        let text = cell_text(cell.get_value());
        if c >= MAX_COLUMNS || text.is_empty() {
            continue;
        }
        let number = r.saturating_add(1);
        if number > limits.max_rows {
            return Err(ReadError::TooManyRows {
                row: number,
                limit: limits.max_rows,
            });
        }
        if row.as_ref().is_none_or(|(n, _)| *n != number)
            && let Some((n, values)) = row.replace((number, Vec::new()))
        {
            table.push(n, values)?;
        }
        if let Some((_, values)) = row.as_mut() {
            values.resize(values.len().max(c as usize + 1), String::new());
            values[c as usize] = text;
        }
    }
    match row {
        Some((n, values)) => table.push(n, values),
        None => Ok(()),
    }
}

/// The text Excel shows for a cell (general number format, 15 significant
/// digits; dates as YYYY-MM-DD, with the time when there is one).
pub fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Int(n) => n.to_string(),
        DataRef::Float(f) => number_text(*f),
        DataRef::String(s) => s.clone(),
        DataRef::SharedString(s) => s.to_string(),
        DataRef::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
        DataRef::DateTime(d) => match d.as_datetime() {
            Some(dt) if d.is_datetime() && dt.time() == chrono::NaiveTime::MIN => dt.format("%Y-%m-%d").to_string(),
            Some(dt) if d.is_datetime() => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
            _ => number_text(d.as_f64()),
        },
        DataRef::DateTimeIso(s) => s.strip_suffix("T00:00:00").unwrap_or(s).to_string(),
        DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
        DataRef::Empty => String::new(),
    }
}

/// A number as Excel's "General" format shows it, without an exponent.
fn number_text(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    // Excel keeps 15 significant digits; Rust's Display never uses an exponent.
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    rounded.to_string()
}

fn csv_rows(input: impl Read, limits: &ReadLimits, table: &mut Builder) -> Result<(), ReadError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input);
    let mut record = csv::ByteRecord::new();
    for number in 1u32.. {
        let more = reader.read_byte_record(&mut record).map_err(|e| ReadError::Csv {
            row: number,
            message: e.to_string(),
        })?;
        if !more {
            break;
        }
        if number > limits.max_rows {
            return Err(ReadError::TooManyRows {
                row: number,
                limit: limits.max_rows,
            });
        }
        let values = record
            .iter()
            .take(MAX_COLUMNS as usize)
            .map(|f| String::from_utf8(f.to_vec()).map_err(|_| ReadError::NotUtf8 { row: number }))
            .collect::<Result<Vec<_>, _>>()?;
        table.push(number, values)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const COLS: &[Expected] = &[
        Expected {
            header_zh: "名称",
            required: true,
        },
        Expected {
            header_zh: "电话",
            required: true,
        },
        Expected {
            header_zh: "备注",
            required: false,
        },
    ];

    #[test]
    fn csv_maps_headers_in_any_order_with_sheet_row_numbers() -> Result<(), ReadError> {
        let csv = "\u{feff}标题\n电话,其他,名称\n13943912345,x,一站\n,,\n0439-3221234,,二站\n";
        let t = read_table(csv.as_bytes(), COLS, &ReadLimits::default())?;
        assert_eq!(t.header_row, 2);
        assert_eq!(t.unknown_headers, vec!["其他".to_string()]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(
            (t.rows[0].number, t.rows[0].get("名称"), t.rows[0].get("电话")),
            (3, "一站", "13943912345")
        );
        assert_eq!(
            (t.rows[1].number, t.rows[1].get("名称"), t.rows[1].get("备注")),
            (5, "二站", "")
        );
        Ok(())
    }

    #[test]
    fn missing_required_headers_are_named() {
        let r = read_table("名称,备注\n一站,\n".as_bytes(), COLS, &ReadLimits::default());
        assert_eq!(r, Err(ReadError::MissingHeaders(vec!["电话".into()])));
        assert_eq!(r.err().map(|e| e.to_string()).as_deref(), Some("缺少必填列：电话"));
        let dup = read_table("名称,电话,名称\n".as_bytes(), COLS, &ReadLimits::default());
        assert!(matches!(dup, Err(ReadError::DuplicateHeader { row: 1, .. })));
        assert!(matches!(
            read_table(b"a,b\n", COLS, &ReadLimits::default()),
            Err(ReadError::NoHeader(_))
        ));
    }

    #[test]
    fn limits_and_bad_input_are_errors_not_panics() {
        let small = ReadLimits {
            max_bytes: 10,
            ..ReadLimits::default()
        };
        assert!(matches!(
            read_table(&[b'a'; 11], COLS, &small),
            Err(ReadError::TooLarge { size: 11, .. })
        ));
        let few = ReadLimits {
            max_rows: 2,
            ..ReadLimits::default()
        };
        let r = read_table("名称,电话\na,1\nb,2\n".as_bytes(), COLS, &few);
        assert_eq!(r, Err(ReadError::TooManyRows { row: 3, limit: 2 }));
        assert!(matches!(
            read_table(b"PK\x03\x04garbage", COLS, &ReadLimits::default()),
            Err(ReadError::Corrupt(_))
        ));
        assert_eq!(
            read_table(&[0xD0, 0xCF, 0x11, 0xE0, 0], COLS, &ReadLimits::default()),
            Err(ReadError::OldXls)
        );
        let gbk = b"\xc3\xfb\xb3\xc6,x\n"; // "名称" in GBK
        assert_eq!(
            read_table(gbk, COLS, &ReadLimits::default()),
            Err(ReadError::NotUtf8 { row: 1 })
        );
    }

    #[test]
    fn numbers_read_as_excel_shows_them() {
        assert_eq!(number_text(1.3943912345e10), "13943912345");
        assert_eq!(number_text(0.1 + 0.2), "0.3");
        assert_eq!(number_text(220100.0), "220100");
        assert_eq!(number_text(-2.5), "-2.5");
    }
}
