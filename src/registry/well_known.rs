//! The authentication schemes of well-known public registries, built in.
//!
//! A fresh CI container has no [scheme cache](super::scheme_cache), so without this table its
//! first request to Docker Hub goes out alone and only its 401 starts the token request. With
//! it, a run fetches its token while the registry's connections open, as a run with a warm
//! cache does. It is used when the cache has no entry for the registry, and also with
//! `MANIFEST_TOOL_NO_CACHE=1`: that variable turns off what earlier runs remembered, while this
//! table is part of the binary, like its CA roots, and the same for every run. Like a cache
//! entry, an entry is only a guess: one that has gone stale costs one 401, whose challenge is
//! then used (and remembered in the cache), or, if its realm no longer gives tokens, one request
//! sent without a token to learn the scheme.
//!
//! Each entry is what the registry answers to an anonymous request, from public sources (no
//! live service was asked):
//!
//! | host | scheme | sources |
//! |---|---|---|
//! | `registry-1.docker.io` | Bearer `https://auth.docker.io/token`, service `registry.docker.io` | distribution/distribution#1203, docker/docs#11660, docker/hub-feedback#2215 |
//! | `ghcr.io` | Bearer `https://ghcr.io/token`, service `ghcr.io` | cloudflare/serverless-registry#148, open-telemetry/opentelemetry-demo#1582 |
//! | `quay.io` | Bearer `https://quay.io/v2/auth`, service `quay.io` | GoogleContainerTools/skaffold#7048, quay/claircore#879 |
//! | `gcr.io`, `*.gcr.io` | Bearer `https://HOST/v2/token`, service `HOST` | containerd/containerd#4379, cloudflare/serverless-registry#122, kubernetes-sigs/promo-tools#632, google/go-containerregistry#1375 |
//! | `*-docker.pkg.dev` | Bearer `https://HOST/v2/token`, service `HOST` | apple/container#1026, apple/container#2274, nicholas-fedor/watchtower#1894 |
//! | `public.ecr.aws` | Bearer `https://public.ecr.aws/token/`, service `public.ecr.aws` | SgtSilvio/gradle-oci#141, appgate/sdpctl#404 |
//! | `registry.gitlab.com` | Bearer `https://gitlab.com/jwt/auth`, service `container_registry` | deitch/docker_registry2#14, mkuchin/docker-registry-web#95 |
//! | `mcr.microsoft.com` | open | devcontainers/cli#204 (inferred) |
//!
//! Notes on the entries:
//! - Only realm and service are kept, never a scope. GHCR's challenge to `/v2/` carries the
//!   placeholder `scope="repository:user/image:pull"` and ECR Public's `scope="aws"`: neither
//!   names what a run needs, and a token asked for the placeholder is a token for another
//!   repository (cloudflare/serverless-registry#148, SgtSilvio/gradle-oci#141). A run asks for
//!   the scopes of its own repositories.
//! - `*.gcr.io` (`us.gcr.io`, `eu.gcr.io`, `asia.gcr.io`) and `*-docker.pkg.dev` (one per
//!   region) are host patterns whose realm and service are the host itself; Artifact Registry
//!   serves both since Container Registry's shutdown
//!   (<https://cloud.google.com/artifact-registry/docs/transition/setup-gcr-repo>). Its challenge
//!   to `/v2/` names no service, but those to repositories do, and the token server takes it
//!   (apple/container#2274). Only `*-docker.pkg.dev`: other `*.pkg.dev` formats have no `/v2/`.
//! - `mcr.microsoft.com` is not confirmed: no public source shows its answer, clients treat it
//!   as needing no token (devcontainers/cli#204), and it runs on ACR (dotnet/docker-tools#2154).
//!   It is listed as open because being wrong costs one 401, and being right lets a push with
//!   several sources there send their first requests at once.

use super::scheme_cache::Known;

/// What the table says of `host` (as in URLs: `name` or `name:port`) spoken to over `scheme`
/// (`https` or `http`): only https hosts on the default port are listed.
pub fn scheme(scheme: &str, host: &str) -> Option<Known> {
    if scheme != "https" {
        return None;
    }
    let host = host.to_ascii_lowercase();
    let bearer = |realm: &str, service: &str| {
        Some(Known::Bearer {
            realm: realm.to_string(),
            service: Some(service.to_string()),
        })
    };
    match host.as_str() {
        "registry-1.docker.io" => bearer("https://auth.docker.io/token", "registry.docker.io"),
        "ghcr.io" => bearer("https://ghcr.io/token", "ghcr.io"),
        "quay.io" => bearer("https://quay.io/v2/auth", "quay.io"),
        "public.ecr.aws" => bearer("https://public.ecr.aws/token/", "public.ecr.aws"),
        "registry.gitlab.com" => bearer("https://gitlab.com/jwt/auth", "container_registry"),
        "mcr.microsoft.com" => Some(Known::Open),
        _ if host == "gcr.io"
            || one_label_before(&host, ".gcr.io")
            || one_label_before(&host, "-docker.pkg.dev") =>
        {
            bearer(&format!("https://{host}/v2/token"), &host)
        }
        _ => None,
    }
}

/// Whether `host` is one DNS label (letters, digits, `-`) followed by `suffix`.
fn one_label_before(host: &str, suffix: &str) -> bool {
    host.strip_suffix(suffix).is_some_and(|label| {
        !label.is_empty()
            && label
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(realm: &str, service: &str) -> Option<Known> {
        Some(Known::Bearer {
            realm: realm.to_string(),
            service: Some(service.to_string()),
        })
    }

    #[test]
    fn the_public_registries_are_known_by_their_api_host() {
        assert_eq!(
            scheme("https", "registry-1.docker.io"),
            bearer("https://auth.docker.io/token", "registry.docker.io")
        );
        assert_eq!(
            scheme("https", "GHCR.io"),
            bearer("https://ghcr.io/token", "ghcr.io")
        );
        assert_eq!(
            scheme("https", "public.ecr.aws"),
            bearer("https://public.ecr.aws/token/", "public.ecr.aws")
        );
        assert_eq!(scheme("https", "mcr.microsoft.com"), Some(Known::Open));
    }

    #[test]
    fn google_hosts_are_patterns_whose_realm_is_the_host() {
        for host in ["gcr.io", "eu.gcr.io", "us-central1-docker.pkg.dev"] {
            assert_eq!(
                scheme("https", host),
                bearer(&format!("https://{host}/v2/token"), host),
                "{host}"
            );
        }
        for host in [
            "us-central1-other.pkg.dev",
            "-docker.pkg.dev",
            "a.b.gcr.io",
            "evil.com/.gcr.io",
            "notgcr.io",
        ] {
            assert_eq!(scheme("https", host), None, "{host}");
        }
    }

    #[test]
    fn other_ports_other_hosts_and_plain_http_are_not_listed() {
        assert_eq!(scheme("https", "quay.io:8443"), None);
        assert_eq!(scheme("http", "quay.io"), None);
        assert_eq!(scheme("https", "docker.io"), None);
        assert_eq!(scheme("https", "127.0.0.1:5000"), None);
    }
}
