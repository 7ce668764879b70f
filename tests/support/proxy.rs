//! A small HTTP/1.1 proxy that sits between manifest-tool and a real plain-HTTP
//! `docker-registry` and changes chosen requests on their way through.
//!
//! It exists because no real registry misbehaves on demand: Debian's registry always honours a
//! blob mount, so the fallback a client needs for registries that refuse mounts can only be
//! shown by rewriting the request. Everything else reaches the real registry unchanged, one
//! request per connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// How the proxy changes requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Drop `mount=` and `from=` from blob-upload POSTs, so the registry opens an upload session
    /// and answers 202, as registries that refuse cross-repository mounts do.
    RefuseMounts,
}

/// A running proxy; stops when dropped.
pub struct Proxy {
    port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Proxy to `upstream` (`host:port` of a plain-HTTP registry), applying `fault`.
    pub fn start(upstream: &str, fault: Fault) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = upstream.to_string();
        let stop_flag = stop.clone();
        let thread = std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stop_flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(client) = stream else { continue };
                let upstream = upstream.clone();
                std::thread::spawn(move || {
                    let _ = forward(client, &upstream, fault);
                });
            }
        });
        Proxy {
            port,
            stop,
            thread: Some(thread),
        }
    }

    /// `127.0.0.1:PORT`: use it as the registry host in references.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Read one request from `client`, send it (changed by `fault`) to `upstream` with
/// `Connection: close`, copy the whole answer back, and close.
fn forward(client: TcpStream, upstream: &str, fault: Fault) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        if line == "\r\n" || line.is_empty() {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if !lower.starts_with("connection:") {
            headers.push(line);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;

    let request_line = match fault {
        Fault::RefuseMounts => without_mount(&request_line),
    };
    let mut server = TcpStream::connect(upstream)?;
    server.write_all(request_line.as_bytes())?;
    for header in &headers {
        server.write_all(header.as_bytes())?;
    }
    server.write_all(b"Connection: close\r\n\r\n")?;
    server.write_all(&body)?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    let mut client = client;
    client.write_all(&answer)?;
    client.shutdown(Shutdown::Both)
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
