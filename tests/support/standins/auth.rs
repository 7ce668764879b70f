//! Stand-ins for how registries' token servers grant scopes, and for large credentials: the
//! proxy plays the token server and the registry's authentication, and forwards every request
//! it lets through to the real registry behind it (which wants no credentials).
//!
//! A stand-in token is `standin.` followed by the scopes it grants, joined with `+`; the
//! registry side reads the grants back from the `Authorization` header and answers a request
//! that needs more with `401` and `error="insufficient_scope"`, as distribution does.

use super::super::{Exchange, Fault, Proxy, Rule};
use std::sync::Arc;

/// How a stand-in token server grants the scopes a token request asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grants {
    /// Grants the scopes on readable repositories and silently leaves out the others, always
    /// answering 200: Docker Hub, whose registry then answers 401 for a repository that does
    /// not exist.
    WhatItCan,
    /// Refuses the whole token (`403 DENIED: denied`) when any scope is not grantable: GHCR.
    AllOrNothing,
    /// Reads only the first scope of the request: old Harbor, and Docker Hub on 2022-03-02.
    FirstOnly,
}

/// **Stand-in for Docker Hub** (not Docker Hub itself): a repository that does not exist, or
/// that the user may not read, is answered `401 UNAUTHORIZED` with an `insufficient_scope`
/// challenge rather than 404, and its scope is silently left out of a token that asks for it
/// (jupyterhub/binderhub#1664: "Docker Hub now returns 401 for missing repos ... It is now
/// impossible to distinguish between a repo not existing and not having access").
/// `readable` are the repositories that exist for it.
pub fn docker_hub(upstream: &str, readable: &[&str]) -> Proxy {
    token_realm(upstream, readable, Grants::WhatItCan)
}

/// **Stand-in for GHCR's token server** (not GHCR itself): a token request with one scope it
/// cannot grant is refused whole, `403` with `DENIED: denied` (sigstore/scaffolding#127:
/// `GET https://ghcr.io/token?scope=repository%3A...%3Apull&service=ghcr.io: DENIED: denied`).
pub fn ghcr(upstream: &str, readable: &[&str]) -> Proxy {
    token_realm(upstream, readable, Grants::AllOrNothing)
}

/// **Stand-in for an old Harbor token service** (not Harbor itself): of the scopes a token
/// request carries, only the first is granted (goharbor/harbor#2411: "The token request may
/// contain multiple scope in query string, but just one is handled by token service"; Docker
/// Hub's token server behaved so on 2022-03-02).
pub fn old_harbor(upstream: &str, readable: &[&str]) -> Proxy {
    token_realm(upstream, readable, Grants::FirstOnly)
}

/// **Stand-in for a token server that issues large tokens** (JWTs grow with the grants and
/// claims they carry; the distribution token specification sets no bound): every token is
/// `length` characters long. The registry behind is open; the proxy asks for the token only.
pub fn large_tokens(upstream: &str, length: usize) -> Proxy {
    let proxy = Proxy::transparent(upstream);
    let token = large_token(length);
    proxy.serve_tokens(Fault::json(200, format!(r#"{{"token":"{token}"}}"#)));
    proxy
}

/// The token [`large_tokens`] issues.
pub fn large_token(length: usize) -> String {
    "t".repeat(length)
}

/// **Stand-in for a registry with Basic authentication** (Artifactory, Nexus and self-hosted
/// registries behind htpasswd) that accepts any credentials: a long password (a CI system's
/// generated secret, an API key) reaches it whole.
pub fn basic_auth(upstream: &str) -> Proxy {
    let proxy = Proxy::transparent(upstream);
    proxy.challenge(r#"Basic realm="stand-in""#);
    proxy
}

/// A proxy playing a token server with the `grants` policy at `/token` and a registry that
/// checks each request against its token's grants; `readable` are the repositories it grants.
fn token_realm(upstream: &str, readable: &[&str], grants: Grants) -> Proxy {
    let proxy = Proxy::transparent(upstream);
    let realm = format!("http://{}/token", proxy.host());
    let readable: Vec<String> = readable.iter().map(|r| r.to_string()).collect();
    let handler = move |exchange: &Exchange, forward: &dyn Fn() -> std::io::Result<Vec<u8>>| {
        if let Some(query) = exchange.target.strip_prefix("/token?") {
            let (status, body) = token_answer(query, &readable, grants);
            return Ok(answer(status, "", &body));
        }
        let authorization = exchange.header("authorization");
        let Some(needs) = needs_of(exchange.method, exchange.target) else {
            return forward();
        };
        let granted = authorization
            .and_then(|a| a.strip_prefix("Bearer standin."))
            .map(|token| token.split('+').map(str::to_string).collect::<Vec<_>>())
            .unwrap_or_default();
        let Some((name, action)) = needs
            .iter()
            .find(|(name, action)| !grants_action(&granted, name, action))
        else {
            return forward();
        };
        let actions = if action == "push" {
            "pull,push"
        } else {
            "pull"
        };
        let error = if authorization.is_some() {
            r#","error="insufficient_scope""#
        } else {
            ""
        };
        let challenge = format!(
            "WWW-Authenticate: Bearer realm=\"{realm}\",service=\"stand-in\",\
             scope=\"repository:{name}:{actions}\"{error}\r\n"
        );
        let body = r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#;
        Ok(answer(401, &challenge, body))
    };
    proxy.inject(Rule::new("*", "", Fault::Handle(Arc::new(handler))));
    proxy
}

/// A whole HTTP answer: `status`, the header lines `headers` (each ending in CRLF), and a JSON
/// `body`.
pub fn answer(status: u16, headers: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status} Stand-in\r\n{headers}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// The token server's answer to `GET /token?QUERY` under `grants`.
fn token_answer(query: &str, readable: &[String], grants: Grants) -> (u16, String) {
    let scopes: Vec<String> = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("scope="))
        .flat_map(|value| {
            percent_decode(value)
                .split(' ')
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    let grantable = |scope: &String| {
        let name = scope
            .strip_prefix("repository:")
            .and_then(|rest| rest.rsplit_once(':'))
            .map(|(name, _)| name);
        name.is_some_and(|name| readable.iter().any(|r| r == name))
    };
    let granted: Vec<&String> = match grants {
        Grants::WhatItCan => scopes.iter().filter(|s| grantable(s)).collect(),
        Grants::AllOrNothing if scopes.iter().all(grantable) => scopes.iter().collect(),
        Grants::AllOrNothing => {
            let denied = r#"{"errors":[{"code":"DENIED","message":"denied"}]}"#;
            return (403, denied.to_string());
        }
        Grants::FirstOnly => scopes.iter().take(1).filter(|s| grantable(s)).collect(),
    };
    let token: Vec<&str> = granted.iter().map(|s| s.as_str()).collect();
    let token = format!(
        r#"{{"token":"standin.{}","expires_in":300}}"#,
        token.join("+")
    );
    (200, token)
}

/// What a registry request needs: `(repository, action)` pairs (pull for reads, push for
/// writes, and pull on the `from` repository of a mount); `None` for what is not a request to
/// a repository.
fn needs_of(method: &str, target: &str) -> Option<Vec<(String, String)>> {
    let path = target.strip_prefix("/v2/")?;
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let end = ["/manifests/", "/blobs/", "/tags/"]
        .iter()
        .filter_map(|marker| path.find(marker))
        .min()?;
    let name = path[..end].to_string();
    let action = if method == "GET" || method == "HEAD" {
        "pull"
    } else {
        "push"
    };
    let mut needs = vec![(name, action.to_string())];
    if let Some(from) = query.split('&').find_map(|p| p.strip_prefix("from=")) {
        needs.push((percent_decode(from), "pull".to_string()));
    }
    Some(needs)
}

/// Whether `granted` scopes (`repository:NAME:ACTIONS`) allow `action` on `name`.
fn grants_action(granted: &[String], name: &str, action: &str) -> bool {
    granted.iter().any(|scope| {
        scope
            .strip_prefix("repository:")
            .and_then(|rest| rest.rsplit_once(':'))
            .is_some_and(|(n, actions)| n == name && actions.split(',').any(|a| a == action))
    })
}

/// `%XX` escapes and `+` decoded, as in a query.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => {
                        out.push(byte);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// **Stand-in for Gitea's registry** (not Gitea itself): its challenge asks for `scope="*"`,
/// which names no repository (Gitea answers `Bearer realm=".../v2/token",
/// service="container_registry",scope="*"`).
pub fn gitea(upstream: &str) -> Proxy {
    challenge_with_scope(upstream, "*")
}

/// **Stand-in for ECR Public** (not ECR Public itself): its challenge asks for `scope="aws"`,
/// which names no repository (`Bearer realm="https://public.ecr.aws/token/",
/// service="public.ecr.aws",scope="aws"`).
pub fn ecr_public(upstream: &str) -> Proxy {
    challenge_with_scope(upstream, "aws")
}

/// A registry whose Bearer challenge carries `scope`, with its token server in the proxy
/// granting anything.
fn challenge_with_scope(upstream: &str, scope: &str) -> Proxy {
    let proxy = Proxy::transparent(upstream);
    proxy.inject(Rule::new(
        "GET",
        "/token",
        Fault::json(200, r#"{"token":"any"}"#),
    ));
    let realm = format!("http://{}/token", proxy.host());
    proxy.challenge(&format!(
        r#"Bearer realm="{realm}",service="stand-in",scope="{scope}""#
    ));
    proxy
}
