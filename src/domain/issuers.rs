//! Who issues a unit's documents to a station (the 整改通知书): not the
//! unit's bare name ("江源区") but its market regulator, named as on its
//! seal. One template per kind of unit, with `{unit}` (the unit's name,
//! 抚松县) and `{unit_short}` (without its last character 区/县/市, 江源)
//! filled in: 2017 Baishan's counties were "{unit}市场监督管理局", its city
//! districts branches of the city bureau ("白山市工商行政管理局{unit_short}
//! 分局"), and the directly-run branch issues in the city bureau's name.

use super::UnitKind;

/// The templates, per kind of unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeIssuers {
    /// Counties and county-level cities.
    pub county: String,
    /// City districts.
    pub district: String,
    /// The city bureau's directly-run branches.
    pub branch: String,
}

/// The placeholders a template may hold.
const PLACEHOLDERS: [&str; 2] = ["{unit}", "{unit_short}"];

/// Checks a template: 1 to 60 characters once filled, and no placeholder
/// but `{unit}` and `{unit_short}`.
pub fn check_template(template: &str) -> Result<(), String> {
    let bare = PLACEHOLDERS.iter().fold(template.to_owned(), |t, p| t.replace(p, ""));
    if bare.contains(['{', '}']) {
        return Err(format!(
            "{template:?}: only {{unit}} and {{unit_short}} may be filled in"
        ));
    }
    if template.trim().is_empty() || template.chars().count() > 60 || template.chars().any(char::is_control) {
        return Err(format!("{template:?}: 1 to 60 characters, no control characters"));
    }
    Ok(())
}

impl NoticeIssuers {
    /// Every template names the unit itself: "{unit}市场监督管理局"; the
    /// branch the city's `issuer`.
    pub fn generic(issuer: &str) -> Self {
        NoticeIssuers {
            county: "{unit}市场监督管理局".into(),
            district: "{unit}市场监督管理局".into(),
            branch: issuer.to_owned(),
        }
    }

    /// The issuing authority of a unit's documents.
    pub fn for_unit(&self, kind: UnitKind, unit_name: &str) -> String {
        let template = match kind {
            UnitKind::County | UnitKind::CountyCity => &self.county,
            UnitKind::District => &self.district,
            UnitKind::Branch => &self.branch,
        };
        let short = match unit_name.char_indices().last() {
            Some((at, '区' | '县' | '市')) if unit_name.chars().count() > 2 => &unit_name[..at],
            _ => unit_name,
        };
        template.replace("{unit_short}", short).replace("{unit}", unit_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_issues_in_its_bureau_s_name() {
        let baishan = NoticeIssuers {
            district: "白山市工商行政管理局{unit_short}分局".into(),
            ..NoticeIssuers::generic("白山市工商行政管理局")
        };
        let cases = [
            (UnitKind::District, "江源区", "白山市工商行政管理局江源分局"),
            (UnitKind::County, "抚松县", "抚松县市场监督管理局"),
            (UnitKind::County, "长白朝鲜族自治县", "长白朝鲜族自治县市场监督管理局"),
            (UnitKind::CountyCity, "临江市", "临江市市场监督管理局"),
            (UnitKind::Branch, "市局直属消保分局", "白山市工商行政管理局"),
        ];
        for (kind, unit, issuer) in cases {
            assert_eq!(baishan.for_unit(kind, unit), issuer);
        }
        assert_eq!(
            NoticeIssuers::generic("x").for_unit(UnitKind::District, "浑江区"),
            "浑江区市场监督管理局"
        );
    }

    #[test]
    fn templates_are_checked() {
        assert!(check_template("{unit}市场监督管理局").is_ok());
        assert!(check_template("白山市工商行政管理局{unit_short}分局").is_ok());
        assert!(check_template("{name}市场监督管理局").is_err());
        assert!(check_template(" ").is_err());
        assert!(check_template(&"局".repeat(61)).is_err());
    }
}
