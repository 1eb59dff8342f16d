//! The commands other than `serve`: each loads what it needs, calls use
//! cases and prints the outcome.

use anyhow::{Context, Result};

use super::args::{CircularAction, ImportWhat, TokenAction, UserAction};
use crate::app::circulars::{self, IssueOptions};
use crate::app::progress::Period;
use crate::app::{Ctx, demo, outbox};
use crate::auth::Principal;
use crate::db;
use crate::error::AppError;
use crate::mail::Transport;

pub(super) fn load_demo(ctx: &Ctx, print_accounts: bool) -> Result<()> {
    let mut conn = ctx.pool.get().context("cannot get a database connection")?;
    let loaded = demo::load(&mut conn, ctx).map_err(|e| anyhow::anyhow!("cannot load the demo data: {e}"))?;
    if print_accounts {
        let accounts =
            demo::reset_demo_passwords(&mut conn).map_err(|e| anyhow::anyhow!("cannot set the demo passwords: {e}"))?;
        println!("演示账户（仅演示模式显示，每次启动重新生成密码）/ demo accounts:");
        for (username, role, password) in accounts {
            println!("  {username:<15} {:<8} {password}", role.label_zh());
        }
    }
    if loaded.already_loaded {
        tracing::info!("demo data already present; nothing loaded");
    } else {
        tracing::info!(
            units = loaded.units,
            stations = loaded.stations,
            visits = loaded.visits,
            "demo data loaded"
        );
    }
    Ok(())
}

pub(super) async fn circular(ctx: Ctx, action: CircularAction) -> Result<()> {
    match action {
        CircularAction::Preview(p) => {
            let period = Period {
                year: p.year,
                as_of: p.as_of,
            };
            let preview = ctx
                .run(move |conn, ctx| circulars::preview(conn, ctx, &Principal::system("cli"), period))
                .await
                .map_err(fail)?;
            println!("{}\n\n{}", preview.subject, preview.body_text);
            println!("收件人 {} 名", preview.recipients.len());
        }
        CircularAction::Issue(p) => {
            let period = Period {
                year: p.year,
                as_of: p.as_of,
            };
            let (c, _) = ctx
                .run(move |conn, ctx| {
                    circulars::issue(
                        conn,
                        ctx,
                        &Principal::system("cli"),
                        period,
                        IssueOptions {
                            issued_by: "cli".into(),
                            idempotency_key: None,
                            schedule_period: None,
                            allow_same_as_of: true,
                            expected_number: None,
                        },
                    )
                })
                .await
                .map_err(fail)?;
            println!("issued {} (id {})", c.summary.number, c.summary.id);
            let transport = Transport::from_settings(&ctx.settings.mail, &ctx.settings.data_dir)?;
            outbox::run_pending_with(&ctx, &transport).await?;
            let id = c.summary.id;
            let system = Principal::system("cli");
            let detail = ctx.run(move |conn, _| circulars::get(conn, &system, id)).await?;
            let d = detail.summary.deliveries;
            println!(
                "deliveries: {} sent, {} waiting for a retry, {} failed (a running server retries them)",
                d.sent, d.pending, d.failed
            );
        }
        CircularAction::SetSerial { year, next } => {
            // The audit log names the operating-system account that ran it.
            let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
            let p = Principal::system(&format!("cli:{who}"));
            let v = ctx
                .run(move |conn, ctx| crate::app::serials::set(conn, ctx, &p, year, i64::from(next)))
                .await
                .map_err(fail)?;
            println!("the next circular of {} will be {}", v.year, v.next_number);
        }
    }
    Ok(())
}

pub(super) async fn user(ctx: Ctx, action: UserAction) -> Result<()> {
    use crate::app::users::{self, UserInput};
    let p = Principal::system("cli");
    match action {
        UserAction::Add {
            username,
            role,
            station,
            units,
            email,
            name,
            password_stdin,
        } => {
            let password = if password_stdin {
                let mut line = String::new();
                std::io::stdin()
                    .read_line(&mut line)
                    .context("cannot read the password from standard input")?;
                Some(line.trim_end_matches(['\r', '\n']).to_owned())
            } else {
                None
            };
            let u = ctx
                .run(move |conn, _| {
                    let mut ids = Vec::new();
                    for code in &units {
                        ids.push(crate::app::units::by_code(conn, code)?.id);
                    }
                    let input = UserInput {
                        username: Some(username),
                        display_name: name,
                        email,
                        role: Some(role),
                        units: Some(ids),
                        password,
                        active: Some(true),
                        station_id: station,
                    };
                    users::create(conn, &p, input)
                })
                .await
                .map_err(fail)?;
            println!("created user {} (id {}, {})", u.user.username, u.user.id, u.user.role);
        }
        UserAction::List => {
            let list = ctx.run(move |conn, _| users::list(conn, &p)).await?;
            for u in list {
                println!(
                    "{:<5} {:<20} {:<12} {:<8} units={:?} {}",
                    u.user.id,
                    u.user.username,
                    u.user.role,
                    if u.user.active { "active" } else { "disabled" },
                    u.units,
                    u.user.email.unwrap_or_default()
                );
            }
        }
        UserAction::Disable { username } => {
            let name = username.clone();
            ctx.run(move |conn, _| {
                let user = users::by_username(conn, &username)?;
                users::update(
                    conn,
                    &p,
                    user.id,
                    UserInput {
                        active: Some(false),
                        ..UserInput::default()
                    },
                )
            })
            .await
            .map_err(fail)?;
            println!("disabled {name}");
        }
    }
    Ok(())
}

pub(super) async fn token(ctx: Ctx, action: TokenAction) -> Result<()> {
    use crate::app::users::{self, TokenInput};
    let p = Principal::system("cli");
    match action {
        TokenAction::Create { username, name } => {
            let t = ctx
                .run(move |conn, _| {
                    let user = users::by_username(conn, &username)?;
                    users::create_token(
                        conn,
                        &p,
                        TokenInput {
                            name: Some(name),
                            user_id: Some(user.id),
                        },
                    )
                })
                .await
                .map_err(fail)?;
            eprintln!("token {} created; it is shown once:", t.token.id);
            println!("{}", t.secret);
        }
    }
    Ok(())
}

pub(super) fn generate(ctx: &Ctx, units: u32, stations: u64, visits: u32, seed: u64, batch: u64) -> Result<()> {
    use crate::db::generate::{self as g, Spec};
    use std::time::Instant;
    if units == 0 || stations == 0 || visits == 0 || batch == 0 {
        anyhow::bail!("--units, --stations, --visits-per-station and --batch must be at least 1");
    }
    let spec = Spec {
        units,
        stations,
        visits_per_station: visits,
        seed,
        today: ctx.today(),
    };
    let mut conn = ctx.pool.get().context("cannot get a database connection")?;
    let started = Instant::now();
    let (first_unit, station_base, visit_base) = db::write_tx(&mut conn, |c| {
        let first = g::units(c, &spec)?;
        Ok::<_, diesel::result::Error>((first, g::max_id(c, "stations")?, g::max_id(c, "visits")?))
    })
    .context("cannot write the units")?;
    let mut done = 0u64;
    while done < stations {
        let (from, to) = (done + 1, (done + batch).min(stations));
        db::write_tx(&mut conn, |c| {
            g::batch(c, &spec, first_unit, station_base, visit_base, from, to)
        })
        .with_context(|| format!("cannot write stations {from}..={to}"))?;
        done = to;
        let secs = started.elapsed().as_secs_f64();
        let filled = (done * 30 / stations) as usize;
        eprintln!(
            "[{}{}] {done}/{stations} stations, {:.0}/s, {secs:.1} s",
            "#".repeat(filled),
            "-".repeat(30 - filled),
            done as f64 / secs.max(0.001)
        );
    }
    g::finish(&mut conn).context("cannot finish the data set")?;
    println!(
        "generated {units} units, {stations} stations, {} visits, {} visit items in {:.1} s",
        stations * u64::from(visits),
        stations * u64::from(visits) * 8,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `bayige import stations FILE [--dry-run]`: the report on standard
/// output, a progress bar on standard error when it is a terminal; a
/// non-zero exit when any row is bad (then nothing was written).
pub(super) async fn import(ctx: Ctx, what: ImportWhat) -> Result<()> {
    use std::io::IsTerminal;
    let ImportWhat::Stations {
        file,
        dry_run,
        max_rows,
    } = what;
    // The sheet's row numbers count the header row too; a longer register
    // may also be a larger file (about 200 bytes a row as CSV).
    let default = crate::sheets::read::ReadLimits::default();
    let limits = crate::sheets::read::ReadLimits {
        max_rows: max_rows.saturating_add(1),
        max_bytes: default.max_bytes.max(max_rows as usize * 512),
        max_unzipped_bytes: default.max_unzipped_bytes.max(u64::from(max_rows) * 2048),
    };
    // Read a row at a time as it is imported, not loaded whole.
    let input = std::fs::File::open(&file)
        .map(std::io::BufReader::new)
        .with_context(|| format!("cannot read {}", file.display()))?;
    let who = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    let p = Principal::system(&format!("cli:{who}"));
    let tty = std::io::stderr().is_terminal();
    let report = ctx
        .run(move |conn, ctx| {
            let mut bar = |done: usize, all: usize| {
                if tty && (done.is_multiple_of(100) || done == all) {
                    let filled = done * 30 / all.max(1);
                    eprint!("\r[{}{}] {done}/{all}", "#".repeat(filled), "-".repeat(30 - filled));
                    if done == all {
                        eprintln!();
                    }
                }
            };
            crate::app::stations::import_with_progress(conn, ctx, &p, input, dry_run, &limits, &mut bar)
        })
        .await
        .map_err(fail)?;
    for e in &report.errors {
        println!("第{}行“{}”：{}", e.row, e.column, e.message);
    }
    println!(
        "{}新增 {} 个，更新 {} 个，未变 {} 个，错误 {} 处",
        if dry_run { "试导入（未写入）：" } else { "" },
        report.created,
        report.updated,
        report.unchanged,
        report.errors.len()
    );
    if !report.errors.is_empty() {
        anyhow::bail!(
            "{} row error(s) in {}: nothing was imported",
            report.errors.len(),
            file.display()
        );
    }
    Ok(())
}

/// A use case's error as the command line reports it: the message, then
/// the fields at fault (or the error code).
fn fail(e: AppError) -> anyhow::Error {
    let detail = match &e {
        AppError::Validation(f) => serde_json::to_string(f).unwrap_or_default(),
        _ => e.code().to_owned(),
    };
    anyhow::anyhow!("{e}: {detail}")
}

/// `bayige disputes ...`.
/// Prints the years whose holiday notice is known, one per line.
pub fn holidays() -> Result<()> {
    let calendar = crate::domain::workdays::Calendar::embedded().map_err(|e| anyhow::anyhow!("{e}"))?;
    for year in calendar.years() {
        if let Some(s) = calendar.source(year) {
            println!("{year}\t{}\t{}\t{}", s.title, s.number, s.date);
        }
    }
    Ok(())
}

pub async fn disputes(ctx: Ctx, action: crate::cli::args::DisputeAction) -> Result<()> {
    match action {
        crate::cli::args::DisputeAction::Holidays => holidays()?,
        crate::cli::args::DisputeAction::EraseExpired => {
            let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
            let p = Principal::system(&format!("cli:{user}"));
            let n = ctx
                .run(move |conn, ctx| crate::app::disputes::erase_expired(conn, ctx, &p))
                .await?;
            println!(
                "erased consumers' names and phones of {n} case(s) closed more than {} year(s) ago",
                ctx.settings.disputes.retention_years
            );
        }
    }
    Ok(())
}
