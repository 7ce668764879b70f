//! A real `docker-registry` (CNCF distribution) process per test, in one of the four `Mode`s.

use super::tempdir::TempDir;
use super::token_server::{ISSUER, SERVICE, TokenServer};
use super::{Mode, PASSWORD, USERNAME, run, sha256_digest, target_cache, tool};
use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

/// How long a registry may take to answer `/v2/` before `start` panics.
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// A running registry on `127.0.0.1:PORT` with its own temp dir (config, certs, log, storage).
/// Dropping it kills and reaps the process, stops the token server and removes the temp dir.
/// If the test process exits without dropping it (a `static`, an abort), a watchdog kills it.
pub struct Registry {
    process: Mutex<Process>,
    mode: Mode,
    port: u16,
    storage: PathBuf,
    access_mark: AtomicUsize,
    token_server: Option<TokenServer>,
    dir: TempDir,
}

impl Registry {
    /// Starts a registry in `mode` with empty storage; returns once it answers HTTP.
    pub fn start(mode: Mode) -> Registry {
        Registry::launch(mode, None)
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The mode it was started in.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// PEM of the CA that signed the server certificate (TLS modes only), and in
    /// `Mode::TlsToken` the token server's too.
    pub fn ca_cert(&self) -> Option<PathBuf> {
        self.mode.is_tls().then(|| self.cert_dir().join("ca.crt"))
    }

    /// Kills the registry process (SIGKILL, as a crash would) and waits until it is gone; its
    /// storage stays. [`Registry::restart`] brings it back.
    pub fn kill(&self) {
        self.process.lock().unwrap().stop();
    }

    /// Starts the registry again (killing it first if it still runs) on the same port, with the
    /// same config and storage; returns once it answers HTTP. Its log goes on in the same file.
    pub fn restart(&self) {
        let mut process = self.process.lock().unwrap();
        process.stop();
        let config = self.dir().join("config.yml");
        let text = fs::read_to_string(&config).unwrap().replace(
            "addr: 127.0.0.1:0",
            &format!("addr: 127.0.0.1:{}", self.port),
        );
        fs::write(&config, text).unwrap();
        let log = self.dir().join("registry.log");
        *process = Process::spawn(&config, &log, self.dir(), true);
        if wait_ready(&process, self.mode, &log) != Some(self.port) {
            panic!(
                "docker-registry ({:?}) did not come back on port {}\n--- log\n{}",
                self.mode,
                self.port,
                self.log_text()
            );
        }
    }

    /// The registry's temp dir; tests may put their own files here (e.g. a docker config).
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The filesystem storage root.
    pub fn storage_dir(&self) -> PathBuf {
        self.storage.clone()
    }

    /// The token server of a `Mode::TlsToken` registry.
    pub fn token_server(&self) -> Option<&TokenServer> {
        self.token_server.as_ref()
    }

    /// A second registry, plain HTTP without auth, serving the same storage (for the docker CLI,
    /// which speaks only plain HTTP to loopback). Drop it before `self`, which owns the storage.
    pub fn plain_http_twin(&self) -> Registry {
        Registry::launch(Mode::PlainHttp, Some(self.storage_dir()))
    }

    /// One entry per HTTP request served since start (or the last `clear_access_log`), in order:
    /// `"METHOD PATH?QUERY STATUS"`, e.g. `"GET /v2/docker/app/manifests/list 200"`.
    pub fn access_log(&self) -> Vec<String> {
        // A line is written when the handler returns, which may be just after the client has read
        // the whole response: wait until the log stops growing.
        let mut entries = self.all_access_entries();
        for _ in 0..40 {
            std::thread::sleep(Duration::from_millis(25));
            let again = self.all_access_entries();
            if again.len() == entries.len() {
                break;
            }
            entries = again;
        }
        entries.split_off(self.access_mark.load(Ordering::SeqCst).min(entries.len()))
    }

    /// Forgets the requests logged so far, so `access_log` shows only later ones.
    pub fn clear_access_log(&self) {
        let seen = self.access_log().len() + self.access_mark.load(Ordering::SeqCst);
        self.access_mark.store(seen, Ordering::SeqCst);
    }

    /// The registry's whole log (application and access lines), for failure messages.
    pub fn log_text(&self) -> String {
        fs::read_to_string(self.dir().join("registry.log")).unwrap_or_default()
    }

    /// Requests the token server got (`Mode::TlsToken`; empty otherwise), credentials left out.
    pub fn token_requests(&self) -> Vec<String> {
        self.token_server
            .as_ref()
            .map(TokenServer::requests)
            .unwrap_or_default()
    }

    /// Forgets the token requests recorded so far.
    pub fn clear_token_requests(&self) {
        self.token_server
            .iter()
            .for_each(TokenServer::clear_requests);
    }

    /// skopeo flags for this registry in a one-registry command such as `inspect`:
    /// `--tls-verify=false` or `--cert-dir DIR`, plus `--creds USER:PASS` in auth modes.
    pub fn skopeo_tls_args(&self) -> Vec<String> {
        self.skopeo_args("", true)
    }

    /// Like `skopeo_tls_args` without `--creds`: an anonymous client.
    pub fn skopeo_anonymous_args(&self) -> Vec<String> {
        self.skopeo_args("", false)
    }

    /// The `--src-*` flags for `skopeo copy` from this registry.
    pub fn skopeo_src_args(&self) -> Vec<String> {
        self.skopeo_args("src-", true)
    }

    /// The `--dest-*` flags for `skopeo copy` to this registry.
    pub fn skopeo_dest_args(&self) -> Vec<String> {
        self.skopeo_args("dest-", true)
    }

    /// A `skopeo` command that ignores the user's own registry credentials.
    pub fn skopeo(&self) -> Command {
        let mut cmd = tool("skopeo");
        cmd.env("REGISTRY_AUTH_FILE", self.dir().join("no-skopeo-auth.json"));
        cmd
    }

    /// The exact bytes of `HOST/<repo_and_ref>` (`repo:tag` or `repo@digest`), read by skopeo
    /// with credentials; panics with skopeo's stderr on failure.
    pub fn skopeo_inspect_raw(&self, repo_and_ref: &str) -> Vec<u8> {
        self.skopeo_try_inspect_raw(repo_and_ref)
            .unwrap_or_else(|e| panic!("skopeo inspect --raw {repo_and_ref} failed: {e}"))
    }

    /// Like [`Registry::skopeo_inspect_raw`], with skopeo's stderr as the error: for what may
    /// not exist.
    pub fn skopeo_try_inspect_raw(&self, repo_and_ref: &str) -> Result<Vec<u8>, String> {
        self.skopeo_raw(repo_and_ref, self.skopeo_tls_args())
    }

    /// Like [`Registry::skopeo_try_inspect_raw`] as an anonymous client.
    pub fn skopeo_anonymous_inspect_raw(&self, repo_and_ref: &str) -> Result<Vec<u8>, String> {
        self.skopeo_raw(repo_and_ref, self.skopeo_anonymous_args())
    }

    /// Copies `HOST/<repo_and_ref>` with every child and blob out of the registry (`skopeo
    /// copy --all` into a throwaway OCI layout), which fails with skopeo's stderr if any of
    /// them is missing or does not match its digest: the check that a pushed list is complete.
    pub fn skopeo_copy_all(&self, repo_and_ref: &str) -> Result<(), String> {
        let out = TempDir::new("mt-copyout");
        let output = self
            .skopeo()
            .args(["copy", "--all", "-q"])
            .args(self.skopeo_src_args())
            .arg(format!("docker://{}/{repo_and_ref}", self.host()))
            .arg(format!("oci:{}:x", out.path().join("l").display()))
            .output()
            .expect("run skopeo");
        match output.status.success() {
            true => Ok(()),
            false => Err(format!(
                "{repo_and_ref} is incomplete: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            )),
        }
    }

    /// The digest of `HOST/<repo_and_ref>`: sha256 of the bytes `skopeo_inspect_raw` returns.
    pub fn skopeo_digest(&self, repo_and_ref: &str) -> String {
        sha256_digest(&self.skopeo_inspect_raw(repo_and_ref))
    }

    fn skopeo_raw(&self, repo_and_ref: &str, args: Vec<String>) -> Result<Vec<u8>, String> {
        let output = self
            .skopeo()
            .args(["inspect", "--raw"])
            .args(args)
            .arg(format!("docker://{}/{repo_and_ref}", self.host()))
            .output()
            .expect("run skopeo");
        match output.status.success() {
            true => Ok(output.stdout),
            false => Err(String::from_utf8_lossy(&output.stderr).into_owned()),
        }
    }

    fn cert_dir(&self) -> PathBuf {
        self.dir().join("certs")
    }

    fn skopeo_args(&self, prefix: &str, with_creds: bool) -> Vec<String> {
        let mut args = match self.mode.is_tls() {
            true => vec![
                format!("--{prefix}cert-dir"),
                self.cert_dir().display().to_string(),
            ],
            false => vec![format!("--{prefix}tls-verify=false")],
        };
        if with_creds && self.mode.has_auth() {
            args.extend([format!("--{prefix}creds"), format!("{USERNAME}:{PASSWORD}")]);
        }
        args
    }

    fn all_access_entries(&self) -> Vec<String> {
        let log = self.log_text();
        log.lines().filter_map(parse_access_line).collect()
    }

    fn launch(mode: Mode, shared_storage: Option<PathBuf>) -> Registry {
        let dir = TempDir::new("registry");
        let storage = shared_storage.unwrap_or_else(|| dir.path().join("storage"));
        fs::create_dir_all(&storage).unwrap();
        let mut config = config_yaml(&storage);
        if mode.is_tls() {
            config += &make_tls_certs(dir.path());
        }
        if mode == Mode::TlsBasic {
            let htpasswd = dir.path().join("htpasswd");
            run(tool("htpasswd")
                .arg("-Bbc")
                .arg(&htpasswd)
                .args([USERNAME, PASSWORD]));
            config += &format!(
                "auth:\n  htpasswd:\n    realm: {SERVICE}\n    path: {}\n",
                quoted(&htpasswd)
            );
        }
        let token_server = (mode == Mode::TlsToken).then(|| start_token_server(dir.path()));
        if let Some(server) = &token_server {
            let (realm, bundle) = (server.realm(), quoted(server.cert()));
            config += &format!(
                "auth:\n  token:\n    realm: {realm}\n    service: {SERVICE}\n    issuer: {ISSUER}\n    \
                 rootcertbundle: {bundle}\n"
            );
        }
        let config_file = dir.path().join("config.yml");
        fs::write(&config_file, &config).unwrap();
        let log = dir.path().join("registry.log");
        let process = Process::spawn(&config_file, &log, dir.path(), false);
        let Some(port) = wait_ready(&process, mode, &log) else {
            panic!(
                "docker-registry ({mode:?}) did not answer HTTP within {START_TIMEOUT:?}\n\
                 --- config\n{config}\n--- log\n{}",
                fs::read_to_string(&log).unwrap_or_default()
            )
        };
        let access_mark = AtomicUsize::new(0);
        let registry = Registry {
            process: Mutex::new(process),
            mode,
            port,
            storage,
            access_mark,
            token_server,
            dir,
        };
        registry.clear_access_log(); // the readiness probe
        registry
    }
}

/// The registry child and a watchdog shell that kills it when our end of the watchdog's stdin
/// closes, i.e. when this process exits without running `Drop`.
struct Process {
    child: Child,
    watchdog: Child,
}

impl Process {
    /// Starts `docker-registry serve CONFIG` writing to `log` (appended to when `append`).
    fn spawn(config: &Path, log: &Path, dir: &Path, append: bool) -> Process {
        let log = File::options()
            .create(true)
            .append(append)
            .write(true)
            .truncate(!append)
            .open(log)
            .unwrap();
        let child = tool("docker-registry")
            .arg("serve")
            .arg(config)
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("could not start docker-registry: {e}"));
        let watchdog = Command::new("sh")
            .args(["-c", "read -r _; kill -9 \"$1\" 2>/dev/null", "watchdog"])
            .arg(child.id().to_string())
            .stdin(Stdio::piped())
            .spawn()
            .expect("could not start the watchdog shell");
        Process { child, watchdog }
    }

    /// Whether the registry has exited, read from /proc without reaping it (a zombie counts),
    /// so that its pid cannot be reused while the watchdog holds it.
    fn has_exited(&self) -> bool {
        let stat =
            fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap_or_default();
        stat.rsplit_once(')')
            .is_none_or(|(_, rest)| rest.trim_start().starts_with('Z'))
    }
}

impl Process {
    /// Kills and reaps the registry. The watchdog goes first so that it can never signal a
    /// reused pid.
    fn stop(&mut self) {
        let _ = self.watchdog.kill();
        let _ = self.watchdog.wait();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Waits for the registry's "listening on 127.0.0.1:PORT" log line and for an HTTP answer on
/// that port: 200/401 to `GET /v2/`, or in TLS modes Go's 400 to a plain-HTTP request (the
/// harness has no TLS client). Returns the port, or `None` on exit or timeout.
fn wait_ready(process: &Process, mode: Mode, log: &Path) -> Option<u16> {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        let exited = process.has_exited(); // before reading the log, to see its last lines
        let text = fs::read_to_string(log).unwrap_or_default();
        let port = text
            .split("listening on 127.0.0.1:")
            .nth(1)
            .and_then(|rest| {
                rest.split(|c: char| !c.is_ascii_digit())
                    .next()?
                    .parse()
                    .ok()
            });
        if let Some(port) = port {
            let expected: &[&str] = if mode.is_tls() {
                &["400"]
            } else {
                &["200", "401"]
            };
            if probe(port).is_some_and(|status| expected.contains(&status.as_str())) {
                return Some(port);
            }
        }
        if exited {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// The status code of a plain-HTTP `GET /v2/` on `127.0.0.1:port`, if any answer came.
fn probe(port: u16) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    write!(
        stream,
        "GET /v2/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .split_whitespace()
        .nth(1)
        .map(str::to_string)
}

/// `"METHOD URI STATUS"` from an access-log line (Apache combined format):
/// `127.0.0.1 - USER [DATE] "GET /v2/ HTTP/1.1" 200 2 "REFERER" "AGENT"`.
fn parse_access_line(line: &str) -> Option<String> {
    if line.starts_with("time=") {
        return None; // an application log line
    }
    let (_, rest) = line.split_once("] \"")?;
    let (request, rest) = rest.split_once("\" ")?;
    let mut request = request.split(' ');
    let (method, uri) = (request.next()?, request.next()?);
    let status = rest.split_whitespace().next()?;
    Some(format!("{method} {uri} {status}"))
}

/// A YAML double-quoted scalar (JSON strings are valid YAML).
fn quoted(path: &Path) -> String {
    serde_json::to_string(&path.display().to_string()).unwrap()
}

/// The mode-independent config; port 0 lets the registry pick a free port, read from its log.
fn config_yaml(storage: &Path) -> String {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap();
    let secret = sha256_digest(format!("{now:?} {} {storage:?}", std::process::id()).as_bytes());
    format!(
        "version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\n\
         storage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\n\
         http:\n  addr: 127.0.0.1:0\n  secret: {}\n",
        quoted(storage),
        &secret[7..39],
    )
}

/// Extensions for the CA, the server certificates (registry, token server) and the token signer
/// (subjects are given on the command line).
const OPENSSL_CNF: &str = "[req]\ndistinguished_name = dn\n[dn]\n\
    [ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
    subjectKeyIdentifier = hash\n\
    [server]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
    extendedKeyUsage = serverAuth\nsubjectAltName = IP:127.0.0.1,IP:::1,DNS:localhost\n\
    authorityKeyIdentifier = keyid\n\
    [signer]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n";

fn openssl(dir: &Path, args: &str) {
    fs::create_dir_all(dir).unwrap();
    fs::write(dir.join("openssl.cnf"), OPENSSL_CNF).unwrap();
    run(tool("openssl")
        .current_dir(dir)
        .args(args.split_whitespace()));
}

/// `openssl req` options for a new P-256 key and a certificate valid for ten years.
const NEW_EC_KEY: &str =
    "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 -config openssl.cnf";

/// Writes `tls/NAME.key` and `tls/NAME.crt`: a server certificate for 127.0.0.1, ::1 and
/// localhost signed by `tls/ca.crt` (OpenSSL 3's `req -x509 -CA`).
fn issue_server_cert(tls: &Path, name: &str, subject: &str) {
    openssl(
        tls,
        &format!(
            "req -x509 {NEW_EC_KEY} -extensions server -subj {subject} -CA ca.crt -CAkey ca.key \
             -keyout {name}.key -out {name}.crt"
        ),
    );
}

/// Writes a P-256 CA and the registry's server certificate (`issue_server_cert`); returns the
/// `http.tls` YAML. `certs/` holds only `ca.crt`, as skopeo's `--cert-dir` wants.
fn make_tls_certs(dir: &Path) -> String {
    let tls = dir.join("tls");
    openssl(
        &tls,
        &format!(
            "req -x509 {NEW_EC_KEY} -extensions ca -subj /CN=test-CA -keyout ca.key -out ca.crt"
        ),
    );
    issue_server_cert(&tls, "server", "/CN=127.0.0.1");
    fs::create_dir_all(dir.join("certs")).unwrap();
    fs::copy(tls.join("ca.crt"), dir.join("certs/ca.crt")).unwrap();
    let (cert, key) = (
        quoted(&tls.join("server.crt")),
        quoted(&tls.join("server.key")),
    );
    format!("  tls:\n    certificate: {cert}\n    key: {key}\n")
}

/// A token server signing with a self-signed RSA certificate, made once (RSA key generation is
/// slow) and kept by `target_cache`, and serving HTTPS with its own certificate from the
/// registry's CA (made by `make_tls_certs` in `dir`), so that one `--cacert` trusts both.
fn start_token_server(dir: &Path) -> TokenServer {
    static SIGNER: OnceLock<PathBuf> = OnceLock::new();
    let signer = SIGNER.get_or_init(|| {
        target_cache("token-signer-v1", |dir| {
            openssl(
                dir,
                "req -x509 -newkey rsa:2048 -nodes -days 3650 -config openssl.cnf -extensions signer \
                 -subj /CN=test-token-signer -keyout key.pem -out cert.pem",
            )
        })
    });
    let tls = dir.join("tls");
    issue_server_cert(&tls, "token-server", "/CN=test-token-server");
    TokenServer::start(
        &signer.join("key.pem"),
        &signer.join("cert.pem"),
        &tls.join("token-server.crt"),
        &tls.join("token-server.key"),
    )
}
