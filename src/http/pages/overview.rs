//! Dashboard, progress, guidance and circulars.

use std::collections::HashMap;

use actix_web::web;
use chrono::Datelike;
use minijinja::{Value, context};

use super::{PageResult, Viewer, flash_for, parse_form, redirect, render, val};
use crate::app::circulars::{self, IssueOptions};
use crate::app::progress::{self, PeriodQuery};
use crate::app::{Ctx, guidance};
use crate::domain::GuidanceFilter;
use crate::domain::circular::date_zh;
use crate::domain::five_entries::EntryCount;
use crate::error::AppError;
use crate::mail::CircularDoc;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(dashboard))
        .route("/progress", web::get().to(progress_page))
        .route("/guidance", web::get().to(guidance_page))
        .route("/circulars", web::get().to(circulars_page))
        .route("/circulars", web::post().to(issue))
        .route("/circulars/preview", web::get().to(preview))
        .route("/circulars/{id}", web::get().to(circular_page))
        .route("/circulars/{id}/deliveries/{did}/retry", web::post().to(retry));
}

fn pct(x: f64) -> String {
    format!("{:.1}", x * 100.0)
}

/// A share as a percentage number with one decimal, for the chart.
fn pct_num(x: f64) -> f64 {
    (x * 1000.0).round() / 10.0
}

async fn dashboard(ctx: web::Data<Ctx>, v: Viewer, query: web::Query<HashMap<String, String>>) -> PageResult {
    if v.p.station.is_some() {
        // A station's account has its ledger and nothing else.
        return Ok(super::redirect("/disputes"));
    }
    if v.p.role == crate::auth::Role::Inspector {
        // The inspector's phone: the day's work, not the management view.
        return super::home::inspector_home(&ctx, &v).await;
    }
    let p = v.p.clone();
    let asked = PeriodQuery {
        year: super::filled(&query, "year"),
        as_of: super::filled(&query, "as_of"),
    };
    let period = asked.parse()?;
    let progress = ctx
        .run(move |conn, ctx| {
            let period = if period.year.is_some() || period.as_of.is_some() {
                Some(period)
            } else {
                progress::default_period(conn, ctx)?
            };
            match period {
                Some(period) => {
                    let scoped = progress::for_principal(conn, ctx, &p, &period)?;
                    let ledger = ledger_figures(conn, ctx, &p, scoped.progress.year, scoped.progress.as_of)?;
                    let charts = super::bureau::dashboard_charts(conn, ctx, &p, &period, &scoped)?;
                    Ok(Some((scoped, (ledger, charts))))
                }
                None => Ok(None),
            }
        })
        .await?;
    let (progress, ledger, charts) = match progress {
        Some((scoped, (ledger, charts))) => (Some(scoped), Some(ledger), charts),
        None => (None, None, Value::from(())),
    };
    let extra = match &progress {
        Some(sp) => {
            let t = &sp.progress.totals;
            context! {
                progress => val(&sp.progress),
                expected_pct => pct_num(sp.progress.expected),
                as_of_zh => date_zh(sp.progress.as_of),
                total_rate => t.rate.map_or("—".to_owned(), |r| format!("{}%", pct(r))),
                compliance_rate => if t.built > 0 { format!("{}%", pct(t.compliant as f64 / t.built as f64)) } else { "—".to_owned() },
                no_plan => "",
            }
        }
        None => context! { progress => Value::from(()), no_plan => "尚未下达任何年度建站计划。" },
    };
    let lead = super::review::lead_summary(&ctx, &v).await?;
    let extra = context! { ledger => val(&ledger), lead, ..context! { ..charts, ..extra } };
    render("dashboard.html", Some(&v), "工作概况", flash_for(&query), extra)
}

/// The dispute ledger's figures for the year up to `as_of`, as `p` may
/// read them.
fn ledger_figures(
    conn: &mut crate::db::DbConnection,
    ctx: &Ctx,
    p: &crate::auth::Principal,
    year: i32,
    as_of: chrono::NaiveDate,
) -> Result<crate::app::disputes::Figures, AppError> {
    let query = crate::app::disputes::StatsQuery {
        year: Some(year.to_string()),
        as_of: Some(as_of.to_string()),
        ..Default::default()
    };
    crate::app::disputes::stats(conn, ctx, p, query)
}

async fn progress_page(ctx: web::Data<Ctx>, v: Viewer, query: web::Query<HashMap<String, String>>) -> PageResult {
    let p = v.p.clone();
    let asked = PeriodQuery {
        year: super::filled(&query, "year"),
        as_of: super::filled(&query, "as_of"),
    }
    .parse()?;
    let result = ctx
        .run(move |conn, ctx| {
            let period = if asked.year.is_some() || asked.as_of.is_some() {
                Some(asked)
            } else {
                progress::default_period(conn, ctx)?
            };
            let Some(period) = period else { return Ok(None) };
            let scoped = progress::for_principal(conn, ctx, &p, &period)?;
            let entries = progress::five_entries(conn, &p, scoped.progress.as_of)?;
            let ledger = ledger_figures(conn, ctx, &p, scoped.progress.year, scoped.progress.as_of)?;
            let charts = super::bureau::progress_charts(conn, ctx, &p, &period, &scoped)?;
            Ok(Some((scoped, (entries, ledger, charts))))
        })
        .await;
    let (progress, error) = match result {
        Ok(p) => (p, None),
        Err(AppError::Validation(f)) => (
            None,
            Some(f.0.values().flatten().cloned().collect::<Vec<_>>().join("；")),
        ),
        Err(e) => return Err(e.into()),
    };
    let year = query.get("year").cloned().unwrap_or_default();
    let as_of = query.get("as_of").cloned().unwrap_or_default();
    let extra = match &progress {
        Some((sp, (entries, ledger, charts))) => {
            let head = ctx.settings.circular.letterhead();
            let mut doc = CircularDoc::new("", &head, sp.progress.as_of, &sp.progress);
            // By rank, as circulars publish it; units without a plan last.
            doc.rows.sort_by_key(|r| r.rank.unwrap_or(u32::MAX));
            context! {
                issuer => head.issuer,
                lagging_count => doc.rows.iter().filter(|r| r.lagging).count(),
                five_entries => five_entry_rows(entries),
                ledger => val(ledger),
                five_entries_total => entries.iter().map(|e| e.stations).sum::<i64>(),
                progress => val(&sp.progress),
                rows => val(&doc.rows),
                totals => val(&doc.totals),
                city_wide => sp.city_wide,
                expected_pct => pct_num(sp.progress.expected),
                as_of_zh => date_zh(sp.progress.as_of),
                year => sp.progress.year,
                as_of => sp.progress.as_of.to_string(),
                error => error,
                ..charts
            }
        }
        None => {
            context! { progress => Value::from(()), year, as_of, error => error.unwrap_or_else(|| "尚未下达任何年度建站计划。".into()) }
        }
    };
    render("progress.html", Some(&v), "建站进度", None, extra)
}

/// The 五进 table's rows: entry, stations, and the finer categories
/// inside it ("酒店3、电信5").
fn five_entry_rows(entries: &[EntryCount]) -> Vec<Value> {
    entries
        .iter()
        .map(|e| {
            let detail: Vec<String> = e
                .categories
                .iter()
                .map(|(c, n)| format!("{}{n}", c.label_zh()))
                .collect();
            context! { label => e.entry.label_zh(), stations => e.stations, detail => detail.join("、") }
        })
        .collect()
}

async fn guidance_page(ctx: web::Data<Ctx>, v: Viewer, query: web::Query<HashMap<String, String>>) -> PageResult {
    let p = v.p.clone();
    let status = query
        .get("status")
        .cloned()
        .unwrap_or_else(|| GuidanceFilter::Open.as_str().into());
    let q = guidance::GuidanceQuery {
        status: Some(status.clone()).filter(|s| s != "all"),
        unit_id: super::filled(&query, "unit_id"),
        station_id: None,
        as_of: super::filled(&query, "as_of"),
        page: super::filled(&query, "page"),
        per_page: Some("100".into()),
        after: super::filled(&query, "after"),
    };
    let (page, units) = ctx
        .run(move |conn, ctx| {
            let units = crate::app::units::readable(conn, &p)?;
            Ok((guidance::list(conn, ctx, &p, q)?, units))
        })
        .await?;
    let unit_id: Option<i32> = query.get("unit_id").and_then(|u| u.parse().ok());
    let mut statuses: Vec<(&str, &str)> = GuidanceFilter::ALL.iter().map(|s| (s.as_str(), s.label_zh())).collect();
    statuses.push(("all", "全部"));
    // The export takes the list's filters (and its day for "overdue").
    let mut export = vec![format!("as_of={}", page.as_of)];
    if status != "all" {
        export.push(format!("status={}", super::encode(&status)));
    }
    if let Some(u) = unit_id {
        export.push(format!("unit_id={u}"));
    }
    let export_query = export.join("&");
    render(
        "guidance.html",
        Some(&v),
        "整改意见",
        None,
        context! { page => val(&page), units => val(&units), unit_id, status, statuses, item_titles => ctx.standards.item_titles_by_standard(), export_query },
    )
}

async fn circulars_page(ctx: web::Data<Ctx>, v: Viewer, query: web::Query<HashMap<String, String>>) -> PageResult {
    let p = v.p.clone();
    let page = ctx.run(move |conn, _| circulars::list(conn, &p, 1, 100)).await?;
    let today = ctx.today();
    render(
        "circulars.html",
        Some(&v),
        "通报",
        flash_for(&query),
        context! { page => val(&page), year => today.year(), as_of => today.to_string() },
    )
}

async fn preview(ctx: web::Data<Ctx>, v: Viewer, query: web::Query<HashMap<String, String>>) -> PageResult {
    let period = PeriodQuery {
        year: super::filled(&query, "year"),
        as_of: super::filled(&query, "as_of"),
    }
    .parse()?;
    super::bureau::confirm_page(&ctx, &v, period, None).await
}

async fn issue(ctx: web::Data<Ctx>, v: Viewer, super::Body(body): super::Body) -> PageResult {
    let f = parse_form(&body)?;
    v.check_csrf(f.get("csrf_token").map(String::as_str))?;
    let period = PeriodQuery {
        year: super::filled(&f, "year"),
        as_of: super::filled(&f, "as_of"),
    }
    .parse()?;
    let opts = IssueOptions {
        issued_by: format!("web:{}", v.p.username),
        // A double-clicked button issues one circular, not two.
        idempotency_key: f.get("idempotency_key").cloned().filter(|k| !k.is_empty()),
        schedule_period: None,
        // The confirmation page asked, when one for the date exists.
        allow_same_as_of: f.get("confirm_same_as_of").is_some_and(|c| c == "1"),
        expected_number: f.get("expected_number").cloned().filter(|n| !n.is_empty()),
    };
    let p = v.p.clone();
    let asked = period.clone();
    let issued = ctx
        .run(move |conn, ctx| circulars::issue(conn, ctx, &p, period, opts))
        .await;
    match issued {
        Ok((c, _)) => Ok(redirect(&format!("/circulars/{}?ok=issued", c.summary.id))),
        // Not confirmed, or the number changed: ask again, saying why.
        Err(AppError::Validation(errors))
            if errors.0.contains_key("confirm_same_as_of") || errors.0.contains_key("expected_number") =>
        {
            super::bureau::confirm_page(&ctx, &v, asked, Some(errors)).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn circular_page(
    ctx: web::Data<Ctx>,
    v: Viewer,
    path: web::Path<String>,
    query: web::Query<HashMap<String, String>>,
) -> PageResult {
    let id = crate::http::api::id(&path, "通报")?;
    let p = v.p.clone();
    // The deliveries a page at a time: `?deliveries_after=` the last shown.
    let after = query.get("deliveries_after").cloned();
    let (c, deliveries) = ctx
        .run(move |conn, _| {
            let c = circulars::get(conn, &p, id)?;
            let q = circulars::DeliveryQuery { limit: None, after };
            let d = circulars::deliveries(conn, &p, id, q).ok();
            Ok((c, d))
        })
        .await?;
    let title = c.summary.number.clone();
    render(
        "circular.html",
        Some(&v),
        &title,
        flash_for(&query),
        context! {
            c => context! { body_html => c.body_html.clone(), pdf => c.pdf, ..val(&c.summary) },
            deliveries => deliveries.map_or(Value::from(()), val),
        },
    )
}

async fn retry(
    ctx: web::Data<Ctx>,
    v: Viewer,
    path: web::Path<(String, String)>,
    super::Body(body): super::Body,
) -> PageResult {
    let f = parse_form(&body)?;
    v.check_csrf(f.get("csrf_token").map(String::as_str))?;
    let (c, d) = path.into_inner();
    let (cid, did) = (crate::http::api::id(&c, "通报")?, crate::http::api::id(&d, "投递记录")?);
    let p = v.p.clone();
    ctx.run(move |conn, ctx| circulars::retry(conn, ctx, &p, cid, did))
        .await?;
    Ok(redirect(&format!("/circulars/{cid}?ok=retry")))
}
