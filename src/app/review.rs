//! The county lead's review queue: the unit's non-compliant stations, its
//! overdue guidance and its progress row, each with its acknowledgement.

use chrono::{Datelike, NaiveDate, NaiveDateTime};
use serde::{Deserialize, Serialize};

use super::audit::{self, snapshot};
use super::guidance::GuidanceRow;
use super::stations::Station;
use super::units::Unit;
use super::{Ctx, clean};
use crate::auth::policy;
use crate::auth::{Principal, Role};
use crate::db::guidance::{self as guidance_store, Filter, StatusFilter};
use crate::db::stations as station_store;
use crate::db::units as units_store;
use crate::db::users as store;
use crate::db::{self, DbConnection, progress as progress_store};
use crate::domain::ReviewKind;
use crate::domain::progress::Row;
use crate::error::{AppError, FieldErrors};

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Acknowledgement {
    pub id: i32,
    #[schema(value_type = String)]
    pub kind: ReviewKind,
    pub target_id: String,
    pub unit_id: i32,
    pub user_id: i32,
    pub comment: String,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub created_at: NaiveDateTime,
}

impl From<store::Acknowledgement> for Acknowledgement {
    fn from(row: store::Acknowledgement) -> Self {
        Acknowledgement {
            id: row.id,
            kind: row.kind,
            target_id: row.target_id,
            unit_id: row.unit_id,
            user_id: row.user_id,
            comment: row.comment,
            created_at: row.created_at,
        }
    }
}

/// The most overdue guidance listed in one queue.
pub const MAX_ITEMS: i64 = 500;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Item<T: Serialize> {
    #[serde(flatten)]
    pub item: T,
    /// The latest acknowledgement, if any.
    pub acknowledgement: Option<Acknowledgement>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Review {
    pub unit: Unit,
    pub as_of: NaiveDate,
    pub progress: Option<Item<Row>>,
    pub stations: Vec<Item<Station>>,
    pub overdue_guidance: Vec<Item<GuidanceRow>>,
    /// 12315 dispatches of the unit's stations past a deadline.
    pub overdue_dispatches: Vec<super::disputes::Dispute>,
}

/// Which unit's queue: a county lead's own; others name one they may read.
fn unit_for(p: &Principal, requested: Option<i32>) -> Result<i32, AppError> {
    let unit = match (p.role, requested, p.units.as_slice()) {
        (Role::CountyLead, None, [own]) => *own,
        (_, Some(u), _) => u,
        _ => return Err(FieldErrors::single("unit_id", "须指定单位")),
    };
    policy::can_read_unit(p, unit)?;
    Ok(unit)
}

fn latest<'a>(acks: &'a [Acknowledgement], kind: ReviewKind, target: &str) -> Option<&'a Acknowledgement> {
    acks.iter().find(|a| a.kind == kind && a.target_id == target)
}

pub fn queue(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, unit_id: Option<i32>) -> Result<Review, AppError> {
    let unit_id = unit_for(p, unit_id)?;
    let unit = units_store::get(conn, unit_id)?
        .map(Unit::from)
        .ok_or_else(|| AppError::NotFound(format!("单位 {unit_id} 不存在")))?;
    let today = ctx.today();
    let acks: Vec<Acknowledgement> = store::acknowledgements_of(conn, unit_id)?
        .into_iter()
        .map(Acknowledgement::from)
        .collect();
    let progress = if progress_store::year_has_plans(conn, today.year())? {
        let period = super::progress::Period {
            year: Some(today.year()),
            as_of: Some(today),
        };
        super::progress::cached(conn, ctx, &period)?
            .rows
            .into_iter()
            .find(|r| r.unit_id == unit_id)
            .map(|row| Item {
                acknowledgement: latest(&acks, ReviewKind::Progress, &today.year().to_string()).cloned(),
                item: row,
            })
    } else {
        None
    };
    let stations = station_store::non_compliant(conn, unit_id)?
        .into_iter()
        .map(|s| Item {
            acknowledgement: latest(&acks, ReviewKind::Station, &s.id.to_string()).cloned(),
            item: Station::from(s),
        })
        .collect();
    let filter = Filter {
        status: Some(StatusFilter::Overdue),
        unit_id: Some(unit_id),
        units: None,
        station_id: None,
        as_of: today,
    };
    let (rows, ..) = guidance_store::list(conn, &filter, 1, MAX_ITEMS, None)?;
    let overdue_guidance = rows
        .into_iter()
        .map(|g| Item {
            acknowledgement: latest(&acks, ReviewKind::Guidance, &g.guidance.id.to_string()).cloned(),
            item: GuidanceRow::from(g),
        })
        .collect();
    let overdue_dispatches = super::disputes::overdue_dispatches(conn, p, unit_id, today)?;
    Ok(Review {
        unit,
        as_of: today,
        progress,
        stations,
        overdue_guidance,
        overdue_dispatches,
    })
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AckInput {
    pub comment: Option<String>,
}

/// A county lead acknowledges one shortfall of their unit with a comment.
pub fn acknowledge(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    kind: &str,
    id: &str,
    input: AckInput,
) -> Result<Acknowledgement, AppError> {
    let comment = clean(input.comment).ok_or_else(|| FieldErrors::single("comment", "须填写说明"))?;
    if comment.chars().count() > 1000 {
        return Err(FieldErrors::single("comment", "说明不超过1000个字符"));
    }
    let kind = ReviewKind::parse(kind)
        .ok_or_else(|| AppError::NotFound(format!("没有“{kind}”类的问题，应为 {}", ReviewKind::expected())))?;
    db::write_tx(conn, |conn| {
        let unit = unit_of(conn, ctx, p, kind, id)?;
        policy::can_acknowledge(p, unit)?;
        let user_id = p
            .user_id
            .ok_or_else(|| AppError::Forbidden("须以用户身份确认".into()))?;
        let ack = Acknowledgement::from(store::acknowledge(conn, kind, id, unit, user_id, &comment, db::now())?);
        audit::record(conn, p, "review.ack", kind.as_str(), id, None, snapshot(&ack))?;
        Ok(ack)
    })
}

/// The unit the acknowledged shortfall belongs to.
fn unit_of(conn: &mut DbConnection, ctx: &Ctx, p: &Principal, kind: ReviewKind, id: &str) -> Result<i32, AppError> {
    let number = |what: &str| {
        id.parse::<i32>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| AppError::NotFound(format!("{what} {id} 不存在")))
    };
    let station_unit = |conn: &mut DbConnection, station_id: i32| -> Result<i32, AppError> {
        Ok(station_store::get(conn, station_id)?
            .ok_or_else(|| AppError::NotFound(format!("服务站 {station_id} 不存在")))?
            .unit_id)
    };
    match kind {
        ReviewKind::Station => station_unit(conn, number("服务站")?),
        ReviewKind::Guidance => {
            let g = guidance_store::get(conn, number("整改意见")?)?
                .ok_or_else(|| AppError::NotFound(format!("整改意见 {id} 不存在")))?;
            station_unit(conn, g.station_id)
        }
        ReviewKind::Progress => {
            let year = number("年度")?;
            if year != ctx.today().year() && !progress_store::year_has_plans(conn, year)? {
                return Err(AppError::NotFound(format!("{year}年度没有建站计划")));
            }
            match p.units.as_slice() {
                [own] => Ok(*own),
                _ => Err(AppError::Forbidden("无权确认问题（仅限县级负责人）".into())),
            }
        }
    }
}
