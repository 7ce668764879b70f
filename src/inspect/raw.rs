//! The Go tool's `--raw` JSON: the manifest (or each child manifest of a list) with the
//! reference's name, digest and platform, in Go's field order and escaping.

use super::{Content, Inspected};
use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::json::to_go_json;
use crate::manifest::{self, Descriptor, ImageManifest};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// The Go tool's `--raw` JSON (four-space indent, Go's escaping, Go's field order).
pub(super) fn render(inspected: &Inspected, expand_config: bool) -> Result<Vec<u8>> {
    let top = &inspected.top;
    match &inspected.content {
        Content::List { index, children } => {
            #[derive(Serialize)]
            struct RawIndex<'a> {
                name: &'a str,
                digest: &'a Digest,
                #[serde(rename = "schemaVersion")]
                schema_version: i64,
                #[serde(rename = "mediaType", skip_serializing_if = "Option::is_none")]
                media_type: Option<&'a str>,
                manifests: Option<Vec<&'a ImageManifest>>,
                #[serde(skip_serializing_if = "Option::is_none")]
                annotations: Option<&'a BTreeMap<String, String>>,
            }
            let mut manifests = Vec::new();
            for (entry, child) in index.manifests.iter().zip(children) {
                match child {
                    Some(child) => manifests.push(child),
                    None => {
                        return Err(Error::Unsupported(format!(
                            "unknown media type for further display: {}",
                            entry.media_type
                        )));
                    }
                }
            }
            let raw = RawIndex {
                name: &inspected.name,
                digest: &top.digest,
                schema_version: index.schema_version,
                media_type: index.media_type.as_deref().filter(|m| !m.is_empty()),
                manifests: (!manifests.is_empty()).then_some(manifests),
                annotations: index.annotations.as_ref().filter(|a| !a.is_empty()),
            };
            Ok(to_go_json(&raw, "    "))
        }
        Content::Image { manifest, config } => {
            let bytes = config.as_deref().unwrap_or(b"{}");
            let platform = manifest::parse_config_platform(bytes)?;
            let identity = RawIdentity {
                name: &inspected.name,
                digest: &top.digest,
                os: &platform.os,
                architecture: &platform.architecture,
            };
            if expand_config {
                let full: GoImageConfig = serde_json::from_slice(bytes)
                    .map_err(|e| Error::Invalid(format!("malformed image config: {e}")))?;
                #[derive(Serialize)]
                struct RawExpanded<'a> {
                    #[serde(rename = "schemaVersion")]
                    schema_version: i64,
                    #[serde(flatten)]
                    identity: RawIdentity<'a>,
                    #[serde(rename = "mediaType", skip_serializing_if = "Option::is_none")]
                    media_type: Option<&'a str>,
                    config: GoImageConfig,
                    layers: &'a Option<Vec<Descriptor>>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    subject: Option<&'a Descriptor>,
                    #[serde(skip_serializing_if = "Option::is_none")]
                    annotations: Option<&'a BTreeMap<String, String>>,
                }
                let raw = RawExpanded {
                    schema_version: manifest.schema_version,
                    identity,
                    media_type: manifest.media_type.as_deref().filter(|m| !m.is_empty()),
                    config: full,
                    layers: &manifest.layers,
                    subject: manifest.subject.as_deref(),
                    annotations: manifest.annotations.as_ref().filter(|a| !a.is_empty()),
                };
                Ok(to_go_json(&raw, "    "))
            } else {
                #[derive(Serialize)]
                struct RawImage<'a> {
                    #[serde(flatten)]
                    identity: RawIdentity<'a>,
                    #[serde(flatten)]
                    manifest: &'a ImageManifest,
                }
                let raw = RawImage { identity, manifest };
                Ok(to_go_json(&raw, "    "))
            }
        }
    }
}

/// An image config in the fields and order of Go's `ocispec.Image` (what `--expand-config` shows).
#[derive(Serialize, serde::Deserialize)]
struct GoImageConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    author: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    os_version: String,
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    variant: String,
    #[serde(default, deserialize_with = "null_as_default")]
    config: GoRunConfig,
    #[serde(default)]
    rootfs: GoRootFs,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "null_as_default"
    )]
    history: Vec<GoHistory>,
}

#[derive(Serialize, serde::Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct GoRunConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exposed_ports: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    env: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    entrypoint: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    cmd: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    volumes: Option<BTreeMap<String, Value>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    working_dir: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    stop_signal: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    args_escaped: bool,
}

#[derive(Serialize, serde::Deserialize, Default)]
struct GoRootFs {
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default)]
    diff_ids: Option<Vec<String>>,
}

#[derive(Serialize, serde::Deserialize)]
struct GoHistory {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    created: Option<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    created_by: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    author: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    comment: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    empty_layer: bool,
}

fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Default + serde::Deserialize<'de>,
{
    use serde::Deserialize;
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// What the Go tool's raw JSON of a single image starts with: its name, digest and platform.
#[derive(Serialize)]
struct RawIdentity<'a> {
    name: &'a str,
    digest: &'a Digest,
    #[serde(skip_serializing_if = "str::is_empty")]
    os: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    architecture: &'a str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::test_data::image;
    use crate::registry::Fetched;

    #[test]
    fn raw_json_of_a_single_image_has_go_field_order() {
        let inspected = Inspected {
            name: "r/a:t".into(),
            top: Fetched {
                media_type: manifest::OCI_MANIFEST.into(),
                digest: Digest::parse("sha256:7070707070707070707070707070707070707070707070707070707070707070").unwrap(),
                bytes: Vec::new(),
            },
            content: Content::Image {
                manifest: Box::new(image(1)),
                config: Some(br#"{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec()),
            },
        };
        let raw = String::from_utf8(render(&inspected, false).unwrap()).unwrap();
        let expected = r#"{
    "name": "r/a:t",
    "digest": "sha256:7070707070707070707070707070707070707070707070707070707070707070",
    "os": "linux",
    "architecture": "arm64",
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {
        "mediaType": "application/vnd.oci.image.config.v1+json",
        "digest": "sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc",
        "size": 5
    },
    "layers": [
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": "sha256:0000000000000000000000000000000000000000000000000000000000000000",
            "size": 10
        }
    ]
}"#;
        assert_eq!(raw, expected);
        let expanded = String::from_utf8(render(&inspected, true).unwrap()).unwrap();
        assert!(expanded.contains("\"config\": {\n        \"architecture\": \"arm64\",\n        \"os\": \"linux\",\n        \"config\": {},\n        \"rootfs\": {\n            \"type\": \"layers\",\n            \"diff_ids\": []\n        }\n    },"), "{expanded}");
    }
}
