//! Use cases of the station registry (名录).

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};
use validator::Validate;

use super::audit::{self, snapshot};
use super::{Ctx, Page, clean, int_param, paging, query_param};
use crate::auth::Principal;
use crate::auth::policy::{self, Admin};
pub use crate::db::stations::Station;
use crate::db::stations::{self as store, Filter, StationFields, StatusChange};
use crate::db::units::{self as units_store, Unit};
use crate::db::{self, DbConnection};
use crate::domain::{Category, StationStatus, credit_code, station::valid_phone};
use crate::error::{AppError, FieldErrors};

/// A station as sent by the client on create (every field optional here so
/// that a missing one is reported by name, with all other problems).
#[derive(Debug, Default, Clone, Deserialize, Validate, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StationInput {
    #[schema(minimum = 1)]
    pub unit_id: Option<i32>,
    #[validate(length(max = 100, message = "服务站名称不超过100个字符"))]
    pub name: Option<String>,
    #[validate(length(max = 200, message = "经营者名称不超过200个字符"))]
    pub host_business: Option<String>,
    /// Unified social credit code (GB 32100, 18 characters with a check character).
    #[schema(pattern = "^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")]
    pub credit_code: Option<String>,
    #[schema(value_type = Option<Category>)]
    pub category: Option<String>,
    #[validate(length(max = 300, message = "地址不超过300个字符"))]
    pub address: Option<String>,
    #[validate(length(max = 50, message = "联络员姓名不超过50个字符"))]
    pub liaison_name: Option<String>,
    #[validate(length(max = 32, message = "联络电话不超过32个字符"))]
    /// Landline (0439-1234567, optionally 转 extension) or mobile number.
    #[schema(pattern = "^[0-9 -]{5,20}(转[0-9]{1,6})?$")]
    pub liaison_phone: Option<String>,
    pub standard_id: Option<String>,
    /// `planned` (the default) or, with `established_on`, `established`.
    #[schema(value_type = Option<StationStatus>)]
    pub status: Option<String>,
    pub established_on: Option<NaiveDate>,
}

/// A partial update; `version` is the version the client read.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StationPatch {
    pub version: Option<i32>,
    pub unit_id: Option<i32>,
    pub name: Option<String>,
    pub host_business: Option<String>,
    #[serde(deserialize_with = "present")]
    pub credit_code: Option<Option<String>>,
    pub category: Option<String>,
    pub address: Option<String>,
    pub liaison_name: Option<String>,
    pub liaison_phone: Option<String>,
    pub standard_id: Option<String>,
    pub established_on: Option<NaiveDate>,
    /// Not editable here: named only to say where status changes go.
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub status: Option<serde::de::IgnoredAny>,
}

impl StationPatch {
    /// The names of the fields this patch sets (besides `version`).
    pub fn fields(&self) -> Vec<&'static str> {
        [
            ("unit_id", self.unit_id.is_some()),
            ("name", self.name.is_some()),
            ("host_business", self.host_business.is_some()),
            ("credit_code", self.credit_code.is_some()),
            ("category", self.category.is_some()),
            ("address", self.address.is_some()),
            ("liaison_name", self.liaison_name.is_some()),
            ("liaison_phone", self.liaison_phone.is_some()),
            ("standard_id", self.standard_id.is_some()),
            ("established_on", self.established_on.is_some()),
        ]
        .into_iter()
        .filter_map(|(name, set)| set.then_some(name))
        .collect()
    }
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StationDetail {
    #[serde(flatten)]
    pub station: Station,
    pub unit: Unit,
    pub status_history: Vec<StatusChange>,
}

/// Checks a whole station; returns the fields to store and the status.
fn check(ctx: &Ctx, input: StationInput, on_create: bool) -> Result<(StationFields, StationStatus), AppError> {
    let mut errors = FieldErrors::new();
    if let Err(e) = input.validate() {
        errors.absorb(e);
    }
    let mut required = |field: &str, value: Option<String>, label: &str| {
        let v = clean(value);
        if v.is_none() {
            errors.add(field, format!("{label}不能为空"));
        }
        v.unwrap_or_default()
    };
    let name = required("name", input.name, "服务站名称");
    let host_business = required("host_business", input.host_business, "经营者名称");
    let address = required("address", input.address, "地址");
    let liaison_name = required("liaison_name", input.liaison_name, "联络员姓名");
    let liaison_phone = required("liaison_phone", input.liaison_phone, "联络电话");
    let category = required("category", input.category, "类别");
    let standard_id = required("standard_id", input.standard_id, "检查标准");

    if input.unit_id.is_none() {
        errors.add("unit_id", "所属单位不能为空");
    }
    let credit_code = match clean(input.credit_code) {
        None => None,
        Some(c) => match credit_code::normalize(&c) {
            Ok(c) => Some(c),
            Err(e) => {
                errors.add("credit_code", e.message_zh());
                None
            }
        },
    };
    let category_value = Category::parse(&category);
    if !category.is_empty() && category_value.is_none() {
        errors.add("category", format!("未知的类别，可选：{}", Category::expected()));
    }
    if !liaison_phone.is_empty() && !valid_phone(&liaison_phone) {
        errors.add("liaison_phone", "联络电话应为11位手机号或带区号的固定电话");
    }
    if !standard_id.is_empty() && ctx.standards.latest(&standard_id).is_none() {
        let known: Vec<_> = ctx.standards.latest_all().iter().map(|s| s.id.clone()).collect();
        errors.add("standard_id", format!("未知的检查标准，可选：{}", known.join(", ")));
    }
    let status = match clean(input.status).as_deref().map(StationStatus::parse) {
        None => Some(StationStatus::Planned),
        Some(None) => {
            errors.add("status", format!("未知的状态，可选：{}", StationStatus::expected()));
            None
        }
        Some(Some(StationStatus::Revoked)) if on_create => {
            errors.add("status", "不能登记已撤销的服务站");
            None
        }
        Some(s) => s,
    };
    if let Some(status) = status {
        match (status.is_built(), input.established_on) {
            (true, None) => errors.add("established_on", "已建成的服务站须填写建站日期"),
            (false, Some(_)) if status == StationStatus::Planned => {
                errors.add("established_on", "计划建设的服务站不能填写建站日期")
            }
            (_, Some(d)) if d > ctx.today() => errors.add("established_on", "建站日期不能晚于今天"),
            _ => {}
        }
    }
    errors.into_result()?;
    let (Some(unit_id), Some(status), Some(category)) = (input.unit_id, status, category_value) else {
        return Err(AppError::internal(
            "station validation",
            anyhow::anyhow!("checked fields missing"),
        ));
    };
    let fields = StationFields {
        unit_id,
        name,
        host_business,
        credit_code,
        category,
        address,
        liaison_name,
        liaison_phone,
        standard_id,
        established_on: input.established_on,
    };
    Ok((fields, status))
}

fn unit_must_exist(conn: &mut DbConnection, unit_id: i32) -> Result<Unit, AppError> {
    units_store::get(conn, unit_id)?.ok_or_else(|| FieldErrors::single("unit_id", format!("单位 {unit_id} 不存在")))
}

fn detail(conn: &mut DbConnection, station: Station) -> Result<StationDetail, AppError> {
    let unit = unit_must_exist(conn, station.unit_id)?;
    let status_history = store::status_history(conn, station.id)?;
    Ok(StationDetail {
        station,
        unit,
        status_history,
    })
}

pub fn create(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    input: StationInput,
) -> Result<StationDetail, AppError> {
    policy::require_admin(p, Admin::ManageStations)?;
    let (fields, status) = check(ctx, input, true)?;
    db::write_tx(conn, |conn| {
        unit_must_exist(conn, fields.unit_id)?;
        let station = store::insert(conn, &fields, status, db::now())?;
        tracing::info!(station_id = station.id, unit_id = station.unit_id, "station created");
        audit::record(
            conn,
            p,
            "station.create",
            "station",
            station.id,
            None,
            snapshot(&station),
        )?;
        detail(conn, station)
    })
}

pub fn get(conn: &mut DbConnection, p: &Principal, id: i32) -> Result<StationDetail, AppError> {
    let station = store::get(conn, id)?.ok_or_else(|| not_found(id))?;
    policy::can_read_unit(p, station.unit_id)?;
    detail(conn, station)
}

fn not_found(id: i32) -> AppError {
    AppError::NotFound(format!("服务站 {id} 不存在"))
}

fn stale(current: &Station) -> AppError {
    AppError::Conflict {
        message: format!("服务站已被他人修改（当前版本 {}），请刷新后重试", current.version),
        current: serde_json::to_value(current).ok(),
    }
}

pub fn update(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    id: i32,
    patch: StationPatch,
) -> Result<StationDetail, AppError> {
    policy::may_edit_stations(p)?;
    let Some(version) = patch.version else {
        return Err(FieldErrors::single("version", "须提供读取时的版本号 version"));
    };
    if patch.status.is_some() {
        return Err(FieldErrors::single(
            "status",
            "状态不能在此修改，请使用 POST /api/stations/{id}/status",
        ));
    }
    db::write_tx(conn, |conn| {
        let current = store::get(conn, id)?.ok_or_else(|| not_found(id))?;
        policy::can_edit_station(p, current.unit_id, &patch.fields())?;
        if current.version != version {
            return Err(stale(&current));
        }
        let status = Some(current.status);
        if status == Some(StationStatus::Revoked) {
            return Err(AppError::conflict("已撤销的服务站不能修改"));
        }
        if patch.established_on.is_some() && status == Some(StationStatus::Planned) {
            return Err(FieldErrors::single(
                "established_on",
                "计划建设的服务站不能填写建站日期",
            ));
        }
        let merged = StationInput {
            unit_id: patch.unit_id.or(Some(current.unit_id)),
            name: patch.name.clone().or(Some(current.name.clone())),
            host_business: patch.host_business.clone().or(Some(current.host_business.clone())),
            credit_code: match &patch.credit_code {
                Some(v) => v.clone(),
                None => current.credit_code.clone(),
            },
            category: patch.category.clone().or(Some(current.category.as_str().to_owned())),
            address: patch.address.clone().or(Some(current.address.clone())),
            liaison_name: patch.liaison_name.clone().or(Some(current.liaison_name.clone())),
            liaison_phone: patch.liaison_phone.clone().or(Some(current.liaison_phone.clone())),
            standard_id: patch.standard_id.clone().or(Some(current.standard_id.clone())),
            status: Some(current.status.as_str().to_owned()),
            established_on: patch.established_on.or(current.established_on),
        };
        let (fields, _) = check(ctx, merged, false)?;
        unit_must_exist(conn, fields.unit_id)?;
        let station = match store::update_if_version(conn, id, version, &fields, db::now())? {
            Some(s) => s,
            None => {
                let current = store::get(conn, id)?.ok_or_else(|| not_found(id))?;
                return Err(stale(&current));
            }
        };
        if station.unit_id != current.unit_id {
            crate::db::guidance::move_station(conn, id, station.unit_id)?;
        }
        tracing::info!(station_id = id, version = station.version, "station updated");
        audit::record(
            conn,
            p,
            "station.update",
            "station",
            id,
            snapshot(&current),
            snapshot(&station),
        )?;
        detail(conn, station)
    })
}

#[derive(Debug, Default, Deserialize, Validate, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StatusInput {
    #[schema(value_type = Option<StationStatus>)]
    pub status: Option<String>,
    #[validate(length(max = 500, message = "理由不超过500个字符"))]
    pub reason: Option<String>,
    /// The date the change takes effect (for `established`, the station's
    /// establishment date); today when left out.
    pub effective_on: Option<NaiveDate>,
    /// When given, the change applies only if the station is still at this
    /// version.
    pub version: Option<i32>,
}

pub fn change_status(
    conn: &mut DbConnection,
    ctx: &Ctx,
    p: &Principal,
    id: i32,
    input: StatusInput,
) -> Result<StationDetail, AppError> {
    policy::require_admin(p, Admin::ManageStations)?;
    let mut errors = FieldErrors::new();
    if let Err(e) = input.validate() {
        errors.absorb(e);
    }
    let to = match clean(input.status).as_deref().map(StationStatus::parse) {
        None => {
            errors.add("status", "目标状态不能为空");
            None
        }
        Some(None) => {
            errors.add("status", format!("未知的状态，可选：{}", StationStatus::expected()));
            None
        }
        Some(s) => s,
    };
    let reason = clean(input.reason);
    if reason.is_none() {
        errors.add("reason", "须说明变更理由");
    }
    let today = ctx.today();
    let effective_on = input.effective_on.unwrap_or(today);
    if effective_on > today {
        errors.add("effective_on", "生效日期不能晚于今天");
    }
    errors.into_result()?;
    let (Some(to), Some(reason)) = (to, reason) else {
        return Err(AppError::internal(
            "status validation",
            anyhow::anyhow!("checked fields missing"),
        ));
    };
    db::write_tx(conn, |conn| {
        let current = store::get(conn, id)?.ok_or_else(|| not_found(id))?;
        if input.version.is_some_and(|v| v != current.version) {
            return Err(stale(&current));
        }
        let from = current.status;
        if !from.can_move_to(to) {
            let next: Vec<_> = from.next_statuses().iter().map(|s| s.as_str()).collect();
            let allowed = if next.is_empty() {
                "无".to_owned()
            } else {
                next.join(", ")
            };
            return Err(FieldErrors::single(
                "status",
                format!(
                    "不能从“{}”变更为“{}”；可变更为：{allowed}",
                    from.label_zh(),
                    to.label_zh()
                ),
            ));
        }
        // (planned → established: the effective date becomes the
        // establishment date, so there is nothing to compare with.)
        if let Some(est) = current.established_on
            && effective_on < est
        {
            return Err(FieldErrors::single("effective_on", "生效日期不能早于建站日期"));
        }
        let established_on = if from == StationStatus::Planned && to == StationStatus::Established {
            Some(effective_on)
        } else {
            current.established_on
        };
        let revoked_on = (to == StationStatus::Revoked).then_some(effective_on);
        let station = store::set_status(
            conn,
            &current,
            to,
            established_on,
            revoked_on,
            &reason,
            effective_on,
            db::now(),
            None,
        )?
        .ok_or_else(|| stale(&current))?;
        tracing::info!(
            station_id = id,
            from = from.as_str(),
            to = to.as_str(),
            "station status changed"
        );
        audit::record(
            conn,
            p,
            "station.status",
            "station",
            id,
            snapshot(&current),
            snapshot(&station),
        )?;
        detail(conn, station)
    })
}

/// Query string of the station list; parsed by hand so that a bad value is
/// reported by field name.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ListQuery {
    #[param(value_type = Option<i32>, minimum = 1)]
    pub unit_id: Option<String>,
    #[param(value_type = Option<StationStatus>)]
    pub status: Option<String>,
    #[param(value_type = Option<Category>)]
    pub category: Option<String>,
    /// Text in the name or the host business.
    #[param(max_length = 100)]
    pub q: Option<String>,
    /// Page number, from 1.
    #[param(value_type = Option<i64>, minimum = 1, maximum = 1000000)]
    pub page: Option<String>,
    /// Items per page (default 20).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub per_page: Option<String>,
    /// Keyset pagination: stations with an id above this one (the previous
    /// page's `next_after`); cannot be combined with `page`.
    #[param(value_type = Option<i32>, minimum = 0)]
    pub after: Option<String>,
}

/// Stations the principal may read, filtered and paginated.
pub fn list(conn: &mut DbConnection, p: &Principal, query: ListQuery) -> Result<Page<Station>, AppError> {
    let mut errors = FieldErrors::new();
    let unit_id = int_param(&mut errors, "unit_id", query.unit_id, 1..=i32::MAX as i64);
    let page_given = query.page.is_some();
    let (page, per_page) = paging(&mut errors, query.page, query.per_page);
    let after = int_param(&mut errors, "after", query.after, 0..=i32::MAX as i64).map(|a| a as i32);
    if after.is_some() && page_given {
        errors.add("after", "after 与 page 只能用其一");
    }
    let status = query_param(&mut errors, "status", query.status).and_then(|s| {
        let parsed = StationStatus::parse(&s);
        if parsed.is_none() {
            errors.add("status", format!("未知的状态，可选：{}", StationStatus::expected()));
        }
        parsed
    });
    let category = query_param(&mut errors, "category", query.category).and_then(|c| {
        let parsed = Category::parse(&c);
        if parsed.is_none() {
            errors.add("category", format!("未知的类别，可选：{}", Category::expected()));
        }
        parsed
    });
    let q = clean(query.q);
    if q.as_ref().is_some_and(|q| q.chars().count() > 100) {
        errors.add("q", "搜索词不超过100个字符");
    }
    errors.into_result()?;
    let scope = policy::read_scope(p);
    if let Some(u) = unit_id {
        policy::can_read_unit(p, u as i32)?;
    }
    let filter = Filter {
        units: scope.units().map(<[i32]>::to_vec),
        unit_id: unit_id.map(|u| u as i32),
        status,
        category,
        q,
    };
    let (items, total, total_exact) = store::list(conn, &filter, page, per_page, after)?;
    let next_after = (items.len() as i64 == per_page)
        .then(|| items.last().map(|s| s.id))
        .flatten();
    Ok(Page {
        items,
        total,
        total_exact,
        page,
        per_page,
        next_after,
    })
}
