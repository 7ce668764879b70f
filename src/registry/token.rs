//! Token servers' answers and requests: the token and its lifetime read from the answer, and
//! the form a refresh-token POST sends.

use super::credentials::Secret;
use crate::error::{Error, Result};
use std::time::{Duration, Instant};

/// Largest token answer we read.
pub(super) const MAX_TOKEN_BODY: u64 = 1024 * 1024;
/// Lifetime of a token whose answer has no `expires_in` (the distribution spec's default),
/// and the shortest we believe: a smaller, zero or negative `expires_in` counts as this, as
/// docker/distribution's client treats it, so a token is not fetched again for every request.
const MIN_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// The longest lifetime we believe: a run never lasts a day, and a larger `expires_in` (up to
/// 2^64 seconds) must not overflow the clock arithmetic.
const MAX_TOKEN_LIFETIME: Duration = Duration::from_secs(24 * 60 * 60);

/// A token from a token server, for the scopes it was asked for.
pub(super) struct Token {
    pub(super) value: Secret,
    pub(super) expires: Instant,
    /// The scopes it was asked for, as sent.
    pub(super) scopes: Vec<String>,
}

/// Read `{"token"|"access_token": …, "expires_in": …}`.
pub(super) fn parse_token_answer(body: &[u8], scopes: &[String]) -> Result<Token> {
    #[derive(serde::Deserialize)]
    struct Answer {
        token: Option<String>,
        access_token: Option<String>,
        /// Any JSON number: servers send 0, negative and fractional values.
        expires_in: Option<f64>,
    }
    let answer: Answer = serde_json::from_slice(body)
        .map_err(|e| Error::Invalid(format!("token server sent malformed JSON: {e}")))?;
    let value = answer
        .token
        .filter(|t| !t.is_empty())
        .or(answer.access_token.filter(|t| !t.is_empty()))
        .ok_or_else(|| Error::Invalid("token server answer has no token".to_string()))?;
    let lifetime = answer
        .expires_in
        .filter(|seconds| seconds.is_finite())
        .map(|seconds| {
            // Whole seconds, saturating (`as` maps a negative value to 0 and a huge one to
            // u64::MAX): no float formatting in the binary for an assertion message.
            Duration::from_secs(seconds as u64)
        })
        .unwrap_or(MIN_TOKEN_LIFETIME)
        .clamp(MIN_TOKEN_LIFETIME, MAX_TOKEN_LIFETIME);
    // Renew a little early so a token does not expire between check and use.
    let margin = Duration::from_secs(5).min(lifetime / 2);
    Ok(Token {
        value: Secret::new(value),
        expires: Instant::now() + lifetime - margin,
        scopes: scopes.to_vec(),
    })
}

/// `application/x-www-form-urlencoded` encoding of key/value pairs.
pub(super) fn form_encode(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// Every byte but RFC 3986's unreserved ones as `%XX`; also how [`crate::redact`] finds a
/// secret sent in a form.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_answers_take_token_or_access_token() {
        let t = parse_token_answer(br#"{"access_token":"abc","expires_in":300}"#, &[]).unwrap();
        assert_eq!(t.value.expose(), "abc");
        let t = parse_token_answer(br#"{"token":"xyz"}"#, &[]).unwrap();
        assert_eq!(t.value.expose(), "xyz");
        assert!(parse_token_answer(br#"{"token":""}"#, &[]).is_err());
        assert!(parse_token_answer(b"nope", &[]).is_err());
    }

    #[test]
    fn any_token_lifetime_is_accepted_without_overflowing() {
        for body in [
            br#"{"token":"t","expires_in":18446744073709551615}"#.as_slice(),
            br#"{"token":"t","expires_in":0}"#,
        ] {
            let token = parse_token_answer(body, &[]).unwrap();
            assert!(token.expires <= Instant::now() + MAX_TOKEN_LIFETIME);
        }
    }

    #[test]
    fn form_encoding_escapes_reserved_characters() {
        let encoded = form_encode(&[("scope", "repository:a/b:pull,push".to_string())]);
        assert_eq!(encoded, "scope=repository%3Aa%2Fb%3Apull%2Cpush");
    }
}
