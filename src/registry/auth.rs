//! Authentication with one registry: answering `WWW-Authenticate` challenges with Basic
//! credentials or Bearer tokens, and keeping the token for the rest of the run.
//!
//! We never ping `/v2/`: the first request goes out without credentials, and its 401 tells us the
//! scheme. For Bearer we ask the token server once for every scope the operation will need (pull on
//! each source repository, pull+push on the target), so one token serves the whole run.
//!
//! Some token servers will not give that one token: GHCR's refuses it whole when one scope is
//! not grantable, old Harbor's grants only the first scope, and Docker Hub's leaves out a
//! repository that does not exist (its registry then answers 401 rather than 404). So when
//! the token server refuses the shared token, or the registry refuses a request its token
//! should cover, we fall back to one token per request's repositories for the rest of the
//! run: each repository then succeeds or fails on its own.

use super::challenge::{Challenge, parse_challenges};
use super::credentials::{ConfigLocation, Credential, DockerConfig, Found, Secret};
use super::failure;
use super::location;
use super::scheme_cache::{Known, SchemeCache};
use super::scopes::{add_scope, covers, covers_others, scope_strings, with_wanted_actions};
use super::token::{MAX_TOKEN_BODY, Token, form_encode, parse_token_answer};
use super::transport::{self, Request, Transport};
use super::well_known;
use crate::error::{Error, Result};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use std::collections::BTreeSet;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;
use ureq::http::HeaderMap;

/// Where credentials come from, in the order of the Go tool.
#[derive(Debug, Clone)]
pub enum CredentialSource {
    /// `--username` / `--password` (or `--password-stdin`).
    Flags { username: String, password: Secret },
    /// Docker's `config.json`: the `--docker-cfg` path, else `$DOCKER_CONFIG`, else `~/.docker`.
    DockerConfig(ConfigLocation),
}

/// The authentication state of one registry.
pub struct Auth {
    /// The registry as written in references ("docker.io", "127.0.0.1:5000"): the credential key.
    registry: String,
    source: CredentialSource,
    found: OnceLock<std::result::Result<Found, String>>,
    /// Whether a token realm may be plain http for an https registry (`--plain-http`/`--insecure`).
    allow_http_realm: bool,
    /// `scheme://host` of the registry: the key of its entry in the scheme cache.
    origin: String,
    /// Where the registry's scheme is remembered between runs.
    cache: SchemeCache,
    /// `--debug`: say when the tokens change from one for the run to one per repository.
    debug: bool,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Scopes the operation needs, in the order asked (the target first): resource → actions.
    wanted: Vec<(String, BTreeSet<String>)>,
    scheme: Scheme,
    /// The scheme is what the scheme cache or the built-in table said, and no token has been
    /// asked of its realm yet: if none comes, ask the registry instead (see
    /// [`Auth::authorization`]).
    remembered: bool,
}

#[derive(Default)]
enum Scheme {
    /// No challenge seen yet: send nothing.
    #[default]
    Unknown,
    /// Requests pass without credentials.
    Open,
    /// `Basic`: send the credentials on every request.
    Basic,
    /// `Bearer`: fetch a token from `realm` and send it.
    Bearer {
        realm: String,
        service: Option<String>,
        tokens: Tokens,
    },
}

/// The tokens of a Bearer registry.
enum Tokens {
    /// One token for every scope the run wanted (none fetched yet, or expired).
    Shared(Option<Token>),
    /// One token per set of scopes a request needs, since the shared token was refused.
    PerRepository(Vec<Token>),
}

impl Tokens {
    /// The token to send for a request that needs `needs`, if one is held, still fresh, and
    /// (shared) covers every scope `wanted` or (per repository) covers `needs`.
    fn usable(&self, wanted: &[String], needs: &[String]) -> Option<&Token> {
        let fresh = |t: &&Token| t.expires > Instant::now();
        match self {
            Tokens::Shared(token) => token
                .as_ref()
                .filter(fresh)
                .filter(|t| wanted.iter().all(|s| t.scopes.contains(s))),
            Tokens::PerRepository(tokens) => tokens
                .iter()
                .filter(fresh)
                .find(|t| covers(&t.scopes, needs)),
        }
    }
}

impl Auth {
    /// Authentication for `registry`, finding credentials from `source` when first needed.
    /// Its scheme starts as what `cache` remembers for `transport`'s origin, else as what the
    /// built-in table of public registries ([`well_known`]) says, if the realm passes the same
    /// checks as a fresh challenge's; a connection to that realm starts opening at once.
    pub fn new(
        registry: &str,
        source: CredentialSource,
        allow_http_realm: bool,
        transport: &Transport,
        cache: SchemeCache,
    ) -> Auth {
        let auth = Auth {
            registry: registry.to_string(),
            source,
            found: OnceLock::new(),
            allow_http_realm,
            origin: transport.url(""),
            cache,
            debug: transport.debug(),
            state: Mutex::new(State::default()),
        };
        let known = auth
            .cache
            .load(&auth.origin)
            .or_else(|| well_known::scheme(transport.scheme, &transport.host));
        let scheme = match known {
            Some(Known::Open) => Scheme::Open,
            Some(Known::Basic) => Scheme::Basic,
            Some(Known::Bearer { realm, service }) => match auth.check_realm(transport, &realm) {
                Ok(realm) => {
                    transport.preconnect_elsewhere(&realm);
                    Scheme::Bearer {
                        realm,
                        service,
                        tokens: Tokens::Shared(None),
                    }
                }
                Err(_) => Scheme::Unknown,
            },
            None => Scheme::Unknown,
        };
        let mut state = auth.lock();
        state.remembered = matches!(scheme, Scheme::Bearer { .. });
        state.scheme = scheme;
        drop(state);
        auth
    }

    /// Declare that the operation needs `actions` (e.g. `["pull", "push"]`) on `repository`, so
    /// the next token covers it. Returns the scope (`repository:NAME:pull,push`), which is
    /// what a request for these actions needs.
    pub fn want(&self, repository: &str, actions: &[&str]) -> String {
        let resource = format!("repository:{repository}");
        let mut state = self.lock();
        add_scope(
            &mut state.wanted,
            &resource,
            actions.iter().map(|a| a.to_string()),
        );
        let mut this = Vec::new();
        add_scope(&mut this, &resource, actions.iter().map(|a| a.to_string()));
        scope_strings(&this).remove(0)
    }

    /// The `Authorization` value for a request that needs the scopes `needs`
    /// ([`Auth::authorization_now`]). When a remembered realm (cache or built-in table) gives
    /// no token, the scheme is forgotten and `None` returned: the request goes without one, and
    /// the registry's own challenge says where tokens come from now.
    pub fn authorization(&self, transport: &Transport, needs: &[String]) -> Result<Option<String>> {
        let result = self.authorization_now(transport, needs);
        let mut state = self.lock();
        let remembered = std::mem::take(&mut state.remembered);
        match result {
            // Unknown: another request's token from there failed first.
            Err(error) if remembered || matches!(state.scheme, Scheme::Unknown) => {
                if self.debug {
                    crate::debug_line!(
                        "no token from the remembered realm ({error}); asking the registry"
                    );
                }
                state.scheme = Scheme::Unknown;
                Ok(None)
            }
            other => other,
        }
    }

    /// The `Authorization` value for a request that needs the scopes `needs`, fetching a
    /// token if none held covers them (or the wanted scopes, while one token serves the run)
    /// or it has expired.
    fn authorization_now(&self, transport: &Transport, needs: &[String]) -> Result<Option<String>> {
        let mut state = self.lock();
        let wanted = scope_strings(&state.wanted);
        match &mut state.scheme {
            Scheme::Unknown | Scheme::Open => Ok(None),
            Scheme::Basic => self.basic_header(),
            Scheme::Bearer {
                realm,
                service,
                tokens,
            } => {
                if tokens.usable(&wanted, needs).is_none() {
                    self.renew(transport, realm, service.as_deref(), tokens, &wanted, needs)?;
                }
                Ok(tokens
                    .usable(&wanted, needs)
                    .map(|t| format!("Bearer {}", t.value.expose())))
            }
        }
    }

    /// Fetch the token a request that needs `needs` is to send: while one token serves the
    /// run, one for every `wanted` scope, and when the token server refuses that one (and it
    /// asked for more repositories than the request's), one for `needs` alone from then on.
    fn renew(
        &self,
        transport: &Transport,
        realm: &str,
        service: Option<&str>,
        tokens: &mut Tokens,
        wanted: &[String],
        needs: &[String],
    ) -> Result<()> {
        if let Tokens::Shared(shared) = tokens {
            match self.fetch_token(transport, realm, service, wanted) {
                Ok(token) => {
                    *shared = Some(token);
                    return Ok(());
                }
                Err(e @ Error::Unauthorized { .. }) if covers_others(wanted, needs) => {
                    if self.debug {
                        crate::debug_line!("{e}; asking for one token per repository");
                    }
                    *tokens = Tokens::PerRepository(Vec::new());
                }
                Err(e) => return Err(e),
            }
        }
        if let Tokens::PerRepository(held) = tokens {
            // Everything the run wants on the request's repositories, so that the next request
            // to them (a HEAD, then a PUT) finds this token enough.
            let scopes = with_wanted_actions(needs, wanted);
            let token = self.fetch_token(transport, realm, service, &scopes)?;
            held.retain(|t| t.scopes != scopes && t.expires > Instant::now());
            held.push(token);
        }
        Ok(())
    }

    /// After the registry refused (401 or 403) a request that needs `needs`, sent with `sent`
    /// after answering its challenge: whether to send it again, with a token of its own. True
    /// when the shared token was sent and covers other repositories too (the token server may
    /// have left this one out, or honoured only its first scope); from then on every request
    /// gets a token for its own repositories. False when that cannot help.
    pub fn fall_back(&self, sent: Option<&str>, needs: &[String]) -> bool {
        let mut state = self.lock();
        let Scheme::Bearer { tokens, .. } = &mut state.scheme else {
            return false;
        };
        let was_sent = |t: &Token| sent == Some(format!("Bearer {}", t.value.expose()).as_str());
        match tokens {
            Tokens::Shared(Some(token))
                if was_sent(token) && covers_others(&token.scopes, needs) =>
            {
                if self.debug {
                    crate::debug_line!(
                        "{} refused a request its token covers; asking for one token per \
                         repository",
                        self.registry
                    );
                }
                *tokens = Tokens::PerRepository(Vec::new());
                true
            }
            Tokens::Shared(_) => false,
            // Another request switched meanwhile: this one was sent with the shared token.
            Tokens::PerRepository(held) => !held.iter().any(was_sent),
        }
    }

    /// True until the first challenge has been seen (or a request passed without one).
    pub fn is_unknown(&self) -> bool {
        matches!(self.lock().scheme, Scheme::Unknown)
    }

    /// Note that a request went through without any challenge: the registry is open.
    pub fn mark_open(&self) {
        let mut state = self.lock();
        if matches!(state.scheme, Scheme::Unknown) {
            state.scheme = Scheme::Open;
            self.cache.store(&self.origin, &Known::Open);
        }
    }

    /// Read the challenges of a 401 answer to a request sent with `sent`, which needs `needs`,
    /// and get ready to answer them. If another thread already got a newer token meanwhile,
    /// that one is used. False when answering cannot help (the request already had a token of
    /// its own); an error says why we cannot answer (no usable challenge, no credentials for
    /// Basic, token refused).
    pub fn on_unauthorized(
        &self,
        transport: &Transport,
        headers: &HeaderMap,
        sent: Option<&str>,
        needs: &[String],
    ) -> Result<bool> {
        if let Some(current) = self.current_authorization(needs) {
            if Some(current.as_str()) != sent {
                return Ok(true);
            }
            // A token of the request's own was refused: asking again gives the same one.
            if self.per_repository() {
                return Ok(false);
            }
        }
        let values: Vec<&str> = headers
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let challenges = parse_challenges(values.iter().copied());
        let bearer = challenges.iter().find_map(|c| match c {
            Challenge::Bearer {
                realm,
                service,
                scopes,
                ..
            } => Some((realm.clone(), service.clone(), scopes.clone())),
            Challenge::Basic { .. } => None,
        });
        let mut state = self.lock();
        if let Some((realm, service, scopes)) = bearer {
            let realm = self.check_realm(transport, &realm)?;
            // Opening while the credentials are looked up (a helper may take a while).
            transport.preconnect_elsewhere(&realm);
            for scope in &scopes {
                if let Some((resource, actions)) = scope.rsplit_once(':') {
                    add_scope(
                        &mut state.wanted,
                        resource,
                        actions.split(',').map(str::to_string),
                    );
                }
            }
            let wanted = scope_strings(&state.wanted);
            let mut needs = needs.to_vec();
            for scope in scopes {
                if !needs.contains(&scope) {
                    needs.push(scope);
                }
            }
            let mut tokens = match std::mem::take(&mut state.scheme) {
                Scheme::Bearer {
                    tokens: Tokens::PerRepository(held),
                    ..
                } => Tokens::PerRepository(held),
                _ => Tokens::Shared(None),
            };
            let renewed = self.renew(
                transport,
                &realm,
                service.as_deref(),
                &mut tokens,
                &wanted,
                &needs,
            );
            state.scheme = Scheme::Bearer {
                realm: realm.clone(),
                service: service.clone(),
                tokens,
            };
            state.remembered = false;
            renewed?;
            self.cache
                .store(&self.origin, &Known::Bearer { realm, service });
            return Ok(true);
        }
        if challenges
            .iter()
            .any(|c| matches!(c, Challenge::Basic { .. }))
        {
            if self.credential()?.is_none() {
                return Err(self.refused(transport, "authentication required"));
            }
            if matches!(state.scheme, Scheme::Basic) {
                return Err(self.refused(transport, "credentials rejected"));
            }
            self.cache.store(&self.origin, &Known::Basic);
            state.scheme = Scheme::Basic;
            return Ok(true);
        }
        Err(self.refused(
            transport,
            "401 Unauthorized without a Basic or Bearer challenge",
        ))
    }

    /// Whether each request gets a token for its own repositories (see [`Auth::fall_back`]).
    fn per_repository(&self) -> bool {
        matches!(
            self.lock().scheme,
            Scheme::Bearer {
                tokens: Tokens::PerRepository(_),
                ..
            }
        )
    }

    /// The `Authorization` value a request that needs `needs` would be sent with now, without
    /// fetching anything.
    fn current_authorization(&self, needs: &[String]) -> Option<String> {
        let state = self.lock();
        let wanted = scope_strings(&state.wanted);
        match &state.scheme {
            Scheme::Bearer { tokens, .. } => tokens
                .usable(&wanted, needs)
                .map(|token| format!("Bearer {}", token.value.expose())),
            Scheme::Basic => self.basic_header().ok().flatten(),
            _ => None,
        }
    }

    /// The error for a registry that refused us, naming where the credentials came from.
    pub fn refused(&self, transport: &Transport, detail: &str) -> Error {
        Error::Unauthorized {
            host: transport.host.clone(),
            credentials_from: self.credentials_description(),
            detail: detail.to_string(),
        }
    }

    fn credentials_description(&self) -> String {
        match self.found.get() {
            Some(Ok(found)) if found.credential.is_some() => found.source.clone(),
            Some(Ok(found)) => format!("none found ({}); anonymous", found.source),
            Some(Err(_)) => "an unreadable docker config".to_string(),
            None => "none (anonymous)".to_string(),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The credential for this registry, looked up once.
    fn credential(&self) -> Result<Option<Credential>> {
        let found = self.found.get_or_init(|| match &self.source {
            CredentialSource::Flags { username, password } => {
                Ok(Found::from_flags(username.clone(), password.clone()))
            }
            CredentialSource::DockerConfig(location) => DockerConfig::load(location)
                .and_then(|config| config.lookup(&self.registry))
                .map_err(|e| e.to_string()),
        });
        match found {
            Ok(found) => Ok(found.credential.clone()),
            Err(message) => Err(Error::Input(message.clone())),
        }
    }

    fn basic_header(&self) -> Result<Option<String>> {
        Ok(match self.credential()? {
            Some(Credential::UserPassword { username, password }) => Some(format!(
                "Basic {}",
                BASE64.encode(format!("{username}:{}", password.expose()))
            )),
            _ => None,
        })
    }

    /// Resolve a relative realm against the registry and refuse a plain-http realm for an https
    /// registry unless the user allowed insecure transport.
    fn check_realm(&self, transport: &Transport, realm: &str) -> Result<String> {
        let realm = if realm.starts_with('/') {
            transport.url(realm)
        } else {
            realm.to_string()
        };
        if realm.starts_with("http://") && transport.scheme == "https" && !self.allow_http_realm {
            return Err(Error::Input(format!(
                "{} sends its token realm over plain http ({realm}); refusing to send credentials \
                 there without --plain-http or --insecure",
                transport.host
            )));
        }
        if !realm.starts_with("http://") && !realm.starts_with("https://") {
            return Err(Error::Invalid(format!(
                "{} gave a token realm that is not an http(s) URL: {realm}",
                transport.host
            )));
        }
        Ok(realm)
    }

    /// Ask the token server for a token covering `scopes`.
    fn fetch_token(
        &self,
        transport: &Transport,
        realm: &str,
        service: Option<&str>,
        scopes: &[String],
    ) -> Result<Token> {
        let credential = self.credential()?;
        let response = match &credential {
            Some(Credential::IdentityToken { token, .. }) => {
                let mut form = vec![
                    ("grant_type", "refresh_token".to_string()),
                    ("refresh_token", token.expose().to_string()),
                    ("client_id", "manifest-tool".to_string()),
                    ("scope", scopes.join(" ")),
                ];
                if let Some(service) = service {
                    form.push(("service", service.to_string()));
                }
                let body = form_encode(&form);
                let request = Request {
                    accept: Some("application/json"),
                    content_type: Some("application/x-www-form-urlencoded"),
                    body: Some(body.as_bytes()),
                    ..Request::new("POST", realm.to_string())
                };
                transport.warn_if_plain_http(realm);
                transport.send_elsewhere(&request, None)?
            }
            other => {
                let mut query = Vec::new();
                if let Some(service) = service {
                    query.push(("service", service.to_string()));
                }
                for scope in scopes {
                    query.push(("scope", scope.clone()));
                }
                let separator = if realm.contains('?') { '&' } else { '?' };
                let url = if query.is_empty() {
                    realm.to_string()
                } else {
                    format!("{realm}{separator}{}", form_encode(&query))
                };
                let authorization = match other {
                    Some(Credential::UserPassword { username, password }) => Some(format!(
                        "Basic {}",
                        BASE64.encode(format!("{username}:{}", password.expose()))
                    )),
                    _ => None,
                };
                let request = Request {
                    accept: Some("application/json"),
                    ..Request::new("GET", url)
                };
                transport.send_elsewhere(&request, authorization.as_deref())?
            }
        };
        let status = response.status().as_u16();
        if status == 401 || status == 403 {
            let answer = failure::status_error(response);
            return Err(self.refused(
                transport,
                &format!(
                    "token server {} answered {answer}",
                    location::host_of_url(realm)
                ),
            ));
        }
        if status != 200 {
            return Err(failure::status_error(response).context(format!(
                "getting a token from {}",
                location::host_of_url(realm)
            )));
        }
        let body = transport::read_limited(response, MAX_TOKEN_BODY)
            .map_err(|e| e.context("reading the token answer"))?;
        parse_token_answer(&body, scopes)
    }
}
