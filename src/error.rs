//! The one error type of the program.
//!
//! Every failure ends as one line on stderr (`manifest-tool failed with error: …`) and exit 1, so
//! each variant's `Display` must make sense to a user without the source code. Lower layers return
//! a specific variant; callers add what they were doing with [`Error::context`].

use std::fmt;

/// Everything that can go wrong, one variant per kind of failure.
#[derive(Debug)]
pub enum Error {
    /// The command line is wrong: unknown flag, missing argument, conflicting flags.
    Usage(String),
    /// Something the user gave us (a reference, a file, a value) is not valid.
    Input(String),
    /// The registry could not be reached: DNS, refused connection, TLS handshake, timeout.
    Network { host: String, detail: String },
    /// The registry answered with an error status; `code` and `message` come from its JSON body.
    Status {
        status: u16,
        code: Option<String>,
        message: String,
    },
    /// The registry refused our credentials (or their absence).
    Unauthorized {
        host: String,
        credentials_from: String,
        detail: String,
    },
    /// Content whose sha256 is not the digest it was asked for or announced with.
    DigestMismatch {
        what: String,
        expected: String,
        found: String,
    },
    /// A response larger than we accept (manifests: 4 MiB).
    TooLarge { what: String, limit: u64 },
    /// What was asked for does not exist (a tag or blob missing from an OCI layout).
    NotFound(String),
    /// Content we understand but do not support (schema 1 manifests, unknown media types).
    Unsupported(String),
    /// The registry sent something malformed (bad JSON, missing field, inconsistent media type).
    Invalid(String),
    /// A local file could not be read or written.
    Io { path: String, detail: String },
    /// An error with a note of what we were doing when it happened.
    Context { context: String, source: Box<Error> },
}

impl Error {
    /// A local file could not be read or written: the path and the OS's words.
    pub fn io(path: &std::path::Path, error: std::io::Error) -> Error {
        Error::Io {
            path: path.display().to_string(),
            detail: error.to_string(),
        }
    }

    /// Wrap this error with what the caller was doing ("fetching linux/arm64 from …").
    pub fn context(self, context: impl Into<String>) -> Error {
        Error::Context {
            context: context.into(),
            source: Box::new(self),
        }
    }

    /// True when the registry said the thing asked for does not exist (404, or the codes
    /// `MANIFEST_UNKNOWN`, `NAME_UNKNOWN`, `BLOB_UNKNOWN`), below any context.
    pub fn is_not_found(&self) -> bool {
        match self {
            Error::Context { source, .. } => source.is_not_found(),
            Error::NotFound(_) => true,
            Error::Status { status, code, .. } => {
                *status == 404
                    || matches!(
                        code.as_deref(),
                        Some("MANIFEST_UNKNOWN" | "NAME_UNKNOWN" | "BLOB_UNKNOWN")
                    )
            }
            _ => false,
        }
    }

    /// The HTTP status the registry answered, below any context; `None` for other failures.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Context { source, .. } => source.status(),
            Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// True when the registry refused to overwrite a tag because it is immutable, below any
    /// context: ECR answers `400 TAG_INVALID`, Harbor `412` "configured as immutable", others
    /// a 4xx whose message says "immutable".
    pub fn is_immutable_tag(&self) -> bool {
        match self {
            Error::Context { source, .. } => source.is_immutable_tag(),
            Error::Status {
                status: 400..=499,
                code,
                message,
                ..
            } => {
                code.as_deref() == Some("TAG_INVALID")
                    || message.to_ascii_lowercase().contains("immutable")
            }
            _ => false,
        }
    }

    /// True when the registry refused access (401 or 403, with or without credentials), below
    /// any context: Docker Hub answers so for a repository that does not exist.
    pub fn is_unauthorized(&self) -> bool {
        match self {
            Error::Context { source, .. } => source.is_unauthorized(),
            Error::Unauthorized { .. } => true,
            _ => false,
        }
    }

    /// True when trying again may work: the registry could not be reached or the connection
    /// failed (`Network`), or it answered a status the retry policy retries
    /// ([`crate::registry::retry::is_retryable_status`]), below any context. For a caller that
    /// redoes a whole step the transport cannot replay, such as streaming a blob into a new
    /// upload.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Context { source, .. } => source.is_transient(),
            Error::Network { .. } => true,
            Error::Status { status, .. } => crate::registry::retry::is_retryable_status(*status),
            _ => false,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage(msg)
            | Error::Input(msg)
            | Error::NotFound(msg)
            | Error::Unsupported(msg)
            | Error::Invalid(msg) => f.write_str(msg),
            Error::Network { host, detail } => write!(f, "cannot reach {host}: {detail}"),
            Error::Status {
                status,
                code: Some(code),
                message,
            } => write!(f, "{status} {code}: {message}"),
            Error::Status {
                status,
                code: None,
                message,
            } => write!(f, "{status} {message}"),
            Error::Unauthorized {
                host,
                credentials_from,
                detail,
            } => write!(
                f,
                "{host} refused access ({detail}); credentials from {credentials_from}"
            ),
            Error::DigestMismatch {
                what,
                expected,
                found,
            } => write!(f, "{what}: expected digest {expected}, content has {found}"),
            Error::TooLarge { what, limit } => {
                write!(f, "{what} is larger than the limit of {limit} bytes")
            }
            Error::Io { path, detail } => write!(f, "{path}: {detail}"),
            Error::Context { context, source } => write!(f, "{context}: {source}"),
        }
    }
}

impl std::error::Error for Error {}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors_are_network_failures_and_retryable_statuses_below_any_context() {
        let status = |status| Error::Status {
            status,
            code: None,
            message: String::new(),
        };
        let network = Error::Network {
            host: "r".into(),
            detail: "the connection was reset".into(),
        };
        assert!(network.context("copying blob").is_transient());
        assert!(status(503).context("a").context("b").is_transient());
        assert!(status(429).is_transient());
        assert!(!status(404).is_transient());
        assert!(!status(401).is_transient());
        assert!(!Error::Invalid("bad JSON".into()).is_transient());
    }

    #[test]
    fn immutable_tag_refusals_are_recognised_below_any_context() {
        let answer = |status, code: Option<&str>, message: &str| Error::Status {
            status,
            code: code.map(str::to_string),
            message: message.to_string(),
        };
        let ecr = answer(
            400,
            Some("TAG_INVALID"),
            "The image tag '1.0' already exists",
        );
        assert_eq!(ecr.status(), Some(400));
        let ecr = ecr.context("pushing the list");
        assert!(ecr.is_immutable_tag());
        assert_eq!(ecr.status(), Some(400));
        let harbor = answer(
            412,
            None,
            "Failed to process request due to 'a:1' configured as immutable.",
        );
        assert!(harbor.is_immutable_tag());
        assert!(!answer(400, Some("MANIFEST_INVALID"), "manifest invalid").is_immutable_tag());
        assert!(!answer(500, None, "immutable storage failed").is_immutable_tag());
        assert_eq!(Error::Invalid("x".into()).status(), None);
    }
}
