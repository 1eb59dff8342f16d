//! The rectification notice (整改通知书) of a visit: one page to leave with
//! the station, listing every item the visit found failing with its
//! finding, the instruction and the deadline.

use super::view;
use super::{station_or_404, visit_or_404};
use crate::app::Ctx;
use crate::auth::Principal;
use crate::auth::policy;
use crate::db::DbConnection;
use crate::db::units as units_store;
use crate::documents::{NoticeItem, RectificationNotice, render_notice};
use crate::domain::circular::date_zh;
use crate::error::AppError;

/// The notice as PDF: (file name, bytes). 404 when the visit asked for
/// nothing to be put right, or PDF output is off.
pub fn notice_pdf(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, id: i32) -> Result<(String, Vec<u8>), AppError> {
    let visit = visit_or_404(conn, id)?;
    let station = station_or_404(conn, visit.station_id)?;
    policy::can_read_station(p, station.id, station.unit_id)?;
    let fonts = ctx
        .fonts
        .clone()
        .ok_or_else(|| AppError::NotFound("PDF输出未开启（BAYIGE_PDF=false），无法生成整改通知书".into()))?;
    let notice = notice_of(conn, ctx, id)?
        .ok_or_else(|| AppError::NotFound(format!("检查记录 {id} 未提出整改意见或已作废，无需整改通知书")))?;
    let pdf = render_notice(&notice, &fonts).map_err(|e| {
        AppError::Internal(anyhow::Error::new(e).context(format!("cannot render the notice of visit {id}")))
    })?;
    Ok((file_name(&notice, visit.visited_on), pdf))
}

/// The PDF's file name.
pub fn file_name(notice: &RectificationNotice, visited_on: chrono::NaiveDate) -> String {
    format!("整改通知书-{}-{}.pdf", notice.station_name, visited_on)
}

/// The notice of visit `id`, as the station receives it: None when the
/// visit is voided or asked for nothing to be put right. No permission
/// check: the caller has one (or is the visit being recorded).
pub fn notice_of(conn: &mut DbConnection, ctx: &Ctx, id: i32) -> Result<Option<RectificationNotice>, AppError> {
    let visit = visit_or_404(conn, id)?;
    let station = station_or_404(conn, visit.station_id)?;
    let unit = units_store::get(conn, station.unit_id)?
        .ok_or_else(|| AppError::NotFound(format!("单位 {} 不存在", station.unit_id)))?;
    let v = view::build(ctx, conn, visit, Vec::new())?;
    if v.voided {
        return Ok(None);
    }
    let items: Vec<NoticeItem> = v
        .guidance_raised
        .iter()
        .chain(&v.guidance_kept)
        .map(|g| {
            let item = v.items.iter().find(|i| i.code == g.item_code);
            NoticeItem {
                title: item.map_or_else(|| "检查项目".to_owned(), |i| i.title_zh.clone()),
                finding: item
                    .map(|i| i.note.trim().to_owned())
                    .filter(|n| !n.is_empty())
                    .unwrap_or_else(|| {
                        format!("{}未达到“八个一”标准要求", item.map_or("该项", |i| i.title_zh.as_str()))
                    }),
                instruction: g.instruction.clone(),
                deadline_zh: format!("{}前", date_zh(g.due_on)),
            }
        })
        .collect();
    if items.is_empty() {
        return Ok(None);
    }
    Ok(Some(RectificationNotice {
        number: None,
        station_name: station.name.clone(),
        host_business: station.host_business,
        address: station.address,
        visit_date_zh: date_zh(v.visited_on),
        items,
        inspectors: v
            .inspector
            .split(['、', ',', '，'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        issuing_unit: ctx.settings.notice_issuers.for_unit(unit.kind, &unit.name),
        issued_on_zh: date_zh(v.visited_on),
    }))
}
