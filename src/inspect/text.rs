//! The Go tool's human-readable layout: a list's entries with their platforms and layers, or a
//! single image's platform and layers, coloured on a terminal. Every value shown goes through
//! [`escape_controls`]: a registry's platform, annotation or media type cannot reach the
//! terminal as a control sequence.

use super::{Content, Inspected, config_platform};
use crate::error::Result;
use crate::escape::escape_controls;
use crate::manifest::{
    ConfigPlatform, Descriptor, ImageManifest, Index, REFERENCE_DIGEST_ANNOTATION,
};
use std::fmt::{self, Display, Formatter};

/// What `inspect` fetched, in the Go tool's layout: its `Display` writes the text.
pub(super) struct Text<'a> {
    inspected: &'a Inspected,
    /// The platform of a single image's config (empty for a list).
    platform: ConfigPlatform,
    p: Painter,
}

impl<'a> Text<'a> {
    /// The layout of `inspected`, in colour when `color`; fails when an image's config is not
    /// valid JSON.
    pub(super) fn new(inspected: &'a Inspected, color: bool) -> Result<Text<'a>> {
        let platform = match &inspected.content {
            Content::Image { config, .. } => config_platform(config.as_deref())?,
            Content::List { .. } => ConfigPlatform::default(),
        };
        Ok(Text {
            inspected,
            platform,
            p: Painter { enabled: color },
        })
    }

    fn list(
        &self,
        f: &mut Formatter,
        index: &Index,
        children: &[Option<ImageManifest>],
    ) -> fmt::Result {
        let (p, top) = (&self.p, &self.inspected.top);
        self.name_line(f, "Name:   ")?;
        writeln!(f, "Digest: {}", p.yellow(&top.digest))?;
        let attestations = index
            .manifests
            .iter()
            .filter(|d| d.is_attestation())
            .count();
        let images = index.manifests.len() - attestations;
        writeln!(
            f,
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
        )?;
        for (i, (entry, child)) in index.manifests.iter().zip(children).enumerate() {
            self.entry(f, i + 1, entry, child.as_ref())?;
        }
        Ok(())
    }

    /// One entry of a list.
    fn entry(
        &self,
        f: &mut Formatter,
        n: usize,
        entry: &Descriptor,
        child: Option<&ImageManifest>,
    ) -> fmt::Result {
        let p = &self.p;
        let attestation = entry.is_attestation();
        let detail = if attestation {
            " (vnd.docker.reference.type=attestation-manifest)"
        } else {
            ""
        };
        writeln!(
            f,
            "[{n}]     Type: {}{}",
            p.green(&entry.media_type),
            p.green(detail)
        )?;
        writeln!(f, "[{n}]   Digest: {}", p.yellow(&entry.digest))?;
        writeln!(f, "[{n}]   Length: {}", p.blue(entry.size))?;
        let Some(child) = child else {
            return writeln!(
                f,
                "Unknown media type for further display: {}",
                escape_controls(&entry.media_type)
            );
        };
        if attestation {
            let target = entry.annotation(REFERENCE_DIGEST_ANNOTATION).unwrap_or("");
            return writeln!(
                f,
                "[{n}]       >>> Attestation for digest: {}\n",
                p.yellow(target)
            );
        }
        writeln!(f, "[{n}] Platform:")?;
        match &entry.platform {
            Some(platform) => {
                writeln!(f, "[{n}]    -      OS: {}", p.green(&platform.os))?;
                if !platform.os_version.is_empty() {
                    writeln!(f, "[{n}]    - OS Vers: {}", p.green(&platform.os_version))?;
                }
                if !platform.os_features.is_empty() {
                    let features = format!("[{}]", platform.os_features.join(" "));
                    writeln!(f, "[{n}]    - OS Feat: {}", p.green(features))?;
                }
                writeln!(f, "[{n}]    -    Arch: {}", p.green(&platform.architecture))?;
                if !platform.variant.is_empty() {
                    writeln!(f, "[{n}]    - Variant: {}", p.green(&platform.variant))?;
                }
            }
            None => writeln!(f, "[{n}]    -      (no platform specified)")?,
        }
        writeln!(f, "[{n}] # Layers: {}", p.red(child.layers().len()))?;
        for (j, layer) in child.layers().iter().enumerate() {
            self.layer(f, "     ", j, layer)?;
            writeln!(f, "                 type = {}", p.green(&layer.media_type))?;
        }
        writeln!(f)
    }

    fn image(&self, f: &mut Formatter, manifest: &ImageManifest) -> fmt::Result {
        let (p, top, platform) = (&self.p, &self.inspected.top, &self.platform);
        self.name_line(f, "Name: ")?;
        writeln!(f, "      Digest: {}", p.yellow(&top.digest))?;
        writeln!(f, "        Size: {}", p.blue(top.bytes.len()))?;
        writeln!(f, "          OS: {}", p.green(&platform.os))?;
        writeln!(f, "        Arch: {}", p.green(&platform.architecture))?;
        writeln!(f, "    # Layers: {}", p.red(manifest.layers().len()))?;
        for (j, layer) in manifest.layers().iter().enumerate() {
            self.layer(f, "      ", j, layer)?;
        }
        Ok(())
    }

    /// `{label}<name> (Type: <media type>)`, the first line of either layout.
    fn name_line(&self, f: &mut Formatter, label: &str) -> fmt::Result {
        let p = &self.p;
        writeln!(
            f,
            "{label}{} (Type: {})",
            p.green(&self.inspected.name),
            p.green(&self.inspected.top.media_type)
        )
    }

    /// `{indent}layer NN: digest = …`, the Go tool's line for layer `j` (counted from 0).
    fn layer(&self, f: &mut Formatter, indent: &str, j: usize, layer: &Descriptor) -> fmt::Result {
        let p = &self.p;
        writeln!(
            f,
            "{indent}layer {}: digest = {}",
            p.red(format!("{:02}", j + 1)),
            p.yellow(&layer.digest)
        )
    }
}

impl Display for Text<'_> {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        match &self.inspected.content {
            Content::List { index, children } => self.list(f, index, children),
            Content::Image { manifest, .. } => self.image(f, manifest),
        }
    }
}

/// ANSI colours as the Go tool uses them (bold + colour), or nothing.
struct Painter {
    enabled: bool,
}

/// Text that `Display`s in one colour of a [`Painter`], its control characters escaped.
struct Painted<T> {
    code: Option<&'static str>,
    text: T,
}

impl<T: Display> Display for Painted<T> {
    fn fmt(&self, f: &mut Formatter) -> fmt::Result {
        let text = escape_controls(&self.text.to_string());
        match self.code {
            Some(code) => write!(f, "\x1b[1;{code}m{text}\x1b[0m"),
            None => f.write_str(&text),
        }
    }
}

impl Painter {
    fn paint<T: Display>(&self, code: &'static str, text: T) -> Painted<T> {
        Painted {
            code: self.enabled.then_some(code),
            text,
        }
    }
    fn green<T: Display>(&self, text: T) -> Painted<T> {
        self.paint("32", text)
    }
    fn yellow<T: Display>(&self, text: T) -> Painted<T> {
        self.paint("33", text)
    }
    fn red<T: Display>(&self, text: T) -> Painted<T> {
        self.paint("31", text)
    }
    fn blue<T: Display>(&self, text: T) -> Painted<T> {
        self.paint("34", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::digest::Digest;
    use crate::inspect::test_data::image;
    use crate::manifest::{self, Index};
    use crate::registry::Fetched;

    fn descriptor(json: &str) -> Descriptor {
        serde_json::from_str(json).unwrap()
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
                digest: Digest::parse(
                    "sha256:7070707070707070707070707070707070707070707070707070707070707070",
                )
                .unwrap(),
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
            r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":100,
                "platform":{"architecture":"amd64","os":"windows","os.version":"10.0.1","os.features":["win32k","x"]}}"#,
        );
        let attestation = descriptor(
            r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","size":50,
                "annotations":{"vnd.docker.reference.type":"attestation-manifest","vnd.docker.reference.digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"},
                "platform":{"architecture":"unknown","os":"unknown"}}"#,
        );
        let nested = descriptor(
            r#"{"mediaType":"application/vnd.oci.image.index.v1+json","digest":"sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd","size":7}"#,
        );
        let inspected = list_of(vec![
            (windows, Some(image(1))),
            (attestation, Some(image(1))),
            (nested, None),
        ]);
        let text = Text::new(&inspected, false).unwrap().to_string();
        let expected = "\
Name:   reg/app:list (Type: application/vnd.oci.image.index.v1+json)
Digest: sha256:7070707070707070707070707070707070707070707070707070707070707070
 * Contains 3 manifest references (2 images, 1 attestation):
[1]     Type: application/vnd.oci.image.manifest.v1+json
[1]   Digest: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa
[1]   Length: 100
[1] Platform:
[1]    -      OS: windows
[1]    - OS Vers: 10.0.1
[1]    - OS Feat: [win32k x]
[1]    -    Arch: amd64
[1] # Layers: 1
     layer 01: digest = sha256:0000000000000000000000000000000000000000000000000000000000000000
                 type = application/vnd.oci.image.layer.v1.tar+gzip

[2]     Type: application/vnd.oci.image.manifest.v1+json (vnd.docker.reference.type=attestation-manifest)
[2]   Digest: sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb
[2]   Length: 50
[2]       >>> Attestation for digest: sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa

[3]     Type: application/vnd.oci.image.index.v1+json
[3]   Digest: sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd
[3]   Length: 7
Unknown media type for further display: application/vnd.oci.image.index.v1+json
";
        assert_eq!(text, expected);
    }

    #[test]
    fn text_layout_uses_singular_words_for_one() {
        let entry = descriptor(
            r#"{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1}"#,
        );
        let text = Text::new(&list_of(vec![(entry, Some(image(0)))]), false)
            .unwrap()
            .to_string();
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
        assert_eq!(p.yellow("x").to_string(), "\x1b[1;33mx\x1b[0m");
        assert_eq!(Painter { enabled: false }.yellow("x").to_string(), "x");
    }

    #[test]
    fn control_characters_in_values_are_escaped_inside_the_colour() {
        let p = Painter { enabled: true };
        assert_eq!(
            p.green("linux\x1b[2J").to_string(),
            "\x1b[1;32mlinux\\x1b[2J\x1b[0m"
        );
    }
}
