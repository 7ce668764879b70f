//! Credentials over plain http: sent to a host that is not loopback, they cost one
//! warning line per host and run; to loopback (every other test here) they go silently.
//!
//! A host that is not loopback is made without reaching any network: a network namespace of the
//! test's own (`unshare -n`) whose `lo` also carries 10.254.0.1, where a stand-in registry
//! listens.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use support::{PASSWORD, TempDir, USERNAME, bare_command, outcome};

/// The address the namespace adds to its `lo`: not loopback by its name.
const NOT_LOOPBACK: &str = "10.254.0.1";
/// The stand-in registry's port inside the namespace (nothing else listens there).
const PORT: u16 = 5000;

/// The stand-in registry, a few lines of python3's `http.server` rather than a real registry:
/// only a challenge and an error are needed. A request without `Authorization` gets a Basic
/// challenge; with it, the first two get 503 (`Retry-After: 0`, so the tool sends them again at
/// once) and the rest 404 `MANIFEST_UNKNOWN`. Each request is logged to `argv[1]` as `auth` or
/// `none`; `argv[2]` is created once it listens. It stops by itself after a minute.
const STAND_IN: &str = r#"
import http.server, sys, threading, time
log, ready = sys.argv[1], sys.argv[2]
lock, busy = threading.Lock(), [0]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        auth = self.headers.get("Authorization") is not None
        with lock:
            with open(log, "a") as f:
                f.write(("auth " if auth else "none ") + self.path + "\n")
            refuse = auth and busy[0] < 2
            if refuse:
                busy[0] += 1
        if not auth:
            self.answer(401, [("WWW-Authenticate", 'Basic realm="test"')], "UNAUTHORIZED")
        elif refuse:
            self.answer(503, [("Retry-After", "0")], "UNAVAILABLE")
        else:
            self.answer(404, [], "MANIFEST_UNKNOWN")
    def answer(self, status, headers, code):
        body = ('{"errors":[{"code":"%s","message":"stand-in"}]}' % code).encode()
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[3])), Handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
open(ready, "w").close()
time.sleep(60)
"#;

/// Inside the namespace: bring `lo` up with [`NOT_LOOPBACK`] on it, start [`STAND_IN`], wait
/// until it listens, run the command given after the script's own arguments, stop the server.
const IN_NAMESPACE: &str = r#"
set -e
ip link set lo up
ip addr add "$1"/32 dev lo
python3 -c "$2" "$3" "$4" "$5" &
server=$!
tries=0
while [ ! -e "$4" ]; do
    tries=$((tries + 1))
    if [ "$tries" -gt 200 ]; then echo "the stand-in registry did not start" >&2; exit 2; fi
    sleep 0.05
done
set +e
shift 5
"$@"
status=$?
kill "$server"
exit "$status"
"#;

/// Runs the binary inside a network namespace of its own with `--plain-http` and Basic
/// credentials, inspecting a missing tag at `host` (an address of the namespace); returns what
/// the binary did and the stand-in's log.
fn inspect_in_namespace(host: &str) -> (support::Outcome, String) {
    support::require(&["unshare", "ip", "python3"]);
    let home = TempDir::new("mt-plain-http");
    let log = home.path().join("requests.log");
    let ready = home.path().join("ready");
    let bare = bare_command(&home);
    let mut cmd = support::tool("unshare");
    for (name, value) in bare.get_envs() {
        match value {
            Some(value) => cmd.env(name, value),
            None => cmd.env_remove(name),
        };
    }
    cmd.stdin(std::process::Stdio::null())
        .args(["-n", "sh", "-c", IN_NAMESPACE, "sh", NOT_LOOPBACK, STAND_IN])
        .arg(&log)
        .arg(&ready)
        .arg(PORT.to_string())
        .arg(env!("CARGO_BIN_EXE_manifest-tool"))
        .args([
            "--plain-http",
            "--username",
            USERNAME,
            "--password",
            PASSWORD,
        ])
        .args(["inspect", &format!("{host}:{PORT}/app:missing")]);
    let run = outcome(&mut cmd);
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    (run, log)
}

/// The warnings a run printed.
fn warnings(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect()
}

/// Basic credentials sent three times over plain http to 10.254.0.1 (an answer, then two
/// retries): one warning line, then the registry's error; the same run against 127.0.0.1 says
/// nothing more than the error.
#[test]
fn credentials_over_plain_http_to_a_host_that_is_not_loopback_cost_one_warning() {
    let (run, log) = inspect_in_namespace(NOT_LOOPBACK);
    run.fails_with("MANIFEST_UNKNOWN");
    assert_eq!(
        log.lines().filter(|l| l.starts_with("auth ")).count(),
        3,
        "the credentials were not sent three times:\n{log}"
    );
    let host = format!("{NOT_LOOPBACK}:{PORT}");
    assert_eq!(
        warnings(&run.stderr),
        [format!(
            "warning: sending credentials for {host} over plain http to {host}"
        )],
        "\n--- stderr\n{}",
        run.stderr
    );

    let (run, log) = inspect_in_namespace("127.0.0.1");
    run.fails_with("MANIFEST_UNKNOWN");
    assert_eq!(log.lines().filter(|l| l.starts_with("auth ")).count(), 3);
    assert!(warnings(&run.stderr).is_empty(), "{}", run.stderr);
}
