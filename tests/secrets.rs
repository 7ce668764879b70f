//! Secrets are never shown and trust is never widened.
//!
//! - No password, no base64 of `user:password`, no identity token and no token the token server
//!   issued appears in stdout or stderr, with `--debug`, whether the run succeeds or fails, for
//!   every way of giving credentials (flags, `--password-stdin`, `config.json`, a credential
//!   helper) against Basic and token registries.
//! - A redirect to another origin (another port of the same host) never carries
//!   `Authorization`; TLS is verified unless `--insecure`; a token realm on plain http for an
//!   https registry gets no request unless `--insecure`.
//! - Answers larger than their limits (a manifest, a token answer, an error body) are refused
//!   without being read whole, and content that does not match its digest is an error.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use support::media::DOCKER_LIST;
use support::{
    Fault, IDENTITY_TOKEN, Mode, Outcome, PASSWORD, Proxy, Registry, Rule, TempDir, USERNAME,
    bare_command, debug_inspect_as_user, manifest_tool, outcome, sha256_digest, shared, write_file,
};

const WRONG_PASSWORD: &str = "Wr0ng-Pa55word-for-tests";
/// The right credentials, as flags.
const CREDENTIALS: [&str; 4] = ["--username", USERNAME, "--password", PASSWORD];

fn base64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn ca_of(reg: &Registry) -> String {
    reg.ca_cert().expect("a TLS registry").display().to_string()
}

/// Every secret a run against `reg` could show: both passwords, base64 of `user:password` for
/// each, the identity token, and each token the registry's token server has issued (whole and
/// its signature alone).
fn secrets(reg: &Registry) -> Vec<String> {
    let mut secrets = vec![
        PASSWORD.to_string(),
        WRONG_PASSWORD.to_string(),
        base64(&format!("{USERNAME}:{PASSWORD}")),
        base64(&format!("{USERNAME}:{WRONG_PASSWORD}")),
        IDENTITY_TOKEN.to_string(),
    ];
    if let Some(server) = reg.token_server() {
        for token in server.issued_tokens() {
            let signature = token.rsplit('.').next().unwrap_or_default().to_string();
            secrets.extend([token, signature]);
        }
    }
    secrets
}

fn assert_no_secrets(run: &Outcome, reg: &Registry, what: &str) {
    let secrets = secrets(reg);
    if reg.mode() == Mode::TlsToken {
        assert!(
            secrets.len() > 5,
            "{what}: the token server issued no token to check for"
        );
    }
    for secret in secrets {
        assert!(
            !run.out().contains(&secret) && !run.stderr.contains(&secret),
            "{what}: a secret leaked into the output\n--- stdout\n{}\n--- stderr\n{}",
            run.out(),
            run.stderr
        );
    }
}

/// How the credentials are given.
#[derive(Clone, Copy, Debug)]
enum Source {
    Flags,
    PasswordStdin,
    ConfigAuths,
    Helper,
}

const SOURCES: [Source; 4] = [
    Source::Flags,
    Source::PasswordStdin,
    Source::ConfigAuths,
    Source::Helper,
];

/// Run the binary with `--debug` against `reg` (trusting its CA), with the credentials
/// `USERNAME`/`password` given the way `source` says, then `args`.
fn run_with(reg: &Registry, source: Source, password: &str, args: &[&str]) -> Outcome {
    let home = TempDir::new("mt-secrets");
    let mut cmd = bare_command(&home);
    cmd.args(["--cacert", &ca_of(reg), "--debug"]);
    let docker_config = home.path().join("docker-config");
    let mut stdin = None;
    match source {
        Source::Flags => {
            cmd.args(["--username", USERNAME, "--password", password]);
        }
        Source::PasswordStdin => {
            cmd.args(["--username", USERNAME, "--password-stdin"]);
            stdin = Some(format!("{password}\n"));
        }
        Source::ConfigAuths => {
            let auth = base64(&format!("{USERNAME}:{password}"));
            let config = format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host());
            write_file(&docker_config, "config.json", &config);
        }
        Source::Helper => {
            let bin = home.path().join("bin");
            std::fs::create_dir_all(&bin).unwrap();
            let script = format!(
                "#!/bin/sh\n[ \"$1\" = get ] || exit 2\ncat >/dev/null\n\
                 printf '{{\"ServerURL\":\"x\",\"Username\":\"{USERNAME}\",\"Secret\":\"{password}\"}}'\n"
            );
            let helper = write_file(&bin, "docker-credential-testhelper", &script);
            set_executable(&helper);
            write_file(
                &docker_config,
                "config.json",
                r#"{"credsStore":"testhelper"}"#,
            );
            let path = std::env::var("PATH").unwrap_or_default();
            cmd.env("PATH", format!("{}:{path}", bin.display()));
        }
    }
    cmd.args(args);
    match stdin {
        Some(text) => support::outcome_with_stdin(&mut cmd, &text),
        None => outcome(&mut cmd),
    }
}

fn set_executable(path: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Writes a spec into `home` that pushes `host/docker/app:linux-amd64` alone as
/// `host/<repo>/app:1.0`; returns its path.
fn one_image_spec(home: &TempDir, host: &str, repo: &str) -> String {
    let spec = format!(
        "image: {host}/{repo}/app:1.0\nmanifests:\n  - image: {host}/docker/app:linux-amd64\n"
    );
    write_file(home.path(), "spec.yaml", &spec)
}

/// Every credential source × (inspect, push, and the failures we can cause) in `mode`.
fn no_secret_in_any_output(mode: Mode) {
    let (reg, seeded) = shared(mode);
    let host = reg.host();
    let dir = TempDir::new("mt-secrets-specs");
    let list = format!("{host}/docker/app:list");
    let missing = format!("{host}/docker/app:no-such-tag");
    let mut runs = Vec::new();
    for (i, source) in SOURCES.into_iter().enumerate() {
        let what = |case: &str| format!("{mode:?}, {source:?}, {case}");
        let good = write_file(
            dir.path(),
            &format!("good{i}.yaml"),
            &format!(
                "image: {host}/secrets{i}/app:1.0\nmanifests:\n  - image: {host}/docker/app:linux-amd64\n  - image: {host}/docker/app:linux-s390x\n"
            ),
        );
        let missing_source = write_file(
            dir.path(),
            &format!("missing{i}.yaml"),
            &format!(
                "image: {host}/secrets{i}/app:2.0\nmanifests:\n  - image: {host}/docker/app:linux-amd64\n  - image: {host}/docker/app:no-such-tag\n"
            ),
        );

        let run = run_with(reg, source, PASSWORD, &["inspect", &list]).success();
        assert!(
            run.out().contains(&seeded.docker_list),
            "{}",
            what("inspect")
        );
        runs.push((what("inspect"), run));
        let run = run_with(reg, source, PASSWORD, &["push", "from-spec", &good]).success();
        assert!(run.out().starts_with("Digest: sha256:"), "{}", what("push"));
        runs.push((what("push"), run));

        let run = run_with(reg, source, PASSWORD, &["inspect", &missing]);
        run.fails_with("MANIFEST_UNKNOWN");
        runs.push((what("inspect of a missing tag"), run));
        let run = run_with(
            reg,
            source,
            PASSWORD,
            &["push", "from-spec", &missing_source],
        );
        run.fails_with("no-such-tag");
        runs.push((what("push of a missing source"), run));
        let run = run_with(reg, source, WRONG_PASSWORD, &["inspect", &list]);
        run.fails_with("refused access");
        runs.push((what("inspect with a wrong password"), run));
        let run = run_with(reg, source, WRONG_PASSWORD, &["push", "from-spec", &good]);
        run.fails_with("refused access");
        runs.push((what("push with a wrong password"), run));
    }
    // Checked at the end, against every token issued meanwhile.
    for (what, run) in &runs {
        assert_no_secrets(run, reg, what);
        assert!(
            run.stderr.contains("debug: GET"),
            "{what}: --debug printed no request: {}",
            run.stderr
        );
    }
}

/// `inspect NAME` with the global `flags` and `CREDENTIALS` on the command line.
fn inspect_with_credentials(home: &TempDir, flags: &[&str], name: &str) -> Outcome {
    outcome(
        bare_command(home)
            .args(flags)
            .args(CREDENTIALS)
            .args(["inspect", name]),
    )
}

#[test]
fn no_secret_is_shown_with_basic_auth_whatever_the_source_and_outcome() {
    no_secret_in_any_output(Mode::TlsBasic);
}

#[test]
fn no_token_or_secret_is_shown_with_token_auth_whatever_the_source_and_outcome() {
    no_secret_in_any_output(Mode::TlsToken);
}

/// The `WWW-Authenticate` of a registry that wants Basic credentials.
const BASIC_CHALLENGE: &str = "Basic realm=\"test\"";

/// An HTTPS "registry" (a TLS proxy in front of the plain-HTTP test registry) with the
/// certificate of the `TlsBasic` registry, whose CA is passed with `--cacert`. It wants no
/// credentials until told to with [`Proxy::challenge`] or [`Proxy::serve_tokens`].
fn https_front() -> (Proxy, &'static Registry, String) {
    let (plain, _) = shared(Mode::PlainHttp);
    let (front, ca) = tls_front_to(&plain.host());
    (front, plain, ca)
}

/// A TLS proxy to `host` with the certificate of the `TlsBasic` registry, and that registry's CA.
fn tls_front_to(host: &str) -> (Proxy, String) {
    let (tls, _) = shared(Mode::TlsBasic);
    let tls_dir = tls.dir().join("tls");
    let front = Proxy::start_tls(
        host,
        &tls_dir.join("server.crt"),
        &tls_dir.join("server.key"),
    );
    (front, ca_of(tls))
}

/// [`https_front`] wanting Basic credentials.
fn basic_auth_front() -> (Proxy, &'static Registry, String) {
    let (front, plain, ca) = https_front();
    front.challenge(BASIC_CHALLENGE);
    (front, plain, ca)
}

/// [`https_front`] wanting a Bearer token from its own `/token`, which answers `answer`.
fn token_front(answer: Fault) -> (Proxy, &'static Registry, String) {
    let (front, plain, ca) = https_front();
    front.serve_tokens(answer);
    (front, plain, ca)
}

/// Failures in the middle of a push with Basic credentials in every request (the list PUT
/// answered 500, a blob upload reset): the failure line and the debug output show no secret.
#[test]
fn no_secret_is_shown_when_a_push_fails_half_way() {
    for (i, fault) in [
        Rule::new("PUT", "/manifests/1.0", Fault::Status(500)),
        Rule::new("PUT", "/manifests/sha256:", Fault::ResetBeforeResponse),
    ]
    .into_iter()
    .enumerate()
    {
        let (front, plain, ca) = basic_auth_front();
        front.inject(fault);
        let host = front.host();
        let home = TempDir::new("mt-secrets-halfway");
        let spec = one_image_spec(&home, &host, &format!("halfway{i}"));
        let run = outcome(
            bare_command(&home)
                .args(["--cacert", &ca, "--debug"])
                .args(CREDENTIALS)
                .args(["push", "from-spec", &spec]),
        );
        run.fails_with(&host);
        assert_no_secrets(&run, plain, "a push failing half-way");
        assert!(
            front
                .seen()
                .iter()
                .any(|s| s.authorization.is_some() && s.request.starts_with("PUT")),
            "credentials were in play: {:?}",
            front.seen()
        );
    }
}

/// A registry that redirects blob GETs: to another origin (another port of the same host, as a
/// CDN would be) the request goes without `Authorization`; within the origin it keeps it.
#[test]
fn a_redirect_to_another_port_never_carries_the_credentials() {
    let (plain, seeded) = shared(Mode::PlainHttp);
    let other = Proxy::transparent(&plain.host());
    for (elsewhere, keeps) in [(true, false), (false, true)] {
        let front = Proxy::transparent(&plain.host());
        let target = if elsewhere {
            format!("http://{}", other.host())
        } else {
            format!("http://{}", front.host())
        };
        front.inject(Rule::new("GET", "/blobs/", Fault::RedirectTo(target)).first(1));
        front.challenge(BASIC_CHALLENGE);
        let home = TempDir::new("mt-redirect");
        let name = format!("{}/docker/app:linux-amd64", front.host());
        let run = inspect_with_credentials(&home, &["--plain-http", "--debug"], &name).success();
        assert!(
            run.out().contains(seeded.digests_of("linux-amd64").0),
            "{}",
            run.out()
        );
        run.assert_no_secret(PASSWORD);
        let followed: Vec<_> = if elsewhere {
            other.seen()
        } else {
            front.seen()
        }
        .into_iter()
        .filter(|s| s.request.contains("/blobs/") && s.fault.is_none())
        .collect();
        assert_eq!(followed.len(), 1, "{followed:?}");
        assert_eq!(
            followed[0].authorization.is_some(),
            keeps,
            "redirected {} the origin: {followed:?}",
            if elsewhere { "out of" } else { "within" }
        );
        let first = front
            .seen()
            .into_iter()
            .find(|s| s.request.contains("/blobs/"))
            .unwrap();
        assert!(first.authorization.is_some(), "{first:?}");
    }
    let other_seen = other.seen();
    assert!(
        other_seen.iter().all(|s| s.authorization.is_none()),
        "{other_seen:?}"
    );
}

/// A hostile stand-in: the registry redirects a blob GET to a
/// storage host that answers 401 with a Bearer realm of its own. That challenge is not the
/// registry's: no credentials go to its realm, the run fails naming the storage host, and the
/// realm is not remembered as the registry's scheme, so the next run does not send the
/// password there either.
#[test]
fn a_401_from_a_host_the_registry_redirects_to_gets_no_credentials() {
    let (plain, _) = shared(Mode::PlainHttp);
    let thief = Proxy::with_rule(
        &plain.host(),
        Rule::new("*", "/", Fault::json(200, r#"{"token":"stolen"}"#)),
    );
    let storage = Proxy::transparent(&plain.host());
    storage.challenge(&format!(
        "Bearer realm=\"http://{}/token\",service=\"storage\"",
        thief.host()
    ));
    let front = Proxy::transparent(&plain.host());
    front.inject(Rule::new(
        "GET",
        "/blobs/",
        Fault::RedirectTo(format!("http://{}", storage.host())),
    ));
    front.challenge(BASIC_CHALLENGE);
    let home = TempDir::new("mt-foreign-401");
    let name = format!("{}/docker/app:linux-amd64", front.host());
    for run in 1..=2 {
        let outcome = inspect_with_credentials(&home, &["--plain-http", "--debug"], &name);
        outcome.fails_with(&format!(
            "{}, where {} redirected the request, answered 401",
            storage.host(),
            front.host()
        ));
        outcome.assert_no_secret(PASSWORD);
        assert!(thief.seen().is_empty(), "run {run}: {:?}", thief.seen());
        let to_storage = storage.seen();
        assert!(
            to_storage.iter().all(|s| s.authorization.is_none()),
            "run {run}: {to_storage:?}"
        );
        // The registry itself got the credentials, as Basic, on its own challenge.
        let basic = front
            .seen()
            .into_iter()
            .filter(|s| {
                s.authorization
                    .as_deref()
                    .is_some_and(|a| a.starts_with("Basic "))
            })
            .count();
        assert!(basic > 0, "run {run}: {:?}", front.seen());
    }
}

/// Signed URLs carry their credentials in the query: the registry's upload URLs (`_state`), a
/// storage redirect's signature. `--debug` shows every request, and each URL without its query.
#[test]
fn debug_output_never_shows_a_urls_query() {
    const SIGNATURE: &str = "X-Amz-Signature=f00dfeedsigned";
    let (plain, _) = shared(Mode::PlainHttp);
    let storage = Proxy::transparent(&plain.host());
    let front = Proxy::transparent(&plain.host());
    // Refused mounts make the push stream each blob: a GET (redirected to storage) and an
    // upload (POST, then a PUT to the registry's upload URL).
    front.inject(Rule::new("POST", "/blobs/uploads/", Fault::RefuseMounts));
    redirect_blob_reads(&front, &storage, SIGNATURE);
    let host = front.host();
    let home = TempDir::new("mt-debug-query");
    let spec = one_image_spec(&home, &host, "debug-query");
    let run =
        outcome(bare_command(&home).args(["--plain-http", "--debug", "push", "from-spec", &spec]))
            .success();

    let queries = |seen: Vec<support::Seen>, what: &str| {
        seen.iter()
            .filter(|s| s.request.contains(what) && s.request.contains('?'))
            .count()
    };
    assert!(
        queries(storage.seen(), SIGNATURE) > 0,
        "{:?}",
        storage.seen()
    );
    assert!(queries(front.seen(), "_state=") > 0, "{:?}", front.seen());
    let debug: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.starts_with("debug: "))
        .collect();
    for shown in [
        format!(
            "debug: following the redirect to http://{}/v2/docker/app/blobs/sha256:",
            storage.host()
        ),
        format!("debug: PUT http://{host}/v2/debug-query/app/blobs/uploads/"),
    ] {
        assert!(
            debug.iter().any(|l| l.starts_with(&shown)),
            "no `{shown}` in\n{}",
            run.stderr
        );
    }
    let leaks: Vec<&&str> = debug.iter().filter(|l| l.contains('?')).collect();
    assert!(leaks.is_empty(), "--debug shows a query: {leaks:#?}");
    for secret in [SIGNATURE, "_state="] {
        assert!(!run.stderr.contains(secret), "{secret} in\n{}", run.stderr);
    }
}

/// An https registry whose token realm is plain http: credentials are not sent there unless
/// `--insecure` says that this registry's transport is not to be trusted anyway.
#[test]
fn a_plain_http_token_realm_of_an_https_registry_gets_nothing_unless_insecure() {
    let (front, plain, ca) = https_front();
    let realm = Proxy::transparent(&plain.host());
    front.challenge(&format!(
        "Bearer realm=\"http://{}/token\",service=\"test\"",
        realm.host()
    ));
    let home = TempDir::new("mt-realm");
    let name = format!("{}/docker/app:list", front.host());
    let run = inspect_with_credentials(&home, &["--cacert", &ca, "--debug"], &name);
    run.fails_with(&format!(
        "{} sends its token realm over plain http (http://{}/token); refusing to send credentials there without --plain-http or --insecure",
        front.host(),
        realm.host()
    ));
    assert!(realm.seen().is_empty(), "{:?}", realm.seen());

    let run = inspect_with_credentials(&home, &["--insecure", "--debug"], &name);
    run.fails_with("getting a token from");
    assert_eq!(realm.seen().len(), 1, "{:?}", realm.seen());
    run.assert_no_secret(PASSWORD);
}

/// An https registry redirecting a blob GET to plain http: the run stops with one
/// line naming the registry and the http host (not the URL's query, which may be a signature),
/// and the http host gets nothing. `--insecure` says this registry's transport is not trusted
/// anyway: the redirect is followed, without the credentials, as to any other origin.
#[test]
fn an_https_registry_redirecting_to_plain_http_is_refused_unless_insecure() {
    const SIGNATURE: &str = "X-Amz-Signature=f00dfeedsigned";
    let (front, plain, ca) = basic_auth_front();
    let storage = Proxy::transparent(&plain.host());
    redirect_blob_reads(&front, &storage, SIGNATURE);
    let home = TempDir::new("mt-https-to-http");
    let name = format!("{}/docker/app:linux-amd64", front.host());
    let run = inspect_with_credentials(&home, &["--cacert", &ca, "--debug"], &name);
    run.fails_with(&format!(
        "a request to {} was redirected to plain http ({}); not following it without \
         --plain-http or --insecure",
        front.host(),
        storage.host()
    ));
    assert!(!run.stderr.contains(SIGNATURE), "{}", run.stderr);
    assert!(storage.seen().is_empty(), "{:?}", storage.seen());
    run.assert_no_secret(PASSWORD);

    let run = inspect_with_credentials(&home, &["--insecure", "--debug"], &name).success();
    let (_, seeded) = shared(Mode::PlainHttp);
    assert!(
        run.out().contains(seeded.digests_of("linux-amd64").0),
        "{}",
        run.out()
    );
    let followed = storage.seen();
    assert!(
        !followed.is_empty() && followed.iter().all(|s| s.authorization.is_none()),
        "{followed:?}"
    );
    run.assert_no_secret(PASSWORD);
}

/// TLS is verified: without the registry's CA a push fails before writing anything, naming the
/// TLS problem; `--insecure` skips verification.
#[test]
fn an_unverified_registry_gets_no_push_unless_insecure() {
    let (reg, _) = shared(Mode::Tls);
    let host = reg.host();
    let home = TempDir::new("mt-tls");
    let spec = one_image_spec(&home, &host, "tls-check");
    reg.clear_access_log();
    let run = outcome(bare_command(&home).args(["push", "from-spec", &spec]));
    run.fails_with("TLS: invalid peer certificate: UnknownIssuer (use --cacert, or --insecure");
    assert!(reg.access_log().is_empty(), "{:?}", reg.access_log());
    outcome(bare_command(&home).args(["--insecure", "push", "from-spec", &spec])).success();
}

/// How many bytes an endless answer may have sent before the client gave up: the limit
/// plus what sockets buffer, far below the 256 MiB the proxy would send.
const SENT_AT_MOST: u64 = 16 * 1024 * 1024;

/// A manifest answer larger than 4 MiB is refused, whether `Content-Length` announces it or
/// the (chunked) body just goes on; an endless error body is cut at its small limit.
#[test]
fn oversized_manifests_and_error_bodies_are_refused_without_reading_them_whole() {
    let (reg, _) = shared(Mode::PlainHttp);
    let cases = [
        (
            200,
            true,
            "manifest docker/app:list is larger than the limit of 4194304 bytes",
        ),
        (
            200,
            false,
            "manifest docker/app:list is larger than the limit of 4194304 bytes",
        ),
        (404, false, "404 Not Found"),
    ];
    for (status, declare_length, fragment) in cases {
        let proxy = Proxy::transparent(&reg.host());
        proxy.inject(Rule::new(
            "GET",
            "/manifests/list",
            Fault::Endless {
                status,
                content_type: DOCKER_LIST.to_string(),
                declare_length,
            },
        ));
        let name = format!("{}/docker/app:list", proxy.host());
        let run = manifest_tool(reg, &["inspect", &name]);
        run.fails_with(fragment);
        let sent = proxy.endless_bytes_sent();
        assert!(
            sent < SENT_AT_MOST,
            "{status}, length declared: {declare_length}: {sent} bytes sent"
        );
    }
}

/// A token server whose answer never ends: refused at 1 MiB.
#[test]
fn an_oversized_token_answer_is_refused_without_reading_it_whole() {
    let (front, _, ca) = token_front(Fault::Endless {
        status: 200,
        content_type: "application/json".to_string(),
        declare_length: false,
    });
    let home = TempDir::new("mt-hugetoken");
    let name = format!("{}/docker/app:list", front.host());
    let run = inspect_with_credentials(&home, &["--cacert", &ca], &name);
    run.fails_with("reading the token answer: response is larger than the limit of 1048576 bytes");
    assert!(front.endless_bytes_sent() < SENT_AT_MOST);
    run.assert_no_secret(PASSWORD);
}

/// A proxy in front of `reg` that replaces `from` with `to` in its answers to `method path`.
fn rewriting(reg: &Registry, method: &str, path: &str, from: &str, to: &str) -> Proxy {
    let proxy = Proxy::transparent(&reg.host());
    let (from, to) = (from.to_string(), to.to_string());
    proxy.inject(Rule::new(method, path, Fault::Rewrite { from, to }));
    proxy
}

/// Content that does not match its digest: a child manifest fetched by digest, a config blob,
/// a manifest whose `Docker-Content-Digest` disagrees, and a PUT acknowledged with another
/// digest than that of the bytes sent. Each is an error naming both digests.
#[test]
fn content_that_does_not_match_its_digest_is_an_error() {
    let (reg, seeded) = shared(Mode::PlainHttp);
    let (amd64, _) = seeded.digests_of("linux-amd64");
    let amd64_bytes = reg.skopeo_inspect_raw(&format!("docker/app@{amd64}"));
    let image: serde_json::Value = serde_json::from_slice(&amd64_bytes).unwrap();
    let config = image["config"]["digest"].as_str().unwrap().to_string();
    let home = TempDir::new("mt-digest");

    // A list's child, by digest, altered on the way.
    let proxy = rewriting(
        reg,
        "GET",
        &format!("/manifests/{amd64}"),
        "schemaVersion",
        "schemaVersiom",
    );
    let name = format!("{}/docker/app:list", proxy.host());
    let run = manifest_tool(reg, &["inspect", &name]);
    run.fails_with(&format!("expected digest {amd64}, content has sha256:"));

    // A config blob altered on the way.
    let proxy = rewriting(reg, "GET", &format!("/blobs/{config}"), "amd64", "arm64");
    let name = format!("{}/docker/app:linux-amd64", proxy.host());
    let run = manifest_tool(reg, &["inspect", &name]);
    run.fails_with(&format!("expected digest {config}, content has sha256:"));

    // A tag whose Docker-Content-Digest names other content.
    let other = "0".repeat(64);
    let proxy = rewriting(
        reg,
        "GET",
        "/manifests/linux-amd64",
        &amd64["sha256:".len()..],
        &other,
    );
    let name = format!("{}/docker/app:linux-amd64", proxy.host());
    let run = manifest_tool(reg, &["inspect", &name]);
    run.fails_with(&format!(
        "expected digest sha256:{other}, content has {amd64}"
    ));

    // A list PUT acknowledged with the digest of something else.
    let proxy = Proxy::transparent(&reg.host());
    let host = proxy.host();
    let spec = one_image_spec(&home, &host, "digest-ack");
    let dry = manifest_tool(reg, &["push", "from-spec", "--dry-run", &spec]).success();
    let list = sha256_digest(&dry.stdout);
    proxy.inject(Rule::new(
        "PUT",
        "/manifests/1.0",
        Fault::Rewrite {
            from: list["sha256:".len()..].to_string(),
            to: other.clone(),
        },
    ));
    let run = manifest_tool(reg, &["push", "from-spec", &spec]);
    run.fails_with(&format!(
        "expected digest {list}, content has sha256:{other}"
    ));
}

/// An https registry behind a proxy that hands out upload locations on `http://` (a classic
/// misconfiguration: the registry sees plain HTTP and builds its `Location` from that): the
/// credentials never travel in the clear, whatever becomes of the upload.
#[test]
fn credentials_never_go_to_a_plain_http_upload_location_of_an_https_registry() {
    let (front, _, ca) = basic_auth_front();
    front.inject(Rule::new("POST", "mount=", Fault::RefuseMounts));
    let host = front.host();
    let home = TempDir::new("mt-secrets-location");
    let spec = one_image_spec(&home, &host, "location");
    let run = outcome(
        bare_command(&home)
            .args(["--cacert", &ca])
            .args(CREDENTIALS)
            .args(["push", "from-spec", &spec]),
    );
    let in_the_clear: Vec<_> = front
        .seen()
        .into_iter()
        .filter(|s| s.fault.as_deref() == Some(support::PLAIN_ON_TLS))
        .collect();
    assert!(
        in_the_clear.iter().any(|s| s.request.starts_with("PUT")),
        "the registry's plain-http upload location was not used: {:?}",
        front.seen()
    );
    assert!(
        in_the_clear.iter().all(|s| s.authorization.is_none()),
        "credentials sent over plain HTTP: {in_the_clear:?}\n--- stderr\n{}",
        run.stderr
    );
    run.assert_no_secret(PASSWORD);
}

/// A token server that fails (503 on every attempt, 401, an answer without a token) while the
/// credentials are sent to it: the failure line names it and shows no secret.
#[test]
fn no_secret_is_shown_when_the_token_server_fails() {
    let answers = [
        (
            503,
            r#"{"errors":[{"code":"UNAVAILABLE","message":"down"}]}"#,
            "503",
        ),
        (
            401,
            r#"{"errors":[{"code":"UNAUTHORIZED","message":"no"}]}"#,
            "refused access",
        ),
        (
            200,
            r#"{"nothing":"here"}"#,
            "token server answer has no token",
        ),
    ];
    for (status, body, fragment) in answers {
        let (front, plain, ca) = token_front(Fault::json(status, body));
        let home = TempDir::new("mt-secrets-token");
        let name = format!("{}/docker/app:list", front.host());
        let run = inspect_with_credentials(&home, &["--cacert", &ca, "--debug"], &name);
        run.fails_with(fragment);
        assert_no_secrets(&run, plain, &format!("token server answering {status}"));
        let sent = front
            .seen()
            .into_iter()
            .filter(|s| s.request.starts_with("GET /token"))
            .all(|s| s.authorization.is_some());
        assert!(
            sent,
            "the credentials went to the token server: {:?}",
            front.seen()
        );
    }
}

/// An HTTPS front wanting Basic credentials (as [`basic_auth_front`]) that forwards the
/// requests carrying them to `behind`, with the certificate of the `TlsBasic` registry.
fn basic_auth_front_of(behind: &Proxy) -> (Proxy, String) {
    let (front, ca) = tls_front_to(&behind.host());
    front.challenge(BASIC_CHALLENGE);
    (front, ca)
}

/// An error body in the registry's JSON whose message is `message`.
fn error_body(code: &str, message: &str) -> String {
    serde_json::json!({"errors": [{"code": code, "message": message}]}).to_string()
}

/// A registry that refuses the credentials it was sent and quotes them in its error (the
/// password, and the `Authorization` value, the base64 of `user:password`): the error line
/// still tells what the registry said, with `<redacted>` where each secret was.
#[test]
fn a_registry_quoting_the_credentials_in_its_error_gets_them_redacted() {
    let (plain, _) = shared(Mode::PlainHttp);
    let basic = base64(&format!("{USERNAME}:{PASSWORD}"));
    let behind = Proxy::transparent(&plain.host());
    behind.inject(Rule::new(
        "GET",
        "/manifests/list",
        Fault::json(
            403,
            error_body(
                "DENIED",
                &format!("bad password {PASSWORD} in Basic {basic}"),
            ),
        ),
    ));
    let (front, ca) = basic_auth_front_of(&behind);
    let home = TempDir::new("mt-secrets-echo");
    let name = format!("{}/docker/app:list", front.host());
    let run = debug_inspect_as_user(&home, &ca, PASSWORD, &name);
    run.fails_with("403 DENIED: bad password <redacted> in Basic <redacted>");
    assert_no_secrets(&run, plain, "a registry quoting the credentials");
}

/// A token server that answers an error quoting what it was sent (the password and the Basic
/// `Authorization` value with a GET; the identity token, as sent in the form, with a POST): the
/// error line shows `<redacted>` where each secret was.
#[test]
fn a_token_server_quoting_the_credentials_in_its_error_gets_them_redacted() {
    let basic = base64(&format!("{USERNAME}:{PASSWORD}"));
    for identity in [false, true] {
        let (front, plain, ca) = https_front();
        let (method, message, expected) = if identity {
            (
                "POST",
                format!("refresh_token={IDENTITY_TOKEN}&client_id=manifest-tool is invalid"),
                "refresh_token=<redacted>&client_id=manifest-tool is invalid",
            )
        } else {
            (
                "GET",
                format!("Authorization: Basic {basic} (password {PASSWORD}) is invalid"),
                "Authorization: Basic <redacted> (password <redacted>) is invalid",
            )
        };
        front.inject(Rule::new(
            method,
            "/token",
            Fault::json(400, error_body("DENIED", &message)),
        ));
        front.challenge(&format!(
            "Bearer realm=\"https://{}/token\",service=\"test\"",
            front.host()
        ));
        let home = TempDir::new("mt-secrets-token-echo");
        let mut cmd = bare_command(&home);
        cmd.args(["--cacert", &ca, "--debug"]);
        if identity {
            let config = format!(
                r#"{{"auths":{{"{}":{{"username":"{USERNAME}","identitytoken":"{IDENTITY_TOKEN}"}}}}}}"#,
                front.host()
            );
            write_file(&home.path().join("docker-config"), "config.json", &config);
        } else {
            cmd.args(["--username", USERNAME, "--password", PASSWORD]);
        }
        let name = format!("{}/docker/app:list", front.host());
        let run = outcome(cmd.args(["inspect", &name]));
        run.fails_with(&format!("400 DENIED: {expected}"));
        assert_no_secrets(&run, plain, "a token server quoting the credentials");
    }
}

/// Make `front` answer every blob GET with a redirect to the same path on plain-HTTP `storage`,
/// with `signature` as the query, as a registry handing reads to a storage service does.
fn redirect_blob_reads(front: &Proxy, storage: &Proxy, signature: &str) {
    let redirect = Fault::SignedRedirect {
        base: format!("http://{}", storage.host()),
        query: signature.to_string(),
    };
    front.inject(Rule::new("GET", "/blobs/", redirect));
}
