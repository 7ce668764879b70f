//! `manifest-tool inspect`: fetch a manifest (and what is needed to describe it) and render it
//! in one of four formats.
//!
//! Fetching is at most three round trips deep after authentication: the manifest, then all child
//! manifests of a list at once (or the config of a single image).

use crate::error::{Error, Result};
use crate::json::to_go_json;
use crate::manifest::{
    self, ConfigPlatform, Descriptor, ImageManifest, Index, MAX_CONFIG_BYTES, Manifest,
    REFERENCE_DIGEST_ANNOTATION,
};
use crate::parallel;
use crate::reference::ImageRef;
use crate::registry::Fetched;
use crate::store::Store;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How `inspect` prints what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The Go tool's human-readable layout (the default).
    Text,
    /// The Go tool's `--raw` JSON.
    Raw,
    /// The exact bytes the registry served.
    Verbatim,
    /// One JSON document with everything the text layout shows, for scripts.
    Json,
}

/// What `inspect` fetched: the manifest as served and, depending on its kind, the child
/// manifests of a list or the config of an image.
pub struct Inspected {
    /// The reference as the user typed it (shown as `Name:`).
    pub name: String,
    /// The top-level manifest, verbatim.
    pub top: Fetched,
    /// Parsed contents of `top` with what was fetched to describe it.
    pub content: Content,
}

/// The parsed top-level manifest and the extra content fetched for it.
pub enum Content {
    /// A list or index, with each entry's image manifest (`None` for entries that are not images).
    List {
        index: Index,
        children: Vec<Option<ImageManifest>>,
    },
    /// A single image with its config's bytes (`None` when the format does not need them).
    Image {
        manifest: Box<ImageManifest>,
        config: Option<Vec<u8>>,
    },
}

/// Connections opened ahead of an inspect, before it is known whether the reference is a
/// list: six, as many as browsers open to one host, which covers a list of six images on the
/// first round trip after the list's own. An unused one costs the registry an idle connection
/// until we exit; a longer list opens the rest when its children are fetched.
const LIKELY_CHILDREN: usize = 6;

/// Fetch what `format` needs to show `reference` (typed as `name`).
pub fn fetch(store: &Store, reference: &ImageRef, name: &str, format: Format) -> Result<Inspected> {
    let Some(wanted) = reference.manifest_ref() else {
        return Err(Error::Input(
            "image reference must include a tag or a digest; manifest-tool does not default to 'latest'"
                .to_string(),
        ));
    };
    store.want(&["pull"]);
    if format != Format::Verbatim
        && let Some(client) = store.registry_client()
    {
        // A list's children are fetched all at once: open their connections while the list
        // itself is on its way.
        client.preconnect(LIKELY_CHILDREN);
    }
    let top = store
        .get_manifest(wanted)
        .map_err(|e| e.context(format!("fetching {name}")))?;
    let parsed = manifest::parse_manifest(&top.media_type, &top.bytes)?;
    let content = match parsed {
        Manifest::Index(index) => {
            let children = if format == Format::Verbatim {
                Vec::new()
            } else {
                fetch_children(store, &index)?
            };
            Content::List { index, children }
        }
        Manifest::Image(image) => {
            let config = if format == Format::Verbatim {
                None
            } else {
                let bytes = store
                    .get_blob(&image.config.digest, MAX_CONFIG_BYTES)
                    .map_err(|e| e.context(format!("fetching the config of {name}")))?;
                Some(bytes)
            };
            Content::Image {
                manifest: image,
                config,
            }
        }
    };
    Ok(Inspected {
        name: name.to_string(),
        top,
        content,
    })
}

/// Fetch every image manifest a list points to, all at once, keeping the list's order.
fn fetch_children(store: &Store, index: &Index) -> Result<Vec<Option<ImageManifest>>> {
    parallel::map(&index.manifests, parallel::MAX_IN_FLIGHT, |entry| {
        if !manifest::is_image(&entry.media_type) {
            return Ok(None);
        }
        let child = store
            .get_manifest(&entry.digest)
            .map_err(|e| e.context(format!("fetching list entry {}", entry.digest)))?;
        match manifest::parse_manifest(&child.media_type, &child.bytes)? {
            Manifest::Image(image) => Ok(Some(*image)),
            Manifest::Index(_) => Ok(None),
        }
    })
    .into_iter()
    .collect()
}

/// Render `inspected` as the bytes to print on stdout.
pub fn render(
    inspected: &Inspected,
    format: Format,
    expand_config: bool,
    color: bool,
) -> Result<Vec<u8>> {
    Ok(match format {
        Format::Verbatim => inspected.top.bytes.clone(),
        Format::Text => render_text(inspected, &Painter { enabled: color })?.into_bytes(),
        Format::Raw => {
            let mut out = render_raw(inspected, expand_config)?;
            out.push(b'\n');
            out
        }
        Format::Json => {
            let mut out = serde_json::to_vec_pretty(&render_json(inspected)?)
                .map_err(|e| Error::Invalid(format!("encoding JSON: {e}")))?;
            out.push(b'\n');
            out
        }
    })
}

/// ANSI colours as the Go tool uses them (bold + colour), or nothing.
struct Painter {
    enabled: bool,
}

impl Painter {
    fn paint(&self, code: &str, text: impl std::fmt::Display) -> String {
        if self.enabled {
            format!("\x1b[1;{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }
    fn green(&self, text: impl std::fmt::Display) -> String {
        self.paint("32", text)
    }
    fn yellow(&self, text: impl std::fmt::Display) -> String {
        self.paint("33", text)
    }
    fn red(&self, text: impl std::fmt::Display) -> String {
        self.paint("31", text)
    }
    fn blue(&self, text: impl std::fmt::Display) -> String {
        self.paint("34", text)
    }
}

/// The Go tool's human-readable layout.
fn render_text(inspected: &Inspected, p: &Painter) -> Result<String> {
    let mut out = String::new();
    let top = &inspected.top;
    match &inspected.content {
        Content::List { index, children } => {
            let _ = writeln!(
                out,
                "Name:   {} (Type: {})",
                p.green(&inspected.name),
                p.green(&top.media_type)
            );
            let _ = writeln!(out, "Digest: {}", p.yellow(&top.digest));
            let attestations = index
                .manifests
                .iter()
                .filter(|d| d.is_attestation())
                .count();
            let images = index.manifests.len() - attestations;
            let _ = writeln!(
                out,
                " * Contains {} manifest references ({} {}, {} {}):",
                p.red(index.manifests.len()),
                p.red(images),
                if images > 1 { "images" } else { "image" },
                p.red(attestations),
                if attestations > 1 {
                    "attestations"
                } else {
                    "attestation"
                },
            );
            for (i, (entry, child)) in index.manifests.iter().zip(children).enumerate() {
                render_entry(&mut out, p, i + 1, entry, child.as_ref());
            }
        }
        Content::Image { manifest, config } => {
            let platform = config_platform(config.as_deref())?;
            let _ = writeln!(
                out,
                "Name: {} (Type: {})",
                p.green(&inspected.name),
                p.green(&top.media_type)
            );
            let _ = writeln!(out, "      Digest: {}", p.yellow(&top.digest));
            let _ = writeln!(out, "        Size: {}", p.blue(top.bytes.len()));
            let _ = writeln!(out, "          OS: {}", p.green(&platform.os));
            let _ = writeln!(out, "        Arch: {}", p.green(&platform.architecture));
            let _ = writeln!(out, "    # Layers: {}", p.red(manifest.layers().len()));
            for (j, layer) in manifest.layers().iter().enumerate() {
                let _ = writeln!(
                    out,
                    "      layer {}: digest = {}",
                    p.red(format!("{:02}", j + 1)),
                    p.yellow(&layer.digest)
                );
            }
        }
    }
    Ok(out)
}

/// One entry of a list in the text layout.
fn render_entry(
    out: &mut String,
    p: &Painter,
    n: usize,
    entry: &Descriptor,
    child: Option<&ImageManifest>,
) {
    let attestation = entry.is_attestation();
    let detail = if attestation {
        " (vnd.docker.reference.type=attestation-manifest)"
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "[{n}]     Type: {}{}",
        p.green(&entry.media_type),
        p.green(detail)
    );
    let _ = writeln!(out, "[{n}]   Digest: {}", p.yellow(&entry.digest));
    let _ = writeln!(out, "[{n}]   Length: {}", p.blue(entry.size));
    let Some(child) = child else {
        let _ = writeln!(
            out,
            "Unknown media type for further display: {}",
            entry.media_type
        );
        return;
    };
    if attestation {
        let target = entry.annotation(REFERENCE_DIGEST_ANNOTATION).unwrap_or("");
        let _ = writeln!(
            out,
            "[{n}]       >>> Attestation for digest: {}\n",
            p.yellow(target)
        );
        return;
    }
    let _ = writeln!(out, "[{n}] Platform:");
    match &entry.platform {
        Some(platform) => {
            let _ = writeln!(out, "[{n}]    -      OS: {}", p.green(&platform.os));
            if !platform.os_version.is_empty() {
                let _ = writeln!(out, "[{n}]    - OS Vers: {}", p.green(&platform.os_version));
            }
            if !platform.os_features.is_empty() {
                let features = format!("[{}]", platform.os_features.join(" "));
                let _ = writeln!(out, "[{n}]    - OS Feat: {}", p.green(features));
            }
            let _ = writeln!(
                out,
                "[{n}]    -    Arch: {}",
                p.green(&platform.architecture)
            );
            if !platform.variant.is_empty() {
                let _ = writeln!(out, "[{n}]    - Variant: {}", p.green(&platform.variant));
            }
        }
        None => {
            let _ = writeln!(out, "[{n}]    -      (no platform specified)");
        }
    }
    let _ = writeln!(out, "[{n}] # Layers: {}", p.red(child.layers().len()));
    for (j, layer) in child.layers().iter().enumerate() {
        let _ = writeln!(
            out,
            "     layer {}: digest = {}",
            p.red(format!("{:02}", j + 1)),
            p.yellow(&layer.digest)
        );
        let _ = writeln!(
            out,
            "                 type = {}",
            p.green(&layer.media_type)
        );
    }
    out.push('\n');
}

fn config_platform(config: Option<&[u8]>) -> Result<ConfigPlatform> {
    match config {
        Some(bytes) => manifest::parse_config_platform(bytes),
        None => Ok(ConfigPlatform::default()),
    }
}

/// The Go tool's `--raw` JSON (four-space indent, Go's escaping, Go's field order).
fn render_raw(inspected: &Inspected, expand_config: bool) -> Result<Vec<u8>> {
    let top = &inspected.top;
    match &inspected.content {
        Content::List { index, children } => {
            #[derive(Serialize)]
            struct RawIndex<'a> {
                name: &'a str,
                digest: &'a str,
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
            if expand_config {
                let full: GoImageConfig = serde_json::from_slice(bytes)
                    .map_err(|e| Error::Invalid(format!("malformed image config: {e}")))?;
                #[derive(Serialize)]
                struct RawExpanded<'a> {
                    #[serde(rename = "schemaVersion")]
                    schema_version: i64,
                    name: &'a str,
                    digest: &'a str,
                    #[serde(skip_serializing_if = "str::is_empty")]
                    os: &'a str,
                    #[serde(skip_serializing_if = "str::is_empty")]
                    architecture: &'a str,
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
                    name: &inspected.name,
                    digest: &top.digest,
                    os: &platform.os,
                    architecture: &platform.architecture,
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
                    name: &'a str,
                    digest: &'a str,
                    #[serde(skip_serializing_if = "str::is_empty")]
                    os: &'a str,
                    #[serde(skip_serializing_if = "str::is_empty")]
                    architecture: &'a str,
                    #[serde(flatten)]
                    manifest: &'a ImageManifest,
                }
                let raw = RawImage {
                    name: &inspected.name,
                    digest: &top.digest,
                    os: &platform.os,
                    architecture: &platform.architecture,
                    manifest,
                };
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

/// Our `--format json`: everything the text layout shows, as one document.
fn render_json(inspected: &Inspected) -> Result<Value> {
    let top = &inspected.top;
    let layers = |m: &ImageManifest| -> Value {
        m.layers()
            .iter()
            .map(|l| json!({"digest": l.digest, "mediaType": l.media_type, "size": l.size}))
            .collect()
    };
    let mut doc = json!({
        "name": inspected.name,
        "digest": top.digest,
        "mediaType": top.media_type,
        "size": top.bytes.len(),
    });
    match &inspected.content {
        Content::List { index, children } => {
            let entries: Vec<Value> = index
                .manifests
                .iter()
                .zip(children)
                .map(|(entry, child)| {
                    let mut e = json!({
                        "digest": entry.digest,
                        "mediaType": entry.media_type,
                        "size": entry.size,
                        "platform": entry.platform.as_ref().map(platform_json),
                        "annotations": entry.annotations.clone().unwrap_or_default(),
                        "attestation": entry.is_attestation(),
                    });
                    if let Some(child) = child {
                        e["layers"] = layers(child);
                    }
                    e
                })
                .collect();
            doc["annotations"] = json!(index.annotations.clone().unwrap_or_default());
            doc["manifests"] = Value::Array(entries);
        }
        Content::Image { manifest, config } => {
            let platform = config_platform(config.as_deref())?;
            doc["platform"] = json!({
                "os": platform.os,
                "architecture": platform.architecture,
                "variant": platform.variant,
                "os.version": platform.os_version,
                "os.features": platform.os_features,
            });
            doc["config"] = json!({
                "digest": manifest.config.digest,
                "mediaType": manifest.config.media_type,
                "size": manifest.config.size,
            });
            doc["annotations"] = json!(manifest.annotations.clone().unwrap_or_default());
            doc["layers"] = layers(manifest);
        }
    }
    Ok(doc)
}

fn platform_json(p: &manifest::Platform) -> Value {
    json!({
        "os": p.os,
        "architecture": p.architecture,
        "variant": p.variant,
        "os.version": p.os_version,
        "os.features": p.os_features,
        "features": p.features,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(json: &str) -> Descriptor {
        serde_json::from_str(json).unwrap()
    }

    fn image(layers: usize) -> ImageManifest {
        let layers: Vec<String> = (0..layers)
            .map(|i| format!(r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:{i}{i}","size":10}}"#))
            .collect();
        serde_json::from_str(&format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
                "config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:cc","size":5}},
                "layers":[{}]}}"#,
            layers.join(",")
        ))
        .unwrap()
    }

    fn list_of(entries: Vec<(Descriptor, Option<ImageManifest>)>) -> Inspected {
        let index = Index {
            schema_version: 2,
            media_type: Some(manifest::OCI_INDEX.into()),
            artifact_type: None,
            manifests: entries.iter().map(|(d, _)| d.clone()).collect(),
            subject: None,
            annotations: None,
        };
        Inspected {
            name: "reg/app:list".into(),
            top: Fetched {
                media_type: manifest::OCI_INDEX.into(),
                digest: "sha256:top".into(),
                bytes: b"{}".to_vec(),
            },
            content: Content::List {
                index,
                children: entries.into_iter().map(|(_, c)| c).collect(),
            },
        }
    }

    #[test]
    fn text_layout_of_a_list_matches_the_go_tool() {
        let windows = descriptor(
            r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":100,
                "platform":{"architecture":"amd64","os":"windows","os.version":"10.0.1","os.features":["win32k","x"]}}"#,
        );
        let attestation = descriptor(
            r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bb","size":50,
                "annotations":{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"sha256:aa"},
                "platform":{"architecture":"unknown","os":"unknown"}}"#,
        );
        let nested = descriptor(
            r#"{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:dd","size":7}"#,
        );
        let inspected = list_of(vec![
            (windows, Some(image(1))),
            (attestation, Some(image(1))),
            (nested, None),
        ]);
        let text = render_text(&inspected, &Painter { enabled: false }).unwrap();
        let expected = "\
Name:   reg/app:list (Type: application/vnd.oci.image.index.v1+json)
Digest: sha256:top
 * Contains 3 manifest references (2 images, 1 attestation):
[1]     Type: application/vnd.oci.image.manifest.v1+json
[1]   Digest: sha256:aa
[1]   Length: 100
[1] Platform:
[1]    -      OS: windows
[1]    - OS Vers: 10.0.1
[1]    - OS Feat: [win32k x]
[1]    -    Arch: amd64
[1] # Layers: 1
     layer 01: digest = sha256:00
                 type = application/vnd.oci.image.layer.v1.tar+gzip

[2]     Type: application/vnd.oci.image.manifest.v1+json (vnd.docker.reference.type=attestation-manifest)
[2]   Digest: sha256:bb
[2]   Length: 50
[2]       >>> Attestation for digest: sha256:aa

[3]     Type: application/vnd.oci.image.index.v1+json
[3]   Digest: sha256:dd
[3]   Length: 7
Unknown media type for further display: application/vnd.oci.image.index.v1+json
";
        assert_eq!(text, expected);
    }

    #[test]
    fn text_layout_uses_singular_words_for_one() {
        let entry = descriptor(
            r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aa","size":1}"#,
        );
        let text = render_text(
            &list_of(vec![(entry, Some(image(0)))]),
            &Painter { enabled: false },
        )
        .unwrap();
        assert!(
            text.contains(" * Contains 1 manifest references (1 image, 0 attestation):\n"),
            "{text}"
        );
        assert!(
            text.contains("[1]    -      (no platform specified)\n"),
            "{text}"
        );
    }

    #[test]
    fn colours_are_bold_ansi_codes_when_enabled() {
        let p = Painter { enabled: true };
        assert_eq!(p.yellow("x"), "\x1b[1;33mx\x1b[0m");
        assert_eq!(Painter { enabled: false }.yellow("x"), "x");
    }

    #[test]
    fn raw_json_of_a_single_image_has_go_field_order() {
        let inspected = Inspected {
            name: "r/a:t".into(),
            top: Fetched {
                media_type: manifest::OCI_MANIFEST.into(),
                digest: "sha256:top".into(),
                bytes: Vec::new(),
            },
            content: Content::Image {
                manifest: Box::new(image(1)),
                config: Some(br#"{"architecture":"arm64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec()),
            },
        };
        let raw = String::from_utf8(render_raw(&inspected, false).unwrap()).unwrap();
        let expected = r#"{
    "name": "r/a:t",
    "digest": "sha256:top",
    "os": "linux",
    "architecture": "arm64",
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {
        "mediaType": "application/vnd.oci.image.config.v1+json",
        "digest": "sha256:cc",
        "size": 5
    },
    "layers": [
        {
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": "sha256:00",
            "size": 10
        }
    ]
}"#;
        assert_eq!(raw, expected);
        let expanded = String::from_utf8(render_raw(&inspected, true).unwrap()).unwrap();
        assert!(expanded.contains("\"config\": {\n        \"architecture\": \"arm64\",\n        \"os\": \"linux\",\n        \"config\": {},\n        \"rootfs\": {\n            \"type\": \"layers\",\n            \"diff_ids\": []\n        }\n    },"), "{expanded}");
    }
}
