//! 统一社会信用代码 (unified social credit code), GB 32100-2015.
//!
//! 18 characters from a 31-character alphabet (digits and capital letters
//! without I, O, Z, S, V); the 18th is a check character over the first 17,
//! weighted by 3^(i) mod 31.

const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
const WEIGHTS: [u32; 17] = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub enum CreditCodeError {
    Length,
    Character(char),
    CheckCharacter,
}

impl CreditCodeError {
    /// A message for the person who typed the code.
    pub fn message_zh(&self) -> String {
        match self {
            Self::Length => "统一社会信用代码应为18位".into(),
            Self::Character(c) => format!("统一社会信用代码含有无效字符“{c}”"),
            Self::CheckCharacter => "统一社会信用代码校验位错误".into(),
        }
    }
}

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for the first 17 characters.
pub fn check_character(first17: &[u8]) -> Option<char> {
    if first17.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += value(*c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize] as char)
}

/// Validates a code and returns it normalised (trimmed, upper case).
pub fn normalize(input: &str) -> Result<String, CreditCodeError> {
    let code = input.trim().to_ascii_uppercase();
    if code.chars().count() != 18 {
        return Err(CreditCodeError::Length);
    }
    if let Some(bad) = code.chars().find(|c| !c.is_ascii() || value(*c as u8).is_none()) {
        return Err(CreditCodeError::Character(bad));
    }
    let bytes = code.as_bytes();
    match check_character(&bytes[..17]) {
        Some(c) if c as u8 == bytes[17] => Ok(code),
        _ => Err(CreditCodeError::CheckCharacter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_published_codes() {
        // Codes printed on real business licences.
        for code in ["91350100M000100Y43", "91110000802100433B", "91440300708461136T"] {
            assert_eq!(normalize(code).as_deref(), Ok(code), "{code}");
        }
        assert_eq!(normalize(" 91350100m000100y43 ").as_deref(), Ok("91350100M000100Y43"));
    }

    #[test]
    fn rejects_bad_codes() {
        assert_eq!(normalize("91350100M000100Y4"), Err(CreditCodeError::Length));
        assert_eq!(normalize("91350100M000100Y44"), Err(CreditCodeError::CheckCharacter));
        assert_eq!(normalize("91350100M0001O0Y43"), Err(CreditCodeError::Character('O')));
        assert_eq!(normalize("9135010０M000100Y43"), Err(CreditCodeError::Character('０')));
    }

    #[test]
    fn every_single_character_change_is_caught() {
        let good = b"91350100M000100Y43";
        for pos in 0..18 {
            for &c in ALPHABET.iter() {
                if c == good[pos] {
                    continue;
                }
                let mut bad = *good;
                bad[pos] = c;
                let s = std::str::from_utf8(&bad).expect("ascii");
                assert!(normalize(s).is_err(), "{s} should fail");
            }
        }
    }
}
