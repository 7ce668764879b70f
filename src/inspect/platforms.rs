//! `--format platforms`: the seed's mquery layout, whether an image is a list and for which
//! platforms. Attestation entries are not platforms and are left out; a list's children are
//! not fetched, its entries say their platforms.

use super::{Content, Inspected, config_platform};
use crate::error::Result;
use crate::escape::escape_controls;
use std::fmt::Write;

/// The mquery layout of `inspected`:
///
/// ```text
/// Image: registry:5000/app:1.0
///  * Manifest List: Yes
///  * Supported platforms:
///    - linux/amd64
///    - windows/amd64:10.0.17763.2565
/// ```
///
/// then a blank line; a single image has ` * Supports: os/arch[/variant]` instead of the list.
pub(super) fn render(inspected: &Inspected) -> Result<String> {
    let mut out = format!("Image: {}\n", escape_controls(&inspected.name));
    match &inspected.content {
        Content::List { index, .. } => {
            out.push_str(" * Manifest List: Yes\n * Supported platforms:\n");
            for entry in index.manifests.iter().filter(|e| !e.is_attestation()) {
                let name = match &entry.platform {
                    Some(p) => platform_name(&p.os, &p.architecture, &p.variant, &p.os_version),
                    None => "(no platform specified)".to_string(),
                };
                let _ = writeln!(out, "   - {name}");
            }
        }
        Content::Image { config, .. } => {
            let p = config_platform(config.as_deref())?;
            let name = platform_name(&p.os, &p.architecture, &p.variant, &p.os_version);
            let _ = writeln!(out, " * Manifest List: No\n * Supports: {name}");
        }
    }
    out.push('\n');
    Ok(out)
}

/// [`crate::manifest::platform_label`], escaped for the terminal.
fn platform_name(os: &str, arch: &str, variant: &str, os_version: &str) -> String {
    escape_controls(&crate::manifest::platform_label(
        os, arch, variant, os_version,
    ))
}
