//! Use cases of inspection visits: record ([`record`]), read and list
//! ([`read`]), void ([`void`]); the per-station checklist state and the
//! next-visit template ([`state`]).

mod input;
mod notice;
mod read;
mod record;
mod replay;
mod state;
mod view;
mod void;

pub use input::{ItemInput, LocationInput, VisitInput};
pub use notice::{file_name as notice_file_name, notice_of, notice_pdf};
pub use read::{MAX_VISITS_PER_PAGE, VisitListQuery, VisitPage, get, list_for_station};
pub use record::{record, record_once, record_with_photos, recordable_template};
pub use state::{ChecklistState, ItemState, VisitTemplate, checklist, template};
pub use view::{ItemView, LocationView, VisitSummary, VisitView, score_percent};
pub use void::{VoidInput, Voided, void};

use super::Ctx;
use crate::db::DbConnection;
use crate::db::stations::{self as station_store, Station};
use crate::db::visits::{self as store, Visit};
use crate::error::AppError;
use crate::standard::Standard;

fn standard_of<'a>(ctx: &'a Ctx, id: &str, version: i32) -> Result<&'a Standard, AppError> {
    ctx.standards.get(id, version).ok_or_else(|| {
        AppError::conflict(format!(
            "检查标准 {id} 第{version}版未加载，请用 --checklists 提供该版本"
        ))
    })
}

fn latest_standard<'a>(ctx: &'a Ctx, id: &str) -> Result<&'a Standard, AppError> {
    ctx.standards
        .latest(id)
        .ok_or_else(|| AppError::conflict(format!("检查标准 {id} 未加载，请用 --checklists 提供")))
}

fn station_or_404(conn: &mut DbConnection, id: i32) -> Result<Station, AppError> {
    station_store::get(conn, id)?.ok_or_else(|| no_station(id))
}

fn no_station(id: i32) -> AppError {
    AppError::NotFound(format!("服务站 {id} 不存在"))
}

fn visit_or_404(conn: &mut DbConnection, id: i32) -> Result<Visit, AppError> {
    store::get(conn, id)?.ok_or_else(|| AppError::NotFound(format!("检查记录 {id} 不存在")))
}
