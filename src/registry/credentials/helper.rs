//! The `docker-credential-<name>` helper programs docker's config names: finding one on the
//! search path, running `get` with the server name, and reading its answer without ever
//! showing the secret in it.
//!
//! A helper is a program the user may not control, so it is run under bounds: it must answer
//! within a timeout (then it and everything it started are killed), its answer is read up to
//! its exit rather than to the end of its output (a background child of the helper may hold
//! that open forever), and more than 64 KiB of it is refused.
//!
//! On Windows the helper is `docker-credential-<name>` with an extension of `PATHEXT` (so
//! `.exe`), started in a process group of its own, its pipes read by threads that hand over
//! what they read, and on timeout the helper itself is killed (`TerminateProcess`: Windows has
//! no process-group kill; what the helper started lives on, without our pipes' read ends).

use super::{Credential, CredentialError, Found, Secret};
use serde::Deserialize;
use std::env;
use std::ffi::OsStr;
#[cfg(unix)]
use std::fs;
use std::io::{self, Read, Write};
#[cfg(unix)]
use std::os::unix::fs::PermissionsExt;
#[cfg(unix)]
use std::os::unix::net::UnixStream;
#[cfg(unix)]
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

/// Writes `server` to the helper's stdin. A helper may exit without reading its input (its
/// exit status then tells what happened), so a broken pipe is no error; the server name is far
/// smaller than a pipe's buffer, so this does not block.
fn write_server(child: &mut Child, server: &str) -> io::Result<()> {
    match child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(server.as_bytes()))
    {
        Some(Err(error)) if error.kind() != io::ErrorKind::BrokenPipe => Err(error),
        _ => Ok(()),
    }
}

/// The output of a helper that exited with `status`, once what it wrote is `read`.
fn output_of_exit(
    read: io::Result<()>,
    mut output: Output,
    status: std::process::ExitStatus,
) -> Result<Output, Stop> {
    read.map_err(Stop::Io)?;
    if output.stdout.len() > OUTPUT_MAX_BYTES {
        return Err(Stop::TooLarge);
    }
    output.status = status;
    Ok(output)
}

/// Why to stop a helper that is still running, if it must be: reading its output failed, it
/// printed too much, or `deadline` has passed.
fn stop_running(read: io::Result<()>, output: &Output, deadline: Instant) -> Option<Stop> {
    match read {
        Err(error) => Some(Stop::Io(error)),
        Ok(()) if output.stdout.len() > OUTPUT_MAX_BYTES => Some(Stop::TooLarge),
        Ok(()) if Instant::now() >= deadline => Some(Stop::Timeout),
        Ok(()) => None,
    }
}

/// Writes `server` to `child`, then polls it until it exits or must be stopped. Each round
/// `read` takes in what it wrote (told whether it has exited, so it can wait for the rest); past
/// `timeout`, on an error or on too much output, `kill` ends it.
fn wait_for_exit(
    child: &mut Child,
    server: &str,
    timeout: Duration,
    mut read: impl FnMut(&mut Output, bool) -> io::Result<()>,
    kill: fn(&mut Child),
) -> Result<Output, Stop> {
    let deadline = Instant::now() + timeout;
    if let Err(error) = write_server(child, server) {
        kill(child);
        return Err(Stop::Io(error));
    }
    let mut output = Output {
        status: std::process::ExitStatus::default(),
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    loop {
        // Checked before reading, so that everything written before the exit is read.
        let exited = child.try_wait();
        let read = read(&mut output, matches!(exited, Ok(Some(_))));
        match exited {
            Ok(Some(status)) => return output_of_exit(read, output, status),
            Ok(None) => {
                if let Some(stop) = stop_running(read, &output, deadline) {
                    kill(child);
                    return Err(stop);
                }
            }
            Err(error) => {
                kill(child);
                return Err(Stop::Io(error));
            }
        }
        thread::sleep(POLL);
    }
}

/// Runs `executable get` in a process group of its own with `server` on stdin, and collects
/// its output up to its exit. Its stdout and stderr are sockets read without blocking, so a
/// background child that keeps them open delays nothing. Past `timeout`, or past
/// [`OUTPUT_MAX_BYTES`] of stdout, the whole group is killed.
#[cfg(unix)]
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
    let read = |output: &mut Output, _exited: bool| {
        read_available(&mut stdout, &mut output.stdout)
            .and_then(|()| read_available(&mut stderr, &mut output.stderr))
    };
    wait_for_exit(&mut child, server, timeout, read, kill_group)
}

/// Appends what `stream` has ready to `into`, up to one byte past [`OUTPUT_MAX_BYTES`] (enough
/// to tell that there was more), without waiting for more.
#[cfg(unix)]
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
#[cfg(unix)]
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
#[cfg(unix)]
pub(super) fn find_executable(program: &str, path_var: &OsStr) -> Option<PathBuf> {
    env::split_paths(path_var)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The extensions Windows tries when `PATHEXT` is unset or empty.
#[cfg(windows)]
const DEFAULT_PATHEXT: &str = ".COM;.EXE;.BAT;.CMD";

/// The first file named `program` plus an extension of `PATHEXT` (`.exe`, …), in order, in
/// the absolute directories of `path_var`, as Windows' own search finds a program (relative
/// and empty entries are skipped, as a credential helper must not come from the working
/// directory).
#[cfg(windows)]
pub(super) fn find_executable(program: &str, path_var: &OsStr) -> Option<PathBuf> {
    let pathext = env::var("PATHEXT")
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PATHEXT.to_string());
    let extensions: Vec<&str> = pathext
        .split(';')
        .map(str::trim)
        .filter(|ext| ext.starts_with('.') && ext.len() > 1)
        .collect();
    env::split_paths(path_var)
        .filter(|dir| dir.is_absolute())
        .flat_map(|dir| {
            extensions
                .iter()
                .map(move |ext| dir.join(format!("{program}{ext}")))
        })
        .find(|candidate| candidate.is_file())
}

/// Which of a helper's outputs a [`Chunk`] comes from.
#[cfg(windows)]
#[derive(Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// What a reader thread hands over: bytes read, its end (an empty vector), or a read error.
#[cfg(windows)]
type Chunk = (Stream, io::Result<Vec<u8>>);

/// How long the output of a helper that has exited may take to arrive: it is in the pipes
/// already, but a reader thread may not have handed it over yet. Not to its end, as a process
/// the helper started may hold the pipes open.
#[cfg(windows)]
const EXIT_GRACE: Duration = Duration::from_millis(500);

/// Runs `executable get` in a process group of its own (`CREATE_NEW_PROCESS_GROUP`, so a
/// Ctrl+C meant for us is not its to handle) with `server` on stdin, and collects its output
/// up to its exit. Windows pipes cannot be read without blocking, so a thread per pipe reads
/// and hands over what it reads through a channel; the wait is bounded here, not in the
/// threads. Past `timeout`, or past [`OUTPUT_MAX_BYTES`] of stdout, the helper is killed.
#[cfg(windows)]
fn run_bounded(
    executable: &Path,
    server: &str,
    path_var: Option<&OsStr>,
    timeout: Duration,
) -> Result<Output, Stop> {
    use std::os::windows::process::CommandExt;
    use std::sync::mpsc;
    /// `CREATE_NEW_PROCESS_GROUP` (winbase.h); std has no public name for it.
    const CREATE_NEW_PROCESS_GROUP: u32 = 0x0000_0200;
    let mut command = Command::new(executable);
    command
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .creation_flags(CREATE_NEW_PROCESS_GROUP);
    if let Some(path_var) = path_var {
        command.env("PATH", path_var);
    }
    let mut child = command.spawn().map_err(Stop::Io)?;
    let (sender, chunks) = mpsc::channel::<Chunk>();
    let pipes: [(Stream, Option<Box<dyn Read + Send>>); 2] = [
        (
            Stream::Stdout,
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
        (
            Stream::Stderr,
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        ),
    ];
    let mut open = 0;
    for (stream, pipe) in pipes {
        if let Some(pipe) = pipe {
            let sender = sender.clone();
            thread::spawn(move || read_to_channel(stream, pipe, &sender));
            open += 1;
        }
    }
    drop(sender);
    // What has come; once the helper has exited, what is still on its way, for a short grace.
    let read = |output: &mut Output, exited: bool| {
        let mut read = Ok(());
        while read.is_ok() {
            match chunks.try_recv() {
                Ok(chunk) => read = take_chunk(chunk, output, &mut open),
                Err(_) => break,
            }
        }
        if exited {
            let grace = Instant::now() + EXIT_GRACE;
            while read.is_ok() && open > 0 && output.stdout.len() <= OUTPUT_MAX_BYTES {
                let left = grace.saturating_duration_since(Instant::now());
                match chunks.recv_timeout(left) {
                    Ok(chunk) => read = take_chunk(chunk, output, &mut open),
                    Err(_) => break,
                }
            }
        }
        read
    };
    wait_for_exit(&mut child, server, timeout, read, kill)
}

/// A reader thread: sends what `pipe` gives until its end, an error, one byte past
/// [`OUTPUT_MAX_BYTES`], or until nobody listens; then its end. A pipe that a process the
/// helper started keeps open leaves the thread waiting in `read` until that process ends.
#[cfg(windows)]
fn read_to_channel(
    stream: Stream,
    mut pipe: Box<dyn Read + Send>,
    sender: &std::sync::mpsc::Sender<Chunk>,
) {
    let mut buffer = [0; 8192];
    let mut total = 0;
    while total <= OUTPUT_MAX_BYTES {
        let chunk = match pipe.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                Ok(buffer[..n].to_vec())
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
            Err(error) => Err(error),
        };
        let failed = chunk.is_err();
        if sender.send((stream, chunk)).is_err() || failed {
            return;
        }
    }
    let _ = sender.send((stream, Ok(Vec::new())));
}

/// Adds a reader thread's `chunk` to `output`, up to one byte past [`OUTPUT_MAX_BYTES`]
/// (enough to tell that there was more); an end counts one fewer `open` pipe.
#[cfg(windows)]
fn take_chunk(chunk: Chunk, output: &mut Output, open: &mut usize) -> io::Result<()> {
    let (stream, bytes) = chunk;
    let bytes = bytes?;
    if bytes.is_empty() {
        *open = open.saturating_sub(1);
        return Ok(());
    }
    let into = match stream {
        Stream::Stdout => &mut output.stdout,
        Stream::Stderr => &mut output.stderr,
    };
    let room = (OUTPUT_MAX_BYTES + 1).saturating_sub(into.len());
    into.extend_from_slice(&bytes[..bytes.len().min(room)]);
    Ok(())
}

/// Kills a helper that is still running (`TerminateProcess`), and reaps it.
#[cfg(windows)]
fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}
