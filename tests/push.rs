//! `manifest-tool push` against real registries: the Go tool's exact bytes, every input form,
//! mounts and copies across repositories and registries, and failures that leave the target
//! untouched. What we push is read back with skopeo and the docker CLI.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use support::media::{DOCKER_MANIFEST, OCI_MANIFEST};
use support::{
    Fault, Mode, NO_TAGS, Outcome, PLATFORM_TAGS, Proxy, Registry, Relay, Rule, Seen, TempDir,
    bare_command, completed_uploads, count_starting_with, manifest_tool, outcome, push_spec,
    sha256_digest, shared, write_file,
};

/// The platform block of each seeded image as the Go tool writes it from the image config,
/// typed by hand (eight-space indent inside a list entry).
fn platform_lines(tag: &str) -> &'static str {
    match tag {
        "linux-amd64" => "        \"architecture\": \"amd64\",\n        \"os\": \"linux\"",
        "linux-arm-v7" => {
            "        \"architecture\": \"arm\",\n        \"os\": \"linux\",\n        \"variant\": \"v7\""
        }
        "linux-arm64-v8" => {
            "        \"architecture\": \"arm64\",\n        \"os\": \"linux\",\n        \"variant\": \"v8\""
        }
        "linux-ppc64le" => "        \"architecture\": \"ppc64le\",\n        \"os\": \"linux\"",
        "linux-s390x" => "        \"architecture\": \"s390x\",\n        \"os\": \"linux\"",
        "windows-amd64" => {
            "        \"architecture\": \"amd64\",\n        \"os\": \"windows\",\n        \"os.version\": \"10.0.17763.2565\",\n        \"os.features\": [\n          \"win32k\"\n        ]"
        }
        other => panic!("no platform for {other}"),
    }
}

/// A Docker manifest list in the Go tool's layout (see [`expected_list`]).
fn expected_docker_list(entries: &[(String, usize, String)]) -> String {
    expected_list(false, entries)
}

/// A Docker manifest list, or an OCI image index when `oci`, in the Go tool's layout, written
/// out by hand from COMPAT's rules: two-space indent; entry keys in the order mediaType, size,
/// digest, platform in a Docker list and mediaType, digest, size, platform in an OCI index; no
/// index `annotations` key when there are none; no trailing newline. `entries` are (digest,
/// size, platform block).
fn expected_list(oci: bool, entries: &[(String, usize, String)]) -> String {
    let (list_type, entry_type) = if oci {
        ("application/vnd.oci.image.index.v1+json", OCI_MANIFEST)
    } else {
        (
            "application/vnd.docker.distribution.manifest.list.v2+json",
            DOCKER_MANIFEST,
        )
    };
    let items: Vec<String> = entries
        .iter()
        .map(|(digest, size, platform)| {
            let size = format!("\"size\": {size}");
            let digest = format!("\"digest\": \"{digest}\"");
            let (first, second) = if oci { (digest, size) } else { (size, digest) };
            format!(
                "    {{\n      \"mediaType\": \"{entry_type}\",\n      {first},\n      {second},\n      \"platform\": {{\n{platform}\n      }}\n    }}"
            )
        })
        .collect();
    format!(
        "{{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"{list_type}\",\n  \"manifests\": [\n{}\n  ]\n}}",
        items.join(",\n")
    )
}

/// The list at `repo_and_tag` of `reg` is `expected`, byte for byte, and `run` printed its
/// `Digest:` line.
fn assert_pushed_as(reg: &Registry, repo_and_tag: &str, run: &support::Outcome, expected: &str) {
    assert_eq!(pushed(reg, repo_and_tag), expected);
    assert_eq!(run.out(), digest_line(expected.as_bytes()));
}

/// (digest, size, platform block) of a seeded image in `repo`, as skopeo fetches it.
fn entry(reg: &Registry, repo: &str, tag: &str) -> (String, usize, String) {
    let bytes = reg.skopeo_inspect_raw(&format!("{repo}:{tag}"));
    (
        sha256_digest(&bytes),
        bytes.len(),
        platform_lines(tag).to_string(),
    )
}

/// A spec listing `tags` of `repo` as sources, with no platforms (filled from the configs).
fn spec_of(target: &str, source_repo: &str, tags: &[&str]) -> String {
    let sources: Vec<String> = tags
        .iter()
        .map(|tag| format!("{source_repo}:{tag}"))
        .collect();
    push_spec(target, &sources, NO_TAGS)
}

/// [`spec_of`] for `tags` of the seeded `docker/app` at `host`, pushed to `host/target`.
fn docker_app_spec(host: &str, target: &str, tags: &[&str]) -> String {
    spec_of(
        &format!("{host}/{target}"),
        &format!("{host}/docker/app"),
        tags,
    )
}

/// Runs `push [flags] from-args --platforms PLATFORMS --template HOST/TEMPLATE --target
/// HOST/TARGET [more]` against `reg` (at its `HOST`, with its mode's flags).
fn push_from_args(
    reg: &Registry,
    flags: &[&str],
    platforms: &str,
    template: &str,
    target: &str,
    more: &[&str],
) -> Outcome {
    let host = reg.host();
    let (template, target) = (format!("{host}/{template}"), format!("{host}/{target}"));
    let from_args = [
        "from-args",
        "--platforms",
        platforms,
        "--template",
        &template,
    ];
    manifest_tool(
        reg,
        &[&["push"], flags, &from_args, &["--target", &target], more].concat(),
    )
}

/// Writes `spec` to a file and runs `args` followed by the file's path against `reg` (with
/// its mode's flags): `args` ends with `from-spec` and its own flags.
fn run_spec(reg: &Registry, args: &[&str], spec: &str) -> Outcome {
    let dir = TempDir::new("mt-spec");
    let file = write_file(dir.path(), "spec.yaml", spec);
    manifest_tool(reg, &[args, &[file.as_str()]].concat())
}

/// What `repo_and_ref` of `reg` holds, as text (read by skopeo).
fn pushed(reg: &Registry, repo_and_ref: &str) -> String {
    String::from_utf8_lossy(&reg.skopeo_inspect_raw(repo_and_ref)).into_owned()
}

/// Asserts that `run` printed the digest line of what `repo_and_ref` of `reg` now holds.
fn assert_prints_digest_of(run: &Outcome, reg: &Registry, repo_and_ref: &str) {
    assert_eq!(
        run.out(),
        digest_line(&reg.skopeo_inspect_raw(repo_and_ref))
    );
}

fn all_tags() -> Vec<&'static str> {
    PLATFORM_TAGS.iter().map(|(tag, _)| *tag).collect()
}

fn digest_line(bytes: &[u8]) -> String {
    format!("Digest: {} {}\n", sha256_digest(bytes), bytes.len())
}

#[test]
fn push_from_spec_writes_the_go_tool_bytes_in_every_mode() {
    for mode in Mode::ALL {
        let (reg, _) = shared(mode);
        let host = reg.host();
        let spec = docker_app_spec(&host, "docker/app:every-mode", &all_tags());
        let run = run_spec(reg, &["push", "from-spec"], &spec).success();

        let entries: Vec<_> = all_tags()
            .iter()
            .map(|t| entry(reg, "docker/app", t))
            .collect();
        let expected = expected_docker_list(&entries);
        let pushed = reg.skopeo_inspect_raw("docker/app:every-mode");
        assert_eq!(String::from_utf8_lossy(&pushed), expected, "{mode:?}");
        assert_eq!(run.out(), digest_line(expected.as_bytes()), "{mode:?}");
    }
}

#[test]
fn a_same_repository_push_makes_only_the_requests_it_needs() {
    let reg = Registry::start(Mode::PlainHttp);
    support::seed(&reg);
    let host = reg.host();
    let spec = docker_app_spec(&host, "docker/app:counted", &all_tags());
    reg.clear_access_log();
    run_spec(&reg, &["push", "from-spec"], &spec).success();
    let log = reg.access_log();
    let count = |prefix: &str| log.iter().filter(|l| l.starts_with(prefix)).count();
    assert_eq!(count("GET /v2/docker/app/manifests/"), 6, "{log:#?}");
    assert_eq!(count("GET /v2/docker/app/blobs/"), 6, "{log:#?}");
    assert_eq!(
        count("HEAD /v2/docker/app/manifests/counted 404"),
        1,
        "{log:#?}"
    );
    assert_eq!(
        count("PUT /v2/docker/app/manifests/counted 201"),
        1,
        "{log:#?}"
    );
    assert_eq!(
        log.len(),
        14,
        "6 manifests, 1 HEAD of the tag, 6 configs, 1 PUT: {log:#?}"
    );
}

#[test]
fn the_go_readme_spec_with_cpu_features_is_pushed() {
    let (reg, _) = shared(Mode::PlainHttp);
    let host = reg.host();
    let spec = format!(
        "image: {host}/docker/app:readme
manifests:
  - image: {host}/docker/app:linux-ppc64le
    platform:
      architecture: ppc64le
      os: linux
  - image: {host}/docker/app:linux-amd64
    platform:
      architecture: amd64
      features:
        - sse
      os: linux
"
    );
    let run = run_spec(reg, &["push", "from-spec"], &spec).success();
    let (ppc, ppc_size, ppc_platform) = entry(reg, "docker/app", "linux-ppc64le");
    let (amd, amd_size, _) = entry(reg, "docker/app", "linux-amd64");
    let amd_platform = "        \"architecture\": \"amd64\",\n        \"os\": \"linux\",\n        \"features\": [\n          \"sse\"\n        ]".to_string();
    let expected =
        expected_docker_list(&[(ppc, ppc_size, ppc_platform), (amd, amd_size, amd_platform)]);
    assert_pushed_as(reg, "docker/app:readme", &run, &expected);
}

#[test]
fn a_go_v2_spec_with_osversion_and_osfeatures_is_pushed() {
    let (reg, _) = shared(Mode::PlainHttp);
    let host = reg.host();
    let spec = format!(
        "image: {host}/docker/app:v2-style
manifests:
  - image: {host}/docker/app:windows-amd64
    platform:
      architecture: amd64
      os: windows
      osversion: 10.0.17763.9999
      osfeatures: [win32k, other]
"
    );
    run_spec(reg, &["push", "from-spec"], &spec).success();
    let (digest, size, _) = entry(reg, "docker/app", "windows-amd64");
    let platform = "        \"architecture\": \"amd64\",\n        \"os\": \"windows\",\n        \"os.version\": \"10.0.17763.9999\",\n        \"os.features\": [\n          \"win32k\",\n          \"other\"\n        ]".to_string();
    let expected = expected_docker_list(&[(digest, size, platform)]);
    assert_eq!(pushed(reg, "docker/app:v2-style"), expected);
}

#[test]
fn two_windows_entries_differing_only_in_os_version_are_both_pushed() {
    // One Windows image per OS build is how Windows images are published: the same os and
    // architecture, told apart only by os.version. Both entries carry the same os.features so
    // that os.version is the only difference.
    let (reg, _) = shared(Mode::PlainHttp);
    let host = reg.host();
    let spec = format!(
        "image: {host}/docker/app:two-windows-builds
manifests:
  - image: {host}/docker/app:windows-amd64
    platform:
      architecture: amd64
      os: windows
      osversion: 10.0.17763.2565
      osfeatures: [win32k]
  - image: {host}/docker/app:linux-amd64
    platform:
      architecture: amd64
      os: windows
      osversion: 10.0.20348.2340
      osfeatures: [win32k]
"
    );
    let run = run_spec(reg, &["push", "from-spec"], &spec).success();
    let windows = |version: &str| {
        format!(
            "        \"architecture\": \"amd64\",\n        \"os\": \"windows\",\n        \"os.version\": \"{version}\",\n        \"os.features\": [\n          \"win32k\"\n        ]"
        )
    };
    let (ltsc2019, ltsc2019_size, _) = entry(reg, "docker/app", "windows-amd64");
    let (ltsc2022, ltsc2022_size, _) = entry(reg, "docker/app", "linux-amd64");
    let expected = expected_docker_list(&[
        (ltsc2019, ltsc2019_size, windows("10.0.17763.2565")),
        (ltsc2022, ltsc2022_size, windows("10.0.20348.2340")),
    ]);
    assert_pushed_as(reg, "docker/app:two-windows-builds", &run, &expected);
}

#[test]
fn push_from_args_fills_the_template_with_and_without_variants() {
    let (reg, _) = shared(Mode::Tls);
    let more = ["--platforms", "linux/s390x"];
    let platforms = "linux/amd64,linux/ppc64le";
    push_from_args(
        reg,
        &[],
        platforms,
        "docker/app:OS-ARCH",
        "docker/app:args-plain",
        &more,
    )
    .success();
    let tags = ["linux-amd64", "linux-ppc64le", "linux-s390x"];
    let entries: Vec<_> = tags.iter().map(|t| entry(reg, "docker/app", t)).collect();
    assert_eq!(
        pushed(reg, "docker/app:args-plain"),
        expected_docker_list(&entries)
    );

    let (template, target) = ("docker/app:OS-ARCH-VARIANT", "docker/app:args-variants");
    push_from_args(
        reg,
        &[],
        "linux/arm/v7,linux/arm64/v8",
        template,
        target,
        &[],
    )
    .success();
    let tags = ["linux-arm-v7", "linux-arm64-v8"];
    let entries: Vec<_> = tags.iter().map(|t| entry(reg, "docker/app", t)).collect();
    assert_eq!(
        pushed(reg, "docker/app:args-variants"),
        expected_docker_list(&entries)
    );
}

#[test]
fn extra_tags_hold_the_same_bytes_as_the_list() {
    let (reg, _) = shared(Mode::TlsBasic);
    let run = push_from_args(
        reg,
        &[],
        "linux/amd64,linux/s390x",
        "docker/app:OS-ARCH",
        "docker/app:tagged-1.2.3",
        &["--tags", "tagged-1.2,tagged-1"],
    )
    .success();
    let list = reg.skopeo_inspect_raw("docker/app:tagged-1.2.3");
    assert_eq!(run.out(), digest_line(&list));
    for tag in ["tagged-1.2", "tagged-1"] {
        assert_eq!(
            reg.skopeo_inspect_raw(&format!("docker/app:{tag}")),
            list,
            "{tag}"
        );
    }
}

#[test]
fn annotations_go_into_an_oci_index_and_are_refused_for_a_docker_list() {
    let (reg, _) = shared(Mode::PlainHttp);
    let annotations = [
        "--annotations",
        "org.opencontainers.image.title=demo",
        "--annotations",
        "com.example.note=a<b",
    ];
    let (template, target) = ("oci/app:OS-ARCH", "oci/app:annotated");
    push_from_args(
        reg,
        &["--type", "oci"],
        "linux/amd64",
        template,
        target,
        &annotations,
    )
    .success();
    let (_, digest) = shared(Mode::PlainHttp).1.digests_of("linux-amd64");
    let size = reg.skopeo_inspect_raw("oci/app:linux-amd64").len();
    let expected = format!(
        "{{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"application/vnd.oci.image.index.v1+json\",\n  \"manifests\": [\n    {{\n      \"mediaType\": \"{OCI_MANIFEST}\",\n      \"digest\": \"{}\",\n      \"size\": {size},\n      \"platform\": {{\n        \"architecture\": \"amd64\",\n        \"os\": \"linux\"\n      }}\n    }}\n  ],\n  \"annotations\": {{\n    \"com.example.note\": \"a\\u003cb\",\n    \"org.opencontainers.image.title\": \"demo\"\n  }}\n}}",
        digest
    );
    assert_eq!(pushed(reg, "oci/app:annotated"), expected);

    reg.clear_access_log();
    let docker = ["--type", "docker"];
    let never = "oci/app:never";
    let run = push_from_args(
        reg,
        &docker,
        "linux/amd64",
        template,
        never,
        &["--annotations", "a=b"],
    );
    run.fails_with("does not support annotations; use --type oci instead");
    assert!(
        reg.access_log().is_empty(),
        "nothing was sent: {:#?}",
        reg.access_log()
    );
}

#[test]
fn push_type_oci_without_annotations_writes_the_go_tool_index_bytes() {
    let (reg, _) = shared(Mode::PlainHttp);
    let host = reg.host();
    let tags = ["linux-amd64", "linux-arm-v7", "windows-amd64"];
    let spec = spec_of(
        &format!("{host}/oci/app:plain-index"),
        &format!("{host}/oci/app"),
        &tags,
    );
    let run = run_spec(reg, &["push", "--type", "oci", "from-spec"], &spec).success();
    let entries: Vec<_> = tags.iter().map(|t| entry(reg, "oci/app", t)).collect();
    let expected = expected_list(true, &entries);
    assert_pushed_as(reg, "oci/app:plain-index", &run, &expected);
}

#[test]
fn the_docker_cli_and_skopeo_read_a_cross_repository_push() {
    let reg = Registry::start(Mode::PlainHttp);
    let seeded = support::seed(&reg);
    let host = reg.host();
    let spec = docker_app_spec(&host, "team/release:1.0", &all_tags());
    reg.clear_access_log();
    let run = run_spec(&reg, &["push", "from-spec"], &spec).success();
    let log = reg.access_log();
    let mounts = log
        .iter()
        .filter(|l| {
            l.starts_with("POST /v2/team/release/blobs/uploads/?mount=") && l.ends_with(" 201")
        })
        .count();
    assert_eq!(mounts, 12, "six configs and six layers mounted: {log:#?}");
    assert!(
        !log.iter().any(
            |l| l.starts_with("PATCH") || l.contains("/blobs/uploads/") && l.starts_with("PUT")
        ),
        "no blob was uploaded: {log:#?}"
    );
    let child_puts = count_starting_with(&log, "PUT /v2/team/release/manifests/sha256:");
    assert_eq!(child_puts, 6, "{log:#?}");

    let pushed = reg.skopeo_inspect_raw("team/release:1.0");
    assert_eq!(run.out(), digest_line(&pushed));

    // skopeo copies the whole list out: every child and blob is really in team/release.
    reg.skopeo_copy_all("team/release:1.0").unwrap();

    // The docker CLI (no daemon needed) reads the list and sees each platform.
    let docker_home = TempDir::new("mt-dockercli");
    let shown = support::run(
        support::tool("docker")
            .env("DOCKER_CONFIG", docker_home.path())
            .args(["manifest", "inspect", "--insecure"])
            .arg(format!("{host}/team/release:1.0")),
    );
    let shown: serde_json::Value = serde_json::from_slice(&shown.stdout).unwrap();
    let digests: Vec<&str> = shown["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap_or(""))
        .collect();
    let expected: Vec<&str> = all_tags().iter().map(|t| seeded.digests_of(t).0).collect();
    assert_eq!(digests, expected);
}

#[test]
fn a_cross_repository_push_opens_no_more_connections_than_its_widest_stage() {
    // 12 mounts go out at once, so 12 connections are opened (most of them while the configs
    // are fetched); every other stage reuses them.
    let reg = Registry::start(Mode::PlainHttp);
    support::seed(&reg);
    let relay = Relay::start(&reg.host());
    let host = relay.host();
    let dir = TempDir::new("mt-conns");
    let spec = docker_app_spec(&host, "team/conns:1.0", &all_tags());
    let file = write_file(dir.path(), "spec.yaml", &spec);
    reg.clear_access_log();
    let home = TempDir::new("mt-home");
    outcome(bare_command(&home).args(["--plain-http", "push", "from-spec", &file])).success();
    let log = reg.access_log();
    assert_eq!(
        log.len(),
        32,
        "6 + 6 GETs, 1 HEAD, 12 mounts, 7 PUTs: {log:#?}"
    );
    relay.assert_connections(6..=12, "32 requests, at most 12 at once");
}

#[test]
fn a_refused_mount_falls_back_to_a_streamed_copy() {
    let reg = Registry::start(Mode::PlainHttp);
    support::seed(&reg);
    let proxy = Proxy::start(&reg.host(), Fault::RefuseMounts);
    let host = proxy.host();
    let spec = docker_app_spec(&host, "nomount/app:1.0", &["linux-amd64", "linux-arm64-v8"]);
    reg.clear_access_log();
    let run = run_spec(&reg, &["push", "from-spec"], &spec).success();
    let log = reg.access_log();
    let opened = count_starting_with(&log, "POST /v2/nomount/app/blobs/uploads/ 202");
    let uploaded = completed_uploads(&log, "nomount/app");
    assert_eq!(
        opened, 4,
        "each mount answered with an upload session: {log:#?}"
    );
    assert_eq!(uploaded, 4, "each blob streamed into its session: {log:#?}");
    assert_prints_digest_of(&run, &reg, "nomount/app:1.0");
    reg.skopeo_copy_all("nomount/app:1.0").unwrap();
}

#[test]
fn a_push_across_registries_streams_the_blobs() {
    let source = Registry::start(Mode::PlainHttp);
    support::seed(&source);
    let target = Registry::start(Mode::PlainHttp);
    let spec = spec_of(
        &format!("{}/mirror/app:1.0", target.host()),
        &format!("{}/docker/app", source.host()),
        &all_tags(),
    );
    let run = run_spec(&target, &["push", "from-spec"], &spec).success();
    let log = target.access_log();
    assert!(
        !log.iter().any(|l| l.contains("mount=")),
        "no mount across registries: {log:#?}"
    );
    let uploads = completed_uploads(&log, "mirror/app");
    assert_eq!(uploads, 12, "{log:#?}");
    let pushed = target.skopeo_inspect_raw("mirror/app:1.0");
    assert_eq!(run.out(), digest_line(&pushed));
    let entries: Vec<_> = all_tags()
        .iter()
        .map(|t| entry(&source, "docker/app", t))
        .collect();
    assert_eq!(
        String::from_utf8_lossy(&pushed),
        expected_docker_list(&entries)
    );
    target.skopeo_copy_all("mirror/app:1.0").unwrap();
}

#[test]
fn layers_with_external_urls_are_never_copied() {
    // Windows base layers are served from their own URLs and are not in the registry: a push
    // into another repository mounts the config and the ordinary layers, and never asks the
    // registry (or anybody) for a layer that has `urls`. One Docker image with a foreign layer
    // and one OCI image with an ordinary layer type plus `urls`.
    let reg = Registry::start(Mode::PlainHttp);
    support::allow_layer_urls(&reg);
    let elsewhere = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!(
        "http://{}/windows/base-layer.tar.gz",
        elsewhere.local_addr().unwrap()
    );
    let direct = reg.host();
    let mut foreign = Vec::new();
    let mut copied = Vec::new();
    // (tag, then the media types of the manifest, its config, its ordinary layer and its layer
    // with `urls`)
    let images = [
        (
            "docker",
            DOCKER_MANIFEST,
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
            "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        ),
        (
            "oci",
            OCI_MANIFEST,
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar+gzip",
            "application/vnd.oci.image.layer.v1.tar+gzip",
        ),
    ];
    for (tag, manifest_type, config_type, layer_type, url_layer_type) in images {
        let config = format!(
            r#"{{"architecture":"amd64","os":"windows","os.version":"10.0.17763.2565","config":{{"Labels":{{"test.image":"{tag}"}}}},"rootfs":{{"type":"layers","diff_ids":[]}}}}"#
        );
        let layer = format!("the one ordinary layer of {tag}");
        let absent = format!("the {tag} base layer, never uploaded");
        let config_digest = support::upload_blob(&direct, "urls/source", config.as_bytes());
        let layer_digest = support::upload_blob(&direct, "urls/source", layer.as_bytes());
        let absent_digest = sha256_digest(absent.as_bytes());
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": {"mediaType": config_type, "size": config.len(), "digest": config_digest},
            "layers": [
                {"mediaType": url_layer_type, "size": absent.len(), "digest": absent_digest, "urls": [url]},
                {"mediaType": layer_type, "size": layer.len(), "digest": layer_digest},
            ],
        });
        let bytes = serde_json::to_vec(&manifest).unwrap();
        support::put_manifest(&direct, "urls/source", tag, manifest_type, &bytes);
        foreign.push(absent_digest);
        copied.extend([config_digest, layer_digest]);
    }

    let proxy = Proxy::transparent(&direct);
    let host = proxy.host();
    let spec = format!(
        "image: {host}/urls/target:1.0
manifests:
  - image: {host}/urls/source:docker
  - image: {host}/urls/source:oci
    platform: {{os: windows, architecture: amd64, osversion: 10.0.20348.1}}
"
    );
    let run = run_spec(&reg, &["push", "--type", "oci", "from-spec"], &spec).success();

    let seen: Vec<String> = proxy.seen().into_iter().map(|s| s.request).collect();
    for digest in &foreign {
        let asked: Vec<&String> = seen
            .iter()
            .filter(|r| r.contains(digest.as_str()))
            .collect();
        assert!(asked.is_empty(), "{digest} has urls: {asked:#?}");
    }
    for digest in &copied {
        let mounted = seen.iter().any(|r| {
            r.starts_with("POST /v2/urls/target/blobs/uploads/")
                && r.contains(&format!("mount={digest}"))
        });
        assert!(mounted, "{digest} is not mounted: {seen:#?}");
    }
    elsewhere.set_nonblocking(true).unwrap();
    assert!(
        elsewhere
            .accept()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::WouldBlock),
        "nobody may fetch {url}"
    );
    let pushed = reg.skopeo_inspect_raw("urls/target:1.0");
    assert_eq!(run.out(), digest_line(&pushed));
    let index: serde_json::Value = serde_json::from_slice(&pushed).unwrap();
    for child in index["manifests"].as_array().unwrap() {
        let digest = child["digest"].as_str().unwrap();
        assert_eq!(
            sha256_digest(&reg.skopeo_inspect_raw(&format!("urls/target@{digest}"))),
            digest,
            "every child is in the target repository"
        );
    }
}

#[test]
fn a_second_push_across_registries_uploads_no_blob_the_target_has() {
    let (source, _) = shared(Mode::PlainHttp);
    let target = Registry::start(Mode::PlainHttp);
    let proxy = Proxy::transparent(&target.host());
    let dir = TempDir::new("mt-again");
    let spec = spec_of(
        &format!("{}/mirror/app:1.0", proxy.host()),
        &format!("{}/docker/app", source.host()),
        &["linux-amd64", "linux-arm64-v8", "windows-amd64"],
    );
    let file = write_file(dir.path(), "spec.yaml", &spec);
    let uploads = |requests: &[Seen]| -> Vec<String> {
        requests
            .iter()
            .map(|s| s.request.clone())
            .filter(|r| {
                (r.starts_with("POST ") || r.starts_with("PUT ") || r.starts_with("PATCH "))
                    && r.contains("/blobs/uploads/")
            })
            .collect()
    };

    let first = manifest_tool(&target, &["push", "from-spec", &file]).success();
    let first_requests = proxy.seen();
    assert_eq!(
        uploads(&first_requests).len(),
        12,
        "the first push opens and completes an upload per config and layer: {first_requests:#?}",
    );

    let second = manifest_tool(&target, &["push", "from-spec", &file]).success();
    let second_requests = proxy.seen().split_off(first_requests.len());
    assert_eq!(
        uploads(&second_requests),
        Vec::<String>::new(),
        "the target has every blob: {second_requests:#?}"
    );
    assert_eq!(second.out(), first.out());
    assert_prints_digest_of(&second, &target, "mirror/app:1.0");
}

#[test]
fn a_list_source_is_flattened_with_its_attestations_last() {
    let (reg, seeded) = shared(Mode::PlainHttp);
    let host = reg.host();
    let spec = format!(
        "image: {host}/flat/app:1.0\nmanifests:\n  - image: {host}/oci/app:attested\n  - image: {host}/oci/app:linux-ppc64le\n"
    );
    run_spec(reg, &["push", "--type", "oci", "from-spec"], &spec).success();
    let pushed: serde_json::Value =
        serde_json::from_slice(&reg.skopeo_inspect_raw("flat/app:1.0")).unwrap();
    let source: serde_json::Value =
        serde_json::from_slice(&reg.skopeo_inspect_raw("oci/app:attested")).unwrap();
    let entries = pushed["manifests"].as_array().unwrap();
    let from_source = source["manifests"].as_array().unwrap();
    assert_eq!(entries.len(), 5);
    assert_eq!(
        entries[0], from_source[0],
        "images of the list first, unchanged"
    );
    assert_eq!(entries[1], from_source[1]);
    assert_eq!(entries[2]["digest"], seeded.digests_of("linux-ppc64le").1);
    assert_eq!(
        entries[3], from_source[2],
        "attestations after every image, annotations kept"
    );
    assert_eq!(entries[4], from_source[3]);
    reg.skopeo_copy_all("flat/app:1.0").unwrap();
}

#[test]
fn ignore_missing_skips_a_missing_source_with_a_warning() {
    let (reg, _) = shared(Mode::PlainHttp);
    let host = reg.host();
    let dir = TempDir::new("mt-missing");
    let spec = docker_app_spec(
        &host,
        "docker/app:partial",
        &["linux-amd64", "linux-mips64"],
    );
    let file = write_file(dir.path(), "spec.yaml", &spec);
    let run = manifest_tool(reg, &["push", "from-spec", "--ignore-missing", &file]).success();
    assert!(
        run.stderr
            .contains(&format!("warning: skipping {host}/docker/app:linux-mips64")),
        "{}",
        run.stderr
    );
    let expected = expected_docker_list(&[entry(reg, "docker/app", "linux-amd64")]);
    assert_eq!(pushed(reg, "docker/app:partial"), expected);

    let run = manifest_tool(reg, &["push", "from-spec", &file]);
    let line = run.fails_with("linux-mips64");
    assert!(line.contains("MANIFEST_UNKNOWN"), "{line}");
}

#[test]
fn ignore_missing_skips_a_source_the_registry_refuses_as_not_readable() {
    // A registry may refuse (401/403) what does not exist (Docker Hub answers 401): under
    // --ignore-missing a refusal that stays is skipped, saying the source was not found or not
    // readable; the refusal is answered at once, never retried. Without the flag it stops the
    // push before anything is written.
    let (reg, _) = shared(Mode::PlainHttp);
    let proxy = Proxy::with_rule(
        &reg.host(),
        Rule::new(
            "*",
            "/v2/docker/app/manifests/linux-s390x",
            Fault::Status(403),
        ),
    );
    let host = proxy.host();
    let spec = docker_app_spec(&host, "refused/app:1.0", &["linux-amd64", "linux-s390x"]);
    let run = run_spec(reg, &["push", "from-spec", "--ignore-missing"], &spec).success();
    assert_eq!(
        run.stderr,
        format!(
            "warning: skipping {host}/docker/app:linux-s390x: not found or not readable: {host} \
             refused access (403 UNAVAILABLE: injected 403 by the test proxy); credentials from \
             none (anonymous) (--ignore-missing)\n"
        )
    );
    let expected = expected_docker_list(&[entry(reg, "docker/app", "linux-amd64")]);
    assert_eq!(pushed(reg, "refused/app:1.0"), expected);
    assert_eq!(
        proxy.spoiled().len(),
        1,
        "the refusal is final: {:#?}",
        proxy.spoiled()
    );

    let spec = docker_app_spec(&host, "refused/app:2.0", &["linux-amd64", "linux-s390x"]);
    let writes_before = proxy.writes().len();
    let run = run_spec(reg, &["push", "from-spec"], &spec);
    let line = run.fails_with(&format!("{host}/docker/app:linux-s390x"));
    assert!(line.contains("403"), "{line}");
    let writes = proxy.writes();
    assert_eq!(
        writes.len(),
        writes_before,
        "nothing may be written: {writes:#?}"
    );
    let read_back = reg.skopeo_try_inspect_raw("refused/app:2.0");
    assert!(
        read_back.is_err(),
        "the target tag must not exist: {read_back:?}"
    );
}

#[test]
fn ignore_missing_with_every_source_missing_pushes_nothing() {
    let (reg, _) = shared(Mode::PlainHttp);
    let host = reg.host();
    let spec = docker_app_spec(&host, "docker/app:nothing", &["nope-1", "nope-2"]);
    let run = run_spec(reg, &["push", "from-spec", "--ignore-missing"], &spec);
    run.fails_with(
        "all entries were skipped due to missing source image references; no manifest list to push",
    );
    assert!(
        run.stderr.matches("warning: skipping").count() == 2,
        "{}",
        run.stderr
    );
}

#[test]
fn one_token_covers_the_target_and_every_source_repository() {
    let reg = Registry::start(Mode::TlsToken);
    support::seed(&reg);
    let host = reg.host();
    let spec = format!(
        "image: {host}/team/tokened:1.0\nmanifests:\n  - image: {host}/docker/app:linux-amd64\n  - image: {host}/oci/app:linux-arm64-v8\n"
    );
    let run = run_spec(&reg, &["--debug", "push", "from-spec"], &spec).success();
    let requests = reg.token_requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let request = &requests[0];
    for scope in [
        "scope=repository:team/tokened:pull,push",
        "scope=repository:docker/app:pull",
        "scope=repository:oci/app:pull",
    ] {
        assert!(request.contains(scope), "{scope} missing in {request}");
    }
    let target_at = request.find("team/tokened").unwrap_or(usize::MAX);
    let source_at = request.find("docker/app").unwrap_or(0);
    assert!(
        target_at < source_at,
        "the target's scope comes first: {request}"
    );
    run.assert_no_secret(support::PASSWORD);
    assert_prints_digest_of(&run, &reg, "team/tokened:1.0");
}

#[test]
fn bad_input_fails_in_one_line_and_leaves_the_target_untouched() {
    let (reg, _) = shared(Mode::PlainHttp);
    let host = reg.host();
    let dir = TempDir::new("mt-bad");
    // The target first holds a good list; every failed push below must leave it as it is.
    let good = docker_app_spec(&host, "guarded/app:1.0", &["linux-amd64"]);
    let file = write_file(dir.path(), "good.yaml", &good);
    manifest_tool(reg, &["push", "from-spec", &file]).success();
    let before = reg.skopeo_inspect_raw("guarded/app:1.0");

    let target = format!("{host}/guarded/app:1.0");
    let cases = [
        (
            "duplicate.yaml",
            format!(
                "image: {target}\nmanifests:\n  - image: {host}/docker/app:linux-amd64\n  - image: {host}/oci/app:linux-amd64\n"
            ),
            "same platform linux/amd64",
        ),
        (
            "unknown-key.yaml",
            format!(
                "image: {target}\nmanifests:\n  - image: {host}/docker/app:linux-amd64\n    platfrom: {{os: linux}}\n"
            ),
            "unknown field `platfrom`",
        ),
        (
            "missing.yaml",
            spec_of(
                &target,
                &format!("{host}/docker/app"),
                &["linux-amd64", "does-not-exist"],
            ),
            "does-not-exist",
        ),
        (
            "unreal.yaml",
            format!(
                "image: {target}\nmanifests:\n  - image: {host}/docker/app:linux-amd64\n    platform: {{os: linux, architecture: amd46}}\n"
            ),
            "linux/amd46 is not a known os/arch combination",
        ),
        (
            "wrong-platform-for-image.yaml",
            format!(
                "image: {target}\nmanifests:\n  - image: {host}/docker/app:linux-arm-v7\n    platform: {{os: linux, architecture: s390x}}\n  - image: {host}/docker/app:linux-s390x\n"
            ),
            "variant \"v7\" is not a known variant of architecture s390x",
        ),
    ];
    for (name, spec, fragment) in cases {
        let file = write_file(dir.path(), name, &spec);
        reg.clear_access_log();
        let run = manifest_tool(reg, &["push", "from-spec", &file]);
        run.fails_with(fragment);
        let writes: Vec<String> = reg
            .access_log()
            .into_iter()
            .filter(|l| !l.starts_with("GET") && !l.starts_with("HEAD"))
            .collect();
        assert!(
            writes.is_empty(),
            "{name}: nothing may be written: {writes:#?}"
        );
        assert_eq!(reg.skopeo_inspect_raw("guarded/app:1.0"), before, "{name}");
    }
}

#[test]
fn dry_run_prints_the_list_and_writes_nothing() {
    let (reg, _) = shared(Mode::PlainHttp);
    let host = reg.host();
    let spec = docker_app_spec(&host, "dry/app:1.0", &["linux-amd64", "linux-s390x"]);
    reg.clear_access_log();
    let run = run_spec(reg, &["push", "from-spec", "--dry-run"], &spec).success();
    let writes: Vec<String> = reg
        .access_log()
        .into_iter()
        .filter(|l| !l.starts_with("GET") && !l.starts_with("HEAD"))
        .collect();
    assert!(writes.is_empty(), "{writes:#?}");
    assert!(
        run.stderr.contains("would mount blob sha256:"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&format!(
            "would PUT list {} as {host}/dry/app:1.0",
            sha256_digest(&run.stdout)
        )),
        "{}",
        run.stderr
    );
    let entries: Vec<_> = ["linux-amd64", "linux-s390x"]
        .iter()
        .map(|t| entry(reg, "docker/app", t))
        .collect();
    assert_eq!(run.out(), expected_docker_list(&entries));
}
