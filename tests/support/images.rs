//! The standard test images: an OCI layout made by `make_layout.py`, pushed by skopeo and
//! the docker CLI.

use super::registry::Registry;
use super::{require, run, sha256_digest, target_cache, tool};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The six single-platform tags of the layout (and of every seeded repository), with their
/// `os/arch[/variant]` platform.
pub const PLATFORM_TAGS: [(&str, &str); 6] = [
    ("linux-amd64", "linux/amd64"),
    ("linux-arm-v7", "linux/arm/v7"),
    ("linux-arm64-v8", "linux/arm64/v8"),
    ("linux-ppc64le", "linux/ppc64le"),
    ("linux-s390x", "linux/s390x"),
    ("windows-amd64", "windows/amd64"),
];

/// The script that writes the test layout: `python3 make_layout.py OUT_DIR`.
pub const LAYOUT_SCRIPT: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/make_layout.py");

/// The OCI image layout written by `make_layout.py` (tags: the six of `PLATFORM_TAGS`, `multi`,
/// `attested`). Its output is deterministic, so it is made once and kept (see `target_cache`).
pub fn layout_dir() -> &'static Path {
    static LAYOUT: OnceLock<PathBuf> = OnceLock::new();
    LAYOUT.get_or_init(|| {
        let hash = sha256_digest(include_bytes!("make_layout.py"));
        target_cache(&format!("oci-layout-{}", &hash[7..19]), |dir| {
            run(tool("python3").arg(LAYOUT_SCRIPT).arg(dir));
        })
    })
}

/// Digests of what `seed` pushed.
#[derive(Clone, Debug)]
pub struct Seeded {
    /// `docker/app:list`: Docker manifest list of the six v2.2 images, written by skopeo.
    pub docker_list: String,
    /// `oci/app:index`: OCI index of the six OCI images (the layout's `multi`, same bytes).
    pub oci_index: String,
    /// `oci/app:attested`: OCI index of two images and their buildx-style attestations.
    pub attested: String,
    /// `dockercli/app:list`: Docker manifest list of the six, written by `docker manifest push`.
    pub dockercli_list: String,
    /// Per `PLATFORM_TAGS` entry: (tag, v2.2 digest in `docker/app` and `dockercli/app`,
    /// OCI digest in `oci/app`).
    pub platform_digests: Vec<(String, String, String)>,
}

impl Seeded {
    /// The (v2.2, OCI) digests of a platform tag such as `"linux-arm-v7"`.
    pub fn digests_of(&self, tag: &str) -> (&str, &str) {
        let (_, docker, oci) = self
            .platform_digests
            .iter()
            .find(|(t, _, _)| t == tag)
            .unwrap_or_else(|| panic!("no seeded platform tag {tag}"));
        (docker, oci)
    }
}

/// Pushes the standard image set, then clears the access log and the token requests:
/// - `docker/app`: the six platform tags as Docker v2.2, and `list` (skopeo `--all --format v2s2`);
/// - `oci/app`: the six as OCI, `index` (the layout's `multi`) and `attested`;
/// - `dockercli/app`: the six as v2.2 and `list`, made by `docker manifest create/push` through
///   a `plain_http_twin`;
/// - `public/app:linux-amd64` (v2.2), readable anonymously in `Mode::TlsToken`.
pub fn seed(reg: &Registry) -> Seeded {
    // Checked here rather than in the copying threads, so that a missing one fails the test
    // in one line.
    require(&["skopeo", "python3", "docker"]);
    let copy =
        |layout_tag: &str, dest: &str, format: &str| skopeo_copy(reg, layout_tag, dest, format);
    let platform_digests = std::thread::scope(|s| {
        let jobs: Vec<_> = PLATFORM_TAGS
            .iter()
            .map(|(tag, _)| {
                s.spawn(move || {
                    let docker = copy(tag, &format!("docker/app:{tag}"), "v2s2");
                    let oci = copy(tag, &format!("oci/app:{tag}"), "oci");
                    let again = copy(tag, &format!("dockercli/app:{tag}"), "v2s2");
                    assert_eq!(docker, again, "skopeo converted {tag} differently twice");
                    (tag.to_string(), docker, oci)
                })
            })
            .collect();
        jobs.into_iter()
            .map(|job| job.join().expect("a seeding copy failed"))
            .collect()
    });
    // Copies into one repository go one after another: two skopeo copies sharing blobs in the
    // same repository at once were seen to fail ("digest invalid") under load.
    let (docker_list, oci_index, attested) = std::thread::scope(|s| {
        let docker_list = s.spawn(|| copy("multi", "docker/app:list", "v2s2"));
        let public = s.spawn(|| copy("linux-amd64", "public/app:linux-amd64", "v2s2"));
        let oci_index = copy("multi", "oci/app:index", "oci");
        let attested = copy("attested", "oci/app:attested", "oci");
        public.join().expect("seeding public/app failed");
        (
            docker_list.join().expect("seeding docker/app:list failed"),
            oci_index,
            attested,
        )
    });
    let dockercli_list = docker_cli_list(reg);
    reg.clear_access_log();
    reg.clear_token_requests();
    Seeded {
        docker_list,
        oci_index,
        attested,
        dockercli_list,
        platform_digests,
    }
}

/// `skopeo copy [--all] --format FORMAT oci:LAYOUT:TAG docker://HOST/DEST`; returns the digest
/// skopeo wrote (`--digestfile`).
fn skopeo_copy(reg: &Registry, layout_tag: &str, dest: &str, format: &str) -> String {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let digest_file = reg
        .dir()
        .join(format!("digest-{}", COUNTER.fetch_add(1, Ordering::SeqCst)));
    let all = if matches!(layout_tag, "multi" | "attested") {
        "--all"
    } else {
        ""
    };
    let mut cmd = reg.skopeo();
    cmd.args(format!("--insecure-policy copy --quiet {all} --format {format}").split_whitespace());
    cmd.arg("--digestfile")
        .arg(&digest_file)
        .args(reg.skopeo_dest_args());
    cmd.arg(format!("oci:{}:{layout_tag}", layout_dir().display()));
    run(cmd.arg(format!("docker://{}/{dest}", reg.host())));
    let digest = fs::read_to_string(&digest_file).expect("skopeo wrote no --digestfile");
    digest.trim().to_string()
}

/// `docker manifest create` + `push --purge` of `dockercli/app:list` through a plain-HTTP twin
/// (the docker CLI speaks only plain HTTP to loopback), with a private `DOCKER_CONFIG`.
fn docker_cli_list(reg: &Registry) -> String {
    let twin = reg.plain_http_twin();
    let docker = |args: String| {
        let mut cmd = tool("docker");
        let output = run(cmd
            .env("DOCKER_CONFIG", twin.dir().join("docker"))
            .args(args.split_whitespace()));
        String::from_utf8_lossy(&output.stdout).trim().to_string()
    };
    let image = |tag: &str| format!("{}/dockercli/app:{tag}", twin.host());
    let images: Vec<String> = PLATFORM_TAGS.iter().map(|(tag, _)| image(tag)).collect();
    docker(format!(
        "manifest create --insecure {} {}",
        image("list"),
        images.join(" ")
    ));
    let pushed = docker(format!(
        "manifest push --insecure --purge {}",
        image("list")
    ));
    let stored = reg.skopeo_digest("dockercli/app:list");
    assert_eq!(
        pushed, stored,
        "the digest docker manifest push printed is not the registry's"
    );
    stored
}
