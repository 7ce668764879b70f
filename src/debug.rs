//! `--debug` lines on stderr, from any thread, and the gate that ends them before the final line.
//!
//! Connections opened ahead of need are opened on threads that nothing joins (a connect can take
//! seconds to fail, and a failed run must not wait for it), so such a thread could print its
//! line after `main` printed the run's last one: the error line, which scripts and tests read as
//! the last line of stderr. Every debug line goes through [`debug_line!`](crate::debug_line), and `main` calls [`finish`]
//! before its last line: from then on, debug lines are dropped.

use std::sync::{Mutex, OnceLock};
use std::time::Instant;

/// Whether debug lines are still printed; `false` once [`finish`] has been called.
static OPEN: Mutex<bool> = Mutex::new(true);

/// When the run started, for the times in debug lines (see [`start`]).
static STARTED: OnceLock<Instant> = OnceLock::new();

/// Mark the start of the run: [`run_ms`] counts from here. `main` calls it first; without
/// that call the clock starts at the first [`run_ms`].
pub fn start() {
    STARTED.get_or_init(Instant::now);
}

/// Milliseconds since [`start`]: where in the run a debug line's event happened, so a slow
/// run shows which request waited on which.
pub fn run_ms() -> u128 {
    STARTED.get_or_init(Instant::now).elapsed().as_millis()
}

/// `debug_line!("format", args…)`: print `debug: <message>` on stderr through [`line`]. The
/// caller decides whether `--debug` was given.
#[macro_export]
macro_rules! debug_line {
    ($($arg:tt)*) => {
        $crate::debug::line(format_args!($($arg)*))
    };
}

/// Print `debug: <message>` on stderr, unless [`finish`] was called. The message is outside data
/// (URLs, headers, errors a registry chose), so secrets are redacted
/// ([`redact`](crate::redact::redact)) and control characters escaped
/// ([`escape_controls`](crate::escape::escape_controls)).
pub fn line(message: std::fmt::Arguments) {
    let message = crate::escape::escape_controls(&crate::redact::redact(&message.to_string()));
    let open = OPEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if *open {
        eprintln!("debug: {message}");
    }
}

/// The `--debug` line of one request: `METHOD URL -> OUTCOME in N ms (at M ms)`, where N is how
/// long its answer took since `started` and M is [`run_ms`]. `url` has no query (it may carry
/// signatures).
pub fn request_line(method: &str, url: &str, outcome: &dyn std::fmt::Display, started: Instant) {
    line(format_args!(
        "{method} {url} -> {outcome} in {} ms (at {} ms)",
        started.elapsed().as_millis(),
        run_ms()
    ));
}

/// Stop printing debug lines. Returns once no thread is in the middle of printing one.
pub fn finish() {
    *OPEN.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = false;
}
