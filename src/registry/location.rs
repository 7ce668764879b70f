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

/// `location` (absolute, scheme-relative, absolute-path or relative) resolved against `base`.
pub fn resolve(base: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("https", base));
    if let Some(authority_and_path) = location.strip_prefix("//") {
        return format!("{scheme}://{authority_and_path}");
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    if location.starts_with('/') {
        return format!("{scheme}://{authority}{location}");
    }
    let path = without_query(&rest[authority.len()..]);
    let directory = path.rsplit_once('/').map_or("", |(dir, _)| dir);
    format!("{scheme}://{authority}{directory}/{location}")
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
