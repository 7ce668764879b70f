//! What every fuzz target checks: each function takes the fuzzer's bytes, feeds them to one
//! parser of manifest-tool and asserts its properties (no panic, no overflow, and the invariants
//! named in each doc comment).
//!
//! Shared by the fuzz targets (`fuzz/fuzz_targets/*.rs`, built by cargo-fuzz on nightly) and by
//! `tests/fuzz_corpus.rs`, which runs every file of `fuzz/corpus/<target>/` through the same
//! function on stable, so the corpus and past crashes are regression inputs of `cargo test`.

use manifest_tool::digest::{Algorithm, Digest, Hasher};
use manifest_tool::inspect::{self, Content, Format, Inspected};
use manifest_tool::manifest::{self, Manifest};
use manifest_tool::reference::{ImageRef, Reference};
use manifest_tool::registry::Fetched;
use manifest_tool::registry::challenge::{Challenge, parse_challenges};
use manifest_tool::registry::credentials::{Credential, CredentialError, DockerConfig};
use manifest_tool::registry::location::{
    host_of_url, resolve, same_origin, with_digest, without_query,
};
use manifest_tool::registry::retry::parse_http_date;
use manifest_tool::spec;
use std::path::{Component, Path};
use std::time::{Duration, UNIX_EPOCH};

/// A fuzz target's check: panics when the input breaks a property.
#[allow(dead_code)] // used by tests/fuzz_corpus.rs only
pub type Check = fn(&[u8]);

/// The targets by name, as `fuzz/corpus/<name>/` and `cargo fuzz run <name>` call them.
#[allow(dead_code)] // used by tests/fuzz_corpus.rs only
pub const TARGETS: [(&str, Check); 8] = [
    ("reference", reference),
    ("challenge", challenge),
    ("http_date", http_date),
    ("spec", spec),
    ("manifest", manifest),
    ("docker_config", docker_config),
    ("digest", digest),
    ("location", location),
];

/// Image references: a reference that parses prints (`Display`) as text that parses back to the
/// same reference; errors print without panicking. The `oci-layout://` form is parsed too.
pub fn reference(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Reference::parse(text) {
        Ok(parsed) => {
            let printed = parsed.to_string();
            let again = Reference::parse(&printed).unwrap_or_else(|e| {
                panic!("{text:?} parsed as {parsed:?}, printed as {printed:?}, which fails: {e}")
            });
            assert_eq!(again, parsed, "{text:?} printed as {printed:?}");
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    if let Err(e) = ImageRef::parse(text) {
        let _ = e.to_string();
    }
}

/// `WWW-Authenticate` values (one per line): a Bearer challenge always has a realm, and its
/// scopes are non-empty, free of whitespace and listed once.
pub fn challenge(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    for parsed in parse_challenges(text.split('\n')) {
        if let Challenge::Bearer { realm, scopes, .. } = parsed {
            assert!(!realm.is_empty(), "{text:?}: Bearer without a realm");
            for (i, scope) in scopes.iter().enumerate() {
                assert!(
                    !scope.is_empty() && !scope.contains(char::is_whitespace),
                    "{text:?}: scope {scope:?}"
                );
                assert!(!scopes[..i].contains(scope), "{text:?}: {scope:?} twice");
            }
        }
    }
}

/// `Retry-After` dates as a registry might send them: a date that parses lies between 1970 and
/// the year 10000, and no input makes the arithmetic overflow (fuzz builds check overflows).
pub fn http_date(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(when) = parse_http_date(text) {
        let year_10000 = UNIX_EPOCH + Duration::from_secs(253_402_300_800);
        assert!(when <= year_10000, "{text:?} parsed beyond the year 9999");
    }
}

/// The `from-spec` YAML: a spec that is accepted has at least one source and a tagged target.
pub fn spec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match spec::parse_spec_text(text) {
        Ok(plan) => {
            assert!(!plan.sources.is_empty(), "{text:?}: a plan without sources");
            assert!(
                plan.target.tag().is_some(),
                "{text:?}: a target without tag"
            );
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
}

/// Manifest bytes as a registry might serve them, and every renderer of `inspect` over them.
///
/// Input: the `Content-Type` on the first line (empty for none), then the top-level manifest,
/// then NUL-separated child manifests (of a list, one per entry) or the config (of an image).
/// Whatever the bytes, media type detection, parsing and rendering in every format either work
/// or fail with an error; `--raw` and the JSON format always print valid JSON.
pub fn manifest(data: &[u8]) {
    let (header, rest) = match data.iter().position(|&b| b == b'\n') {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (&[][..], data),
    };
    let content_type = std::str::from_utf8(header).ok().filter(|h| !h.is_empty());
    let mut parts = rest.split(|&b| b == 0);
    let top = parts.next().unwrap_or_default();
    let Ok(media_type) = manifest::media_type_of(content_type, top) else {
        return;
    };
    let Ok(parsed) = manifest::parse_manifest(&media_type, top) else {
        return;
    };
    let content = match parsed {
        Manifest::Index(index) => {
            let children = index
                .manifests
                .iter()
                .map(|entry| {
                    let bytes = parts.next()?;
                    match manifest::parse_manifest(&entry.media_type, bytes) {
                        Ok(Manifest::Image(image)) => Some(*image),
                        _ => None,
                    }
                })
                .collect();
            Content::List { index, children }
        }
        Manifest::Image(image) => Content::Image {
            manifest: image,
            config: parts.next().map(<[u8]>::to_vec),
        },
    };
    let inspected = Inspected {
        name: "registry.example:5000/fuzz/app:1".to_string(),
        top: Fetched {
            media_type,
            digest: manifest_tool::digest::Digest::sha256_of(top),
            bytes: top.to_vec(),
        },
        content,
    };
    for format in [Format::Text, Format::Raw, Format::Verbatim, Format::Json] {
        for expand_config in [false, true] {
            for color in [false, true] {
                let Ok(out) = inspect::render(&inspected, format, expand_config, color) else {
                    continue;
                };
                if matches!(format, Format::Raw | Format::Json) {
                    let parsed: Result<serde_json::Value, _> = serde_json::from_slice(&out);
                    assert!(parsed.is_ok(), "{format:?} printed invalid JSON");
                }
            }
        }
    }
}

/// Docker's `config.json`: parsing and credential lookups (with helpers that run nothing) work
/// or fail with an error, and no message nor `Debug` output ever shows a secret of the file
/// (`auth`, `password`, `identitytoken` values, or the password inside `auth`).
pub fn docker_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/fuzz/docker/config.json");
    let mut registries = vec!["docker.io", "127.0.0.1:5000", "ghcr.io"];
    let value: Option<serde_json::Value> = serde_json::from_str(text).ok();
    let keys: Vec<String> = value
        .as_ref()
        .and_then(|v| v.get("auths")?.as_object().cloned())
        .map(|auths| auths.keys().cloned().collect())
        .unwrap_or_default();
    registries.extend(keys.iter().map(String::as_str));
    let secrets = value
        .as_ref()
        .map(|v| secrets_of(v, path, &registries))
        .unwrap_or_default();
    let check = |what: &str, message: &str| {
        for secret in &secrets {
            assert!(
                !message.contains(secret.as_str()),
                "{what} shows the secret {secret:?}: {message}"
            );
        }
    };
    let config = match DockerConfig::parse(text, path) {
        Ok(config) => config,
        Err(e) => return check("the parse error", &e.to_string()),
    };
    check("Debug of the config", &format!("{config:?}"));
    let no_helpers =
        |_helper: &str, _server: &str| -> Result<Option<Credential>, CredentialError> { Ok(None) };
    for registry in registries {
        match config.lookup_with(registry, &no_helpers) {
            Ok(found) => check("the credentials found", &format!("{found:?}")),
            Err(e) => check("the lookup error", &e.to_string()),
        }
    }
}

/// Secret string values of a docker config (by key, case-insensitively as Go matches them),
/// and the password part of each decodable `auth`, leaving out those too short to tell apart
/// and those that also occur in public text (keys, other values, the path, registry names).
fn secrets_of(value: &serde_json::Value, path: &Path, registries: &[&str]) -> Vec<String> {
    use base64::Engine;
    fn walk(value: &serde_json::Value, secret: &mut Vec<String>, public: &mut Vec<String>) {
        match value {
            serde_json::Value::Object(map) => {
                for (key, member) in map {
                    public.push(key.clone());
                    let is_secret = ["auth", "password", "identitytoken"]
                        .iter()
                        .any(|k| key.eq_ignore_ascii_case(k));
                    match member {
                        serde_json::Value::String(s) if is_secret => secret.push(s.clone()),
                        other => walk(other, secret, public),
                    }
                }
            }
            serde_json::Value::Array(items) => {
                items.iter().for_each(|item| walk(item, secret, public));
            }
            serde_json::Value::String(s) => public.push(s.clone()),
            _ => {}
        }
    }
    let (mut secret, mut public) = (Vec::new(), Vec::new());
    walk(value, &mut secret, &mut public);
    let decoded: Vec<String> = secret
        .iter()
        .filter_map(|s| {
            let bytes = base64::engine::general_purpose::STANDARD_PAD_INDIFFERENT
                .decode(s.trim())
                .ok()?;
            let text = String::from_utf8(bytes).ok()?;
            let (user, password) = text.split_once(':')?;
            public.push(user.to_string());
            Some(password.to_string())
        })
        .collect();
    secret.extend(decoded);
    public.push(path.display().to_string());
    public.extend(registries.iter().map(|r| r.to_string()));
    secret.retain(|s| s.chars().count() >= 8 && !public.iter().any(|p| p.contains(s.as_str())));
    secret
}

/// Digests, `Digest::parse` and hashing. Whatever the bytes:
/// - `parse` accepts exactly the grammar, `sha256:` + 64 or `sha512:` + 128 lowercase hex digits
///   (checked against an independent reading of it, both ways), and a refusal prints;
/// - an accepted digest prints as its input, parses back to itself, reports the algorithm and
///   hex of its text, reads the same from JSON, and its `layout_path()` is exactly the three
///   normal components `blobs`, the algorithm and the hex (no `..`, `/` or empty component);
/// - the digest of the bytes (both algorithms) parses, `verify`s them and no others, and a
///   `Hasher` fed the bytes in two pieces (split where the data says) gives the same digest.
pub fn digest(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        digest_text(text);
    }
    let split = match data.first() {
        Some(&first) => usize::from(first).wrapping_mul(31) % (data.len() + 1),
        None => 0,
    };
    for algorithm in [Algorithm::Sha256, Algorithm::Sha512] {
        let whole = Digest::of(algorithm, data);
        assert_eq!(whole.algorithm(), algorithm);
        let text = whole.to_string();
        assert!(in_digest_grammar(&text), "Digest::of gave {text:?}");
        assert_eq!(Digest::parse(&text).as_ref(), Ok(&whole), "{text:?}");
        assert_eq!(
            whole.verify(data),
            Ok(()),
            "{text:?} does not verify its bytes"
        );
        let mut other = data.to_vec();
        other.push(0);
        assert!(
            whole.verify(&other).is_err(),
            "{text:?} verifies other bytes"
        );
        let mut hasher = Hasher::like(&whole);
        hasher.update(&data[..split]);
        hasher.update(&data[split..]);
        assert_eq!(hasher.finish(), whole, "split at {split}");
        digest_text(&text);
    }
}

/// The parse properties of [`digest`] for one text.
fn digest_text(text: &str) {
    let expected = in_digest_grammar(text);
    let parsed = match Digest::parse(text) {
        Ok(parsed) => parsed,
        Err(e) => {
            assert!(!expected, "{text:?} is a digest, yet refused: {e}");
            assert!(!e.is_empty(), "{text:?}: an empty error");
            return;
        }
    };
    assert!(expected, "{text:?} is no digest, yet accepted");
    assert_eq!(parsed.to_string(), text);
    assert_eq!(parsed.as_str(), text);
    assert_eq!(Digest::parse(&parsed.to_string()).as_ref(), Ok(&parsed));
    let (name, hex) = text.split_once(':').unwrap();
    assert_eq!(parsed.algorithm().name(), name, "{text:?}");
    assert_eq!(parsed.hex(), hex, "{text:?}");
    let from_json: Result<Digest, _> =
        serde_json::from_value(serde_json::Value::String(text.to_string()));
    assert_eq!(from_json.ok().as_ref(), Some(&parsed), "{text:?} from JSON");
    let path = parsed.layout_path();
    let components: Vec<_> = path.components().collect();
    assert_eq!(components.len(), 3, "{text:?}: {}", path.display());
    for component in &components {
        let Component::Normal(part) = component else {
            panic!("{text:?}: {} has {component:?}", path.display());
        };
        let part = part.to_str().unwrap();
        assert!(
            !part.is_empty() && part != ".." && !part.contains('/'),
            "{text:?}: {}",
            path.display()
        );
    }
    assert_eq!(components[0], Component::Normal("blobs".as_ref()));
    assert_eq!(components[1], Component::Normal(name.as_ref()));
    assert_eq!(components[2], Component::Normal(hex.as_ref()));
}

/// The digest grammar read independently of `Digest::parse`.
fn in_digest_grammar(text: &str) -> bool {
    let lower_hex = |hex: &str, len: usize| {
        hex.len() == len && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    };
    if let Some(hex) = text.strip_prefix("sha256:") {
        lower_hex(hex, 64)
    } else if let Some(hex) = text.strip_prefix("sha512:") {
        lower_hex(hex, 128)
    } else {
        false
    }
}

/// Redirect `Location`s and the URL arithmetic of `registry::location`.
///
/// Input: the base URL (the request's) on the first line, the `Location` after it (without a
/// newline, the whole input is both). Whatever the text:
/// - `resolve` returns, and an absolute Location (one with a scheme, in any case) as it is,
///   with its scheme in lower case and without its fragment;
/// - an upload URL made of the resolved Location (`with_digest`) has no fragment and ends its
///   query with the digest;
/// - a Location that is neither absolute nor scheme-relative (`//host`) resolves to the origin
///   of an `http(s)://` base (`same_origin`), and against a base `https://host:port/path` to
///   a URL starting with `https://host:port/`; a scheme-relative one goes to the host it names;
/// - `same_origin` holds between any `http(s)://` URL and itself, is symmetric, and never
///   holds between URLs the transport's parser (`http::Uri`) sends to different origins;
/// - `without_query` is a prefix of its input without `?` or `#`;
/// - `host_of_url` has no `/`, `?`, `#` nor `@` (no userinfo), and names the origin that
///   `same_origin` sees in an `http(s)://` URL.
pub fn location(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (base, location) = text.split_once('\n').unwrap_or((text, text));
    let fixed_base = "https://registry.example:5000/v2/app/blobs/uploads/u?_state=s#f";
    for base in [base, fixed_base] {
        location_pair(base, location);
    }
    for url in [base, location, fixed_base] {
        if is_http_url(url) {
            assert!(same_origin(url, url), "{url:?} is not its own origin");
        }
        let stripped = without_query(url);
        assert!(url.starts_with(stripped), "{url:?} became {stripped:?}");
        assert!(
            !stripped.contains(['?', '#']),
            "{url:?} became {stripped:?}"
        );
        let host = host_of_url(url);
        assert!(
            !host.contains(['/', '?', '#', '@']),
            "{url:?} has the host {host:?}"
        );
        if let Some((scheme, _)) = url.split_once("://").filter(|_| is_http_url(url)) {
            let named = format!("{scheme}://{host}/");
            assert!(same_origin(url, &named), "{url:?} has the host {host:?}");
        }
    }
    assert_eq!(
        same_origin(base, location),
        same_origin(location, base),
        "{base:?} and {location:?}"
    );
    let urls = [
        base,
        location,
        &resolve(base, location),
        fixed_base,
        &resolve(fixed_base, location),
    ];
    for a in urls {
        for b in urls {
            if !same_origin(a, b) {
                continue;
            }
            if let (Some(origin_a), Some(origin_b)) = (uri_origin(a), uri_origin(b)) {
                assert_eq!(
                    origin_a, origin_b,
                    "same_origin({a:?}, {b:?}), yet requests go to different origins"
                );
            }
        }
    }
}

/// Scheme, host and port a request to `url` goes to, as the transport's URL parser reads it;
/// `None` for what it would not send (no http(s) scheme, no host, an unusable port).
fn uri_origin(url: &str) -> Option<(String, String, u16)> {
    let uri: ureq::http::Uri = url.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => 80,
        "https" => 443,
        _ => return None,
    };
    let host = uri.host().filter(|h| !h.is_empty())?.to_ascii_lowercase();
    let port = match uri.port() {
        Some(port) => port.as_u16(),
        None => default_port,
    };
    Some((scheme, host, port))
}

/// The `resolve` properties of [`location`] for one base and one Location.
fn location_pair(base: &str, location: &str) {
    let resolved = resolve(base, location);
    let upload = with_digest(&resolved, "sha256:0");
    assert!(
        !upload.contains('#') && upload.contains('?') && upload.ends_with("digest=sha256:0"),
        "{location:?} against {base:?} gave the upload URL {upload:?}"
    );
    if let Some((scheme, rest)) = with_scheme(location) {
        let rest = rest.split('#').next().unwrap_or(rest);
        let expected = format!("{}:{rest}", scheme.to_ascii_lowercase());
        if !rest.contains("/.") {
            assert_eq!(resolved, expected, "an absolute Location changed");
        }
        return;
    }
    if let Some(authority_and_path) = location.strip_prefix("//") {
        let named = authority_and_path
            .split(['/', '?', '#'])
            .next()
            .unwrap_or_default();
        assert!(
            resolved.contains(&format!("://{named}")),
            "{location:?} against {base:?} went to {resolved:?}"
        );
        return;
    }
    if is_http_url(base) {
        assert!(
            same_origin(base, &resolved),
            "{location:?} against {base:?} left its origin for {resolved:?}"
        );
    }
    if let Some(authority) = plain_https_authority(base) {
        let prefix = format!("https://{authority}/");
        assert!(
            resolved.starts_with(&prefix),
            "{location:?} against {base:?} gave {resolved:?}"
        );
    }
}

fn is_http_url(url: &str) -> bool {
    with_scheme(url).is_some_and(|(scheme, rest)| {
        rest.starts_with("//")
            && (scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https"))
    })
}

/// The scheme of an absolute URI reference and what follows its `:`, if it has one.
fn with_scheme(reference: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = reference.split_once(':')?;
    let mut chars = scheme.chars();
    let is_scheme = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    is_scheme.then_some((scheme, rest))
}

/// The `host:port` of a base `https://host:port/path`: a host of letters, digits, `-` and `.`
/// or an IPv6 address in brackets, a port of digits, then `/`.
fn plain_https_authority(base: &str) -> Option<&str> {
    let rest = base.strip_prefix("https://")?;
    let (authority, _path) = rest.split_once('/')?;
    let (host, port) = authority.rsplit_once(':')?;
    let host_ok = match host.strip_prefix('[') {
        Some(v6) => v6.strip_suffix(']').is_some_and(|a| {
            !a.is_empty() && a.bytes().all(|b| b.is_ascii_hexdigit() || b == b':')
        }),
        None => {
            !host.is_empty()
                && host
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        }
    };
    let port_ok = !port.is_empty() && port.bytes().all(|b| b.is_ascii_digit());
    (host_ok && port_ok).then_some(authority)
}
