//! `.leakhoundignore`: suppressions by secret id (optionally scoped to a path glob) and by path,
//! each with a required reason.
//!
//! ```text
//! # one entry per line; the reason after " #" is required
//! 6d52c791d16e49d630a7c2456448cd1d                # rotated 2024-05-02, see INC-1234
//! 6d52c791d16e49d630a7c2456448cd1d tests/**       # fake key the tests need
//! path fixtures/**                                # generated fake credentials
//! ```
//!
//! A secret-id entry suppresses only findings with exactly that `secret_id` (never a different
//! secret on the same line, unlike positional ignores). An entry without a reason, or that is
//! not one of the forms above, is not applied: it is reported as a problem by every scan and by
//! `leakhound ignore check`, which also lists entries that suppressed nothing (stale).

use std::path::{Path, PathBuf};

use globset::{GlobBuilder, GlobMatcher};

use crate::finding::Finding;

/// The file looked for at the scan root.
pub const IGNORE_FILE_NAME: &str = ".leakhoundignore";

/// What an entry suppresses.
#[derive(Debug, Clone)]
pub enum Target {
    /// Findings of this secret id, anywhere or only at paths matching the scope.
    Secret {
        /// The 32-hex-digit secret id.
        id: String,
        /// Optional path scope.
        scope: Option<(String, GlobMatcher)>,
    },
    /// Every finding at a path matching the glob.
    Path {
        /// The glob text.
        glob: String,
        /// The compiled glob.
        matcher: GlobMatcher,
    },
}

/// One valid entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// 1-based line in the file.
    pub line: usize,
    /// What it suppresses.
    pub target: Target,
    /// Why.
    pub reason: String,
}

/// A parsed ignore file.
#[derive(Debug, Clone, Default)]
pub struct IgnoreFile {
    /// Where it was read from.
    pub path: PathBuf,
    /// Valid entries.
    pub entries: Vec<Entry>,
    /// Lines that are not valid entries: (line, problem).
    pub problems: Vec<(usize, String)>,
}

fn glob(text: &str) -> Result<GlobMatcher, String> {
    let t = text.trim_start_matches("./");
    let anchored = if t.contains('/') {
        t.to_owned()
    } else {
        format!("**/{t}")
    };
    GlobBuilder::new(&anchored)
        .literal_separator(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|e| format!("invalid glob {text:?}: {e}"))
}

fn is_secret_id(s: &str) -> bool {
    s.len() == 32
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

impl IgnoreFile {
    /// Parses the text of an ignore file.
    pub fn parse(path: &Path, text: &str) -> IgnoreFile {
        let mut file = IgnoreFile {
            path: path.to_owned(),
            ..IgnoreFile::default()
        };
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (body, reason) = match trimmed.find(" #").or_else(|| trimmed.find("\t#")) {
                Some(at) => (trimmed[..at].trim(), trimmed[at + 2..].trim()),
                None => (trimmed, ""),
            };
            if reason.is_empty() {
                file.problems
                    .push((line, "no reason: add one after \" # \"".into()));
                continue;
            }
            let tokens: Vec<&str> = body.split_whitespace().collect();
            let target = match tokens.as_slice() {
                ["path", g] => glob(g).map(|matcher| Target::Path {
                    glob: (*g).to_owned(),
                    matcher,
                }),
                [id] if is_secret_id(id) => Ok(Target::Secret {
                    id: (*id).to_owned(),
                    scope: None,
                }),
                [id, g] if is_secret_id(id) => glob(g).map(|m| Target::Secret {
                    id: (*id).to_owned(),
                    scope: Some(((*g).to_owned(), m)),
                }),
                _ => Err(format!(
                    "unknown entry {body:?}: expected a 32-hex-digit secret id (optionally followed by a path glob) or \"path GLOB\""
                )),
            };
            match target {
                Ok(target) => file.entries.push(Entry {
                    line,
                    target,
                    reason: reason.to_owned(),
                }),
                Err(problem) => file.problems.push((line, problem)),
            }
        }
        file
    }

    /// Reads and parses an ignore file.
    pub fn load(path: &Path) -> std::io::Result<IgnoreFile> {
        Ok(IgnoreFile::parse(path, &std::fs::read_to_string(path)?))
    }

    /// The index of the first entry that suppresses this finding.
    pub fn matching(&self, f: &Finding) -> Option<usize> {
        let path = f.origin.relative();
        self.entries.iter().position(|e| match &e.target {
            Target::Secret { id, scope } => {
                *id == f.secret_id && scope.as_ref().is_none_or(|(_, m)| m.is_match(path))
            }
            Target::Path { matcher, .. } => matcher.is_match(path),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "6d52c791d16e49d630a7c2456448cd1d";

    #[test]
    fn parses_entries_and_requires_reasons() {
        let text = format!(
            "# header\n{ID} # rotated\n{ID} tests/** # test key\npath fixtures/** # fakes\n{ID}\nnot-an-id # why\npath # x\n"
        );
        let f = IgnoreFile::parse(Path::new(".leakhoundignore"), &text);
        assert_eq!(f.entries.len(), 3);
        assert_eq!(f.entries[0].reason, "rotated");
        let lines: Vec<usize> = f.problems.iter().map(|p| p.0).collect();
        assert_eq!(lines, vec![5, 6, 7]);
        assert!(f.problems[0].1.contains("no reason"));
    }
}
