//! `WWW-Authenticate` challenges (RFC 7235): which authentication a registry asks for.
//!
//! ```text
//! WWW-Authenticate = 1#challenge
//! challenge        = auth-scheme [ 1*SP #auth-param ]
//! auth-param       = token BWS "=" BWS ( token / quoted-string )
//! ```
//!
//! Challenges and their parameters share one comma-separated list: a list element that is a
//! bare token (no `=` after it) starts the next challenge. Quoted strings may hold commas and
//! backslash-escaped quotes (`scope="repository:a:pull,push"`). The parser never fails: what it
//! cannot make sense of is skipped up to the next comma.

/// One authentication challenge a registry offered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic`: send `Authorization: Basic base64(user:password)` on every request.
    Basic {
        /// The protection space, shown to users by browsers; registries rarely rely on it.
        realm: Option<String>,
    },
    /// `Bearer`: get a token from `realm` and send `Authorization: Bearer <token>`.
    Bearer {
        /// The token server's URL, possibly relative to the request URL.
        realm: String,
        /// The `service` to name in the token request, when the registry gave one.
        service: Option<String>,
        /// The scopes to request, in order and without duplicates (`repository:a/b:pull,push`).
        scopes: Vec<String>,
        /// The registry's reason for this challenge, such as `insufficient_scope`.
        error: Option<String>,
    },
}

/// Parses every challenge in all `WWW-Authenticate` header values of one response, in order.
/// Unknown schemes and `Bearer` challenges without a realm are skipped; malformed text never
/// panics, and whatever could be parsed is returned.
pub fn parse_challenges<'a>(header_values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    header_values
        .into_iter()
        .flat_map(|value| Scanner::new(value).raw_challenges())
        .filter_map(RawChallenge::into_challenge)
        .collect()
}

/// A challenge as written: its scheme and its parameters with lowercased names.
struct RawChallenge {
    scheme: String,
    params: Vec<(String, String)>,
}

impl RawChallenge {
    /// The first value of the parameter `name`.
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn into_challenge(self) -> Option<Challenge> {
        if self.scheme.eq_ignore_ascii_case("basic") {
            return Some(Challenge::Basic {
                realm: self.param("realm").map(str::to_string),
            });
        }
        if !self.scheme.eq_ignore_ascii_case("bearer") {
            return None;
        }
        let realm = self.param("realm").filter(|r| !r.is_empty())?.to_string();
        let mut scopes: Vec<String> = Vec::new();
        for (_, value) in self.params.iter().filter(|(n, _)| n == "scope") {
            for scope in value.split_whitespace() {
                if !scopes.iter().any(|s| s == scope) {
                    scopes.push(scope.to_string());
                }
            }
        }
        Some(Challenge::Bearer {
            realm,
            service: self.param("service").map(str::to_string),
            scopes,
            error: self.param("error").map(str::to_string),
        })
    }
}

/// A cursor over one header value. It only stops at ASCII bytes, so every slice it takes is
/// valid UTF-8.
struct Scanner<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Scanner<'a> {
    fn new(text: &'a str) -> Self {
        Scanner { text, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.pos).copied()
    }

    fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.pos += 1;
        }
        found
    }

    fn skip_while(&mut self, keep_going: impl Fn(u8) -> bool) -> &'a str {
        let start = self.pos;
        while self.peek().is_some_and(&keep_going) {
            self.pos += 1;
        }
        &self.text[start..self.pos]
    }

    fn skip_spaces(&mut self) {
        self.skip_while(|b| b == b' ' || b == b'\t');
    }

    /// Skips whitespace and empty list elements (`, ,`).
    fn skip_separators(&mut self) {
        self.skip_while(|b| matches!(b, b' ' | b'\t' | b','));
    }

    /// Skips junk up to and including the next comma outside a quoted string (or to the end).
    fn skip_past_comma(&mut self) {
        let mut quoted = false;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'\\' if quoted => self.pos = (self.pos + 1).min(self.text.len()),
                b'"' => quoted = !quoted,
                b',' if !quoted => return,
                _ => {}
            }
        }
    }

    /// An RFC 7230 token (scheme or parameter name), if one starts here.
    fn token(&mut self) -> Option<&'a str> {
        let token = self.skip_while(is_tchar);
        (!token.is_empty()).then_some(token)
    }

    /// A quoted string starting at the opening quote, unescaped; `None` when it is not closed.
    fn quoted_string(&mut self) -> Option<String> {
        let mut value = Vec::new();
        self.pos += 1;
        while let Some(b) = self.peek() {
            self.pos += 1;
            match b {
                b'"' => return Some(String::from_utf8_lossy(&value).into_owned()),
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        value.push(escaped);
                        self.pos += 1;
                    }
                }
                _ => value.push(b),
            }
        }
        None
    }

    /// All challenges in this header value, with any scheme.
    fn raw_challenges(mut self) -> Vec<RawChallenge> {
        let mut challenges = Vec::new();
        loop {
            self.skip_separators();
            if self.peek().is_none() {
                return challenges;
            }
            let Some(scheme) = self.token() else {
                self.skip_past_comma();
                continue;
            };
            let params = self.params();
            challenges.push(RawChallenge {
                scheme: scheme.to_string(),
                params,
            });
        }
    }

    /// The parameters after a scheme, up to the next challenge (a list element that is a bare
    /// token) or the end.
    fn params(&mut self) -> Vec<(String, String)> {
        let mut params = Vec::new();
        loop {
            self.skip_separators();
            let element_start = self.pos;
            if self.peek().is_none() {
                return params;
            }
            let Some(name) = self.token() else {
                self.skip_past_comma();
                continue;
            };
            self.skip_spaces();
            if !self.eat(b'=') {
                // A bare token: the scheme of the next challenge.
                self.pos = element_start;
                return params;
            }
            self.skip_spaces();
            let value = if self.peek() == Some(b'"') {
                self.quoted_string()
            } else {
                Some(
                    self.skip_while(|b| !matches!(b, b',' | b' ' | b'\t'))
                        .to_string(),
                )
            };
            if let Some(value) = value {
                params.push((name.to_ascii_lowercase(), value));
            }
            self.skip_spaces();
            if !matches!(self.peek(), None | Some(b',')) {
                self.skip_past_comma();
            }
        }
    }
}

/// Whether `b` may appear in an RFC 7230 token.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(
        realm: &str,
        service: Option<&str>,
        scopes: &[&str],
        error: Option<&str>,
    ) -> Challenge {
        Challenge::Bearer {
            realm: realm.to_string(),
            service: service.map(str::to_string),
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            error: error.map(str::to_string),
        }
    }

    fn basic(realm: Option<&str>) -> Challenge {
        Challenge::Basic {
            realm: realm.map(str::to_string),
        }
    }

    #[test]
    fn docker_hub_bearer_challenge() {
        let header = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#;
        assert_eq!(
            parse_challenges([header]),
            vec![bearer(
                "https://auth.docker.io/token",
                Some("registry.docker.io"),
                &["repository:library/busybox:pull"],
                None
            )]
        );
    }

    #[test]
    fn distribution_insufficient_scope_with_a_comma_inside_the_scope() {
        let header = r#"Bearer realm="https://auth.example.com/token",service="registry",scope="repository:a/b:pull,push",error="insufficient_scope""#;
        assert_eq!(
            parse_challenges([header]),
            vec![bearer(
                "https://auth.example.com/token",
                Some("registry"),
                &["repository:a/b:pull,push"],
                Some("insufficient_scope")
            )]
        );
    }

    #[test]
    fn basic_challenge_with_and_without_realm() {
        assert_eq!(
            parse_challenges([r#"Basic realm="Registry Realm""#]),
            vec![basic(Some("Registry Realm"))]
        );
        assert_eq!(parse_challenges(["Basic"]), vec![basic(None)]);
        assert_eq!(
            parse_challenges([
                r#"Basic realm="https://1234.dkr.ecr.us-east-1.amazonaws.com/",service="ecr.amazonaws.com""#
            ]),
            vec![basic(Some("https://1234.dkr.ecr.us-east-1.amazonaws.com/"))]
        );
    }

    #[test]
    fn two_challenges_in_one_header_value() {
        let header = r#"Basic realm="basic realm", Bearer realm="https://t/token",service="svc""#;
        assert_eq!(
            parse_challenges([header]),
            vec![
                basic(Some("basic realm")),
                bearer("https://t/token", Some("svc"), &[], None)
            ]
        );
        // The other order, with a challenge that has no parameters at all in between.
        let header = r#"Bearer realm="https://t/token", Negotiate, Basic"#;
        assert_eq!(
            parse_challenges([header]),
            vec![bearer("https://t/token", None, &[], None), basic(None)]
        );
    }

    #[test]
    fn two_header_values() {
        let values = [
            r#"Bearer realm="https://t/token",service="svc""#,
            r#"Basic realm="r""#,
        ];
        assert_eq!(
            parse_challenges(values),
            vec![
                bearer("https://t/token", Some("svc"), &[], None),
                basic(Some("r"))
            ]
        );
        assert_eq!(parse_challenges(Vec::<&str>::new()), vec![]);
    }

    #[test]
    fn several_scopes_in_one_parameter_and_repeated_scope_parameters() {
        let header = r#"Bearer realm="r",scope="repository:a:pull,push  repository:b:pull",scope="repository:c:pull repository:a:pull,push""#;
        assert_eq!(
            parse_challenges([header]),
            vec![bearer(
                "r",
                None,
                &[
                    "repository:a:pull,push",
                    "repository:b:pull",
                    "repository:c:pull"
                ],
                None
            )]
        );
    }

    #[test]
    fn escaped_quotes_and_backslashes_in_quoted_strings() {
        let header = r#"Bearer realm="https://t/\"quoted\",\\back",service="a\,b""#;
        assert_eq!(
            parse_challenges([header]),
            vec![bearer(
                r#"https://t/"quoted",\back"#,
                Some("a,b"),
                &[],
                None
            )]
        );
    }

    #[test]
    fn scheme_and_parameter_names_are_case_insensitive_and_whitespace_is_tolerated() {
        let header = "  bEARER   Realm = \"https://t/token\" ,\tSERVICE=\"svc\" , Scope=\"repository:x:pull\"  ";
        assert_eq!(
            parse_challenges([header]),
            vec![bearer(
                "https://t/token",
                Some("svc"),
                &["repository:x:pull"],
                None
            )]
        );
        assert_eq!(parse_challenges(["BASIC REALM=r"]), vec![basic(Some("r"))]);
    }

    #[test]
    fn token_values_without_quotes() {
        let header =
            "Bearer realm=https://t/token,service=registry.example.com,scope=repository:a:pull";
        assert_eq!(
            parse_challenges([header]),
            vec![bearer(
                "https://t/token",
                Some("registry.example.com"),
                &["repository:a:pull"],
                None
            )]
        );
    }

    #[test]
    fn unknown_schemes_and_bearer_without_realm_are_skipped() {
        let header =
            r#"Negotiate abc==, Digest realm="x",nonce="y", Bearer service="svc", Bearer realm="""#;
        assert_eq!(parse_challenges([header]), vec![]);
        let header = r#"Digest realm="x", Basic realm="b""#;
        assert_eq!(parse_challenges([header]), vec![basic(Some("b"))]);
    }

    #[test]
    fn the_first_of_repeated_parameters_wins() {
        let header = r#"Bearer realm="first",realm="second",service="s1",service="s2""#;
        assert_eq!(
            parse_challenges([header]),
            vec![bearer("first", Some("s1"), &[], None)]
        );
    }

    /// The challenges one `WWW-Authenticate` header value parses to.
    fn parsed(header: &str) -> Vec<Challenge> {
        parse_challenges([header])
    }

    #[test]
    fn junk_between_parameters_is_skipped_up_to_the_next_comma() {
        let with_scope = vec![bearer("r", Some("s"), &["a"], None)];
        assert_eq!(
            parsed(r#"Bearer realm="r" junk "x,y", service="s", ="v", scope="a""#),
            with_scope
        );
        let plain = vec![bearer("r", Some("s"), &[], None)];
        assert_eq!(parsed(r#"Bearer ,, realm="r",,,service="s",,"#), plain);
    }

    #[test]
    fn a_backslash_in_junk_escapes_only_inside_quotes() {
        let plain = vec![bearer("r", Some("s"), &[], None)];
        assert_eq!(
            parsed(r#"Bearer realm="r" junk "a\",b", service="s""#),
            plain
        );
        assert_eq!(parsed(r#"Bearer realm="r" junk\, service="s""#), plain);
    }

    #[test]
    fn an_unterminated_quoted_string_is_dropped() {
        assert_eq!(
            parse_challenges([r#"Bearer realm="https://t/token"#]),
            vec![]
        );
        assert_eq!(
            parse_challenges([r#"Bearer realm="r",service="svc"#]),
            vec![bearer("r", None, &[], None)]
        );
    }

    #[test]
    fn junk_never_panics() {
        let junk = [
            "",
            " ",
            ",",
            ",,,",
            "=",
            "\"",
            "\\",
            "\"\\",
            "Bearer",
            "Bearer realm",
            "Bearer realm=",
            "Bearer realm=\"",
            "Bearer realm=\"\\",
            "Bearer =",
            "= Bearer",
            "\"Bearer realm=x\"",
            "Bearer realm=\u{e9}\u{1f600},service=\"\u{e9}\\\u{e9}\"",
            "\0\x01\x7f",
            "Basic ,=,\",",
        ];
        for value in junk {
            let _ = parse_challenges([value]);
        }
        // Every prefix of a realistic header, byte by byte where it is a char boundary.
        let header = r#"Basic realm="b\"r", Bearer realm="https://t/token",service="s",scope="repository:a:pull,push x",error="insufficient_scope""#;
        for end in (0..=header.len()).filter(|&i| header.is_char_boundary(i)) {
            let _ = parse_challenges([&header[..end]]);
        }
        assert_eq!(
            parse_challenges(["Bearer realm=\u{e9}t\u{e9},service=\"\u{e9}\\\u{e9}\""]),
            vec![bearer("\u{e9}t\u{e9}", Some("\u{e9}\u{e9}"), &[], None)]
        );
    }

    #[test]
    fn every_short_combination_of_tricky_characters_parses_without_panicking() {
        let pieces = ["Bearer ", "realm", "=", "\"", "\\", ",", " ", "\u{e9}", "x"];
        let mut inputs = vec![String::new()];
        for _ in 0..5 {
            inputs = inputs
                .iter()
                .flat_map(|prefix| pieces.iter().map(move |piece| format!("{prefix}{piece}")))
                .collect();
            for input in &inputs {
                let _ = parse_challenges([input.as_str()]);
            }
        }
    }

    #[test]
    fn an_empty_scope_gives_no_scopes() {
        assert_eq!(
            parse_challenges([r#"Bearer realm="r",scope="",scope="   ""#]),
            vec![bearer("r", None, &[], None)]
        );
    }
}
