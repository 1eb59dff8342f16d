//! Importing the station register (名录) from XLSX or CSV: every row
//! checked, matched to a stored station by credit code (else by unit and
//! name), then created or updated through the same use cases as the form,
//! all in one transaction. A dry run does everything and rolls back, so its
//! report is exactly what the real import would do.

use std::collections::HashMap;

use serde::Serialize;

use super::edit::{create, update};
use super::input::{StationInput, StationPatch};
use crate::app::Ctx;
use crate::auth::Principal;
use crate::auth::policy::{self, Admin};
use crate::db::stations::{self as store, Station};
use crate::db::units as units_store;
use crate::db::{self, DbConnection};
use crate::error::{AppError, FieldErrors};
use crate::sheets::read::{ReadLimits, read_table_from};
use crate::sheets::stations::{self as register, CellError, StationRecord, duplicates, expected, parse_station_row};

#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ImportError {
    /// The sheet's own row number.
    pub row: u32,
    /// The column's Chinese header.
    pub column: String,
    pub message: String,
}

#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Empty when the import was (or would be) written.
    pub errors: Vec<ImportError>,
}

fn cell(e: CellError) -> ImportError {
    ImportError {
        row: e.row,
        column: e.column_zh.to_owned(),
        message: e.message_zh,
    }
}

/// The register column an API field belongs to.
fn column_of(field: &str) -> &'static str {
    match field {
        "unit_id" => register::UNIT,
        "host_business" => register::HOST,
        "credit_code" => register::CREDIT_CODE,
        "category" => register::CATEGORY,
        "address" => register::ADDRESS,
        "liaison_name" => register::LIAISON,
        "liaison_phone" => register::PHONE,
        "standard_id" => register::STANDARD,
        "status" => register::STATUS,
        "established_on" => register::ESTABLISHED,
        _ => register::NAME,
    }
}

/// A use case's refusal of one row, as the row's errors.
fn row_errors(row: u32, e: AppError) -> Result<Vec<ImportError>, AppError> {
    match e {
        AppError::Validation(FieldErrors(fields)) => Ok(fields
            .into_iter()
            .flat_map(|(field, messages)| {
                messages.into_iter().map(move |message| ImportError {
                    row,
                    column: column_of(&field).to_owned(),
                    message,
                })
            })
            .collect()),
        AppError::Conflict { message, .. } => Ok(vec![ImportError {
            row,
            column: register::NAME.to_owned(),
            message,
        }]),
        other => Err(other),
    }
}

fn same(s: &Station, r: &StationRecord, unit_id: i32) -> bool {
    s.unit_id == unit_id
        && s.name == r.name
        && s.host_business == r.host_business
        && s.credit_code == r.credit_code
        && s.category == r.category
        && s.address == r.address
        && s.liaison_name == r.liaison_name
        && s.liaison_phone == r.liaison_phone
        && s.standard_id == r.standard_id
        && s.status == r.status
        && s.established_on == r.established_on
}

/// What stopped the transaction: an error, or the rollback a dry run or a
/// bad row asks for.
enum Stop {
    Failed(AppError),
    RolledBack,
}

impl From<diesel::result::Error> for Stop {
    fn from(e: diesel::result::Error) -> Self {
        Stop::Failed(e.into())
    }
}

/// Writes one checked row: created, updated or unchanged.
fn apply(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    row: u32,
    r: &StationRecord,
    unit_id: i32,
    report: &mut ImportReport,
) -> Result<(), AppError> {
    let found = match &r.credit_code {
        Some(code) => store::by_credit_code(conn, code)?,
        None => None,
    };
    let found = match found {
        Some(s) => Some(s),
        None => store::by_unit_and_name(conn, unit_id, &r.name)?,
    };
    let result = match found {
        Some(s) if same(&s, r, unit_id) => {
            report.unchanged += 1;
            return Ok(());
        }
        Some(s) if s.status != r.status => Err(FieldErrors::single(
            "status",
            format!(
                "名录中为“{}”，现为“{}”：状态变更（验收、撤销命名等）请在服务站页面办理",
                r.status.label_for(r.established_on),
                s.status.label_for(s.established_on)
            ),
        )),
        Some(s) => update(
            conn,
            ctx,
            p,
            s.id,
            StationPatch {
                version: Some(s.version),
                unit_id: Some(unit_id),
                name: Some(r.name.clone()),
                host_business: Some(r.host_business.clone()),
                credit_code: Some(r.credit_code.clone()),
                category: Some(r.category.as_str().to_owned()),
                address: Some(r.address.clone()),
                liaison_name: Some(r.liaison_name.clone()),
                liaison_phone: Some(r.liaison_phone.clone()),
                standard_id: Some(r.standard_id.clone()),
                established_on: r.established_on,
                liaison_email: None,
                status: None,
            },
        )
        .map(|_| report.updated += 1),
        None => create(
            conn,
            ctx,
            p,
            StationInput {
                unit_id: Some(unit_id),
                name: Some(r.name.clone()),
                host_business: Some(r.host_business.clone()),
                credit_code: r.credit_code.clone(),
                category: Some(r.category.as_str().to_owned()),
                address: Some(r.address.clone()),
                liaison_name: Some(r.liaison_name.clone()),
                liaison_phone: Some(r.liaison_phone.clone()),
                standard_id: Some(r.standard_id.clone()),
                status: Some(r.status.as_str().to_owned()),
                established_on: r.established_on,
                liaison_email: None,
            },
        )
        .map(|_| report.created += 1),
    };
    match result {
        Ok(()) => Ok(()),
        Err(e) => {
            report.errors.extend(row_errors(row, e)?);
            Ok(())
        }
    }
}

/// Imports a register file. With errors in any row nothing is written and
/// the report lists them all, by the sheet's row and column.
pub fn import(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    bytes: &[u8],
    dry_run: bool,
) -> Result<ImportReport, AppError> {
    let file = std::io::Cursor::new(bytes);
    import_with_progress(conn, ctx, p, file, dry_run, &ReadLimits::default(), &mut |_, _| {})
}

/// [`import`] of a file read a row at a time (the command line reads it
/// from disk), within `limits` (the command line may allow more rows than
/// the web form), calling `progress(rows written, rows)` as it goes.
pub fn import_with_progress(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    file: impl std::io::Read + std::io::Seek,
    dry_run: bool,
    limits: &ReadLimits,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<ImportReport, AppError> {
    policy::require_admin(p, Admin::ManageStations)?;
    let table = read_table_from(file, &expected(), limits).map_err(|e| FieldErrors::single("file", e.to_string()))?;
    let units: HashMap<String, i32> = units_store::list(conn)?.into_iter().map(|u| (u.code, u.id)).collect();
    let unit_codes: Vec<&str> = units.keys().map(String::as_str).collect();
    let standards: Vec<&str> = ctx.standards.latest_all().iter().map(|s| s.id.as_str()).collect();
    let mut report = ImportReport {
        dry_run,
        ..ImportReport::default()
    };
    let mut records: Vec<(u32, StationRecord)> = Vec::new();
    for row in &table.rows {
        match parse_station_row(row, &unit_codes, &standards) {
            Ok(r) => records.push((row.number, r)),
            Err(errors) => report.errors.extend(errors.into_iter().map(cell)),
        }
    }
    report.errors.extend(duplicates(&records).into_iter().map(cell));
    if report.errors.is_empty() {
        let outcome = db::write_tx(conn, |conn| {
            for (i, (row, r)) in records.iter().enumerate() {
                let unit_id = units.get(&r.unit_code).copied().unwrap_or_default();
                apply(conn, ctx, p, *row, r, unit_id, &mut report).map_err(Stop::Failed)?;
                progress(i + 1, records.len());
            }
            if dry_run || !report.errors.is_empty() {
                return Err(Stop::RolledBack);
            }
            Ok(())
        });
        match outcome {
            Ok(()) | Err(Stop::RolledBack) => {}
            Err(Stop::Failed(e)) => return Err(e),
        }
    }
    if !report.errors.is_empty() {
        report.errors.sort_by_key(|e| e.row);
        (report.created, report.updated, report.unchanged) = (0, 0, 0);
    }
    tracing::info!(
        dry_run,
        rows = table.rows.len(),
        created = report.created,
        updated = report.updated,
        unchanged = report.unchanged,
        errors = report.errors.len(),
        "station register imported"
    );
    Ok(report)
}
