//! The tiny images `test-registry` pushes, made in the process with the same bytes every run:
//! for each platform one layer (a real gzipped tar of one small file) and one config, as a
//! Docker v2.2 and as an OCI image manifest; a buildx-style attestation manifest for each OCI
//! image; and an artifact whose `subject` is the first OCI image.

use crate::digest::Digest;
use crate::manifest::{
    DOCKER_MANIFEST, Descriptor, ImageManifest, OCI_MANIFEST, Platform,
    REFERENCE_DIGEST_ANNOTATION, REFERENCE_TYPE_ANNOTATION,
};
use std::collections::BTreeMap;

/// The platforms of the synthetic images.
const PLATFORMS: [(&str, &str, &str); 2] = [("linux", "amd64", ""), ("linux", "arm64", "v8")];

const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const IN_TOTO: &str = "application/vnd.in-toto+json";
/// The predicate type of the attestations: SLSA provenance, as buildx writes by default.
const PROVENANCE: &str = "https://slsa.dev/provenance/v0.2";
/// The OCI 1.1 empty descriptor's media type: the config and layer of an artifact.
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// The `artifactType` of the artifact that refers to an image.
pub const ARTIFACT_TYPE: &str = "application/vnd.manifest-tool.test-registry";

/// Bytes with a media type and their digest: a blob or a manifest.
#[derive(Debug, Clone)]
pub struct Content {
    pub media_type: &'static str,
    pub bytes: Vec<u8>,
    pub digest: Digest,
}

impl Content {
    fn new(media_type: &'static str, bytes: Vec<u8>) -> Content {
        let digest = Digest::sha256_of(&bytes);
        Content {
            media_type,
            bytes,
            digest,
        }
    }

    /// A manifest of `media_type`: `manifest` as JSON, written as push writes lists.
    fn manifest(media_type: &'static str, manifest: &ImageManifest) -> Content {
        Content::new(media_type, crate::json::to_go_json(manifest, "  "))
    }

    /// Its descriptor, without platform or annotations.
    pub fn descriptor(&self) -> Descriptor {
        Descriptor {
            media_type: self.media_type.to_string(),
            digest: self.digest.clone(),
            size: self.bytes.len() as u64,
            urls: None,
            annotations: None,
            data: None,
            platform: None,
            artifact_type: None,
        }
    }
}

/// An image manifest and the platform its list entry names.
#[derive(Debug, Clone)]
pub struct Image {
    pub manifest: Content,
    pub platform: Platform,
}

impl Image {
    /// Its list entry: descriptor and platform.
    pub fn entry(&self) -> Descriptor {
        Descriptor {
            platform: Some(self.platform.clone()),
            ..self.manifest.descriptor()
        }
    }
}

/// Everything `test-registry` pushes.
#[derive(Debug, Clone)]
pub struct Synthetic {
    /// Every blob, each once; the layer of the last platform is `blobs[1]`, the one uploaded
    /// in chunks.
    pub blobs: Vec<Content>,
    /// One Docker v2.2 image per platform.
    pub docker: Vec<Image>,
    /// The same images as OCI manifests.
    pub oci: Vec<Image>,
    /// For each OCI image, its attestation manifest as buildx writes it, as an index entry.
    pub attestations: Vec<(Content, Descriptor)>,
    /// An artifact whose `subject` is `oci[0]`.
    pub artifact: Content,
}

impl Synthetic {
    /// The images, the same bytes on every call.
    pub fn new() -> Synthetic {
        let mut layers = Vec::new();
        let mut configs = Vec::new();
        let (mut docker, mut oci) = (Vec::new(), Vec::new());
        for (os, architecture, variant) in PLATFORMS {
            let name = [os, architecture, variant].join("/");
            let tar = tar(
                "platform",
                format!("{}\n", name.trim_end_matches('/')).as_bytes(),
            );
            let config = config(os, architecture, variant, &Digest::sha256_of(&tar));
            let layer = Content::new(DOCKER_LAYER, gzip(&tar));
            let config = Content::new(DOCKER_CONFIG, config);
            let platform = Platform {
                architecture: architecture.to_string(),
                os: os.to_string(),
                variant: variant.to_string(),
                ..Platform::default()
            };
            for (list, manifest_type, config_type, layer_type) in [
                (&mut docker, DOCKER_MANIFEST, DOCKER_CONFIG, DOCKER_LAYER),
                (&mut oci, OCI_MANIFEST, OCI_CONFIG, OCI_LAYER),
            ] {
                let manifest = ImageManifest {
                    config: Content {
                        media_type: config_type,
                        ..config.clone()
                    }
                    .descriptor(),
                    layers: Some(vec![
                        Content {
                            media_type: layer_type,
                            ..layer.clone()
                        }
                        .descriptor(),
                    ]),
                    ..image_manifest(manifest_type)
                };
                list.push(Image {
                    manifest: Content::manifest(manifest_type, &manifest),
                    platform: platform.clone(),
                });
            }
            layers.push(layer);
            configs.push(config);
        }
        let mut blobs: Vec<Content> = layers.into_iter().chain(configs).collect();
        let attestations = oci
            .iter()
            .map(|image| attestation(image, &mut blobs))
            .collect();
        let empty = Content::new(OCI_EMPTY, b"{}".to_vec());
        let artifact = ImageManifest {
            artifact_type: Some(ARTIFACT_TYPE.to_string()),
            config: empty.descriptor(),
            layers: Some(vec![empty.descriptor()]),
            subject: Some(Box::new(oci[0].manifest.descriptor())),
            ..image_manifest(OCI_MANIFEST)
        };
        blobs.push(empty);
        Synthetic {
            blobs,
            artifact: Content::manifest(OCI_MANIFEST, &artifact),
            docker,
            oci,
            attestations,
        }
    }
}

/// An empty image manifest of `media_type`, for struct update syntax.
fn image_manifest(media_type: &str) -> ImageManifest {
    ImageManifest {
        schema_version: 2,
        media_type: Some(media_type.to_string()),
        artifact_type: None,
        config: Content::new(OCI_EMPTY, Vec::new()).descriptor(),
        layers: None,
        subject: None,
        annotations: None,
    }
}

/// The attestation manifest buildx writes for `image` (an in-toto statement about it, with an
/// `unknown/unknown` config), its blobs added to `blobs`, and its index entry.
fn attestation(image: &Image, blobs: &mut Vec<Content>) -> (Content, Descriptor) {
    let digest = &image.manifest.digest;
    let statement = format!(
        r#"{{"_type":"https://in-toto.io/Statement/v0.1","predicateType":"{PROVENANCE}","subject":[{{"name":"test-registry","digest":{{"sha256":"{}"}}}}],"predicate":{{}}}}"#,
        digest.hex()
    );
    let layer = Content::new(IN_TOTO, statement.into_bytes());
    let config = Content::new(OCI_CONFIG, config("unknown", "unknown", "", &layer.digest));
    let mut layer_entry = layer.descriptor();
    layer_entry.annotations = Some(BTreeMap::from([(
        "in-toto.io/predicate-type".to_string(),
        PROVENANCE.to_string(),
    )]));
    let manifest = ImageManifest {
        config: config.descriptor(),
        layers: Some(vec![layer_entry]),
        ..image_manifest(OCI_MANIFEST)
    };
    let manifest = Content::manifest(OCI_MANIFEST, &manifest);
    let entry = Descriptor {
        annotations: Some(BTreeMap::from([
            (REFERENCE_DIGEST_ANNOTATION.to_string(), digest.to_string()),
            (
                REFERENCE_TYPE_ANNOTATION.to_string(),
                "attestation-manifest".to_string(),
            ),
        ])),
        platform: Some(Platform {
            architecture: "unknown".to_string(),
            os: "unknown".to_string(),
            ..Platform::default()
        }),
        ..manifest.descriptor()
    };
    blobs.extend([layer, config]);
    (manifest, entry)
}

/// An image config of `os/architecture[/variant]` whose one layer has the uncompressed
/// digest `diff_id` (every value is plain ASCII: nothing to escape).
fn config(os: &str, architecture: &str, variant: &str, diff_id: &Digest) -> Vec<u8> {
    let variant = match variant {
        "" => String::new(),
        variant => format!(r#","variant":"{variant}""#),
    };
    format!(
        r#"{{"architecture":"{architecture}","os":"{os}"{variant},"config":{{}},"rootfs":{{"type":"layers","diff_ids":["{diff_id}"]}}}}"#
    )
    .into_bytes()
}

/// A ustar archive of one regular file `name` (mode 644, owner 0, time 0) holding `data`.
fn tar(name: &str, data: &[u8]) -> Vec<u8> {
    let mut header = [0u8; 512];
    header[..name.len()].copy_from_slice(name.as_bytes());
    header[100..108].copy_from_slice(b"0000644\0");
    header[108..116].copy_from_slice(b"0000000\0");
    header[116..124].copy_from_slice(b"0000000\0");
    header[124..136].copy_from_slice(format!("{:011o}\0", data.len()).as_bytes());
    header[136..148].copy_from_slice(b"00000000000\0");
    header[148..156].copy_from_slice(b"        ");
    header[156] = b'0';
    header[257..265].copy_from_slice(b"ustar\x0000");
    let sum: u32 = header.iter().map(|&b| u32::from(b)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    let mut archive = header.to_vec();
    archive.extend_from_slice(data);
    archive.resize(archive.len().next_multiple_of(512) + 1024, 0);
    archive
}

/// `data` (under 64 KiB) as a gzip file of one stored (uncompressed) deflate block.
fn gzip(data: &[u8]) -> Vec<u8> {
    let length = data.len() as u16;
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255, 1];
    out.extend_from_slice(&length.to_le_bytes());
    out.extend_from_slice(&(!length).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&crc32(data).to_le_bytes());
    out.extend_from_slice(&(data.len() as u32).to_le_bytes());
    out
}

/// The CRC-32 of gzip (IEEE 802.3, reflected).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
        }
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_the_ieee_checksum() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    #[test]
    fn the_images_are_the_same_bytes_every_time() {
        let (a, b) = (Synthetic::new(), Synthetic::new());
        assert_eq!(a.artifact.digest, b.artifact.digest);
        assert_eq!(a.blobs.len(), 9);
        assert_eq!(a.docker[1].platform.variant, "v8");
        let manifest: serde_json::Value = serde_json::from_slice(&a.oci[0].manifest.bytes).unwrap();
        assert_eq!(manifest["layers"][0]["mediaType"], OCI_LAYER);
        assert_eq!(manifest["config"]["digest"], a.blobs[2].digest.as_str());
    }

    #[test]
    fn configs_and_statements_are_json() {
        let synthetic = Synthetic::new();
        let json = |index: usize| -> serde_json::Value {
            serde_json::from_slice(&synthetic.blobs[index].bytes).unwrap()
        };
        assert_eq!(json(2)["architecture"], "amd64");
        assert_eq!(json(2).get("variant"), None);
        assert_eq!(json(3)["variant"], "v8");
        assert_eq!(json(4)["predicateType"], PROVENANCE);
        let subject = synthetic.oci[0].manifest.digest.hex();
        assert_eq!(json(4)["subject"][0]["digest"]["sha256"], subject);
        assert_eq!(json(5)["os"], "unknown");
        assert_eq!(
            json(5)["rootfs"]["diff_ids"][0],
            synthetic.blobs[4].digest.as_str()
        );
    }
}
