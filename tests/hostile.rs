//! A registry that attacks the tool with what it serves (issue 12): hostile stand-ins, each a
//! [`Proxy`] in front of the real registry that answers one request with crafted content, as a
//! malicious or compromised registry would. What the user checks: the run fails in one line
//! naming what was wrong, no request goes where the content tried to send it, and nothing is
//! written to the target.

mod support;

use serde_json::Value;
use support::media::DOCKER_LIST;
use support::{Fault, Mode, Proxy, Rule, TempDir, bare_command, outcome, shared, write_file};

/// The seeded Docker list of six images, as JSON to tamper with.
fn seeded_list() -> Value {
    let (plain, _) = shared(Mode::PlainHttp);
    serde_json::from_slice(&plain.skopeo_inspect_raw("docker/app:list")).unwrap()
}

/// A proxy in front of the shared plain registry that serves `list` as `docker/app:hostile`.
fn serving(list: &Value) -> Proxy {
    let (plain, _) = shared(Mode::PlainHttp);
    let front = Proxy::transparent(&plain.host());
    front.inject(Rule::new(
        "GET",
        "/v2/docker/app/manifests/hostile",
        Fault::ServeManifest {
            content_type: DOCKER_LIST.to_string(),
            digest_header: None,
            body: serde_json::to_vec_pretty(list).unwrap(),
        },
    ));
    front
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
        assert!(
            seen.iter()
                .all(|r| r.ends_with("/manifests/hostile") && r.starts_with("GET ")),
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
    let writes: Vec<String> = front
        .seen()
        .into_iter()
        .map(|s| s.request)
        .filter(|r| !r.starts_with("GET ") && !r.starts_with("HEAD "))
        .collect();
    assert!(writes.is_empty(), "{writes:#?}");
}
