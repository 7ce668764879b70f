//! Remembers, per registry origin, how it authenticates: open, Basic, or Bearer with its realm.
//!
//! Without it every run's first request goes out alone to learn the scheme (a 401 and then a
//! token, or a plain answer) before the rest may start. With it a run fetches its token first
//! and sends every request of a stage at once, saving round trips on a distant registry. Only
//! the scheme, realm and service are kept — never a credential or a token. A wrong entry costs
//! nothing but a 401, after which the registry's own challenge is used and the entry replaced.
//! Where the cache has no entry, [`super::well_known`] may have one built in.
//!
//! The file is `$XDG_CACHE_HOME/manifest-tool/auth-schemes.json`, else
//! `$HOME/.cache/manifest-tool/auth-schemes.json`. `MANIFEST_TOOL_NO_CACHE=1` turns it off.
//! Reading and writing are best effort: an unreadable or unwritable cache is ignored.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;

/// How a registry answered the first request of an earlier run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "scheme", rename_all = "lowercase")]
pub enum Known {
    /// Requests passed without credentials.
    Open,
    /// A Basic challenge.
    Basic,
    /// A Bearer challenge with this token realm and service.
    Bearer {
        realm: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service: Option<String>,
    },
}

/// The environment variable that turns the cache off.
pub const NO_CACHE_ENV: &str = "MANIFEST_TOOL_NO_CACHE";

/// The cache file, or none when the cache is off. `main` finds it from the environment
/// ([`SchemeCache::new`]); nothing here reads a variable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchemeCache {
    file: Option<PathBuf>,
}

impl SchemeCache {
    /// The cache for the values of [`NO_CACHE_ENV`], `XDG_CACHE_HOME` and `HOME`: off when the
    /// first is set to anything but empty or `0`, else under the first of the others that is
    /// set and not empty, else off.
    pub fn new(
        no_cache: Option<OsString>,
        xdg_cache_home: Option<OsString>,
        home: Option<OsString>,
    ) -> SchemeCache {
        if no_cache.is_some_and(|v| !v.is_empty() && v != "0") {
            return SchemeCache::default();
        }
        let base = xdg_cache_home
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                home.filter(|v| !v.is_empty())
                    .map(|home| PathBuf::from(home).join(".cache"))
            });
        SchemeCache {
            file: base.map(|base| base.join("manifest-tool").join("auth-schemes.json")),
        }
    }

    /// What is remembered for `origin` (`https://host:port`), if anything.
    pub fn load(&self, origin: &str) -> Option<Known> {
        let text = std::fs::read(self.file.as_ref()?).ok()?;
        let mut all: BTreeMap<String, Known> = serde_json::from_slice(&text).ok()?;
        all.remove(origin)
    }

    /// Remember `known` for `origin`, replacing what was there (best effort).
    pub fn store(&self, origin: &str, known: &Known) {
        let Some(path) = &self.file else { return };
        let mut all: BTreeMap<String, Known> = std::fs::read(path)
            .ok()
            .and_then(|text| serde_json::from_slice(&text).ok())
            .unwrap_or_default();
        if all.get(origin) == Some(known) {
            return;
        }
        all.insert(origin.to_string(), known.clone());
        let Ok(bytes) = serde_json::to_vec_pretty(&all) else {
            return;
        };
        let Some(dir) = path.parent() else { return };
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        // Write a temp file and rename it, so a concurrent run never reads half a file.
        let temp = dir.join(format!(".auth-schemes-{}.tmp", std::process::id()));
        if std::fs::write(&temp, bytes).is_ok() && std::fs::rename(&temp, path).is_err() {
            let _ = std::fs::remove_file(&temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_round_trip_through_json_without_secrets() {
        let known = Known::Bearer {
            realm: "https://auth.example/token".into(),
            service: Some("registry.example".into()),
        };
        let text = serde_json::to_string(&known).unwrap();
        assert_eq!(
            text,
            r#"{"scheme":"bearer","realm":"https://auth.example/token","service":"registry.example"}"#
        );
        assert_eq!(serde_json::from_str::<Known>(&text).unwrap(), known);
        assert_eq!(
            serde_json::from_str::<Known>(r#"{"scheme":"open"}"#).unwrap(),
            Known::Open
        );
    }

    #[test]
    fn the_file_is_under_xdg_cache_home_else_home_unless_turned_off() {
        let os = |s: &str| Some(OsString::from(s));
        let file = |cache: SchemeCache| cache.file;
        assert_eq!(
            file(SchemeCache::new(None, os("/x"), os("/h"))),
            Some(PathBuf::from("/x/manifest-tool/auth-schemes.json"))
        );
        assert_eq!(
            file(SchemeCache::new(os("0"), os(""), os("/h"))),
            Some(PathBuf::from("/h/.cache/manifest-tool/auth-schemes.json"))
        );
        assert_eq!(file(SchemeCache::new(os(""), None, None)), None);
        assert_eq!(file(SchemeCache::new(os("1"), os("/x"), os("/h"))), None);
    }
}
