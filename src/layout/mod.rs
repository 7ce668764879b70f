//! OCI image layout directories (the format of `skopeo copy … oci:DIR:TAG`, regctl's
//! `ocidir://` and buildx's `oci-layout://`): the same operations a registry repository offers,
//! on local files.
//!
//! A layout is `oci-layout` (`{"imageLayoutVersion":"1.0.0"}`), `index.json` (an OCI index whose
//! entries carry their tag in `org.opencontainers.image.ref.name`) and `blobs/<alg>/<hex>`.
//! Every write goes to a temporary file in the destination directory, is fsynced, checked
//! against its digest and renamed into place, so a crash never leaves half a blob or index.
//!
//! A layout may come from someone else (docs/security.md, "Layouts"): its files are read only
//! if they are regular files reached without a symbolic link, with a cap on their size; temp
//! files get unpredictable names and are created only if nothing is there; and the
//! read-modify-write of `index.json` holds an exclusive lock on the layout directory, so runs
//! that push at once never lose each other's tags.

mod files;

use crate::digest::{Digest, Hasher};
use crate::error::{Error, Result};
use crate::manifest::{Descriptor, MAX_MANIFEST_BYTES, OCI_INDEX};
use files::{
    create_temp, is_lock_file, not_regular, open_lock_file, open_no_follow, sync_dir,
    try_lock_exclusive,
};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// The prefix of a layout reference.
pub const SCHEME: &str = "oci-layout://";
/// The annotation that names a tag in `index.json`.
pub const REF_NAME: &str = "org.opencontainers.image.ref.name";
const LAYOUT_FILE: &str = "oci-layout";
const LAYOUT_VERSION: &str = "1.0.0";
const INDEX_FILE: &str = "index.json";
/// The largest `oci-layout` file read; the real one is 30 bytes.
const MAX_MARKER_BYTES: u64 = 4096;
/// The largest `index.json` read: 64 MiB, some 250,000 tags.
const MAX_INDEX_BYTES: u64 = 64 << 20;
/// How long a write waits for another process that is updating `index.json`.
const LOCK_WAIT: Duration = Duration::from_secs(60);
/// After how long a write waiting for the lock says so on stderr.
const LOCK_NOTICE: Duration = Duration::from_secs(1);

/// `oci-layout://PATH[:TAG][@DIGEST]`, parsed.
///
/// The tag is what follows the last `:` in the last path component, so `oci-layout://out:v1`
/// is the directory `out` with tag `v1`, and `oci-layout:///srv/a:b/out` has no tag. A directory
/// whose own name contains `:` is written with a trailing slash: `oci-layout://dir:x/` (no
/// tag) or `oci-layout://dir:x/:v1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutRef {
    pub path: PathBuf,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl LayoutRef {
    /// Parse a reference that starts with [`SCHEME`].
    pub fn parse(input: &str) -> Result<LayoutRef> {
        let invalid = |problem: &str| {
            Error::Input(format!("invalid OCI layout reference {input:?}: {problem}"))
        };
        let Some(mut rest) = input.strip_prefix(SCHEME) else {
            return Err(invalid("it must start with oci-layout://"));
        };
        let mut digest = None;
        if let Some((before, after)) = rest.rsplit_once('@')
            && after.contains(':')
        {
            digest = Some(Digest::parse(after).map_err(|problem| invalid(&problem))?);
            rest = before;
        }
        let last_component_start = rest.rfind('/').map_or(0, |i| i + 1);
        let mut tag = None;
        if let Some(colon) = rest[last_component_start..].rfind(':') {
            let split = last_component_start + colon;
            let candidate = &rest[split + 1..];
            if !is_valid_tag(candidate) {
                return Err(invalid(&format!(
                    "{candidate:?} is not a valid tag (a directory name with ':' needs a trailing '/')"
                )));
            }
            tag = Some(candidate.to_string());
            rest = &rest[..split];
        }
        if rest.is_empty() {
            return Err(invalid("the directory path is empty"));
        }
        Ok(LayoutRef {
            path: PathBuf::from(rest),
            tag,
            digest,
        })
    }
}

impl std::fmt::Display for LayoutRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{SCHEME}{}", self.path.display())?;
        if let Some(tag) = &self.tag {
            let path = self.path.to_string_lossy();
            let needs_slash = path
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains(':'));
            write!(f, "{}:{tag}", if needs_slash { "/" } else { "" })?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Tag grammar of the distribution spec: `[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}`.
fn is_valid_tag(tag: &str) -> bool {
    let mut chars = tag.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
        && tag.len() <= 128
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
}

/// An OCI image layout directory, open for reading and writing.
pub struct Layout {
    root: PathBuf,
    /// Serialises updates of `index.json` within this process (across processes: a `flock`).
    index_lock: Mutex<()>,
}

/// Held while `index.json` is read, changed and replaced: the process's mutex and the `flock`
/// on the layout directory (on Windows: the lock on its lock file), released when it is closed.
struct IndexLock<'a> {
    _guard: MutexGuard<'a, ()>,
    _directory: File,
}

impl Layout {
    /// Open an existing layout; a directory without an `oci-layout` file is refused.
    pub fn open(root: &Path) -> Result<Layout> {
        let layout = Layout::planned(root);
        let marker = root.join(LAYOUT_FILE);
        let file = layout.open_regular(Path::new(LAYOUT_FILE), LAYOUT_FILE, |e| {
            if root.is_dir() {
                Error::Input(format!(
                    "{} is not an OCI image layout (no readable oci-layout file: {e})",
                    root.display()
                ))
            } else {
                Error::NotFound(format!("OCI layout {} does not exist", root.display()))
            }
        })?;
        let text = layout.read_capped(file, LAYOUT_FILE, MAX_MARKER_BYTES)?;
        let value: serde_json::Value = serde_json::from_slice(&text)
            .map_err(|e| Error::Input(format!("{}: not valid JSON: {e}", marker.display())))?;
        if value["imageLayoutVersion"] != LAYOUT_VERSION {
            return Err(Error::Unsupported(format!(
                "{}: imageLayoutVersion {} is not {LAYOUT_VERSION}",
                marker.display(),
                value["imageLayoutVersion"]
            )));
        }
        Ok(layout)
    }

    /// A layout that does not exist yet: nothing on disk is read or created until a write.
    fn planned(root: &Path) -> Layout {
        Layout {
            root: root.to_path_buf(),
            index_lock: Mutex::new(()),
        }
    }

    /// Open a layout to write to. A directory that is missing or empty is fine: the layout is
    /// created there on the first write, so a push that fails before writing leaves nothing.
    ///
    /// An existing directory is looked at under the index lock: another run creating a layout
    /// there holds it from its first file to the `oci-layout` file, so the directory is seen
    /// either empty or complete, never half made.
    pub fn open_for_writing(root: &Path) -> Result<Layout> {
        let planned = Layout::planned(root);
        let lock = match fs::symlink_metadata(root) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(planned),
            _ => planned.lock_index()?,
        };
        let empty = fs::read_dir(root)
            .map_err(|e| Error::io(root, e))?
            .all(|entry| entry.is_ok_and(|entry| is_lock_file(&entry.file_name())));
        drop(lock);
        if empty {
            Ok(planned)
        } else {
            Layout::open(root)
        }
    }

    /// Create the layout's files if they are not there yet (the `oci-layout` file last, so a
    /// directory that has it is complete).
    fn ensure_created(&self) -> Result<()> {
        let _lock = self.lock_index()?;
        self.create_if_missing()
    }

    /// [`Layout::ensure_created`] for a caller that holds the index lock.
    fn create_if_missing(&self) -> Result<()> {
        let marker = self.refuse_symlinks(Path::new(LAYOUT_FILE), LAYOUT_FILE)?;
        if marker.is_file() {
            return Ok(());
        }
        let blobs = self.refuse_symlinks(Path::new("blobs/sha256"), "blobs/sha256")?;
        fs::create_dir_all(&blobs).map_err(|e| self.write_error("blobs/sha256", e))?;
        self.write_file_atomically(
            &self.index_path(),
            br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
        )?;
        self.write_file_atomically(&marker, br#"{"imageLayoutVersion":"1.0.0"}"#)
    }

    /// The directory, for messages.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The `index.json` entry tagged `tag`.
    pub fn resolve_tag(&self, tag: &str) -> Result<Descriptor> {
        let index = self.read_index()?;
        let entries: Vec<Descriptor> =
            serde_json::from_value(index["manifests"].clone()).map_err(|e| {
                Error::Invalid(format!(
                    "{}: malformed manifests: {e}",
                    self.index_path().display()
                ))
            })?;
        if let Some(entry) = entries.iter().find(|d| d.annotation(REF_NAME) == Some(tag)) {
            return Ok(entry.clone());
        }
        let tags: Vec<&str> = entries
            .iter()
            .filter_map(|d| d.annotation(REF_NAME))
            .collect();
        Err(Error::NotFound(format!(
            "tag {tag:?} not found in OCI layout {} ({})",
            self.root.display(),
            some_tags(&tags)
        )))
    }

    /// Read a whole blob of at most `limit` bytes and check its digest.
    pub fn read_blob(&self, digest: &Digest, limit: u64) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        let file = self.open_blob_file(digest)?;
        let bytes = self.read_capped(file, &format!("blob {digest}"), limit)?;
        digest
            .verify(&bytes)
            .map_err(|found| Error::DigestMismatch {
                what: format!("blob {} (corrupt layout)", path.display()),
                expected: digest.to_string(),
                found: found.to_string(),
            })?;
        Ok(bytes)
    }

    /// Read a manifest (at most 4 MiB) and check its digest.
    pub fn read_manifest(&self, digest: &Digest) -> Result<Vec<u8>> {
        self.read_blob(digest, MAX_MANIFEST_BYTES)
    }

    /// Open a blob to stream it: its length and the file.
    pub fn open_blob(&self, digest: &Digest) -> Result<(u64, File)> {
        let file = self.open_blob_file(digest)?;
        let length = file
            .metadata()
            .map_err(|e| Error::io(&self.blob_path(digest), e))?
            .len();
        Ok((length, file))
    }

    /// Whether the blob is present (a symbolic link in its place, or on the way to it, is
    /// refused).
    pub fn has_blob(&self, digest: &Digest) -> Result<bool> {
        let path = self.refuse_symlinks(&digest.layout_path(), &format!("blob {digest}"))?;
        Ok(path.is_file())
    }

    fn open_blob_file(&self, digest: &Digest) -> Result<File> {
        let path = self.blob_path(digest);
        self.open_regular(&digest.layout_path(), &format!("blob {digest}"), |e| {
            self.missing_blob(digest, &path, e)
        })
    }

    /// Write a blob from `reader`, checking its digest and size before it takes its place.
    pub fn write_blob(&self, digest: &Digest, size: u64, reader: &mut dyn Read) -> Result<()> {
        if self.has_blob(digest)? {
            return Ok(());
        }
        self.ensure_created()?;
        let path = self.blob_path(digest);
        let dir = path.parent().unwrap_or(&self.root).to_path_buf();
        let what = format!("blob {digest}");
        let write_error = |e| self.write_error(&what, e);
        fs::create_dir_all(&dir).map_err(write_error)?;
        self.refuse_symlinks(&digest.layout_path(), &what)?;
        let (temp, mut file) = create_temp(&dir).map_err(write_error)?;
        let result = (|| {
            let mut hasher = Hasher::like(digest);
            let mut written = 0u64;
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let n = reader.read(&mut buffer).map_err(|e| Error::Io {
                    path: format!("blob {digest} (reading the source)"),
                    detail: e.to_string(),
                })?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
                file.write_all(&buffer[..n]).map_err(write_error)?;
                written += n as u64;
            }
            let found = hasher.finish();
            if found != *digest {
                return Err(Error::DigestMismatch {
                    what: format!("blob written to {}", self.root.display()),
                    expected: digest.to_string(),
                    found: found.to_string(),
                });
            }
            if written != size {
                return Err(Error::Invalid(format!(
                    "blob {digest}: expected {size} bytes, got {written}"
                )));
            }
            file.sync_all().map_err(write_error)?;
            fs::rename(&temp, &path).map_err(write_error)?;
            sync_dir(&dir);
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result
    }

    /// Write manifest bytes (already in memory) as a blob.
    pub fn write_manifest(&self, digest: &Digest, bytes: &[u8]) -> Result<()> {
        self.write_blob(digest, bytes.len() as u64, &mut &bytes[..])
    }

    /// Point `tag` at `descriptor` in `index.json` (replacing what the tag pointed at).
    pub fn set_tag(&self, tag: &str, descriptor: &Descriptor) -> Result<()> {
        let _lock = self.lock_index()?;
        self.create_if_missing()?;
        let mut index = self.read_index()?;
        let mut entry = descriptor.clone();
        entry
            .annotations
            .get_or_insert_with(Default::default)
            .insert(REF_NAME.to_string(), tag.to_string());
        let entry = serde_json::to_value(&entry)
            .map_err(|e| Error::Invalid(format!("encoding an index entry: {e}")))?;
        let manifests = index["manifests"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .filter(|m| m["annotations"][REF_NAME] != tag)
            .chain(std::iter::once(entry))
            .collect();
        index["manifests"] = serde_json::Value::Array(manifests);
        if index.get("mediaType").is_none() {
            index["mediaType"] = OCI_INDEX.into();
        }
        let bytes = serde_json::to_vec(&index)
            .map_err(|e| Error::Invalid(format!("encoding index.json: {e}")))?;
        self.write_file_atomically(&self.index_path(), &bytes)
    }

    fn read_index(&self) -> Result<serde_json::Value> {
        let path = self.index_path();
        let file = self.open_regular(Path::new(INDEX_FILE), INDEX_FILE, |e| Error::io(&path, e))?;
        let bytes = self.read_capped(file, INDEX_FILE, MAX_INDEX_BYTES)?;
        let index: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::Invalid(format!("{}: not valid JSON: {e}", path.display())))?;
        if !index["manifests"].is_array() {
            return Err(Error::Invalid(format!(
                "{}: has no manifests array",
                path.display()
            )));
        }
        Ok(index)
    }

    fn index_path(&self) -> PathBuf {
        self.root.join(INDEX_FILE)
    }

    /// Take the lock that serialises updates of `index.json`, within this process and across
    /// processes (an exclusive `flock` on the layout directory, so no extra file appears in the
    /// layout; on Windows a lock on `.manifest-tool.lock` in it). Waits at most [`LOCK_WAIT`], saying so on stderr after [`LOCK_NOTICE`].
    fn lock_index(&self) -> Result<IndexLock<'_>> {
        let guard = self
            .index_lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        fs::create_dir_all(&self.root).map_err(|e| Error::io(&self.root, e))?;
        let directory = open_lock_file(&self.root).map_err(|e| Error::io(&self.root, e))?;
        let start = Instant::now();
        let mut said = false;
        while !try_lock_exclusive(&directory).map_err(|e| Error::io(&self.root, e))? {
            let waited = start.elapsed();
            if waited >= LOCK_WAIT {
                return Err(Error::Io {
                    path: self.index_path().display().to_string(),
                    detail: format!(
                        "another process has held its lock for {} s; giving up",
                        LOCK_WAIT.as_secs()
                    ),
                });
            }
            if waited >= LOCK_NOTICE && !said {
                eprintln!("waiting for the lock on {}…", self.index_path().display());
                said = true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(IndexLock {
            _guard: guard,
            _directory: directory,
        })
    }

    /// `relative` below the root, after checking that no part of it is a symbolic link (one
    /// could lead outside the layout). A part that does not exist ends the check: whoever
    /// opens or creates the path next reports it. `what` names the last part in the error.
    fn refuse_symlinks(&self, relative: &Path, what: &str) -> Result<PathBuf> {
        let mut path = self.root.clone();
        let mut parts = relative.components().peekable();
        while let Some(part) = parts.next() {
            path.push(part);
            match path.symlink_metadata() {
                Ok(meta) if meta.is_symlink() => {
                    let shown = if parts.peek().is_none() {
                        what.to_string()
                    } else {
                        path.strip_prefix(&self.root)
                            .unwrap_or(&path)
                            .display()
                            .to_string()
                    };
                    return Err(self.refused(&shown, "is a symbolic link"));
                }
                Ok(_) => {}
                Err(_) => break,
            }
        }
        Ok(path)
    }

    /// Open the layout file `relative` for reading: only a regular file, reached without a
    /// symbolic link, so a layout cannot make us read a file outside it, or a FIFO or device
    /// that never ends. `O_NOFOLLOW` closes the gap between the check and the open, and
    /// `O_NONBLOCK` keeps the open of a FIFO from waiting for a writer. `on_error` turns an
    /// error of the open itself (say, not found) into the caller's message.
    fn open_regular(
        &self,
        relative: &Path,
        what: &str,
        on_error: impl FnOnce(std::io::Error) -> Error,
    ) -> Result<File> {
        let path = self.refuse_symlinks(relative, what)?;
        let file = open_no_follow(&path).map_err(on_error)?;
        let meta = file.metadata().map_err(|e| Error::io(&path, e))?;
        if let Some(kind) = not_regular(&meta) {
            return Err(self.refused(what, &format!("is {kind}, not a regular file")));
        }
        Ok(file)
    }

    /// Read all of `file`, refusing more than `limit` bytes.
    fn read_capped(&self, file: File, what: &str, limit: u64) -> Result<Vec<u8>> {
        let mut bytes = Vec::new();
        file.take(limit + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| Error::io(&self.root.join(what), e))?;
        if bytes.len() as u64 > limit {
            return Err(Error::TooLarge {
                what: format!("{what} in OCI layout {}", self.root.display()),
                limit,
            });
        }
        Ok(bytes)
    }

    /// A file of the layout that we do not read or write through: `what` `problem`.
    fn refused(&self, what: &str, problem: &str) -> Error {
        Error::Input(format!(
            "OCI layout {}: {what} {problem} (refused: a layout's files must be regular files \
             inside it)",
            self.root.display()
        ))
    }

    fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root.join(digest.layout_path())
    }

    fn missing_blob(&self, digest: &Digest, path: &Path, e: std::io::Error) -> Error {
        if e.kind() == std::io::ErrorKind::NotFound {
            Error::NotFound(format!(
                "blob {digest} is not in OCI layout {}",
                self.root.display()
            ))
        } else {
            Error::io(path, e)
        }
    }

    /// A failed write of `what` (`blob sha256:…`, `index.json`): named by the layout directory
    /// the user gave, not by the temp file it went to.
    fn write_error(&self, what: &str, error: std::io::Error) -> Error {
        Error::Io {
            path: format!("writing {what} to OCI layout {}", self.root.display()),
            detail: error.to_string(),
        }
    }

    /// Replace `path` with `bytes`: temp file in the same directory, fsync, rename, fsync dir.
    fn write_file_atomically(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let dir = path.parent().unwrap_or(&self.root);
        let name = path.strip_prefix(&self.root).unwrap_or(path).display();
        let write_error = |e| self.write_error(&name.to_string(), e);
        let (temp, mut file) = create_temp(dir).map_err(write_error)?;
        let result = (|| {
            file.write_all(bytes).map_err(write_error)?;
            file.sync_all().map_err(write_error)?;
            fs::rename(&temp, path).map_err(write_error)?;
            sync_dir(dir);
            Ok(())
        })();
        if result.is_err() {
            let _ = fs::remove_file(&temp);
        }
        result
    }
}

/// How many tags an error message names, at most: a layout may have thousands.
const TAGS_NAMED: usize = 5;

/// "it has 3 tags: a, b, c" or "it has 100000 tags: t0, …, t4 and 99995 more": short enough
/// for one line whatever the layout holds.
fn some_tags(tags: &[&str]) -> String {
    match tags.len() {
        0 => "it has no tags".to_string(),
        1 => format!("it has 1 tag: {}", tags[0]),
        n if n <= TAGS_NAMED => format!("it has {n} tags: {}", tags.join(", ")),
        n => format!(
            "it has {n} tags: {} and {} more",
            tags[..TAGS_NAMED].join(", "),
            n - TAGS_NAMED
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn references_split_path_tag_and_digest() {
        let r = LayoutRef::parse("oci-layout://out:v1").unwrap();
        assert_eq!(
            (r.path, r.tag, r.digest),
            (PathBuf::from("out"), Some("v1".into()), None)
        );
        let r = LayoutRef::parse("oci-layout:///srv/a:b/out").unwrap();
        assert_eq!((r.path, r.tag), (PathBuf::from("/srv/a:b/out"), None));
        let r = LayoutRef::parse(&format!("oci-layout://dir/x:1.0@{D}")).unwrap();
        assert_eq!(
            (r.tag.as_deref(), r.digest.as_ref().map(Digest::as_str)),
            (Some("1.0"), Some(D))
        );
        let r = LayoutRef::parse("oci-layout://dir:x/").unwrap();
        assert_eq!((r.path, r.tag), (PathBuf::from("dir:x/"), None));
        let r = LayoutRef::parse("oci-layout://dir:x/:v2").unwrap();
        assert_eq!(
            (r.path.clone(), r.tag.as_deref()),
            (PathBuf::from("dir:x/"), Some("v2"))
        );
        assert_eq!(r.to_string(), "oci-layout://dir:x/:v2");
        assert_eq!(
            LayoutRef::parse("oci-layout://out:v1").unwrap().to_string(),
            "oci-layout://out:v1"
        );
    }

    #[test]
    fn bad_layout_references_say_what_is_wrong() {
        for (input, fragment) in [
            ("oci-layout://", "path is empty"),
            ("oci-layout://:v1", "path is empty"),
            ("oci-layout://out:", "not a valid tag"),
            ("oci-layout://out:a b", "not a valid tag"),
            ("oci-layout://out@sha256:abc", "has 3 hex digits"),
            ("oci-layout://out@sha256:../../etc", "not hex digits"),
        ] {
            let err = LayoutRef::parse(input).unwrap_err().to_string();
            assert!(err.contains(fragment), "{input}: {err}");
        }
    }

    #[test]
    fn a_missing_tag_names_a_few_of_the_tags_there_are() {
        assert_eq!(some_tags(&[]), "it has no tags");
        assert_eq!(some_tags(&["v1"]), "it has 1 tag: v1");
        assert_eq!(some_tags(&["a", "b", "c"]), "it has 3 tags: a, b, c");
        let many: Vec<String> = (0..100_000).map(|i| format!("t{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            some_tags(&many),
            "it has 100000 tags: t0, t1, t2, t3, t4 and 99995 more"
        );
    }

    #[test]
    fn blob_paths_are_under_blobs_by_algorithm() {
        let layout = Layout {
            root: PathBuf::from("/tmp/x"),
            index_lock: Mutex::new(()),
        };
        assert_eq!(
            layout.blob_path(&Digest::parse(D).unwrap()),
            PathBuf::from("/tmp/x/blobs/sha256").join(&D[7..])
        );
    }
}
