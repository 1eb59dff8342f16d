//! The visit records (检查记录) as a sheet: every visit of the filters in
//! the reader's scope (voided ones included and said so), non-compliant
//! ones marked "▲", with the items each found failing.

use std::collections::HashMap;

use chrono::NaiveDate;
use serde::Deserialize;

use super::{BATCH, item_title, sheet_error, unit_names};
use crate::app::spool::{SheetFile, Spooled};
use crate::app::stations::sheet_format;
use crate::app::{Ctx, int_param, query_param};
use crate::auth::Principal;
use crate::auth::policy;
use crate::db::DbConnection;
use crate::db::sheets::{self as store, VisitFilter, VisitRow};
use crate::db::stations as station_store;
use crate::domain::VisitKind;
use crate::error::{AppError, FieldErrors};
use crate::sheets::write::{Cell, Column, ColumnKind, SheetFormat, TableSpec};

/// Which visits, and the file format.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct VisitExportQuery {
    /// `xlsx` (default) or `csv`.
    #[param(value_type = Option<String>, pattern = "^(xlsx|csv)$")]
    pub format: Option<String>,
    #[param(value_type = Option<i32>, minimum = 1)]
    pub unit_id: Option<String>,
    /// One station's history (as on its page).
    #[param(value_type = Option<i32>, minimum = 1)]
    pub station_id: Option<String>,
    #[param(value_type = Option<VisitKind>)]
    pub kind: Option<String>,
    /// Visited on or after this day (YYYY-MM-DD).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    /// Visited on or before this day (YYYY-MM-DD).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub to: Option<String>,
}

fn date_param(errors: &mut FieldErrors, field: &str, value: Option<String>) -> Option<NaiveDate> {
    let v = query_param(errors, field, value)?;
    NaiveDate::parse_from_str(&v, "%Y-%m-%d")
        .map_err(|_| errors.add(field, "日期格式应为 YYYY-MM-DD"))
        .ok()
}

/// Checks the filters and the reader's right to the unit or station asked.
fn filter_of(
    conn: &mut DbConnection,
    p: &Principal,
    q: VisitExportQuery,
) -> Result<(SheetFormat, VisitFilter), AppError> {
    let mut errors = FieldErrors::new();
    let format = sheet_format(&mut errors, q.format);
    let unit_id = int_param(&mut errors, "unit_id", q.unit_id, 1..=i64::from(i32::MAX)).map(|u| u as i32);
    let station_id = int_param(&mut errors, "station_id", q.station_id, 1..=i64::from(i32::MAX)).map(|s| s as i32);
    let kind = query_param(&mut errors, "kind", q.kind).and_then(|k| {
        let kind = VisitKind::parse(&k);
        if kind.is_none() {
            let labels: Vec<&str> = VisitKind::ALL.iter().map(|k| k.as_str()).collect();
            errors.add("kind", format!("未知的检查类型，可选：{}", labels.join("、")));
        }
        kind
    });
    let from = date_param(&mut errors, "from", q.from);
    let to = date_param(&mut errors, "to", q.to);
    if let (Some(from), Some(to)) = (from, to)
        && from > to
    {
        errors.add("to", "结束日期不能早于开始日期");
    }
    errors.into_result()?;
    if let Some(u) = unit_id {
        policy::can_read_unit(p, u)?;
    }
    if let Some(s) = station_id {
        let station = station_store::get(conn, s)?.ok_or_else(|| AppError::NotFound(format!("服务站 {s} 不存在")))?;
        policy::can_read_unit(p, station.unit_id)?;
    }
    let filter = VisitFilter {
        units: policy::read_scope(p).units().map(<[i32]>::to_vec),
        unit_id,
        station_id,
        kind,
        from,
        to,
    };
    Ok((format, filter))
}

fn spec() -> TableSpec {
    let col = |h: &str, w: f64, k: ColumnKind| Column::new(h, w, k);
    TableSpec {
        sheet_name: "检查记录".into(),
        title: None,
        mark_header: Some("未达标".into()),
        columns: vec![
            col("单位", 16.0, ColumnKind::Text),
            col("服务站名称", 30.0, ColumnKind::Text),
            col("检查日期", 12.0, ColumnKind::Date),
            col("检查类型", 10.0, ColumnKind::Text),
            col("检查人员", 14.0, ColumnKind::Text),
            col("检查标准", 36.0, ColumnKind::Text),
            col("得分", 8.0, ColumnKind::Percent),
            col("结论", 8.0, ColumnKind::Text),
            col("未达标项目", 40.0, ColumnKind::Text),
            col("检查后状态", 12.0, ColumnKind::Text),
            col("备注", 24.0, ColumnKind::Text),
        ],
    }
}

/// One visit's cells, and whether the row is marked (a counted visit that
/// found the station short of the standard).
fn row_cells(ctx: &Ctx, row: &VisitRow, units: &HashMap<i32, String>, failing: &[String]) -> (Vec<Cell>, bool) {
    let v = &row.visit;
    let standard = (v.standard_id.as_str(), v.standard_version);
    let standard_zh = ctx.standards.get(standard.0, standard.1).map_or_else(
        || "（该版本检查标准未加载）".to_owned(),
        |s| format!("{}（第{}版）", s.title_zh, s.version),
    );
    let failing_zh: Vec<String> = failing
        .iter()
        .map(|code| item_title(&ctx.standards, standard, code))
        .collect();
    let voided = v.voided_at.is_some();
    let note = match (&v.void_reason, voided) {
        (Some(reason), true) => format!("已作废：{reason}"),
        (None, true) => "已作废".to_owned(),
        _ => String::new(),
    };
    let cells = vec![
        Cell::Text(units.get(&row.unit_id).cloned().unwrap_or_default()),
        Cell::Text(row.station_name.clone()),
        Cell::Date(v.visited_on),
        Cell::Text(v.kind.label_zh().to_owned()),
        Cell::Text(v.inspector.clone()),
        Cell::Text(standard_zh),
        Cell::Percent(f64::from(v.score_bp) / 10_000.0),
        Cell::Text(if v.compliant { "达标" } else { "未达标" }.to_owned()),
        Cell::Text(failing_zh.join("、")),
        Cell::Text(v.status_after.label_for(row.established_on).to_owned()),
        Cell::Text(note),
    ];
    (cells, !v.compliant && !voided)
}

/// The visits as an XLSX or CSV file, with the number of rows.
pub fn export_visits(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    query: VisitExportQuery,
) -> Result<(SheetFormat, Spooled, usize), AppError> {
    let (format, filter) = filter_of(conn, p, query)?;
    let units = unit_names(conn)?;
    let fail = sheet_error("visit sheet");
    let mut w = SheetFile::create(&ctx.settings.data_dir, format, spec()).map_err(&fail)?;
    let (mut after, mut count) = (0, 0usize);
    loop {
        let rows = store::visits_batch(conn, &filter, after, BATCH)?;
        let ids: Vec<i32> = rows.iter().map(|r| r.visit.id).collect();
        let mut failing: HashMap<i32, Vec<String>> = HashMap::new();
        for (visit_id, code) in store::failing_items(conn, &ids)? {
            failing.entry(visit_id).or_default().push(code);
        }
        for row in &rows {
            let items = failing.get(&row.visit.id).map_or(&[][..], Vec::as_slice);
            let (cells, marked) = row_cells(ctx, row, &units, items);
            w.push(&cells, marked).map_err(&fail)?;
        }
        count += rows.len();
        match rows.last() {
            Some(last) if rows.len() as i64 == BATCH => after = last.visit.id,
            _ => break,
        }
    }
    tracing::info!(rows = count, ?format, "visit records exported");
    Ok((format, w.finish().map_err(&fail)?, count))
}
