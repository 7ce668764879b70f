//! The HTTP side of one registry: the ureq agent (TLS, proxy, timeouts), sending a request
//! with retries and redirects, reading bodies with a size limit, and turning error answers into
//! [`Error`]s.
//!
//! Each concern the sending leans on has its own module: [`super::tls`] for certificates,
//! [`super::retry`] for when to try again, [`super::location`] for URLs, `Location`s and origins.
//! Authentication is not here: [`super::Registry`] asks [`super::auth::Auth`] for the
//! `Authorization` value and passes it in.

use super::failure::{SPEAKS_TLS, is_tls_port_refusal, network_error};
use super::options::{IO_TIMEOUT, TransportOptions};
use super::pace::{BodyGrace, Paced};
use super::preconnect::Preconnector;
use super::{location, retry, tls};
use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use ureq::http::{self, HeaderMap, Response};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::{Agent, Body};

/// Redirects followed for one request (GET and HEAD only).
const MAX_REDIRECTS: usize = 10;
/// Limit for error bodies we read to show the registry's message.
pub(super) const MAX_ERROR_BODY: u64 = 64 * 1024;
/// The longest wait for a connection to open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Each connection's input buffer, which is also the largest response header accepted.
const RESPONSE_BUFFER: usize = 16 * 1024;
/// Each connection's output buffer, which also holds the whole request head: 8 KiB holds a
/// bearer token of a few KiB. A larger head (a token of up to a megabyte, a Basic password of
/// thousands of characters) goes through an agent sized for it ([`Transport::agent_for`]).
const REQUEST_BUFFER: usize = 8 * 1024;
/// Room kept in a request head for what ureq adds (`Host`, `User-Agent`, `Content-Length`,
/// `Accept-Encoding`) and the request line's and headers' punctuation.
const HEAD_OVERHEAD: usize = 1024;
/// Set on a response that another origin gave, after the registry redirected the request
/// there (a storage host, a CDN): what it says (a 401 and its challenge above all) is not the
/// registry's. Holds that origin's host, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnsweredBy(pub String);

/// One request to send: everything but authentication.
pub struct Request<'a> {
    /// `GET`, `HEAD`, `PUT`, `POST`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// The absolute URL.
    pub url: String,
    /// The `Accept` header, if any.
    pub accept: Option<&'a str>,
    /// The `Content-Type` header, if any.
    pub content_type: Option<&'a str>,
    /// The `Content-Range` header of a chunk of a blob upload (`0-1023`), if any.
    pub content_range: Option<&'a str>,
    /// The body, if any (a POST without one still says `Content-Length: 0`).
    pub body: Option<&'a [u8]>,
    /// Whether the request may be sent again after a connection error, when it may or may not
    /// have reached the server. True for all but a blob mount POST: opening an upload session
    /// twice only leaves an unused session, which the registry expires, while a mount that took
    /// effect is found by the caller's HEAD of the blob. A retryable status is retried either
    /// way: the server answered that it did not do it. Default: true.
    pub idempotent: bool,
}

impl<'a> Request<'a> {
    /// A request with no `Accept`, no body and no `Content-Type`, safe to send again.
    pub fn new(method: &'static str, url: String) -> Request<'a> {
        Request {
            method,
            url,
            accept: None,
            content_type: None,
            content_range: None,
            body: None,
            idempotent: true,
        }
    }
}

/// An HTTP client for one registry host.
pub struct Transport {
    agent: Agent,
    /// The agent for request heads larger than [`REQUEST_BUFFER`] (made when first needed),
    /// with the size of its output buffer.
    large: Mutex<Option<(usize, Agent)>>,
    /// What the agents are made from.
    options: TransportOptions,
    /// Opens connections to `scheme://host` ahead of need.
    preconnector: Preconnector,
    /// `host[:port]` as used in URLs.
    pub host: String,
    /// `http` or `https`.
    pub scheme: &'static str,
}

/// Why [`Transport::send_once`] got no answer to return.
enum SendError {
    /// No answer: the connection failed, timed out, or there were too many redirects.
    Network(ureq::Error),
    /// An answer we will not act on: a redirect from https to plain http.
    Refused(Error),
}

impl Transport {
    /// Build the client for `host` (as in a URL: `name[:port]` or `[v6]:port`).
    pub fn new(host: &str, options: &TransportOptions) -> Result<Transport> {
        let config = agent_config(host, options, REQUEST_BUFFER)?;
        let scheme = if options.plain_http { "http" } else { "https" };
        let preconnector = Preconnector::new(scheme, host, &config, options.debug);
        let agent = Agent::with_parts(config, preconnector.connector(), DefaultResolver::default());
        Ok(Transport {
            agent,
            large: Mutex::new(None),
            options: options.clone(),
            preconnector,
            host: host.to_string(),
            scheme,
        })
    }

    /// The agent to send a request whose head is about `head` bytes: the usual one, or, for a
    /// head it cannot hold, one whose output buffer can (a power of two, kept for the next
    /// such request; its connections are opened on demand, not ahead).
    fn agent_for(&self, head: usize) -> Result<Agent, ureq::Error> {
        let needed = head.saturating_add(HEAD_OVERHEAD);
        if needed <= REQUEST_BUFFER {
            return Ok(self.agent.clone());
        }
        let mut large = self
            .large
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((size, agent)) = large.as_ref()
            && *size >= needed
        {
            return Ok(agent.clone());
        }
        let size = needed.next_power_of_two();
        let config = agent_config(&self.host, &self.options, size)
            .map_err(|e| ureq::Error::Other(Box::new(e)))?;
        let agent = Agent::new_with_config(config);
        *large = Some((size, agent.clone()));
        Ok(agent)
    }

    /// Start opening connections to the registry so that about `wanted` are open when the next
    /// stage sends that many requests at once; returns at once (see [`super::preconnect`]).
    pub fn preconnect(&self, wanted: usize) {
        self.preconnector.open(wanted);
    }

    /// Whether an https URL may redirect to plain http: `--plain-http` or `--insecure` said
    /// that this transport is not trusted anyway. Default: refused.
    fn allows_downgrade(&self) -> bool {
        self.options.plain_http || self.options.insecure
    }

    /// Whether `--debug` lines are printed.
    pub fn debug(&self) -> bool {
        self.options.debug
    }

    /// Start opening one connection to the origin of `url`, another host than the registry
    /// (its token realm), for the next request there; returns at once.
    pub fn preconnect_elsewhere(&self, url: &str) {
        self.preconnector.open_elsewhere(url);
    }

    /// `scheme://host` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{}", self.scheme, self.host, path)
    }

    /// Send, retrying as [`retry`] says: a retryable status always, a connection error only
    /// when the request is [`idempotent`](Request::idempotent). Returns the final response,
    /// whatever its status.
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
            let outcome = match self.send_once(request, authorization, host) {
                Err(SendError::Refused(error)) => return Err(error),
                Err(SendError::Network(e)) => Err(e),
                Ok(response) if is_tls_port_refusal(&request.url, &response) => {
                    return Err(Error::Input(format!("cannot reach {host}: {SPEAKS_TLS}")));
                }
                Ok(response) => Ok(response),
            };
            let wait = match &outcome {
                Ok(response) => retry::wait_after(response, attempt)?,
                Err(e) if request.idempotent && retry::is_retryable_error(e) => {
                    Some(retry::backoff(attempt))
                }
                Err(_) => None,
            };
            match wait {
                Some(wait) if attempt < retry::MAX_ATTEMPTS => {
                    if self.options.debug {
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
                Err(BodyError::Cut(e)) if attempt < retry::MAX_ATTEMPTS => {
                    let wait = retry::backoff(attempt);
                    if self.options.debug {
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
    /// to a CDN or another port the registry redirects to. A redirect from https to plain http
    /// is refused, naming `host` (where the request was sent), unless the transport allows it.
    fn send_once(
        &self,
        request: &Request,
        authorization: Option<&str>,
        host: &str,
    ) -> Result<Response<Body>, SendError> {
        let mut url = request.url.clone();
        let mut authorization = authorization;
        for _ in 0..MAX_REDIRECTS {
            let response = self
                .send_to(request, &url, authorization)
                .map_err(SendError::Network)?;
            let redirected = matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308)
                && matches!(request.method, "GET" | "HEAD");
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .filter(|_| redirected);
            let Some(location) = location else {
                let mut response = response;
                if !location::same_origin(&url, &request.url) {
                    let host = location::host_of_url(&url);
                    response.extensions_mut().insert(AnsweredBy(host));
                }
                return Ok(response);
            };
            let next = location::resolve(&url, location);
            if is_downgrade(&url, &next) && !self.allows_downgrade() {
                return Err(SendError::Refused(Error::Input(format!(
                    "a request to {host} was redirected to plain http ({}); not following it \
                     without --plain-http or --insecure",
                    location::host_of_url(&next)
                ))));
            }
            if !location::same_origin(&next, &url) {
                authorization = None;
            }
            if self.options.debug {
                crate::debug_line!(
                    "following the redirect to {}",
                    location::without_query(&next)
                );
            }
            url = next;
        }
        Err(SendError::Network(ureq::Error::TooManyRedirects))
    }

    /// Send one request to `url` (which may be a redirect's target rather than `request.url`).
    fn send_to(
        &self,
        request: &Request,
        url: &str,
        authorization: Option<&str>,
    ) -> Result<Response<Body>, ureq::Error> {
        let head = [
            Some(url),
            request.accept,
            request.content_type,
            authorization,
        ]
        .iter()
        .flatten()
        .map(|part| part.len())
        .sum();
        let agent = self.agent_for(head)?;
        let started = Instant::now();
        let mut builder = http::Request::builder().method(request.method).uri(url);
        if let Some(accept) = request.accept {
            builder = builder.header("Accept", accept);
        }
        if let Some(content_type) = request.content_type {
            builder = builder.header("Content-Type", content_type);
        }
        if let Some(range) = request.content_range {
            builder = builder.header("Content-Range", range);
        }
        if let Some(authorization) = authorization {
            self.warn_if_plain_http(url);
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
                .and_then(|r| agent.run(r)),
            None => builder
                .body(())
                .map_err(ureq::Error::from)
                .and_then(|r| agent.run(r)),
        };
        self.answered(request.method, url, started, result)
    }

    /// Every answer the agent gives: its body's pace set (see [`super::pace`]), and with
    /// `--debug` one line naming the request (its URL without the query), the outcome, how
    /// long the answer's head took since `started` and when in the run it came.
    fn answered(
        &self,
        method: &str,
        url: &str,
        started: Instant,
        result: Result<Response<Body>, ureq::Error>,
    ) -> Result<Response<Body>, ureq::Error> {
        let result = result.map(|mut response| {
            response
                .extensions_mut()
                .insert(BodyGrace(self.options.io_timeout));
            response
        });
        if self.options.debug {
            let url = location::without_query(url);
            match &result {
                Ok(response) => {
                    crate::debug::request_line(method, url, &response.status().as_u16(), started)
                }
                Err(e) => crate::debug::request_line(method, url, e, started),
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
        let head = url.len() + authorization.map_or(0, str::len);
        let agent = self.agent_for(head).map_err(|e| self.network_error(e))?;
        let started = Instant::now();
        let mut builder = http::Request::builder()
            .method("PUT")
            .uri(url)
            .header("Content-Type", "application/octet-stream")
            .header("Content-Length", length);
        if let Some(authorization) = authorization {
            self.warn_if_plain_http(url);
            builder = builder.header("Authorization", authorization);
        }
        let result = builder
            .body(ureq::SendBody::from_reader(reader))
            .map_err(ureq::Error::from)
            .and_then(|r| agent.run(r));
        let result = self.answered("PUT", url, started, result);
        result.map_err(|e| self.network_error(e))
    }

    /// Send a request that is not to the registry itself (a token server), with the same
    /// retries as [`Transport::send`]; the caller reads the answer.
    pub fn send_elsewhere(
        &self,
        request: &Request,
        authorization: Option<&str>,
    ) -> Result<Response<Body>> {
        self.send_retrying(request, authorization, &location::host_of_url(&request.url))
    }

    fn network_error(&self, error: ureq::Error) -> Error {
        network_error(&self.host, error)
    }

    /// Say on stderr, once per host and run, that credentials for this registry are about to
    /// go to `url` in the clear: `warning: sending credentials for REGISTRY over plain http to
    /// HOST`. Nothing when `url` is https or its host is loopback ([`is_loopback`]), where no
    /// one else can read the wire. Called for every request that carries credentials (an
    /// `Authorization`, or an identity token in a form).
    pub fn warn_if_plain_http(&self, url: &str) {
        /// The hosts warned about in this run.
        static WARNED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
        let to = location::host_of_url(url);
        if !location::is_plain_http(url) || is_loopback(&to) {
            return;
        }
        let first = WARNED
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(to.to_ascii_lowercase());
        if first {
            eprintln!(
                "warning: {}",
                crate::escape::escape_controls(&format!(
                    "sending credentials for {} over plain http to {to}",
                    self.host
                ))
            );
        }
    }
}

/// The agent configuration for `host` with `options`, whose connections have an output buffer
/// (and so a largest request head) of `output_buffer` bytes.
fn agent_config(
    host: &str,
    options: &TransportOptions,
    output_buffer: usize,
) -> Result<ureq::config::Config> {
    Ok(Agent::config_builder()
        .http_status_as_error(false)
        // Redirects are followed by `send_once`, which keeps `Authorization` only within one
        // origin: ureq's `SameHost` compares host names without ports, so it would hand the
        // credentials to any other port of the same host.
        .max_redirects(0)
        .redirect_auth_headers(ureq::config::RedirectAuthHeaders::Never)
        .user_agent(concat!("manifest-tool-rs/", env!("CARGO_PKG_VERSION")))
        .tls_config(tls::config(host, options)?)
        .proxy(options.proxy.clone())
        .timeout_connect(Some(CONNECT_TIMEOUT.min(options.io_timeout)))
        .timeout_per_read(Some(options.io_timeout))
        // The headers, however spread out, within the I/O timeout (see `pace`).
        .timeout_recv_response(Some(options.io_timeout))
        .timeout_per_write(Some(options.io_timeout))
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
        // Requests are a head and small or streamed bodies.
        .output_buffer_size(output_buffer)
        .build())
}

/// Whether `host` (as in a URL: `name[:port]`, `[v6]:port`) is this machine as written:
/// `localhost`, an address in 127.0.0.0/8, or `::1` (also as `::ffff:127.x.y.z`). Decided by
/// the name alone, not by what it resolves to: a name that happens to resolve to 127.0.0.1 is
/// not loopback here.
pub fn is_loopback(host: &str) -> bool {
    use std::net::{IpAddr, Ipv6Addr};
    let name = match host.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None if host.parse::<Ipv6Addr>().is_ok() => host,
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    match name.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => {
            let name = name.strip_suffix('.').unwrap_or(name);
            name.eq_ignore_ascii_case("localhost")
        }
    }
}

/// Whether going from `from` to `to` leaves https for plain http.
fn is_downgrade(from: &str, to: &str) -> bool {
    let scheme = |url: &str| {
        url.split_once("://")
            .map(|(scheme, _)| scheme.to_ascii_lowercase())
    };
    scheme(from).as_deref() == Some("https") && scheme(to).as_deref() == Some("http")
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
    let mut bytes = Vec::new();
    body_reader(response)
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| match ureq::Error::from(e) {
            e if retry::is_retryable_error(&e) => BodyError::Cut(e),
            e => BodyError::Other(e),
        })?;
    if bytes.len() as u64 > limit {
        return Err(BodyError::TooLarge(limit));
    }
    Ok(bytes)
}

/// The body of `response` as a reader held to the pace rule of [`super::pace`].
pub fn body_reader(response: Response<Body>) -> Paced<impl Read + Send + 'static> {
    let grace = response
        .extensions()
        .get::<BodyGrace>()
        .map_or(IO_TIMEOUT, |grace| grace.0);
    Paced::new(response.into_body().into_reader(), grace)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_to_http_is_a_downgrade() {
        assert!(is_downgrade("https://reg/v2/", "http://cdn/b"));
        assert!(is_downgrade("HTTPS://reg/v2/", "HTTP://cdn/b"));
        assert!(!is_downgrade("https://reg/v2/", "https://cdn/b"));
        assert!(!is_downgrade("http://reg/v2/", "http://cdn/b"));
        assert!(!is_downgrade("http://reg/v2/", "https://cdn/b"));
    }

    #[test]
    fn loopback_is_localhost_127_slash_8_and_v6_one_as_written() {
        for host in [
            "localhost",
            "LocalHost:5000",
            "localhost.:80",
            "127.0.0.1",
            "127.0.0.1:5000",
            "127.255.1.2:443",
            "[::1]:5000",
            "[::1]",
            "::1",
            "[::ffff:127.0.0.1]:80",
        ] {
            assert!(is_loopback(host), "{host}");
        }
        for host in [
            "10.254.0.1:5000",
            "128.0.0.1",
            "0.0.0.0:5000",
            "[::2]:5000",
            "[::ffff:10.0.0.1]",
            "registry.local:5000",
            "localhost.example.com",
            "my-localhost:5000",
            "127.0.0.1.example.com",
            "",
        ] {
            assert!(!is_loopback(host), "{host}");
        }
    }
}
