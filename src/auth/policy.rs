//! The one place that decides who may do what.
//!
//! - admin (the city bureau): everything, city-wide;
//! - inspector: read and record visits (with evidence) in assigned units,
//!   and correct a station's contact details there (address, liaison);
//! - county_lead: read everything of one unit, acknowledge its shortfalls;
//! - viewer: read only, city-wide or in its units.
//!
//! Reading outside one's units is 403; lists are filtered to the units a
//! principal may read, so nothing of other units leaks, not even counts.
//!
//! Circulars (通报) are the exception, by decision: a circular and its
//! city-wide table are a document the bureau sends to every unit, so every
//! signed-in user may read them (see [`can_read_circular`]). The per-unit
//! renditions (the copy sent to one unit, its row highlighted, its own
//! subject) are that unit's mail: only readers of that unit and city-wide
//! readers see them ([`can_read_rendition`]).

use super::{Principal, Role};
use crate::domain::station::{STATION_FIELDS, station_field};
use crate::error::AppError;

/// What a principal may read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    City,
    Units(Vec<i32>),
}

impl Scope {
    pub fn contains(&self, unit: i32) -> bool {
        match self {
            Scope::City => true,
            Scope::Units(u) => u.contains(&unit),
        }
    }

    /// The unit filter for a list query: None = all units.
    pub fn units(&self) -> Option<&[i32]> {
        match self {
            Scope::City => None,
            Scope::Units(u) => Some(u),
        }
    }
}

/// Actions reserved to the city bureau.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admin {
    ManageUnits,
    ManagePlans,
    ManageStations,
    VoidVisit,
    Circulars,
    ManageUsers,
    ReadAudit,
    /// Seeing a consumer's name and phone in full, with a stated reason.
    RevealPersonal,
}

fn forbidden(what: &str) -> AppError {
    AppError::Forbidden(format!("无权{what}"))
}

pub fn read_scope(p: &Principal) -> Scope {
    match (p.role, p.units.is_empty()) {
        (Role::Admin, _) | (Role::Viewer, true) => Scope::City,
        _ => Scope::Units(p.units.clone()),
    }
}

pub fn require_admin(p: &Principal, action: Admin) -> Result<(), AppError> {
    if p.role == Role::Admin {
        return Ok(());
    }
    let what = match action {
        Admin::ManageUnits => "管理单位",
        Admin::ManagePlans => "下达计划",
        Admin::ManageStations => "管理服务站名录",
        Admin::VoidVisit => "作废检查记录",
        Admin::Circulars => "印发或管理通报",
        Admin::ManageUsers => "管理用户",
        Admin::ReadAudit => "查看审计日志",
        Admin::RevealPersonal => "查看完整的消费者个人信息",
    };
    Err(forbidden(what))
}

pub fn can_read_unit(p: &Principal, unit: i32) -> Result<(), AppError> {
    if read_scope(p).contains(unit) {
        Ok(())
    } else {
        Err(forbidden("查看其他单位的数据"))
    }
}

/// Reading a circular and its city-wide table: every signed-in user (it is
/// sent to every unit).
pub fn can_read_circular(_p: &Principal) -> Result<(), AppError> {
    Ok(())
}

/// Reading the rendition of a circular sent to `unit` (None: the plain
/// copy for the city's copy list, which every reader of the circular may
/// read).
pub fn can_read_rendition(p: &Principal, unit: Option<i32>) -> bool {
    unit.is_none_or(|u| read_scope(p).contains(u))
}

/// Recording a visit or attaching evidence at a station of `unit`.
pub fn can_record_visit(p: &Principal, unit: i32) -> Result<(), AppError> {
    match p.role {
        Role::Admin => Ok(()),
        Role::Inspector if p.units.contains(&unit) => Ok(()),
        Role::Inspector => Err(forbidden("在未分配的单位记录检查")),
        _ => Err(forbidden("记录检查")),
    }
}

/// What a principal may change of a station of one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StationEditMode {
    /// Every field (the bureau).
    Full,
    /// What a visit finds changed: the fields marked `inspector_may_edit`
    /// in [`STATION_FIELDS`] (an inspector of the unit).
    ContactOnly,
    /// Nothing.
    None,
}

impl StationEditMode {
    /// Whether a field may be changed in this mode.
    pub fn allows(self, field: &str) -> bool {
        match self {
            StationEditMode::Full => true,
            StationEditMode::ContactOnly => station_field(field).is_some_and(|f| f.inspector_may_edit),
            StationEditMode::None => false,
        }
    }
}

/// What `p` may change of a station of `unit`.
pub fn station_edit_mode(p: &Principal, unit: i32) -> StationEditMode {
    match p.role {
        Role::Admin => StationEditMode::Full,
        Role::Inspector if p.units.contains(&unit) => StationEditMode::ContactOnly,
        _ => StationEditMode::None,
    }
}

/// Whether `p` may edit stations at all: checked before a station is read,
/// so that other roles are refused before anything else is said.
pub fn may_edit_stations(p: &Principal) -> Result<(), AppError> {
    match p.role {
        Role::Admin | Role::Inspector => Ok(()),
        _ => require_admin(p, Admin::ManageStations),
    }
}

/// Editing a station of `unit` whose changed fields are `fields`: the
/// bureau any field, an inspector of the unit only its contact details.
pub fn can_edit_station(p: &Principal, unit: i32, fields: &[&str]) -> Result<(), AppError> {
    let mode = station_edit_mode(p, unit);
    match (mode, p.role) {
        (StationEditMode::None, Role::Inspector) => return Err(forbidden("修改未分配单位的服务站")),
        (StationEditMode::None, _) => return Err(forbidden("修改服务站信息")),
        _ => {}
    }
    let others: Vec<&str> = fields.iter().copied().filter(|f| !mode.allows(f)).collect();
    if others.is_empty() {
        return Ok(());
    }
    let allowed: Vec<&str> = STATION_FIELDS
        .iter()
        .filter(|f| f.inspector_may_edit)
        .map(|f| f.label_zh)
        .collect();
    Err(AppError::Forbidden(format!(
        "检查员只能更正{}；无权修改：{}",
        allowed.join("、"),
        others.join("、")
    )))
}

/// What the navigation offers a principal: the bureau's pages, the visit
/// form, the county lead's review queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Menus {
    pub bureau: bool,
    pub inspection: bool,
    pub review: bool,
}

pub fn menus(p: &Principal) -> Menus {
    Menus {
        bureau: p.role == Role::Admin,
        inspection: matches!(p.role, Role::Admin | Role::Inspector),
        review: p.role == Role::CountyLead,
    }
}

/// Reading a unit's review queue: county leads (their own), the bureau and
/// viewers; inspectors and station accounts have none.
pub fn can_read_review(p: &Principal) -> Result<(), AppError> {
    match p.role {
        Role::CountyLead | Role::Admin | Role::Viewer => Ok(()),
        Role::Inspector | Role::Station => Err(forbidden("查看待确认问题（仅限县级负责人和市局）")),
    }
}

/// Acknowledging a shortfall of `unit`: its county lead.
pub fn can_acknowledge(p: &Principal, unit: i32) -> Result<(), AppError> {
    match p.role {
        Role::CountyLead if p.units.contains(&unit) => Ok(()),
        Role::CountyLead => Err(forbidden("确认其他单位的问题")),
        _ => Err(forbidden("确认问题（仅限县级负责人）")),
    }
}

// --- The dispute ledger (台账) -------------------------------------------
//
// A station account (role `station`) reads and writes its own station's
// cases and nothing else: its read scope above is empty, so every other
// list is empty and every other record 403. Consumers' names and phones
// are personal information: in full only for the station itself and the
// staff of its unit (its inspectors and county lead); masked for everyone
// else, the bureau included, which may reveal one case with a reason.

/// Reading station `station_id` of `unit` and what concerns it alone (its
/// visits, guidance, evidence, ledger): a station account its own station
/// only; everyone else by unit.
pub fn can_read_station(p: &Principal, station_id: i32, unit: i32) -> Result<(), AppError> {
    match p.role {
        Role::Station if p.station == Some(station_id) => Ok(()),
        Role::Station => Err(forbidden("查看其他服务站")),
        _ => can_read_unit(p, unit),
    }
}

/// Reading the cases of station `station_id` of `unit`.
pub fn can_read_disputes(p: &Principal, station_id: i32, unit: i32) -> Result<(), AppError> {
    can_read_station(p, station_id, unit)
}

/// Recording or changing a case of station `station_id`: the station
/// itself, or the bureau.
pub fn can_record_dispute(p: &Principal, station_id: i32) -> Result<(), AppError> {
    match p.role {
        Role::Station if p.station == Some(station_id) => Ok(()),
        Role::Station => Err(forbidden("登记其他服务站的投诉")),
        Role::Admin => Ok(()),
        _ => Err(forbidden("登记投诉（仅限服务站本站及市局）")),
    }
}

/// Dispatching a 12315 case to a station of `unit`: the bureau, or the
/// unit's county lead.
pub fn can_dispatch(p: &Principal, unit: i32) -> Result<(), AppError> {
    match p.role {
        Role::Admin => Ok(()),
        Role::CountyLead if p.units.contains(&unit) => Ok(()),
        Role::CountyLead => Err(forbidden("向其他单位的服务站派单")),
        _ => Err(forbidden("派单（仅限市局及县级负责人）")),
    }
}

/// Whether `p` sees consumers' names and phones of station `station_id`
/// of `unit` in full.
pub fn sees_personal_info(p: &Principal, station_id: i32, unit: i32) -> bool {
    match p.role {
        Role::Station => p.station == Some(station_id),
        Role::Inspector | Role::CountyLead => p.units.contains(&unit),
        Role::Admin | Role::Viewer => false,
    }
}

/// The one station a station account is limited to (None for others).
pub fn own_station(p: &Principal) -> Result<Option<i32>, AppError> {
    match (p.role, p.station) {
        (Role::Station, Some(s)) => Ok(Some(s)),
        (Role::Station, None) => Err(forbidden("访问（服务站账号尚未绑定服务站）")),
        _ => Ok(None),
    }
}

/// The shape of a user's unit list for their role.
pub fn check_units_for_role(role: Role, units: &[i32]) -> Result<(), &'static str> {
    match (role, units.len()) {
        (Role::Admin, 0) => Ok(()),
        (Role::Admin, _) => Err("管理员不限定单位"),
        (Role::Inspector, 0) => Err("检查员至少分配一个单位"),
        (Role::CountyLead, 1) => Ok(()),
        (Role::CountyLead, _) => Err("县级负责人须且只能属于一个单位"),
        (Role::Viewer, 0 | 1) | (Role::Inspector, _) | (Role::Station, 0) => Ok(()),
        (Role::Viewer, _) => Err("只读用户为全市或一个单位"),
        (Role::Station, _) => Err("服务站账号不分配单位，只绑定一个服务站"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Via;

    fn p(role: Role, units: &[i32]) -> Principal {
        Principal {
            user_id: Some(1),
            username: "u".into(),
            role,
            units: units.to_vec(),
            station: None,
            via: Via::Token,
        }
    }

    #[test]
    fn roles_and_scopes() {
        let admin = p(Role::Admin, &[]);
        let inspector = p(Role::Inspector, &[1, 2]);
        let lead = p(Role::CountyLead, &[6]);
        let city_viewer = p(Role::Viewer, &[]);
        let unit_viewer = p(Role::Viewer, &[3]);
        assert_eq!(read_scope(&admin), Scope::City);
        assert_eq!(read_scope(&city_viewer), Scope::City);
        assert_eq!(read_scope(&unit_viewer), Scope::Units(vec![3]));
        assert!(can_read_unit(&lead, 6).is_ok() && can_read_unit(&lead, 3).is_err());
        assert!(can_record_visit(&inspector, 2).is_ok());
        assert!(can_record_visit(&inspector, 6).is_err());
        assert!(can_record_visit(&lead, 6).is_err(), "a lead reads, does not inspect");
        assert!(can_record_visit(&city_viewer, 1).is_err());
        assert!(can_acknowledge(&lead, 6).is_ok() && can_acknowledge(&lead, 1).is_err());
        assert!(can_acknowledge(&admin, 6).is_err(), "acknowledging is the lead's");
        for action in [Admin::VoidVisit, Admin::Circulars, Admin::ManageUsers, Admin::ReadAudit] {
            assert!(require_admin(&admin, action).is_ok());
            for other in [&inspector, &lead, &city_viewer] {
                assert!(require_admin(other, action).is_err());
            }
        }
        assert!(can_edit_station(&admin, 6, &["unit_id", "name"]).is_ok());
        assert!(can_edit_station(&inspector, 2, &["address", "liaison_phone"]).is_ok());
        assert!(can_edit_station(&inspector, 6, &["address"]).is_err(), "not their unit");
        assert!(can_edit_station(&lead, 6, &["address"]).is_err());
        assert!(may_edit_stations(&inspector).is_ok() && may_edit_stations(&lead).is_err());
        match can_edit_station(&inspector, 1, &["liaison_name", "standard_id"]) {
            Err(AppError::Forbidden(m)) => assert!(m.contains("standard_id") && !m.contains("liaison_name"), "{m}"),
            other => panic!("{other:?}"),
        }
        assert!(check_units_for_role(Role::CountyLead, &[1, 2]).is_err());
        assert!(check_units_for_role(Role::Inspector, &[]).is_err());
        assert!(check_units_for_role(Role::Viewer, &[]).is_ok());
    }

    #[test]
    fn station_accounts_and_personal_information() {
        let mut own = p(Role::Station, &[]);
        own.station = Some(7);
        let lead = p(Role::CountyLead, &[2]);
        let inspector = p(Role::Inspector, &[2]);
        let admin = p(Role::Admin, &[]);
        let city_viewer = p(Role::Viewer, &[]);
        assert_eq!(
            read_scope(&own),
            Scope::Units(vec![]),
            "reads nothing beyond its ledger"
        );
        assert!(can_read_disputes(&own, 7, 2).is_ok() && can_read_disputes(&own, 8, 2).is_err());
        assert!(can_read_station(&own, 7, 2).is_ok() && can_read_station(&own, 8, 2).is_err());
        assert!(can_read_unit(&own, 2).is_err(), "not the rest of its unit");
        assert!(can_record_dispute(&own, 7).is_ok() && can_record_dispute(&own, 8).is_err());
        assert!(can_record_dispute(&lead, 7).is_err() && can_record_dispute(&admin, 7).is_ok());
        assert!(can_dispatch(&lead, 2).is_ok() && can_dispatch(&lead, 3).is_err());
        assert!(can_dispatch(&own, 2).is_err() && can_dispatch(&inspector, 2).is_err());
        assert!(sees_personal_info(&own, 7, 2) && !sees_personal_info(&own, 8, 2));
        assert!(sees_personal_info(&lead, 7, 2) && sees_personal_info(&inspector, 7, 2));
        assert!(!sees_personal_info(&lead, 9, 3));
        assert!(!sees_personal_info(&admin, 7, 2) && !sees_personal_info(&city_viewer, 7, 2));
        assert!(require_admin(&admin, Admin::RevealPersonal).is_ok());
        assert!(require_admin(&lead, Admin::RevealPersonal).is_err());
        assert!(check_units_for_role(Role::Station, &[]).is_ok());
        assert!(check_units_for_role(Role::Station, &[1]).is_err());
    }
}
