#!/bin/sh
# Install a manifest-tool release binary, verified, for this machine's OS and CPU.
#
#   sh install.sh [options]
#
# Options (each also settable through the environment variable in brackets):
#   --version TAG     release to install, e.g. v0.1.0; default: the latest   [MANIFEST_TOOL_VERSION]
#   --prefix DIR      installs DIR/bin/manifest-tool; default /usr/local as root,
#                     else ~/.local                                          [MANIFEST_TOOL_PREFIX]
#   --base-url URL    where the release assets are: URL/manifest-tool-OS-ARCH, URL/SHA256SUMS,
#                     URL/*.asc; default: the GitHub release of --version   [MANIFEST_TOOL_BASE_URL]
#   --key FILE        the project's OpenPGP public key; default: cross/manifest-tool-release.pub.asc
#                     next to this script                                     [MANIFEST_TOOL_KEY]
#   --platform P      asset to install instead of this machine's: the OS-ARCH of an asset
#                     manifest-tool-OS-ARCH, e.g. linux-armv7               [MANIFEST_TOOL_PLATFORM]
#   --downloader D    curl or wget; default: whichever is found first   [MANIFEST_TOOL_DOWNLOADER]
#
# What it checks before installing anything:
#   - the binary's SHA-256 equals its line in the release's SHA256SUMS;
#   - when gpg is installed: SHA256SUMS.asc and the binary's .asc are good signatures by the key
#     in --key (checked in a temporary keyring holding only that key). Without gpg it says that
#     only the checksum was checked.
# On any mismatch, missing file or failed download it installs nothing, says why, and exits 1.
set -eu

# The project's GitHub repository (owner/name), for the default download location. The release
# workflow fills it into the copy it publishes (`make release-installer REPO=owner/name`);
# until then the script refuses to guess where to download from.
GITHUB_REPO_DEFAULT=OWNER/manifest-tool
GITHUB_REPO="${MANIFEST_TOOL_REPO:-$GITHUB_REPO_DEFAULT}"

say() { printf 'install.sh: %s\n' "$*" >&2; }
die() { say "$*"; say "nothing was installed"; exit 1; }

version="${MANIFEST_TOOL_VERSION:-latest}"
prefix="${MANIFEST_TOOL_PREFIX:-}"
base_url="${MANIFEST_TOOL_BASE_URL:-}"
key="${MANIFEST_TOOL_KEY:-}"
platform="${MANIFEST_TOOL_PLATFORM:-}"
downloader="${MANIFEST_TOOL_DOWNLOADER:-}"

while [ "$#" -gt 0 ]; do
    case "$1" in
        --version | --prefix | --base-url | --key | --platform | --downloader)
            [ "$#" -ge 2 ] || die "$1 needs a value"
            case "$1" in
                --version) version="$2" ;;
                --prefix) prefix="$2" ;;
                --base-url) base_url="$2" ;;
                --key) key="$2" ;;
                --platform) platform="$2" ;;
                --downloader) downloader="$2" ;;
            esac
            shift 2
            ;;
        -h | --help)
            # The comment block above is the help; when piped into sh there is no file to read.
            sed -n '2,/^set -eu/p' "$0" 2>/dev/null | sed -e '/^set -eu/d' -e 's/^# \{0,1\}//' ||
                say "see the comments at the top of install.sh"
            exit 0
            ;;
        *) die "unknown option: $1 (see --help)" ;;
    esac
done

# --- what to install --------------------------------------------------------------------------
if [ -z "$platform" ]; then
    case "$(uname -s)" in
        Linux) os=linux ;;
        Darwin) os=darwin ;;
        *) die "no release binary for $(uname -s); build from source with cargo" ;;
    esac
    cpu="$(uname -m)"
    case "$cpu" in
        x86_64 | amd64) arch=amd64 ;;
        i686) arch=386 ;;
        aarch64 | arm64) arch=arm64 ;;
        armv5tel | armv5tejl) arch=armv5 ;;
        armv6l) arch=armv6 ;;
        armv7* | armv8l) arch=armv7 ;;
        ppc64le) arch=ppc64le ;;
        s390x) arch=s390x ;;
        riscv64) arch=riscv64 ;;
        loongarch64) arch=loong64 ;;
        mips64)
            # uname says mips64 for both byte orders; od prints the two bytes 01 00 as one
            # number in this machine's order: 1 on little-endian, 256 on big-endian.
            if [ "$(printf '\001\000' | od -An -tu2 | tr -d ' ')" = 1 ]; then
                arch=mips64le
            else
                die "no release binary for big-endian mips64; build from source with cargo"
            fi
            ;;
        *) die "no release binary for CPU $cpu; build from source with cargo" ;;
    esac
    platform="$os-$arch"
fi
case "$platform" in
    linux-amd64 | linux-386 | linux-armv5 | linux-armv6 | linux-armv7 | linux-arm64) ;;
    linux-ppc64le | linux-s390x | linux-riscv64 | linux-loong64 | linux-mips64le) ;;
    darwin-amd64 | darwin-arm64) ;;
    *) die "no release binary for $platform" ;;
esac
asset="manifest-tool-$platform"

if [ -z "$base_url" ]; then
    case "$GITHUB_REPO" in
        OWNER/*)
            say "this install.sh does not name the project's GitHub repository: use the one attached to a release, or give --base-url URL or MANIFEST_TOOL_REPO=owner/name"
            exit 1
            ;;
    esac
    if [ "$version" = latest ]; then
        base_url="https://github.com/$GITHUB_REPO/releases/latest/download"
    else
        base_url="https://github.com/$GITHUB_REPO/releases/download/$version"
    fi
fi
base_url="${base_url%/}"

if [ -z "$prefix" ]; then
    if [ "$(id -u)" -eq 0 ]; then prefix=/usr/local; else prefix="$HOME/.local"; fi
fi

# --- tools ------------------------------------------------------------------------------------
if [ -z "$downloader" ]; then
    if command -v curl >/dev/null 2>&1; then
        downloader=curl
    elif command -v wget >/dev/null 2>&1; then
        downloader=wget
    else
        die "neither curl nor wget is installed"
    fi
fi
case "$downloader" in
    curl | wget) command -v "$downloader" >/dev/null 2>&1 || die "$downloader is not installed" ;;
    *) die "--downloader must be curl or wget, not $downloader" ;;
esac

# download NAME: fetches base_url/NAME into the work directory.
download() {
    case "$downloader" in
        curl) curl -fsSL --retry 2 -o "$work/$1" "$base_url/$1" ;;
        wget) wget -q -O "$work/$1" "$base_url/$1" ;;
    esac || die "could not download $base_url/$1"
}

sha256() {
    if command -v sha256sum >/dev/null 2>&1; then
        sha256sum "$1" | cut -d' ' -f1
    elif command -v shasum >/dev/null 2>&1; then
        shasum -a 256 "$1" | cut -d' ' -f1
    elif command -v openssl >/dev/null 2>&1; then
        openssl dgst -sha256 -r "$1" | cut -d' ' -f1
    else
        die "no SHA-256 tool (sha256sum, shasum or openssl) to check the download with"
    fi
}

work="$(mktemp -d 2>/dev/null || mktemp -d -t manifest-tool)"
cleanup() {
    if [ -d "$work/gnupg" ]; then
        GNUPGHOME="$work/gnupg" gpgconf --kill gpg-agent >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 1' HUP INT TERM

# --- download and verify ----------------------------------------------------------------------
say "downloading $asset from $base_url"
download "$asset"
download SHA256SUMS

expected="$(awk -v f="$asset" '$2 == f || $2 == "*" f { print $1 }' "$work/SHA256SUMS")"
[ -n "$expected" ] || die "SHA256SUMS has no line for $asset"
[ "$(printf '%s\n' "$expected" | wc -l)" -eq 1 ] || die "SHA256SUMS has several lines for $asset"
actual="$(sha256 "$work/$asset")"
[ "$actual" = "$expected" ] ||
    die "checksum mismatch for $asset: SHA256SUMS says $expected, the download is $actual"
say "SHA-256 matches SHA256SUMS: $actual"

if command -v gpg >/dev/null 2>&1; then
    if [ -z "$key" ]; then
        key="$(cd "$(dirname "$0")" 2>/dev/null && pwd)/cross/manifest-tool-release.pub.asc"
    fi
    [ -f "$key" ] || die "gpg is installed but the project's public key is not at $key;
  pass it with --key FILE (or MANIFEST_TOOL_KEY) to check the release signatures"
    mkdir "$work/gnupg"
    chmod 700 "$work/gnupg"
    GNUPGHOME="$work/gnupg" gpg --batch --quiet --import "$key" >/dev/null 2>&1 || true
    [ -n "$(GNUPGHOME="$work/gnupg" gpg --batch --list-keys 2>/dev/null)" ] ||
        die "$key holds no OpenPGP public key"
    download SHA256SUMS.asc
    download "$asset.asc"
    for signed in SHA256SUMS "$asset"; do
        GNUPGHOME="$work/gnupg" gpg --batch --verify "$work/$signed.asc" "$work/$signed" \
            >/dev/null 2>&1 ||
            die "bad signature: $signed.asc is not a valid signature of $signed by the key in $key"
    done
    say "signatures of SHA256SUMS and $asset are good (key: $key)"
else
    say "gpg is not installed: only the checksum was checked, not the signatures"
fi

# --- install ----------------------------------------------------------------------------------
mkdir -p "$prefix/bin" || die "cannot create $prefix/bin"
# Copy next to the destination, then rename: a running old binary is never half-overwritten.
cp "$work/$asset" "$prefix/bin/.manifest-tool.new.$$" || die "cannot write to $prefix/bin"
chmod 0755 "$prefix/bin/.manifest-tool.new.$$"
mv -f "$prefix/bin/.manifest-tool.new.$$" "$prefix/bin/manifest-tool" ||
    die "cannot install $prefix/bin/manifest-tool"
say "installed $prefix/bin/manifest-tool"
"$prefix/bin/manifest-tool" --version 2>/dev/null || true
case ":$PATH:" in
    *":$prefix/bin:"*) ;;
    *) say "note: $prefix/bin is not on your PATH" ;;
esac
