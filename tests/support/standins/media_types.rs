//! Registries that validate the media types of what is pushed: Quay checks the entries of a
//! Docker manifest list, zot without its `docker2s2` option takes no Docker type at all.

use super::super::media::{DOCKER_LIST, DOCKER_MANIFEST};
use super::{StandIn, refuse};
use std::sync::Arc;

/// The schema 1 manifest type: with the v2.2 manifest, the only entry type Quay's schema
/// allows in a Docker list.
const DOCKER_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+json";

impl StandIn {
    /// Quay's check of a Docker manifest list (a stand-in: Quay cannot be reached from the
    /// tests). quay/quay `image/docker/schema2/list.py` validates a pushed Docker list against
    /// a schema whose entry `mediaType` is an enum of the Docker v2.2 and schema 1 manifest
    /// types, so a list naming an OCI manifest is refused with `400 MANIFEST_INVALID`
    /// "manifest invalid" ("manifest data does not match schema"). Every other PUT reaches
    /// the registry.
    pub fn quay_media_types(upstream: &str) -> StandIn {
        StandIn::manifest_puts(upstream, |refused| {
            Arc::new(move |exchange, forward| {
                if exchange.header("content-type") != Some(DOCKER_LIST) {
                    return forward();
                }
                let list: serde_json::Value =
                    serde_json::from_slice(exchange.body).unwrap_or_default();
                let entries = list["manifests"].as_array().cloned().unwrap_or_default();
                let other = entries.iter().find_map(|entry| {
                    let media_type = entry["mediaType"].as_str().unwrap_or_default();
                    (media_type != DOCKER_MANIFEST && media_type != DOCKER_SCHEMA1)
                        .then(|| media_type.to_string())
                });
                match other {
                    Some(media_type) => Ok(refuse(
                        &refused,
                        exchange,
                        400,
                        "MANIFEST_INVALID",
                        "manifest invalid",
                        Some(serde_json::json!({
                            "message": format!(
                                "manifest data does not match schema: '{media_type}' is not one of \
                                 ['{DOCKER_MANIFEST}', '{DOCKER_SCHEMA1}']"
                            )
                        })),
                    )),
                    None => forward(),
                }
            })
        })
    }

    /// zot without the `docker2s2` compatibility option (a stand-in: no zot runs in the
    /// tests). zot keeps to the OCI types: a manifest PUT with a Docker media type is refused
    /// with `415 Unsupported Media Type` and a `MANIFEST_INVALID` error (project-zot/zot#724
    /// asks for Docker types; #2714 added them behind `docker2s2`; #596 gave the 415 its
    /// body). OCI manifests and indexes reach the registry.
    pub fn zot_without_docker2s2(upstream: &str) -> StandIn {
        StandIn::manifest_puts(upstream, |refused| {
            Arc::new(move |exchange, forward| {
                let content_type = exchange.header("content-type").unwrap_or_default();
                if content_type.starts_with("application/vnd.docker.") {
                    Ok(refuse(
                        &refused,
                        exchange,
                        415,
                        "MANIFEST_INVALID",
                        "manifest invalid",
                        Some(serde_json::json!({
                            "description": format!("unsupported media type {content_type}")
                        })),
                    ))
                } else {
                    forward()
                }
            })
        })
    }
}
