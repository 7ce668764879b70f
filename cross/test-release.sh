#!/usr/bin/env bash
# Test `make release-sign` and `make verify-release` with a throwaway key, and that verification
# refuses every kind of tampering.
#
# usage: cross/test-release.sh [DIST]
#   Copies the manifest-tool-* binaries of DIST (default: dist) into a temporary release
#   directory; with none there, uses two small stand-in files (the signing does not care).
# Nothing outside a temporary directory is touched: GNUPGHOME points into it, and the gpg-agent
# this starts is stopped at the end. Ends with "N passed, N failed".
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
FROM="${1:-$SRC/dist}"

TMP="$(mktemp -d)"
export GNUPGHOME="$TMP/gnupg"
mkdir -m 700 "$GNUPGHOME"
cleanup() {
    GNUPGHOME="$TMP/gnupg" gpgconf --kill gpg-agent 2>/dev/null || true
    GNUPGHOME="$TMP/other-gnupg" gpgconf --kill gpg-agent 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT
unset GPG_KEY GPG_PASSPHRASE RELEASE_PUBKEY

PASSED=0 FAILED=0
pass() { echo "ok   $*"; PASSED=$((PASSED + 1)); }
failed() { echo "FAIL $*"; FAILED=$((FAILED + 1)); }

# A throwaway signing key without passphrase (ed25519: generated instantly).
new_key() { # new_key GNUPGHOME NAME
    GNUPGHOME="$1" gpg --batch --quiet --passphrase '' \
        --quick-generate-key "$2 <release-test@example.invalid>" ed25519 sign 1d 2>/dev/null
}
new_key "$GNUPGHOME" "manifest-tool release test"
gpg --batch --armor --export >"$TMP/release.pub.asc"

# The release directory: real binaries if there are any, stand-ins otherwise.
DIST="$TMP/dist"
mkdir "$DIST"
cp "$FROM"/manifest-tool-* "$DIST"/ 2>/dev/null || true
rm -f "$DIST"/*.asc "$DIST"/SHA256SUMS
if ! ls "$DIST"/manifest-tool-* >/dev/null 2>&1; then
    printf 'stand-in binary one\n' >"$DIST/manifest-tool-linux-amd64"
    printf 'stand-in binary two\n' >"$DIST/manifest-tool-linux-arm64"
fi
BINS=("$DIST"/manifest-tool-*)
FIRST="${BINS[0]}"
echo "release directory: ${BINS[*]##*/}"

mk() { make -s -C "$SRC" --no-print-directory DIST="$DIST" "$@"; }

# expect_ok NAME CMD...: CMD succeeds.
expect_ok() {
    local name="$1"
    shift
    if out="$("$@" 2>&1)"; then pass "$name"; else failed "$name: $out"; fi
}
# expect_refusal NAME WORDS CMD...: CMD fails, and its message contains WORDS.
expect_refusal() {
    local name="$1" words="$2"
    shift 2
    if out="$("$@" 2>&1)"; then
        failed "$name: accepted"
    elif ! grep -qF -- "$words" <<<"$out"; then
        failed "$name: refused without saying '$words': $out"
    else
        pass "$name: $(grep -F -- "$words" <<<"$out" | head -n1)"
    fi
}

expect_ok "make release-sign" mk release-sign
expected_files=(SHA256SUMS SHA256SUMS.asc)
for b in "${BINS[@]}"; do expected_files+=("${b##*/}" "${b##*/}.asc"); done
missing=""
for f in "${expected_files[@]}"; do [ -f "$DIST/$f" ] || missing+=" $f"; done
if [ -z "$missing" ] && grep -q "BEGIN PGP SIGNATURE" "$DIST/SHA256SUMS.asc" &&
    (cd "$DIST" && sha256sum --check --quiet SHA256SUMS); then
    pass "release-sign wrote SHA256SUMS and an armored signature for it and each binary"
else
    failed "release-sign output incomplete (missing:${missing:- none})"
fi
expect_ok "make verify-release" mk verify-release
expect_ok "verify-release against the exported public key only" \
    env RELEASE_PUBKEY="$TMP/release.pub.asc" GNUPGHOME=/nonexistent make -s -C "$SRC" \
    --no-print-directory DIST="$DIST" verify-release

# Tampering, each undone afterwards so the next case starts from a good release.
cp "$FIRST" "$TMP/saved"
printf 'x' >>"$FIRST"
expect_refusal "tampered binary" "checksum mismatch" mk verify-release
cp "$TMP/saved" "$FIRST"

# An attacker who also rewrites SHA256SUMS to match breaks its signature instead.
cp "$DIST/SHA256SUMS" "$TMP/saved-sums"
printf 'x' >>"$FIRST"
(cd "$DIST" && sha256sum -- manifest-tool-* | grep -v '\.asc$' >SHA256SUMS)
expect_refusal "tampered binary with a rewritten SHA256SUMS" "does not verify" mk verify-release
cp "$TMP/saved" "$FIRST"
cp "$TMP/saved-sums" "$DIST/SHA256SUMS"

cp "$DIST/${FIRST##*/}.asc" "$TMP/saved-sig"
cp "$DIST/SHA256SUMS.asc" "$DIST/${FIRST##*/}.asc"
expect_refusal "a binary's signature swapped for another file's" "does not verify" mk verify-release
rm "$DIST/${FIRST##*/}.asc"
expect_refusal "a binary's signature missing" ".asc is missing" mk verify-release
cp "$TMP/saved-sig" "$DIST/${FIRST##*/}.asc"

printf 'extra\n' >"$DIST/manifest-tool-extra"
expect_refusal "a binary not in SHA256SUMS" "not listed in SHA256SUMS" mk verify-release
rm "$DIST/manifest-tool-extra"

# A release signed by some other key does not verify against the project's key.
mkdir -m 700 "$TMP/other-gnupg"
new_key "$TMP/other-gnupg" "someone else"
cp -r "$DIST" "$TMP/other-dist"
expect_ok "signing with another key" env GNUPGHOME="$TMP/other-gnupg" \
    make -s -C "$SRC" --no-print-directory DIST="$TMP/other-dist" release-sign
expect_refusal "a release signed by another key" "does not verify" \
    env RELEASE_PUBKEY="$TMP/release.pub.asc" GNUPGHOME=/nonexistent make -s -C "$SRC" \
    --no-print-directory DIST="$TMP/other-dist" verify-release

expect_ok "the untouched release still verifies" mk verify-release

# The CI way: a passphrase-protected key chosen by GPG_KEY, unlocked by GPG_PASSPHRASE without a
# prompt, in a keyring that also holds the default key; verification then insists on GPG_KEY.
gpg --batch --quiet --pinentry-mode loopback --passphrase 'test passphrase' \
    --quick-generate-key "manifest-tool CI key <release-ci@example.invalid>" ed25519 sign 1d \
    2>/dev/null
ci_fpr="$(gpg --batch --with-colons --list-secret-keys release-ci@example.invalid 2>/dev/null |
    awk -F: '$1 == "fpr" { print $10; exit }')"
default_fpr="$(gpg --batch --with-colons --list-secret-keys release-test@example.invalid 2>/dev/null |
    awk -F: '$1 == "fpr" { print $10; exit }')"
expect_refusal "release-sign with a wrong GPG_PASSPHRASE" "Bad passphrase" \
    env GPG_KEY="$ci_fpr" GPG_PASSPHRASE='wrong' make -s -C "$SRC" \
    --no-print-directory DIST="$DIST" release-sign
expect_ok "release-sign with GPG_KEY and GPG_PASSPHRASE" \
    env GPG_KEY="$ci_fpr" GPG_PASSPHRASE='test passphrase' make -s -C "$SRC" \
    --no-print-directory DIST="$DIST" release-sign
expect_ok "verify-release with GPG_KEY" env GPG_KEY="$ci_fpr" make -s -C "$SRC" \
    --no-print-directory DIST="$DIST" verify-release
expect_refusal "verify-release with GPG_KEY naming a key that did not sign" \
    "signed by a key other than" env GPG_KEY="$default_fpr" make -s -C "$SRC" \
    --no-print-directory DIST="$DIST" verify-release

echo "release signing: $PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
