//! Visit rules: which results are acceptable for which items, the score,
//! compliance, what a visit does to a station's status, and what it does to
//! open guidance.

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;

use super::StationStatus;
use crate::error::FieldErrors;
use crate::standard::Standard;
use crate::text_enum;

text_enum!(
    /// Why the inspector came.
    VisitKind {
        Acceptance = "acceptance" / "验收检查",
        Routine = "routine" / "日常检查",
        FollowUp = "follow_up" / "回访复查",
    }
);

text_enum!(
    /// What the inspector found for one item.
    ItemResult {
        Met = "met" / "符合",
        Partial = "partial" / "基本符合",
        Unmet = "unmet" / "不符合",
        NotApplicable = "not_applicable" / "不适用",
    }
);

impl ItemResult {
    /// Partial and unmet items need a note and raise guidance.
    pub fn is_failing(self) -> bool {
        matches!(self, ItemResult::Partial | ItemResult::Unmet)
    }
}

/// One item as the inspector sent it.
#[derive(Debug, Clone, Default)]
pub struct Submitted {
    pub code: Option<String>,
    pub result: Option<String>,
    pub note: Option<String>,
}

/// One item that passed the checks, in checklist order.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    pub code: String,
    /// Position of the item in the checklist.
    pub position: usize,
    /// Position of the item in the request, for error paths.
    pub index: usize,
    pub result: ItemResult,
    pub note: String,
}

/// Checks the submitted results against the checklist: one result for every
/// item, no duplicates, no unknown codes, a known result, a note for partial
/// and unmet, not_applicable only for optional items. Errors are keyed
/// `items[i].field`, or `items` for a missing item.
pub fn check_items(standard: &Standard, items: &[Submitted]) -> Result<Vec<Checked>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = |f: &str| format!("items[{i}].{f}");
        let Some(code) = item.code.as_deref().map(str::trim).filter(|c| !c.is_empty()) else {
            errors.add(at("code"), "须填写检查项代码");
            continue;
        };
        let Some(position) = standard.items.iter().position(|s| s.code == code) else {
            let known: Vec<_> = standard.items.iter().map(|s| s.code.as_str()).collect();
            errors.add(at("code"), format!("未知的检查项“{code}”，应为：{}", known.join(", ")));
            continue;
        };
        if let Some(first) = seen.insert(code, i) {
            errors.add(at("code"), format!("检查项“{code}”重复（与 items[{first}] 相同）"));
            continue;
        }
        let spec = &standard.items[position];
        let result = match item.result.as_deref().map(str::trim) {
            None | Some("") => {
                errors.add(at("result"), format!("须填写“{}”的检查结果", spec.title_zh));
                continue;
            }
            Some(r) => match ItemResult::parse(r) {
                Some(r) => r,
                None => {
                    errors.add(
                        at("result"),
                        format!("未知的检查结果“{r}”，应为：{}", ItemResult::expected()),
                    );
                    continue;
                }
            },
        };
        let note = item.note.as_deref().map(str::trim).unwrap_or_default().to_owned();
        if result.is_failing() && note.is_empty() {
            errors.add(
                at("note"),
                format!("“{}”为{}，须填写说明", spec.title_zh, result.label_zh()),
            );
        }
        if result == ItemResult::NotApplicable && !spec.optional {
            errors.add(at("result"), format!("“{}”是必备项，不能选择不适用", spec.title_zh));
        }
        if note.chars().count() > 1000 {
            errors.add(at("note"), "说明不超过1000个字符");
        }
        out.push(Checked {
            code: code.to_owned(),
            position,
            index: i,
            result,
            note,
        });
    }
    let given: BTreeSet<&str> = seen.keys().copied().collect();
    let missing: Vec<&str> = standard
        .items
        .iter()
        .filter(|s| !given.contains(s.code.as_str()))
        .map(|s| s.code.as_str())
        .collect();
    if !missing.is_empty() {
        errors.add("items", format!("缺少检查项：{}", missing.join(", ")));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    out.sort_by_key(|c| c.position);
    Ok(out)
}

/// Score in hundredths of a percent, and compliance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    pub basis_points: u32,
    pub compliant: bool,
}

/// The weighted share of met items (partial counts half; not-applicable
/// items leave the denominator), rounded half up to 0.01 %; compliant when
/// every required item is met.
pub fn score(standard: &Standard, results: &[(String, ItemResult)]) -> Score {
    let mut earned: u64 = 0; // in half-weights
    let mut possible: u64 = 0;
    let mut compliant = true;
    for item in &standard.items {
        let result = results.iter().find(|(c, _)| *c == item.code).map(|(_, r)| *r);
        let w = u64::from(item.weight);
        match result {
            Some(ItemResult::Met) => {
                earned += 2 * w;
                possible += 2 * w;
            }
            Some(ItemResult::Partial) => {
                earned += w;
                possible += 2 * w;
            }
            Some(ItemResult::Unmet) | None => possible += 2 * w,
            Some(ItemResult::NotApplicable) => {}
        }
        if !item.optional && result != Some(ItemResult::Met) {
            compliant = false;
        }
    }
    let basis_points = if possible == 0 {
        0
    } else {
        ((earned * 10_000 * 2 + possible) / (2 * possible)) as u32
    };
    Score {
        basis_points,
        compliant,
    }
}

/// Why a visit cannot be recorded at a station in its current status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VisitRefused {
    Revoked,
    NotYetAccepted,
    AlreadyAccepted,
}

impl VisitRefused {
    pub fn message_zh(&self) -> &'static str {
        match self {
            VisitRefused::Revoked => "已撤销命名的服务站不能再记录检查",
            VisitRefused::NotYetAccepted => "计划建设的服务站须先进行验收检查（kind = acceptance）",
            VisitRefused::AlreadyAccepted => "该服务站已通过验收，请记录日常检查或回访复查",
        }
    }
}

/// The station's status after a visit: a passing acceptance establishes a
/// planned station; a failing routine or follow-up visit puts a built
/// station under rectification, and a passing one ends it.
pub fn status_after(kind: VisitKind, before: StationStatus, compliant: bool) -> Result<StationStatus, VisitRefused> {
    use StationStatus::*;
    match (before, kind) {
        (Revoked, _) => Err(VisitRefused::Revoked),
        (Planned, VisitKind::Acceptance) => Ok(if compliant { Established } else { Planned }),
        (Planned, _) => Err(VisitRefused::NotYetAccepted),
        (_, VisitKind::Acceptance) => Err(VisitRefused::AlreadyAccepted),
        (Rectifying, _) => Ok(if compliant { Established } else { Rectifying }),
        (status, _) => Ok(if compliant { status } else { Rectifying }),
    }
}

/// A visit may not be dated before the station's latest counted visit
/// (`latest`: its date and id), nor a built station's visit before the
/// station was established.
pub fn check_visit_date(
    visited_on: NaiveDate,
    latest: Option<(NaiveDate, i32)>,
    established_on: Option<NaiveDate>,
    before: StationStatus,
) -> Result<(), FieldErrors> {
    if let Some((last_on, last_id)) = latest
        && visited_on < last_on
    {
        return Err(FieldErrors::of(
            "visited_on",
            format!("检查日期不能早于该站最近一次检查（{last_on}，记录 #{last_id}）"),
        ));
    }
    if established_on.is_some_and(|e| visited_on < e) && before.is_built() {
        return Err(FieldErrors::of("visited_on", "检查日期不能早于建站日期"));
    }
    Ok(())
}

/// What a visit does to guidance, item by item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GuidanceAction {
    /// A failing item with no open guidance: raise new guidance.
    Raise { code: String },
    /// A failing item that already has open guidance: it stays open.
    Keep { code: String, guidance_id: i32 },
    /// A met item with open guidance: resolved by this visit.
    Resolve { code: String, guidance_id: i32 },
}

/// `open` maps item codes to the id of their open guidance.
pub fn guidance_actions(items: &[Checked], open: &HashMap<String, i32>) -> Vec<GuidanceAction> {
    let mut out = Vec::new();
    for item in items {
        let existing = open.get(&item.code).copied();
        match (item.result, existing) {
            (r, None) if r.is_failing() => out.push(GuidanceAction::Raise {
                code: item.code.clone(),
            }),
            (r, Some(id)) if r.is_failing() => out.push(GuidanceAction::Keep {
                code: item.code.clone(),
                guidance_id: id,
            }),
            (ItemResult::Met, Some(id)) => out.push(GuidanceAction::Resolve {
                code: item.code.clone(),
                guidance_id: id,
            }),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::standard::{Item, Registry};
    use proptest::prelude::*;

    fn common() -> Standard {
        Registry::embedded()
            .ok()
            .and_then(|r| r.latest("baxiangyi-common").cloned())
            .expect("common checklist")
    }

    fn all(standard: &Standard, result: &str) -> Vec<Submitted> {
        standard
            .items
            .iter()
            .map(|i| Submitted {
                code: Some(i.code.clone()),
                result: Some(result.into()),
                note: Some("说明".into()),
            })
            .collect()
    }

    fn pairs(items: &[Checked]) -> Vec<(String, ItemResult)> {
        items.iter().map(|c| (c.code.clone(), c.result)).collect()
    }

    #[test]
    fn all_met_is_full_marks_and_compliant() {
        let s = common();
        let items = check_items(&s, &all(&s, "met")).expect("valid");
        assert_eq!(
            score(&s, &pairs(&items)),
            Score {
                basis_points: 10_000,
                compliant: true
            }
        );
    }

    #[test]
    fn partial_counts_half_and_optional_may_be_not_applicable() {
        let s = common();
        let mut sub = all(&s, "met");
        sub[4].result = Some("partial".into()); // register
        sub[7].result = Some("not_applicable".into()); // computer, optional
        let items = check_items(&s, &sub).expect("valid");
        // 6 met + 0.5 of 7 applicable items = 92.86 %
        assert_eq!(
            score(&s, &pairs(&items)),
            Score {
                basis_points: 9_286,
                compliant: false
            }
        );
        // An unmet optional item does not break compliance.
        let mut sub = all(&s, "met");
        sub[7].result = Some("unmet".into());
        let items = check_items(&s, &sub).expect("valid");
        assert_eq!(
            score(&s, &pairs(&items)),
            Score {
                basis_points: 8_750,
                compliant: true
            }
        );
    }

    #[test]
    fn bad_submissions_name_the_item_and_field() {
        let s = common();
        let mut sub = all(&s, "met");
        sub[0].result = Some("unmet".into());
        sub[0].note = Some("  ".into());
        sub[1].result = Some("excellent".into());
        sub[2].result = Some("not_applicable".into());
        sub[3].code = Some("plaque".into()); // duplicate of items[1]
        sub.pop(); // computer missing
        sub.push(Submitted {
            code: Some("wifi".into()),
            result: Some("met".into()),
            note: None,
        });
        let e = check_items(&s, &sub).expect_err("invalid");
        let keys: Vec<_> = e.0.keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "items",
                "items[0].note",
                "items[1].result",
                "items[2].result",
                "items[3].code",
                "items[7].code"
            ]
        );
        assert!(
            e.0["items"][0].contains("phone") && e.0["items"][0].contains("computer"),
            "{:?}",
            e.0["items"]
        );
    }

    #[test]
    fn visits_move_stations() {
        use StationStatus::*;
        use VisitKind::*;
        assert_eq!(status_after(Acceptance, Planned, true), Ok(Established));
        assert_eq!(status_after(Acceptance, Planned, false), Ok(Planned));
        assert_eq!(status_after(Routine, Planned, true), Err(VisitRefused::NotYetAccepted));
        assert_eq!(
            status_after(Acceptance, Established, true),
            Err(VisitRefused::AlreadyAccepted)
        );
        assert_eq!(status_after(Routine, Established, false), Ok(Rectifying));
        assert_eq!(status_after(Routine, Model, false), Ok(Rectifying));
        assert_eq!(status_after(Routine, Model, true), Ok(Model));
        assert_eq!(status_after(FollowUp, Rectifying, true), Ok(Established));
        assert_eq!(status_after(FollowUp, Rectifying, false), Ok(Rectifying));
        for k in VisitKind::ALL {
            assert_eq!(status_after(*k, Revoked, true), Err(VisitRefused::Revoked));
        }
    }

    #[test]
    fn guidance_is_raised_kept_and_resolved() {
        let s = common();
        let mut sub = all(&s, "met");
        sub[4].result = Some("unmet".into());
        sub[5].result = Some("partial".into());
        let items = check_items(&s, &sub).expect("valid");
        let open = HashMap::from([("register".to_owned(), 7), ("phone".to_owned(), 9)]);
        assert_eq!(
            guidance_actions(&items, &open),
            vec![
                GuidanceAction::Resolve {
                    code: "phone".into(),
                    guidance_id: 9
                },
                GuidanceAction::Keep {
                    code: "register".into(),
                    guidance_id: 7
                },
                GuidanceAction::Raise {
                    code: "bulletin".into()
                },
            ]
        );
    }

    fn arb_case() -> impl Strategy<Value = (Standard, Vec<(String, ItemResult)>)> {
        prop::collection::vec((1u32..20, any::<bool>(), 0usize..4), 1..12).prop_map(|spec| {
            let mut items: Vec<Item> = spec
                .iter()
                .enumerate()
                .map(|(i, (w, opt, _))| Item {
                    code: format!("i{i}"),
                    title_zh: "项".into(),
                    title_en: "item".into(),
                    guidance: "g".into(),
                    optional: *opt,
                    weight: *w,
                })
                .collect();
            items[0].optional = false; // a checklist has at least one required item
            let results = items
                .iter()
                .zip(&spec)
                .map(|(it, (_, _, r))| {
                    let mut r = ItemResult::ALL[*r];
                    if r == ItemResult::NotApplicable && !it.optional {
                        r = ItemResult::Unmet;
                    }
                    (it.code.clone(), r)
                })
                .collect();
            let standard = Standard {
                id: "p".into(),
                version: 1,
                title_zh: "p".into(),
                title_en: "p".into(),
                source: "p".into(),
                items,
            };
            (standard, results)
        })
    }

    proptest! {
        #[test]
        fn score_is_a_percentage_and_compliance_means_every_required_item_met((standard, results) in arb_case()) {
            let s = score(&standard, &results);
            prop_assert!(s.basis_points <= 10_000);
            if s.compliant {
                for item in standard.items.iter().filter(|i| !i.optional) {
                    let r = results.iter().find(|(c, _)| *c == item.code).map(|(_, r)| *r);
                    prop_assert_eq!(r, Some(ItemResult::Met));
                }
            }
            if results.iter().all(|(_, r)| *r == ItemResult::Met) {
                prop_assert_eq!(s, Score { basis_points: 10_000, compliant: true });
            }
            if results.iter().all(|(_, r)| *r != ItemResult::Met && *r != ItemResult::Partial) {
                prop_assert_eq!(s, Score { basis_points: 0, compliant: false });
            }
        }
    }
}
