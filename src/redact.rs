//! The secrets this process has sent, and [`redact`], which takes them out of a line before it
//! is printed.
//!
//! A registry or a token server we do not control may quote what we sent it in an error body
//! ("bad password …", the `Authorization` value), and that body becomes part of the error line
//! or a `--debug` line. So every secret is registered here when its value leaves its
//! [`Secret`](crate::registry::credentials::Secret) (the only way it can reach a server), and
//! every line printed from outside data passes through [`redact`].

use crate::registry::token::percent_encode;
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use std::sync::{Mutex, MutexGuard};

/// What a secret is replaced with.
pub const REDACTED: &str = "<redacted>";

/// The fewest base64 characters a secret's base64 form is looked for by: fewer occur by chance
/// in ordinary text (a digest, a word). A password of 6 bytes or more gets that many.
const MIN_BASE64_FORM: usize = 8;

/// One way a registered secret can appear in a line.
struct Form {
    text: String,
    /// Whether the form is the inside of a base64 text (the secret inside `user:password`, say),
    /// and the whole run of base64 characters around it is to be redacted.
    in_base64: bool,
}

/// The secrets registered so far, and the forms each can appear in.
static FORMS: Mutex<Vec<(String, Vec<Form>)>> = Mutex::new(Vec::new());

fn forms() -> MutexGuard<'static, Vec<(String, Vec<Form>)>> {
    FORMS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Remember `secret` so that [`redact`] takes it out of every later line, as it is, URL-encoded,
/// and in base64 (also inside the base64 of a longer text such as `user:password`). An empty
/// secret is nothing to hide; registering one twice is harmless.
pub fn register(secret: &str) {
    if secret.is_empty() {
        return;
    }
    let mut known = forms();
    if known.iter().any(|(s, _)| s == secret) {
        return;
    }
    let mut list = vec![Form {
        text: secret.to_string(),
        in_base64: false,
    }];
    let encoded = percent_encode(secret);
    if encoded != secret {
        list.push(Form {
            text: encoded,
            in_base64: false,
        });
    }
    list.extend(base64_forms(secret).into_iter().map(|text| Form {
        text,
        in_base64: true,
    }));
    known.push((secret.to_string(), list));
}

/// The base64 characters that encode `secret` alone wherever it starts in a longer text: base64
/// turns 3 bytes into 4 characters, so there are three alignments, and at each the characters
/// that also carry bits of the bytes before or after are left out. Too short ones are dropped.
fn base64_forms(secret: &str) -> Vec<String> {
    (0..3usize)
        .filter_map(|offset| {
            let mut bytes = vec![0u8; offset];
            bytes.extend_from_slice(secret.as_bytes());
            let encoded = STANDARD_NO_PAD.encode(&bytes);
            let start = (offset * 8).div_ceil(6);
            let end = bytes.len() * 8 / 6;
            let form = encoded.get(start..end)?;
            (form.len() >= MIN_BASE64_FORM).then(|| form.to_string())
        })
        .collect()
}

/// `text` with every registered secret replaced by [`REDACTED`]. A secret found inside a base64
/// text takes the whole base64 text with it (`Basic <redacted>`).
pub fn redact(text: &str) -> String {
    let known = forms();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    for form in known.iter().flat_map(|(_, forms)| forms) {
        for (start, found) in text.match_indices(&form.text) {
            let end = start + found.len();
            spans.push(if form.in_base64 {
                base64_run(text, start, end)
            } else {
                (start, end)
            });
        }
    }
    drop(known);
    if spans.is_empty() {
        return text.to_string();
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for (start, end) in spans {
        if end <= done {
            continue;
        }
        if start >= done {
            out.push_str(&text[done..start]);
            out.push_str(REDACTED);
        }
        done = end;
    }
    out.push_str(&text[done..]);
    out
}

/// The span of the base64 text (`A-Z a-z 0-9 + /`, then `=` padding) around `start..end`.
fn base64_run(text: &str, start: usize, end: usize) -> (usize, usize) {
    let bytes = text.as_bytes();
    let is_base64 = |b: u8| b.is_ascii_alphanumeric() || b == b'+' || b == b'/';
    let mut start = start;
    while start > 0 && is_base64(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = end;
    while end < bytes.len() && (is_base64(bytes[end]) || bytes[end] == b'=') {
        end += 1;
    }
    (start, end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    // The registry is process-wide: each test registers secrets of its own.

    #[test]
    fn a_secret_is_redacted_as_is_url_encoded_and_in_base64_whatever_its_alignment() {
        register("unit-Pa55/word+1");
        for user in ["a", "ab", "abc"] {
            let basic = base64(&format!("{user}:unit-Pa55/word+1"));
            assert_eq!(
                redact(&format!(
                    "Authorization: Basic {basic}, password unit-Pa55/word+1"
                )),
                "Authorization: Basic <redacted>, password <redacted>"
            );
        }
        assert_eq!(
            redact("refresh_token=unit-Pa55%2Fword%2B1&client_id=x"),
            "refresh_token=<redacted>&client_id=x"
        );
    }

    #[test]
    fn overlapping_secrets_are_one_redaction_and_other_text_is_kept() {
        register("unit-overlap-one");
        register("overlap-one-two");
        assert_eq!(
            redact("x unit-overlap-one-two y"),
            "x <redacted> y",
            "overlapping matches merge"
        );
        assert_eq!(redact("nothing secret here"), "nothing secret here");
        register("");
        assert_eq!(redact("empty is not a secret"), "empty is not a secret");
    }

    #[test]
    fn base64_forms_are_only_looked_for_when_long_enough() {
        assert!(base64_forms("abc").is_empty());
        assert_eq!(base64_forms("unit-long-enough").len(), 3);
    }
}
