#!/usr/bin/env bash
# Show that a build is reproducible: build PLATFORMs twice, from two copies of the work tree at
# different paths (one with its target dir inside, one outside), and compare sha256.
#
# usage: cross/reproducible.sh PLATFORM...    (default: linux-arm64)
#
# Both builds get the commit and SOURCE_DATE_EPOCH of this checkout's HEAD, as two `make cross`
# runs of the same commit do. The copies hold the tracked and untracked (not ignored) files, so
# uncommitted edits are built too. Each build starts from an empty target dir, std included:
# expect about 2.5 minutes per platform on 2 idle cores.
# Exits 1 if any platform's two binaries differ.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
[ "$#" -gt 0 ] || set -- linux-arm64

MANIFEST_TOOL_COMMIT="$(git -C "$SRC" rev-parse --short=12 HEAD)"
SOURCE_DATE_EPOCH="$(git -C "$SRC" log -1 --format=%ct)"
export MANIFEST_TOOL_COMMIT SOURCE_DATE_EPOCH

TMP="$(mktemp -d "${TMPDIR:-/tmp}/mt-repro.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
A="$TMP/a/manifest-tool"
B="$TMP/second-copy/somewhere/else/src"
mkdir -p "$A" "$B"
# One snapshot, copied: both builds see the same files even while others edit the tree.
# (--ignore-failed-read: a tracked file deleted in the work tree is simply not copied.)
(cd "$SRC" && git ls-files -z --cached --others --exclude-standard |
    tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -xf - -C "$A"
cp -a "$A/." "$B/"

echo "==> build 1: source $A, target dir $A/target"
"$A/cross/build.sh" -o "$TMP/out-1" -t "$A/target" "$@"
echo "==> build 2: source $B, target dir $TMP/target-2"
"$B/cross/build.sh" -o "$TMP/out-2" -t "$TMP/target-2" "$@"

status=0
for platform in "$@"; do
    asset="manifest-tool-$platform"
    case "$platform" in windows-*) asset+=".exe" ;; esac
    one="$(sha256sum "$TMP/out-1/$asset" | cut -d' ' -f1)"
    two="$(sha256sum "$TMP/out-2/$asset" | cut -d' ' -f1)"
    if [ "$one" = "$two" ]; then
        echo "reproducible  $platform  sha256 $one"
    else
        echo "DIFFERENT     $platform  sha256 $one vs $two"
        cmp -l "$TMP/out-1/$asset" "$TMP/out-2/$asset" |
            head -n 5 || true
        status=1
    fi
done
exit "$status"
