//! Our `--format json`: one document with everything the text layout shows, for scripts.

use super::{Content, Inspected, config_platform};
use crate::error::Result;
use crate::manifest::{self, ImageManifest};
use serde_json::{Value, json};

/// Our `--format json`: everything the text layout shows, as one document.
pub(super) fn render(inspected: &Inspected) -> Result<Value> {
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
