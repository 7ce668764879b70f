//! `manifest-tool completion bash|zsh|fish`: shell completion scripts written from the flag
//! table [`FLAGS`], so that a new flag completes without anyone editing a script.
//!
//! Each script finds the command being typed from the words on the line (`from-args`,
//! `from-spec`, `push`, `inspect`, `test-registry`, `completion`) and offers that command's flags after a `-`,
//! its next words otherwise, and file names where nothing else fits.

use super::flags::{FLAGS, Flag, Scope};
use std::fmt::Write;

/// A shell we write a completion script for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shell {
    /// bash, through `complete -F`.
    Bash,
    /// zsh, as a `#compdef` function (autoloaded from `$fpath`, or sourced).
    Zsh,
    /// fish, as `complete` commands.
    Fish,
}

impl Shell {
    /// The shell named `name` (`bash`, `zsh`, `fish`).
    pub fn parse(name: &str) -> Option<Shell> {
        match name {
            "bash" => Some(Shell::Bash),
            "zsh" => Some(Shell::Zsh),
            "fish" => Some(Shell::Fish),
            _ => None,
        }
    }
}

/// Where on the command line the user is: the word that, typed before, says so (empty: none
/// of them), the flags valid there (as the scopes named in [`var`]), and the words that may come
/// next. The first that matches wins.
const CONTEXTS: [(&str, &str, &str); 7] = [
    ("from-args", "g p a", ""),
    ("from-spec", "g p", ""),
    ("push", "g p", "from-spec from-args"),
    ("inspect", "g i o", ""),
    ("test-registry", "g t o", ""),
    ("completion", "", "bash zsh fish"),
    ("", "g", "inspect push test-registry help completion"),
];

/// The scopes, each with the shell variable that holds its flags in a script.
const SCOPES: [(Scope, &str); 6] = [
    (Scope::Global, "g"),
    (Scope::Inspect, "i"),
    (Scope::Push, "p"),
    (Scope::PushFromArgs, "a"),
    (Scope::TestRegistry, "t"),
    (Scope::Output, "o"),
];

/// The completion script for `shell`.
pub fn script(shell: Shell) -> String {
    match shell {
        Shell::Bash => bash(),
        Shell::Zsh => zsh(),
        Shell::Fish => fish(),
    }
}

/// The flags of `scope`, each with its names (`--long`, then `-s` if it has one).
fn flags_of(scope: Scope) -> impl Iterator<Item = (&'static Flag, Vec<String>)> {
    FLAGS.iter().filter(move |f| f.scope == scope).map(|flag| {
        let mut names = vec![format!("--{}", flag.long)];
        names.extend(flag.short.map(|c| format!("-{c}")));
        (flag, names)
    })
}

/// The `case` pattern of a context: the word anywhere on the line, or anything.
fn pattern(word: &str) -> String {
    if word.is_empty() {
        "*".to_string()
    } else {
        format!("*\" {word} \"*")
    }
}

/// One `case` arm a context, as `arm` writes it from the context's pattern, the expansion of
/// its flag variables and its next words (bash and zsh set the same things, in their syntax).
fn case_arms(out: &mut String, arm: fn(String, String, &str) -> String) {
    for (word, vars, next) in CONTEXTS {
        out.push_str(&arm(pattern(word), expand(vars), next));
    }
}

/// `$g $p`, the shell's expansion of the scope variables `vars` (`g p`).
fn expand(vars: &str) -> String {
    vars.split_whitespace()
        .map(|v| format!("${v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A flag's help on one line, quoted for a single-quoted shell word.
fn quoted_help(flag: &Flag) -> String {
    flag.help
        .lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .replace('\'', "'\\''")
}

fn bash() -> String {
    let mut out = String::from(
        "# bash completion for manifest-tool (written by: manifest-tool completion bash)\n\
         _manifest_tool() {\n    \
         local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n    \
         local line=\" ${COMP_WORDS[*]:0:COMP_CWORD} \" flags words\n",
    );
    for (scope, var) in SCOPES {
        let names: Vec<String> = flags_of(scope).flat_map(|(_, names)| names).collect();
        let _ = writeln!(out, "    local {var}='{}'", names.join(" "));
    }
    let values: Vec<String> = FLAGS
        .iter()
        .filter(|flag| flag.value_name().is_some())
        .map(|flag| format!("--{0}|-{0}", flag.long))
        .collect();
    let _ = write!(
        out,
        "    case $prev in\n        {}) COMPREPLY=(); return ;;\n    esac\n    case $line in\n",
        values.join("|")
    );
    case_arms(&mut out, |pattern, flags, next| {
        format!("        {pattern}) flags=\"{flags}\" words='{next}' ;;\n")
    });
    out.push_str(
        "    esac\n    \
         if [[ $cur == -* ]]; then words=$flags; fi\n    \
         COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n\
         }\n\
         complete -o default -F _manifest_tool manifest-tool\n",
    );
    out
}

fn zsh() -> String {
    let mut out = String::from(
        "#compdef manifest-tool\n\
         # zsh completion for manifest-tool (written by: manifest-tool completion zsh)\n\
         _manifest_tool() {\n  \
         local line=\" ${words[1,CURRENT-1]} \"\n  \
         local -a flags next\n",
    );
    for (scope, var) in SCOPES {
        let described: Vec<String> = flags_of(scope)
            .flat_map(|(flag, names)| {
                let help = quoted_help(flag);
                names
                    .into_iter()
                    .map(move |name| format!("'{name}:{help}'"))
            })
            .collect();
        let _ = writeln!(out, "  local -a {var}=({})", described.join(" "));
    }
    out.push_str("  case $line in\n");
    case_arms(&mut out, |pattern, flags, next| {
        format!("    {pattern}) flags=({flags}) next=({next}) ;;\n")
    });
    out.push_str(
        "  esac\n  \
         if [[ $PREFIX == -* ]]; then _describe -t flags flag flags\n  \
         elif (( $#next )); then compadd -a next\n  \
         else _files; fi\n\
         }\n\
         if [[ $zsh_eval_context[-1] == loadautofunc ]]; then _manifest_tool \"$@\"\n\
         else compdef _manifest_tool manifest-tool; fi\n",
    );
    out
}

fn fish() -> String {
    let mut out = String::from(
        "# fish completion for manifest-tool (written by: manifest-tool completion fish)\n\
         complete -c manifest-tool -f\n\
         complete -c manifest-tool -n __fish_use_subcommand -a 'inspect push test-registry help completion'\n\
         complete -c manifest-tool -n '__fish_seen_subcommand_from push; and not \
         __fish_seen_subcommand_from from-spec from-args' -a 'from-spec from-args'\n\
         complete -c manifest-tool -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'\n\
         complete -c manifest-tool -n '__fish_seen_subcommand_from from-spec' -F\n",
    );
    for (scope, _) in SCOPES {
        // The word after which the scope's flags are valid (none for global flags).
        let condition = match scope {
            Scope::Global => String::new(),
            Scope::Inspect => " -n '__fish_seen_subcommand_from inspect'".to_string(),
            Scope::Push => " -n '__fish_seen_subcommand_from push'".to_string(),
            Scope::PushFromArgs => " -n '__fish_seen_subcommand_from from-args'".to_string(),
            Scope::TestRegistry => " -n '__fish_seen_subcommand_from test-registry'".to_string(),
            Scope::Output => " -n '__fish_seen_subcommand_from inspect test-registry'".to_string(),
        };
        for (flag, _) in flags_of(scope) {
            let short = flag.short.map(|c| format!(" -s {c}")).unwrap_or_default();
            let value = if flag.value_name().is_some() {
                " -rF"
            } else {
                ""
            };
            let _ = writeln!(
                out,
                "complete -c manifest-tool{condition} -l {}{short}{value} -d '{}'",
                flag.long,
                quoted_help(flag)
            );
        }
    }
    out
}
