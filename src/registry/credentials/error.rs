//! Why credentials could not be read: one variant per way it fails, each naming the file, the
//! helper or the key involved, and none holding or showing a secret.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::HELPER_TIMEOUT_ENV;

/// Why credentials could not be read. No variant holds or shows a secret.
#[derive(Debug)]
pub enum CredentialError {
    /// The docker config file exists but cannot be read (permissions, not UTF-8).
    ReadConfig {
        /// The config file.
        path: PathBuf,
        /// What the operating system said.
        error: io::Error,
    },
    /// The docker config path names a directory, a FIFO, a device or a socket: reading one could
    /// hang the run or never end, so it is refused without being opened.
    ConfigNotFile {
        /// The config path.
        path: PathBuf,
    },
    /// The docker config file is larger than [`CONFIG_MAX_BYTES`].
    ConfigTooLarge {
        /// The config file.
        path: PathBuf,
    },
    /// The docker config file is not valid JSON.
    ConfigSyntax {
        /// The config file.
        path: PathBuf,
        /// serde_json's description, with line and column (it never quotes the file's values).
        message: String,
    },
    /// A value in the docker config file has the wrong JSON type.
    ConfigType {
        /// The config file.
        path: PathBuf,
        /// Which value, e.g. `auths["ghcr.io"].auth`.
        field: String,
        /// What it should be, e.g. `a string`.
        expected: &'static str,
    },
    /// An `auths` entry's `auth` is not base64 of `user:password`.
    InvalidAuth {
        /// The config file.
        path: PathBuf,
        /// The `auths` key of the entry.
        key: String,
    },
    /// A credential helper name is empty or contains a path separator.
    InvalidHelperName {
        /// The name as configured.
        name: String,
    },
    /// `docker-credential-<name>` is not an executable file in any directory of the search path.
    HelperNotFound {
        /// The program looked for, `docker-credential-<name>`.
        program: String,
    },
    /// The helper could not be started, or its input and output could not be exchanged.
    HelperIo {
        /// The helper program.
        program: String,
        /// What the operating system said.
        error: io::Error,
    },
    /// The helper failed for another reason than having no credentials for the server.
    HelperFailed {
        /// The helper program.
        program: String,
        /// The server name it was asked about.
        server: String,
        /// The first line of its stderr, or its exit status when stderr was empty.
        detail: String,
    },
    /// The helper was still running after its timeout; it was killed with what it started.
    HelperTimeout {
        /// The helper program.
        program: String,
        /// The server name it was asked about.
        server: String,
        /// How long it was given.
        timeout: Duration,
    },
    /// The helper printed more than [`OUTPUT_MAX_BYTES`] on stdout; it was not read further.
    HelperOutputTooLarge {
        /// The helper program.
        program: String,
        /// The server name it was asked about.
        server: String,
    },
    /// The helper succeeded but did not print `{"ServerURL","Username","Secret"}` JSON.
    HelperOutput {
        /// The helper program.
        program: String,
        /// The server name it was asked about.
        server: String,
    },
    /// A helper configured in the docker config failed; says which setting chose it.
    ConfiguredHelper {
        /// The setting, e.g. `credsStore in /root/.docker/config.json`.
        setting: String,
        /// The helper's error.
        error: Box<CredentialError>,
    },
}

impl fmt::Display for CredentialError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CredentialError::ReadConfig { path, error } => {
                write!(f, "cannot read docker config {}: {error}", path.display())
            }
            CredentialError::ConfigNotFile { path } => {
                write!(f, "docker config {} is not a regular file", path.display())
            }
            CredentialError::ConfigTooLarge { path } => write!(
                f,
                "docker config {} is larger than 1 MiB, far more than a docker config needs",
                path.display()
            ),
            CredentialError::ConfigSyntax { path, message } => {
                write!(
                    f,
                    "docker config {} is not valid JSON: {message}",
                    path.display()
                )
            }
            CredentialError::ConfigType {
                path,
                field,
                expected,
            } => write!(
                f,
                "docker config {}: {field} must be {expected}",
                path.display()
            ),
            CredentialError::InvalidAuth { path, key } => write!(
                f,
                "auth for {key} in {} is not valid base64 user:password",
                path.display()
            ),
            CredentialError::InvalidHelperName { name } => write!(
                f,
                "invalid credential helper name {name:?}: it must be a plain name such as \
                 \"pass\", which runs docker-credential-pass"
            ),
            CredentialError::HelperNotFound { program } => {
                write!(f, "credential helper {program} was not found on PATH")
            }
            CredentialError::HelperIo { program, error } => {
                write!(f, "cannot run credential helper {program}: {error}")
            }
            CredentialError::HelperFailed {
                program,
                server,
                detail,
            } => write!(
                f,
                "credential helper {program} failed for {server}: {detail}"
            ),
            CredentialError::HelperTimeout {
                program,
                server,
                timeout,
            } => write!(
                f,
                "credential helper {program} did not answer for {server} within {} s and was \
                 stopped ({HELPER_TIMEOUT_ENV} sets the limit)",
                timeout.as_secs()
            ),
            CredentialError::HelperOutputTooLarge { program, server } => write!(
                f,
                "credential helper {program} printed more than 64 KiB for {server}, far more \
                 than an answer; refused"
            ),
            CredentialError::HelperOutput { program, server } => write!(
                f,
                "credential helper {program} answered for {server} with something other than \
                 JSON with ServerURL, Username and Secret"
            ),
            CredentialError::ConfiguredHelper { setting, error } => {
                write!(f, "{error} (the helper is set by {setting})")
            }
        }
    }
}

impl std::error::Error for CredentialError {}
