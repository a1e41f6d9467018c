//! `rules check`: lint rule files and run every example through the whole analysis (every
//! pass, decoding included), as a scan would.

use std::{path::Path, sync::Arc};

use super::{Analyzer, Blob, Settings};
use crate::{
    detect::Detector,
    rules::{RuleSet, check_pattern, rule_files},
};

/// One problem found by the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The rule file.
    pub source: String,
    /// The rule, if the problem is about one.
    pub rule_id: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.rule_id {
            Some(id) => write!(f, "{}: {id}: {}", self.source, self.message),
            None => write!(f, "{}: {}", self.source, self.message),
        }
    }
}

/// The outcome of a check.
#[derive(Debug, Default)]
pub struct CheckReport {
    /// Rules that loaded.
    pub rules: usize,
    /// Examples and negative examples run.
    pub examples: usize,
    /// Problems, in file order.
    pub problems: Vec<Problem>,
}

/// Loads rule files (files or directories) one by one, recording load errors as problems, then
/// checks the rules that loaded.
pub fn check_paths(paths: &[&Path]) -> CheckReport {
    let mut set = RuleSet::default();
    let mut load_problems = Vec::new();
    for path in paths {
        let files = match rule_files(path) {
            Ok(f) => f,
            Err(e) => {
                load_problems.push(Problem {
                    source: path.display().to_string(),
                    rule_id: None,
                    message: format!("{e:#}"),
                });
                continue;
            }
        };
        for file in files {
            if let Err(e) = set.add_path(&file) {
                load_problems.push(Problem {
                    source: file.display().to_string(),
                    rule_id: None,
                    message: error_chain(&e),
                });
            }
        }
    }
    let mut report = check_set(Arc::new(set));
    load_problems.append(&mut report.problems);
    report.problems = load_problems;
    report
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Checks a loaded rule set: examples present, every example found by its rule through the
/// whole detector (prefilter, windows, regex, entropy, filters), no negative example found.
pub fn check_set(set: Arc<RuleSet>) -> CheckReport {
    let analyzer = Analyzer::new(Detector::new(Arc::clone(&set)), Settings::default());
    let detector = analyzer.detector();
    let mut work = analyzer.workspace();
    let mut report = CheckReport {
        rules: set.len(),
        ..CheckReport::default()
    };
    // Why: a user's rule file may supersede a built-in rule.
    let builtin = RuleSet::builtin().ok();
    for (index, rule) in set.rules().iter().enumerate() {
        let problem = |message: String| Problem {
            source: rule.source.clone(),
            rule_id: Some(rule.id.clone()),
            message,
        };
        if let Err(message) = check_pattern(&rule.pattern) {
            report.problems.push(problem(message));
            continue;
        }
        if let Some(Err(message)) = rule.paths.as_ref().map(|p| p.check()) {
            report.problems.push(problem(format!("paths: {message}")));
        }
        if let Some(c) = rule.verify.as_ref().and_then(|v| v.companion.as_ref())
            && let Err(message) = c.check()
        {
            report.problems.push(problem(format!("verify: {message}")));
        }
        for id in &rule.supersedes {
            let known = |s: &RuleSet| s.rules().iter().any(|r| &r.id == id);
            if !known(&set) && !builtin.as_ref().is_some_and(known) {
                report
                    .problems
                    .push(problem(format!("supersedes unknown rule id {id:?}")));
            }
        }
        if rule.examples.is_empty() {
            report.problems.push(problem("has no examples".into()));
        }
        if rule.negative_examples.is_empty() {
            report
                .problems
                .push(problem("has no negative_examples".into()));
        }
        let paths: Vec<&str> = rule.example_path.as_deref().into_iter().collect();
        let mut run = |text: &str| -> Vec<usize> {
            // Why: a binary rule's examples are binary files; YAML cannot hold raw bytes, so
            // each character up to U+00FF stands for one byte ("\xFE\xED\xFE\xED").
            let bytes: Vec<u8> = if rule.binary {
                text.chars()
                    .map(|c| u8::try_from(u32::from(c)).unwrap_or(b'?'))
                    .collect()
            } else {
                text.as_bytes().to_vec()
            };
            let blob = Blob {
                bytes: &bytes,
                paths: &paths,
            };
            analyzer
                .analyze(blob, &mut work)
                .located
                .iter()
            // Why: examples are judged as a default scan reports them.
            .filter(|l| l.confidence >= crate::config::DEFAULT_MIN_CONFIDENCE)
            .map(|l| l.rule)
            .collect()
        };
        for (i, example) in rule.examples.iter().enumerate() {
            report.examples += 1;
            let found = run(example);
            if !found.contains(&index) {
                let others: Vec<&str> = found
                    .iter()
                    .map(|&r| detector.rule(r).id.as_str())
                    .collect();
                let note = if others.is_empty() {
                    String::new()
                } else {
                    format!(" (found instead: {})", others.join(", "))
                };
                report.problems.push(problem(format!(
                    "example {i} produces no finding of this rule{note}"
                )));
            }
        }
        for (i, example) in rule.negative_examples.iter().enumerate() {
            report.examples += 1;
            if run(example).contains(&index) {
                report.problems.push(problem(format!(
                    "negative example {i} produces a finding of this rule"
                )));
            }
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn superseding_an_unknown_rule_is_a_problem() {
        let yaml = r#"
provider: Test
remediation: { revoke: "revoke it", rotate: "rotate it" }
rules:
  - id: test.token
    name: Test token
    keywords: [ttk_]
    pattern: '\b(ttk_[a-z0-9]{8})\b'
    severity: high
    supersedes: [stripe.secret-key, nope.unknown]
    examples: ['t = ttk_a1b2c3d4']
    negative_examples: ['ttk_']
"#;
        let mut set = RuleSet::default();
        set.add_text("t.yml", yaml, true).unwrap();
        let report = check_set(Arc::new(set));
        let messages: Vec<&str> = report.problems.iter().map(|p| p.message.as_str()).collect();
        // a built-in id is known; an id nowhere is reported
        assert_eq!(messages, ["supersedes unknown rule id \"nope.unknown\""]);
    }
}
