//! Where credentials for a registry come from: docker's `config.json` (`credHelpers`,
//! `credsStore`, `auths`) and the `docker-credential-<name>` helper programs it names, which
//! `credentials/helper.rs` runs.
//!
//! Secrets are kept in [`Secret`], whose `Debug` and `Display` print `<redacted>`, and no error
//! message ever contains one: config values are never echoed, and a helper's stdout (where the
//! secret would be) is never shown.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT;
use serde_json::{Map, Value};

use crate::reference::is_docker_hub;

mod error;
mod helper;
pub use error::CredentialError;
use helper::run_configured;
pub use helper::{
    HELPER_TIMEOUT, HELPER_TIMEOUT_ENV, HelperRunner, OUTPUT_MAX_BYTES, run_helper, run_helper_in,
};

/// The key under which docker stores Docker Hub credentials, and the server name it hands to
/// credential helpers for Docker Hub.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// The largest docker config read. Docker's own files are a few kilobytes; 1 MiB leaves room
/// for many registries while a file you do not control cannot exhaust memory.
pub const CONFIG_MAX_BYTES: u64 = 1 << 20;

/// A secret string whose `Debug` and `Display` print `<redacted>`; [`Secret::expose`] gives the
/// value.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret value, for building an `Authorization` header or a token request. It is
    /// registered with [`crate::redact`] here, on its way out: a server can only quote what it
    /// was sent, and whatever it quotes is then redacted from what the tool prints.
    pub fn expose(&self) -> &str {
        crate::redact::register(&self.0);
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Credentials for one registry. `Debug` shows user names but never secrets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// A user name and password: Basic auth, and the token server's Basic-authenticated GET.
    UserPassword {
        /// The account name.
        username: String,
        /// The password (or a personal access token used as one).
        password: Secret,
    },
    /// An OAuth2 refresh token (docker's `identitytoken`), for the token server's
    /// `grant_type=refresh_token` POST.
    IdentityToken {
        /// The account name when known; empty when a credential helper answered `<token>`.
        username: String,
        /// The refresh token.
        token: Secret,
    },
}

/// The outcome of a credentials lookup, with where it came from for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The credential to use; `None` means anonymous access.
    pub credential: Option<Credential>,
    /// Where the credential was found (or why there is none), for error messages: e.g.
    /// `--username/--password`, `credential helper docker-credential-pass (credsStore in FILE)`,
    /// `auths["127.0.0.1:5000"] in FILE`. Never contains a secret.
    pub source: String,
}

impl Found {
    /// The credential given with `--username` and `--password`.
    pub fn from_flags(username: String, password: Secret) -> Found {
        Found {
            credential: Some(Credential::UserPassword { username, password }),
            source: "--username/--password".to_string(),
        }
    }
}

/// Docker's `config.json`, reduced to what says where credentials are.
#[derive(Debug, Clone)]
pub struct DockerConfig {
    /// The file read (or looked for); `None` when no location could be determined.
    path: Option<PathBuf>,
    /// Whether the file existed.
    exists: bool,
    /// `auths`: registry key → stored credentials.
    auths: BTreeMap<String, AuthEntry>,
    /// `credHelpers`: registry key → helper name.
    cred_helpers: BTreeMap<String, String>,
    /// `credsStore`: the helper for every registry.
    creds_store: Option<String>,
    /// How long a credential helper may take to answer.
    helper_timeout: Duration,
}

impl Default for DockerConfig {
    /// No file, no credentials, helpers given [`HELPER_TIMEOUT`].
    fn default() -> DockerConfig {
        DockerConfig {
            path: None,
            exists: false,
            auths: BTreeMap::new(),
            cred_helpers: BTreeMap::new(),
            creds_store: None,
            helper_timeout: HELPER_TIMEOUT,
        }
    }
}

/// One `auths` entry. Empty strings are kept; they are skipped when the entry is used.
#[derive(Debug, Clone, Default)]
struct AuthEntry {
    auth: Option<Secret>,
    username: Option<String>,
    password: Option<Secret>,
    identity_token: Option<Secret>,
}

/// Where docker's `config.json` is looked for, and how long the credential helpers it names
/// may take. `main` decides it from `--docker-cfg` and the environment
/// ([`ConfigLocation::new`]); nothing below reads a variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigLocation {
    /// `--docker-cfg`: a directory holding `config.json`, or else the file itself.
    Flag {
        /// The path given.
        path: PathBuf,
        /// How long a credential helper may take to answer.
        helper_timeout: Duration,
    },
    /// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
    Default {
        /// The file.
        path: PathBuf,
        /// How long a credential helper may take to answer.
        helper_timeout: Duration,
    },
    /// No `--docker-cfg`, and neither variable set: no config file, so no credentials from one.
    Nowhere,
}

/// The variable that names the user's home directory, under which docker keeps
/// `.docker/config.json`: `HOME`, on Windows `USERPROFILE` (as docker's own client).
#[cfg(not(windows))]
pub const HOME_ENV: &str = "HOME";
/// The variable that names the user's home directory, under which docker keeps
/// `.docker/config.json`: `HOME`, on Windows `USERPROFILE` (as docker's own client).
#[cfg(windows)]
pub const HOME_ENV: &str = "USERPROFILE";

impl ConfigLocation {
    /// `--docker-cfg` when given, else the file the values of `DOCKER_CONFIG` and `HOME` name
    /// (an empty variable counts as unset); the helpers it names get `helper_timeout`.
    pub fn new(
        docker_cfg: Option<PathBuf>,
        docker_config: Option<OsString>,
        home: Option<OsString>,
        helper_timeout: Duration,
    ) -> ConfigLocation {
        match (docker_cfg, default_config_file(docker_config, home)) {
            (Some(path), _) => ConfigLocation::Flag {
                path,
                helper_timeout,
            },
            (None, Some(path)) => ConfigLocation::Default {
                path,
                helper_timeout,
            },
            (None, None) => ConfigLocation::Nowhere,
        }
    }
}

impl DockerConfig {
    /// Reads docker's config from `location`. A `--docker-cfg` directory gets `config.json`
    /// appended, anything else is the file itself. A missing file is an empty config; a file
    /// that cannot be read or is malformed is an error naming it.
    pub fn load(location: &ConfigLocation) -> Result<DockerConfig, CredentialError> {
        let (path, helper_timeout) = match location {
            ConfigLocation::Flag {
                path,
                helper_timeout,
            } if path.is_dir() => (path.join("config.json"), *helper_timeout),
            ConfigLocation::Flag {
                path,
                helper_timeout,
            }
            | ConfigLocation::Default {
                path,
                helper_timeout,
            } => (path.clone(), *helper_timeout),
            ConfigLocation::Nowhere => return Ok(DockerConfig::default()),
        };
        Ok(DockerConfig {
            helper_timeout,
            ..DockerConfig::load_file(path)?
        })
    }

    /// Reads `path` if it is a regular file of at most [`CONFIG_MAX_BYTES`]: a FIFO or a device
    /// in its place is refused before it is opened, so it can neither hang the run nor fill
    /// memory.
    fn load_file(path: PathBuf) -> Result<DockerConfig, CredentialError> {
        use io::Read;
        match fs::metadata(&path) {
            Ok(metadata) if metadata.is_file() => {}
            Ok(_) => return Err(CredentialError::ConfigNotFile { path }),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(DockerConfig {
                    path: Some(path),
                    ..DockerConfig::default()
                });
            }
            Err(error) => return Err(CredentialError::ReadConfig { path, error }),
        }
        let mut bytes = Vec::new();
        if let Err(error) = fs::File::open(&path)
            .and_then(|file| file.take(CONFIG_MAX_BYTES + 1).read_to_end(&mut bytes))
        {
            return Err(CredentialError::ReadConfig { path, error });
        }
        if bytes.len() as u64 > CONFIG_MAX_BYTES {
            return Err(CredentialError::ConfigTooLarge { path });
        }
        match String::from_utf8(bytes) {
            Ok(text) => DockerConfig::from_json(&text, path),
            Err(error) => Err(CredentialError::ReadConfig {
                path,
                error: io::Error::new(io::ErrorKind::InvalidData, error.utf8_error()),
            }),
        }
    }

    /// Parses `config.json` text as if read from `path` (named in messages), exactly as
    /// [`DockerConfig::load`] does after reading the file. Exists so that fuzzing and tests can
    /// drive the parser without a file.
    pub fn parse(text: &str, path: &Path) -> Result<DockerConfig, CredentialError> {
        DockerConfig::from_json(text, path.to_path_buf())
    }

    /// Parses the text of `path`. Only the JSON syntax goes through serde; the layout is
    /// checked by hand so that no message quotes a value (which could be a secret).
    fn from_json(text: &str, path: PathBuf) -> Result<DockerConfig, CredentialError> {
        let mut config = DockerConfig {
            path: Some(path),
            exists: true,
            ..DockerConfig::default()
        };
        if text.trim().is_empty() {
            return Ok(config);
        }
        let root: Value = match serde_json::from_str(text) {
            Ok(root) => root,
            Err(error) => {
                return Err(CredentialError::ConfigSyntax {
                    path: config.into_path(),
                    message: error.to_string(),
                });
            }
        };
        let root = match config.object(&root, "the whole file")? {
            Some(root) => root,
            None => return Ok(config),
        };
        if let Some(auths) = field(root, "auths") {
            for (key, entry) in config.object(auths, "auths")?.into_iter().flatten() {
                let at = |name: &str| format!("auths[{key:?}].{name}");
                let Some(entry) = config.object(entry, &format!("auths[{key:?}]"))? else {
                    continue;
                };
                let entry = AuthEntry {
                    auth: config
                        .string(field(entry, "auth"), &at("auth"))?
                        .map(Secret),
                    username: config.string(field(entry, "username"), &at("username"))?,
                    password: config
                        .string(field(entry, "password"), &at("password"))?
                        .map(Secret),
                    identity_token: config
                        .string(field(entry, "identitytoken"), &at("identitytoken"))?
                        .map(Secret),
                };
                config.auths.insert(key.clone(), entry);
            }
        }
        if let Some(helpers) = field(root, "credHelpers") {
            for (key, helper) in config.object(helpers, "credHelpers")?.into_iter().flatten() {
                if let Some(helper) =
                    config.string(Some(helper), &format!("credHelpers[{key:?}]"))?
                {
                    config.cred_helpers.insert(key.clone(), helper);
                }
            }
        }
        config.creds_store = config.string(field(root, "credsStore"), "credsStore")?;
        Ok(config)
    }

    /// `value` as an object, `None` for `null`, an error for anything else.
    fn object<'v>(
        &self,
        value: &'v Value,
        field: &str,
    ) -> Result<Option<&'v Map<String, Value>>, CredentialError> {
        match value {
            Value::Object(object) => Ok(Some(object)),
            Value::Null => Ok(None),
            _ => Err(self.type_error(field, "a JSON object")),
        }
    }

    /// `value` as a string, `None` when absent or `null`, an error for anything else.
    fn string(
        &self,
        value: Option<&Value>,
        field: &str,
    ) -> Result<Option<String>, CredentialError> {
        match value {
            Some(Value::String(s)) => Ok(Some(s.clone())),
            None | Some(Value::Null) => Ok(None),
            Some(_) => Err(self.type_error(field, "a string")),
        }
    }

    fn type_error(&self, field: &str, expected: &'static str) -> CredentialError {
        CredentialError::ConfigType {
            path: self.path.clone().unwrap_or_default(),
            field: field.to_string(),
            expected,
        }
    }

    fn into_path(self) -> PathBuf {
        self.path.unwrap_or_default()
    }

    /// The config file for messages.
    fn file(&self) -> String {
        match &self.path {
            Some(path) => path.display().to_string(),
            None => "(no docker config)".to_string(),
        }
    }

    /// Credentials for a registry host as written in the reference (`docker.io` for Docker Hub,
    /// `127.0.0.1:5000`, …), trying in order `credHelpers[host]`, `credsStore`, `auths[host]`; a
    /// helper that has no credentials for the host passes on to the next. Keys match by their
    /// host part, so `https://HOST/v2/` matches HOST; Docker Hub's keys are
    /// `https://index.docker.io/v1/` first, then any key naming `docker.io`, `index.docker.io`
    /// or `registry-1.docker.io`. Nothing found is `Ok` with no credential (anonymous).
    pub fn lookup(&self, registry: &str) -> Result<Found, CredentialError> {
        self.lookup_with(registry, &|helper, server| {
            run_helper(helper, server, self.helper_timeout)
        })
    }

    /// [`DockerConfig::lookup`], running helpers with `run` (tests pass one with its own `PATH`;
    /// the fuzzer one that runs nothing).
    pub fn lookup_with(
        &self,
        registry: &str,
        run: HelperRunner<'_>,
    ) -> Result<Found, CredentialError> {
        let server = server_key(registry);
        let helper = matching(&self.cred_helpers, registry)
            .into_iter()
            .find(|(_, helper)| !helper.is_empty());
        if let Some((key, helper)) = helper {
            let setting = format!("credHelpers[{key:?}] in {}", self.file());
            if let Some(found) = run_configured(helper, server, setting, run)? {
                return Ok(found);
            }
        }
        if let Some(store) = self.creds_store.as_deref().filter(|s| !s.is_empty()) {
            let setting = format!("credsStore in {}", self.file());
            if let Some(found) = run_configured(store, server, setting, run)? {
                return Ok(found);
            }
        }
        for (key, entry) in matching(&self.auths, registry) {
            if let Some(credential) = self.credential(key, entry)? {
                return Ok(Found {
                    credential: Some(credential),
                    source: format!("auths[{key:?}] in {}", self.file()),
                });
            }
        }
        let source = match (&self.path, self.exists) {
            (None, _) => format!(
                "no credentials for {registry} (no docker config: neither $DOCKER_CONFIG nor \
                 ${HOME_ENV} is set)"
            ),
            (Some(path), false) => format!(
                "no credentials for {registry} ({} does not exist)",
                path.display()
            ),
            (Some(path), true) => format!("no credentials for {registry} in {}", path.display()),
        };
        Ok(Found {
            credential: None,
            source,
        })
    }

    /// The credential an `auths` entry holds, `None` when it is empty. `auth` (base64 of
    /// `user:password`) wins over `username`/`password`; an `identitytoken` makes it a token.
    fn credential(
        &self,
        key: &str,
        entry: &AuthEntry,
    ) -> Result<Option<Credential>, CredentialError> {
        let (username, password) = match entry.auth.as_ref().filter(|a| !a.expose().is_empty()) {
            Some(auth) => {
                let invalid = || CredentialError::InvalidAuth {
                    path: self.path.clone().unwrap_or_default(),
                    key: key.to_string(),
                };
                let decoded = STANDARD_PAD_INDIFFERENT
                    .decode(auth.expose().trim())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(invalid)?;
                let (username, password) = decoded.split_once(':').ok_or_else(invalid)?;
                (username.to_string(), Some(Secret::new(password)))
            }
            None => (
                entry.username.clone().unwrap_or_default(),
                entry.password.clone(),
            ),
        };
        if let Some(token) = entry
            .identity_token
            .as_ref()
            .filter(|t| !t.expose().is_empty())
        {
            return Ok(Some(Credential::IdentityToken {
                username,
                token: token.clone(),
            }));
        }
        if username.is_empty() {
            return Ok(None);
        }
        Ok(Some(Credential::UserPassword {
            username,
            password: password.unwrap_or_else(|| Secret::new("")),
        }))
    }
}

/// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`; empty variables count as unset.
fn default_config_file(docker_config: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    let set = |value: Option<OsString>| value.filter(|v| !v.is_empty()).map(PathBuf::from);
    match (set(docker_config), set(home)) {
        (Some(dir), _) => Some(dir.join("config.json")),
        (None, Some(home)) => Some(home.join(".docker").join("config.json")),
        (None, None) => None,
    }
}

/// A member of a JSON object, by exact name or else case-insensitively (as Go's decoder does).
fn field<'v>(object: &'v Map<String, Value>, name: &str) -> Option<&'v Value> {
    object.get(name).or_else(|| {
        object
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    })
}

/// The server name docker uses for a registry in its stores: Docker Hub's legacy URL, else the
/// host as written.
fn server_key(registry: &str) -> &str {
    if is_docker_hub(registry) {
        DOCKER_HUB_KEY
    } else {
        registry
    }
}

/// The host part of a config key: `https://ghcr.io/v2/` → `ghcr.io`.
fn key_host(key: &str) -> &str {
    let without_scheme = ["https://", "http://"]
        .iter()
        .find_map(|scheme| {
            key.get(..scheme.len())
                .filter(|prefix| prefix.eq_ignore_ascii_case(scheme))
                .map(|_| &key[scheme.len()..])
        })
        .unwrap_or(key);
    without_scheme
        .split_once('/')
        .map_or(without_scheme, |(host, _)| host)
}

/// The entries of a config map whose key names `registry`, best first: the exact server key,
/// then the registry exactly as written, then the other matches in key order.
fn matching<'m, V>(map: &'m BTreeMap<String, V>, registry: &str) -> Vec<(&'m str, &'m V)> {
    let hub = is_docker_hub(registry);
    let mut found: Vec<(&str, &V)> = map
        .iter()
        .filter(|(key, _)| {
            let host = key_host(key);
            if hub {
                is_docker_hub(host)
            } else {
                host.eq_ignore_ascii_case(registry)
            }
        })
        .map(|(key, value)| (key.as_str(), value))
        .collect();
    let server = server_key(registry);
    found.sort_by_key(|(key, _)| (*key != server, *key != registry));
    found
}

#[cfg(test)]
mod tests {
    use super::helper::find_executable;
    use super::*;
    use std::env;
    use std::ffi::OsStr;
    use std::io::Write;
    use std::process::{Command, Stdio};
    use std::sync::Mutex;

    const SECOND: Duration = Duration::from_secs(1);

    /// `--docker-cfg PATH`, helpers given [`HELPER_TIMEOUT`].
    fn flag(path: PathBuf) -> ConfigLocation {
        ConfigLocation::Flag {
            path,
            helper_timeout: HELPER_TIMEOUT,
        }
    }

    /// Serialises the tests that write and run helper scripts (see `write_script`).
    static HELPERS: Mutex<()> = Mutex::new(());

    /// A directory under the system temp dir, removed on drop.
    struct TempDir(PathBuf);

    impl TempDir {
        fn new(name: &str) -> TempDir {
            let dir = env::temp_dir().join(format!(
                "manifest-tool-credentials-{}-{name}",
                std::process::id()
            ));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).expect("create temp dir");
            TempDir(dir)
        }

        fn path(&self) -> &Path {
            &self.0
        }

        /// This directory, then the process's `PATH` (so scripts find `sh` and `cat`).
        fn search_path(&self) -> OsString {
            let rest = env::var_os("PATH").unwrap_or_default();
            let dirs = std::iter::once(self.0.clone()).chain(env::split_paths(&rest));
            env::join_paths(dirs).expect("join PATH")
        }
    }

    impl Drop for TempDir {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Writes `config.json` with `json` into a fresh temp dir and loads it.
    fn config(name: &str, json: &str) -> (TempDir, DockerConfig) {
        let dir = TempDir::new(name);
        fs::write(dir.path().join("config.json"), json).expect("write config");
        let config = DockerConfig::load(&flag(dir.path().to_path_buf())).expect("load config");
        (dir, config)
    }

    fn load_error(name: &str, json: &str) -> (TempDir, String) {
        let dir = TempDir::new(name);
        let file = dir.path().join("config.json");
        fs::write(&file, json).expect("write config");
        match DockerConfig::load(&flag(file.clone())) {
            Ok(config) => panic!("{json} was accepted: {config:?}"),
            Err(error) => (dir, error.to_string()),
        }
    }

    /// `config.json` text whose `auths` give each key the `auth` of its `user:password`, in
    /// the order given.
    fn auths_json(entries: &[(&str, &str)]) -> String {
        let entries: Vec<String> = entries
            .iter()
            .map(|(key, login)| format!(r#""{key}":{{"auth":"{}"}}"#, b64(login)))
            .collect();
        format!(r#"{{"auths":{{{}}}}}"#, entries.join(","))
    }

    fn b64(text: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(text)
    }

    fn user(username: &str, password: &str) -> Option<Credential> {
        Some(Credential::UserPassword {
            username: username.to_string(),
            password: Secret::new(password),
        })
    }

    fn token(username: &str, token: &str) -> Option<Credential> {
        Some(Credential::IdentityToken {
            username: username.to_string(),
            token: Secret::new(token),
        })
    }

    fn lookup(config: &DockerConfig, registry: &str) -> Found {
        config.lookup(registry).expect("lookup")
    }

    /// The helper scripts of [`write_helpers`] in a fresh temp dir `name`, and the lock of
    /// [`HELPERS`], held until it is dropped (after the dir).
    fn helper_scripts(name: &str) -> (std::sync::MutexGuard<'static, ()>, TempDir) {
        let lock = HELPERS
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let dir = TempDir::new(name);
        write_helpers(&dir);
        (lock, dir)
    }

    /// Runs a helper for a server, looking for it on `path`.
    fn runner(
        path: &OsStr,
    ) -> impl Fn(&str, &str) -> Result<Option<Credential>, CredentialError> + '_ {
        move |helper, server| run_helper_in(helper, server, Some(path), HELPER_TIMEOUT)
    }

    /// Writes an executable script through a child process, so that this process never holds a
    /// writable descriptor of a file it is about to execute (which makes exec fail with
    /// ETXTBSY when another thread forks at that moment).
    fn write_script(dir: &TempDir, name: &str, body: &str) {
        let path = dir.path().join(format!("docker-credential-{name}"));
        let mut child = Command::new("sh")
            .arg("-c")
            .arg("cat > \"$1\" && chmod 755 \"$1\"")
            .arg("sh")
            .arg(&path)
            .stdin(Stdio::piped())
            .spawn()
            .expect("spawn sh");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin
            .write_all(format!("#!/bin/sh\n{body}\n").as_bytes())
            .expect("write script");
        drop(stdin);
        assert!(child.wait().expect("wait for sh").success());
    }

    /// The helpers used by the tests; each reads the server name from stdin.
    fn write_helpers(dir: &TempDir) {
        write_script(
            dir,
            "ok",
            r#"[ "$1" = get ] || exit 9
server=$(cat)
printf '{"ServerURL":"%s","Username":"user-for-%s","Secret":"s3cret"}\n' "$server" "$server""#,
        );
        write_script(
            dir,
            "token",
            r#"server=$(cat)
printf '{"ServerURL":"%s","Username":"<token>","Secret":"refresh-s3cret"}' "$server""#,
        );
        write_script(
            dir,
            "notfound",
            "cat >/dev/null\necho 'credentials not found in native keychain'\nexit 1",
        );
        write_script(
            dir,
            "fail",
            "cat >/dev/null\necho 's3cret on stdout'\necho '' >&2\necho '  boom: the keyring is locked ' >&2\necho 'second line' >&2\nexit 3",
        );
        write_script(dir, "silent", "exit 2");
        write_script(dir, "garbage", "cat >/dev/null\necho 'not json s3cret'");
        write_script(
            dir,
            "empty",
            r#"cat >/dev/null; echo '{"ServerURL":"x","Username":"","Secret":""}'"#,
        );
        write_script(dir, "noread", r#"echo '{"Username":"u","Secret":"s"}'"#);
    }

    #[test]
    fn secret_and_credential_never_print_the_secret() {
        let secret = Secret::new("hunter2");
        assert_eq!(format!("{secret}"), "<redacted>");
        assert_eq!(format!("{secret:?}"), "<redacted>");
        assert_eq!(secret.expose(), "hunter2");

        for credential in [user("alice", "hunter2"), token("alice", "hunter2")] {
            let shown = format!("{credential:?} {credential:#?}");
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(shown.contains("alice"), "{shown}");
        }
        let found = Found::from_flags("alice".to_string(), Secret::new("hunter2"));
        assert!(!format!("{found:?}").contains("hunter2"));
    }

    #[test]
    fn found_from_flags() {
        assert_eq!(
            Found::from_flags("alice".to_string(), Secret::new("pw")),
            Found {
                credential: user("alice", "pw"),
                source: "--username/--password".to_string()
            }
        );
    }

    #[test]
    fn default_config_file_prefers_docker_config_then_home() {
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            default_config_file(os("/cfg"), os("/home/u")),
            Some(PathBuf::from("/cfg/config.json"))
        );
        assert_eq!(
            default_config_file(os(""), os("/home/u")),
            Some(PathBuf::from("/home/u/.docker/config.json"))
        );
        assert_eq!(
            default_config_file(None, os("/home/u")),
            Some(PathBuf::from("/home/u/.docker/config.json"))
        );
        assert_eq!(default_config_file(None, os("")), None);
        assert_eq!(default_config_file(None, None), None);
    }

    #[test]
    fn docker_cfg_comes_before_the_environment() {
        let os = |s: &str| Some(OsString::from(s));
        assert_eq!(
            ConfigLocation::new(
                Some(PathBuf::from("/flag")),
                os("/cfg"),
                os("/home/u"),
                SECOND
            ),
            ConfigLocation::Flag {
                path: PathBuf::from("/flag"),
                helper_timeout: SECOND
            }
        );
        assert_eq!(
            ConfigLocation::new(None, os("/cfg"), os("/home/u"), SECOND),
            ConfigLocation::Default {
                path: PathBuf::from("/cfg/config.json"),
                helper_timeout: SECOND
            }
        );
        assert_eq!(
            ConfigLocation::new(None, None, None, SECOND),
            ConfigLocation::Nowhere
        );
    }

    #[test]
    fn a_missing_file_is_an_empty_config() {
        let dir = TempDir::new("missing");
        let config = DockerConfig::load(&flag(dir.path().to_path_buf())).expect("load");
        let found = lookup(&config, "127.0.0.1:5000");
        assert_eq!(found.credential, None);
        assert_eq!(
            found.source,
            format!(
                "no credentials for 127.0.0.1:5000 ({}/config.json does not exist)",
                dir.path().display()
            )
        );

        let file = dir.path().join("other.json");
        let config = DockerConfig::load(&flag(file.clone())).expect("load");
        assert!(
            lookup(&config, "x")
                .source
                .contains("other.json does not exist")
        );

        let found = lookup(&DockerConfig::default(), "x");
        assert_eq!(found.credential, None);
        assert!(
            found
                .source
                .contains("neither $DOCKER_CONFIG nor $HOME is set")
        );
    }

    #[test]
    fn docker_cfg_may_be_a_directory_or_a_file() {
        let json = auths_json(&[("h:1", "u:p")]);
        let (dir, by_dir) = config("dir-or-file", &json);
        assert_eq!(lookup(&by_dir, "h:1").credential, user("u", "p"));

        let file = dir.path().join("renamed.json");
        fs::write(&file, &json).expect("write");
        let by_file = DockerConfig::load(&flag(file.clone())).expect("load");
        let found = lookup(&by_file, "h:1");
        assert_eq!(found.credential, user("u", "p"));
        assert_eq!(
            found.source,
            format!("auths[\"h:1\"] in {}", file.display())
        );
    }

    #[test]
    fn empty_file_and_empty_object_and_null_are_empty_configs() {
        for (name, json) in [("blank", "  \n"), ("object", "{}"), ("null", "null")] {
            let (_dir, config) = config(name, json);
            assert_eq!(lookup(&config, "ghcr.io").credential, None, "{json:?}");
        }
        let (_dir, config) = config(
            "nulls",
            r#"{"auths":{"a":null,"b":{"auth":null}},"credHelpers":null,"credsStore":null}"#,
        );
        assert_eq!(lookup(&config, "a").credential, None);
        assert_eq!(lookup(&config, "b").credential, None);
    }

    #[test]
    fn malformed_json_names_the_file_and_the_position() {
        let (dir, message) = load_error(
            "syntax",
            "{\n  \"auths\": {\"h\": {\"auth\": \"c2VjcmV0\"}\n",
        );
        let file = dir.path().join("config.json");
        assert_eq!(
            message,
            format!(
                "docker config {} is not valid JSON: EOF while parsing an object at line 3 column 0",
                file.display()
            )
        );
        let (_dir, message) = load_error("trailing", r#"{"auths": {},}"#);
        assert!(message.contains("at line 1 column 14"), "{message}");
    }

    #[test]
    fn values_of_the_wrong_type_are_named_without_quoting_them() {
        let cases = [
            (r#"["s3cret"]"#, "the whole file must be a JSON object"),
            (r#"{"auths": "s3cret"}"#, "auths must be a JSON object"),
            (
                r#"{"auths": {"h": "s3cret"}}"#,
                "auths[\"h\"] must be a JSON object",
            ),
            (
                r#"{"auths": {"h": {"auth": 12345}}}"#,
                "auths[\"h\"].auth must be a string",
            ),
            (
                r#"{"auths": {"h": {"password": ["s3cret"]}}}"#,
                "auths[\"h\"].password must be a string",
            ),
            (
                r#"{"auths": {"h": {"identitytoken": {"t": "s3cret"}}}}"#,
                "auths[\"h\"].identitytoken must be a string",
            ),
            (
                r#"{"credHelpers": {"h": 1}}"#,
                "credHelpers[\"h\"] must be a string",
            ),
            (r#"{"credsStore": true}"#, "credsStore must be a string"),
        ];
        for (i, (json, fragment)) in cases.into_iter().enumerate() {
            let (dir, message) = load_error(&format!("type-{i}"), json);
            let expected = format!(
                "docker config {}: {fragment}",
                dir.path().join("config.json").display()
            );
            assert_eq!(message, expected, "{json}");
            assert!(
                !message.contains("s3cret") && !message.contains("12345"),
                "{message}"
            );
        }
    }

    #[test]
    fn an_unreadable_config_is_an_error_naming_it() {
        let dir = TempDir::new("unreadable");
        let file = dir.path().join("config.json");
        fs::create_dir(&file).expect("mkdir");
        // The directory gets config.json appended, which is a directory too: it is not read.
        let message = DockerConfig::load(&flag(dir.path().to_path_buf()))
            .map(|_| ())
            .map_err(|e| e.to_string());
        let Err(message) = message else {
            panic!("a directory was read as a config file");
        };
        assert_eq!(
            message,
            format!("docker config {} is not a regular file", file.display())
        );
    }

    #[test]
    fn a_config_larger_than_1_mib_is_refused() {
        let (_dir, message) = load_error(
            "large",
            &format!("{{\"auths\":{{}}}}{}", " ".repeat(1 << 20)),
        );
        assert!(
            message.starts_with("docker config ")
                && message.ends_with(" is larger than 1 MiB, far more than a docker config needs"),
            "{message}"
        );
    }

    #[test]
    fn auth_is_base64_of_user_colon_password_split_at_the_first_colon() {
        let json = format!(
            r#"{{"auths":{{"127.0.0.1:5000":{{"auth":"{}"}},"nopad:1":{{"auth":"{}"}}}}}}"#,
            b64("alice:pa:ss"),
            b64("bob:x").trim_end_matches('='),
        );
        let (dir, config) = config("auth", &json);
        let found = lookup(&config, "127.0.0.1:5000");
        assert_eq!(found.credential, user("alice", "pa:ss"));
        assert_eq!(
            found.source,
            format!(
                "auths[\"127.0.0.1:5000\"] in {}",
                dir.path().join("config.json").display()
            )
        );
        assert_eq!(lookup(&config, "nopad:1").credential, user("bob", "x"));
    }

    #[test]
    fn a_malformed_auth_is_an_error_that_does_not_echo_it() {
        let file_of = |dir: &TempDir| dir.path().join("config.json").display().to_string();
        for (name, auth) in [
            ("not-base64", "s3cret!!".to_string()),
            ("no-colon", b64("s3cretwithoutcolon")),
            (
                "not-utf8",
                base64::engine::general_purpose::STANDARD.encode([0xff, b':', b's']),
            ),
        ] {
            let json = format!(r#"{{"auths":{{"127.0.0.1:5000":{{"auth":"{auth}"}}}}}}"#);
            let (dir, config) = config(name, &json);
            let error = config
                .lookup("127.0.0.1:5000")
                .expect_err("malformed auth accepted");
            let message = error.to_string();
            assert_eq!(
                message,
                format!(
                    "auth for 127.0.0.1:5000 in {} is not valid base64 user:password",
                    file_of(&dir)
                )
            );
            let debug = format!("{error:?} {config:?}");
            assert!(
                !debug.contains("s3cret") && !debug.contains(&auth),
                "{debug}"
            );
        }
    }

    #[test]
    fn username_and_password_fields_are_used_when_auth_is_empty() {
        let (_dir, config) = config(
            "fields",
            r#"{"auths":{"a.io":{"auth":"","username":"carol","password":"pw"},"b.io":{"username":"dave"}}}"#,
        );
        assert_eq!(lookup(&config, "a.io").credential, user("carol", "pw"));
        assert_eq!(lookup(&config, "b.io").credential, user("dave", ""));
    }

    #[test]
    fn entries_without_a_username_are_skipped() {
        let json = format!(
            r#"{{"auths":{{"a.io":{{}},"b.io":{{"auth":""}},"c.io":{{"auth":"{}"}},"https://c.io":{{"auth":"{}"}}}}}}"#,
            b64(":pw"),
            b64("erin:pw"),
        );
        let (dir, config) = config("skip", &json);
        assert_eq!(lookup(&config, "a.io").credential, None);
        assert_eq!(
            lookup(&config, "b.io").source,
            format!(
                "no credentials for b.io in {}",
                dir.path().join("config.json").display()
            )
        );
        // The exact key has no user name, so the URL-form key of the same host is used.
        let found = lookup(&config, "c.io");
        assert_eq!(found.credential, user("erin", "pw"));
        assert!(found.source.starts_with("auths[\"https://c.io\"] in "));
    }

    #[test]
    fn identity_tokens_in_auths() {
        let json = format!(
            r#"{{"auths":{{"a.io":{{"auth":"{}","identitytoken":"refresh-1"}},"b.io":{{"identitytoken":"refresh-2"}},"c.io":{{"auth":"{}","identitytoken":""}}}}}}"#,
            b64("frank:"),
            b64("gina:pw"),
        );
        let (_dir, config) = config("token", &json);
        assert_eq!(
            lookup(&config, "a.io").credential,
            token("frank", "refresh-1")
        );
        assert_eq!(lookup(&config, "b.io").credential, token("", "refresh-2"));
        assert_eq!(lookup(&config, "c.io").credential, user("gina", "pw"));
    }

    #[test]
    fn docker_hub_credentials_are_found_under_every_alias() {
        let registries = ["docker.io", "index.docker.io", "registry-1.docker.io"];
        for (i, key) in [
            "https://index.docker.io/v1/",
            "https://index.docker.io/v1",
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
            "https://registry-1.docker.io/v2/",
        ]
        .into_iter()
        .enumerate()
        {
            let (_dir, config) = config(&format!("hub-{i}"), &auths_json(&[(key, "hub:pw")]));
            for registry in registries {
                let found = lookup(&config, registry);
                assert_eq!(found.credential, user("hub", "pw"), "{key} for {registry}");
                assert!(found.source.starts_with(&format!("auths[{key:?}]")));
            }
            assert_eq!(lookup(&config, "ghcr.io").credential, None);
        }
    }

    #[test]
    fn docker_hubs_own_key_wins_over_aliases() {
        let json = auths_json(&[
            ("docker.io", "alias:pw"),
            ("https://index.docker.io/v1/", "main:pw"),
            ("index.docker.io", "legacy:pw"),
        ]);
        let (_dir, config) = config("hub-order", &json);
        assert_eq!(lookup(&config, "docker.io").credential, user("main", "pw"));
    }

    #[test]
    fn keys_written_as_urls_match_by_host() {
        for (i, key) in [
            "https://ghcr.io",
            "http://ghcr.io/",
            "https://ghcr.io/v2/",
            "HTTPS://GHCR.IO/v1/",
            "GHCR.io",
        ]
        .into_iter()
        .enumerate()
        {
            let (_dir, config) = config(&format!("url-{i}"), &auths_json(&[(key, "u:p")]));
            assert_eq!(
                lookup(&config, "ghcr.io").credential,
                user("u", "p"),
                "{key}"
            );
        }
        let json = auths_json(&[
            ("https://ghcr.io.evil.example", "u:p"),
            ("localhost:5001", "u:p"),
            ("https://docker.io.example/", "u:p"),
        ]);
        let (_dir, config) = config("url-none", &json);
        assert_eq!(lookup(&config, "ghcr.io").credential, None);
        assert_eq!(lookup(&config, "localhost:5000").credential, None);
        assert_eq!(lookup(&config, "localhost").credential, None);
        assert_eq!(lookup(&config, "docker.io").credential, None);
    }

    #[test]
    fn the_exact_key_wins_over_url_forms() {
        let json = auths_json(&[("https://ghcr.io", "url:pw"), ("ghcr.io", "exact:pw")]);
        let (_dir, config) = config("exact", &json);
        assert_eq!(lookup(&config, "ghcr.io").credential, user("exact", "pw"));
    }

    #[test]
    fn json_field_names_match_case_insensitively_like_go() {
        let json = format!(
            r#"{{"Auths":{{"a.io":{{"Auth":"{}"}}}},"CREDSSTORE":""}}"#,
            b64("u:p")
        );
        let (_dir, config) = config("case", &json);
        assert_eq!(lookup(&config, "a.io").credential, user("u", "p"));
    }

    #[test]
    fn helper_protocol() {
        let (_lock, dir) = helper_scripts("helpers");
        let path = dir.search_path();
        let run = runner(&path);

        assert_eq!(
            run("ok", "ghcr.io").expect("ok"),
            user("user-for-ghcr.io", "s3cret")
        );
        assert_eq!(
            run("ok", "https://index.docker.io/v1/").expect("ok"),
            user("user-for-https://index.docker.io/v1/", "s3cret")
        );
        assert_eq!(
            run("token", "ghcr.io").expect("token"),
            token("", "refresh-s3cret")
        );
        assert_eq!(run("notfound", "ghcr.io").expect("not found"), None);
        assert_eq!(run("empty", "ghcr.io").expect("empty"), None);
        assert_eq!(run("noread", "ghcr.io").expect("noread"), user("u", "s"));

        let error = |helper: &str| match run(helper, "ghcr.io") {
            Ok(answer) => panic!("{helper} succeeded with {answer:?}"),
            Err(error) => (error.to_string(), format!("{error:?}")),
        };
        let (message, debug) = error("fail");
        assert_eq!(
            message,
            "credential helper docker-credential-fail failed for ghcr.io: boom: the keyring is locked"
        );
        assert!(!debug.contains("s3cret"), "{debug}");

        let (message, _) = error("silent");
        assert_eq!(
            message,
            "credential helper docker-credential-silent failed for ghcr.io: exit status: 2 and \
             printed nothing on stderr"
        );

        let (message, debug) = error("garbage");
        assert_eq!(
            message,
            "credential helper docker-credential-garbage answered for ghcr.io with something \
             other than JSON with ServerURL, Username and Secret"
        );
        assert!(!debug.contains("s3cret"), "{debug}");

        let (message, _) = error("absent");
        assert_eq!(
            message,
            "credential helper docker-credential-absent was not found on PATH"
        );

        for name in ["", "../ok", "a/b"] {
            let (message, _) = error(name);
            assert!(
                message.starts_with("invalid credential helper name"),
                "{message}"
            );
        }
    }

    #[test]
    fn helpers_are_only_found_as_executable_files_in_absolute_directories() {
        let (_lock, dir) = helper_scripts("find");
        fs::write(dir.path().join("docker-credential-plain"), "#!/bin/sh\n").expect("write");
        fs::create_dir(dir.path().join("docker-credential-dir")).expect("mkdir");
        let path = dir.search_path();
        assert!(find_executable("docker-credential-ok", &path).is_some());
        assert!(find_executable("docker-credential-plain", &path).is_none());
        assert!(find_executable("docker-credential-dir", &path).is_none());
        assert!(find_executable("docker-credential-ok", OsStr::new("relative:")).is_none());
        assert!(matches!(
            run_helper_in("ok", "x", Some(OsStr::new("")), HELPER_TIMEOUT),
            Err(CredentialError::HelperNotFound { .. })
        ));
    }

    #[test]
    fn lookup_order_is_cred_helpers_then_creds_store_then_auths() {
        let (_lock, dir) = helper_scripts("order");
        let path = dir.search_path();
        let helpers = runner(&path);
        let file = dir.path().join("config.json").display().to_string();
        let load = |json: String| {
            fs::write(dir.path().join("config.json"), json).expect("write config");
            DockerConfig::load(&flag(dir.path().to_path_buf())).expect("load")
        };
        let find = |config: &DockerConfig, registry: &str| {
            config.lookup_with(registry, &helpers).expect("lookup")
        };
        let auths = format!(
            r#""auths":{{"ghcr.io":{{"auth":"{a}"}},"other.io":{{"auth":"{a}"}},"https://index.docker.io/v1/":{{"auth":"{a}"}}}}"#,
            a = b64("file:pw")
        );

        let config = load(format!(
            r#"{{{auths},"credHelpers":{{"ghcr.io":"ok","https://index.docker.io/v1/":"ok"}},"credsStore":"token"}}"#
        ));
        let found = find(&config, "ghcr.io");
        assert_eq!(found.credential, user("user-for-ghcr.io", "s3cret"));
        assert_eq!(
            found.source,
            format!("credential helper docker-credential-ok (credHelpers[\"ghcr.io\"] in {file})")
        );
        let found = find(&config, "docker.io");
        assert_eq!(
            found.credential,
            user("user-for-https://index.docker.io/v1/", "s3cret")
        );
        let found = find(&config, "other.io");
        assert_eq!(found.credential, token("", "refresh-s3cret"));
        assert_eq!(
            found.source,
            format!("credential helper docker-credential-token (credsStore in {file})")
        );

        // Helpers without credentials pass on to the next source.
        let config = load(format!(
            r#"{{{auths},"credHelpers":{{"ghcr.io":"notfound"}},"credsStore":"empty"}}"#
        ));
        let found = find(&config, "ghcr.io");
        assert_eq!(found.credential, user("file", "pw"));
        assert_eq!(found.source, format!("auths[\"ghcr.io\"] in {file}"));
        let found = find(&config, "nowhere.io");
        assert_eq!(found.credential, None);
        assert_eq!(
            found.source,
            format!("no credentials for nowhere.io in {file}")
        );

        // An empty helper name means none.
        let config = load(format!(
            r#"{{{auths},"credHelpers":{{"ghcr.io":""}},"credsStore":""}}"#
        ));
        assert_eq!(find(&config, "ghcr.io").credential, user("file", "pw"));

        // A failing helper is an error that says which setting chose it.
        let refusal = |json: String| {
            let config = load(json);
            let error = config.lookup_with("ghcr.io", &helpers);
            error
                .expect_err("a helper's failure was ignored")
                .to_string()
        };
        assert_eq!(
            refusal(format!(r#"{{{auths},"credsStore":"desktop"}}"#)),
            format!(
                "credential helper docker-credential-desktop was not found on PATH (the helper is \
                 set by credsStore in {file})"
            )
        );
        let message = refusal(r#"{"credHelpers":{"https://ghcr.io":"fail"}}"#.to_string());
        assert_eq!(
            message,
            format!(
                "credential helper docker-credential-fail failed for ghcr.io: boom: the keyring \
                 is locked (the helper is set by credHelpers[\"https://ghcr.io\"] in {file})"
            )
        );
        assert!(!message.contains("s3cret"));
    }

    #[test]
    fn docker_config_debug_never_shows_secrets() {
        let json = format!(
            r#"{{"auths":{{"a.io":{{"auth":"{}","password":"pw-s3cret","identitytoken":"tok-s3cret"}}}}}}"#,
            b64("u:auth-s3cret")
        );
        let (_dir, config) = config("debug", &json);
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("s3cret") && !shown.contains(&b64("u:auth-s3cret")),
            "{shown}"
        );
    }
}
