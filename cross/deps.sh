#!/usr/bin/env bash
# Install every tool the release builds and their checks need, at the versions pinned in
# cross/versions.env, on a Debian 12 x86_64 machine (as root, or with sudo for apt).
#
# usage: cross/deps.sh [--ci]
#   (no flag)  everything `make cross`, `make cross-smoke`, `make release` and the tests use
#   --ci       the subset `make ci-cross` uses: the linux-arm64 and windows-amd64 builds
#              (stable Rust with rust-src and both targets, clang, rust-lld, mingw-w64), qemu,
#              wine, the smoke test's registry, skopeo and htpasswd, gpg, actionlint
#
# Where things go:
#   apt packages       the system
#   Rust toolchains    rustup ($RUSTUP_HOME), minimal profile
#   zig, actionlint    a Python venv in $CROSS_TOOLS/venv
#   cargo-zigbuild     $CROSS_TOOLS/bin
# CROSS_TOOLS defaults to ~/.cache/manifest-tool-cross; the Makefile puts both on PATH.
# Each step is skipped when the pinned version is already there, so a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=cross/versions.env
source cross/versions.env

CI_ONLY=false
case "${1:-}" in
    --ci) CI_ONLY=true ;;
    "") ;;
    *) echo "usage: $0 [--ci]" >&2; exit 2 ;;
esac
CROSS_TOOLS="${CROSS_TOOLS:-$HOME/.cache/manifest-tool-cross}"

say() { printf '==> %s\n' "$*"; }

# --- Debian packages --------------------------------------------------------------------------
# name=version pairs; apt is called only if one of them is missing or at another version.
apt_wanted=(
    "clang=$DEB_CLANG"                       # C compiler for ring on linux-arm64
    "llvm=$DEB_LLVM"                         # llvm-ar for that build
    "qemu-user-static=$DEB_QEMU_USER_STATIC" # runs the foreign binaries in the smoke test
    "file=$DEB_FILE"                         # checks they are static / Mach-O
    "gnupg=$DEB_GNUPG"                       # release signatures
    "docker-registry=$DEB_DOCKER_REGISTRY"   # the smoke test's registry
    "skopeo=$DEB_SKOPEO"                     # seeds it and reads back what was pushed
    "python3-venv=$DEB_PYTHON3_VENV"         # the venv for zig and actionlint
    "shellcheck=$DEB_SHELLCHECK"             # lints cross/*.sh, install.sh, workflow steps
    "curl=$DEB_CURL"                         # install.sh's test uses both downloaders
    "wget=$DEB_WGET"
    "gcc-mingw-w64-x86-64-win32=$DEB_MINGW_GCC"  # C compiler and linker for windows-amd64
    "wine64=$DEB_WINE64"                     # runs it in the smoke test
    "apache2-utils=$DEB_APACHE2_UTILS"       # htpasswd: that test's registry user
)
apt_missing=()
for pair in "${apt_wanted[@]}"; do
    name="${pair%%=*}" version="${pair#*=}"
    have="$(dpkg-query -W -f='${Status} ${Version}' "$name" 2>/dev/null || true)"
    [ "$have" = "install ok installed $version" ] || apt_missing+=("$pair")
done
if [ "${#apt_missing[@]}" -gt 0 ]; then
    say "apt: ${apt_missing[*]}"
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update -qq
    if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        --allow-downgrades "${apt_missing[@]}"; then
        # A Debian point release retires old versions. For CI's subset a current version is
        # good enough; a release build insists on the pins (bump them in cross/versions.env).
        $CI_ONLY || exit 1
        say "apt: pinned versions unavailable; installing the current ones for CI"
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
            "${apt_missing[@]%%=*}"
    fi
else
    say "apt packages: all at the pinned versions"
fi

# --- Rust toolchains and targets --------------------------------------------------------------
# rustup skips what it already has; --profile minimal keeps a fresh install small.
# The stable toolchain builds linux-arm64 and windows-amd64, their std rebuilt from rust-src
# (and cargo-zigbuild); the nightly one, whose std is rebuilt from rust-src too, all the other
# platforms.
say "rustup: $RUST_STABLE with rust-src, aarch64-unknown-linux-musl and x86_64-pc-windows-gnu"
rustup toolchain install "$RUST_STABLE" --profile minimal --no-self-update >/dev/null
rustup component add --toolchain "$RUST_STABLE" rust-src >/dev/null
rustup target add --toolchain "$RUST_STABLE" aarch64-unknown-linux-musl \
    x86_64-pc-windows-gnu >/dev/null
if ! $CI_ONLY; then
    say "rustup: $RUST_NIGHTLY with rust-src (for -Zbuild-std)"
    rustup toolchain install "$RUST_NIGHTLY" --profile minimal --component rust-src \
        --no-self-update >/dev/null
fi

# --- Python tools in a venv -------------------------------------------------------------------
venv="$CROSS_TOOLS/venv"
pip_wanted=("$ACTIONLINT_PYPI==$ACTIONLINT_VERSION")
$CI_ONLY || pip_wanted+=("ziglang==$ZIGLANG_VERSION")
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
pip_missing=()
for spec in "${pip_wanted[@]}"; do
    name="${spec%%==*}" version="${spec#*==}"
    have="$("$venv/bin/python" -c 'import sys
from importlib import metadata
try: print(metadata.version(sys.argv[1]))
except metadata.PackageNotFoundError: pass' "$name")"
    [ "$have" = "$version" ] || pip_missing+=("$spec")
done
if [ "${#pip_missing[@]}" -gt 0 ]; then
    say "pip: ${pip_missing[*]}"
    "$venv/bin/pip" install -q --disable-pip-version-check "${pip_missing[@]}"
else
    say "pip packages: all at the pinned versions"
fi

# --- cargo-zigbuild ---------------------------------------------------------------------------
if ! $CI_ONLY; then
    have="$("$CROSS_TOOLS/bin/cargo-zigbuild" --version 2>/dev/null || true)"
    if [ "$have" = "cargo-zigbuild $CARGO_ZIGBUILD_VERSION" ]; then
        say "cargo-zigbuild $CARGO_ZIGBUILD_VERSION: present"
    else
        say "cargo install cargo-zigbuild $CARGO_ZIGBUILD_VERSION (about 4 minutes on 2 cores)"
        cargo "+$RUST_STABLE" install --quiet --locked --root "$CROSS_TOOLS" \
            "cargo-zigbuild@$CARGO_ZIGBUILD_VERSION"
    fi
fi

# --- qemu-loongarch64 from bookworm-backports -------------------------------------------------
# Debian 12's qemu cannot run linux-loong64 (cross/versions.env says why). The backports suite's
# qemu-user is downloaded with a private apt configuration in $CROSS_TOOLS/apt, from the mirror
# this machine already uses for Debian 12 and checked by apt against the suite's signed index;
# only its qemu-loongarch64 is kept, as $CROSS_TOOLS/bin/qemu-loongarch64. The system's apt
# sources and its qemu stay as they are.
if ! $CI_ONLY; then
    qemu_la="$CROSS_TOOLS/bin/qemu-loongarch64"
    if "$qemu_la" --version 2>/dev/null | head -n1 | grep -qF "(Debian $DEB_BPO_QEMU_USER)"; then
        say "qemu-loongarch64 $DEB_BPO_QEMU_USER: present"
    else
        say "qemu-loongarch64 from qemu-user $DEB_BPO_QEMU_USER (bookworm-backports)"
        # shellcheck disable=SC2016 # $(REPO_URI) is apt's format, not the shell's
        mirror="$(apt-get indextargets --no-release-info --format '$(REPO_URI)' \
            'Identifier: Packages' 'Release: bookworm' | head -n1)"
        [ -n "$mirror" ] || { echo "no apt source for Debian 12 (bookworm) on this machine" >&2; exit 1; }
        apt_dir="$CROSS_TOOLS/apt"
        rm -rf "$apt_dir"
        mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" "$apt_dir/deb"
        echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror bookworm-backports main" \
            >"$apt_dir/sources.list"
        apt_private=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
            -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
            -o APT::Sandbox::User="$(id -un)")
        apt-get "${apt_private[@]}" update -qq
        if ! (cd "$apt_dir/deb" && apt-get "${apt_private[@]}" download -qq "qemu-user=$DEB_BPO_QEMU_USER"); then
            echo "bookworm-backports has no qemu-user $DEB_BPO_QEMU_USER; its current version:" >&2
            apt-cache "${apt_private[@]}" policy qemu-user | sed -n 's/^ *Candidate: //p' >&2
            echo "(put it in cross/versions.env as DEB_BPO_QEMU_USER)" >&2
            exit 1
        fi
        dpkg-deb -x "$apt_dir"/deb/qemu-user_*.deb "$apt_dir/root"
        mkdir -p "$CROSS_TOOLS/bin"
        install -m 0755 "$apt_dir/root/usr/bin/qemu-loongarch64" "$qemu_la"
        rm -rf "$apt_dir/deb" "$apt_dir/root" "$apt_dir/cache"
        "$qemu_la" --version | head -n1 | grep -qF "(Debian $DEB_BPO_QEMU_USER)"
    fi
fi
say "done; tools in $CROSS_TOOLS"
