//! Spreadsheets in and out: a streaming XLSX/CSV table writer, a reader that
//! keeps the sheet's own row numbers and maps columns by their Chinese
//! headers, and the station register's (名录) column set.
//!
//! - [`write`](mod@write): `TableWriter` streams rows to XLSX (constant memory: about
//!   13 MB peak RSS for 100,000 rows, most of it the finished file) or CSV
//!   (UTF-8 with BOM). Every text cell goes through `write::neutralise`
//!   (OWASP CSV injection). Marked rows: a "▲" column and bold, no fill.
//! - [`read`]: `read_table` takes the first sheet of an XLSX or a CSV, with
//!   the sheet's row numbers, values as Excel shows them, and limits on the
//!   file size, the unzipped size and the row count.
//! - [`stations`]: the register's columns, the export row of a station and
//!   the checks of an imported row (`parse_station_row`, `duplicates`).

pub mod read;
pub mod stations;
pub mod write;

#[cfg(test)]
mod tests;
