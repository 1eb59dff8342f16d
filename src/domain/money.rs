//! Money in yuan, exact: integer fen (分) in the database and in every
//! sum, a decimal string with two places ("12.50") on the wire. Never a
//! floating-point number, so 0.10 + 0.20 is 0.30.
//!
//! The parser is a few lines over integers on purpose: amounts here are
//! non-negative, at most two decimal places and bounded, which is all a
//! ledger needs; a decimal crate would bring arithmetic nobody uses.

/// The largest amount accepted: 100 million yuan.
pub const MAX_FEN: i64 = 100_000_000 * 100;

/// The message for an amount that is not a yuan amount.
pub const FORMAT_MESSAGE: &str = "应为不小于0的金额（元），最多两位小数，如 12.50";

/// Parses a yuan amount ("12", "12.5", "12.50") into fen.
pub fn parse_yuan(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_digit());
    if !digits(whole) || (text.contains('.') && !digits(frac)) || frac.len() > 2 || whole.len() > 12 {
        return Err(FORMAT_MESSAGE.to_owned());
    }
    let yuan: i64 = whole.parse().map_err(|_| FORMAT_MESSAGE.to_owned())?;
    let fen: i64 = format!("{frac:0<2}").parse().map_err(|_| FORMAT_MESSAGE.to_owned())?;
    let total = yuan
        .checked_mul(100)
        .and_then(|y| y.checked_add(fen))
        .filter(|t| *t <= MAX_FEN)
        .ok_or_else(|| "金额不超过1亿元".to_owned())?;
    Ok(total)
}

/// Fen as yuan with two places: 1250 → "12.50".
pub fn format_fen(fen: i64) -> String {
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Serde helpers for fen fields written as yuan strings.
pub mod serde_yuan {
    use serde::Serializer;

    pub fn one<S: Serializer>(fen: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::format_fen(*fen))
    }

    pub fn option<S: Serializer>(fen: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match fen {
            Some(f) => one(f, s),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuan_round_trips_exactly() {
        assert_eq!(parse_yuan("12.50"), Ok(1250));
        assert_eq!(parse_yuan("12.5"), Ok(1250));
        assert_eq!(parse_yuan("12"), Ok(1200));
        assert_eq!(parse_yuan("0.1").and_then(|a| parse_yuan("0.2").map(|b| a + b)), Ok(30));
        for bad in ["", "-1", "1.234", "1e3", "1.", ".5", "NaN", "1,000", "12.5元"] {
            assert!(parse_yuan(bad).is_err(), "{bad}");
        }
        assert!(parse_yuan("100000001").is_err());
        assert_eq!(format_fen(1250), "12.50");
        assert_eq!(format_fen(5), "0.05");
        assert_eq!(format_fen(4_012_300), "40123.00");
    }
}
