//! Where images live: a repository in a registry, or an OCI image layout directory. Both answer
//! the same few operations, so `inspect` and the push pipeline do not care which they talk to.

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::layout::Layout;
use crate::manifest::{self, Descriptor};
use crate::parallel::MAX_IN_FLIGHT;
use crate::progress::{Copied, Counted};
use crate::reference::{ImageRef, ManifestRef};
use crate::registry::repository::Repository;
use crate::registry::{Connector, Fetched, Mount};
use std::io::Read;
use std::sync::Arc;

/// How often a streamed blob upload is started, at most (as often as a request is sent).
const STREAM_ATTEMPTS: u32 = crate::registry::retry::MAX_ATTEMPTS;

/// What a store is opened for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read from it; a layout must exist.
    Read,
    /// Write to it (or plan writes, for `--dry-run`): a layout is created on the first write
    /// when its directory is missing or empty; opening it writes nothing.
    Write,
}

/// How a blob gets from one store into another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transfer {
    /// Within one registry: the registry links the blob into the target repository
    /// (falling back to a copy if it refuses).
    Mount,
    /// Across registries or with a layout: the bytes are streamed from source to target.
    Copy,
}

impl std::fmt::Display for Transfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Transfer::Mount => "mount",
            Transfer::Copy => "copy",
        })
    }
}

/// One place images are read from or written to.
#[derive(Clone)]
pub enum Store {
    /// A repository of a registry.
    Registry(Repository),
    /// An OCI image layout directory.
    Layout(Arc<Layout>),
}

impl Store {
    /// The store `image` lives in, opened for `access`.
    pub fn open(connector: &Connector, image: &ImageRef, access: Access) -> Result<Store> {
        match image {
            ImageRef::Registry(reference) => Ok(Store::Registry(Repository::new(
                connector.registry(&reference.registry, reference.api_host())?,
                &reference.registry,
                &reference.repository,
            ))),
            ImageRef::Layout(layout) => {
                let opened = match access {
                    Access::Read => Layout::open(&layout.path)?,
                    Access::Write => Layout::open_for_writing(&layout.path)?,
                };
                Ok(Store::Layout(Arc::new(opened)))
            }
        }
    }

    /// `registry/repository` or `oci-layout://path`, for messages.
    pub fn describe(&self) -> String {
        match self {
            Store::Registry(repository) => repository.to_string(),
            Store::Layout(layout) => {
                format!("{}{}", crate::layout::SCHEME, layout.root().display())
            }
        }
    }

    /// True when both are the same repository or the same layout directory: content of one is
    /// already in the other.
    pub fn same_place(&self, other: &Store) -> bool {
        match (self, other) {
            (Store::Layout(a), Store::Layout(b)) => a.root() == b.root(),
            (Store::Registry(a), Store::Registry(b)) => a == b,
            _ => false,
        }
    }

    /// Declare the access an operation needs (registry token scopes); nothing for a layout.
    pub fn want(&self, actions: &[&str]) {
        if let Store::Registry(repository) = self {
            repository.want(actions);
        }
    }

    /// Start opening connections for a stage that sends one request to each of `requests` at
    /// once: each registry gets as many as requests go to it (at most [`MAX_IN_FLIGHT`]),
    /// counting those already open. Layouts need none. Returns at once.
    pub fn preconnect<'a>(requests: impl IntoIterator<Item = &'a Store>) {
        let mut per_registry: Vec<(&Repository, usize)> = Vec::new();
        for store in requests {
            let Store::Registry(repository) = store else {
                continue;
            };
            match per_registry
                .iter_mut()
                .find(|(r, _)| r.same_registry(repository))
            {
                Some((_, count)) => *count += 1,
                None => per_registry.push((repository, 1)),
            }
        }
        for (repository, count) in per_registry {
            repository.preconnect(count.min(MAX_IN_FLIGHT));
        }
    }

    /// A manifest by tag or digest, verified against its digest.
    pub fn get_manifest(&self, reference: &ManifestRef) -> Result<Fetched> {
        match self {
            Store::Registry(repository) => repository.get_manifest(reference),
            Store::Layout(layout) => {
                let (digest, declared) = match reference {
                    ManifestRef::Digest(digest) => (digest.clone(), None),
                    ManifestRef::Tag(tag) => {
                        let entry = layout.resolve_tag(tag)?;
                        (entry.digest, Some(entry.media_type))
                    }
                };
                let bytes = layout.read_manifest(&digest)?;
                let media_type = manifest::media_type_of(declared.as_deref(), &bytes)?;
                if !manifest::is_list(&media_type) && !manifest::is_image(&media_type) {
                    return Err(manifest::unsupported_media_type(&media_type));
                }
                Ok(Fetched {
                    media_type,
                    digest: Digest::sha256_of(&bytes),
                    bytes,
                })
            }
        }
    }

    /// The digest the tag `tag` holds now, when the store can tell (see
    /// [`Repository::tag_digest`]); in a layout, only when the manifest it names is there too.
    pub fn tag_digest(&self, tag: &str) -> Option<Digest> {
        match self {
            Store::Registry(repository) => repository.tag_digest(tag),
            Store::Layout(layout) => {
                let digest = layout.resolve_tag(tag).ok()?.digest;
                layout.has_blob(&digest).unwrap_or(false).then_some(digest)
            }
        }
    }

    /// A small blob (an image config), whole, checked against its descriptor's digest and size.
    pub fn get_blob(&self, blob: &Descriptor, limit: u64) -> Result<Vec<u8>> {
        let bytes = match self {
            Store::Registry(repository) => repository.get_blob(&blob.digest, limit)?,
            Store::Layout(layout) => layout.read_blob(&blob.digest, limit)?,
        };
        check_length(blob, bytes.len() as u64)?;
        Ok(bytes)
    }

    /// Write manifest bytes under a tag or by digest (which they must hash to).
    pub fn put_manifest(&self, to: &ManifestRef, media_type: &str, bytes: &[u8]) -> Result<()> {
        match self {
            Store::Registry(repository) => repository.put_manifest(to, media_type, bytes),
            Store::Layout(layout) => match to {
                ManifestRef::Digest(digest) => layout.write_manifest(digest, bytes),
                ManifestRef::Tag(tag) => {
                    let digest = Digest::sha256_of(bytes);
                    layout.write_manifest(&digest, bytes)?;
                    let descriptor = Descriptor {
                        media_type: media_type.to_string(),
                        digest,
                        size: bytes.len() as u64,
                        urls: None,
                        annotations: None,
                        data: None,
                        platform: None,
                        artifact_type: None,
                    };
                    layout.set_tag(tag, &descriptor)
                }
            },
        }
    }

    /// How a blob gets here from `source`: mounted within one registry, else copied.
    pub fn transfer(&self, source: &Store) -> Transfer {
        match (self, source) {
            (Store::Registry(to), Store::Registry(from)) if to.same_registry(from) => {
                Transfer::Mount
            }
            _ => Transfer::Copy,
        }
    }

    /// Make the blob `blob` describes exist here, from `source`. Within one registry it is
    /// mounted; if the registry refuses the mount, or across registries and layouts, it is
    /// streamed (never held whole in memory), and its digest and size are checked against the
    /// descriptor. A blob already here is not transferred. Bytes streamed are added to `done`
    /// as they go, and a blob mounted or already here counts whole (for the progress line).
    pub fn copy_blob_from(&self, source: &Store, blob: &Descriptor, done: &Copied) -> Result<()> {
        let digest = &blob.digest;
        let whole = || done.add(blob.size);
        if let (Store::Registry(to), Store::Registry(from)) = (self, source)
            && self.transfer(source) == Transfer::Mount
        {
            match to.mount_blob(digest, from) {
                Ok(Mount::Mounted) => {
                    whole();
                    return Ok(());
                }
                Ok(Mount::UploadOpened(location)) => {
                    match stream_into(to, &location, source, blob, done) {
                        Ok(()) => return Ok(()),
                        Err(e) => {
                            to.cancel_upload(&location);
                            if !e.is_transient() {
                                return Err(e);
                            }
                            // Cut off: start again below with a fresh session.
                        }
                    }
                }
                // Some registries refuse a mount (401/403) where an upload works.
                Err(_) => {}
            }
        }
        match self {
            Store::Registry(repository) => self.upload_with_retries(repository, source, blob, done),
            Store::Layout(layout) => {
                if layout.has_blob(digest)? {
                    whole();
                    return Ok(());
                }
                let (length, inner) = source.open_blob(digest)?;
                check_length(blob, length)?;
                layout.write_blob(digest, length, &mut Counted { inner, done })
            }
        }
    }

    /// Upload a blob streamed from `source`: a stream cannot be replayed, so a transfer cut off
    /// by a transient fault starts over from a new GET into a new upload session, after
    /// checking whether the registry got the blob after all. As many attempts as a request.
    fn upload_with_retries(
        &self,
        repository: &Repository,
        source: &Store,
        blob: &Descriptor,
        done: &Copied,
    ) -> Result<()> {
        let mut attempt = 1;
        loop {
            if self.has_blob(&blob.digest)? {
                done.add(blob.size);
                return Ok(());
            }
            let location = repository.start_upload()?;
            match stream_into(repository, &location, source, blob, done) {
                Ok(()) => return Ok(()),
                Err(e) => {
                    repository.cancel_upload(&location);
                    if attempt >= STREAM_ATTEMPTS || !e.is_transient() {
                        return Err(e);
                    }
                    std::thread::sleep(crate::registry::retry::backoff(attempt));
                    attempt += 1;
                }
            }
        }
    }

    fn has_blob(&self, digest: &Digest) -> Result<bool> {
        match self {
            Store::Registry(repository) => repository.has_blob(digest),
            Store::Layout(layout) => layout.has_blob(digest),
        }
    }

    /// A blob as a stream, with its length.
    fn open_blob(&self, digest: &Digest) -> Result<(u64, Box<dyn Read + Send>)> {
        match self {
            Store::Registry(repository) => repository.open_blob(digest),
            Store::Layout(layout) => {
                let (length, file) = layout.open_blob(digest)?;
                Ok((length, Box::new(file)))
            }
        }
    }
}

/// Stream the blob `blob` describes from `source` into the registry upload session at
/// `location`, adding the bytes sent to `done`.
fn stream_into(
    repository: &Repository,
    location: &str,
    source: &Store,
    blob: &Descriptor,
    done: &Copied,
) -> Result<()> {
    let (length, inner) = source.open_blob(&blob.digest)?;
    check_length(blob, length)?;
    repository.finish_upload(location, &blob.digest, &mut Counted { inner, done }, length)
}

/// The length a source announces for a blob must be the size its descriptor gives.
fn check_length(blob: &Descriptor, found: u64) -> Result<()> {
    if blob.size == found {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "blob {} is {found} bytes where its descriptor says {}",
            blob.digest, blob.size
        )))
    }
}
