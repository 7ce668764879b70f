//! The command line as a script sees it: version, help, usage errors, colour on a terminal,
//! and proxies from the environment.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use support::{Mode, Registry, TempDir, bare_command, outcome, write_file};

fn run(args: &[&str]) -> support::Outcome {
    let home = TempDir::new("mt-cli");
    outcome(bare_command(&home).args(args))
}

#[test]
fn version_names_the_version_and_the_commit() {
    for flag in ["--version", "-v"] {
        let out = run(&[flag]).success().out();
        let rest = out
            .strip_prefix(&format!(
                "manifest-tool version {} (commit: ",
                env!("CARGO_PKG_VERSION")
            ))
            .unwrap_or_else(|| panic!("unexpected version line: {out:?}"));
        let commit = rest.strip_suffix(")\n").unwrap_or("");
        assert!(
            commit == "unknown"
                || (commit.len() >= 7 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
            "{out:?}"
        );
    }
}

#[test]
fn help_is_shown_for_each_command() {
    for (args, first_line) in [
        (&["--help"][..], "manifest-tool: inspect and push"),
        (&["help"][..], "manifest-tool: inspect and push"),
        (&["inspect", "--help"][..], "manifest-tool inspect:"),
        (&["help", "push"][..], "manifest-tool push:"),
        (
            &["push", "from-spec", "-h"][..],
            "manifest-tool push from-spec:",
        ),
        (
            &["push", "from-args", "--help"][..],
            "manifest-tool push from-args:",
        ),
    ] {
        let out = run(args).success().out();
        assert!(out.starts_with(first_line), "{args:?}: {out}");
    }
}

#[test]
fn usage_errors_are_one_line_with_exit_1() {
    for (args, fragment) in [
        (
            &["inspect", "--bogus", "a/b:c"][..],
            "flag provided but not defined: --bogus",
        ),
        (&["frobnicate"][..], "unknown command \"frobnicate\""),
        (&["push"][..], "push needs a subcommand"),
        (&["push", "from-spec"][..], "exactly one argument"),
        (
            &[
                "push",
                "from-args",
                "--platforms",
                "linux/amd64",
                "--target",
                "r/a:t",
            ][..],
            "push from-args requires --template",
        ),
        (
            &["push", "--type", "zip", "from-spec", "x.yaml"][..],
            "--type \"zip\"",
        ),
        (
            &["inspect", "--expand-config", "a/b:c"][..],
            "only valid when used with --raw",
        ),
        (
            &["inspect", "--username", "u", "a/b:c"][..],
            "--username needs --password",
        ),
        (
            &[
                "push",
                "from-args",
                "--platforms",
                "linux/amd64",
                "--template",
                "r/a:ARCH",
                "--target",
                "r/a",
            ][..],
            "target \"r/a\" must include a tag",
        ),
        (
            &["push", "from-spec", "/no/such/spec.yaml"][..],
            "/no/such/spec.yaml",
        ),
    ] {
        run(args).fails_with(fragment);
    }
}

#[test]
fn colour_only_on_a_terminal_and_never_with_no_color() {
    let reg = Registry::start(Mode::PlainHttp);
    support::seed(&reg);
    let name = format!("{}/docker/app:linux-amd64", reg.host());
    let binary = env!("CARGO_BIN_EXE_manifest-tool");
    let command = format!("{binary} --plain-http inspect {name}");
    let home = TempDir::new("mt-tty");
    // `script` gives the program a pseudo-terminal, as a user's shell would.
    let on_terminal = |no_color: bool| {
        let clean = bare_command(&home);
        let mut script = support::tool("script");
        script
            .args(["-qec", &command, "/dev/null"])
            .envs(clean.get_envs().filter_map(|(k, v)| v.map(|v| (k, v))));
        if !no_color {
            script.env_remove("NO_COLOR");
        }
        outcome(&mut script).success().out()
    };
    let coloured = on_terminal(false);
    assert!(coloured.contains("\u{1b}[1;33msha256:"), "{coloured:?}");
    let plain = on_terminal(true);
    assert!(!plain.contains('\u{1b}'), "{plain:?}");
    // Not a terminal: no colour even without NO_COLOR.
    let piped = outcome(bare_command(&home).env_remove("NO_COLOR").args([
        "--plain-http",
        "inspect",
        &name,
    ]))
    .success()
    .out();
    assert!(!piped.contains('\u{1b}'), "{piped:?}");
}

/// A forward proxy that records the request line it receives and answers 502. It is a fake
/// because its only job is to show that requests go to the proxy named in the environment.
fn recording_proxy() -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut line = String::new();
            let mut reader = BufReader::new(&stream);
            if reader.read_line(&mut line).is_ok() {
                record.lock().unwrap().push(line.trim().to_string());
            }
            // Read the rest of the request head before answering: closing with unread input
            // resets the connection, and the client may see the reset (a broken pipe) instead
            // of the 502.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 0) && header != "\r\n" {
                header.clear();
            }
            let mut stream = &stream;
            let _ = stream.write_all(
                b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            );
        }
    });
    (port, seen)
}

#[test]
fn proxies_from_the_environment_are_used_unless_no_proxy_says_otherwise() {
    let (port, seen) = recording_proxy();
    let home = TempDir::new("mt-proxy");
    let proxy = format!("http://127.0.0.1:{port}");
    // Plain HTTP through HTTP_PROXY (ureq tunnels with CONNECT for http as for https).
    let run = outcome(bare_command(&home).env("HTTP_PROXY", &proxy).args([
        "--plain-http",
        "inspect",
        "registry.example:5000/a/b:c",
    ]));
    run.fails_with("502");
    // HTTPS through HTTPS_PROXY, also with --insecure: the proxy gets a CONNECT.
    let run = outcome(bare_command(&home).env("HTTPS_PROXY", &proxy).args([
        "--insecure",
        "inspect",
        "registry.example:5000/a/b:c",
    ]));
    assert_eq!(run.code, 1);
    let lines = seen.lock().unwrap().clone();
    assert!(lines.len() >= 2, "both runs went to the proxy: {lines:#?}");
    assert!(
        lines
            .iter()
            .all(|l| l.starts_with("CONNECT registry.example:5000 ")),
        "{lines:#?}"
    );

    // NO_PROXY: straight to the (real) registry.
    let reg = Registry::start(Mode::PlainHttp);
    support::seed(&reg);
    let before = seen.lock().unwrap().len();
    outcome(
        bare_command(&home)
            .env("HTTP_PROXY", &proxy)
            .env("NO_PROXY", "127.0.0.1")
            .args([
                "--plain-http",
                "inspect",
                &format!("{}/docker/app:list", reg.host()),
            ]),
    )
    .success();
    let after = seen.lock().unwrap().clone();
    assert_eq!(after.len(), before, "the proxy was bypassed: {after:#?}");
}

#[test]
fn help_shows_layout_references() {
    for args in [
        &["--help"][..],
        &["help", "inspect"][..],
        &["help", "push"][..],
    ] {
        let out = run(args).success().out();
        assert!(out.contains("oci-layout://PATH[:TAG]"), "{args:?}: {out}");
    }
}

#[test]
fn help_of_an_unknown_topic_names_the_topic_not_help() {
    let line = run(&["help", "bogus"]).fails_with("no help for \"bogus\"");
    assert!(!line.contains("\"help\""), "{line}");
}

#[test]
fn file_errors_name_the_flag_or_variable_they_came_from() {
    let home = TempDir::new("mt-cacert");
    let missing = home.path().join("no-such.pem").display().to_string();
    let not_pem = write_file(home.path(), "not.pem", "hello\n");
    let inspect =
        |cmd: &mut std::process::Command| outcome(cmd.args(["inspect", "127.0.0.1:9/a/b:c"]));
    inspect(bare_command(&home).args(["--cacert", &missing]))
        .fails_with(&format!("--cacert {missing}: No such file or directory"));
    inspect(bare_command(&home).args(["--cacert", &not_pem]))
        .fails_with(&format!("--cacert {not_pem}: contains no PEM certificate"));
    inspect(bare_command(&home).env("SSL_CERT_FILE", &missing)).fails_with(&format!(
        "SSL_CERT_FILE {missing}: No such file or directory"
    ));
    let spec = home.path().join("no-such.yaml").display().to_string();
    run(&["push", "from-spec", &spec]).fails_with(&format!("spec {spec}: No such file"));
}

/// Run `push from-spec` on a spec file of `body` in `dir`; its error line after `spec FILE: `.
fn spec_error(dir: &TempDir, body: &str) -> String {
    let spec = write_file(dir.path(), "spec.yaml", body);
    let run = outcome(bare_command(dir).args(["push", "from-spec", &spec]));
    let prefix = format!("manifest-tool failed with error: spec {spec}: ");
    let line = run.fails_with("");
    line.strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{line}"))
        .to_string()
}

#[test]
fn two_entries_with_one_platform_name_the_spec_both_entries_and_the_platform() {
    let dir = TempDir::new("mt-dup");
    let layout = support::layout_dir().display().to_string();
    let target = dir.path().join("out").display().to_string();
    let body = format!(
        "image: oci-layout://{target}:v1\nmanifests:\n\
         \x20 - image: oci-layout://{layout}:linux-arm-v7\n\
         \x20 - image: oci-layout://{layout}:linux-amd64\n\
         \x20 - image: oci-layout://{layout}:linux-arm-v7\n"
    );
    assert_eq!(
        spec_error(&dir, &body),
        "manifests[0] and manifests[2] have the same platform linux/arm/v7; \
         a list needs one image per platform"
    );
    assert!(!dir.path().join("out").exists(), "nothing was written");
}

#[test]
fn yaml_type_errors_say_what_was_expected_in_yaml_words() {
    let dir = TempDir::new("mt-yaml-types");
    for (body, expected) in [
        (
            "- a\n",
            "invalid type: sequence, expected a mapping with the keys image and manifests",
        ),
        (
            "image: r/a:t\nmanifests: [5]\n",
            "manifests[0]: invalid type: integer `5`, expected a mapping with the keys image \
             and platform at line 2 column 13",
        ),
        (
            "image: r/a:t\nmanifests:\n  - {image: r/a:x, platform: [linux]}\n",
            "manifests[0].platform: invalid type: sequence, expected a mapping of architecture, \
             os, variant, features, osversion, osfeatures at line 3 column 30",
        ),
        (
            "image: r/a:t\ntags: {a: b}\nmanifests:\n  - image: r/a:x\n",
            "tags: invalid type: map, expected a sequence at line 2 column 7",
        ),
    ] {
        assert_eq!(spec_error(&dir, body), expected);
    }
}

/// The shell words of the README's `push from-args` example (backslash-newlines joined).
fn readme_from_args_example() -> Vec<String> {
    let readme = include_str!("../README.md");
    let section = readme
        .split("### push from-args")
        .nth(1)
        .expect("README has a push from-args section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the section starts with a sh example");
    block
        .replace("\\\n", " ")
        .split_whitespace()
        .map(str::to_string)
        .collect()
}

#[test]
fn the_readme_from_args_example_runs_as_written() {
    let words = readme_from_args_example();
    assert_eq!(
        words[..3],
        ["manifest-tool", "push", "from-args"],
        "{words:?}"
    );
    let reg = Registry::start(Mode::PlainHttp);
    support::seed(&reg);
    // The example's registry is `registry:5000`; the seeded images are under `docker/`.
    let registry = format!("{}/docker", reg.host());
    let args: Vec<String> = words[1..]
        .iter()
        .map(|word| word.replace("registry:5000", &registry))
        .collect();
    let home = TempDir::new("mt-readme");
    let out = outcome(bare_command(&home).arg("--plain-http").args(&args))
        .success()
        .out();
    assert!(out.starts_with("Digest: sha256:"), "{out}");
    let inspected = outcome(bare_command(&home).args([
        "--plain-http",
        "inspect",
        "--format",
        "platforms",
        &format!("{registry}/app:latest"),
    ]))
    .success()
    .out();
    assert_eq!(
        inspected,
        format!(
            "Image: {registry}/app:latest\n * Manifest List: Yes\n * Supported platforms:\n   \
             - linux/amd64\n   - linux/arm/v7\n   - linux/arm64/v8\n\n"
        )
    );
}
