//! Use cases for county-level units and their annual plans.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use validator::Validate;

use super::audit::{self, snapshot};
use super::{Ctx, clean};
use crate::auth::Principal;
use crate::auth::policy::{self, Admin};
use crate::db::units::{self as store, NewUnit};
use crate::db::{self, DbConnection};
use crate::domain::{Basis, UnitKind};
use crate::error::{AppError, FieldErrors};

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Unit {
    pub id: i32,
    pub code: String,
    pub name: String,
    #[schema(value_type = String)]
    pub kind: UnitKind,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub created_at: NaiveDateTime,
}

impl From<store::Unit> for Unit {
    fn from(row: store::Unit) -> Self {
        Unit {
            id: row.id,
            code: row.code,
            name: row.name,
            kind: row.kind,
            created_at: row.created_at,
        }
    }
}

#[derive(Debug, Clone, Serialize, PartialEq, utoipa::ToSchema)]
pub struct Plan {
    pub unit_id: i32,
    pub year: i32,
    pub target: i32,
    #[serde(serialize_with = "crate::db::utc::one")]
    pub updated_at: NaiveDateTime,
    /// `new`: stations established in the year; `total`: stations standing.
    #[schema(value_type = String)]
    pub basis: Basis,
}

impl From<store::Plan> for Plan {
    fn from(row: store::Plan) -> Self {
        Plan {
            unit_id: row.unit_id,
            year: row.year,
            target: row.target,
            updated_at: row.updated_at,
            basis: row.basis,
        }
    }
}

#[derive(Debug, Default, Deserialize, Validate, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct UnitInput {
    /// The administrative division code (e.g. 220602), or the bureau's own
    /// code for a directly-run branch.
    #[validate(length(max = 32, message = "单位代码不超过32个字符"))]
    pub code: Option<String>,
    #[validate(length(max = 100, message = "单位名称不超过100个字符"))]
    pub name: Option<String>,
    #[schema(value_type = Option<crate::domain::UnitKind>)]
    pub kind: Option<String>,
}

pub fn create(conn: &mut DbConnection, _ctx: &Ctx, p: &Principal, input: UnitInput) -> Result<Unit, AppError> {
    policy::require_admin(p, Admin::ManageUnits)?;
    let mut errors = FieldErrors::new();
    if let Err(e) = input.validate() {
        errors.absorb(e);
    }
    let code = clean(input.code);
    let name = clean(input.name);
    match &code {
        None => errors.add("code", "单位代码不能为空"),
        Some(c) if !c.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_') => {
            errors.add("code", "单位代码只能包含字母、数字、“-”和“_”")
        }
        _ => {}
    }
    if name.is_none() {
        errors.add("name", "单位名称不能为空");
    }
    let kind = match input.kind.as_deref().map(UnitKind::parse) {
        None => {
            errors.add("kind", format!("单位类型不能为空，可选：{}", UnitKind::expected()));
            None
        }
        Some(None) => {
            errors.add("kind", format!("未知的单位类型，可选：{}", UnitKind::expected()));
            None
        }
        Some(k) => k,
    };
    errors.into_result()?;
    let (Some(code), Some(name), Some(kind)) = (code, name, kind) else {
        return Err(AppError::internal(
            "unit validation",
            anyhow::anyhow!("checked fields missing"),
        ));
    };
    db::write_tx(conn, |conn| {
        if store::code_taken(conn, &code)? {
            return Err(FieldErrors::single("code", format!("单位代码 {code} 已存在")));
        }
        let unit = store::insert(
            conn,
            &NewUnit {
                code: &code,
                name: &name,
                kind,
                created_at: db::now(),
            },
        )?;
        tracing::info!(unit_id = unit.id, code = %unit.code, "unit created");
        let unit = Unit::from(unit);
        audit::record(conn, p, "unit.create", "unit", unit.id, None, snapshot(&unit))?;
        Ok(unit)
    })
}

pub fn list(conn: &mut DbConnection) -> Result<Vec<Unit>, AppError> {
    Ok(store::list(conn)?.into_iter().map(Unit::from).collect())
}

/// The units `p` may read (for filters and names), in id order.
pub fn readable(conn: &mut DbConnection, p: &Principal) -> Result<Vec<Unit>, AppError> {
    let scope = policy::read_scope(p);
    Ok(list(conn)?.into_iter().filter(|u| scope.contains(u.id)).collect())
}

/// The unit with this code (as typed on the command line or in a sheet).
pub fn by_code(conn: &mut DbConnection, code: &str) -> Result<Unit, AppError> {
    list(conn)?
        .into_iter()
        .find(|u| u.code == code)
        .ok_or_else(|| FieldErrors::single("unit", format!("单位代码 {code} 不存在")))
}

#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PlanInput {
    #[schema(minimum = 0)]
    pub target: Option<i64>,
    /// `new` (the default): the target counts stations established in the
    /// year; `total`: stations standing at the year end.
    #[schema(value_type = Option<crate::domain::progress::Basis>)]
    pub basis: Option<String>,
}

/// The earliest and latest plan years accepted: the programme began in the
/// 2000s; plans are made at most a few years ahead.
pub const YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

pub fn check_year(year: i32) -> Result<(), AppError> {
    if YEARS.contains(&year) {
        Ok(())
    } else {
        Err(FieldErrors::single(
            "year",
            format!("年度应在{}至{}之间", YEARS.start(), YEARS.end()),
        ))
    }
}

pub fn set_plan(
    conn: &mut DbConnection,
    p: &Principal,
    unit_id: i32,
    year: i32,
    input: PlanInput,
) -> Result<Plan, AppError> {
    policy::require_admin(p, Admin::ManagePlans)?;
    check_year(year)?;
    let target = match input.target {
        None => return Err(FieldErrors::single("target", "目标数不能为空")),
        Some(t) if !(0..=1_000_000).contains(&t) => {
            return Err(FieldErrors::single("target", "目标数应为0至1000000之间的整数"));
        }
        Some(t) => t as i32,
    };
    let basis = match clean(input.basis).as_deref().map(Basis::parse) {
        None => Basis::New,
        Some(Some(basis)) => basis,
        Some(None) => {
            return Err(FieldErrors::single(
                "basis",
                "应为 new（当年新建数）或 total（年末建成总数）",
            ));
        }
    };
    db::write_tx(conn, |conn| {
        if store::get(conn, unit_id)?.is_none() {
            return Err(AppError::NotFound(format!("单位 {unit_id} 不存在")));
        }
        let before = store::plans_for_year(conn, year)?
            .into_iter()
            .find(|p| p.unit_id == unit_id)
            .map(Plan::from);
        let plan = Plan::from(store::set_plan(conn, unit_id, year, target, basis, db::now())?);
        audit::record(
            conn,
            p,
            "plan.set",
            "plan",
            format!("{unit_id}/{year}"),
            before.as_ref().and_then(snapshot),
            snapshot(&plan),
        )?;
        tracing::info!(unit_id, year, target, "plan set");
        Ok(plan)
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PlanRow {
    pub unit_id: i32,
    pub unit_code: String,
    pub unit_name: String,
    pub year: i32,
    pub target: Option<i32>,
    #[schema(value_type = Option<String>)]
    pub basis: Option<Basis>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct YearPlans {
    pub year: i32,
    pub total_target: i64,
    /// Every unit, with `target: null` where none was set for the year.
    pub items: Vec<PlanRow>,
}

/// Every unit the principal may read, with its target for the year.
pub fn plans(conn: &mut DbConnection, p: &Principal, year: i32) -> Result<YearPlans, AppError> {
    check_year(year)?;
    let scope = policy::read_scope(p);
    let units: Vec<store::Unit> = store::list(conn)?
        .into_iter()
        .filter(|u| scope.contains(u.id))
        .collect();
    let plans = store::plans_for_year(conn, year)?;
    let items: Vec<PlanRow> = units
        .into_iter()
        .map(|u| PlanRow {
            target: plans.iter().find(|p| p.unit_id == u.id).map(|p| p.target),
            basis: plans.iter().find(|p| p.unit_id == u.id).map(|p| p.basis),
            unit_id: u.id,
            unit_code: u.code,
            unit_name: u.name,
            year,
        })
        .collect();
    let total_target = items.iter().filter_map(|r| r.target).map(i64::from).sum();
    Ok(YearPlans {
        year,
        total_target,
        items,
    })
}
