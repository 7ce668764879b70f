//! A repository of a registry: the client for its registry and its name, together. Every
//! operation on a repository is asked of this handle, so no caller passes a client and a name
//! that might not belong together.

use super::{Fetched, Mount, Registry};
use crate::digest::Digest;
use crate::error::Result;
use crate::reference::ManifestRef;
use std::fmt;
use std::sync::Arc;
use ureq::Body;

/// One repository (`library/busybox`) of one registry (`docker.io`).
#[derive(Clone)]
pub struct Repository {
    client: Arc<Registry>,
    /// The registry as written in references ("docker.io", "127.0.0.1:5000").
    registry: String,
    name: String,
}

impl Repository {
    /// The repository `name` of `registry` (as written in references), spoken to by `client`.
    pub fn new(client: Arc<Registry>, registry: &str, name: &str) -> Repository {
        Repository {
            client,
            registry: registry.to_string(),
            name: name.to_string(),
        }
    }

    /// The repository path, e.g. `library/busybox`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `other` is reached through the same client (the same registry host), so that
    /// their requests share connections and tokens.
    pub fn same_registry(&self, other: &Repository) -> bool {
        Arc::ptr_eq(&self.client, &other.client)
    }

    /// Declare the access an operation needs here, so one token covers the whole run.
    pub fn want(&self, actions: &[&str]) {
        self.client.want(&self.name, actions);
    }

    /// Start opening connections to the registry so that about `wanted` are ready.
    pub fn preconnect(&self, wanted: usize) {
        self.client.preconnect(wanted);
    }

    /// A manifest by tag or digest, verified against its digest.
    pub fn get_manifest(&self, reference: &ManifestRef) -> Result<Fetched> {
        self.client.get_manifest(&self.name, reference)
    }

    /// A small blob (an image config), whole and verified; at most `limit` bytes.
    pub fn get_blob(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>> {
        self.client.get_blob(&self.name, digest, limit)
    }

    /// A blob as a stream, with its length.
    pub fn open_blob(&self, digest: &Digest) -> Result<(u64, Body)> {
        self.client.open_blob(&self.name, digest)
    }

    /// Whether the blob is here already.
    pub fn has_blob(&self, digest: &Digest) -> Result<bool> {
        self.client.has_blob(&self.name, digest)
    }

    /// PUT manifest bytes under a tag or by digest, with exactly their media type.
    pub fn put_manifest(
        &self,
        reference: &ManifestRef,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<()> {
        self.client
            .put_manifest(&self.name, reference, media_type, bytes)
    }

    /// Ask the registry to mount a blob of `from` (a repository of the same registry) here.
    pub fn mount_blob(&self, digest: &Digest, from: &Repository) -> Result<Mount> {
        self.client.mount_blob(&self.name, digest, &from.name)
    }

    /// Open an upload session here; returns its `Location`.
    pub fn start_upload(&self) -> Result<String> {
        self.client.start_upload(&self.name)
    }

    /// Finish the upload session at `location` with the whole blob, streamed from `reader`.
    pub fn finish_upload(
        &self,
        location: &str,
        digest: &Digest,
        reader: &mut dyn std::io::Read,
        length: u64,
    ) -> Result<()> {
        self.client.finish_upload(location, digest, reader, length)
    }

    /// Close an upload session we will not use (best effort).
    pub fn cancel_upload(&self, location: &str) {
        self.client.cancel_upload(location);
    }
}

impl PartialEq for Repository {
    /// The same repository of the same registry (as written in references).
    fn eq(&self, other: &Repository) -> bool {
        self.registry == other.registry && self.name == other.name
    }
}

impl fmt::Display for Repository {
    /// `registry/repository`, as in references.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.name)
    }
}
