//! SARIF 2.1.0 output (via `serde-sarif`), for code-scanning UIs such as GitHub's.
//!
//! One `reportingDescriptor` per enabled rule, with the remediation as `help` (text and
//! markdown) and a `security-severity` property; one result per finding with a physical location
//! relative to the scan root (`uriBaseId` `%SRCROOT%`), columns in Unicode code points, and
//! `partialFingerprints.secretId/v1` = the finding's `secret_id`, so every place of one secret
//! shares its fingerprint.

use std::{
    collections::{BTreeMap, HashMap},
    io::{self, Write},
};

use serde_sarif::sarif::{
    ArtifactLocation, Invocation, Location, Message, MultiformatMessageString, PhysicalLocation,
    PropertyBag, Region, ReportingConfiguration, ReportingDescriptor, Result as SarifResult,
    ResultLevel, Run, Sarif, Tool, ToolComponent,
};

use super::{Report, Reporter, shown_secret};
use crate::rules::{Rule, Severity};

/// The URI base id of result locations.
pub const SRCROOT: &str = "%SRCROOT%";

pub(super) struct SarifReporter;

fn level(s: Severity) -> ResultLevel {
    match s {
        Severity::Critical | Severity::High => ResultLevel::Error,
        Severity::Medium => ResultLevel::Warning,
        Severity::Low => ResultLevel::Note,
    }
}

/// GitHub's `security-severity` score (0-10) for a severity.
fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
    }
}

fn help(rule: &Rule) -> MultiformatMessageString {
    let r = &rule.remediation;
    let mut text = format!("Revoke: {}\n\nRotate: {}", r.revoke, r.rotate);
    let mut md = format!(
        "**{}** ({})\n\n**Revoke:** {}\n\n**Rotate:** {}\n",
        rule.name, rule.provider, r.revoke, r.rotate
    );
    if !r.references.is_empty() {
        text.push_str("\n\nReferences:");
        md.push_str("\n**References:**\n");
        for url in &r.references {
            text.push_str(&format!("\n- {url}"));
            md.push_str(&format!("\n- <{url}>"));
        }
    }
    MultiformatMessageString::builder()
        .text(text)
        .markdown(md)
        .build()
}

fn descriptor(rule: &Rule) -> ReportingDescriptor {
    let mut props = BTreeMap::new();
    props.insert(
        "security-severity".to_owned(),
        serde_json::json!(security_severity(rule.severity)),
    );
    props.insert(
        "severity".to_owned(),
        serde_json::json!(rule.severity.as_str()),
    );
    props.insert("provider".to_owned(), serde_json::json!(rule.provider));
    props.insert("class".to_owned(), serde_json::json!(rule.class.as_str()));
    let bag = PropertyBag::builder()
        .tags(vec!["security".to_owned(), "secret".to_owned()])
        .additional_properties(props)
        .build();
    let short = MultiformatMessageString::builder()
        .text(rule.name.clone())
        .build();
    let builder = ReportingDescriptor::builder()
        .id(rule.id.clone())
        .name(rule.id.replace(['.', '-', '_'], " "))
        .short_description(short)
        .help(help(rule))
        .default_configuration(
            ReportingConfiguration::builder()
                .level(serde_json::json!(level_str(rule.severity)))
                .build(),
        )
        .properties(bag);
    match rule.remediation.references.first() {
        Some(url) => builder.help_uri(url.clone()).build(),
        None => builder.build(),
    }
}

fn level_str(s: Severity) -> &'static str {
    match level(s) {
        ResultLevel::Error => "error",
        ResultLevel::Warning => "warning",
        ResultLevel::Note => "note",
        ResultLevel::None => "none",
    }
}

/// Percent-encodes a relative path for use as a URI reference (keeps `/` and unreserved bytes).
fn encode_path(path: &str) -> String {
    let mut s = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

/// The finding's path relative to the scan root (lexically), as a URI reference; in
/// organization reports, `repository/path`.
fn uri_of(report: &Report<'_>, f: &crate::finding::Finding) -> String {
    if let Some(repo) = f.git.as_ref().and_then(|g| g.repository.as_deref()) {
        return encode_path(&format!("{repo}/{}", f.origin.relative()));
    }
    if let (Some(root), Some(cwd)) = (&report.root, &report.cwd)
        && let Ok(rel) = cwd.join(f.origin.display()).strip_prefix(root)
    {
        return encode_path(&rel.to_string_lossy().replace('\\', "/"));
    }
    encode_path(f.origin.relative())
}

impl Reporter for SarifReporter {
    fn render(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let rules = report.rules.rules();
        let index: HashMap<&str, usize> = rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.as_str(), i))
            .collect();
        // Why: results are written one at a time below, so that memory holds one result, not
        // all of them (500,000 results built at once took 3.2 GB).
        let results = report.findings.iter().map(|f| {
            let region = Region::builder()
                .start_line(f.region.line as i64)
                .start_column(f.region.column as i64)
                .end_line(f.region.end_line as i64)
                .end_column(f.region.end_column as i64)
                .build();
            let artifact = ArtifactLocation::builder()
                .uri(uri_of(report, f))
                .uri_base_id(SRCROOT.to_owned())
                .build();
            let location = Location::builder()
                .physical_location(
                    PhysicalLocation::builder()
                        .artifact_location(artifact)
                        .region(region)
                        .build(),
                )
                .build();
            let mut text = format!(
                "{} found: {} (confidence {}, {}). Revoke it first, then rotate: {}",
                f.rule_name,
                shown_secret(f, report.show_secrets),
                f.confidence.as_str(),
                f.validation.as_str(),
                f.remediation.revoke.lines().next().unwrap_or("").trim()
            );
            if let Some(chain) = f.decode_chain() {
                text.push_str(&format!(" (found encoded: {chain})"));
            }
            if let Some(c) = f.git.as_ref().and_then(|g| g.commit.as_ref()) {
                text.push_str(&format!(
                    " (introduced in commit {} by {} on {})",
                    c.id, c.author, c.date
                ));
            }
            if let Some(ci) = &f.ci {
                text = format!("{}: {}", f.rule_name, ci.detail);
                if let Some(job) = &ci.job {
                    text.push_str(&format!(" (job {job}"));
                    if let Some(step) = &ci.step {
                        text.push_str(&format!(", step {step}"));
                    }
                    text.push(')');
                }
            }
            if let Some(note) = f.note {
                text.push(' ');
                text.push_str(note);
            }
            if let Some(v) = &f.verification {
                text.push_str(&format!(
                    " Live check: {}.",
                    super::text::verification_line(v)
                ));
            }
            let mut fingerprints = BTreeMap::new();
            fingerprints.insert("secretId/v1".to_owned(), f.secret_id.clone());
            let mut props = BTreeMap::new();
            if let Some(ci) = &f.ci {
                props.insert("ci_system".to_owned(), serde_json::json!(ci.system));
                props.insert("job".to_owned(), serde_json::json!(ci.job));
                props.insert("step".to_owned(), serde_json::json!(ci.step));
            }
            props.insert("secret_id".to_owned(), serde_json::json!(f.secret_id));
            props.insert(
                "severity".to_owned(),
                serde_json::json!(f.severity.as_str()),
            );
            props.insert(
                "validation".to_owned(),
                serde_json::json!(f.validation.as_str()),
            );
            props.insert(
                "confidence".to_owned(),
                serde_json::json!(f.confidence.as_str()),
            );
            for (k, v) in &f.details {
                props.insert((*k).to_owned(), serde_json::json!(v));
            }
            if !f.decoded.is_empty() {
                props.insert("decoded".to_owned(), serde_json::json!(f.decoded));
            }
            if let Some(v) = &f.verification {
                props.insert("verification".to_owned(), serde_json::json!(v.as_ref()));
            }
            if let Some(g) = &f.git {
                if let Some(repo) = &g.repository {
                    props.insert("repository".to_owned(), serde_json::json!(repo.as_ref()));
                }
                props.insert("blob".to_owned(), serde_json::json!(g.blob));
                if let Some(c) = &g.commit {
                    props.insert("commit".to_owned(), serde_json::json!(c.id));
                    props.insert("author".to_owned(), serde_json::json!(c.author));
                    props.insert("date".to_owned(), serde_json::json!(c.date));
                }
                if let Some(in_head) = g.in_head {
                    props.insert("in_head".to_owned(), serde_json::json!(in_head));
                }
            }
            let builder = SarifResult::builder()
                .rule_id(f.rule_id.clone())
                .level(level(f.severity))
                .message(Message::builder().text(text).build())
                .locations(vec![location])
                .partial_fingerprints(fingerprints)
                .properties(PropertyBag::builder().additional_properties(props).build());
            match index.get(f.rule_id.as_str()) {
                Some(&i) => builder.rule_index(i as i64).build(),
                None => builder.build(),
            }
        });
        let driver = ToolComponent::builder()
            .name("leakhound".to_owned())
            .version(env!("CARGO_PKG_VERSION").to_owned())
            .information_uri("https://github.com/leakhound/leakhound".to_owned())
            .rules(rules.iter().map(descriptor).collect::<Vec<_>>())
            .build();
        let invocation = Invocation::builder()
            .execution_successful(report.stats.errors == 0)
            .build();
        let mut run = Run::builder()
            .tool(Tool::builder().driver(driver).build())
            .results(Vec::<SarifResult>::new())
            .invocations(vec![invocation])
            .column_kind(serde_json::json!("unicodeCodePoints"))
            .build();
        if let Some(root) = &report.root {
            let mut uri = format!(
                "file://{}",
                encode_path(&root.to_string_lossy().replace('\\', "/"))
            );
            if !uri.ends_with('/') {
                uri.push('/');
            }
            let mut bases = BTreeMap::new();
            bases.insert(
                SRCROOT.to_owned(),
                ArtifactLocation::builder().uri(uri).build(),
            );
            run.original_uri_base_ids = Some(bases);
        }
        let sarif = Sarif::builder()
            .schema("https://json.schemastore.org/sarif-2.1.0.json".to_owned())
            .version(serde_json::json!("2.1.0"))
            .runs(vec![run])
            .build();
        let skeleton = serde_json::to_string_pretty(&sarif)?;
        let (head, tail) = skeleton
            .split_once(EMPTY_RESULTS)
            .expect("a run with no results serializes its empty results array");
        out.write_all(head.as_bytes())?;
        out.write_all(b"\"results\": [")?;
        for (i, r) in results.enumerate() {
            out.write_all(if i == 0 { b"\n" } else { b",\n" })?;
            serde_json::to_writer(&mut *out, &r)?;
        }
        out.write_all(b"]")?;
        out.write_all(tail.as_bytes())?;
        out.write_all(b"\n")
    }
}

/// How the empty results array of the skeleton document serializes.
const EMPTY_RESULTS: &str = "\"results\": []";

#[cfg(test)]
mod tests {
    use super::encode_path;

    #[test]
    fn encodes_spaces_and_keeps_slashes() {
        assert_eq!(encode_path("a dir/b#1.yml"), "a%20dir/b%231.yml");
    }
}
