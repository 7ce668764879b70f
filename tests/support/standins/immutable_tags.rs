//! Registries whose tags are immutable: a PUT to a tag that exists is refused, even with the
//! bytes the tag already holds. Stand-ins for ECR and Harbor.

use super::{Refusals, StandIn, is_tag, manifest_target, refuse, upstream_has_tag};
use std::sync::Arc;

impl StandIn {
    /// Amazon ECR with `imageTagMutability: IMMUTABLE` (a stand-in: ECR cannot be reached from
    /// the tests). A manifest PUT to a tag that exists is answered `400 TAG_INVALID` "The image
    /// tag '…' already exists in the '…' repository and cannot be overwritten because the
    /// repository is immutable.", whatever digest the tag holds: the error quoted in
    /// moby/buildkit#3776, and aws/containers-roadmap#2179 on re-pushing the same digest.
    /// PUTs by digest and to new tags reach the registry.
    pub fn ecr_immutable_tags(upstream: &str) -> StandIn {
        immutable_tags(upstream, 400, "TAG_INVALID", |repository, tag| {
            format!(
                "The image tag '{tag}' already exists in the '{repository}' repository and \
                 cannot be overwritten because the repository is immutable."
            )
        })
    }

    /// Harbor with a tag immutability rule matching every tag (a stand-in: no Harbor runs in
    /// the tests). A manifest PUT to a tag that exists is answered `412 Precondition Failed`
    /// "Failed to process request due to '<repository>:<tag>' configured as immutable.", as
    /// goharbor/harbor#18792 reports and Harbor's `immutable` middleware words it.
    pub fn harbor_immutable_tags(upstream: &str) -> StandIn {
        immutable_tags(upstream, 412, "PRECONDITION", |repository, tag| {
            format!(
                "Failed to process request due to '{repository}:{tag}' configured as immutable."
            )
        })
    }
}

/// A registry whose manifest PUTs to a tag that exists are refused with `status`, `code` and
/// the message `message(repository, tag)` words; other PUTs reach the registry.
fn immutable_tags(
    upstream: &str,
    status: u16,
    code: &'static str,
    message: fn(&str, &str) -> String,
) -> StandIn {
    StandIn::manifest_puts(upstream, |refused: Refusals| {
        Arc::new(move |exchange, forward| match existing_tag(exchange) {
            Some((repository, tag)) => Ok(refuse(
                &refused,
                exchange,
                status,
                code,
                &message(repository, tag),
                None,
            )),
            None => forward(),
        })
    })
}

/// The repository and tag a manifest PUT writes, when it is a tag the registry has already.
fn existing_tag<'a>(exchange: &'a super::Exchange) -> Option<(&'a str, &'a str)> {
    let (repository, reference) = manifest_target(exchange.target)?;
    (is_tag(reference) && upstream_has_tag(exchange.upstream, repository, reference))
        .then_some((repository, reference))
}
