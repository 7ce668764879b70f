//! A small HTTP/1.1 proxy that sits between manifest-tool and a real plain-HTTP
//! `docker-registry` and misbehaves on chosen requests.
//!
//! It exists because no real registry misbehaves on demand: Debian's registry always honours a
//! blob mount, never answers 503 or 429, never drops a connection half-way through a body and
//! never stalls, yet a client must survive all of that. Each [`Rule`] names requests (method and
//! a substring of the path) and how many of them to spoil, and a [`Fault`] says how; everything
//! else reaches the real registry unchanged, one request per connection. It can also speak
//! HTTPS to the client ([`Proxy::start_tls`]) while the registry behind it speaks plain HTTP, to
//! play an HTTPS registry with its own authentication or redirects.
#![allow(clippy::disallowed_types)] // the harness runs on the build machine only (.clippy.toml)

use super::tls::server_config;
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Something to run when a request matches (e.g. kill the registry), before it is forwarded.
pub type Hook = Arc<dyn Fn() + Send + Sync>;

/// How the proxy spoils a request.
#[derive(Clone)]
pub enum Fault {
    /// Drop `mount=` and `from=` from blob-upload POSTs, so the registry opens an upload session
    /// and answers 202, as registries that refuse cross-repository mounts do.
    RefuseMounts,
    /// Answer this status with a registry-style JSON error body; the registry never sees the
    /// request.
    Status(u16),
    /// Answer 429 with `Retry-After`; the registry never sees the request.
    TooManyRequests(RetryAfter),
    /// Forward the request (the registry acts on it), then reset the connection (TCP RST)
    /// instead of answering.
    ResetBeforeResponse,
    /// Forward, send the answer's headers and half its body, then reset the connection.
    ResetMidBody,
    /// Forward, send the headers and half the body, then close normally: the client gets fewer
    /// bytes than `Content-Length` promised.
    TruncateBody,
    /// Forward, then keep the answer back this long (longer than the client's read timeout)
    /// and close without answering.
    Stall(Duration),
    /// Answer `307 Temporary Redirect` to this base URL followed by the request's own path and
    /// query; the registry never sees the request.
    RedirectTo(String),
    /// Answer `307 Temporary Redirect` to `base` followed by the request's own path and then
    /// `?query`, as a registry sends a blob GET to storage with a URL signed in its query.
    SignedRedirect { base: String, query: String },
    /// Answer 401 with this `WWW-Authenticate` value to requests without `Authorization`; the
    /// others go on to the other rules and reach the registry without it. Plays a registry that
    /// wants credentials (see [`Proxy::challenge`]).
    Challenge(String),
    /// Answer `status` with this `Content-Type` and an endless body: `Content-Length` says so
    /// when `declare_length` (a terabyte), else the body is chunked. Counts what it sent.
    Endless {
        status: u16,
        content_type: String,
        declare_length: bool,
    },
    /// Forward, then replace every `from` with `to` in the answer (headers and body; give
    /// both the same length to keep `Content-Length` right). Plays a registry that serves
    /// corrupted content or announces a wrong digest.
    Rewrite { from: String, to: String },
    /// Answer `status` with this `Content-Type` and body; the registry never sees the request.
    /// Plays a token server, for one.
    Respond {
        status: u16,
        content_type: String,
        body: String,
    },
    /// Answer 200 with these bytes as a manifest of `content_type`, with `Docker-Content-Digest:
    /// digest_header` when given; the registry never sees the request. Plays a registry that
    /// serves other content than was asked for, and may announce a digest to match.
    ServeManifest {
        content_type: String,
        digest_header: Option<String>,
        body: Vec<u8>,
    },
    /// Run the hook, then forward the request normally.
    Run(Hook),
    /// Let a handler answer: it sees the request and may forward it (once or not at all);
    /// what it returns is sent to the client. Plays a registry's own rules (see
    /// `standins`).
    Handle(Handler),
}

/// A handler for [`Fault::Handle`]: given the request and a way to forward it to the registry
/// (returning the registry's whole answer), the whole answer to send.
pub type Handler = Arc<
    dyn Fn(&Exchange, &dyn Fn() -> std::io::Result<Vec<u8>>) -> std::io::Result<Vec<u8>>
        + Send
        + Sync,
>;

/// What a [`Handler`] sees of a request.
pub struct Exchange<'a> {
    /// `PUT`, `GET`, ...
    pub method: &'a str,
    /// The path and query.
    pub target: &'a str,
    /// The header lines as sent (`Name: value\r\n`), without `Connection`.
    pub headers: &'a [String],
    /// The body.
    pub body: &'a [u8],
    /// `host:port` of the registry behind the proxy.
    pub upstream: &'a str,
}

impl Exchange<'_> {
    /// The value of header `name` (any case), trimmed.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

impl Fault {
    /// [`Fault::Respond`] with a JSON body: a registry or token server answering `status`.
    pub fn json(status: u16, body: impl Into<String>) -> Fault {
        Fault::Respond {
            status,
            content_type: "application/json".to_string(),
            body: body.into(),
        }
    }

    /// [`Fault::ServeManifest`] without `Docker-Content-Digest`: other bytes as the manifest.
    pub fn manifest(content_type: &str, body: Vec<u8>) -> Fault {
        Fault::ServeManifest {
            content_type: content_type.to_string(),
            digest_header: None,
            body,
        }
    }

    /// A short name for tables and messages.
    pub fn name(&self) -> String {
        match self {
            Fault::RefuseMounts => "refuse mounts".to_string(),
            Fault::Status(status) => format!("{status}"),
            Fault::TooManyRequests(RetryAfter::Seconds(s)) => format!("429 Retry-After {s} s"),
            Fault::TooManyRequests(RetryAfter::DateIn(s)) => {
                format!("429 Retry-After date +{s} s")
            }
            Fault::TooManyRequests(RetryAfter::Raw(text)) => format!("429 Retry-After {text}"),
            Fault::ResetBeforeResponse => "reset before response".to_string(),
            Fault::ResetMidBody => "reset mid-body".to_string(),
            Fault::TruncateBody => "truncated body".to_string(),
            Fault::Stall(d) => format!("stall {} s", d.as_secs()),
            Fault::RedirectTo(base) => format!("307 to {base}"),
            Fault::SignedRedirect { base, .. } => format!("307 to {base} with a signed query"),
            Fault::Challenge(_) => "401 challenge".to_string(),
            Fault::Endless { status, .. } => format!("{status} with an endless body"),
            Fault::Rewrite { .. } => "rewritten answer".to_string(),
            Fault::Respond { status, .. } => format!("{status} answered by the proxy"),
            Fault::ServeManifest { .. } => "other content served".to_string(),
            Fault::Run(_) => "hook".to_string(),
            Fault::Handle(_) => "handled".to_string(),
        }
    }
}

/// A `Retry-After` value.
#[derive(Clone, Debug)]
pub enum RetryAfter {
    /// Delay-seconds.
    Seconds(u64),
    /// An HTTP date this many seconds from now.
    DateIn(u64),
    /// This text, as a broken or hostile server might send it.
    Raw(String),
}

/// Which requests a fault applies to: `method` (`"*"` for any) and a substring of the request
/// target (path and query), skipping the first `skip` matches and then spoiling `count`.
#[derive(Clone)]
pub struct Rule {
    method: String,
    path: String,
    /// Whether `path` must end the request's path rather than occur anywhere in its target.
    at_end: bool,
    skip: usize,
    count: usize,
    fault: Fault,
}

impl Rule {
    /// Every request whose method is `method` (or any, with `"*"`) and whose target contains
    /// `path`.
    pub fn new(method: &str, path: &str, fault: Fault) -> Rule {
        Rule {
            method: method.to_string(),
            path: path.to_string(),
            at_end: false,
            skip: 0,
            count: usize::MAX,
            fault,
        }
    }

    /// Every request whose method is `method` (or any, with `"*"`) and whose path (the target
    /// without its query) ends with `suffix`: `/manifests/1.0` is not `/manifests/1.0-x1`.
    pub fn ending(method: &str, suffix: &str, fault: Fault) -> Rule {
        Rule {
            at_end: true,
            ..Rule::new(method, suffix, fault)
        }
    }

    /// Only the first `count` matching requests.
    pub fn first(mut self, count: usize) -> Rule {
        self.count = count;
        self
    }

    /// Leave the first `skip` matching requests alone.
    pub fn after(mut self, skip: usize) -> Rule {
        self.skip = skip;
        self
    }

    fn is_challenge(&self) -> bool {
        matches!(self.fault, Fault::Challenge(_))
    }

    fn matches(&self, method: &str, target: &str) -> bool {
        let path_matches = if self.at_end {
            target
                .split('?')
                .next()
                .unwrap_or(target)
                .ends_with(&self.path)
        } else {
            target.contains(&self.path)
        };
        (self.method == "*" || self.method == method) && path_matches
    }
}

/// What the proxy saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    /// `METHOD TARGET`, e.g. `GET /v2/docker/app/manifests/list`.
    pub request: String,
    /// The `Authorization` value the client sent, if any.
    pub authorization: Option<String>,
    /// The name of the fault applied, if any.
    pub fault: Option<String>,
    /// When the request had been read.
    pub at: Instant,
}

/// State shared by the accept loop and the connection threads.
struct Shared {
    upstream: String,
    rules: Mutex<Vec<(Rule, usize)>>,
    seen: Mutex<Vec<Seen>>,
    endless_bytes: AtomicU64,
    tls: Option<Arc<ServerConfig>>,
    /// Held while one request is handled, for [`Proxy::serial`].
    one_at_a_time: Option<Mutex<()>>,
    /// Connections accepted so far.
    accepted: AtomicUsize,
    /// How long a connection may wait for its request, for [`Proxy::close_idle_after`].
    idle_limit: Mutex<Option<Duration>>,
    /// Connections closed for bringing no request in time.
    idle_closed: AtomicUsize,
}

/// A running proxy; stops when dropped.
pub struct Proxy {
    /// Where it listens.
    addr: std::net::SocketAddr,
    port: u16,
    stop: Arc<AtomicBool>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Proxy to `upstream` (`host:port` of a plain-HTTP registry), applying `fault` to every
    /// request (for `RefuseMounts`, every mount).
    pub fn start(upstream: &str, fault: Fault) -> Proxy {
        let proxy = Proxy::transparent(upstream);
        proxy.inject(Rule::new("*", "", fault));
        proxy
    }

    /// Proxy to `upstream` changing nothing until rules are added with [`Proxy::inject`].
    pub fn transparent(upstream: &str) -> Proxy {
        Proxy::launch(upstream, None, false)
    }

    /// [`Proxy::transparent`] with `rule` already added: a registry that misbehaves in one way.
    pub fn with_rule(upstream: &str, rule: Rule) -> Proxy {
        let proxy = Proxy::transparent(upstream);
        proxy.inject(rule);
        proxy
    }

    /// Like [`Proxy::transparent`], handling one request at a time (connections are accepted
    /// and read concurrently, so a connection the client opened ahead of need holds nothing
    /// up): the registry behind is idle whenever a request reaches it, and the other requests
    /// wait while a [`Fault::Run`] hook runs (so that killing the registry never cuts a write
    /// half-way).
    pub fn serial(upstream: &str) -> Proxy {
        Proxy::launch(upstream, None, true)
    }

    /// Like [`Proxy::transparent`], speaking HTTPS to clients with `cert` (PEM chain) and `key`
    /// (PEM) while the registry behind it speaks plain HTTP.
    pub fn start_tls(upstream: &str, cert: &Path, key: &Path) -> Proxy {
        Proxy::launch(upstream, Some(server_config(cert, key)), false)
    }

    /// [`Proxy::start_tls`] listening on `listen` (a loopback address and port of the test's
    /// choice, e.g. `127.x.y.z:443` for a host name mapped there); the error when it cannot
    /// bind it.
    pub fn start_tls_at(
        listen: std::net::SocketAddr,
        upstream: &str,
        cert: &Path,
        key: &Path,
    ) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind(listen)?;
        Ok(Proxy::serve_on(
            listener,
            upstream,
            Some(server_config(cert, key)),
            false,
        ))
    }

    /// Add a rule; rules are tried in the order added, and the first that matches a request
    /// and still has requests to spoil (or to skip) takes it.
    pub fn inject(&self, rule: Rule) {
        self.shared.rules.lock().unwrap().push((rule, 0));
    }

    /// Add a rule before every rule added so far: it takes the requests it matches first.
    pub fn inject_first(&self, rule: Rule) {
        self.shared.rules.lock().unwrap().insert(0, (rule, 0));
    }

    /// Play a registry that wants credentials: every `/v2/` request without `Authorization` is
    /// answered 401 with `WWW-Authenticate: www_authenticate`; one with it goes on to the other
    /// rules (added before or after) and reaches the registry without it.
    pub fn challenge(&self, www_authenticate: &str) {
        let fault = Fault::Challenge(www_authenticate.to_string());
        self.inject(Rule::new("*", "/v2/", fault));
    }

    /// Play a registry whose token server is this proxy: [`Proxy::challenge`] with
    /// `Bearer realm="http(s)://HOST/token",service="test"`, and `GET /token` answered with
    /// `answer` (a [`Fault::Respond`] or [`Fault::Endless`]). A rule added before for
    /// `/token` takes its requests first.
    pub fn serve_tokens(&self, answer: Fault) {
        self.inject(Rule::new("GET", "/token", answer));
        let scheme = if self.shared.tls.is_some() {
            "https"
        } else {
            "http"
        };
        let realm = format!("{scheme}://{}/token", self.host());
        self.challenge(&format!("Bearer realm=\"{realm}\",service=\"test\""));
    }

    /// `127.0.0.1:PORT`: use it as the registry host in references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Every request seen so far, in order of arrival.
    pub fn seen(&self) -> Vec<Seen> {
        self.shared.seen.lock().unwrap().clone()
    }

    /// How many requests seen so far start with `prefix` (`"GET /token"`, say).
    pub fn count(&self, prefix: &str) -> usize {
        self.seen()
            .iter()
            .filter(|s| s.request.starts_with(prefix))
            .count()
    }

    /// The requests seen that could change the registry: all but `GET` and `HEAD`.
    pub fn writes(&self) -> Vec<String> {
        self.seen()
            .into_iter()
            .map(|s| s.request)
            .filter(|r| !r.starts_with("GET ") && !r.starts_with("HEAD "))
            .collect()
    }

    /// The requests seen that a fault was applied to: `"METHOD TARGET: FAULT"`.
    pub fn spoiled(&self) -> Vec<String> {
        self.seen()
            .into_iter()
            .filter_map(|s| s.fault.map(|f| format!("{}: {f}", s.request)))
            .collect()
    }

    /// Play a server with an idle timeout: a connection that brings no request within `limit`
    /// of its last input (after the TLS handshake, over HTTPS) is closed, cleanly (a TLS
    /// `close_notify`, then end of stream), as nginx or a load balancer closes an idle
    /// connection. It also bounds each read of a request. Applies to connections accepted
    /// from now on.
    pub fn close_idle_after(&self, limit: Duration) {
        *self.shared.idle_limit.lock().unwrap() = Some(limit);
    }

    /// Connections accepted so far: each carries at most one request, so more connections
    /// than [`Proxy::seen`] requests means some were opened and left unused.
    pub fn connections(&self) -> usize {
        self.shared.accepted.load(Ordering::SeqCst)
    }

    /// Connections closed so far for bringing no request in time (see
    /// [`Proxy::close_idle_after`]).
    pub fn idle_closed(&self) -> usize {
        self.shared.idle_closed.load(Ordering::SeqCst)
    }

    /// Bytes sent in [`Fault::Endless`] bodies so far.
    pub fn endless_bytes_sent(&self) -> u64 {
        self.shared.endless_bytes.load(Ordering::SeqCst)
    }

    fn launch(upstream: &str, tls: Option<Arc<ServerConfig>>, serial: bool) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        Proxy::serve_on(listener, upstream, tls, serial)
    }

    fn serve_on(
        listener: TcpListener,
        upstream: &str,
        tls: Option<Arc<ServerConfig>>,
        serial: bool,
    ) -> Proxy {
        let addr = listener.local_addr().expect("proxy address");
        let port = addr.port();
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Shared {
            upstream: upstream.to_string(),
            rules: Mutex::new(Vec::new()),
            seen: Mutex::new(Vec::new()),
            endless_bytes: AtomicU64::new(0),
            tls,
            one_at_a_time: serial.then(|| Mutex::new(())),
            accepted: AtomicUsize::new(0),
            idle_limit: Mutex::new(None),
            idle_closed: AtomicUsize::new(0),
        });
        let (stop_flag, state) = (stop.clone(), shared.clone());
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = stream else { continue };
                state.accepted.fetch_add(1, Ordering::SeqCst);
                let state = state.clone();
                std::thread::spawn(move || serve(client, &state));
            }
        });
        Proxy {
            addr,
            port,
            stop,
            shared,
            thread: Some(thread),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One connection: over TLS or not, serve its one request; if anything goes wrong (the
/// registry is down, the client went away) reset the connection, as a dead server would.
/// One that brings no request in time (see [`Proxy::close_idle_after`]) is closed cleanly.
fn serve(client: TcpStream, shared: &Shared) {
    let raw = client.try_clone().expect("clone the client socket");
    let plain_on_tls = shared.tls.is_some() && speaks_plain_http(&raw);
    let idle_limit = *shared.idle_limit.lock().unwrap();
    let _ = client.set_read_timeout(Some(idle_limit.unwrap_or(Duration::from_secs(30))));
    let result = match &shared.tls {
        // A client speaking plain HTTP to the HTTPS port: note what it sent in the clear
        // (`Seen::fault` says so) and hang up, as a TLS server would.
        Some(_) if plain_on_tls => {
            let mut plain = client;
            if let Ok(request) = read_request(&mut plain) {
                shared.seen.lock().unwrap().push(Seen {
                    request: format!("{} {}", request.method, request.target),
                    authorization: request.authorization,
                    fault: Some(PLAIN_ON_TLS.to_string()),
                    at: Instant::now(),
                });
            }
            Err(std::io::Error::other("plain HTTP on the TLS port"))
        }
        Some(config) => match ServerConnection::new(config.clone()) {
            Ok(connection) => {
                let mut tls = StreamOwned::new(connection, client);
                let result = handle(&mut tls, &raw, shared);
                tls.conn.send_close_notify();
                let _ = tls.flush();
                result
            }
            Err(_) => Ok(()),
        },
        None => {
            let mut plain = client;
            handle(&mut plain, &raw, shared)
        }
    };
    match result {
        Ok(()) => {
            // A lingering close: closing with unread input would send a reset and could
            // discard the answer before the client has read it.
            let _ = raw.shutdown(Shutdown::Write);
            let _ = raw.set_read_timeout(Some(Duration::from_secs(2)));
            let mut sink = [0; 1024];
            while matches!((&raw).read(&mut sink), Ok(n) if n > 0) {}
        }
        Err(_) => reset(&raw),
    }
}

/// [`Seen::fault`] of a request that came in plain HTTP to an HTTPS proxy.
pub const PLAIN_ON_TLS: &str = "plain HTTP on the HTTPS port";

/// Whether the client's first bytes are a plain-HTTP request line rather than a TLS handshake.
fn speaks_plain_http(socket: &TcpStream) -> bool {
    let mut first = [0; 1];
    let _ = socket.set_read_timeout(Some(Duration::from_secs(5)));
    // A TLS record starts with its type (22 for a handshake), a request with its method.
    matches!(socket.peek(&mut first), Ok(1) if first[0].is_ascii_uppercase())
}

/// A request as read from the client.
struct Request {
    line: String,
    method: String,
    target: String,
    headers: Vec<String>,
    authorization: Option<String>,
    body: Vec<u8>,
}

fn read_request(stream: &mut dyn Read) -> std::io::Result<Request> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = match (parts.next(), parts.next()) {
        (Some(m), Some(t)) => (m.to_string(), t.to_string()),
        _ => return Err(std::io::Error::other("no request line")),
    };
    let mut headers = Vec::new();
    let (mut length, mut authorization) = (0usize, None);
    loop {
        let mut header = String::new();
        reader.read_line(&mut header)?;
        if header == "\r\n" || header.is_empty() {
            break;
        }
        let lower = header.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if lower.starts_with("authorization:") {
            authorization = Some(header["authorization:".len()..].trim().to_string());
        }
        if !lower.starts_with("connection:") {
            headers.push(header);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(Request {
        line,
        method,
        target,
        headers,
        authorization,
        body,
    })
}

/// The fault for a request, if a rule takes it (counting it against the rule). A challenge
/// only concerns requests without credentials: one with `Authorization` passes it by, on to
/// the other rules, whichever order they were added in.
fn choose(shared: &Shared, request: &Request) -> Option<Fault> {
    let mut rules = shared.rules.lock().unwrap();
    for (rule, matched) in rules.iter_mut() {
        if !rule.matches(&request.method, &request.target) {
            continue;
        }
        if rule.is_challenge() && request.authorization.is_some() {
            continue;
        }
        if *matched >= rule.skip.saturating_add(rule.count) {
            continue;
        }
        *matched += 1;
        if *matched > rule.skip {
            return Some(rule.fault.clone());
        }
        return None;
    }
    None
}

/// Whether a challenge rule covers the request: the proxy then plays the registry's
/// authentication, and the registry behind does not want the credentials.
fn challenged(shared: &Shared, request: &Request) -> bool {
    let rules = shared.rules.lock().unwrap();
    rules
        .iter()
        .any(|(rule, _)| rule.is_challenge() && rule.matches(&request.method, &request.target))
}

fn handle(client: &mut dyn ReadWrite, raw: &TcpStream, shared: &Shared) -> std::io::Result<()> {
    let mut request = match read_request(client) {
        Ok(request) => request,
        Err(e)
            if shared.idle_limit.lock().unwrap().is_some()
                && matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
        {
            shared.idle_closed.fetch_add(1, Ordering::SeqCst);
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    let _turn = shared
        .one_at_a_time
        .as_ref()
        .map(|turn| turn.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    let fault = choose(shared, &request);
    if request.authorization.is_some() && challenged(shared, &request) {
        request
            .headers
            .retain(|h| !h.to_ascii_lowercase().starts_with("authorization:"));
    }
    shared.seen.lock().unwrap().push(Seen {
        request: format!("{} {}", request.method, request.target),
        authorization: request.authorization.clone(),
        fault: fault.as_ref().map(Fault::name),
        at: Instant::now(),
    });
    let Some(fault) = fault else {
        let answer = forward(&request, &shared.upstream)?;
        return client.write_all(&answer);
    };
    match fault {
        Fault::RefuseMounts => {
            request.line = without_mount(&request.line);
            let answer = forward(&request, &shared.upstream)?;
            client.write_all(&answer)
        }
        Fault::Status(status) => {
            let body = format!(
                r#"{{"errors":[{{"code":"UNAVAILABLE","message":"injected {status} by the test proxy"}}]}}"#
            );
            client.write_all(
                format!(
                    "HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\n\
                     Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
        }
        Fault::TooManyRequests(after) => {
            let value = match after {
                RetryAfter::Seconds(s) => s.to_string(),
                RetryAfter::DateIn(s) => http_date(SystemTime::now() + Duration::from_secs(s)),
                RetryAfter::Raw(text) => text,
            };
            let body = r#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#;
            client.write_all(
                format!(
                    "HTTP/1.1 429 Too Many Requests\r\nRetry-After: {value}\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
        }
        Fault::ResetBeforeResponse => {
            forward(&request, &shared.upstream)?;
            Err(reset_now(raw))
        }
        Fault::ResetMidBody | Fault::TruncateBody => {
            let answer = forward(&request, &shared.upstream)?;
            let head_end = find(&answer, b"\r\n\r\n").map_or(answer.len(), |i| i + 4);
            let body_len = answer.len() - head_end;
            client.write_all(&answer[..head_end + body_len / 2])?;
            client.flush()?;
            std::thread::sleep(Duration::from_millis(50));
            if matches!(fault, Fault::ResetMidBody) {
                Err(reset_now(raw))
            } else {
                Ok(())
            }
        }
        Fault::Stall(duration) => {
            forward(&request, &shared.upstream)?;
            std::thread::sleep(duration);
            Ok(())
        }
        Fault::RedirectTo(base) => client.write_all(
            format!(
                "HTTP/1.1 307 Temporary Redirect\r\nLocation: {base}{}\r\n\
                 Content-Length: 0\r\nConnection: close\r\n\r\n",
                request.target
            )
            .as_bytes(),
        ),
        Fault::SignedRedirect { base, query } => {
            let path = request.target.split('?').next().unwrap_or_default();
            client.write_all(
                format!(
                    "HTTP/1.1 307 Temporary Redirect\r\nLocation: {base}{path}?{query}\r\n\
                     Content-Length: 0\r\nConnection: close\r\n\r\n"
                )
                .as_bytes(),
            )
        }
        Fault::Challenge(challenge) => {
            let body =
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
            client.write_all(
                format!(
                    "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: {challenge}\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n{body}",
                    body.len()
                )
                .as_bytes(),
            )
        }
        Fault::Endless {
            status,
            content_type,
            declare_length,
        } => {
            let length = if declare_length {
                "Content-Length: 1099511627776\r\n"
            } else {
                "Transfer-Encoding: chunked\r\n"
            };
            client.write_all(
                format!(
                    "HTTP/1.1 {status} Endless\r\nContent-Type: {content_type}\r\n{length}\
                     Connection: close\r\n\r\n"
                )
                .as_bytes(),
            )?;
            // Bounded, so a client that never stops reading cannot keep the test running.
            let chunk = vec![b' '; 64 * 1024];
            for _ in 0..4096 {
                if !declare_length {
                    client.write_all(format!("{:x}\r\n", chunk.len()).as_bytes())?;
                }
                client.write_all(&chunk)?;
                if !declare_length {
                    client.write_all(b"\r\n")?;
                }
                shared
                    .endless_bytes
                    .fetch_add(chunk.len() as u64, Ordering::SeqCst);
            }
            Ok(())
        }
        Fault::Rewrite { from, to } => {
            let answer = forward(&request, &shared.upstream)?;
            let (from, to) = (from.as_bytes(), to.as_bytes());
            let mut rewritten = Vec::with_capacity(answer.len());
            let mut rest = &answer[..];
            while let Some(i) = find(rest, from) {
                rewritten.extend_from_slice(&rest[..i]);
                rewritten.extend_from_slice(to);
                rest = &rest[i + from.len()..];
            }
            rewritten.extend_from_slice(rest);
            client.write_all(&rewritten)
        }
        Fault::Respond {
            status,
            content_type,
            body,
        } => client.write_all(
            format!(
                "HTTP/1.1 {status} Answered\r\nContent-Type: {content_type}\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        ),
        Fault::ServeManifest {
            content_type,
            digest_header,
            body,
        } => {
            let digest = digest_header
                .map(|d| format!("Docker-Content-Digest: {d}\r\n"))
                .unwrap_or_default();
            client.write_all(
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\n{digest}\
                     Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                )
                .as_bytes(),
            )?;
            client.write_all(&body)
        }
        Fault::Run(hook) => {
            hook();
            let answer = forward(&request, &shared.upstream)?;
            client.write_all(&answer)
        }
        Fault::Handle(handler) => {
            let exchange = Exchange {
                method: &request.method,
                target: &request.target,
                headers: &request.headers,
                body: &request.body,
                upstream: &shared.upstream,
            };
            let answer = handler(&exchange, &|| forward(&request, &shared.upstream))?;
            client.write_all(&answer)
        }
    }
}

/// `Read + Write` for a plain or TLS client stream.
trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// Send `request` to `upstream` with `Connection: close` and return the whole answer.
fn forward(request: &Request, upstream: &str) -> std::io::Result<Vec<u8>> {
    let mut server = TcpStream::connect(upstream)?;
    server.write_all(request.line.as_bytes())?;
    for header in &request.headers {
        server.write_all(header.as_bytes())?;
    }
    server.write_all(b"Connection: close\r\n\r\n")?;
    server.write_all(&request.body)?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    if answer.is_empty() {
        return Err(std::io::Error::other(
            "the registry closed without answering",
        ));
    }
    Ok(answer)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Make the next close of `socket` send a TCP RST (`SO_LINGER` with a zero timeout) and shut it.
fn reset(socket: &TcpStream) {
    #[repr(C)]
    struct Linger {
        on: i32,
        seconds: i32,
    }
    unsafe extern "C" {
        fn setsockopt(fd: i32, level: i32, name: i32, value: *const Linger, len: u32) -> i32;
    }
    const SOL_SOCKET: i32 = 1;
    const SO_LINGER: i32 = 13;
    let linger = Linger { on: 1, seconds: 0 };
    // SAFETY: a valid socket descriptor, and a pointer to a live `struct linger` of that size.
    unsafe {
        setsockopt(
            socket.as_raw_fd(),
            SOL_SOCKET,
            SO_LINGER,
            &linger,
            std::mem::size_of::<Linger>() as u32,
        );
    }
}

/// Reset the connection now and return the error that stops the handler.
fn reset_now(socket: &TcpStream) -> std::io::Error {
    reset(socket);
    std::io::Error::other("connection reset by the proxy")
}

/// `POST /v2/r/blobs/uploads/?mount=…&from=… HTTP/1.1` → `POST /v2/r/blobs/uploads/ HTTP/1.1`.
fn without_mount(request_line: &str) -> String {
    let mut parts = request_line.splitn(3, ' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return request_line.to_string();
    };
    match target.split_once('?') {
        Some((path, query)) if method == "POST" && query.contains("mount=") => {
            format!("{method} {path} {version}")
        }
        _ => request_line.to_string(),
    }
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`).
fn http_date(when: SystemTime) -> String {
    let secs = when.duration_since(UNIX_EPOCH).unwrap().as_secs();
    let days = secs / 86_400;
    let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][(days % 7) as usize];
    let (z, rem) = (days as i64 + 719_468, secs % 86_400);
    let (era, doe) = (z.div_euclid(146_097), z.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let name = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ][(month - 1) as usize];
    let (h, m, s) = (rem / 3600, rem / 60 % 60, rem % 60);
    format!("{weekday}, {day:02} {name} {year} {h:02}:{m:02}:{s:02} GMT")
}
