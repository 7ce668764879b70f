//! Hostile inputs: a credential helper, a docker config or a push spec that the user does not
//! control ends the run within a bound, with a one-line error, in bounded memory.
//!
//! Every run goes through `outcome_within`, which limits its memory and kills it when it has
//! not ended in time, so that a regression fails here instead of hanging the test run.

mod support;

use std::process::Command;
use std::time::Duration;
use support::{
    Mode, Outcome, Registry, Seeded, TempDir, bare_command, layout_dir, outcome_within, shared,
    write_file,
};

/// Long enough for any of these runs on a loaded machine; far shorter than a hang.
const BOUND: Duration = Duration::from_secs(15);

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

fn inspect_list(reg: &Registry, cmd: &mut Command) -> Outcome {
    cmd.args(["inspect", &format!("{}/docker/app:list", reg.host())]);
    outcome_within(cmd, BOUND)
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
