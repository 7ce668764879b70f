//! JSON encoding that matches Go's `encoding/json`, byte for byte.
//!
//! The Go manifest-tool writes its lists with `json.MarshalIndent`, so a list with the same content
//! has the same digest only if our bytes are the same: same indentation, same key order (the struct
//! field order, which our serde structs follow), and Go's string escaping: `<`, `>`, `&`, U+2028 and
//! U+2029 as `\u003c`-style escapes, and control characters other than `\n`, `\r`, `\t` as `\u00XX`.

use serde::Serialize;
use serde_json::ser::{CharEscape, Formatter, PrettyFormatter};
use std::io;

/// Encode `value` like Go's `json.MarshalIndent(value, "", indent)`: no trailing newline.
pub fn to_go_json<T: Serialize>(value: &T, indent: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let formatter = GoFormatter {
        pretty: PrettyFormatter::with_indent(indent.as_bytes()),
    };
    let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
    // Serialising our own structs and maps with string keys into memory cannot fail.
    if value.serialize(&mut serializer).is_err() {
        out.clear();
    }
    out
}

/// `Formatter` methods that only hand over to the pretty printer (`self.pretty`): the layout
/// (indent, newlines, separators) is the same as Go's; only the strings differ.
/// `name(first)` is a method that also takes whether it is the first entry.
macro_rules! pretty_layout {
    ($($name:ident($($first:ident)?)),* $(,)?) => {
        $(
            fn $name<W: ?Sized + io::Write>(
                &mut self,
                writer: &mut W,
                $($first: bool,)?
            ) -> io::Result<()> {
                self.pretty.$name(writer $(, $first)?)
            }
        )*
    };
}

/// A pretty printer with Go's string escaping.
struct GoFormatter<'a> {
    pretty: PrettyFormatter<'a>,
}

impl Formatter for GoFormatter<'_> {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut start = 0;
        for (index, ch) in fragment.char_indices() {
            let escape = match ch {
                '<' => "\\u003c",
                '>' => "\\u003e",
                '&' => "\\u0026",
                '\u{2028}' => "\\u2028",
                '\u{2029}' => "\\u2029",
                _ => continue,
            };
            writer.write_all(&fragment.as_bytes()[start..index])?;
            writer.write_all(escape.as_bytes())?;
            start = index + ch.len_utf8();
        }
        writer.write_all(&fragment.as_bytes()[start..])
    }

    fn write_char_escape<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        char_escape: CharEscape,
    ) -> io::Result<()> {
        let text: String = match char_escape {
            CharEscape::Quote => "\\\"".into(),
            CharEscape::ReverseSolidus => "\\\\".into(),
            CharEscape::LineFeed => "\\n".into(),
            CharEscape::CarriageReturn => "\\r".into(),
            CharEscape::Tab => "\\t".into(),
            CharEscape::Backspace => "\\u0008".into(),
            CharEscape::FormFeed => "\\u000c".into(),
            CharEscape::Solidus => "/".into(),
            CharEscape::AsciiControl(byte) => format!("\\u{byte:04x}"),
        };
        writer.write_all(text.as_bytes())
    }

    pretty_layout! {
        begin_array(),
        end_array(),
        begin_array_value(first),
        end_array_value(),
        begin_object(),
        end_object(),
        begin_object_key(first),
        end_object_key(),
        begin_object_value(),
        end_object_value(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn escapes_html_characters_like_go() {
        let mut map = BTreeMap::new();
        map.insert("k", "a<b>&c\u{2028}d\u{2029}");
        let bytes = to_go_json(&map, "  ");
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "{\n  \"k\": \"a\\u003cb\\u003e\\u0026c\\u2028d\\u2029\"\n}"
        );
    }

    #[test]
    fn escapes_control_characters_like_go() {
        let bytes = to_go_json(&"\u{8}\u{c}\u{1}\n\"\\/", "  ");
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "\"\\u0008\\u000c\\u0001\\n\\\"\\\\/\""
        );
    }

    #[test]
    fn indents_nested_values_and_keeps_empty_containers_short() {
        let value = serde_json::json!({"a": [1, {"b": []}], "c": {}});
        let bytes = to_go_json(&value, "    ");
        assert_eq!(
            String::from_utf8_lossy(&bytes),
            "{\n    \"a\": [\n        1,\n        {\n            \"b\": []\n        }\n    ],\n    \"c\": {}\n}"
        );
    }
}
