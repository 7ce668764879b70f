//! Assemble the manifest list or OCI index we push, byte for byte as the Go tool writes it.
//!
//! Go's `json.MarshalIndent(list, "", "  ")`: two-space indent, no trailing newline, Go's string
//! escaping, and each struct's field order (below). The same input therefore gives the same
//! digest with either tool.

use crate::digest::Digest;
use crate::json::to_go_json;
use crate::manifest::{DOCKER_LIST, DOCKER_MANIFEST, Descriptor, OCI_INDEX, Platform};
use serde::Serialize;
use std::collections::BTreeMap;

/// The kind of list `push` writes (`--type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// Docker manifest list v2.2 (the default for a registry target whose entries are all
    /// Docker images, as in the Go tool).
    Docker,
    /// OCI image index (the default otherwise).
    Oci,
}

/// The assembled list: its media type and exact bytes.
#[derive(Debug, Clone)]
pub struct AssembledList {
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
}

/// The list type for `entries` when `--type` is not given: a Docker manifest list when every
/// entry is a Docker image manifest (the Go tool's bytes), else an OCI index, since Quay and
/// zot refuse other entries in a Docker list.
pub fn type_for(entries: &[Descriptor]) -> ListType {
    if entries.iter().all(|d| d.media_type == DOCKER_MANIFEST) {
        ListType::Docker
    } else {
        ListType::Oci
    }
}

/// Build the list of `list_type` from its entries (in order) and index annotations.
pub fn assemble(
    list_type: ListType,
    entries: &[Descriptor],
    annotations: &BTreeMap<String, String>,
) -> AssembledList {
    match list_type {
        ListType::Docker => {
            let list = DockerList {
                schema_version: 2,
                media_type: DOCKER_LIST,
                manifests: entries.iter().map(DockerEntry::from).collect(),
            };
            AssembledList {
                media_type: DOCKER_LIST,
                bytes: to_go_json(&list, "  "),
            }
        }
        ListType::Oci => {
            let index = OciIndex {
                schema_version: 2,
                media_type: OCI_INDEX,
                manifests: entries,
                annotations: (!annotations.is_empty()).then_some(annotations),
            };
            AssembledList {
                media_type: OCI_INDEX,
                bytes: to_go_json(&index, "  "),
            }
        }
    }
}

/// Docker's `manifestlist.ManifestList`.
#[derive(Serialize)]
struct DockerList<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    manifests: Vec<DockerEntry<'a>>,
}

/// Docker's `manifestlist.ManifestDescriptor`: no `urls` (the Go tool does not copy them).
#[derive(Serialize)]
struct DockerEntry<'a> {
    #[serde(rename = "mediaType")]
    media_type: &'a str,
    size: u64,
    digest: &'a Digest,
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<&'a BTreeMap<String, String>>,
    platform: DockerPlatform<'a>,
}

/// Docker's `manifestlist.PlatformSpec`, which has CPU `features`.
#[derive(Serialize)]
struct DockerPlatform<'a> {
    architecture: &'a str,
    os: &'a str,
    #[serde(rename = "os.version", skip_serializing_if = "str::is_empty")]
    os_version: &'a str,
    #[serde(rename = "os.features", skip_serializing_if = "<[String]>::is_empty")]
    os_features: &'a [String],
    #[serde(skip_serializing_if = "str::is_empty")]
    variant: &'a str,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    features: &'a [String],
}

impl<'a> From<&'a Descriptor> for DockerEntry<'a> {
    fn from(d: &'a Descriptor) -> Self {
        static NO_PLATFORM: Platform = Platform {
            architecture: String::new(),
            os: String::new(),
            os_version: String::new(),
            os_features: Vec::new(),
            variant: String::new(),
            features: Vec::new(),
        };
        let p = d.platform.as_ref().unwrap_or(&NO_PLATFORM);
        DockerEntry {
            media_type: &d.media_type,
            size: d.size,
            digest: &d.digest,
            annotations: d.annotations.as_ref().filter(|a| !a.is_empty()),
            platform: DockerPlatform {
                architecture: &p.architecture,
                os: &p.os,
                os_version: &p.os_version,
                os_features: &p.os_features,
                variant: &p.variant,
                features: &p.features,
            },
        }
    }
}

/// The OCI `Index`; entries are OCI descriptors (their serde order is Go's).
#[derive(Serialize)]
struct OciIndex<'a> {
    #[serde(rename = "schemaVersion")]
    schema_version: u32,
    #[serde(rename = "mediaType")]
    media_type: &'static str,
    manifests: &'a [Descriptor],
    #[serde(skip_serializing_if = "Option::is_none")]
    annotations: Option<&'a BTreeMap<String, String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::OCI_MANIFEST;

    fn entry(media_type: &str, digest: &str, size: u64, platform: Platform) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest: Digest::parse(digest).unwrap(),
            size,
            urls: None,
            annotations: None,
            data: None,
            platform: Some(platform),
            artifact_type: None,
        }
    }

    /// linux/arm/v7 with a CPU feature, which only a Docker list writes.
    fn arm_with_features() -> Platform {
        Platform {
            features: vec!["sse".into()],
            ..crate::platform::parse("linux/arm/v7").unwrap()
        }
    }

    #[test]
    fn without_type_only_docker_images_make_a_docker_list() {
        let digest = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
        let docker = entry(DOCKER_MANIFEST, digest, 1, arm_with_features());
        let oci = entry(OCI_MANIFEST, digest, 1, arm_with_features());
        assert_eq!(
            type_for(&[docker.clone(), docker.clone()]),
            ListType::Docker
        );
        assert_eq!(type_for(&[docker, oci.clone()]), ListType::Oci);
        assert_eq!(type_for(&[oci]), ListType::Oci);
    }

    // Expected bytes are written by hand from the Go tool's rules (field order, two-space
    // indent, no trailing newline), not produced by our serializer. An entry's annotations are
    // kept, between its digest and platform; empty ones are left out.
    #[test]
    fn docker_list_bytes_match_the_go_layout() {
        let mut windows = entry(
            DOCKER_MANIFEST,
            "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            525,
            Platform {
                architecture: "amd64".into(),
                os: "windows".into(),
                os_version: "10.0.17763.2565".into(),
                os_features: vec!["win32k".into()],
                ..Platform::default()
            },
        );
        windows.annotations = Some(BTreeMap::from([(
            "org.example.note".to_string(),
            "kept".to_string(),
        )]));
        let mut arm = entry(
            DOCKER_MANIFEST,
            "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
            428,
            arm_with_features(),
        );
        arm.annotations = Some(BTreeMap::new());
        let list = assemble(ListType::Docker, &[windows, arm], &BTreeMap::new());
        let expected = r#"{
  "schemaVersion": 2,
  "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
  "manifests": [
    {
      "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
      "size": 525,
      "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "annotations": {
        "org.example.note": "kept"
      },
      "platform": {
        "architecture": "amd64",
        "os": "windows",
        "os.version": "10.0.17763.2565",
        "os.features": [
          "win32k"
        ]
      }
    },
    {
      "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
      "size": 428,
      "digest": "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
      "platform": {
        "architecture": "arm",
        "os": "linux",
        "variant": "v7",
        "features": [
          "sse"
        ]
      }
    }
  ]
}"#;
        assert_eq!(list.media_type, DOCKER_LIST);
        assert_eq!(String::from_utf8(list.bytes).unwrap(), expected);
    }

    #[test]
    fn oci_index_bytes_match_the_go_layout() {
        let mut attestation = entry(
            OCI_MANIFEST,
            "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
            840,
            Platform {
                architecture: "unknown".into(),
                os: "unknown".into(),
                ..Platform::default()
            },
        );
        attestation.annotations = Some(BTreeMap::from([
            (
                "vnd.docker.reference.digest".to_string(),
                "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                    .to_string(),
            ),
            (
                "vnd.docker.reference.type".to_string(),
                "attestation-manifest".to_string(),
            ),
        ]));
        let annotations = BTreeMap::from([("org.example.note".to_string(), "a<b".to_string())]);
        let list = assemble(
            ListType::Oci,
            &[
                entry(
                    OCI_MANIFEST,
                    "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                    401,
                    arm_with_features(),
                ),
                attestation,
            ],
            &annotations,
        );
        let expected = r#"{
  "schemaVersion": 2,
  "mediaType": "application/vnd.oci.image.index.v1+json",
  "manifests": [
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
      "size": 401,
      "platform": {
        "architecture": "arm",
        "os": "linux",
        "variant": "v7"
      }
    },
    {
      "mediaType": "application/vnd.oci.image.manifest.v1+json",
      "digest": "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
      "size": 840,
      "annotations": {
        "vnd.docker.reference.digest": "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "vnd.docker.reference.type": "attestation-manifest"
      },
      "platform": {
        "architecture": "unknown",
        "os": "unknown"
      }
    }
  ],
  "annotations": {
    "org.example.note": "a\u003cb"
  }
}"#;
        assert_eq!(list.media_type, OCI_INDEX);
        assert_eq!(String::from_utf8(list.bytes).unwrap(), expected);
    }
}
