//! `leakhound baseline import REPORT.json`: the findings of a gitleaks (or Betterleaks) JSON
//! report as baseline entries.
//!
//! A baseline suppresses by content (`secret_id`: rule and secret value), so that it keeps
//! working when lines move. gitleaks' rule ids are not leakhound's, so each reported secret is
//! analysed again, within the `Match` text gitleaks reported (and then alone) at the reported
//! path, and every leakhound finding on the same value becomes an entry. A secret that only a
//! custom rule of the scan's gitleaks configuration finds is entered under that rule. A report
//! written with `--redact` holds no values and cannot be imported.

use serde::Deserialize;

use crate::{
    analysis::{Analyzer, Blob},
    secret::Secret,
    suppress::baseline::Baseline,
};

#[derive(Debug, Deserialize)]
struct FindingSyntax {
    #[serde(rename = "RuleID", default)]
    rule_id: String,
    #[serde(rename = "Secret", default)]
    secret: String,
    #[serde(rename = "Match", default)]
    matched: String,
    #[serde(rename = "File", default)]
    file: String,
    #[serde(rename = "StartLine", default)]
    start_line: i64,
}

/// What an import did.
#[derive(Debug, Default)]
pub struct Imported {
    /// Findings of the report.
    pub findings: usize,
    /// Entries added (one finding may give several: one per leakhound rule on its value).
    pub added: usize,
    /// Findings without a value (`--redact`).
    pub redacted: usize,
    /// Findings no rule of this scan finds again: `FILE:LINE (RULE)`.
    pub unmatched: Vec<String>,
}

/// Adds the secrets of a gitleaks JSON report (`text`) to `baseline`.
pub fn import(
    text: &str,
    analyzer: &Analyzer,
    baseline: &mut Baseline,
) -> Result<Imported, String> {
    let findings: Vec<FindingSyntax> = serde_json::from_str(text).map_err(|e| {
        format!("not a gitleaks JSON report (an array of findings with RuleID, Secret, File): {e}")
    })?;
    let mut out = Imported {
        findings: findings.len(),
        ..Imported::default()
    };
    let mut work = analyzer.workspace();
    for f in &findings {
        if f.secret.is_empty() || f.secret.contains("REDACTED") {
            out.redacted += 1;
            continue;
        }
        let paths: Vec<&str> = if f.file.is_empty() {
            Vec::new()
        } else {
            vec![f.file.as_str()]
        };
        let mut added = 0;
        for text in [f.matched.as_str(), f.secret.as_str()] {
            if text.is_empty() || added > 0 {
                continue;
            }
            let analysis = analyzer.analyze(
                Blob {
                    bytes: text.as_bytes(),
                    paths: &paths,
                },
                &mut work,
            );
            for l in &analysis.located {
                let value = l.secret.expose();
                if value.is_empty() || !(value.contains(&f.secret) || f.secret.contains(value)) {
                    continue;
                }
                let rule = analyzer.detector().rule(l.rule);
                let id = l.secret.id(&rule.id);
                if baseline.secrets.insert(id, rule.id.clone()).is_none() {
                    out.added += 1;
                }
                added += 1;
            }
        }
        if added == 0 {
            if let Some(rule) = analyzer.detector().rules().get(&f.rule_id) {
                let id = Secret::new(f.secret.as_bytes()).id(&rule.id);
                if baseline.secrets.insert(id, rule.id.clone()).is_none() {
                    out.added += 1;
                }
            } else {
                out.unmatched
                    .push(format!("{}:{} ({})", f.file, f.start_line, f.rule_id));
            }
        }
    }
    Ok(out)
}
