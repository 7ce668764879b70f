//! The time rule for everything a server sends us, so that no server can hang the tool.
//!
//! - Connecting: at most 10 s (or the I/O timeout, when shorter).
//! - Each read and each write: at most the I/O timeout (30 s, `MANIFEST_TOOL_TIMEOUT_SECS`).
//! - The response's headers: complete within the I/O timeout of the request being sent,
//!   however the server spreads them out (a byte a second never trips a per-read timeout).
//! - The response's body: once the I/O timeout has passed since its first byte was awaited, it
//!   must have averaged at least [`MIN_BODY_RATE`]; a body trickled slower than that is given up
//!   on, as a cut connection is (and fetched again if the request may be). A manifest, a token
//!   or an error body arrives whole within the grace period on any working link; a layer of a
//!   gigabyte is allowed as long as it keeps coming at the minimum rate.
//!
//! An upload is paced by the server reading it: a server that reads a byte a second blocks our
//! writes, and the per-write timeout ends it.

use std::io::{self, Read};
use std::time::{Duration, Instant};

/// The slowest average a body may come at, after the grace period: 64 KiB/s.
pub const MIN_BODY_RATE: u64 = 64 * 1024;

/// Set on a response by the transport: the grace period its body's reader gets (the I/O
/// timeout).
#[derive(Debug, Clone, Copy)]
pub struct BodyGrace(pub Duration);

/// A reader that fails once, after its grace period, what it has read averages less than
/// [`MIN_BODY_RATE`] per second.
pub struct Paced<R> {
    inner: R,
    started: Instant,
    grace: Duration,
    read: u64,
}

impl<R: Read> Paced<R> {
    /// Pace `inner`, starting now, with `grace` before the rate counts.
    pub fn new(inner: R, grace: Duration) -> Paced<R> {
        Paced {
            inner,
            started: Instant::now(),
            grace,
            read: 0,
        }
    }
}

impl<R: Read> Read for Paced<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        let elapsed = self.started.elapsed();
        if n > 0 && elapsed > self.grace && too_slow(self.read, elapsed) {
            return Err(io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "the answer came too slowly: {} bytes in {} s, under the {} KiB/s minimum",
                    self.read,
                    elapsed.as_secs(),
                    MIN_BODY_RATE / 1024
                ),
            ));
        }
        Ok(n)
    }
}

/// Whether `read` bytes in `elapsed` average less than [`MIN_BODY_RATE`].
fn too_slow(read: u64, elapsed: Duration) -> bool {
    (read as f64) < MIN_BODY_RATE as f64 * elapsed.as_secs_f64()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A source that gives one byte per read.
    struct Trickle(usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 == 0 || buf.is_empty() {
                return Ok(0);
            }
            self.0 -= 1;
            buf[0] = b'x';
            std::thread::sleep(Duration::from_millis(2));
            Ok(1)
        }
    }

    #[test]
    fn a_body_within_its_grace_period_is_read_whatever_its_pace() {
        let mut body = Vec::new();
        Paced::new(Trickle(20), Duration::from_secs(60))
            .read_to_end(&mut body)
            .unwrap();
        assert_eq!(body.len(), 20);
    }

    #[test]
    fn a_trickle_past_the_grace_period_is_given_up_on() {
        let mut body = Vec::new();
        let error = Paced::new(Trickle(1000), Duration::from_millis(20))
            .read_to_end(&mut body)
            .unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut);
        assert!(error.to_string().contains("came too slowly"), "{error}");
        assert!(body.len() < 1000);
    }

    #[test]
    fn the_rate_is_an_average_over_the_whole_body() {
        assert!(too_slow(64 * 1024 - 1, Duration::from_secs(1)));
        assert!(!too_slow(64 * 1024, Duration::from_secs(1)));
        assert!(!too_slow(10 * 64 * 1024, Duration::from_secs(10)));
        assert!(too_slow(10 * 64 * 1024, Duration::from_secs(11)));
    }
}
