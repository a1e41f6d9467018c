//! `--format github`: GitHub Actions workflow commands (`::error file=…,line=…::…`), so plain
//! workflow logs and pull request diffs show each finding where it is.

use std::io::{self, Write};

use super::{Report, Reporter, shown_secret, summary_line};
use crate::rules::Severity;

pub(super) struct GithubReporter;

/// Escapes a workflow-command property value.
fn property(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(':', "%3A")
        .replace(',', "%2C")
}

/// Escapes a workflow-command message.
fn message(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

impl Reporter for GithubReporter {
    fn render(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        for f in report.findings {
            let level = match f.severity {
                Severity::Critical | Severity::High => "error",
                Severity::Medium => "warning",
                Severity::Low => "notice",
            };
            let mut text = format!(
                "{} ({}): {}",
                f.rule_name,
                f.rule_id,
                shown_secret(f, report.show_secrets)
            );
            if let Some(ci) = &f.ci {
                text.push_str(&format!(". {}", ci.detail));
            }
            if let Some(chain) = f.decode_chain() {
                text.push_str(&format!(" (found encoded: {chain})"));
            }
            if let Some(v) = &f.verification {
                text.push_str(&format!(". Live: {}", super::text::verification_line(v)));
            }
            text.push_str(&format!(
                ". Revoke: {}",
                f.remediation.revoke.lines().next().unwrap_or("")
            ));
            writeln!(
                out,
                "::{level} file={},line={},col={},endLine={},endColumn={},title={}::{}",
                property(f.origin.relative()),
                f.region.line,
                f.region.column,
                f.region.end_line,
                f.region.end_column,
                property(&format!("leakhound: {}", f.rule_id)),
                message(&text)
            )?;
        }
        writeln!(
            out,
            "::notice title=leakhound::{}",
            message(&summary_line(report))
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_per_the_workflow_command_rules() {
        assert_eq!(property("a:b,c%\n"), "a%3Ab%2Cc%25%0A");
        assert_eq!(message("50% a:b\nc"), "50%25 a:b%0Ac");
    }
}
