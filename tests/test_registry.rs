//! `manifest-tool test-registry` against the real registry in its four modes, and behind a
//! proxy that refuses what some registries refuse: the whole table or JSON document, the exit
//! code, what is left in the registry afterwards, and that no secret reaches the output.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use support::standins::StandIn;
use support::{
    Fault, Mode, PASSWORD, Proxy, Registry, Rule, TempDir, USERNAME, bare_command, manifest_tool,
    outcome,
};

/// Every check, in order, with its REQUIRED column and the detail it has against Debian's
/// `docker-registry` (distribution 2.8, delete enabled), which has no referrers API. `AUTH`
/// stands for the auth detail, which depends on the mode.
const CHECKS: &str = "\
auth                          yes       pass         AUTH
blob upload (monolithic)      yes       pass         8 blobs, each in one PUT
blob upload (chunked)         no        pass         2071 bytes in 2 PATCH requests, then PUT
blob HEAD                     yes       pass         200 for the 9 blobs uploaded, 404 for one never uploaded
cross-repository mount        no        pass         201: mounted into tr/app-sibling
image PUT by digest (Docker)  yes       pass         2 manifests
image PUT by digest (OCI)     yes       pass         2 manifests
tag PUT                       yes       pass         read back with the same digest
Docker manifest list          yes       pass         2 entries, 708 bytes
Docker list of OCI images     no        pass         2 entries, 688 bytes
OCI image index               yes       pass         2 entries, 670 bytes
OCI index with annotations    no        pass         2 entries, 932 bytes
attestation entries (buildx)  no        pass         4 entries, 1632 bytes
same tag PUT again            no        pass         accepted: tags are mutable
tags list                     no        pass         lists the 6 tags pushed
referrers API and subject     no        unsupported  GET referrers: 404 Not Found
DELETE                        no        pass         12 manifests (and their tags), 10 blobs
";

/// The text report for `tr/app` of `host`: the heading, then `checks` with `AUTH` replaced.
fn table(host: &str, auth: &str, checks: &str) -> String {
    format!(
        "Registry:   {host}\nRepository: tr/app (and tr/app-sibling for the mount)\n\n\
         CHECK                         REQUIRED  RESULT       DETAIL\n{}",
        checks.replace("AUTH", auth)
    )
}

/// `CHECKS` with the line of check `name` replaced by `line`.
fn checks_with(replacements: &[(&str, &str)]) -> String {
    CHECKS
        .lines()
        .map(|line| {
            replacements
                .iter()
                .find(|(name, _)| line.starts_with(&format!("{name}  ")))
                .map_or(line, |(_, replacement)| replacement)
        })
        .map(|line| format!("{line}\n"))
        .collect()
}

/// The tags of `repo` in `reg`, as skopeo lists them.
fn skopeo_tags(reg: &Registry, repo: &str) -> Vec<String> {
    let out = support::run(
        reg.skopeo()
            .arg("list-tags")
            .args(reg.skopeo_tls_args())
            .arg(format!("docker://{}/{repo}", reg.host())),
    );
    let listed: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut tags: Vec<String> = listed["Tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_string())
        .collect();
    tags.sort();
    tags
}

/// Run `test-registry` on `tr/app` of `reg` in its mode, expect every check to pass, the whole
/// table, and nothing left behind; no credential or token in the output.
fn passes_and_cleans_up(mode: Mode, auth: impl FnOnce(&Registry) -> String) {
    let reg = Registry::start(mode);
    let run = manifest_tool(&reg, &["test-registry", &format!("{}/tr/app", reg.host())]);
    let expected = table(&reg.host(), &auth(&reg), CHECKS);
    assert_eq!(run.out(), expected, "stderr: {}", run.stderr);
    assert_eq!((run.code, run.stderr.as_str()), (0, ""));
    run.assert_no_secret(PASSWORD);
    for token in reg
        .token_server()
        .map(|t| t.issued_tokens())
        .unwrap_or_default()
    {
        run.assert_no_secret(&token);
    }
    assert_eq!(skopeo_tags(&reg, "tr/app"), Vec::<String>::new());
}

#[test]
fn every_check_passes_on_a_plain_http_registry_and_nothing_is_left() {
    passes_and_cleans_up(Mode::PlainHttp, |_| {
        "none: /v2/ answered without a challenge".to_string()
    });
}

#[test]
fn every_check_passes_over_tls_and_nothing_is_left() {
    passes_and_cleans_up(Mode::Tls, |_| {
        "none: /v2/ answered without a challenge".to_string()
    });
}

#[test]
fn basic_auth_is_named_with_its_realm() {
    passes_and_cleans_up(Mode::TlsBasic, |_| {
        "Basic realm=\"test-registry\"".to_string()
    });
}

#[test]
fn bearer_auth_is_named_with_its_realm_and_service() {
    passes_and_cleans_up(Mode::TlsToken, |reg| {
        let realm = reg.token_server().unwrap().realm();
        format!("Bearer realm=\"{realm}\" service=\"test-registry\"")
    });
}

#[test]
fn keep_leaves_complete_images_under_the_tags_it_names() {
    let reg = Registry::start(Mode::PlainHttp);
    let run = manifest_tool(
        &reg,
        &["test-registry", "--keep", &format!("{}/tr/app", reg.host())],
    )
    .success();
    let tags = skopeo_tags(&reg, "tr/app");
    assert_eq!(tags.len(), 6, "{tags:?}");
    let kept = run.out().lines().last().unwrap().to_string();
    let mut named: Vec<String> = kept
        .strip_prefix("Kept: ")
        .unwrap()
        .split(' ')
        .map(String::from)
        .collect();
    named.sort();
    assert_eq!(named, tags);
    let checks = CHECKS.replace(
        "DELETE                        no        pass         12 manifests (and their tags), 10 blobs\n",
        "",
    );
    let expected = table(
        &reg.host(),
        "none: /v2/ answered without a challenge",
        &format!("{checks}\n{kept}\n"),
    );
    assert_eq!(run.out(), expected);
    for tag in &tags {
        // Every child and blob is there and matches its digest: skopeo copies it whole.
        reg.skopeo_copy_all(&format!("tr/app:{tag}")).unwrap();
    }
    // The layers are real gzipped tar archives, each of one file.
    let out = TempDir::new("mt-layout");
    let index_tag = tags.iter().find(|t| t.ends_with("-oci-index")).unwrap();
    support::run(
        reg.skopeo()
            .args(["copy", "--all", "-q"])
            .args(reg.skopeo_src_args())
            .arg(format!("docker://{}/tr/app:{index_tag}", reg.host()))
            .arg(format!("oci:{}:x", out.path().display())),
    );
    let listings: Vec<String> = std::fs::read_dir(out.path().join("blobs/sha256"))
        .unwrap()
        .filter_map(|blob| {
            let listed = support::tool("tar")
                .arg("-tzf")
                .arg(blob.unwrap().path())
                .output()
                .unwrap();
            listed
                .status
                .success()
                .then(|| String::from_utf8_lossy(&listed.stdout).into_owned())
        })
        .collect();
    assert_eq!(listings, ["platform\n", "platform\n"]);
}

#[test]
fn json_report_has_one_entry_per_check() {
    let reg = Registry::start(Mode::PlainHttp);
    let run = manifest_tool(
        &reg,
        &[
            "test-registry",
            "--format",
            "json",
            &format!("{}/tr/app", reg.host()),
        ],
    )
    .success();
    let report: serde_json::Value = serde_json::from_slice(&run.stdout).unwrap();
    let keys = |value: &serde_json::Value| {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&report), ["checks", "registry", "repository"]);
    assert_eq!(report["registry"], reg.host().as_str());
    assert_eq!(report["repository"], "tr/app");
    let checks = report["checks"].as_array().unwrap();
    let rows: Vec<String> = checks
        .iter()
        .map(|check| {
            assert_eq!(keys(check), ["detail", "name", "required", "status"]);
            let required = if check["required"] == true {
                "yes"
            } else {
                "no"
            };
            let status = check["status"].as_str().unwrap();
            let line = format!(
                "{:28}  {required:8}  {status:11}  {}",
                check["name"].as_str().unwrap(),
                check["detail"].as_str().unwrap()
            );
            format!("{}\n", line.trim_end())
        })
        .collect();
    assert_eq!(
        rows.concat(),
        CHECKS.replace("AUTH", "none: /v2/ answered without a challenge")
    );
    assert_eq!(skopeo_tags(&reg, "tr/app"), Vec::<String>::new());
}

/// Run `test-registry` with `--plain-http` on `tr/app` of `host` (a stand-in or proxy).
fn test_through(host: &str) -> support::Outcome {
    let home = TempDir::new("mt-home");
    outcome(bare_command(&home).args(["--plain-http", "test-registry", &format!("{host}/tr/app")]))
}

/// `text` with this run's tag prefix (`test-registry-<time>-<pid>-`) as `test-registry-RUN-`.
fn without_run_id(text: &str) -> String {
    let mut parts = text.split("test-registry-");
    let mut out = parts.next().unwrap_or_default().to_string();
    for part in parts {
        out.push_str("test-registry-RUN-");
        out.push_str(part.trim_start_matches(|c: char| c.is_ascii_digit() || c == '-'));
    }
    out
}

#[test]
fn a_registry_that_answers_mounts_with_an_upload_shows_them_unsupported() {
    let reg = Registry::start(Mode::PlainHttp);
    // No stand-in plays a registry that refuses mounts: the fault rule drops `mount=` and
    // `from=`, so the registry opens an upload session (202) as such registries do.
    let proxy = Proxy::with_rule(
        &reg.host(),
        Rule::new("POST", "mount=", Fault::RefuseMounts),
    );
    let run = test_through(&proxy.host()).success();
    let checks = checks_with(&[
        (
            "cross-repository mount",
            "cross-repository mount        no        unsupported  202: opened an upload instead of mounting",
        ),
        (
            "DELETE",
            "DELETE                        no        pass         12 manifests (and their tags), 9 blobs",
        ),
    ]);
    let expected = table(
        &proxy.host(),
        "none: /v2/ answered without a challenge",
        &checks,
    );
    assert_eq!(run.out(), expected, "stderr: {}", run.stderr);
    assert_eq!(skopeo_tags(&reg, "tr/app"), Vec::<String>::new());
}

#[test]
fn quay_refusing_oci_images_in_a_docker_list_is_optional() {
    let reg = Registry::start(Mode::PlainHttp);
    let quay = StandIn::quay_media_types(&reg.host());
    let run = test_through(&quay.host()).success();
    let checks = checks_with(&[
        (
            "Docker list of OCI images",
            "Docker list of OCI images     no        unsupported  400 MANIFEST_INVALID: manifest invalid: manifest data does not match schema: 'application/vnd.oci.image.manifest.v1+json' is not one of ['application/vnd.docker.distribution.manifest.v2+json', 'applic…",
        ),
        (
            "tags list",
            "tags list                     no        pass         lists the 5 tags pushed",
        ),
        (
            "DELETE",
            "DELETE                        no        pass         11 manifests (and their tags), 10 blobs",
        ),
    ]);
    let expected = table(
        &quay.host(),
        "none: /v2/ answered without a challenge",
        &checks,
    );
    assert_eq!(run.out(), expected, "stderr: {}", run.stderr);
    assert_eq!(quay.refused().len(), 1, "{:?}", quay.refused());
}

#[test]
fn zot_refusing_docker_types_fails_the_run() {
    let reg = Registry::start(Mode::PlainHttp);
    let zot = StandIn::zot_without_docker2s2(&reg.host());
    let run = test_through(&zot.host());
    let refused = |name: &str, required: &str, status: &str| {
        format!("{name:28}  {required:8}  {status:11}  415 MANIFEST_INVALID: manifest invalid")
    };
    let checks = checks_with(&[
        (
            "image PUT by digest (Docker)",
            &refused("image PUT by digest (Docker)", "yes", "fail"),
        ),
        ("tag PUT", &refused("tag PUT", "yes", "fail")),
        (
            "Docker manifest list",
            &refused("Docker manifest list", "yes", "fail"),
        ),
        (
            "Docker list of OCI images",
            &refused("Docker list of OCI images", "no", "unsupported"),
        ),
        (
            "tags list",
            "tags list                     no        pass         lists the 3 tags pushed",
        ),
        (
            "DELETE",
            "DELETE                        no        pass         8 manifests (and their tags), 10 blobs",
        ),
    ]);
    let expected = table(
        &zot.host(),
        "none: /v2/ answered without a challenge",
        &checks,
    );
    assert_eq!(run.out(), expected, "stderr: {}", run.stderr);
    run.fails_with(&format!(
        "{} lacks what push needs: image PUT by digest (Docker), tag PUT, Docker manifest list failed",
        zot.host()
    ));
    assert_eq!(skopeo_tags(&reg, "tr/app"), Vec::<String>::new());
}

#[test]
fn immutable_tags_of_ecr_and_harbor_are_reported_without_failing_the_run() {
    let reg = Registry::start(Mode::PlainHttp);
    for (standin, refusal) in [
        (
            StandIn::ecr_immutable_tags(&reg.host()),
            "400 TAG_INVALID: The image tag 'test-registry-RUN-image' already exists in the 'tr/app' repository and cannot be overwritten because the repository is immutable.",
        ),
        (
            StandIn::harbor_immutable_tags(&reg.host()),
            "412 PRECONDITION: Failed to process request due to 'tr/app:test-registry-RUN-image' configured as immutable.",
        ),
    ] {
        let run = test_through(&standin.host()).success();
        let line = format!("same tag PUT again            no        unsupported  {refusal}");
        let checks = checks_with(&[("same tag PUT again", &line)]);
        let expected = table(
            &standin.host(),
            "none: /v2/ answered without a challenge",
            &checks,
        );
        assert_eq!(
            without_run_id(&run.out()),
            expected,
            "stderr: {}",
            run.stderr
        );
    }
}

#[test]
fn the_registrys_words_are_shown_escaped_and_without_the_password() {
    let reg = Registry::start(Mode::PlainHttp);
    let proxy = Proxy::transparent(&reg.host());
    proxy.challenge("Basic realm=\"stand-in\"");
    let quoted = format!(
        r#"{{"errors":[{{"code":"DENIED","message":"\u001b[2Jno index for {USERNAME}:{PASSWORD}"}}]}}"#
    );
    proxy.inject(Rule::ending("PUT", "-oci-index", Fault::json(403, quoted)));
    let home = TempDir::new("mt-home");
    let run = outcome(bare_command(&home).args([
        "--plain-http",
        "--username",
        USERNAME,
        "--password",
        PASSWORD,
        "test-registry",
        &format!("{}/tr/app", proxy.host()),
    ]));
    run.assert_no_secret(PASSWORD);
    let line = run
        .out()
        .lines()
        .find(|line| line.starts_with("OCI image index "))
        .unwrap()
        .to_string();
    assert_eq!(
        line,
        r"OCI image index               yes       fail         127.0.0.1:PORT refused access (403 DENIED: \x1b[2Jno index for tester:<redacted>); credentials from --username/--password"
            .replace("127.0.0.1:PORT", &proxy.host())
    );
    assert!(run.out().contains(
        "auth                          yes       pass         Basic realm=\"stand-in\"\n"
    ));
    run.fails_with("lacks what push needs: OCI image index failed");
}

#[test]
fn wrong_credentials_stop_at_the_auth_check() {
    let reg = Registry::start(Mode::TlsBasic);
    let home = TempDir::new("mt-home");
    let ca = reg.ca_cert().unwrap();
    let run = outcome(bare_command(&home).args([
        "--cacert",
        ca.to_str().unwrap(),
        "--username",
        USERNAME,
        "--password",
        "not-the-password",
        "test-registry",
        &format!("{}/tr/app", reg.host()),
    ]));
    let expected = format!(
        "Registry:   {host}\nRepository: tr/app (and tr/app-sibling for the mount)\n\n\
         CHECK  REQUIRED  RESULT       DETAIL\n\
         auth   yes       fail         {host} refused access (401 Unauthorized); credentials from --username/--password\n",
        host = reg.host()
    );
    assert_eq!(run.out(), expected);
    run.fails_with("lacks what push needs: auth failed");
    run.assert_no_secret("not-the-password");
}

#[test]
fn bad_arguments_are_named_in_one_line() {
    let home = TempDir::new("mt-home");
    for (args, message) in [
        (
            &["test-registry", "127.0.0.1:5000/app:1.0"][..],
            "test-registry \"127.0.0.1:5000/app:1.0\": name a repository, without tag or digest (registry:5000/team/app)",
        ),
        (
            &["test-registry", "oci-layout://dir"],
            "test-registry \"oci-layout://dir\": tests a registry, not an OCI image layout",
        ),
        (
            &["test-registry"],
            "test-registry takes one argument: the repository (registry:5000/team/app)",
        ),
        (
            &["test-registry", "--format", "raw", "r/a"],
            "--format \"raw\" is not one of text, json for test-registry",
        ),
        (
            &["test-registry", "--raw", "r/a"],
            "flag --raw is not valid for test-registry",
        ),
        (
            &["inspect", "--keep", "r/a:1"],
            "flag --keep is not valid for inspect",
        ),
    ] {
        let run = outcome(bare_command(&home).args(args));
        assert_eq!(
            run.fails_with(message),
            format!("manifest-tool failed with error: {message}")
        );
        assert_eq!(run.out(), "");
    }
}

#[test]
fn the_readme_shows_the_output_of_a_run() {
    let reg = Registry::start(Mode::PlainHttp);
    let run = manifest_tool(
        &reg,
        &["test-registry", &format!("{}/test/app", reg.host())],
    );
    let readme = include_str!("../README.md");
    let command = "$ manifest-tool --plain-http test-registry localhost:5000/test/app\n";
    let shown = readme
        .split(command)
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    assert_eq!(run.out().replace(&reg.host(), "localhost:5000"), shown);
}
