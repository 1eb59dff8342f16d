//! The guidance notice: when a visit raises guidance at a station with a
//! liaison email, the liaison is sent the items, instructions, deadlines
//! and inspector, with the 整改通知书 PDF attached (when PDF output is on);
//! the inspector gets a copy if they have an email. Queued in the visit's
//! own transaction: no visit without its notice, no notice without its
//! visit.

use serde::Serialize;

use super::{Outgoing, queue};
use crate::app::Ctx;
use crate::app::visits::{notice_file_name, notice_of};
use crate::db::notices::{self as store, To};
use crate::db::stations::Station;
use crate::db::{DbConnection, units as units_store};
use crate::documents::{RectificationNotice, render_notice};
use crate::domain::DeliveryKind;
use crate::error::AppError;

#[derive(Debug, Serialize)]
struct Item {
    title: String,
    finding: String,
    instruction: String,
    deadline_zh: String,
}

#[derive(Debug, Serialize)]
struct NoticeMail {
    recipient_name: String,
    copy: bool,
    unit_name: String,
    station_name: String,
    host_business: String,
    visit_date_zh: String,
    inspector: String,
    items: Vec<Item>,
    has_pdf: bool,
    link: String,
}

/// A notice's PDF rendered before the visit's write, with the notice it
/// was rendered from: rendering takes milliseconds, and on SQLite the
/// write runs on the one writer thread, where every other write would
/// wait for it.
pub struct Prerendered {
    notice: RectificationNotice,
    pdf: Vec<u8>,
}

/// Renders the PDF of the notice a visit is expected to have (None when
/// PDF output is off, or rendering fails: the write then renders it, and
/// says why it cannot).
pub fn prerender(ctx: &Ctx, notice: RectificationNotice) -> Option<Prerendered> {
    let pdf = render_notice(&notice, ctx.fonts.as_ref()?).ok()?;
    Some(Prerendered { notice, pdf })
}

/// Queues the notice of visit `visit_id` (which raised guidance) at
/// `station`, in the caller's transaction. Nothing when the station has no
/// liaison email. The PDF is `prerendered`'s when it was rendered from the
/// same notice (else it is rendered here).
pub fn queue_for_visit(
    conn: &mut DbConnection,
    ctx: &Ctx,
    station: &Station,
    visit_id: i32,
    visited_on: chrono::NaiveDate,
    prerendered: Option<Prerendered>,
) -> Result<usize, AppError> {
    let Some(liaison_email) = station.liaison_email.as_deref() else {
        return Ok(0);
    };
    let Some(notice) = notice_of(conn, ctx, visit_id)? else {
        return Ok(0);
    };
    let pdf = match prerendered {
        Some(p) if p.notice == notice => Some(p.pdf),
        _ => render(ctx, &notice, visit_id),
    };
    let file = notice_file_name(&notice, visited_on);
    let unit_name = units_store::get(conn, station.unit_id)?
        .map(|u| u.name)
        .unwrap_or_else(|| notice.issuing_unit.clone());
    let mut mail = NoticeMail {
        recipient_name: station.liaison_name.clone(),
        copy: false,
        unit_name,
        station_name: notice.station_name.clone(),
        host_business: notice.host_business.clone(),
        visit_date_zh: notice.visit_date_zh.clone(),
        inspector: notice.inspectors.join("、"),
        items: notice
            .items
            .iter()
            .map(|i| Item {
                title: i.title.clone(),
                finding: i.finding.clone(),
                instruction: i.instruction.clone(),
                deadline_zh: i.deadline_zh.clone(),
            })
            .collect(),
        has_pdf: pdf.is_some(),
        link: ctx.settings.notices.link(&format!("/stations/{}", station.id)),
    };
    let reference = format!("visit/{visit_id}");
    let attachment = pdf.as_deref().map(|body| (file.as_str(), body));
    let mut queued = 0;
    let rendered = crate::mail::render_notice(DeliveryKind::GuidanceNotice, &mail)?;
    queue(
        conn,
        &Outgoing {
            kind: DeliveryKind::GuidanceNotice,
            rendered: &rendered,
            attachment,
            unsubscribe_url: None,
            to: To {
                name: &station.liaison_name,
                email: liaison_email,
                unit_id: Some(station.unit_id),
                copy: false,
            },
            reference: &reference,
        },
    )?;
    queued += 1;
    for (_, name, email) in store::users_named(conn, &notice.inspectors)? {
        let Some(email) = email.filter(|e| !e.eq_ignore_ascii_case(liaison_email)) else {
            continue;
        };
        mail.recipient_name = name.clone();
        mail.copy = true;
        let rendered = crate::mail::render_notice(DeliveryKind::GuidanceNotice, &mail)?;
        queue(
            conn,
            &Outgoing {
                kind: DeliveryKind::GuidanceNotice,
                rendered: &rendered,
                attachment,
                unsubscribe_url: None,
                to: To {
                    name: &name,
                    email: &email,
                    unit_id: Some(station.unit_id),
                    copy: true,
                },
                reference: &reference,
            },
        )?;
        queued += 1;
    }
    tracing::info!(visit_id, station_id = station.id, queued, "guidance notice queued");
    Ok(queued)
}

/// The notice's PDF, rendered in the writer; None (logged) when PDF output
/// is off or it cannot be rendered: the email goes without it.
fn render(ctx: &Ctx, notice: &RectificationNotice, visit_id: i32) -> Option<Vec<u8>> {
    ctx.fonts.as_ref().and_then(|fonts| match render_notice(notice, fonts) {
        Ok(pdf) => Some(pdf),
        Err(e) => {
            tracing::error!(visit_id, error = %e, "cannot render the rectification notice: the email goes without it");
            None
        }
    })
}
