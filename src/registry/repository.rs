//! A repository of a registry: the client for its registry and its name, together. Every
//! operation on a repository is asked of this handle, so no caller passes a client and a name
//! that might not belong together.

use super::failure::{status_error, withheld};
use super::location;
use super::transport::{Request, body_reader};
use super::{Fetched, Mount, Registry, header, header_value, too_large_as};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::manifest::{self, Descriptor, MAX_MANIFEST_BYTES};
use crate::reference::ManifestRef;
use std::fmt;
use std::io::Read;
use std::sync::Arc;
use ureq::http::HeaderMap;

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

    /// Declare the access an operation needs here, so one token covers the whole run. Returns
    /// the scope a request for these actions needs.
    pub fn want(&self, actions: &[&str]) -> String {
        self.client.auth.want(&self.name, actions)
    }

    /// Start opening connections to the registry so that about `wanted` are ready.
    pub fn preconnect(&self, wanted: usize) {
        self.client.preconnect(wanted);
    }

    /// `https://host/v2/<name>/<tail>`.
    fn url(&self, tail: &str) -> String {
        self.client
            .transport
            .url(&format!("/v2/{}/{tail}", self.name))
    }

    /// GET a manifest by tag or digest. Verifies its digest against the requested digest and the
    /// registry's `Docker-Content-Digest`, and refuses manifests over 4 MiB.
    pub fn get_manifest(&self, reference: &ManifestRef) -> Result<Fetched> {
        let request = Request {
            accept: Some(manifest::ACCEPT_MANIFESTS),
            ..Request::new("GET", self.url(&format!("manifests/{reference}")))
        };
        let (headers, bytes) = self.read(&request, MAX_MANIFEST_BYTES, || {
            format!("manifest {}:{reference}", self.name)
        })?;
        let content_type = header_value(&headers, "content-type");
        let announced = header_value(&headers, "docker-content-digest");
        let digest = Digest::sha256_of(&bytes);
        if let ManifestRef::Digest(wanted) = reference {
            // By digest: the bytes must hash to it, whatever the registry says of them.
            wanted.check(&bytes, || {
                format!("manifest {}@{wanted} from {}", self.name, self.host())
            })?;
        }
        if let Some(announced) = announced.filter(|d| d.starts_with("sha256:"))
            && digest != announced.as_str()
        {
            return Err(Error::DigestMismatch {
                what: format!(
                    "manifest {}:{reference} from {} (Docker-Content-Digest)",
                    self.name,
                    self.host()
                ),
                expected: announced,
                found: digest.to_string(),
            });
        }
        let media_type = manifest::media_type_of(content_type.as_deref(), &bytes)?;
        if !manifest::is_list(&media_type) && !manifest::is_image(&media_type) {
            return Err(manifest::unsupported_media_type(&media_type));
        }
        Ok(Fetched {
            media_type,
            digest,
            bytes,
        })
    }

    /// The digest the tag `tag` holds now, by `HEAD` (the same `Accept` as a GET, so a list is
    /// not converted): `None` when the tag does not exist, the registry names no
    /// `Docker-Content-Digest`, or the HEAD fails. Only a hint: the PUT it may save
    /// is the authority.
    pub fn tag_digest(&self, tag: &str) -> Option<Digest> {
        let needs = [self.want(&["pull"])];
        let request = Request {
            accept: Some(manifest::ACCEPT_MANIFESTS),
            ..Request::new("HEAD", self.url(&format!("manifests/{tag}")))
        };
        let response = self.client.execute(&request, &needs).ok()?;
        let digest = header(&response, "docker-content-digest")?;
        Digest::parse(&digest).ok()
    }

    /// GET a small blob (an image config) whole, verifying its digest; at most `limit` bytes.
    pub fn get_blob(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>> {
        let request = Request::new("GET", self.url(&format!("blobs/{digest}")));
        let (_, bytes) = self.read(&request, limit, || format!("blob {}@{digest}", self.name))?;
        digest.check(&bytes, || {
            format!("blob {}@{digest} from {}", self.name, self.host())
        })?;
        Ok(bytes)
    }

    /// GET a blob as a stream, with its length; the caller reads it through.
    pub fn open_blob(&self, digest: &Digest) -> Result<(u64, Box<dyn Read + Send>)> {
        let needs = [self.want(&["pull"])];
        let request = Request::new("GET", self.url(&format!("blobs/{digest}")));
        let response = self.client.execute(&request, &needs)?;
        let length = header(&response, "content-length")
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "{} sent blob {digest} without a Content-Length",
                    self.host()
                ))
            })?;
        Ok((length, Box::new(body_reader(response))))
    }

    /// Whether the blob is here already (`HEAD`: 200 yes, 404 no).
    pub fn has_blob(&self, digest: &Digest) -> Result<bool> {
        let needs = [self.want(&["pull"])];
        let request = Request::new("HEAD", self.url(&format!("blobs/{digest}")));
        match self.client.execute(&request, &needs) {
            Ok(_) => Ok(true),
            Err(Error::Status { status: 404, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// PUT manifest bytes under a tag or digest, with exactly their media type. The registry's
    /// `Docker-Content-Digest`, when given, must equal the digest of `bytes`.
    pub fn put_manifest(
        &self,
        reference: &ManifestRef,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<()> {
        let needs = [self.want(&["pull", "push"])];
        let request = Request {
            content_type: Some(media_type),
            body: Some(bytes),
            ..Request::new("PUT", self.url(&format!("manifests/{reference}")))
        };
        let response = self.client.execute(&request, &needs)?;
        let ours = Digest::sha256_of(bytes);
        if let Some(theirs) = header(&response, "docker-content-digest")
            && theirs.starts_with("sha256:")
            && ours != theirs.as_str()
        {
            return Err(Error::DigestMismatch {
                what: format!("{} stored {}:{reference}", self.host(), self.name),
                expected: ours.to_string(),
                found: theirs,
            });
        }
        Ok(())
    }

    /// Ask the registry to mount a blob of `from` (a repository of the same registry) here
    /// without transferring it.
    pub fn mount_blob(&self, digest: &Digest, from: &Repository) -> Result<Mount> {
        let needs = [self.want(&["pull", "push"]), from.want(&["pull"])];
        let url = self.url(&format!("blobs/uploads/?mount={digest}&from={}", from.name));
        let request = Request {
            // A mount that took effect is found by the caller's HEAD of the blob, not by
            // mounting again.
            idempotent: false,
            ..Request::new("POST", url.clone())
        };
        let response = self.client.execute(&request, &needs)?;
        match response.status().as_u16() {
            201 => Ok(Mount::Mounted),
            _ => match header(&response, "location") {
                Some(found) => Ok(Mount::UploadOpened(location::resolve(&url, &found))),
                None => Err(Error::Invalid(format!(
                    "{} answered a blob mount with {} and no upload Location",
                    self.host(),
                    response.status().as_u16()
                ))),
            },
        }
    }

    /// Open an upload session here; returns its URL: the `Location` the registry gave,
    /// resolved against the request's URL (RFC 3986), so `uploads/abc` or `abc?_state=…` work
    /// as well as an absolute URL.
    pub fn start_upload(&self) -> Result<String> {
        let needs = [self.want(&["pull", "push"])];
        let url = self.url("blobs/uploads/");
        let request = Request::new("POST", url.clone());
        let response = self.client.execute(&request, &needs)?;
        let found = header(&response, "location").ok_or_else(|| {
            Error::Invalid(format!(
                "{} opened an upload without a Location header",
                self.host()
            ))
        })?;
        Ok(location::resolve(&url, &found))
    }

    /// Finish the upload session at `session` (the URL [`Repository::start_upload`] or a
    /// mount gave) with the whole blob, streamed from `reader` (never held in memory), in one
    /// PUT with `digest=` added. Any 2xx completes it (GCR answers 200, the specification 201).
    /// A session on another origin than the registry's gets no credentials; if it asks for
    /// them, the error says why they were withheld.
    pub fn finish_upload(
        &self,
        session: &str,
        digest: &Digest,
        reader: &mut dyn std::io::Read,
        length: u64,
    ) -> Result<()> {
        let url = location::with_digest(session, digest.as_str());
        let needs = [self.want(&["pull", "push"])];
        let authorization = self.client.authorization_for(&url, &needs)?;
        let response =
            self.client
                .transport
                .put_stream(&url, authorization.as_deref(), reader, length)?;
        let status = response.status().as_u16();
        match status {
            200..=299 => Ok(()),
            401 | 403 if authorization.is_none() && !self.client.is_own_origin(&url) => {
                let what = format!("sent the upload of {digest}");
                Err(withheld(
                    &location::host_of_url(&url),
                    self.host(),
                    &what,
                    response,
                ))
            }
            _ => Err(status_error(response)),
        }
    }

    /// Send `bytes` (not empty) as the piece at `offset` of the upload session at `session`
    /// (a URL, as [`Repository::start_upload`] gives): a `PATCH` with its `Content-Range`, for
    /// registries that take a blob in chunks. Returns the session's next URL, its `Location`
    /// resolved; [`Repository::finish_upload`] with no bytes ends it.
    pub fn upload_chunk(&self, session: &str, offset: u64, bytes: &[u8]) -> Result<String> {
        let needs = [self.want(&["pull", "push"])];
        let authorization = self.client.authorization_for(session, &needs)?;
        let range = chunk_range(offset, bytes.len());
        let request = Request {
            content_type: Some("application/octet-stream"),
            content_range: Some(&range),
            body: Some(bytes),
            // Sent twice, a chunk would be appended twice.
            idempotent: false,
            ..Request::new("PATCH", session.to_string())
        };
        let response = self
            .client
            .transport
            .send(&request, authorization.as_deref())?;
        match response.status().as_u16() {
            202 | 204 => Ok(header(&response, "location").map_or_else(
                || session.to_string(),
                |next| location::resolve(session, &next),
            )),
            _ => Err(status_error(response)),
        }
    }

    /// Close an upload session we will not use (best effort: a failure here changes nothing).
    pub fn cancel_upload(&self, session: &str) {
        let url = session.to_string();
        let needs = [self.want(&["pull", "push"])];
        let Ok(authorization) = self.client.authorization_for(&url, &needs) else {
            return;
        };
        let request = Request::new("DELETE", url);
        let _ = self
            .client
            .transport
            .send(&request, authorization.as_deref());
    }

    /// Delete the manifest `digest`; registries drop the tags that point at it with it.
    pub fn delete_manifest(&self, digest: &Digest) -> Result<()> {
        self.delete(&format!("manifests/{digest}"))
    }

    /// Unlink the blob `digest` from this repository.
    pub fn delete_blob(&self, digest: &Digest) -> Result<()> {
        self.delete(&format!("blobs/{digest}"))
    }

    fn delete(&self, tail: &str) -> Result<()> {
        let needs = [self.want(&["delete"])];
        let request = Request::new("DELETE", self.url(tail));
        self.client.execute(&request, &needs).map(drop)
    }

    /// The repository's tags: the first page of `GET tags/list` (at most 1 MiB).
    pub fn tags(&self) -> Result<Vec<String>> {
        #[derive(serde::Deserialize)]
        struct TagList {
            tags: Option<Vec<String>>,
        }
        let request = Request::new("GET", self.url("tags/list"));
        let (_, bytes) = self.read(&request, 1024 * 1024, || {
            format!("the tag list of {}", self.name)
        })?;
        let list: TagList = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Invalid(format!("{} sent a malformed tag list: {e}", self.host()))
        })?;
        Ok(list.tags.unwrap_or_default())
    }

    /// The manifests whose `subject` is `digest`, from the OCI 1.1 referrers API.
    pub fn referrers(&self, digest: &Digest) -> Result<Vec<Descriptor>> {
        let request = Request {
            accept: Some(manifest::OCI_INDEX),
            ..Request::new("GET", self.url(&format!("referrers/{digest}")))
        };
        let (_, bytes) = self.read(&request, MAX_MANIFEST_BYTES, || {
            format!("the referrers of {}@{digest}", self.name)
        })?;
        let index: manifest::Index = serde_json::from_slice(&bytes).map_err(|e| {
            Error::Invalid(format!(
                "{} sent a malformed referrers index: {e}",
                self.host()
            ))
        })?;
        Ok(index.manifests)
    }

    /// Send `request` (a read: pull access) with retries and read its answer whole, at most
    /// `limit` bytes; an answer over it is reported as `what()` being too large.
    fn read(
        &self,
        request: &Request,
        limit: u64,
        what: impl Fn() -> String,
    ) -> Result<(HeaderMap, Vec<u8>)> {
        let needs = [self.want(&["pull"])];
        self.client
            .transport
            .send_and_read(limit, || self.client.execute(request, &needs))
            .map_err(|e| too_large_as(e, what()))
    }

    /// The registry host requests go to, for messages.
    fn host(&self) -> &str {
        self.client.host()
    }
}

/// The `Content-Range` of a chunk of `length` bytes (at least one) at `offset`: the first and
/// the last byte, both included (`0-1023`).
fn chunk_range(offset: u64, length: usize) -> String {
    let last = (offset + length as u64).saturating_sub(1);
    format!("{offset}-{last}")
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

#[cfg(test)]
mod tests {
    #[test]
    fn a_chunk_range_names_its_first_and_last_byte() {
        assert_eq!(super::chunk_range(0, 1024), "0-1023");
        assert_eq!(super::chunk_range(1024, 1), "1024-1024");
    }
}
