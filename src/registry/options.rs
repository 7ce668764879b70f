//! How to talk to registries: the settings that come from the global flags and the
//! environment, with their defaults.

use std::path::PathBuf;
use std::time::Duration;
use ureq::Proxy;

/// How to talk to registries: the global command-line flags, and what `main` read from the
/// environment. Each field's default is what [`TransportOptions::default`] gives.
#[derive(Debug, Clone)]
pub struct TransportOptions {
    /// `--insecure`: do not verify TLS certificates. Default: verify.
    pub insecure: bool,
    /// `--plain-http`: speak http instead of https. Default: https.
    pub plain_http: bool,
    /// `--debug`: print each request (method, URL, status, time) on stderr, never a header value.
    /// Default: off.
    pub debug: bool,
    /// `--cacert`: trust these CAs (PEM) instead of the bundled Mozilla roots. Default: none.
    pub cacert: Option<PathBuf>,
    /// `SSL_CERT_FILE`: trust these CAs (PEM) when there is no `--cacert`. Default: none.
    pub ssl_cert_file: Option<PathBuf>,
    /// Docker's per-registry certificate directory root. Default: [`DEFAULT_CERTS_D`]
    /// (`main` takes `MANIFEST_TOOL_CERTS_D` instead when set, mainly for tests).
    pub certs_d: PathBuf,
    /// How long one read or write on a connection may wait before the attempt fails (and is
    /// retried like a dropped connection); connecting waits at most 10 s, or this when shorter.
    /// Default: [`IO_TIMEOUT`] (`main` takes [`TIMEOUT_ENV`] instead when set).
    pub io_timeout: Duration,
    /// The proxy every connection goes through, with the hosts it is bypassed for. Default:
    /// none (`main` takes the usual `*_PROXY` and `NO_PROXY` variables, as ureq reads them).
    pub proxy: Option<Proxy>,
}

impl Default for TransportOptions {
    /// Verify TLS with the bundled roots, https, no debug lines, docker's certs.d at
    /// [`DEFAULT_CERTS_D`], [`IO_TIMEOUT`], no proxy.
    fn default() -> TransportOptions {
        TransportOptions {
            insecure: false,
            plain_http: false,
            debug: false,
            cacert: None,
            ssl_cert_file: None,
            certs_d: PathBuf::from(DEFAULT_CERTS_D),
            io_timeout: IO_TIMEOUT,
            proxy: None,
        }
    }
}

/// Default root of docker's per-registry certificate directories.
#[cfg(not(windows))]
pub const DEFAULT_CERTS_D: &str = "/etc/docker/certs.d";
/// Default root of docker's per-registry certificate directories (docker on Windows keeps them
/// under %ProgramData%).
#[cfg(windows)]
pub const DEFAULT_CERTS_D: &str = r"C:\ProgramData\docker\certs.d";

/// The default of [`TransportOptions::io_timeout`].
pub const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Environment variable overriding [`IO_TIMEOUT`] (and the 10 s connect timeout when shorter), in
/// whole seconds, at least 1: `MANIFEST_TOOL_TIMEOUT_SECS=120` for a slow link, or `2` so that
/// tests of a stalled registry finish in seconds. An unreadable value is ignored.
pub const TIMEOUT_ENV: &str = "MANIFEST_TOOL_TIMEOUT_SECS";

/// The read/write timeout a [`TIMEOUT_ENV`] value asks for: a whole number of seconds, at
/// least 1; `None` for anything else.
pub fn parse_timeout(value: &str) -> Option<Duration> {
    value
        .trim()
        .parse::<u64>()
        .ok()
        .filter(|&secs| secs > 0)
        .map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_whole_positive_seconds() {
        assert_eq!(parse_timeout(" 120 "), Some(Duration::from_secs(120)));
        assert_eq!(parse_timeout("0"), None);
        assert_eq!(parse_timeout("1.5"), None);
        assert_eq!(parse_timeout(""), None);
    }

    #[test]
    fn default_options_are_what_their_docs_say() {
        let options = TransportOptions::default();
        assert!(!options.insecure && !options.plain_http && !options.debug);
        assert_eq!(options.cacert, None);
        assert_eq!(options.ssl_cert_file, None);
        #[cfg(not(windows))]
        assert_eq!(options.certs_d, PathBuf::from("/etc/docker/certs.d"));
        assert_eq!(options.io_timeout, Duration::from_secs(30));
        assert!(options.proxy.is_none());
    }
}
