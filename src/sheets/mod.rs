//! Spreadsheets in and out: a streaming XLSX/CSV table writer, a reader that
//! keeps the sheet's own row numbers and maps columns by their Chinese
//! headers, and the station register's (名录) column set.

pub mod read;
pub mod stations;
pub mod write;

#[cfg(test)]
mod tests;
