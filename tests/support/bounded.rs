//! Running the binary under a time and memory bound, so that a regression in the handling of a
//! hostile input (a helper that never answers, a FIFO, `/dev/zero`, a YAML bomb) fails the test
//! instead of hanging it or taking the machine's memory.

use super::Outcome;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The address space a bounded run may use: far more than any run needs, far less than the
/// machine has.
pub const MEMORY_LIMIT_KIB: u64 = 1024 * 1024;

/// Runs `cmd` (as built by `bare_command`) with its address space limited to
/// [`MEMORY_LIMIT_KIB`] and no standard input. Panics, after killing the run and everything it
/// started, when it has not ended within `limit`.
pub fn outcome_within(cmd: &Command, limit: Duration) -> Outcome {
    let mut bounded = Command::new("sh");
    bounded
        .arg("-c")
        .arg(format!(r#"ulimit -v {MEMORY_LIMIT_KIB} && exec "$0" "$@""#))
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (name, value) in cmd.get_envs() {
        match value {
            Some(value) => bounded.env(name, value),
            None => bounded.env_remove(name),
        };
    }
    if let Some(dir) = cmd.get_current_dir() {
        bounded.current_dir(dir);
    }
    let mut child = bounded
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {cmd:?}: {e}"));
    let drain = |mut pipe: Box<dyn Read + Send>| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = drain(Box::new(child.stdout.take().expect("stdout")));
    let stderr = drain(Box::new(child.stderr.take().expect("stderr")));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("waiting for manifest-tool") {
            break status;
        }
        if start.elapsed() > limit {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            panic!(
                "{cmd:?} did not end within {limit:?}\n--- stderr\n{}",
                String::from_utf8_lossy(&stderr.join().unwrap_or_default())
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    Outcome {
        code: status.code().unwrap_or(-1),
        stdout: stdout.join().expect("stdout reader"),
        stderr: String::from_utf8_lossy(&stderr.join().expect("stderr reader")).into_owned(),
    }
}
