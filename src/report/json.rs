//! JSON and JSONL output.
//!
//! # Schema (version "1")
//!
//! `--format json` writes one object:
//!
//! ```json
//! {
//!   "version": "1",
//!   "tool": { "name": "leakhound", "version": "0.1.0" },
//!   "findings": [ FINDING, ... ],
//!   "stats": { "files": 12, "bytes": 40960, "skipped": 1, "errors": 0, "warnings": 0,
//!              "duration_ms": 3, "by_kind": { "binary": 1 } }
//! }
//! ```
//!
//! `--format jsonl` writes one `FINDING` per line and nothing else. A `FINDING` is:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `rule_id` | string | rule id, e.g. `github.pat-classic` |
//! | `rule_name` | string | rule name |
//! | `provider` | string | provider name |
//! | `severity` | string | `critical`, `high`, `medium` or `low` |
//! | `path` | string | the file as shown (`<stdin>` for standard input) |
//! | `line`, `column` | integer | 1-based start of the secret (columns count code points) |
//! | `end_line`, `end_column` | integer | 1-based end of the secret (column just past it) |
//! | `secret` | string | the secret, redacted (`ghp_…`) unless `--show-secrets` |
//! | `secret_id` | string | 32 hex digits identifying rule + secret value, stable across places |
//! | `remediation` | object | `revoke` (string), `rotate` (string), `references` (array of URLs) |

use std::io::{self, Write};

use serde::Serialize;

use super::{Report, Reporter, shown_secret};
use crate::{finding::Finding, pipeline::Stats, rules::Remediation};

/// The version of the JSON schema above.
pub const SCHEMA_VERSION: &str = "1";

/// One finding as serialized.
#[derive(Debug, Serialize)]
pub struct JsonFinding<'a> {
    /// Rule id.
    pub rule_id: &'a str,
    /// Rule name.
    pub rule_name: &'a str,
    /// Provider.
    pub provider: &'a str,
    /// Severity.
    pub severity: &'static str,
    /// Path as shown.
    pub path: &'a str,
    /// Start line.
    pub line: usize,
    /// Start column.
    pub column: usize,
    /// End line.
    pub end_line: usize,
    /// End column.
    pub end_column: usize,
    /// Secret, redacted unless shown.
    pub secret: String,
    /// Stable secret id.
    pub secret_id: &'a str,
    /// Remediation.
    pub remediation: &'a Remediation,
}

impl<'a> JsonFinding<'a> {
    /// The serialized view of a finding.
    pub fn new(f: &'a Finding, show_secrets: bool) -> Self {
        JsonFinding {
            rule_id: &f.rule_id,
            rule_name: &f.rule_name,
            provider: &f.provider,
            severity: f.severity.as_str(),
            path: f.origin.display(),
            line: f.region.line,
            column: f.region.column,
            end_line: f.region.end_line,
            end_column: f.region.end_column,
            secret: shown_secret(f, show_secrets),
            secret_id: &f.secret_id,
            remediation: &f.remediation,
        }
    }
}

/// The whole `--format json` document.
#[derive(Debug, Serialize)]
pub struct JsonReport<'a> {
    /// Schema version.
    pub version: &'static str,
    /// Tool name and version.
    pub tool: Tool,
    /// Findings.
    pub findings: Vec<JsonFinding<'a>>,
    /// Counters.
    pub stats: &'a Stats,
}

/// Tool name and version.
#[derive(Debug, Serialize)]
pub struct Tool {
    /// `leakhound`.
    pub name: &'static str,
    /// The crate version.
    pub version: &'static str,
}

pub(super) struct JsonReporter {
    pub(super) lines: bool,
}

impl Reporter for JsonReporter {
    fn render(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        if self.lines {
            for f in report.findings {
                serde_json::to_writer(&mut *out, &JsonFinding::new(f, report.show_secrets))?;
                out.write_all(b"\n")?;
            }
            return Ok(());
        }
        let doc = JsonReport {
            version: SCHEMA_VERSION,
            tool: Tool {
                name: env!("CARGO_PKG_NAME"),
                version: env!("CARGO_PKG_VERSION"),
            },
            findings: report
                .findings
                .iter()
                .map(|f| JsonFinding::new(f, report.show_secrets))
                .collect(),
            stats: report.stats,
        };
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        out.write_all(b"\n")
    }
}
