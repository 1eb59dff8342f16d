//! Recording a visit: score it, move the station, raise, keep and resolve
//! guidance — one transaction.

use std::collections::HashMap;

use chrono::{Days, NaiveDate, NaiveDateTime};

use super::input::{self, CheckedVisit, VisitInput};
use super::replay::Keyed;
use super::view::{self, VisitView, score_percent};
use super::{latest_standard, station_or_404};
use crate::app::audit;
use crate::app::evidence::{self, Photo};
use crate::app::guidance::Guidance;
use crate::app::notices::guidance_notice;
use crate::app::{Ctx, clean};
use crate::auth::policy;
use crate::auth::{Principal, Via};
use crate::db::guidance::{self as guidance_store, NewGuidance};
use crate::db::stations::{self as station_store, Station};
use crate::db::visits::{self as store, NewVisit, Visit, VisitItem};
use crate::db::{self, DbConnection};
use crate::domain::visit::{self as rules, GuidanceAction, Score};
use crate::domain::{GuidanceStatus, ItemResult, StationStatus};
use crate::error::{AppError, FieldErrors};
use crate::standard::Standard;

/// Records a visit: scores it, moves the station, raises, keeps and
/// resolves guidance — all in one transaction.
pub fn record(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    station_id: i32,
    input: VisitInput,
) -> Result<VisitView, AppError> {
    record_with_photos(conn, ctx, p, station_id, input, Vec::new())
}

/// The next visit's template at a station where `p` may record a visit:
/// what a form for it needs, checked before the form's body is read.
pub fn recordable_template(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    station_id: i32,
) -> Result<super::VisitTemplate, AppError> {
    let station = station_or_404(conn, station_id)?;
    policy::can_record_visit(p, station.unit_id)?;
    super::template(conn, ctx, p, station_id)
}

/// Checks the visit and its photos together (one 422 naming every bad
/// field), keeps the photos' files, then records the visit and the photos'
/// rows in one transaction: a visit whose photo is refused writes nothing.
fn check_all(
    ctx: &Ctx,
    standard: &Standard,
    input: VisitInput,
    photos: Vec<Photo>,
) -> Result<(CheckedVisit, Vec<Photo>), AppError> {
    let mut errors = FieldErrors::new();
    evidence::check_photos(&photos, |code| standard.item(code).is_some(), &mut errors);
    let visit = match input::check(ctx, standard, input) {
        Ok(v) => Some(v),
        Err(AppError::Validation(f)) => {
            for (k, msgs) in f.0 {
                errors.0.entry(k).or_default().extend(msgs);
            }
            None
        }
        Err(e) => return Err(e),
    };
    if let Some(v) = &visit {
        evidence::check_photos(&photos, |code| v.items.iter().any(|i| i.code == code), &mut errors);
    }
    errors.into_result()?;
    let visit = visit.ok_or_else(|| AppError::internal("visit check", anyhow::anyhow!("checked visit missing")))?;
    Ok((visit, photos))
}

/// [`record`], with photos of its items.
pub fn record_with_photos(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    station_id: i32,
    input: VisitInput,
    photos: Vec<Photo>,
) -> Result<VisitView, AppError> {
    record_photos(conn, ctx, p, station_id, input, photos, None)
}

/// [`record_with_photos`] once per idempotency key: with a key already
/// used for the same request by the same user, the visit recorded then
/// and `false`; else the new visit and `true`. Two requests with one key
/// at once record one visit (the key is written in the visit's
/// transaction; the loser's unique violation is answered with the
/// winner's visit).
pub fn record_once(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    station_id: i32,
    input: VisitInput,
    photos: Vec<Photo>,
    key: Option<String>,
) -> Result<(VisitView, bool), AppError> {
    let Some(key) = key else {
        return record_photos(conn, ctx, p, station_id, input, photos, None).map(|v| (v, true));
    };
    let station = station_or_404(conn, station_id)?;
    policy::can_record_visit(p, station.unit_id)?;
    let keyed = Keyed::new(p, key, station_id, &input, &photos)?;
    if let Some(visit) = keyed.recorded(conn, ctx, p)? {
        return Ok((visit, false));
    }
    match record_photos(conn, ctx, p, station_id, input, photos, Some(keyed.clone())) {
        Err(e @ AppError::Conflict { .. }) => match keyed.recorded(conn, ctx, p)? {
            Some(visit) => Ok((visit, false)),
            None => Err(e),
        },
        other => other.map(|v| (v, true)),
    }
}

fn record_photos(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    station_id: i32,
    mut input: VisitInput,
    photos: Vec<Photo>,
    keyed: Option<Keyed>,
) -> Result<VisitView, AppError> {
    let station = station_or_404(conn, station_id)?;
    policy::can_record_visit(p, station.unit_id)?;
    if input.inspector.is_none() && p.via != Via::System {
        // The name a station's staff know the inspector by, not a login.
        let shown = match p.user_id {
            Some(id) => crate::db::users::get(conn, id)?
                .map(|u| u.display_name)
                .filter(|n| !n.trim().is_empty()),
            None => None,
        };
        input.inspector = Some(shown.unwrap_or_else(|| p.username.clone()));
    }
    let standard = latest_standard(ctx, &station.standard_id)?;
    let (visit, photos) = check_all(ctx, standard, input, photos)?;
    let photos = evidence::keep_photos(ctx, photos)?;
    // What needs no lock is done here, on the request's own thread and
    // connection; the writer (one thread on SQLite) only writes.
    let notice = match (&station.liaison_email, &ctx.fonts) {
        // The notice goes by email only, with a PDF only when PDF output is on.
        (Some(_), Some(_)) => super::notice::expected_notice(conn, ctx, station, standard, &visit)?,
        _ => None,
    };
    let write = Write {
        ctx: ctx.clone(),
        principal: p.clone(),
        station_id,
        standard: standard.clone(),
        score: score_of(standard, &visit),
        rows: item_rows(&visit),
        notice_pdf: notice.and_then(|n| guidance_notice::prerender(ctx, n)),
        visit,
        photos,
        keyed,
    };
    // The write goes to the database's writer (group commit on SQLite): it
    // owns what it needs, and is answered only once it is committed.
    let (shown, notices) = ctx.writer.write(conn, move |conn| write.apply(conn))?;
    if notices > 0 {
        ctx.outbox.notify_one();
    }
    Ok(shown)
}

/// A checked visit with its kept photos, ready to be written: its score
/// and item rows computed, and the PDF of the rectification notice it is
/// expected to send rendered (see `guidance_notice::prerender`).
struct Write {
    ctx: Ctx,
    principal: Principal,
    station_id: i32,
    standard: Standard,
    score: Score,
    /// The visit's items as rows (`visit_id` set when written).
    rows: Vec<VisitItem>,
    notice_pdf: Option<guidance_notice::Prerendered>,
    visit: CheckedVisit,
    photos: Vec<evidence::Kept>,
    keyed: Option<Keyed>,
}

/// The visit's score against its standard.
fn score_of(standard: &Standard, visit: &CheckedVisit) -> Score {
    let results: Vec<(String, ItemResult)> = visit.items.iter().map(|c| (c.code.clone(), c.result)).collect();
    rules::score(standard, &results)
}

fn item_rows(visit: &CheckedVisit) -> Vec<VisitItem> {
    visit
        .items
        .iter()
        .map(|c| VisitItem {
            visit_id: 0,
            item_code: c.code.clone(),
            position: c.position as i32,
            result: c.result,
            note: c.note.clone(),
        })
        .collect()
}

impl Write {
    /// Everything the visit changes, in the caller's transaction: the
    /// checks that need the station as it is now, the visit and its items,
    /// the station's current items, compliance and status, guidance,
    /// evidence rows and the audit entry.
    /// Also how many notices it queued.
    fn apply(self, conn: &mut DbConnection) -> Result<(VisitView, usize), AppError> {
        let Write {
            ctx,
            principal: p,
            station_id,
            standard,
            score,
            rows,
            notice_pdf,
            visit,
            photos,
            keyed,
        } = self;
        let (ctx, standard) = (&ctx, &standard);
        // Records the verdict and reads the station as it is now, in one
        // statement that also serialises visits to one station (a row lock
        // on PostgreSQL; SQLite holds the database write lock already). A
        // visit refused below rolls this back with the rest.
        let station = station_store::record_verdict(conn, station_id, score.compliant, visit.visited_on)?
            .ok_or_else(|| super::no_station(station_id))?;
        let before = station.status;
        let after = rules::status_after(visit.kind, before, score.compliant).map_err(|e| {
            let field = if e == rules::VisitRefused::Revoked {
                "station_id"
            } else {
                "kind"
            };
            FieldErrors::single(field, e.message_zh())
        })?;
        let latest = store::latest_counted_key(conn, station_id)?;
        rules::check_visit_date(visit.visited_on, latest, station.established_on, before)?;
        let now = db::now();
        let row = insert_visit(conn, station_id, standard, &visit, score, &rows, (before, after), now)?;
        if let Some(keyed) = &keyed {
            keyed.bind(conn, row.id, now)?;
        }
        let guidance = apply_guidance(conn, ctx, &station, standard, &visit, row.id, now)?;
        let notices = if guidance.raised.is_empty() {
            0
        } else {
            guidance_notice::queue_for_visit(conn, ctx, &station, row.id, visit.visited_on, notice_pdf)?
        };
        if after != before {
            move_station(conn, &station, &row, after, now)?;
        }
        tracing::info!(
            visit_id = row.id,
            station_id,
            score_bp = row.score_bp,
            compliant = row.compliant,
            from = %before,
            to = %after,
            "visit recorded"
        );
        let evidence = evidence::insert(conn, &p, row.id, &photos)?;
        // What was written is at hand: the answer is built from it, not read back.
        let parts = view::Parts {
            items: rows,
            evidence,
            raised: guidance.raised,
            kept: guidance.kept,
            resolved: guidance.resolved,
        };
        let shown = view::assemble(ctx, row, parts);
        audit::record_created(conn, &p, "visit.record", "visit", shown.id, &shown)?;
        Ok((shown, notices))
    }
}

#[allow(clippy::too_many_arguments)]
fn insert_visit(
    conn: &mut DbConnection,
    station_id: i32,
    standard: &Standard,
    visit: &CheckedVisit,
    score: Score,
    rows: &[VisitItem],
    (before, after): (StationStatus, StationStatus),
    now: NaiveDateTime,
) -> Result<Visit, AppError> {
    let new = NewVisit {
        station_id,
        kind: visit.kind,
        visited_on: visit.visited_on,
        inspector: &visit.inspector,
        summary: &visit.summary,
        standard_id: &standard.id,
        standard_version: standard.version,
        score_bp: score.basis_points as i32,
        compliant: score.compliant,
        status_before: before,
        status_after: after,
        created_at: now,
        captured_at: visit.captured_at,
        latitude: visit.location.map(|l| l.latitude),
        longitude: visit.location.map(|l| l.longitude),
        accuracy_m: visit.location.and_then(|l| l.accuracy_m),
    };
    let row = store::insert(conn, &new, rows)?;
    // The newest counted visit (`check_visit_date`): its results are now
    // the station's current ones.
    store::set_current(conn, &row)?;
    Ok(row)
}

/// What a visit did to the station's guidance.
struct Applied {
    raised: Vec<Guidance>,
    /// Open guidance the visit found still failing.
    kept: Vec<Guidance>,
    resolved: Vec<Guidance>,
}

/// Raises guidance for newly failing items (the inspector's instruction
/// and due date, or the checklist's text and the default term), keeps
/// what is still failing (with a new due date if one was given) and
/// resolves what is now met; each list in the order of its ids.
fn apply_guidance(
    conn: &mut DbConnection,
    ctx: &Ctx,
    station: &Station,
    standard: &Standard,
    visit: &CheckedVisit,
    visit_id: i32,
    now: NaiveDateTime,
) -> Result<Applied, AppError> {
    let open: HashMap<String, i32> = guidance_store::open_for_station(conn, station.id)?
        .into_iter()
        .map(|g| (g.item_code, g.id))
        .collect();
    let mut done = Applied {
        raised: Vec::new(),
        kept: Vec::new(),
        resolved: Vec::new(),
    };
    for action in rules::guidance_actions(&visit.items, &open) {
        match action {
            GuidanceAction::Raise { code } => {
                let (instruction, due_on) = raised_guidance(ctx, standard, visit, &code)?;
                let new = NewGuidance {
                    station_id: station.id,
                    raised_by: visit_id,
                    item_code: &code,
                    instruction: &instruction,
                    due_on,
                    status: GuidanceStatus::Open,
                    created_at: now,
                    updated_at: now,
                    unit_id: Some(station.unit_id),
                };
                done.raised.push(guidance_store::insert(conn, &new)?.into());
            }
            GuidanceAction::Keep { code, guidance_id } => {
                if let Some(due) = visit.sent_for(&code).and_then(|g| g.due_on) {
                    guidance_store::set_due(conn, guidance_id, due, now)?;
                }
                done.kept
                    .extend(guidance_store::get(conn, guidance_id)?.map(Guidance::from));
            }
            GuidanceAction::Resolve { guidance_id, .. } => {
                let resolved = guidance_store::resolve(conn, guidance_id, visit_id, visit.visited_on, now)?;
                done.resolved.extend(resolved.map(Guidance::from));
            }
        }
    }
    done.resolved.sort_by_key(|g| g.id);
    Ok(done)
}

/// The instruction and deadline of guidance raised for `code`: the
/// inspector's, else the checklist's text and the default term.
pub(super) fn raised_guidance(
    ctx: &Ctx,
    standard: &Standard,
    visit: &CheckedVisit,
    code: &str,
) -> Result<(String, NaiveDate), AppError> {
    let sent = visit.sent_for(code);
    let instruction = clean(sent.and_then(|g| g.instruction.clone()))
        .or_else(|| standard.item(code).map(|spec| spec.guidance.clone()))
        .unwrap_or_default();
    let due_on = match sent.and_then(|g| g.due_on) {
        Some(d) => d,
        None => default_due(ctx, visit.visited_on)?,
    };
    Ok((instruction, due_on))
}

/// Moves the station to the status the visit decided, recording why.
fn move_station(
    conn: &mut DbConnection,
    station: &Station,
    visit: &Visit,
    after: StationStatus,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let established_on = if station.status == StationStatus::Planned {
        Some(visit.visited_on)
    } else {
        station.established_on
    };
    let reason = format!(
        "检查记录 #{}（{}，得分 {:.2}%）{}",
        visit.id,
        visit.kind.label_zh(),
        score_percent(visit.score_bp),
        if visit.compliant {
            "各必备项均符合"
        } else {
            "存在不符合项"
        }
    );
    station_store::set_status(
        conn,
        station,
        after,
        established_on,
        None,
        &reason,
        visit.visited_on,
        now,
        Some(visit.id),
    )?
    .ok_or_else(|| AppError::conflict("服务站刚被他人修改，请重试"))?;
    Ok(())
}

fn default_due(ctx: &Ctx, visited_on: NaiveDate) -> Result<NaiveDate, AppError> {
    visited_on
        .checked_add_days(Days::new(u64::from(ctx.settings.guidance_due_days)))
        .ok_or_else(|| FieldErrors::single("visited_on", "检查日期超出范围"))
}
