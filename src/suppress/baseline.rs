//! Baselines: the secrets already known, by `secret_id`, in a file built to merge without
//! conflicts.
//!
//! ```json
//! {"leakhound_baseline": 1, "secrets": [
//!   {"note": "one secret per line, sorted by secret_id; no line numbers, no timestamps"}
//! , {"secret_id": "0a1b…", "rule_id": "aws.access-key-id"}
//! , {"secret_id": "6d52…", "rule_id": "stripe.secret-key"}
//! ]}
//! ```
//!
//! Every entry is one line that starts with its own comma, after a fixed first entry, so the
//! file stays valid JSON whatever set of entry lines it holds. Two branches that add different
//! secrets therefore merge cleanly when they add lines at different places, and always with
//! git's `union` merge driver (`.leakhound-baseline.json merge=union` in `.gitattributes`),
//! which keeps the lines of both sides. Readers ignore entries without a `secret_id`, and
//! duplicates.

use std::{collections::BTreeMap, fmt::Write as _, path::Path};

use serde::Deserialize;

/// The default file name.
pub const BASELINE_FILE_NAME: &str = ".leakhound-baseline.json";

/// Errors reading a baseline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("failed to read baseline {path}")]
    Read {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file is not a baseline.
    #[error("invalid baseline {path}")]
    Parse {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
struct FileSyntax {
    secrets: Vec<EntrySyntax>,
}

#[derive(Deserialize)]
struct EntrySyntax {
    secret_id: Option<String>,
    #[serde(default)]
    rule_id: String,
}

/// A set of known secrets: secret id → rule id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Entries, sorted by secret id.
    pub secrets: BTreeMap<String, String>,
}

impl Baseline {
    /// Reads a baseline file.
    pub fn load(path: &Path) -> Result<Baseline, Error> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
            path: shown.clone(),
            source,
        })?;
        let syntax: FileSyntax = serde_json::from_str(&text).map_err(|source| Error::Parse {
            path: shown,
            source,
        })?;
        let secrets = syntax
            .secrets
            .into_iter()
            .filter_map(|e| e.secret_id.map(|id| (id, e.rule_id)))
            .collect();
        Ok(Baseline { secrets })
    }

    /// Whether a secret id is known.
    pub fn contains(&self, secret_id: &str) -> bool {
        self.secrets.contains_key(secret_id)
    }

    /// The file text, one entry per line, sorted.
    pub fn render(&self) -> String {
        let mut s = String::from("{\"leakhound_baseline\": 1, \"secrets\": [\n");
        s.push_str(
            "  {\"note\": \"one secret per line, sorted by secret_id; no line numbers, no timestamps. Merge with: .leakhound-baseline.json merge=union\"}\n",
        );
        for (id, rule) in &self.secrets {
            let entry = serde_json::json!({ "secret_id": id, "rule_id": rule });
            // Writing to a String cannot fail.
            let _ = writeln!(s, ", {entry}");
        }
        s.push_str("]}\n");
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_sorted_and_reads_back_any_subset_of_lines() {
        let mut b = Baseline::default();
        b.secrets.insert("bb".repeat(16), "r.b".into());
        b.secrets.insert("aa".repeat(16), "r.a".into());
        let text = b.render();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[2].contains(&"aa".repeat(16)) && lines[3].contains(&"bb".repeat(16)));
        // dropping an entry line (or adding one from another branch) keeps the file valid
        let without_first: String = lines
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != 2)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.json");
        std::fs::write(&p, &without_first).unwrap();
        let back = Baseline::load(&p).unwrap();
        assert_eq!(back.secrets.len(), 1);
        std::fs::write(&p, &text).unwrap();
        assert_eq!(Baseline::load(&p).unwrap(), b);
    }
}
