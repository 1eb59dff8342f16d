//! The county lead's review queue (待确认问题) and the part of the
//! dashboard that tells a county lead what awaits them.

use std::collections::HashMap;

use actix_web::web;
use minijinja::{Value, context};

use super::{PageError, PageResult, Viewer, flash_for, redirect, render, val};
use crate::app::{Ctx, review};
use crate::auth::Role;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/review", web::get().to(review_page))
        .route("/review/{kind}/{id}/ack", web::post().to(acknowledge));
}

/// "第6名（共7个单位）", or nothing without a rank.
fn rank_zh(review: &review::Review) -> Option<String> {
    let rank = review.progress.as_ref()?.item.rank?;
    Some(format!("第{rank}名（共{}个单位）", review.ranked_units))
}

/// The queue as the page shows it: what still awaits the lead, and what
/// is acknowledged (who, when, with which comment), newest first.
fn queue_context(r: &review::Review) -> Value {
    let (stations_open, stations_done): (Vec<_>, Vec<_>) = r.stations.iter().partition(|s| s.acknowledgement.is_none());
    let (guidance_open, guidance_done): (Vec<_>, Vec<_>) =
        r.overdue_guidance.iter().partition(|g| g.acknowledgement.is_none());
    // (what, link, acknowledgement)
    let mut done: Vec<(String, String, &review::Acknowledgement)> = Vec::new();
    for s in &stations_done {
        if let Some(a) = &s.acknowledgement {
            done.push((
                format!("未达标的服务站：{}", s.item.name),
                format!("/stations/{}", s.item.id),
                a,
            ));
        }
    }
    for g in &guidance_done {
        if let Some(a) = &g.acknowledgement {
            let row = &g.item.guidance;
            let what = format!("逾期未整改：{}（{}）", row.station_name, g.item.item_title);
            done.push((what, format!("/stations/{}", row.guidance.station_id), a));
        }
    }
    if let Some(progress) = &r.progress
        && let Some(a) = &progress.acknowledgement
    {
        let what = format!("{}年度建站进度未达到序时进度", r.as_of.format("%Y"));
        done.push((what, "/progress".to_owned(), a));
    }
    done.sort_by_key(|(.., a)| std::cmp::Reverse(a.created_at));
    let done: Vec<Value> = done
        .into_iter()
        .map(|(what, link, ack)| context! { what, link, ack => val(ack) })
        .collect();
    context! {
        stations => val(&stations_open),
        guidance => val(&guidance_open),
        done,
        rank => rank_zh(r),
        progress_open => r.progress.as_ref().is_some_and(|p| p.item.lagging && p.acknowledgement.is_none()),
    }
}

async fn review_page(ctx: web::Data<Ctx>, v: Viewer, query: web::Query<HashMap<String, String>>) -> PageResult {
    crate::auth::policy::can_read_review(&v.p)?;
    let unit = query.get("unit_id").and_then(|u| u.parse::<i32>().ok());
    let p = v.p.clone();
    if unit.is_none() && v.p.role != Role::CountyLead {
        // The bureau and viewers pick the unit whose queue they read.
        let units = ctx.run(move |conn, _| crate::app::units::readable(conn, &p)).await?;
        return render(
            "review_units.html",
            Some(&v),
            "待确认问题",
            None,
            context! { units => val(&units) },
        );
    }
    let r = ctx.run(move |conn, ctx| review::queue(conn, ctx, &p, unit)).await?;
    render(
        "review.html",
        Some(&v),
        "待确认问题",
        flash_for(&query),
        context! { r => val(&r), q => queue_context(&r), can_ack => v.p.role == Role::CountyLead },
    )
}

async fn acknowledge(
    ctx: web::Data<Ctx>,
    v: Viewer,
    path: web::Path<(String, String)>,
    super::Body(body): super::Body,
) -> PageResult {
    let f = super::parse_form(&body)?;
    v.check_csrf(f.get("csrf_token").map(String::as_str))?;
    let (kind, id) = path.into_inner();
    let input = review::AckInput {
        comment: f.get("comment").cloned(),
    };
    let p = v.p.clone();
    ctx.run(move |conn, ctx| review::acknowledge(conn, ctx, &p, &kind, &id, input))
        .await
        .map_err(PageError::from)?;
    Ok(redirect("/review?ok=ack"))
}

/// The county lead's part of the dashboard: what awaits them, with counts
/// and links; nothing for other roles.
pub async fn lead_summary(ctx: &Ctx, v: &Viewer) -> Result<Value, PageError> {
    if v.p.role != Role::CountyLead || v.p.units.len() != 1 {
        return Ok(Value::from(()));
    }
    let p = v.p.clone();
    let r = ctx.run(move |conn, ctx| review::queue(conn, ctx, &p, None)).await?;
    Ok(context! {
        unit => r.unit.name.clone(),
        awaiting => val(r.awaiting),
        rank => rank_zh(&r),
        lagging => r.progress.as_ref().is_some_and(|p| p.item.lagging),
        shortfall => r.progress.as_ref().and_then(|p| p.item.shortfall),
        dispatches => r.overdue_dispatches.len(),
    })
}
