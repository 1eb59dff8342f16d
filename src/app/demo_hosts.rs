//! The host businesses of the Baishan demo stations: who they are, their
//! credit codes (91 for companies and their branches, 92 for sole traders)
//! and their street addresses.

use crate::domain::{Category, credit_code};

/// One host business kind: its name and whether it is a sole trader
/// (个体工商户) rather than a company or a company's branch.
type HostKind = (&'static str, bool);

/// Hosts of the county-level units' stations, by category; a trade name
/// and the place name go in front of each.
const HOSTS: &[(Category, &[HostKind])] = &[
    (
        Category::Mall,
        &[
            ("百货大楼", false),
            ("购物中心", false),
            ("商业城", false),
            ("时代广场", false),
        ],
    ),
    (
        Category::Supermarket,
        &[
            ("欧亚超市", false),
            ("家家福超市", false),
            ("便民超市", true),
            ("百佳超市", false),
        ],
    ),
    (
        Category::Market,
        &[("农贸市场", false), ("建材市场", false), ("果蔬批发市场", false)],
    ),
    (
        Category::Enterprise,
        &[
            ("人参制品有限公司", false),
            ("矿泉水有限公司", false),
            ("木业有限公司", false),
            ("家具有限公司", false),
        ],
    ),
    (
        Category::ScenicSpot,
        &[("景区服务中心", false), ("温泉度假区", false), ("森林公园", false)],
    ),
    (Category::Hotel, &[("大酒店", false), ("家庭旅馆", true)]),
    (
        Category::Telecom,
        &[("电信营业厅", false), ("移动营业厅", false), ("联通营业厅", false)],
    ),
    (Category::Finance, &[("村镇银行", false), ("小额贷款有限公司", false)]),
    (Category::PostExpress, &[("快递服务部", true), ("速递有限公司", false)]),
    (
        Category::Other,
        &[("烟酒商店", true), ("五金商店", true), ("药房", false)],
    ),
];

/// The hosts the article names for the city's directly-run branch: the
/// business, and what its outlets are called after the street.
const BRANCH_HOSTS: &[(Category, &str, &str)] = &[
    (Category::Hotel, "七天连锁酒店", "店"),
    (Category::Other, "无限极", "服务网点"),
    (Category::Other, "白山烟草", "营销部"),
    (Category::PostExpress, "邮政快递", "营业部"),
    (Category::Finance, "白山农村商业银行", "支行"),
];

/// The model station's host (the article's 样板站).
pub const MODEL_HOST: &str = "白山电信";

const TRADE_NAMES: &[&str] = &[
    "兴隆", "鑫源", "华宇", "恒通", "金达", "福源", "宏达", "长青", "瑞丰", "天和", "嘉禾", "永安", "康盛",
];

const STREETS: &[&str] = &["民主路", "浑江大街", "建设街", "新华路", "长白山大街"];

/// A demo station's host business.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub name: String,
    pub category: Category,
    pub sole_trader: bool,
}

/// The host of the k-th station (of the whole set: `n`) of a unit; `place`
/// is the short place name of a county-level unit, `None` for the city's
/// directly-run branch.
pub fn host(place: Option<&str>, k: usize, n: usize, u: usize, model: bool) -> Host {
    if model {
        return Host {
            name: MODEL_HOST.to_owned(),
            category: Category::Telecom,
            sole_trader: false,
        };
    }
    let Some(place) = place else {
        // the model station is the branch's first; the others cycle through
        // the article's hosts, one outlet per street
        let j = k.saturating_sub(1);
        let (category, base, suffix) = BRANCH_HOSTS[j % BRANCH_HOSTS.len()];
        let street = STREETS[(j / BRANCH_HOSTS.len()) % STREETS.len()];
        return Host {
            name: format!("{base}{street}{suffix}"),
            category,
            sole_trader: false,
        };
    };
    let (category, kinds) = HOSTS[(n * 3 + u) % HOSTS.len()];
    let (base, sole_trader) = kinds[(n / HOSTS.len()) % kinds.len()];
    Host {
        name: format!("{place}{}{base}", TRADE_NAMES[n % TRADE_NAMES.len()]),
        category,
        sole_trader,
    }
}

/// A street address in Baishan: street names only, never the unit's name.
pub fn address(n: usize) -> String {
    format!("白山市{}{}号", STREETS[n % STREETS.len()], 10 + n * 3 % 300)
}

/// The credit code of the n-th station's host: 91 for a company or branch
/// (企业), 92 for a sole trader (个体工商户); some sole traders have none
/// on file.
pub fn credit(unit_code: &str, n: usize, sole_trader: bool) -> Option<String> {
    if sole_trader && n % 2 == 1 {
        return None;
    }
    let division: String = unit_code.chars().take(6).collect();
    let kind = if sole_trader { "92" } else { "91" };
    let first17 = format!("{kind}{division}{:09}", (n * 7_919 + 104_729) % 1_000_000_000);
    let check = credit_code::check_character(first17.as_bytes())?;
    Some(format!("{first17}{check}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn companies_get_91_and_sole_traders_92_valid_codes() {
        let company = credit("220602", 4, false).expect("a company has a code");
        assert!(company.starts_with("91220602"), "{company}");
        assert_eq!(credit_code::normalize(&company), Ok(company.clone()));
        let trader = credit("220602", 4, true).expect("this sole trader has a code");
        assert!(trader.starts_with("92220602"), "{trader}");
        assert_eq!(credit_code::normalize(&trader), Ok(trader.clone()));
        assert_eq!(
            credit("220600-ZS", 8, false).as_deref().map(|c| &c[..8]),
            Some("91220600")
        );
    }

    #[test]
    fn sole_traders_are_the_small_shops() {
        let traders: Vec<Host> = (0..200)
            .map(|n| host(Some("浑江"), 0, n, 0, false))
            .filter(|h| h.sole_trader)
            .collect();
        assert!(!traders.is_empty());
        for h in traders {
            assert!(
                ["便民超市", "家庭旅馆", "快递服务部", "烟酒商店", "五金商店"]
                    .iter()
                    .any(|s| h.name.ends_with(s)),
                "{h:?}"
            );
        }
    }

    #[test]
    fn the_branch_hosts_are_the_articles_without_trade_names() {
        let names: Vec<String> = (1..26).map(|k| host(None, k, 100 + k, 6, false).name).collect();
        assert_eq!(
            names[..5],
            [
                "七天连锁酒店民主路店",
                "无限极民主路服务网点",
                "白山烟草民主路营销部",
                "邮政快递民主路营业部",
                "白山农村商业银行民主路支行"
            ]
        );
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len(), "one outlet per street: {names:?}");
        assert!(
            names.iter().all(|n| TRADE_NAMES.iter().all(|t| !n.contains(t))),
            "{names:?}"
        );
        assert_eq!(host(None, 0, 1, 6, true).name, "白山电信");
    }

    #[test]
    fn addresses_are_streets_not_unit_names() {
        for n in 0..50 {
            let a = address(n);
            assert!(a.starts_with("白山市") && a.ends_with('号'), "{a}");
            for unit in [
                "浑江区",
                "江源区",
                "抚松县",
                "靖宇县",
                "长白朝鲜族自治县",
                "临江市",
                "市局直属消保分局",
            ] {
                assert!(!a.contains(unit), "{a}");
            }
        }
        assert_eq!(address(0), "白山市民主路10号");
    }
}
