//! Hostile inputs: a credential helper, a docker config or a push spec that the user does not
//! control ends the run within a bound, with a one-line error, in bounded memory.
//!
//! Every run goes through `outcome_within`, which limits its memory and kills it when it has
//! not ended in time, so that a regression fails here instead of hanging the test run.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use std::process::Command;
use std::time::Duration;
use support::{
    Mode, Outcome, Registry, Seeded, TempDir, bare_command, layout_dir, outcome_within, shared,
    write_file,
};

/// Long enough for any of these runs on a loaded machine; far shorter than a hang.
const BOUND: Duration = Duration::from_secs(15);

/// The helper timeout the helper tests set, in seconds.
const HELPER_TIMEOUT_SECS: &str = "2";

/// A registry that asks for credentials, so that the tool looks in the docker config.
fn registry() -> &'static (Registry, Seeded) {
    shared(Mode::TlsBasic)
}

/// `bare_command` trusting `reg`'s CA, with no credentials on the command line.
fn command_for(reg: &Registry, home: &TempDir) -> Command {
    let mut cmd = bare_command(home);
    let ca = reg.ca_cert().expect("a TLS registry");
    cmd.arg("--cacert").arg(ca);
    cmd
}

/// Installs `docker-credential-hostile` running `body` as the `credsStore` of `home`'s docker
/// config, on the `PATH` of `cmd`.
fn with_helper(cmd: &mut Command, home: &TempDir, body: &str) {
    let bin = home.path().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let script = write_file(
        &bin,
        "docker-credential-hostile",
        &format!("#!/bin/sh\n{body}\n"),
    );
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    write_file(
        &home.path().join("docker-config"),
        "config.json",
        r#"{"credsStore":"hostile"}"#,
    );
    let path = std::env::var("PATH").unwrap_or_default();
    cmd.env("PATH", format!("{}:{path}", bin.display()));
}

fn inspect_list(reg: &Registry, cmd: &mut Command) -> Outcome {
    cmd.args(["inspect", &format!("{}/docker/app:list", reg.host())]);
    outcome_within(cmd, BOUND)
}

#[test]
fn a_credential_helper_that_never_answers_is_stopped_after_the_helper_timeout() {
    let (reg, _) = registry();
    let home = TempDir::new("mt-hostile");
    let mut cmd = command_for(reg, &home);
    with_helper(&mut cmd, &home, "sleep 1000");
    cmd.env("MANIFEST_TOOL_HELPER_TIMEOUT_SECS", HELPER_TIMEOUT_SECS);
    let run = inspect_list(reg, &mut cmd);
    let line = run.fails_with("credential helper docker-credential-hostile did not answer");
    assert!(line.contains("within 2 s"), "{line}");
}

#[test]
fn a_credential_helper_whose_background_child_keeps_its_output_open_still_answers() {
    let (reg, seeded) = registry();
    let home = TempDir::new("mt-hostile");
    let pid_file = home.path().join("background.pid");
    let mut cmd = command_for(reg, &home);
    with_helper(
        &mut cmd,
        &home,
        &format!(
            "cat >/dev/null\nsleep 1000 &\necho $! > '{}'\n\
             printf '{{\"ServerURL\":\"x\",\"Username\":\"{}\",\"Secret\":\"{}\"}}'",
            pid_file.display(),
            support::USERNAME,
            support::PASSWORD
        ),
    );
    // A helper timeout far longer than the bound: the answer must not wait for it.
    cmd.env("MANIFEST_TOOL_HELPER_TIMEOUT_SECS", "600");
    let run = inspect_list(reg, &mut cmd);
    if let Ok(pid) = std::fs::read_to_string(&pid_file) {
        let _ = Command::new("kill").arg(pid.trim()).status();
    }
    let run = run.success();
    assert!(run.out().contains(&seeded.docker_list), "{}", run.out());
}

#[test]
fn a_credential_helper_that_prints_10_mb_is_refused() {
    let (reg, _) = registry();
    let home = TempDir::new("mt-hostile");
    let mut cmd = command_for(reg, &home);
    with_helper(
        &mut cmd,
        &home,
        "cat >/dev/null\nhead -c 10000000 /dev/zero | tr '\\0' a",
    );
    let run = inspect_list(reg, &mut cmd);
    run.fails_with("credential helper docker-credential-hostile printed more than 64 KiB");
}

#[test]
fn a_docker_config_that_is_a_fifo_is_refused() {
    let (reg, _) = registry();
    let home = TempDir::new("mt-hostile");
    let fifo = home.path().join("config.fifo");
    support::run(Command::new("mkfifo").arg(&fifo));
    let mut cmd = command_for(reg, &home);
    cmd.arg("--docker-cfg").arg(&fifo);
    let run = inspect_list(reg, &mut cmd);
    run.fails_with(&format!(
        "docker config {} is not a regular file",
        fifo.display()
    ));
}

/// `push from-spec FILE --dry-run` into a layout, in bounded time and memory.
fn push_spec(home: &TempDir, file: &str) -> Outcome {
    let mut cmd = bare_command(home);
    cmd.args(["push", "--dry-run", "from-spec", file]);
    outcome_within(&cmd, BOUND)
}

#[test]
fn a_spec_that_is_dev_zero_is_refused() {
    let home = TempDir::new("mt-hostile");
    push_spec(&home, "/dev/zero").fails_with("spec /dev/zero is not a regular file");
}

#[test]
fn a_spec_that_is_a_fifo_is_refused() {
    let home = TempDir::new("mt-hostile");
    let fifo = home.path().join("spec.fifo");
    support::run(Command::new("mkfifo").arg(&fifo));
    push_spec(&home, &fifo.display().to_string())
        .fails_with(&format!("spec {} is not a regular file", fifo.display()));
}

#[test]
fn a_spec_larger_than_4_mib_is_refused() {
    let home = TempDir::new("mt-hostile");
    let spec = write_file(
        home.path(),
        "big.yaml",
        &format!("# {}\n", "x".repeat(5 << 20)),
    );
    push_spec(&home, &spec).fails_with(&format!("spec {spec} is larger than 4 MiB"));
}

#[test]
fn a_spec_that_expands_one_string_20000_times_is_refused_at_once() {
    let home = TempDir::new("mt-hostile");
    let mut text = format!(
        "image: oci-layout://{}/out:v1\ntags:\n  - &big {}\n",
        home.path().display(),
        "a".repeat(1 << 20)
    );
    for _ in 0..20_000 {
        text.push_str("  - *big\n");
    }
    text.push_str("manifests: []\n");
    let spec = write_file(home.path(), "bomb.yaml", &text);
    push_spec(&home, &spec).fails_with(&format!("spec {spec} uses more than 100 YAML aliases"));
}

#[test]
fn a_deeply_nested_spec_is_refused_at_once() {
    let home = TempDir::new("mt-hostile");
    let text = format!("image: {}\n", "[".repeat(200_000));
    let spec = write_file(home.path(), "deep.yaml", &text);
    push_spec(&home, &spec).fails_with(&format!(
        "spec {spec} nests values more than 64 levels deep"
    ));
}

#[test]
fn a_spec_with_a_few_anchors_still_works() {
    let home = TempDir::new("mt-hostile");
    let layout = layout_dir().display();
    let text = format!(
        "image: oci-layout://{out}/out:v1\n\
         tags: [&extra v1-extra]\n\
         annotations:\n  org.example.tag: *extra\n\
         manifests:\n\
         \x20 - image: oci-layout://{layout}:linux-amd64\n\
         \x20   platform: {{os: &os linux, architecture: amd64}}\n\
         \x20 - image: oci-layout://{layout}:linux-arm64-v8\n\
         \x20   platform: {{os: *os, architecture: arm64, variant: v8}}\n",
        out = home.path().display()
    );
    let spec = write_file(home.path(), "anchors.yaml", &text);
    let run = push_spec(&home, &spec).success();
    assert!(
        run.out().contains(r#""architecture": "arm64""#),
        "{}",
        run.out()
    );
    assert!(
        run.out().contains(r#""org.example.tag": "v1-extra""#),
        "{}",
        run.out()
    );
}
