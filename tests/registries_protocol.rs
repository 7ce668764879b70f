//! The protocol liberties registries take, each shown against the real registry (behind a
//! stand-in proxy profile, `tests/support/standins/`, when the behaviour is another
//! registry's): a wrong `--plain-http`, large tokens and passwords, the registry's own reason in
//! errors, tokens refused for some scopes, and small liberties in uploads and manifests.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use std::time::Duration;
use support::standins::{auth, protocol};
use support::{
    Fault, Mode, Outcome, Proxy, Registry, Rule, TempDir, bare_command, layout_copy, layout_spec,
    outcome, outcome_within, sha256_digest, shared, write_file,
};

/// Runs the binary with `--plain-http` and `args` (a stand-in proxy speaks plain HTTP).
fn run_plain(args: &[&str]) -> Outcome {
    let home = TempDir::new("mt-proto");
    outcome(bare_command(&home).arg("--plain-http").args(args))
}

/// A spec pushing `images` (repository:tag of `host`) to `target`.
fn spec(target: &str, host: &str, images: &[&str]) -> String {
    let mut spec = format!("image: {target}\nmanifests:\n");
    for image in images {
        spec.push_str(&format!("  - image: {host}/{image}\n"));
    }
    spec
}

/// Pushes the spec of `images` to `target` through `host` with `flags`, from a file in `dir`.
fn push_spec(dir: &TempDir, flags: &[&str], target: &str, host: &str, images: &[&str]) -> Outcome {
    let file = write_file(dir.path(), "spec.yaml", &spec(target, host, images));
    outcome(
        bare_command(dir)
            .arg("--plain-http")
            .args(flags)
            .args(["push", "from-spec", &file]),
    )
}

/// `Digest: <digest> <size>` of what `repo_and_ref` of `reg` holds: what a push prints.
fn digest_line(reg: &Registry, repo_and_ref: &str) -> String {
    let bytes = reg.skopeo_inspect_raw(repo_and_ref);
    format!("Digest: {} {}\n", sha256_digest(&bytes), bytes.len())
}

/// The `Authorization` values a stand-in saw, by length.
fn authorization_lengths(proxy: &Proxy) -> Vec<usize> {
    let mut lengths: Vec<usize> = proxy
        .seen()
        .iter()
        .filter_map(|s| s.authorization.as_ref().map(String::len))
        .collect();
    lengths.sort_unstable();
    lengths.dedup();
    lengths
}

/// A bound far below the 21 s a push took retrying every blob, far above what one attempt
/// takes on a loaded machine.
const FIRST_ATTEMPT: Duration = Duration::from_secs(8);

/// A push of two layout images to `target` with `flags`, within [`FIRST_ATTEMPT`].
fn push_layout_within(dir: &TempDir, flags: &[String], target: &str) -> support::Outcome {
    let source = layout_copy(dir);
    let spec = layout_spec(target, &source, &["linux-amd64", "linux-arm64-v8"]);
    let file = write_file(dir.path(), "spec.yaml", &spec);
    let mut cmd = bare_command(dir);
    cmd.args(flags)
        .args(["--debug", "push", "from-spec", &file]);
    outcome_within(&cmd, FIRST_ATTEMPT)
}

/// Runs `inspect` of `name` with `flags`, within [`FIRST_ATTEMPT`].
fn inspect_within(dir: &TempDir, flags: &[String], name: &str) -> support::Outcome {
    let mut cmd = bare_command(dir);
    cmd.args(flags).args(["--debug", "inspect", name]);
    outcome_within(&cmd, FIRST_ATTEMPT)
}

/// Asserts that `run` failed at its first attempt (no retry in its `--debug` lines) with an
/// error line ending in `end`.
fn failed_at_once_with(run: &support::Outcome, end: &str) {
    let line = run.fails_with(end);
    assert!(line.ends_with(end), "{line}");
    assert!(!run.stderr.contains("retrying"), "{}", run.stderr);
}

/// TLS spoken to a plain-HTTP registry: a push (from a layout, so its first requests are the
/// blob checks) and an inspect fail at their first request with the hint, retrying nothing.
#[test]
fn tls_to_a_plain_http_registry_fails_at_once_with_the_hint() {
    let reg = Registry::start(Mode::PlainHttp);
    let host = reg.host();
    let end = format!(
        "cannot reach {host}: the server does not speak TLS (use --plain-http for a plain-HTTP \
         registry)"
    );
    let dir = TempDir::new("mt-proto-tls-to-plain");
    failed_at_once_with(
        &push_layout_within(&dir, &[], &format!("{host}/wrong/scheme:1")),
        &end,
    );
    failed_at_once_with(&inspect_within(&dir, &[], &format!("{host}/a/b:1")), &end);
}

/// Plain HTTP spoken to a TLS registry (Go's server answers `HTTP/1.0 400` with no header):
/// the same, with the reverse hint.
#[test]
fn plain_http_to_a_tls_registry_fails_at_once_with_the_hint() {
    let reg = Registry::start(Mode::Tls);
    let host = reg.host();
    let end = format!(
        "cannot reach {host}: the server speaks TLS (drop --plain-http for an HTTPS registry)"
    );
    let dir = TempDir::new("mt-proto-plain-to-tls");
    let flags = ["--plain-http".to_string()];
    failed_at_once_with(
        &push_layout_within(&dir, &flags, &format!("{host}/wrong/scheme:1")),
        &end,
    );
    failed_at_once_with(
        &inspect_within(&dir, &flags, &format!("{host}/a/b:1")),
        &end,
    );
}

/// The seeded list as `inspect` prints it straight from the registry, with the registry's
/// host written as `HOST`.
fn inspect_text(reg: &Registry) -> String {
    let run = run_plain(&["inspect", &format!("{}/docker/app:list", reg.host())]).success();
    run.out().replace(&reg.host(), "HOST")
}

/// A token of a megabyte (the largest token answer read is 1 MiB) goes whole on every request:
/// inspect through the stand-in prints what it prints without it.
#[test]
fn a_token_of_a_megabyte_is_sent_whole() {
    let (reg, _) = shared(Mode::PlainHttp);
    let proxy = auth::large_tokens(&reg.host(), 1_000_000);
    let run = run_plain(&["inspect", &format!("{}/docker/app:list", proxy.host())]).success();
    assert_eq!(run.out().replace(&proxy.host(), "HOST"), inspect_text(reg));
    assert_eq!(authorization_lengths(&proxy), ["Bearer ".len() + 1_000_000]);
}

/// A push with a 100 KiB token: every request, blob mounts and uploads included, carries it.
#[test]
fn a_push_with_a_large_token_succeeds() {
    let (reg, _) = shared(Mode::PlainHttp);
    let proxy = auth::large_tokens(&reg.host(), 100 * 1024);
    let dir = TempDir::new("mt-proto-large-token");
    let host = proxy.host();
    let images = ["docker/app:linux-amd64", "oci/app:linux-arm64-v8"];
    let run = push_spec(&dir, &[], &format!("{host}/large/token:1"), &host, &images).success();
    assert_eq!(run.out(), digest_line(reg, "large/token:1"));
    assert_eq!(
        authorization_lengths(&proxy),
        ["Bearer ".len() + 100 * 1024]
    );
}

/// A Basic password of 7,000 characters (the head once held about 6,100) and of 100,000
/// reaches the registry whole.
#[test]
fn a_long_basic_password_is_sent_whole() {
    let (reg, _) = shared(Mode::PlainHttp);
    let proxy = auth::basic_auth(&reg.host());
    for length in [7_000, 100_000] {
        let password = "p".repeat(length);
        let run = run_plain(&[
            "--username",
            "u",
            "--password",
            &password,
            "inspect",
            &format!("{}/docker/app:list", proxy.host()),
        ])
        .success();
        assert_eq!(run.out().replace(&proxy.host(), "HOST"), inspect_text(reg));
        let basic = "Basic ".len() + (length + 2).div_ceil(3) * 4;
        assert!(authorization_lengths(&proxy).contains(&basic), "{length}");
    }
}

/// Quay gives the reason a manifest is refused only in the error's `detail`: the error line
/// shows it after the code and message.
#[test]
fn a_registry_reason_in_the_error_detail_is_shown() {
    let (reg, _) = shared(Mode::PlainHttp);
    let reason = "manifest list entries must be Docker manifests";
    let proxy = protocol::quay_refusing_manifests(&reg.host(), reason);
    let dir = TempDir::new("mt-proto-quay-detail");
    let host = proxy.host();
    let images = ["docker/app:linux-amd64", "docker/app:linux-s390x"];
    let run = push_spec(
        &dir,
        &[],
        &format!("{host}/docker/app:refused"),
        &host,
        &images,
    );
    let line = run.fails_with(reason);
    assert_eq!(
        line,
        format!(
            "manifest-tool failed with error: pushing the list to {host}/docker/app:refused: \
             400 MANIFEST_INVALID: manifest invalid: {reason}"
        )
    );
}

/// A registry that quotes the credentials it got in its error detail, with control
/// characters and kilobytes of padding: the line shows the detail redacted, on one line,
/// shortened.
#[test]
fn a_detail_quoting_the_credentials_is_redacted_and_shortened() {
    let (reg, _) = shared(Mode::PlainHttp);
    let proxy = protocol::quoting_credentials(&reg.host());
    let password = "detail-Pa55word-quoted";
    let run = run_plain(&[
        "--username",
        "u",
        "--password",
        password,
        "inspect",
        &format!("{}/docker/app:list", proxy.host()),
    ]);
    let line = run.fails_with("403 DENIED: denied: [2Jrefused Basic <redacted> ");
    run.assert_no_secret(password);
    let padding = 200 - "[2Jrefused Basic <redacted> ".chars().count();
    assert_eq!(
        line,
        format!(
            "manifest-tool failed with error: fetching {host}/docker/app:list: {host} refused \
             access (403 DENIED: denied: [2Jrefused Basic <redacted> {}…); credentials from \
             --username/--password",
            "x".repeat(padding),
            host = proxy.host(),
        )
    );
}

/// The sources of the token tests: two readable repositories and one the stand-in's
/// registry does not have (or will not show).
const WITH_MISSING: [&str; 3] = [
    "docker/app:linux-amd64",
    "missing/app:linux-s390x",
    "oci/app:linux-arm64-v8",
];

/// The token requests a stand-in answered, as the scopes each asked for (decoded).
fn token_scopes(proxy: &Proxy) -> Vec<String> {
    proxy
        .seen()
        .iter()
        .filter_map(|s| s.request.strip_prefix("GET /token?"))
        .map(|query| {
            query
                .split('&')
                .filter_map(|p| p.strip_prefix("scope="))
                .map(|scope| {
                    scope
                        .replace("%3A", ":")
                        .replace("%2F", "/")
                        .replace("%2C", ",")
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// What a run from `dir` says of where its (absent) credentials for `proxy` came from.
fn anonymous(dir: &TempDir, proxy: &Proxy) -> String {
    format!(
        "none found (no credentials for {} ({}/docker-config/config.json does not exist)); \
         anonymous",
        proxy.host(),
        dir.path().display()
    )
}

/// Pushes [`WITH_MISSING`] to `repo:1` of `proxy` with `--ignore-missing`: the missing
/// source is skipped with one warning saying it was not found or not readable, and the list
/// of the other two is pushed. `refusal` is the registry's refusal, with `CREDENTIALS` where
/// the credentials' origin goes.
fn push_skips_the_unreadable_source(reg: &Registry, proxy: &Proxy, repo: &str, refusal: &str) {
    let dir = TempDir::new("mt-proto-ignore-missing");
    let refusal = refusal.replace("CREDENTIALS", &anonymous(&dir, proxy));
    let host = proxy.host();
    let target = format!("{host}/{repo}:1");
    let flags = ["--ignore-missing"];
    let run = push_spec(&dir, &flags, &target, &host, &WITH_MISSING).success();
    assert_eq!(run.out(), digest_line(reg, &format!("{repo}:1")));
    assert_eq!(
        run.stderr,
        format!(
            "warning: skipping {host}/missing/app:linux-s390x: not found or not readable: \
             {refusal} (--ignore-missing)\n"
        )
    );
}

/// [`push_skips_the_unreadable_source`] and [`push_fails_naming_the_unreadable_source`], where
/// the registry's refusal says `answer`.
fn push_skips_and_fails_on_the_unreadable_source(
    reg: &Registry,
    proxy: &Proxy,
    repo: &str,
    answer: &str,
) {
    let refusal = format!(
        "{} refused access ({answer}); credentials from CREDENTIALS",
        proxy.host()
    );
    push_skips_the_unreadable_source(reg, proxy, repo, &refusal);
    push_fails_naming_the_unreadable_source(proxy, repo, &refusal);
}

/// Without `--ignore-missing`, the push fails naming the unreadable source and no other.
fn push_fails_naming_the_unreadable_source(proxy: &Proxy, repo: &str, refusal: &str) {
    let dir = TempDir::new("mt-proto-unreadable");
    let refusal = refusal.replace("CREDENTIALS", &anonymous(&dir, proxy));
    let host = proxy.host();
    let target = format!("{host}/{repo}:2");
    let run = push_spec(&dir, &[], &target, &host, &WITH_MISSING);
    let spec = dir.path().join("spec.yaml");
    assert_eq!(
        run.fails_with("missing/app"),
        format!(
            "manifest-tool failed with error: spec {}: manifests[1]: resolving source image \
             {host}/missing/app:linux-s390x: {refusal}",
            spec.display()
        )
    );
}

/// Docker Hub (stand-in): one token serves a run whose repositories all exist; a source
/// repository that does not exist is answered 401 and left out of the token, so the tool falls
/// back to one token per repository, and that source stays 401: skipped under
/// `--ignore-missing`, else the error names it.
#[test]
fn docker_hub_401_for_a_missing_repository_is_a_missing_source() {
    let (reg, _) = shared(Mode::PlainHttp);
    let readable = ["docker/app", "oci/app", "hub/app"];
    let proxy = auth::docker_hub(&reg.host(), &readable);
    let host = proxy.host();
    let dir = TempDir::new("mt-proto-hub-one-token");
    let images = ["docker/app:linux-amd64", "oci/app:linux-arm64-v8"];
    let run = push_spec(&dir, &[], &format!("{host}/hub/app:all"), &host, &images).success();
    assert_eq!(run.out(), digest_line(reg, "hub/app:all"));
    assert_eq!(
        token_scopes(&proxy),
        ["repository:hub/app:pull,push repository:docker/app:pull repository:oci/app:pull"],
        "one token for the whole run"
    );

    let refusal = "401 UNAUTHORIZED: authentication required";
    push_skips_and_fails_on_the_unreadable_source(reg, &proxy, "hub/app", refusal);
}

/// GHCR (stand-in): the token server refuses the whole token when one scope is not
/// grantable; with one token per repository the others are read, and the source whose token
/// is refused is skipped under `--ignore-missing`, else named in the error.
#[test]
fn ghcr_refusing_the_whole_token_falls_back_to_one_token_per_repository() {
    let (reg, _) = shared(Mode::PlainHttp);
    let proxy = auth::ghcr(&reg.host(), &["docker/app", "oci/app", "ghcr/app"]);
    let refusal = format!("token server {} answered 403 DENIED: denied", proxy.host());
    push_skips_and_fails_on_the_unreadable_source(reg, &proxy, "ghcr/app", &refusal);
}

/// Old Harbor (stand-in): the token server grants only the first scope asked for, so every
/// other repository is refused with the shared token; one token per repository reads the
/// sources, and blobs the mount cannot reach are copied.
#[test]
fn old_harbor_granting_only_the_first_scope_works_with_one_token_per_repository() {
    let (reg, _) = shared(Mode::PlainHttp);
    let proxy = auth::old_harbor(&reg.host(), &["docker/app", "oci/app", "harbor/app"]);
    let host = proxy.host();
    let dir = TempDir::new("mt-proto-old-harbor");
    let images = ["docker/app:linux-amd64", "oci/app:linux-arm64-v8"];
    let run = push_spec(&dir, &[], &format!("{host}/harbor/app:1"), &host, &images).success();
    assert_eq!(run.out(), digest_line(reg, "harbor/app:1"));
    assert_eq!(run.stderr, "");
    let mut tokens = token_scopes(&proxy);
    tokens.sort();
    tokens.dedup();
    // A request to the target that meets the switch to one token per repository (the tag's HEAD
    // and the source GETs go out together) asks for the target's own token: right, and rare
    // (about one run in six on a busy machine), so not counted here.
    tokens.retain(|scopes| scopes != "repository:harbor/app:pull,push");
    assert_eq!(
        tokens,
        [
            "repository:docker/app:pull",
            "repository:harbor/app:pull,push repository:docker/app:pull",
            "repository:harbor/app:pull,push repository:docker/app:pull repository:oci/app:pull",
            "repository:harbor/app:pull,push repository:oci/app:pull",
            "repository:oci/app:pull",
        ],
        "the shared token (asked again when a refusal comes before the switch), then one per \
         source and one per mount (the target first)"
    );
}

/// Pushes two layout images to `target` with `flags` (so every blob is uploaded, none
/// mounted), expecting success.
fn push_layout(dir: &TempDir, flags: &[&str], target: &str) -> Outcome {
    let source = layout_copy(dir);
    let spec = layout_spec(target, &source, &["linux-amd64", "linux-arm64-v8"]);
    let file = write_file(dir.path(), "layout.yaml", &spec);
    outcome(
        bare_command(dir)
            .arg("--plain-http")
            .args(flags)
            .args(["push", "from-spec", &file]),
    )
}

/// GCR (stand-in) completes uploads with 200 rather than 201: the push succeeds.
#[test]
fn gcr_completing_uploads_with_200_is_success() {
    let (reg, _) = shared(Mode::PlainHttp);
    let proxy = protocol::gcr_completing_uploads_with_200(&reg.host());
    let dir = TempDir::new("mt-proto-gcr-200");
    let run = push_layout(&dir, &[], &format!("{}/gcr/app:1", proxy.host())).success();
    assert_eq!(run.out(), digest_line(reg, "gcr/app:1"));
    assert!(
        proxy
            .seen()
            .iter()
            .any(|s| s.request.starts_with("PUT /v2/gcr/app/blobs/uploads/")
                && s.fault.as_deref() == Some("rewritten answer")),
        "no upload was answered 200"
    );
}

/// Manifests served as `application/octet-stream`, `text/plain`, `application/json` or with no
/// type (a CDN in front of Pulp's Crane, stand-in): the media type comes from the body, so
/// inspect prints what it prints without the CDN, and a push writes the same list.
#[test]
fn manifests_served_with_a_cdn_content_type_are_read_by_their_body() {
    let (reg, _) = shared(Mode::PlainHttp);
    let direct = inspect_text(reg);
    let dir = TempDir::new("mt-proto-cdn");
    let images = ["docker/app:linux-amd64", "oci/app:linux-arm64-v8"];
    let host = reg.host();
    let expected = push_spec(&dir, &[], &format!("{host}/cdn/app:direct"), &host, &images)
        .success()
        .out();
    for content_type in [
        Some("application/octet-stream"),
        Some("text/plain"),
        Some("application/json"),
        None,
    ] {
        let proxy = protocol::crane_behind_a_cdn(&reg.host(), content_type);
        let host = proxy.host();
        let run = run_plain(&["inspect", &format!("{host}/docker/app:list")]).success();
        assert_eq!(run.out().replace(&host, "HOST"), direct, "{content_type:?}");
        let run = push_spec(&dir, &[], &format!("{host}/cdn/app:1"), &host, &images).success();
        assert_eq!(run.out(), expected, "{content_type:?}");
    }
}

/// A relative upload `Location` (`UUID?_state=…`, stand-in) is resolved against the URL of
/// the request that opened the session, as RFC 3986 says: the push succeeds.
#[test]
fn a_relative_upload_location_is_resolved_against_the_request() {
    let (reg, _) = shared(Mode::PlainHttp);
    let proxy = protocol::relative_upload_locations(&reg.host(), "relative/app");
    let dir = TempDir::new("mt-proto-relative");
    let run = push_layout(&dir, &[], &format!("{}/relative/app:1", proxy.host())).success();
    assert_eq!(run.out(), digest_line(reg, "relative/app:1"));
    assert!(
        proxy.seen().iter().any(|s| s
            .request
            .starts_with("POST /v2/relative/app/blobs/uploads/")
            && s.fault.as_deref() == Some("rewritten answer")),
        "no relative Location was handed out"
    );
}

/// Upload sessions on another origin than the registry's (stand-in): the credentials for the
/// registry are not sent there. Where that origin lets the upload in, the push succeeds;
/// where it asks for credentials, the error says they were withheld and why.
#[test]
fn an_upload_location_on_another_origin_gets_no_credentials() {
    let (reg, _) = shared(Mode::PlainHttp);
    let password = "for-the-registry-only";
    let credentials = ["--username", "u", "--password", password];

    let storage = Proxy::transparent(&reg.host());
    let proxy = protocol::uploads_on_another_origin(&reg.host(), "elsewhere/app", &storage.host());
    let dir = TempDir::new("mt-proto-elsewhere");
    let run = push_layout(
        &dir,
        &credentials,
        &format!("{}/elsewhere/app:1", proxy.host()),
    );
    assert_eq!(run.success().out(), digest_line(reg, "elsewhere/app:1"));
    let uploads: Vec<_> = storage.seen();
    assert!(!uploads.is_empty(), "no upload went to the other origin");
    assert!(
        uploads.iter().all(|s| s.authorization.is_none()),
        "credentials went to the other origin: {uploads:?}"
    );

    let guarded = auth::basic_auth(&reg.host());
    let proxy = protocol::uploads_on_another_origin(&reg.host(), "guarded/app", &guarded.host());
    let run = push_layout(
        &dir,
        &credentials,
        &format!("{}/guarded/app:1", proxy.host()),
    );
    let line = run.fails_with("credentials are only sent to the registry itself");
    let (before, after) = line.split_once(", where ").unwrap_or_default();
    assert!(before.ends_with(&format!(": {}", guarded.host())), "{line}");
    let (upload, answer) = after.split_once(", answered ").unwrap_or_default();
    assert!(
        upload.starts_with(&format!("{} sent the upload of sha256:", proxy.host())),
        "{line}"
    );
    assert_eq!(
        answer,
        "401 UNAUTHORIZED: authentication required; credentials are only sent to the registry \
         itself"
    );
    assert!(guarded.seen().iter().all(|s| s.authorization.is_none()));
}

/// Gitea (`scope="*"`) and ECR Public (`scope="aws"`) challenge with scopes that name no
/// repository (stand-ins): the token asked for covers what the run needs, and inspect works.
#[test]
fn challenges_with_scopes_naming_no_repository_are_answered() {
    let (reg, _) = shared(Mode::PlainHttp);
    let direct = inspect_text(reg);
    for proxy in [auth::gitea(&reg.host()), auth::ecr_public(&reg.host())] {
        let host = proxy.host();
        let run = run_plain(&["inspect", &format!("{host}/docker/app:list")]).success();
        assert_eq!(run.out().replace(&host, "HOST"), direct);
        assert_eq!(
            token_scopes(&proxy),
            ["repository:docker/app:pull"],
            "one token, for the repository read"
        );
    }
}

/// A mount answered 202 (an upload session), 401, 404 or 405 falls back to a streamed copy:
/// the push succeeds either way.
#[test]
fn a_refused_mount_falls_back_to_a_copy_whatever_the_refusal() {
    let (reg, _) = shared(Mode::PlainHttp);
    let dir = TempDir::new("mt-proto-mounts");
    let images = ["docker/app:linux-amd64", "oci/app:linux-arm64-v8"];
    for status in [202, 401, 404, 405] {
        let fault = match status {
            202 => Fault::RefuseMounts,
            status => Fault::json(
                status,
                r#"{"errors":[{"code":"UNSUPPORTED","message":"no"}]}"#,
            ),
        };
        let proxy = Proxy::with_rule(&reg.host(), Rule::new("POST", "mount=", fault));
        let host = proxy.host();
        let repo = format!("mount{status}/app");
        let run = push_spec(&dir, &[], &format!("{host}/{repo}:1"), &host, &images).success();
        assert_eq!(
            run.out(),
            digest_line(reg, &format!("{repo}:1")),
            "{status}"
        );
        assert!(
            proxy.seen().iter().any(|s| s.request.contains("mount=")),
            "{status}: no mount was tried"
        );
    }
}
