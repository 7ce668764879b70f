//! The Debian programs the harness runs, and failing a test in one line when one is missing.
//!
//! The tests fail (never skip) on a machine without them, with or without `CI`: a skipped test
//! reads as a passed one. A missing program is not a bug of the test, so the failure is one
//! line saying what to install, without the panic's location and backtrace.

use std::any::Any;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;

/// Every program the harness runs, with the Debian package that provides it (the list
/// `make deps` installs).
const TOOLS: [(&str, &str); 8] = [
    ("docker-registry", "docker-registry"),
    ("skopeo", "skopeo"),
    ("htpasswd", "apache2-utils"),
    ("openssl", "openssl"),
    ("python3", "python3"),
    ("unshare", "util-linux"),
    ("ip", "iproute2"),
    ("docker", "docker.io"),
];

/// A `Command` for a program the harness needs; fails the test with [`require`]'s line when
/// it is not on PATH.
pub fn tool(name: &str) -> Command {
    require(&[name]);
    Command::new(name)
}

/// Fails the test in one line unless every program in `names` is on PATH. The line names
/// them and every other harness program missing too, so that one install fixes the machine.
pub fn require(names: &[&str]) {
    if names.iter().all(|name| on_path(name)) {
        return;
    }
    let mut missing: Vec<&str> = names.iter().copied().filter(|n| !on_path(n)).collect();
    for (name, _) in TOOLS {
        if !missing.contains(&name) && !on_path(name) {
            missing.push(name);
        }
    }
    let packages: Vec<&str> = missing
        .iter()
        .map(|name| {
            TOOLS
                .iter()
                .find(|(n, _)| n == name)
                .map_or(*name, |(_, p)| p)
        })
        .collect();
    fail(&format!(
        "the integration tests need {} (not on PATH): run `make deps`, or `apt-get install {}`",
        missing.join(", "),
        packages.join(" ")
    ))
}

fn on_path(name: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let is_executable = |path: &Path| {
        path.metadata()
            .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| is_executable(&dir.join(name)))
    })
}

/// The payload of a test failed by [`fail`]: its line has been printed already.
struct Failed(String);

/// Fails the calling test with `line` alone: printed once (libtest shows it under the test's
/// name), without the panic hook's location and backtrace, which would say nothing more.
pub fn fail(line: &str) -> ! {
    eprintln!("{line}");
    std::panic::resume_unwind(Box::new(Failed(line.to_string())))
}

/// Runs `init` once per test binary and gives every caller its value: for what several tests
/// share (a seeded registry). If `init` fails, the first caller fails as `init` did, and every
/// later one with the same line, rather than starting it all again or reporting a poisoned
/// lock.
pub fn once<T: Send + Sync>(
    cell: &'static OnceLock<Result<T, String>>,
    init: impl FnOnce() -> T,
) -> &'static T {
    let mut first_failure = None;
    let value = cell.get_or_init(|| {
        std::panic::catch_unwind(AssertUnwindSafe(init)).map_err(|payload| {
            let line = first_line(&*payload);
            first_failure = Some(payload);
            line
        })
    });
    if let Some(payload) = first_failure {
        std::panic::resume_unwind(payload); // already shown, by `fail` or the panic hook
    }
    match value {
        Ok(value) => value,
        Err(line) => fail(line),
    }
}

/// What a failure said, in one line: a [`fail`] line as it is, else the panic message's first
/// line and where the rest is.
fn first_line(payload: &(dyn Any + Send)) -> String {
    if let Some(Failed(line)) = payload.downcast_ref() {
        return line.clone();
    }
    let message = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    let first = message.lines().next().unwrap_or_default();
    format!("{first} (set up by another test; its output has the rest)")
}
