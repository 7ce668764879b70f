//! Image references such as `busybox`, `registry:5000/app:1.0` or `ghcr.io/o/r@sha256:…`.
//!
//! The grammar is the one of the distribution project's reference package, written out by hand:
//!
//! ```text
//! reference  := name [ ":" tag ] [ "@" digest ]
//! name       := [ registry "/" ] path
//! registry   := host [ ":" port ]        host: DNS name, IPv4 address, or "[" IPv6 "]"
//! path       := component ( "/" component )*
//! component  := [a-z0-9]+ ( separator [a-z0-9]+ )*     separator: "." | "_" | "__" | "-"+
//! tag        := [A-Za-z0-9_] [A-Za-z0-9_.-]{0,127}
//! digest     := "sha256:" 64 lowercase hex | "sha512:" 128 lowercase hex
//! ```
//!
//! Docker Hub normalisation follows docker: a first path part is a registry only when it contains
//! `.` or `:`, is `localhost`, or has an uppercase letter; otherwise the whole name lives on
//! `docker.io`, where a single-component name gets the `library/` prefix. `index.docker.io` is
//! another name for `docker.io`. Neither a tag nor a digest is ever made up (no default `latest`).

use crate::digest::Digest;
use std::fmt;
use std::net::Ipv6Addr;

/// The registry name that Docker Hub references normalise to.
pub const DOCKER_HUB: &str = "docker.io";

/// The host that serves Docker Hub's registry API.
pub const DOCKER_HUB_API_HOST: &str = "registry-1.docker.io";

/// Docker Hub's legacy name, normalised to [`DOCKER_HUB`] when parsing.
const DOCKER_HUB_LEGACY: &str = "index.docker.io";

/// The namespace of Docker Hub's official images (`busybox` is `library/busybox`).
const OFFICIAL_NAMESPACE: &str = "library/";

/// Longest `registry/repository` the grammar allows, in bytes.
const NAME_MAX: usize = 255;

/// Longest tag the grammar allows, in bytes.
const TAG_MAX: usize = 128;

/// Whether `host` is one of Docker Hub's names: `docker.io`, `index.docker.io` or
/// `registry-1.docker.io` (compared without regard to case).
pub fn is_docker_hub(host: &str) -> bool {
    [DOCKER_HUB, DOCKER_HUB_LEGACY, DOCKER_HUB_API_HOST]
        .iter()
        .any(|name| host.eq_ignore_ascii_case(name))
}

/// A parsed, normalised image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// The registry as typed (case kept), with its port if any; `docker.io` for Docker Hub.
    pub registry: String,
    /// The repository path, e.g. `library/busybox`.
    pub repository: String,
    /// The tag after `:`, when one was given.
    pub tag: Option<String>,
    /// The digest after `@` (`sha256:…` or `sha512:…`), when one was given.
    pub digest: Option<Digest>,
}

/// What goes in `/v2/<repository>/manifests/<here>`: a tag or a digest. A digest names exact
/// content, which is checked when fetched; a tag names whatever the registry holds under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ManifestRef {
    /// A tag, such as `1.0`.
    Tag(String),
    /// A digest, such as `sha256:…`.
    Digest(Digest),
}

impl fmt::Display for ManifestRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ManifestRef::Tag(tag) => f.write_str(tag),
            ManifestRef::Digest(digest) => digest.fmt(f),
        }
    }
}

/// Why a string is not a valid image reference. Every variant but `Empty` carries the input as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReferenceError {
    /// The input is the empty string.
    Empty,
    /// The input is a 64-character hex string: an image ID, not a name.
    ImageId {
        /// The input as typed.
        input: String,
    },
    /// The registry part (before the first `/`) is not a valid host name, IP address or port.
    InvalidRegistry {
        /// The input as typed.
        input: String,
        /// The registry part as typed.
        registry: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The repository path contains uppercase letters; registries only accept lowercase names.
    UppercaseRepository {
        /// The input as typed.
        input: String,
        /// The repository path as typed.
        repository: String,
    },
    /// The repository path is missing, has an empty component, or a character or separator the
    /// grammar does not allow.
    InvalidRepository {
        /// The input as typed.
        input: String,
        /// What is wrong with the repository path.
        problem: String,
    },
    /// The normalised `registry/repository` is longer than 255 characters.
    NameTooLong {
        /// The input as typed.
        input: String,
        /// The length of the normalised name.
        length: usize,
    },
    /// The tag after `:` is empty, longer than 128 characters, or has a character tags cannot have.
    InvalidTag {
        /// The input as typed.
        input: String,
        /// What is wrong with the tag.
        problem: String,
    },
    /// The digest after `@` is not `sha256:<64 hex>` or `sha512:<128 hex>`.
    InvalidDigest {
        /// The input as typed.
        input: String,
        /// What is wrong with the digest.
        problem: String,
    },
}

impl fmt::Display for ReferenceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReferenceError::Empty => write!(f, "invalid image reference: it is empty"),
            ReferenceError::ImageId { input } => write!(
                f,
                "invalid image reference {input:?}: a 64-character hex string is an image ID, \
                 not a repository name"
            ),
            ReferenceError::InvalidRegistry {
                input,
                registry,
                problem,
            } => write!(
                f,
                "invalid image reference {input:?}: registry {registry:?} {problem}"
            ),
            ReferenceError::UppercaseRepository { input, repository } => write!(
                f,
                "invalid image reference {input:?}: repository name must be lowercase \
                 (got {repository:?})"
            ),
            ReferenceError::InvalidRepository { input, problem }
            | ReferenceError::InvalidTag { input, problem }
            | ReferenceError::InvalidDigest { input, problem } => {
                write!(f, "invalid image reference {input:?}: {problem}")
            }
            ReferenceError::NameTooLong { input, length } => write!(
                f,
                "invalid image reference {input:?}: the name is {length} characters long \
                 (with registry); at most {NAME_MAX} are allowed"
            ),
        }
    }
}

impl std::error::Error for ReferenceError {}

impl Reference {
    /// Parses and normalises an image reference as a user types it (`busybox`, `host:5000/a/b:t`,
    /// `[::1]:5000/a@sha256:…`). Neither tag nor digest is required, and none is made up.
    pub fn parse(input: &str) -> Result<Reference, ReferenceError> {
        if input.is_empty() {
            return Err(ReferenceError::Empty);
        }
        if input.len() == 64
            && input
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(ReferenceError::ImageId {
                input: input.to_string(),
            });
        }

        let (name_and_tag, digest) = match input.split_once('@') {
            Some((before, after)) => (before, Some(after)),
            None => (input, None),
        };
        // A ':' after the last '/' starts the tag; one before it belongs to a registry port.
        let last_slash = name_and_tag.rfind('/');
        let (name, tag) = match name_and_tag.rfind(':') {
            Some(colon) if last_slash.is_none_or(|slash| colon > slash) => {
                (&name_and_tag[..colon], Some(&name_and_tag[colon + 1..]))
            }
            _ => (name_and_tag, None),
        };

        let (registry, path) = split_registry(name);
        if let Some(registry) = registry {
            check_registry(registry).map_err(|problem| ReferenceError::InvalidRegistry {
                input: input.to_string(),
                registry: registry.to_string(),
                problem,
            })?;
        }
        if path.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(ReferenceError::UppercaseRepository {
                input: input.to_string(),
                repository: path.to_string(),
            });
        }
        check_repository(registry, path).map_err(|problem| ReferenceError::InvalidRepository {
            input: input.to_string(),
            problem,
        })?;

        let registry = match registry {
            None => DOCKER_HUB,
            Some(r)
                if r.eq_ignore_ascii_case(DOCKER_HUB)
                    || r.eq_ignore_ascii_case(DOCKER_HUB_LEGACY) =>
            {
                DOCKER_HUB
            }
            Some(r) => r,
        };
        let repository = if registry == DOCKER_HUB && !path.contains('/') {
            format!("{OFFICIAL_NAMESPACE}{path}")
        } else {
            path.to_string()
        };
        let length = registry.len() + 1 + repository.len();
        if length > NAME_MAX {
            return Err(ReferenceError::NameTooLong {
                input: input.to_string(),
                length,
            });
        }

        if let Some(tag) = tag {
            check_tag(tag).map_err(|problem| ReferenceError::InvalidTag {
                input: input.to_string(),
                problem,
            })?;
        }
        let digest = digest
            .map(|digest| {
                Digest::parse(digest).map_err(|problem| ReferenceError::InvalidDigest {
                    input: input.to_string(),
                    problem: if digest.is_empty() {
                        "the digest after '@' is empty".to_string()
                    } else {
                        problem
                    },
                })
            })
            .transpose()?;

        Ok(Reference {
            registry: registry.to_string(),
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The host to talk HTTP to: `registry-1.docker.io` for `docker.io`, else the registry as is
    /// (with its port, e.g. `[::1]:5000`).
    pub fn api_host(&self) -> &str {
        if self.registry == DOCKER_HUB {
            DOCKER_HUB_API_HOST
        } else {
            &self.registry
        }
    }

    /// What to fetch: the digest when there is one, else the tag; `None` when the reference has
    /// neither.
    pub fn manifest_ref(&self) -> Option<ManifestRef> {
        manifest_ref(self.tag.as_deref(), self.digest.as_ref())
    }

    /// The same repository with `tag` and no digest (a digest would win in
    /// [`Reference::manifest_ref`] and hide the tag). The tag is not validated.
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            tag: Some(tag.to_string()),
            digest: None,
            ..self.clone()
        }
    }
}

impl fmt::Display for Reference {
    /// The normalised full form `registry/repository[:tag][@digest]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Splits a name into its registry part (if the first component is one, by docker's rule) and
/// the repository path. A first component starting with `[` is taken as a registry too: it can
/// only be a (malformed) IPv6 address, and saying so beats "'[' is not allowed in a repository".
fn split_registry(name: &str) -> (Option<&str>, &str) {
    match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first.starts_with('[')
                || first == "localhost"
                || first.bytes().any(|b| b.is_ascii_uppercase()) =>
        {
            (Some(first), rest)
        }
        _ => (None, name),
    }
}

/// Checks `host[:port]`, where host is a DNS name, an IPv4 address, or a bracketed IPv6 address.
/// The error completes the sentence "registry "…" …".
fn check_registry(registry: &str) -> Result<(), String> {
    let port = if let Some(bracketed) = registry.strip_prefix('[') {
        let Some((address, after)) = bracketed.split_once(']') else {
            return Err("has '[' without a closing ']'".to_string());
        };
        if address.parse::<Ipv6Addr>().is_err() {
            return Err(format!("has [{address}], which is not an IPv6 address"));
        }
        match after.strip_prefix(':') {
            Some(port) => Some(port),
            None if after.is_empty() => None,
            None => return Err("must have only ':<port>' after the ']'".to_string()),
        }
    } else {
        let (host, port) = match registry.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (registry, None),
        };
        check_host(host)?;
        port
    };
    match port {
        None => Ok(()),
        Some(port) if port.contains(':') => Err(
            "has more than one ':' (write an IPv6 address in brackets, like [::1]:5000)"
                .to_string(),
        ),
        Some(port) if port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) => {
            Err(format!("has port {port:?}, which is not a number"))
        }
        Some(port) if port.parse::<u16>().is_err() => {
            Err(format!("has port {port}, which is above 65535"))
        }
        Some(_) => Ok(()),
    }
}

/// Checks a DNS name or IPv4 address: dot-separated labels of letters, digits and inner dashes.
fn check_host(host: &str) -> Result<(), String> {
    if host.is_empty() {
        return Err("has no host name".to_string());
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err("has an empty part between dots".to_string());
        }
        if let Some(c) = label
            .chars()
            .find(|c| !c.is_ascii_alphanumeric() && *c != '-')
        {
            return Err(format!(
                "contains {c:?}; host names may only contain letters, digits, '-' and '.'"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(format!(
                "has the part {label:?}, which starts or ends with '-'"
            ));
        }
    }
    Ok(())
}

/// Checks a lowercase repository path (uppercase letters are reported before this runs).
fn check_repository(registry: Option<&str>, path: &str) -> Result<(), String> {
    if path.is_empty() {
        return Err(match registry {
            Some(registry) => format!("no repository name after the registry {registry:?}"),
            None => "no repository name".to_string(),
        });
    }
    for component in path.split('/') {
        if component.is_empty() {
            return Err(format!(
                "repository {path:?} has an empty path component (a leading, trailing or double '/')"
            ));
        }
        check_path_component(path, component)?;
    }
    Ok(())
}

/// Checks one path component: runs of `[a-z0-9]` joined by `.`, `_`, `__` or dashes.
fn check_path_component(path: &str, component: &str) -> Result<(), String> {
    if let Some(c) = component
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-'))
    {
        return Err(format!(
            "repository {path:?} contains {c:?}; only lowercase letters, digits and the \
             separators '.', '_', '__' and '-' are allowed"
        ));
    }
    let is_separator = |c: char| matches!(c, '.' | '_' | '-');
    if component.starts_with(is_separator) || component.ends_with(is_separator) {
        return Err(format!(
            "repository {path:?} has the part {component:?}, which must start and end with a \
             letter or digit"
        ));
    }
    for separator in component.split(|c: char| c.is_ascii_alphanumeric()) {
        let allowed = separator.is_empty()
            || separator == "."
            || separator == "_"
            || separator == "__"
            || separator.bytes().all(|b| b == b'-');
        if !allowed {
            return Err(format!(
                "repository {path:?} has the separator {separator:?}; allowed are '.', '_', '__' \
                 or dashes"
            ));
        }
    }
    Ok(())
}

/// Checks a tag: a word character, then up to 127 word characters, dots or dashes.
fn check_tag(tag: &str) -> Result<(), String> {
    let is_word = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let Some(first) = tag.chars().next() else {
        return Err("the tag after ':' is empty".to_string());
    };
    if tag.len() > TAG_MAX {
        return Err(format!(
            "the tag is {} characters long; at most {TAG_MAX} are allowed",
            tag.len()
        ));
    }
    if !is_word(first) {
        return Err(format!(
            "tag {tag:?} must start with a letter, a digit or '_'"
        ));
    }
    if let Some(c) = tag.chars().find(|&c| !is_word(c) && c != '.' && c != '-') {
        return Err(format!(
            "tag {tag:?} contains {c:?}; tags may only contain letters, digits, '_', '.' and '-'"
        ));
    }
    Ok(())
}

/// The digest when there is one, else the tag.
fn manifest_ref(tag: Option<&str>, digest: Option<&Digest>) -> Option<ManifestRef> {
    match (digest, tag) {
        (Some(digest), _) => Some(ManifestRef::Digest(digest.clone())),
        (None, Some(tag)) => Some(ManifestRef::Tag(tag.to_string())),
        (None, None) => None,
    }
}

/// An image named by the user: in a registry, or in an OCI image layout directory
/// (`oci-layout://PATH[:TAG][@DIGEST]`). Accepted wherever a reference is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageRef {
    Registry(Reference),
    Layout(crate::layout::LayoutRef),
}

impl ImageRef {
    /// Parse either form: `oci-layout://…` is a layout, anything else a registry reference.
    pub fn parse(input: &str) -> crate::error::Result<ImageRef> {
        if input.starts_with(crate::layout::SCHEME) {
            crate::layout::LayoutRef::parse(input).map(ImageRef::Layout)
        } else {
            Reference::parse(input)
                .map(ImageRef::Registry)
                .map_err(|e| crate::error::Error::Input(e.to_string()))
        }
    }

    /// The tag, if any.
    pub fn tag(&self) -> Option<&str> {
        match self {
            ImageRef::Registry(r) => r.tag.as_deref(),
            ImageRef::Layout(l) => l.tag.as_deref(),
        }
    }

    /// The digest, if any.
    pub fn digest(&self) -> Option<&Digest> {
        match self {
            ImageRef::Registry(r) => r.digest.as_ref(),
            ImageRef::Layout(l) => l.digest.as_ref(),
        }
    }

    /// The digest when there is one, else the tag: what to fetch.
    pub fn manifest_ref(&self) -> Option<ManifestRef> {
        manifest_ref(self.tag(), self.digest())
    }

    /// The same image with `tag` and no digest.
    pub fn with_tag(&self, tag: &str) -> ImageRef {
        match self {
            ImageRef::Registry(r) => ImageRef::Registry(r.with_tag(tag)),
            ImageRef::Layout(l) => ImageRef::Layout(crate::layout::LayoutRef {
                tag: Some(tag.to_string()),
                digest: None,
                ..l.clone()
            }),
        }
    }

    /// The registry (as written in references) for a registry image.
    pub fn registry(&self) -> Option<&str> {
        match self {
            ImageRef::Registry(r) => Some(&r.registry),
            ImageRef::Layout(_) => None,
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageRef::Registry(r) => r.fmt(f),
            ImageRef::Layout(l) => l.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA256: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn sha512() -> String {
        format!("sha512:{}", "ab".repeat(64))
    }

    /// The reference expected from parsing: `tag` and `digest` are empty for none.
    fn expected(registry: &str, repository: &str, tag: &str, digest: &str) -> Reference {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
        Reference {
            registry: registry.to_string(),
            repository: repository.to_string(),
            tag: some(tag),
            digest: some(digest).map(|d| Digest::parse(&d).unwrap()),
        }
    }

    fn error(input: &str) -> String {
        match Reference::parse(input) {
            Ok(r) => panic!("{input:?} was accepted as {r:?}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn accepted_references_are_normalised() {
        let sha512 = sha512();
        let cases: Vec<(String, Reference)> = vec![
            (
                "busybox".into(),
                expected("docker.io", "library/busybox", "", ""),
            ),
            (
                "busybox:1.36".into(),
                expected("docker.io", "library/busybox", "1.36", ""),
            ),
            (
                "library/busybox".into(),
                expected("docker.io", "library/busybox", "", ""),
            ),
            (
                "docker.io/busybox".into(),
                expected("docker.io", "library/busybox", "", ""),
            ),
            (
                "docker.io/library/busybox:latest".into(),
                expected("docker.io", "library/busybox", "latest", ""),
            ),
            (
                "index.docker.io/x/y".into(),
                expected("docker.io", "x/y", "", ""),
            ),
            (
                "index.docker.io/busybox".into(),
                expected("docker.io", "library/busybox", "", ""),
            ),
            (
                "Docker.IO/busybox".into(),
                expected("docker.io", "library/busybox", "", ""),
            ),
            (
                "user/repo:tag".into(),
                expected("docker.io", "user/repo", "tag", ""),
            ),
            (
                "user/repo/deeper".into(),
                expected("docker.io", "user/repo/deeper", "", ""),
            ),
            (
                "registry-1.docker.io/library/busybox".into(),
                expected("registry-1.docker.io", "library/busybox", "", ""),
            ),
            (
                "localhost/repo".into(),
                expected("localhost", "repo", "", ""),
            ),
            (
                "localhost:5000/repo".into(),
                expected("localhost:5000", "repo", "", ""),
            ),
            (
                "localhost".into(),
                expected("docker.io", "library/localhost", "", ""),
            ),
            (
                "localhost:5000".into(),
                expected("docker.io", "library/localhost", "5000", ""),
            ),
            (
                "127.0.0.1:5000/a/b:t".into(),
                expected("127.0.0.1:5000", "a/b", "t", ""),
            ),
            (
                "[::1]:5000/a:t".into(),
                expected("[::1]:5000", "a", "t", ""),
            ),
            ("[fe80::1]/x".into(), expected("[fe80::1]", "x", "", "")),
            (
                "[::1]/a@".to_string() + SHA256,
                expected("[::1]", "a", "", SHA256),
            ),
            (
                format!("host.example.com/a/b/c@{SHA256}"),
                expected("host.example.com", "a/b/c", "", SHA256),
            ),
            (
                format!("host.example.com:443/a:1.0@{SHA256}"),
                expected("host.example.com:443", "a", "1.0", SHA256),
            ),
            (
                format!("busybox@{sha512}"),
                expected("docker.io", "library/busybox", "", sha512.as_str()),
            ),
            (
                "Registry.Example.COM/a".into(),
                expected("Registry.Example.COM", "a", "", ""),
            ),
            ("MyHost/repo".into(), expected("MyHost", "repo", "", "")),
            (
                "my-host.example/a".into(),
                expected("my-host.example", "a", "", ""),
            ),
            (
                "a.b/c.d_e__f-g---h".into(),
                expected("a.b", "c.d_e__f-g---h", "", ""),
            ),
            (
                "x:_tag".into(),
                expected("docker.io", "library/x", "_tag", ""),
            ),
            (
                "x:V1.2-rc_3".into(),
                expected("docker.io", "library/x", "V1.2-rc_3", ""),
            ),
            (
                "ghcr.io:65535/o/r".into(),
                expected("ghcr.io:65535", "o/r", "", ""),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(Reference::parse(&input), Ok(expected), "{input:?}");
        }
    }

    #[test]
    fn a_128_character_tag_is_accepted() {
        let tag = "t".repeat(128);
        assert_eq!(
            Reference::parse(&format!("x:{tag}")),
            Ok(expected("docker.io", "library/x", &tag, ""))
        );
    }

    #[test]
    fn rejected_references_say_what_is_wrong() {
        let long_repo = "a".repeat(240);
        // What the user typed, and a part of the error it must get.
        let written = [
            ("", "invalid image reference: it is empty"),
            (
                "Busybox",
                "repository name must be lowercase (got \"Busybox\")",
            ),
            (
                "docker.io/Library/busybox",
                "repository name must be lowercase",
            ),
            (
                "localhost:5000/Repo:t",
                "repository name must be lowercase (got \"Repo\")",
            ),
            ("ref:", "the tag after ':' is empty"),
            ("localhost:5000/repo:", "the tag after ':' is empty"),
            ("repo/", "empty path component"),
            ("a//b", "empty path component"),
            ("localhost:5000//b", "empty path component"),
            ("/busybox", "empty path component"),
            (
                "localhost:5000/",
                "no repository name after the registry \"localhost:5000\"",
            ),
            (":t", "no repository name"),
            ("a:b:c", "repository \"a:b\" contains ':'"),
            (
                "x:-t",
                "tag \"-t\" must start with a letter, a digit or '_'",
            ),
            ("x:a+b", "tag \"a+b\" contains '+'"),
            ("x@", "the digest after '@' is empty"),
            ("x@sha256", "must be written algorithm:hex"),
            ("x@:abc", "must be written algorithm:hex"),
            (
                "x@md5:d41d8cd98f00b204e9800998ecf8427e",
                "uses the algorithm \"md5\"; only sha256 and sha512",
            ),
            (
                "x@sha256:abc",
                "has 3 hex digits after \"sha256:\"; sha256 needs 64",
            ),
            ("a b", "repository \"a b\" contains ' '"),
            ("a/b c", "contains ' '"),
            ("caf\u{e9}", "contains '\u{e9}'"),
            ("a..b/c", "has an empty part between dots"),
            (".a/b", "has an empty part between dots"),
            ("-a.com/b", "starts or ends with '-'"),
            ("ho_st.com/b", "contains '_'; host names may only contain"),
            ("host.com:/b", "has port \"\", which is not a number"),
            ("host.com:abc/b", "has port \"abc\", which is not a number"),
            ("host.com:99999/b", "has port 99999, which is above 65535"),
            ("fe80::1/x", "has more than one ':'"),
            ("[fe80::1/x", "has '[' without a closing ']'"),
            ("[zz]/x", "has [zz], which is not an IPv6 address"),
            ("[::1]x/y", "must have only ':<port>' after the ']'"),
            ("[::1]:/y", "which is not a number"),
            ("a/-b", "must start and end with a letter or digit"),
            ("a/b-", "must start and end with a letter or digit"),
            ("a/b..c", "has the separator \"..\""),
            ("a/b___c", "has the separator \"___\""),
            ("a/b.-c", "has the separator \".-\""),
            ("a/b_-c", "has the separator \"_-\""),
            (
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
                "is an image ID",
            ),
        ];
        let built = [
            (format!("@{SHA256}"), "no repository name"),
            (
                format!("x:{}", "t".repeat(129)),
                "the tag is 129 characters long; at most 128",
            ),
            (format!("x@sha512:{}", "a".repeat(64)), "sha512 needs 128"),
            (
                format!("x@sha256:{}", "A".repeat(64)),
                "must be written in lowercase hex",
            ),
            (format!("x@sha256:{}", "g".repeat(64)), "not hex digits"),
            (format!("x@{SHA256}@{SHA256}"), "not hex digits"),
            (
                format!("example.com/{long_repo}/{long_repo}"),
                "characters long (with registry); at most 255",
            ),
        ];
        let written = written.map(|(input, fragment)| (input.to_string(), fragment));
        for (input, fragment) in written.into_iter().chain(built) {
            let message = error(&input);
            assert!(
                message.contains(fragment),
                "error for {input:?} is {message:?}, expected it to contain {fragment:?}"
            );
            if !input.is_empty() {
                assert!(
                    message.starts_with(&format!("invalid image reference {input:?}: ")),
                    "error for {input:?} does not name the input: {message:?}"
                );
            }
        }
    }

    #[test]
    fn name_length_counts_the_normalised_name() {
        // "docker.io/library/" is 18 characters: 237 + 18 = 255 is the longest allowed.
        assert!(Reference::parse(&"a".repeat(237)).is_ok());
        let too_long = "a".repeat(238);
        assert_eq!(
            Reference::parse(&too_long),
            Err(ReferenceError::NameTooLong {
                input: too_long.clone(),
                length: 256
            })
        );
    }

    #[test]
    fn the_first_problem_from_left_to_right_is_reported() {
        assert!(error("Repo:-t").contains("lowercase"));
        assert!(error("repo:-t@md5:00").contains("tag"));
    }

    #[test]
    fn display_is_the_normalised_full_form() {
        let cases = [
            ("busybox", "docker.io/library/busybox"),
            ("busybox:1", "docker.io/library/busybox:1"),
            ("index.docker.io/x/y:t", "docker.io/x/y:t"),
            ("[::1]:5000/a", "[::1]:5000/a"),
        ];
        for (input, shown) in cases {
            assert_eq!(
                Reference::parse(input).map(|r| r.to_string()),
                Ok(shown.to_string())
            );
        }
        let both = format!("localhost:5000/a/b:t@{SHA256}");
        assert_eq!(Reference::parse(&both).map(|r| r.to_string()), Ok(both));
    }

    #[test]
    fn api_host_maps_docker_hub_to_its_api_host() {
        let host = |input: &str| Reference::parse(input).map(|r| r.api_host().to_string());
        assert_eq!(host("busybox"), Ok("registry-1.docker.io".to_string()));
        assert_eq!(
            host("index.docker.io/a/b"),
            Ok("registry-1.docker.io".to_string())
        );
        assert_eq!(host("localhost:5000/a"), Ok("localhost:5000".to_string()));
        assert_eq!(host("[::1]:5000/a"), Ok("[::1]:5000".to_string()));
        assert_eq!(host("Ghcr.IO/a/b"), Ok("Ghcr.IO".to_string()));
    }

    #[test]
    fn manifest_ref_prefers_the_digest() {
        let r =
            |input: &str| Reference::parse(input).map(|r| r.manifest_ref().map(|m| m.to_string()));
        assert_eq!(r("a"), Ok(None));
        assert_eq!(r("a:t"), Ok(Some("t".to_string())));
        assert_eq!(r(&format!("a@{SHA256}")), Ok(Some(SHA256.to_string())));
        assert_eq!(r(&format!("a:t@{SHA256}")), Ok(Some(SHA256.to_string())));
    }

    #[test]
    fn with_tag_drops_the_digest() {
        let Ok(base) = Reference::parse(&format!("registry:5000/app:1.0@{SHA256}")) else {
            panic!("base reference rejected");
        };
        let tagged = base.with_tag("latest");
        assert_eq!(tagged.to_string(), "registry:5000/app:latest");
        assert_eq!(
            tagged.manifest_ref(),
            Some(ManifestRef::Tag("latest".to_string()))
        );
    }

    #[test]
    fn image_refs_answer_for_registry_and_layout_images() {
        let Ok(registry) = ImageRef::parse(&format!("registry:5000/app:1.0@{SHA256}")) else {
            panic!("registry reference rejected");
        };
        assert_eq!(registry.registry(), Some("registry:5000"));
        assert_eq!(registry.tag(), Some("1.0"));
        assert_eq!(registry.digest().map(Digest::as_str), Some(SHA256));
        assert_eq!(
            registry.manifest_ref(),
            Some(ManifestRef::Digest(Digest::parse(SHA256).unwrap()))
        );
        let tagged = registry.with_tag("latest");
        assert_eq!(tagged.to_string(), "registry:5000/app:latest");
        assert_eq!(
            tagged.manifest_ref(),
            Some(ManifestRef::Tag("latest".to_string()))
        );

        let Ok(layout) = ImageRef::parse("oci-layout://out:v1") else {
            panic!("layout reference rejected");
        };
        assert_eq!(layout.registry(), None);
        assert_eq!(layout.tag(), Some("v1"));
        assert_eq!(layout.digest(), None);
        assert_eq!(
            layout.manifest_ref(),
            Some(ManifestRef::Tag("v1".to_string()))
        );
        assert_eq!(layout.with_tag("v2").to_string(), "oci-layout://out:v2");

        let Ok(bare) = ImageRef::parse("app") else {
            panic!("bare reference rejected");
        };
        assert_eq!(bare.to_string(), "docker.io/library/app");
        assert_eq!(bare.manifest_ref(), None);
    }

    #[test]
    fn docker_hub_names_are_recognised_in_any_case() {
        for host in [
            "docker.io",
            "index.docker.io",
            "registry-1.docker.io",
            "Docker.IO",
        ] {
            assert!(is_docker_hub(host), "{host}");
        }
        for host in ["ghcr.io", "docker.io:443", "hub.docker.com", "localhost"] {
            assert!(!is_docker_hub(host), "{host}");
        }
    }
}
