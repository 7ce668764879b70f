//! The HTTP side of one registry: the ureq agent (TLS, proxy, timeouts), sending a request with
//! retries, and turning error answers into [`Error`]s.
//!
//! Authentication is not here: [`super::Registry`] asks [`super::auth::Auth`] for the
//! `Authorization` value and passes it in.

use super::preconnect::Preconnector;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};
use ureq::http::{self, HeaderMap, Response};
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey, RootCerts, TlsConfig};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::{Agent, Body};

/// How to talk to registries; comes from the global command-line flags.
#[derive(Debug, Clone, Default)]
pub struct TransportOptions {
    /// `--insecure`: do not verify TLS certificates. Default: verify.
    pub insecure: bool,
    /// `--plain-http`: speak http instead of https. Default: https.
    pub plain_http: bool,
    /// `--debug`: print each request (method, URL, status) on stderr, never a header value.
    pub debug: bool,
    /// `--cacert`: trust these CAs (PEM) instead of the bundled Mozilla roots.
    pub cacert: Option<PathBuf>,
    /// Docker's per-registry certificate directory root. Default: `/etc/docker/certs.d`
    /// (overridable with `MANIFEST_TOOL_CERTS_D`, mainly for tests).
    pub certs_d: PathBuf,
}

/// Default root of docker's per-registry certificate directories.
pub const DEFAULT_CERTS_D: &str = "/etc/docker/certs.d";

/// Requests that fail with a connection error or a retryable status are tried this many times.
const MAX_ATTEMPTS: u32 = 4;
/// First pause between attempts; doubled each time up to [`MAX_BACKOFF`].
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const MAX_BACKOFF: Duration = Duration::from_secs(4);
/// A `Retry-After` longer than this is not waited for: we fail and say when to try again.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Redirects followed for one request (GET and HEAD only).
const MAX_REDIRECTS: usize = 10;
/// Limit for error bodies we read to show the registry's message.
const MAX_ERROR_BODY: u64 = 64 * 1024;
/// How long one read or write on a connection may wait before the attempt fails (and is retried
/// like a dropped connection). Default 30 s; connecting has its own limit of 10 s.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Each connection's input buffer, which is also the largest response header accepted.
const RESPONSE_BUFFER: usize = 16 * 1024;
/// Environment variable overriding [`IO_TIMEOUT`] (and [`CONNECT_TIMEOUT`] when shorter), in
/// whole seconds, at least 1: `MANIFEST_TOOL_TIMEOUT_SECS=120` for a slow link, or `2` so that
/// tests of a stalled registry finish in seconds. An unreadable value is ignored.
pub const TIMEOUT_ENV: &str = "MANIFEST_TOOL_TIMEOUT_SECS";

/// The read/write timeout: [`TIMEOUT_ENV`] when set to a whole number of seconds, else
/// [`IO_TIMEOUT`].
fn io_timeout() -> Duration {
    std::env::var(TIMEOUT_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|&secs| secs > 0)
        .map_or(IO_TIMEOUT, Duration::from_secs)
}

/// One request to send: everything but authentication.
pub struct Request<'a> {
    pub method: &'static str,
    pub url: String,
    pub accept: Option<&'a str>,
    pub content_type: Option<&'a str>,
    pub body: Option<&'a [u8]>,
}

impl<'a> Request<'a> {
    /// A request with no `Accept`, no body and no `Content-Type`.
    pub fn new(method: &'static str, url: String) -> Request<'a> {
        Request {
            method,
            url,
            accept: None,
            content_type: None,
            body: None,
        }
    }
}

/// An HTTP client for one registry host.
pub struct Transport {
    agent: Agent,
    /// Opens connections to `scheme://host` ahead of need.
    preconnector: Preconnector,
    /// `host[:port]` as used in URLs.
    pub host: String,
    /// `http` or `https`.
    pub scheme: &'static str,
    debug: bool,
}

impl Transport {
    /// Build the client for `host` (as in a URL: `name[:port]` or `[v6]:port`).
    pub fn new(host: &str, options: &TransportOptions) -> Result<Transport> {
        // Plain http needs no CA files read (a token realm or redirect on https still gets
        // the bundled roots, and --insecure).
        let tls = if options.plain_http {
            TlsConfig::builder()
                .disable_verification(options.insecure)
                .build()
        } else {
            tls_config(host, options)?
        };
        let config = Agent::config_builder()
            .http_status_as_error(false)
            // Redirects are followed by `send_once`, which keeps `Authorization` only within one
            // origin: ureq's `SameHost` compares host names without ports, so it would hand the
            // credentials to any other port of the same host.
            .max_redirects(0)
            .redirect_auth_headers(ureq::config::RedirectAuthHeaders::Never)
            .user_agent(concat!("manifest-tool-rs/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls)
            .timeout_connect(Some(CONNECT_TIMEOUT.min(io_timeout())))
            .timeout_per_read(Some(io_timeout()))
            .timeout_per_write(Some(io_timeout()))
            .max_idle_connections(32)
            .max_idle_connections_per_host(16)
            // ureq zero-fills each connection's buffers on first use, byte by byte at our
            // size-optimised opt-level: with a 64 KiB input buffer that was half of inspect's
            // instructions (ureq's default is 128 KiB). 16 KiB holds any registry's response
            // header (nginx, in front of most of them, refuses upstream headers over 4–8 KiB),
            // and the header limit says so, so that a larger one is reported as such. Bodies
            // are read 16 KiB at a time.
            .input_buffer_size(RESPONSE_BUFFER)
            .max_response_header_size(RESPONSE_BUFFER)
            // Requests are a header (8 KiB holds a long bearer token) and small or streamed
            // bodies.
            .output_buffer_size(8 * 1024)
            .build();
        let scheme = if options.plain_http { "http" } else { "https" };
        let preconnector = Preconnector::new(scheme, host, &config, options.debug);
        let agent = Agent::with_parts(config, preconnector.connector(), DefaultResolver::default());
        Ok(Transport {
            agent,
            preconnector,
            host: host.to_string(),
            scheme,
            debug: options.debug,
        })
    }

    /// Start opening connections to the registry so that about `wanted` are open when the next
    /// stage sends that many requests at once; returns at once (see [`super::preconnect`]).
    pub fn preconnect(&self, wanted: usize) {
        self.preconnector.open(wanted);
    }

    /// `scheme://host` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.host, path)
    }

    /// Send, retrying 408/429/5xx and connection errors with capped exponential backoff (a
    /// blob mount POST is not resent after a connection error: it may have taken effect, and
    /// the caller checks the blob instead). Returns the final response, whatever its status.
    pub fn send(&self, request: &Request, authorization: Option<&str>) -> Result<Response<Body>> {
        self.send_retrying(request, authorization, &self.host)
    }

    /// [`Transport::send`] for a request to `host`, named in errors.
    fn send_retrying(
        &self,
        request: &Request,
        authorization: Option<&str>,
        host: &str,
    ) -> Result<Response<Body>> {
        let mut attempt = 1;
        loop {
            let outcome = self.send_once(request, authorization);
            let wait = match &outcome {
                Ok(response) if is_retryable_status(response.status().as_u16()) => {
                    let after = retry_after(response.headers());
                    if let Some(after) = after
                        && after > MAX_RETRY_AFTER
                    {
                        return Err(Error::Status {
                            status: response.status().as_u16(),
                            code: None,
                            message: format!(
                                "the registry asks to retry after {} s; not waiting that long{}",
                                after.as_secs(),
                                rate_limit_note(response.headers())
                            ),
                        });
                    }
                    Some(after.unwrap_or_else(|| backoff(attempt)))
                }
                Err(e) if may_resend(request) && is_retryable_transport(e) => {
                    Some(backoff(attempt))
                }
                _ => None,
            };
            match wait {
                Some(wait) if attempt < MAX_ATTEMPTS => {
                    if self.debug {
                        crate::debug_line!("retrying in {} ms", wait.as_millis());
                    }
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                _ => return outcome.map_err(|e| network_error(host, e)),
            }
        }
    }

    /// Send `send`'s request and read its whole body, at most `limit` bytes. A body cut off by
    /// the connection (reset, closed before `Content-Length` bytes, timed out) is fetched again
    /// whole, with the same backoff as a failed request.
    pub fn send_and_read(
        &self,
        limit: u64,
        mut send: impl FnMut() -> Result<Response<Body>>,
    ) -> Result<(HeaderMap, Vec<u8>)> {
        let mut attempt = 1;
        loop {
            let response = send()?;
            let headers = response.headers().clone();
            match read_body(response, limit) {
                Ok(bytes) => return Ok((headers, bytes)),
                Err(BodyError::Cut(e)) if attempt < MAX_ATTEMPTS => {
                    let wait = backoff(attempt);
                    if self.debug {
                        crate::debug_line!(
                            "the answer was cut off ({e}); retrying in {} ms",
                            wait.as_millis()
                        );
                    }
                    std::thread::sleep(wait);
                    attempt += 1;
                }
                Err(e) => return Err(e.into_error(&self.host)),
            }
        }
    }

    /// Send once, following redirects of GET and HEAD (at most [`MAX_REDIRECTS`]).
    /// `Authorization` goes only to the origin (scheme, host and port) it was meant for, never
    /// to a CDN or another port the registry redirects to.
    fn send_once(
        &self,
        request: &Request,
        authorization: Option<&str>,
    ) -> Result<Response<Body>, ureq::Error> {
        let mut url = request.url.clone();
        let mut authorization = authorization;
        for _ in 0..MAX_REDIRECTS {
            let response = self.send_to(request, &url, authorization)?;
            let redirected = matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308)
                && matches!(request.method, "GET" | "HEAD");
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .filter(|_| redirected);
            let Some(location) = location else {
                return Ok(response);
            };
            let next = resolve_url(&url, location);
            if !same_origin(&next, &url) {
                authorization = None;
            }
            if self.debug {
                crate::debug_line!("following the redirect to {}", without_query(&next));
            }
            url = next;
        }
        Err(ureq::Error::TooManyRedirects)
    }

    /// Send one request to `url` (which may be a redirect's target rather than `request.url`).
    fn send_to(
        &self,
        request: &Request,
        url: &str,
        authorization: Option<&str>,
    ) -> Result<Response<Body>, ureq::Error> {
        let mut builder = http::Request::builder().method(request.method).uri(url);
        if let Some(accept) = request.accept {
            builder = builder.header("Accept", accept);
        }
        if let Some(content_type) = request.content_type {
            builder = builder.header("Content-Type", content_type);
        }
        if let Some(authorization) = authorization {
            builder = builder.header("Authorization", authorization);
        }
        // A POST without a body still says `Content-Length: 0`: without it ureq would announce
        // a chunked body, which some registries and proxies wait on.
        let body = match (request.body, request.method) {
            (None, "POST") => Some(&[][..]),
            (body, _) => body,
        };
        let result = match body {
            Some(body) => builder
                .body(body)
                .map_err(ureq::Error::from)
                .and_then(|r| self.agent.run(r)),
            None => builder
                .body(())
                .map_err(ureq::Error::from)
                .and_then(|r| self.agent.run(r)),
        };
        if self.debug {
            let url = without_query(url);
            match &result {
                Ok(response) => {
                    crate::debug_line!("{} {url} -> {}", request.method, response.status().as_u16())
                }
                Err(e) => crate::debug_line!("{} {url} -> {e}", request.method),
            }
        }
        result
    }

    /// PUT a body of `length` bytes read from `reader`, once: a stream cannot be replayed, so
    /// there is no retry here (the caller starts the upload again if it must).
    pub fn put_stream(
        &self,
        url: &str,
        authorization: Option<&str>,
        reader: &mut dyn std::io::Read,
        length: u64,
    ) -> Result<Response<Body>> {
        let mut builder = http::Request::builder()
            .method("PUT")
            .uri(url)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", length);
        if let Some(authorization) = authorization {
            builder = builder.header("Authorization", authorization);
        }
        let result = builder
            .body(ureq::SendBody::from_reader(reader))
            .map_err(ureq::Error::from)
            .and_then(|r| self.agent.run(r));
        if self.debug {
            let url = without_query(url);
            match &result {
                Ok(response) => crate::debug_line!("PUT {url} -> {}", response.status().as_u16()),
                Err(e) => crate::debug_line!("PUT {url} -> {e}"),
            }
        }
        result.map_err(|e| self.network_error(e))
    }

    /// Send a request that is not to the registry itself (a token server), with the same
    /// retries as [`Transport::send`]; the caller reads the answer.
    pub fn send_elsewhere(
        &self,
        request: &Request,
        authorization: Option<&str>,
    ) -> Result<Response<Body>> {
        self.send_retrying(request, authorization, &host_of_url(&request.url))
    }

    fn network_error(&self, error: ureq::Error) -> Error {
        network_error(&self.host, error)
    }
}

/// Whether a request may be sent again after a connection error, when it may or may not have
/// reached the server: all but a blob mount POST. Opening an upload session twice only leaves
/// an unused session, which the registry expires; a mount that took effect is found by the
/// caller's HEAD of the blob.
fn may_resend(request: &Request) -> bool {
    request.method != "POST" || !request.url.contains("mount=")
}

/// `location` (absolute, scheme-relative, absolute-path or relative) resolved against `base`.
fn resolve_url(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    if let Some(authority_and_path) = location.strip_prefix("//") {
        return format!("{scheme}://{authority_and_path}");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = without_query(&rest[authority.len()..]);
    let directory = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    format!("{scheme}://{authority}{directory}/{location}")
}

/// Whether two URLs have the same origin (scheme, host and port): where credentials meant for
/// one may go.
pub fn same_origin(a: &str, b: &str) -> bool {
    origin(a) == origin(b)
}

/// The origin of a URL: scheme, lowercased host and port (the scheme's default when absent).
fn origin(url: &str) -> (String, String, u16) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let default_port = if scheme == "http" { 80 } else { 443 };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse().unwrap_or(default_port)),
        _ => (authority, default_port),
    };
    (scheme, host.to_ascii_lowercase(), port)
}

/// A URL without its query and fragment: what `--debug` prints of it (a redirect to a CDN
/// often carries a signature in its query).
fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

fn network_error(host: &str, error: ureq::Error) -> Error {
    let detail = match &error {
        ureq::Error::HostNotFound => "host not found".to_string(),
        ureq::Error::ConnectionFailed => "connection failed".to_string(),
        ureq::Error::Timeout(t) => format!("timed out ({t})"),
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_string()
        }
        ureq::Error::Rustls(e) => {
            format!("TLS: {e} (use --cacert, or --insecure to skip verification)")
        }
        // rustls' verdict on the certificate reaches us wrapped in an I/O error.
        ureq::Error::Io(e) if e.to_string().contains("peer certificate") => {
            format!("TLS: {e} (use --cacert, or --insecure to skip verification)")
        }
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
            "the connection was reset".to_string()
        }
        ureq::Error::Io(e) if e.to_string().contains("InvalidContentType") => {
            "the server does not speak TLS (use --plain-http for a plain-HTTP registry)".to_string()
        }
        other => other.to_string(),
    };
    Error::Network {
        host: host.to_string(),
        detail,
    }
}

/// The `host[:port]` of a URL, for messages.
pub fn host_of_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    rest.split(['/', '?']).next().unwrap_or(rest).to_string()
}

fn is_retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429 | 500 | 502 | 503 | 504)
}

fn is_retryable_transport(error: &ureq::Error) -> bool {
    matches!(
        error,
        ureq::Error::Io(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::Timeout(_)
            | ureq::Error::Protocol(_)
    )
}

fn backoff(attempt: u32) -> Duration {
    let factor = 1u32 << attempt.saturating_sub(1).min(8);
    (FIRST_BACKOFF * factor).min(MAX_BACKOFF)
}

/// Docker Hub's pull-limit headers, to explain a long `Retry-After`.
fn rate_limit_note(headers: &HeaderMap) -> String {
    let mut parts = Vec::new();
    for name in ["ratelimit-limit", "ratelimit-remaining"] {
        if let Some(value) = headers.get(name).and_then(|v| v.to_str().ok()) {
            parts.push(format!("{name}: {value}"));
        }
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join(", "))
    }
}

/// `Retry-After` as a duration: delay-seconds or an HTTP date.
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get("retry-after")?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let when = parse_http_date(value)?;
    Some(
        when.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// Parse an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), the form HTTP dates take today.
/// Fields out of range (a day of 32, an hour of 24, a year before 1970 or after 9999) make it
/// no date: a server's header must never make the arithmetic overflow.
pub fn parse_http_date(value: &str) -> Option<SystemTime> {
    let parts: Vec<&str> = value.split_whitespace().collect();
    if parts.len() != 6 || parts[5] != "GMT" {
        return None;
    }
    let in_range = |text: &str, range: std::ops::RangeInclusive<i64>| {
        text.parse::<i64>().ok().filter(|n| range.contains(n))
    };
    let day = in_range(parts[1], 1..=31)?;
    let month = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ]
    .iter()
    .position(|m| *m == parts[2])? as i64
        + 1;
    let year = in_range(parts[3], 1970..=9999)?;
    let mut hms = parts[4].split(':');
    let h = in_range(hms.next()?, 0..=23)?;
    let m = in_range(hms.next()?, 0..=59)?;
    let s = in_range(hms.next()?, 0..=60)?;
    if hms.next().is_some() {
        return None;
    }
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + h * 3600 + m * 60 + s;
    let seconds = u64::try_from(seconds).ok()?;
    SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(seconds))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Read an error answer and turn it into [`Error::Status`] with the registry's own words.
pub fn status_error(response: Response<Body>) -> Error {
    let status = response.status().as_u16();
    let reason = response
        .status()
        .canonical_reason()
        .unwrap_or("error")
        .to_string();
    let body = read_limited(response, MAX_ERROR_BODY).unwrap_or_default();
    let (code, message) = registry_error_message(&body).unwrap_or((None, reason));
    Error::Status {
        status,
        code,
        message,
    }
}

/// The first `{"errors":[{"code","message"}]}` entry of an error body, if it has one.
pub fn registry_error_message(body: &[u8]) -> Option<(Option<String>, String)> {
    #[derive(serde::Deserialize)]
    struct Errors {
        errors: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    struct Entry {
        code: Option<String>,
        message: Option<String>,
    }
    let parsed: Errors = serde_json::from_slice(body).ok()?;
    let first = parsed.errors.into_iter().next()?;
    let message = first.message.unwrap_or_default();
    Some((first.code, message))
}

/// Why a body could not be read whole.
enum BodyError {
    /// It is longer than the limit (declared, or found on the way).
    TooLarge(u64),
    /// The connection failed before its end: worth fetching again.
    Cut(ureq::Error),
    /// Anything else (a malformed chunked encoding, say).
    Other(ureq::Error),
}

impl BodyError {
    fn into_error(self, host: &str) -> Error {
        match self {
            BodyError::TooLarge(limit) => Error::TooLarge {
                what: "response".to_string(),
                limit,
            },
            BodyError::Cut(e) => Error::Network {
                host: host.to_string(),
                detail: format!("the answer was cut off ({e})"),
            },
            BodyError::Other(e) => Error::Invalid(format!("reading the response: {e}")),
        }
    }
}

/// Read a body of at most `limit` bytes; a longer one is an error, found without reading it all.
fn read_body(response: Response<Body>, limit: u64) -> Result<Vec<u8>, BodyError> {
    let declared = response
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = response.into_body();
    body.with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => BodyError::TooLarge(limit),
            e if is_retryable_transport(&e) => BodyError::Cut(e),
            e => BodyError::Other(e),
        })
}

/// Read a body of at most `limit` bytes; a longer one is an error, found without reading it all.
pub fn read_limited(response: Response<Body>, limit: u64) -> Result<Vec<u8>> {
    read_body(response, limit).map_err(|e| match e {
        BodyError::TooLarge(limit) => Error::TooLarge {
            what: "response".to_string(),
            limit,
        },
        BodyError::Cut(e) | BodyError::Other(e) => {
            Error::Invalid(format!("reading the response: {e}"))
        }
    })
}

/// TLS settings for one registry: verification, extra CAs and a client certificate.
///
/// Trust, in order: `--cacert`, else `$SSL_CERT_FILE`, else docker's `certs.d/<host>/*.crt`,
/// else the bundled Mozilla roots. Like curl's `--cacert` and Go's `SSL_CERT_FILE`, a CA file
/// replaces the roots rather than adding to them. `certs.d/<host>/client.cert` + `client.key`
/// give a client certificate.
fn tls_config(host: &str, options: &TransportOptions) -> Result<TlsConfig> {
    let mut builder = TlsConfig::builder().disable_verification(options.insecure);
    let host_dir = options.certs_d.join(host.replace(['[', ']'], ""));
    let host_dir = if host_dir.is_dir() {
        Some(host_dir)
    } else {
        let raw = options.certs_d.join(host);
        raw.is_dir().then_some(raw)
    };
    let mut roots = Vec::new();
    if let Some(file) = &options.cacert {
        roots.extend(read_certificates(file)?);
    } else if let Some(file) = std::env::var_os("SSL_CERT_FILE").filter(|v| !v.is_empty()) {
        roots.extend(read_certificates(Path::new(&file))?);
    } else if let Some(dir) = &host_dir {
        for file in files_with_extension(dir, "crt")? {
            roots.extend(read_certificates(&file)?);
        }
    }
    if !roots.is_empty() {
        builder = builder.root_certs(RootCerts::new_with_certs(&roots));
    }
    if let Some(dir) = &host_dir {
        let cert = dir.join("client.cert");
        let key = dir.join("client.key");
        if cert.is_file() && key.is_file() {
            let chain = read_certificates(&cert)?;
            let key = read_private_key(&key)?;
            builder = builder.client_cert(Some(ClientCert::new_with_certs(&chain, key)));
        }
    }
    Ok(builder.build())
}

fn files_with_extension(dir: &Path, extension: &str) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    files.sort();
    Ok(files)
}

fn read_certificates(path: &Path) -> Result<Vec<Certificate<'static>>> {
    let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item {
            Ok(PemItem::Certificate(c)) => certificates.push(c),
            Ok(_) => {}
            Err(e) => {
                return Err(Error::Input(format!(
                    "{}: not a valid PEM certificate file: {e}",
                    path.display()
                )));
            }
        }
    }
    if certificates.is_empty() {
        return Err(Error::Input(format!(
            "{}: contains no PEM certificate",
            path.display()
        )));
    }
    Ok(certificates)
}

fn read_private_key(path: &Path) -> Result<PrivateKey<'static>> {
    let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    PrivateKey::from_pem(&pem).map_err(|_| {
        Error::Input(format!(
            "{}: contains no usable PEM private key",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_parse_to_the_right_instant() {
        let t = parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        let secs = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs();
        assert_eq!(secs, 784_111_777);
        assert!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT").is_none());
        assert!(parse_http_date("garbage").is_none());
    }

    #[test]
    fn absurd_http_dates_are_refused_without_overflowing() {
        for value in [
            "Sun, 06 Nov 9223372036854775807 08:49:37 GMT",
            "Sun, 06 Nov -9223372036854775808 08:49:37 GMT",
            "Sun, 06 Nov 1994 9223372036854775807:00:00 GMT",
            "Sun, 06 Nov 1994 08:-9223372036854775808:37 GMT",
            "Sun, 9223372036854775807 Nov 1994 08:49:37 GMT",
            "Sun, 32 Nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
        ] {
            assert_eq!(parse_http_date(value), None, "{value}");
        }
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        headers.insert(
            "retry-after",
            "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_millis(500));
        assert_eq!(backoff(10), MAX_BACKOFF);
    }

    #[test]
    fn registry_error_bodies_give_code_and_message() {
        let body =
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(
            registry_error_message(body),
            Some((Some("MANIFEST_UNKNOWN".into()), "manifest unknown".into()))
        );
        assert_eq!(registry_error_message(b"<html>"), None);
    }

    #[test]
    fn redirect_locations_resolve_against_the_request_url() {
        let base = "https://reg:5000/v2/a/blobs/sha256:1?x=1";
        assert_eq!(
            resolve_url(base, "https://cdn/b?sig=2"),
            "https://cdn/b?sig=2"
        );
        assert_eq!(resolve_url(base, "//cdn:8443/b"), "https://cdn:8443/b");
        assert_eq!(resolve_url(base, "/v2/other"), "https://reg:5000/v2/other");
        assert_eq!(resolve_url(base, "x?y"), "https://reg:5000/v2/a/blobs/x?y");
    }

    #[test]
    fn an_origin_is_scheme_host_and_port() {
        assert_eq!(
            origin("https://Reg.Example/v2/"),
            origin("https://reg.example:443/x")
        );
        assert_ne!(
            origin("http://127.0.0.1:5000/"),
            origin("http://127.0.0.1:5001/")
        );
        assert_ne!(origin("http://reg/"), origin("https://reg/"));
        assert!(!same_origin("https://reg:5000/v2/", "http://reg:5000/v2/a"));
        assert!(same_origin(
            "https://reg:5000/v2/",
            "https://REG:5000/v2/a?b"
        ));
        assert_eq!(origin("http://[::1]:80/a").1, "[::1]");
        assert_eq!(origin("http://[::1]/a").2, 80);
    }

    #[test]
    fn only_a_mount_post_is_not_resent_after_a_connection_error() {
        let request = |method, url: &str| Request {
            method,
            url: url.to_string(),
            accept: None,
            content_type: None,
            body: None,
        };
        assert!(may_resend(&request("GET", "https://r/v2/a/manifests/t")));
        assert!(may_resend(&request("PUT", "https://r/v2/a/manifests/t")));
        assert!(may_resend(&request(
            "POST",
            "https://r/v2/a/blobs/uploads/"
        )));
        assert!(!may_resend(&request(
            "POST",
            "https://r/v2/a/blobs/uploads/?mount=sha256:1&from=b"
        )));
    }

    #[test]
    fn host_of_url_strips_scheme_and_path() {
        assert_eq!(host_of_url("https://a:5000/v2/x?y"), "a:5000");
        assert_eq!(host_of_url("http://[::1]:80/token"), "[::1]:80");
    }
}
