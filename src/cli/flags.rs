//! Every flag in one table, [`FLAGS`], and the lexopt loop that reads the command line with it.
//!
//! A flag is one [`Flag`]: its names, the commands that accept it, its help, and where what was
//! typed goes. Parsing, the check that a flag fits its command and `--help` all read the table,
//! so a flag is named once, as in ripgrep's `crates/core/flags/defs.rs`.

use super::RawArgs;
use crate::error::{Error, Result};
use crate::registry::credentials::Secret;
use std::ffi::OsString;
use std::path::PathBuf;

/// A command that takes flags of its own, as help and error messages name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subcommand {
    /// `inspect`.
    Inspect,
    /// `push from-spec`.
    PushFromSpec,
    /// `push from-args`.
    PushFromArgs,
    /// `test-registry`.
    TestRegistry,
}

impl Subcommand {
    /// Every subcommand, for code that lists them (help, completions).
    pub const ALL: [Subcommand; 4] = [
        Subcommand::Inspect,
        Subcommand::PushFromSpec,
        Subcommand::PushFromArgs,
        Subcommand::TestRegistry,
    ];

    /// The words that run it: `push from-spec`.
    pub fn words(self) -> &'static str {
        match self {
            Subcommand::Inspect => "inspect",
            Subcommand::PushFromSpec => "push from-spec",
            Subcommand::PushFromArgs => "push from-args",
            Subcommand::TestRegistry => "test-registry",
        }
    }
}

/// Where a flag may be given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every command, before or after the command's words.
    Global,
    /// `inspect`.
    Inspect,
    /// Both forms of `push`.
    Push,
    /// `push from-args` only.
    PushFromArgs,
    /// `test-registry`.
    TestRegistry,
    /// The commands that print a report in a choice of formats: `inspect` and `test-registry`.
    Output,
}

impl Scope {
    /// Whether a flag of this scope is valid for `command`.
    pub fn accepts(self, command: Subcommand) -> bool {
        match self {
            Scope::Global => true,
            Scope::Inspect => command == Subcommand::Inspect,
            Scope::Push => matches!(command, Subcommand::PushFromSpec | Subcommand::PushFromArgs),
            Scope::PushFromArgs => command == Subcommand::PushFromArgs,
            Scope::TestRegistry => command == Subcommand::TestRegistry,
            Scope::Output => matches!(command, Subcommand::Inspect | Subcommand::TestRegistry),
        }
    }
}

/// One command-line flag, everything about it in one place: its names, where it is valid, its
/// help and how it is stored. [`FLAGS`] lists them all; parsing, the flag check of each
/// command and `--help` read that list, as completions or a man page would.
#[derive(Debug)]
pub struct Flag {
    /// The long name without dashes: `dry-run` for `--dry-run` (or Go's `-dry-run`).
    pub long: &'static str,
    /// The one-letter name, if any: `h` for `-h`.
    pub short: Option<char>,
    /// The commands that accept it.
    pub scope: Scope,
    /// The help text; a `\n` starts a new line, indented under the first.
    pub help: &'static str,
    /// Whether it takes a value, and where what was typed goes.
    action: Action,
}

/// What a flag stores into [`RawArgs`]. Each kind names its own field or setter, so a flag
/// cannot exist without one, and a switch can only set the field it points at.
#[derive(Debug, Clone, Copy)]
enum Action {
    /// Takes no value; sets this field to true.
    Switch(fn(&mut RawArgs) -> &mut bool),
    /// Takes one value (`--name VALUE` or `--name=VALUE`), named `value` in help; the last wins.
    Value {
        value: &'static str,
        store: fn(&mut RawArgs, String),
    },
    /// Takes comma-separated values and may be repeated (Go's string-slice flags); all are
    /// appended to this field.
    List {
        value: &'static str,
        field: fn(&mut RawArgs) -> &mut Vec<String>,
    },
}

impl Flag {
    /// The name of its value in help (`USER` of `--username USER`); `None` for a switch.
    pub fn value_name(&self) -> Option<&'static str> {
        match self.action {
            Action::Switch(_) => None,
            Action::Value { value, .. } | Action::List { value, .. } => Some(value),
        }
    }

    /// Whether it may be repeated and takes comma-separated values.
    pub fn is_list(&self) -> bool {
        matches!(self.action, Action::List { .. })
    }

    /// How help shows it: `-h, --help` or `--username USER`.
    pub fn usage(&self) -> String {
        let short = self.short.map(|c| format!("-{c}, ")).unwrap_or_default();
        match self.value_name() {
            Some(value) => format!("{short}--{} {value}", self.long),
            None => format!("{short}--{}", self.long),
        }
    }
}

/// Every flag of every command, in the order help lists them.
pub const FLAGS: &[Flag] = &[
    Flag {
        long: "username",
        short: None,
        scope: Scope::Global,
        help: "registry username",
        action: Action::Value {
            value: "USER",
            store: |raw, value| raw.global.username = Some(value),
        },
    },
    Flag {
        long: "password",
        short: None,
        scope: Scope::Global,
        help: "registry password",
        action: Action::Value {
            value: "PASS",
            store: |raw, value| raw.global.password = Some(Secret::new(value)),
        },
    },
    Flag {
        long: "password-stdin",
        short: None,
        scope: Scope::Global,
        help: "read the registry password from standard input",
        action: Action::Switch(|raw| &mut raw.global.password_stdin),
    },
    Flag {
        long: "docker-cfg",
        short: None,
        scope: Scope::Global,
        help: "docker config directory or file (default $DOCKER_CONFIG or ~/.docker)",
        action: Action::Value {
            value: "PATH",
            store: |raw, value| raw.global.docker_cfg = Some(PathBuf::from(value)),
        },
    },
    Flag {
        long: "insecure",
        short: None,
        scope: Scope::Global,
        help: "do not verify TLS certificates",
        action: Action::Switch(|raw| &mut raw.global.insecure),
    },
    Flag {
        long: "plain-http",
        short: None,
        scope: Scope::Global,
        help: "use http instead of https",
        action: Action::Switch(|raw| &mut raw.global.plain_http),
    },
    Flag {
        long: "cacert",
        short: None,
        scope: Scope::Global,
        help: "trust the CAs in this PEM file instead of the bundled roots",
        action: Action::Value {
            value: "FILE",
            store: |raw, value| raw.global.cacert = Some(PathBuf::from(value)),
        },
    },
    Flag {
        long: "debug",
        short: None,
        scope: Scope::Global,
        help: "print each registry request and its time on stderr (never credentials)",
        action: Action::Switch(|raw| &mut raw.global.debug),
    },
    Flag {
        long: "help",
        short: Some('h'),
        scope: Scope::Global,
        help: "show help",
        action: Action::Switch(|raw| &mut raw.help),
    },
    Flag {
        long: "version",
        short: Some('v'),
        scope: Scope::Global,
        help: "print the version",
        action: Action::Switch(|raw| &mut raw.version),
    },
    Flag {
        long: "raw",
        short: None,
        scope: Scope::Inspect,
        help: "the Go tool's raw JSON output (child manifests expanded)",
        action: Action::Switch(|raw| &mut raw.raw),
    },
    Flag {
        long: "expand-config",
        short: None,
        scope: Scope::Inspect,
        help: "with --raw: include the full image config of a single image",
        action: Action::Switch(|raw| &mut raw.expand_config),
    },
    Flag {
        long: "format",
        short: None,
        scope: Scope::Output,
        help: "text (default) or json (one document: inspect's digests, sizes, platforms\n\
               and layers, test-registry's checks); inspect also takes raw (= --raw),\n\
               verbatim (the exact bytes the registry served) and platforms (is it a\n\
               list, and for which platforms)",
        action: Action::Value {
            value: "FMT",
            store: |raw, value| raw.format = Some(value),
        },
    },
    Flag {
        long: "type",
        short: None,
        scope: Scope::Push,
        help: "Docker manifest list or OCI image index (default: a Docker list when\n\
               every entry is a Docker image, else an OCI index)",
        action: Action::Value {
            value: "docker|oci",
            store: |raw, value| raw.list_type = Some(value),
        },
    },
    Flag {
        long: "ignore-missing",
        short: None,
        scope: Scope::Push,
        help: "skip sources that cannot be found, with a warning",
        action: Action::Switch(|raw| &mut raw.ignore_missing),
    },
    Flag {
        long: "dry-run",
        short: None,
        scope: Scope::Push,
        help: "resolve everything, write nothing; print the list that would be pushed",
        action: Action::Switch(|raw| &mut raw.dry_run),
    },
    Flag {
        long: "always-push",
        short: None,
        scope: Scope::Push,
        help: "PUT the list even under tags that hold it already (by default they are\n\
               left alone, as immutable tags require)",
        action: Action::Switch(|raw| &mut raw.always_push),
    },
    Flag {
        long: "platforms",
        short: None,
        scope: Scope::PushFromArgs,
        help: "os/arch[/variant] of each source, e.g. linux/amd64,linux/arm/v7",
        action: Action::List {
            value: "P,...",
            field: |raw| &mut raw.platforms,
        },
    },
    Flag {
        long: "template",
        short: None,
        scope: Scope::PushFromArgs,
        help: "source image name with the placeholders OS, ARCH and VARIANT",
        action: Action::Value {
            value: "T",
            store: |raw, value| raw.template = Some(value),
        },
    },
    Flag {
        long: "target",
        short: None,
        scope: Scope::PushFromArgs,
        help: "the list to push",
        action: Action::Value {
            value: "IMAGE",
            store: |raw, value| raw.target = Some(value),
        },
    },
    Flag {
        long: "tags",
        short: None,
        scope: Scope::PushFromArgs,
        help: "extra tags for the list",
        action: Action::List {
            value: "t1,t2",
            field: |raw| &mut raw.tags,
        },
    },
    Flag {
        long: "annotations",
        short: None,
        scope: Scope::PushFromArgs,
        help: "index annotations (--type oci only); repeatable or comma-separated",
        action: Action::List {
            value: "k=v",
            field: |raw| &mut raw.annotations,
        },
    },
    Flag {
        long: "keep",
        short: None,
        scope: Scope::TestRegistry,
        help: "leave the test images in the registry instead of deleting them",
        action: Action::Switch(|raw| &mut raw.keep),
    },
];

/// Rewrite `-name` / `-name=value` to `--name…` when `name` is one of our long flags.
pub(super) fn go_style_long_flag(arg: OsString) -> OsString {
    let Some(text) = arg.to_str() else {
        return arg;
    };
    if text.starts_with("--") || !text.starts_with('-') || text.len() <= 2 {
        return arg;
    }
    let name = text[1..].split('=').next().unwrap_or("");
    if FLAGS.iter().any(|flag| flag.long == name) {
        OsString::from(format!("-{text}"))
    } else {
        arg
    }
}

/// Read every argument into [`RawArgs`]: a flag through its [`Action`] in [`FLAGS`], anything
/// else as a positional word. Refuses only what no command accepts (an unknown flag, a missing
/// value); [`super::validate`] decides what fits the command.
pub(super) fn read_raw(args: impl Iterator<Item = OsString>) -> Result<RawArgs> {
    use lexopt::Arg::{Long, Short, Value};
    let args: Vec<OsString> = args.collect();
    // An unknown letter of `-rwa` is reported as `-rwa`, the word the user typed, not as `-r`.
    let typed_with = |c: char| {
        args.iter()
            .filter_map(|arg| arg.to_str())
            .find(|arg| !arg.starts_with("--") && arg.starts_with('-') && arg[1..].contains(c))
            .map_or_else(
                || format!("-{c}"),
                |arg| arg.split('=').next().unwrap_or(arg).to_string(),
            )
    };
    let mut parser = lexopt::Parser::from_args(args.clone());
    let mut raw = RawArgs::default();
    let usage = |e: lexopt::Error| Error::Usage(e.to_string());
    while let Some(arg) = parser.next().map_err(usage)? {
        let flag = match arg {
            Long(name) => FLAGS
                .iter()
                .find(|flag| flag.long == name)
                .ok_or_else(|| not_defined(&format!("--{name}")))?,
            Short(c) => match FLAGS.iter().find(|flag| flag.short == Some(c)) {
                Some(flag) => flag,
                None => return Err(not_defined(&typed_with(c))),
            },
            Value(value) => {
                raw.positionals.push(
                    value
                        .into_string()
                        .map_err(|_| Error::Usage("argument is not valid UTF-8".to_string()))?,
                );
                continue;
            }
        };
        raw.seen.push(flag);
        match flag.action {
            Action::Switch(field) => *field(&mut raw) = true,
            Action::Value { store, .. } => store(&mut raw, flag_value(&mut parser, flag)?),
            Action::List { field, .. } => {
                let value = flag_value(&mut parser, flag)?;
                field(&mut raw).extend(split_list(&value));
            }
        }
    }
    Ok(raw)
}

/// The Go tool's words for an unknown flag, `typed` as the user typed it, with the nearest
/// flag of the table when one is close: `flag provided but not defined: -rwa (did you mean
/// --raw?)`.
fn not_defined(typed: &str) -> Error {
    let name = typed.trim_start_matches('-');
    let nearest = FLAGS
        .iter()
        .map(|flag| (edit_distance(name, flag.long), flag))
        .filter(|(distance, flag)| {
            *distance <= 2 && *distance < name.len()
                || name.len() >= 3 && flag.long.starts_with(name)
        })
        .min_by_key(|(distance, _)| *distance);
    let hint = nearest
        .map(|(_, flag)| format!(" (did you mean --{}?)", flag.long))
        .unwrap_or_default();
    Error::Usage(format!("flag provided but not defined: {typed}{hint}"))
}

/// The Levenshtein distance of two words: the fewest letters inserted, removed or replaced to
/// turn one into the other.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1)
                .min(row[j] + 1)
                .min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

/// The value that follows `flag` (`--flag VALUE` or `--flag=VALUE`).
fn flag_value(parser: &mut lexopt::Parser, flag: &Flag) -> Result<String> {
    let name = flag.long;
    parser
        .value()
        .map_err(|_| Error::Usage(format!("flag needs an argument: --{name}")))?
        .into_string()
        .map_err(|_| Error::Usage(format!("--{name}: value is not valid UTF-8")))
}

/// The values of a list flag: comma-separated, trimmed, empty ones dropped.
fn split_list(value: &str) -> impl Iterator<Item = String> + '_ {
    value
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}
