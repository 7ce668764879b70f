//! Writing hand-made images straight into a plain-HTTP registry, for manifests no client tool
//! makes (a layer with external `urls` whose blob the registry does not hold, for one).

use super::registry::Registry;
use super::sha256_digest;

/// Restarts `reg` (same port and storage) accepting manifests whose layers have `urls` on
/// 127.0.0.1, as a registry that serves Windows images does: by default the registry refuses
/// any manifest with a layer URL.
pub fn allow_layer_urls(reg: &Registry) {
    let config = reg.dir().join("config.yml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str("validation:\n  manifests:\n    urls:\n      allow:\n        - '^http://127\\.0\\.0\\.1:'\n");
    std::fs::write(&config, text).unwrap();
    reg.restart();
}

/// Uploads `bytes` as a blob of `repo` in the plain-HTTP registry at `host` (`POST` an upload
/// session, then `PUT` the whole body with its digest); returns the digest.
pub fn upload_blob(host: &str, repo: &str, bytes: &[u8]) -> String {
    let digest = sha256_digest(bytes);
    let opened = ureq::post(format!("http://{host}/v2/{repo}/blobs/uploads/"))
        .send_empty()
        .unwrap_or_else(|e| panic!("opening an upload in {host}/{repo}: {e}"));
    let location = opened
        .headers()
        .get("location")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_else(|| panic!("{host} opened an upload without a Location"))
        .to_string();
    let location = match location.starts_with('/') {
        true => format!("http://{host}{location}"),
        false => location,
    };
    let separator = if location.contains('?') { '&' } else { '?' };
    ureq::put(format!("{location}{separator}digest={digest}"))
        .header("Content-Type", "application/octet-stream")
        .send(bytes)
        .unwrap_or_else(|e| panic!("uploading {digest} to {host}/{repo}: {e}"));
    digest
}

/// PUTs `bytes` as the manifest `repo:reference` with `media_type` in the plain-HTTP registry at
/// `host`; returns the manifest's digest.
pub fn put_manifest(
    host: &str,
    repo: &str,
    reference: &str,
    media_type: &str,
    bytes: &[u8],
) -> String {
    let mut answer = ureq::put(format!("http://{host}/v2/{repo}/manifests/{reference}"))
        .config()
        .http_status_as_error(false)
        .build()
        .header("Content-Type", media_type)
        .send(bytes)
        .unwrap_or_else(|e| panic!("PUT manifest {host}/{repo}:{reference}: {e}"));
    if answer.status() != 201 {
        panic!(
            "PUT manifest {host}/{repo}:{reference}: {}\n{}\n--- manifest\n{}",
            answer.status(),
            answer.body_mut().read_to_string().unwrap_or_default(),
            String::from_utf8_lossy(bytes)
        );
    }
    sha256_digest(bytes)
}
