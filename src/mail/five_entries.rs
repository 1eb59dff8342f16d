//! The 五进 roll-up as documents write it: stations standing at the date,
//! by 商场、超市、市场、企业、景区 and then 其他行业 with the finer trades
//! inside it, adding up to the stations standing.

use std::collections::HashMap;

use serde::Serialize;

use crate::domain::Category;
use crate::domain::five_entries::{FiveEntry, roll_up};

/// One unit's (or the city's) stations by 五进.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FiveEntriesView {
    /// Stations standing: the sum of `counts`.
    pub standing: i64,
    /// Stations per entry, in the seed's order (商场 … 其他行业).
    pub counts: Vec<i64>,
    /// "商场32个、超市20个、市场15个、企业40个、景区5个，其他行业52个（其中酒店7个、电信5个）".
    pub text_zh: String,
    /// The trades under 其他行业: "酒店7个、电信5个" (empty when none).
    pub other_detail_zh: String,
}

/// The entries' Chinese names, in the order of [`FiveEntriesView::counts`].
pub fn entry_labels() -> Vec<&'static str> {
    FiveEntry::ALL.iter().map(|e| e.label_zh()).collect()
}

impl FiveEntriesView {
    /// Rolls counts by category up (a category may come more than once).
    pub fn from_counts(counts: impl IntoIterator<Item = (Category, i64)>) -> Self {
        let entries = roll_up(counts);
        let count_zh = |label: &str, n: i64| format!("{label}{n}个");
        let other = entries.iter().find(|e| e.entry == FiveEntry::OtherTrades);
        let other_detail_zh = other
            .map(|e| {
                e.categories
                    .iter()
                    .map(|(c, n)| count_zh(c.label_zh(), *n))
                    .collect::<Vec<_>>()
                    .join("、")
            })
            .unwrap_or_default();
        let five: Vec<String> = entries
            .iter()
            .filter(|e| e.entry != FiveEntry::OtherTrades)
            .map(|e| count_zh(e.entry.label_zh(), e.stations))
            .collect();
        let other_n = other.map_or(0, |e| e.stations);
        let mut text_zh = format!(
            "{}，{}",
            five.join("、"),
            count_zh(FiveEntry::OtherTrades.label_zh(), other_n)
        );
        if !other_detail_zh.is_empty() {
            text_zh.push_str(&format!("（其中{other_detail_zh}）"));
        }
        FiveEntriesView {
            standing: entries.iter().map(|e| e.stations).sum(),
            counts: entries.iter().map(|e| e.stations).collect(),
            text_zh,
            other_detail_zh,
        }
    }

    /// The roll-up of every unit's counts, and of each unit's own:
    /// `counts` holds (unit id, category, stations).
    pub fn city_and_units(counts: &[(i32, Category, i64)]) -> (Self, HashMap<i32, Self>) {
        let city = Self::from_counts(counts.iter().map(|(_, c, n)| (*c, *n)));
        let mut by_unit: HashMap<i32, Vec<(Category, i64)>> = HashMap::new();
        for (unit, category, n) in counts {
            by_unit.entry(*unit).or_default().push((*category, *n));
        }
        let units = by_unit
            .into_iter()
            .map(|(unit, counts)| (unit, Self::from_counts(counts)))
            .collect();
        (city, units)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clerk_writes_the_five_entries_then_other_trades() {
        let counts = [
            (1, Category::Mall, 2),
            (1, Category::Hotel, 3),
            (2, Category::Telecom, 5),
            (2, Category::Mall, 1),
        ];
        let (city, units) = FiveEntriesView::city_and_units(&counts);
        assert_eq!(city.standing, 11);
        assert_eq!(city.counts, [3, 0, 0, 0, 0, 8]);
        assert_eq!(
            city.text_zh,
            "商场3个、超市0个、市场0个、企业0个、景区0个，其他行业8个（其中酒店3个、电信5个）"
        );
        assert_eq!(units[&1].standing, 5);
        assert_eq!(units[&2].other_detail_zh, "电信5个");
        let none = FiveEntriesView::from_counts([]);
        assert_eq!((none.standing, none.counts.len()), (0, 6));
        assert!(!none.text_zh.contains('（'));
    }
}
