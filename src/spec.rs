//! What to push: the YAML spec of `push from-spec` and the flags of `push from-args`, both turned
//! into one [`PushPlan`]. The pipeline in `push.rs` does not know which of the two made it.

use crate::error::{Error, Result};
use crate::list::ListType;
use crate::manifest::Platform;
use crate::platform;
use crate::reference::ImageRef;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

/// Options shared by both forms of `push` (`push from-spec` and `push from-args`).
#[derive(Debug, Clone)]
pub struct PushOptions {
    /// `--type`; `None` when not given (see [`PushPlan::list_type`]).
    pub list_type: Option<ListType>,
    /// `--ignore-missing`: skip sources that cannot be resolved.
    pub ignore_missing: bool,
    /// `--dry-run`: resolve everything, write nothing.
    pub dry_run: bool,
    /// `--always-push`: PUT the list under every tag, even one that holds it already.
    pub always_push: bool,
}

/// Everything the push pipeline needs, checked for what can be checked without a registry.
#[derive(Debug, Clone)]
pub struct PushPlan {
    /// The list to push, as typed (for messages).
    pub target_name: String,
    /// The list to push; always has a tag and no digest.
    pub target: ImageRef,
    /// Extra tags for the same list bytes.
    pub tags: Vec<String>,
    /// Index-level annotations (`--type oci` only).
    pub annotations: BTreeMap<String, String>,
    /// The images to include, in order.
    pub sources: Vec<Source>,
    /// The spec file as typed, for messages; `None` for from-args.
    pub spec: Option<String>,
    /// Docker manifest list or OCI index; `None` to choose from the entries once they are
    /// known: a Docker list when every entry is a Docker image, else an OCI index (registries
    /// such as Quay refuse OCI entries in a Docker list). Without `--type`, an OCI layout
    /// target, or index annotations, make it an OCI index.
    pub list_type: Option<ListType>,
    /// Skip sources that do not exist instead of failing.
    pub ignore_missing: bool,
    /// Resolve everything, write nothing.
    pub dry_run: bool,
    /// PUT the list under every tag, even one that holds it already (immutable tags refuse
    /// that).
    pub always_push: bool,
}

impl PushPlan {
    /// Where `source` was given, for messages: `spec FILE: manifests[0]`, or
    /// `--platforms linux/amd64`.
    pub fn entry_of(&self, source: &Source) -> String {
        match &self.spec {
            Some(file) => format!("spec {file}: {}", source.entry),
            None => source.entry.clone(),
        }
    }
}

/// One source image of the list.
#[derive(Debug, Clone)]
pub struct Source {
    /// The reference as typed (for messages).
    pub name: String,
    /// Which entry of the input gave it, for messages: `manifests[0]` of a spec (counted from
    /// 0, as the spec's other messages count), `--platforms linux/amd64` of from-args.
    pub entry: String,
    /// The parsed reference; has a tag or a digest.
    pub reference: ImageRef,
    /// The platform the spec gives; empty fields are filled from the image.
    pub platform: Platform,
}

/// The YAML file, with the Go tool's keys. Unknown keys are an error (the Go tool ignores them
/// silently, which loses what the user meant).
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with the keys image and manifests"
)]
struct SpecFile {
    image: String,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    annotations: BTreeMap<String, String>,
    #[serde(default)]
    manifests: Vec<SpecEntry>,
}

/// One entry of `manifests`. The `expecting` texts of these types are what a YAML type error
/// says was expected, so that no type name of ours reaches the user.
#[derive(Debug, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping with the keys image and platform"
)]
struct SpecEntry {
    image: String,
    #[serde(default)]
    platform: SpecPlatform,
}

/// The `platform` of an entry, with the Go tool's keys.
#[derive(Debug, Default, Deserialize)]
#[serde(
    deny_unknown_fields,
    expecting = "a mapping of architecture, os, variant, features, osversion, osfeatures"
)]
struct SpecPlatform {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: String,
    #[serde(default)]
    features: Vec<String>,
    #[serde(default, alias = "os.version")]
    osversion: String,
    #[serde(default, alias = "os.features")]
    osfeatures: Vec<String>,
}

/// The largest spec file read. A spec names a few images; 4 MiB is far more than any needs,
/// and little enough that a file you do not control cannot exhaust memory.
const SPEC_MAX_BYTES: u64 = 4 << 20;

/// The most YAML aliases (`*name`) a spec may use. Each one repeats what its anchor holds, so
/// a few kilobytes of aliases can stand for gigabytes; a real spec uses a handful.
const ALIASES_MAX: usize = 100;

/// The deepest nesting of values a spec may have. A spec needs about five levels; the YAML
/// parser's time grows fast with depth (200 KB of `[` takes it most of a minute).
const DEPTH_MAX: usize = 64;

/// Read a `from-spec` YAML file into a plan. Only a regular file of at most 4 MiB is read, so
/// that a FIFO, a device or a huge file is refused at once instead of hanging the run or
/// filling memory.
pub fn from_spec_file(path: &Path, options: &PushOptions) -> Result<PushPlan> {
    use std::io::Read;
    let origin = path.display().to_string();
    let io_error = |e: std::io::Error| Error::Io {
        path: format!("spec {origin}"),
        detail: e.to_string(),
    };
    if !std::fs::metadata(path).map_err(io_error)?.is_file() {
        return Err(Error::Input(format!("spec {origin} is not a regular file")));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|file| file.take(SPEC_MAX_BYTES + 1).read_to_end(&mut bytes))
        .map_err(io_error)?;
    if bytes.len() as u64 > SPEC_MAX_BYTES {
        return Err(Error::Input(format!(
            "spec {origin} is larger than 4 MiB, far more than a spec needs"
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| Error::Input(format!("spec {origin} is not UTF-8 text")))?;
    from_spec_text(&text, &origin, options)
}

/// Parse spec text with default push options (no flags): the entry point for fuzzing.
pub fn parse_spec_text(text: &str) -> Result<PushPlan> {
    let options = PushOptions {
        list_type: None,
        ignore_missing: false,
        dry_run: false,
        always_push: false,
    };
    from_spec_text(text, "(text)", &options)
}

/// Parse spec text (`origin` names it in messages).
fn from_spec_text(text: &str, origin: &str, options: &PushOptions) -> Result<PushPlan> {
    check_shape(text).map_err(|what| Error::Input(format!("spec {origin} {what}; refused")))?;
    let spec: SpecFile =
        serde_yaml::from_str(text).map_err(|e| Error::Input(format!("spec {origin}: {e}")))?;
    if spec.manifests.is_empty() {
        return Err(Error::Input(format!(
            "spec {origin}: lists no manifests to include"
        )));
    }
    let sources = spec
        .manifests
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let p = entry.platform;
            source(
                &entry.image,
                format!("manifests[{i}]"),
                Platform {
                    architecture: p.architecture,
                    os: p.os,
                    os_version: p.osversion,
                    os_features: p.osfeatures,
                    variant: p.variant,
                    features: p.features,
                },
            )
            .map_err(|e| e.context(format!("spec {origin}: manifests[{i}]")))
        })
        .collect::<Result<Vec<_>>>()?;
    let plan = plan(&spec.image, spec.tags, spec.annotations, sources, options)
        .map_err(|e| e.context(format!("spec {origin}")))?;
    Ok(PushPlan {
        spec: Some(origin.to_string()),
        ..plan
    })
}

/// Refuses YAML text with more than [`ALIASES_MAX`] aliases or values nested deeper than
/// [`DEPTH_MAX`], before the parser sees it: the parser has no such limits of its own that
/// hold (an alias bomb aborts the process, deep nesting takes minutes). The error says which
/// limit, e.g. `uses more than 100 YAML aliases (*name)`.
///
/// A scan of the text, not a parse: it follows quoting, comments and block scalars closely
/// enough that an alias or a bracket is never hidden from it, and may count a level too many
/// (block nesting is estimated from indentation), which no real spec comes near the limits with.
fn check_shape(text: &str) -> std::result::Result<(), String> {
    let deep = || format!("nests values more than {DEPTH_MAX} levels deep");
    let mut aliases = 0;
    let mut flow_depth = 0usize;
    // Indentation of the block collections enclosing the current line.
    let mut indents: Vec<usize> = Vec::new();
    let mut quote: Option<u8> = None;
    // Lines more indented than this belong to a block scalar (`|` or `>`) and are text.
    let mut block_scalar: Option<usize> = None;
    for line in text.lines() {
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        let blank = bytes[indent..].iter().all(|b| b.is_ascii_whitespace());
        if let Some(parent) = block_scalar {
            if blank || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        let mut i = 0;
        let mut at_node = false;
        if quote.is_none() {
            i = indent;
            at_node = true;
            if flow_depth == 0 && !blank && bytes[indent] != b'#' {
                while indents.last().is_some_and(|&top| top > indent) {
                    indents.pop();
                }
                if indents.last() != Some(&indent) {
                    indents.push(indent);
                }
            }
        }
        let mut line_depth = indents.len() + flow_depth;
        while i < bytes.len() {
            let b = bytes[i];
            let next = bytes.get(i + 1).copied();
            match quote {
                Some(b'\'') if b == b'\'' && next == Some(b'\'') => i += 1,
                Some(b'"') if b == b'\\' => i += 1,
                Some(q) if b == q => quote = None,
                Some(_) => {}
                None => {
                    let space_after = next.is_none_or(|n| n == b' ' || n == b'\t');
                    match b {
                        b' ' | b'\t' => {}
                        b'#' if i == 0 || matches!(bytes[i - 1], b' ' | b'\t') => break,
                        b'\'' | b'"' if at_node => {
                            quote = Some(b);
                            at_node = false;
                        }
                        b'*' if at_node && !space_after => {
                            aliases += 1;
                            if aliases > ALIASES_MAX {
                                return Err(format!(
                                    "uses more than {ALIASES_MAX} YAML aliases (*name)"
                                ));
                            }
                            at_node = false;
                        }
                        b'&' | b'!' if at_node => {
                            // An anchor or a tag: the node itself follows.
                            while i + 1 < bytes.len() && !matches!(bytes[i + 1], b' ' | b'\t') {
                                i += 1;
                            }
                        }
                        b'-' | b'?' if at_node && space_after => {
                            if flow_depth == 0 {
                                line_depth += 1;
                            }
                        }
                        b'|' | b'>' if at_node && flow_depth == 0 => {
                            block_scalar = Some(indent);
                            break;
                        }
                        b'[' | b'{' if at_node || flow_depth > 0 => {
                            flow_depth += 1;
                            line_depth += 1;
                            at_node = true;
                        }
                        b']' | b'}' if flow_depth > 0 => {
                            flow_depth -= 1;
                            at_node = false;
                        }
                        b',' if flow_depth > 0 => at_node = true,
                        b':' if space_after || flow_depth > 0 => at_node = true,
                        _ => at_node = false,
                    }
                    if line_depth > DEPTH_MAX {
                        return Err(deep());
                    }
                }
            }
            i += 1;
        }
    }
    Ok(())
}

/// Build a plan from `push from-args` flags: one source per platform, named by the template.
pub fn from_args(
    platforms: &[String],
    template: &str,
    target: &str,
    tags: &[String],
    annotations: &[String],
    options: &PushOptions,
) -> Result<PushPlan> {
    if !template.contains("ARCH") {
        return Err(Error::Input(format!(
            "--template {template:?} must contain the placeholder ARCH"
        )));
    }
    let sources = platforms
        .iter()
        .map(|text| {
            let platform =
                platform::parse(text).map_err(|e| Error::Input(format!("--platforms: {e}")))?;
            let name = fill_template(template, &platform);
            source(&name, format!("--platforms {text}"), platform)
                .map_err(|e| e.context(format!("--platforms {text}")))
        })
        .collect::<Result<Vec<_>>>()?;
    let annotations = annotations
        .iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.trim().is_empty() => {
                Ok((key.trim().to_string(), value.to_string()))
            }
            _ => Err(Error::Input(format!(
                "--annotations {pair:?} is not of the form key=value"
            ))),
        })
        .collect::<Result<BTreeMap<_, _>>>()?;
    plan(target, tags.to_vec(), annotations, sources, options)
}

/// The template with `ARCH`, `OS` and `VARIANT` replaced by the parts of `platform`. An empty
/// variant also takes the `-`, `_`, `.` or `/` before it, so that `app:OS-ARCH-VARIANT` gives
/// `app:linux-amd64` (the Go tool gives `app:linux-amd64-`) as well as `app:linux-arm-v7`.
fn fill_template(template: &str, platform: &Platform) -> String {
    let mut name = template
        .replace("ARCH", &platform.architecture)
        .replace("OS", &platform.os);
    if platform.variant.is_empty() {
        for separator in ["-", "_", ".", "/"] {
            name = name.replace(&format!("{separator}VARIANT"), "");
        }
    }
    name.replace("VARIANT", &platform.variant)
}

/// One source: its reference must have a tag or digest; a platform it gives must be real.
fn source(name: &str, entry: String, platform: Platform) -> Result<Source> {
    let reference = ImageRef::parse(name)?;
    if reference.manifest_ref().is_none() {
        return Err(Error::Input(format!(
            "source image {name:?} must include a tag or a digest"
        )));
    }
    let given = !platform.os.is_empty() || !platform.architecture.is_empty();
    if given {
        platform::validate(&platform)
            .map_err(|e| Error::Input(format!("platform of {name}: {e}")))?;
    }
    Ok(Source {
        name: name.to_string(),
        entry,
        reference,
        platform,
    })
}

/// Check the target, tags and annotations, and put the plan together.
fn plan(
    target_name: &str,
    tags: Vec<String>,
    annotations: BTreeMap<String, String>,
    sources: Vec<Source>,
    options: &PushOptions,
) -> Result<PushPlan> {
    let target = ImageRef::parse(target_name)?;
    if target.digest().is_some() {
        return Err(Error::Input(format!(
            "target {target_name:?} must name a tag, not a digest"
        )));
    }
    if target.tag().is_none() {
        return Err(Error::Input(format!(
            "target {target_name:?} must include a tag"
        )));
    }
    for tag in &tags {
        ImageRef::parse(&target.with_tag(tag).to_string())
            .map_err(|_| Error::Input(format!("extra tag {tag:?} is not a valid tag")))?;
    }
    // Without --type, an OCI index where only an index will do: in a layout (the only kind
    // skopeo and regctl read there) and for annotations; elsewhere the entries decide.
    let list_type = match (options.list_type, &target) {
        (Some(list_type), _) => Some(list_type),
        (None, ImageRef::Layout(_)) => Some(ListType::Oci),
        (None, ImageRef::Registry(_)) if !annotations.is_empty() => Some(ListType::Oci),
        (None, ImageRef::Registry(_)) => None,
    };
    if list_type == Some(ListType::Docker) && !annotations.is_empty() {
        return Err(Error::Input(
            "manifest list (Docker media type) does not support annotations; use --type oci instead"
                .to_string(),
        ));
    }
    Ok(PushPlan {
        target_name: target_name.to_string(),
        target,
        tags,
        annotations,
        sources,
        spec: None,
        list_type,
        ignore_missing: options.ignore_missing,
        dry_run: options.dry_run,
        always_push: options.always_push,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(list_type: ListType) -> PushOptions {
        PushOptions {
            list_type: Some(list_type),
            ignore_missing: false,
            dry_run: false,
            always_push: false,
        }
    }

    /// `from_args` with these flags and `--type oci` (which takes annotations).
    fn from_flags(
        platforms: &[&str],
        template: &str,
        target: &str,
        tags: &[&str],
        annotations: &[&str],
    ) -> Result<PushPlan> {
        let owned = |words: &[&str]| words.iter().map(|w| w.to_string()).collect::<Vec<_>>();
        let (platforms, tags) = (owned(platforms), owned(tags));
        let options = options(ListType::Oci);
        from_args(
            &platforms,
            template,
            target,
            &tags,
            &owned(annotations),
            &options,
        )
    }

    #[test]
    fn the_go_tool_readme_spec_parses_with_features() {
        let text = "\
image: myprivreg:5000/someimage:1.0.0
tags: ['1.0', '1', 'latest']
manifests:
  - image: myprivreg:5000/someimage:ppc64le
    platform:
      architecture: ppc64le
      os: linux
  - image: myprivreg:5000/someimage:amd64
    platform:
      architecture: amd64
      features:
        - sse
      os: linux
";
        let plan = from_spec_text(text, "s.yaml", &options(ListType::Docker)).unwrap();
        assert_eq!(plan.target.to_string(), "myprivreg:5000/someimage:1.0.0");
        assert_eq!(plan.tags, ["1.0", "1", "latest"]);
        assert_eq!(plan.sources.len(), 2);
        assert_eq!(plan.sources[1].platform.features, ["sse"]);
    }

    #[test]
    fn both_spellings_of_os_version_and_features_are_read() {
        for (version_key, features_key) in
            [("osversion", "osfeatures"), ("os.version", "os.features")]
        {
            let text = format!(
                "image: r/a:t\nmanifests:\n  - image: r/a:win\n    platform:\n      os: windows\n      architecture: amd64\n      {version_key}: 10.0.17763.2565\n      {features_key}: [win32k]\n"
            );
            let plan = from_spec_text(&text, "s.yaml", &options(ListType::Docker)).unwrap();
            assert_eq!(plan.sources[0].platform.os_version, "10.0.17763.2565");
            assert_eq!(plan.sources[0].platform.os_features, ["win32k"]);
        }
    }

    #[test]
    fn unknown_keys_are_refused_with_name_and_line() {
        let text = "image: r/a:t\nmanifests:\n  - image: r/a:x\n    platfrom:\n      os: linux\n";
        let err = from_spec_text(text, "s.yaml", &options(ListType::Docker))
            .unwrap_err()
            .to_string();
        assert!(err.contains("platfrom") && err.contains("line 4"), "{err}");
    }

    #[test]
    fn annotations_need_the_oci_type() {
        let text = "image: r/a:t\nannotations: {a: b}\nmanifests:\n  - image: r/a:x\n";
        let err = from_spec_text(text, "s.yaml", &options(ListType::Docker)).unwrap_err();
        assert!(err.to_string().ends_with(
            "manifest list (Docker media type) does not support annotations; use --type oci instead"
        ));
        assert!(from_spec_text(text, "s.yaml", &options(ListType::Oci)).is_ok());
        // Without --type, annotations make it an index.
        let plan = parse_spec_text(text).unwrap();
        assert_eq!(plan.list_type, Some(ListType::Oci));
    }

    #[test]
    fn without_type_the_entries_choose_for_a_registry_and_a_layout_gets_an_index() {
        let plan = parse_spec_text("image: r/a:t\nmanifests:\n  - image: r/a:x\n").unwrap();
        assert_eq!(plan.list_type, None);
        let plan =
            parse_spec_text("image: oci-layout://out:t\nmanifests:\n  - image: r/a:x\n").unwrap();
        assert_eq!(plan.list_type, Some(ListType::Oci));
    }

    #[test]
    fn from_args_fills_the_template_for_each_platform() {
        let plan = from_flags(
            &["linux/amd64", "linux/arm/v7"],
            "reg:5000/app:OS-ARCHVARIANT",
            "reg:5000/app:latest",
            &["1.0"],
            &[],
        )
        .unwrap();
        let names: Vec<&str> = plan.sources.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["reg:5000/app:linux-amd64", "reg:5000/app:linux-armv7"]
        );
        assert_eq!(plan.sources[1].platform.variant, "v7");
    }

    #[test]
    fn an_empty_variant_takes_the_separator_before_it() {
        let fill = |template: &str, platform: &str| {
            fill_template(template, &platform::parse(platform).unwrap())
        };
        assert_eq!(
            fill("r/a:OS-ARCH-VARIANT", "linux/amd64"),
            "r/a:linux-amd64"
        );
        assert_eq!(
            fill("r/a:OS-ARCH-VARIANT", "linux/arm/v7"),
            "r/a:linux-arm-v7"
        );
        assert_eq!(fill("r/a:ARCH_VARIANT", "linux/s390x"), "r/a:s390x");
        assert_eq!(fill("r/ARCH/VARIANT:1", "linux/ppc64le"), "r/ppc64le:1");
        assert_eq!(fill("r/a:ARCHVARIANT", "linux/arm64/v8"), "r/a:arm64v8");
    }

    #[test]
    fn from_args_refuses_bad_templates_platforms_and_annotations() {
        let cases: [(&str, &str, &[&str], &str); 4] = [
            ("linux/amd64", "r/a:OS", &[], "ARCH"),
            ("linux/amd46", "r/a:ARCH", &[], "linux/amd46"),
            ("linux", "r/a:ARCH", &[], "\"linux\""),
            ("linux/amd64", "r/a:ARCH", &["novalue"], "\"novalue\""),
        ];
        for (platform, template, annotations, named) in cases {
            let err = from_flags(&[platform], template, "r/a:t", &[], annotations)
                .unwrap_err()
                .to_string();
            assert!(err.contains(named), "{err}");
        }
    }

    #[test]
    fn from_args_annotations_are_trimmed_keys_and_whole_values() {
        let annotations = ["a=b", " k =v=w "];
        let plan = from_flags(&["linux/amd64"], "r/a:ARCH", "r/a:t", &[], &annotations).unwrap();
        assert_eq!(
            plan.annotations,
            BTreeMap::from([
                ("a".to_string(), "b".to_string()),
                ("k".to_string(), "v=w ".to_string()),
            ])
        );
    }

    #[test]
    fn from_args_refuses_an_annotation_without_a_key() {
        assert_eq!(
            from_flags(&["linux/amd64"], "r/a:ARCH", "r/a:t", &[], &[" =v"])
                .unwrap_err()
                .to_string(),
            "--annotations \" =v\" is not of the form key=value"
        );
    }

    #[test]
    fn a_spec_platform_with_only_an_os_is_refused() {
        let text = "image: r/a:t\nmanifests:\n  - image: r/a:x\n    platform:\n      os: linux\n";
        let err = from_spec_text(text, "s.yaml", &options(ListType::Docker)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "spec s.yaml: manifests[0]: platform of r/a:x: linux/ is not a known os/arch combination"
        );
    }

    #[test]
    fn target_needs_a_tag_and_tags_must_be_valid() {
        let err = from_flags(&["linux/amd64"], "r/a:ARCH", "r/a", &[], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("must include a tag"), "{err}");
        let err = from_flags(&["linux/amd64"], "r/a:ARCH", "r/a:t", &["bad tag"], &[])
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"bad tag\""), "{err}");
    }

    #[test]
    fn the_shape_check_counts_aliases_and_depth_but_not_text_that_looks_like_them() {
        let aliases = |n: usize| format!("a: &a x\nb: [{}]\n", vec!["*a"; n].join(", "));
        assert_eq!(check_shape(&aliases(100)), Ok(()));
        assert_eq!(
            check_shape(&aliases(101)),
            Err("uses more than 100 YAML aliases (*name)".to_string())
        );
        let deep = |n: usize| format!("a: {}{}\n", "[".repeat(n), "]".repeat(n));
        assert_eq!(check_shape(&deep(63)), Ok(()));
        assert_eq!(
            check_shape(&deep(64)),
            Err("nests values more than 64 levels deep".to_string())
        );
        let dashes = format!("a:\n  {}x\n", "- ".repeat(70));
        assert!(check_shape(&dashes).is_err());

        // Stars, brackets and quotes inside text are not structure.
        let stars = "*a ".repeat(200);
        let brackets = "[".repeat(200);
        let text = format!(
            "a: it's {stars}{brackets}\nb: '{stars}{brackets}'\nc: \"{stars}\\\" {brackets}\"\n\
             d: |\n  '{stars}\n  {brackets}\ne: x # '{stars}\nf: 'it''s {stars}'\n"
        );
        assert_eq!(check_shape(&text), Ok(()));
        // A quote in the middle of a plain scalar hides nothing.
        let hidden = format!("a: x'\nb: [{}]\nc: '\n", vec!["*a"; 101].join(", "));
        assert!(check_shape(&hidden).is_err());
    }
}
