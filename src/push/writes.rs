//! Stages 3 to 6 of a push, as a plan and its execution: the writes (blobs, child manifests,
//! the list, the extra tags) grouped by stage, which `--dry-run` prints and [`Push::execute`]
//! makes, one stage at a time.

use super::{Copied, Held, Member};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::list::AssembledList;
use crate::manifest::Descriptor;
use crate::parallel::{self, MAX_IN_FLIGHT};
use crate::progress;
use crate::reference::ManifestRef;
use crate::spec::PushPlan;
use crate::store::Store;
use std::collections::BTreeSet;

/// One write of a push. `--dry-run` prints them; [`Push::execute`] makes them.
pub(super) enum Write<'a> {
    /// Make a blob of a copied child exist in the target: mount within a registry, else copy.
    Blob {
        blob: &'a Descriptor,
        from: &'a Store,
    },
    /// PUT a copied child manifest into the target by digest, with its original bytes.
    Child {
        descriptor: &'a Descriptor,
        bytes: &'a [u8],
    },
    /// PUT the list under the target's tag.
    List,
    /// PUT the same list bytes under an extra tag.
    Tag(&'a str),
}

/// Stages 3 to 6 as writes, by stage: the writes of one stage go out at once, and a stage
/// starts only when every write of the one before has succeeded. Blobs, then the children that
/// need them, then the list that names the children, then the extra tags; the tags in
/// `current` hold the list already and get no PUT.
pub(super) fn plan_writes<'a>(
    plan: &'a PushPlan,
    members: &'a [Member],
    current: &[&str],
) -> Vec<Vec<Write<'a>>> {
    let copies: Vec<(&Member, &Copied)> = members
        .iter()
        .filter_map(|m| m.copy.as_ref().map(|copy| (m, copy)))
        .collect();
    let mut seen = BTreeSet::new();
    let mut blobs = Vec::new();
    for (member, copy) in &copies {
        for blob in std::iter::once(&copy.image.config).chain(copy.image.layers()) {
            if is_distributable(blob) && seen.insert(&blob.digest) {
                blobs.push(Write::Blob {
                    blob,
                    from: &member.from,
                });
            }
        }
    }
    let children = copies
        .iter()
        .map(|(member, copy)| Write::Child {
            descriptor: &member.descriptor,
            bytes: &copy.bytes,
        })
        .collect();
    let is_current = |tag: &str| current.contains(&tag);
    let list = match plan.target.tag() {
        Some(tag) if is_current(tag) => Vec::new(),
        _ => vec![Write::List],
    };
    let tags = plan
        .tags
        .iter()
        .filter(|tag| !is_current(tag))
        .map(|tag| Write::Tag(tag))
        .collect();
    vec![blobs, children, list, tags]
}

/// What the writes of one push go to and carry.
pub(super) struct Push<'a> {
    pub(super) plan: &'a PushPlan,
    pub(super) target: &'a Store,
    pub(super) list: &'a AssembledList,
    pub(super) digest: &'a Digest,
    /// What the target's tags held before the push, as far as stage 1 learnt.
    pub(super) held: &'a Held<'a>,
    /// Whether a stage that copies blobs for more than a second shows a progress line
    /// (stderr is a terminal).
    pub(super) show_progress: bool,
}

impl Push<'_> {
    /// Run the stages in order, each stage's writes at once; stop at the first stage that fails.
    /// Tag PUTs that failed with 400, 409 or 5xx are tried once more one at a time first: some
    /// registries refuse the same bytes PUT under several tags at once (Quay before 3.4
    /// answers 400, OpenShift 500).
    pub(super) fn execute(&self, stages: &[Vec<Write>]) -> Result<()> {
        for stage in stages {
            let blobs: u64 = stage
                .iter()
                .map(|write| match write {
                    Write::Blob { blob, .. } => blob.size,
                    _ => 0,
                })
                .sum();
            let show = self.show_progress && blobs > 0;
            let results = progress::stage("copying blobs", blobs, show, |done| {
                parallel::map(stage, MAX_IN_FLIGHT, |write| self.write(write, done))
            });
            let mut again = Vec::new();
            for (write, result) in stage.iter().zip(results) {
                match result {
                    Ok(()) => {}
                    Err(e) if matches!(write, Write::Tag(_)) && worth_putting_alone(&e) => {
                        again.push(write);
                    }
                    Err(e) => return Err(e),
                }
            }
            for write in again {
                self.write(write, &progress::Copied::default())?;
            }
        }
        Ok(())
    }

    /// One line saying what `write` does (or, with `--dry-run`, would do).
    pub(super) fn describe(&self, write: &Write) -> String {
        let target = self.target.describe();
        match write {
            Write::Blob { blob, from } => format!(
                "{} blob {} from {} into {target}",
                self.target.transfer(from),
                blob.digest,
                from.describe()
            ),
            Write::Child { descriptor, .. } => {
                format!("PUT manifest {} into {target}", descriptor.digest)
            }
            Write::List => format!("PUT list {} as {}", self.digest, self.plan.target),
            Write::Tag(tag) => format!("PUT list as {}", self.plan.target.with_tag(tag)),
        }
    }

    /// Make `write`; a blob's bytes are added to `done` as they are copied.
    fn write(&self, write: &Write, done: &progress::Copied) -> Result<()> {
        match write {
            Write::Blob { blob, from } => {
                self.target.copy_blob_from(from, blob, done).map_err(|e| {
                    e.context(format!(
                        "copying blob {} from {} to {}",
                        blob.digest,
                        from.describe(),
                        self.target.describe()
                    ))
                })
            }
            Write::Child { descriptor, bytes } => self
                .target
                .put_manifest(
                    &ManifestRef::Digest(descriptor.digest.clone()),
                    &descriptor.media_type,
                    bytes,
                )
                .map_err(|e| {
                    e.context(format!(
                        "pushing manifest {} to {}",
                        descriptor.digest,
                        self.target.describe()
                    ))
                }),
            Write::List => {
                let tag = self.plan.target.tag().unwrap_or_default();
                self.put_list(tag).map_err(|e| {
                    e.context(format!("pushing the list to {}", self.plan.target_name))
                })
            }
            Write::Tag(tag) => self.put_list(tag).map_err(|e| {
                e.context(format!(
                    "pushing extra tag {}",
                    self.plan.target.with_tag(tag)
                ))
            }),
        }
    }

    /// PUT the list under `tag`. A refusal that says the tag is immutable is explained with
    /// what the tag holds.
    fn put_list(&self, tag: &str) -> Result<()> {
        let list = self.list;
        self.target
            .put_manifest(
                &ManifestRef::Tag(tag.to_string()),
                list.media_type,
                &list.bytes,
            )
            .map_err(|e| {
                if !e.is_immutable_tag() {
                    return e;
                }
                let name = self.plan.target.with_tag(tag);
                match self.held.iter().find(|(t, _)| *t == tag) {
                    Some((_, Some(held))) => e.context(format!(
                        "tag {name} is immutable and holds {held}, not this list {}",
                        self.digest
                    )),
                    _ => e.context(format!("tag {name} is immutable")),
                }
            })
    }
}

/// Whether a tag PUT that failed so may work when it is the only PUT in flight: 400, 409 and
/// 5xx are what registries answer the same bytes PUT under several tags at once; an immutable
/// tag stays immutable.
fn worth_putting_alone(error: &Error) -> bool {
    !error.is_immutable_tag()
        && error
            .status()
            .is_some_and(|status| matches!(status, 400 | 409 | 500..=599))
}

/// Foreign and non-distributable layers (and layers with external URLs) are never copied.
pub(super) fn is_distributable(blob: &Descriptor) -> bool {
    let foreign =
        blob.media_type.contains("foreign") || blob.media_type.contains("nondistributable");
    !foreign && blob.urls.as_ref().is_none_or(Vec::is_empty)
}
