//! The progress table as a spreadsheet: the figures of `/api/progress` in
//! the reader's scope, whole stations as a clerk writes them, rates as
//! percent number formats, lagging units marked "▲".

use serde::Deserialize;

use super::Ctx;
use super::progress::{self, Period};
use crate::app::spool::{SheetFile, Spooled};
use crate::auth::Principal;
use crate::db::DbConnection;
use crate::domain::circular::date_zh;
use crate::domain::progress::Row;
use crate::error::{AppError, FieldErrors};
use crate::mail::{FiveEntriesView, five_entry_headers, plan_zh, position_zh};
use crate::sheets::write::{Cell, Column, ColumnKind, SheetFormat, TableSpec};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ProgressExportQuery {
    #[param(value_type = Option<i32>, minimum = 2000, maximum = 2100)]
    pub year: Option<String>,
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub as_of: Option<String>,
    /// `xlsx` (default) or `csv`.
    pub format: Option<String>,
}

fn spec(title: String) -> TableSpec {
    let col = |h: &str, w: f64, k: ColumnKind| Column::new(h, w, k);
    TableSpec {
        sheet_name: "建站进度".into(),
        title: Some(title),
        mark_header: Some("未达序时进度".into()),
        columns: vec![
            col("排名", 6.0, ColumnKind::Integer),
            col("单位", 20.0, ColumnKind::Text),
            col("年度计划", 18.0, ColumnKind::Text),
            col("已建成", 8.0, ColumnKind::Integer),
            col("完成率", 9.0, ColumnKind::Percent),
            col("序时进度应建成", 14.0, ColumnKind::Integer),
            col("进度情况", 16.0, ColumnKind::Text),
            col("达标站数", 9.0, ColumnKind::Integer),
            col("逾期未整改", 10.0, ColumnKind::Integer),
        ]
        .into_iter()
        .chain(five_entry_columns())
        .collect(),
    }
}

/// Stations standing by 五进: the total, one column an entry, and the
/// trades under 其他行业 (the same headers as the circular's CSV).
fn five_entry_columns() -> impl Iterator<Item = Column> {
    let headers: Vec<String> = five_entry_headers().collect();
    let last = headers.len() - 1;
    headers.into_iter().enumerate().map(move |(i, h)| match i {
        0 => Column::new(&h, 10.0, ColumnKind::Integer),
        i if i == last => Column::new(&h, 24.0, ColumnKind::Text),
        _ => Column::new(&h, 9.0, ColumnKind::Integer),
    })
}

fn five_entry_cells(v: &FiveEntriesView) -> impl Iterator<Item = Cell> + use<> {
    let counts: Vec<Cell> = v.counts.iter().map(|n| Cell::Int(*n)).collect();
    std::iter::once(Cell::Int(v.standing))
        .chain(counts)
        .chain(std::iter::once(Cell::Text(v.other_detail_zh.clone())))
}

fn row_cells(r: &Row, five: &FiveEntriesView) -> Vec<Cell> {
    let planned = r.target.filter(|t| *t > 0).map(i64::from);
    let int_or_empty = |v: Option<i64>| v.map_or(Cell::Empty, Cell::Int);
    vec![
        int_or_empty(r.rank.map(i64::from)),
        Cell::Text(r.unit_name.clone()),
        Cell::Text(planned.map_or_else(|| "未制定年度建站计划".to_owned(), |t| plan_zh(Some(r.basis), t))),
        Cell::Int(r.built),
        r.rate.map_or(Cell::Empty, Cell::Percent),
        int_or_empty(r.expected_built.filter(|_| planned.is_some())),
        Cell::Text(match (planned, r.shortfall, r.ahead) {
            (Some(_), Some(s), Some(a)) => position_zh(s, a),
            _ => "未制定年度建站计划".to_owned(),
        }),
        Cell::Int(r.compliant),
        Cell::Int(r.overdue_guidance),
    ]
    .into_iter()
    .chain(five_entry_cells(five))
    .collect()
}

fn sheet_error(e: crate::sheets::write::WriteError) -> AppError {
    AppError::Internal(anyhow::Error::new(e).context("cannot write the progress table"))
}

/// The progress table for the reader's scope, as an XLSX or CSV file.
pub fn export(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    query: ProgressExportQuery,
) -> Result<(SheetFormat, Spooled), AppError> {
    let mut errors = FieldErrors::new();
    let format = super::stations::sheet_format(&mut errors, query.format);
    errors.into_result()?;
    let period: Period = progress::PeriodQuery {
        year: query.year,
        as_of: query.as_of,
    }
    .parse()?;
    let sp = progress::for_principal(conn, ctx, p, &period)?;
    let pr = &sp.progress;
    let title = format!(
        "{}年全市建立12315消费维权服务站工作进度表（截至{}，序时进度{:.1}%）",
        pr.year,
        date_zh(pr.as_of),
        pr.expected * 100.0
    );
    let standing = crate::db::progress::standing_by_category(conn, pr.as_of)
        .map_err(|e| AppError::internal("counting standing stations by category", e))?;
    let (city, units) = FiveEntriesView::city_and_units(&standing);
    let mut w = SheetFile::create(&ctx.settings.data_dir, format, spec(title)).map_err(sheet_error)?;
    for r in &pr.rows {
        let five = units
            .get(&r.unit_id)
            .cloned()
            .unwrap_or_else(|| FiveEntriesView::from_counts([]));
        w.push(&row_cells(r, &five), r.lagging).map_err(sheet_error)?;
    }
    if sp.city_wide {
        let t = &pr.totals;
        let totals = vec![
            Cell::Empty,
            Cell::Text("合计".into()),
            Cell::Text(plan_zh(t.basis, t.target)),
            Cell::Int(t.built),
            t.rate.map_or(Cell::Empty, Cell::Percent),
            Cell::Int(t.expected_built),
            Cell::Text(position_zh(t.shortfall, t.ahead)),
            Cell::Int(t.compliant),
            Cell::Int(t.overdue_guidance),
        ]
        .into_iter()
        .chain(five_entry_cells(&city))
        .collect::<Vec<_>>();
        w.push(&totals, t.lagging).map_err(sheet_error)?;
    }
    Ok((format, w.finish().map_err(sheet_error)?))
}
