//! Reporters: render a finished scan. One implementation per format behind [`Reporter`];
//! reporters write to the `Write` handed to them and never decide what is a finding.

mod annotations;
mod gitlab;
mod html;
mod json;
mod markdown;
pub mod read;
mod sarif;
mod text;

use std::io::{self, Write};

use crate::{
    finding::Finding,
    pipeline::Stats,
    rules::{RuleSet, Severity},
};

pub use gitlab::GITLAB_SCHEMA_VERSION;
pub use json::{JsonFinding, JsonPlace, JsonReport, JsonSecretFields, SCHEMA_VERSION};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Grouped by file, for people.
    Text,
    /// One JSON document: `{version, findings, stats}`.
    Json,
    /// One finding per line.
    Jsonl,
    /// SARIF 2.1.0.
    Sarif,
    /// A Markdown report for the owning team: one section per secret with its playbook.
    Markdown,
    /// GitHub Actions workflow-command annotations.
    Github,
    /// GitLab secret-detection report JSON.
    Gitlab,
    /// One self-contained HTML page: charts, a sortable and filterable table of secrets, and
    /// each secret's places and playbook. Loads nothing from the network.
    Html,
}

/// Everything a reporter may show.
#[derive(Debug)]
pub struct Report<'a> {
    /// Findings, sorted.
    pub findings: &'a [Finding],
    /// Counters.
    pub stats: &'a Stats,
    /// The rules that ran (SARIF lists them).
    pub rules: &'a RuleSet,
    /// Show secret values instead of the redacted form.
    pub show_secrets: bool,
    /// Use ANSI colours (text only).
    pub color: bool,
    /// Absolute scan root, if known: SARIF locations are relative to it.
    pub root: Option<std::path::PathBuf>,
    /// The working directory that relative paths in findings are relative to.
    pub cwd: Option<std::path::PathBuf>,
    /// JSON/JSONL: one record per secret.
    pub group: bool,
}

/// Renders a report in one format.
pub trait Reporter {
    /// Writes the whole report.
    fn render(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()>;
}

/// The reporter for a format.
pub fn reporter(format: Format) -> Box<dyn Reporter> {
    match format {
        Format::Text => Box::new(text::TextReporter),
        Format::Json => Box::new(json::JsonReporter { lines: false }),
        Format::Jsonl => Box::new(json::JsonReporter { lines: true }),
        Format::Sarif => Box::new(sarif::SarifReporter),
        Format::Markdown => Box::new(markdown::MarkdownReporter),
        Format::Github => Box::new(annotations::GithubReporter),
        Format::Gitlab => Box::new(gitlab::GitlabReporter),
        Format::Html => Box::new(html::HtmlReporter),
    }
}

/// All the places of one secret (same `secret_id`).
#[derive(Debug)]
pub struct SecretGroup<'a> {
    /// The first place (by path, line); rule, secret and remediation are shared by all.
    pub first: &'a Finding,
    /// Every place, sorted.
    pub places: Vec<&'a Finding>,
}

/// Groups findings by secret: most severe first, then by rule and first place.
pub fn group(findings: &[Finding]) -> Vec<SecretGroup<'_>> {
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut groups: Vec<SecretGroup<'_>> = Vec::new();
    for f in findings {
        match index.get(f.secret_id.as_str()) {
            Some(&i) => groups[i].places.push(f),
            None => {
                index.insert(&f.secret_id, groups.len());
                groups.push(SecretGroup {
                    first: f,
                    places: vec![f],
                });
            }
        }
    }
    groups.sort_by(|a, b| {
        (
            std::cmp::Reverse(a.first.severity),
            &a.first.rule_id,
            a.first.origin.display(),
        )
            .cmp(&(
                std::cmp::Reverse(b.first.severity),
                &b.first.rule_id,
                b.first.origin.display(),
            ))
    });
    groups
}

/// The secret as a report shows it.
pub(crate) fn shown_secret(f: &Finding, show: bool) -> String {
    if show {
        f.secret.expose().to_owned()
    } else {
        f.secret.redacted()
    }
}

/// Text from scanned data made safe for a terminal: every control character (C0, DEL, C1)
/// is shown escaped (`\x1b`, `\u{9b}`), so that a path or a commit message cannot move the
/// cursor, retitle the window or hide text.
///
/// ```
/// use leakhound::report::escape_control;
/// assert_eq!(escape_control("x\u{1b}]0;pwned\u{7}.env"), "x\\x1b]0;pwned\\x07.env");
/// assert_eq!(escape_control("plain/path.rs"), "plain/path.rs");
/// ```
pub fn escape_control(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if u32::from(c) < 0x80 && c.is_control() => {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            }
            c if c.is_control() => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// `1 secret`, `2 secrets`.
pub(crate) fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// A human-readable byte count.
///
/// ```
/// use leakhound::report::human_bytes;
/// assert_eq!(human_bytes(512), "512 B");
/// assert_eq!(human_bytes(3 * 1024 * 1024 + 400 * 1024), "3.4 MiB");
/// ```
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

/// The one-line summary: findings by severity, distinct secrets, files; what was scanned,
/// skipped and failed.
pub fn summary_line(report: &Report<'_>) -> String {
    let mut paths: Vec<&str> = report.findings.iter().map(|f| f.origin.display()).collect();
    paths.dedup();
    let files_with_findings = paths.len();
    let st = report.stats;
    let found = if report.findings.is_empty() {
        "No secrets found".to_owned()
    } else {
        let mut by_sev: Vec<String> = Vec::new();
        for sev in [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
        ] {
            let n = report.findings.iter().filter(|f| f.severity == sev).count();
            if n > 0 {
                by_sev.push(format!("{n} {}", sev.as_str()));
            }
        }
        let mut distinct: Vec<&str> = report
            .findings
            .iter()
            .map(|f| f.secret_id.as_str())
            .collect();
        distinct.sort_unstable();
        distinct.dedup();
        format!(
            "{} ({}; {}) in {}",
            plural(report.findings.len(), "finding", "findings"),
            by_sev.join(", "),
            plural(distinct.len(), "distinct secret", "distinct secrets"),
            plural(files_with_findings, "file", "files"),
        )
    };
    let mut parts = vec![
        found,
        format!(
            "scanned {} ({}) in {} ms",
            plural(st.files as usize, "file", "files"),
            human_bytes(st.bytes),
            st.duration_ms
        ),
    ];
    if st.skipped > 0 {
        let kinds: Vec<String> = ["binary", "too_large", "excluded"]
            .iter()
            .filter_map(|k| {
                st.by_kind
                    .get(*k)
                    .map(|n| format!("{n} {}", k.replace('_', " ")))
            })
            .collect();
        parts.push(format!("skipped {} ({})", st.skipped, kinds.join(", ")));
    }
    if st.warnings > 0 {
        parts.push(plural(st.warnings as usize, "warning", "warnings"));
    }
    if let Some(v) = &st.verification {
        let mut line = format!(
            "verified {}: {} active, {} inactive, {} unknown",
            plural(
                (v.active + v.inactive + v.unknown) as usize,
                "distinct secret",
                "distinct secrets"
            ),
            v.active,
            v.inactive,
            v.unknown
        );
        if v.cached > 0 {
            line.push_str(&format!(" ({} from the store's cache)", v.cached));
        }
        let by: Vec<String> = v.requests.iter().map(|(p, n)| format!("{p} {n}")).collect();
        line.push_str(&format!(
            "; {}",
            plural(v.total_requests() as usize, "request", "requests")
        ));
        if !by.is_empty() {
            line.push_str(&format!(" ({})", by.join(", ")));
        }
        parts.push(line);
    }
    if st.unverified_hidden > 0 {
        parts.push(format!(
            "{} not confirmed active hidden (--only-verified)",
            plural(st.unverified_hidden as usize, "finding", "findings")
        ));
    }
    let sup = st.suppressed;
    if sup.total() > 0 {
        let mut by: Vec<String> = Vec::new();
        for (n, what) in [
            (sup.inline, "inline"),
            (sup.ignore, "ignore file"),
            (sup.baseline, "baseline"),
            (sup.allowlist, "allowlist"),
        ] {
            if n > 0 {
                by.push(format!("{n} {what}"));
            }
        }
        parts.push(format!("{} suppressed ({})", sup.total(), by.join(", ")));
    }
    if st.below_confidence > 0 {
        parts.push(format!(
            "{} hidden below the confidence threshold (--min-confidence low shows them)",
            plural(
                st.below_confidence as usize,
                "low-confidence finding",
                "low-confidence findings"
            )
        ));
    }
    parts.push(plural(st.errors as usize, "error", "errors"));
    parts.join("; ")
}
