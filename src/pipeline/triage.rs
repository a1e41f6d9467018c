//! Decisions made after the walk, over all findings of a scan: repetition and the confidence
//! threshold.
//!
//! A generic secret seen in many files of one scan is data, not a leak: the same value under
//! the same key in dozens of files is a generated schema map, a shared fixture or a vendored
//! copy of one example (see [`crate::detect::context`]). Deciding that needs the whole scan, so
//! it is done here, over the findings already held for the report: memory grows with the
//! number of findings of contextual rules, not with the input.

use std::collections::{HashMap, HashSet};

use crate::{detect::validate::Confidence, finding::Finding, rules::RuleSet};

/// A contextual rule's secret found in at least this many distinct files is data.
pub const REPEATED_FILES: usize = 4;

/// Lowers repeated generic secrets to low confidence, then removes the findings below `min`.
/// Returns how many were removed.
pub fn triage(findings: &mut Vec<Finding>, rules: &RuleSet, min: Confidence) -> u64 {
    let contextual: HashSet<&str> = rules
        .rules()
        .iter()
        .filter(|r| r.context.is_some())
        .map(|r| r.id.as_str())
        .collect();
    let mut files: HashMap<&str, HashSet<(Option<&str>, &str)>> = HashMap::new();
    for f in findings.iter() {
        if contextual.contains(f.rule_id.as_str()) {
            let repo = f.git.as_ref().and_then(|g| g.repository.as_deref());
            files
                .entry(f.secret_id.as_str())
                .or_default()
                .insert((repo, f.origin.display()));
        }
    }
    let repeated: HashSet<String> = files
        .into_iter()
        .filter(|(_, places)| places.len() >= REPEATED_FILES)
        .map(|(id, _)| id.to_owned())
        .collect();
    for f in findings.iter_mut() {
        if repeated.contains(&f.secret_id) {
            f.confidence = Confidence::Low;
        }
    }
    let before = findings.len();
    findings.retain(|f| f.confidence >= min);
    (before - findings.len()) as u64
}
