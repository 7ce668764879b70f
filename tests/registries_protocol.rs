//! The protocol liberties registries take, each shown against the real registry (behind a
//! stand-in proxy profile, `tests/support/standins/`, when the behaviour is another
//! registry's): a wrong `--plain-http`, large tokens and passwords, the registry's own reason in
//! errors, tokens refused for some scopes, and small liberties in uploads and manifests.

mod support;

use std::time::Duration;
use support::{
    Mode, Registry, TempDir, bare_command, layout_copy, layout_spec, outcome_within, write_file,
};

/// A bound far below the 21 s a push took retrying every blob, far above what one attempt
/// takes on a loaded machine.
const FIRST_ATTEMPT: Duration = Duration::from_secs(8);

/// A push of two layout images to `target` with `flags`, within [`FIRST_ATTEMPT`].
fn push_layout_within(dir: &TempDir, flags: &[String], target: &str) -> support::Outcome {
    let source = layout_copy(dir);
    let spec = layout_spec(target, &source, &["linux-amd64", "linux-arm64-v8"]);
    let file = write_file(dir.path(), "spec.yaml", &spec);
    let mut cmd = bare_command(dir);
    cmd.args(flags)
        .args(["--debug", "push", "from-spec", &file]);
    outcome_within(&cmd, FIRST_ATTEMPT)
}

/// Runs `inspect` of `name` with `flags`, within [`FIRST_ATTEMPT`].
fn inspect_within(dir: &TempDir, flags: &[String], name: &str) -> support::Outcome {
    let mut cmd = bare_command(dir);
    cmd.args(flags).args(["--debug", "inspect", name]);
    outcome_within(&cmd, FIRST_ATTEMPT)
}

/// Asserts that `run` failed at its first attempt (no retry in its `--debug` lines) with an
/// error line ending in `end`.
fn failed_at_once_with(run: &support::Outcome, end: &str) {
    let line = run.fails_with(end);
    assert!(line.ends_with(end), "{line}");
    assert!(!run.stderr.contains("retrying"), "{}", run.stderr);
}

/// TLS spoken to a plain-HTTP registry: a push (from a layout, so its first requests are the
/// blob checks) and an inspect fail at their first request with the hint, retrying nothing.
#[test]
fn tls_to_a_plain_http_registry_fails_at_once_with_the_hint() {
    let reg = Registry::start(Mode::PlainHttp);
    let host = reg.host();
    let end = format!(
        "cannot reach {host}: the server does not speak TLS (use --plain-http for a plain-HTTP \
         registry)"
    );
    let dir = TempDir::new("mt-proto-tls-to-plain");
    failed_at_once_with(
        &push_layout_within(&dir, &[], &format!("{host}/wrong/scheme:1")),
        &end,
    );
    failed_at_once_with(&inspect_within(&dir, &[], &format!("{host}/a/b:1")), &end);
}

/// Plain HTTP spoken to a TLS registry (Go's server answers `HTTP/1.0 400` with no header):
/// the same, with the reverse hint.
#[test]
fn plain_http_to_a_tls_registry_fails_at_once_with_the_hint() {
    let reg = Registry::start(Mode::Tls);
    let host = reg.host();
    let end = format!(
        "cannot reach {host}: the server speaks TLS (drop --plain-http for an HTTPS registry)"
    );
    let dir = TempDir::new("mt-proto-plain-to-tls");
    let flags = ["--plain-http".to_string()];
    failed_at_once_with(
        &push_layout_within(&dir, &flags, &format!("{host}/wrong/scheme:1")),
        &end,
    );
    failed_at_once_with(
        &inspect_within(&dir, &flags, &format!("{host}/a/b:1")),
        &end,
    );
}
