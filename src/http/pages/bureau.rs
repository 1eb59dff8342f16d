//! What the bureau's dashboard and progress page add to their figures (the
//! completion-rate chart, the burn-up charts, the lagging units by name),
//! and the confirmation before a circular is issued.

use actix_web::http::StatusCode;
use minijinja::{Value, context};

use super::charts::{bar_chart, burnup_charts};
use super::{PageResult, Viewer, render_status, val};
use crate::app::progress::{Period, ScopedProgress};
use crate::app::{Ctx, burnup, circulars};
use crate::auth::Principal;
use crate::db::DbConnection;
use crate::domain::circular::date_zh;
use crate::error::{AppError, FieldErrors};

/// The lagging units, best placed first, each linked to its stations.
fn lagging_units(sp: &ScopedProgress) -> Vec<Value> {
    let mut rows: Vec<_> = sp.progress.rows.iter().filter(|r| r.lagging).collect();
    rows.sort_by_key(|r| r.rank.unwrap_or(u32::MAX));
    rows.iter()
        .map(|r| context! { name => r.unit_name.clone(), href => format!("/stations?unit_id={}", r.unit_id) })
        .collect()
}

/// The dashboard's charts: rates by unit, the lagging units named, and the
/// burn-up of the city (or of the reader's units).
pub fn dashboard_charts(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    period: &Period,
    sp: &ScopedProgress,
) -> Result<Value, AppError> {
    let b = burnup::for_principal(conn, ctx, p, period)?;
    let (total, _) = burnup_charts(&b);
    Ok(context! {
        bar_chart => val(bar_chart(sp)),
        lagging_units => lagging_units(sp),
        burnup => val(total),
    })
}

/// The progress page's charts: rates by unit, and the burn-up of the total
/// and of each unit (small multiples).
pub fn progress_charts(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    period: &Period,
    sp: &ScopedProgress,
) -> Result<Value, AppError> {
    let b = burnup::for_principal(conn, ctx, p, period)?;
    let (total, units) = burnup_charts(&b);
    Ok(context! {
        bar_chart => val(bar_chart(sp)),
        burnup => val(total),
        burnup_units => val(units),
    })
}

/// The confirmation before issuing a circular: the number it will get, its
/// recipients and text, and — when one for the same 截至 date exists — a
/// box to tick first. With `errors`, the answer to a refused issue (422).
pub async fn confirm_page(ctx: &Ctx, v: &Viewer, period: Period, errors: Option<FieldErrors>) -> PageResult {
    let p = v.p.clone();
    let preview = ctx
        .run(move |conn, ctx| circulars::preview(conn, ctx, &p, period))
        .await?;
    let key = crate::auth::new_secret("page-")?;
    let status = if errors.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render_status(
        status,
        "circular_preview.html",
        Some(v),
        "确认印发通报",
        None,
        context! {
            p => val(&preview),
            as_of_zh => date_zh(preview.progress.as_of),
            idempotency_key => key,
            errors => errors.map_or(Value::from(()), |e| val(e.0)),
        },
    )
}
