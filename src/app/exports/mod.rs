//! The guidance list and the visit records as spreadsheets (XLSX or CSV),
//! with the list's filters and the reader's scope: read in keyset batches
//! and streamed into the constant-memory sheet writer, Chinese headers and
//! labels, dates as date cells. The station register and the progress
//! table have their own modules (`stations::export`, `progress_sheet`).

mod guidance;
mod visits;

pub use guidance::{GuidanceExportQuery, export_guidance};
pub use visits::{VisitExportQuery, export_visits};

use std::collections::HashMap;

use crate::db::DbConnection;
use crate::db::units as units_store;
use crate::error::AppError;
use crate::sheets::write::WriteError;
use crate::standard::Registry;

/// Rows read per query.
const BATCH: i64 = 5_000;

/// A writer error: a sheet longer than Excel allows is the reader's to
/// narrow (a 422 naming `format`); anything else is ours.
fn sheet_error(what: &'static str) -> impl Fn(WriteError) -> AppError {
    move |e| match e {
        WriteError::TooManyRows => crate::error::FieldErrors::single(
            "format",
            "超过Excel工作表的行数上限（1048576行），请缩小筛选范围或导出CSV",
        ),
        other => AppError::Internal(anyhow::Error::new(other).context(format!("cannot write the {what}"))),
    }
}

/// Unit names by id (a city has a handful of units).
fn unit_names(conn: &mut DbConnection) -> Result<HashMap<i32, String>, AppError> {
    Ok(units_store::list(conn)?.into_iter().map(|u| (u.id, u.name)).collect())
}

/// A checklist item's Chinese title in the standard version it was scored
/// against (else the latest version of that standard, else any loaded one).
fn item_title(standards: &Registry, standard: (&str, i32), code: &str) -> String {
    standards
        .get(standard.0, standard.1)
        .and_then(|s| s.item(code))
        .or_else(|| standards.latest(standard.0).and_then(|s| s.item(code)))
        .map(|i| i.title_zh.clone())
        .or_else(|| standards.item_titles().remove(code))
        .unwrap_or_else(|| "（检查项目已不在现行标准中）".to_owned())
}
