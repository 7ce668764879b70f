#!/usr/bin/env bash
# Test cross/image.sh on the Linux binaries of DIST (default: dist).
#
# usage: cross/test-image.sh [DIST]
#
# Builds the image layout twice, into two directories, and checks:
#   - the two are byte-identical, file for file;
#   - skopeo reads the index at both tags (VERSION and latest), and it lists one image per
#     Linux binary with that binary's platform (arm variants v5/v6/v7, arm64 v8);
#   - each image, as skopeo reads it: its config has entrypoint ["/manifest-tool"] and the same
#     platform, and its one layer holds exactly /manifest-tool, mode 0755, the binary of DIST
#     byte for byte;
#   - the binaries extracted from the arm64, armv7, 386 and loong64 layers (those present)
#     print their version under qemu.
# Ends with "N passed, N failed".
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
DIST="$(cd "${1:-$SRC/dist}" && pwd)"
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$SRC/Cargo.toml" | head -n1)"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
PASSED=0 FAILED=0
pass() { echo "ok   $*"; PASSED=$((PASSED + 1)); }
failed() { echo "FAIL $*"; FAILED=$((FAILED + 1)); }

"$SRC/cross/image.sh" -d "$DIST" -o "$TMP/one" >/dev/null
"$SRC/cross/image.sh" -d "$DIST" -o "$TMP/two" >/dev/null
if diff -r "$TMP/one" "$TMP/two" >"$TMP/diff" 2>&1; then
    pass "two builds are byte-identical ($(find "$TMP/one" -type f | wc -l) files)"
else
    failed "two builds differ: $(head -n 5 "$TMP/diff")"
fi

# What the binaries in DIST should become: "linux-ARCH os/arch[/variant]" per line, written
# here independently of image-layouts.py (the names of the OCI image index spec).
for asset in linux-amd64:linux/amd64 linux-386:linux/386 linux-armv5:linux/arm/v5 \
    linux-armv6:linux/arm/v6 linux-armv7:linux/arm/v7 linux-arm64:linux/arm64/v8 \
    linux-ppc64le:linux/ppc64le linux-s390x:linux/s390x linux-riscv64:linux/riscv64 \
    linux-loong64:linux/loong64 linux-mips64le:linux/mips64le; do
    if [ -f "$DIST/manifest-tool-${asset%%:*}" ]; then echo "${asset%%:*} ${asset#*:}"; fi
done >"$TMP/expected"
[ -s "$TMP/expected" ] || { echo "no manifest-tool-linux-* binaries in $DIST" >&2; exit 1; }

for tag in "$VERSION" latest; do
    if ! skopeo inspect --raw "oci:$TMP/one:$tag" >"$TMP/index-$tag.json" 2>"$TMP/err"; then
        failed "skopeo cannot read oci:image:$tag: $(cat "$TMP/err")"
        continue
    fi
    if python3 - "$TMP/index-$tag.json" "$TMP/expected" >"$TMP/err" 2>&1 <<'EOF'; then
import json, sys
index = json.load(open(sys.argv[1]))
want = sorted(line.split()[1] for line in open(sys.argv[2]))
got = sorted("/".join(p for p in (m["platform"]["os"], m["platform"]["architecture"],
                                  m["platform"].get("variant")) if p)
             for m in index["manifests"])
assert index["mediaType"] == "application/vnd.oci.image.index.v1+json", index["mediaType"]
assert got == want, f"platforms {got}, expected {want}"
EOF
        pass "oci:image:$tag is an index of $(wc -l <"$TMP/expected") platforms:" \
            "$(cut -d' ' -f2 "$TMP/expected" | tr '\n' ' ')"
    else
        failed "oci:image:$tag: $(tail -n 1 "$TMP/err")"
    fi
done

# Each image through skopeo: config and layer.
while read -r asset platform; do
    os_arch="${platform#linux/}" arch="${os_arch%%/*}" variant=""
    [ "$os_arch" = "$arch" ] || variant="${os_arch#*/}"
    dir="$TMP/image-$asset"
    if ! skopeo --override-os linux --override-arch "$arch" ${variant:+--override-variant "$variant"} \
        copy --quiet "oci:$TMP/one:latest" "dir:$dir" 2>"$TMP/err"; then
        failed "$asset: skopeo cannot copy the $platform image: $(cat "$TMP/err")"
        continue
    fi
    if python3 - "$dir" "$arch" "${variant:-}" "$DIST/manifest-tool-$asset" >"$TMP/err" 2>&1 <<'EOF'; then
import gzip, io, json, os, sys, tarfile
d, arch, variant, binary = sys.argv[1:]
manifest = json.load(open(os.path.join(d, "manifest.json")))
blob = lambda desc: open(os.path.join(d, desc["digest"].split(":")[1]), "rb").read()
config = json.loads(blob(manifest["config"]))
assert (config["os"], config["architecture"], config.get("variant", "")) == ("linux", arch, variant), config
assert config["config"] == {"Entrypoint": ["/manifest-tool"]}, config["config"]
assert len(manifest["layers"]) == 1, manifest["layers"]
with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob(manifest["layers"][0])))) as tar:
    members = tar.getmembers()
    assert [(m.name, m.mode, m.isfile()) for m in members] == [("manifest-tool", 0o755, True)], members
    content = tar.extractfile(members[0]).read()
assert content == open(binary, "rb").read(), "the layer's /manifest-tool is not the release binary"
with open(os.path.join(d, "manifest-tool"), "wb") as f:
    f.write(content)
os.chmod(os.path.join(d, "manifest-tool"), 0o755)
EOF
        pass "$asset: $platform image runs /manifest-tool, the release binary"
    else
        failed "$asset: $(tail -n 1 "$TMP/err")"
    fi
done <"$TMP/expected"

# Extracted binaries, run (at least two when DIST has them). loong64 under the newer qemu of
# `make cross-deps`, as in cross/smoke.sh.
qemu_la="${QEMU_LOONGARCH64:-${CROSS_TOOLS:-$HOME/.cache/manifest-tool-cross}/bin/qemu-loongarch64}"
for run in linux-arm64:qemu-aarch64-static linux-armv7:qemu-arm-static linux-386:qemu-i386-static \
    "linux-loong64:$qemu_la"; do
    asset="${run%%:*}" qemu="${run#*:}" bin="$TMP/image-${run%%:*}/manifest-tool"
    [ -f "$bin" ] || continue
    if out="$("$qemu" "$bin" --version 2>&1)" && grep -q "^manifest-tool version $VERSION " <<<"$out"; then
        pass "$asset: the binary from the image layer runs under $qemu: $out"
    else
        failed "$asset: the binary from the image layer, under $qemu: $out"
    fi
done

echo "image: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
