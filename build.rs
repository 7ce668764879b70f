//! Records the git commit the binary is built from, for `--version`.
//! `MANIFEST_TOOL_COMMIT` overrides it (release builds from a tarball set it).

use std::process::Command;

fn main() {
    println!("cargo:rerun-if-env-changed=MANIFEST_TOOL_COMMIT");
    println!("cargo:rerun-if-changed=.git/HEAD");
    println!("cargo:rerun-if-changed=.git/refs/heads");
    let commit = std::env::var("MANIFEST_TOOL_COMMIT").ok().or_else(|| {
        let output = Command::new("git")
            .args(["rev-parse", "--short=12", "HEAD"])
            .output()
            .ok()?;
        output
            .status
            .success()
            .then(|| String::from_utf8_lossy(&output.stdout).trim().to_string())
    });
    let commit = commit
        .filter(|c| !c.is_empty())
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=MANIFEST_TOOL_COMMIT={commit}");
}
