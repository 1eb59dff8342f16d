//! Station categories, unit kinds, statuses and the transitions allowed
//! between statuses.

use chrono::NaiveDate;

/// A closed set of values stored as text: serde and OpenAPI as the
/// snake_case text, a Chinese label for pages and documents, and diesel's
/// `FromSql`/`ToSql` on any backend, so no use case parses a string it read
/// from its own database (an unknown stored value is a database error).
#[macro_export]
#[doc(hidden)]
macro_rules! text_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $variant:ident = $text:literal / $zh:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
                 diesel::AsExpression, diesel::FromSqlRow)]
        #[serde(rename_all = "snake_case")]
        #[diesel(sql_type = diesel::sql_types::Text)]
        pub enum $name { $($(#[$vm])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn label_zh(self) -> &'static str {
                match self { $($name::$variant => $zh),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
            /// The accepted values, for error messages.
            pub fn expected() -> String {
                Self::ALL.iter().map(|v| v.as_str()).collect::<Vec<_>>().join(", ")
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl<DB> diesel::serialize::ToSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            str: diesel::serialize::ToSql<diesel::sql_types::Text, DB>,
        {
            fn to_sql<'b>(&'b self, out: &mut diesel::serialize::Output<'b, '_, DB>) -> diesel::serialize::Result {
                self.as_str().to_sql(out)
            }
        }

        impl<DB> diesel::deserialize::FromSql<diesel::sql_types::Text, DB> for $name
        where
            DB: diesel::backend::Backend,
            String: diesel::deserialize::FromSql<diesel::sql_types::Text, DB>,
        {
            fn from_sql(bytes: DB::RawValue<'_>) -> diesel::deserialize::Result<Self> {
                let text = String::from_sql(bytes)?;
                Self::parse(&text)
                    .ok_or_else(|| format!("unknown {} value {text:?} in the database", stringify!($name)).into())
            }
        }
    };
}

text_enum!(
    /// Where a station is set up (the "五进" and the trades added later).
    Category {
        Mall = "mall" / "商场",
        Supermarket = "supermarket" / "超市",
        Market = "market" / "市场",
        Enterprise = "enterprise" / "企业",
        ScenicSpot = "scenic_spot" / "景区",
        Hotel = "hotel" / "酒店",
        Telecom = "telecom" / "电信",
        Finance = "finance" / "金融",
        PostExpress = "post_express" / "邮政快递",
        Other = "other" / "其他",
    }
);

text_enum!(
    /// A county-level regulator unit.
    UnitKind {
        District = "district" / "区",
        County = "county" / "县",
        CountyCity = "county_city" / "县级市",
        Branch = "branch" / "市局直属分局",
    }
);

/// What a planned station that was dropped reads (it was never named).
pub const DROPPED_PLAN_ZH: &str = "取消建站计划";

text_enum!(
    /// Where a station stands in its life.
    StationStatus {
        Planned = "planned" / "计划建设",
        Established = "established" / "已建成",
        Model = "model" / "样板站",
        Rectifying = "rectifying" / "限期整改",
        Revoked = "revoked" / "已撤销",
    }
);

impl StationStatus {
    /// The statuses of a station that holds the title.
    pub const BUILT: [StationStatus; 3] = [Self::Established, Self::Model, Self::Rectifying];

    /// Statuses of a station that holds the title (named and plaqued).
    pub fn is_built(self) -> bool {
        matches!(self, Self::Established | Self::Model | Self::Rectifying)
    }

    /// Whether an administrator may move a station from `self` to `to` by hand.
    ///
    /// - planned → established (accepted), or revoked (the plan is dropped);
    /// - established ⇄ model, established ⇄ rectifying, model → rectifying;
    /// - any built status → revoked (撤销命名、摘牌); revoked is final: a
    ///   business that wants the title back is registered anew.
    pub fn can_move_to(self, to: StationStatus) -> bool {
        use StationStatus::*;
        matches!(
            (self, to),
            (Planned, Established)
                | (Planned, Revoked)
                | (Established, Model)
                | (Established, Rectifying)
                | (Established, Revoked)
                | (Model, Established)
                | (Model, Rectifying)
                | (Model, Revoked)
                | (Rectifying, Established)
                | (Rectifying, Revoked)
        )
    }

    /// The Chinese label a clerk reads for a station in this status:
    /// a station revoked without ever being established (a dropped plan,
    /// planned → revoked) was never named, so it reads 取消建站计划, not
    /// 已撤销. Every page, document and export shows status through this.
    pub fn label_for(self, established_on: Option<NaiveDate>) -> &'static str {
        match (self, established_on) {
            (Self::Revoked, None) => DROPPED_PLAN_ZH,
            _ => self.label_zh(),
        }
    }

    /// A status from its Chinese label as a clerk types it (either the
    /// enum's label or 取消建站计划).
    pub fn from_label_zh(label: &str) -> Option<Self> {
        if label == DROPPED_PLAN_ZH {
            return Some(Self::Revoked);
        }
        Self::ALL.iter().copied().find(|s| s.label_zh() == label)
    }

    /// The statuses reachable from `self`, for error messages.
    pub fn next_statuses(self) -> Vec<StationStatus> {
        Self::ALL.iter().copied().filter(|t| self.can_move_to(*t)).collect()
    }
}

/// How a station field is entered on the registry form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FormKind {
    Text,
    Date,
    /// One of the units.
    Unit,
    /// One of the categories.
    Category,
    /// One of the loaded checklists.
    Standard,
}

/// One editable field of a station: its API name, its label on forms and
/// documents, whether an inspector may correct it on site, and its form.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct StationField {
    pub name: &'static str,
    pub label_zh: &'static str,
    /// What a visit finds changed (a moved counter, a new liaison): an
    /// inspector of the unit may correct it. The rest stays the bureau's.
    pub inspector_may_edit: bool,
    pub form: FormKind,
}

/// Every editable field of a station, in form order: the one list the
/// policy, the PATCH merge and the forms read.
pub const STATION_FIELDS: &[StationField] = &[
    field("unit_id", "所属单位", false, FormKind::Unit),
    field("name", "服务站名称", false, FormKind::Text),
    field("host_business", "经营者", false, FormKind::Text),
    field("credit_code", "统一社会信用代码（可不填）", false, FormKind::Text),
    field("category", "类别", false, FormKind::Category),
    field("address", "地址", true, FormKind::Text),
    field("liaison_name", "联络员", true, FormKind::Text),
    field("liaison_phone", "联络电话", true, FormKind::Text),
    field(
        "liaison_email",
        "联络员电子邮箱（可不填，用于整改通知和期限提醒）",
        true,
        FormKind::Text,
    ),
    field("standard_id", "检查标准", false, FormKind::Standard),
    field("established_on", "建站日期（已建成的填写）", false, FormKind::Date),
];

const fn field(name: &'static str, label_zh: &'static str, inspector_may_edit: bool, form: FormKind) -> StationField {
    StationField {
        name,
        label_zh,
        inspector_may_edit,
        form,
    }
}

/// The field named `name`, if a station has one.
pub fn station_field(name: &str) -> Option<&'static StationField> {
    STATION_FIELDS.iter().find(|f| f.name == name)
}

/// A liaison phone: a mainland mobile (11 digits starting with 1) or a
/// landline with area code (0 + 9-11 digits), optionally with an extension
/// after '-' or '转'. Separators '-' and spaces are allowed.
pub fn valid_phone(phone: &str) -> bool {
    let p: String = phone.trim().chars().filter(|c| *c != ' ').collect();
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    let (main, ext) = match p.split_once('转') {
        Some((m, e)) => (m, Some(e)),
        None => (p.as_str(), None),
    };
    if ext.is_some_and(|e| !digits(e) || e.len() > 6) {
        return false;
    }
    let parts: Vec<&str> = main.split('-').collect();
    if !parts.iter().all(|x| digits(x)) {
        return false;
    }
    let landline = |area: &str, number: &str| {
        area.starts_with('0') && (3..=4).contains(&area.len()) && (7..=8).contains(&number.len())
    };
    match parts.as_slice() {
        [m] if m.starts_with('1') => m.len() == 11 && ext.is_none(),
        [m] => m.starts_with('0') && (10..=12).contains(&m.len()),
        [area, number] => landline(area, number),
        [area, number, e] => landline(area, number) && e.len() <= 6 && ext.is_none(),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StationStatus::*;

    #[test]
    fn a_dropped_plan_is_not_a_revoked_title() {
        let named = NaiveDate::from_ymd_opt(2015, 6, 1);
        assert_eq!(Revoked.label_for(None), "取消建站计划");
        assert_eq!(Revoked.label_for(named), "已撤销");
        assert_eq!(Model.label_for(named), "样板站");
        assert_eq!(Planned.label_for(None), "计划建设");
        assert_eq!(Established.label_for(named), "已建成");
        assert_eq!(StationStatus::from_label_zh("取消建站计划"), Some(Revoked));
        assert_eq!(StationStatus::from_label_zh("已撤销"), Some(Revoked));
        assert_eq!(StationStatus::from_label_zh("样板站"), Some(Model));
        assert_eq!(StationStatus::from_label_zh("revoked"), None);
    }

    #[test]
    fn revoked_is_final_and_no_status_moves_to_itself() {
        for s in StationStatus::ALL {
            assert!(!Revoked.can_move_to(*s));
            assert!(!s.can_move_to(*s));
            assert!(!s.can_move_to(Planned), "nothing goes back to planned");
        }
        assert!(Planned.can_move_to(Established));
        assert!(
            !Planned.can_move_to(Model),
            "a model station is chosen among built ones"
        );
        assert_eq!(Rectifying.next_statuses(), vec![Established, Revoked]);
    }

    #[test]
    fn text_round_trips() {
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(*c));
        }
        assert_eq!(Category::parse("casino"), None);
        assert_eq!(
            serde_json::to_string(&Category::ScenicSpot).ok().as_deref(),
            Some("\"scenic_spot\"")
        );
    }

    #[test]
    fn phones() {
        for ok in [
            "13943912345",
            "0439-3221234",
            "04393221234",
            "0439 322 1234",
            "0439-3221234-801",
            "0439-3221234转801",
            "010-12345678",
        ] {
            assert!(valid_phone(ok), "{ok}");
        }
        for bad in [
            "",
            "12315",
            "2345678",
            "1394391234",
            "139439123456",
            "phone",
            "0439-322123x",
            "+86 139",
        ] {
            assert!(!valid_phone(bad), "{bad}");
        }
    }
}
