//! Pushing to registries that behave unlike Debian's `docker-registry`, each played by a
//! stand-in (`support::standins`) in front of the real registry: immutable tags (ECR,
//! Harbor), media-type validation (Quay, zot without `docker2s2`), and tags that must not be
//! PUT at once (Quay before 3.4, OpenShift). Each shows the push working and the refusals the
//! tool must still give.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use support::media::{DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX, OCI_MANIFEST};
use support::standins::StandIn;
use support::{
    Fault, Mode, Outcome, Proxy, Registry, Rule, Seeded, TempDir, bare_command, outcome, push_spec,
    sha256_digest, write_file,
};

fn shared() -> &'static (Registry, Seeded) {
    support::shared(Mode::PlainHttp)
}

/// The stand-in `make` builds in front of the shared registry, and that registry.
fn stand_in(make: fn(&str) -> StandIn) -> (&'static Registry, StandIn) {
    let (reg, _) = shared();
    (reg, make(&reg.host()))
}

/// Run the binary with `--plain-http` (every stand-in speaks plain HTTP) and `args`.
fn run(args: &[&str]) -> Outcome {
    let home = TempDir::new("mt-registries");
    outcome(bare_command(&home).arg("--plain-http").args(args))
}

/// Run `push [flags] from-spec FILE` for a spec pushing `sources` (`REPO:TAG` of `host`) to
/// `target` with extra `tags`.
fn push(flags: &[&str], host: &str, target: &str, tags: &[&str], sources: &[&str]) -> Outcome {
    let dir = TempDir::new("mt-registries-spec");
    let sources: Vec<String> = sources.iter().map(|s| format!("{host}/{s}")).collect();
    let spec = push_spec(&format!("{host}/{target}"), &sources, tags);
    let file = write_file(dir.path(), "spec.yaml", &spec);
    run(&[&["push"], flags, &["from-spec", file.as_str()]].concat())
}

/// Two Docker images of the seeded registry, the sources of most pushes here.
const DOCKER_SOURCES: [&str; 2] = ["docker/app:linux-amd64", "docker/app:linux-s390x"];
/// The same two platforms as OCI images.
const OCI_SOURCES: [&str; 2] = ["oci/app:linux-amd64", "oci/app:linux-s390x"];

/// The `Digest:` line of `bytes`.
fn digest_line(bytes: &[u8]) -> String {
    format!("Digest: {} {}\n", sha256_digest(bytes), bytes.len())
}

/// Assert that `run` pushed the list `reg` holds at `target` (`REPO:TAG`): its output is the
/// list's `Digest:` line and every one of the extra `tags` holds the same bytes. The list.
fn assert_pushed(reg: &Registry, run: &Outcome, target: &str, tags: &[&str]) -> Vec<u8> {
    let list = reg.skopeo_inspect_raw(target);
    assert_eq!(run.out(), digest_line(&list));
    let (repository, _) = target.rsplit_once(':').unwrap();
    for tag in tags {
        let tagged = reg.skopeo_inspect_raw(&format!("{repository}:{tag}"));
        assert_eq!(tagged, list, "{tag}");
    }
    list
}

/// The tag PUTs (`PUT /v2/…/manifests/<tag>`, not by digest) `proxy` saw from index `from` on.
fn tag_puts(proxy: &Proxy, from: usize) -> Vec<String> {
    proxy
        .seen()
        .into_iter()
        .skip(from)
        .map(|seen| seen.request)
        .filter(|r| r.starts_with("PUT ") && r.contains("/manifests/") && !r.contains("sha256:"))
        .collect()
}

/// The `mediaType` of the list `repo_and_tag` of `reg` holds.
fn media_type_of(reg: &Registry, repo_and_tag: &str) -> String {
    let list: serde_json::Value =
        serde_json::from_slice(&reg.skopeo_inspect_raw(repo_and_tag)).unwrap();
    list["mediaType"].as_str().unwrap_or_default().to_string()
}

/// A re-run of a push to an immutable repository: the tags that hold the list are not PUT,
/// so ECR's refusal of any PUT to an existing tag never comes; a new extra tag is PUT.
#[test]
fn ecr_immutable_tags_a_rerun_succeeds_without_a_put_to_its_tags() {
    let (reg, ecr) = stand_in(StandIn::ecr_immutable_tags);
    let host = ecr.host();
    let first = push(&[], &host, "ecr/app:1.0", &["1", "latest"], &DOCKER_SOURCES).success();
    let list = assert_pushed(reg, &first, "ecr/app:1.0", &["1", "latest"]);

    let before = ecr.proxy().seen().len();
    let again = push(
        &[],
        &host,
        "ecr/app:1.0",
        &["1", "latest", "stable"],
        &DOCKER_SOURCES,
    )
    .success();
    assert_eq!(again.out(), first.out(), "the same Digest: line");
    assert_eq!(
        tag_puts(ecr.proxy(), before),
        ["PUT /v2/ecr/app/manifests/stable"],
        "only the new tag is PUT"
    );
    assert_eq!(ecr.refused(), Vec::<String>::new());
    assert_eq!(reg.skopeo_inspect_raw("ecr/app:stable"), list);
}

/// The refusals an immutable ECR repository still gives: another list for a tag that holds
/// one fails in one line saying the tag is immutable and what it holds, and the tag keeps it;
/// `--always-push` sends the PUT anyway, and ECR refuses even the same bytes.
#[test]
fn ecr_immutable_tags_refuse_another_list_and_always_push_in_one_line() {
    let (reg, ecr) = stand_in(StandIn::ecr_immutable_tags);
    let host = ecr.host();
    push(&[], &host, "ecr/locked:2.0", &[], &DOCKER_SOURCES).success();
    let held = reg.skopeo_digest("ecr/locked:2.0");

    let other = push(&[], &host, "ecr/locked:2.0", &[], &DOCKER_SOURCES[..1]);
    let line = other.fails_with(&format!(
        "tag {host}/ecr/locked:2.0 is immutable and holds {held}, not this list sha256:"
    ));
    assert!(
        line.ends_with(
            "400 TAG_INVALID: The image tag '2.0' already exists in the 'ecr/locked' repository \
             and cannot be overwritten because the repository is immutable."
        ),
        "{line}"
    );
    assert_eq!(reg.skopeo_digest("ecr/locked:2.0"), held);

    let always = push(
        &["--always-push"],
        &host,
        "ecr/locked:2.0",
        &[],
        &DOCKER_SOURCES,
    );
    always.fails_with(&format!(
        "pushing the list to {host}/ecr/locked:2.0: tag {host}/ecr/locked:2.0 is immutable: 400 TAG_INVALID"
    ));
    assert_eq!(ecr.refused().len(), 2, "{:#?}", ecr.refused());
}

/// Harbor's immutability rule: a re-run succeeds without a tag PUT; another list for the tag
/// fails in one line with Harbor's 412 and the word immutable.
#[test]
fn harbor_immutable_tags_a_rerun_succeeds_and_another_list_is_refused() {
    let (reg, harbor) = stand_in(StandIn::harbor_immutable_tags);
    let host = harbor.host();
    let sources = ["oci/app:linux-amd64", "oci/app:linux-arm64-v8"];
    let first = push(&[], &host, "harbor/app:1.0", &["1"], &sources).success();
    assert_pushed(reg, &first, "harbor/app:1.0", &["1"]);
    let before = harbor.proxy().seen().len();
    let again = push(&[], &host, "harbor/app:1.0", &["1"], &sources).success();
    assert_eq!(again.out(), first.out());
    assert_eq!(tag_puts(harbor.proxy(), before), Vec::<String>::new());

    let held = reg.skopeo_digest("harbor/app:1.0");
    let other = push(&[], &host, "harbor/app:1.0", &["1"], &sources[..1]);
    let line = other.fails_with(&format!(
        "tag {host}/harbor/app:1.0 is immutable and holds {held}"
    ));
    assert!(
        line.ends_with(
            "412 PRECONDITION: Failed to process request due to 'harbor/app:1.0' configured as \
             immutable."
        ),
        "{line}"
    );
    assert_eq!(reg.skopeo_digest("harbor/app:1.0"), held);
}

/// The HEADs of the target's tags go out with the source manifests: with every request
/// delayed, they reach the registry in the same round trip as the last manifest GET (the
/// first may go alone, to learn how the registry authenticates), not one round trip later.
#[test]
fn asking_the_tags_what_they_hold_costs_no_round_trip() {
    // Two source manifest GETs and three tag HEADs make the first stage. Without a cached auth
    // scheme the first request goes out alone to learn it; the other four are one stage only
    // if they are in flight at once. Each is held at the proxy until the four have arrived; a
    // HEAD sent a stage later never arrives while a GET is held, and the wait runs out.
    const ONE_STAGE: usize = 5;
    const AFTER_THE_FIRST: usize = ONE_STAGE - 1;
    let (reg, _) = shared();
    let arrived = Arc::new((Mutex::new(0usize), Condvar::new()));
    let all_together = Arc::new(AtomicBool::new(true));
    let hook = {
        let (arrived, all_together) = (arrived.clone(), all_together.clone());
        Arc::new(move || {
            let (count, changed) = &*arrived;
            let mut count = count.lock().unwrap();
            *count += 1;
            changed.notify_all();
            let (count, wait) = changed
                .wait_timeout_while(count, Duration::from_secs(10), |n| *n < AFTER_THE_FIRST)
                .unwrap();
            if wait.timed_out() {
                all_together.store(false, Ordering::SeqCst);
            }
            drop(count);
        })
    };
    let rule = Rule::new("*", "/v2/docker/app/manifests/", Fault::Run(hook))
        .after(1)
        .first(AFTER_THE_FIRST);
    let held = Proxy::with_rule(&reg.host(), rule);
    let host = held.host();
    let sources = ["docker/app:linux-amd64", "docker/app:linux-arm-v7"];
    push(&[], &host, "docker/app:heads", &["h1", "h2"], &sources).success();
    let seen: Vec<String> = held.seen().into_iter().map(|s| s.request).collect();
    let first_stage: Vec<&str> = seen
        .iter()
        .take(ONE_STAGE)
        .map(|r| r.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        first_stage.iter().filter(|m| **m == "HEAD").count(),
        3,
        "the target tag and both extra tags are asked in the first stage: {seen:#?}"
    );
    assert!(
        all_together.load(Ordering::SeqCst),
        "the HEADs did not go out with the manifest GETs: {seen:#?}"
    );
}

/// An OCI layout target whose tags hold the list already is not written at all on a re-run:
/// its `index.json` stays the same file.
#[test]
fn a_layout_tag_that_holds_the_list_is_left_alone() {
    use std::os::unix::fs::MetadataExt;
    let dir = TempDir::new("mt-registries-layout");
    let source = support::layout_dir();
    let target = dir.path().join("out");
    let spec = support::layout_spec(
        &format!("oci-layout://{}:v1", target.display()),
        source,
        &["linux-amd64", "linux-s390x"],
    );
    let file = write_file(dir.path(), "spec.yaml", &spec);
    let first = run(&["push", "from-spec", &file]).success();
    let index = target.join("index.json");
    let inode = std::fs::metadata(&index).unwrap().ino();
    let again = run(&["push", "from-spec", &file]).success();
    assert_eq!(again.out(), first.out());
    assert_eq!(
        std::fs::metadata(&index).unwrap().ino(),
        inode,
        "index.json was rewritten"
    );
}

/// Quay validates a Docker list's entries: without `--type`, OCI images go into an OCI index
/// (accepted), Docker images into a Docker list with the Go tool's bytes (accepted too).
#[test]
fn quay_gets_an_index_for_oci_entries_and_a_docker_list_for_docker_entries() {
    let (reg, seeded) = shared();
    let quay = StandIn::quay_media_types(&reg.host());
    let host = quay.host();
    let oci = push(&[], &host, "oci/app:quay", &[], &OCI_SOURCES).success();
    assert_eq!(media_type_of(reg, "oci/app:quay"), OCI_INDEX);
    assert_pushed(reg, &oci, "oci/app:quay", &[]);

    push(&[], &host, "docker/app:quay", &[], &DOCKER_SOURCES).success();
    let (amd64, _) = seeded.digests_of("linux-amd64");
    let (s390x, _) = seeded.digests_of("linux-s390x");
    let size = |tag: &str| reg.skopeo_inspect_raw(&format!("docker/app:{tag}")).len();
    let entry = |digest: &str, size: usize, arch: &str| {
        format!(
            "    {{\n      \"mediaType\": \"{DOCKER_MANIFEST}\",\n      \"size\": {size},\n      \"digest\": \"{digest}\",\n      \"platform\": {{\n        \"architecture\": \"{arch}\",\n        \"os\": \"linux\"\n      }}\n    }}"
        )
    };
    let expected = format!(
        "{{\n  \"schemaVersion\": 2,\n  \"mediaType\": \"{DOCKER_LIST}\",\n  \"manifests\": [\n{},\n{}\n  ]\n}}",
        entry(amd64, size("linux-amd64"), "amd64"),
        entry(s390x, size("linux-s390x"), "s390x")
    );
    assert_eq!(
        String::from_utf8_lossy(&reg.skopeo_inspect_raw("docker/app:quay")),
        expected
    );
    assert_eq!(quay.refused(), Vec::<String>::new());
}

/// The refusal Quay still gives: `--type docker` with OCI entries warns (in `--dry-run` as
/// well) and the push fails in one line with Quay's answer.
#[test]
fn quay_refuses_an_explicit_docker_list_of_oci_images_after_a_warning() {
    let (reg, quay) = stand_in(StandIn::quay_media_types);
    let host = quay.host();
    let warning = "warning: --type docker: 2 of 2 entries are not Docker images; Quay and zot \
                   (without docker2s2) refuse such a Docker manifest list, leave out --type to \
                   push an OCI index\n";

    let dry = push(
        &["--type", "docker", "--dry-run"],
        &host,
        "oci/app:quay-docker",
        &[],
        &OCI_SOURCES,
    )
    .success();
    assert!(dry.stderr.starts_with(warning), "{}", dry.stderr);
    assert!(dry.out().contains(OCI_MANIFEST), "{}", dry.out());

    let refused = push(
        &["--type", "docker"],
        &host,
        "oci/app:quay-docker",
        &[],
        &OCI_SOURCES,
    );
    assert!(refused.stderr.starts_with(warning), "{}", refused.stderr);
    refused.fails_with(&format!(
        "pushing the list to {host}/oci/app:quay-docker: 400 MANIFEST_INVALID: manifest invalid"
    ));
    assert_eq!(quay.refused().len(), 1, "{:#?}", quay.refused());
    assert!(
        reg.skopeo_try_inspect_raw("oci/app:quay-docker").is_err(),
        "nothing was tagged"
    );
}

/// zot without `docker2s2` takes OCI types only: OCI images push as an OCI index with no
/// `--type`; a list of Docker images is still refused, in one line with zot's 415.
#[test]
fn zot_without_docker2s2_gets_an_index_and_still_refuses_docker_types() {
    let (reg, zot) = stand_in(StandIn::zot_without_docker2s2);
    let host = zot.host();
    let sources = ["oci/app:linux-arm-v7", "oci/app:linux-ppc64le"];
    let run = push(&[], &host, "oci/app:zot", &[], &sources).success();
    assert_eq!(media_type_of(reg, "oci/app:zot"), OCI_INDEX);
    assert_pushed(reg, &run, "oci/app:zot", &[]);

    let docker = push(
        &[],
        &host,
        "docker/app:zot",
        &[],
        &["docker/app:linux-arm-v7"],
    );
    docker.fails_with(&format!(
        "pushing the list to {host}/docker/app:zot: 415 MANIFEST_INVALID: manifest invalid"
    ));
}

/// Quay before 3.4 refuses the loser of two PUTs of the same bytes under different tags at
/// once (400): the refused tags are PUT again one at a time and the push succeeds.
#[test]
fn quay_before_3_4_gets_refused_tags_again_one_at_a_time() {
    let (reg, quay) = stand_in(StandIn::quay_before_3_4);
    let host = quay.host();
    let tags = ["q1", "q2", "q3"];
    let sources = ["docker/app:linux-amd64", "docker/app:linux-ppc64le"];
    let run = push(&[], &host, "docker/app:quay-old", &tags, &sources).success();
    assert_pushed(reg, &run, "docker/app:quay-old", &tags);
    let refused = quay.refused();
    assert_eq!(refused.len(), 2, "two of three lose the race: {refused:#?}");
    let puts = tag_puts(quay.proxy(), 0);
    assert_eq!(
        puts.len(),
        1 + 3 + 2,
        "list, three tags, two again: {puts:#?}"
    );
    for again in &refused {
        let request = again.trim_end_matches(": 400");
        assert_eq!(
            puts.iter().filter(|p| *p == request).count(),
            2,
            "{puts:#?}"
        );
    }
}

/// The refusal a Quay before 3.4 still gives: a tag refused alone as well fails the push in
/// one line naming it, after exactly one PUT alone.
#[test]
fn quay_before_3_4_still_fails_on_a_tag_refused_alone() {
    let (_, quay) = stand_in(StandIn::quay_before_3_4);
    let host = quay.host();
    // Before the profile's own rule: this tag is refused whatever happens.
    let broken = r#"{"errors":[{"code":"MANIFEST_INVALID","message":"manifest invalid"}]}"#;
    quay.proxy().inject_first(Rule::ending(
        "PUT",
        "/manifests/broken",
        Fault::json(400, broken),
    ));
    let sources = ["docker/app:linux-amd64"];
    let run = push(
        &[],
        &host,
        "docker/app:quay-broken",
        &["fine", "broken"],
        &sources,
    );
    run.fails_with(&format!(
        "pushing extra tag {host}/docker/app:broken: 400 MANIFEST_INVALID: manifest invalid"
    ));
    let puts = tag_puts(quay.proxy(), 0);
    let broken_puts = puts
        .iter()
        .filter(|p| p.ends_with("/manifests/broken"))
        .count();
    assert_eq!(
        broken_puts, 2,
        "once with the others, once alone: {puts:#?}"
    );
}

/// OpenShift answers 500 to the loser of tag PUTs at once: retried, then PUT one at a time,
/// every tag gets the list.
#[test]
fn openshift_concurrent_tags_all_get_the_list() {
    let (reg, openshift) = stand_in(StandIn::openshift_concurrent_tags);
    let host = openshift.host();
    let tags = ["o1", "o2", "o3", "o4", "o5", "o6"];
    let sources = ["docker/app:linux-amd64", "docker/app:windows-amd64"];
    let run = push(&[], &host, "docker/app:openshift", &tags, &sources).success();
    assert_pushed(reg, &run, "docker/app:openshift", &tags);
    assert!(
        !openshift.refused().is_empty(),
        "the tags raced: {:#?}",
        openshift.proxy().seen()
    );
}
