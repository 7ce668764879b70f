//! Content digests, `algorithm:hex`: parsed once by the OCI grammar where they come in (a
//! reference, a layout's `index.json`, a registry's answer), then passed around as [`Digest`], so
//! nothing later has to wonder whether a string is a digest, a tag, or a path in disguise.
//!
//! ```text
//! digest := "sha256:" 64 lowercase hex | "sha512:" 128 lowercase hex
//! ```
//!
//! The OCI grammar allows other algorithms; we accept only those two, because a digest we cannot
//! verify is one we would have to trust.

use ring::digest::{Context, SHA256, SHA512};
use std::fmt;
use std::path::PathBuf;

/// A hash algorithm we can verify content with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// SHA-256, the one registries use: 64 hex digits.
    Sha256,
    /// SHA-512: 128 hex digits.
    Sha512,
}

impl Algorithm {
    /// The name written before the `:`.
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha256 => "sha256",
            Algorithm::Sha512 => "sha512",
        }
    }

    /// How many hex digits its digests have.
    fn hex_len(self) -> usize {
        match self {
            Algorithm::Sha256 => 64,
            Algorithm::Sha512 => 128,
        }
    }

    fn named(name: &str) -> Option<Algorithm> {
        match name {
            "sha256" => Some(Algorithm::Sha256),
            "sha512" => Some(Algorithm::Sha512),
            _ => None,
        }
    }
}

/// A valid digest: `sha256:` with 64 or `sha512:` with 128 lowercase hex digits. It can only be
/// made by [`Digest::parse`] or by hashing ([`Digest::sha256_of`], [`Digest::of`]), so holding
/// one means it is safe to put in a URL or a path.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest {
    text: String,
    algorithm: Algorithm,
}

impl Digest {
    /// Parse `text`; the error says what is wrong with it, quoting it.
    pub fn parse(text: &str) -> Result<Digest, String> {
        if text.is_empty() {
            return Err("the digest is empty".to_string());
        }
        let Some((name, hex)) = text.split_once(':').filter(|(a, _)| !a.is_empty()) else {
            return Err(format!(
                "digest {text:?} must be written algorithm:hex, like sha256:<64 hex digits>"
            ));
        };
        let Some(algorithm) = Algorithm::named(name) else {
            return Err(format!(
                "digest {text:?} uses the algorithm {name:?}; only sha256 and sha512 are supported"
            ));
        };
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "digest {text:?} has characters that are not hex digits after \"{name}:\""
            ));
        }
        if hex.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(format!("digest {text:?} must be written in lowercase hex"));
        }
        if hex.len() != algorithm.hex_len() {
            return Err(format!(
                "digest {text:?} has {} hex digits after \"{name}:\"; {name} needs {}",
                hex.len(),
                algorithm.hex_len()
            ));
        }
        Ok(Digest {
            text: text.to_string(),
            algorithm,
        })
    }

    /// The digest of `bytes` with `algorithm`.
    pub fn of(algorithm: Algorithm, bytes: &[u8]) -> Digest {
        let mut hasher = Hasher::new(algorithm);
        hasher.update(bytes);
        hasher.finish()
    }

    /// `sha256:<hex>` of `bytes`: the digest registries give what they store.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest::of(Algorithm::Sha256, bytes)
    }

    /// Whether `bytes` hash to this digest; if not, the digest they do have (same algorithm).
    pub fn verify(&self, bytes: &[u8]) -> Result<(), Digest> {
        let found = Digest::of(self.algorithm, bytes);
        if found == *self { Ok(()) } else { Err(found) }
    }

    /// [`Digest::verify`] as the tool's error: a [`crate::error::Error::DigestMismatch`]
    /// saying `what` (e.g. "blob app@sha256:… from host") did not hash to this digest.
    pub fn check(&self, bytes: &[u8], what: impl FnOnce() -> String) -> crate::error::Result<()> {
        self.verify(bytes)
            .map_err(|found| crate::error::Error::DigestMismatch {
                what: what(),
                expected: self.to_string(),
                found: found.to_string(),
            })
    }

    /// The algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The hex digits after the `:`.
    pub fn hex(&self) -> &str {
        &self.text[self.algorithm.name().len() + 1..]
    }

    /// The whole digest, `algorithm:hex`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Where an OCI image layout keeps this blob, relative to its root: `blobs/<alg>/<hex>`.
    pub fn layout_path(&self) -> PathBuf {
        ["blobs", self.algorithm.name(), self.hex()]
            .iter()
            .collect()
    }
}

/// Hashes content as it streams past, for checking it against a [`Digest`] at the end.
///
/// The hashing is ring's, which the TLS stack links anyway (with the CPU's SHA instructions
/// where it has them): a second implementation would cost the binary 20 KB.
pub struct Hasher {
    algorithm: Algorithm,
    context: Context,
}

impl Hasher {
    /// A hasher with the algorithm of `like`, the digest the content is expected to have.
    pub fn like(like: &Digest) -> Hasher {
        Hasher::new(like.algorithm)
    }

    fn new(algorithm: Algorithm) -> Hasher {
        let context = match algorithm {
            Algorithm::Sha256 => Context::new(&SHA256),
            Algorithm::Sha512 => Context::new(&SHA512),
        };
        Hasher { algorithm, context }
    }

    /// Add the next bytes of the content.
    pub fn update(&mut self, bytes: &[u8]) {
        self.context.update(bytes);
    }

    /// The digest of everything added.
    pub fn finish(self) -> Digest {
        let hex = hex(self.context.finish().as_ref());
        Digest {
            text: format!("{}:{hex}", self.algorithm.name()),
            algorithm: self.algorithm,
        }
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PartialEq<str> for Digest {
    fn eq(&self, other: &str) -> bool {
        self.text == other
    }
}

impl PartialEq<&str> for Digest {
    fn eq(&self, other: &&str) -> bool {
        self.text == *other
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Digest, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Digest::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// Lowercase hex of `bytes`, as digests write it.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        text.push(char::from(DIGITS[usize::from(b >> 4)]));
        text.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY_SHA256: &str =
        "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn hashing_gives_the_well_known_digests_of_the_empty_string() {
        assert_eq!(Digest::sha256_of(b""), EMPTY_SHA256);
        let sha512 = Digest::of(Algorithm::Sha512, b"");
        assert!(
            sha512
                .as_str()
                .starts_with("sha512:cf83e1357eefb8bdf1542850d66d8007")
        );
        assert_eq!(sha512.hex().len(), 128);
        assert_eq!(Digest::parse(sha512.as_str()), Ok(sha512));
    }

    #[test]
    fn a_parsed_digest_keeps_its_parts() {
        let digest = Digest::parse(EMPTY_SHA256).unwrap();
        assert_eq!(digest.algorithm(), Algorithm::Sha256);
        assert_eq!(digest.hex(), &EMPTY_SHA256[7..]);
        assert_eq!(digest.to_string(), EMPTY_SHA256);
        assert_eq!(
            digest.layout_path(),
            PathBuf::from("blobs/sha256").join(&EMPTY_SHA256[7..])
        );
    }

    #[test]
    fn a_digest_equals_exactly_its_own_text() {
        let digest = Digest::sha256_of(b"one");
        let text = digest.to_string();
        assert!(digest == *text.as_str());
        assert!(digest == text.as_str());
        let other = Digest::sha256_of(b"two").to_string();
        assert!(digest != *other.as_str());
        assert!(digest != other.as_str());
        assert!(digest != *EMPTY_SHA256);
        assert!(digest != "");
    }

    #[test]
    fn verify_names_the_digest_the_bytes_have() {
        let digest = Digest::sha256_of(b"one");
        assert_eq!(digest.verify(b"one"), Ok(()));
        assert_eq!(digest.verify(b"two"), Err(Digest::sha256_of(b"two")));
        let sha512 = Digest::of(Algorithm::Sha512, b"one");
        assert_eq!(sha512.verify(b"one"), Ok(()));
        assert_eq!(
            sha512.verify(b"two"),
            Err(Digest::of(Algorithm::Sha512, b"two"))
        );
    }

    #[test]
    fn anything_that_could_escape_a_url_or_a_path_is_refused() {
        let hex64 = &EMPTY_SHA256[7..];
        for bad in [
            "".to_string(),
            "sha256".to_string(),
            ":abc".to_string(),
            "sha256:../../../etc/passwd".to_string(),
            format!("sha256:{}?x", &hex64[..63]),
            format!("sha256:{}#", &hex64[..63]),
            format!("sha256:{}\r\n", &hex64[..62]),
            format!("sha256:{}", hex64.to_uppercase()),
            format!("sha256:{}", &hex64[..63]),
            format!("sha256:{hex64}0"),
            format!("md5:{hex64}"),
            format!("sha512:{hex64}"),
            format!("sha256:{hex64}/"),
        ] {
            assert!(Digest::parse(&bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn each_refusal_says_what_is_wrong() {
        let hex64 = &EMPTY_SHA256[7..];
        let cases = [
            ("", "the digest is empty".to_string()),
            (
                "abc",
                "digest \"abc\" must be written algorithm:hex, like sha256:<64 hex digits>"
                    .to_string(),
            ),
            (
                "md5:abc",
                "digest \"md5:abc\" uses the algorithm \"md5\"; only sha256 and sha512 are supported"
                    .to_string(),
            ),
            (
                "sha256:xyz",
                "digest \"sha256:xyz\" has characters that are not hex digits after \"sha256:\""
                    .to_string(),
            ),
            (
                "sha256:ABC",
                "digest \"sha256:ABC\" must be written in lowercase hex".to_string(),
            ),
            (
                "sha256:abc",
                "digest \"sha256:abc\" has 3 hex digits after \"sha256:\"; sha256 needs 64"
                    .to_string(),
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(Digest::parse(input), Err(expected), "{input:?}");
        }
        assert!(Digest::parse(&format!("sha256:{hex64}")).is_ok());
    }

    #[test]
    fn json_digests_are_checked_as_they_are_read() {
        let good: Digest = serde_json::from_str(&format!("\"{EMPTY_SHA256}\"")).unwrap();
        assert_eq!(good, EMPTY_SHA256);
        assert_eq!(
            serde_json::to_string(&good).unwrap(),
            format!("\"{EMPTY_SHA256}\"")
        );
        let bad = serde_json::from_str::<Digest>("\"sha256:../../x\"").unwrap_err();
        assert!(bad.to_string().contains("not hex digits"), "{bad}");
    }

    #[test]
    fn check_names_what_did_not_match_and_both_digests() {
        let digest = Digest::sha256_of(b"one");
        assert!(digest.check(b"one", || unreachable!()).is_ok());
        let error = digest.check(b"two", || "blob x".to_string()).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "blob x: expected digest {digest}, content has {}",
                Digest::sha256_of(b"two")
            )
        );
    }

    #[test]
    fn a_hasher_fed_in_pieces_gives_the_digest_of_the_whole() {
        for whole in [
            Digest::sha256_of(b"hello world"),
            Digest::of(Algorithm::Sha512, b"hello world"),
        ] {
            let mut hasher = Hasher::like(&whole);
            hasher.update(b"hello");
            hasher.update(b" world");
            assert_eq!(hasher.finish(), whole);
        }
    }

    #[test]
    fn hex_is_lowercase_two_digits_per_byte() {
        assert_eq!(hex(&[0x00, 0x0f, 0xa0, 0xff]), "000fa0ff");
    }
}
