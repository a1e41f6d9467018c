//! `--format gitlab`: GitLab's secret-detection report (`gl-secret-detection-report.json`,
//! schema 15.x), so findings show in merge request widgets and the vulnerability report.
//! Secrets are never included: the report names the rule and the place.

use std::io::{self, Write};

use serde_json::json;
use sha2::{Digest, Sha256};

use super::{Report, Reporter};
use crate::rules::Severity;

/// The schema version this writer follows.
pub const GITLAB_SCHEMA_VERSION: &str = "15.1.4";

pub(super) struct GitlabReporter;

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "Critical",
        Severity::High => "High",
        Severity::Medium => "Medium",
        Severity::Low => "Low",
    }
}

impl Reporter for GitlabReporter {
    fn render(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let vulns: Vec<serde_json::Value> = report
            .findings
            .iter()
            .map(|f| {
                let mut h = Sha256::new();
                h.update(format!("{}\0{}\0{}", f.secret_id, f.origin.relative(), f.region.line));
                let d = h.finalize();
                let hex: String = d[..16].iter().map(|b| format!("{b:02x}")).collect();
                let id = format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]);
                let sha = f
                    .git
                    .as_ref()
                    .and_then(|g| g.commit.as_ref())
                    .map_or_else(|| "0".repeat(40), |c| c.id.clone());
                let mut description = format!("Revoke: {}\n\nRotate: {}", f.remediation.revoke, f.remediation.rotate);
                if let Some(ci) = &f.ci {
                    description = format!("{}\n\n{description}", ci.detail);
                }
                if let Some(chain) = f.decode_chain() {
                    description = format!("Found encoded ({chain}).\n\n{description}");
                }
                if let Some(v) = &f.verification {
                    description = format!("Live check: {}.\n\n{description}", super::text::verification_line(v));
                }
                json!({
                    "id": id,
                    "category": "secret_detection",
                    "name": f.rule_name,
                    "message": format!("{} ({})", f.rule_name, f.rule_id),
                    "description": description,
                    "cve": format!("{}:{}:{}", f.origin.relative(), f.rule_id, f.secret_id),
                    "severity": severity(f.severity),
                    "confidence": match f.confidence.as_str() { "high" => "High", "medium" => "Medium", _ => "Low" },
                    "solution": f.remediation.rotate,
                    "scanner": { "id": "leakhound", "name": "leakhound" },
                    "location": {
                        "file": f.origin.relative(),
                        "start_line": f.region.line,
                        "end_line": f.region.end_line,
                        "commit": { "sha": sha },
                    },
                    "identifiers": [{
                        "type": "leakhound_rule_id",
                        "name": format!("leakhound rule {}", f.rule_id),
                        "value": f.rule_id,
                    }],
                    "links": f.remediation.references.iter().map(|u| json!({ "url": u })).collect::<Vec<_>>(),
                })
            })
            .collect();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let start = now.saturating_sub(report.stats.duration_ms / 1000);
        let tool = json!({ "id": "leakhound", "name": "leakhound", "version": env!("CARGO_PKG_VERSION"), "vendor": { "name": "leakhound" } });
        let doc = json!({
            "version": GITLAB_SCHEMA_VERSION,
            "vulnerabilities": vulns,
            "scan": {
                "analyzer": tool,
                "scanner": tool,
                "type": "secret_detection",
                "start_time": crate::timestamp::utc(start),
                "end_time": crate::timestamp::utc(now),
                "status": if report.stats.errors == 0 { "success" } else { "failure" },
            },
        });
        serde_json::to_writer_pretty(&mut *out, &doc)?;
        out.write_all(b"\n")
    }
}
