//! The command line: raw arguments in, one validated [`Cli`] out.
//!
//! lexopt reads the arguments one by one into [`RawArgs`], a one-to-one copy of what was typed;
//! [`validate`] then checks which flags go with which command and builds the [`Command`]. Global
//! flags may stand before or after the command, and Go-style single-dash long flags (`-raw`) are
//! accepted, as the Go tool's flag parser accepts them.

use crate::error::{Error, Result};
use crate::inspect::Format;
use crate::list::ListType;
use crate::registry::credentials::Secret;
use crate::spec::PushOptions;
use std::ffi::OsString;
use std::path::PathBuf;

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
    /// Print this help text and exit 0.
    Help(&'static str),
    /// Print the version and exit 0.
    Version,
    /// `inspect`.
    Inspect {
        reference: String,
        format: Format,
        expand_config: bool,
    },
    /// `push from-spec FILE`.
    PushFromSpec { file: PathBuf, options: PushOptions },
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
    platforms: Vec<String>,
    template: Option<String>,
    target: Option<String>,
    tags: Vec<String>,
    annotations: Vec<String>,
    /// Flags seen, in order, to say which one does not fit a command.
    seen: Vec<&'static str>,
}

/// Long flags that take a value.
const VALUE_FLAGS: &[&str] = &[
    "username",
    "password",
    "docker-cfg",
    "cacert",
    "format",
    "type",
    "platforms",
    "template",
    "target",
    "tags",
    "annotations",
];
/// Long flags that take no value.
const SWITCH_FLAGS: &[&str] = &[
    "debug",
    "insecure",
    "plain-http",
    "password-stdin",
    "raw",
    "expand-config",
    "ignore-missing",
    "dry-run",
    "help",
    "version",
];

/// Parse the arguments after the program name.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli> {
    let raw = read_raw(args.into_iter().map(go_style_long_flag))?;
    validate(raw)
}

/// Rewrite `-name` / `-name=value` to `--name…` when `name` is one of our long flags.
fn go_style_long_flag(arg: OsString) -> OsString {
    let Some(text) = arg.to_str() else {
        return arg;
    };
    if text.starts_with("--") || !text.starts_with('-') || text.len() <= 2 {
        return arg;
    }
    let name = text[1..].split('=').next().unwrap_or("");
    if VALUE_FLAGS.contains(&name) || SWITCH_FLAGS.contains(&name) {
        OsString::from(format!("-{text}"))
    } else {
        arg
    }
}

fn read_raw(args: impl Iterator<Item = OsString>) -> Result<RawArgs> {
    use lexopt::Arg::{Long, Short, Value};
    let mut parser = lexopt::Parser::from_args(args);
    let mut raw = RawArgs::default();
    let usage = |e: lexopt::Error| Error::Usage(e.to_string());
    while let Some(arg) = parser.next().map_err(usage)? {
        match arg {
            Short('h') | Long("help") => raw.help = true,
            Short('v') | Long("version") => raw.version = true,
            Long(name) => {
                let name = SWITCH_FLAGS
                    .iter()
                    .chain(VALUE_FLAGS)
                    .find(|known| **known == name)
                    .copied()
                    .ok_or_else(|| {
                        Error::Usage(format!("flag provided but not defined: --{name}"))
                    })?;
                raw.seen.push(name);
                if VALUE_FLAGS.contains(&name) {
                    let value = parser
                        .value()
                        .map_err(|_| Error::Usage(format!("flag needs an argument: --{name}")))?;
                    let value = value
                        .into_string()
                        .map_err(|_| Error::Usage(format!("--{name}: value is not valid UTF-8")))?;
                    store_value(&mut raw, name, value)?;
                } else {
                    store_switch(&mut raw, name);
                }
            }
            Short(c) => return Err(Error::Usage(format!("flag provided but not defined: -{c}"))),
            Value(value) => raw.positionals.push(
                value
                    .into_string()
                    .map_err(|_| Error::Usage("argument is not valid UTF-8".to_string()))?,
            ),
        }
    }
    Ok(raw)
}

fn store_switch(raw: &mut RawArgs, name: &str) {
    match name {
        "debug" => raw.global.debug = true,
        "insecure" => raw.global.insecure = true,
        "plain-http" => raw.global.plain_http = true,
        "password-stdin" => raw.global.password_stdin = true,
        "raw" => raw.raw = true,
        "expand-config" => raw.expand_config = true,
        "ignore-missing" => raw.ignore_missing = true,
        _ => raw.dry_run = true,
    }
}

fn store_value(raw: &mut RawArgs, name: &str, value: String) -> Result<()> {
    match name {
        "username" => raw.global.username = Some(value),
        "password" => raw.global.password = Some(Secret::new(value)),
        "docker-cfg" => raw.global.docker_cfg = Some(PathBuf::from(value)),
        "cacert" => raw.global.cacert = Some(PathBuf::from(value)),
        "format" => raw.format = Some(value),
        "type" => raw.list_type = Some(value),
        "template" => raw.template = Some(value),
        "target" => raw.target = Some(value),
        // String-slice flags: comma-separated and repeatable, as in the Go tool.
        "platforms" => raw.platforms.extend(split_list(&value)),
        "tags" => raw.tags.extend(split_list(&value)),
        _ => raw.annotations.extend(split_list(&value)),
    }
    Ok(())
}

fn split_list(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// Flags each command accepts beyond the global ones.
const INSPECT_FLAGS: &[&str] = &["raw", "expand-config", "format"];
const PUSH_FLAGS: &[&str] = &["type", "ignore-missing", "dry-run"];
const FROM_ARGS_FLAGS: &[&str] = &["platforms", "template", "target", "tags", "annotations"];
const GLOBAL_FLAGS: &[&str] = &[
    "debug",
    "insecure",
    "plain-http",
    "username",
    "password",
    "password-stdin",
    "docker-cfg",
    "cacert",
    "help",
    "version",
];

fn validate(raw: RawArgs) -> Result<Cli> {
    let words: Vec<&str> = raw.positionals.iter().map(String::as_str).collect();
    let command = match words.as_slice() {
        [] if raw.version => Command::Version,
        [] => Command::Help(MAIN_HELP),
        ["help"] => Command::Help(MAIN_HELP),
        ["help", "inspect"] => Command::Help(INSPECT_HELP),
        ["help", "push", ..] => Command::Help(PUSH_HELP),
        ["inspect", ..] if raw.help => Command::Help(INSPECT_HELP),
        ["push", "from-spec", ..] if raw.help => Command::Help(FROM_SPEC_HELP),
        ["push", "from-args", ..] if raw.help => Command::Help(FROM_ARGS_HELP),
        ["push", ..] if raw.help => Command::Help(PUSH_HELP),
        _ if raw.help => Command::Help(MAIN_HELP),
        _ if raw.version => Command::Version,
        ["inspect", rest @ ..] => inspect_command(&raw, rest)?,
        ["push", "from-spec", rest @ ..] => {
            check_flags(&raw, "push from-spec", &[PUSH_FLAGS])?;
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
            check_flags(&raw, "push from-args", &[PUSH_FLAGS, FROM_ARGS_FLAGS])?;
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
                "unknown command {other:?}: use inspect or push (see --help)"
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

fn inspect_command(raw: &RawArgs, rest: &[&str]) -> Result<Command> {
    check_flags(raw, "inspect", &[INSPECT_FLAGS])?;
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
        (Some(other), false) => {
            return Err(Error::Usage(format!(
                "--format {other:?} is not one of text, raw, verbatim, json"
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
    })
}

/// Refuse a flag that does not belong to `command`.
fn check_flags(raw: &RawArgs, command: &str, allowed: &[&[&str]]) -> Result<()> {
    for flag in &raw.seen {
        if !GLOBAL_FLAGS.contains(flag) && !allowed.iter().any(|set| set.contains(flag)) {
            return Err(Error::Usage(format!(
                "flag --{flag} is not valid for {command}"
            )));
        }
    }
    Ok(())
}

/// `manifest-tool --help`.
pub const MAIN_HELP: &str = "\
manifest-tool: inspect and push manifest list (multi-platform) images in OCI / Docker v2 registries

Usage:
  manifest-tool [global flags] inspect [--raw [--expand-config] | --format FMT] IMAGE
  manifest-tool [global flags] push [--type docker|oci] from-spec [--ignore-missing] FILE.yaml
  manifest-tool [global flags] push [--type docker|oci] from-args --platforms P[,P...]
                --template T --target IMAGE [--tags t1,t2] [--annotations k=v,...] [--ignore-missing]
  manifest-tool --version | --help | help [COMMAND]

Global flags (before or after the command):
  --username USER        registry username
  --password PASS        registry password
  --password-stdin       read the registry password from standard input
  --docker-cfg PATH      docker config directory or file (default $DOCKER_CONFIG or ~/.docker)
  --insecure             do not verify TLS certificates
  --plain-http           use http instead of https
  --cacert FILE          trust the CAs in this PEM file instead of the bundled roots
  --debug                print each registry request on stderr (never credentials)
  -h, --help             show help
  -v, --version          print the version
";

/// `manifest-tool inspect --help`.
pub const INSPECT_HELP: &str = "\
manifest-tool inspect: show an image manifest or manifest list

Usage:
  manifest-tool [global flags] inspect [flags] IMAGE

IMAGE must include a tag or a digest (manifest-tool does not default to 'latest').

Flags:
  --raw               the Go tool's raw JSON output (child manifests expanded)
  --expand-config     with --raw: include the full image config of a single image
  --format FMT        text (default), raw (= --raw), verbatim (the exact bytes the registry
                      served), json (one document with digests, sizes, platforms and layers)
";

/// `manifest-tool push --help`.
pub const PUSH_HELP: &str = "\
manifest-tool push: create and push a manifest list or OCI index

Usage:
  manifest-tool [global flags] push [--type docker|oci] from-spec [--ignore-missing] FILE.yaml
  manifest-tool [global flags] push [--type docker|oci] from-args --platforms P[,P...]
                --template T --target IMAGE [--tags t1,t2] [--annotations k=v,...]

Flags:
  --type docker|oci   Docker manifest list (default) or OCI image index
  --ignore-missing    skip sources that cannot be found, with a warning
  --dry-run           resolve everything, write nothing; print the list that would be pushed
";

/// `manifest-tool push from-spec --help`.
pub const FROM_SPEC_HELP: &str = "\
manifest-tool push from-spec: push a manifest list described by a YAML file

Usage:
  manifest-tool [global flags] push [--type docker|oci] from-spec [--ignore-missing] [--dry-run] FILE.yaml

The YAML file:
  image: registry:5000/app:1.0          # the list to push
  tags: ['1', 'latest']                 # optional extra tags
  annotations: {key: value}             # optional, --type oci only
  manifests:
    - image: registry:5000/app:1.0-arm64
      platform: {architecture: arm64, os: linux, variant: v8}   # optional: read from the image
";

/// `manifest-tool push from-args --help`.
pub const FROM_ARGS_HELP: &str = "\
manifest-tool push from-args: push a manifest list named by a template

Usage:
  manifest-tool [global flags] push [--type docker|oci] from-args --platforms P[,P...]
                --template T --target IMAGE [--tags t1,t2] [--annotations k=v,...]
                [--ignore-missing] [--dry-run]

Flags:
  --platforms P,...   os/arch[/variant] of each source, e.g. linux/amd64,linux/arm/v7
  --template T        source image name with the placeholders OS, ARCH and VARIANT
  --target IMAGE      the list to push
  --tags t1,t2        extra tags for the list
  --annotations k=v   index annotations (--type oci only); repeatable or comma-separated
";

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
        assert!(matches!(
            parse_words(&[]).unwrap().command,
            Command::Help(MAIN_HELP)
        ));
        assert!(matches!(
            parse_words(&["-v"]).unwrap().command,
            Command::Version
        ));
        assert!(matches!(
            parse_words(&["inspect", "--help"]).unwrap().command,
            Command::Help(INSPECT_HELP)
        ));
        assert!(matches!(
            parse_words(&["help", "push"]).unwrap().command,
            Command::Help(PUSH_HELP)
        ));
    }

    #[test]
    fn password_is_never_shown_in_debug_output() {
        let cli = parse_words(&["--password", "hunter2", "inspect", "x:y"]).unwrap();
        assert!(!format!("{cli:?}").contains("hunter2"));
    }
}
