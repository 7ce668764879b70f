//! The `docker-credential-<name>` helper programs docker's config names: finding one on the
//! search path, running `get` with the server name, and reading its answer without ever
//! showing the secret in it.

use super::{Credential, CredentialError, Found, Secret};
use serde::Deserialize;
use std::env;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The `Username` a credential helper answers when `Secret` is an identity (refresh) token.
const TOKEN_USERNAME: &str = "<token>";

/// What credential helpers print when they have nothing for a server.
const NOT_FOUND: &str = "credentials not found";

/// Longest part of a helper's stderr line quoted in an error.
const STDERR_MAX: usize = 300;

/// How a lookup runs a credential helper: [`run_helper`], or in tests [`run_helper_in`] with a
/// search path of their own. Called with the helper name and the server name.
pub type HelperRunner<'r> = &'r dyn Fn(&str, &str) -> Result<Option<Credential>, CredentialError>;

/// Runs a helper named by the config; `Ok(None)` when it has no credentials for `server`.
pub(super) fn run_configured(
    helper: &str,
    server: &str,
    setting: String,
    run: HelperRunner<'_>,
) -> Result<Option<Found>, CredentialError> {
    match run(helper, server) {
        Ok(credential) => Ok(credential.map(|credential| Found {
            credential: Some(credential),
            source: format!("credential helper docker-credential-{helper} ({setting})"),
        })),
        Err(error) => Err(CredentialError::ConfiguredHelper {
            setting,
            error: Box::new(error),
        }),
    }
}

/// Runs `docker-credential-<helper> get` with the server name on stdin and reads
/// `{"ServerURL","Username","Secret"}`. Username `<token>` makes the secret an identity token.
/// `Ok(None)` when the helper has no credentials for the server ("credentials not found").
pub fn run_helper(helper: &str, server: &str) -> Result<Option<Credential>, CredentialError> {
    run_helper_in(helper, server, None)
}

/// [`run_helper`], searching `path_var` (a `PATH`-style list) instead of `$PATH` when given; the
/// helper then also gets it as its `PATH`. Exists so tests need not change the process-wide
/// environment.
pub fn run_helper_in(
    helper: &str,
    server: &str,
    path_var: Option<&OsStr>,
) -> Result<Option<Credential>, CredentialError> {
    if helper.is_empty() || helper.contains(['/', '\\']) {
        return Err(CredentialError::InvalidHelperName {
            name: helper.to_string(),
        });
    }
    let program = format!("docker-credential-{helper}");
    let search = match path_var {
        Some(path_var) => Some(path_var.to_os_string()),
        // `PATH` is looked up as `Command` itself would, at the moment a helper runs: the
        // helper inherits the whole environment anyway, so it is not passed down from `main`.
        None => env::var_os("PATH"),
    };
    let Some(executable) = search.as_deref().and_then(|s| find_executable(&program, s)) else {
        return Err(CredentialError::HelperNotFound { program });
    };

    let mut command = Command::new(executable);
    command
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(path_var) = path_var {
        command.env("PATH", path_var);
    }
    let io_error = |error| CredentialError::HelperIo {
        program: program.clone(),
        error,
    };
    let mut child = command.spawn().map_err(io_error)?;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper may exit without reading its input; its exit status then tells what happened.
        match stdin.write_all(server.as_bytes()) {
            Err(error) if error.kind() != io::ErrorKind::BrokenPipe => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(io_error(error));
            }
            _ => {}
        }
    }
    let output = child.wait_with_output().map_err(io_error)?;
    let says_not_found = || {
        [&output.stdout, &output.stderr].iter().any(|bytes| {
            String::from_utf8_lossy(bytes)
                .to_lowercase()
                .contains(NOT_FOUND)
        })
    };

    if !output.status.success() {
        if says_not_found() {
            return Ok(None);
        }
        let stderr = String::from_utf8_lossy(&output.stderr);
        let detail = match stderr.lines().map(str::trim).find(|l| !l.is_empty()) {
            Some(line) if line.len() > STDERR_MAX => {
                let end = (0..=STDERR_MAX)
                    .rev()
                    .find(|&i| line.is_char_boundary(i))
                    .unwrap_or(0);
                format!("{}…", &line[..end])
            }
            Some(line) => line.to_string(),
            None => format!("{} and printed nothing on stderr", output.status),
        };
        return Err(CredentialError::HelperFailed {
            program,
            server: server.to_string(),
            detail,
        });
    }

    #[derive(Deserialize)]
    struct Answer {
        #[serde(rename = "Username", default)]
        username: String,
        #[serde(rename = "Secret", default)]
        secret: String,
    }
    let answer: Answer = match serde_json::from_slice(&output.stdout) {
        Ok(answer) => answer,
        Err(_) if says_not_found() => return Ok(None),
        Err(_) => {
            return Err(CredentialError::HelperOutput {
                program,
                server: server.to_string(),
            });
        }
    };
    if answer.secret.is_empty() {
        return Ok(None);
    }
    Ok(Some(if answer.username == TOKEN_USERNAME {
        Credential::IdentityToken {
            username: String::new(),
            token: Secret(answer.secret),
        }
    } else {
        Credential::UserPassword {
            username: answer.username,
            password: Secret(answer.secret),
        }
    }))
}

/// The first executable file named `program` in the absolute directories of `path_var`
/// (relative and empty entries are skipped, as a credential helper must not come from the
/// working directory).
pub(super) fn find_executable(program: &str, path_var: &OsStr) -> Option<PathBuf> {
    env::split_paths(path_var)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file())
}
