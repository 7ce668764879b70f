//! manifest-tool against a registry that misbehaves: every fault the proxy can inject, at each
//! step of each operation, ends in exactly one of two ways.
//!
//! - **recovered**: the fault was transient and within the retry budget; the run succeeds with
//!   the same output (for a push, the same list digest) as without the fault.
//! - **failed cleanly**: exit 1, one line naming the step and the registry's answer; the target
//!   tag is absent or still holds its previous digest, and no tag ever holds a list whose
//!   children are missing.
//!
//! The outcomes are printed as a table and kept in `docs/reliability.md`; the tests fail when its
//! generated sections differ from what they observed, so the document cannot go stale.
//! `make reliability-doc` (never part of `make test`) runs the ignored test
//! `regenerate_reliability_doc`, which rewrites those sections.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use support::{
    Fault, GeneratedDoc, Mode, NO_TAGS, Outcome, Proxy, Registry, RetryAfter, Rule, TempDir,
    bare_command, mode_flags, outcome, push_spec, sha256_digest, write_file,
};

/// The read timeout the runs get (`MANIFEST_TOOL_TIMEOUT_SECS`), so a stall costs seconds.
const TIMEOUT_SECS: u64 = 2;
/// How long a stalled answer is held back: longer than the timeout.
const STALL: Duration = Duration::from_secs(3);
/// The images of the list each push writes, and of the list the target held before.
const NEW_IMAGES: [&str; 3] = ["linux-arm-v7", "linux-arm64-v8", "linux-s390x"];
const OLD_IMAGES: [&str; 1] = ["linux-amd64"];
/// Cells run at once (most of a cell's time is spent waiting on backoffs and timeouts).
const WORKERS: usize = 4;

/// A seeded plain-HTTP registry and what every cell compares against.
struct Setup {
    reg: Registry,
    /// The digest of the list of `NEW_IMAGES`, pushed without any fault.
    new_list: String,
    /// Its size in bytes.
    new_list_size: usize,
    /// The digest of the list of `OLD_IMAGES`: what targets hold before a push.
    old_list: String,
    /// The digests of `NEW_IMAGES` (Docker v2.2 manifests in `docker/app`).
    new_images: Vec<String>,
    /// The first layer of `docker/app:linux-arm-v7`: a blob that only a copy reads.
    layer: String,
    /// `inspect` of `docker/app:list` without faults, with the host written as `HOST`.
    inspect_text: String,
    /// The digest of `docker/app:list`.
    list_digest: String,
}

fn setup() -> &'static Setup {
    static SETUP: OnceLock<Result<Setup, String>> = OnceLock::new();
    support::once(&SETUP, || {
        let reg = Registry::start(Mode::PlainHttp);
        support::seed(&reg);
        let host = reg.host();
        let dir = TempDir::new("mt-faults-setup");
        let push = |tag: &str, images: &[&str]| {
            let spec = push_spec(
                &format!("{host}/docker/app:{tag}"),
                &sources(&host, images),
                NO_TAGS,
            );
            let file = write_file(dir.path(), &format!("{tag}.yaml"), &spec);
            run(&reg, &["push", "from-spec", &file]).success();
            reg.skopeo_digest(&format!("docker/app:{tag}"))
        };
        let new_list = push("baseline-new", &NEW_IMAGES);
        let new_list_size = reg.skopeo_inspect_raw("docker/app:baseline-new").len();
        let old_list = push("baseline-old", &OLD_IMAGES);
        let image: serde_json::Value =
            serde_json::from_slice(&reg.skopeo_inspect_raw("docker/app:linux-arm-v7")).unwrap();
        let layer = image["layers"][0]["digest"].as_str().unwrap().to_string();
        let new_images = NEW_IMAGES
            .iter()
            .map(|tag| reg.skopeo_digest(&format!("docker/app:{tag}")))
            .collect();
        let inspect = run(&reg, &["inspect", &format!("{host}/docker/app:list")]).success();
        let inspect_text = inspect.out().replace(&host, "HOST");
        let list_digest = reg.skopeo_digest("docker/app:list");
        Setup {
            reg,
            new_list,
            new_list_size,
            old_list,
            new_images,
            layer,
            inspect_text,
            list_digest,
        }
    })
}

/// Run the binary against `reg`'s mode with the short timeout.
fn run(reg: &Registry, args: &[&str]) -> Outcome {
    let home = TempDir::new("mt-faults");
    let mut cmd = bare_command(&home);
    cmd.env("MANIFEST_TOOL_TIMEOUT_SECS", TIMEOUT_SECS.to_string())
        .args(mode_flags(reg))
        .args(args);
    outcome(&mut cmd)
}

/// `host/docker/app:TAG` for each of `images`.
fn sources(host: &str, images: &[&str]) -> Vec<String> {
    images
        .iter()
        .map(|tag| format!("{host}/docker/app:{tag}"))
        .collect()
}

/// The digest `repo_and_ref` holds now, `None` when it does not exist (read by skopeo).
fn digest_of(reg: &Registry, repo_and_ref: &str) -> Option<String> {
    match reg.skopeo_try_inspect_raw(repo_and_ref) {
        Ok(bytes) => Some(sha256_digest(&bytes)),
        Err(stderr) => {
            assert!(
                stderr.contains("manifest unknown"),
                "skopeo inspect {repo_and_ref} failed: {stderr}"
            );
            None
        }
    }
}

/// What a cell does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Op {
    /// `inspect` of a six-image list (the list, then its children).
    Inspect,
    /// A push whose sources are in the target repository: nothing to copy.
    SameRepo,
    /// A push into a new repository of the same registry: blobs mounted, children PUT.
    Mounts,
    /// The same with mounts refused (`Fault::RefuseMounts`): blobs streamed into uploads.
    CopyFallback,
    /// A same-repository push with two extra tags.
    ExtraTags,
}

impl Op {
    const ALL: [Op; 5] = [
        Op::Inspect,
        Op::SameRepo,
        Op::Mounts,
        Op::CopyFallback,
        Op::ExtraTags,
    ];

    fn title(self) -> &'static str {
        match self {
            Op::Inspect => "inspect",
            Op::SameRepo => "push, same repository",
            Op::Mounts => "push, cross-repository (mounts)",
            Op::CopyFallback => "push, copy fallback (mounts refused)",
            Op::ExtraTags => "push with extra tags",
        }
    }

    fn steps(self) -> &'static [Step] {
        match self {
            Op::Inspect => &[Step::ListGet, Step::ChildGet],
            Op::SameRepo => &[Step::SourceGet, Step::ConfigGet, Step::ListPut],
            Op::Mounts => &[Step::MountPost, Step::ChildPut, Step::ListPut],
            Op::CopyFallback => &[Step::UploadPost, Step::BlobGet, Step::BlobPut],
            Op::ExtraTags => &[Step::ListPut, Step::TagPut],
        }
    }
}

/// The request a fault hits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    /// GET of the top-level manifest (inspect).
    ListGet,
    /// GET of a child manifest by digest (inspect).
    ChildGet,
    /// GET of a source image manifest (push).
    SourceGet,
    /// GET of a source image config (push).
    ConfigGet,
    /// PUT of the list under the target tag.
    ListPut,
    /// POST of a blob mount.
    MountPost,
    /// PUT of a child manifest into the target repository.
    ChildPut,
    /// POST opening an upload session (a mount the proxy turned into a plain upload).
    UploadPost,
    /// GET of a layer from the source, streamed into the upload.
    BlobGet,
    /// The streamed PUT that finishes a blob upload.
    BlobPut,
    /// PUT of the list under an extra tag.
    TagPut,
}

impl Step {
    fn title(self) -> &'static str {
        match self {
            Step::ListGet => "list GET",
            Step::ChildGet => "child manifest GET",
            Step::SourceGet => "source manifest GET",
            Step::ConfigGet => "config blob GET",
            Step::ListPut => "list PUT",
            Step::MountPost => "mount POST",
            Step::ChildPut => "child manifest PUT",
            Step::UploadPost => "upload POST",
            Step::BlobGet => "layer GET (streamed)",
            Step::BlobPut => "blob upload PUT (streamed)",
            Step::TagPut => "extra tag PUT",
        }
    }

    /// Whether the answer has a body that a fault can cut.
    fn has_body(self) -> bool {
        matches!(
            self,
            Step::ListGet | Step::ChildGet | Step::SourceGet | Step::ConfigGet | Step::BlobGet
        )
    }

    /// The rule that spoils this step's requests with `fault`. A tag PUT is matched by the end
    /// of its path: the list's tag `1.0` must not also catch the extra tag `1.0-x1`.
    fn rule(self, names: &Names, setup: &Setup, fault: Fault) -> Rule {
        let tag_put = |tag: &str| Rule::ending("PUT", &format!("/manifests/{tag}"), fault.clone());
        let (method, path) = match self {
            Step::ListPut => return tag_put(&names.tag),
            Step::TagPut => return tag_put(&names.extra_tags[0]),
            Step::ListGet => ("GET", "/manifests/list".to_string()),
            Step::ChildGet => ("GET", "/manifests/sha256:".into()),
            Step::SourceGet => ("GET", "/manifests/sha256:".into()),
            Step::ConfigGet => ("GET", "/blobs/sha256:".into()),
            Step::MountPost | Step::UploadPost => ("POST", "/blobs/uploads/".into()),
            Step::ChildPut => ("PUT", "/manifests/sha256:".into()),
            Step::BlobGet => ("GET", format!("/blobs/{}", setup.layer)),
            Step::BlobPut => ("PUT", "/blobs/uploads/".into()),
        };
        Rule::new(method, &path, fault)
    }
}

/// A fault of the matrix: what the proxy does, and to how many matching requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Unavailable,
    TooManySeconds,
    TooManyDate,
    ResetBefore,
    ResetMidBody,
    Truncated,
    Stall,
    UnavailableAlways,
    ListPut500,
}

impl Kind {
    const ALL: [Kind; 9] = [
        Kind::Unavailable,
        Kind::TooManySeconds,
        Kind::TooManyDate,
        Kind::ResetBefore,
        Kind::ResetMidBody,
        Kind::Truncated,
        Kind::Stall,
        Kind::UnavailableAlways,
        Kind::ListPut500,
    ];

    fn title(self) -> String {
        match self {
            Kind::Unavailable => "503, once".to_string(),
            Kind::TooManySeconds => "429 + Retry-After: 1 (seconds), once".to_string(),
            Kind::TooManyDate => "429 + Retry-After: HTTP date in 2 s, once".to_string(),
            Kind::ResetBefore => "connection reset before the answer, once".to_string(),
            Kind::ResetMidBody => "connection reset in the middle of the body, once".to_string(),
            Kind::Truncated => "body cut short (Content-Length promises more), once".to_string(),
            Kind::Stall => format!(
                "no answer for {} s (read timeout {TIMEOUT_SECS} s), once",
                STALL.as_secs()
            ),
            Kind::UnavailableAlways => "503 on every attempt".to_string(),
            Kind::ListPut500 => "500 on every attempt of the list PUT".to_string(),
        }
    }

    fn fault(self) -> Fault {
        match self {
            Kind::Unavailable | Kind::UnavailableAlways => Fault::Status(503),
            Kind::TooManySeconds => Fault::TooManyRequests(RetryAfter::Seconds(1)),
            Kind::TooManyDate => Fault::TooManyRequests(RetryAfter::DateIn(2)),
            Kind::ResetBefore => Fault::ResetBeforeResponse,
            Kind::ResetMidBody => Fault::ResetMidBody,
            Kind::Truncated => Fault::TruncateBody,
            Kind::Stall => Fault::Stall(STALL),
            Kind::ListPut500 => Fault::Status(500),
        }
    }

    /// Whether the fault hits only the first matching request.
    fn once(self) -> bool {
        !matches!(self, Kind::UnavailableAlways | Kind::ListPut500)
    }

    /// The steps of `op` this fault is tried at.
    fn steps(self, op: Op) -> Vec<Step> {
        let steps = op.steps().iter().copied();
        match self {
            Kind::ResetMidBody | Kind::Truncated => steps.filter(|s| s.has_body()).collect(),
            Kind::ListPut500 => steps.filter(|s| *s == Step::ListPut).collect(),
            // Every attempt failing: once per operation, at its main step.
            Kind::UnavailableAlways => op.steps()[..1].to_vec(),
            _ => steps.collect(),
        }
    }
}

/// The names one cell pushes to, unique to it: a repository of its own (so that no two cells
/// write the same manifest into one repository at once: the filesystem storage of
/// `docker-registry` rewrites link files in place, and a reader catching one half-written gets
/// a 500 "invalid checksum digest format").
struct Names {
    repository: String,
    tag: String,
    extra_tags: Vec<String>,
}

impl Names {
    fn of(op: Op, index: usize) -> Names {
        let (repository, tag) = (format!("fault{index}/app"), "1.0".to_string());
        let extra_tags = match op {
            Op::ExtraTags => vec!["1.0-x1".to_string(), "1.0-x2".to_string()],
            _ => Vec::new(),
        };
        Names {
            repository,
            tag,
            extra_tags,
        }
    }

    fn tags(&self) -> Vec<String> {
        std::iter::once(self.tag.clone())
            .chain(self.extra_tags.iter().cloned())
            .collect()
    }
}

/// How one run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Ended {
    Recovered,
    /// With the error line, host and digests written generically.
    FailedCleanly(String),
}

/// One run of the matrix.
#[derive(Clone, Copy, Debug)]
struct Cell {
    kind: Kind,
    op: Op,
    step: Step,
    index: usize,
}

fn cells() -> Vec<Cell> {
    let mut cells = Vec::new();
    for kind in Kind::ALL {
        for op in Op::ALL {
            for step in kind.steps(op) {
                let index = cells.len();
                cells.push(Cell {
                    kind,
                    op,
                    step,
                    index,
                });
            }
        }
    }
    cells
}

/// Run one cell; `Err` says how it broke the contract.
fn run_cell(cell: Cell) -> Result<Ended, String> {
    let setup = setup();
    let reg = &setup.reg;
    let names = Names::of(cell.op, cell.index);
    let dir = TempDir::new("mt-faults-cell");
    let host = reg.host();

    // The previous state: every target tag holds the old list; for a same-repository push,
    // the repository also has the new images (pushed in a list of their own).
    if cell.op != Op::Inspect {
        let target = format!("{host}/{}:{}", names.repository, names.tag);
        let old = push_spec(&target, &sources(&host, &OLD_IMAGES), &names.extra_tags);
        let file = write_file(dir.path(), "old.yaml", &old);
        run(reg, &["push", "from-spec", &file]).success();
    }
    if matches!(cell.op, Op::SameRepo | Op::ExtraTags) {
        let target = format!("{host}/{}:images", names.repository);
        let images = push_spec(&target, &sources(&host, &NEW_IMAGES), NO_TAGS);
        let file = write_file(dir.path(), "images.yaml", &images);
        run(reg, &["push", "from-spec", &file]).success();
    }

    let proxy = Proxy::transparent(&host);
    let mut rule = cell.step.rule(&names, setup, cell.kind.fault());
    if cell.kind.once() {
        rule = rule.first(1);
    }
    proxy.inject(rule);
    if cell.op == Op::CopyFallback {
        proxy.inject(Rule::new("POST", "mount=", Fault::RefuseMounts));
    }
    let via = proxy.host();
    let result = match cell.op {
        Op::Inspect => run(reg, &["inspect", &format!("{via}/docker/app:list")]),
        _ => {
            let target = format!("{via}/{}:{}", names.repository, names.tag);
            let sources = match cell.op {
                Op::SameRepo | Op::ExtraTags => setup
                    .new_images
                    .iter()
                    .map(|digest| format!("{via}/{}@{digest}", names.repository))
                    .collect(),
                _ => sources(&via, &NEW_IMAGES),
            };
            let new = push_spec(&target, &sources, &names.extra_tags);
            let file = write_file(dir.path(), "new.yaml", &new);
            run(reg, &["push", "from-spec", &file])
        }
    };
    let spoiled = proxy.spoiled();
    drop(proxy);
    if spoiled.is_empty() {
        return Err(format!("the fault hit no {}", cell.step.title()));
    }
    let context = || {
        format!(
            "\n--- spoiled\n{}\n--- stdout\n{}\n--- stderr\n{}",
            spoiled.join("\n"),
            result.out(),
            result.stderr
        )
    };

    let outcome = match result.code {
        0 => {
            let expected = match cell.op {
                Op::Inspect => setup.inspect_text.clone(),
                _ => format!("Digest: {} ", setup.new_list),
            };
            let out = result.out().replace(&via, "HOST");
            if !out.starts_with(&expected) {
                return Err(format!("succeeded with other output{}", context()));
            }
            Ended::Recovered
        }
        1 => {
            let lines: Vec<&str> = result.stderr.lines().collect();
            let [line] = lines[..] else {
                return Err(format!("failed without exactly one line{}", context()));
            };
            let Some(message) = line.strip_prefix("manifest-tool failed with error: ") else {
                return Err(format!("failed without the error prefix{}", context()));
            };
            if !result.stdout.is_empty() {
                return Err(format!("failed with output on stdout{}", context()));
            }
            Ended::FailedCleanly(generic(message, &via))
        }
        code => return Err(format!("exit code {code}{}", context())),
    };

    if must_recover(cell) && outcome != Ended::Recovered {
        return Err(format!(
            "a fault on one attempt of a request safe to resend must be recovered from{}",
            context()
        ));
    }

    // The registry: each target tag holds the old list, or (only after success, or for the
    // tags written before the failing step) the complete new one.
    if cell.op != Op::Inspect {
        for tag in names.tags() {
            let at = format!("{}:{tag}", names.repository);
            let now = digest_of(reg, &at);
            let is_new = now.as_deref() == Some(setup.new_list.as_str());
            let is_old = now.as_deref() == Some(setup.old_list.as_str());
            let allowed = match &outcome {
                Ended::Recovered => is_new,
                // A failed extra tag comes after the list and the other tags were written.
                Ended::FailedCleanly(_) => is_old || (is_new && cell.step == Step::TagPut),
            };
            if !allowed {
                return Err(format!("{at} holds {now:?} after {outcome:?}{}", context()));
            }
            if is_new && matches!(cell.op, Op::Mounts | Op::CopyFallback) {
                reg.skopeo_copy_all(&at)
                    .map_err(|e| format!("{e}{}", context()))?;
            }
        }
    }
    Ok(outcome)
}

/// Whether the contract demands recovery: the fault hits one attempt of a request that is safe
/// to send again. A streamed blob counts too: it is uploaded again from a new GET into a new
/// session (see `a_blob_upload_cut_off_once_is_uploaded_again`).
fn must_recover(cell: Cell) -> bool {
    cell.kind.once()
}

/// The error message with what differs between runs written generically: the host, digests,
/// the temporary spec file.
fn generic(message: &str, host: &str) -> String {
    let mut out = message.replace(host, "HOST");
    if let Some(start) = out.find("spec /")
        && let Some(length) = out[start..].find(": ")
    {
        out.replace_range(start + 5..start + length, "FILE");
    }
    while let Some(start) = out.find("sha256:") {
        let end = out[start + 7..]
            .find(|c: char| !c.is_ascii_hexdigit())
            .map_or(out.len(), |i| start + 7 + i);
        out.replace_range(start..end, "DIGEST");
    }
    // Cell numbers in names.
    while let Some(start) = out.find("fault") {
        let digits = out[start + 5..]
            .find(|c: char| !c.is_ascii_digit())
            .map_or(out.len() - start - 5, |i| i);
        if digits == 0 {
            break;
        }
        out.replace_range(start..start + 5 + digits, "CELL");
    }
    out
}

#[test]
fn every_fault_at_every_step_recovers_or_fails_cleanly() {
    RELIABILITY_DOC.check("fault-matrix", &fault_matrix());
}

/// `make reliability-doc`: run the fault matrix and the kill scenarios (each asserting its
/// contract, as in the tests above) and rewrite their sections of `docs/reliability.md`.
#[test]
#[ignore = "rewrites docs/reliability.md; run by `make reliability-doc`"]
fn regenerate_reliability_doc() {
    RELIABILITY_DOC.write("fault-matrix", &fault_matrix());
    RELIABILITY_DOC.write("registry-killed", &registry_killed());
}

/// Run every cell of the matrix (panicking if any breaks the contract) and return its tables.
fn fault_matrix() -> String {
    let started = Instant::now();
    setup(); // once, before the workers
    let queue = Mutex::new(cells());
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(|| {
                loop {
                    let Some(cell) = queue.lock().unwrap().pop() else {
                        break;
                    };
                    let result = std::panic::catch_unwind(|| run_cell(cell))
                        .unwrap_or_else(|_| Err("the cell panicked".to_string()));
                    results.lock().unwrap().push((cell, result));
                }
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|(cell, _)| {
        let step = cell.op.steps().iter().position(|s| *s == cell.step);
        (cell.kind, cell.op, step)
    });

    let mut broken = Vec::new();
    let mut outcomes = Vec::new();
    for (cell, result) in results {
        match result {
            Ok(outcome) => outcomes.push((cell, outcome)),
            Err(why) => broken.push(format!(
                "{} / {} / {}: {why}",
                cell.kind.title(),
                cell.op.title(),
                cell.step.title()
            )),
        }
    }
    let tables = tables(&outcomes);
    // The summary only; the table of every run is in the document.
    show(tables.split("\nEvery run").next().unwrap_or_default());
    eprintln!(
        "fault matrix: {} runs in {:?}",
        outcomes.len(),
        started.elapsed()
    );
    assert!(broken.is_empty(), "broken runs:\n{}", broken.join("\n\n"));
    tables
}

/// The summary table (fault × operation) and the table of every run, as Markdown.
fn tables(outcomes: &[(Cell, Ended)]) -> String {
    let mut summary: BTreeMap<(Kind, Op), Vec<(Step, &Ended)>> = BTreeMap::new();
    for (cell, outcome) in outcomes {
        summary
            .entry((cell.kind, cell.op))
            .or_default()
            .push((cell.step, outcome));
    }
    let mut out = String::from("| fault |");
    for op in Op::ALL {
        out.push_str(&format!(" {} |", op.title()));
    }
    out.push_str("\n|---|");
    out.push_str(&"---|".repeat(Op::ALL.len()));
    out.push('\n');
    for kind in Kind::ALL {
        out.push_str(&format!("| {} |", kind.title()));
        for op in Op::ALL {
            let cell = match summary.get(&(kind, op)) {
                None => "—".to_string(),
                Some(runs) if runs.iter().all(|(_, o)| **o == Ended::Recovered) => {
                    "recovered".to_string()
                }
                Some(runs) => {
                    let failed: Vec<&str> = runs
                        .iter()
                        .filter(|(_, o)| **o != Ended::Recovered)
                        .map(|(s, _)| s.title())
                        .collect();
                    let recovered = runs.len() - failed.len();
                    let mut text = format!("**failed cleanly** at {}", failed.join(", "));
                    if recovered > 0 {
                        text = format!("recovered elsewhere; {text}");
                    }
                    text
                }
            };
            out.push_str(&format!(" {cell} |"));
        }
        out.push('\n');
    }
    out.push_str("\nEvery run (the fault hits the step named; \"—\" above: not applicable):\n\n");
    out.push_str("| fault | operation | step | outcome |\n|---|---|---|---|\n");
    for (cell, outcome) in outcomes {
        let outcome = match outcome {
            Ended::Recovered => "recovered".to_string(),
            Ended::FailedCleanly(line) => format!("failed cleanly: `{line}`"),
        };
        out.push_str(&format!(
            "| {} | {} | {} | {outcome} |\n",
            cell.kind.title(),
            cell.op.title(),
            cell.step.title()
        ));
    }
    out
}

/// Print a table even when the test passes: libtest captures `print!` and `eprint!`, not
/// writes to the stream itself.
fn show(table: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "\n{table}");
}

/// `docs/reliability.md`, whose tables this file writes.
const RELIABILITY_DOC: GeneratedDoc = GeneratedDoc {
    path: "docs/reliability.md",
    generator: "tests/faults.rs",
    make_target: "reliability-doc",
};

/// Where a registry is killed during a push, and whether it comes back at once.
#[derive(Clone, Copy, Debug)]
struct Kill {
    /// The request at which it is killed (SIGKILL, just before the request would reach it).
    method: &'static str,
    path: &'static str,
    title: &'static str,
    /// Restarted right away (on the same port, with its storage), or only after the run.
    comes_back: bool,
    /// Whether the push must recover: the registry is back within the retry budget and the
    /// request cut is one that is safe to send again.
    must_recover: bool,
}

impl Kill {
    /// A kill at the first `method` request whose path has `path`.
    const fn at(
        method: &'static str,
        path: &'static str,
        title: &'static str,
        comes_back: bool,
        must_recover: bool,
    ) -> Kill {
        Kill {
            method,
            path,
            title,
            comes_back,
            must_recover,
        }
    }
}

const KILLS: [Kill; 5] = [
    Kill::at("POST", "/blobs/uploads/", "first upload POST", true, true),
    Kill::at(
        "PUT",
        "/blobs/uploads/",
        "first blob upload PUT (streamed)",
        true,
        true,
    ),
    Kill::at(
        "PUT",
        "/manifests/sha256:",
        "first child manifest PUT",
        true,
        true,
    ),
    Kill::at("PUT", "/manifests/1.0", "list PUT", true, true),
    Kill::at("PUT", "/manifests/1.0", "list PUT", false, false),
];

/// A push across registries (blobs streamed from the seeded registry into a fresh one) during
/// which the target registry process is killed and, in most scenarios, started again at once.
/// It recovers when the registry is back within the retry budget, except where a streamed blob
/// was cut (see `a_blob_upload_cut_off_once_is_uploaded_again`); it fails cleanly when the
/// registry stays down, and after the registry is back the target tag is absent.
#[test]
fn a_registry_killed_in_the_middle_of_a_push_recovers_or_fails_cleanly() {
    RELIABILITY_DOC.check("registry-killed", &registry_killed());
}

/// Run every kill scenario (panicking if one breaks the contract) and return their table.
fn registry_killed() -> String {
    let setup = setup();
    let source = &setup.reg.host();
    let rows: Vec<String> = std::thread::scope(|s| {
        let jobs: Vec<_> = KILLS
            .iter()
            .map(|kill| s.spawn(move || run_kill(*kill, source)))
            .collect();
        jobs.into_iter().map(|job| job.join().unwrap()).collect()
    });
    let mut table = String::from("| registry killed at | comes back | outcome |\n|---|---|---|\n");
    for row in rows {
        table.push_str(&row);
    }
    show(&table);
    table
}

/// One kill scenario; returns its table row, panicking if the contract is broken.
fn run_kill(kill: Kill, source: &str) -> String {
    let setup = setup();
    let target = Arc::new(Registry::start(Mode::PlainHttp));
    // One request at a time, so that the kill never lands in the middle of another write:
    // `docker-registry`'s filesystem storage writes files in place, and a child manifest PUT
    // cut by SIGKILL once stayed a 500 after the client's retried PUT had been acknowledged.
    let proxy = Proxy::serial(&target.host());
    let victim = target.clone();
    let hook: support::Hook = Arc::new(move || {
        victim.kill();
        if kill.comes_back {
            let victim = victim.clone();
            std::thread::spawn(move || victim.restart());
        }
    });
    proxy.inject(Rule::new(kill.method, kill.path, Fault::Run(hook)).first(1));
    let dir = TempDir::new("mt-faults-kill");
    let spec = push_spec(
        &format!("{}/kill/app:1.0", proxy.host()),
        &sources(source, &NEW_IMAGES),
        NO_TAGS,
    );
    let file = write_file(dir.path(), "spec.yaml", &spec);
    let started = Instant::now();
    let result = run(&target, &["push", "from-spec", &file]);
    let took = started.elapsed();
    let via = proxy.host();
    drop(proxy);
    if !kill.comes_back {
        target.restart();
    }
    let stored = digest_of(&target, "kill/app:1.0");
    let context = format!(
        "{kill:?} after {took:?}\n--- stdout\n{}\n--- stderr\n{}",
        result.out(),
        result.stderr
    );
    let outcome = match result.code {
        0 => {
            assert_eq!(
                result.out(),
                format!("Digest: {} {}\n", setup.new_list, setup.new_list_size),
                "{context}"
            );
            assert_eq!(
                stored.as_deref(),
                Some(setup.new_list.as_str()),
                "{context}"
            );
            target
                .skopeo_copy_all("kill/app:1.0")
                .unwrap_or_else(|e| panic!("{e}\n{context}"));
            "recovered".to_string()
        }
        _ => {
            let line = result.fails_with("");
            assert_eq!(stored, None, "the target tag appeared: {context}");
            let message = line.trim_start_matches("manifest-tool failed with error: ");
            let message = generic(message, &via).replace(&generic(source, &via), "SOURCE");
            format!("failed cleanly: `{message}`")
        }
    };
    assert!(
        kill.comes_back || outcome != "recovered",
        "recovered from a registry that stayed down: {context}"
    );
    assert!(
        !kill.must_recover || outcome == "recovered",
        "a registry back within the retry budget must be recovered from: {context}"
    );
    let back = if kill.comes_back {
        "at once"
    } else {
        "after the run"
    };
    format!("| {} | {back} | {outcome} |\n", kill.title)
}

/// A push that copies blobs (mounts refused) into `index/app:1.0`, with the requests `rule`
/// names spoiled. Returns the run, the requests spoiled by `rule`, and the target.
fn copy_push_with(rule: Rule, index: &str) -> (Outcome, Vec<String>, String) {
    let setup = setup();
    let reg = &setup.reg;
    let proxy = Proxy::transparent(&reg.host());
    proxy.inject(rule);
    proxy.inject(Rule::new("POST", "mount=", Fault::RefuseMounts));
    let dir = TempDir::new("mt-faults-copy");
    let via = proxy.host();
    let spec = push_spec(
        &format!("{via}/{index}/app:1.0"),
        &sources(&via, &NEW_IMAGES),
        NO_TAGS,
    );
    let file = write_file(dir.path(), "spec.yaml", &spec);
    let result = run(reg, &["push", "from-spec", &file]);
    let spoiled = proxy
        .spoiled()
        .into_iter()
        .filter(|s| !s.ends_with(": refuse mounts"))
        .collect();
    (result, spoiled, format!("{index}/app:1.0"))
}

/// A blob whose upload or whose source stream is cut once must be uploaded again from a new GET
/// into a new upload session (after checking whether the registry got it after all), like any
/// other request that fails once.
#[test]
fn a_blob_upload_cut_off_once_is_uploaded_again() {
    let setup = setup();
    let layer_get = format!("/blobs/{}", setup.layer);
    let faults = [
        Rule::new("PUT", "/blobs/uploads/", Fault::Status(503)).first(1),
        Rule::new("PUT", "/blobs/uploads/", Fault::ResetBeforeResponse).first(1),
        Rule::new("PUT", "/blobs/uploads/", Fault::Stall(STALL)).first(1),
        Rule::new("GET", &layer_get, Fault::ResetMidBody).first(1),
        Rule::new("GET", &layer_get, Fault::TruncateBody).first(1),
    ];
    for (i, rule) in faults.into_iter().enumerate() {
        let (result, spoiled, target) = copy_push_with(rule, &format!("recopy{i}"));
        assert_eq!(spoiled.len(), 1, "{spoiled:?}");
        let result = result.success();
        assert_eq!(
            result.out(),
            format!("Digest: {} {}\n", setup.new_list, setup.new_list_size),
            "{spoiled:?}"
        );
        setup.reg.skopeo_copy_all(&target).unwrap();
    }
}

/// A registry that answers 500 to every attempt of the list PUT: four attempts, 250, 500 and
/// 1000 ms apart, then one line naming the step and the registry's own message; the tag keeps
/// its previous list.
#[test]
fn a_500_on_the_list_put_is_retried_then_reported_in_one_line() {
    let setup = setup();
    let reg = &setup.reg;
    let host = reg.host();
    let dir = TempDir::new("mt-faults-500");
    let old = push_spec(
        &format!("{host}/put500/app:1.0"),
        &sources(&host, &OLD_IMAGES),
        NO_TAGS,
    );
    run(
        reg,
        &[
            "push",
            "from-spec",
            &write_file(dir.path(), "old.yaml", &old),
        ],
    )
    .success();

    let proxy = Proxy::transparent(&host);
    proxy.inject(Rule::new("PUT", "/manifests/1.0", Fault::Status(500)));
    let via = proxy.host();
    let new = push_spec(
        &format!("{via}/put500/app:1.0"),
        &sources(&via, &NEW_IMAGES),
        NO_TAGS,
    );
    let result = run(
        reg,
        &[
            "push",
            "from-spec",
            &write_file(dir.path(), "new.yaml", &new),
        ],
    );
    let line = result.fails_with(&format!(
        "pushing the list to {via}/put500/app:1.0: 500 UNAVAILABLE: injected 500 by the test proxy"
    ));
    assert!(!line.contains("debug"), "{line}");
    let attempts: Vec<Instant> = proxy
        .seen()
        .into_iter()
        .filter(|s| s.request == "PUT /v2/put500/app/manifests/1.0")
        .map(|s| s.at)
        .collect();
    assert_eq!(attempts.len(), 4, "{:?}", proxy.spoiled());
    for (pair, backoff) in attempts.windows(2).zip([250, 500, 1000]) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(backoff),
            "attempts {gap:?} apart, backoff {backoff} ms"
        );
    }
    assert_eq!(
        digest_of(reg, "put500/app:1.0").as_deref(),
        Some(setup.old_list.as_str())
    );
}

/// `Retry-After` in seconds and as an HTTP date is waited for before the next attempt.
#[test]
fn retry_after_is_waited_for_in_seconds_and_as_a_date() {
    let setup = setup();
    for (after, at_least) in [
        (RetryAfter::Seconds(1), Duration::from_millis(950)),
        (RetryAfter::DateIn(2), Duration::from_millis(1000)),
    ] {
        let fault = Fault::TooManyRequests(after.clone());
        let (proxy, name) = list_behind(setup, Rule::new("GET", "/manifests/list", fault).first(1));
        run(&setup.reg, &["inspect", "--format", "verbatim", &name]).success();
        let seen: Vec<Instant> = proxy
            .seen()
            .into_iter()
            .filter(|s| s.request.ends_with("/manifests/list"))
            .map(|s| s.at)
            .collect();
        assert_eq!(seen.len(), 2, "{after:?}");
        assert!(
            seen[1] - seen[0] >= at_least,
            "{after:?}: {:?}",
            seen[1] - seen[0]
        );
    }
}

/// A `Retry-After` that is no valid delay or date (here dates whose numbers would overflow any
/// arithmetic) is ignored: the usual backoff applies.
#[test]
fn a_retry_after_that_makes_no_sense_is_ignored() {
    let setup = setup();
    for text in [
        "Sun, 06 Nov 1994 9223372036854775807:00:00 GMT",
        "Sun, 06 Nov 9223372036854775807 08:49:37 GMT",
        "soon",
        "-1",
    ] {
        let after = RetryAfter::Raw(text.to_string());
        let rule = Rule::new("GET", "/manifests/list", Fault::TooManyRequests(after)).first(1);
        let (_proxy, name) = list_behind(setup, rule);
        let result = run(&setup.reg, &["inspect", "--format", "verbatim", &name]);
        assert_eq!(result.code, 0, "{text}: {}", result.stderr);
        assert_eq!(sha256_digest(&result.stdout), setup.list_digest);
    }
}

/// A proxy in front of the setup's registry applying `rule`, and the seeded list's name
/// through it.
fn list_behind(setup: &Setup, rule: Rule) -> (Proxy, String) {
    let proxy = Proxy::with_rule(&setup.reg.host(), rule);
    let name = format!("{}/docker/app:list", proxy.host());
    (proxy, name)
}

/// A `Retry-After` of an hour (Docker Hub's pull limits) is not slept through: the run fails at
/// once and says why.
#[test]
fn a_retry_after_of_an_hour_fails_at_once_and_says_so() {
    let setup = setup();
    let (proxy, name) = list_behind(
        setup,
        Rule::new(
            "GET",
            "/manifests/",
            Fault::TooManyRequests(RetryAfter::Seconds(3600)),
        ),
    );
    let started = Instant::now();
    let result = run(&setup.reg, &["inspect", &name]);
    result.fails_with("the registry asks to retry after 3600 s; not waiting that long");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(proxy.seen().len(), 1);
}

/// A registry that accepts connections but never answers: each attempt gives up after
/// `MANIFEST_TOOL_TIMEOUT_SECS`, and after four the run fails naming the timeout.
#[test]
fn a_registry_that_never_answers_times_out_after_the_configured_seconds() {
    let setup = setup();
    let (proxy, name) = list_behind(
        setup,
        Rule::new("GET", "/manifests/", Fault::Stall(Duration::from_secs(3))),
    );
    let home = TempDir::new("mt-faults-stall");
    let mut cmd = bare_command(&home);
    cmd.env("MANIFEST_TOOL_TIMEOUT_SECS", "1")
        .args(mode_flags(&setup.reg))
        .args(["inspect", &name]);
    let started = Instant::now();
    let result = outcome(&mut cmd);
    let took = started.elapsed();
    result.fails_with(&format!(
        "fetching {name}: cannot reach {}: timed out",
        proxy.host()
    ));
    assert_eq!(proxy.seen().len(), 4);
    // Four attempts of 1 s and 1.75 s of backoff; nowhere near the default 30 s.
    assert!(
        took >= Duration::from_millis(5500) && took < Duration::from_secs(12),
        "{took:?}"
    );
}

/// A registry behind the proxy that wants a Bearer token from the proxy's own `/token`, which
/// answers `token_body`; `first` goes before, to spoil some token requests.
fn token_front(first: Option<Rule>, token_body: &str) -> Proxy {
    let proxy = Proxy::transparent(&setup().reg.host());
    if let Some(rule) = first {
        proxy.inject(rule);
    }
    proxy.serve_tokens(Fault::json(200, token_body));
    proxy
}

/// A token server that answers 503 once, or drops the connection once, is asked again: the
/// token request is retried like any other.
#[test]
fn a_token_server_failing_once_is_asked_again() {
    let setup = setup();
    for fault in [Fault::Status(503), Fault::ResetBeforeResponse] {
        let body = r#"{"token":"a-token-from-the-proxy","expires_in":300}"#;
        let proxy = token_front(Some(Rule::new("GET", "/token", fault).first(1)), body);
        let name = format!("{}/docker/app:list", proxy.host());
        let result = run(&setup.reg, &["inspect", "--format", "verbatim", &name]);
        let result = result.success();
        assert_eq!(sha256_digest(&result.stdout), setup.list_digest);
        let tokens = proxy.count("GET /token");
        assert_eq!(tokens, 2, "{:?}", proxy.spoiled());
        let bearer = proxy
            .seen()
            .iter()
            .filter(|s| s.authorization.as_deref() == Some("Bearer a-token-from-the-proxy"))
            .count();
        assert_eq!(bearer, 1, "{:?}", proxy.seen());
    }
}

/// A token said to live 2^64 - 1 seconds, no time, less than none or a fraction of a second is
/// used, not a crash of the clock arithmetic, and fetched once for the whole run.
#[test]
fn any_token_lifetime_the_server_claims_is_survived() {
    let setup = setup();
    // Under 60 s counts as 60 s, as docker/distribution's client treats it: a token that
    // claims to expire at once (or before it was issued) still serves the whole inspect.
    for expires_in in ["18446744073709551615", "0", "-30", "12.5"] {
        let body = format!(r#"{{"token":"t","expires_in":{expires_in}}}"#);
        let proxy = token_front(None, &body);
        let name = format!("{}/docker/app:list", proxy.host());
        let result = run(&setup.reg, &["inspect", &name]);
        assert_eq!(result.code, 0, "expires_in {expires_in}: {}", result.stderr);
        let tokens = proxy.count("GET /token");
        assert_eq!(tokens, 1, "expires_in {expires_in}: {:?}", proxy.seen());
    }
}
