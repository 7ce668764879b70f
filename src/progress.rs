//! The progress line of a stage that copies blobs: on a terminal only, and only once the stage
//! has taken about a second, one line on stderr updated in place with the bytes copied, the
//! total and the rate, e.g. `copying blobs: 12.5 MB of 40.1 MB, 6.2 MB/s`. When the stage ends
//! the line is written once more, whole, and ended.

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// How long a stage runs before its line appears: quick stages print nothing.
pub const DELAY: Duration = Duration::from_secs(1);

/// How often the line is rewritten.
const EVERY: Duration = Duration::from_millis(200);

/// The bytes a stage has copied, added to from several threads. A type of its own because
/// some release targets (armv5) have no 64-bit atomics, and a 32-bit count would wrap at 4 GiB:
/// there it is a counter under a lock.
#[derive(Default)]
#[allow(clippy::disallowed_types)] // the one place it may be used: where the target has it
pub struct Copied(
    #[cfg(target_has_atomic = "64")] std::sync::atomic::AtomicU64,
    #[cfg(not(target_has_atomic = "64"))] std::sync::Mutex<u64>,
);

impl Copied {
    /// Add `n` bytes.
    pub fn add(&self, n: u64) {
        #[cfg(target_has_atomic = "64")]
        self.0.fetch_add(n, Ordering::Relaxed);
        #[cfg(not(target_has_atomic = "64"))]
        {
            let mut count = self
                .0
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            *count = count.saturating_add(n);
        }
    }

    /// The bytes added so far.
    pub fn get(&self) -> u64 {
        #[cfg(target_has_atomic = "64")]
        return self.0.load(Ordering::Relaxed);
        #[cfg(not(target_has_atomic = "64"))]
        return *self
            .0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
}

/// Run `work`, which adds the bytes it copies to the counter it is given; with `show` (stderr
/// is a terminal), a line says how far it got once it has run for [`DELAY`].
pub fn stage<R>(label: &str, total: u64, show: bool, work: impl FnOnce(&Copied) -> R) -> R {
    let done = Copied::default();
    if !show {
        return work(&done);
    }
    let finished = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let ticker = scope.spawn(|| {
            let start = Instant::now();
            let mut shown = false;
            while !finished.load(Ordering::Acquire) {
                std::thread::park_timeout(EVERY);
                if start.elapsed() >= DELAY && !finished.load(Ordering::Acquire) {
                    show_line(label, done.get(), total, start, "");
                    shown = true;
                }
            }
            if shown {
                show_line(label, done.get(), total, start, "\n");
            }
        });
        let result = work(&done);
        finished.store(true, Ordering::Release);
        ticker.thread().unpark();
        let _ = ticker.join();
        result
    })
}

/// Write the line over the one before (`\r`, then erase to the end of the line).
fn show_line(label: &str, done: u64, total: u64, start: Instant, end: &str) {
    let done = done.min(total);
    let rate = done as f64 / start.elapsed().as_secs_f64().max(0.001);
    let line = format!(
        "\r{label}: {} of {}, {}/s\u{1b}[K{end}",
        bytes(done as f64),
        bytes(total as f64),
        bytes(rate)
    );
    let mut stderr = std::io::stderr().lock();
    let _ = stderr
        .write_all(line.as_bytes())
        .and_then(|()| stderr.flush());
}

/// `512 B`, `12.5 kB`, `40.1 MB`, `1.2 GB` (powers of 1000).
fn bytes(n: f64) -> String {
    let mut value = n;
    for unit in ["B", "kB", "MB", "GB"] {
        if value < 1000.0 || unit == "GB" {
            return if unit == "B" {
                format!("{value:.0} {unit}")
            } else {
                format!("{value:.1} {unit}")
            };
        }
        value /= 1000.0;
    }
    unreachable!("the last unit returns")
}

/// A reader that adds every byte read to a stage's counter.
pub struct Counted<'a, R> {
    /// What is read.
    pub inner: R,
    /// The stage's counter.
    pub done: &'a Copied,
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buffer)?;
        self.done.add(n as u64);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_shown_in_powers_of_1000() {
        assert_eq!(bytes(0.0), "0 B");
        assert_eq!(bytes(999.0), "999 B");
        assert_eq!(bytes(12_500.0), "12.5 kB");
        assert_eq!(bytes(40_100_000.0), "40.1 MB");
        assert_eq!(bytes(1_234_000_000_000.0), "1234.0 GB");
    }

    #[test]
    fn a_counted_reader_adds_what_it_reads() {
        let done = Copied::default();
        done.add(5);
        let mut reader = Counted {
            inner: &b"hello world"[..],
            done: &done,
        };
        let mut out = Vec::new();
        reader.read_to_end(&mut out).unwrap();
        assert_eq!(out, b"hello world");
        assert_eq!(done.get(), 16);
    }
}
