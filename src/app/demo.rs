//! The Baishan City (白山市) demo data set: the seven county-level units of
//! `shared/domain.md`, their 2017 plans (330 stations city-wide), and 164
//! built stations as of mid-July 2017 (60 of them new in 2017, 17 of those by
//! the city's directly-run branch), plus planned and revoked ones.
//!
//! Deterministic: every run produces the same rows. Loaded once: a marker
//! row in `seed_runs` is written in the same transaction as the data.

use chrono::{Days, NaiveDate};
use diesel::prelude::*;

use super::Ctx;
use super::audit;
use super::demo_hosts as hosts;
use super::stations::{self, StatusInput};
use super::visits::{self, ItemInput, VisitInput};
use crate::auth::{self, Principal, Role};
use crate::db::schema::seed_runs;
use crate::db::stations::{self as store, StationFields};
use crate::db::units::{self as units_store, NewUnit};
use crate::db::users::{self as users_store, NewUser};
use crate::db::{self, DbConnection};
use crate::domain::{Basis, ItemResult, StationStatus, UnitKind, VisitKind};
use crate::error::AppError;

pub const SEED_NAME: &str = "baishan-2017";
pub const STANDARD: &str = "baxiangyi-common";

/// (code, name, kind, 2017 target, built before 2017, built in 2017 up to 14 July)
pub const UNITS: &[(&str, &str, UnitKind, i32, usize, usize)] = &[
    ("220602", "浑江区", UnitKind::District, 70, 28, 12),
    ("220605", "江源区", UnitKind::District, 40, 13, 5),
    ("220621", "抚松县", UnitKind::County, 55, 20, 10),
    ("220622", "靖宇县", UnitKind::County, 35, 10, 4),
    ("220623", "长白朝鲜族自治县", UnitKind::County, 30, 11, 6),
    ("220681", "临江市", UnitKind::CountyCity, 50, 15, 6),
    ("220600-ZS", "市局直属消保分局", UnitKind::Branch, 50, 7, 17),
];

/// Each unit's county lead (消保科), the circular's recipient, by position
/// in [`UNITS`]: (username, name, email).
pub const LEADS: &[(&str, &str, &str)] = &[
    ("lead-hunjiang", "浑江区局消保科", "hunjiang@baishan.example"),
    ("lead-jiangyuan", "江源区局消保科", "jiangyuan@baishan.example"),
    ("lead-fusong", "抚松县局消保科", "fusong@baishan.example"),
    ("lead-jingyu", "靖宇县局消保科", "jingyu@baishan.example"),
    ("lead-changbai", "长白县局消保科", "changbai@baishan.example"),
    ("lead-linjiang", "临江市局消保科", "linjiang@baishan.example"),
    ("lead-zhishu", "市局直属消保分局", "zhishu@baishan.example"),
];

/// Stations still planned for 2017 per unit, and revoked ones per unit.
const PLANNED_PER_UNIT: usize = 2;
const REVOKED_UNITS: &[usize] = &[0, 3];

const SURNAMES: &[&str] = &["王", "李", "张", "刘", "陈", "杨", "赵", "黄", "周", "吴", "徐", "孙"];
const GIVEN: &[&str] = &[
    "晓伟", "丽华", "建国", "海燕", "志强", "秀英", "明", "春梅", "德胜", "玉兰", "国庆", "红",
];

/// Whether the demo set has been loaded into this database.
pub fn loaded(conn: &mut DbConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        seed_runs::table.filter(seed_runs::name.eq(SEED_NAME)),
    ))
    .get_result(conn)
}

#[derive(Debug, PartialEq, Eq, serde::Serialize)]
pub struct Loaded {
    pub units: usize,
    pub stations: usize,
    pub visits: usize,
    pub already_loaded: bool,
}

fn date(y: i32, m: u32, d: u32) -> Result<NaiveDate, AppError> {
    NaiveDate::from_ymd_opt(y, m, d)
        .ok_or_else(|| AppError::internal("demo date", anyhow::anyhow!("invalid date {y}-{m}-{d}")))
}

/// Loads the demo set unless it is there already. One transaction; the
/// history goes through the same use cases as the API (acceptance visits
/// establish stations, failing visits raise guidance and put stations under
/// rectification, follow-ups resolve it).
pub fn load(conn: &mut DbConnection, ctx: &Ctx) -> Result<Loaded, AppError> {
    db::write_tx(conn, |conn| {
        if loaded(conn)? {
            return Ok(Loaded {
                units: 0,
                stations: 0,
                visits: 0,
                already_loaded: true,
            });
        }
        let now = db::now();
        let system = Principal::system("demo");
        let mut counts = Counts::default();
        for u in 0..UNITS.len() {
            load_unit(conn, ctx, &system, u, &mut counts)?;
        }
        let disputes = super::demo_disputes::load(conn, ctx, &system, hosts::MODEL_HOST)?;
        tracing::info!(disputes, "demo dispute ledger recorded");
        diesel::insert_into(seed_runs::table)
            .values((seed_runs::name.eq(SEED_NAME), seed_runs::loaded_at.eq(now)))
            .execute(conn)?;
        let (stations, visits) = (counts.stations, counts.visits);
        let summary = serde_json::json!({ "units": UNITS.len(), "stations": stations, "visits": visits });
        audit::record(conn, &system, "demo.load", "seed", SEED_NAME, None, Some(summary))?;
        tracing::info!(units = UNITS.len(), stations, visits, "Baishan demo data loaded");
        Ok(Loaded {
            units: UNITS.len(),
            stations,
            visits,
            already_loaded: false,
        })
    })
}

/// What has been loaded so far; `n` numbers the stations and drives every
/// choice, so the data set is the same on every load.
#[derive(Default)]
struct Counts {
    n: usize,
    stations: usize,
    visits: usize,
}

/// One unit: the unit, its plans, its county lead and its stations.
fn load_unit(
    conn: &mut DbConnection,
    ctx: &Ctx,
    system: &Principal,
    u: usize,
    counts: &mut Counts,
) -> Result<(), AppError> {
    let (code, name, kind, target, before, this_year) = UNITS[u];
    if units_store::code_taken(conn, code)? {
        return Err(AppError::conflict(format!(
            "单位代码 {code} 已存在，演示数据只能载入空数据库"
        )));
    }
    let now = db::now();
    let unit = units_store::insert(
        conn,
        &NewUnit {
            code,
            name,
            kind,
            created_at: now,
        },
    )?;
    // The 2017 plan counts stations standing at the year end (330 in
    // all, as in the article); 2016's counted new stations.
    units_store::set_plan(conn, unit.id, 2017, target, Basis::Total, now)?;
    units_store::set_plan(conn, unit.id, 2016, target / 3, Basis::New, now)?;
    let (username, lead, email) = LEADS[u];
    let new_lead = NewUser {
        username,
        display_name: lead,
        email: Some(email),
        role: Role::CountyLead,
        password_hash: "",
        active: true,
        failed_logins: 0,
        created_at: now,
        updated_at: now,
    };
    users_store::insert(conn, &new_lead, &[unit.id])?;
    let revoked = usize::from(REVOKED_UNITS.contains(&u));
    for k in 0..before + this_year + PLANNED_PER_UNIT + revoked {
        counts.n += 1;
        let plan = plan_for(k, before, this_year)?;
        let model = kind == UnitKind::Branch && k == 0;
        let fields = station_fields(unit.id, u, k, counts.n, model);
        let station = store::insert(conn, &fields, StationStatus::Planned, now)?;
        counts.stations += 1;
        let mut history = History {
            p: system,
            conn,
            ctx,
            station: station.id,
            n: counts.n,
            visits: &mut counts.visits,
        };
        history.play(plan, k, u, model)?;
    }
    Ok(())
}

/// When the k-th station of a unit was built (or that it is planned, or
/// revoked).
fn plan_for(k: usize, before: usize, this_year: usize) -> Result<Plan, AppError> {
    Ok(if k < before {
        // 2014-03 .. 2016-12, spread over the months
        let y = 2014 + (k % 3) as i32;
        Plan::Built(date(y, 1 + (k * 5 % 12) as u32, 1 + (k * 11 % 28) as u32)?)
    } else if k < before + this_year {
        let j = k - before;
        Plan::Built(date(2017, 1 + (j % 6) as u32, 3 + (j * 7 % 25) as u32)?)
    } else if k < before + this_year + PLANNED_PER_UNIT {
        Plan::Planned {
            failed_acceptance: k == before + this_year,
        }
    } else {
        Plan::Revoked
    })
}

/// The registry fields of the n-th demo station (the k-th of unit index `u`).
fn station_fields(unit_id: i32, u: usize, k: usize, n: usize, model: bool) -> StationFields {
    let (code, name, kind, ..) = UNITS[u];
    let short = name
        .trim_end_matches("朝鲜族自治县")
        .trim_end_matches(['区', '县', '市']);
    let place = (kind != UnitKind::Branch).then_some(short);
    let host = hosts::host(place, k, n, u, model);
    StationFields {
        unit_id,
        name: format!("{}12315消费维权服务站", host.name),
        credit_code: hosts::credit(code, n, host.sole_trader),
        host_business: host.name,
        category: host.category,
        address: hosts::address(n),
        liaison_name: format!("{}{}", SURNAMES[n % SURNAMES.len()], GIVEN[(n * 5) % GIVEN.len()]),
        liaison_phone: format!("139{:08}", 43_900_000 + n * 37),
        standard_id: STANDARD.to_owned(),
        established_on: None,
        liaison_email: None,
    }
}

enum Plan {
    Built(NaiveDate),
    Planned { failed_acceptance: bool },
    Revoked,
}

const INSPECTORS: &[&str] = &["吴晓伟", "孙立新", "赵春雨", "高明远"];

/// Records one station's history through the use cases.
struct History<'a> {
    p: &'a Principal,
    conn: &'a mut DbConnection,
    ctx: &'a Ctx,
    station: i32,
    n: usize,
    visits: &'a mut usize,
}

impl History<'_> {
    /// The station's life up to mid-July 2017, as planned.
    fn play(&mut self, plan: Plan, k: usize, u: usize, model: bool) -> Result<(), AppError> {
        match plan {
            Plan::Planned { failed_acceptance } => {
                if failed_acceptance {
                    let failures = [("bulletin", ItemResult::Unmet), ("rules", ItemResult::Partial)];
                    self.visit(VisitKind::Acceptance, date(2017, 7, 5)?, &failures)?;
                }
            }
            Plan::Revoked => {
                self.visit(VisitKind::Acceptance, date(2015, 6, 1 + u as u32)?, &[])?;
                self.status(StationStatus::Revoked, "经营者停业，撤销命名并摘牌", date(2016, 9, 30)?)?;
            }
            Plan::Built(on) => self.built(on, k, model)?,
        }
        Ok(())
    }

    /// A built station: accepted (some at the second attempt), then routine
    /// visits, some finding shortfalls left open or fixed by a follow-up.
    fn built(&mut self, on: NaiveDate, k: usize, model: bool) -> Result<(), AppError> {
        if k % 11 == 2 {
            // failed first, accepted at the second attempt
            let first = on - Days::new(20);
            self.visit(VisitKind::Acceptance, first, &[("register", ItemResult::Unmet)])?;
        }
        self.visit(VisitKind::Acceptance, on, &[])?;
        if model {
            self.status(
                StationStatus::Model,
                "八个一标准落实到位，确定为全市样板站",
                date(2016, 12, 6)?,
            )?;
        }
        let may = date(2017, 5, 10)?;
        if k % 9 == 4 && on < may {
            self.visit(VisitKind::Routine, may, &[])?;
        }
        if model {
            self.visit(VisitKind::Routine, date(2017, 6, 15)?, &[])?;
        } else if k % 17 == 5 {
            // 回访指导: two shortfalls, left open
            let june = date(2017, 6, 20)?;
            let when = if on < june { june } else { date(2017, 7, 8)? };
            let failures = [("register", ItemResult::Unmet), ("bulletin", ItemResult::Partial)];
            self.visit(VisitKind::Routine, when, &failures)?;
        } else if k % 13 == 7 && on < date(2017, 5, 1)? {
            // a shortfall found and fixed by the follow-up
            self.visit(
                VisitKind::Routine,
                date(2017, 5, 12)?,
                &[("phone", ItemResult::Partial)],
            )?;
            self.visit(VisitKind::FollowUp, date(2017, 5, 26)?, &[])?;
        }
        Ok(())
    }

    /// A visit where every item is met except `failures`; the optional
    /// computer is not applicable at every fourth station.
    fn visit(&mut self, kind: VisitKind, on: NaiveDate, failures: &[(&str, ItemResult)]) -> Result<(), AppError> {
        let standard = self
            .ctx
            .standards
            .latest(STANDARD)
            .ok_or_else(|| AppError::internal("demo", anyhow::anyhow!("checklist {STANDARD} missing")))?;
        let items = standard
            .items
            .iter()
            .map(|item| {
                let failed = failures.iter().find(|(c, _)| *c == item.code).map(|(_, r)| *r);
                let result = match failed {
                    Some(r) => r,
                    None if item.optional && self.n.is_multiple_of(4) => ItemResult::NotApplicable,
                    None => ItemResult::Met,
                };
                ItemInput {
                    code: Some(item.code.clone()),
                    result: Some(result.as_str().to_owned()),
                    note: result.is_failing().then(|| format!("{}未达到要求", item.title_zh)),
                    ..ItemInput::default()
                }
            })
            .collect();
        let input = VisitInput {
            kind: Some(kind.as_str().to_owned()),
            visited_on: Some(on),
            inspector: Some(INSPECTORS[(self.n + *self.visits) % INSPECTORS.len()].to_owned()),
            summary: Some(if failures.is_empty() {
                "八个一各项落实到位".to_owned()
            } else {
                "发现问题已当场反馈经营者，限期整改".to_owned()
            }),
            items: Some(items),
            ..VisitInput::default()
        };
        visits::record(self.conn, self.ctx, self.p, self.station, input)?;
        *self.visits += 1;
        Ok(())
    }

    fn status(&mut self, to: StationStatus, reason: &str, on: NaiveDate) -> Result<(), AppError> {
        let input = StatusInput {
            status: Some(to.as_str().to_owned()),
            reason: Some(reason.to_owned()),
            effective_on: Some(on),
            version: None,
        };
        stations::change_status(self.conn, self.ctx, self.p, self.station, input)?;
        Ok(())
    }
}

/// The demo's sign-in accounts, one per role: (username, role, units by
/// position in [`UNITS`]).
pub const ACCOUNTS: &[(&str, &str, Role, &[usize])] = &[
    ("admin", "市局管理员", Role::Admin, &[]),
    ("inspector", "吴晓伟", Role::Inspector, &[0, 1]),
    ("lead-linjiang", "临江市局消保科", Role::CountyLead, &[5]),
    ("viewer", "市局只读用户", Role::Viewer, &[]),
    // The model station's own account (Baishan Telecom), for its ledger.
    ("station-telecom", "白山电信消费维权服务站", Role::Station, &[]),
];

/// Gives every demo account a fresh random password (creating the
/// accounts the first time) and returns them, to be printed at start-up in
/// demo mode only. Nothing else ever shows a password.
pub fn reset_demo_passwords(conn: &mut DbConnection) -> Result<Vec<(String, Role, String)>, AppError> {
    let mut out = Vec::new();
    for (username, name, role, units) in ACCOUNTS {
        let password = auth::new_secret("")?.chars().take(16).collect::<String>();
        let hash = auth::hash_password(&password)?;
        db::write_tx(conn, |conn| {
            let unit_ids: Vec<i32> = units_store::list(conn)?
                .into_iter()
                .filter(|u| units.iter().any(|i| UNITS.get(*i).is_some_and(|d| d.0 == u.code)))
                .map(|u| u.id)
                .collect();
            let now = db::now();
            let user = match users_store::by_username(conn, username)? {
                Some(u) => u,
                None => users_store::insert(
                    conn,
                    &NewUser {
                        username,
                        display_name: name,
                        email: None,
                        role: *role,
                        password_hash: "",
                        active: true,
                        failed_logins: 0,
                        created_at: now,
                        updated_at: now,
                    },
                    &unit_ids,
                )?,
            };
            if *role == Role::Station {
                let model = crate::db::disputes::built_before(conn, date(2017, 1, 1)?)?
                    .into_iter()
                    .find(|(_, name)| name.starts_with(hosts::MODEL_HOST));
                crate::db::disputes::bind_account(conn, user.id, model.map(|(id, _)| id))?;
            }
            users_store::set_password(conn, user.id, &hash, now)?;
            audit::record(
                conn,
                &Principal::system("demo"),
                "user.password",
                "user",
                user.id,
                None,
                None,
            )?;
            Ok::<_, AppError>(())
        })?;
        out.push(((*username).to_owned(), *role, password));
    }
    Ok(out)
}
