//! The `docker-credential-<name>` helper programs docker's config names: finding one on the
//! search path, running `get` with the server name, and reading its answer without ever
//! showing the secret in it.
//!
//! A helper is a program the user may not control, so it is run under bounds: it must answer
//! within a timeout (then it and everything it started are killed), its answer is read up to
//! its exit rather than to the end of its output (a background child of the helper may hold
//! that open forever), and more than 64 KiB of it is refused.

use super::{Credential, CredentialError, Found, Secret};
use serde::Deserialize;
use std::env;
use std::ffi::OsStr;
use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The `Username` a credential helper answers when `Secret` is an identity (refresh) token.
const TOKEN_USERNAME: &str = "<token>";

/// What credential helpers print when they have nothing for a server.
const NOT_FOUND: &str = "credentials not found";

/// Longest part of a helper's stderr line quoted in an error.
const STDERR_MAX: usize = 300;

/// The most a helper may print on stdout (an answer is a few hundred bytes), and the most of
/// its stderr that is kept.
pub const OUTPUT_MAX_BYTES: usize = 64 * 1024;

/// How long a credential helper may take to answer before it is stopped: 30 s, long enough
/// for a helper that asks for a passphrase. `main` takes [`HELPER_TIMEOUT_ENV`] when set.
pub const HELPER_TIMEOUT: Duration = Duration::from_secs(30);

/// Environment variable overriding [`HELPER_TIMEOUT`], in whole seconds, at least 1 (read as
/// `MANIFEST_TOOL_TIMEOUT_SECS` is). An unreadable value is ignored.
pub const HELPER_TIMEOUT_ENV: &str = "MANIFEST_TOOL_HELPER_TIMEOUT_SECS";

/// How often a running helper is checked for an exit, output, or the end of its time.
const POLL: Duration = Duration::from_millis(5);

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
/// A helper still running after `timeout` is killed with what it started.
pub fn run_helper(
    helper: &str,
    server: &str,
    timeout: Duration,
) -> Result<Option<Credential>, CredentialError> {
    run_helper_in(helper, server, None, timeout)
}

/// [`run_helper`], searching `path_var` (a `PATH`-style list) instead of `$PATH` when given; the
/// helper then also gets it as its `PATH`. Exists so tests need not change the process-wide
/// environment.
pub fn run_helper_in(
    helper: &str,
    server: &str,
    path_var: Option<&OsStr>,
    timeout: Duration,
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
    let output =
        run_bounded(&executable, server, path_var, timeout).map_err(|stop| match stop {
            Stop::Io(error) => CredentialError::HelperIo {
                program: program.clone(),
                error,
            },
            Stop::Timeout => CredentialError::HelperTimeout {
                program: program.clone(),
                server: server.to_string(),
                timeout,
            },
            Stop::TooLarge => CredentialError::HelperOutputTooLarge {
                program: program.clone(),
                server: server.to_string(),
            },
        })?;
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

/// What a helper printed, and how it exited.
struct Output {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

/// Why a helper run was given up.
enum Stop {
    /// It could not be started, or its input and output could not be exchanged.
    Io(io::Error),
    /// It was still running after the timeout; it was killed.
    Timeout,
    /// It printed more than [`OUTPUT_MAX_BYTES`] on stdout.
    TooLarge,
}

/// Runs `executable get` in a process group of its own with `server` on stdin, and collects
/// its output up to its exit. Its stdout and stderr are sockets read without blocking, so a
/// background child that keeps them open delays nothing. Past `timeout`, or past
/// [`OUTPUT_MAX_BYTES`] of stdout, the whole group is killed.
fn run_bounded(
    executable: &Path,
    server: &str,
    path_var: Option<&OsStr>,
    timeout: Duration,
) -> Result<Output, Stop> {
    let (mut stdout, stdout_theirs) = UnixStream::pair().map_err(Stop::Io)?;
    let (mut stderr, stderr_theirs) = UnixStream::pair().map_err(Stop::Io)?;
    stdout.set_nonblocking(true).map_err(Stop::Io)?;
    stderr.set_nonblocking(true).map_err(Stop::Io)?;
    let mut command = Command::new(executable);
    command
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::from(std::os::fd::OwnedFd::from(stdout_theirs)))
        .stderr(Stdio::from(std::os::fd::OwnedFd::from(stderr_theirs)))
        .process_group(0);
    if let Some(path_var) = path_var {
        command.env("PATH", path_var);
    }
    let mut child = command.spawn().map_err(Stop::Io)?;
    // The helper's ends of the sockets are closed here, so only it and its children hold them.
    drop(command);
    let deadline = Instant::now() + timeout;
    if let Some(mut stdin) = child.stdin.take() {
        // A helper may exit without reading its input; its exit status then tells what happened.
        // The server name is far smaller than a pipe's buffer, so this does not block.
        match stdin.write_all(server.as_bytes()) {
            Err(error) if error.kind() != io::ErrorKind::BrokenPipe => {
                kill_group(&mut child);
                return Err(Stop::Io(error));
            }
            _ => {}
        }
    }
    let mut output = Output {
        status: std::process::ExitStatus::default(),
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    loop {
        // Checked before reading, so that everything written before the exit is read.
        let exited = child.try_wait();
        let read = read_available(&mut stdout, &mut output.stdout)
            .and_then(|()| read_available(&mut stderr, &mut output.stderr));
        match exited {
            Ok(Some(status)) => {
                read.map_err(Stop::Io)?;
                if output.stdout.len() > OUTPUT_MAX_BYTES {
                    return Err(Stop::TooLarge);
                }
                output.status = status;
                return Ok(output);
            }
            Ok(None) => {
                let stop = match read {
                    Err(error) => Some(Stop::Io(error)),
                    Ok(()) if output.stdout.len() > OUTPUT_MAX_BYTES => Some(Stop::TooLarge),
                    Ok(()) if Instant::now() >= deadline => Some(Stop::Timeout),
                    Ok(()) => None,
                };
                if let Some(stop) = stop {
                    kill_group(&mut child);
                    return Err(stop);
                }
            }
            Err(error) => {
                kill_group(&mut child);
                return Err(Stop::Io(error));
            }
        }
        thread::sleep(POLL);
    }
}

/// Appends what `stream` has ready to `into`, up to one byte past [`OUTPUT_MAX_BYTES`] (enough
/// to tell that there was more), without waiting for more.
fn read_available(stream: &mut UnixStream, into: &mut Vec<u8>) -> io::Result<()> {
    let mut buffer = [0; 8192];
    while into.len() <= OUTPUT_MAX_BYTES {
        let room = (OUTPUT_MAX_BYTES + 1 - into.len()).min(buffer.len());
        match stream.read(&mut buffer[..room]) {
            Ok(0) => return Ok(()),
            Ok(n) => into.extend_from_slice(&buffer[..n]),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return Ok(()),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

/// Kills a helper that is still running, with every process in its group (it was started as
/// the leader of a group of its own), and reaps it.
fn kill_group(child: &mut Child) {
    unsafe extern "C" {
        fn kill(pid: i32, signal: i32) -> i32;
    }
    const SIGKILL: i32 = 9;
    if let Ok(pid) = i32::try_from(child.id()) {
        // SAFETY: kill(2) takes two integers and touches no memory of ours. The group id is the
        // helper's pid, which cannot have been reused: the helper has not been reaped yet.
        unsafe {
            kill(-pid, SIGKILL);
        }
    }
    let _ = child.wait();
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

fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}
