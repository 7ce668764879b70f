//! URLs and `Location`s: the little URL arithmetic the HTTP side needs: the host of a URL for messages, a redirect's
//! `Location` resolved against the request's URL, whether two URLs share an origin (where
//! credentials may go), and a URL without its query (what `--debug` prints).

/// The `host[:port]` of a URL, for messages: the authority as [`same_origin`] reads it, ended by
/// the path, query or fragment, without any `user:password@` before it.
pub fn host_of_url(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    host.to_string()
}

/// `location` (absolute, scheme-relative, absolute-path, relative, query-only or
/// fragment-only) resolved against `base` as RFC 3986 (section 5.2) says, with dot segments
/// removed, the scheme in lower case and without a fragment (which is never sent). A
/// reference whose scheme is not http(s) resolves to itself, and fails when sent.
pub fn resolve(base: &str, location: &str) -> String {
    let reference = Parts::of(location);
    let base = Parts::of(base);
    let base_scheme = base.scheme.unwrap_or("https").to_ascii_lowercase();
    let (scheme, authority, path, query) = match (reference.scheme, reference.authority) {
        (Some(scheme), authority) => (
            scheme.to_ascii_lowercase(),
            authority,
            remove_dot_segments(reference.path),
            reference.query,
        ),
        (None, Some(authority)) => (
            base_scheme,
            Some(authority),
            remove_dot_segments(reference.path),
            reference.query,
        ),
        (None, None) if reference.path.is_empty() => (
            base_scheme,
            base.authority,
            base.path.to_string(),
            reference.query.or(base.query),
        ),
        (None, None) if reference.path.starts_with('/') => (
            base_scheme,
            base.authority,
            remove_dot_segments(reference.path),
            reference.query,
        ),
        (None, None) => {
            let merged = match base.path.rsplit_once('/') {
                Some((directory, _)) => format!("{directory}/{}", reference.path),
                None if base.authority.is_some() => format!("/{}", reference.path),
                None => reference.path.to_string(),
            };
            (
                base_scheme,
                base.authority,
                remove_dot_segments(&merged),
                reference.query,
            )
        }
    };
    let mut url = scheme;
    url.push(':');
    if let Some(authority) = authority {
        url.push_str("//");
        url.push_str(authority);
    }
    url.push_str(&path);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

/// An upload URL (absolute, as [`resolve`] gives it) with `digest=DIGEST` added to its query,
/// as the PUT that completes an upload sends it.
pub fn with_digest(url: &str, digest: &str) -> String {
    let url = url.split('#').next().unwrap_or(url);
    let separator = match url.split_once('?') {
        Some((_, "")) => "",
        Some(_) => "&",
        None => "?",
    };
    format!("{url}{separator}digest={digest}")
}

/// The five components of a URI reference (RFC 3986, appendix B); the fragment is dropped.
struct Parts<'a> {
    scheme: Option<&'a str>,
    authority: Option<&'a str>,
    path: &'a str,
    query: Option<&'a str>,
}

impl<'a> Parts<'a> {
    fn of(reference: &'a str) -> Parts<'a> {
        let reference = reference.split('#').next().unwrap_or(reference);
        let (scheme, rest) = match reference.split_once(':') {
            Some((scheme, rest)) if is_scheme(scheme) => (Some(scheme), rest),
            _ => (None, reference),
        };
        let (authority, rest) = match rest.strip_prefix("//") {
            Some(after) => {
                let end = after.find(['/', '?']).unwrap_or(after.len());
                (Some(&after[..end]), &after[end..])
            }
            None => (None, rest),
        };
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        Parts {
            scheme,
            authority,
            path,
            query,
        }
    }
}

/// Whether `text` is a URI scheme: a letter, then letters, digits, `+`, `-` or `.`.
fn is_scheme(text: &str) -> bool {
    let mut chars = text.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// A path with its `.` and `..` segments applied (RFC 3986, section 5.2.4).
fn remove_dot_segments(path: &str) -> String {
    let absolute = path.starts_with('/');
    let segments: Vec<&str> = path.split('/').collect();
    let mut out: Vec<&str> = Vec::new();
    for (i, segment) in segments.iter().enumerate() {
        let last = i + 1 == segments.len();
        match *segment {
            "." | ".." => {
                if *segment == ".." && out.len() > usize::from(absolute) {
                    out.pop();
                }
                if last {
                    out.push("");
                }
            }
            other => out.push(other),
        }
    }
    if absolute && out.len() == 1 {
        return "/".to_string();
    }
    out.join("/")
}

/// Whether two URLs have the same origin (scheme, host and port): where credentials meant for
/// one may go.
pub fn same_origin(a: &str, b: &str) -> bool {
    origin(a) == origin(b)
}

/// The origin of a URL: scheme, lowercased host and port (the scheme's default when absent).
fn origin(url: &str) -> (String, String, u16) {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let scheme = scheme.to_ascii_lowercase();
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let authority = authority.rsplit_once('@').map_or(authority, |(_, a)| a);
    let default_port = if scheme == "http" { 80 } else { 443 };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => (host, port.parse().unwrap_or(default_port)),
        _ => (authority, default_port),
    };
    (scheme, host.to_ascii_lowercase(), port)
}

/// Whether `url` is plain `http://` (its scheme in any case).
pub fn is_plain_http(url: &str) -> bool {
    url.get(.."http://".len())
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("http://"))
}

/// A URL without its query and fragment: what `--debug` prints of it (a redirect to a CDN
/// often carries a signature in its query, an upload URL the registry's signed state).
pub fn without_query(url: &str) -> &str {
    url.split(['?', '#']).next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_locations_resolve_against_the_request_url() {
        let base = "https://reg:5000/v2/a/blobs/sha256:1?x=1";
        assert_eq!(resolve(base, "https://cdn/b?sig=2"), "https://cdn/b?sig=2");
        assert_eq!(resolve(base, "//cdn:8443/b"), "https://cdn:8443/b");
        assert_eq!(resolve(base, "/v2/other"), "https://reg:5000/v2/other");
        assert_eq!(resolve(base, "x?y"), "https://reg:5000/v2/a/blobs/x?y");
    }

    #[test]
    fn locations_resolve_as_rfc_3986_says() {
        let post = "https://reg:5000/v2/a/blobs/uploads/?mount=sha256:1&from=b";
        assert_eq!(
            resolve(post, "uploads/abc"),
            "https://reg:5000/v2/a/blobs/uploads/uploads/abc"
        );
        assert_eq!(
            resolve(post, "abc?_state=s"),
            "https://reg:5000/v2/a/blobs/uploads/abc?_state=s"
        );
        assert_eq!(
            resolve(post, "../uploads/abc"),
            "https://reg:5000/v2/a/blobs/uploads/abc"
        );
        assert_eq!(resolve(post, "/../../x/./y/.."), "https://reg:5000/x/");
        assert_eq!(
            resolve(post, "?q=1"),
            "https://reg:5000/v2/a/blobs/uploads/?q=1"
        );
        assert_eq!(
            resolve(post, "#f"),
            "https://reg:5000/v2/a/blobs/uploads/?mount=sha256:1&from=b"
        );
        assert_eq!(resolve(post, "HTTPS://cdn/x#f"), "https://cdn/x");
        assert_eq!(resolve(post, "HTTP://Cdn:80/x?a#f"), "http://Cdn:80/x?a");
        assert_eq!(resolve("https://reg", "x"), "https://reg/x");
    }

    #[test]
    fn the_digest_goes_into_the_query_never_after_a_fragment() {
        assert_eq!(
            with_digest("https://r/u", "sha256:1"),
            "https://r/u?digest=sha256:1"
        );
        assert_eq!(
            with_digest("https://r/u?_state=s", "sha256:1"),
            "https://r/u?_state=s&digest=sha256:1"
        );
        assert_eq!(
            with_digest("https://r/u?", "sha256:1"),
            "https://r/u?digest=sha256:1"
        );
        assert_eq!(
            with_digest("https://r/u?a#f", "sha256:1"),
            "https://r/u?a&digest=sha256:1"
        );
    }

    #[test]
    fn an_origin_is_scheme_host_and_port() {
        assert_eq!(
            origin("https://Reg.Example/v2/"),
            origin("https://reg.example:443/x")
        );
        assert_ne!(
            origin("http://127.0.0.1:5000/"),
            origin("http://127.0.0.1:5001/")
        );
        assert_ne!(origin("http://reg/"), origin("https://reg/"));
        assert!(!same_origin("https://reg:5000/v2/", "http://reg:5000/v2/a"));
        assert!(same_origin(
            "https://reg:5000/v2/",
            "https://REG:5000/v2/a?b"
        ));
        assert_eq!(origin("http://[::1]:80/a").1, "[::1]");
        assert_eq!(origin("http://[::1]/a").2, 80);
    }

    #[test]
    fn host_of_url_strips_scheme_and_path() {
        assert_eq!(host_of_url("https://a:5000/v2/x?y"), "a:5000");
        assert_eq!(host_of_url("http://[::1]:80/token"), "[::1]:80");
    }

    #[test]
    fn host_of_url_names_the_host_same_origin_compares() {
        // Found by the `location` fuzz target: a fragment or userinfo was shown as the host
        // ("evil#@reg:5000", "reg:5000@evil"), naming the wrong host, or a password, in messages.
        assert_eq!(host_of_url("https://evil#@reg:5000/"), "evil");
        assert_eq!(host_of_url("https://reg:5000@evil/x"), "evil");
        assert_eq!(
            host_of_url("https://user:secret@auth:8443/token"),
            "auth:8443"
        );
        assert!(!same_origin("https://evil#@reg:5000/", "https://reg:5000/"));
    }

    #[test]
    fn without_query_drops_query_and_fragment() {
        assert_eq!(
            without_query("https://r/v2/a/blobs/uploads/u?_state=s#f"),
            "https://r/v2/a/blobs/uploads/u"
        );
        assert_eq!(without_query("https://r/v2/"), "https://r/v2/");
    }
}
