//! Running the binary with a deadline, for inputs that could make it hang.

use super::Outcome;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Run a prepared command; if it has not exited after `limit`, kill it and fail the test
/// (a hang is the bug, so the test says so rather than hanging itself). For commands with
/// little output: the pipes are read after the exit.
pub fn outcome_or_kill(cmd: &mut Command, limit: Duration) -> Outcome {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {cmd:?}: {e}"));
    let start = Instant::now();
    while child.try_wait().expect("waiting for the child").is_none() {
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} still ran after {limit:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("collecting the output");
    Outcome {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
