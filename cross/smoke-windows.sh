#!/usr/bin/env bash
# Smoke-test the Windows release binary as a user on Windows would run it, under Debian's wine
# (WINEDEBUG=-all, a throwaway WINEPREFIX in a temp dir; nothing of the user's wine is used).
#
# usage: cross/smoke-windows.sh BIN      (cross/smoke.sh calls it for windows-amd64)
#
#   file                          a PE32+ x86-64 console executable that imports only DLLs of
#                                 Windows itself
#   --version                     Cargo.toml's version and a 12-hex commit (EXPECT_COMMIT, when
#                                 set, must match it)
#   inspect oci-layout://…        the test layout's index: its digest and six platforms
#   push from-spec, layouts       from one layout to a new one (and into an empty directory);
#                                 the printed digest is what skopeo reads back from it
#   inspect 127.0.0.1:PORT/…      against docker-registry over plain HTTP
#   credentials                   %USERPROFILE%\.docker\config.json says credsStore: wincred;
#                                 a stand-in docker-credential-wincred.exe (cross/wine/) on
#                                 PATH answers with a user of a registry with htpasswd auth.
#                                 The push succeeds with its answer, and fails without the
#                                 config and with a wrong secret; the secret is never printed;
#                                 the auth-scheme cache lands under %LOCALAPPDATA%; a helper
#                                 that hangs is stopped after MANIFEST_TOOL_HELPER_TIMEOUT_SECS.
#
# Wine 8.0 (Debian 12) has no bcryptprimitives.dll, whose ProcessPrng Rust's std calls on
# Windows 10 and later; cross/wine/bcryptprimitives.c stands in for it inside the throwaway
# prefix only. Needs wine64, gcc-mingw-w64-x86-64-win32 (objdump, the stand-ins), the stable
# toolchain's x86_64-pc-windows-gnu target, docker-registry, skopeo, htpasswd, curl, python3.
set -euo pipefail
SRC="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=cross/versions.env
source "$SRC/cross/versions.env"
[ "$#" -eq 1 ] || { sed -n '5p' "$0" >&2; exit 2; }
BIN="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
MAX_SIZE="${MAX_SIZE:-2000000}"
VERSION="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$SRC/Cargo.toml" | head -n1)"
WINE="${WINE:-/usr/lib/wine/wine64}"
WINESERVER="${WINESERVER:-/usr/lib/wine/wineserver64}"
NAME=windows-amd64

TMP="$(mktemp -d)"
export WINEPREFIX="$TMP/wine" WINEDEBUG=-all
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    # Stops this prefix's wineserver and what runs in it, nothing else.
    [ ! -d "$WINEPREFIX" ] || "$WINESERVER" -k 2>/dev/null || true
    rm -rf "$TMP"
}
trap cleanup EXIT

FAILED=0
fail() { echo "FAIL $NAME: $*" >&2; FAILED=$((FAILED + 1)); }
ok() { echo "ok   $NAME: $*"; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# --- the binary itself ------------------------------------------------------------------------
size="$(stat -c %s "$BIN")"
if [ "$size" -le "$MAX_SIZE" ]; then ok "$size bytes (limit $MAX_SIZE)"; else
    fail "$size bytes, over the limit of $MAX_SIZE"; fi
desc="$(file -b "$BIN")"
if grep -q "^PE32+ executable (console) x86-64" <<<"$desc"; then ok "$desc"; else
    fail "file says: $desc"; fi
# Windows' own DLLs, matched without regard to case as Windows matches them.
dlls="$(x86_64-w64-mingw32-objdump -p "$BIN" | sed -n 's/^\s*DLL Name: //p' | tr '[:upper:]' '[:lower:]' | sort)"
foreign="$(grep -Ev '^(kernel32|ntdll|advapi32|ws2_32|bcrypt|bcryptprimitives|msvcrt|userenv|api-ms-win-[a-z0-9-]+)\.dll$' <<<"$dlls" || true)"
if [ -z "$foreign" ]; then ok "imports only system DLLs: $(tr '\n' ' ' <<<"$dlls")"; else
    fail "imports DLLs that Windows does not have: $foreign"; fi

# --- the wine prefix and the stand-ins --------------------------------------------------------
"$WINE" wineboot --init >"$TMP/wineboot.log" 2>&1 || { cat "$TMP/wineboot.log" >&2; exit 1; }
x86_64-w64-mingw32-gcc -O2 -shared -s -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
    "$SRC/cross/wine/bcryptprimitives.c" -ladvapi32
mkdir -p "$WINEPREFIX/drive_c/smoke-bin"
rustc "+$RUST_STABLE" --edition 2024 --target x86_64-pc-windows-gnu -C opt-level=1 \
    -o "$WINEPREFIX/drive_c/smoke-bin/docker-credential-wincred.exe" \
    "$SRC/cross/wine/docker-credential-wincred.rs"
# The user's profile as wine sets it, and where that is here.
profile="$("$WINE" cmd /c 'echo %USERPROFILE%' 2>/dev/null | tr -d '\r')"
PROFILE="$("$WINE" winepath -u "$profile" 2>/dev/null | tr -d '\r')"
PROFILE="${PROFILE%/}"
[ -d "$PROFILE" ] || { echo "wine's %USERPROFILE% ($profile) is not a directory: $PROFILE" >&2; exit 1; }

WORK="$TMP/work"
mkdir -p "$WORK"
# Runs the tool in WORK, with the profile's docker config only (no DOCKER_CONFIG), no proxies,
# no colour, and C:\smoke-bin on PATH (WINEPATH). Extra VAR=value pairs come before BIN's args.
run_tool() {
    (cd "$WORK" && env -u DOCKER_CONFIG -u HTTP_PROXY -u HTTPS_PROXY -u ALL_PROXY -u NO_PROXY \
        -u http_proxy -u https_proxy -u all_proxy -u no_proxy -u MANIFEST_TOOL_NO_CACHE \
        NO_COLOR=1 WINEPATH='C:\smoke-bin' "$@" </dev/null)
}
win() { run_tool "$WINE" "$BIN" "$@"; }

# --- --version --------------------------------------------------------------------------------
if ! version="$(win --version)"; then
    fail "--version failed"
elif ! grep -Eq "^manifest-tool version $VERSION \(commit: [0-9a-f]{12}\)$" <<<"$version" ||
    { [ -n "${EXPECT_COMMIT:-}" ] && ! grep -q "(commit: $EXPECT_COMMIT)" <<<"$version"; }; then
    fail "--version printed '$version' (want $VERSION, commit ${EXPECT_COMMIT:-any})"
else
    ok "$version"
fi

# --- OCI layouts ------------------------------------------------------------------------------
out="$TMP/out" err="$TMP/err"
python3 "$SRC/tests/support/make_layout.py" "$WORK/layout" >/dev/null
multi_digest="sha256:$(skopeo inspect --raw oci:"$WORK/layout":multi | sha256sum | cut -d' ' -f1)"
# check_inspect WHAT REF [FLAGS...]: the index digest and six platforms.
check_inspect() {
    local what="$1" ref="$2"
    shift 2
    if ! win "$@" inspect "$ref" >"$out" 2>"$err"; then
        fail "$what: inspect failed: $(cat "$err")"
    elif ! grep -q "^Digest: $multi_digest$" "$out" ||
        [ "$(grep -c '^\[[0-9]*\] Platform:' "$out")" != 6 ]; then
        fail "$what: inspect printed something else:"$'\n'"$(cat "$out")"
    else
        ok "$what: inspect shows $multi_digest and 6 platforms"
    fi
}
check_inspect "layout" "oci-layout://layout:multi"

printf 'image: oci-layout://pushed:list\nmanifests:\n  - image: oci-layout://layout:linux-amd64\n  - image: oci-layout://layout:linux-arm64-v8\n' >"$WORK/layout.yaml"
if ! win push from-spec layout.yaml >"$out" 2>"$err"; then
    fail "layout: push from-spec failed: $(cat "$err")"
elif ! skopeo inspect --raw oci:"$WORK/pushed":list >"$TMP/stored.json" 2>"$err"; then
    fail "layout: skopeo finds no list in the pushed layout: $(cat "$err")"
elif [ "$(cat "$out")" != "Digest: sha256:$(sha256_of "$TMP/stored.json") $(stat -c %s "$TMP/stored.json")" ]; then
    fail "layout: push printed '$(cat "$out")', the layout has sha256:$(sha256_of "$TMP/stored.json")"
else
    ok "layout: push from-spec wrote $(cat "$out")"
fi

# An empty directory that exists already is a new layout too (the lock file that the first
# push makes in it on Windows does not count as content).
mkdir "$WORK/empty"
sed 's|oci-layout://pushed:list|oci-layout://empty:list|' "$WORK/layout.yaml" >"$WORK/empty.yaml"
if ! win push from-spec empty.yaml >"$out" 2>"$err"; then
    fail "layout: push from-spec into an empty directory failed: $(cat "$err")"
elif ! skopeo inspect --raw oci:"$WORK/empty":list >/dev/null 2>"$err"; then
    fail "layout: skopeo finds no list in the layout made in an empty directory: $(cat "$err")"
else
    ok "layout: push from-spec into an existing empty directory wrote $(cat "$out")"
fi

# --- registries -------------------------------------------------------------------------------
# start_registry DIR [HTPASSWD]: a docker-registry on a free loopback port, plain HTTP, with
# htpasswd (Basic) auth when HTPASSWD is given; prints HOST.
start_registry() {
    local dir="$1" htpasswd="${2:-}" port=""
    mkdir -p "$dir"
    printf 'version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: %s\nhttp:\n  addr: 127.0.0.1:0\n' \
        "$dir/storage" >"$dir/config.yml"
    if [ -n "$htpasswd" ]; then
        printf 'auth:\n  htpasswd:\n    realm: smoke\n    path: %s\n' "$htpasswd" >>"$dir/config.yml"
    fi
    docker-registry serve "$dir/config.yml" >"$dir/log" 2>&1 &
    PIDS+=("$!")
    for _ in $(seq 100); do
        port="$(sed -n 's/.*listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$dir/log" | head -n1)"
        if [ -n "$port" ] && curl -sS -o /dev/null "http://127.0.0.1:$port/v2/" 2>/dev/null; then
            echo "127.0.0.1:$port"
            return
        fi
        sleep 0.1
    done
    echo "docker-registry did not start:" >&2
    cat "$dir/log" >&2
    exit 1
}
seed() { # seed HOST [SKOPEO_FLAGS...]: the layout's tags to HOST/smoke/src
    local host="$1" tag
    shift
    for tag in linux-amd64 linux-arm64-v8 multi; do
        skopeo --insecure-policy copy --quiet --all --dest-tls-verify=false "$@" \
            "oci:$WORK/layout:$tag" "docker://$host/smoke/src:$tag"
    done
}
HOST="$(start_registry "$TMP/open")"
seed "$HOST"
check_inspect "registry $HOST" "$HOST/smoke/src:multi" --plain-http

# --- credentials: %USERPROFILE%\.docker\config.json, credsStore wincred ----------------------
USER_NAME=smoke SECRET="win-$(od -An -N8 -tx1 /dev/urandom | tr -d " \n")"
htpasswd -Bbn "$USER_NAME" "$SECRET" >"$TMP/htpasswd" 2>/dev/null
AUTH="$(start_registry "$TMP/auth" "$TMP/htpasswd")"
seed "$AUTH" --dest-creds "$USER_NAME:$SECRET"
mkdir -p "$PROFILE/.docker"
printf '{"credsStore":"wincred"}\n' >"$PROFILE/.docker/config.json"
printf 'image: %s\nmanifests:\n  - image: %s\n  - image: %s\n' "$AUTH/smoke/win:list" \
    "$AUTH/smoke/src:linux-amd64" "$AUTH/smoke/src:linux-arm64-v8" >"$WORK/auth.yaml"
cred_log="$TMP/asked"
# push_auth SECRET: the push of auth.yaml with the helper answering SECRET.
push_auth() {
    run_tool SMOKE_CRED_USERNAME="$USER_NAME" SMOKE_CRED_SECRET="$1" SMOKE_CRED_LOG="$cred_log" \
        "$WINE" "$BIN" --plain-http push from-spec auth.yaml >"$out" 2>"$err"
}
stored_list() { # the list at smoke/win:list, into $TMP/stored.json
    skopeo inspect --raw --tls-verify=false --creds "$USER_NAME:$SECRET" \
        "docker://$AUTH/smoke/win:list" >"$TMP/stored.json" 2>/dev/null
}

mv "$PROFILE/.docker/config.json" "$PROFILE/.docker/config.json.off"
if push_auth "$SECRET"; then fail "credentials: the push succeeded without a docker config"
elif stored_list; then fail "credentials: a list was stored without a docker config"
else ok "credentials: without %USERPROFILE%\\.docker\\config.json the push is refused: $(head -n1 "$err")"; fi
mv "$PROFILE/.docker/config.json.off" "$PROFILE/.docker/config.json"

if push_auth "not-$SECRET"; then fail "credentials: the push succeeded with a wrong secret"
elif stored_list; then fail "credentials: a list was stored with a wrong secret"
else ok "credentials: with a wrong secret from the helper the push is refused"; fi

rm -f "$cred_log"
if ! push_auth "$SECRET"; then
    fail "credentials: push with docker-credential-wincred's answer failed: $(cat "$err")"
elif ! stored_list; then
    fail "credentials: the push printed '$(cat "$out")' but nothing is stored"
elif [ "$(cat "$out")" != "Digest: sha256:$(sha256_of "$TMP/stored.json") $(stat -c %s "$TMP/stored.json")" ]; then
    fail "credentials: push printed '$(cat "$out")', the registry has sha256:$(sha256_of "$TMP/stored.json")"
elif ! grep -qx "$AUTH" "$cred_log" 2>/dev/null; then
    fail "credentials: the helper was not asked for $AUTH (asked: $(tr '\n' ' ' <"$cred_log" 2>/dev/null))"
elif grep -q "$SECRET" "$out" "$err"; then
    fail "credentials: the secret was printed"
else
    ok "credentials: push through docker-credential-wincred.exe (asked for $AUTH): $(cat "$out")"
fi

cache="$PROFILE/AppData/Local/manifest-tool/auth-schemes.json"
if grep -q "http://$AUTH" "$cache" 2>/dev/null; then
    ok "the auth-scheme cache is under %LOCALAPPDATA% and knows http://$AUTH"
else
    fail "no auth-scheme cache entry for http://$AUTH in $cache"
fi

start=$(date +%s)
if run_tool SMOKE_CRED_SLEEP=120 MANIFEST_TOOL_HELPER_TIMEOUT_SECS=2 \
    "$WINE" "$BIN" --plain-http inspect "$AUTH/smoke/src:multi" >"$out" 2>"$err"; then
    fail "credentials: inspect succeeded with a helper that hangs"
elif ! grep -q "did not answer for $AUTH within 2 s and was stopped" "$err"; then
    fail "credentials: a helper that hangs gave: $(cat "$err")"
elif [ $(($(date +%s) - start)) -gt 30 ]; then
    fail "credentials: a helper that hangs was stopped only after $(($(date +%s) - start)) s"
else
    ok "credentials: a helper that hangs is stopped after 2 s ($(($(date +%s) - start)) s in all)"
fi

if [ "$FAILED" -gt 0 ]; then
    echo "$FAILED check(s) failed for $NAME" >&2
    exit 1
fi
echo "all checks passed for $NAME"
