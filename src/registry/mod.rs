//! One registry, spoken to over the distribution API.
//!
//! [`Registry`] is the client for one host: [`transport`] sends requests, with [`tls`] settings,
//! the [`retry`] policy and [`location`] arithmetic; [`auth`] answers challenges, [`credentials`]
//! finds what to answer with, and [`scheme_cache`] and [`well_known`] say which challenge to
//! expect. The operations on content (fetch and put manifests, blobs,
//! mounts, uploads) are asked of a [`repository::Repository`], a client and a repository name
//! together. Each operation is one request when the registry lets it be (no `/v2/` ping, no
//! HEAD before a GET).

pub mod auth;
pub mod challenge;
pub mod credentials;
pub mod failure;
pub mod location;
pub mod options;
pub mod pace;
pub mod preconnect;
pub mod repository;
pub mod retry;
pub mod scheme_cache;
pub mod scopes;
pub mod tls;
pub mod token;
pub mod transport;
pub mod well_known;

use crate::digest::Digest;
use crate::error::{Error, Result};
use auth::{Auth, CredentialSource};
use credentials::ConfigLocation;
use options::TransportOptions;
use scheme_cache::SchemeCache;
use transport::{Request, Transport};
use ureq::Body;
use ureq::http::Response;

/// Manifest bytes as the registry served them, with their media type and digest.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The media type, from `Content-Type` (checked against the body's own `mediaType`).
    pub media_type: String,
    /// `sha256:<hex>` of `bytes`, computed here.
    pub digest: Digest,
    /// The exact bytes served: hash and forward these, never a re-encoding.
    pub bytes: Vec<u8>,
}

/// The largest body of a 401 answer read to keep its connection; a longer one is left unread
/// and its connection closed.
const CHALLENGE_BODY_LIMIT: u64 = 64 * 1024;

/// A client for one registry host.
pub struct Registry {
    transport: Transport,
    auth: Auth,
    /// Held by the first request of a run, so that concurrent first requests do not all
    /// collect the same 401 and fetch the same token.
    probe: std::sync::Mutex<()>,
}

impl Registry {
    /// A client for `registry` (as written in references: "docker.io", "127.0.0.1:5000"), spoken
    /// to at `api_host` ("registry-1.docker.io" for Docker Hub), remembering its authentication
    /// scheme in `cache`.
    pub fn new(
        registry: &str,
        api_host: &str,
        options: &TransportOptions,
        credentials: CredentialSource,
        cache: SchemeCache,
    ) -> Result<Registry> {
        let transport = Transport::new(api_host, options)?;
        let auth = Auth::new(
            registry,
            credentials,
            options.plain_http || options.insecure,
            &transport,
            cache,
        );
        Ok(Registry {
            transport,
            auth,
            probe: std::sync::Mutex::new(()),
        })
    }

    /// The host requests go to, for messages.
    pub fn host(&self) -> &str {
        &self.transport.host
    }

    /// Start opening connections so that about `wanted` are ready for the next stage's
    /// concurrent requests (see [`preconnect`]); returns at once.
    pub fn preconnect(&self, wanted: usize) {
        self.transport.preconnect(wanted);
    }

    /// The challenges the registry answers a `GET /v2/` without credentials with (as `docker
    /// login` asks it): none when it lets the request through. Only to report how a registry
    /// authenticates; operations never ping, they answer the challenge of their first request.
    pub fn challenges(&self) -> Result<Vec<challenge::Challenge>> {
        let request = Request::new("GET", self.transport.url("/v2/"));
        let response = self.transport.send(&request, None)?;
        match response.status().as_u16() {
            200..=299 => Ok(Vec::new()),
            401 => {
                let values = response.headers().get_all("www-authenticate");
                let challenges =
                    challenge::parse_challenges(values.iter().filter_map(|v| v.to_str().ok()));
                match challenges.is_empty() {
                    true => Err(Error::Invalid(format!(
                        "{} answered 401 without a Basic or Bearer challenge",
                        self.host()
                    ))),
                    false => Ok(challenges),
                }
            }
            _ => Err(failure::status_error(response)),
        }
    }

    /// Send `request`, which needs the scopes `needs`, with authentication: on a 401, answer
    /// the challenge once and resend; when the registry still refuses (401 or 403) a token that
    /// should cover the request, resend once with a token of the request's own (see
    /// [`auth`]). Any answer other than 2xx becomes an error carrying the registry's message.
    ///
    /// Until the registry's scheme is known, one request goes first (holding `probe`); the
    /// others wait for its answer, so a 401 and a token fetch happen once, not once per
    /// concurrent request. They go on as soon as the challenge is answered.
    fn execute(&self, request: &Request, needs: &[String]) -> Result<Response<Body>> {
        let mut probe = if self.auth.is_unknown() {
            let guard = self
                .probe
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            self.auth.is_unknown().then_some(guard)
        } else {
            None
        };
        let mut answered_challenge = false;
        let mut fell_back = false;
        loop {
            let authorization = self.auth.authorization(&self.transport, needs)?;
            let response = self.transport.send(request, authorization.as_deref())?;
            let status = response.status().as_u16();
            // A challenge counts only when the registry itself sends it: a host it redirected
            // to gets no credentials (and its realm is never remembered).
            if let Some(by) = response.extensions().get::<transport::AnsweredBy>()
                && matches!(status, 401 | 403)
            {
                let host = by.0.clone();
                let what = "redirected the request";
                return Err(failure::withheld(&host, self.host(), what, response));
            }
            match status {
                200..=299 => {
                    if probe.is_some() {
                        self.auth.mark_open();
                    }
                    return Ok(response);
                }
                401 if !answered_challenge => {
                    answered_challenge = true;
                    let answered = self.auth.on_unauthorized(
                        &self.transport,
                        response.headers(),
                        authorization.as_deref(),
                        needs,
                    )?;
                    if !answered {
                        return Err(self.refusal(response));
                    }
                    // Read the (small) body, so that the connection goes back to the pool for
                    // the request sent again: a new one would cost another handshake.
                    let _ = transport::read_limited(response, CHALLENGE_BODY_LIMIT);
                    // The scheme is known and a token fetched: let the others go.
                    probe = None;
                }
                401 | 403 if !fell_back && self.auth.fall_back(authorization.as_deref(), needs) => {
                    fell_back = true;
                    probe = None;
                }
                401 | 403 => return Err(self.refusal(response)),
                _ => return Err(failure::status_error(response)),
            }
        }
    }

    /// The error for a 401 or 403 that stays: the registry's own words, and where the
    /// credentials came from.
    fn refusal(&self, response: Response<Body>) -> Error {
        let detail = failure::status_error(response).to_string();
        self.auth.refused(&self.transport, &detail)
    }

    /// Whether `url` has this registry's own origin (scheme, host and port).
    fn is_own_origin(&self, url: &str) -> bool {
        location::same_origin(url, &self.transport.url("/"))
    }

    /// Our `Authorization` for `url` (an upload `Location`), only if it has this registry's own
    /// origin: not for another host, another port, nor `http://` for an https registry (as a
    /// registry behind a TLS-terminating proxy may hand out), which would put the credentials
    /// on the wire in the clear.
    fn authorization_for(&self, url: &str, needs: &[String]) -> Result<Option<String>> {
        if self.is_own_origin(url) {
            self.auth.authorization(&self.transport, needs)
        } else {
            Ok(None)
        }
    }
}

/// Name what was too large in a [`Error::TooLarge`]; other errors pass unchanged.
fn too_large_as(error: Error, what: String) -> Error {
    match error {
        Error::TooLarge { limit, .. } => Error::TooLarge { what, limit },
        other => other,
    }
}

/// What a blob mount request did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mount {
    /// The blob now exists in the target repository.
    Mounted,
    /// The registry did not mount but opened an upload session at this URL instead (its
    /// `Location`, resolved against the mount request's URL).
    UploadOpened(String),
}

/// A header's value as text, if present and readable.
fn header(response: &Response<Body>, name: &str) -> Option<String> {
    header_value(response.headers(), name)
}

/// A header's value as text, from the headers of an answer already read.
fn header_value(headers: &ureq::http::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Opens one [`Registry`] client per registry host and hands out the same one on each call, so
/// connections and tokens are reused across a whole run.
pub struct Connector {
    options: TransportOptions,
    /// `--username`/`--password`, for the one registry they were given for.
    flag_credentials: Option<(String, CredentialSource)>,
    /// Docker's `config.json`, for every other registry.
    docker_config: ConfigLocation,
    /// Where each registry's authentication scheme is remembered between runs.
    scheme_cache: SchemeCache,
    clients: std::sync::Mutex<Vec<(String, std::sync::Arc<Registry>)>>,
}

impl Connector {
    /// A connector with the global transport options. `flag_credentials` are the command-line
    /// credentials and the registry (as written in references) they are for; every other
    /// registry gets its credentials from docker's config (`docker_config`).
    pub fn new(
        options: TransportOptions,
        flag_credentials: Option<(String, CredentialSource)>,
        docker_config: ConfigLocation,
        scheme_cache: SchemeCache,
    ) -> Connector {
        Connector {
            options,
            flag_credentials,
            docker_config,
            scheme_cache,
            clients: std::sync::Mutex::new(Vec::new()),
        }
    }

    /// The client for `registry` (as written in references), reached at `api_host`.
    pub fn registry(&self, registry: &str, api_host: &str) -> Result<std::sync::Arc<Registry>> {
        let mut clients = self
            .clients
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((_, client)) = clients.iter().find(|(name, _)| name == registry) {
            return Ok(client.clone());
        }
        let credentials = match &self.flag_credentials {
            Some((for_registry, source)) if for_registry == registry => source.clone(),
            _ => CredentialSource::DockerConfig(self.docker_config.clone()),
        };
        let client = std::sync::Arc::new(Registry::new(
            registry,
            api_host,
            &self.options,
            credentials,
            self.scheme_cache.clone(),
        )?);
        clients.push((registry.to_string(), client.clone()));
        Ok(client)
    }
}
