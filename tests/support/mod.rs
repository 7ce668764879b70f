//! Integration-test harness: real `docker-registry` processes in four modes, a token server,
//! a deterministic OCI layout, and seeding with third-party clients (skopeo, the docker CLI).
#![allow(dead_code, unused_imports)]

mod images;
pub mod media;
mod proxy;
mod registry;
mod relay;
mod tempdir;
pub mod tls;
mod token_server;
mod tool;
mod upload;

pub use images::{LAYOUT_SCRIPT, PLATFORM_TAGS, Seeded, layout_dir, seed};
pub use proxy::{Fault, Hook, PLAIN_ON_TLS, Proxy, RetryAfter, Rule, Seen};
pub use registry::Registry;
pub use relay::Relay;
pub use tempdir::TempDir;
pub use token_server::{IDENTITY_TOKEN, TokenServer};
pub use tool::{
    Outcome, bare_command, manifest_tool, mode_flags, outcome, outcome_with_stdin, write_file,
};
pub use upload::{allow_layer_urls, put_manifest, upload_blob};

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// How a test registry is served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Plain HTTP, no authentication.
    PlainHttp,
    /// HTTPS with a certificate for 127.0.0.1, ::1 and localhost signed by a per-registry CA.
    Tls,
    /// HTTPS plus htpasswd (Basic) authentication for `USERNAME`/`PASSWORD`.
    TlsBasic,
    /// HTTPS plus bearer tokens from the harness's `TokenServer`.
    TlsToken,
}

impl Mode {
    /// All four modes, for tests that loop over them.
    pub const ALL: [Mode; 4] = [Mode::PlainHttp, Mode::Tls, Mode::TlsBasic, Mode::TlsToken];

    /// Whether the registry speaks HTTPS.
    pub fn is_tls(self) -> bool {
        self != Mode::PlainHttp
    }

    /// Whether the registry wants credentials (`TlsToken` still lets anyone pull `public/...`).
    pub fn has_auth(self) -> bool {
        matches!(self, Mode::TlsBasic | Mode::TlsToken)
    }
}

/// The user accepted by the auth modes (htpasswd entry and token server).
pub const USERNAME: &str = "tester";
/// `USERNAME`'s password.
pub const PASSWORD: &str = "s3cret-Pa55word";

/// A `Command` for a program the harness needs; panics with install advice when it is missing,
/// so that tests fail (never skip) on a machine without the test dependencies.
pub fn tool(name: &str) -> Command {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| is_executable(&dir.join(name))))
        .unwrap_or(false);
    if !found {
        let package = match name {
            "htpasswd" => "apache2-utils",
            "docker" => "docker.io",
            other => other,
        };
        panic!(
            "the integration tests need `{name}`, which is not on PATH: run `bash .ci/run` \
             (it installs the test dependencies) or `apt-get install {package}`"
        );
    }
    Command::new(name)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Runs `cmd` to completion; panics with the command line, status, stdout and stderr on failure.
pub fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not start {cmd:?}: {e}"));
    if !out.status.success() {
        panic!(
            "{cmd:?} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out
}

/// A directory under cargo's `CARGO_TARGET_TMPDIR` named `name`, filled once by `make` (into a
/// staging dir, then renamed) and reused by later test processes: for deterministic or
/// expensive inputs (the OCI layout, the token signer's RSA key) that no test should leak to
/// /tmp. `cargo clean` removes it.
fn target_cache(name: &str, make: impl FnOnce(&Path)) -> PathBuf {
    let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    if !target.exists() {
        let staging = target.with_extension(format!("tmp{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        std::fs::create_dir_all(&staging).unwrap();
        make(&staging);
        // Another test process may have won the race; its copy is as good.
        if std::fs::rename(&staging, &target).is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
    }
    target
}

/// `sha256:<hex>` of `bytes`: the digest of a manifest's exact bytes.
pub fn sha256_digest(bytes: &[u8]) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("sha256:{hex}")
}

/// One started and seeded registry per mode, shared by the tests of one test binary that only
/// read the seeded images or push to names of their own. It lives until the process exits.
pub fn shared(mode: Mode) -> &'static (Registry, Seeded) {
    static REGISTRIES: [std::sync::OnceLock<(Registry, Seeded)>; 4] = [
        std::sync::OnceLock::new(),
        std::sync::OnceLock::new(),
        std::sync::OnceLock::new(),
        std::sync::OnceLock::new(),
    ];
    let slot = Mode::ALL.iter().position(|m| *m == mode).unwrap_or(0);
    REGISTRIES[slot].get_or_init(|| {
        let reg = Registry::start(mode);
        let seeded = seed(&reg);
        (reg, seeded)
    })
}
