//! `--format github`: GitHub Actions workflow commands (`::error file=…,line=…::…`), so plain
//! workflow logs and pull request diffs show each finding where it is.

use std::io::{self, Write};

use super::{Report, Reporter, escape_control, shown_secret, summary_line};
use crate::rules::Severity;

pub(super) struct GithubReporter;

/// Encodes text for a workflow command the way GitHub's runner decodes it (`%` as `%25`, CR as
/// `%0D`, LF as `%0A`, and in a property also `:` as `%3A` and `,` as `%2C`), and shows every
/// other control character escaped (`\x1b`, `\u{9b}`): an escape sequence in a scanned path or
/// commit message must neither reach the log raw nor start a workflow command of its own.
fn encode(s: &str, in_property: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' if in_property => out.push_str("%3A"),
            ',' if in_property => out.push_str("%2C"),
            c if c.is_control() => out.push_str(&escape_control(&c.to_string())),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a workflow-command property value.
fn property(s: &str) -> String {
    encode(s, true)
}

/// Escapes a workflow-command message.
fn message(s: &str) -> String {
    encode(s, false)
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

    #[test]
    fn shows_every_other_control_character_escaped() {
        assert_eq!(
            property("x\u{1b}]0;pwned\u{7}.env"),
            "x\\x1b]0;pwned\\x07.env"
        );
        assert_eq!(message("a\tb\u{9b}c\r\n"), "a\\x09b\\u{9b}c%0D%0A");
        assert_eq!(
            message("a\n::warning file=x::forged"),
            "a%0A::warning file=x::forged"
        );
        let all: String = (0u32..0xa0).filter_map(char::from_u32).collect();
        assert!(!message(&all).chars().any(char::is_control));
        assert!(!property(&all).chars().any(char::is_control));
    }
}
