//! [`Finding`]: one secret at one place, owned, redacted, with line/column and remediation.

use std::sync::Arc;

use crate::{
    detect::{Detector, Match, location::Locator},
    rules::{Remediation, Severity},
    secret::Secret,
};

/// Where an input came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A file on disk.
    File {
        /// The path as shown to the user (the input as given, joined with the walked path).
        path: String,
        /// The path relative to the scan root, with `/` separators (used for SARIF URIs).
        relative: String,
    },
    /// Standard input (`-`).
    Stdin,
}

impl Origin {
    /// The path as shown to the user.
    pub fn display(&self) -> &str {
        match self {
            Origin::File { path, .. } => path,
            Origin::Stdin => "<stdin>",
        }
    }

    /// The path relative to the scan root.
    pub fn relative(&self) -> &str {
        match self {
            Origin::File { relative, .. } => relative,
            Origin::Stdin => "<stdin>",
        }
    }
}

/// A 1-based region of text: start line/column to end line/column (end column exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Region {
    /// First line.
    pub line: usize,
    /// Column of the first character.
    pub column: usize,
    /// Last line.
    pub end_line: usize,
    /// Column just past the last character.
    pub end_column: usize,
}

/// One secret found at one place.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Rule id.
    pub rule_id: String,
    /// Rule name.
    pub rule_name: String,
    /// Provider name.
    pub provider: String,
    /// Severity.
    pub severity: Severity,
    /// Where the input came from.
    pub origin: Origin,
    /// Where in the input the secret is.
    pub region: Region,
    /// The secret (redacted unless exposed).
    pub secret: Secret,
    /// Stable id of rule + secret value.
    pub secret_id: String,
    /// Revoke-and-rotate guidance.
    pub remediation: Arc<Remediation>,
}

/// Turns a blob's matches (sorted by offset) into findings.
pub fn from_matches(
    detector: &Detector,
    origin: &Origin,
    input: &[u8],
    matches: &[Match],
) -> Vec<Finding> {
    let mut locator = Locator::new(input);
    matches
        .iter()
        .map(|m| {
            let rule = detector.rule(m.rule);
            let (start, end) = locator.locate_span(m.secret.0, m.secret.1);
            let secret = Secret::new(&input[m.secret.0..m.secret.1]);
            Finding {
                rule_id: rule.id.clone(),
                rule_name: rule.name.clone(),
                provider: rule.provider.clone(),
                severity: rule.severity,
                origin: origin.clone(),
                region: Region {
                    line: start.line,
                    column: start.column,
                    end_line: end.line,
                    end_column: end.column,
                },
                secret_id: secret.id(&rule.id),
                secret,
                remediation: Arc::clone(&rule.remediation),
            }
        })
        .collect()
}
