//! A streaming table writer: the same rows to XLSX or CSV.
//!
//! XLSX is written with `rust_xlsxwriter` in constant-memory mode: each
//! finished row goes to a temporary file, so memory does not grow with the
//! row count (the zip is streamed into the output at
//! [`TableWriter::finish_output`]). CSV is UTF-8 with a byte order mark,
//! which Excel needs to show Chinese, written row by row into the output.
//! The output is any writer: a file for exports (`app::spool`), which keeps
//! a whole export out of memory, or a buffer ([`TableWriter::new`]).
//!
//! Marked rows (lagging stations and the like) must survive black-and-white
//! printing, where a fill may vanish. When [`TableSpec::mark_header`] is set,
//! the table gets a first column with that header holding "▲" on marked rows
//! (visible in CSV, in print and usable in the autofilter), and in XLSX a
//! marked row is also bold. No fill is used.

use std::borrow::Cow;
use std::io::{Cursor, Write};
use std::path::Path;

use chrono::{Datelike, NaiveDate};
use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, Workbook, Worksheet, XlsxError};

/// The symbol written in the mark column of a marked row.
pub const MARK: &str = "▲";

/// How a column's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Integer,
    /// A fraction (0.5) shown as a percentage (`0.0%`).
    Percent,
    /// A real date cell (`yyyy-mm-dd`) in XLSX, `YYYY-MM-DD` in CSV.
    Date,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub header_zh: String,
    /// Width in Excel character units.
    pub width: f64,
    pub kind: ColumnKind,
}

impl Column {
    pub fn new(header_zh: &str, width: f64, kind: ColumnKind) -> Self {
        Self {
            header_zh: header_zh.to_string(),
            width,
            kind,
        }
    }
}

#[derive(Debug, Clone)]
pub struct TableSpec {
    /// At most 31 characters, none of `[]:*?/\`.
    pub sheet_name: String,
    /// A title row above the header (XLSX and CSV); the header then is row 2.
    pub title: Option<String>,
    /// When set, a first column with this header marks rows with "▲".
    pub mark_header: Option<String>,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A fraction: 0.125 is shown as 12.5%.
    Percent(f64),
    Date(NaiveDate),
    Empty,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SheetFormat {
    Xlsx,
    Csv,
}

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("row {row} has {got} cells, the table has {expected} columns")]
    RowWidth { row: u32, got: usize, expected: usize },
    #[error("writing XLSX at row {row}: {source}")]
    Xlsx { row: u32, source: XlsxError },
    #[error("writing CSV at row {row}: {source}")]
    Csv { row: u32, source: csv::Error },
    #[error("XLSX allows at most 1,048,576 rows")]
    TooManyRows,
    #[error("writing the output: {0}")]
    Io(#[from] std::io::Error),
}

/// Makes text safe to open in a spreadsheet (OWASP "CSV Injection",
/// <https://owasp.org/www-community/attacks/CSV_Injection>): a value that
/// begins with `=`, `+`, `-`, `@`, a tab or a carriage return gets a leading
/// `'`, so no spreadsheet evaluates it as a formula (DDE, HYPERLINK).
///
/// Used for every text cell of both formats. In XLSX the cell is in any case
/// written as a string, never a formula; the `'` is kept there too so that a
/// value copied out of the sheet into another tool (or saved again as CSV)
/// is still inert. Numbers, percentages and dates are typed cells and are
/// not touched. The `'` is a real character of the cell (not Excel's hidden
/// quote-prefix style), so Excel shows it: a clerk sees "'=HYPERLINK(…)"
/// and knows the value was neutralised. A literal leading `-` in text (such
/// as "-") reads back as "'-": [`restore`] undoes exactly this on import.
pub fn neutralise(text: &str) -> Cow<'_, str> {
    match text.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{text}")),
        _ => Cow::Borrowed(text),
    }
}

/// The inverse of [`neutralise`]: removes the `'` it added, and only that.
pub fn restore(text: &str) -> &str {
    match text.strip_prefix('\'') {
        Some(rest) if neutralise(rest).len() != rest.len() => rest,
        _ => text,
    }
}

struct XlsxState {
    workbook: Workbook,
    header: Format,
    title: Format,
    formats: Formats,
}

/// Cell formats, plain and bold (for marked rows).
struct Formats {
    text: [Format; 2],
    percent: [Format; 2],
    date: [Format; 2],
    int: [Format; 2],
}

impl Formats {
    fn new() -> Self {
        let pair = |f: Format| [f.clone(), f.set_bold()];
        Self {
            text: pair(Format::new()),
            percent: pair(Format::new().set_num_format("0.0%")),
            date: pair(Format::new().set_num_format("yyyy-mm-dd")),
            int: pair(Format::new().set_num_format("0")),
        }
    }
}

enum Sink<W: Write> {
    /// The workbook, and the output its zip is streamed into at the end.
    Xlsx(Box<XlsxState>, W),
    Csv(Box<csv::Writer<W>>),
}

/// Writes one table row by row into `W`; see the module documentation.
pub struct TableWriter<W: Write + Send = Cursor<Vec<u8>>> {
    spec: TableSpec,
    sink: Sink<W>,
    /// The next 0-based sheet row.
    next_row: u32,
    header_row: u32,
}

const XLSX_MAX_ROWS: u32 = 1_048_576;

impl TableWriter {
    /// Starts a table in memory: writes the title (if any) and the header
    /// row. For small tables and tests; an export writes to a file
    /// ([`TableWriter::with_output`]).
    pub fn new(format: SheetFormat, spec: TableSpec) -> Result<Self, WriteError> {
        Self::with_output(format, spec, Cursor::new(Vec::new()), None)
    }

    /// Finishes the file (autofilter over header and data) and returns it.
    pub fn finish(self) -> Result<Vec<u8>, WriteError> {
        Ok(self.finish_output()?.into_inner())
    }

    /// Finishes the file into `out`.
    pub fn finish_into(self, out: &mut impl Write) -> Result<(), WriteError> {
        out.write_all(&self.finish()?)?;
        Ok(())
    }
}

impl<W: Write + Send> TableWriter<W> {
    /// Starts a table written into `out`: the title (if any) and the header
    /// row. `tempdir` is where the XLSX writer keeps its rows until the
    /// end (the system's temporary folder when None).
    pub fn with_output(
        format: SheetFormat,
        spec: TableSpec,
        out: W,
        tempdir: Option<&Path>,
    ) -> Result<Self, WriteError> {
        let header_row = u32::from(spec.title.is_some());
        let sink = match format {
            SheetFormat::Xlsx => Sink::Xlsx(Box::new(start_xlsx(&spec, header_row, tempdir)?), out),
            SheetFormat::Csv => Sink::Csv(Box::new(start_csv(&spec, out)?)),
        };
        Ok(Self {
            spec,
            sink,
            next_row: header_row + 1,
            header_row,
        })
    }

    fn width(&self) -> usize {
        self.spec.columns.len() + usize::from(self.spec.mark_header.is_some())
    }

    /// Appends a data row; `cells` has one value per column of the spec.
    pub fn push(&mut self, cells: &[Cell], marked: bool) -> Result<(), WriteError> {
        let row = self.next_row;
        if cells.len() != self.spec.columns.len() {
            return Err(WriteError::RowWidth {
                row: row + 1,
                got: cells.len(),
                expected: self.spec.columns.len(),
            });
        }
        if row >= XLSX_MAX_ROWS {
            return Err(WriteError::TooManyRows);
        }
        let mark = self
            .spec
            .mark_header
            .is_some()
            .then(|| Cell::Text(if marked { MARK } else { "" }.into()));
        let all = mark.iter().chain(cells.iter());
        match &mut self.sink {
            Sink::Xlsx(x, _) => {
                let sheet = sheet(&mut x.workbook).map_err(|source| WriteError::Xlsx { row: row + 1, source })?;
                for (col, cell) in all.enumerate() {
                    write_xlsx_cell(sheet, &x.formats, row, col as u16, cell, marked)
                        .map_err(|source| WriteError::Xlsx { row: row + 1, source })?;
                }
            }
            Sink::Csv(w) => {
                let record: Vec<String> = all.map(csv_text).collect();
                w.write_record(&record)
                    .map_err(|source| WriteError::Csv { row: row + 1, source })?;
            }
        }
        self.next_row += 1;
        Ok(())
    }

    /// Finishes the file (autofilter over header and data) and returns the
    /// output it was written into.
    pub fn finish_output(self) -> Result<W, WriteError> {
        let last_row = self.next_row - 1;
        let last_col = (self.width() as u16).saturating_sub(1);
        match self.sink {
            Sink::Xlsx(mut x, mut out) => {
                let err = |source| WriteError::Xlsx {
                    row: last_row + 1,
                    source,
                };
                sheet(&mut x.workbook)
                    .map_err(err)?
                    .autofilter(self.header_row, 0, last_row, last_col)
                    .map_err(err)?;
                x.workbook.save_to_writer(&mut out).map_err(err)?;
                out.flush()?;
                Ok(out)
            }
            Sink::Csv(w) => w.into_inner().map_err(|e| WriteError::Io(e.into_error())),
        }
    }
}

fn sheet(workbook: &mut Workbook) -> Result<&mut Worksheet, XlsxError> {
    workbook.worksheet_from_index(0)
}

fn start_xlsx(spec: &TableSpec, header_row: u32, tempdir: Option<&Path>) -> Result<XlsxState, WriteError> {
    let err = |source| WriteError::Xlsx {
        row: header_row + 1,
        source,
    };
    let mut workbook = Workbook::new();
    if let Some(dir) = tempdir {
        workbook.set_tempdir(dir).map_err(err)?;
    }
    let mut state = XlsxState {
        workbook,
        header: Format::new().set_bold().set_align(FormatAlign::Center).set_text_wrap(),
        title: Format::new().set_bold().set_font_size(14),
        formats: Formats::new(),
    };
    let sheet = state.workbook.add_worksheet_with_constant_memory().map_err(err)?;
    sheet.set_name(&spec.sheet_name).map_err(err)?;
    let mark = spec.mark_header.as_ref().map(|h| Column::new(h, 5.0, ColumnKind::Text));
    let columns: Vec<&Column> = mark.iter().chain(spec.columns.iter()).collect();
    for (col, c) in columns.iter().enumerate() {
        sheet.set_column_width(col as u16, c.width).map_err(err)?;
    }
    sheet.set_freeze_panes(header_row + 1, 0).map_err(err)?;
    if let Some(title) = &spec.title {
        sheet
            .write_string_with_format(0, 0, neutralise(title), &state.title)
            .map_err(err)?;
    }
    for (col, c) in columns.iter().enumerate() {
        sheet
            .write_string_with_format(header_row, col as u16, neutralise(&c.header_zh), &state.header)
            .map_err(err)?;
    }
    Ok(state)
}

fn start_csv<W: Write>(spec: &TableSpec, mut out: W) -> Result<csv::Writer<W>, WriteError> {
    // The BOM goes before the csv writer so it is never quoted.
    out.write_all("\u{feff}".as_bytes())?;
    let mut w = csv::WriterBuilder::new().flexible(true).from_writer(out);
    let err = |source| WriteError::Csv { row: 1, source };
    if let Some(title) = &spec.title {
        w.write_record([neutralise(title).as_ref()]).map_err(err)?;
    }
    let mark = spec.mark_header.iter().map(|h| neutralise(h));
    let headers: Vec<Cow<str>> = mark
        .chain(spec.columns.iter().map(|c| neutralise(&c.header_zh)))
        .collect();
    w.write_record(headers.iter().map(|h| h.as_ref())).map_err(err)?;
    Ok(w)
}

fn write_xlsx_cell(
    sheet: &mut Worksheet,
    f: &Formats,
    row: u32,
    col: u16,
    cell: &Cell,
    marked: bool,
) -> Result<(), XlsxError> {
    let b = usize::from(marked);
    match cell {
        Cell::Text(t) => sheet.write_string_with_format(row, col, neutralise(t), &f.text[b])?,
        Cell::Int(n) => sheet.write_number_with_format(row, col, *n as f64, &f.int[b])?,
        Cell::Percent(p) => sheet.write_number_with_format(row, col, *p, &f.percent[b])?,
        // Excel counts days from 1900: an earlier (or far later) date is
        // written as the text a clerk would type.
        Cell::Date(d) => match excel_date(*d) {
            Ok(date) => sheet.write_datetime_with_format(row, col, date, &f.date[b])?,
            Err(_) => sheet.write_string_with_format(row, col, d.format("%Y-%m-%d").to_string(), &f.text[b])?,
        },
        Cell::Empty if marked => sheet.write_blank(row, col, &f.text[b])?,
        Cell::Empty => sheet,
    };
    Ok(())
}

fn excel_date(d: NaiveDate) -> Result<ExcelDateTime, XlsxError> {
    let year = u16::try_from(d.year())
        .ok()
        .filter(|y| (1900..=9999).contains(y))
        .ok_or_else(|| XlsxError::DateTimeRangeError(d.to_string()))?;
    ExcelDateTime::from_ymd(year, d.month() as u8, d.day() as u8)
}

fn csv_text(cell: &Cell) -> String {
    match cell {
        Cell::Text(t) => neutralise(t).into_owned(),
        Cell::Int(n) => n.to_string(),
        Cell::Percent(p) => format!("{:.1}%", p * 100.0),
        Cell::Date(d) => d.format("%Y-%m-%d").to_string(),
        Cell::Empty => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutralises_formula_starts_only() {
        for bad in [
            "=1+1",
            "+1",
            "-1",
            "@SUM(A1)",
            "\tx",
            "\rx",
            "=HYPERLINK(\"http://x\",\"y\")",
        ] {
            assert_eq!(neutralise(bad), format!("'{bad}"), "{bad:?}");
            assert_eq!(restore(&neutralise(bad)), bad);
        }
        for ok in ["商场", "0439-3221234", "a=b", "", "'quoted", " =x"] {
            assert!(matches!(neutralise(ok), Cow::Borrowed(_)), "{ok:?}");
            assert_eq!(restore(ok), ok);
        }
    }

    fn spec() -> TableSpec {
        TableSpec {
            sheet_name: "进度".into(),
            title: None,
            mark_header: Some("滞后".into()),
            columns: vec![
                Column::new("名称", 20.0, ColumnKind::Text),
                Column::new("完成率", 10.0, ColumnKind::Percent),
                Column::new("日期", 12.0, ColumnKind::Date),
                Column::new("数量", 8.0, ColumnKind::Integer),
            ],
        }
    }

    #[test]
    fn csv_has_bom_mark_column_and_neutralised_text() -> Result<(), WriteError> {
        let mut w = TableWriter::new(SheetFormat::Csv, spec())?;
        let d = NaiveDate::from_ymd_opt(2026, 3, 15).ok_or(WriteError::TooManyRows)?;
        w.push(
            &[
                Cell::Text("=cmd|' /C calc'!A0".into()),
                Cell::Percent(0.125),
                Cell::Date(d),
                Cell::Int(3),
            ],
            true,
        )?;
        w.push(
            &[Cell::Text("一站".into()), Cell::Empty, Cell::Empty, Cell::Int(-2)],
            false,
        )?;
        let text = String::from_utf8(w.finish()?).map_err(|e| std::io::Error::other(e.to_string()))?;
        assert_eq!(
            text,
            "\u{feff}滞后,名称,完成率,日期,数量\n▲,'=cmd|' /C calc'!A0,12.5%,2026-03-15,3\n,一站,,,-2\n"
        );
        Ok(())
    }

    #[test]
    fn row_width_is_checked() -> Result<(), WriteError> {
        let mut w = TableWriter::new(SheetFormat::Xlsx, spec())?;
        assert!(matches!(
            w.push(&[Cell::Empty], false),
            Err(WriteError::RowWidth {
                row: 2,
                got: 1,
                expected: 4
            })
        ));
        Ok(())
    }

    #[test]
    fn dates_excel_cannot_hold_are_written_as_text() {
        let spec = TableSpec {
            sheet_name: "t".into(),
            title: None,
            mark_header: None,
            columns: vec![Column::new("建站日期", 12.0, ColumnKind::Date)],
        };
        let mut w = TableWriter::new(SheetFormat::Xlsx, spec).expect("writer");
        for d in [(1, 1, 1), (1899, 12, 31), (2017, 7, 14)] {
            let date = NaiveDate::from_ymd_opt(d.0, d.1, d.2).expect("date");
            w.push(&[Cell::Date(date)], false)
                .expect("an early date is not an error");
        }
        assert!(!w.finish().expect("finish").is_empty());
    }
}
