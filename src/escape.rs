//! Control characters from outside data made visible before they reach a terminal.
//!
//! A registry chooses the platforms, annotations, media types and error messages we print. Raw,
//! a control character in them could clear the screen, retitle the window, move the cursor to
//! overwrite a line, or reorder the text (bidirectional overrides). [`escape_controls`] writes
//! each one as an escape a reader sees: `\x1b`, `\u{9b}`, `\r`.

/// `text` with every control character escaped: `\t`, `\n`, `\r`; other C0 controls and DEL as
/// `\xNN`; C1 controls and the bidirectional formatting characters as `\u{NN}`. Everything else,
/// including a backslash, is kept as it is.
pub fn escape_controls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0'..='\x1f' | '\x7f' => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            '\u{80}'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)))
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_escapes_and_other_controls_are_shown_escaped() {
        assert_eq!(
            escape_controls("a\x1b[2J\x1b]0;title\x07\r\n\t\0\x7f\u{9b}31m\u{202e}z"),
            r"a\x1b[2J\x1b]0;title\x07\r\n\t\x00\x7f\u{9b}31m\u{202e}z"
        );
    }

    #[test]
    fn ordinary_text_is_kept() {
        let text = r"linux/arm64 v8 10.0.17763 C:\path é ü 日本";
        assert_eq!(escape_controls(text), text);
    }
}
