//! Rules for text typed by people: what may not be in it, and what does
//! not count as content.

/// Bidirectional embeddings, overrides and isolates (U+202A–U+202E,
/// U+2066–U+2069): they reorder how the text around them is shown, so a
/// file `报告\u{202E}fdp.exe` reads as `报告exe.pdf`. No field needs them.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The message for text holding a bidirectional control.
pub const BIDI_MESSAGE: &str = "不能含有改变文字显示方向的控制字符（如 U+202E）";

/// Characters that show nothing: white space, zero-width spaces and
/// joiners, direction marks, the byte-order mark, the soft hyphen. A name
/// made only of them looks empty.
pub fn is_invisible(c: char) -> bool {
    c.is_whitespace()
        || is_bidi_control(c)
        || matches!(
            c,
            '\u{200B}'..='\u{200F}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}' | '\u{034F}' | '\u{180E}'
        )
}

/// `s` without invisible characters at either end.
pub fn trim_invisible(s: &str) -> &str {
    s.trim_matches(is_invisible)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_width_names_are_empty_and_overrides_are_found() {
        assert_eq!(trim_invisible("\u{200B}\u{200D}\u{FEFF} \u{3000}"), "");
        assert_eq!(trim_invisible("\u{200B}白山站\u{200C}"), "白山站");
        assert!("报告\u{202E}fdp.exe".chars().any(is_bidi_control));
        assert!(!"报告.pdf".chars().any(is_bidi_control));
    }
}
