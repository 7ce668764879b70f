//! The protocol liberties registries take, each shown against the real registry (behind a
//! stand-in proxy profile, `tests/support/standins/`, when the behaviour is another
//! registry's): a wrong `--plain-http`, large tokens and passwords, the registry's own reason in
//! errors, tokens refused for some scopes, and small liberties in uploads and manifests.

mod support;

use std::time::Duration;
use support::standins::{auth, protocol};
use support::{
    Mode, Outcome, Proxy, Registry, TempDir, bare_command, layout_copy, layout_spec, outcome,
    outcome_within, sha256_digest, shared, write_file,
};

/// Runs the binary with `--plain-http` and `args` (a stand-in proxy speaks plain HTTP).
fn run_plain(args: &[&str]) -> Outcome {
    let home = TempDir::new("mt-proto");
    outcome(bare_command(&home).arg("--plain-http").args(args))
}

/// A spec pushing `images` (repository:tag of `host`) to `target`.
fn spec(target: &str, host: &str, images: &[&str]) -> String {
    let mut spec = format!("image: {target}\nmanifests:\n");
    for image in images {
        spec.push_str(&format!("  - image: {host}/{image}\n"));
    }
    spec
}

/// Pushes the spec of `images` to `target` through `host` with `flags`, from a file in `dir`.
fn push_spec(dir: &TempDir, flags: &[&str], target: &str, host: &str, images: &[&str]) -> Outcome {
    let file = write_file(dir.path(), "spec.yaml", &spec(target, host, images));
    outcome(
        bare_command(dir)
            .arg("--plain-http")
            .args(flags)
            .args(["push", "from-spec", &file]),
    )
}

/// `Digest: <digest> <size>` of what `repo_and_ref` of `reg` holds: what a push prints.
fn digest_line(reg: &Registry, repo_and_ref: &str) -> String {
    let bytes = reg.skopeo_inspect_raw(repo_and_ref);
    format!("Digest: {} {}\n", sha256_digest(&bytes), bytes.len())
}

/// The `Authorization` values a stand-in saw, by length.
fn authorization_lengths(proxy: &Proxy) -> Vec<usize> {
    let mut lengths: Vec<usize> = proxy
        .seen()
        .iter()
        .filter_map(|s| s.authorization.as_ref().map(String::len))
        .collect();
    lengths.sort_unstable();
    lengths.dedup();
    lengths
}

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

/// The seeded list as `inspect` prints it straight from the registry, with the registry's
/// host written as `HOST`.
fn inspect_text(reg: &Registry) -> String {
    let run = run_plain(&["inspect", &format!("{}/docker/app:list", reg.host())]).success();
    run.out().replace(&reg.host(), "HOST")
}

/// A token of a megabyte (the largest token answer read is 1 MiB) goes whole on every request:
/// inspect through the stand-in prints what it prints without it.
#[test]
fn a_token_of_a_megabyte_is_sent_whole() {
    let (reg, _) = shared(Mode::PlainHttp);
    let proxy = auth::large_tokens(&reg.host(), 1_000_000);
    let run = run_plain(&["inspect", &format!("{}/docker/app:list", proxy.host())]).success();
    assert_eq!(run.out().replace(&proxy.host(), "HOST"), inspect_text(reg));
    assert_eq!(authorization_lengths(&proxy), ["Bearer ".len() + 1_000_000]);
}

/// A push with a 100 KiB token: every request, blob mounts and uploads included, carries it.
#[test]
fn a_push_with_a_large_token_succeeds() {
    let (reg, _) = shared(Mode::PlainHttp);
    let proxy = auth::large_tokens(&reg.host(), 100 * 1024);
    let dir = TempDir::new("mt-proto-large-token");
    let host = proxy.host();
    let images = ["docker/app:linux-amd64", "oci/app:linux-arm64-v8"];
    let run = push_spec(&dir, &[], &format!("{host}/large/token:1"), &host, &images).success();
    assert_eq!(run.out(), digest_line(reg, "large/token:1"));
    assert_eq!(
        authorization_lengths(&proxy),
        ["Bearer ".len() + 100 * 1024]
    );
}

/// A Basic password of 7,000 characters (the head once held about 6,100) and of 100,000
/// reaches the registry whole.
#[test]
fn a_long_basic_password_is_sent_whole() {
    let (reg, _) = shared(Mode::PlainHttp);
    let proxy = auth::basic_auth(&reg.host());
    for length in [7_000, 100_000] {
        let password = "p".repeat(length);
        let run = run_plain(&[
            "--username",
            "u",
            "--password",
            &password,
            "inspect",
            &format!("{}/docker/app:list", proxy.host()),
        ])
        .success();
        assert_eq!(run.out().replace(&proxy.host(), "HOST"), inspect_text(reg));
        let basic = "Basic ".len() + (length + 2).div_ceil(3) * 4;
        assert!(authorization_lengths(&proxy).contains(&basic), "{length}");
    }
}

/// Quay gives the reason a manifest is refused only in the error's `detail`: the error line
/// shows it after the code and message.
#[test]
fn a_registry_reason_in_the_error_detail_is_shown() {
    let (reg, _) = shared(Mode::PlainHttp);
    let reason = "manifest list entries must be Docker manifests";
    let proxy = protocol::quay_refusing_manifests(&reg.host(), reason);
    let dir = TempDir::new("mt-proto-quay-detail");
    let host = proxy.host();
    let images = ["docker/app:linux-amd64", "docker/app:linux-s390x"];
    let run = push_spec(
        &dir,
        &[],
        &format!("{host}/docker/app:refused"),
        &host,
        &images,
    );
    let line = run.fails_with(reason);
    assert_eq!(
        line,
        format!(
            "manifest-tool failed with error: pushing the list to {host}/docker/app:refused: \
             400 MANIFEST_INVALID: manifest invalid: {reason}"
        )
    );
}

/// A registry that quotes the credentials it got in its error detail, with control
/// characters and kilobytes of padding: the line shows the detail redacted, on one line,
/// shortened.
#[test]
fn a_detail_quoting_the_credentials_is_redacted_and_shortened() {
    let (reg, _) = shared(Mode::PlainHttp);
    let proxy = protocol::quoting_credentials(&reg.host());
    let password = "detail-Pa55word-quoted";
    let run = run_plain(&[
        "--username",
        "u",
        "--password",
        password,
        "inspect",
        &format!("{}/docker/app:list", proxy.host()),
    ]);
    let line = run.fails_with("403 DENIED: denied: [2Jrefused Basic <redacted> ");
    run.assert_no_secret(password);
    let padding = 200 - "[2Jrefused Basic <redacted> ".chars().count();
    assert_eq!(
        line,
        format!(
            "manifest-tool failed with error: fetching {host}/docker/app:list: {host} refused \
             access (403 DENIED: denied: [2Jrefused Basic <redacted> {}…); credentials from \
             --username/--password",
            "x".repeat(padding),
            host = proxy.host(),
        )
    );
}
