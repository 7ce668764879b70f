//! Stand-ins for the protocol liberties registries take, and for what they say when they
//! refuse: each profile is the proxy in front of the real registry, changing only what the
//! registry it is named after does differently.

use super::super::{Exchange, Fault, Proxy, Rule};
use super::auth::answer;
use std::sync::Arc;

/// **Stand-in for Quay refusing a manifest** (not Quay itself): a manifest PUT is answered
/// `400 MANIFEST_INVALID` with the message `manifest invalid` and the reason only in
/// `detail.message`, as quay/quay `endpoints/v2/errors.py` (`ManifestInvalid`) and
/// `endpoints/v2/manifest.py` (`raise ManifestInvalid(detail={"message": ...})`) build it.
pub fn quay_refusing_manifests(upstream: &str, reason: &str) -> Proxy {
    let body = serde_json::json!({"errors": [{
        "code": "MANIFEST_INVALID",
        "message": "manifest invalid",
        "detail": {"message": reason},
    }]});
    Proxy::with_rule(
        upstream,
        Rule::new("PUT", "/manifests/", Fault::json(400, body.to_string())),
    )
}

/// **Stand-in for a registry that quotes the request in its error detail** (a careless or
/// hostile one; nothing stops a registry from doing so): every manifest GET is answered
/// `403 DENIED` whose detail repeats the `Authorization` header it got, between control
/// characters, padded to several kilobytes.
pub fn quoting_credentials(upstream: &str) -> Proxy {
    let handler = |exchange: &Exchange, _: &dyn Fn() -> std::io::Result<Vec<u8>>| {
        let Some(authorization) = exchange.header("authorization") else {
            let challenge = "WWW-Authenticate: Basic realm=\"stand-in\"\r\n";
            let body =
                r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
            return Ok(answer(401, challenge, body));
        };
        let detail = format!("\u{1b}[2Jrefused\r\n{authorization}\t{}", "x".repeat(4096));
        let body = serde_json::json!({"errors": [{
            "code": "DENIED",
            "message": "denied",
            "detail": detail,
        }]});
        Ok(answer(403, "", &body.to_string()))
    };
    Proxy::with_rule(
        upstream,
        Rule::new("GET", "/manifests/", Fault::Handle(Arc::new(handler))),
    )
}

/// **Stand-in for GCR completing uploads with 200** (not GCR itself): the PUT that completes a
/// blob upload is answered `200 OK` where the specification says `201 Created`
/// (containerd/containerd#1472).
pub fn gcr_completing_uploads_with_200(upstream: &str) -> Proxy {
    let rewrite = Fault::Rewrite {
        from: "HTTP/1.1 201 Created".to_string(),
        to: "HTTP/1.1 200 OK".to_string(),
    };
    Proxy::with_rule(upstream, Rule::new("PUT", "/blobs/uploads/", rewrite))
}

/// **Stand-in for Pulp's Crane serving manifests from a CDN** (not Crane itself): the CDN
/// answers every manifest with its own `Content-Type` (`content_type`, or none at all when
/// `None`), which says nothing of the manifest's kind (containers/image#58: "the Content-Type
/// returned from queries is not under the control of Crane"). The registry's own type is
/// kept in an `X-Original-Type` header, which no client reads.
pub fn crane_behind_a_cdn(upstream: &str, content_type: Option<&str>) -> Proxy {
    let to = match content_type {
        Some(content_type) => format!("Content-Type: {content_type}\r\nX-Original-Type: "),
        None => "X-Original-Type: ".to_string(),
    };
    let rewrite = Fault::Rewrite {
        from: "Content-Type: application/vnd.".to_string(),
        to: format!("{to}application/vnd."),
    };
    Proxy::with_rule(upstream, Rule::new("GET", "/manifests/", rewrite))
}

/// Make `proxy` hand out the upload sessions of `REPO` (the `Location` of
/// `POST /v2/REPO/blobs/uploads/`) as `location_prefix` followed by the session's own part
/// (`UUID?_state=…`).
fn rewrite_upload_locations(proxy: &Proxy, repo: &str, location_prefix: &str) {
    let own = format!("Location: http://{}/v2/{repo}/blobs/uploads/", proxy.host());
    let rewrite = Fault::Rewrite {
        from: own,
        to: format!("Location: {location_prefix}"),
    };
    proxy.inject(Rule::new("POST", "/blobs/uploads/", rewrite));
}

/// **Stand-in for a registry giving relative upload `Location`s** (the OCI distribution
/// specification lets a `Location` be relative; RFC 3986 section 5.2 says how to resolve
/// it): the session of `POST /v2/REPO/blobs/uploads/` is handed out as `UUID?_state=…`,
/// relative to that request's URL.
pub fn relative_upload_locations(upstream: &str, repo: &str) -> Proxy {
    let proxy = Proxy::transparent(upstream);
    rewrite_upload_locations(&proxy, repo, "");
    proxy
}

/// **Stand-in for a registry whose upload sessions live on another origin** (a storage
/// front-end on another host or port, as registries behind a CDN or a TLS-terminating proxy
/// hand out): the sessions of `REPO` are at `other` (`host:port`), while the registry itself
/// wants Basic credentials. Credentials meant for the registry must not go there.
pub fn uploads_on_another_origin(upstream: &str, repo: &str, other: &str) -> Proxy {
    let proxy = Proxy::transparent(upstream);
    proxy.challenge(r#"Basic realm="stand-in""#);
    rewrite_upload_locations(
        &proxy,
        repo,
        &format!("http://{other}/v2/{repo}/blobs/uploads/"),
    );
    proxy
}
