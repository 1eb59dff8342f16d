//! The station register (名录) as a spreadsheet: every station the reader
//! may see that matches the list's filters, read in keyset batches and
//! streamed into the sheet writer (constant memory in the rows).

use serde::Deserialize;

use super::{ListQuery, filter_of};
use crate::app::Ctx;
use crate::app::query_param;
use crate::app::spool::{SheetFile, Spooled};
use crate::auth::Principal;
use crate::db::DbConnection;
use crate::db::stations as store;
use crate::db::units as units_store;
use crate::error::{AppError, FieldErrors};
use crate::sheets::stations::{StationRecord, record_cells, table_spec};
use crate::sheets::write::SheetFormat;

/// Stations read per query.
const BATCH: i64 = 5_000;

/// The list's filters and the file format.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ExportQuery {
    /// `xlsx` (default) or `csv`.
    pub format: Option<String>,
    #[param(value_type = Option<i32>, minimum = 1)]
    pub unit_id: Option<String>,
    #[param(value_type = Option<crate::domain::StationStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<crate::domain::Category>)]
    pub category: Option<String>,
    /// Text in the name or the host business.
    #[param(max_length = 100)]
    pub q: Option<String>,
}

/// Parses `format`: xlsx (the default) or csv.
pub fn sheet_format(errors: &mut FieldErrors, value: Option<String>) -> SheetFormat {
    match query_param(errors, "format", value).as_deref() {
        None | Some("xlsx") => SheetFormat::Xlsx,
        Some("csv") => SheetFormat::Csv,
        Some(_) => {
            errors.add("format", "格式应为 xlsx 或 csv");
            SheetFormat::Xlsx
        }
    }
}

fn sheet_error(e: crate::sheets::write::WriteError) -> AppError {
    AppError::Internal(anyhow::Error::new(e).context("cannot write the station register"))
}

/// The register as an XLSX or CSV file (see `app::spool`), with the
/// number of stations in it.
pub fn export_register(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    query: ExportQuery,
) -> Result<(SheetFormat, Spooled, usize), AppError> {
    let mut errors = FieldErrors::new();
    let format = sheet_format(&mut errors, query.format);
    let mut list = ListQuery {
        unit_id: query.unit_id,
        status: query.status,
        category: query.category,
        q: query.q,
        ..ListQuery::default()
    };
    let filter = filter_of(&mut errors, p, &mut list);
    errors.into_result()?;
    let filter = filter?;
    let units: std::collections::HashMap<i32, String> =
        units_store::list(conn)?.into_iter().map(|u| (u.id, u.code)).collect();
    let mut w = SheetFile::create(&ctx.settings.data_dir, format, table_spec(None)).map_err(sheet_error)?;
    let (mut after, mut count) = (0, 0usize);
    loop {
        let (rows, _, _) = store::list(conn, &filter, 1, BATCH, Some(after))?;
        for s in &rows {
            let unit_code = units.get(&s.unit_id).cloned().unwrap_or_default();
            let record = StationRecord {
                unit_code,
                name: s.name.clone(),
                host_business: s.host_business.clone(),
                credit_code: s.credit_code.clone(),
                category: s.category,
                address: s.address.clone(),
                liaison_name: s.liaison_name.clone(),
                liaison_phone: s.liaison_phone.clone(),
                standard_id: s.standard_id.clone(),
                status: s.status,
                established_on: s.established_on,
            };
            w.push(&record_cells(&record), false).map_err(sheet_error)?;
        }
        count += rows.len();
        match rows.last() {
            Some(last) if rows.len() as i64 == BATCH => after = last.id,
            _ => break,
        }
    }
    tracing::info!(stations = count, ?format, "station register exported");
    Ok((format, w.finish().map_err(sheet_error)?, count))
}
