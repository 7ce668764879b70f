//! Registries that fail when the same manifest bytes are PUT under several tags at once: the
//! PUT that loses the race is refused, and the same PUT alone succeeds.

use super::super::sha256_digest;
use super::{Refusals, StandIn, is_tag, manifest_target, refuse};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long a tag PUT is held before it reaches the registry: the window in which a PUT of
/// the same bytes loses the race, wide enough that PUTs sent together always meet in it.
const HOLD: Duration = Duration::from_millis(300);

impl StandIn {
    /// Quay before 3.4 (a stand-in: Quay cannot be reached from the tests). Two PUTs of the
    /// same manifest under different tags at once race to create the manifest, and the loser
    /// is answered `400 MANIFEST_INVALID` "manifest invalid": GoogleContainerTools/jib#2470,
    /// fixed in quay/quay#498 ("Push new tags with the same manifest simultaneously").
    pub fn quay_before_3_4(upstream: &str) -> StandIn {
        StandIn::manifest_puts(upstream, |refused| {
            one_at_a_time(refused, 400, "MANIFEST_INVALID", "manifest invalid", None)
        })
    }

    /// The OpenShift integrated registry (a stand-in: no OpenShift runs in the tests). Tags
    /// PUT at once update the same image stream, and the loser is answered `500` "the object
    /// has been modified; please apply your changes to the latest version and try again", as
    /// GoogleContainerTools/jib#3101 reports; pushing the tags one after another works.
    pub fn openshift_concurrent_tags(upstream: &str) -> StandIn {
        StandIn::manifest_puts(upstream, |refused| {
            one_at_a_time(
                refused,
                500,
                "UNKNOWN",
                "unknown error",
                Some(serde_json::json!(
                    "Operation cannot be fulfilled on imagestreammappings.image.openshift.io: \
                     the object has been modified; please apply your changes to the latest \
                     version and try again"
                )),
            )
        })
    }
}

/// A handler that holds each tag PUT for [`HOLD`] and refuses, with `status`, `code`,
/// `message` and `detail`, a tag PUT whose bytes another tag PUT in flight carries.
fn one_at_a_time(
    refused: Refusals,
    status: u16,
    code: &'static str,
    message: &'static str,
    detail: Option<serde_json::Value>,
) -> super::Handler {
    let in_flight: Arc<Mutex<BTreeSet<String>>> = Arc::default();
    Arc::new(move |exchange, forward| {
        if !manifest_target(exchange.target).is_some_and(|(_, reference)| is_tag(reference)) {
            return forward();
        }
        let bytes = sha256_digest(exchange.body);
        if !in_flight.lock().unwrap().insert(bytes.clone()) {
            return Ok(refuse(
                &refused,
                exchange,
                status,
                code,
                message,
                detail.clone(),
            ));
        }
        std::thread::sleep(HOLD);
        let answer = forward();
        in_flight.lock().unwrap().remove(&bytes);
        answer
    })
}
