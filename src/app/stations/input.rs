//! A station as the client sends it, and the checks that need no database.

use chrono::NaiveDate;
use serde::{Deserialize, Deserializer, Serialize};
use validator::Validate;

use crate::app::{Ctx, clean};
use crate::db::stations::{self as store, StationFields};
use crate::domain::station::{STATION_FIELDS, valid_phone};
use crate::domain::{Category, StationStatus, credit_code};
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
    /// The liaison's email (optional): guidance notices and reminders go there.
    #[validate(length(max = 254, message = "联络员电子邮箱不超过254个字符"))]
    #[schema(format = "email", max_length = 254)]
    pub liaison_email: Option<String>,
    /// `planned` (the default) or, with `established_on`, `established`.
    #[schema(value_type = Option<StationStatus>)]
    pub status: Option<String>,
    pub established_on: Option<NaiveDate>,
}

/// A partial update; `version` is the version the client read.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StationPatch {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_id: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_business: Option<String>,
    #[serde(deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub credit_code: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liaison_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liaison_phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub established_on: Option<NaiveDate>,
    /// Null clears it.
    #[serde(deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = "email", max_length = 254)]
    pub liaison_email: Option<Option<String>>,
    /// Not editable here: named only to say where status changes go.
    #[serde(skip_serializing)]
    #[schema(ignore)]
    pub status: Option<serde::de::IgnoredAny>,
}

impl StationPatch {
    /// The station fields this patch sets (`version` aside), as sent.
    fn sent(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut sent = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        sent.retain(|name, _| STATION_FIELDS.iter().any(|f| f.name == name));
        sent
    }

    /// The names of the fields this patch sets, in form order.
    pub fn fields(&self) -> Vec<&'static str> {
        let sent = self.sent();
        STATION_FIELDS
            .iter()
            .filter(|f| sent.contains_key(f.name))
            .map(|f| f.name)
            .collect()
    }

    /// The whole station as it would be with this patch applied to
    /// `current`: every field of [`STATION_FIELDS`] from the patch when it
    /// sets it, else as stored.
    pub(super) fn merge_onto(&self, current: &store::Station) -> Result<StationInput, AppError> {
        let stored = serde_json::to_value(super::Station::from(current.clone()))
            .map_err(|e| AppError::internal("cannot read the stored station", e))?;
        let mut merged = self.sent();
        for f in STATION_FIELDS {
            if !merged.contains_key(f.name) {
                merged.insert(f.name.to_owned(), stored[f.name].clone());
            }
        }
        merged.insert("status".to_owned(), stored["status"].clone());
        serde_json::from_value(serde_json::Value::Object(merged))
            .map_err(|e| AppError::internal("cannot merge the station patch", e))
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

/// Checks a whole station; returns the fields to store and the status.
pub(super) fn check(
    ctx: &Ctx,
    input: StationInput,
    on_create: bool,
) -> Result<(StationFields, StationStatus), AppError> {
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
    let credit_code = check_credit_code(&mut errors, input.credit_code);
    let liaison_email = check_email(&mut errors, input.liaison_email);
    let category = check_codes(ctx, &mut errors, &category, &liaison_phone, &standard_id);
    let status = check_status(ctx, &mut errors, input.status, input.established_on, on_create);
    errors.into_result()?;
    let (Some(unit_id), Some(status), Some(category)) = (input.unit_id, status, category) else {
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
        liaison_email,
    };
    Ok((fields, status))
}

/// The liaison's email (optional): one address a mail server takes.
fn check_email(errors: &mut FieldErrors, value: Option<String>) -> Option<String> {
    let email = clean(value)?;
    if email.chars().count() > 254 || email.parse::<lettre::Address>().is_err() {
        errors.add("liaison_email", "联络员电子邮箱格式不正确（如 zhang@example.com）");
        return None;
    }
    Some(email)
}

/// A unified social credit code (optional), normalised.
fn check_credit_code(errors: &mut FieldErrors, value: Option<String>) -> Option<String> {
    match credit_code::normalize(&clean(value)?) {
        Ok(c) => Some(c),
        Err(e) => {
            errors.add("credit_code", e.message_zh());
            None
        }
    }
}

/// The category, the phone's shape and the checklist; returns the category.
fn check_codes(
    ctx: &Ctx,
    errors: &mut FieldErrors,
    category: &str,
    liaison_phone: &str,
    standard_id: &str,
) -> Option<Category> {
    let parsed = Category::parse(category);
    if !category.is_empty() && parsed.is_none() {
        errors.add("category", format!("未知的类别，可选：{}", Category::expected()));
    }
    if !liaison_phone.is_empty() && !valid_phone(liaison_phone) {
        errors.add("liaison_phone", "联络电话应为11位手机号或带区号的固定电话");
    }
    if !standard_id.is_empty() && ctx.standards.latest(standard_id).is_none() {
        let known: Vec<_> = ctx.standards.latest_all().iter().map(|s| s.id.clone()).collect();
        errors.add("standard_id", format!("未知的检查标准，可选：{}", known.join(", ")));
    }
    parsed
}

/// The status a station is registered in (planned by default), and the
/// establishment date it needs.
fn check_status(
    ctx: &Ctx,
    errors: &mut FieldErrors,
    status: Option<String>,
    established_on: Option<chrono::NaiveDate>,
    on_create: bool,
) -> Option<StationStatus> {
    let status = match clean(status).as_deref().map(StationStatus::parse) {
        None => StationStatus::Planned,
        Some(None) => {
            errors.add("status", format!("未知的状态，可选：{}", StationStatus::expected()));
            return None;
        }
        Some(Some(StationStatus::Revoked)) if on_create => {
            errors.add("status", "不能登记已撤销的服务站");
            return None;
        }
        Some(Some(s)) => s,
    };
    match (status.is_built(), established_on) {
        (true, None) => errors.add("established_on", "已建成的服务站须填写建站日期"),
        (false, Some(_)) if status == StationStatus::Planned => {
            errors.add("established_on", "计划建设的服务站不能填写建站日期")
        }
        (_, Some(d)) if d > ctx.today() => errors.add("established_on", "建站日期不能晚于今天"),
        _ => {}
    }
    Some(status)
}
