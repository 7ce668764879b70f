//! The `--help` pages: hand-written usage and prose, then the flags each command accepts,
//! generated from [`FLAGS`] so that a flag's help is written once.

use super::flags::{FLAGS, Scope};

/// One page of help.
#[derive(Debug)]
pub(super) struct Page {
    /// The title, usage lines and any prose, ending with a blank line.
    intro: &'static str,
    /// The heading of the flag list.
    heading: &'static str,
    /// Whose flags the page lists, in this order.
    pub(super) scopes: &'static [Scope],
}

/// Where a flag's help starts: three columns past the longest flag, `--docker-cfg PATH`.
pub(super) const HELP_COLUMN: usize = 22;

/// The text of `page`.
pub(super) fn text(page: &Page) -> String {
    let mut text = page.intro.to_string();
    if !page.scopes.is_empty() {
        text.push_str(&format!("{}\n", page.heading));
    }
    for scope in page.scopes {
        for flag in FLAGS.iter().filter(|flag| flag.scope == *scope) {
            let mut lines = flag.help.lines();
            let first = lines.next().unwrap_or_default();
            let usage = format!("  {}", flag.usage());
            text.push_str(&format!("{usage:<HELP_COLUMN$}{first}\n"));
            for line in lines {
                text.push_str(&format!("{:HELP_COLUMN$}{line}\n", ""));
            }
        }
    }
    text
}

/// `manifest-tool --help`.
pub(super) const MAIN: Page = Page {
    intro: "\
manifest-tool: inspect and push manifest list (multi-platform) images in OCI / Docker v2 registries

Usage:
  manifest-tool [global flags] inspect [--raw [--expand-config] | --format FMT] IMAGE
  manifest-tool [global flags] push [--type docker|oci] from-spec [--ignore-missing] [--dry-run] [--always-push] FILE.yaml
  manifest-tool [global flags] push [--type docker|oci] from-args --platforms P[,P...]
                --template T --target IMAGE [--tags t1,t2] [--annotations k=v,...]
                [--ignore-missing] [--dry-run] [--always-push]
  manifest-tool [global flags] test-registry [--format text|json] [--keep] REPOSITORY
  manifest-tool completion bash|zsh|fish
  manifest-tool --version | --help | help [COMMAND]

IMAGE is a registry reference (registry:5000/app:1.0, busybox:1.36, app@sha256:...) or an
OCI image layout directory: oci-layout://PATH[:TAG][@DIGEST] (oci-layout://out:v1).

",
    heading: "Global flags (before or after the command):",
    scopes: &[Scope::Global],
};

/// `manifest-tool inspect --help`.
pub(super) const INSPECT: Page = Page {
    intro: "\
manifest-tool inspect: show an image manifest or manifest list

Usage:
  manifest-tool [global flags] inspect [flags] IMAGE

IMAGE is a registry reference (registry:5000/app:1.0, app@sha256:...) or an OCI image
layout directory: oci-layout://PATH[:TAG][@DIGEST]. Without a tag or a digest, IMAGE:latest.

",
    heading: "Flags:",
    scopes: &[Scope::Inspect, Scope::Output],
};

/// `manifest-tool push --help`.
pub(super) const PUSH: Page = Page {
    intro: "\
manifest-tool push: create and push a manifest list or OCI index

Usage:
  manifest-tool [global flags] push [--type docker|oci] from-spec [--ignore-missing] [--dry-run] [--always-push] FILE.yaml
  manifest-tool [global flags] push [--type docker|oci] from-args --platforms P[,P...]
                --template T --target IMAGE [--tags t1,t2] [--annotations k=v,...]
                [--ignore-missing] [--dry-run] [--always-push]

Sources and the target are registry references or oci-layout://PATH[:TAG] directories.
See help push from-spec (the YAML file) and help push from-args.

",
    heading: "Flags:",
    scopes: &[Scope::Push],
};

/// `manifest-tool push from-spec --help`: the YAML schema, every key.
pub(super) const FROM_SPEC: Page = Page {
    intro: "\
manifest-tool push from-spec: push a manifest list described by a YAML file

Usage:
  manifest-tool [global flags] push [--type docker|oci] from-spec [--ignore-missing] [--dry-run] [--always-push] FILE.yaml

The YAML file (every key; unknown keys are errors):
  image: registry:5000/app:1.0            # the list to push; needs a tag
  tags: ['1', 'latest']                   # optional: extra tags for the same list
  annotations: {org.example.key: value}   # optional: index annotations; an OCI index
  manifests:                              # the images, in order
    - image: registry:5000/app:1.0-arm64  # tag or digest; a list is flattened
      platform:                           # optional: empty keys are read from the image
        architecture: arm64
        os: linux
        variant: v8
        features: [sse]                   # CPU features (Docker lists only)
        osversion: 10.0.17763.2565        # or os.version
        osfeatures: [win32k]              # or os.features
    - image: oci-layout://layout:amd64    # an OCI image layout directory

",
    heading: "Flags:",
    scopes: &[Scope::Push],
};

/// `manifest-tool push from-args --help`.
pub(super) const FROM_ARGS: Page = Page {
    intro: "\
manifest-tool push from-args: push a manifest list named by a template

Usage:
  manifest-tool [global flags] push [--type docker|oci] from-args --platforms P[,P...]
                --template T --target IMAGE [--tags t1,t2] [--annotations k=v,...]
                [--ignore-missing] [--dry-run] [--always-push]

OS, ARCH and VARIANT in the template are replaced by each platform's parts; an empty
VARIANT also removes the '-', '_', '.' or '/' before it (OS-ARCH-VARIANT gives linux-amd64
and linux-arm-v7). IMAGE may be oci-layout://PATH:TAG.

",
    heading: "Flags:",
    scopes: &[Scope::PushFromArgs, Scope::Push],
};

/// `manifest-tool help completion`: how to install the scripts.
pub(super) const COMPLETION: Page = Page {
    intro: "\
manifest-tool completion: print a shell completion script for bash, zsh or fish

Usage:
  manifest-tool completion bash|zsh|fish

Install it where the shell looks, for example:
  bash  manifest-tool completion bash > ~/.local/share/bash-completion/completions/manifest-tool
  zsh   manifest-tool completion zsh > \"${fpath[1]}/_manifest-tool\"
  fish  manifest-tool completion fish > ~/.config/fish/completions/manifest-tool.fish
",
    heading: "",
    scopes: &[],
};

/// `manifest-tool test-registry --help`.
pub(super) const TEST_REGISTRY: Page = Page {
    intro: "\
manifest-tool test-registry: check that a registry accepts what manifest lists need

Usage:
  manifest-tool [global flags] test-registry [--format text|json] [--keep] REPOSITORY

Pushes tiny images made on the spot to REPOSITORY (registry:5000/team/app) and mounts a blob
into REPOSITORY-sibling: one check per capability (auth, uploads, mounts, manifest, list and
index PUTs, attestations, tags, referrers, DELETE), each pass, fail or unsupported with the
registry's own words. Exits 1 when a check push relies on (REQUIRED) does not pass. Deletes
what it pushed unless --keep. Use --plain-http or --insecure as for push.

",
    heading: "Flags:",
    scopes: &[Scope::TestRegistry, Scope::Output],
};
