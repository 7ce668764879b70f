//! `manifest-tool test-registry`: does a registry accept what manifest lists need?
//!
//! It pushes the tiny images of [`content`] to the repository it is given, and mounts a blob
//! into a sibling (`REPOSITORY-sibling`), one stage per capability, top to bottom. Each stage
//! ends as one [`Check`]: passed, failed, or unsupported, with the registry's own words. Unless
//! told to keep them, it deletes what it pushed at the end. Tags are new for each run
//! (`test-registry-<time>-<pid>-…`), so that no tag of an earlier run is in the way on a
//! registry whose tags are immutable.

mod content;
mod report;

pub use report::{Check, Format, Report, Status};

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::list::{self, AssembledList, ListType};
use crate::manifest::Descriptor;
use crate::reference::{ManifestRef, Reference};
use crate::registry::challenge::Challenge;
use crate::registry::repository::Repository;
use crate::registry::{Connector, Mount, Registry};
use content::{Content, Image, Synthetic};
use std::collections::BTreeMap;

/// Whether `push` relies on a capability: only a failed check that it relies on fails the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Need {
    /// Every push uses it.
    Push,
    /// Push does without it (mounts, chunked uploads), or only some pushes use it (annotations,
    /// attestations); reported, never failing the run.
    Optional,
}

/// The repository `input` names, for `test-registry`: a registry reference without tag or
/// digest (`registry:5000/team/app`).
pub fn repository(input: &str) -> Result<Reference> {
    let invalid = |why: &str| Error::Input(format!("test-registry {input:?}: {why}"));
    if input.starts_with(crate::layout::SCHEME) {
        return Err(invalid("tests a registry, not an OCI image layout"));
    }
    let reference = Reference::parse(input).map_err(|e| invalid(&e.to_string()))?;
    if reference.tag.is_some() || reference.digest.is_some() {
        return Err(invalid(
            "name a repository, without tag or digest (registry:5000/team/app)",
        ));
    }
    Ok(reference)
}

/// Run every check against `reference` (a repository) through `connector`; with `keep`,
/// leave what was pushed in place instead of deleting it.
pub fn run(connector: &Connector, reference: &Reference, keep: bool) -> Result<Report> {
    let client = connector.registry(&reference.registry, reference.api_host())?;
    let repository = |name: &str| Repository::new(client.clone(), &reference.registry, name);
    let mut session = Session {
        repo: repository(&reference.repository),
        sibling: repository(&format!("{}-sibling", reference.repository)),
        content: Synthetic::new(),
        prefix: format!("test-registry-{}-{}", unix_seconds(), std::process::id()),
        pushed: Vec::new(),
        tagged: Vec::new(),
        mounted: false,
        checks: Vec::new(),
    };
    // One token for the whole run: the target first, as some registries read only the first.
    let actions: &[&str] = match keep {
        true => &["pull", "push"],
        false => &["pull", "push", "delete"],
    };
    session.repo.want(actions);
    session.sibling.want(actions);

    use Need::{Optional, Push};
    session.check("auth", Push, |s| s.auth(&client));
    if session.checks.iter().all(|c| c.status == Status::Pass) {
        session.check("blob upload (monolithic)", Push, Session::upload);
        session.check("blob upload (chunked)", Optional, Session::chunked);
        session.check("blob HEAD", Push, Session::head);
        session.check("cross-repository mount", Optional, Session::mount);
        session.check("image PUT by digest (Docker)", Push, |s| {
            s.put_images(|c| &c.docker)
        });
        session.check("image PUT by digest (OCI)", Push, |s| {
            s.put_images(|c| &c.oci)
        });
        session.check("tag PUT", Push, Session::tag);
        session.check("Docker manifest list", Push, |s| {
            let entries = entries(&s.content.docker);
            s.put_list("docker-list", ListType::Docker, entries, BTreeMap::new())
        });
        session.check("Docker list of OCI images", Optional, |s| {
            let entries = entries(&s.content.oci);
            s.put_list(
                "docker-list-oci",
                ListType::Docker,
                entries,
                BTreeMap::new(),
            )
        });
        session.check("OCI image index", Push, |s| {
            let entries = entries(&s.content.oci);
            s.put_list("oci-index", ListType::Oci, entries, BTreeMap::new())
        });
        session.check("OCI index with annotations", Optional, Session::annotated);
        session.check("attestation entries (buildx)", Optional, Session::attested);
        session.check("same tag PUT again", Optional, Session::put_again);
        session.check("tags list", Optional, Session::tags_list);
        session.check("referrers API and subject", Optional, Session::referrers);
        if !keep {
            session.check("DELETE", Optional, Session::delete);
        }
    }
    Ok(Report {
        registry: reference.registry.clone(),
        repository: reference.repository.clone(),
        sibling: session.sibling.name().to_string(),
        checks: session.checks,
        kept: match keep {
            true => session.tagged.into_iter().map(|(tag, _)| tag).collect(),
            false => Vec::new(),
        },
    })
}

/// What one run has pushed so far, and the checks done.
struct Session {
    repo: Repository,
    sibling: Repository,
    content: Synthetic,
    /// The start of every tag this run pushes.
    prefix: String,
    /// The manifests pushed, in order, to delete them in reverse.
    pushed: Vec<Digest>,
    /// The tags pushed and what they hold.
    tagged: Vec<(String, AssembledList)>,
    /// Whether a blob was mounted into the sibling (to delete it there).
    mounted: bool,
    checks: Vec<Check>,
}

impl Session {
    /// Run one stage and note its outcome as the check `name`.
    fn check(
        &mut self,
        name: &'static str,
        need: Need,
        stage: impl FnOnce(&mut Session) -> Result<String>,
    ) {
        let (status, detail) = match stage(self) {
            Ok(detail) => (Status::Pass, detail),
            Err(e) if need == Need::Optional && is_refusal(&e) => {
                (Status::Unsupported, e.to_string())
            }
            Err(e) => (Status::Fail, e.to_string()),
        };
        self.checks
            .push(Check::new(name, need == Need::Push, status, &detail));
    }

    /// How the registry asks for credentials (its challenge to a `GET /v2/` without any), and
    /// that ours answer it: a HEAD with the token or credentials push would use.
    fn auth(&mut self, client: &Registry) -> Result<String> {
        let challenges = client.challenges()?;
        self.repo.has_blob(&self.content.blobs[0].digest)?;
        if challenges.is_empty() {
            return Ok("none: /v2/ answered without a challenge".to_string());
        }
        let described: Vec<String> = challenges
            .iter()
            .map(|challenge| match challenge {
                Challenge::Basic { realm } => {
                    format!("Basic realm=\"{}\"", realm.as_deref().unwrap_or_default())
                }
                Challenge::Bearer { realm, service, .. } => match service {
                    Some(service) => format!("Bearer realm=\"{realm}\" service=\"{service}\""),
                    None => format!("Bearer realm=\"{realm}\""),
                },
            })
            .collect();
        Ok(described.join(", "))
    }

    /// Every blob but the chunked one, each in a POST and one PUT, as push uploads.
    fn upload(&mut self) -> Result<String> {
        let blobs = &self.content.blobs;
        for (index, blob) in blobs.iter().enumerate() {
            if index != 1 {
                upload_whole(&self.repo, blob)?;
            }
        }
        Ok(format!("{} blobs, each in one PUT", blobs.len() - 1))
    }

    /// The other layer in two `PATCH` chunks, then a `PUT` with its digest. When that fails it
    /// is uploaded whole, so that the checks after this one have it.
    fn chunked(&mut self) -> Result<String> {
        let blob = &self.content.blobs[1];
        let (first, second) = blob.bytes.split_at(blob.bytes.len() / 2);
        let chunked = self.repo.start_upload().and_then(|location| {
            let location = self.repo.upload_chunk(&location, 0, first)?;
            let location = self
                .repo
                .upload_chunk(&location, first.len() as u64, second)?;
            self.repo
                .finish_upload(&location, &blob.digest, &mut &[][..], 0)
        });
        if chunked.is_err() {
            let _ = upload_whole(&self.repo, blob);
        }
        chunked.map(|()| format!("{} bytes in 2 PATCH requests, then PUT", blob.bytes.len()))
    }

    /// `HEAD` finds every blob uploaded and none that was not: push skips the blobs it finds.
    fn head(&mut self) -> Result<String> {
        let blobs = &self.content.blobs;
        let mut missing = 0;
        for blob in blobs {
            if !self.repo.has_blob(&blob.digest)? {
                missing += 1;
            }
        }
        if missing > 0 {
            return Err(Error::Invalid(format!(
                "404 for {missing} of the {} blobs uploaded",
                blobs.len()
            )));
        }
        let never = Digest::sha256_of(self.prefix.as_bytes());
        if self.repo.has_blob(&never)? {
            return Err(Error::Invalid(
                "200 for a blob that was never uploaded".to_string(),
            ));
        }
        Ok(format!(
            "200 for the {} blobs uploaded, 404 for one never uploaded",
            blobs.len()
        ))
    }

    /// Mount the first layer into the sibling repository. A registry that opens an upload
    /// instead (202) does not mount; push then copies the blob.
    fn mount(&mut self) -> Result<String> {
        let digest = &self.content.blobs[0].digest;
        match self.sibling.mount_blob(digest, &self.repo)? {
            Mount::Mounted if self.sibling.has_blob(digest)? => {
                self.mounted = true;
                Ok(format!("201: mounted into {}", self.sibling.name()))
            }
            Mount::Mounted => Err(Error::Invalid(format!(
                "201, yet {} does not have the blob",
                self.sibling.name()
            ))),
            Mount::UploadOpened(location) => {
                self.sibling.cancel_upload(&location);
                Err(Error::Unsupported(
                    "202: opened an upload instead of mounting".to_string(),
                ))
            }
        }
    }

    /// PUT the images of one kind by digest, as push PUTs the children of a list.
    fn put_images(&mut self, images: fn(&Synthetic) -> &Vec<Image>) -> Result<String> {
        let images = images(&self.content).clone();
        for image in &images {
            self.put_by_digest(&image.manifest)?;
        }
        Ok(format!("{} manifests", images.len()))
    }

    /// PUT an image under a tag, and read it back by the tag.
    fn tag(&mut self) -> Result<String> {
        let image = self.content.docker[0].manifest.clone();
        let tag = format!("{}-image", self.prefix);
        let reference = ManifestRef::Tag(tag.clone());
        self.repo
            .put_manifest(&reference, image.media_type, &image.bytes)?;
        let read = self.repo.get_manifest(&reference)?;
        self.note(&image.digest);
        self.tagged.push((
            tag,
            AssembledList {
                media_type: image.media_type,
                bytes: image.bytes,
            },
        ));
        match read.digest == image.digest {
            true => Ok("read back with the same digest".to_string()),
            false => Err(Error::Invalid(format!(
                "read back as {}, not the {} pushed",
                read.digest, image.digest
            ))),
        }
    }

    /// Assemble a list as push does and PUT it under the tag `<prefix>-<suffix>`.
    fn put_list(
        &mut self,
        suffix: &str,
        list_type: ListType,
        entries: Vec<Descriptor>,
        annotations: BTreeMap<String, String>,
    ) -> Result<String> {
        let list = list::assemble(list_type, &entries, &annotations);
        let tag = format!("{}-{suffix}", self.prefix);
        self.repo
            .put_manifest(&ManifestRef::Tag(tag.clone()), list.media_type, &list.bytes)?;
        self.note(&Digest::sha256_of(&list.bytes));
        let detail = format!("{} entries, {} bytes", entries.len(), list.bytes.len());
        self.tagged.push((tag, list));
        Ok(detail)
    }

    /// An OCI index with annotations on the index and on each entry.
    fn annotated(&mut self) -> Result<String> {
        let annotation = |key: &str, value: &str| BTreeMap::from([(key.into(), value.into())]);
        let entries = self.content.oci.iter().map(|image| Descriptor {
            annotations: Some(annotation(
                "org.opencontainers.image.title",
                &image.platform.architecture,
            )),
            ..image.entry()
        });
        let index = annotation(
            "org.opencontainers.image.description",
            "manifest-tool test-registry",
        );
        self.put_list("oci-annotated", ListType::Oci, entries.collect(), index)
    }

    /// An OCI index as `docker buildx` writes it: the images, then for each an attestation
    /// manifest with platform `unknown/unknown` and `vnd.docker.reference.*` annotations.
    fn attested(&mut self) -> Result<String> {
        let mut entries = entries(&self.content.oci);
        for (manifest, entry) in self.content.attestations.clone() {
            self.put_by_digest(&manifest)?;
            entries.push(entry);
        }
        self.put_list("attested", ListType::Oci, entries, BTreeMap::new())
    }

    /// PUT the first tag again, with the same bytes, as a push run twice does. Registries with
    /// immutable tags refuse it.
    fn put_again(&mut self) -> Result<String> {
        let Some((tag, list)) = self.tagged.first() else {
            return Err(Error::Invalid("no tag was pushed to PUT again".to_string()));
        };
        self.repo
            .put_manifest(&ManifestRef::Tag(tag.clone()), list.media_type, &list.bytes)?;
        Ok("accepted: tags are mutable".to_string())
    }

    /// The tag list names every tag pushed.
    fn tags_list(&mut self) -> Result<String> {
        let listed = self.repo.tags()?;
        let missing = self
            .tagged
            .iter()
            .filter(|(tag, _)| !listed.contains(tag))
            .count();
        match missing {
            0 => Ok(format!("lists the {} tags pushed", self.tagged.len())),
            _ => Err(Error::Invalid(format!(
                "{missing} of the {} tags pushed are not listed",
                self.tagged.len()
            ))),
        }
    }

    /// PUT an artifact whose `subject` is an image; the referrers API must list it.
    fn referrers(&mut self) -> Result<String> {
        let artifact = self.content.artifact.clone();
        self.put_by_digest(&artifact)
            .map_err(|e| e.context("PUT of a manifest with a subject"))?;
        let subject = &self.content.oci[0].manifest.digest;
        let referrers = self
            .repo
            .referrers(subject)
            .map_err(|e| e.context("GET referrers"))?;
        match referrers.iter().any(|r| r.digest == artifact.digest) {
            true => Ok(format!(
                "lists the {} artifact",
                referrers
                    .iter()
                    .find_map(|r| r.artifact_type.as_deref())
                    .unwrap_or(content::ARTIFACT_TYPE)
            )),
            false => Err(Error::Invalid(format!(
                "GET referrers: {} referrers, not the artifact pushed",
                referrers.len()
            ))),
        }
    }

    /// Delete every manifest pushed (newest first, so no list outlives its entries, and with
    /// them their tags), then the blobs, as far as the registry lets us.
    fn delete(&mut self) -> Result<String> {
        for digest in self.pushed.iter().rev() {
            self.repo
                .delete_manifest(digest)
                .map_err(|e| e.context("DELETE of a manifest"))?;
        }
        let mut deleted = 0;
        let mut refused = None;
        let sibling = self
            .mounted
            .then_some((&self.sibling, &self.content.blobs[0]));
        let blobs = self.content.blobs.iter().map(|blob| (&self.repo, blob));
        for (repository, blob) in blobs.chain(sibling) {
            match repository.delete_blob(&blob.digest) {
                Ok(()) => deleted += 1,
                Err(e) => refused = refused.or(Some(e)),
            }
        }
        let manifests = self.pushed.len();
        Ok(match refused {
            None => format!("{manifests} manifests (and their tags), {deleted} blobs"),
            Some(e) => format!("{manifests} manifests (and their tags); blobs stay: {e}"),
        })
    }

    /// PUT a manifest by its digest, and note it for deletion.
    fn put_by_digest(&mut self, manifest: &Content) -> Result<()> {
        let reference = ManifestRef::Digest(manifest.digest.clone());
        self.repo
            .put_manifest(&reference, manifest.media_type, &manifest.bytes)?;
        self.note(&manifest.digest);
        Ok(())
    }

    /// Note a manifest pushed, once, for deletion.
    fn note(&mut self, digest: &Digest) {
        if !self.pushed.contains(digest) {
            self.pushed.push(digest.clone());
        }
    }
}

/// The list entries of `images`.
fn entries(images: &[Image]) -> Vec<Descriptor> {
    images.iter().map(Image::entry).collect()
}

/// Upload `blob` into `repository` as push does: a POST, then one PUT of the whole blob.
fn upload_whole(repository: &Repository, blob: &Content) -> Result<()> {
    let location = repository.start_upload()?;
    let length = blob.bytes.len() as u64;
    repository.finish_upload(&location, &blob.digest, &mut blob.bytes.as_slice(), length)
}

/// Whether the registry said no to the request (a 4xx other than 408 and 429, or
/// [`Error::Unsupported`]), rather than failing to answer it.
fn is_refusal(error: &Error) -> bool {
    match error {
        Error::Context { source, .. } => is_refusal(source),
        Error::Status { status, .. } => {
            (400..500).contains(status) && !crate::registry::retry::is_retryable_status(*status)
        }
        Error::Unauthorized { .. } | Error::Unsupported(_) => true,
        _ => false,
    }
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
