//! Manifests, indexes, descriptors and platforms: the data the registry holds, and digests.
//!
//! Bytes fetched from a registry are kept as they came; these types are for reading them. Field
//! order in each struct is the order Go's `encoding/json` writes the matching OCI / Docker type,
//! so re-encoding one of them with [`crate::json::to_go_json`] gives the Go tool's bytes.

use crate::digest::Digest;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker schema 1 manifests (unsigned and signed): detected only to refuse them.
pub const DOCKER_SCHEMA1: [&str; 2] = [
    "application/vnd.docker.distribution.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
];

/// The `Accept` header for manifest requests: all four types we read, so the registry serves
/// what it stores instead of converting it.
pub const ACCEPT_MANIFESTS: &str = "application/vnd.oci.image.index.v1+json, \
application/vnd.docker.distribution.manifest.list.v2+json, \
application/vnd.oci.image.manifest.v1+json, \
application/vnd.docker.distribution.manifest.v2+json";

/// Largest manifest we accept (the distribution spec's minimum a registry must take).
pub const MAX_MANIFEST_BYTES: u64 = 4 * 1024 * 1024;

/// Largest image config we read (configs with long histories reach a few hundred KiB).
pub const MAX_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

/// Annotation that marks an index entry as a buildx attestation manifest.
pub const REFERENCE_TYPE_ANNOTATION: &str = "vnd.docker.reference.type";
/// Annotation naming the digest an attestation manifest is about.
pub const REFERENCE_DIGEST_ANNOTATION: &str = "vnd.docker.reference.digest";

/// True for the two list types (Docker manifest list, OCI index).
pub fn is_list(media_type: &str) -> bool {
    media_type == DOCKER_LIST || media_type == OCI_INDEX
}

/// True for the two single-image manifest types.
pub fn is_image(media_type: &str) -> bool {
    media_type == DOCKER_MANIFEST || media_type == OCI_MANIFEST
}

/// A pointer to content: media type, digest and size, and for index entries a platform.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    /// Checked against the digest grammar as it is read: a descriptor never names a digest
    /// that could not be put in a URL or a path.
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
}

impl Descriptor {
    /// The value of one annotation, if present.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }

    /// True when buildx marked this entry as an attestation manifest.
    pub fn is_attestation(&self) -> bool {
        self.annotation(REFERENCE_TYPE_ANNOTATION) == Some("attestation-manifest")
    }
}

/// The platform of an image: OS, CPU architecture and their refinements.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
    /// CPU features: a field of the Docker list only (the OCI index has none).
    #[serde(default, skip_serializing, skip_serializing_if = "Vec::is_empty")]
    pub features: Vec<String>,
}

impl std::fmt::Display for Platform {
    /// `os/arch[/variant]`, as users write platforms on the command line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

/// `os/arch[/variant][:os.version]`: a platform as messages and `inspect --format platforms`
/// name it.
pub fn platform_label(os: &str, arch: &str, variant: &str, os_version: &str) -> String {
    let mut label = format!("{os}/{arch}");
    for (separator, part) in [('/', variant), (':', os_version)] {
        if !part.is_empty() {
            label.push(separator);
            label.push_str(part);
        }
    }
    label
}

/// A single-image manifest (Docker v2.2 or OCI), in the field order of Go's `ocispec.Manifest`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    pub schema_version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    pub config: Descriptor,
    /// `None` when the manifest had no `layers` (Go then writes `null`).
    #[serde(default)]
    pub layers: Option<Vec<Descriptor>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Box<Descriptor>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl ImageManifest {
    /// The layers, empty when the manifest has none.
    pub fn layers(&self) -> &[Descriptor] {
        self.layers.as_deref().unwrap_or(&[])
    }
}

/// A manifest list or image index, in the field order of Go's `ocispec.Index`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Index {
    pub schema_version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Box<Descriptor>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// The parts of an image config that name its platform.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConfigPlatform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(rename = "os.version", default)]
    pub os_version: String,
    #[serde(rename = "os.features", default)]
    pub os_features: Vec<String>,
    #[serde(default)]
    pub variant: String,
}

/// A parsed manifest: one image, or a list of them.
#[derive(Debug, Clone)]
pub enum Manifest {
    Image(Box<ImageManifest>),
    Index(Index),
}

/// Parse manifest bytes of a known media type.
pub fn parse_manifest(media_type: &str, bytes: &[u8]) -> Result<Manifest> {
    let invalid = |e: serde_json::Error| Error::Invalid(format!("malformed {media_type}: {e}"));
    if is_list(media_type) {
        serde_json::from_slice(bytes)
            .map(Manifest::Index)
            .map_err(invalid)
    } else if is_image(media_type) {
        serde_json::from_slice(bytes)
            .map(|m| Manifest::Image(Box::new(m)))
            .map_err(invalid)
    } else {
        Err(unsupported_media_type(media_type))
    }
}

/// Parse the platform fields of an image config.
pub fn parse_config_platform(bytes: &[u8]) -> Result<ConfigPlatform> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::Invalid(format!("malformed image config: {e}")))
}

/// The error for a media type we do not handle, with a clear word for schema 1.
pub fn unsupported_media_type(media_type: &str) -> Error {
    if DOCKER_SCHEMA1.contains(&media_type) {
        Error::Unsupported(
            "Docker schema 1 manifests are not supported (deprecated since 2017); \
             re-push the image with a current client"
                .to_string(),
        )
    } else {
        Error::Unsupported(format!("unsupported manifest media type {media_type:?}"))
    }
}

/// Decide the media type of fetched manifest bytes from the `Content-Type` header and the body's
/// own `mediaType`; they must agree when both are present.
pub fn media_type_of(content_type: Option<&str>, bytes: &[u8]) -> Result<String> {
    #[derive(Deserialize)]
    struct Probe {
        #[serde(rename = "mediaType")]
        media_type: Option<String>,
        #[serde(rename = "schemaVersion")]
        schema_version: Option<i64>,
        manifests: Option<serde_json::Value>,
        config: Option<serde_json::Value>,
    }
    let header = content_type
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        // What a CDN or a web server says of a file it knows nothing about: the body decides
        // (Pulp's Crane serves manifests from a CDN, containers/image#58).
        .filter(|v| {
            !matches!(
                v.as_str(),
                "" | "application/json"
                    | "text/plain"
                    | "application/octet-stream"
                    | "binary/octet-stream"
            )
        });
    let probe: Probe = serde_json::from_slice(bytes)
        .map_err(|e| Error::Invalid(format!("manifest is not valid JSON: {e}")))?;
    if probe.schema_version == Some(1) {
        return Err(unsupported_media_type(DOCKER_SCHEMA1[0]));
    }
    match (header, probe.media_type) {
        (Some(h), Some(body)) if h != body => Err(Error::Invalid(format!(
            "registry sent Content-Type {h} for a manifest whose mediaType is {body}"
        ))),
        (Some(h), _) => Ok(h),
        (None, Some(body)) => Ok(body),
        // OCI content may omit mediaType: tell the two kinds apart by their fields.
        (None, None) if probe.manifests.is_some() => Ok(OCI_INDEX.to_string()),
        (None, None) if probe.config.is_some() => Ok(OCI_MANIFEST.to_string()),
        (None, None) => Err(Error::Invalid(
            "manifest has no media type and is neither an image nor an index".to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_are_read_as_an_index_or_an_image_by_media_type() {
        let index = br#"{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":7}]}"#;
        for media_type in [OCI_INDEX, DOCKER_LIST] {
            match parse_manifest(media_type, index) {
                Ok(Manifest::Index(index)) => {
                    let digests: Vec<&str> =
                        index.manifests.iter().map(|d| d.digest.as_str()).collect();
                    assert_eq!(
                        digests,
                        ["sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"],
                        "{media_type}"
                    );
                }
                other => panic!("{media_type} read as {other:?}"),
            }
        }
        let image = br#"{"schemaVersion":2,"config":{"mediaType":"c","digest":"sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","size":2},"layers":[{"mediaType":"l","digest":"sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd","size":3}]}"#;
        for media_type in [OCI_MANIFEST, DOCKER_MANIFEST] {
            match parse_manifest(media_type, image) {
                Ok(Manifest::Image(image)) => {
                    assert_eq!(
                        image.config.digest,
                        "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
                        "{media_type}"
                    );
                    let digests: Vec<&str> =
                        image.layers().iter().map(|d| d.digest.as_str()).collect();
                    assert_eq!(
                        digests,
                        ["sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd"],
                        "{media_type}"
                    );
                }
                other => panic!("{media_type} read as {other:?}"),
            }
        }
        let err = parse_manifest("text/html", image).unwrap_err();
        assert_eq!(
            err.to_string(),
            "unsupported manifest media type \"text/html\""
        );
    }

    #[test]
    fn size_limits_are_4_mib_for_manifests_and_8_mib_for_configs() {
        assert_eq!(MAX_MANIFEST_BYTES, 4_194_304);
        assert_eq!(MAX_CONFIG_BYTES, 8_388_608);
    }

    #[test]
    fn media_type_comes_from_header_or_body_and_must_agree() {
        let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#;
        assert_eq!(
            media_type_of(
                Some("application/vnd.oci.image.index.v1+json; charset=utf-8"),
                body
            )
            .unwrap(),
            OCI_INDEX
        );
        assert_eq!(media_type_of(None, body).unwrap(), OCI_INDEX);
        let err = media_type_of(Some(DOCKER_LIST), body)
            .unwrap_err()
            .to_string();
        assert!(err.contains("Content-Type"), "{err}");
    }

    #[test]
    fn oci_content_without_media_type_is_recognised_by_its_fields() {
        let index = br#"{"schemaVersion":2,"manifests":[]}"#;
        assert_eq!(
            media_type_of(Some("application/json"), index).unwrap(),
            OCI_INDEX
        );
        let image = br#"{"schemaVersion":2,"config":{"digest":"sha256:0000000000000000000000000000000000000000000000000000000000000000","size":1},"layers":[]}"#;
        assert_eq!(media_type_of(None, image).unwrap(), OCI_MANIFEST);
    }

    #[test]
    fn content_without_media_type_or_telling_fields_is_refused() {
        let err = media_type_of(None, br#"{"schemaVersion":2}"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            "manifest has no media type and is neither an image nor an index"
        );
    }

    #[test]
    fn schema1_is_refused_with_a_clear_message() {
        let body = br#"{"schemaVersion":1,"name":"a","tag":"b","fsLayers":[]}"#;
        let err = media_type_of(None, body).unwrap_err().to_string();
        assert!(err.contains("schema 1"), "{err}");
        let err = parse_manifest(DOCKER_SCHEMA1[1], body)
            .unwrap_err()
            .to_string();
        assert!(err.contains("schema 1"), "{err}");
    }

    #[test]
    fn attestation_entries_are_recognised_by_annotation() {
        let d: Descriptor = serde_json::from_str(
            r#"{"mediaType":"x","digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","size":1,
                "annotations":{"vnd.docker.reference.type":"attestation-manifest"}}"#,
        )
        .unwrap();
        assert!(d.is_attestation());
    }

    #[test]
    fn platform_displays_as_os_arch_variant() {
        let p = Platform {
            architecture: "arm".into(),
            os: "linux".into(),
            variant: "v7".into(),
            ..Platform::default()
        };
        assert_eq!(p.to_string(), "linux/arm/v7");
    }
}
