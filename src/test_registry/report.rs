//! The outcome of `test-registry`: one [`Check`] per capability, shown as a table or as JSON,
//! and the verdict on whether push can work with the registry.

use crate::error::{Error, Result};
use crate::escape::escape_controls;
use crate::redact::redact;
use serde::Serialize;

/// The longest detail shown, in characters; a longer one is cut with `…`.
const MAX_DETAIL: usize = 200;

/// How the report is printed (`--format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// A table, one check a line (the default).
    Text,
    /// `{"registry","repository","checks":[{"name","status","detail","required"}]}`.
    Json,
}

/// What a check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The registry did what was asked, and it checked out.
    Pass,
    /// It failed: a check push relies on that did not pass, or an optional one that went
    /// wrong in another way than a refusal.
    Fail,
    /// The registry refused an optional capability (a 4xx, or a mount answered by an upload).
    Unsupported,
}

impl Status {
    fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unsupported => "unsupported",
        }
    }
}

/// One capability checked.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// What was checked: `tag PUT`, `cross-repository mount`, ….
    pub name: &'static str,
    pub status: Status,
    /// How it went, in the registry's words where it answered: control characters escaped,
    /// secrets redacted, at most [`MAX_DETAIL`] characters.
    pub detail: String,
    /// Whether push relies on it: a required check that does not pass fails the run.
    pub required: bool,
}

impl Check {
    /// A check, with `detail` made safe to print.
    pub fn new(name: &'static str, required: bool, status: Status, detail: &str) -> Check {
        let detail = escape_controls(&redact(&detail.replace(['\n', '\r'], " ")));
        let detail = match detail.char_indices().nth(MAX_DETAIL) {
            Some((end, _)) => format!("{}…", &detail[..end]),
            None => detail,
        };
        Check {
            name,
            status,
            detail,
            required,
        }
    }
}

/// Every check of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The registry, as written in the repository argument.
    pub registry: String,
    /// The repository tested.
    pub repository: String,
    /// The repository a blob is mounted into.
    #[serde(skip)]
    pub sibling: String,
    pub checks: Vec<Check>,
    /// The tags left in place by `--keep`.
    #[serde(skip)]
    pub kept: Vec<String>,
}

impl Report {
    /// The report as `format` prints it.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Json => {
                // Serialising our own struct into memory cannot fail.
                let mut json = serde_json::to_string_pretty(self).unwrap_or_default();
                json.push('\n');
                json
            }
            Format::Text => self.table(),
        }
    }

    /// `Registry:` and `Repository:` lines, then one line per check under a heading.
    fn table(&self) -> String {
        let names = self.checks.iter().map(|c| c.name.len());
        let width = names.max().unwrap_or(0).max("CHECK".len());
        let mut text = format!(
            "Registry:   {}\nRepository: {} (and {} for the mount)\n\n",
            escape_controls(&self.registry),
            escape_controls(&self.repository),
            escape_controls(&self.sibling),
        );
        text.push_str(&format!(
            "{:width$}  REQUIRED  RESULT       DETAIL\n",
            "CHECK"
        ));
        for check in &self.checks {
            let required = if check.required { "yes" } else { "no" };
            let line = format!(
                "{:width$}  {required:8}  {:11}  {}",
                check.name,
                check.status.word(),
                check.detail
            );
            text.push_str(line.trim_end());
            text.push('\n');
        }
        if !self.kept.is_empty() {
            text.push_str(&format!("\nKept: {}\n", self.kept.join(" ")));
        }
        text
    }

    /// Fine when every check push relies on passed; else the error naming those that did
    /// not.
    pub fn verdict(&self) -> Result<()> {
        let failed: Vec<&str> = self
            .checks
            .iter()
            .filter(|c| c.required && c.status != Status::Pass)
            .map(|c| c.name)
            .collect();
        match failed.is_empty() {
            true => Ok(()),
            false => Err(Error::Unsupported(format!(
                "{} lacks what push needs: {} failed",
                escape_controls(&self.registry),
                failed.join(", ")
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_are_escaped_and_cut() {
        let check = Check::new(
            "x",
            true,
            Status::Fail,
            &format!("a\x1b[2Jb\n{}", "y".repeat(300)),
        );
        assert!(check.detail.starts_with(r"a\x1b[2Jb y"), "{}", check.detail);
        assert_eq!(check.detail.chars().count(), MAX_DETAIL + 1);
        assert!(check.detail.ends_with('…'));
    }
}
