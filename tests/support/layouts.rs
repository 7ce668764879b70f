//! Private copies of the test layout, changed the way a test needs, and a look at what a run
//! left in a directory.

use super::{NO_TAGS, TempDir, layout_dir, push_spec, run, sha256_digest};
use std::path::{Path, PathBuf};

/// A private copy of the test layout (`layout_dir`) in `dir`, so a test may change it.
pub fn layout_copy(dir: &TempDir) -> PathBuf {
    let copy = dir.path().join("source-layout");
    run(std::process::Command::new("cp")
        .arg("-r")
        .arg(layout_dir())
        .arg(&copy));
    copy
}

/// A spec that pushes `tags` of the layout at `source` to `target`.
pub fn layout_spec(target: &str, source: &Path, tags: &[&str]) -> String {
    let sources: Vec<String> = tags
        .iter()
        .map(|tag| format!("oci-layout://{}:{tag}", source.display()))
        .collect();
    push_spec(target, &sources, NO_TAGS)
}

/// Where the blob `digest` (`sha256:…`) of the layout at `root` lives.
pub fn blob_path(root: &Path, digest: &str) -> PathBuf {
    let hex = digest
        .strip_prefix("sha256:")
        .unwrap_or_else(|| panic!("not a sha256 digest: {digest}"));
    root.join("blobs/sha256").join(hex)
}

/// The manifest (parsed) that `tag` names in the layout at `root`, read from its files.
pub fn manifest_of(root: &Path, tag: &str) -> serde_json::Value {
    let digest = index_entry(root, tag)["digest"]
        .as_str()
        .unwrap_or_else(|| panic!("no digest for {tag}"))
        .to_string();
    let bytes = std::fs::read(blob_path(root, &digest)).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// The `index.json` entry of `tag` in the layout at `root`.
pub fn index_entry(root: &Path, tag: &str) -> serde_json::Value {
    index_manifests(root)
        .into_iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .unwrap_or_else(|| panic!("no tag {tag} in {}", root.display()))
}

/// The `manifests` entries of the `index.json` of the layout at `root`.
fn index_manifests(root: &Path) -> Vec<serde_json::Value> {
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("index.json")).unwrap()).unwrap();
    index["manifests"].as_array().unwrap().clone()
}

/// Give `tag` of the layout at `root` the manifest `manifest`: its bytes become a blob and the
/// tag's `index.json` entry points at them, with the manifest's `mediaType`. Returns the new manifest's digest.
pub fn retag(root: &Path, tag: &str, manifest: &serde_json::Value) -> String {
    let bytes = serde_json::to_vec(manifest).unwrap();
    let digest = sha256_digest(&bytes);
    std::fs::write(blob_path(root, &digest), &bytes).unwrap();
    let path = root.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    for entry in index["manifests"].as_array_mut().unwrap() {
        if entry["annotations"]["org.opencontainers.image.ref.name"] == tag {
            entry["digest"] = digest.clone().into();
            entry["size"] = bytes.len().into();
            if let Some(media_type) = manifest.get("mediaType") {
                entry["mediaType"] = media_type.clone();
            }
        }
    }
    std::fs::write(&path, serde_json::to_vec(&index).unwrap()).unwrap();
    digest
}

/// The tags (`org.opencontainers.image.ref.name`) in the `index.json` of the layout at `root`.
pub fn tags_in(root: &Path) -> Vec<String> {
    index_manifests(root)
        .iter()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .map(str::to_string)
        .collect()
}

/// Every file below `root` (none if it does not exist).
pub fn walk(root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.push(path.display().to_string());
            }
        }
    }
    files
}
