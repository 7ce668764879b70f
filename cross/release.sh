#!/usr/bin/env bash
# Sign release binaries, or verify signed ones.
#
# usage: cross/release.sh sign DIST
#        cross/release.sh verify DIST
#
# sign    writes DIST/SHA256SUMS (sha256sum format) for every DIST/manifest-tool-* binary, then a
#         detached ASCII-armored signature FILE.asc for SHA256SUMS and for each binary, made by
#         gpg with the default secret key of $GNUPGHOME, or with GPG_KEY (key id, fingerprint
#         or user id) when set. GPG_PASSPHRASE, when set, unlocks the key without a prompt
#         (CI); otherwise gpg-agent asks as usual. Old *.asc files in DIST are removed first.
# verify  checks the signature of SHA256SUMS, every checksum in it, that no binary in DIST is
#         missing from it, and every binary's own signature. Keys: those in $GNUPGHOME, or
#         only the key(s) in the file RELEASE_PUBKEY when set (the way a user checks against
#         the published key), and only GPG_KEY's when that is set.
# Either exits non-zero and names the file at the first problem.
set -euo pipefail

die() { echo "release: $*" >&2; exit 1; }
[ "$#" -eq 2 ] || die "usage: $0 sign|verify DIST"
action="$1"
cd "$2" || die "no directory $2"

binaries() { # the release binaries in the current directory, sorted
    local f
    for f in manifest-tool-*; do
        case "$f" in *.asc) ;; *) [ -f "$f" ] && echo "$f" ;; esac
    done | LC_ALL=C sort
}

sign() {
    local -a bins gpg_args=(--batch --yes --armor --detach-sign)
    mapfile -t bins < <(binaries)
    [ "${#bins[@]}" -gt 0 ] || die "no manifest-tool-* binaries in $PWD"
    if [ -n "${GPG_KEY:-}" ]; then
        gpg --batch --list-secret-keys "$GPG_KEY" >/dev/null 2>&1 ||
            die "no secret key '$GPG_KEY' in ${GNUPGHOME:-~/.gnupg}"
        gpg_args+=(--local-user "$GPG_KEY")
    else
        [ -n "$(gpg --batch --list-secret-keys 2>/dev/null)" ] ||
            die "no secret key in ${GNUPGHOME:-~/.gnupg} (set GNUPGHOME or GPG_KEY)"
    fi
    rm -f -- *.asc
    sha256sum -- "${bins[@]}" >SHA256SUMS
    local f
    for f in SHA256SUMS "${bins[@]}"; do
        if [ -n "${GPG_PASSPHRASE:-}" ]; then
            gpg "${gpg_args[@]}" --pinentry-mode loopback --passphrase-fd 0 \
                --output "$f.asc" -- "$f" <<<"$GPG_PASSPHRASE"
        else
            gpg "${gpg_args[@]}" --output "$f.asc" -- "$f"
        fi
    done
    echo "signed SHA256SUMS and ${#bins[@]} binaries in $PWD"
}

# check_sig FILE: FILE.asc is a good signature of FILE by an accepted key.
check_sig() {
    local file="$1" status
    [ -f "$file.asc" ] || die "$file.asc is missing"
    if ! status="$(gpg --batch --status-fd 1 --verify -- "$file.asc" "$file" 2>/dev/null)"; then
        die "$file: the signature in $file.asc does not verify"
    fi
    if [ -n "${ACCEPTED_FPRS:-}" ]; then
        # VALIDSIG <signing-key fpr> ... <primary-key fpr>: either may be the accepted key.
        local fprs
        fprs="$(awk '$2 == "VALIDSIG" { print $3; print $NF }' <<<"$status")"
        grep -qxFf <(tr ' ' '\n' <<<"$ACCEPTED_FPRS") <<<"$fprs" ||
            die "$file: signed by a key other than ${GPG_KEY:-RELEASE_PUBKEY}"
    fi
}

verify() {
    if [ -n "${RELEASE_PUBKEY:-}" ]; then
        [ -f "$RELEASE_PUBKEY" ] || die "RELEASE_PUBKEY: no file $RELEASE_PUBKEY"
        local pubkey
        pubkey="$(cd "$(dirname "$RELEASE_PUBKEY")" && pwd)/$(basename "$RELEASE_PUBKEY")"
        GNUPGHOME="$(mktemp -d)"
        export GNUPGHOME
        trap 'rm -rf "$GNUPGHOME"' EXIT
        gpg --batch --quiet --import "$pubkey" 2>/dev/null ||
            die "RELEASE_PUBKEY: $RELEASE_PUBKEY holds no OpenPGP public key"
    fi
    if [ -n "${GPG_KEY:-}" ]; then
        ACCEPTED_FPRS="$(gpg --batch --with-colons --list-keys "$GPG_KEY" 2>/dev/null |
            awk -F: '$1 == "fpr" { print $10 }' | tr '\n' ' ')"
        [ -n "$ACCEPTED_FPRS" ] || die "no public key '$GPG_KEY' to verify with"
    fi
    [ -f SHA256SUMS ] || die "SHA256SUMS is missing in $PWD"
    check_sig SHA256SUMS
    local listed line
    listed="$(awk '{ sub(/^\*/, "", $2); print $2 }' SHA256SUMS | LC_ALL=C sort)"
    [ -n "$listed" ] || die "SHA256SUMS lists no files"
    if ! line="$(sha256sum --check --strict --quiet SHA256SUMS 2>&1)"; then
        die "checksum mismatch: ${line//$'\n'/; }"
    fi
    local f
    for f in $(binaries); do
        grep -qxF -- "$f" <<<"$listed" || die "$f is not listed in SHA256SUMS"
    done
    for f in $listed; do
        check_sig "$f"
    done
    echo "verified SHA256SUMS and $(wc -l <<<"$listed") signed binaries in $PWD"
}

case "$action" in
    sign) sign ;;
    verify) verify ;;
    *) die "usage: $0 sign|verify DIST" ;;
esac
