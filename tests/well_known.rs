//! The built-in table of public registries' authentication schemes, on a stand-in.
//!
//! The binary is made to believe that a stand-in on loopback is `quay.io`, without reaching any
//! network and without any switch in the binary: it runs in a mount namespace of its own
//! (`unshare -m`) whose `/etc/hosts` (bind-mounted over the machine's) maps `quay.io` to a
//! loopback address of the test's choosing, where the stand-in listens on port 443 with a
//! certificate for `quay.io` from a test CA, passed with `--cacert`.
//!
//! The stand-in is the harness's proxy in front of the real (plain-HTTP) registry. It plays
//! quay.io after a move of its token realm: the table says tokens come from
//! `https://quay.io/v2/auth` (what quay.io answers, GoogleContainerTools/skaffold#7048), and
//! the stand-in answers that path 404 and names another realm in its challenges.

// Black-box tests of the Unix build; cross/smoke-windows.sh runs the Windows one.
#![cfg(unix)]

mod support;

use std::net::{Ipv4Addr, SocketAddr};
use support::{Fault, Mode, Outcome, Proxy, Rule, TempDir, bare_command, outcome};

/// The public registry the stand-in plays: one of the built-in table's.
const HOST: &str = "quay.io";
/// Where the built-in table says `HOST` hands out tokens.
const TABLE_REALM: &str = "/v2/auth";
/// Where the stand-in hands them out now.
const MOVED_REALM: &str = "/v2/token-moved";

/// Inside the mount namespace: put the hosts file `$1` over `/etc/hosts`, run the rest.
const IN_NAMESPACE: &str = r#"
set -e
mount --bind "$1" /etc/hosts
shift
exec "$@"
"#;

/// The stand-in on port 443 of a loopback address of its own (127.53.x.y, from the process id,
/// so that concurrent test runs do not collide); returns it and that address.
fn stand_in(upstream: &str, cert: &std::path::Path, key: &std::path::Path) -> (Proxy, Ipv4Addr) {
    let pid = std::process::id();
    for attempt in 0..64u32 {
        let n = pid.wrapping_add(attempt.wrapping_mul(7919));
        let ip = Ipv4Addr::new(127, 53, (n >> 8) as u8, (n as u8).max(1));
        if let Ok(proxy) = Proxy::start_tls_at(SocketAddr::from((ip, 443)), upstream, cert, key) {
            return (proxy, ip);
        }
    }
    panic!("no free 127.53.x.y:443 for the stand-in (binding port 443 needs root)");
}

/// `inspect quay.io/docker/app:list` in the namespace, trusting `ca`, with `home` as `HOME`
/// (so its scheme cache), and `MANIFEST_TOOL_NO_CACHE=1` when `no_cache`.
fn inspect_as_quay(
    home: &TempDir,
    hosts: &std::path::Path,
    ca: &std::path::Path,
    no_cache: bool,
) -> Outcome {
    let bare = bare_command(home);
    let mut cmd = support::tool("unshare");
    for (name, value) in bare.get_envs() {
        match value {
            Some(value) => cmd.env(name, value),
            None => cmd.env_remove(name),
        };
    }
    if no_cache {
        cmd.env("MANIFEST_TOOL_NO_CACHE", "1");
    }
    cmd.stdin(std::process::Stdio::null())
        .args(["-m", "sh", "-c", IN_NAMESPACE, "sh"])
        .arg(hosts)
        .arg(env!("CARGO_BIN_EXE_manifest-tool"))
        .arg("--cacert")
        .arg(ca)
        .args(["inspect", &format!("{HOST}/docker/app:list")]);
    outcome(&mut cmd)
}

/// What the stand-in saw since `from`: one line per request, `GET /path` (query left out)
/// and the fault applied, if any.
fn requests_since(proxy: &Proxy, from: usize) -> Vec<String> {
    proxy.seen()[from..]
        .iter()
        .map(|seen| {
            let request = seen.request.split('?').next().unwrap_or_default();
            match &seen.fault {
                Some(fault) => format!("{request}: {fault}"),
                None => request.to_string(),
            }
        })
        .collect()
}

/// A fresh run asks the table's realm for its token first; that realm is gone, so the
/// request goes without one and its 401 names the new realm: one 401, and the same output as
/// from the registry directly. The next run with the cache takes the new realm from it (no
/// 401); a run with `MANIFEST_TOOL_NO_CACHE=1` uses the table again.
#[test]
fn a_stale_built_in_entry_costs_one_401_and_the_challenge_replaces_it() {
    support::require(&["unshare", "mount", "openssl"]);
    let (reg, _) = support::shared(Mode::PlainHttp);
    let dir = TempDir::new("mt-well-known");
    let (ca, cert, key) = support::tls::ca_and_cert_for(&dir.path().join("tls"), HOST);
    let (proxy, ip) = stand_in(&reg.host(), &cert, &key);
    proxy.inject(Rule::new(
        "GET",
        MOVED_REALM,
        Fault::json(200, r#"{"token":"from-the-moved-realm"}"#),
    ));
    proxy.inject(Rule::new(
        "GET",
        TABLE_REALM,
        Fault::json(
            404,
            r#"{"errors":[{"code":"NOT_FOUND","message":"no realm here"}]}"#,
        ),
    ));
    proxy.challenge(&format!(
        r#"Bearer realm="https://{HOST}{MOVED_REALM}",service="{HOST}""#
    ));
    let hosts = dir.path().join("hosts");
    std::fs::write(&hosts, format!("127.0.0.1 localhost\n{ip} {HOST}\n")).unwrap();
    let expected = support::manifest_tool(
        reg,
        &["inspect", &format!("{}/docker/app:list", reg.host())],
    )
    .success()
    .out()
    .replace(&reg.host(), HOST);
    let home = TempDir::new("mt-well-known-home");

    let run = inspect_as_quay(&home, &hosts, &ca, false).success();
    assert_eq!(run.out(), expected);
    let first = requests_since(&proxy, 0);
    assert_eq!(
        first[..4],
        [
            format!("GET {TABLE_REALM}: 404 answered by the proxy"),
            "GET /v2/docker/app/manifests/list: 401 challenge".to_string(),
            format!("GET {MOVED_REALM}: 200 answered by the proxy"),
            "GET /v2/docker/app/manifests/list".to_string(),
        ],
        "{first:#?}"
    );
    assert_eq!(
        first.iter().filter(|r| r.contains("401")).count(),
        1,
        "{first:#?}"
    );
    assert_eq!(first.len(), 4 + 6, "{first:#?}");

    let seen = proxy.seen().len();
    let run = inspect_as_quay(&home, &hosts, &ca, false).success();
    assert_eq!(run.out(), expected);
    let second = requests_since(&proxy, seen);
    assert_eq!(
        second[0],
        format!("GET {MOVED_REALM}: 200 answered by the proxy")
    );
    assert_eq!(second.len(), 1 + 7, "{second:#?}");
    assert!(!second.iter().any(|r| r.contains("401")), "{second:#?}");

    let seen = proxy.seen().len();
    let run = inspect_as_quay(&home, &hosts, &ca, true).success();
    assert_eq!(run.out(), expected);
    let third = requests_since(&proxy, seen);
    assert_eq!(
        third[0],
        format!("GET {TABLE_REALM}: 404 answered by the proxy")
    );
    assert_eq!(third.len(), 4 + 6, "{third:#?}");
}
