#!/usr/bin/env bash
# Write OUT (default DIST/image), a multi-platform OCI image layout of manifest-tool: one image
# per Linux release binary in DIST, FROM scratch, the binary at /manifest-tool as entrypoint,
# tagged VERSION (Cargo.toml's) and latest.
#
# usage: cross/image.sh [-d DIST] [-o OUT | -r REPOSITORY [-- GLOBAL_FLAG...]]
#   -r REPOSITORY  push to REPOSITORY:VERSION and REPOSITORY:latest in a registry instead, with
#                  the credentials of the docker config (DOCKER_CONFIG or ~/.docker) and the
#                  tool's global flags after -- (e.g. --plain-http)
#
# cross/image-layouts.py writes the single-platform images into a temporary layout; the tool
# itself (DIST's binary for this machine) joins them into an OCI image index in OUT with
# `push --type oci from-spec`, reading each image's platform from its config, as it does for
# any image. OUT is replaced.
# Byte-identical for the same binaries and commit: the layer's times are SOURCE_DATE_EPOCH
# (default: the commit's time), and nothing else in it depends on the machine or the clock.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
DIST="$SRC/dist"
OUT="" REPOSITORY=""
while getopts "d:o:r:" opt; do
    case "$opt" in
        d) DIST="$OPTARG" ;;
        o) OUT="$OPTARG" ;;
        r) REPOSITORY="$OPTARG" ;;
        *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ "$#" -eq 0 ] || [ -n "$REPOSITORY" ] || { echo "image.sh: flags for the tool need -r" >&2; exit 2; }
[ -n "$OUT" ] || OUT="$DIST/image"
TARGET="oci-layout://$OUT"
[ -z "$REPOSITORY" ] || TARGET="$REPOSITORY"
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$SRC/Cargo.toml" | head -n1)"
if [ -z "${SOURCE_DATE_EPOCH:-}" ] && git -C "$SRC" rev-parse --git-dir >/dev/null 2>&1; then
    SOURCE_DATE_EPOCH="$(git -C "$SRC" log -1 --format=%ct)"
fi
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-0}"

# The release binaries this machine runs natively, preferred first.
case "$(uname -m)" in
    x86_64) natives=(linux-amd64 linux-386) ;;
    aarch64) natives=(linux-arm64 linux-armv7) ;;
    *) natives=() ;;
esac
tool=""
for native in "${natives[@]}"; do
    if [ -x "$DIST/manifest-tool-$native" ]; then tool="$DIST/manifest-tool-$native" && break; fi
done
[ -n "$tool" ] || {
    echo "image.sh: no release binary in $DIST runs on this $(uname -m) machine" \
        "(${natives[*]:-none}): run make cross first" >&2
    exit 1
}

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
python3 "$SRC/cross/image-layouts.py" "$DIST" "$TMP/layouts" >"$TMP/images"
{
    echo "image: $TARGET:$VERSION"
    echo "tags: [latest]"
    echo "manifests:"
    while read -r tag _; do
        echo "  - image: oci-layout://$TMP/layouts:$tag"
    done <"$TMP/images"
} >"$TMP/spec.yaml"

if [ -n "$REPOSITORY" ]; then
    NO_COLOR=1 "$tool" "$@" push --type oci from-spec "$TMP/spec.yaml"
else
    rm -rf "$OUT"
    mkdir -p "$(dirname "$OUT")"
    # A layout needs no credentials: an empty home, so no docker config of this machine counts.
    env -u DOCKER_CONFIG HOME="$TMP" NO_COLOR=1 "$tool" push --type oci from-spec "$TMP/spec.yaml"
fi
echo "$TARGET: tags $VERSION and latest, $(wc -l <"$TMP/images") platforms:" \
    "$(cut -d' ' -f2 "$TMP/images" | tr '\n' ' ')"
