//! Registry-behaviour stand-ins for pushing: a [`Proxy`] in front of the real
//! `docker-registry` that plays one documented behaviour of a registry the tests cannot reach
//! (ECR, Harbor, Quay, zot, OpenShift), named after it.
//!
//! They are stand-ins, not those registries: each profile does only what the registry's
//! public issue tracker or source says it answers (its doc comment cites where), and every
//! other request is answered by the real registry behind it. What a profile refuses it
//! records, so a test can show the refusal happened and what the tool did next.

mod concurrent_tags;
mod immutable_tags;
mod media_types;

pub mod auth;
pub mod protocol;

use super::media::{DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use super::proxy::{Exchange, Fault, Handler, Proxy, Rule};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The refusals a stand-in made, as `METHOD TARGET: STATUS`, in order.
type Refusals = Arc<Mutex<Vec<String>>>;

/// A running stand-in; stops when dropped.
pub struct StandIn {
    proxy: Proxy,
    refused: Refusals,
}

impl StandIn {
    /// A proxy to `upstream` (a plain-HTTP registry) whose manifest PUTs are answered by the
    /// handler `make` builds; the handler records its refusals in what `make` is given.
    fn manifest_puts(upstream: &str, make: impl FnOnce(Refusals) -> Handler) -> StandIn {
        let refused = Refusals::default();
        let proxy = Proxy::with_rule(
            upstream,
            Rule::new("PUT", "/manifests/", Fault::Handle(make(refused.clone()))),
        );
        StandIn { proxy, refused }
    }

    /// `127.0.0.1:PORT`: the registry host for references.
    pub fn host(&self) -> String {
        self.proxy.host()
    }

    /// The proxy, to add fault rules in front of the profile or read what it saw.
    pub fn proxy(&self) -> &Proxy {
        &self.proxy
    }

    /// The requests the profile refused so far: `METHOD TARGET: STATUS`.
    pub fn refused(&self) -> Vec<String> {
        self.refused.lock().unwrap().clone()
    }
}

/// The repository and reference of a manifest request target: `/v2/a/b/manifests/1.0` is
/// `("a/b", "1.0")`.
fn manifest_target(target: &str) -> Option<(&str, &str)> {
    let path = target.split('?').next()?.strip_prefix("/v2/")?;
    path.rsplit_once("/manifests/")
}

/// Whether a manifest reference is a tag (not a digest).
fn is_tag(reference: &str) -> bool {
    !reference.contains(':')
}

/// Record a refusal of `exchange` and build the answer: `status` with a registry-style JSON
/// error body of `code`, `message` and, when given, `detail`.
fn refuse(
    refused: &Refusals,
    exchange: &Exchange,
    status: u16,
    code: &str,
    message: &str,
    detail: Option<serde_json::Value>,
) -> Vec<u8> {
    refused
        .lock()
        .unwrap()
        .push(format!("{} {}: {status}", exchange.method, exchange.target));
    let mut error = serde_json::json!({ "code": code, "message": message });
    if let Some(detail) = detail {
        error["detail"] = detail;
    }
    let body = serde_json::json!({ "errors": [error] }).to_string();
    format!(
        "HTTP/1.1 {status} Refused\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Whether tag `tag` of `repository` exists in the registry at `upstream` (a HEAD asking for
/// every manifest type, so a list is not converted).
fn upstream_has_tag(upstream: &str, repository: &str, tag: &str) -> bool {
    let ask = || -> std::io::Result<String> {
        let mut registry = TcpStream::connect(upstream)?;
        registry.set_read_timeout(Some(Duration::from_secs(10)))?;
        write!(
            registry,
            "HEAD /v2/{repository}/manifests/{tag} HTTP/1.1\r\nHost: {upstream}\r\n\
             Accept: {DOCKER_LIST}, {OCI_INDEX}, {DOCKER_MANIFEST}, {OCI_MANIFEST}\r\n\
             Connection: close\r\n\r\n"
        )?;
        let mut answer = String::new();
        registry.read_to_string(&mut answer)?;
        Ok(answer)
    };
    ask().is_ok_and(|answer| answer.starts_with("HTTP/1.1 200"))
}
