//! The 发文字号 register: circular numbers belong to the bureau's 收发文
//! register, shared with its other documents of the same 代字, so the next
//! serial of a year can be set to what the register says. Numbers stay
//! unique and gap-free from there on: the next serial can never go back to
//! one already issued.

use serde::{Deserialize, Serialize};

use super::Ctx;
use super::audit;
use crate::auth::Principal;
use crate::auth::policy::{self, Admin};
use crate::db::circulars as store;
use crate::db::{self, DbConnection};
use crate::domain::circular::number;
use crate::error::{AppError, FieldErrors};

/// The largest serial accepted.
pub const MAX_SERIAL: i32 = 100_000;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetSerial {
    /// The serial the next circular of the year gets.
    #[schema(minimum = 1, maximum = 100000)]
    pub next: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SerialView {
    pub prefix: String,
    pub year: i32,
    /// The serial the next circular of the year gets.
    pub next: i32,
    /// The number the next circular will carry, e.g. 白市工商通〔2017〕5号.
    pub next_number: String,
    /// The highest serial already issued (0: none yet).
    pub last_issued: i32,
}

fn check_year(year: i32) -> Result<(), AppError> {
    if !(2000..=2100).contains(&year) {
        return Err(FieldErrors::single("year", "年份应在2000至2100之间"));
    }
    Ok(())
}

/// Where the register stands for `year` (the configured prefix).
pub fn get(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, year: i32) -> Result<SerialView, AppError> {
    policy::require_admin(p, Admin::Circulars)?;
    check_year(year)?;
    let prefix = &ctx.settings.circular.prefix;
    let next = store::peek_serial(conn, prefix, year)?;
    Ok(SerialView {
        prefix: prefix.clone(),
        year,
        next,
        next_number: number(prefix, year, next),
        last_issued: store::max_issued_serial(conn, prefix, year)?,
    })
}

/// Sets the next serial of `year`; refused when a circular of that year
/// already carries `next` or a later serial. Recorded in the audit log.
pub fn set(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, year: i32, next: i64) -> Result<SerialView, AppError> {
    policy::require_admin(p, Admin::Circulars)?;
    check_year(year)?;
    let next = i32::try_from(next)
        .ok()
        .filter(|n| (1..=MAX_SERIAL).contains(n))
        .ok_or_else(|| FieldErrors::single("next", format!("序号应为1至{MAX_SERIAL}之间的整数")))?;
    let prefix = ctx.settings.circular.prefix.clone();
    db::write_tx(conn, |conn| {
        let before = get(conn, ctx, p, year)?;
        if next <= before.last_issued {
            return Err(FieldErrors::single(
                "next",
                format!(
                    "{year}年已印发至第{}号（{}），下一个序号不能小于{}",
                    before.last_issued,
                    number(&prefix, year, before.last_issued),
                    before.last_issued + 1
                ),
            ));
        }
        store::set_next_serial(conn, &prefix, year, next)?;
        let after = get(conn, ctx, p, year)?;
        tracing::info!(%prefix, year, next, by = %p.username, "circular serial set from the register");
        audit::record(
            conn,
            p,
            "circular.set_serial",
            "circular_serial",
            format!("{prefix}/{year}"),
            audit::snapshot(&before),
            audit::snapshot(&after),
        )?;
        Ok(after)
    })
}
