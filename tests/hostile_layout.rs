//! OCI layouts you did not make yourself (issue 12): a layout handed to you, or shared with
//! other runs, must not make a push write outside a directory, send a file from outside the
//! layout, lose a tag, hang, or print a megabyte of error.

mod support;

use support::{TempDir, bare_command, layout_copy, outcome};

#[test]
fn a_missing_tag_in_a_layout_of_many_tags_is_reported_in_a_short_line() {
    let dir = TempDir::new("mt-hostile-many-tags");
    let source = layout_copy(&dir);
    let entry = support::index_entry(&source, "linux-amd64");
    let manifests: Vec<serde_json::Value> = (0..100_000)
        .map(|i| {
            let mut e = entry.clone();
            e["annotations"]["org.opencontainers.image.ref.name"] = format!("tag-{i}").into();
            e
        })
        .collect();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": manifests,
    });
    std::fs::write(
        source.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    let home = TempDir::new("mt-hostile-many-home");
    let name = format!("oci-layout://{}:no-such-tag", source.display());
    let run = outcome(bare_command(&home).args(["inspect", &name]));
    let line = run.fails_with("tag \"no-such-tag\" not found in OCI layout");
    assert!(
        line.len() < 400,
        "{} bytes: {}…",
        line.len(),
        &line[..400.min(line.len())]
    );
    assert!(
        line.ends_with(&format!(
            "{} (it has 100000 tags: tag-0, tag-1, tag-2, tag-3, tag-4 and 99995 more)",
            source.display()
        )),
        "{line}"
    );
}
