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
