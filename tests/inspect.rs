//! `manifest-tool inspect` against real registries seeded by skopeo and the docker CLI: the Go
//! tool's output, agreement with third-party clients, every way of authenticating and trusting,
//! and a clean one-line failure for each kind of bad input.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use std::sync::Arc;
use std::time::Duration;
use support::media::{DOCKER_LIST, DOCKER_MANIFEST};
use support::{
    Fault, Hook, Mode, PASSWORD, Proxy, Registry, Relay, Rule, TempDir, USERNAME, bare_command,
    count_starting_with, debug_inspect_as_user, manifest_tool, outcome, sha256_digest, shared,
    write_file,
};

#[test]
fn inspect_of_an_index_with_attestations_prints_the_go_layout() {
    let (reg, _) = shared(Mode::PlainHttp);
    let host = reg.host();
    let name = format!("{host}/oci/app:attested");
    let run = manifest_tool(reg, &["inspect", &name]).success();
    let expected = format!(
        "\
Name:   {name} (Type: application/vnd.oci.image.index.v1+json)
Digest: sha256:0082cab95e73722070565762941b2695e78a1aa9a350841874700ef8d653b3c7
 * Contains 4 manifest references (2 images, 2 attestations):
[1]     Type: application/vnd.oci.image.manifest.v1+json
[1]   Digest: sha256:67a194093b8bd9efa913ef9a036e1a90603e7ca46dad16b7bd3ec913f7a763ca
[1]   Length: 401
[1] Platform:
[1]    -      OS: linux
[1]    -    Arch: amd64
[1] # Layers: 1
     layer 01: digest = sha256:0142d6dd3616dd72b21630ed5934fcab219aca1d1fe6033a59e0fba45f2fd8ab
                 type = application/vnd.oci.image.layer.v1.tar+gzip

[2]     Type: application/vnd.oci.image.manifest.v1+json
[2]   Digest: sha256:2a31d2c707574c3adc6046deb3e4824c1ccc8973b388faabae4cfca2a09ee74c
[2]   Length: 401
[2] Platform:
[2]    -      OS: linux
[2]    -    Arch: arm64
[2]    - Variant: v8
[2] # Layers: 1
     layer 01: digest = sha256:982f855423fdc0fb5a3012afb5f8aaa91b7383735dc8a3a245d256010c0bafc3
                 type = application/vnd.oci.image.layer.v1.tar+gzip

[3]     Type: application/vnd.oci.image.manifest.v1+json (vnd.docker.reference.type=attestation-manifest)
[3]   Digest: sha256:1016c5d795ae8a23aee14a098e86608f638de9918323733877ab9089d5b5f935
[3]   Length: 465
[3]       >>> Attestation for digest: sha256:67a194093b8bd9efa913ef9a036e1a90603e7ca46dad16b7bd3ec913f7a763ca

[4]     Type: application/vnd.oci.image.manifest.v1+json (vnd.docker.reference.type=attestation-manifest)
[4]   Digest: sha256:99c17fe6a0f8dd12fcad18637d8627c4c5d6b6f8870c6b73496306b4f11fc8eb
[4]   Length: 465
[4]       >>> Attestation for digest: sha256:2a31d2c707574c3adc6046deb3e4824c1ccc8973b388faabae4cfca2a09ee74c

"
    );
    assert_eq!(run.out(), expected);
}

#[test]
fn inspect_of_a_single_image_prints_the_go_layout() {
    let (reg, seeded) = shared(Mode::PlainHttp);
    let name = format!("{}/docker/app:linux-arm-v7", reg.host());
    let run = manifest_tool(reg, &["inspect", &name]).success();
    let (digest, _) = seeded.digests_of("linux-arm-v7");
    let expected = format!(
        "\
Name: {name} (Type: application/vnd.docker.distribution.manifest.v2+json)
      Digest: {digest}
        Size: 423
          OS: linux
        Arch: arm
    # Layers: 1
      layer 01: digest = sha256:b05f8afdb7e295526e262d82f53a4ed69741a47607c53a13f4b258d9facec0bb
"
    );
    assert_eq!(run.out(), expected);
}

#[test]
fn inspect_of_the_docker_cli_list_shows_windows_os_version_and_features() {
    let (reg, seeded) = shared(Mode::PlainHttp);
    let name = format!("{}/dockercli/app:list", reg.host());
    let text = manifest_tool(reg, &["inspect", &name]).success().out();
    assert!(text.starts_with(&format!(
        "Name:   {name} (Type: application/vnd.docker.distribution.manifest.list.v2+json)\nDigest: {}\n * Contains 6 manifest references (6 images, 0 attestation):\n",
        seeded.dockercli_list
    )), "{text}");
    let (windows, _) = seeded.digests_of("windows-amd64");
    let entry = format!(
        "[6]   Digest: {windows}\n[6]   Length: 423\n[6] Platform:\n[6]    -      OS: windows\n[6]    - OS Vers: 10.0.17763.2565\n[6]    - OS Feat: [win32k]\n[6]    -    Arch: amd64\n"
    );
    assert!(text.contains(&entry), "{text}");
}

#[test]
fn inspect_agrees_with_skopeo_in_every_mode() {
    for mode in Mode::ALL {
        let (reg, seeded) = shared(mode);
        for (repo, digest) in [
            ("docker/app:list", &seeded.docker_list),
            ("oci/app:index", &seeded.oci_index),
            ("dockercli/app:list", &seeded.dockercli_list),
        ] {
            let name = format!("{}/{repo}", reg.host());
            let skopeo_bytes = reg.skopeo_inspect_raw(repo);
            assert_eq!(&sha256_digest(&skopeo_bytes), digest);

            let verbatim =
                manifest_tool(reg, &["inspect", "--format", "verbatim", &name]).success();
            assert_eq!(
                verbatim.stdout, skopeo_bytes,
                "{mode:?} {repo}: verbatim bytes differ"
            );

            let text = manifest_tool(reg, &["inspect", &name]).success().out();
            let second_line = text.lines().nth(1).unwrap_or("");
            assert_eq!(second_line, format!("Digest: {digest}"), "{mode:?} {repo}");
            assert!(text.contains(" * Contains 6 manifest references (6 images, 0 attestation):"));
        }
    }
}

#[test]
fn inspect_raw_expands_every_child_manifest_like_the_go_tool() {
    let (reg, seeded) = shared(Mode::Tls);
    let name = format!("{}/docker/app:list", reg.host());
    let raw = manifest_tool(reg, &["inspect", "--raw", &name])
        .success()
        .out();
    assert!(
        raw.starts_with("{\n    \"name\": "),
        "four-space indent: {raw}"
    );
    assert!(raw.ends_with("}\n"), "one trailing newline");
    let doc: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(doc["name"], name.as_str());
    assert_eq!(doc["digest"], seeded.docker_list.as_str());
    assert_eq!(doc["schemaVersion"], 2);
    assert_eq!(doc["mediaType"], DOCKER_LIST);
    let children = doc["manifests"].as_array().unwrap();
    assert_eq!(children.len(), 6);
    for (child, (tag, _)) in children.iter().zip(support::PLATFORM_TAGS) {
        let (digest, _) = seeded.digests_of(tag);
        let fetched = reg.skopeo_inspect_raw(&format!("docker/app@{digest}"));
        let expected: serde_json::Value = serde_json::from_slice(&fetched).unwrap();
        assert_eq!(
            child, &expected,
            "child {tag} is the manifest skopeo fetched"
        );
    }
}

#[test]
fn inspect_raw_expand_config_shows_the_image_config() {
    let (reg, seeded) = shared(Mode::PlainHttp);
    let name = format!("{}/oci/app:windows-amd64", reg.host());
    let raw = manifest_tool(reg, &["inspect", "--raw", "--expand-config", &name])
        .success()
        .out();
    let doc: serde_json::Value = serde_json::from_str(&raw).unwrap();
    let (_, oci) = seeded.digests_of("windows-amd64");
    assert_eq!(doc["digest"], oci);
    assert_eq!(doc["os"], "windows");
    assert_eq!(doc["architecture"], "amd64");
    assert_eq!(doc["config"]["os.version"], "10.0.17763.2565");
    assert_eq!(doc["config"]["rootfs"]["type"], "layers");
    let keys: Vec<&str> = raw
        .lines()
        .filter(|l| l.starts_with("    \""))
        .map(|l| l.trim().split('"').nth(1).unwrap_or(""))
        .collect();
    assert_eq!(
        keys,
        [
            "schemaVersion",
            "name",
            "digest",
            "os",
            "architecture",
            "mediaType",
            "config",
            "layers"
        ]
    );
}

#[test]
fn inspect_json_gives_every_entry_in_one_document() {
    let (reg, seeded) = shared(Mode::PlainHttp);
    let name = format!("{}/dockercli/app:list", reg.host());
    let out = manifest_tool(reg, &["inspect", "--format", "json", &name])
        .success()
        .out();
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["digest"], seeded.dockercli_list.as_str());
    let entries = doc["manifests"].as_array().unwrap();
    let platforms: Vec<String> = entries
        .iter()
        .map(|e| {
            let p = &e["platform"];
            let variant = p["variant"].as_str().unwrap_or("");
            let arch = p["architecture"].as_str().unwrap_or("");
            let os = p["os"].as_str().unwrap_or("");
            if variant.is_empty() {
                format!("{os}/{arch}")
            } else {
                format!("{os}/{arch}/{variant}")
            }
        })
        .collect();
    let expected: Vec<&str> = support::PLATFORM_TAGS.iter().map(|(_, p)| *p).collect();
    assert_eq!(platforms, expected);
    for (entry, (tag, _)) in entries.iter().zip(support::PLATFORM_TAGS) {
        assert_eq!(entry["digest"], seeded.digests_of(tag).0);
        assert_eq!(entry["layers"].as_array().unwrap().len(), 1);
        assert_eq!(entry["attestation"], false);
    }
}

#[test]
fn inspect_of_a_list_is_one_request_per_manifest_and_one_token() {
    let reg = Registry::start(Mode::TlsToken);
    let seeded = support::seed(&reg);
    let name = format!("{}/docker/app:list", reg.host());
    let text = manifest_tool(&reg, &["inspect", &name]).success().out();
    assert!(text.contains(&seeded.docker_list));
    let log = reg.access_log();
    let list_gets: Vec<&String> = log
        .iter()
        .filter(|l| l.contains("/manifests/list"))
        .collect();
    assert_eq!(
        list_gets.len(),
        2,
        "one challenged GET and one authorised GET of the list: {log:#?}"
    );
    let child_gets = count_starting_with(&log, "GET /v2/docker/app/manifests/sha256:");
    assert_eq!(child_gets, 6, "{log:#?}");
    assert_eq!(log.len(), 8, "no ping, no HEAD, no blob: {log:#?}");
    assert_eq!(reg.token_requests().len(), 1, "{:#?}", reg.token_requests());
}

#[test]
fn inspect_of_a_six_image_list_opens_at_most_six_connections() {
    // The six child GETs go out at once on connections opened while the list was on its way;
    // none is opened twice, and none is left over beyond the six.
    let reg = Registry::start(Mode::PlainHttp);
    let seeded = support::seed(&reg);
    let relay = Relay::start(&reg.host());
    let name = format!("{}/docker/app:list", relay.host());
    let home = TempDir::new("mt-conns");
    let text = outcome(bare_command(&home).args(["--plain-http", "inspect", &name]))
        .success()
        .out();
    assert!(text.contains(&seeded.docker_list), "{text}");
    assert_eq!(reg.access_log().len(), 7, "{:#?}", reg.access_log());
    relay.assert_connections(1..=6, "7 requests, 6 at once");
}

#[test]
fn a_first_inspect_on_a_token_registry_sends_the_challenged_request_again_on_its_connection() {
    // No scheme cache: the list's first GET is answered 401. Its connection is kept for the
    // GET sent again with the token, so the six children find six connections ready (five
    // opened ahead and that one), and none is opened on demand, which would cost a TCP and a
    // TLS handshake on a distant registry.
    let reg = Registry::start(Mode::TlsToken);
    support::seed(&reg);
    let relay = Relay::start(&reg.host());
    let name = format!("{}/docker/app:list", relay.host());
    let home = TempDir::new("mt-conns-token");
    outcome(
        bare_command(&home)
            .args(support::mode_flags(&reg))
            .args(["inspect", &name]),
    )
    .success();
    let log = reg.access_log();
    assert_eq!(log.len(), 8, "one 401, the list, six children: {log:#?}");
    relay.assert_connections(1..=6, "8 requests, 6 at once, the first answered 401");
}

#[test]
fn every_connection_to_the_registry_and_its_token_server_is_opened_ahead() {
    // `--debug` names each connection opened. The token server's opens as soon as its realm
    // is known: from the challenge on a first run, from the scheme cache at the start of the
    // next, while the registry's open.
    let reg = Registry::start(Mode::TlsToken);
    support::seed(&reg);
    let home = TempDir::new("mt-conns-ahead");
    let name = format!("{}/docker/app:list", reg.host());
    let token_server = reg.token_server().expect("a token server").addr();
    let opened = |home: &TempDir| {
        let run = outcome(
            bare_command(home)
                .args(support::mode_flags(&reg))
                .args(["--debug", "inspect", &name]),
        )
        .success();
        let mut lines: Vec<String> = run
            .stderr
            .lines()
            .filter(|l| l.starts_with("debug: opened a connection"))
            .map(|l| l.split(" in ").next().unwrap_or(l).to_string())
            .collect();
        lines.sort();
        lines.dedup();
        lines
    };
    let mut expected = vec![
        format!("debug: opened a connection to https://{token_server}/ ahead of need"),
        format!(
            "debug: opened a connection to https://{}/ ahead of need",
            reg.host()
        ),
    ];
    expected.sort();
    assert_eq!(opened(&home), expected, "first run");
    assert_eq!(opened(&home), expected, "second run");
}

/// How long the HTTPS front holds the list's GET in the two tests below: the connections
/// opened ahead wait that long, well past the age at which one is checked before use (1 s).
const LIST_HELD: Duration = Duration::from_secs(3);

/// A TLS front (one request per connection) to the shared plain-HTTP registry, with the TLS
/// registry's certificate for 127.0.0.1, that holds the first GET of `docker/app:list` for
/// [`LIST_HELD`]; and the CA to pass with `--cacert`.
fn tls_front_holding_the_list() -> (Proxy, String) {
    let (plain, _) = shared(Mode::PlainHttp);
    let (tls, _) = shared(Mode::Tls);
    let certs = tls.dir().join("tls");
    let front = Proxy::start_tls(
        &plain.host(),
        &certs.join("server.crt"),
        &certs.join("server.key"),
    );
    let hold: Hook = Arc::new(|| std::thread::sleep(LIST_HELD));
    front.inject(Rule::ending("GET", "/manifests/list", Fault::Run(hold)).first(1));
    (front, ca_of(tls))
}

/// `--debug inspect` of the list behind `front`; its stderr, after checking the output.
fn debug_inspect_of_the_list(front: &Proxy, ca: &str, home: &str) -> String {
    let (_, seeded) = shared(Mode::PlainHttp);
    let home = TempDir::new(home);
    let name = format!("{}/docker/app:list", front.host());
    let run =
        outcome(bare_command(&home).args(["--cacert", ca, "--debug", "inspect", &name])).success();
    assert!(run.out().contains(&seeded.docker_list), "{}", run.stderr);
    run.stderr
}

#[test]
fn connections_opened_ahead_a_while_ago_are_used_over_tls() {
    // The six connections opened ahead of an inspect wait while the list is held. A TLS 1.3
    // server (rustls, as OpenSSL) has sent its session tickets on each: they are no sign of a
    // closed connection, and the five left are used by the children, not thrown away and
    // opened again. The front takes one request per connection, so every connection carried
    // one: the list, five children on connections opened ahead, one on a new connection.
    let (front, ca) = tls_front_holding_the_list();
    let stderr = debug_inspect_of_the_list(&front, &ca, "mt-conns-kept");
    assert_eq!(front.seen().len(), 7, "the list and six children: {stderr}");
    assert_eq!(
        front.connections(),
        7,
        "one connection per request, none opened ahead and then replaced:\n{stderr}"
    );
}

#[test]
fn connections_opened_ahead_that_the_server_closed_as_idle_are_not_used() {
    // A server with an idle timeout (here 1.2 s) closes the connections opened ahead while the
    // list is held. Checked before use, they are put aside: each child goes out once, on a
    // live connection, and none is lost and sent again.
    let (front, ca) = tls_front_holding_the_list();
    front.close_idle_after(Duration::from_millis(1200));
    let stderr = debug_inspect_of_the_list(&front, &ca, "mt-conns-idle");
    assert!(
        front.idle_closed() > 0,
        "the front closed no connection as idle: {stderr}"
    );
    let requests: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("debug: GET "))
        .collect();
    assert_eq!(requests.len(), 7, "each GET sent once:\n{stderr}");
    assert!(
        requests.iter().all(|l| l.contains(" -> 200")),
        "every GET answered:\n{stderr}"
    );
    assert!(
        !stderr.contains("retrying"),
        "nothing sent again:\n{stderr}"
    );
}

#[test]
fn a_second_run_remembers_the_auth_scheme_and_skips_the_challenge() {
    let reg = Registry::start(Mode::TlsToken);
    support::seed(&reg);
    let home = TempDir::new("mt-schemes");
    let name = format!("{}/docker/app:list", reg.host());
    let run = |home: &TempDir| {
        let mut cmd = bare_command(home);
        cmd.args(support::mode_flags(&reg)).args(["inspect", &name]);
        outcome(&mut cmd).success()
    };
    run(&home);
    assert_eq!(
        reg.access_log().len(),
        8,
        "first run: one 401, the list, six children"
    );
    let cache = home.path().join(".cache/manifest-tool/auth-schemes.json");
    let remembered = std::fs::read_to_string(&cache).unwrap();
    assert!(
        remembered.contains("\"bearer\"") && remembered.contains("/token"),
        "{remembered}"
    );
    assert!(!remembered.contains(PASSWORD), "no secret in the cache");

    reg.clear_access_log();
    reg.clear_token_requests();
    run(&home);
    let log = reg.access_log();
    assert!(
        !log.iter().any(|l| l.ends_with(" 401")),
        "no challenge: {log:#?}"
    );
    assert_eq!(log.len(), 7, "{log:#?}");
    assert_eq!(reg.token_requests().len(), 1);

    // A wrong entry costs a 401, then the registry's own challenge is used.
    std::fs::write(
        &cache,
        format!(r#"{{"https://{}": {{"scheme": "open"}}}}"#, reg.host()),
    )
    .unwrap();
    reg.clear_access_log();
    run(&home);
    assert!(reg.access_log().iter().any(|l| l.ends_with(" 401")));
    // A remembered plain-http realm for an https registry is not trusted with credentials.
    let poisoned = format!(
        r#"{{"https://{}": {{"scheme": "bearer", "realm": "http://127.0.0.1:9/token"}}}}"#,
        reg.host()
    );
    std::fs::write(&cache, poisoned).unwrap();
    run(&home);
}

#[test]
fn credentials_come_from_docker_config_auths() {
    let (reg, seeded) = shared(Mode::TlsBasic);
    let home = TempDir::new("mt-cfg");
    let auth = base64_user_password();
    let config = format!(r#"{{"auths":{{"{}":{{"auth":"{auth}"}}}}}}"#, reg.host());
    let file = write_file(home.path(), "my-config.json", &config);
    let name = format!("{}/docker/app:list", reg.host());
    let ca = ca_of(reg);
    let run = outcome(bare_command(&home).args([
        "--cacert",
        &ca,
        "--docker-cfg",
        &file,
        "inspect",
        "--format",
        "verbatim",
        &name,
    ]));
    let run = run.success();
    assert_eq!(sha256_digest(&run.stdout), seeded.docker_list);
    run.assert_no_secret(PASSWORD);
    run.assert_no_secret(&auth);
}

#[test]
fn credentials_come_from_a_credential_helper() {
    let (reg, seeded) = shared(Mode::TlsToken);
    let home = TempDir::new("mt-helper");
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let seen = home.path().join("helper-saw");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = get ] || exit 2\ncat > '{}'\nprintf '{{\"ServerURL\":\"x\",\"Username\":\"{USERNAME}\",\"Secret\":\"{PASSWORD}\"}}'\n",
        seen.display()
    );
    let helper = write_file(&bin, "docker-credential-testhelper", &script);
    set_executable(&helper);
    let docker_config = home.path().join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    write_file(
        &docker_config,
        "config.json",
        r#"{"credsStore":"testhelper"}"#,
    );
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let name = format!("{}/docker/app:list", reg.host());
    let ca = ca_of(reg);
    let run = outcome(bare_command(&home).env("PATH", path).args([
        "--cacert", &ca, "--debug", "inspect", "--format", "verbatim", &name,
    ]))
    .success();
    assert_eq!(sha256_digest(&run.stdout), seeded.docker_list);
    assert_eq!(std::fs::read_to_string(&seen).unwrap(), reg.host());
    run.assert_no_secret(PASSWORD);
}

#[test]
fn an_identity_token_is_exchanged_with_a_refresh_token_grant() {
    let reg = Registry::start(Mode::TlsToken);
    let seeded = support::seed(&reg);
    let home = TempDir::new("mt-idtoken");
    let docker_config = home.path().join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    let config = format!(
        r#"{{"auths":{{"{}":{{"auth":"{}","identitytoken":"{}"}}}}}}"#,
        reg.host(),
        base64("tester:"),
        support::IDENTITY_TOKEN
    );
    write_file(&docker_config, "config.json", &config);
    let name = format!("{}/docker/app:list", reg.host());
    let ca = ca_of(&reg);
    let run = outcome(bare_command(&home).args([
        "--cacert", &ca, "--debug", "inspect", "--format", "verbatim", &name,
    ]))
    .success();
    assert_eq!(sha256_digest(&run.stdout), seeded.docker_list);
    let requests = reg.token_requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    assert!(requests[0].starts_with("POST"), "{requests:#?}");
    run.assert_no_secret(support::IDENTITY_TOKEN);
}

#[test]
fn password_stdin_is_read_without_its_newline() {
    let (reg, seeded) = shared(Mode::TlsBasic);
    let home = TempDir::new("mt-stdin");
    let name = format!("{}/oci/app:index", reg.host());
    let ca = ca_of(reg);
    let run = support::outcome_with_stdin(
        bare_command(&home).args([
            "--cacert",
            &ca,
            "--username",
            USERNAME,
            "--password-stdin",
            "inspect",
            "--format",
            "verbatim",
            &name,
        ]),
        &format!("{PASSWORD}\n"),
    )
    .success();
    assert_eq!(sha256_digest(&run.stdout), seeded.oci_index);
}

#[test]
fn anonymous_pull_works_where_the_token_server_allows_it() {
    let (reg, seeded) = shared(Mode::TlsToken);
    let home = TempDir::new("mt-anon");
    let ca = ca_of(reg);
    let name = format!("{}/public/app:linux-amd64", reg.host());
    let run = outcome(bare_command(&home).args(["--cacert", &ca, "inspect", &name])).success();
    assert!(
        run.out().contains(seeded.digests_of("linux-amd64").0),
        "{}",
        run.out()
    );

    let private = format!("{}/docker/app:list", reg.host());
    let run = outcome(bare_command(&home).args(["--cacert", &ca, "inspect", &private]));
    let line = run.fails_with("refused access");
    assert!(
        line.contains(&reg.host()) && line.contains("anonymous"),
        "{line}"
    );
}

#[test]
fn the_ca_can_come_from_certs_d_or_ssl_cert_file() {
    let (reg, seeded) = shared(Mode::Tls);
    let name = format!("{}/oci/app:index", reg.host());
    let ca = std::fs::read_to_string(ca_of(reg)).unwrap();

    let home = TempDir::new("mt-certsd");
    let host_dir = home.path().join("certs.d").join(reg.host());
    std::fs::create_dir_all(&host_dir).unwrap();
    write_file(&host_dir, "ca.crt", &ca);
    let run =
        outcome(bare_command(&home).args(["inspect", "--format", "verbatim", &name])).success();
    assert_eq!(sha256_digest(&run.stdout), seeded.oci_index);

    let home = TempDir::new("mt-sslfile");
    let file = write_file(home.path(), "bundle.pem", &ca);
    let run = outcome(
        bare_command(&home)
            .env("SSL_CERT_FILE", file)
            .args(["inspect", "--format", "verbatim", &name]),
    )
    .success();
    assert_eq!(sha256_digest(&run.stdout), seeded.oci_index);
}

#[test]
fn an_untrusted_certificate_is_refused_unless_insecure() {
    let (reg, seeded) = shared(Mode::Tls);
    let home = TempDir::new("mt-untrusted");
    let name = format!("{}/oci/app:index", reg.host());
    let run = outcome(bare_command(&home).args(["inspect", &name]));
    let line = run.fails_with(&reg.host());
    assert!(
        line.contains("certificate") || line.contains("TLS"),
        "{line}"
    );

    let run =
        outcome(bare_command(&home).args(["--insecure", "inspect", "--format", "verbatim", &name]))
            .success();
    assert_eq!(sha256_digest(&run.stdout), seeded.oci_index);
}

#[test]
fn a_wrong_password_fails_cleanly_and_never_shows_the_password() {
    for mode in [Mode::TlsBasic, Mode::TlsToken] {
        let (reg, _) = shared(mode);
        let home = TempDir::new("mt-wrongpw");
        let ca = ca_of(reg);
        let wrong = "Wr0ng-Secret-Value";
        let name = format!("{}/docker/app:list", reg.host());
        let run = debug_inspect_as_user(&home, &ca, wrong, &name);
        let line = run.fails_with("refused access");
        assert!(line.contains("--username/--password"), "{mode:?}: {line}");
        run.assert_no_secret(wrong);
        run.assert_no_secret(&base64(&format!("{USERNAME}:{wrong}")));
    }
}

#[test]
fn a_missing_credential_helper_is_named() {
    let (reg, _) = shared(Mode::TlsBasic);
    let home = TempDir::new("mt-nohelper");
    let docker_config = home.path().join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    write_file(
        &docker_config,
        "config.json",
        r#"{"credsStore":"nosuchstore"}"#,
    );
    let ca = ca_of(reg);
    let name = format!("{}/docker/app:list", reg.host());
    let run = outcome(bare_command(&home).args(["--cacert", &ca, "inspect", &name]));
    run.fails_with("docker-credential-nosuchstore");
}

#[test]
fn a_missing_tag_is_a_clear_404() {
    let (reg, _) = shared(Mode::PlainHttp);
    let name = format!("{}/docker/app:no-such-tag", reg.host());
    let run = manifest_tool(reg, &["inspect", &name]);
    let line = run.fails_with("MANIFEST_UNKNOWN");
    assert!(line.contains(&name), "{line}");
}

#[test]
fn an_image_without_tag_or_digest_is_inspected_at_latest() {
    let (reg, _) = shared(Mode::PlainHttp);
    let host = reg.host();
    let tagged = format!("{host}/untagged/app:latest");
    manifest_tool(
        reg,
        &[
            "push",
            "from-args",
            "--platforms",
            "linux/amd64,linux/s390x",
            "--template",
            &format!("{host}/docker/app:OS-ARCH"),
            "--target",
            &tagged,
        ],
    )
    .success();
    let at_latest = manifest_tool(reg, &["inspect", &tagged]).success().out();
    let untagged = format!("{host}/untagged/app");
    let run = manifest_tool(reg, &["--debug", "inspect", &untagged]).success();
    assert_eq!(run.out(), at_latest.replacen(&tagged, &untagged, 1));
    let asked = format!("debug: GET http://{host}/v2/untagged/app/manifests/latest -> 200");
    assert!(
        run.stderr.lines().any(|l| l.starts_with(&asked)),
        "{}",
        run.stderr
    );
}

#[test]
fn malformed_references_are_refused_before_any_request() {
    let (reg, _) = shared(Mode::PlainHttp);
    for (reference, fragment) in [
        (format!("{}/Docker/App:list", reg.host()), "lowercase"),
        (format!("{}/docker/app:", reg.host()), "empty"),
        (format!("{}/docker/app@sha256:abc", reg.host()), "digest"),
    ] {
        reg.clear_access_log();
        let run = manifest_tool(reg, &["inspect", &reference]);
        run.fails_with(fragment);
    }
}

#[test]
fn a_refused_connection_and_an_unknown_host_fail_cleanly() {
    let free_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let home = TempDir::new("mt-refused");
    let name = format!("127.0.0.1:{free_port}/a/b:c");
    let run = outcome(bare_command(&home).args(["--plain-http", "inspect", &name]));
    run.fails_with(&format!("cannot reach 127.0.0.1:{free_port}"));

    // In a network namespace of our own, with no network at all, a name cannot resolve: this
    // shows the unknown-host path without sending a query anywhere.
    let mut cmd = support::tool("unshare");
    cmd.arg("-n")
        .arg(env!("CARGO_BIN_EXE_manifest-tool"))
        .args(["inspect", "registry.example.invalid:5000/a/b:c"])
        .env("DOCKER_CONFIG", home.path())
        .env("MANIFEST_TOOL_CERTS_D", home.path().join("none"));
    let run = outcome(&mut cmd);
    run.fails_with("cannot reach registry.example.invalid:5000");
}

#[test]
fn a_registry_serving_bytes_that_do_not_match_the_digest_is_an_error() {
    let reg = Registry::start(Mode::PlainHttp);
    let seeded = support::seed(&reg);
    let digest = seeded.docker_list.clone();
    let hex = &digest["sha256:".len()..];
    let data = reg
        .storage_dir()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data");
    let mut bytes = std::fs::read(&data).unwrap();
    bytes.push(b' ');
    std::fs::write(&data, bytes).unwrap();

    let by_tag = format!("{}/docker/app:list", reg.host());
    manifest_tool(&reg, &["inspect", &by_tag]).fails_with(&format!("expected digest {digest}"));
    let by_digest = format!("{}/docker/app@{digest}", reg.host());
    manifest_tool(&reg, &["inspect", &by_digest]).fails_with(&format!("expected digest {digest}"));
}

/// A manifest fetched by digest is checked against that digest, whatever the registry says of
/// it: other bytes served with no `Docker-Content-Digest`, or with one that matches the bytes
/// served (a lie the header check cannot see), are refused. Both for the image named by digest
/// and for a child of a list, which is always fetched by digest.
#[test]
fn a_manifest_fetched_by_digest_must_hash_to_it_whatever_the_header_says() {
    let (plain, seeded) = shared(Mode::PlainHttp);
    let wanted = seeded.digests_of("linux-amd64").0;
    let other = plain.skopeo_inspect_raw("docker/app:linux-arm64-v8");
    for header in [None, Some(sha256_digest(&other))] {
        let front = Proxy::transparent(&plain.host());
        front.inject(Rule::new(
            "GET",
            &format!("/v2/docker/app/manifests/{wanted}"),
            Fault::ServeManifest {
                content_type: DOCKER_MANIFEST.to_string(),
                digest_header: header.clone(),
                body: other.clone(),
            },
        ));
        let home = TempDir::new("mt-lying-digest");
        for name in [
            "docker/app:list".to_string(),
            format!("docker/app@{wanted}"),
        ] {
            let run = outcome(
                bare_command(&home)
                    .arg("--plain-http")
                    .args(["inspect", &format!("{}/{name}", front.host())]),
            );
            run.fails_with(&format!(
                "expected digest {wanted}, content has {}",
                sha256_digest(&other)
            ));
        }
        assert_eq!(
            front.spoiled().len(),
            2,
            "header {header:?}: {:?}",
            front.seen()
        );
    }
}

/// The oci/app:attested index with terminal escapes and other control characters in what the
/// text layout shows: an entry's OS, OS version and variant, an annotation, and with
/// `media_type` an entry's media type (which `--raw` and `--format json` refuse as unknown).
fn index_with_escapes(media_type: bool) -> Vec<u8> {
    let (plain, _) = shared(Mode::PlainHttp);
    let mut index: serde_json::Value =
        serde_json::from_slice(&plain.skopeo_inspect_raw("oci/app:attested")).unwrap();
    let entries = &mut index["manifests"];
    entries[0]["platform"]["os"] = "linux\u{1b}[2J".into();
    entries[1]["platform"]["os.version"] = "10\r\u{9b}31m".into();
    entries[1]["platform"]["variant"] = "v8\u{1b}]0;title\u{7}".into();
    entries[2]["annotations"]["vnd.docker.reference.digest"] = "sha256:\u{1b}[31mfake".into();
    if media_type {
        entries[3]["mediaType"] = "application/x-evil\u{1b}[5m".into();
    }
    serde_json::to_vec(&index).unwrap()
}

/// Whether `text` has a control character (C0, DEL, C1) other than the newline.
fn has_raw_control(text: &str) -> bool {
    text.chars().any(|c| c.is_control() && c != '\n')
}

/// A registry serving a list whose platforms, annotations and media types hold terminal
/// escapes: the text layout shows them escaped (`\x1b`, `\u{9b}`), never raw; `--raw` (which
/// shows the children, not the list's platforms) and `--format json` have no raw escape, JSON
/// escapes them; `--format verbatim` prints the bytes as served.
#[test]
fn control_characters_a_registry_serves_are_shown_escaped() {
    let (plain, _) = shared(Mode::PlainHttp);
    let front = Proxy::transparent(&plain.host());
    for (tag, media_type) in [("escaped", true), ("escaped-json", false)] {
        front.inject(Rule::ending(
            "GET",
            &format!("/v2/oci/app/manifests/{tag}"),
            Fault::manifest(
                "application/vnd.oci.image.index.v1+json",
                index_with_escapes(media_type),
            ),
        ));
    }
    let home = TempDir::new("mt-escapes");
    let inspect = |tag: &str, format: &str| {
        let name = format!("{}/oci/app:{tag}", front.host());
        outcome(bare_command(&home).args(["--plain-http", "inspect", &name, "--format", format]))
            .success()
    };
    let text = inspect("escaped", "text").out();
    assert!(!has_raw_control(&text), "raw control characters:\n{text:?}");
    for line in [
        "[1]    -      OS: linux\\x1b[2J\n",
        "[2]    - OS Vers: 10\\r\\u{9b}31m\n",
        "[2]    - Variant: v8\\x1b]0;title\\x07\n",
        "[3]       >>> Attestation for digest: sha256:\\x1b[31mfake\n",
        "[4]     Type: application/x-evil\\x1b[5m (vnd.docker.reference.type=attestation-manifest)\n",
        "Unknown media type for further display: application/x-evil\\x1b[5m\n",
    ] {
        assert!(text.contains(line), "no line {line:?} in\n{text}");
    }
    for format in ["raw", "json"] {
        let out = inspect("escaped-json", format).out();
        assert!(
            !out.contains('\u{1b}') && !out.contains('\u{7}'),
            "{format}:\n{out:?}"
        );
    }
    let json = inspect("escaped-json", "json").out();
    assert!(json.contains(r#""linux\u001b[2J""#), "{json}");
    assert_eq!(
        inspect("escaped", "verbatim").stdout,
        index_with_escapes(true)
    );
}

/// A registry whose error message holds terminal escapes: the error line shows them escaped.
#[test]
fn control_characters_in_a_registry_error_are_shown_escaped() {
    let (plain, _) = shared(Mode::PlainHttp);
    let front = Proxy::transparent(&plain.host());
    front.inject(Rule::new(
        "GET",
        "/manifests/",
        Fault::json(404, r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"\u001b[2J\u001b]0;title\u0007gone\r\u009b31m\u007f"}]}"#),
    ));
    let home = TempDir::new("mt-escapes-error");
    let name = format!("{}/oci/app:attested", front.host());
    let run = outcome(bare_command(&home).args(["--plain-http", "inspect", &name]));
    let line = run.fails_with(r"404 MANIFEST_UNKNOWN: \x1b[2J\x1b]0;title\x07gone \u{9b}31m\x7f");
    assert!(!has_raw_control(&run.stderr), "{line:?}");
}

fn ca_of(reg: &Registry) -> String {
    reg.ca_cert()
        .expect("a TLS registry has a CA")
        .display()
        .to_string()
}

fn base64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn base64_user_password() -> String {
    base64(&format!("{USERNAME}:{PASSWORD}"))
}

fn set_executable(path: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn inspect_platforms_prints_the_mquery_layout_without_attestations() {
    let (reg, _) = shared(Mode::PlainHttp);
    let platforms = |repo: &str| {
        let name = format!("{}/{repo}", reg.host());
        let out = manifest_tool(reg, &["inspect", "--format", "platforms", &name])
            .success()
            .out();
        out.replacen(&name, "NAME", 1)
    };
    assert_eq!(
        platforms("dockercli/app:list"),
        "\
Image: NAME
 * Manifest List: Yes
 * Supported platforms:
   - linux/amd64
   - linux/arm/v7
   - linux/arm64/v8
   - linux/ppc64le
   - linux/s390x
   - windows/amd64:10.0.17763.2565

"
    );
    assert_eq!(
        platforms("oci/app:attested"),
        "\
Image: NAME
 * Manifest List: Yes
 * Supported platforms:
   - linux/amd64
   - linux/arm64/v8

"
    );
    assert_eq!(
        platforms("docker/app:linux-arm-v7"),
        "Image: NAME\n * Manifest List: No\n * Supports: linux/arm/v7\n\n"
    );
}

/// `--debug` says how long each request took and when in the run its answer came, so a slow
/// run shows where its time went: a list held back 400 ms by the registry says so, and the
/// children it names are asked for only after it came.
#[test]
fn debug_lines_time_each_request_and_place_it_in_the_run() {
    let (reg, _) = shared(Mode::PlainHttp);
    let hold: std::sync::Arc<dyn Fn() + Send + Sync> =
        std::sync::Arc::new(|| std::thread::sleep(std::time::Duration::from_millis(400)));
    let proxy = Proxy::with_rule(
        &reg.host(),
        Rule::new("GET", "/v2/docker/app/manifests/list", Fault::Run(hold)),
    );
    let name = format!("{}/docker/app:list", proxy.host());
    let run = manifest_tool(reg, &["--debug", "inspect", &name]).success();
    // "debug: GET URL -> 200 in N ms (at M ms)"
    let timed = |line: &str| -> Option<(String, u64, u64)> {
        let rest = line.strip_prefix("debug: GET ")?;
        let (url, outcome) = rest.split_once(" -> 200 in ")?;
        let (took, at) = outcome.split_once(" ms (at ")?;
        let at = at.strip_suffix(" ms)")?;
        Some((url.to_string(), took.parse().ok()?, at.parse().ok()?))
    };
    let requests: Vec<_> = run.stderr.lines().filter_map(timed).collect();
    let (_, list_took, list_at) = requests
        .iter()
        .find(|(url, _, _)| url.ends_with("/manifests/list"))
        .unwrap_or_else(|| panic!("no timed line for the list:\n{}", run.stderr))
        .clone();
    assert!(
        list_took >= 400,
        "the list took {list_took} ms\n{}",
        run.stderr
    );
    let children: Vec<_> = requests
        .iter()
        .filter(|(url, _, _)| url.contains("/manifests/sha256:"))
        .collect();
    assert!(!children.is_empty(), "{}", run.stderr);
    for (url, took, at) in children {
        assert!(*took < list_took, "{url} took {took} ms\n{}", run.stderr);
        assert!(
            *at >= list_at,
            "{url} answered at {at} ms, before the list\n{}",
            run.stderr
        );
    }
}
