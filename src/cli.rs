//! The command line: raw arguments in, one validated [`Cli`] out.
//!
//! lexopt reads the arguments one by one into `RawArgs`, a one-to-one copy of what was typed,
//! as the flag table [`FLAGS`] says (`cli/flags.rs`); `validate` then checks which flags go with
//! which command and builds the [`Command`]. Global flags may stand before or after the command,
//! and Go-style single-dash long flags (`-raw`) are accepted, as the Go tool's flag parser accepts
//! them. The `--help` pages (`cli/help.rs`) list the flags from the same table.

use crate::error::{Error, Result};
use crate::inspect::Format;
use crate::list::ListType;
use crate::registry::credentials::Secret;
use crate::spec::PushOptions;
use std::ffi::OsString;
use std::path::PathBuf;

mod completion;
mod flags;
mod help;

pub use completion::Shell;
pub use flags::{FLAGS, Flag, Scope, Subcommand};

/// Flags that apply to every command.
#[derive(Debug, Clone, Default)]
pub struct GlobalOptions {
    /// `--debug`: trace requests on stderr.
    pub debug: bool,
    /// `--insecure`: skip TLS verification.
    pub insecure: bool,
    /// `--plain-http`: use http instead of https.
    pub plain_http: bool,
    /// `--username`.
    pub username: Option<String>,
    /// `--password`.
    pub password: Option<Secret>,
    /// `--password-stdin`: read the password from standard input.
    pub password_stdin: bool,
    /// `--docker-cfg`: docker config directory or file.
    pub docker_cfg: Option<PathBuf>,
    /// `--cacert`: PEM file of CAs to trust instead of the bundled roots.
    pub cacert: Option<PathBuf>,
}

/// What to run.
#[derive(Debug, Clone)]
pub enum Command {
    /// Print this help text (a page of `cli/help.rs`) and exit 0.
    Help(String),
    /// Print the version and exit 0.
    Version,
    /// `completion SHELL`: print this completion script and exit 0.
    Completion(String),
    /// `inspect`.
    Inspect {
        reference: String,
        format: Format,
        expand_config: bool,
    },
    /// `push from-spec FILE`.
    PushFromSpec { file: PathBuf, options: PushOptions },
    /// `test-registry REPOSITORY`.
    TestRegistry {
        repository: String,
        format: crate::test_registry::Format,
        keep: bool,
    },
    /// `push from-args`.
    PushFromArgs {
        platforms: Vec<String>,
        template: String,
        target: String,
        tags: Vec<String>,
        annotations: Vec<String>,
        options: PushOptions,
    },
}

/// A validated command line.
#[derive(Debug, Clone)]
pub struct Cli {
    pub global: GlobalOptions,
    pub command: Command,
}

/// Every flag as typed, before we know whether it fits the command.
#[derive(Debug, Default)]
struct RawArgs {
    global: GlobalOptions,
    positionals: Vec<String>,
    help: bool,
    version: bool,
    raw: bool,
    expand_config: bool,
    format: Option<String>,
    list_type: Option<String>,
    ignore_missing: bool,
    dry_run: bool,
    always_push: bool,
    platforms: Vec<String>,
    template: Option<String>,
    target: Option<String>,
    tags: Vec<String>,
    annotations: Vec<String>,
    keep: bool,
    /// Flags seen, in order, to say which one does not fit a command.
    seen: Vec<&'static Flag>,
}

/// Parse the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli> {
    let raw = flags::read_raw(args.into_iter().map(flags::go_style_long_flag))?;
    validate(raw)
}

fn validate(raw: RawArgs) -> Result<Cli> {
    let words: Vec<&str> = raw.positionals.iter().map(String::as_str).collect();
    let command = match words.as_slice() {
        [] if raw.version => Command::Version,
        [] => Command::Help(help::text(&help::MAIN)),
        ["help", topic @ ..] => Command::Help(help::text(help_page(topic)?)),
        // `--help` after the words shows their page; after words without one, the nearest.
        [first, ..] if raw.help => Command::Help(help::text(help_page(&words).unwrap_or(
            if *first == "push" {
                &help::PUSH
            } else {
                &help::MAIN
            },
        ))),
        _ if raw.version => Command::Version,
        ["inspect", rest @ ..] => inspect_command(&raw, rest)?,
        ["completion", rest @ ..] => completion_command(&raw, rest)?,
        ["test-registry", rest @ ..] => test_registry_command(&raw, rest)?,
        ["push", "from-spec", rest @ ..] => {
            check_flags(&raw, Subcommand::PushFromSpec)?;
            let [file] = rest else {
                return Err(Error::Usage(
                    "push from-spec takes exactly one argument: the YAML spec file".to_string(),
                ));
            };
            Command::PushFromSpec {
                file: PathBuf::from(file),
                options: push_options(&raw)?,
            }
        }
        ["push", "from-args", rest @ ..] => {
            check_flags(&raw, Subcommand::PushFromArgs)?;
            if let Some(extra) = rest.first() {
                return Err(Error::Usage(format!(
                    "push from-args takes no arguments, got {extra:?}"
                )));
            }
            let required = |value: &Option<String>, flag: &str| {
                value
                    .clone()
                    .ok_or_else(|| Error::Usage(format!("push from-args requires --{flag}")))
            };
            if raw.platforms.is_empty() {
                return Err(Error::Usage(
                    "push from-args requires --platforms".to_string(),
                ));
            }
            Command::PushFromArgs {
                platforms: raw.platforms.clone(),
                template: required(&raw.template, "template")?,
                target: required(&raw.target, "target")?,
                tags: raw.tags.clone(),
                annotations: raw.annotations.clone(),
                options: push_options(&raw)?,
            }
        }
        ["push", other, ..] => {
            return Err(Error::Usage(format!(
                "unknown push subcommand {other:?}: use from-spec or from-args"
            )));
        }
        ["push"] => {
            return Err(Error::Usage(
                "push needs a subcommand: from-spec or from-args".to_string(),
            ));
        }
        [other, ..] => {
            return Err(Error::Usage(format!(
                "unknown command {other:?}: use inspect, push, test-registry or completion (see --help)"
            )));
        }
    };
    if raw.global.password_stdin && raw.global.password.is_some() {
        return Err(Error::Usage(
            "--password and --password-stdin are mutually exclusive".to_string(),
        ));
    }
    Ok(Cli {
        global: raw.global,
        command,
    })
}

/// `completion SHELL`: the script, or why not.
fn completion_command(raw: &RawArgs, rest: &[&str]) -> Result<Command> {
    if let Some(flag) = raw.seen.first() {
        return Err(Error::Usage(format!(
            "flag --{} is not valid for completion",
            flag.long
        )));
    }
    match rest {
        [name] => Shell::parse(name)
            .map(|shell| Command::Completion(completion::script(shell)))
            .ok_or_else(|| {
                Error::Usage(format!(
                    "completion: unknown shell {name:?}: use bash, zsh or fish"
                ))
            }),
        _ => Err(Error::Usage(
            "completion takes one argument: bash, zsh or fish".to_string(),
        )),
    }
}

/// The page of `help TOPIC...`; an unknown topic is named as typed.
fn help_page(topic: &[&str]) -> Result<&'static help::Page> {
    Ok(match topic {
        ["inspect", ..] => &help::INSPECT,
        ["completion", ..] => &help::COMPLETION,
        ["test-registry", ..] => &help::TEST_REGISTRY,
        ["push"] => &help::PUSH,
        ["push", "from-spec", ..] => &help::FROM_SPEC,
        ["push", "from-args", ..] => &help::FROM_ARGS,
        ["push", other, ..] => {
            return Err(Error::Usage(format!(
                "no help for push {other:?}: push has from-spec and from-args"
            )));
        }
        [other, ..] => {
            return Err(Error::Usage(format!(
                "no help for {other:?}: the commands are inspect, push, test-registry and completion (see --help)"
            )));
        }
        [] => &help::MAIN,
    })
}

fn inspect_command(raw: &RawArgs, rest: &[&str]) -> Result<Command> {
    check_flags(raw, Subcommand::Inspect)?;
    let reference = match rest {
        [reference] => reference.to_string(),
        [] => {
            return Err(Error::Usage(
                "inspect takes one argument: the image reference".to_string(),
            ));
        }
        [_, extra, ..] => {
            return Err(Error::Usage(format!(
                "inspect takes one image reference; unexpected argument {extra:?}"
            )));
        }
    };
    let format = match (raw.format.as_deref(), raw.raw) {
        (None, false) => Format::Text,
        (None, true) | (Some("raw"), _) => Format::Raw,
        (Some(_), true) => {
            return Err(Error::Usage(
                "--raw and --format other than raw conflict".to_string(),
            ));
        }
        (Some("text"), false) => Format::Text,
        (Some("verbatim"), false) => Format::Verbatim,
        (Some("json"), false) => Format::Json,
        (Some("platforms"), false) => Format::Platforms,
        (Some(other), false) => {
            return Err(Error::Usage(format!(
                "--format {other:?} is not one of text, raw, verbatim, json, platforms"
            )));
        }
    };
    if raw.expand_config && format != Format::Raw {
        return Err(Error::Usage(
            "the --expand-config flag is only valid when used with --raw".to_string(),
        ));
    }
    Ok(Command::Inspect {
        reference,
        format,
        expand_config: raw.expand_config,
    })
}

fn test_registry_command(raw: &RawArgs, rest: &[&str]) -> Result<Command> {
    use crate::test_registry::Format;
    check_flags(raw, Subcommand::TestRegistry)?;
    let [repository] = rest else {
        return Err(Error::Usage(
            "test-registry takes one argument: the repository (registry:5000/team/app)".to_string(),
        ));
    };
    let format = match raw.format.as_deref() {
        None | Some("text") => Format::Text,
        Some("json") => Format::Json,
        Some(other) => {
            return Err(Error::Usage(format!(
                "--format {other:?} is not one of text, json for test-registry"
            )));
        }
    };
    Ok(Command::TestRegistry {
        repository: repository.to_string(),
        format,
        keep: raw.keep,
    })
}

fn push_options(raw: &RawArgs) -> Result<PushOptions> {
    let list_type = match raw.list_type.as_deref() {
        None => None,
        Some("docker") => Some(ListType::Docker),
        Some("oci") => Some(ListType::Oci),
        Some(other) => {
            return Err(Error::Usage(format!(
                "--type {other:?} is not one of docker, oci"
            )));
        }
    };
    Ok(PushOptions {
        list_type,
        ignore_missing: raw.ignore_missing,
        dry_run: raw.dry_run,
        always_push: raw.always_push,
    })
}

/// Refuse a flag that does not belong to `command`.
fn check_flags(raw: &RawArgs, command: Subcommand) -> Result<()> {
    match raw.seen.iter().find(|flag| !flag.scope.accepts(command)) {
        Some(flag) => Err(Error::Usage(format!(
            "flag --{} is not valid for {}",
            flag.long,
            command.words()
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_words(words: &[&str]) -> Result<Cli> {
        parse(words.iter().map(OsString::from))
    }

    #[test]
    fn global_flags_are_accepted_before_and_after_the_command() {
        for words in [
            &["--insecure", "inspect", "a/b:c"][..],
            &["inspect", "a/b:c", "--insecure"][..],
            &["inspect", "--insecure", "a/b:c"][..],
        ] {
            let cli = parse_words(words).unwrap();
            assert!(cli.global.insecure, "{words:?}");
            assert!(
                matches!(cli.command, Command::Inspect { ref reference, .. } if reference == "a/b:c")
            );
        }
    }

    #[test]
    fn go_style_single_dash_long_flags_work() {
        let cli = parse_words(&["-debug", "inspect", "-raw", "x:y"]).unwrap();
        assert!(cli.global.debug);
        assert!(matches!(
            cli.command,
            Command::Inspect {
                format: Format::Raw,
                ..
            }
        ));
        let cli = parse_words(&["-username=u", "inspect", "x:y"]).unwrap();
        assert_eq!(cli.global.username.as_deref(), Some("u"));
    }

    #[test]
    fn expand_config_needs_raw() {
        let err = parse_words(&["inspect", "--expand-config", "x:y"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the --expand-config flag is only valid when used with --raw"
        );
        assert!(parse_words(&["inspect", "--raw", "--expand-config", "x:y"]).is_ok());
    }

    #[test]
    fn format_values_are_checked() {
        let cli = parse_words(&["inspect", "--format", "verbatim", "x:y"]).unwrap();
        assert!(matches!(
            cli.command,
            Command::Inspect {
                format: Format::Verbatim,
                ..
            }
        ));
        let err = parse_words(&["inspect", "--format", "yaml", "x:y"]).unwrap_err();
        assert!(err.to_string().contains("\"yaml\""), "{err}");
    }

    #[test]
    fn push_from_args_splits_slices_and_requires_its_flags() {
        let cli = parse_words(&[
            "push",
            "--type",
            "oci",
            "from-args",
            "--platforms",
            "linux/amd64,linux/arm64",
            "--platforms",
            "linux/s390x",
            "--template",
            "r/a:ARCH",
            "--target",
            "r/a:latest",
            "--tags",
            "1,2",
        ])
        .unwrap();
        match cli.command {
            Command::PushFromArgs {
                platforms,
                tags,
                options,
                ..
            } => {
                assert_eq!(platforms, ["linux/amd64", "linux/arm64", "linux/s390x"]);
                assert_eq!(tags, ["1", "2"]);
                assert_eq!(options.list_type, Some(ListType::Oci));
            }
            other => panic!("{other:?}"),
        }
        let err = parse_words(&[
            "push",
            "from-args",
            "--platforms",
            "linux/amd64",
            "--target",
            "a:b",
        ])
        .unwrap_err();
        assert_eq!(err.to_string(), "push from-args requires --template");
    }

    #[test]
    fn flags_of_another_command_are_refused() {
        let err = parse_words(&["push", "from-spec", "--raw", "f.yaml"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "flag --raw is not valid for push from-spec"
        );
        let err = parse_words(&["inspect", "--bogus", "x:y"]).unwrap_err();
        assert_eq!(err.to_string(), "flag provided but not defined: --bogus");
    }

    #[test]
    fn help_and_version() {
        let help_of = |words: &[&str]| match parse_words(words).unwrap().command {
            Command::Help(text) => text,
            other => panic!("{words:?}: {other:?}"),
        };
        assert_eq!(help_of(&[]), help::text(&help::MAIN));
        assert!(matches!(
            parse_words(&["-v"]).unwrap().command,
            Command::Version
        ));
        assert_eq!(help_of(&["inspect", "--help"]), help::text(&help::INSPECT));
        assert_eq!(help_of(&["help", "push"]), help::text(&help::PUSH));
        assert_eq!(
            help_of(&["push", "from-spec", "x.yaml", "-help"]),
            help::text(&help::FROM_SPEC)
        );
        assert_eq!(
            help_of(&["push", "from-args", "-h"]),
            help::text(&help::FROM_ARGS)
        );
    }

    #[test]
    fn help_names_its_topic_and_an_unknown_topic_as_typed() {
        let help_of = |words: &[&str]| match parse_words(words).unwrap().command {
            Command::Help(text) => text,
            other => panic!("{words:?}: {other:?}"),
        };
        for topic in [
            "inspect",
            "push",
            "push from-spec",
            "push from-args",
            "test-registry",
        ] {
            let mut words = vec!["help"];
            words.extend(topic.split(' '));
            let first = help_of(&words)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string();
            assert!(
                first.starts_with(&format!("manifest-tool {topic}: ")),
                "{first}"
            );
        }
        let err = parse_words(&["help", "bogus"]).unwrap_err().to_string();
        assert_eq!(
            err,
            "no help for \"bogus\": the commands are inspect, push, test-registry and completion (see --help)"
        );
        let err = parse_words(&["help", "push", "from-yaml"])
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "no help for push \"from-yaml\": push has from-spec and from-args"
        );
    }

    #[test]
    fn the_yaml_of_help_push_from_spec_is_a_spec_with_every_key() {
        let text = help::text(&help::FROM_SPEC);
        let yaml: String = text
            .lines()
            .skip_while(|line| !line.starts_with("The YAML file"))
            .skip(1)
            .take_while(|line| !line.is_empty())
            .map(|line| format!("{}\n", line.strip_prefix("  ").unwrap_or(line)))
            .collect();
        let plan = crate::spec::parse_spec_text(&yaml.replace("annotations", "# ")).unwrap();
        assert_eq!(plan.sources.len(), 2);
        let platform = &plan.sources[0].platform;
        assert_eq!(platform.features, ["sse"]);
        assert_eq!(platform.os_version, "10.0.17763.2565");
        assert_eq!(platform.os_features, ["win32k"]);
        for key in ["image:", "tags:", "annotations:", "manifests:", "platform:"] {
            assert!(yaml.contains(key), "{key} not in the help's YAML");
        }
    }

    #[test]
    fn every_usage_line_of_push_shows_dry_run() {
        for page in [&help::MAIN, &help::PUSH, &help::FROM_SPEC, &help::FROM_ARGS] {
            let text = help::text(page);
            let usage: Vec<&str> = text
                .split("\n  manifest-tool ")
                .filter(|usage| usage.starts_with("[global flags] push"))
                .collect();
            assert!(!usage.is_empty(), "{text}");
            for usage in usage {
                let usage = usage.split("\n\n").next().unwrap_or_default();
                assert!(usage.contains("[--dry-run]"), "{usage}");
            }
        }
    }

    #[test]
    fn a_misspelled_flag_is_named_as_typed_with_the_nearest_one() {
        for (typed, expected) in [
            ("--dry-rn", "--dry-rn (did you mean --dry-run?)"),
            ("-rwa", "-rwa (did you mean --raw?)"),
            ("--insecur", "--insecur (did you mean --insecure?)"),
            ("-x=1", "-x"),
            ("--zzzz", "--zzzz"),
        ] {
            let err = parse_words(&["inspect", typed, "a:b"]).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("flag provided but not defined: {expected}")
            );
        }
    }

    #[test]
    fn every_flag_has_help_and_names_of_its_own() {
        let mut longs = std::collections::HashSet::new();
        let mut shorts = std::collections::HashSet::new();
        for flag in FLAGS {
            assert!(!flag.help.trim().is_empty(), "--{} has no help", flag.long);
            assert!(
                flag.long.len() > 1 && !flag.long.starts_with('-'),
                "{:?} is not a long name",
                flag.long
            );
            assert!(
                longs.insert(flag.long),
                "two flags are named --{}",
                flag.long
            );
            if let Some(short) = flag.short {
                assert!(shorts.insert(short), "two flags are named -{short}");
            }
            assert_ne!(flag.value_name(), Some(""), "--{}", flag.long);
        }
    }

    #[test]
    fn every_flag_is_in_the_help_of_each_command_that_accepts_it() {
        let lists = |page: &help::Page, flag: &Flag| {
            let first = flag.help.lines().next().unwrap_or_default();
            help::text(page).lines().any(|line| {
                line.strip_prefix("  ")
                    .and_then(|rest| rest.strip_prefix(&flag.usage()))
                    .is_some_and(|rest| rest.starts_with("  ") && rest.trim_start() == first)
            })
        };
        let pages = [
            (Subcommand::Inspect, &help::INSPECT),
            (Subcommand::PushFromSpec, &help::FROM_SPEC),
            (Subcommand::PushFromArgs, &help::FROM_ARGS),
            (Subcommand::TestRegistry, &help::TEST_REGISTRY),
        ];
        for flag in FLAGS {
            let usage = flag.usage();
            match flag.scope {
                Scope::Global => assert!(lists(&help::MAIN, flag), "{usage} not in --help"),
                Scope::Push => assert!(lists(&help::PUSH, flag), "{usage} not in push --help"),
                Scope::Inspect | Scope::PushFromArgs | Scope::TestRegistry | Scope::Output => {}
            }
            for (command, page) in pages {
                if flag.scope != Scope::Global && flag.scope.accepts(command) {
                    assert!(
                        lists(page, flag),
                        "{usage} not in {} --help",
                        command.words()
                    );
                }
            }
        }
        for (command, page) in pages {
            assert!(page.scopes.iter().all(|scope| scope.accepts(command)));
        }
    }

    #[test]
    fn help_text_starts_two_spaces_after_the_longest_flag() {
        for flag in FLAGS {
            assert!(
                2 + flag.usage().len() + 2 <= help::HELP_COLUMN,
                "{}",
                flag.usage()
            );
        }
    }

    #[test]
    fn inspect_help_is_its_intro_then_its_flags() {
        let expected = "\
manifest-tool inspect: show an image manifest or manifest list

Usage:
  manifest-tool [global flags] inspect [flags] IMAGE

IMAGE is a registry reference (registry:5000/app:1.0, app@sha256:...) or an OCI image
layout directory: oci-layout://PATH[:TAG][@DIGEST]. Without a tag or a digest, IMAGE:latest.

Flags:
  --raw               the Go tool's raw JSON output (child manifests expanded)
  --expand-config     with --raw: include the full image config of a single image
  --format FMT        text (default) or json (one document: inspect's digests, sizes, platforms
                      and layers, test-registry's checks); inspect also takes raw (= --raw),
                      verbatim (the exact bytes the registry served) and platforms (is it a
                      list, and for which platforms)
";
        assert_eq!(help::text(&help::INSPECT), expected);
    }

    /// The raw args after reading `words`, one field a line, without the list of flags seen.
    fn raw_fields(words: &[&str]) -> Vec<String> {
        let mut raw = flags::read_raw(words.iter().map(OsString::from)).unwrap();
        raw.seen.clear();
        format!("{raw:#?}")
            .lines()
            .map(|line| line.trim().to_string())
            .collect()
    }

    #[test]
    fn a_switch_sets_its_own_field_and_nothing_else() {
        let untouched = raw_fields(&[]);
        for flag in FLAGS.iter().filter(|flag| flag.value_name().is_none()) {
            let set = raw_fields(&[&format!("--{}", flag.long)]);
            let changed: Vec<&String> = set
                .iter()
                .zip(&untouched)
                .filter(|(now, before)| now != before)
                .map(|(now, _)| now)
                .collect();
            let own = format!("{}: true,", flag.long.replace('-', "_"));
            assert_eq!(changed, [&own.as_str()], "--{}", flag.long);
        }
    }

    #[test]
    fn each_value_flag_stores_somewhere_of_its_own() {
        let mut stored = vec![raw_fields(&[])];
        for flag in FLAGS.iter().filter(|flag| flag.value_name().is_some()) {
            let fields = raw_fields(&[&format!("--{}", flag.long), "v"]);
            assert!(
                !stored.contains(&fields),
                "--{} stored v where another flag does",
                flag.long
            );
            stored.push(fields);
        }
    }

    #[test]
    fn dry_run_and_ignore_missing_each_set_only_their_option() {
        let options = |flag: &str| match parse_words(&["push", "from-spec", flag, "f.yaml"])
            .unwrap()
            .command
        {
            Command::PushFromSpec { options, .. } => (options.dry_run, options.ignore_missing),
            other => panic!("{other:?}"),
        };
        assert_eq!(options("--dry-run"), (true, false));
        assert_eq!(options("--ignore-missing"), (false, true));
    }

    #[test]
    fn every_flag_also_works_with_one_dash_as_in_go() {
        for flag in FLAGS {
            let go = go_style(&format!("-{}", flag.long));
            assert_eq!(go, format!("--{}", flag.long));
            let go = go_style(&format!("-{}=x", flag.long));
            assert_eq!(go, format!("--{}=x", flag.long));
        }
        assert_eq!(go_style("-bogus"), "-bogus");
        assert_eq!(go_style("-h"), "-h");
    }

    fn go_style(arg: &str) -> String {
        flags::go_style_long_flag(OsString::from(arg))
            .into_string()
            .unwrap()
    }

    #[test]
    fn password_is_never_shown_in_debug_output() {
        let cli = parse_words(&["--password", "hunter2", "inspect", "x:y"]).unwrap();
        assert!(!format!("{cli:?}").contains("hunter2"));
    }
}
