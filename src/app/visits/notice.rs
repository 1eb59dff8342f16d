//! The rectification notice (整改通知书) of a visit: one page to leave with
//! the station, listing every item the visit found failing with its
//! finding, the instruction and the deadline.

use chrono::NaiveDate;

use super::input::CheckedVisit;
use super::view;
use super::{station_or_404, visit_or_404};
use crate::app::Ctx;
use crate::auth::Principal;
use crate::auth::policy;
use crate::db::DbConnection;
use crate::db::guidance as guidance_store;
use crate::db::stations::Station;
use crate::db::units::{self as units_store, Unit};
use crate::documents::{NoticeItem, RectificationNotice, render_notice};
use crate::domain::circular::date_zh;
use crate::domain::visit::{self as rules, GuidanceAction};
use crate::error::AppError;
use crate::standard::Standard;

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
    let unit = unit_of(conn, &station)?;
    let v = view::build(ctx, conn, visit, Vec::new())?;
    if v.voided {
        return Ok(None);
    }
    let failing = v.guidance_raised.iter().chain(&v.guidance_kept).map(|g| {
        let item = v.items.iter().find(|i| i.code == g.item_code);
        Failing {
            title: item.map(|i| i.title_zh.as_str()),
            note: item.map_or("", |i| i.note.as_str()),
            instruction: &g.instruction,
            due_on: g.due_on,
        }
    });
    Ok(compose(ctx, station, &unit, v.visited_on, &v.inspector, failing))
}

/// The notice a visit about to be recorded will have (see [`notice_of`]),
/// from what is stored now: the guidance it will raise (its failing items
/// without open guidance) with the instruction and deadline it will get.
/// For rendering the PDF before the write; the write compares it with the
/// notice as recorded and renders again if they differ (a concurrent
/// change).
pub(super) fn expected_notice(
    conn: &mut DbConnection,
    ctx: &Ctx,
    station: Station,
    standard: &Standard,
    visit: &CheckedVisit,
) -> Result<Option<RectificationNotice>, AppError> {
    if !visit.items.iter().any(|i| i.result.is_failing()) {
        return Ok(None);
    }
    let open: std::collections::HashMap<String, i32> = guidance_store::open_for_station(conn, station.id)?
        .into_iter()
        .map(|g| (g.item_code, g.id))
        .collect();
    let mut raised = Vec::new();
    for action in rules::guidance_actions(&visit.items, &open) {
        if let GuidanceAction::Raise { code } = action {
            let item = visit.items.iter().find(|i| i.code == code);
            let (instruction, due_on) = super::record::raised_guidance(ctx, standard, visit, &code)?;
            raised.push((code, item.map_or("", |i| i.note.as_str()), instruction, due_on));
        }
    }
    let unit = unit_of(conn, &station)?;
    let failing = raised.iter().map(|(code, note, instruction, due_on)| Failing {
        title: Some(standard.item(code).map_or("", |spec| spec.title_zh.as_str())),
        note,
        instruction,
        due_on: *due_on,
    });
    Ok(compose(
        ctx,
        station,
        &unit,
        visit.visited_on,
        &visit.inspector,
        failing,
    ))
}

fn unit_of(conn: &mut DbConnection, station: &Station) -> Result<Unit, AppError> {
    units_store::get(conn, station.unit_id)?
        .ok_or_else(|| AppError::NotFound(format!("单位 {} 不存在", station.unit_id)))
}

/// A failing item as a notice lists it: the item's title (None: not in the
/// visit), the inspector's note, the instruction and the deadline.
struct Failing<'a> {
    title: Option<&'a str>,
    note: &'a str,
    instruction: &'a str,
    due_on: NaiveDate,
}

/// The notice of a visit at `station` that found `failing` items; None
/// when there are none.
fn compose<'a>(
    ctx: &Ctx,
    station: Station,
    unit: &Unit,
    visited_on: NaiveDate,
    inspector: &str,
    failing: impl Iterator<Item = Failing<'a>>,
) -> Option<RectificationNotice> {
    let items: Vec<NoticeItem> = failing
        .map(|f| NoticeItem {
            title: f.title.map_or_else(|| "检查项目".to_owned(), str::to_owned),
            finding: Some(f.note.trim())
                .filter(|n| !n.is_empty())
                .map(str::to_owned)
                .unwrap_or_else(|| format!("{}未达到“八个一”标准要求", f.title.unwrap_or("该项"))),
            instruction: f.instruction.to_owned(),
            deadline_zh: format!("{}前", date_zh(f.due_on)),
        })
        .collect();
    if items.is_empty() {
        return None;
    }
    Some(RectificationNotice {
        number: None,
        station_name: station.name,
        host_business: station.host_business,
        address: station.address,
        visit_date_zh: date_zh(visited_on),
        items,
        inspectors: inspector
            .split(['、', ',', '，'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect(),
        issuing_unit: ctx.settings.notice_issuers.for_unit(unit.kind, &unit.name),
        issued_on_zh: date_zh(visited_on),
    })
}
