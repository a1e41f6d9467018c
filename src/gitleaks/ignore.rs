//! `.gitleaksignore`: gitleaks' fingerprints, one per line, `#` starting a comment.
//!
//! ```text
//! config/app.env:generic-api-key:12                                # path:rule:line
//! 0123456789abcdef0123456789abcdef01234567:config/app.env:aws-access-token:3
//! ```
//!
//! An entry suppresses the findings at its path and line (and commit, when it names one).
//! When its rule id is one of the scan's rules (a custom rule, or a leakhound id), only that
//! rule's finding; when it is an id leakhound does not have (one of gitleaks' own default
//! rules), any finding at that place, since leakhound's rule for the same secret has another
//! id. Line 0 (gitleaks' line for a file-only rule) matches the file's findings at any line.

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
};

use crate::finding::Finding;

/// The file gitleaks and Betterleaks read at the scan root.
pub const FILE_NAME: &str = ".gitleaksignore";

/// One fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// The commit, for history findings.
    pub commit: Option<String>,
    /// The path as gitleaks printed it.
    pub path: String,
    /// The rule id.
    pub rule: String,
    /// The start line (0: a file-only finding).
    pub line: usize,
    /// Whether the rule id is one of the scan's rules.
    pub known_rule: bool,
}

/// A parsed `.gitleaksignore`.
#[derive(Debug, Clone, Default)]
pub struct GitleaksIgnore {
    /// Where it was read from.
    pub path: PathBuf,
    /// The fingerprints.
    pub entries: Vec<Fingerprint>,
    /// Lines that are not fingerprints: (1-based line, the text).
    pub problems: Vec<(usize, String)>,
}

impl GitleaksIgnore {
    /// Reads a file; `rule_ids` are the ids of the scan's rules.
    pub fn load(path: &Path, rule_ids: &HashSet<&str>) -> std::io::Result<GitleaksIgnore> {
        let text = std::fs::read_to_string(path)?;
        Ok(GitleaksIgnore::parse(path, &text, rule_ids))
    }

    /// Parses the text of a file.
    pub fn parse(path: &Path, text: &str, rule_ids: &HashSet<&str>) -> GitleaksIgnore {
        let mut out = GitleaksIgnore {
            path: path.to_owned(),
            ..GitleaksIgnore::default()
        };
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            match parse_entry(line, rule_ids) {
                Some(e) => out.entries.push(e),
                None => out.problems.push((i + 1, raw.to_owned())),
            }
        }
        out
    }

    /// How many entries name a rule id the scan does not have.
    pub fn foreign_rules(&self) -> usize {
        self.entries.iter().filter(|e| !e.known_rule).count()
    }

    /// Whether an entry suppresses this finding.
    pub fn matches(&self, f: &Finding) -> bool {
        let path = f.origin.relative();
        let commit = f
            .git
            .as_ref()
            .and_then(|g| g.commit.as_ref())
            .map(|c| c.id.as_str());
        self.entries.iter().any(|e| {
            (e.line == 0 || e.line == f.region.line)
                && (!e.known_rule || e.rule == f.rule_id)
                && same_path(&e.path, path)
                && match (&e.commit, commit) {
                    (None, _) => true,
                    (Some(want), Some(have)) => have.eq_ignore_ascii_case(want),
                    (Some(_), None) => false,
                }
        })
    }
}

/// `path:rule:line` or `commit:path:rule:line` (a path may itself hold `:`).
fn parse_entry(line: &str, rule_ids: &HashSet<&str>) -> Option<Fingerprint> {
    let mut parts = line.rsplitn(3, ':');
    let number: usize = parts.next()?.trim().parse().ok()?;
    let rule = parts.next()?.trim().to_owned();
    let rest = parts.next()?.trim();
    if rule.is_empty() || rest.is_empty() {
        return None;
    }
    let (commit, path) = match rest.split_once(':') {
        Some((c, p)) if c.len() == 40 && c.bytes().all(|b| b.is_ascii_hexdigit()) => {
            (Some(c.to_ascii_lowercase()), p)
        }
        _ => (None, rest),
    };
    if path.is_empty() {
        return None;
    }
    Some(Fingerprint {
        commit,
        path: path.to_owned(),
        known_rule: rule_ids.contains(rule.as_str()),
        rule,
        line: number,
    })
}

/// Whether gitleaks' path (relative, `./`-prefixed or absolute) names the finding's relative
/// path.
fn same_path(theirs: &str, ours: &str) -> bool {
    let theirs = theirs.trim_start_matches("./");
    theirs == ours
        || (theirs.starts_with('/')
            && theirs
                .strip_suffix(ours)
                .is_some_and(|head| head.ends_with('/')))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms_and_reports_the_rest() {
        let ids: HashSet<&str> = ["custom-token"].into_iter().collect();
        let sha = "ab".repeat(20);
        let text = format!(
            "# comment\nconfig/a.env:custom-token:3\n{sha}:src/b.py:aws-access-token:7 # why\nnot a fingerprint\nx:y:z\n"
        );
        let g = GitleaksIgnore::parse(Path::new(".gitleaksignore"), &text, &ids);
        assert_eq!(g.entries.len(), 2);
        assert!(g.entries[0].known_rule && g.entries[0].commit.is_none());
        assert_eq!(g.entries[1].commit.as_deref(), Some(sha.as_str()));
        assert_eq!(g.entries[1].path, "src/b.py");
        assert_eq!(g.foreign_rules(), 1);
        assert_eq!(g.problems.iter().map(|p| p.0).collect::<Vec<_>>(), [4, 5]);
    }

    #[test]
    fn paths_match_relative_dotted_and_absolute_forms() {
        assert!(same_path("a/b.env", "a/b.env"));
        assert!(same_path("./a/b.env", "a/b.env"));
        assert!(same_path("/tmp/repo/a/b.env", "a/b.env"));
        assert!(!same_path("/tmp/repo/xa/b.env", "a/b.env"));
        assert!(!same_path("a/b.env", "b.env"));
    }
}
