//! A minimal Docker token server (the `auth.token` realm of a `Mode::TlsToken` registry).
//!
//! It exists because no real token server ships in Debian, and the registry's bearer flow
//! (401 challenge, token request, retry with `Authorization: Bearer`) needs one. It speaks
//! HTTPS (rustls with the ring provider) with a certificate from the registry's CA, as a client
//! must not send credentials to a plain-HTTP realm of an HTTPS registry.
#![allow(clippy::disallowed_types)] // the harness runs on the build machine only (.clippy.toml)

use super::tls::server_config;
use super::{PASSWORD, USERNAME, run, tool};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rustls::{ServerConfig, ServerConnection, StreamOwned};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The refresh ("identity") token that the POST flow accepts as `USERNAME`.
pub const IDENTITY_TOKEN: &str = "identity-token-for-tester";
/// The registry's `auth.token.service`, the tokens' audience.
pub const SERVICE: &str = "test-registry";
/// The registry's `auth.token.issuer`, the tokens' `iss`.
pub const ISSUER: &str = "test-issuer";

/// Issues RS256 JWTs on `https://127.0.0.1:PORT/token`; stops when dropped.
pub struct TokenServer {
    addr: SocketAddr,
    state: Arc<State>,
    thread: Option<JoinHandle<()>>,
}

/// What the accept loop and every connection thread share.
struct State {
    key: PathBuf,
    cert: PathBuf,
    cert_der_base64: String,
    tls: Arc<ServerConfig>,
    next_jti: AtomicU64,
    requests: Mutex<Vec<String>>,
    issued: Mutex<Vec<String>>,
    stop: AtomicBool,
}

impl TokenServer {
    /// Starts on a free port. `key` is the PEM RSA key that signs tokens; `cert` is its PEM
    /// certificate, sent in each JWT's `x5c` header and used as the registry's `rootcertbundle`.
    /// `tls_cert` (PEM chain, leaf first) and `tls_key` (PEM) are what HTTPS is served with.
    pub fn start(key: &Path, cert: &Path, tls_cert: &Path, tls_key: &Path) -> TokenServer {
        let der = run(tool("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(cert))
        .stdout;
        let state = Arc::new(State {
            key: key.to_path_buf(),
            cert: cert.to_path_buf(),
            cert_der_base64: STANDARD.encode(der),
            tls: server_config(tls_cert, tls_key),
            next_jti: AtomicU64::new(0),
            requests: Mutex::new(Vec::new()),
            issued: Mutex::new(Vec::new()),
            stop: AtomicBool::new(false),
        });
        let listener = TcpListener::bind("127.0.0.1:0").expect("token server: bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let state = shared.clone();
                if let Ok(stream) = stream {
                    std::thread::spawn(move || handle(stream, &state));
                }
            }
        });
        TokenServer {
            addr,
            state,
            thread: Some(thread),
        }
    }

    /// The realm URL to configure in the registry: `https://127.0.0.1:PORT/token`.
    pub fn realm(&self) -> String {
        format!("https://{}/token", self.addr)
    }

    /// `127.0.0.1:PORT`, where it serves HTTPS.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The PEM certificate of the signing key: the registry's `rootcertbundle`.
    pub fn cert(&self) -> &Path {
        &self.state.cert
    }

    /// One entry per request, credentials left out: `GET /token?service=..&scope=..` with the
    /// query percent-decoded, or `POST /token grant_type=..&service=..&scope=..&client_id=..`
    /// (form fields other than `username`, `password` and `refresh_token`).
    pub fn requests(&self) -> Vec<String> {
        self.state.requests.lock().unwrap().clone()
    }

    /// Forgets the requests recorded so far.
    pub fn clear_requests(&self) {
        self.state.requests.lock().unwrap().clear();
    }

    /// Every token issued since start, so that tests can check that none is ever shown.
    pub fn issued_tokens(&self) -> Vec<String> {
        self.state.issued.lock().unwrap().clone()
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr); // wakes the accept loop
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A parsed request; `query` and `form` hold decoded pairs.
struct Request {
    method: String,
    path: String,
    query: Vec<(String, String)>,
    form: Vec<(String, String)>,
    authorization: Option<String>,
}

/// Serves one request on one TLS connection (`Connection: close`). A failed handshake (e.g. a
/// plain-HTTP client) just closes the connection.
fn handle(stream: TcpStream, state: &State) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(10)));
    let Ok(connection) = ServerConnection::new(state.tls.clone()) else {
        return;
    };
    let mut tls = StreamOwned::new(connection, stream);
    let Some(request) = read_request(BufReader::new(&mut tls)) else {
        return;
    };
    let (status, body) = respond(&request, state);
    let reason = if status == 200 { "OK" } else { "Error" };
    let body = body.to_string();
    let _ = write!(
        tls,
        "HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    tls.conn.send_close_notify();
    let _ = tls.flush();
    // A lingering close: closing with unread input (the client's own close_notify) would send
    // a reset, which may discard the answer before the client has read it.
    let _ = tls.sock.shutdown(Shutdown::Write);
    let _ = tls.sock.set_read_timeout(Some(Duration::from_secs(2)));
    let mut sink = [0; 1024];
    while matches!(tls.sock.read(&mut sink), Ok(n) if n > 0) {}
}

fn read_request(mut reader: impl BufRead) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next()?.to_string(), parts.next()?.to_string());
    let (mut authorization, mut length) = (None, 0usize);
    loop {
        line.clear();
        if reader.read_line(&mut line).ok()? == 0 || line.trim().is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        match name.trim().to_ascii_lowercase().as_str() {
            "authorization" => authorization = Some(value.trim().to_string()),
            "content-length" => length = value.trim().parse().ok()?,
            _ => {}
        }
    }
    let mut body = vec![0; length.min(64 * 1024)];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let (path, query) = (path.to_string(), form_pairs(query));
    let form = form_pairs(&String::from_utf8_lossy(&body));
    Some(Request {
        method,
        path,
        query,
        form,
        authorization,
    })
}

/// Decodes `application/x-www-form-urlencoded` pairs (query strings use the same encoding).
fn form_pairs(text: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let mut out = Vec::new();
        let mut bytes = s.as_bytes().iter();
        while let Some(&b) = bytes.next() {
            let hex = || {
                u8::from_str_radix(std::str::from_utf8(bytes.as_slice().get(..2)?).ok()?, 16).ok()
            };
            match (b, hex()) {
                (b'%', Some(decoded)) => {
                    out.push(decoded);
                    bytes.nth(1);
                }
                (b'+', _) => out.push(b' '),
                (other, _) => out.push(other),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    let pairs = text.split('&').filter(|pair| !pair.is_empty());
    pairs
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn field<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn error(status: u16, code: &str) -> (u16, Value) {
    (
        status,
        json!({"errors": [{"code": code, "message": code.to_lowercase()}]}),
    )
}

fn respond(request: &Request, state: &State) -> (u16, Value) {
    let public = |pairs: &[(String, String)]| {
        let secret = |k: &str| matches!(k, "username" | "password" | "refresh_token");
        let kept: Vec<_> = pairs
            .iter()
            .filter(|(k, _)| !secret(k))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        kept.join("&")
    };
    let (method, path, form) = (request.method.as_str(), &request.path, &request.form);
    let record = match method {
        "POST" => format!("POST {path} {}", public(form)),
        _ => format!("{method} {path}?{}", public(&request.query)),
    };
    state.requests.lock().unwrap().push(record);
    if path != "/token" {
        return error(404, "NOT_FOUND");
    }
    let user_password =
        field(form, "username") == Some(USERNAME) && field(form, "password") == Some(PASSWORD);
    // (the parameters, whether the request authenticated as USERNAME)
    let (params, is_user) = match (method, field(form, "grant_type")) {
        ("GET", _) => match &request.authorization {
            None => (&request.query, false),
            Some(header) if basic_matches(header) => (&request.query, true),
            Some(_) => return error(401, "UNAUTHORIZED"),
        },
        ("POST", Some("refresh_token")) if field(form, "refresh_token") == Some(IDENTITY_TOKEN) => {
            (form, true)
        }
        ("POST", Some("password")) if user_password => (form, true),
        ("POST", Some("refresh_token" | "password")) => return error(401, "UNAUTHORIZED"),
        ("POST", _) => return error(400, "UNSUPPORTED_GRANT_TYPE"),
        _ => return error(405, "METHOD_NOT_ALLOWED"),
    };
    let service = field(params, "service").unwrap_or(SERVICE);
    let scopes = params
        .iter()
        .filter(|(k, _)| k == "scope")
        .flat_map(|(_, v)| v.split_whitespace());
    let token = sign_token(
        state,
        service,
        if is_user { USERNAME } else { "" },
        grant(scopes, is_user),
    );
    state.issued.lock().unwrap().push(token.clone());
    let mut answer =
        json!({"access_token": token, "expires_in": 300, "issued_at": rfc3339(unix_now())});
    if method == "GET" {
        answer["token"] = json!(token); // POST answers carry only access_token, like Docker Hub's
    }
    (200, answer)
}

fn basic_matches(header: &str) -> bool {
    let decoded = header
        .strip_prefix("Basic ")
        .and_then(|b64| STANDARD.decode(b64.trim()).ok());
    decoded.is_some_and(|d| d == format!("{USERNAME}:{PASSWORD}").as_bytes())
}

/// The `access` claim: the user gets every action asked for; anonymous gets only `pull` on
/// `repository:public/...`. Scopes that grant nothing are left out.
fn grant<'a>(scopes: impl Iterator<Item = &'a str>, is_user: bool) -> Vec<Value> {
    let mut access = Vec::new();
    for scope in scopes {
        // `type:name:actions`; the name may itself contain ':' (e.g. a port).
        let Some((kind, rest)) = scope.split_once(':') else {
            continue;
        };
        let Some((name, actions)) = rest.rsplit_once(':') else {
            continue;
        };
        let public_pull = |action: &&str| {
            *action == "pull" && kind == "repository" && name.starts_with("public/")
        };
        let actions: Vec<&str> = actions
            .split(',')
            .filter(|a| is_user || public_pull(a))
            .collect();
        if !actions.is_empty() {
            access.push(json!({"type": kind, "name": name, "actions": actions}));
        }
    }
    access
}

/// An RS256 JWT signed by `openssl dgst` with the server's key, its certificate in `x5c`.
/// (A panic here ends only this connection's thread; the client sees the connection close.)
fn sign_token(state: &State, service: &str, subject: &str, access: Vec<Value>) -> String {
    let now = unix_now();
    let jti = state.next_jti.fetch_add(1, Ordering::SeqCst);
    let header = json!({"typ": "JWT", "alg": "RS256", "x5c": [state.cert_der_base64]});
    let claims = json!({
        "iss": ISSUER, "sub": subject, "aud": service, "exp": now + 300, "nbf": now - 10, "iat": now,
        "jti": format!("jti-{}-{jti}", std::process::id()), "access": access,
    });
    let encode = |value: Value| URL_SAFE_NO_PAD.encode(value.to_string());
    let signing_input = format!("{}.{}", encode(header), encode(claims));
    let mut openssl = tool("openssl");
    openssl.args(["dgst", "-sha256", "-sign"]).arg(&state.key);
    let mut child = openssl
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(signing_input.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{openssl:?} failed");
    let signature = output.stdout;
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `YYYY-MM-DDTHH:MM:SSZ` for a Unix time (days to civil date, proleptic Gregorian calendar).
fn rfc3339(secs: u64) -> String {
    let (days, rem) = ((secs / 86_400) as i64 + 719_468, secs % 86_400);
    let (era, doe) = (days.div_euclid(146_097), days.rem_euclid(146_097));
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let (day, month) = (
        doy - (153 * mp + 2) / 5 + 1,
        if mp < 10 { mp + 3 } else { mp - 9 },
    );
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s) = (rem / 3600, rem / 60 % 60, rem % 60);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}Z")
}
