//! Integration-test harness: real `docker-registry` processes in four modes, a token server,
//! a deterministic OCI layout, and seeding with third-party clients (skopeo, the docker CLI).
#![allow(dead_code, unused_imports)]

mod bounded;
mod deps;
mod doc;
mod images;
mod layouts;
pub mod media;
mod proxy;
mod registry;
mod relay;
pub mod standins;
mod tempdir;
pub mod tls;
mod token_server;
mod tool;
mod upload;

pub use bounded::{MEMORY_LIMIT_KIB, outcome_within};
pub use deps::{fail, once, require, tool};
pub use doc::GeneratedDoc;
pub use images::{LAYOUT_SCRIPT, PLATFORM_TAGS, Seeded, layout_dir, seed};
pub use layouts::{
    blob_path, index_entry, layout_copy, layout_spec, manifest_of, retag, tags_in, walk,
};
pub use proxy::{Exchange, Fault, Handler, Hook, PLAIN_ON_TLS, Proxy, RetryAfter, Rule, Seen};
pub use registry::Registry;
pub use relay::Relay;
pub use tempdir::TempDir;
pub use token_server::{IDENTITY_TOKEN, TokenServer};
pub use tool::{
    NO_TAGS, Outcome, bare_command, debug_inspect_as_user, manifest_tool, mode_flags, outcome,
    outcome_with_stdin, push_spec, write_file,
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

/// How many lines of the access log `log` start with `prefix` (`METHOD /path...`).
pub fn count_starting_with(log: &[String], prefix: &str) -> usize {
    log.iter().filter(|l| l.starts_with(prefix)).count()
}

/// How many blob uploads to `repo` the registry access log `log` shows completed (`PUT` of
/// an upload answered 201).
pub fn completed_uploads(log: &[String], repo: &str) -> usize {
    let prefix = format!("PUT /v2/{repo}/blobs/uploads/");
    log.iter()
        .filter(|l| l.starts_with(&prefix) && l.ends_with(" 201"))
        .count()
}

/// One started and seeded registry per mode, shared by the tests of one test binary that only
/// read the seeded images or push to names of their own. It lives until the process exits. If
/// it cannot be started, every test sharing it fails with the same line (see [`once`]).
pub fn shared(mode: Mode) -> &'static (Registry, Seeded) {
    type Shared = std::sync::OnceLock<Result<(Registry, Seeded), String>>;
    static REGISTRIES: [Shared; 4] = [Shared::new(), Shared::new(), Shared::new(), Shared::new()];
    let slot = Mode::ALL.iter().position(|m| *m == mode).unwrap_or(0);
    once(&REGISTRIES[slot], || {
        let reg = Registry::start(mode);
        let seeded = seed(&reg);
        (reg, seeded)
    })
}
