#!/usr/bin/env bash
# Smoke-test release binaries as a user would run them, on this x86_64 machine.
#
# usage: cross/smoke.sh [-d DIST] [PLATFORM...]     (default: every manifest-tool-* in DIST)
#
# Every binary: at most MAX_SIZE bytes (default 2000000).
# Linux binaries: `file` says static and names the right CPU (arm: also the architecture version
# and float ABI, from the ELF header and attributes); then, under qemu-<arch>-static called
# explicitly (binfmt_misc is not mounted here; the arm ones on an emulated CPU of their own
# generation: ARM926 for v5, ARM1176 for v6, Cortex-A7 for v7; loong64 under QEMU_LOONGARCH64,
# default the backports qemu of `make cross-deps`), against a real docker-registry
# on 127.0.0.1 over plain HTTP:
#   --version                 prints Cargo.toml's version and a 12-hex commit
#                             (EXPECT_COMMIT, when set, must match it)
#   inspect repo:multi        names the index's digest and its six platforms
#   inspect --raw repo:multi  the Go tool's JSON, with that digest and six manifests
#   push from-args            with OS-ARCH and OS-ARCH-VARIANT templates; the printed
#                             "Digest: sha256:HEX SIZE" is what skopeo reads back
#   push from-spec            a two-image spec, checked the same way
#   push from-spec --dry-run  prints the list it would push, writes no tag
# macOS binaries: cross/check-macho.py (CPU, minimum macOS 10.12 / 11.0, system libraries only,
# arm64 signed) and `file`.
# windows-amd64 (manifest-tool-windows-amd64.exe): cross/smoke-windows.sh, under wine.
# The registry is seeded with skopeo from the OCI layout of tests/support/make_layout.py.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
DIST="$SRC/dist"
while getopts "d:" opt; do
    case "$opt" in
        d) DIST="$OPTARG" ;;
        *) exit 2 ;;
    esac
done
shift $((OPTIND - 1))
MAX_SIZE="${MAX_SIZE:-2000000}"
# linux-loong64 runs under the newer qemu that `make cross-deps` puts there (cross/deps.sh).
QEMU_LOONGARCH64="${QEMU_LOONGARCH64:-${CROSS_TOOLS:-$HOME/.cache/manifest-tool-cross}/bin/qemu-loongarch64}"
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$SRC/Cargo.toml" | head -n1)"

if [ "$#" -eq 0 ]; then
    for bin in "$DIST"/manifest-tool-*; do
        case "$bin" in *.asc) continue ;; esac
        name="${bin##*/manifest-tool-}"
        if [ -f "$bin" ]; then set -- "$@" "${name%.exe}"; fi
    done
fi
[ "$#" -gt 0 ] || { echo "no manifest-tool-* binaries in $DIST" >&2; exit 1; }

TMP="$(mktemp -d)"
REGISTRY_PID=""
cleanup() {
    [ -z "$REGISTRY_PID" ] || kill "$REGISTRY_PID" 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

FAILED=0
fail() { echo "FAIL $*" >&2; FAILED=$((FAILED + 1)); }
ok() { echo "ok   $*"; }

# The tool runs with an empty docker config, no proxies and no colour.
mkdir -p "$TMP/home/docker-config"
run_tool() { # run_tool QEMU BIN ARGS...   (QEMU may hold options: "qemu-arm-static -cpu arm926")
    local qemu="$1" bin="$2"
    shift 2
    # shellcheck disable=SC2086 # QEMU is split into the program and its options on purpose
    env -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u NO_PROXY \
        -u http_proxy -u https_proxy -u all_proxy -u no_proxy \
        HOME="$TMP/home" DOCKER_CONFIG="$TMP/home/docker-config" NO_COLOR=1 \
        $qemu "$bin" "$@" </dev/null
}

# --- the registry, started once if any Linux binary is to be run ------------------------------
start_registry() {
    mkdir -p "$TMP/registry"
    cat >"$TMP/registry/config.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $TMP/registry/storage
http:
  addr: 127.0.0.1:0
EOF
    docker-registry serve "$TMP/registry/config.yml" >"$TMP/registry/log" 2>&1 &
    REGISTRY_PID=$!
    # Port 0 lets the registry pick a free port; it logs "listening on 127.0.0.1:PORT".
    local port=""
    for _ in $(seq 100); do
        port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$TMP/registry/log" | head -n1)"
        if [ -n "$port" ] && curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/"; then
            break
        fi
        kill -0 "$REGISTRY_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ] || ! curl -fsS -o /dev/null "http://127.0.0.1:$port/v2/"; then
        echo "docker-registry did not start:" >&2
        cat "$TMP/registry/log" >&2
        exit 1
    fi
    HOST="127.0.0.1:$port"
    python3 "$SRC/tests/support/make_layout.py" "$TMP/layout"
    local tag
    for tag in linux-amd64 linux-arm-v7 linux-arm64-v8 linux-ppc64le linux-s390x windows-amd64 multi; do
        skopeo --insecure-policy copy --quiet --all --dest-tls-verify=false \
            "oci:$TMP/layout:$tag" "docker://$HOST/smoke/src:$tag"
    done
    echo "registry on $HOST (pid $REGISTRY_PID), seeded with smoke/src"
}

registry_raw() { # the manifest bytes the registry serves for REPO:TAG, into FILE
    skopeo --insecure-policy inspect --raw --tls-verify=false "docker://$HOST/$1" >"$2"
}

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# check_push NAME REF OUT_FILE ENTRIES: the push printed "Digest: sha256:HEX SIZE" for exactly the
# bytes now stored under REF, a list of ENTRIES manifests.
check_push() {
    local name="$1" ref="$2" out="$3" entries="$4" stored="$TMP/stored.json" want
    if ! registry_raw "$ref" "$stored" 2>"$TMP/skopeo.err"; then
        fail "$name: nothing stored at $ref: $(cat "$TMP/skopeo.err")"
        return
    fi
    want="Digest: sha256:$(sha256_of "$stored") $(stat -c %s "$stored")"
    if [ "$(cat "$out")" != "$want" ]; then
        fail "$name: printed '$(cat "$out")', the registry has '$want'"
        return
    fi
    local count
    count="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["manifests"]))' "$stored")"
    if [ "$count" != "$entries" ]; then
        fail "$name: the list at $ref has $count entries, expected $entries"
        return
    fi
    ok "$name: $want"
}

smoke_linux() {
    local platform="$1" bin="$2" arch_re qemu arm_float="" arm_arch=""
    case "$platform" in
        linux-amd64) arch_re="64-bit LSB .*x86-64" qemu=qemu-x86_64-static ;;
        linux-386) arch_re="32-bit LSB .*Intel 80386" qemu=qemu-i386-static ;;
        linux-armv5) arch_re="32-bit LSB .*ARM, EABI5" qemu="qemu-arm-static -cpu arm926"
            arm_float=soft arm_arch=v5TE ;;
        linux-armv6) arch_re="32-bit LSB .*ARM, EABI5" qemu="qemu-arm-static -cpu arm1176"
            arm_float=hard arm_arch=v6 ;;
        linux-armv7) arch_re="32-bit LSB .*ARM, EABI5" qemu="qemu-arm-static -cpu cortex-a7"
            arm_float=hard arm_arch=v7 ;;
        linux-arm64) arch_re="64-bit LSB .*ARM aarch64" qemu=qemu-aarch64-static ;;
        linux-ppc64le) arch_re="64-bit LSB .*PowerPC" qemu=qemu-ppc64le-static ;;
        linux-s390x) arch_re="64-bit MSB .*IBM S/390" qemu=qemu-s390x-static ;;
        linux-riscv64) arch_re="64-bit LSB .*RISC-V" qemu=qemu-riscv64-static ;;
        linux-loong64) arch_re="64-bit LSB .*LoongArch" qemu="$QEMU_LOONGARCH64"
            [ -x "$qemu" ] || {
                fail "$platform: no $qemu (Debian 12's qemu-loongarch64-static cannot run it): make cross-deps"
                return
            } ;;
        linux-mips64le) arch_re="64-bit LSB .*MIPS64" qemu=qemu-mips64el-static ;;
        *) fail "$platform: unknown Linux platform"; return ;;
    esac
    local desc
    desc="$(file -b "$bin")"
    if ! grep -Eq "$arch_re" <<<"$desc" || ! grep -Eq "statically linked|static-pie linked" <<<"$desc"; then
        fail "$platform: file says: $desc"
        return
    fi
    ok "$platform: $desc"
    if [ -n "$arm_arch" ]; then
        local flags attrs
        flags="$(readelf -h "$bin" | sed -n 's/^ *Flags: *//p')"
        attrs="$(readelf -A "$bin")"
        # v6: "v6" or "v6KZ" (ARM1176); v5: exactly "v5TE"; v7: exactly "v7".
        if ! grep -q "$arm_float-float ABI" <<<"$flags" ||
            ! grep -Eq "Tag_CPU_arch: $arm_arch(KZ)?$" <<<"$attrs"; then
            fail "$platform: not ARM$arm_arch $arm_float-float: flags '$flags';" \
                "$(grep Tag_CPU_arch <<<"$attrs")"
            return
        fi
        ok "$platform: ARM$arm_arch, $arm_float-float ABI"
    fi

    local version
    version="$(run_tool "$qemu" "$bin" --version)" || { fail "$platform: --version failed"; return; }
    if ! grep -Eq "^manifest-tool version $VERSION \(commit: [0-9a-f]{12}\)$" <<<"$version" ||
        { [ -n "${EXPECT_COMMIT:-}" ] && ! grep -q "(commit: $EXPECT_COMMIT)" <<<"$version"; }; then
        fail "$platform: --version printed '$version' (want $VERSION, commit ${EXPECT_COMMIT:-any})"
    else
        ok "$platform: $version"
    fi

    local out="$TMP/$platform.out" err="$TMP/$platform.err" repo="smoke/$platform"
    # inspect, human-readable and the Go tool's --raw JSON
    registry_raw smoke/src:multi "$TMP/multi.json"
    local multi_digest
    multi_digest="sha256:$(sha256_of "$TMP/multi.json")"
    if ! run_tool "$qemu" "$bin" --plain-http inspect "$HOST/smoke/src:multi" >"$out" 2>"$err"; then
        fail "$platform: inspect failed: $(cat "$err")"
    elif ! grep -q "^Digest: $multi_digest$" "$out" ||
        [ "$(grep -c '^\[[0-9]*\] Platform:' "$out")" != 6 ]; then
        fail "$platform: inspect printed something else:"$'\n'"$(cat "$out")"
    else
        ok "$platform: inspect shows $multi_digest and 6 platforms"
    fi
    if ! run_tool "$qemu" "$bin" --plain-http inspect --raw "$HOST/smoke/src:multi" >"$out" 2>"$err"; then
        fail "$platform: inspect --raw failed: $(cat "$err")"
    elif ! python3 -c '
import json, sys
doc = json.load(open(sys.argv[1]))
entries = next(v for k, v in doc.items() if k.lower() == "manifests")
assert len(entries) == 6 and sys.argv[2] in json.dumps(doc)' "$out" "$multi_digest" 2>/dev/null; then
        fail "$platform: inspect --raw is not JSON naming $multi_digest with 6 manifests"
    else
        ok "$platform: inspect --raw is JSON naming $multi_digest with 6 manifests"
    fi

    # push from-args: tags are linux-amd64 (no variant) and linux-arm64-v8 (variant)
    if run_tool "$qemu" "$bin" --plain-http push from-args \
        --platforms linux/amd64,linux/ppc64le,linux/s390x \
        --template "$HOST/smoke/src:OS-ARCH" --target "$HOST/$repo:args" >"$out" 2>"$err"; then
        check_push "$platform: push from-args OS-ARCH" "$repo:args" "$out" 3
    else
        fail "$platform: push from-args failed: $(cat "$err")"
    fi
    if run_tool "$qemu" "$bin" --plain-http push from-args \
        --platforms linux/arm/v7,linux/arm64/v8 \
        --template "$HOST/smoke/src:OS-ARCH-VARIANT" --target "$HOST/$repo:args-variant" \
        >"$out" 2>"$err"; then
        check_push "$platform: push from-args OS-ARCH-VARIANT" "$repo:args-variant" "$out" 2
    else
        fail "$platform: push from-args (variants) failed: $(cat "$err")"
    fi

    # push from-spec, then the same spec with --dry-run to a tag that must stay absent
    local spec="$TMP/$platform.yaml"
    printf 'image: %s\nmanifests:\n  - image: %s\n  - image: %s\n' "$HOST/$repo:spec" \
        "$HOST/smoke/src:linux-amd64" "$HOST/smoke/src:linux-arm64-v8" >"$spec"
    if run_tool "$qemu" "$bin" --plain-http push from-spec "$spec" >"$out" 2>"$err"; then
        check_push "$platform: push from-spec" "$repo:spec" "$out" 2
    else
        fail "$platform: push from-spec failed: $(cat "$err")"
    fi
    sed -i "s|$repo:spec|$repo:dry|" "$spec"
    if ! run_tool "$qemu" "$bin" --plain-http push from-spec --dry-run "$spec" >"$out" 2>"$err"; then
        fail "$platform: push --dry-run failed: $(cat "$err")"
    elif registry_raw "$repo:dry" /dev/null 2>/dev/null; then
        fail "$platform: push --dry-run wrote $repo:dry"
    elif ! grep -q "would PUT list sha256:$(sha256_of "$out") as $HOST/$repo:dry" "$err"; then
        fail "$platform: push --dry-run did not describe the list it printed:"$'\n'"$(cat "$err")"
    else
        ok "$platform: push --dry-run printed the list (sha256:$(sha256_of "$out")), wrote nothing"
    fi
}

smoke_macos() {
    local platform="$1" bin="$2" arch min file_re
    case "$platform" in
        darwin-amd64) arch=amd64 min=10.12 file_re="Mach-O 64-bit x86_64 executable" ;;
        darwin-arm64) arch=arm64 min=11.0 file_re="Mach-O 64-bit arm64 executable" ;;
        *) fail "$platform: unknown macOS platform"; return ;;
    esac
    local desc
    desc="$(file -b "$bin")"
    grep -q "$file_re" <<<"$desc" || { fail "$platform: file says: $desc"; return; }
    if desc="$(python3 "$SRC/cross/check-macho.py" "$bin" "$arch" "$min" 2>&1)"; then
        ok "$platform: ${desc#"$bin": }"
    else
        fail "$desc"
    fi
}

for platform in "$@"; do
    bin="$DIST/manifest-tool-$platform"
    case "$platform" in windows-*) bin+=".exe" ;; esac
    [ -f "$bin" ] || { fail "$platform: $bin is missing"; continue; }
    if [ "$platform" = windows-amd64 ]; then
        # Its own script: wine, a registry with htpasswd auth, a credential helper (size too).
        MAX_SIZE="$MAX_SIZE" "$SRC/cross/smoke-windows.sh" "$bin" || fail "$platform: (above)"
        continue
    fi
    size="$(stat -c %s "$bin")"
    if [ "$size" -le "$MAX_SIZE" ]; then
        ok "$platform: $size bytes (limit $MAX_SIZE)"
    else
        fail "$platform: $size bytes, over the limit of $MAX_SIZE"
    fi
    case "$platform" in
        linux-*)
            [ -n "$REGISTRY_PID" ] || start_registry
            smoke_linux "$platform" "$bin"
            ;;
        darwin-*) smoke_macos "$platform" "$bin" ;;
        *) fail "$platform: unknown platform" ;;
    esac
done

if [ "$FAILED" -gt 0 ]; then
    echo "$FAILED check(s) failed" >&2
    exit 1
fi
echo "all checks passed for: $*"
