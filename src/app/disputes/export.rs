//! The ledger (台账) as a spreadsheet: the list's filters and scope, and
//! consumers' names and phones always masked — a file leaves the system
//! and is forwarded, so it carries no personal information in full.

use serde::Deserialize;

use super::{Dispute, ListQuery, filter_of};
use crate::app::Ctx;
use crate::app::spool::{SheetFile, Spooled};
use crate::app::stations::sheet_format;
use crate::auth::Principal;
use crate::db::DbConnection;
use crate::db::disputes as store;
use crate::domain::money::format_fen;
use crate::error::{AppError, FieldErrors};
use crate::sheets::write::{Cell, Column, ColumnKind, SheetFormat, TableSpec};

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ExportQuery {
    /// `xlsx` (default) or `csv`.
    pub format: Option<String>,
    #[param(value_type = Option<i32>, minimum = 1)]
    pub station_id: Option<String>,
    #[param(value_type = Option<i32>, minimum = 1)]
    pub unit_id: Option<String>,
    #[param(value_type = Option<crate::domain::dispute::Channel>)]
    pub channel: Option<String>,
    #[param(value_type = Option<crate::domain::dispute::DisputeStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub to: Option<String>,
}

const COLUMNS: &[(&str, f64, ColumnKind)] = &[
    ("编号", 8.0, ColumnKind::Integer),
    ("服务站", 28.0, ColumnKind::Text),
    ("受理日期", 12.0, ColumnKind::Date),
    ("受理时间", 9.0, ColumnKind::Text),
    ("受理渠道", 11.0, ColumnKind::Text),
    ("派单编号", 14.0, ColumnKind::Text),
    ("消费者", 9.0, ColumnKind::Text),
    ("联系电话", 14.0, ColumnKind::Text),
    ("商品或服务", 20.0, ColumnKind::Text),
    ("类别", 6.0, ColumnKind::Text),
    ("争议金额（元）", 12.0, ColumnKind::Text),
    ("投诉内容", 40.0, ColumnKind::Text),
    ("应响应日期", 12.0, ColumnKind::Date),
    ("应办结日期", 12.0, ColumnKind::Date),
    ("响应日期", 12.0, ColumnKind::Date),
    ("处理方式", 10.0, ColumnKind::Text),
    ("处理说明", 24.0, ColumnKind::Text),
    ("处理结果", 8.0, ColumnKind::Text),
    ("挽回经济损失（元）", 14.0, ColumnKind::Text),
    ("办结日期", 12.0, ColumnKind::Date),
    ("回访日期", 12.0, ColumnKind::Date),
    ("满意度", 8.0, ColumnKind::Text),
    ("状态", 8.0, ColumnKind::Text),
];

fn spec() -> TableSpec {
    TableSpec {
        sheet_name: "投诉受理台账".into(),
        title: Some("12315消费维权服务站投诉受理台账".into()),
        mark_header: Some("逾期".into()),
        columns: COLUMNS.iter().map(|(h, w, k)| Column::new(h, *w, *k)).collect(),
    }
}

fn text(v: Option<String>) -> Cell {
    v.map_or(Cell::Empty, Cell::Text)
}

fn date(v: Option<chrono::NaiveDate>) -> Cell {
    v.map_or(Cell::Empty, Cell::Date)
}

fn cells(d: Dispute, station: String) -> Vec<Cell> {
    vec![
        Cell::Int(d.id.into()),
        Cell::Text(station),
        Cell::Date(d.received_on),
        text(d.received_time),
        Cell::Text(d.channel.label_zh().into()),
        text(d.dispatch_ref),
        text(
            d.consumer_name
                .or_else(|| d.personal_erased.then(|| "（已删除）".into())),
        ),
        text(d.consumer_phone),
        Cell::Text(d.subject),
        Cell::Text(d.subject_kind.label_zh().into()),
        text(d.amount.map(format_fen)),
        Cell::Text(d.complaint),
        Cell::Date(d.respond_by),
        Cell::Date(d.close_by),
        date(d.responded_on),
        text(d.handling.map(|h| h.label_zh().into())),
        text(d.handling_note),
        text(d.outcome.map(|o| o.label_zh().into())),
        Cell::Text(format_fen(d.recovered)),
        date(d.handled_on),
        date(d.followed_up_on),
        text(d.satisfaction.map(|s| s.label_zh().into())),
        Cell::Text(d.status.label_zh().into()),
    ]
}

fn sheet_error(e: crate::sheets::write::WriteError) -> AppError {
    AppError::Internal(anyhow::Error::new(e).context("cannot write the dispute ledger"))
}

/// The ledger the reader may read, filtered, as an XLSX or CSV file; overdue
/// cases marked ▲.
pub fn export_ledger(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    query: ExportQuery,
) -> Result<(SheetFormat, Spooled), AppError> {
    let mut errors = FieldErrors::new();
    let format = sheet_format(&mut errors, query.format);
    errors.into_result()?;
    let list = ListQuery {
        station_id: query.station_id,
        unit_id: query.unit_id,
        channel: query.channel,
        status: query.status,
        from: query.from,
        to: query.to,
        ..ListQuery::default()
    };
    let filter = filter_of(conn, ctx, p, list)?;
    let rows = store::all(conn, &filter)?;
    let ids: Vec<i32> = rows.iter().map(|(d, _)| d.station_id).collect();
    let names = store::station_names(conn, &ids)?;
    let today = ctx.today();
    let mut w = SheetFile::create(&ctx.settings.data_dir, format, spec()).map_err(sheet_error)?;
    let count = rows.len();
    for (row, unit) in rows {
        let station = names.get(&row.station_id).cloned().unwrap_or_default();
        let shown = Dispute::of(row, unit, false, today);
        let overdue = shown.overdue;
        w.push(&cells(shown, station), overdue).map_err(sheet_error)?;
    }
    tracing::info!(cases = count, ?format, "dispute ledger exported");
    Ok((format, w.finish().map_err(sheet_error)?))
}
