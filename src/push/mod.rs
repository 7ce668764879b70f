//! `manifest-tool push`: the pipeline, top to bottom.
//!
//! resolve sources → fetch configs and child manifests → check platforms → assemble the list →
//! copy blobs into the target repository → PUT child manifests → PUT the list → PUT extra tags.
//!
//! Nothing is written before every source is resolved and every platform checked; the list is
//! written only after every child exists in the target repository, and the extra tags only after
//! the list. Each stage runs its requests concurrently, so it costs one round trip. A tag that
//! already holds the list is left alone (stage 1 asks each tag what it holds), so a re-run
//! succeeds on registries whose tags are immutable.

mod writes;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::list::{self, AssembledList, ListType};
use crate::manifest::{
    self, ConfigPlatform, Descriptor, ImageManifest, MAX_CONFIG_BYTES, Manifest, Platform,
};
use crate::parallel::{self, MAX_IN_FLIGHT};
use crate::platform;
use crate::reference::ManifestRef;
use crate::registry::{Connector, Fetched};
use crate::spec::{PushPlan, Source};
use crate::store::{Access, Store};
use writes::{Push, plan_writes};

/// What a push produced: the list's digest, its bytes, and (for `--dry-run`) what it would
/// have written.
pub struct Pushed {
    pub digest: Digest,
    pub list: AssembledList,
    /// The writes made (or, with `--dry-run`, planned), one line each, in order.
    pub writes: Vec<String>,
}

/// A source whose manifest has been fetched (and parsed, once).
struct Resolved<'a> {
    source: &'a Source,
    from: Store,
    fetched: Fetched,
    manifest: Manifest,
}

/// One entry of the list we push, with what is needed to make it exist in the target.
struct Member {
    /// The descriptor as it goes into the list (platform filled in).
    descriptor: Descriptor,
    /// Where the manifest is now.
    from: Store,
    /// The manifest, when it must be copied into the target (else `None`).
    copy: Option<Copied>,
    /// The source it came from (its [`Source::entry`]), for messages.
    entry: String,
}

/// A child manifest to copy into the target: its exact bytes, and the image they describe
/// (parsed once, for its blobs).
struct Copied {
    bytes: Vec<u8>,
    image: ImageManifest,
}

/// Run the whole pipeline for `plan`.
pub fn run(plan: &PushPlan, connector: &Connector, show_progress: bool) -> Result<Pushed> {
    let target = Store::open(connector, &plan.target, Access::Write)
        .map_err(|e| e.context(format!("opening the target {}", plan.target_name)))?;
    // One token covers the whole run: the target first (some registries read only the first
    // scope), then every source.
    target.want(&["pull", "push"]);

    // The target's tags are asked what they hold in the same stage as the sources.
    let tags: Vec<&str> = if plan.always_push {
        Vec::new()
    } else {
        std::iter::once(plan.target.tag().unwrap_or_default())
            .chain(plan.tags.iter().map(String::as_str))
            .collect()
    };
    let (resolved, held) = resolve_sources(plan, connector, &target, &tags)?;
    if !plan.dry_run {
        // Stage 3's blob copies go to the target at once: open their connections while stage 2
        // fetches configs.
        let copies = expected_copies(&resolved, &target).min(MAX_IN_FLIGHT);
        Store::preconnect(std::iter::repeat_n(&target, copies));
    }
    let mut members = collect_members(&resolved, &target)?;
    if members.is_empty() {
        return Err(Error::Input(
            "all entries were skipped due to missing source image references; no manifest list to push"
                .to_string(),
        ));
    }
    // Attestations go after every image, as the Go tool orders them.
    members.sort_by_key(|m| m.descriptor.is_attestation());
    check_platforms(plan, &members)?;

    let descriptors: Vec<Descriptor> = members.iter().map(|m| m.descriptor.clone()).collect();
    let list_type = plan
        .list_type
        .unwrap_or_else(|| list::type_for(&descriptors));
    if plan.list_type == Some(ListType::Docker) {
        warn_docker_list_of_oci(&descriptors);
    }
    let list = list::assemble(list_type, &descriptors, &plan.annotations);
    let digest = Digest::sha256_of(&list.bytes);
    // Tags that hold exactly this list already: no PUT (immutable tags refuse even that).
    let current: Vec<&str> = held
        .iter()
        .filter(|(_, holds)| holds.as_ref() == Some(&digest))
        .map(|(tag, _)| *tag)
        .collect();

    let push = Push {
        plan,
        target: &target,
        list: &list,
        digest: &digest,
        held: &held,
        show_progress,
    };
    let stages = plan_writes(plan, &members, &current);
    let writes = stages.iter().flatten().map(|w| push.describe(w)).collect();
    if !plan.dry_run {
        push.execute(&stages)?;
    }
    Ok(Pushed {
        digest,
        list,
        writes,
    })
}

/// What each of the target's tags holds before the push, where the target could tell.
type Held<'a> = Vec<(&'a str, Option<Digest>)>;

/// Stage 1: open every source's store and declare its access, then fetch every source's
/// manifest and ask the target what each of `tags` holds, all at once. Under
/// `--ignore-missing` a source that does not exist is skipped with a warning; any other
/// failure stops the push.
fn resolve_sources<'a, 't>(
    plan: &'a PushPlan,
    connector: &Connector,
    target: &Store,
    tags: &[&'t str],
) -> Result<(Vec<Resolved<'a>>, Held<'t>)> {
    let mut opened = Vec::new();
    for source in &plan.sources {
        match Store::open(connector, &source.reference, Access::Read) {
            Ok(store) => {
                store.want(&["pull"]);
                opened.push((source, store));
            }
            Err(e) => skip_or_fail(plan, source, e)?,
        }
    }
    // Every registry gets its connections opened now, while the first of them (or a token
    // request) is still on its way.
    Store::preconnect(
        opened
            .iter()
            .map(|(_, store)| store)
            .chain(std::iter::repeat_n(target, tags.len())),
    );
    // One stage: every source's manifest and every tag of the target.
    let asks: Vec<Ask> = opened
        .iter()
        .map(|(source, store)| Ask::Manifest(source, store))
        .chain(tags.iter().map(|tag| Ask::Tag(tag)))
        .collect();
    let answers = parallel::map(&asks, MAX_IN_FLIGHT, |ask| match ask {
        Ask::Manifest(source, store) => Answer::Manifest(fetch_source(source, store)),
        Ask::Tag(tag) => Answer::Tag(tag, target.tag_digest(tag)),
    });
    let (mut fetched, mut held) = (Vec::new(), Vec::new());
    for answer in answers {
        match answer {
            Answer::Manifest(result) => fetched.push(result),
            Answer::Tag(tag, digest) => held.push((tag, digest)),
        }
    }
    let mut resolved = Vec::new();
    for ((source, from), fetched) in opened.into_iter().zip(fetched) {
        let fetched = match fetched {
            Ok(fetched) => fetched,
            Err(e) => {
                skip_or_fail(plan, source, e)?;
                continue;
            }
        };
        let manifest = manifest::parse_manifest(&fetched.media_type, &fetched.bytes)
            .map_err(|e| e.context(format!("reading source image {}", source.name)))?;
        resolved.push(Resolved {
            source,
            from,
            fetched,
            manifest,
        });
    }
    Ok((resolved, held))
}

/// One request of stage 1.
enum Ask<'s, 't> {
    /// A source's manifest, from its store.
    Manifest(&'s Source, &'s Store),
    /// What a tag of the target holds.
    Tag(&'t str),
}

/// The answer to an [`Ask`].
enum Answer<'t> {
    Manifest(Result<Fetched>),
    Tag(&'t str, Option<Digest>),
}

/// A source's manifest, by the tag or digest its reference names.
fn fetch_source(source: &Source, store: &Store) -> Result<Fetched> {
    let wanted = source.reference.manifest_ref().ok_or_else(|| {
        Error::Input(format!(
            "source image {} has neither a tag nor a digest",
            source.name
        ))
    })?;
    store.get_manifest(&wanted)
}

/// A source that could not be opened or fetched: under `--ignore-missing`, one that does not
/// exist, or that the registry refuses to show (Docker Hub answers 401 for a repository that
/// does not exist), is skipped with a warning; any other failure stops the push.
fn skip_or_fail(plan: &PushPlan, source: &Source, error: Error) -> Result<()> {
    let unreadable = error.is_unauthorized();
    if plan.ignore_missing && (error.is_not_found() || unreadable) {
        let why = if unreadable {
            "not found or not readable: "
        } else {
            ""
        };
        let warning = format!("skipping {}: {why}{error} (--ignore-missing)", source.name);
        eprintln!(
            "warning: {}",
            crate::escape::escape_controls(&crate::redact::redact(&warning))
        );
        Ok(())
    } else {
        Err(error.context(format!(
            "{}: resolving source image {}",
            plan.entry_of(source),
            source.name
        )))
    }
}

/// How many blobs stage 3 will copy into the target, as far as stage 1 tells: the config and
/// layers of each single image from another repository, and one per entry of a list from
/// another repository (whose children are not fetched yet).
fn expected_copies(resolved: &[Resolved], target: &Store) -> usize {
    resolved
        .iter()
        .filter(|r| !r.from.same_place(target))
        .map(|r| match &r.manifest {
            Manifest::Image(image) => 1 + image.layers().len(),
            Manifest::Index(index) => index.manifests.len(),
        })
        .sum()
}

/// What stage 2 must fetch for one resolved source.
enum Need<'a> {
    /// A single image: its config, when the platform must be completed from it.
    Config(&'a Resolved<'a>, Option<&'a Descriptor>),
    /// A list from another repository: its child manifests, to copy them.
    Children(&'a Resolved<'a>, Vec<Descriptor>),
    /// A list in the target repository: nothing more.
    Nothing(&'a Resolved<'a>, Vec<Descriptor>),
}

/// Stage 2: fetch configs (to fill platforms) and the child manifests of lists that must be
/// copied, all at once; then turn every source into the list entries it contributes.
fn collect_members(resolved: &[Resolved], target: &Store) -> Result<Vec<Member>> {
    let needs: Vec<Need> = resolved.iter().map(|r| plan_fetches(r, target)).collect();
    let results = parallel::map(&needs, MAX_IN_FLIGHT, |need| fetch_need(need, target));
    let mut members = Vec::new();
    for result in results {
        members.extend(result?);
    }
    Ok(members)
}

fn plan_fetches<'a>(r: &'a Resolved<'a>, target: &Store) -> Need<'a> {
    match &r.manifest {
        Manifest::Image(image) => {
            let p = &r.source.platform;
            let complete = !p.os.is_empty()
                && !p.architecture.is_empty()
                && !p.variant.is_empty()
                && !p.os_version.is_empty()
                && !p.os_features.is_empty();
            Need::Config(r, (!complete).then_some(&image.config))
        }
        Manifest::Index(index) => {
            if r.from.same_place(target) {
                Need::Nothing(r, index.manifests.clone())
            } else {
                Need::Children(r, index.manifests.clone())
            }
        }
    }
}

/// Fetch what one source needs and return its list entries.
fn fetch_need(need: &Need, target: &Store) -> Result<Vec<Member>> {
    match need {
        Need::Config(r, config) => {
            let config = match config {
                Some(config) => {
                    let bytes = r.from.get_blob(config, MAX_CONFIG_BYTES).map_err(|e| {
                        e.context(format!("fetching the config of {}", r.source.name))
                    })?;
                    manifest::parse_config_platform(&bytes)?
                }
                None => ConfigPlatform::default(),
            };
            let platform = fill_platform(&r.source.platform, &config);
            platform::validate(&platform).map_err(|e| {
                Error::Input(format!(
                    "manifest entry for image {} has an unsupported platform: {e}",
                    r.source.name
                ))
            })?;
            let copy = match &r.manifest {
                Manifest::Image(image) if !r.from.same_place(target) => Some(Copied {
                    bytes: r.fetched.bytes.clone(),
                    image: (**image).clone(),
                }),
                _ => None,
            };
            Ok(vec![Member {
                descriptor: Descriptor {
                    media_type: r.fetched.media_type.clone(),
                    digest: r.fetched.digest.clone(),
                    size: r.fetched.bytes.len() as u64,
                    urls: None,
                    annotations: None,
                    data: None,
                    platform: Some(platform),
                    artifact_type: None,
                },
                from: r.from.clone(),
                entry: r.source.entry.clone(),
                copy,
            }])
        }
        Need::Nothing(r, entries) => Ok(entries
            .iter()
            .map(|d| Member {
                descriptor: d.clone(),
                from: r.from.clone(),
                entry: r.source.entry.clone(),
                copy: None,
            })
            .collect()),
        Need::Children(r, entries) => {
            let fetched = parallel::map(entries, MAX_IN_FLIGHT, |d| {
                r.from
                    .get_manifest(&ManifestRef::Digest(d.digest.clone()))
                    .map_err(|e| e.context(format!("fetching {} of {}", d.digest, r.source.name)))
            });
            entries
                .iter()
                .zip(fetched)
                .map(|(d, child)| {
                    let child = child?;
                    if child.bytes.len() as u64 != d.size {
                        return Err(Error::Invalid(format!(
                            "source image {} lists {} with size {}, but it is {} bytes; a list \
                             with a wrong size is not copied",
                            r.source.name,
                            d.digest,
                            d.size,
                            child.bytes.len()
                        )));
                    }
                    let nested = || {
                        Error::Unsupported(format!(
                            "source image {} contains a nested list ({}); only image manifests can be included",
                            r.source.name, d.digest
                        ))
                    };
                    if !manifest::is_image(&child.media_type) {
                        return Err(nested());
                    }
                    let image = match manifest::parse_manifest(&child.media_type, &child.bytes)
                        .map_err(|e| e.context(format!("reading {} of {}", d.digest, r.source.name)))?
                    {
                        Manifest::Image(image) => *image,
                        Manifest::Index(_) => return Err(nested()),
                    };
                    Ok(Member {
                        descriptor: d.clone(),
                        from: r.from.clone(),
                entry: r.source.entry.clone(),
                        copy: Some(Copied {
                            bytes: child.bytes,
                            image,
                        }),
                    })
                })
                .collect()
        }
    }
}

/// The platform of a single-image entry: what the spec gives, completed from the image config
/// as the Go tool does (os/arch only when the spec gives neither; variant, os.version and
/// os.features whenever the spec leaves them empty).
fn fill_platform(spec: &Platform, config: &ConfigPlatform) -> Platform {
    let mut platform = spec.clone();
    if platform.os.is_empty() && platform.architecture.is_empty() {
        platform.os = config.os.clone();
        platform.architecture = config.architecture.clone();
    }
    if platform.variant.is_empty() {
        platform.variant = config.variant.clone();
    }
    if platform.os_version.is_empty() {
        platform.os_version = config.os_version.clone();
    }
    if platform.os_features.is_empty() {
        platform.os_features = config.os_features.clone();
    }
    platform
}

/// Two image entries with the same platform would make the list ambiguous. The error names
/// the spec file, both entries and the platform.
fn check_platforms(plan: &PushPlan, members: &[Member]) -> Result<()> {
    let mut seen: Vec<(String, &Member)> = Vec::new();
    for member in members.iter().filter(|m| !m.descriptor.is_attestation()) {
        let (key, shown) = match &member.descriptor.platform {
            Some(p) => {
                let key = format!("{p}/{}/{}", p.os_version, p.os_features.join("."));
                let shown =
                    manifest::platform_label(&p.os, &p.architecture, &p.variant, &p.os_version);
                (key, shown)
            }
            None => (String::new(), "(no platform)".to_string()),
        };
        if let Some((_, other)) = seen.iter().find(|(k, _)| *k == key) {
            let file = plan
                .spec
                .as_ref()
                .map(|file| format!("spec {file}: "))
                .unwrap_or_default();
            return Err(Error::Input(format!(
                "{file}{} and {} have the same platform {shown}; a list needs one image per platform",
                other.entry, member.entry
            )));
        }
        seen.push((key, member));
    }
    Ok(())
}

/// `--type docker` with OCI entries: say which registries refuse such a list.
fn warn_docker_list_of_oci(entries: &[Descriptor]) {
    let oci = entries
        .iter()
        .filter(|d| d.media_type != manifest::DOCKER_MANIFEST)
        .count();
    if oci > 0 {
        eprintln!(
            "warning: --type docker: {oci} of {} entries are not Docker images; Quay and zot \
             (without docker2s2) refuse such a Docker manifest list, leave out --type to push \
             an OCI index",
            entries.len()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::writes::is_distributable;
    use super::*;

    #[test]
    fn platform_is_completed_from_the_config_as_the_go_tool_does() {
        let config = ConfigPlatform {
            architecture: "arm".into(),
            os: "linux".into(),
            variant: "v7".into(),
            os_version: String::new(),
            os_features: Vec::new(),
        };
        let filled = fill_platform(&Platform::default(), &config);
        assert_eq!(filled.to_string(), "linux/arm/v7");

        // os/arch given: kept, and the variant still comes from the config.
        let spec = Platform {
            os: "linux".into(),
            architecture: "arm64".into(),
            ..Platform::default()
        };
        let filled = fill_platform(&spec, &config);
        assert_eq!(filled.to_string(), "linux/arm64/v7");
    }

    /// The whole pipeline in this process, between two OCI layouts: no registry, no binary.
    /// The list is written after its children, under the target tag and the extra tag; a
    /// dry run of the same plan plans the same writes and makes none.
    #[test]
    fn a_push_between_two_layouts_runs_in_process() {
        use crate::layout::Layout;
        use crate::registry::credentials::ConfigLocation;
        use crate::registry::options::TransportOptions;
        use crate::registry::scheme_cache::SchemeCache;
        use crate::spec::PushOptions;

        let source = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/demo-layout");
        let dir = std::env::temp_dir().join(format!("mt-push-in-process-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("out");
        let spec = dir.join("spec.yaml");
        std::fs::write(
            &spec,
            format!(
                "image: oci-layout://{}:v1\ntags: [latest]\nmanifests:\n  \
                 - image: oci-layout://{source}:linux-amd64\n  \
                 - image: oci-layout://{source}:linux-arm64-v8\n",
                target.display()
            ),
        )
        .unwrap();
        let connector = Connector::new(
            TransportOptions::default(),
            None,
            ConfigLocation::Nowhere,
            SchemeCache::default(),
        );
        let plan = |dry_run| {
            let options = PushOptions {
                list_type: None,
                ignore_missing: false,
                dry_run,
                always_push: false,
            };
            crate::spec::from_spec_file(&spec, &options).unwrap()
        };

        let planned = run(&plan(true), &connector, false).unwrap();
        assert!(!target.exists(), "a dry run wrote {}", target.display());
        let pushed = run(&plan(false), &connector, false).unwrap();
        assert_eq!(pushed.writes, planned.writes);
        assert_eq!(pushed.list.bytes, planned.list.bytes);
        let name = format!("oci-layout://{}", target.display());
        let last: Vec<&str> = pushed
            .writes
            .iter()
            .rev()
            .take(3)
            .map(String::as_str)
            .collect();
        assert_eq!(
            last,
            [
                format!("PUT list as {name}:latest"),
                format!("PUT list {} as {name}:v1", pushed.digest),
                format!("PUT manifest {} into {name}", {
                    let Manifest::Index(index) =
                        manifest::parse_manifest(pushed.list.media_type, &pushed.list.bytes)
                            .unwrap()
                    else {
                        panic!("not an index");
                    };
                    index.manifests[1].digest.clone()
                }),
            ]
        );

        let layout = Layout::open(&target).unwrap();
        for tag in ["v1", "latest"] {
            assert_eq!(
                layout.resolve_tag(tag).unwrap().digest,
                pushed.digest,
                "{tag}"
            );
        }
        let stored = layout.read_manifest(&pushed.digest).unwrap();
        assert_eq!(stored, pushed.list.bytes);
        let Manifest::Index(index) =
            manifest::parse_manifest(manifest::OCI_INDEX, &stored).unwrap()
        else {
            panic!("the list is not an index");
        };
        let platforms: Vec<String> = index
            .manifests
            .iter()
            .map(|d| {
                d.platform
                    .as_ref()
                    .map(Platform::to_string)
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(platforms, ["linux/amd64", "linux/arm64/v8"]);
        for child in &index.manifests {
            let bytes = layout.read_manifest(&child.digest).unwrap();
            let Manifest::Image(image) =
                manifest::parse_manifest(&child.media_type, &bytes).unwrap()
            else {
                panic!("{} is not an image", child.digest);
            };
            for blob in std::iter::once(&image.config).chain(image.layers()) {
                assert!(
                    layout.has_blob(&blob.digest).unwrap(),
                    "{} missing",
                    blob.digest
                );
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn foreign_layers_are_not_copied() {
        let blob: Descriptor = serde_json::from_str(
            r#"{"mediaType":"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1}"#,
        )
        .unwrap();
        assert!(!is_distributable(&blob));
        let blob: Descriptor = serde_json::from_str(
            r#"{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":1}"#,
        )
        .unwrap();
        assert!(is_distributable(&blob));
    }
}
