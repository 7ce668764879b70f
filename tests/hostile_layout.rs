//! OCI layouts you did not make yourself: a layout handed to you, or shared with
//! other runs, must not make a push write outside a directory, send a file from outside the
//! layout, lose a tag, hang, or print a megabyte of error.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;
use support::{
    Outcome, TempDir, bare_command, blob_path, layout_copy, layout_spec, manifest_of, outcome,
    outcome_within, retag, sha256_digest, tags_in, walk, write_file,
};

/// Long enough for any of these runs on a loaded machine; a hang is what it catches.
const HANG: Duration = Duration::from_secs(20);

/// An empty layout at `root`, as another tool would have made it.
fn empty_layout(root: &Path) {
    std::fs::create_dir_all(root.join("blobs/sha256")).unwrap();
    std::fs::write(root.join("oci-layout"), r#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(
        root.join("index.json"),
        r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}"#,
    )
    .unwrap();
}

/// The binary with a clean environment, `args`, and a deadline.
fn run_within(home: &TempDir, args: &[&str]) -> Outcome {
    outcome_within(bare_command(home).args(args), HANG)
}

/// Push `tags` of `source` to `target` (`oci-layout://…:TAG` or a registry) with a spec file.
fn push_spec(dir: &TempDir, name: &str, target: &str, source: &Path, tags: &[&str]) -> Outcome {
    let file = write_file(dir.path(), name, &layout_spec(target, source, tags));
    run_within(dir, &["push", "from-spec", &file])
}

/// [`push_spec`] of `source`'s linux-amd64 image to tag v1 of the layout at `target`.
fn push_amd64_to_v1(dir: &TempDir, name: &str, source: &Path, target: &Path) -> Outcome {
    push_spec(
        dir,
        name,
        &layout_target(target, "v1"),
        source,
        &["linux-amd64"],
    )
}

fn layout_target(root: &Path, tag: &str) -> String {
    format!("oci-layout://{}:{tag}", root.display())
}

/// A file outside every layout, with content that must survive the run.
fn precious_file(dir: &TempDir) -> (PathBuf, &'static str) {
    let text = "precious: must never be written by a push\n";
    (
        PathBuf::from(write_file(dir.path(), "precious.txt", text)),
        text,
    )
}

#[test]
fn a_push_does_not_write_through_symlinks_planted_at_its_temp_file_names() {
    let dir = TempDir::new("mt-hostile-temp");
    let (precious, text) = precious_file(&dir);
    let target = dir.path().join("shared");
    empty_layout(&target);
    let spec = write_file(
        dir.path(),
        "spec.yaml",
        &layout_spec(
            &layout_target(&target, "v1"),
            support::layout_dir(),
            &["linux-amd64", "linux-s390x"],
        ),
    );
    // Someone who can write to the layout plants symlinks at every name the push would give its
    // temp files, knowing its pid: the shell's own, which `exec` keeps. Old names were
    // `.tmp-manifest-tool-<pid>-<n>`; plant the first 200 of them in both directories written to.
    let script = format!(
        "for d in {root} {root}/blobs/sha256; do n=0; while [ $n -lt 200 ]; do \
         ln -s {precious} $d/.tmp-manifest-tool-$$-$n; n=$((n+1)); done; done; \
         exec \"$0\" push from-spec {spec}",
        root = target.display(),
        precious = precious.display(),
    );
    let home = TempDir::new("mt-hostile-temp-home");
    let clean = bare_command(&home);
    let mut sh = Command::new("sh");
    sh.args(["-c", &script, env!("CARGO_BIN_EXE_manifest-tool")])
        .envs(clean.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
    let run = outcome_within(&sh, HANG);

    assert_eq!(
        std::fs::read_to_string(&precious).unwrap(),
        text,
        "the push wrote through a symlink into a file outside the layout"
    );
    let run = run.success();
    assert!(run.out().starts_with("Digest: sha256:"), "{}", run.out());
    assert_eq!(tags_in(&target), ["v1"]);
    for file in walk(&target) {
        let path = Path::new(&file);
        if !path
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(".tmp-")
        {
            assert!(
                !path.symlink_metadata().unwrap().is_symlink(),
                "{file} is a symlink"
            );
        }
    }
}

/// A copy of the test layout whose `linux-amd64` image has one layer: the bytes `layer`, at
/// `blobs/sha256/<its digest>`, which the caller may then replace. Returns the copy and the
/// layer's digest.
fn layout_with_layer(dir: &TempDir, layer: &[u8]) -> (PathBuf, String) {
    let source = layout_copy(dir);
    let digest = sha256_digest(layer);
    std::fs::write(blob_path(&source, &digest), layer).unwrap();
    let mut manifest = manifest_of(&source, "linux-amd64");
    manifest["layers"][0]["digest"] = digest.clone().into();
    manifest["layers"][0]["size"] = layer.len().into();
    retag(&source, "linux-amd64", &manifest);
    (source, digest)
}

#[test]
fn a_blob_that_is_a_symlink_out_of_the_layout_is_not_sent_anywhere() {
    let dir = TempDir::new("mt-hostile-blob-link");
    let secret_text = "-----BEGIN OPENSSH PRIVATE KEY----- not really\n";
    let secret = PathBuf::from(write_file(dir.path(), "id_rsa", secret_text));
    // The handed-over layout names the secret's digest as a layer and links the blob to it.
    let (source, digest) = layout_with_layer(&dir, secret_text.as_bytes());
    let blob = blob_path(&source, &digest);
    std::fs::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink(&secret, &blob).unwrap();

    let target = dir.path().join("out");
    let run = push_amd64_to_v1(&dir, "spec.yaml", &source, &target);
    let line = run.fails_with(&digest);
    assert!(line.contains("symbolic link"), "{line}");
    assert!(line.contains(&source.display().to_string()), "{line}");
    let copied: Vec<String> = walk(&target)
        .into_iter()
        .filter(|f| std::fs::read(f).unwrap_or_default() == secret_text.as_bytes())
        .collect();
    assert!(copied.is_empty(), "the secret was copied: {copied:?}");
}

#[test]
fn a_layout_whose_blobs_directory_is_a_symlink_is_refused() {
    let dir = TempDir::new("mt-hostile-blobs-link");
    // As a source: blobs/sha256 is a link to a directory outside (here: a copy of the real one).
    let source = layout_copy(&dir);
    let outside = dir.path().join("elsewhere");
    std::fs::rename(source.join("blobs/sha256"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, source.join("blobs/sha256")).unwrap();
    let target = dir.path().join("out");
    let run = push_amd64_to_v1(&dir, "from.yaml", &source, &target);
    let line = run.fails_with("blobs/sha256 is a symbolic link");
    assert!(line.contains(&source.display().to_string()), "{line}");
    assert!(walk(&target).is_empty(), "{:?}", walk(&target));

    // As a target: blobs is a link to a directory outside, which must stay empty.
    let target = dir.path().join("target");
    empty_layout(&target);
    let outside = dir.path().join("outside-blobs");
    std::fs::rename(target.join("blobs"), &outside).unwrap();
    std::os::unix::fs::symlink(&outside, target.join("blobs")).unwrap();
    let run = push_amd64_to_v1(&dir, "into.yaml", support::layout_dir(), &target);
    let line = run.fails_with("blobs is a symbolic link");
    assert!(line.contains(&target.display().to_string()), "{line}");
    assert!(walk(&outside).is_empty(), "{:?}", walk(&outside));
}

#[test]
fn concurrent_pushes_into_one_layout_keep_every_tag() {
    const ROUNDS: usize = 5;
    let dir = TempDir::new("mt-hostile-concurrent");
    let target = dir.path().join("shared");
    empty_layout(&target);
    let mut reported = Vec::new();
    for round in 0..ROUNDS {
        reported.extend(push_concurrently(&dir, &target, round));
    }
    let tags = tags_in(&target);
    let lost: Vec<&String> = reported.iter().filter(|t| !tags.contains(t)).collect();
    assert!(
        lost.is_empty(),
        "{} of {} reported tags are not in index.json: {lost:?}",
        lost.len(),
        reported.len()
    );
}

/// Put a FIFO at `path` (which nobody will ever write to).
fn mkfifo(path: &Path) {
    let _ = std::fs::remove_file(path);
    support::run(Command::new("mkfifo").arg(path));
}

/// Replace `path` with a symlink to `/dev/zero`, endless bytes.
fn link_to_dev_zero(path: &Path) {
    let _ = std::fs::remove_file(path);
    std::os::unix::fs::symlink("/dev/zero", path).unwrap();
}

#[test]
fn a_fifo_or_dev_zero_in_place_of_a_layout_file_is_refused_at_once() {
    let dir = TempDir::new("mt-hostile-fifo");
    let inspect = |root: &Path| {
        let name = format!("oci-layout://{}:linux-amd64", root.display());
        // `outcome_within` caps memory too, so that reading /dev/zero whole fails rather than
        // fills the machine.
        let home = TempDir::new("mt-hostile-fifo-home");
        outcome_within(bare_command(&home).args(["inspect", &name]), HANG)
    };
    for (file, spoil, fragment) in [
        ("oci-layout", mkfifo as fn(&Path), "oci-layout is a FIFO"),
        ("index.json", mkfifo, "index.json is a FIFO"),
        (
            "index.json",
            link_to_dev_zero,
            "index.json is a symbolic link",
        ),
    ] {
        let copy_dir = TempDir::new("mt-hostile-fifo-copy");
        let source = layout_copy(&copy_dir);
        spoil(&source.join(file));
        let line = inspect(&source).fails_with(fragment);
        assert!(line.contains(&source.display().to_string()), "{line}");
    }

    // A blob in a source layout: the config (read whole) and the layer (streamed).
    for (which, spoil, fragment) in [
        ("config", mkfifo as fn(&Path), "is a FIFO"),
        ("layer", mkfifo, "is a FIFO"),
        ("layer", link_to_dev_zero, "is a symbolic link"),
    ] {
        let copy_dir = TempDir::new("mt-hostile-blob-copy");
        let source = layout_copy(&copy_dir);
        let manifest = manifest_of(&source, "linux-amd64");
        let digest = match which {
            "config" => manifest["config"]["digest"].as_str().unwrap(),
            _ => manifest["layers"][0]["digest"].as_str().unwrap(),
        };
        spoil(&blob_path(&source, digest));
        let target = copy_dir.path().join("out");
        let line = push_amd64_to_v1(&copy_dir, "spec.yaml", &source, &target).fails_with(fragment);
        assert!(line.contains(digest), "{which}: {line}");
    }

    // The target's own index.json.
    let target = dir.path().join("target");
    empty_layout(&target);
    mkfifo(&target.join("index.json"));
    push_amd64_to_v1(&dir, "spec.yaml", support::layout_dir(), &target)
        .fails_with("index.json is a FIFO");
}

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

/// A list may name a child by a sha512 digest. The push verifies the child with sha512 and
/// writes it under `blobs/sha512/`, where the layout it is written to can still read it.
#[test]
fn a_child_referenced_by_sha512_stays_readable_in_the_layout_it_is_written_to() {
    use sha2::{Digest, Sha512};
    let dir = TempDir::new("mt-sha512-child");
    let source = layout_copy(&dir);
    let amd64 = support::index_entry(&source, "linux-amd64");
    let child = std::fs::read(blob_path(&source, amd64["digest"].as_str().unwrap())).unwrap();
    let hex: String = Sha512::digest(&child)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    std::fs::create_dir_all(source.join("blobs/sha512")).unwrap();
    std::fs::write(source.join("blobs/sha512").join(&hex), &child).unwrap();
    let list = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": format!("sha512:{hex}"),
            "size": child.len(),
            "platform": {"architecture": "amd64", "os": "linux"},
        }],
    });
    retag(&source, "linux-arm-v7", &list);
    let target = dir.path().join("target");
    let pushed = push_spec(
        &dir,
        "spec.yaml",
        &layout_target(&target, "v1"),
        &source,
        &["linux-arm-v7"],
    );
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);

    let written = std::fs::read(target.join("blobs/sha512").join(&hex)).unwrap_or_default();
    assert!(
        written == child,
        "the child is not under blobs/sha512 of the target"
    );
    let inspected = run_within(&dir, &["inspect", &layout_target(&target, "v1")]).success();
    let text = inspected.out();
    assert!(
        text.contains(&format!("[1]   Digest: sha512:{hex}\n")),
        "{text}"
    );
    let layer = first_layer(&child);
    assert!(text.contains(&layer), "the child was not read: {text}");
    let by_digest = format!("oci-layout://{}@sha512:{hex}", target.display());
    let child_run = run_within(&dir, &["inspect", "--raw", &by_digest]);
    assert_eq!(child_run.code, 0, "{}", child_run.stderr);
}

/// The digest of the first layer of an image manifest.
fn first_layer(manifest: &[u8]) -> String {
    let manifest: serde_json::Value = serde_json::from_slice(manifest).unwrap();
    manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Four pushes of linux-amd64 into the layout at `target` at once, each under a tag of its own
/// (`rROUND-pN`); each must succeed and print its digest. Returns the tags they reported.
fn push_concurrently(dir: &TempDir, target: &Path, round: usize) -> Vec<String> {
    const PUSHES: usize = 4;
    let source = support::layout_dir();
    let children: Vec<(String, std::process::Child)> = (0..PUSHES)
        .map(|i| {
            let tag = format!("r{round}-p{i}");
            let spec = write_file(
                dir.path(),
                &format!("{tag}.yaml"),
                &layout_spec(&layout_target(target, &tag), source, &["linux-amd64"]),
            );
            let child = bare_command(dir)
                .args(["push", "from-spec", &spec])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            (tag, child)
        })
        .collect();
    let mut reported = Vec::new();
    for (tag, child) in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{tag}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("Digest: "), "{tag}: {stdout}");
        reported.push(tag);
    }
    reported
}

/// Runs that create a layout in the same new directory at the same moment all succeed: none
/// finds it half made and refuses it as "not an OCI image layout".
#[test]
fn concurrent_pushes_creating_one_new_layout_all_succeed() {
    const ROUNDS: usize = 8;
    let dir = TempDir::new("mt-hostile-concurrent-new");
    for round in 0..ROUNDS {
        let target = dir.path().join(format!("new-{round}"));
        let reported = push_concurrently(&dir, &target, round);
        assert_eq!(tags_in(&target).len(), reported.len(), "round {round}");
    }
}

/// A push into a layout another process is updating waits for its lock, says so on stderr
/// once a second has passed, and goes on when the lock is released.
#[test]
fn a_push_waiting_for_the_layout_lock_says_so_and_then_succeeds() {
    let dir = TempDir::new("mt-hostile-lock-wait");
    let target = dir.path().join("locked");
    empty_layout(&target);
    let mut holder = Command::new("flock")
        .arg(&target)
        .args(["sleep", "3"])
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let source = support::layout_dir();
    let pushed = push_amd64_to_v1(&dir, "spec.yaml", source, &target);
    holder.wait().unwrap();
    assert_eq!(pushed.code, 0, "{}", pushed.stderr);
    let waiting = format!(
        "waiting for the lock on {}…\n",
        target.join("index.json").display()
    );
    assert_eq!(pushed.stderr, waiting);
    assert_eq!(tags_in(&target), ["v1"]);
}
