//! The guidance list (整改意见) as a sheet: every row of the list's filters
//! in the reader's scope, overdue ones marked "▲".

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Deserialize;

use super::{BATCH, item_title, sheet_error, unit_names};
use crate::app::Ctx;
use crate::app::guidance::{FilterParams, filter_of};
use crate::app::spool::{SheetFile, Spooled};
use crate::app::stations::sheet_format;
use crate::auth::Principal;
use crate::db::DbConnection;
use crate::db::guidance::GuidanceRow;
use crate::db::sheets as store;
use crate::domain::GuidanceStatus;
use crate::domain::circular::date_zh;
use crate::error::{AppError, FieldErrors};
use crate::sheets::write::{Cell, Column, ColumnKind, SheetFormat, TableSpec};

/// The guidance list's filters and the file format.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct GuidanceExportQuery {
    /// `xlsx` (default) or `csv`.
    #[param(value_type = Option<String>, pattern = "^(xlsx|csv)$")]
    pub format: Option<String>,
    /// `open`, `overdue` (open and past due as of `as_of`) or `resolved`;
    /// all but withdrawn when left out.
    #[param(value_type = Option<String>, pattern = "^(open|overdue|resolved)$")]
    pub status: Option<String>,
    #[param(value_type = Option<i32>, minimum = 1)]
    pub unit_id: Option<String>,
    #[param(value_type = Option<i32>, minimum = 1)]
    pub station_id: Option<String>,
    /// The day "overdue" is judged on (YYYY-MM-DD); today when left out.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub as_of: Option<String>,
}

fn spec(as_of: NaiveDate) -> TableSpec {
    let col = |h: &str, w: f64, k: ColumnKind| Column::new(h, w, k);
    TableSpec {
        sheet_name: "整改意见".into(),
        title: Some(format!("整改意见清单（截至{}）", date_zh(as_of))),
        mark_header: Some("逾期".into()),
        columns: vec![
            col("单位", 16.0, ColumnKind::Text),
            col("服务站名称", 30.0, ColumnKind::Text),
            col("检查项目", 24.0, ColumnKind::Text),
            col("整改意见", 44.0, ColumnKind::Text),
            col("检查日期", 12.0, ColumnKind::Date),
            col("整改期限", 12.0, ColumnKind::Date),
            col("状态", 12.0, ColumnKind::Text),
            col("整改完成日期", 14.0, ColumnKind::Date),
        ],
    }
}

/// One guidance row's cells, and whether it is overdue.
fn row_cells(
    ctx: &Ctx,
    row: &GuidanceRow,
    units: &HashMap<i32, String>,
    raised: &HashMap<i32, (NaiveDate, String, i32)>,
    as_of: NaiveDate,
) -> (Vec<Cell>, bool) {
    let g = &row.guidance;
    let overdue = g.status == GuidanceStatus::Open && g.due_on < as_of;
    let visit = raised.get(&g.raised_by);
    let title = match visit {
        Some((_, id, version)) => item_title(&ctx.standards, (id, *version), &g.item_code),
        None => item_title(&ctx.standards, ("", 0), &g.item_code),
    };
    let status = if overdue {
        "逾期未整改"
    } else {
        g.status.label_zh()
    };
    let cells = vec![
        Cell::Text(units.get(&row.unit_id).cloned().unwrap_or_default()),
        Cell::Text(row.station_name.clone()),
        Cell::Text(title),
        Cell::Text(g.instruction.clone()),
        visit.map_or(Cell::Empty, |(on, ..)| Cell::Date(*on)),
        Cell::Date(g.due_on),
        Cell::Text(status.to_owned()),
        g.resolved_on.map_or(Cell::Empty, Cell::Date),
    ];
    (cells, overdue)
}

/// The guidance list as an XLSX or CSV file, with the number of rows.
pub fn export_guidance(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    query: GuidanceExportQuery,
) -> Result<(SheetFormat, Spooled, usize), AppError> {
    let mut errors = FieldErrors::new();
    let format = sheet_format(&mut errors, query.format);
    let params = FilterParams {
        status: query.status,
        unit_id: query.unit_id,
        station_id: query.station_id,
        as_of: query.as_of,
    };
    let filter = filter_of(conn, ctx, p, errors, params)?;
    let units = unit_names(conn)?;
    let fail = sheet_error("guidance sheet");
    let mut w = SheetFile::create(&ctx.settings.data_dir, format, spec(filter.as_of)).map_err(&fail)?;
    let (mut after, mut count) = (0, 0usize);
    loop {
        let rows = store::guidance_batch(conn, &filter, after, BATCH)?;
        let visit_ids: Vec<i32> = rows.iter().map(|r| r.guidance.raised_by).collect();
        let raised: HashMap<i32, (NaiveDate, String, i32)> = store::visit_dates(conn, &visit_ids)?
            .into_iter()
            .map(|(id, on, standard, version)| (id, (on, standard, version)))
            .collect();
        for row in &rows {
            let (cells, overdue) = row_cells(ctx, row, &units, &raised, filter.as_of);
            w.push(&cells, overdue).map_err(&fail)?;
        }
        count += rows.len();
        match rows.last() {
            Some(last) if rows.len() as i64 == BATCH => after = last.guidance.id,
            _ => break,
        }
    }
    tracing::info!(rows = count, ?format, "guidance list exported");
    Ok((format, w.finish().map_err(&fail)?, count))
}
