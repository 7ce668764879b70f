//! install.sh before and after the release workflow fills in the project's GitHub repository
//! (`make release-installer`). Nothing here downloads: a run stops at the first check it fails.
//! The downloads themselves are tested by `cross/test-install.sh` (`make test-install`).

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use std::path::Path;
use std::process::Command;
use support::{TempDir, outcome, tool};

const SOURCE: &str = env!("CARGO_MANIFEST_DIR");

/// `sh SCRIPT ARGS` with none of install.sh's variables set; (exit code, stderr).
fn install(script: &Path, args: &[&str]) -> (i32, String) {
    let mut cmd = tool("sh");
    cmd.arg(script).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("MANIFEST_TOOL_") {
            cmd.env_remove(name);
        }
    }
    let run = outcome(&mut cmd);
    (run.code, run.stderr)
}

#[test]
fn install_sh_refuses_in_one_line_until_the_repository_is_filled_in() {
    let script = Path::new(SOURCE).join("install.sh");
    // `--downloader ftp` stops a copy that lacked the check before any download.
    let (code, stderr) = install(
        &script,
        &["--platform", "linux-amd64", "--downloader", "ftp"],
    );
    assert_eq!(code, 1);
    assert_eq!(
        stderr,
        "install.sh: this install.sh does not name the project's GitHub repository: use the one \
         attached to a release, or give --base-url URL or MANIFEST_TOOL_REPO=owner/name\n"
    );
}

#[test]
fn the_released_install_sh_names_the_repository_and_nothing_else_changes() {
    let dist = TempDir::new("mt-installer");
    let made = outcome(
        Command::new("make")
            .args([
                "-s",
                "-C",
                SOURCE,
                "release-installer",
                "REPO=example-org/mt",
            ])
            .arg(format!("DIST={}", dist.path().display())),
    );
    assert_eq!(made.code, 0, "{}", made.stderr);
    let released = dist.path().join("install.sh");
    let original = std::fs::read_to_string(Path::new(SOURCE).join("install.sh")).unwrap();
    let filled = std::fs::read_to_string(&released).unwrap();
    assert_eq!(
        filled,
        original.replace(
            "\nGITHUB_REPO_DEFAULT=OWNER/manifest-tool\n",
            "\nGITHUB_REPO_DEFAULT=example-org/mt\n"
        )
    );
    assert_ne!(filled, original);
    // Past the repository check, it stops at the next one (no download is tried).
    let (code, stderr) = install(
        &released,
        &["--platform", "linux-amd64", "--downloader", "ftp"],
    );
    assert_eq!(code, 1);
    assert!(
        stderr.starts_with("install.sh: --downloader must be curl or wget, not ftp\n"),
        "{stderr}"
    );
    // A REPO that is not owner/name is refused.
    let refused = outcome(
        Command::new("make")
            .args(["-s", "-C", SOURCE, "release-installer", "REPO=owner"])
            .arg(format!("DIST={}", dist.path().display())),
    );
    assert_ne!(refused.code, 0);
}
