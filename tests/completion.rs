//! `manifest-tool completion bash|zsh|fish` and `make man`: written from the flag table, so
//! each names every flag of `--help`. The syntax of each script is checked by its shell where
//! that shell is installed (none of them is required).

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use std::process::Command;
use support::{TempDir, bare_command, outcome, write_file};

fn completion(shell: &str) -> String {
    let home = TempDir::new("mt-completion");
    outcome(bare_command(&home).args(["completion", shell]))
        .success()
        .out()
}

/// Every flag the help pages list, as `--long` and `-s`: what the completions must offer.
fn flags_in_help() -> Vec<String> {
    let home = TempDir::new("mt-completion-help");
    let mut flags = Vec::new();
    for page in [
        &["--help"][..],
        &["help", "inspect"],
        &["help", "push", "from-args"],
        &["help", "test-registry"],
    ] {
        let text = outcome(bare_command(&home).args(page)).success().out();
        for line in text
            .lines()
            .skip_while(|l| !l.ends_with("lags:") && !l.contains("flags ("))
        {
            let Some(usage) = line.strip_prefix("  -") else {
                continue;
            };
            let usage = format!("-{usage}");
            let usage = usage.split("  ").next().unwrap_or_default();
            for name in usage.split([',', ' ']).filter(|w| w.starts_with('-')) {
                if !flags.contains(&name.to_string()) {
                    flags.push(name.to_string());
                }
            }
        }
    }
    flags
}

#[test]
fn each_completion_names_every_flag_of_the_help() {
    let flags = flags_in_help();
    assert!(flags.len() >= 22, "{flags:?}");
    for shell in ["bash", "zsh", "fish"] {
        let script = completion(shell);
        for flag in &flags {
            let named = match (shell, flag.strip_prefix("--")) {
                ("fish", Some(long)) => format!(" -l {long} "),
                ("fish", None) => format!(" -s {} ", &flag[1..]),
                ("zsh", _) => format!("'{flag}:"),
                _ => format!("{flag} "),
            };
            assert!(
                script.contains(&named) || script.contains(&format!("{flag}'")),
                "{shell} completion lacks {flag}"
            );
        }
    }
}

#[test]
fn the_bash_completion_offers_the_flags_and_words_of_the_command_typed() {
    let dir = TempDir::new("mt-bash-completion");
    let script = write_file(dir.path(), "manifest-tool.bash", &completion("bash"));
    let complete = |words: &str| {
        let probe = format!(
            "source {script}; COMP_WORDS=({words}); COMP_CWORD=$((${{#COMP_WORDS[@]}}-1)); \
             _manifest_tool; echo \"${{COMPREPLY[*]}}\""
        );
        outcome(support::tool("bash").args(["-c", &probe]))
            .success()
            .out()
    };
    assert_eq!(complete("manifest-tool pu"), "push\n");
    assert_eq!(complete("manifest-tool push ''"), "from-spec from-args\n");
    assert_eq!(
        complete("manifest-tool push from-args --pl"),
        "--plain-http --platforms\n"
    );
    assert_eq!(complete("manifest-tool inspect --ex"), "--expand-config\n");
    assert_eq!(complete("manifest-tool push from-spec --ex"), "\n");
    assert_eq!(complete("manifest-tool completion ''"), "bash zsh fish\n");
    assert_eq!(complete("manifest-tool te"), "test-registry\n");
    assert_eq!(complete("manifest-tool test-registry --k"), "--keep\n");
    assert_eq!(complete("manifest-tool test-registry --fo"), "--format\n");
    assert_eq!(complete("manifest-tool inspect --fo"), "--format\n");
    assert_eq!(complete("manifest-tool inspect --ke"), "\n");
}

#[test]
fn each_completion_is_valid_for_its_shell_where_the_shell_is_installed() {
    let dir = TempDir::new("mt-completion-syntax");
    for shell in ["bash", "zsh", "fish"] {
        if Command::new(shell).arg("-c").arg("true").output().is_err() {
            eprintln!("{shell} is not installed: its syntax check is skipped");
            continue;
        }
        let script = write_file(
            dir.path(),
            &format!("completion.{shell}"),
            &completion(shell),
        );
        let checked = outcome(Command::new(shell).args(["-n", &script]));
        assert_eq!(checked.code, 0, "{shell} -n: {}", checked.stderr);
    }
}

#[test]
fn make_man_writes_a_man_page_with_every_flag() {
    let dir = TempDir::new("mt-man");
    let page = dir.path().join("manifest-tool.1");
    let made = outcome(
        Command::new("make")
            .args(["-s", "-C", env!("CARGO_MANIFEST_DIR"), "man"])
            .arg(format!("MAN_PAGE={}", page.display())),
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(text.starts_with(".TH MANIFEST-TOOL 1 "), "{text}");
    for flag in flags_in_help() {
        let roff = flag.replace('-', "\\-");
        assert!(
            text.contains(&format!("\\fB{roff}\\fR")),
            "the man page lacks {flag}"
        );
    }
    for section in ["NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "OPTIONS"] {
        assert!(text.contains(&format!(".SH {section}\n")), "no {section}");
    }
    if Command::new("man").arg("--version").output().is_ok() {
        let shown = outcome(Command::new("man").args(["-l", "-P", "cat"]).arg(&page));
        assert_eq!(shown.code, 0, "{}", shown.stderr);
        assert!(shown.out().contains("--platforms"), "{}", shown.out());
    }
}
