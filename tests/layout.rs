//! OCI image layout directories as sources and targets (`oci-layout://PATH:TAG`): every mix
//! with a real registry, read back by skopeo, the README demo, and failures that leave nothing
//! half-written.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use std::path::Path;
use support::media::OCI_INDEX;
use support::{
    Mode, PLATFORM_TAGS, Registry, Seeded, TempDir, bare_command, completed_uploads, layout_copy,
    layout_spec, manifest_tool, outcome, sha256_digest, walk, write_file,
};

fn shared() -> &'static (Registry, Seeded) {
    support::shared(Mode::PlainHttp)
}

fn skopeo_raw_oci(layout: &Path, tag: &str) -> Vec<u8> {
    support::run(
        support::tool("skopeo")
            .args(["inspect", "--raw"])
            .arg(format!("oci:{}:{tag}", layout.display())),
    )
    .stdout
}

/// Run the binary with a clean environment and no registry flags.
fn run(args: &[&str]) -> support::Outcome {
    let home = TempDir::new("mt-layout-home");
    outcome(bare_command(&home).args(args))
}

fn all_tags() -> Vec<&'static str> {
    PLATFORM_TAGS.iter().map(|(tag, _)| *tag).collect()
}

/// A directory that exists and is empty is a new layout (a non-empty one without `oci-layout`
/// is refused): the user made the directory first, as for `skopeo copy … oci:DIR`.
#[test]
fn a_push_into_an_existing_empty_directory_makes_it_a_layout() {
    let dir = TempDir::new("mt-empty-target");
    let target = dir.path().join("out");
    std::fs::create_dir(&target).unwrap();
    push_layout_into(&dir, &target, &all_tags()[..2]);
}

/// Pushes `tags` of the test layout into the layout `target` as `:v1` and checks the digest
/// line against the index skopeo reads there; returns that index.
fn push_layout_into(dir: &TempDir, target: &std::path::Path, tags: &[&str]) -> Vec<u8> {
    let spec = layout_spec(
        &format!("oci-layout://{}:v1", target.display()),
        support::layout_dir(),
        tags,
    );
    let file = write_file(dir.path(), "spec.yaml", &spec);
    let run = run(&["push", "from-spec", &file]).success();
    let written = skopeo_raw_oci(target, "v1");
    assert_eq!(
        run.out(),
        format!("Digest: {} {}\n", sha256_digest(&written), written.len())
    );
    written
}

#[test]
fn layout_to_layout_gives_the_same_index_as_a_registry_target() {
    let (reg, _) = shared();
    let dir = TempDir::new("mt-l2l");
    let target = dir.path().join("out");
    let written = push_layout_into(&dir, &target, &all_tags());

    // The same six OCI images pushed from the registry (where skopeo put the same bytes) to a
    // registry target give the same index, byte for byte.
    let host = reg.host();
    let mut registry_spec = format!("image: {host}/oci/app:from-registry\nmanifests:\n");
    for tag in all_tags() {
        registry_spec.push_str(&format!("  - image: {host}/oci/app:{tag}\n"));
    }
    let file = write_file(dir.path(), "registry.yaml", &registry_spec);
    manifest_tool(reg, &["push", "--type", "oci", "from-spec", &file]).success();
    assert_eq!(reg.skopeo_inspect_raw("oci/app:from-registry"), written);

    // skopeo copies the whole index from our layout into the real registry.
    support::run(
        reg.skopeo()
            .args(["copy", "--all", "-q"])
            .args(reg.skopeo_dest_args())
            .arg(format!("oci:{}:v1", target.display()))
            .arg(format!("docker://{host}/copied/app:v1")),
    );
    assert_eq!(reg.skopeo_inspect_raw("copied/app:v1"), written);
}

#[test]
fn registry_to_layout_and_layout_to_registry() {
    let (reg, _) = shared();
    let host = reg.host();
    let dir = TempDir::new("mt-mix");
    let target = dir.path().join("from-registry");
    let mut spec = format!("image: oci-layout://{}:v1\nmanifests:\n", target.display());
    for tag in all_tags() {
        spec.push_str(&format!("  - image: {host}/docker/app:{tag}\n"));
    }
    let file = write_file(dir.path(), "to-layout.yaml", &spec);
    manifest_tool(reg, &["push", "from-spec", &file]).success();
    let index: serde_json::Value = serde_json::from_slice(&skopeo_raw_oci(&target, "v1")).unwrap();
    assert_eq!(
        index["mediaType"], OCI_INDEX,
        "an OCI layout target gets an OCI index unless --type says otherwise"
    );
    assert_eq!(index["manifests"].as_array().unwrap().len(), 6);
    let copy_out = dir.path().join("copy-out");
    support::run(
        support::tool("skopeo")
            .args(["copy", "--all", "-q"])
            .arg(format!("oci:{}:v1", target.display()))
            .arg(format!("oci:{}:x", copy_out.display())),
    );

    let spec = layout_spec(
        &format!("{host}/from-layout/app:v1"),
        support::layout_dir(),
        &["linux-amd64", "linux-s390x"],
    );
    let file = write_file(dir.path(), "to-registry.yaml", &spec);
    reg.clear_access_log();
    let run = manifest_tool(reg, &["push", "from-spec", &file]).success();
    let log = reg.access_log();
    let uploads = completed_uploads(&log, "from-layout/app");
    assert_eq!(uploads, 4, "two configs and two layers streamed: {log:#?}");
    let pushed = reg.skopeo_inspect_raw("from-layout/app:v1");
    assert_eq!(
        run.out(),
        format!("Digest: {} {}\n", sha256_digest(&pushed), pushed.len())
    );
    let copy_out = dir.path().join("copy-out-2");
    support::run(
        reg.skopeo()
            .args(["copy", "--all", "-q"])
            .args(reg.skopeo_src_args())
            .arg(format!("docker://{host}/from-layout/app:v1"))
            .arg(format!("oci:{}:x", copy_out.display())),
    );
}

#[test]
fn from_args_and_inspect_work_on_layouts() {
    let dir = TempDir::new("mt-args");
    let source = support::layout_dir();
    let target = dir.path().join("out");
    run(&[
        "push",
        "from-args",
        "--platforms",
        "linux/arm/v7,linux/arm64/v8",
        "--template",
        &format!("oci-layout://{}:OS-ARCH-VARIANT", source.display()),
        "--target",
        &format!("oci-layout://{}:v2", target.display()),
        "--tags",
        "latest",
    ])
    .success();
    let written = skopeo_raw_oci(&target, "latest");
    assert_eq!(written, skopeo_raw_oci(&target, "v2"));

    let name = format!("oci-layout://{}:latest", target.display());
    let verbatim = run(&["inspect", "--format", "verbatim", &name]).success();
    assert_eq!(verbatim.stdout, written);
    let text = run(&["inspect", &name]).success().out();
    assert!(text.starts_with(&format!(
        "Name:   {name} (Type: application/vnd.oci.image.index.v1+json)\nDigest: {}\n * Contains 2 manifest references (2 images, 0 attestation):\n",
        sha256_digest(&written)
    )), "{text}");
    let raw = run(&[
        "inspect",
        "--raw",
        &format!("oci-layout://{}:linux-s390x", source.display()),
    ])
    .success()
    .out();
    let doc: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(doc["architecture"], "s390x");
}

#[test]
fn the_shipped_demo_layout_is_what_its_script_writes() {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/demo-layout");
    let generated = support::layout_dir();
    let list = |root: &Path| -> Vec<(String, Vec<u8>)> {
        let mut files = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let name = path.strip_prefix(root).unwrap().display().to_string();
                    files.push((name, std::fs::read(&path).unwrap()));
                }
            }
        }
        files.sort();
        files
    };
    assert!(
        list(&shipped) == list(generated),
        "examples/demo-layout is stale: run python3 tests/support/make_layout.py examples/demo-layout"
    );
}

#[test]
fn the_readme_demo_runs_without_a_registry() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let home = TempDir::new("mt-demo");
    let out = root.join("target/demo");
    let _ = std::fs::remove_dir_all(&out);
    let push = outcome(bare_command(&home).current_dir(root).args([
        "push",
        "from-spec",
        "examples/demo.yaml",
    ]))
    .success();
    let written = skopeo_raw_oci(&out, "latest");
    assert_eq!(
        push.out(),
        format!("Digest: {} {}\n", sha256_digest(&written), written.len())
    );
    let text = outcome(
        bare_command(&home)
            .current_dir(root)
            .args(["inspect", "oci-layout://target/demo:latest"]),
    )
    .success()
    .out();
    assert!(text.contains(" * Contains 6 manifest references (6 images, 0 attestation):"));
}

#[test]
fn a_directory_that_is_not_a_layout_or_lacks_the_tag_is_refused() {
    let dir = TempDir::new("mt-notlayout");
    write_file(dir.path(), "something.txt", "not a layout");
    let name = format!("oci-layout://{}:v1", dir.path().display());
    run(&["inspect", &name]).fails_with("is not an OCI image layout");

    let source = support::layout_dir();
    let spec = layout_spec(&name, source, &["linux-amd64"]);
    let file = write_file(dir.path(), "spec.yaml", &spec);
    run(&["push", "from-spec", &file]).fails_with("is not an OCI image layout");
    assert!(!dir.path().join("index.json").exists(), "nothing written");

    let missing = format!("oci-layout://{}:no-such-tag", source.display());
    let line =
        run(&["inspect", &missing]).fails_with("tag \"no-such-tag\" not found in OCI layout");
    assert!(
        line.contains("linux-amd64"),
        "lists the tags it has: {line}"
    );

    let target = dir.path().join("never");
    let spec = layout_spec(
        &format!("oci-layout://{}:v1", target.display()),
        source,
        &["linux-amd64", "no-such-tag"],
    );
    let file = write_file(dir.path(), "missing.yaml", &spec);
    run(&["push", "from-spec", &file]).fails_with("no-such-tag");
    assert!(!target.exists(), "a failed push creates no target layout");
}

#[test]
fn a_corrupt_blob_is_an_error_and_nothing_is_half_written() {
    let dir = TempDir::new("mt-corrupt");
    let source = layout_copy(&dir);
    // Corrupt the one layer of linux-amd64 (same size, other bytes).
    let manifest: serde_json::Value =
        serde_json::from_slice(&skopeo_raw_oci(&source, "linux-amd64")).unwrap();
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let path = source.join("blobs/sha256").join(&layer["sha256:".len()..]);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[10] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();

    let target = dir.path().join("out");
    let spec = layout_spec(
        &format!("oci-layout://{}:v1", target.display()),
        &source,
        &["linux-amd64", "linux-s390x"],
    );
    let file = write_file(dir.path(), "spec.yaml", &spec);
    run(&["push", "from-spec", &file]).fails_with(&format!("expected digest {layer}"));
    let leftovers: Vec<String> = walk(&target)
        .into_iter()
        .filter(|p| p.contains(".tmp-") || p.ends_with(&layer["sha256:".len()..]))
        .collect();
    assert!(
        leftovers.is_empty(),
        "no temp file, no corrupt blob: {leftovers:?}"
    );
    if target.join("index.json").exists() {
        let index = std::fs::read_to_string(target.join("index.json")).unwrap();
        assert!(
            !index.contains("\"v1\""),
            "the tag was not written: {index}"
        );
    }
}

/// `index.json` is replaced by a rename, never rewritten in place: a reader (or a crash) sees the
/// old index or the new one, whole. A hard link to the old file keeps the old bytes, which a
/// write into the same file would change.
#[test]
fn index_json_is_replaced_whole_never_written_in_place() {
    let dir = TempDir::new("mt-index-rename");
    let target = dir.path().join("out");
    let source = support::layout_dir();
    let push = |tag: &str| {
        let spec = layout_spec(
            &format!("oci-layout://{}:{tag}", target.display()),
            source,
            &["linux-amd64"],
        );
        let file = write_file(dir.path(), &format!("{tag}.yaml"), &spec);
        run(&["push", "from-spec", &file]).success();
    };
    push("v1");
    let index = target.join("index.json");
    let before = std::fs::read_to_string(&index).unwrap();
    let old_link = dir.path().join("index.json.v1");
    std::fs::hard_link(&index, &old_link).unwrap();

    push("v2");
    assert_eq!(
        std::fs::read_to_string(&old_link).unwrap(),
        before,
        "the old index.json was written in place"
    );
    let after = std::fs::read_to_string(&index).unwrap();
    assert_ne!(after, before);
    // Both tags are in the new index, and nothing else was left beside it.
    assert_eq!(skopeo_raw_oci(&target, "v2"), skopeo_raw_oci(&target, "v1"));
    let mut top: Vec<String> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["blobs", "index.json", "oci-layout"]);
}

#[test]
fn a_read_only_target_fails_cleanly_naming_the_target_directory() {
    // An empty directory, and a layout that is already there (whose blob directory exists, so
    // the first write that fails is a temp file's, which the error must not name).
    for prefilled in [false, true] {
        let dir = TempDir::new("mt-readonly");
        let target = if prefilled {
            layout_copy(&dir)
        } else {
            dir.path().join("ro")
        };
        std::fs::create_dir_all(&target).unwrap();
        let before = walk(&target);
        let source = support::layout_dir();
        let spec = layout_spec(
            &format!("oci-layout://{}:v1", target.display()),
            source,
            &["linux-amd64"],
        );
        let file = write_file(dir.path(), "spec.yaml", &spec);
        // A read-only bind mount in a mount namespace of our own: read-only even for root.
        let script = format!(
            "mount --bind {t} {t} && mount -o remount,ro,bind {t} && exec \"$0\" push from-spec {file}",
            t = target.display()
        );
        let home = TempDir::new("mt-ro-home");
        let clean = bare_command(&home);
        let mut unshare = support::tool("unshare");
        unshare
            .args([
                "-m",
                "sh",
                "-c",
                &script,
                env!("CARGO_BIN_EXE_manifest-tool"),
            ])
            .envs(clean.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
        let run = outcome(&mut unshare);
        let line = run.fails_with(&format!(
            " to OCI layout {}: Read-only file system",
            target.display()
        ));
        assert!(!line.contains(".tmp"), "{line}");
        assert_eq!(walk(&target), before, "nothing written");
    }
}
