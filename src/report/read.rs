//! Reading a saved report back: the JSON or JSONL that any scan writes (plain or `--group`)
//! becomes findings again, so that `leakhound report --from` can filter and re-render it
//! without the sources.
//!
//! What a report holds is what comes back: a redacted secret stays redacted (its `secret_id`
//! still identifies it, so baselines and `--group` work), notes come back when they are
//! leakhound's own, and the stats keep the original scan's counts of files and bytes.

use std::{collections::BTreeMap, sync::Arc};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::{
    finding::{
        CiContext, CommitMeta, Encoding, Finding, GitProvenance, ImageProvenance, Origin, Region,
    },
    pipeline::Stats,
    rules::Remediation,
    secret::Secret,
};

/// A report that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("{place}: {message}")]
pub struct ReadError {
    /// Where: `line N` of a JSONL file, or `finding N` of a JSON document.
    pub place: String,
    /// What is wrong.
    pub message: String,
}

/// The findings and stats of a JSON document or JSONL file.
pub fn read(text: &str) -> Result<(Vec<Finding>, Stats), ReadError> {
    let trimmed = text.trim_start();
    let mut findings = Vec::new();
    let mut stats = Stats::default();
    // Why: a JSON document starts with `{"version"`; a JSONL file is one record per line
    // (and a one-finding JSONL file is also one JSON object, so look for the fields).
    let document = serde_json::from_str::<Value>(trimmed)
        .ok()
        .filter(|v| v.get("findings").is_some());
    match document {
        Some(doc) => {
            if let Some(v) = doc.get("version").and_then(Value::as_str)
                && v != super::SCHEMA_VERSION
            {
                return Err(ReadError {
                    place: "version".into(),
                    message: format!(
                        "report version {v:?}; this leakhound reads version {:?}",
                        super::SCHEMA_VERSION
                    ),
                });
            }
            let records = doc["findings"].as_array().ok_or_else(|| ReadError {
                place: "findings".into(),
                message: "not an array".into(),
            })?;
            for (i, r) in records.iter().enumerate() {
                record(r, &mut findings).map_err(|message| ReadError {
                    place: format!("finding {}", i + 1),
                    message,
                })?;
            }
            if let Some(s) = doc.get("stats") {
                let count = |k: &str| s.get(k).and_then(Value::as_u64).unwrap_or(0);
                stats.files = count("files");
                stats.bytes = count("bytes");
                stats.skipped = count("skipped");
                stats.errors = count("errors");
                stats.warnings = count("warnings");
                stats.duration_ms = count("duration_ms");
                stats.commits = s.get("commits").and_then(Value::as_u64);
            }
        }
        None => {
            for (i, line) in text.lines().enumerate() {
                if line.trim().is_empty() {
                    continue;
                }
                let place = || format!("line {}", i + 1);
                let v: Value = serde_json::from_str(line).map_err(|e| ReadError {
                    place: place(),
                    message: format!("not JSON: {e}"),
                })?;
                record(&v, &mut findings).map_err(|message| ReadError {
                    place: place(),
                    message,
                })?;
            }
        }
    }
    Ok((findings, stats))
}

/// One record: a finding, or a secret with its `locations`.
fn record(v: &Value, out: &mut Vec<Finding>) -> Result<(), String> {
    match v.get("locations").and_then(Value::as_array) {
        Some(places) => {
            for p in places {
                out.push(finding(v, p)?);
            }
            Ok(())
        }
        None => {
            out.push(finding(v, v)?);
            Ok(())
        }
    }
}

fn text<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
    v.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("no {key:?} (a leakhound JSON or JSONL report is needed)"))
}

fn opt(v: &Value, key: &str) -> Option<String> {
    v.get(key).and_then(Value::as_str).map(str::to_owned)
}

fn parse<T: DeserializeOwned>(v: &Value, key: &str) -> Result<T, String> {
    serde_json::from_value(v.get(key).cloned().unwrap_or(Value::Null))
        .map_err(|e| format!("{key:?}: {e}"))
}

fn count(v: &Value, key: &str) -> usize {
    v.get(key)
        .and_then(Value::as_u64)
        .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
}

/// The finding of a secret's fields `s` at place `p` (the same object for a plain finding).
fn finding(s: &Value, p: &Value) -> Result<Finding, String> {
    let rule_id = text(s, "rule_id")?.to_owned();
    let secret_id = text(s, "secret_id")?.to_owned();
    let shown = text(s, "secret")?;
    // Why: the value is only known when the report showed it; its id says whether it did.
    let secret = if Secret::new(shown.as_bytes()).id(&rule_id) == secret_id {
        Secret::new(shown.as_bytes())
    } else {
        Secret::withheld(shown)
    };
    let path = text(p, "path")?.to_owned();
    let repository = opt(p, "repository").map(Arc::<str>::from);
    let commit = opt(p, "commit").map(|id| {
        Arc::new(CommitMeta {
            id,
            author: opt(p, "author").unwrap_or_default(),
            email: opt(p, "email").unwrap_or_default(),
            date: opt(p, "date").unwrap_or_default(),
            summary: opt(p, "summary").unwrap_or_default(),
        })
    });
    let blob = opt(p, "blob");
    let git = (commit.is_some() || blob.is_some() || repository.is_some()).then(|| GitProvenance {
        commit,
        blob: blob.unwrap_or_default(),
        in_head: p.get("in_head").and_then(Value::as_bool),
        repository: repository.clone(),
    });
    let image = opt(p, "image").map(|image| {
        Arc::new(ImageProvenance {
            image,
            image_digest: opt(p, "image_digest"),
            layer_index: p
                .get("layer_index")
                .and_then(Value::as_u64)
                .and_then(|n| usize::try_from(n).ok()),
            layer_digest: opt(p, "layer_digest"),
            created_by: opt(p, "created_by"),
            deleted_in_final_image: p
                .get("deleted_in_final_image")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    });
    let ci = opt(p, "ci_system").map(|system| {
        Box::new(CiContext {
            system: crate::ci::System::from_name(&system).map_or("unknown", |s| s.as_str()),
            job: opt(p, "job"),
            step: opt(p, "step"),
            detail: opt(p, "detail").unwrap_or_default(),
        })
    });
    let details = s
        .get("details")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| {
                    Some((
                        crate::detect::validate::detail_key(k)?,
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    let decoded = p
        .get("decoded")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().and_then(Encoding::parse))
                .collect()
        })
        .unwrap_or_default();
    let note = s.get("note").and_then(Value::as_str).and_then(known_note);
    let remediation: Remediation = parse(s, "remediation")?;
    Ok(Finding {
        rule_name: text(s, "rule_name")?.to_owned(),
        provider: text(s, "provider")?.to_owned(),
        severity: parse(s, "severity")?,
        class: parse(s, "class")?,
        origin: if repository.is_some() {
            Origin::File {
                path: format!("{}:{path}", repository.as_deref().unwrap_or_default()),
                relative: path,
            }
        } else if path == "<stdin>" {
            Origin::Stdin
        } else {
            Origin::relative_file(path)
        },
        region: Region {
            line: count(p, "line"),
            column: count(p, "column"),
            end_line: count(p, "end_line"),
            end_column: count(p, "end_column"),
        },
        secret,
        secret_id,
        remediation: Arc::new(remediation),
        git,
        note,
        validation: parse(s, "validation")?,
        confidence: parse(s, "confidence")?,
        details,
        ci,
        image,
        decoded,
        companion: None,
        verification: s
            .get("verification")
            .filter(|v| !v.is_null())
            .map(|v| serde_json::from_value(v.clone()).map(Arc::new))
            .transpose()
            .map_err(|e| format!("\"verification\": {e}"))?,
        allow_commits: Vec::new(),
        rule_id,
    })
}

/// leakhound's notes, by text (a report holds them as text; findings hold the constants).
fn known_note(text: &str) -> Option<&'static str> {
    [
        crate::finding::REMOVED_NOTE,
        crate::finding::CI_NOTE,
        crate::pipeline::image::IMAGE_NOTE,
    ]
    .into_iter()
    .find(|n| *n == text)
}

/// Counts of findings by rule, as `stats.by_rule` holds them.
pub fn by_rule(findings: &[Finding]) -> BTreeMap<String, u64> {
    let mut out = BTreeMap::new();
    for f in findings {
        *out.entry(f.rule_id.clone()).or_default() += 1;
    }
    out
}
