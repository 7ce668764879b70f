//! Connections opened before the requests that will use them.
//!
//! A stage that sends N requests at once to a registry needs N connections, and each new one
//! costs a TCP (and TLS) handshake: a round trip on the critical path, on top of the request's
//! own. The pipeline knows before a stage starts how many requests it will send at once, so it
//! asks for the connections early ([`Preconnector::open`]), while the previous stage is still
//! waiting for its answers. They are opened on background threads and kept here.
//!
//! ureq asks its connector for a connection whenever its pool has no idle one. Our connector
//! ([`OriginConnector`]) hands out a pre-opened connection to the registry's origin when there is
//! one, waits for one that is being opened when there is such, and only then opens a new one.
//! The same goes for another origin that a connection was opened to ahead
//! ([`Preconnector::open_elsewhere`]: the token realm, as soon as it is known); connections to
//! any other origin (a storage redirect) go straight through.
//!
//! Nothing is preconnected through an HTTP proxy: ureq sets up the `CONNECT` tunnel itself.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use ureq::Timeout;
use ureq::config::Config;
use ureq::http::Uri;
use ureq::unversioned::resolver::{DefaultResolver, Resolver};
use ureq::unversioned::transport::time::{Duration as UreqDuration, Instant as UreqInstant};
use ureq::unversioned::transport::{
    ConnectionDetails, Connector, DefaultConnector, NextTimeout, Transport,
};

/// A pre-opened connection that waited longer than this is closed instead of used: a server
/// or a load balancer may be about to drop it (ureq keeps idle pooled ones 15 s).
const MAX_WAIT_UNUSED: Duration = Duration::from_secs(10);

/// Opens connections to one origin (scheme, host and port) ahead of need.
#[derive(Debug, Clone)]
pub struct Preconnector {
    shared: Arc<Shared>,
    elsewhere: Elsewhere,
}

/// The connector ureq's agent is built with: pre-opened connections first, else ureq's own.
#[derive(Debug)]
pub struct OriginConnector {
    shared: Arc<Shared>,
    elsewhere: Elsewhere,
}

/// The other origins connections were opened to ahead, one [`Shared`] each.
type Elsewhere = Arc<Mutex<Vec<Arc<Shared>>>>;

#[derive(Debug)]
struct Shared {
    /// `scheme://authority/` of the origin; `None` when that is no URI (every request then
    /// fails on its own, and nothing is opened ahead).
    origin: Option<Uri>,
    /// The agent's configuration (TLS, timeouts, buffer sizes).
    config: Config,
    /// ureq's own connector chain: TCP, then TLS for https.
    inner: DefaultConnector,
    state: Mutex<State>,
    /// Signalled when a connection being opened is ready, or failed.
    changed: Condvar,
    debug: bool,
}

#[derive(Debug, Default)]
struct State {
    /// Opened and not yet handed out, oldest first, with when they were opened.
    ready: VecDeque<(Instant, Box<dyn Transport>)>,
    /// Being opened on a background thread.
    opening: usize,
    /// Requests waiting for one of those.
    waiting: usize,
    /// Connections to the origin opened so far, by either path, that are not known closed.
    opened: usize,
}

impl Preconnector {
    /// A preconnector for `scheme://authority`, opening connections as an agent with `config`
    /// would. `debug` prints one line per connection opened ahead.
    pub fn new(scheme: &str, authority: &str, config: &Config, debug: bool) -> Preconnector {
        Preconnector {
            shared: Shared::new(
                format!("{scheme}://{authority}/").parse().ok(),
                config,
                debug,
            ),
            elsewhere: Elsewhere::default(),
        }
    }

    /// The connector to build the agent with.
    pub fn connector(&self) -> OriginConnector {
        OriginConnector {
            shared: self.shared.clone(),
            elsewhere: self.elsewhere.clone(),
        }
    }

    /// Start opening connections, so that about `wanted` are open to the origin (counting those
    /// already open or being opened). Returns at once. A connection that cannot be opened is
    /// simply not there: the request that needed it opens its own and reports the error.
    pub fn open(&self, wanted: usize) {
        self.shared.open(wanted);
    }

    /// Start opening one connection to the origin of `url` (not the registry's: its token
    /// realm), unless one is open or being opened. Returns at once.
    pub fn open_elsewhere(&self, url: &str) {
        let Ok(uri) = url.parse::<Uri>() else { return };
        let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
            return;
        };
        if self.shared.is_origin(&uri) {
            return;
        }
        let shared = {
            let mut elsewhere = self
                .elsewhere
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            match elsewhere.iter().find(|shared| shared.is_origin(&uri)) {
                Some(shared) => shared.clone(),
                None => {
                    let origin = format!("{scheme}://{authority}/").parse().ok();
                    let shared = Shared::new(origin, &self.shared.config, self.shared.debug);
                    elsewhere.push(shared.clone());
                    shared
                }
            }
        };
        shared.open(1);
    }
}

impl Shared {
    fn new(origin: Option<Uri>, config: &Config, debug: bool) -> Arc<Shared> {
        Arc::new(Shared {
            origin,
            config: config.clone(),
            inner: DefaultConnector::default(),
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            debug,
        })
    }

    /// [`Preconnector::open`] for this origin.
    fn open(self: &Arc<Self>, wanted: usize) {
        let shared = self;
        if !shared.is_direct(&shared.config) {
            return;
        }
        let missing = {
            let mut state = shared.lock();
            let missing = wanted.saturating_sub(state.opened + state.opening);
            state.opening += missing;
            missing
        };
        for _ in 0..missing {
            let worker = shared.clone();
            let spawned = std::thread::Builder::new()
                .name("preconnect".to_string())
                .spawn(move || worker.open_one());
            if spawned.is_err() {
                shared.finish_opening(None);
            }
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Open one connection (on a background thread) and keep it for the next request.
    fn open_one(&self) {
        let Some(origin) = &self.origin else {
            self.finish_opening(None);
            return;
        };
        let started = Instant::now();
        let result = self.connect_now(origin);
        if self.debug {
            match &result {
                Ok(_) => crate::debug_line!(
                    "opened a connection to {origin} ahead of need in {} ms",
                    started.elapsed().as_millis()
                ),
                Err(e) => crate::debug_line!("could not open a connection to {origin}: {e}"),
            }
        }
        self.finish_opening(result.ok());
    }

    /// Record the end of one background opening, successful or not, and wake the waiters.
    fn finish_opening(&self, connection: Option<Box<dyn Transport>>) {
        let mut state = self.lock();
        state.opening = state.opening.saturating_sub(1);
        if let Some(connection) = connection {
            state.opened += 1;
            state.ready.push_back((Instant::now(), connection));
        }
        drop(state);
        self.changed.notify_all();
    }

    /// Resolve the origin and run ureq's connector chain on it, as ureq does for a request.
    fn connect_now(&self, origin: &Uri) -> Result<Box<dyn Transport>, ureq::Error> {
        let limit = self
            .config
            .timeouts()
            .connect
            .unwrap_or(Duration::from_secs(10));
        let timeout = NextTimeout {
            after: UreqDuration::Exact(limit),
            reason: Timeout::Connect,
            per_read: None,
            per_write: None,
        };
        let resolver = DefaultResolver::default();
        // Resolved on this thread: with a timeout, ureq's resolver would start another thread
        // to wait on it.
        let addrs = resolver.resolve(origin, &self.config, NextTimeout::default())?;
        let details = ConnectionDetails {
            uri: origin,
            addrs,
            config: &self.config,
            request_level: false,
            resolver: &resolver,
            now: UreqInstant::now(),
            timeout,
            current_time: Arc::new(UreqInstant::now),
            // Only used to reach a proxy, and nothing is preconnected through one.
            run_connector: Arc::new(|_: &ConnectionDetails| {
                Err(ureq::Error::ConnectProxyFailed(
                    "no proxy when connecting ahead".to_string(),
                ))
            }),
            // Our agent is never shut down from another thread.
            register_shutdown: Arc::new(|_| Ok(())),
        };
        self.inner
            .connect(&details, None)?
            .ok_or(ureq::Error::ConnectionFailed)
    }

    /// A pre-opened connection, or one being opened (waited for), or `None`: open your own.
    fn take(&self) -> Option<Box<dyn Transport>> {
        loop {
            let mut state = self.lock();
            // The oldest first, before it ages out (and the server's idle timer runs out).
            if let Some((opened_at, mut connection)) = state.ready.pop_front() {
                // Checked without the lock: a check may wait a little (see `still_open`).
                drop(state);
                if still_open(opened_at, &mut connection) {
                    return Some(connection);
                }
                drop(connection);
                let mut state = self.lock();
                state.opened = state.opened.saturating_sub(1);
                continue;
            }
            if state.opening <= state.waiting {
                return None;
            }
            state.waiting += 1;
            let mut state = self
                .changed
                .wait(state)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            state.waiting -= 1;
        }
    }

    /// True when the origin is a URI and `config` reaches it without a proxy.
    fn is_direct(&self, config: &Config) -> bool {
        let Some(origin) = &self.origin else {
            return false;
        };
        config.proxy().is_none_or(|proxy| proxy.is_no_proxy(origin))
    }

    /// True when `uri` is on this origin.
    fn is_origin(&self, uri: &Uri) -> bool {
        self.origin.as_ref().is_some_and(|origin| {
            uri.scheme() == origin.scheme() && uri.authority() == origin.authority()
        })
    }
}

/// A TLS connection opened ahead longer ago than this is checked by waiting for input through
/// the TLS layer; a younger one is handed out unchecked (see [`still_open`]).
const TLS_CHECK_AFTER: Duration = Duration::from_secs(1);

/// Whether a connection opened ahead at `opened_at` is still open and idle: not aged out, and,
/// as ureq checks before reusing a pooled connection, not closed by the server in the meantime
/// (a restart, an idle timeout). ureq's check reads the socket under the TLS layer and takes
/// any byte there for garbage; but a TLS 1.3 server sends its session tickets once the client
/// has finished the handshake (rustls and OpenSSL do, so most HTTPS front ends), so they wait
/// on a connection opened ahead, which would never be used. So a TLS connection is checked
/// through the TLS layer, which takes the tickets in: input is awaited for the shortest wait
/// the socket allows (a clock tick, a few ms), and waiting it out means open and idle. That
/// wait is spent only on a connection older than [`TLS_CHECK_AFTER`]: a server does not drop
/// a connection it has just accepted for being idle, and a request on one it dropped anyway is
/// sent again like any request that loses its connection.
fn still_open(opened_at: Instant, connection: &mut Box<dyn Transport>) -> bool {
    let age = opened_at.elapsed();
    if age >= MAX_WAIT_UNUSED {
        return false;
    }
    if !connection.is_tls() {
        return connection.is_open();
    }
    if age < TLS_CHECK_AFTER {
        return true;
    }
    // A wait per read of the socket, not one of 1 ms for the whole check: that one would start
    // before the read, and a thread that is not scheduled for a millisecond in between (six
    // checks at once on two busy cores) would find it spent and take a closed connection for
    // open. The whole check still has a bound, for a server that trickles records.
    let timeout = NextTimeout {
        after: UreqDuration::Exact(Duration::from_millis(100)),
        reason: Timeout::RecvResponse,
        per_read: Some(UreqDuration::Exact(Duration::from_millis(1))),
        per_write: None,
    };
    match connection.await_input(timeout) {
        Err(ureq::Error::Timeout(_)) => true,
        Err(ureq::Error::Io(e)) => matches!(
            e.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        ),
        Ok(_) | Err(_) => false,
    }
}

impl Connector<()> for OriginConnector {
    type Out = Box<dyn Transport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<()>,
    ) -> Result<Option<Self::Out>, ureq::Error> {
        let origin = if self.shared.is_origin(details.uri) {
            Some(self.shared.clone())
        } else {
            let elsewhere = self
                .elsewhere
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            elsewhere
                .iter()
                .find(|shared| shared.is_origin(details.uri))
                .cloned()
        };
        let ours = origin.filter(|shared| shared.is_direct(details.config));
        if let Some(shared) = &ours
            && let Some(connection) = shared.take()
        {
            return Ok(Some(connection));
        }
        let connection = self.shared.inner.connect(details, chained)?;
        if let Some(shared) = &ours
            && connection.is_some()
        {
            shared.lock().opened += 1;
        }
        if self.shared.debug {
            // Host and port only: a request's query may name the user (a token request's
            // account), and an authority could carry a user name.
            let uri = details.uri;
            let port = uri.port_u16().map(|p| format!(":{p}")).unwrap_or_default();
            crate::debug_line!(
                "opened a connection to {}://{}{port} on demand",
                uri.scheme_str().unwrap_or("?"),
                uri.host().unwrap_or("?")
            );
        }
        Ok(connection)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::TcpListener;

    /// An HTTP server on loopback that answers every request with 200 and the number of the
    /// connection it came on (`c0`, `c1`, … in the order accepted), and counts the connections.
    fn server() -> (String, Arc<Mutex<usize>>) {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let accepted = Arc::new(Mutex::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let number = {
                    let mut count = count.lock().expect("count");
                    *count += 1;
                    *count - 1
                };
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    let mut seen = Vec::new();
                    while let Ok(n) = stream.read(&mut buf) {
                        if n == 0 {
                            return;
                        }
                        seen.extend_from_slice(&buf[..n]);
                        while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                            seen.drain(..end + 4);
                            let body = format!("c{number}");
                            let answer = format!(
                                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
                                body.len()
                            );
                            if stream.write_all(answer.as_bytes()).is_err() {
                                return;
                            }
                        }
                    }
                });
            }
        });
        (addr, accepted)
    }

    fn agent_for(addr: &str) -> (ureq::Agent, Preconnector) {
        let config = ureq::Agent::config_builder().proxy(None).build();
        let pre = Preconnector::new("http", addr, &config, false);
        let agent = ureq::Agent::with_parts(config, pre.connector(), DefaultResolver::default());
        (agent, pre)
    }

    fn body_of(response: &mut ureq::http::Response<ureq::Body>) -> String {
        response.body_mut().read_to_string().expect("body")
    }

    fn wait_for(what: impl Fn() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while !what() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn requests_use_the_connections_opened_ahead_and_open_no_more() {
        let (addr, accepted) = server();
        let (agent, pre) = agent_for(&addr);
        pre.open(3);
        wait_for(|| *accepted.lock().expect("count") == 3 && pre.shared.lock().ready.len() == 3);
        assert_eq!(*accepted.lock().expect("count"), 3);

        // Three requests at once need three connections: exactly the three opened ahead.
        std::thread::scope(|scope| {
            for _ in 0..3 {
                scope.spawn(|| {
                    let mut response = agent.get(format!("http://{addr}/x")).call().expect("get");
                    assert!(body_of(&mut response).starts_with('c'));
                });
            }
        });
        assert_eq!(*accepted.lock().expect("count"), 3);

        // Asking again for three opens none: three are open.
        pre.open(3);
        assert_eq!(pre.shared.lock().opening, 0);
        // Asking for five opens two more.
        pre.open(5);
        wait_for(|| *accepted.lock().expect("count") == 5);
        assert_eq!(*accepted.lock().expect("count"), 5);
    }

    #[test]
    fn the_oldest_connection_opened_ahead_is_used_first() {
        let (addr, accepted) = server();
        let (agent, pre) = agent_for(&addr);
        pre.open(1);
        wait_for(|| pre.shared.lock().ready.len() == 1);
        pre.open(3);
        // Connected on our side is not yet accepted on the server's: wait for both.
        wait_for(|| pre.shared.lock().ready.len() == 3 && *accepted.lock().expect("count") == 3);
        assert_eq!(*accepted.lock().expect("count"), 3);
        let mut response = agent.get(format!("http://{addr}/x")).call().expect("get");
        assert_eq!(body_of(&mut response), "c0");
    }

    #[test]
    fn a_request_waits_for_a_connection_being_opened_rather_than_opening_another() {
        let (addr, accepted) = server();
        let (agent, pre) = agent_for(&addr);
        pre.open(1);
        let mut response = agent.get(format!("http://{addr}/x")).call().expect("get");
        assert!(body_of(&mut response).starts_with('c'));
        wait_for(|| pre.shared.lock().opening == 0);
        assert_eq!(*accepted.lock().expect("count"), 1);
    }

    #[test]
    fn other_origins_are_connected_as_usual() {
        let (addr, _) = server();
        let (other, other_accepted) = server();
        let (agent, pre) = agent_for(&addr);
        pre.open(2);
        let mut response = agent.get(format!("http://{other}/x")).call().expect("get");
        assert!(body_of(&mut response).starts_with('c'));
        assert_eq!(*other_accepted.lock().expect("count"), 1);
    }

    #[test]
    fn a_connection_the_server_closed_is_not_handed_out() {
        // A server that accepts and at once hangs up, then answers on later connections.
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let (agent, pre) = agent_for(&addr);
        pre.open(1);
        let (first, _) = listener.accept().expect("the connection opened ahead");
        drop(first);
        wait_for(|| pre.shared.lock().ready.len() == 1);
        std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("a new connection");
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
        });
        // Give the hang-up time to arrive.
        std::thread::sleep(Duration::from_millis(50));
        let mut response = agent.get(format!("http://{addr}/x")).call().expect("get");
        assert_eq!(body_of(&mut response), "ok");
    }

    #[test]
    fn a_refused_origin_leaves_requests_to_fail_on_their_own() {
        // A port nothing listens on: bind, note it, close.
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("port")
            .to_string();
        let (agent, pre) = agent_for(&addr);
        pre.open(2);
        let result = agent.get(format!("http://{addr}/x")).call();
        assert!(
            result.is_err(),
            "a refused connection must fail the request"
        );
        wait_for(|| pre.shared.lock().opening == 0);
        assert!(pre.shared.lock().ready.is_empty());
    }
}
