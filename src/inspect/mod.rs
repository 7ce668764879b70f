//! `manifest-tool inspect`: fetch a manifest (and what is needed to describe it) and render it
//! in one of five formats.
//!
//! [`fetch`] (`inspect/fetch.rs`) asks the store; [`render`] hands what came back to the
//! renderer of the format asked for: `text.rs` (the Go tool's layout), `raw.rs` (the Go tool's
//! `--raw` JSON), `json.rs` (our `--format json`) or `platforms.rs` (the seed's mquery
//! layout). `verbatim` prints the bytes as served.

mod fetch;
mod json;
mod platforms;
mod raw;
mod text;

pub use fetch::fetch;

use crate::error::{Error, Result};
use crate::manifest::{self, ConfigPlatform, ImageManifest, Index};
use crate::registry::Fetched;

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
    /// The seed's mquery layout: whether it is a list, and its platforms.
    Platforms,
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

/// Render `inspected` as the bytes to print on stdout.
pub fn render(
    inspected: &Inspected,
    format: Format,
    expand_config: bool,
    color: bool,
) -> Result<Vec<u8>> {
    Ok(match format {
        Format::Verbatim => inspected.top.bytes.clone(),
        Format::Text => text::Text::new(inspected, color)?.to_string().into_bytes(),
        Format::Platforms => platforms::render(inspected)?.into_bytes(),
        Format::Raw => {
            let mut out = raw::render(inspected, expand_config)?;
            out.push(b'\n');
            out
        }
        Format::Json => {
            let mut out = serde_json::to_vec_pretty(&json::render(inspected)?)
                .map_err(|e| Error::Invalid(format!("encoding JSON: {e}")))?;
            out.push(b'\n');
            out
        }
    })
}

/// The platform in an image's config; empty when the config was not fetched.
fn config_platform(config: Option<&[u8]>) -> Result<ConfigPlatform> {
    match config {
        Some(bytes) => manifest::parse_config_platform(bytes),
        None => Ok(ConfigPlatform::default()),
    }
}

#[cfg(test)]
mod test_data {
    //! Manifests the renderers' tests share.

    use crate::manifest::ImageManifest;

    /// An OCI image manifest with `layers` layers `sha256:0000000000000000000000000000000000000000000000000000000000000000`, `sha256:1111111111111111111111111111111111111111111111111111111111111111`, ...
    pub(super) fn image(layers: usize) -> ImageManifest {
        let layers: Vec<String> = (0..layers)
            .map(|i| format!(r#"{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:{}","size":10}}"#, i.to_string().repeat(64)))
            .collect();
        serde_json::from_str(&format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
                "config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc","size":5}},
                "layers":[{}]}}"#,
            layers.join(",")
        ))
        .unwrap()
    }
}
