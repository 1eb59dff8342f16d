//! The ledger's figures (处理率, 和解率, 满意率, 按时响应率) from counts.
//!
//! Rates are computed from whole counts with integer arithmetic and
//! written as percent with one decimal, rounded half up ("95.8"), the way a
//! clerk writes them ("和解率95.8%"); exactly 0 and 100 stay "0.0" and
//! "100.0". A rate over nothing (no case received, handled or followed up)
//! is null, never 0 or 100.

use serde::Serialize;

/// What the ledger counts for one unit, or the city, over a period.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub received: i64,
    /// Handled (办结) by the end of the period.
    pub handled: i64,
    /// 和解 + 调解成功.
    pub settled: i64,
    /// Handled cases with a follow-up call.
    pub followed_up: i64,
    /// 满意 + 基本满意.
    pub satisfied: i64,
    /// Answered by their `respond_by` date.
    pub responded_on_time: i64,
    /// 挽回经济损失 in fen.
    #[serde(skip)]
    pub recovered_fen: i64,
    /// Dispatched by 12315.
    pub dispatched: i64,
}

impl Counts {
    pub fn add(&mut self, other: &Counts) {
        self.received += other.received;
        self.handled += other.handled;
        self.settled += other.settled;
        self.followed_up += other.followed_up;
        self.satisfied += other.satisfied;
        self.responded_on_time += other.responded_on_time;
        self.recovered_fen += other.recovered_fen;
        self.dispatched += other.dispatched;
    }
}

/// The rates of [`Counts`], each percent with one decimal or null.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Rates {
    /// 处理率 = handled / received.
    pub handled_rate: Option<String>,
    /// 和解率 = settled / handled.
    pub settlement_rate: Option<String>,
    /// 满意率 = satisfied / followed up.
    pub satisfaction_rate: Option<String>,
    /// 按时响应率 = responded on time / received.
    pub on_time_rate: Option<String>,
}

/// `part / whole` in tenths of a percent (per mille), rounded half up.
pub fn per_mille(part: i64, whole: i64) -> Option<i64> {
    (whole > 0).then(|| (part * 2000 + whole) / (2 * whole))
}

/// `part / whole` as percent with one decimal ("95.8"), null over nothing.
pub fn percent(part: i64, whole: i64) -> Option<String> {
    per_mille(part, whole).map(|pm| format!("{}.{}", pm / 10, pm % 10))
}

impl From<&Counts> for Rates {
    fn from(c: &Counts) -> Self {
        Rates {
            handled_rate: percent(c.handled, c.received),
            settlement_rate: percent(c.settled, c.handled),
            satisfaction_rate: percent(c.satisfied, c.followed_up),
            on_time_rate: percent(c.responded_on_time, c.received),
        }
    }
}

/// A rate as the clerk writes it in a sentence: "95.8%", or "95%" when the
/// decimal is 0 (the seed's "和解率95%").
pub fn spoken(rate: &Option<String>) -> String {
    match rate {
        Some(r) => format!("{}%", r.strip_suffix(".0").unwrap_or(r)),
        None => "—".to_owned(),
    }
}

/// Yuan for a sentence: "40,123.50元" is written "40123.5元"; whole yuan
/// without decimals.
pub fn spoken_yuan(fen: i64) -> String {
    let text = super::money::format_fen(fen);
    let text = text
        .strip_suffix(".00")
        .map(str::to_owned)
        .unwrap_or_else(|| text.strip_suffix('0').map(str::to_owned).unwrap_or(text.clone()));
    format!("{text}元")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_by_hand() {
        // 20 received, 19 handled, of them 18 settled; 10 followed up, 9
        // content; 17 answered on time.
        let c = Counts {
            received: 20,
            handled: 19,
            settled: 18,
            followed_up: 10,
            satisfied: 9,
            responded_on_time: 17,
            recovered_fen: 4_012_350,
            dispatched: 3,
        };
        let r = Rates::from(&c);
        assert_eq!(r.handled_rate.as_deref(), Some("95.0")); // 19/20
        assert_eq!(r.settlement_rate.as_deref(), Some("94.7")); // 18/19 = 94.736…
        assert_eq!(r.satisfaction_rate.as_deref(), Some("90.0"));
        assert_eq!(r.on_time_rate.as_deref(), Some("85.0"));
        assert_eq!(percent(2, 3).as_deref(), Some("66.7"), "half up: 66.666… → 66.7");
        assert_eq!(percent(1, 8).as_deref(), Some("12.5"));
        assert_eq!(percent(1, 16).as_deref(), Some("6.3"), "6.25 rounds half up");
        assert_eq!(percent(0, 0), None);
        assert_eq!(percent(5, 5).as_deref(), Some("100.0"));
        assert_eq!(spoken(&r.handled_rate), "95%");
        assert_eq!(spoken(&r.settlement_rate), "94.7%");
        assert_eq!(spoken_yuan(4_012_350), "40123.5元");
        assert_eq!(spoken_yuan(4_000_000), "40000元");
    }
}
