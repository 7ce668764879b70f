//! Fetch what a format needs to show a reference. At most three round trips deep after
//! authentication: the manifest, then all child manifests of a list at once (or the config of a
//! single image).

use super::{Content, Format, Inspected};
use crate::error::Result;
use crate::manifest::{self, ImageManifest, Index, MAX_CONFIG_BYTES, Manifest};
use crate::parallel;
use crate::reference::ImageRef;
use crate::reference::ManifestRef;
use crate::store::Store;

/// Connections opened ahead of an inspect, before it is known whether the reference is a
/// list: six, as many as browsers open to one host, which covers a list of six images on the
/// first round trip after the list's own. An unused one costs the registry an idle connection
/// until we exit; a longer list opens the rest when its children are fetched.
const LIKELY_CHILDREN: usize = 6;

/// The tag inspected when a reference names neither a tag nor a digest.
pub const DEFAULT_TAG: &str = "latest";

/// Fetch what `format` needs to show `reference` (typed as `name`).
pub fn fetch(store: &Store, reference: &ImageRef, name: &str, format: Format) -> Result<Inspected> {
    // Without a tag or a digest, `latest`, as the Go tool's README promised (its v2 refused).
    let wanted = reference
        .manifest_ref()
        .unwrap_or_else(|| ManifestRef::Tag(DEFAULT_TAG.to_string()));
    store.want(&["pull"]);
    let children_wanted = !matches!(format, Format::Verbatim | Format::Platforms);
    if children_wanted {
        // A list's children are fetched all at once: open their connections while the list
        // itself is on its way.
        Store::preconnect(std::iter::repeat_n(store, LIKELY_CHILDREN));
    }
    let top = store
        .get_manifest(&wanted)
        .map_err(|e| e.context(format!("fetching {name}")))?;
    let parsed = manifest::parse_manifest(&top.media_type, &top.bytes)?;
    let content = match parsed {
        Manifest::Index(index) => {
            let children = if children_wanted {
                fetch_children(store, &index)?
            } else {
                Vec::new()
            };
            Content::List { index, children }
        }
        Manifest::Image(image) => {
            let config = if format == Format::Verbatim {
                None
            } else {
                let bytes = store
                    .get_blob(&image.config, MAX_CONFIG_BYTES)
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
            .get_manifest(&ManifestRef::Digest(entry.digest.clone()))
            .map_err(|e| e.context(format!("fetching list entry {}", entry.digest)))?;
        match manifest::parse_manifest(&child.media_type, &child.bytes)? {
            Manifest::Image(image) => Ok(Some(*image)),
            Manifest::Index(_) => Ok(None),
        }
    })
    .into_iter()
    .collect()
}
