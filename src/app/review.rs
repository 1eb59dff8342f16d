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
    /// Who acknowledged: the account's name (姓名), else its username.
    pub by_name: String,
    pub comment: String,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub created_at: NaiveDateTime,
}

impl Acknowledgement {
    fn new(row: store::Acknowledgement, by_name: String) -> Self {
        Acknowledgement {
            id: row.id,
            kind: row.kind,
            target_id: row.target_id,
            unit_id: row.unit_id,
            user_id: row.user_id,
            by_name,
            comment: row.comment,
            created_at: row.created_at,
        }
    }
}

/// The unit's acknowledgements, newest first, each with who made it.
fn acknowledgements(conn: &mut DbConnection, unit_id: i32) -> Result<Vec<Acknowledgement>, AppError> {
    let rows = store::acknowledgements_of(conn, unit_id)?;
    let mut ids: Vec<i32> = rows.iter().map(|a| a.user_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let names = store::names_of(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let name = names.get(&row.user_id).cloned().unwrap_or_default();
            Acknowledgement::new(row, name)
        })
        .collect())
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

/// Overdue guidance as the queue shows it: which item (titled by the
/// station's own checklist) and how many days past its due date.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct OverdueGuidance {
    #[serde(flatten)]
    pub guidance: GuidanceRow,
    pub item_title: String,
    /// Days from the due date to the queue's `as_of` (at least 1).
    pub days_overdue: i64,
}

/// What still awaits the county lead: the shortfalls not yet acknowledged.
#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Awaiting {
    pub stations: usize,
    pub guidance: usize,
    /// 1 when the unit lags behind 序时进度 and that is not acknowledged.
    pub progress: usize,
    pub total: usize,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Review {
    pub unit: Unit,
    pub as_of: NaiveDate,
    pub progress: Option<Item<Row>>,
    /// How many units the year's ranking counts (the "共N个单位" of a rank).
    pub ranked_units: usize,
    pub stations: Vec<Item<Station>>,
    pub overdue_guidance: Vec<Item<OverdueGuidance>>,
    /// 12315 dispatches of the unit's stations past a deadline.
    pub overdue_dispatches: Vec<super::disputes::Dispute>,
    pub awaiting: Awaiting,
}

impl Review {
    fn count_awaiting(&self) -> Awaiting {
        let stations = self.stations.iter().filter(|s| s.acknowledgement.is_none()).count();
        let guidance = self
            .overdue_guidance
            .iter()
            .filter(|g| g.acknowledgement.is_none())
            .count();
        let progress = usize::from(
            self.progress
                .as_ref()
                .is_some_and(|p| p.item.lagging && p.acknowledgement.is_none()),
        );
        Awaiting {
            stations,
            guidance,
            progress,
            total: stations + guidance + progress,
        }
    }
}

/// Which unit's queue: a county lead's own; the bureau and viewers name
/// one they may read. Inspectors and station accounts have no queue.
fn unit_for(p: &Principal, requested: Option<i32>) -> Result<i32, AppError> {
    policy::can_read_review(p)?;
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
    let acks = acknowledgements(conn, unit_id)?;
    let (progress, ranked_units) = if progress_store::year_has_plans(conn, today.year())? {
        let period = super::progress::Period {
            year: Some(today.year()),
            as_of: Some(today),
        };
        let rows = super::progress::cached(conn, ctx, &period)?.rows;
        let ranked = rows.iter().filter(|r| r.rank.is_some()).count();
        let own = rows.into_iter().find(|r| r.unit_id == unit_id).map(|row| Item {
            acknowledgement: latest(&acks, ReviewKind::Progress, &today.year().to_string()).cloned(),
            item: row,
        });
        (own, ranked)
    } else {
        (None, 0)
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
    let titles = ctx.standards.item_titles_by_standard();
    let overdue_guidance = rows
        .into_iter()
        .map(|g| {
            let row = GuidanceRow::from(g);
            let item_title = titles
                .get(&row.standard_id)
                .and_then(|t| t.get(&row.guidance.item_code))
                .cloned()
                .unwrap_or_else(|| "（已停用的检查项目）".to_owned());
            Item {
                acknowledgement: latest(&acks, ReviewKind::Guidance, &row.guidance.id.to_string()).cloned(),
                item: OverdueGuidance {
                    days_overdue: (today - row.guidance.due_on).num_days().max(1),
                    item_title,
                    guidance: row,
                },
            }
        })
        .collect();
    let overdue_dispatches = super::disputes::overdue_dispatches(conn, p, unit_id, today)?;
    let mut review = Review {
        unit,
        as_of: today,
        progress,
        ranked_units,
        stations,
        overdue_guidance,
        overdue_dispatches,
        awaiting: Awaiting::default(),
    };
    review.awaiting = review.count_awaiting();
    Ok(review)
}

/// What awaits a county lead in their own unit's queue; `None` for
/// everyone else (no queue of their own).
pub fn awaiting(conn: &mut DbConnection, ctx: &Ctx, p: &Principal) -> Result<Option<Awaiting>, AppError> {
    if p.role != Role::CountyLead || p.units.len() != 1 {
        return Ok(None);
    }
    Ok(Some(queue(conn, ctx, p, None)?.awaiting))
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
        let by_name = store::names_of(conn, &[user_id])?.remove(&user_id).unwrap_or_default();
        let ack = Acknowledgement::new(
            store::acknowledge(conn, kind, id, unit, user_id, &comment, db::now())?,
            by_name,
        );
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
