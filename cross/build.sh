#!/usr/bin/env bash
# Build static release binaries of manifest-tool for the named platforms, without a container
# engine, and copy them to OUT/manifest-tool-PLATFORM.
#
# usage: cross/build.sh [-o OUT] [-t TARGET_DIR] PLATFORM... | all
#   -o OUT         where the binaries go (default: dist)
#   -t TARGET_DIR  cargo's target dir (default: target/cross)
#   PLATFORM       linux-amd64 linux-386 linux-armv5 linux-armv6 linux-armv7 linux-arm64
#                  linux-ppc64le linux-s390x linux-riscv64 linux-loong64 linux-mips64le
#                  darwin-amd64 darwin-arm64 windows-amd64, or `all`: the Go manifest-tool's
#                  release set, under its asset names (windows-amd64: manifest-tool-windows-amd64.exe)
#
# Expects the tools of `make cross-deps` (cross/deps.sh) on PATH; the Makefile sets that up.
#
# Routes (what works on a Debian build machine without a container engine):
#   stable-std linux-arm64, the binary CI builds and smoke-tests: the pinned stable toolchain,
#              its prebuilt musl target and rust-src, rebuilds std (-Zbuild-std) at the
#              release profile's opt-level "z" with std's optimize_for_size feature and without
#              unwind tables; C compiled by clang, linked by rust-lld with the target's own
#              self-contained musl crt objects (no zig, no cross gcc, no sysroot). 1.48 MB,
#              against 1.97 MB with the prebuilt std, which left no headroom under 2 MB.
#              -Zbuild-std is unstable, so this one cargo command runs with RUSTC_BOOTSTRAP=1.
#              Why not the build-std route below: the pinned nightly ships no aarch64 musl std,
#              so it has no musl crt objects for that target and needs zig to supply them, and
#              zig plus cargo-zigbuild would add about 5 minutes and 400 MB to every CI run;
#              the stable toolchain already has them, and its rust-src is a few MB. The
#              toolchain is pinned, so the unstable flags cannot change under the build.
#   mingw      windows-amd64: the pinned stable toolchain, its prebuilt x86_64-pc-windows-gnu
#              target and rust-src, rebuilds std (-Zbuild-std, RUSTC_BOOTSTRAP=1 as above) at
#              opt-level "z" with optimize_for_size; Debian's mingw-w64 gcc compiles ring's C
#              and links. 1.97 MB, against 2.2 MB with the prebuilt std. No zig: the same
#              toolchain and one Debian package, so CI can build and run it (under wine).
#              Unwind tables stay: x64 Windows needs them for every function. The linker is
#              told not to stamp the PE header with the time (--no-insert-timestamp).
#   build-std  all the others: the pinned nightly rebuilds std (-Zbuild-std) at the release
#              profile's opt-level "z" with std's optimize_for_size feature, and zig (through
#              cargo-zigbuild) compiles C and links (for macOS: with the deployment target, and
#              zig ad-hoc signs arm64). Needed for the arm, ppc64le, s390x, riscv64, loong64
#              and mips64le targets, which have no prebuilt musl std here (mips64el's is tier
#              3, never prebuilt); chosen for linux-amd64, 386 and macOS for size: with the
#              prebuilt std linux-amd64 is 2.3 MB, over the 2 MB limit, and darwin-amd64
#              1.95 MB; rebuilt, and without unwind tables on Linux, 1.77 MB and 1.68 MB.
# Every Linux binary is a static musl executable; the static-glibc fallback is not used.
#
# Reproducibility: the same commit gives byte-identical Linux binaries wherever the source,
# target dir, cargo home and rustup home are, because every such path is remapped to a fixed
# one (--remap-path-prefix), the commit for --version comes from git, and SOURCE_DATE_EPOCH is
# the commit's time (nothing in the build embeds a clock; exported for any tool that would).
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=cross/versions.env
source "$SRC/cross/versions.env"

OUT="dist"
TARGET_DIR="$SRC/target/cross"
while getopts "o:t:" opt; do
    case "$opt" in
        o) OUT="$OPTARG" ;;
        t) TARGET_DIR="$OPTARG" ;;
        *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ "$#" -gt 0 ] || { sed -n '5,12p' "$0" >&2; exit 2; }
mkdir -p "$OUT" "$TARGET_DIR"
OUT="$(cd "$OUT" && pwd)"
TARGET_DIR="$(cd "$TARGET_DIR" && pwd)"

ALL=(linux-amd64 linux-386 linux-armv5 linux-armv6 linux-armv7 linux-arm64 linux-ppc64le
     linux-s390x linux-riscv64 linux-loong64 linux-mips64le darwin-amd64 darwin-arm64
     windows-amd64)
[ "$*" = all ] && set -- "${ALL[@]}"

# platform -> "rust-target route [MACOSX_DEPLOYMENT_TARGET]"
# The arm ones match Go's GOARM: v5 soft-float (ARMv5TE), v6 and v7 hard-float (VFP). 386 is
# i686 (SSE2, as Go's default GO386=sse2).
declare -A PLATFORMS=(
    [linux-amd64]="x86_64-unknown-linux-musl build-std"
    [linux-386]="i686-unknown-linux-musl build-std"
    [linux-armv5]="armv5te-unknown-linux-musleabi build-std"
    [linux-armv6]="arm-unknown-linux-musleabihf build-std"
    [linux-armv7]="armv7-unknown-linux-musleabihf build-std"
    [linux-arm64]="aarch64-unknown-linux-musl stable-std"
    [linux-ppc64le]="powerpc64le-unknown-linux-musl build-std"
    [linux-s390x]="s390x-unknown-linux-musl build-std"
    [linux-riscv64]="riscv64gc-unknown-linux-musl build-std"
    [linux-loong64]="loongarch64-unknown-linux-musl build-std"
    [linux-mips64le]="mips64el-unknown-linux-muslabi64 build-std"
    [darwin-amd64]="x86_64-apple-darwin build-std 10.12"
    [darwin-arm64]="aarch64-apple-darwin build-std 11.0"
    [windows-amd64]="x86_64-pc-windows-gnu mingw"
)

# Inputs that would otherwise differ between machines or runs.
if git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
    : "${MANIFEST_TOOL_COMMIT:=$(git -C "$SRC" rev-parse --short=12 HEAD)}"
    : "${SOURCE_DATE_EPOCH:=$(git -C "$SRC" log -1 --format=%ct)}"
fi
export MANIFEST_TOOL_COMMIT="${MANIFEST_TOOL_COMMIT:-unknown}"
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-0}"
export CARGO_TARGET_DIR="$TARGET_DIR"
export CARGO_INCREMENTAL=0
CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}"
RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"

# Download the crates first, so that the registry directory below exists on a fresh machine too.
(cd "$SRC" && cargo "+$RUST_STABLE" fetch --locked --quiet)
# Later remaps win, so the more specific ones come later: crates' sources under cargo home, the
# target dir (which may sit inside the source dir) last.
REMAP="--remap-path-prefix=$CARGO_HOME=/cargo --remap-path-prefix=$RUSTUP_HOME=/rustup"
for registry in "$CARGO_HOME"/registry/src/*/; do
    if [ -d "$registry" ]; then REMAP+=" --remap-path-prefix=${registry%/}=/deps"; fi
done
REMAP+=" --remap-path-prefix=$SRC=/src --remap-path-prefix=$TARGET_DIR=/target"

for platform in "$@"; do
    spec="${PLATFORMS[$platform]:-}"
    [ -n "$spec" ] || { echo "unknown platform: $platform (known: ${ALL[*]})" >&2; exit 2; }
    read -r target route macos_min <<<"$spec"
    # Flags and tools go in per-target variables only: a global RUSTFLAGS would also reach
    # build scripts and, with -Zbuild-std, force std to be rebuilt for every change.
    var="$(tr 'a-z-' 'A-Z_' <<<"$target")"
    cc_var="$(tr '-' '_' <<<"$target")"
    rustflags="$REMAP"
    case "$route" in
        stable-std)
            # shellcheck disable=SC2054 # the commas belong to the flags' values
            cmd=(env RUSTC_BOOTSTRAP=1 cargo "+$RUST_STABLE" build -Zbuild-std=std,panic_abort
                 -Zbuild-std-features=optimize_for_size)
            export "CC_$cc_var=clang" "AR_$cc_var=llvm-ar" "CARGO_TARGET_${var}_LINKER=rust-lld"
            # Identical code folding: functions that compile to the same bytes (generic copies,
            # above all) are kept once.
            rustflags+=" -C link-arg=--icf=all"
            # With panic=abort nothing unwinds: the unwind tables would serve only a backtrace
            # after a panic.
            rustflags+=" -C force-unwind-tables=no"
            ;;
        mingw)
            # shellcheck disable=SC2054 # the commas belong to the flags' values
            cmd=(env RUSTC_BOOTSTRAP=1 cargo "+$RUST_STABLE" build -Zbuild-std=std,panic_abort
                 -Zbuild-std-features=optimize_for_size)
            export "CC_$cc_var=x86_64-w64-mingw32-gcc" "AR_$cc_var=x86_64-w64-mingw32-ar" \
                "CARGO_TARGET_${var}_LINKER=x86_64-w64-mingw32-gcc"
            rustflags+=" -C link-arg=-Wl,--no-insert-timestamp"
            ;;
        build-std)
            # shellcheck disable=SC2054 # the commas belong to the flags' values
            cmd=(cargo "+$RUST_NIGHTLY" zigbuild -Zbuild-std=std,panic_abort
                 -Zbuild-std-features=optimize_for_size)
            if [ -n "$macos_min" ]; then
                # Without it zig marks the binary as needing the newest macOS it knows.
                export MACOSX_DEPLOYMENT_TARGET="$macos_min"
            else
                # zig supplies musl's crt objects; rustc's self-contained copies are not
                # installed for these targets ("failed to open object crt1.o" without this).
                rustflags+=" -C link-self-contained=no"
                # With panic=abort nothing unwinds: the unwind tables (.eh_frame, about 12% of
                # the binary) would serve only a backtrace after a panic.
                rustflags+=" -C force-unwind-tables=no"
                # MIPS position-independent code goes through the GOT for every call and
                # needs 48 KB of run-time relocations: a static-pie mips64le is 2.2 MB, over
                # the limit. A plain static executable is all it needs to be.
                if [ "$target" = mips64el-unknown-linux-muslabi64 ]; then
                    rustflags+=" -C relocation-model=static"
                fi
            fi
            ;;
    esac
    export "CARGO_TARGET_${var}_RUSTFLAGS=$rustflags"
    echo "==> $platform: $target via $route${macos_min:+ (macOS $macos_min)}"
    (cd "$SRC" && "${cmd[@]}" --locked --release --target "$target" --bin manifest-tool)
    unset MACOSX_DEPLOYMENT_TARGET
    exe=""
    case "$platform" in windows-*) exe=".exe" ;; esac
    asset="manifest-tool-$platform$exe"
    cp "$TARGET_DIR/$target/release/manifest-tool$exe" "$OUT/$asset"
    if [ "$target" = mips64el-unknown-linux-muslabi64 ]; then
        # LLVM writes a MIPS procedure descriptor (.pdr, 32 bytes a function, about 180 KB
        # here) that nothing reads at run time and the linker's strip keeps; drop it as
        # strip drops debug sections.
        llvm-objcopy --remove-section=.pdr "$OUT/manifest-tool-$platform"
    fi
    echo "    $OUT/$asset: $(stat -c %s "$OUT/$asset") bytes"
done
