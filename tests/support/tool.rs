//! Running the manifest-tool binary under test, isolated from the machine's docker config,
//! certificate directories and proxies, with the flags a registry mode needs.

use super::{Mode, PASSWORD, Registry, TempDir, USERNAME};
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// What one run of the binary did.
#[derive(Debug)]
pub struct Outcome {
    /// The exit code (-1 if killed by a signal).
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Outcome {
    /// stdout as text.
    pub fn out(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Panics with both streams unless the run succeeded.
    pub fn success(self) -> Outcome {
        assert_eq!(
            self.code,
            0,
            "manifest-tool failed\n--- stdout\n{}\n--- stderr\n{}",
            self.out(),
            self.stderr
        );
        self
    }

    /// Asserts the failure contract: exit 1, nothing on stdout, exactly one line on stderr that
    /// starts with the Go tool's prefix and contains `fragment`. Returns that line.
    pub fn fails_with(&self, fragment: &str) -> String {
        assert_eq!(
            self.code,
            1,
            "expected exit 1\n--- stdout\n{}\n--- stderr\n{}",
            self.out(),
            self.stderr
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        let last = lines.last().copied().unwrap_or("");
        assert!(
            last.starts_with("manifest-tool failed with error: "),
            "stderr does not end with the error line:\n{}",
            self.stderr
        );
        assert_eq!(
            lines
                .iter()
                .filter(|l| !l.starts_with("debug: ") && !l.starts_with("warning: "))
                .count(),
            1,
            "expected one error line:\n{}",
            self.stderr
        );
        assert!(
            last.contains(fragment),
            "error line does not mention {fragment:?}:\n{last}"
        );
        last.to_string()
    }

    /// Panics if `secret` appears anywhere in stdout or stderr.
    pub fn assert_no_secret(&self, secret: &str) {
        assert!(
            !self.out().contains(secret) && !self.stderr.contains(secret),
            "secret leaked into the output:\n--- stdout\n{}\n--- stderr\n{}",
            self.out(),
            self.stderr
        );
    }
}

/// A `Command` for the binary with a clean environment: an empty docker config directory, no
/// certs.d, no proxies, no colour. `home` keeps the empty docker config alive.
pub fn bare_command(home: &TempDir) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_manifest-tool"));
    let docker_config = home.path().join("docker-config");
    let _ = std::fs::create_dir_all(&docker_config);
    cmd.env("DOCKER_CONFIG", &docker_config)
        .env("HOME", home.path())
        .env("MANIFEST_TOOL_CERTS_D", home.path().join("certs.d"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    for name in [
        "XDG_CACHE_HOME",
        "SSL_CERT_FILE",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "no_proxy",
    ] {
        cmd.env_remove(name);
    }
    cmd
}

/// The flags `reg`'s mode needs: `--plain-http`, or `--cacert` with its CA; and for the auth
/// modes `--username`/`--password`.
pub fn mode_flags(reg: &Registry) -> Vec<String> {
    let mut flags = Vec::new();
    match reg.ca_cert() {
        Some(ca) => flags.extend(["--cacert".to_string(), ca.display().to_string()]),
        None => flags.push("--plain-http".to_string()),
    }
    if matches!(reg.mode(), Mode::TlsBasic | Mode::TlsToken) {
        flags.extend([
            "--username".to_string(),
            USERNAME.to_string(),
            "--password".to_string(),
            PASSWORD.to_string(),
        ]);
    }
    flags
}

/// Run the binary against `reg` with its mode's flags followed by `args`.
pub fn manifest_tool(reg: &Registry, args: &[&str]) -> Outcome {
    let home = TempDir::new("mt-home");
    let mut cmd = bare_command(&home);
    cmd.args(mode_flags(reg)).args(args);
    outcome(&mut cmd)
}

/// Run `--debug inspect name` from `home`, trusting the CA at `ca` and signing in as
/// `USERNAME` with `password`.
pub fn debug_inspect_as_user(home: &TempDir, ca: &str, password: &str, name: &str) -> Outcome {
    outcome(bare_command(home).args([
        "--cacert",
        ca,
        "--debug",
        "--username",
        USERNAME,
        "--password",
        password,
        "inspect",
        name,
    ]))
}

/// Run a prepared command and collect what it did.
pub fn outcome(cmd: &mut Command) -> Outcome {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("could not start {cmd:?}: {e}"));
    Outcome::from(out)
}

/// Run a prepared command with `text` on its standard input.
pub fn outcome_with_stdin(cmd: &mut Command, text: &str) -> Outcome {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {cmd:?}: {e}"));
    if let Some(mut stdin) = child.stdin.take() {
        // The program may exit without reading its input; that is its answer, not ours.
        let _ = stdin.write_all(text.as_bytes());
    }
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("waiting for {cmd:?}: {e}"));
    Outcome::from(out)
}

impl From<Output> for Outcome {
    fn from(out: Output) -> Outcome {
        Outcome {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Write `text` to `dir/name` and return the path as a string.
pub fn write_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    path.display().to_string()
}

/// The extra tags of a spec that has none, for [`push_spec`].
pub const NO_TAGS: &[&str] = &[];

/// A spec (YAML) pushing `sources` (image references, in order) to `target` with extra `tags`.
pub fn push_spec(target: &str, sources: &[impl AsRef<str>], tags: &[impl AsRef<str>]) -> String {
    let mut spec = format!("image: {target}\n");
    if !tags.is_empty() {
        let tags: Vec<&str> = tags.iter().map(AsRef::as_ref).collect();
        spec.push_str(&format!("tags: [{}]\n", tags.join(", ")));
    }
    spec.push_str("manifests:\n");
    for source in sources {
        spec.push_str(&format!("  - image: {}\n", source.as_ref()));
    }
    spec
}
