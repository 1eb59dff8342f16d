//! The 五进 roll-up: the seed counts stations by the five entries (商场、
//! 超市、市场、企业、景区) and puts every other trade (hotels, telecom,
//! finance, post and express, ...) under 其他行业; reports show the finer
//! categories beside it.

use serde::Serialize;

use super::station::Category;

crate::text_enum!(
    /// One of the 五进, or 其他行业 for the trades added later.
    FiveEntry {
        Mall = "mall" / "商场",
        Supermarket = "supermarket" / "超市",
        Market = "market" / "市场",
        Enterprise = "enterprise" / "企业",
        ScenicSpot = "scenic_spot" / "景区",
        OtherTrades = "other_trades" / "其他行业",
    }
);

impl Category {
    /// The 五进 entry this category counts under.
    pub fn five_entry(self) -> FiveEntry {
        match self {
            Category::Mall => FiveEntry::Mall,
            Category::Supermarket => FiveEntry::Supermarket,
            Category::Market => FiveEntry::Market,
            Category::Enterprise => FiveEntry::Enterprise,
            Category::ScenicSpot => FiveEntry::ScenicSpot,
            Category::Hotel | Category::Telecom | Category::Finance | Category::PostExpress | Category::Other => {
                FiveEntry::OtherTrades
            }
        }
    }
}

/// One line of the roll-up: the entry, its stations, and the finer
/// categories inside it that have stations (in [`Category::ALL`] order).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EntryCount {
    pub entry: FiveEntry,
    pub stations: i64,
    pub categories: Vec<(Category, i64)>,
}

/// Rolls station counts by category up into all six entries, in the seed's
/// order (entries without stations count 0). A category may appear more
/// than once in `counts` (e.g. once per unit); its counts are added.
pub fn roll_up(counts: impl IntoIterator<Item = (Category, i64)>) -> Vec<EntryCount> {
    let mut by_category = vec![0_i64; Category::ALL.len()];
    for (category, n) in counts {
        if let Some(i) = Category::ALL.iter().position(|c| *c == category) {
            by_category[i] += n;
        }
    }
    FiveEntry::ALL
        .iter()
        .map(|&entry| {
            let categories: Vec<(Category, i64)> = Category::ALL
                .iter()
                .zip(&by_category)
                .filter(|(c, n)| c.five_entry() == entry && **n > 0)
                .map(|(c, n)| (*c, *n))
                .collect();
            EntryCount {
                entry,
                stations: categories.iter().map(|(_, n)| n).sum(),
                categories,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_five_entries_then_other_trades() {
        assert_eq!(Category::Mall.five_entry(), FiveEntry::Mall);
        assert_eq!(Category::ScenicSpot.five_entry(), FiveEntry::ScenicSpot);
        for c in [
            Category::Hotel,
            Category::Telecom,
            Category::Finance,
            Category::PostExpress,
            Category::Other,
        ] {
            assert_eq!(c.five_entry(), FiveEntry::OtherTrades, "{c}");
        }
        let labels: Vec<&str> = FiveEntry::ALL.iter().map(|e| e.label_zh()).collect();
        assert_eq!(labels, ["商场", "超市", "市场", "企业", "景区", "其他行业"]);
    }

    #[test]
    fn roll_up_adds_per_unit_counts_and_keeps_the_finer_categories() {
        let counts = [
            (Category::Hotel, 3),
            (Category::Mall, 2),
            (Category::Telecom, 5),
            (Category::Hotel, 1),
            (Category::Finance, 0),
        ];
        let rows = roll_up(counts);
        assert_eq!(rows.len(), 6);
        assert_eq!((rows[0].entry, rows[0].stations), (FiveEntry::Mall, 2));
        assert_eq!(
            (rows[1].entry, rows[1].stations, rows[1].categories.len()),
            (FiveEntry::Supermarket, 0, 0)
        );
        let other = &rows[5];
        assert_eq!(other.entry, FiveEntry::OtherTrades);
        assert_eq!(other.stations, 9);
        assert_eq!(other.categories, [(Category::Hotel, 4), (Category::Telecom, 5)]);
        assert_eq!(rows.iter().map(|r| r.stations).sum::<i64>(), 11);
    }
}
