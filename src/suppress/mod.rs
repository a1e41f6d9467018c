//! Suppressions: inline markers, the `.leakhoundignore` file and baselines. Each of them
//! suppresses by content (`secret_id`) or by an explicit path or line, never by position alone,
//! so a different secret added later to a suppressed line is still reported.

pub mod baseline;
pub mod ignore;
pub mod inline;

use serde::Serialize;

use crate::finding::Finding;
use baseline::Baseline;
use ignore::IgnoreFile;

/// How many findings each mechanism suppressed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Suppressed {
    /// By `leakhound:allow` markers.
    pub inline: u64,
    /// By `.leakhoundignore` entries.
    pub ignore: u64,
    /// By the baseline.
    pub baseline: u64,
    /// By a gitleaks configuration's allowlists.
    pub allowlist: u64,
}

impl Suppressed {
    /// All suppressed findings.
    pub fn total(&self) -> u64 {
        self.inline + self.ignore + self.baseline + self.allowlist
    }
}

/// The file-based suppressions of a scan.
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    /// The ignore file, if any.
    pub ignore: Option<IgnoreFile>,
    /// The baseline, if any.
    pub baseline: Option<Baseline>,
    /// A `.gitleaksignore` file, if any.
    pub gitleaks_ignore: Option<crate::gitleaks::ignore::GitleaksIgnore>,
}

impl Suppressions {
    /// Removes suppressed findings; counts them, and marks which ignore entries were used
    /// (`used` is indexed like the ignore file's entries).
    pub fn apply(
        &self,
        findings: &mut Vec<Finding>,
        counts: &mut Suppressed,
        used: &mut Vec<bool>,
    ) {
        if let Some(ignore) = &self.ignore {
            used.resize(ignore.entries.len(), false);
        }
        findings.retain(|f| {
            if !f.allow_commits.is_empty()
                && let Some(commit) = f.git.as_ref().and_then(|g| g.commit.as_ref())
                && f.allow_commits
                    .iter()
                    .any(|list| list.iter().any(|c| c.eq_ignore_ascii_case(&commit.id)))
            {
                counts.allowlist += 1;
                return false;
            }
            if self.gitleaks_ignore.as_ref().is_some_and(|g| g.matches(f)) {
                counts.ignore += 1;
                return false;
            }
            if let Some(ignore) = &self.ignore
                && let Some(i) = ignore.matching(f)
            {
                used[i] = true;
                counts.ignore += 1;
                return false;
            }
            if self
                .baseline
                .as_ref()
                .is_some_and(|b| b.contains(&f.secret_id))
            {
                counts.baseline += 1;
                return false;
            }
            true
        });
    }
}
