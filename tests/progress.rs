//! The progress line of a push that copies blobs: on a terminal, once the copy has taken about
//! a second, one line that updates in place; never when stderr is not a terminal.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use std::sync::Arc;
use std::time::Duration;
use support::{Fault, Mode, Proxy, Rule, TempDir, bare_command, outcome, shared, write_file};

/// A push from the seeded registry into a new OCI layout, through a proxy that holds every
/// blob GET back for 1.5 s: the network of a slow registry, so that the copy takes longer than
/// the progress line's one-second delay. Returns the proxy (kept running), the spec file and
/// the directory both live in.
fn slow_push() -> (Proxy, String, TempDir) {
    let (reg, _) = shared(Mode::PlainHttp);
    let hold: support::Hook = Arc::new(|| std::thread::sleep(Duration::from_millis(1500)));
    let proxy = Proxy::with_rule(&reg.host(), Rule::new("GET", "/blobs/", Fault::Run(hold)));
    let dir = TempDir::new("mt-progress");
    let target = dir.path().join("out").display().to_string();
    let spec = format!(
        "image: oci-layout://{target}:v1\nmanifests:\n  - image: {0}/docker/app:linux-amd64\n  \
         - image: {0}/docker/app:linux-s390x\n",
        proxy.host()
    );
    let spec = write_file(dir.path(), "spec.yaml", &spec);
    (proxy, spec, dir)
}

#[test]
fn a_slow_copy_shows_one_progress_line_on_a_terminal() {
    let (_proxy, spec, home) = slow_push();
    let binary = env!("CARGO_BIN_EXE_manifest-tool");
    // `script` gives the program a pseudo-terminal for stdout and stderr, as a shell would.
    let clean = bare_command(&home);
    let mut script = support::tool("script");
    script
        .args([
            "-qec",
            &format!("{binary} --plain-http push from-spec {spec}"),
            "/dev/null",
        ])
        .envs(clean.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
    let shown = outcome(&mut script).success().out();
    // Every update starts at the line's beginning and erases what the one before left.
    let updates: Vec<&str> = shown
        .split('\r')
        .filter(|part| part.starts_with("copying blobs: "))
        .collect();
    assert!(!updates.is_empty(), "no progress line: {shown:?}");
    assert!(
        updates
            .iter()
            .all(|u| u.contains(" of ") && u.contains("/s\u{1b}[K")),
        "{updates:?}"
    );
    // The last one is whole (all bytes of the total) and ends the line; then the digest.
    let last = updates.last().copied().unwrap_or_default();
    let (done, rest) = last["copying blobs: ".len()..]
        .split_once(" of ")
        .unwrap_or_default();
    let total = rest.split(',').next().unwrap_or_default();
    assert_eq!(done, total, "{last:?}");
    assert!(last.ends_with("/s\u{1b}[K"), "{last:?}");
    let after = shown.rsplit_once(last).map(|(_, a)| a).unwrap_or_default();
    assert!(
        after.starts_with("\n") || after.starts_with("\r\n"),
        "{after:?}"
    );
    assert!(after.contains("Digest: sha256:"), "{shown:?}");
    // The other stages (manifests, list) are quick: only the blob stage has a line.
    assert_eq!(shown.matches("Digest: ").count(), 1);
}

#[test]
fn no_progress_line_when_stderr_is_not_a_terminal() {
    let (_proxy, spec, home) = slow_push();
    let run = outcome(bare_command(&home).args(["--plain-http", "push", "from-spec", &spec]));
    let run = run.success();
    assert_eq!(run.stderr, "");
    assert!(run.out().starts_with("Digest: sha256:"), "{}", run.out());
}
