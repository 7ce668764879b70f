//! What a failed request becomes for the user: a registry's error answer (its first error's
//! code, message and detail: the registry's own reason, redacted and on one short line), a
//! failure to get any answer, or the fix when the scheme was wrong (`--plain-http`).

use super::retry;
use super::transport::{MAX_ERROR_BODY, read_limited};
use crate::error::Error;
use ureq::Body;
use ureq::http::Response;

/// A failure to get an answer, as the user should read it. A server that does not speak TLS
/// is the user's `--plain-http` to fix, not the network's: an [`Error::Input`], which no step
/// retries.
pub(super) fn network_error(host: &str, error: ureq::Error) -> Error {
    if retry::is_plain_http_answer(&error) {
        return Error::Input(format!(
            "cannot reach {host}: the server does not speak TLS (use --plain-http for a \
             plain-HTTP registry)"
        ));
    }
    let detail = match &error {
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_string()
        }
        ureq::Error::Rustls(e) => {
            format!("TLS: {e} (use --cacert, or --insecure to skip verification)")
        }
        // rustls' verdict on the certificate reaches us wrapped in an I/O error.
        ureq::Error::Io(e) if e.to_string().contains("peer certificate") => {
            format!("TLS: {e} (use --cacert, or --insecure to skip verification)")
        }
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
            "the connection was reset".to_string()
        }
        other => other.to_string(),
    };
    Error::Network {
        host: host.to_string(),
        detail,
    }
}

/// Whether `response` is Go's answer to a plain-HTTP request on its TLS port, as the
/// registry, Harbor, zot, GitLab and Gitea give it: `HTTP/1.0 400` without a single header (its
/// body says so too, but the answer to a `HEAD` has none).
pub(super) fn is_tls_port_refusal(url: &str, response: &Response<Body>) -> bool {
    super::location::is_plain_http(url) && response.status() == 400 && response.headers().is_empty()
}

/// The error of a request that went, on the registry's word, to another host, which answered
/// 401 or 403: `HOST, where REGISTRY <what>, answered <error>`; that host got no credentials.
pub(super) fn withheld(host: &str, registry: &str, what: &str, response: Response<Body>) -> Error {
    Error::Invalid(format!(
        "{host}, where {registry} {what}, answered {}; credentials are only sent to the \
         registry itself",
        status_error(response)
    ))
}

/// Read an error answer and turn it into [`Error::Status`] with the registry's own words: its
/// first error's code and message, and the detail that often holds the reason (see
/// [`registry_error_message`]). A 400 whose body says plain HTTP reached a TLS port names the
/// fix instead.
pub fn status_error(response: Response<Body>) -> Error {
    let status = response.status().as_u16();
    let reason = response
        .status()
        .canonical_reason()
        .unwrap_or("error")
        .to_string();
    let body = read_limited(response, MAX_ERROR_BODY).unwrap_or_default();
    if status == 400 && is_plain_http_refusal(&body) {
        return Error::Input(format!("{status} {reason}: {SPEAKS_TLS}"));
    }
    let (code, message) = registry_error_message(&body).unwrap_or((None, reason));
    Error::Status {
        status,
        code,
        message,
    }
}

/// What a plain-HTTP request to a TLS port means for the user.
pub(super) const SPEAKS_TLS: &str =
    "the server speaks TLS (drop --plain-http for an HTTPS registry)";

/// Whether an error body is a TLS server's answer to a plain-HTTP request: Go's (the registry
/// itself, Harbor, zot, GitLab, Gitea) or nginx's (in front of Artifactory, Nexus and others).
fn is_plain_http_refusal(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(1024)]);
    text.contains("HTTP request to an HTTPS server")
        || text.contains("plain HTTP request was sent to HTTPS port")
}

/// The longest registry detail shown, in characters.
const MAX_DETAIL_CHARS: usize = 200;

/// The first `{"errors":[{"code","message","detail"}]}` entry of an error body, if it has one:
/// its code, and its message followed by its detail (`message: detail`) when the detail says
/// something more. The detail is a string, or the first `message` inside an object or array;
/// it is shown redacted, on one line, and shortened to [`MAX_DETAIL_CHARS`].
pub fn registry_error_message(body: &[u8]) -> Option<(Option<String>, String)> {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        code: Option<String>,
        message: Option<String>,
        detail: Option<serde_json::Value>,
    }
    let parsed: Errors = serde_json::from_slice(body).ok()?;
    let first = parsed.errors.into_iter().next()?;
    let message = first.message.unwrap_or_default();
    let detail = first
        .detail
        .as_ref()
        .and_then(|detail| detail_text(detail, 0))
        .map(|detail| one_short_line(&crate::redact::redact(detail)))
        .filter(|detail| !detail.is_empty() && !message.contains(detail.as_str()));
    let message = match detail {
        Some(detail) if message.is_empty() => detail,
        Some(detail) => format!("{message}: {detail}"),
        None => message,
    };
    Some((first.code, message))
}

/// The text of an error's `detail`: itself when a string, else the first `message` string
/// found inside it (objects and arrays, a few levels deep).
fn detail_text(detail: &serde_json::Value, depth: usize) -> Option<&str> {
    use serde_json::Value;
    match detail {
        Value::String(text) => Some(text),
        _ if depth >= 4 => None,
        Value::Object(fields) => fields
            .iter()
            .find_map(|(key, value)| match value {
                Value::String(text) if key.eq_ignore_ascii_case("message") => Some(text.as_str()),
                _ => None,
            })
            .or_else(|| {
                fields
                    .values()
                    .filter(|value| !value.is_string())
                    .find_map(|value| detail_text(value, depth + 1))
            }),
        Value::Array(items) => items.iter().find_map(|item| detail_text(item, depth + 1)),
        _ => None,
    }
}

/// `text` on one line: control characters and runs of white space as one space, trimmed, and
/// cut to [`MAX_DETAIL_CHARS`] with `…`.
fn one_short_line(text: &str) -> String {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|word| !word.is_empty())
        .collect();
    let line = words.join(" ");
    match line.char_indices().nth(MAX_DETAIL_CHARS) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_error_bodies_give_code_and_message() {
        let body =
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(
            registry_error_message(body),
            Some((Some("MANIFEST_UNKNOWN".into()), "manifest unknown".into()))
        );
        assert_eq!(registry_error_message(b"<html>"), None);
    }

    #[test]
    fn a_registry_detail_is_shown_after_the_message_on_one_short_line() {
        let message = |body: &str| registry_error_message(body.as_bytes()).unwrap().1;
        assert_eq!(
            message(
                r#"{"errors":[{"code":"DENIED","message":"denied","detail":"tag is immutable"}]}"#
            ),
            "denied: tag is immutable"
        );
        assert_eq!(
            message(
                r#"{"errors":[{"code":"X","message":"m","detail":{"a":1,"reason":{"Message":"deep\nline\u001b[2J"}}}]}"#
            ),
            "m: deep line [2J"
        );
        assert_eq!(
            message(r#"{"errors":[{"code":"X","message":"","detail":[{"message":"only"}]}]}"#),
            "only"
        );
        assert_eq!(
            message(
                r#"{"errors":[{"code":"X","message":"blob unknown","detail":"blob unknown"}]}"#
            ),
            "blob unknown"
        );
        let long = message(&format!(
            r#"{{"errors":[{{"code":"X","message":"m","detail":"{}"}}]}}"#,
            "é".repeat(300)
        ));
        assert_eq!(long, format!("m: {}…", "é".repeat(MAX_DETAIL_CHARS)));
    }

    #[test]
    fn a_detail_quoting_a_secret_is_redacted_before_it_is_shortened() {
        let secret = format!("unit-detail-{}", "x".repeat(250));
        crate::redact::register(&secret);
        let body = format!(
            r#"{{"errors":[{{"code":"DENIED","message":"m","detail":"bad token {secret}"}}]}}"#
        );
        assert_eq!(
            registry_error_message(body.as_bytes()).unwrap().1,
            "m: bad token <redacted>"
        );
    }

    #[test]
    fn plain_http_refusals_of_go_and_nginx_are_recognised() {
        assert!(is_plain_http_refusal(
            b"Client sent an HTTP request to an HTTPS server.\n"
        ));
        assert!(is_plain_http_refusal(
            b"<center>The plain HTTP request was sent to HTTPS port</center>"
        ));
        assert!(!is_plain_http_refusal(br#"{"errors":[]}"#));
    }
}
