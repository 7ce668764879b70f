//! Self-test of the integration-test harness: every registry mode starts, seeds, and serves
//! what the other tests rely on, checked with skopeo (not with the code under test).

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::media::{DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use support::{IDENTITY_TOKEN, Mode, PASSWORD, PLATFORM_TAGS, Registry, Seeded, TempDir, USERNAME};

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("manifest is not JSON")
}

/// Fetches `repo_and_ref`, checks its digest and media type, and returns its entries.
fn list_entries(reg: &Registry, repo_and_ref: &str, digest: &str, media_type: &str) -> Vec<Value> {
    let raw = reg.skopeo_inspect_raw(repo_and_ref);
    assert_eq!(
        support::sha256_digest(&raw),
        digest,
        "digest of {repo_and_ref}"
    );
    let list = json_of(&raw);
    assert_eq!(list["mediaType"], media_type, "{repo_and_ref}: {list}");
    list["manifests"].as_array().unwrap().clone()
}

fn platform_string(entry: &Value) -> String {
    let p = &entry["platform"];
    let mut s = format!(
        "{}/{}",
        p["os"].as_str().unwrap(),
        p["architecture"].as_str().unwrap()
    );
    if let Some(variant) = p["variant"].as_str() {
        s = format!("{s}/{variant}");
    }
    s
}

/// Checks a six-entry list: child media type, platforms in `PLATFORM_TAGS` order, child digests.
fn check_six(entries: &[Value], child_type: &str, digests: &[&str]) {
    assert_eq!(entries.len(), 6);
    for ((entry, (_, platform)), digest) in entries.iter().zip(PLATFORM_TAGS).zip(digests) {
        assert_eq!(entry["mediaType"], child_type);
        assert_eq!(platform_string(entry), platform);
        assert_eq!(entry["digest"], *digest);
    }
    assert_eq!(entries[5]["platform"]["os.version"], "10.0.17763.2565");
}

fn start_and_seed(mode: Mode) -> (Registry, Seeded) {
    let started = Instant::now();
    let reg = Registry::start(mode);
    let start_time = started.elapsed();
    let seeded = support::seed(&reg);
    eprintln!(
        "{mode:?}: started in {start_time:?}, seeded in {:?}",
        started.elapsed() - start_time
    );
    (reg, seeded)
}

fn check_mode(mode: Mode) -> (Registry, Seeded) {
    let (reg, seeded) = start_and_seed(mode);
    assert_eq!(
        reg.access_log(),
        Vec::<String>::new(),
        "seed clears the access log"
    );
    assert_eq!(reg.mode(), mode);
    assert_eq!(reg.ca_cert().is_some(), mode.is_tls());
    let docker: Vec<&str> = seeded
        .platform_digests
        .iter()
        .map(|(_, d, _)| d.as_str())
        .collect();
    let oci: Vec<&str> = seeded
        .platform_digests
        .iter()
        .map(|(_, _, o)| o.as_str())
        .collect();

    let entries = list_entries(&reg, "docker/app:list", &seeded.docker_list, DOCKER_LIST);
    check_six(&entries, DOCKER_MANIFEST, &docker);
    let entries = list_entries(&reg, "oci/app:index", &seeded.oci_index, OCI_INDEX);
    check_six(&entries, OCI_MANIFEST, &oci);
    let entries = list_entries(
        &reg,
        "dockercli/app:list",
        &seeded.dockercli_list,
        DOCKER_LIST,
    );
    check_six(&entries, DOCKER_MANIFEST, &docker);

    let entries = list_entries(&reg, "oci/app:attested", &seeded.attested, OCI_INDEX);
    assert_eq!(entries.len(), 4);
    for (image, attestation) in entries[..2].iter().zip(&entries[2..]) {
        let annotations = &attestation["annotations"];
        assert_eq!(
            annotations["vnd.docker.reference.type"],
            "attestation-manifest"
        );
        assert_eq!(annotations["vnd.docker.reference.digest"], image["digest"]);
        assert_eq!(platform_string(attestation), "unknown/unknown");
    }

    let (v2s2, oci_digest) = seeded.digests_of("linux-arm-v7");
    let image = json_of(&reg.skopeo_inspect_raw(&format!("docker/app@{v2s2}")));
    assert_eq!(image["mediaType"], DOCKER_MANIFEST);
    assert_eq!(reg.skopeo_digest("oci/app:linux-arm-v7"), oci_digest);

    reg.skopeo_inspect_raw("docker/app:list");
    let log = reg.access_log();
    assert!(
        log.contains(&"GET /v2/docker/app/manifests/list 200".to_string()),
        "{log:#?}"
    );
    reg.clear_access_log();
    assert!(reg.access_log().is_empty());
    (reg, seeded)
}

#[test]
fn plain_http_registry_serves_the_seeded_images_and_stops_on_drop() {
    let (reg, _) = check_mode(Mode::PlainHttp);
    assert!(reg.skopeo_anonymous_inspect_raw("docker/app:list").is_ok());
    let (host, dir) = (reg.host(), reg.dir().to_path_buf());
    drop(reg);
    assert!(
        TcpStream::connect(&host).is_err(),
        "registry still listening on {host} after drop"
    );
    assert!(!dir.exists(), "temp dir {} left behind", dir.display());
}

#[test]
fn tls_registry_serves_the_seeded_images() {
    let (reg, _) = check_mode(Mode::Tls);
    let ca = std::fs::read_to_string(reg.ca_cert().unwrap()).unwrap();
    assert!(ca.starts_with("-----BEGIN CERTIFICATE-----"));
}

/// Why the registry refused an anonymous pull of `docker/app:list` (it must refuse).
fn anonymous_refusal(reg: &Registry) -> String {
    reg.skopeo_anonymous_inspect_raw("docker/app:list")
        .unwrap_err()
}

#[test]
fn basic_auth_registry_serves_the_seeded_images_only_with_credentials() {
    let (reg, _) = check_mode(Mode::TlsBasic);
    let err = anonymous_refusal(&reg);
    assert!(
        err.contains("unauthorized") || err.contains("authentication required"),
        "{err}"
    );
}

#[test]
fn token_registry_grants_public_pulls_anonymously_and_keeps_credentials_out_of_its_log() {
    let (reg, seeded) = check_mode(Mode::TlsToken);
    let public = reg
        .skopeo_anonymous_inspect_raw("public/app:linux-amd64")
        .expect("anonymous public pull");
    assert_eq!(
        support::sha256_digest(&public),
        seeded.digests_of("linux-amd64").0
    );
    let err = anonymous_refusal(&reg);
    assert!(
        err.contains("unauthorized") || err.contains("denied"),
        "{err}"
    );

    let requests = reg.token_requests();
    assert!(
        requests
            .iter()
            .any(|r| r.contains("scope=repository:public/app:pull")),
        "{requests:#?}"
    );
    let basic = base64_of(&format!("{USERNAME}:{PASSWORD}"));
    for request in &requests {
        assert!(
            !request.contains(PASSWORD) && !request.contains(&basic),
            "{request}"
        );
    }
}

#[test]
fn token_server_answers_refresh_token_and_password_grants() {
    let reg = Registry::start(Mode::TlsToken);
    let server = reg.token_server().unwrap();
    let addr = server.addr();
    assert_eq!(server.realm(), format!("https://{addr}/token"));
    assert!(
        plain_http_answer(addr).is_none(),
        "the token server answered plain HTTP"
    );
    // Trusting only the registry's CA: the realm's certificate comes from it too.
    let tls = support::tls::client_config(&reg.ca_cert().unwrap());
    let http = |method: &str, query_or_form: &str, authorization: Option<&str>| {
        https(&tls, addr, method, query_or_form, authorization)
    };
    let scope = "repository:docker/app:pull,push repository:other/app:pull";
    let form = |grant: &str| {
        format!(
            "grant_type={grant}&service=test-registry&client_id=t&scope={}",
            scope.replace(' ', "+")
        )
    };

    let (status, body) = http(
        "POST",
        &format!("{}&refresh_token={IDENTITY_TOKEN}", form("refresh_token")),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert!(
        answer.get("token").is_none(),
        "POST answers carry access_token only: {answer}"
    );
    let claims = jwt_claims(answer["access_token"].as_str().unwrap());
    assert_eq!(claims["sub"], USERNAME);
    assert_eq!(claims["aud"], "test-registry");
    assert_eq!(
        claims["access"][0]["actions"],
        serde_json::json!(["pull", "push"])
    );
    assert_eq!(claims["access"][1]["name"], "other/app");

    let (status, _) = http(
        "POST",
        &format!("{}&refresh_token=wrong", form("refresh_token")),
        None,
    );
    assert_eq!(status, 401);
    let password_form = format!(
        "{}&username={USERNAME}&password={PASSWORD}",
        form("password")
    );
    assert_eq!(http("POST", &password_form, None).0, 200);

    let query = "service=test-registry&scope=repository%3Apublic%2Fx%3Apull%2Cpush&scope=repository:docker/app:pull";
    let (status, body) = http("GET", query, None);
    assert_eq!(status, 200);
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["token"], answer["access_token"]);
    let claims = jwt_claims(answer["token"].as_str().unwrap());
    assert_eq!(
        claims["access"],
        serde_json::json!([{"type": "repository", "name": "public/x", "actions": ["pull"]}])
    );
    let wrong = format!("Basic {}", base64_of(&format!("{USERNAME}:nope")));
    assert_eq!(http("GET", query, Some(&wrong)).0, 401);

    let requests = reg.token_requests();
    assert_eq!(requests.len(), 5, "{requests:#?}");
    assert!(requests[0].starts_with("POST /token grant_type=refresh_token&service=test-registry"));
    assert!(
        requests[0].ends_with("scope=repository:docker/app:pull,push repository:other/app:pull")
    );
    assert!(
        requests
            .iter()
            .all(|r| !r.contains(IDENTITY_TOKEN) && !r.contains(PASSWORD)),
        "{requests:#?}"
    );
}

#[test]
fn make_layout_is_deterministic() {
    let (a, b) = (TempDir::new("layout-a"), TempDir::new("layout-b"));
    for dir in [&a, &b] {
        support::run(
            support::tool("python3")
                .arg(support::LAYOUT_SCRIPT)
                .arg(dir.path()),
        );
    }
    let files = |dir: &TempDir| {
        let mut names: Vec<_> = std::fs::read_dir(dir.path().join("blobs/sha256"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    assert_eq!(files(&a), files(&b));
    assert_eq!(
        files(&a).len(),
        26,
        "6 x (layer, config, manifest) + multi + attested + 2 x 3 attestation blobs"
    );
    for name in ["index.json", "oci-layout"] {
        assert_eq!(
            std::fs::read(a.path().join(name)).unwrap(),
            std::fs::read(b.path().join(name)).unwrap()
        );
    }
    assert_eq!(
        std::fs::read(a.path().join("index.json")).unwrap(),
        std::fs::read(support::layout_dir().join("index.json")).unwrap()
    );
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}

fn jwt_claims(token: &str) -> Value {
    use base64::Engine;
    let claims = token.split('.').nth(1).unwrap();
    json_of(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(claims)
            .unwrap(),
    )
}

/// What a plain-HTTP `GET /token` to `addr` gets back, if it is an HTTP answer.
fn plain_http_answer(addr: SocketAddr) -> Option<String> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // The TLS server may hang up before the request is even written: then there is no answer.
    if write!(stream, "GET /token HTTP/1.1\r\nHost: {addr}\r\n\r\n").is_err() {
        return None;
    }
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    answer.starts_with("HTTP/").then(|| answer.into_owned())
}

/// A minimal HTTP/1.1 exchange with the token server over TLS (server name: its IP address):
/// (status, body).
fn https(
    tls: &Arc<ClientConfig>,
    addr: SocketAddr,
    method: &str,
    query_or_form: &str,
    authorization: Option<&str>,
) -> (u16, String) {
    let connection = ClientConnection::new(tls.clone(), ServerName::from(addr.ip())).unwrap();
    let mut stream = StreamOwned::new(connection, TcpStream::connect(addr).unwrap());
    let auth = authorization
        .map(|a| format!("Authorization: {a}\r\n"))
        .unwrap_or_default();
    let request = if method == "GET" {
        format!("GET /token?{query_or_form} HTTP/1.1\r\nHost: {addr}\r\n{auth}\r\n")
    } else {
        format!(
            "POST /token HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/x-www-form-urlencoded\r\n\
             Content-Length: {}\r\n\r\n{query_or_form}",
            query_or_form.len()
        )
    };
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    let status = answer.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}
