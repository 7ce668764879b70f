//! A registry that attacks the tool with what it serves: hostile stand-ins, each a
//! [`Proxy`] in front of the real registry that answers one request with crafted content, as a
//! malicious or compromised registry would. What the user checks: the run fails in one line
//! naming what was wrong, no request goes where the content tried to send it, and nothing is
//! written to the target.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use serde_json::Value;
use support::media::DOCKER_LIST;
use support::{
    Fault, Mode, Proxy, Rule, TempDir, bare_command, outcome, outcome_within, shared, write_file,
};

/// The seeded Docker list of six images, as JSON to tamper with.
fn seeded_list() -> Value {
    let (plain, _) = shared(Mode::PlainHttp);
    serde_json::from_slice(&plain.skopeo_inspect_raw("docker/app:list")).unwrap()
}

/// A proxy in front of the shared plain registry that serves `list` as `docker/app:hostile`.
fn serving(list: &Value) -> Proxy {
    let (plain, _) = shared(Mode::PlainHttp);
    Proxy::with_rule(
        &plain.host(),
        Rule::new(
            "GET",
            "/v2/docker/app/manifests/hostile",
            Fault::manifest(DOCKER_LIST, serde_json::to_vec_pretty(list).unwrap()),
        ),
    )
}

/// Push a list of the one source `docker/app:hostile` into `target` (a repository of `front`).
fn push_from(front: &Proxy, target: &str) -> support::Outcome {
    let home = TempDir::new("mt-hostile");
    let host = front.host();
    let spec = write_file(
        home.path(),
        "spec.yaml",
        &format!("image: {host}/{target}:1.0\nmanifests:\n  - image: {host}/docker/app:hostile\n"),
    );
    outcome(bare_command(&home).args(["--plain-http", "push", "from-spec", &spec]))
}

/// A list entry's digest goes into a URL: one that is not `algorithm:hex` by the OCI grammar
/// (a path climbing out of the repository, a query, upper-case hex) is refused as the list is
/// read, before any request is made with it.
#[test]
fn a_list_entry_whose_digest_is_not_a_digest_is_refused_before_any_request() {
    for bad in [
        "sha256:../../../v2/secret/manifests/latest",
        "sha256:0000000000000000000000000000000000000000000000000000000000000000?x=",
        "sha256:ABCDEF0000000000000000000000000000000000000000000000000000000000",
    ] {
        let mut list = seeded_list();
        list["manifests"][1]["digest"] = Value::from(bad);
        let front = serving(&list);
        let home = TempDir::new("mt-hostile-digest");
        let name = format!("{}/docker/app:hostile", front.host());
        let inspect = outcome(bare_command(&home).args(["--plain-http", "inspect", &name]));
        inspect.fails_with(&format!("digest {bad:?}"));
        push_from(&front, "hostile/digest").fails_with(&format!("digest {bad:?}"));
        let seen: Vec<String> = front.seen().into_iter().map(|s| s.request).collect();
        // The source's GETs, and the push's HEAD of its target tag in the same stage.
        assert!(
            seen.iter().all(
                |r| (r.ends_with("/manifests/hostile") && r.starts_with("GET "))
                    || r == "HEAD /v2/hostile/digest/manifests/1.0"
            ),
            "{bad}: {seen:#?}"
        );
    }
}

/// A list entry names its child's size, and the new list repeats it: an entry whose size is not
/// the size of the manifest it points to is refused, not copied into the list pushed, and the
/// target tag is not written.
#[test]
fn a_list_entry_with_a_wrong_size_is_not_copied() {
    let mut list = seeded_list();
    let size = list["manifests"][2]["size"].as_u64().unwrap();
    let digest = list["manifests"][2]["digest"].as_str().unwrap().to_string();
    list["manifests"][2]["size"] = Value::from(size + 1);
    let front = serving(&list);
    push_from(&front, "hostile/size").fails_with(&format!(
        "lists {digest} with size {}, but it is {size} bytes",
        size + 1
    ));
    let (plain, _) = shared(Mode::PlainHttp);
    assert!(plain.skopeo_try_inspect_raw("hostile/size:1.0").is_err());
    let writes = front.writes();
    assert!(writes.is_empty(), "{writes:#?}");
}

/// What the slow server spreads out over time.
#[derive(Clone, Copy, Debug)]
enum Trickle {
    /// The response headers, a byte at a time, without end.
    Headers,
    /// A manifest body that `Content-Length` says is 100 kB, a byte at a time.
    Body,
    /// The token answer's body, after a 401 challenge naming this server as the realm.
    Token,
}

/// A hostile stand-in: a server that sends its answer a byte every 100 ms, which no per-read
/// timeout ever catches, for at most two minutes a connection. Returns its `host:port`.
fn slow_server(trickle: Trickle) -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let host = listener.local_addr().unwrap().to_string();
    let realm = format!("http://{host}/token");
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let realm = realm.clone();
            std::thread::spawn(move || {
                let mut reader = BufReader::new(&stream);
                let (mut line, mut authorized) = (String::new(), false);
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                let mut header = String::new();
                while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                    authorized |= header.to_ascii_lowercase().starts_with("authorization:");
                    header.clear();
                }
                let mut stream = &stream;
                let challenge =
                    matches!(trickle, Trickle::Token) && line.contains(" /v2/") && !authorized;
                let (head, body_len) = match trickle {
                    _ if challenge => {
                        let _ = stream.write_all(
                            format!(
                                "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer \
                                 realm=\"{realm}\",service=\"slow\"\r\nContent-Length: 0\r\n\r\n"
                            )
                            .as_bytes(),
                        );
                        return;
                    }
                    Trickle::Headers => ("HTTP/1.1 200 OK\r\nX-Slow: ".to_string(), 0),
                    Trickle::Body | Trickle::Token => (
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: 100000\r\n\r\n",
                            support::media::DOCKER_MANIFEST
                        ),
                        100_000,
                    ),
                };
                if stream.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let _ = body_len;
                for _ in 0..1200 {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    if stream.write_all(b"a").is_err() {
                        return;
                    }
                }
            });
        }
    });
    host
}

/// A server that trickles its headers, a manifest or a token at ten bytes a second is given up
/// on: each request has a deadline for its headers and a minimum pace for its body besides the
/// per-read timeout (src/registry/pace.rs), so the run fails in one line naming the server
/// (after its retries) instead of hanging.
#[test]
fn a_server_trickling_its_answer_is_given_up_on() {
    for (trickle, says) in [
        (Trickle::Headers, "timed out"),
        (Trickle::Body, "came too slowly"),
        (Trickle::Token, "came too slowly"),
    ] {
        let host = slow_server(trickle);
        let home = TempDir::new("mt-slow");
        let mut cmd = bare_command(&home);
        cmd.env("MANIFEST_TOOL_TIMEOUT_SECS", "1").args([
            "--plain-http",
            "inspect",
            &format!("{host}/slow/app:1"),
        ]);
        let run = outcome_within(&cmd, std::time::Duration::from_secs(90));
        let line = run.fails_with(&host);
        assert!(line.contains(says), "{trickle:?}: {line}");
    }
}
