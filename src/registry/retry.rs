//! The one retry policy of every request: which failures are worth another attempt, how many
//! attempts there are, and how long to wait between them (capped exponential backoff, or the
//! registry's own `Retry-After`).
//!
//! Everything that tries again asks here: [`super::transport`] for a request or a body cut off,
//! [`crate::store`] for a streamed blob upload, and [`crate::error::Error::is_transient`] for
//! whether an error is worth redoing a whole step.

use crate::error::{Error, Result};
use std::time::{Duration, SystemTime};
use ureq::Body;
use ureq::http::{HeaderMap, Response};

/// How many times a request (or a streamed upload) is tried in all before its failure is final.
pub const MAX_ATTEMPTS: u32 = 4;
/// First pause between attempts; doubled each time up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// The longest pause between attempts when the registry does not say how long to wait.
const MAX_BACKOFF: Duration = Duration::from_secs(4);
/// A `Retry-After` longer than this is not waited for: we fail and say when to try again.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Whether an answer with this status is worth sending again: timeouts, rate limits and the
/// server errors that mean "not now" (408, 429, 500, 502, 503, 504).
pub fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

/// Whether a failure to get an answer at all is worth another attempt: a connection that
/// failed, was dropped or timed out, or spoke garbled HTTP (not a name that does not resolve,
/// nor a certificate refused, nor a server that answered TLS with plain HTTP: a wrong
/// `--plain-http` stays wrong).
pub fn is_retryable_error(error: &ureq::Error) -> bool {
    matches!(
        error,
        ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::Timeout(_)
            | ureq::Error::Protocol(_)
    ) && !is_plain_http_answer(error)
}

/// Whether TLS was spoken to a server that answered in plain HTTP (rustls reads the first
/// byte of `HTTP/1.1 400` as a record of an unknown content type).
pub fn is_plain_http_answer(error: &ureq::Error) -> bool {
    matches!(error, ureq::Error::Io(e) if e.to_string().contains("InvalidContentType"))
}

/// The pause after failed attempt number `attempt` (1 for the first): 250 ms, doubled each
/// time, at most 4 s.
pub fn backoff(attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(8);
    (FIRST_BACKOFF * factor).min(MAX_BACKOFF)
}

/// The pause before sending again after `response`, the answer to attempt number `attempt`:
/// `None` when its status is not worth a retry; its `Retry-After` when it has a readable one,
/// else [`backoff`]. A `Retry-After` over a minute is an error saying so, for the run to fail
/// at once rather than hang.
pub fn wait_after(response: &Response<Body>, attempt: u32) -> Result<Option<Duration>> {
    let status = response.status().as_u16();
    if !is_retryable_status(status) {
        return Ok(None);
    }
    match retry_after(response.headers()) {
        Some(after) if after > MAX_RETRY_AFTER => Err(Error::Status {
            status,
            code: None,
            message: format!(
                "the registry asks to retry after {} s; not waiting that long{}",
                after.as_secs(),
                rate_limit_note(response.headers())
            ),
        }),
        Some(after) => Ok(Some(after)),
        None => Ok(Some(backoff(attempt))),
    }
}

/// Docker Hub's pull-limit headers, to explain a long `Retry-After`.
fn rate_limit_note(headers: &HeaderMap) -> String {
    let mut parts = Vec::new();
    for name in ["ratelimit-limit", "ratelimit-remaining"] {
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
            parts.push(format!("{name}: {value}"));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// `Retry-After` as a duration: delay-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = parse_http_date(value)?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Parse an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form HTTP dates take today.
/// Fields out of range (a day of 32, an hour of 24, a year before 1970 or after 9999) make it
/// no date: a server's header must never make the arithmetic overflow.
pub fn parse_http_date(value: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let in_range = |text: &str, range: std::ops::RangeInclusive<i64>| {
        text.parse::<i64>().ok().filter(|n| range.contains(n))
    };
    let day = in_range(parts[1], 1..=31)?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])? as i64
        + 1;
    let year = in_range(parts[3], 1970..=9999)?;
    let mut hms = parts[4].split(':');
    let h = in_range(hms.next()?, 0..=23)?;
    let m = in_range(hms.next()?, 0..=59)?;
    let s = in_range(hms.next()?, 0..=60)?;
    if hms.next().is_some() {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + h * 3600 + m * 60 + s;
    let seconds = u64::try_from(seconds).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse_to_the_right_instant() {
        let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs, 784_111_777);
        assert!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT").is_none());
        assert!(parse_http_date("garbage").is_none());
    }

    #[test]
    fn absurd_http_dates_are_refused_without_overflowing() {
        for value in [
            "Sun, 06 Nov 9223372036854775807 08:49:37 GMT",
            "Sun, 06 Nov -9223372036854775808 08:49:37 GMT",
            "Sun, 06 Nov 1994 9223372036854775807:00:00 GMT",
            "Sun, 06 Nov 1994 08:-9223372036854775808:37 GMT",
            "Sun, 9223372036854775807 Nov 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(value), None, "{value}");
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            "retry-after",
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(3), Duration::from_millis(1000));
        assert_eq!(backoff(10), MAX_BACKOFF);
    }

    #[test]
    fn only_not_now_statuses_are_retried() {
        let retried: Vec<u16> = (100..600).filter(|&s| is_retryable_status(s)).collect();
        assert_eq!(retried, [408, 429, 500, 502, 503, 504]);
    }
}
