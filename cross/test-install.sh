#!/usr/bin/env bash
# Test install.sh against releases served by `python3 -m http.server` on 127.0.0.1.
#
# usage: cross/test-install.sh [DIST]
#   The release for this machine's platform is a stand-in script that prints a version (so the
#   test runs on any CPU and needs no build); a real binary from DIST (default: dist), when one
#   is there, is also served, installed with --platform and compared byte for byte.
# Cases: a good install with curl and with wget; refusals for a tampered binary, a tampered
# binary with a matching rewritten SHA256SUMS (signature check), a release signed by another
# key, the placeholder key shipped in cross/, an asset missing from SHA256SUMS, a failed
# download; a good install without gpg (checksum only); for each `uname -m` of a release
# platform (through a stand-in uname on PATH), the asset install.sh picks. After each refusal nothing may be
# installed. Everything lives in a temporary directory; ends with "N passed, N failed".
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
FROM="${1:-$SRC/dist}"

TMP="$(mktemp -d)"
SERVER_PID=""
cleanup() {
    [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
    local home
    for home in "$TMP"/gnupg-*; do
        if [ -d "$home" ]; then GNUPGHOME="$home" gpgconf --kill gpg-agent 2>/dev/null || true; fi
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
unset GPG_KEY GPG_PASSPHRASE RELEASE_PUBKEY MANIFEST_TOOL_VERSION MANIFEST_TOOL_PREFIX \
    MANIFEST_TOOL_BASE_URL MANIFEST_TOOL_KEY MANIFEST_TOOL_PLATFORM MANIFEST_TOOL_DOWNLOADER

PASSED=0 FAILED=0
pass() { echo "ok   $*"; PASSED=$((PASSED + 1)); }
failed() { echo "FAIL $*"; FAILED=$((FAILED + 1)); }

# Two throwaway keys: the project's (for the test) and someone else's.
for who in project other; do
    mkdir -m 700 "$TMP/gnupg-$who"
    GNUPGHOME="$TMP/gnupg-$who" gpg --batch --quiet --passphrase '' \
        --quick-generate-key "$who <install-test@example.invalid>" ed25519 sign 1d 2>/dev/null
done
GNUPGHOME="$TMP/gnupg-project" gpg --batch --armor --export >"$TMP/project.pub.asc"

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) HOST=linux-amd64 ;;
    Linux-aarch64) HOST=linux-arm64 ;;
    Linux-i686) HOST=linux-386 ;;
    Linux-armv5tel | Linux-armv5tejl) HOST=linux-armv5 ;;
    Linux-armv6l) HOST=linux-armv6 ;;
    Linux-armv7* | Linux-armv8l) HOST=linux-armv7 ;;
    Linux-riscv64) HOST=linux-riscv64 ;;
    Linux-loongarch64) HOST=linux-loong64 ;;
    Linux-mips64) HOST=linux-mips64le ;;
    Linux-ppc64le) HOST=linux-ppc64le ;;
    Linux-s390x) HOST=linux-s390x ;;
    Darwin-x86_64) HOST=darwin-amd64 ;;
    Darwin-arm64) HOST=darwin-arm64 ;;
    *) echo "no release platform for $(uname -s)-$(uname -m)" >&2; exit 1 ;;
esac

# release NAME KEY: a signed release directory served at $URL/NAME.
release() {
    local dir="$TMP/www/$1"
    mkdir -p "$dir"
    printf '#!/bin/sh\necho "manifest-tool version 9.9.9 (commit: 0123456789ab)"\n' \
        >"$dir/manifest-tool-$HOST"
    chmod 755 "$dir/manifest-tool-$HOST"
    if [ -n "$REAL" ]; then cp "$FROM/manifest-tool-$REAL" "$dir/"; fi
    GNUPGHOME="$TMP/gnupg-$2" "$SRC/cross/release.sh" sign "$dir" >/dev/null
}
REAL=""
for f in "$FROM"/manifest-tool-*; do
    case "$f" in *.asc | *.exe) continue ;; esac # install.sh installs the Unix binaries
    if [ -f "$f" ] && [ "${f##*/manifest-tool-}" != "$HOST" ]; then
        REAL="${f##*/manifest-tool-}"
        break
    fi
done

release good project
# every-platform: a stand-in for every release asset, each printing its own name.
PLATFORMS=(linux-amd64 linux-386 linux-armv5 linux-armv6 linux-armv7 linux-arm64 linux-ppc64le
    linux-s390x linux-riscv64 linux-loong64 linux-mips64le darwin-amd64 darwin-arm64)
mkdir -p "$TMP/www/every-platform"
for platform in "${PLATFORMS[@]}"; do
    printf '#!/bin/sh\necho "manifest-tool version 9.9.9 (commit: 0123456789ab) %s"\n' \
        "$platform" >"$TMP/www/every-platform/manifest-tool-$platform"
    chmod 755 "$TMP/www/every-platform/manifest-tool-$platform"
done
GNUPGHOME="$TMP/gnupg-project" "$SRC/cross/release.sh" sign "$TMP/www/every-platform" >/dev/null
release tampered project
printf 'x' >>"$TMP/www/tampered/manifest-tool-$HOST"
release forged-sums project
printf 'x' >>"$TMP/www/forged-sums/manifest-tool-$HOST"
(cd "$TMP/www/forged-sums" && sha256sum -- manifest-tool-* | grep -v '\.asc$' >SHA256SUMS)
release other-key other
release unlisted project
sed -i "/manifest-tool-$HOST\$/d" "$TMP/www/unlisted/SHA256SUMS"
GNUPGHOME="$TMP/gnupg-project" gpg --batch --yes --armor --detach-sign \
    --output "$TMP/www/unlisted/SHA256SUMS.asc" "$TMP/www/unlisted/SHA256SUMS"

# The server: port 0 picks a free port, which http.server prints.
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$TMP/www" >"$TMP/server.log" 2>&1 &
SERVER_PID=$!
PORT=""
for _ in $(seq 100); do
    PORT="$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$TMP/server.log" | head -n1)"
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || { echo "http.server did not start:" >&2; cat "$TMP/server.log" >&2; exit 1; }
URL="http://127.0.0.1:$PORT"
echo "serving test releases at $URL"

# install RELEASE PREFIX ARGS...: runs install.sh for that release into a fresh prefix.
install() {
    local rel="$1" prefix="$2"
    shift 2
    rm -rf "$prefix"
    env -u http_proxy -u HTTP_PROXY sh "$SRC/install.sh" --base-url "$URL/$rel" \
        --prefix "$prefix" --key "$TMP/project.pub.asc" "$@" >"$TMP/out" 2>&1
}
# expect_install NAME RELEASE ARGS...: succeeds and installs the served binary unchanged.
expect_install() {
    local name="$1" rel="$2" prefix="$TMP/prefix" asset="$HOST"
    shift 2
    case " $* " in *" --platform "*) asset="$REAL" ;; esac
    if ! install "$rel" "$prefix" "$@"; then
        failed "$name: $(cat "$TMP/out")"
    elif ! cmp -s "$prefix/bin/manifest-tool" "$TMP/www/$rel/manifest-tool-$asset"; then
        failed "$name: the installed file differs from the release's"
    elif [ ! -x "$prefix/bin/manifest-tool" ]; then
        failed "$name: the installed file is not executable"
    else
        pass "$name"
    fi
}
# expect_refusal NAME RELEASE WORDS ARGS...: fails, says WORDS, installs nothing.
expect_refusal() {
    local name="$1" rel="$2" words="$3" prefix="$TMP/prefix"
    shift 3
    if install "$rel" "$prefix" "$@"; then
        failed "$name: installed"
    elif [ -e "$prefix/bin/manifest-tool" ]; then
        failed "$name: refused but left $prefix/bin/manifest-tool"
    elif ! grep -qF -- "$words" "$TMP/out"; then
        failed "$name: refused without saying '$words': $(cat "$TMP/out")"
    else
        pass "$name: $(grep -F -- "$words" "$TMP/out" | head -n1)"
    fi
}

expect_install "good release with curl" good --downloader curl
if ! grep -q "signatures of SHA256SUMS and manifest-tool-$HOST are good" "$TMP/out" ||
    ! grep -q "manifest-tool version 9.9.9" "$TMP/out"; then
    failed "curl install did not report the signature check and version: $(cat "$TMP/out")"
fi
expect_install "good release with wget" good --downloader wget
if [ -n "$REAL" ]; then
    expect_install "good release, --platform $REAL (a real build)" good --platform "$REAL"
fi
if MANIFEST_TOOL_BASE_URL="$URL/good" MANIFEST_TOOL_PREFIX="$TMP/env-prefix" \
    MANIFEST_TOOL_KEY="$TMP/project.pub.asc" sh "$SRC/install.sh" >"$TMP/out" 2>&1 &&
    cmp -s "$TMP/env-prefix/bin/manifest-tool" "$TMP/www/good/manifest-tool-$HOST"; then
    pass "settings from the environment instead of flags"
else
    failed "settings from the environment: $(cat "$TMP/out")"
fi

expect_refusal "tampered binary" tampered "checksum mismatch for manifest-tool-$HOST"
expect_refusal "tampered binary with a rewritten SHA256SUMS" forged-sums \
    "bad signature: SHA256SUMS.asc"
expect_refusal "release signed by another key" other-key "bad signature"
expect_refusal "binary missing from SHA256SUMS" unlisted "SHA256SUMS has no line for"
expect_refusal "the placeholder key shipped in cross/" good "holds no OpenPGP public key" \
    --key "$SRC/cross/manifest-tool-release.pub.asc"
expect_refusal "no such release" missing "could not download $URL/missing/manifest-tool-$HOST"
expect_refusal "unknown platform" good "no release binary for plan9-mips" --platform plan9-mips

# The asset for each machine: a stand-in uname on PATH answers -s and -m as a machine of that
# platform would. uname -m says mips64 for either byte order; install.sh asks od, which a
# second stand-in answers as a big-endian machine would.
mkdir "$TMP/fake-uname" "$TMP/fake-od"
# shellcheck disable=SC2016 # the stand-in expands them when it runs
printf '#!/bin/sh\ncase "$1" in -s) echo "$FAKE_UNAME_S" ;; -m) echo "$FAKE_UNAME_M" ;; esac\n' \
    >"$TMP/fake-uname/uname"
printf '#!/bin/sh\ncat >/dev/null\necho "   256"\n' >"$TMP/fake-od/od"
chmod 755 "$TMP/fake-uname/uname" "$TMP/fake-od/od"
for machine in Linux-x86_64:linux-amd64 Linux-i686:linux-386 Linux-armv5tel:linux-armv5 \
    Linux-armv5tejl:linux-armv5 Linux-armv6l:linux-armv6 Linux-armv7l:linux-armv7 \
    Linux-armv8l:linux-armv7 Linux-aarch64:linux-arm64 Linux-ppc64le:linux-ppc64le \
    Linux-s390x:linux-s390x Linux-riscv64:linux-riscv64 Linux-loongarch64:linux-loong64 \
    Linux-mips64:linux-mips64le Darwin-x86_64:darwin-amd64 Darwin-arm64:darwin-arm64; do
    uname_s="${machine%%-*}" rest="${machine#*-}"
    uname_m="${rest%%:*}" want="${rest#*:}"
    if FAKE_UNAME_S="$uname_s" FAKE_UNAME_M="$uname_m" PATH="$TMP/fake-uname:$PATH" \
        install every-platform "$TMP/prefix" &&
        cmp -s "$TMP/prefix/bin/manifest-tool" "$TMP/www/every-platform/manifest-tool-$want"; then
        pass "uname $uname_s $uname_m installs manifest-tool-$want"
    else
        failed "uname $uname_s $uname_m did not install manifest-tool-$want: $(cat "$TMP/out")"
    fi
done
FAKE_UNAME_S=Linux FAKE_UNAME_M=mips64 PATH="$TMP/fake-od:$TMP/fake-uname:$PATH" \
    expect_refusal "big-endian mips64" every-platform "no release binary for big-endian mips64"
FAKE_UNAME_S=Linux FAKE_UNAME_M=i586 PATH="$TMP/fake-uname:$PATH" \
    expect_refusal "a CPU with no release (i586)" every-platform "no release binary for CPU i586"

# Without gpg: only the checksum, and it says so. PATH gets every tool but gpg.
mkdir "$TMP/nogpg-bin"
for dir in /usr/local/bin /usr/bin /bin; do
    for tool in "$dir"/*; do
        name="${tool##*/}"
        case "$name" in gpg | gpg2) continue ;; esac
        [ -e "$TMP/nogpg-bin/$name" ] || ln -s "$tool" "$TMP/nogpg-bin/$name"
    done
done
PATH="$TMP/nogpg-bin" expect_install "good release without gpg" good
grep -q "gpg is not installed: only the checksum was checked" "$TMP/out" ||
    failed "without gpg it did not say that only the checksum was checked: $(cat "$TMP/out")"
PATH="$TMP/nogpg-bin" expect_refusal "tampered binary without gpg" tampered "checksum mismatch"

echo "install.sh: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
