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
//!              "duration_ms": 3, "by_kind": { "binary": 1 }, "below_confidence": 4 }
//! }
//! ```
//!
//! `--format jsonl` writes one `FINDING` per line and nothing else. With `--group`, `findings`
//! (and each JSONL line) holds one `SECRET` per distinct `secret_id` instead: the fields of a
//! `FINDING` that belong to the secret (`rule_id`, `rule_name`, `provider`, `severity`,
//! `class`, `secret`, `secret_id`, `remediation`, `note`) plus `locations`, an array of the per-place
//! fields (`path`, `line`, `column`, `end_line`, `end_column`, `decoded`, and the git fields below).
//!
//! A `FINDING` is:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `rule_id` | string | rule id, e.g. `github.pat-classic` |
//! | `rule_name` | string | rule name |
//! | `provider` | string | provider name |
//! | `severity` | string | `critical`, `high`, `medium` or `low` |
//! | `class` | string | `credential` (opens something as it is), `hash` (a password hash: crack-able offline, names a password to change) or `keystore` (a binary key store; `secret` is then `sha256:` and the file's digest) |
//! | `path` | string | the file as shown (`<stdin>` for standard input) |
//! | `line`, `column` | integer | 1-based start of the secret (columns count code points) |
//! | `end_line`, `end_column` | integer | 1-based end of the secret (column just past it) |
//! | `secret` | string | the secret, redacted (`ghp_…`) unless `--show-secrets` |
//! | `secret_id` | string | 32 hex digits identifying rule + secret value, stable across places |
//! | `remediation` | object | the playbook: `revoke`, `rotate`, `audit` (where to look for misuse), `rotation` (period from now on), `references` (array of URLs) |
//! | `validation` | string | `checksum_valid`, `structure_valid`, `expired` or `unchecked` (offline checks; no network) |
//! | `confidence` | string | `high` (a checksum or structure verified, or a strong generic credential in a configuration file), `medium` (a specific format without a check, or a generic credential in code or configuration), `low` (a generic match in documentation, tests or examples, a weak value, a repeated value, an expired token); findings below `--min-confidence` (default `medium`) are not written |
//! | `details` | object | what the check decoded, when it decoded something: JWT `alg`, `iss`, `exp`, `expired`; key `key_type`, `bits`, `curve`, `encrypted`; `aws_account_id` |
//! | `note` | string | only when context changes the advice, e.g. a secret only in git history |
//! | `image`, `image_digest`, `layer_index`, `layer_digest`, `created_by`, `deleted_in_final_image` | | image findings: the image, its digest, the layer (absent for findings in the image config, whose `path` is `[image config] Env[2]` and so on), the instruction that created the layer, and whether a later layer deleted or replaced the file |
//! | `ci_system`, `job`, `step`, `detail` | string | CI configuration findings: the CI system, the job and step, and what exactly is wrong |
//! | `verification` | object | only with `--verify`: what the provider said. `status` is `active` (it works now), `inactive` (revoked, expired or never valid) or `unknown`; `detail` says why (`the provider accepted it (HTTP 200)`, `timeout`, `rate limited (HTTP 429)`, `provider error (HTTP 503)`, `unsupported: no live check for this rule`, `needs an endpoint: …`); `checked_at` (RFC 3339); `identity` (login, account, ARN) and `scopes` where the provider returns them. The offline `validation` field is independent of it |
//! | `decoded` | array of strings | only for a secret found encoded: the encodings undone, outermost first (`"base64"`, `"hex"`, `"percent"`, `"escape"`, `"gzip"`, `"zlib"`); `line`..`end_column` are then those of the encoded text, and `secret`/`secret_id` those of the decoded secret |
//!
//! Findings of `leakhound git` add:
//!
//! | field | type | meaning |
//! |---|---|---|
//! | `commit` | string | full id of the commit that introduced the blob at this path (absent for unreachable blobs and for `--staged`) |
//! | `author`, `email` | string | that commit's author |
//! | `date` | string | that commit's author date, RFC 3339 |
//! | `summary` | string | first line of that commit's message |
//! | `blob` | string | the blob id (line numbers are within this blob) |
//! | `in_head` | bool | whether the secret is still in the tree of `HEAD` (absent for `--staged` and repositories without `HEAD`) |
//!
//! Findings of `leakhound org` and `leakhound report` have the git fields and add `repository`
//! (the repository's name; `path` is then within it). Their `secret` is always redacted: the
//! store keeps no secret values. Their `stats` add `repositories`, `new_blobs` (blobs scanned
//! for the first time: 0 when an incremental re-run finds nothing new), `known_blobs` and
//! `by_repository` (findings per repository).
//!
//! With `--verify`, `stats.verification` counts distinct secrets by status (`active`,
//! `inactive`, `unknown`), results taken from the `org` store's cache (`cached`) and
//! `requests` sent by provider (retries included); `stats.unverified_hidden` counts findings
//! `--only-verified` hid.

use std::io::{self, Write};

use serde::Serialize;

use super::{Report, Reporter, shown_secret};
use crate::{finding::Finding, pipeline::Stats, rules::Remediation};

/// The version of the JSON schema above.
pub const SCHEMA_VERSION: &str = "1";

/// Where one finding is: the per-place fields shared by `FINDING` and `--group` locations.
#[derive(Debug, Serialize)]
pub struct JsonPlace<'a> {
    /// Repository (organization scans and reports).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repository: Option<&'a str>,
    /// Path as shown (within the repository, when there is one).
    pub path: &'a str,
    /// Start line.
    pub line: usize,
    /// Start column.
    pub column: usize,
    /// End line.
    pub end_line: usize,
    /// End column.
    pub end_column: usize,
    /// CI system, for CI configuration findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_system: Option<&'static str>,
    /// CI job.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<&'a str>,
    /// CI step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<&'a str>,
    /// What is wrong at this place (CI findings).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<&'a str>,
    /// The encodings the secret was found under, outermost first.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub decoded: &'a [crate::finding::Encoding],
    /// Image reference (image scans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<&'a str>,
    /// Image digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<&'a str>,
    /// Layer index (absent for the image config).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_index: Option<usize>,
    /// Layer digest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layer_digest: Option<&'a str>,
    /// The instruction that created the layer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<&'a str>,
    /// Whether a later layer deleted or replaced the file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_in_final_image: Option<bool>,
    /// Introducing commit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<&'a str>,
    /// Its author.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<&'a str>,
    /// Its author's email.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
    /// Its author date (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<&'a str>,
    /// Its summary line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<&'a str>,
    /// The blob id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blob: Option<&'a str>,
    /// Whether the secret is still in `HEAD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_head: Option<bool>,
}

impl<'a> JsonPlace<'a> {
    /// The place of a finding.
    pub fn new(f: &'a Finding) -> Self {
        let commit = f.git.as_ref().and_then(|g| g.commit.as_deref());
        let image = f.image.as_deref();
        let repository = f.git.as_ref().and_then(|g| g.repository.as_deref());
        JsonPlace {
            repository,
            path: if repository.is_some() {
                f.origin.relative()
            } else {
                f.origin.display()
            },
            line: f.region.line,
            column: f.region.column,
            end_line: f.region.end_line,
            end_column: f.region.end_column,
            ci_system: f.ci.as_ref().map(|c| c.system),
            job: f.ci.as_ref().and_then(|c| c.job.as_deref()),
            step: f.ci.as_ref().and_then(|c| c.step.as_deref()),
            detail: f.ci.as_ref().map(|c| c.detail.as_str()),
            decoded: &f.decoded,
            image: image.map(|i| i.image.as_str()),
            image_digest: image.and_then(|i| i.image_digest.as_deref()),
            layer_index: image.and_then(|i| i.layer_index),
            layer_digest: image.and_then(|i| i.layer_digest.as_deref()),
            created_by: image.and_then(|i| i.created_by.as_deref()),
            deleted_in_final_image: image
                .filter(|i| i.layer_index.is_some())
                .map(|i| i.deleted_in_final_image),
            commit: commit.map(|c| c.id.as_str()),
            author: commit.map(|c| c.author.as_str()),
            email: commit.map(|c| c.email.as_str()),
            date: commit.map(|c| c.date.as_str()),
            summary: commit.map(|c| c.summary.as_str()),
            blob: f.git.as_ref().map(|g| g.blob.as_str()),
            in_head: f.git.as_ref().and_then(|g| g.in_head),
        }
    }
}

/// The fields of a finding that belong to its secret (the same at every place).
#[derive(Debug, Serialize)]
pub struct JsonSecretFields<'a> {
    /// Rule id.
    pub rule_id: &'a str,
    /// Rule name.
    pub rule_name: &'a str,
    /// Provider.
    pub provider: &'a str,
    /// Severity.
    pub severity: &'static str,
    /// Secret class.
    pub class: &'static str,
    /// Secret, redacted unless shown.
    pub secret: String,
    /// Stable secret id.
    pub secret_id: &'a str,
    /// Remediation.
    pub remediation: &'a Remediation,
    /// Offline check result.
    pub validation: &'static str,
    /// Confidence.
    pub confidence: &'static str,
    /// Decoded details.
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub details: std::collections::BTreeMap<&'static str, &'a str>,
    /// Context-specific advice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<&'static str>,
    /// What the provider said (`--verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<&'a crate::verify::Verification>,
}

impl<'a> JsonSecretFields<'a> {
    /// The secret's fields of a finding, with `note` given (a group takes any place's).
    fn new(f: &'a Finding, show_secrets: bool, note: Option<&'static str>) -> Self {
        JsonSecretFields {
            rule_id: &f.rule_id,
            rule_name: &f.rule_name,
            provider: &f.provider,
            severity: f.severity.as_str(),
            class: f.class.as_str(),
            secret: shown_secret(f, show_secrets),
            secret_id: &f.secret_id,
            remediation: &f.remediation,
            validation: f.validation.as_str(),
            confidence: f.confidence.as_str(),
            details: f.details.iter().map(|(k, v)| (*k, v.as_str())).collect(),
            note,
            verification: f.verification.as_deref(),
        }
    }
}

/// One finding as serialized: the secret's fields and its place.
#[derive(Debug, Serialize)]
pub struct JsonFinding<'a> {
    /// The secret.
    #[serde(flatten)]
    pub secret: JsonSecretFields<'a>,
    /// Where.
    #[serde(flatten)]
    pub place: JsonPlace<'a>,
}

impl<'a> JsonFinding<'a> {
    /// The serialized view of a finding.
    pub fn new(f: &'a Finding, show_secrets: bool) -> Self {
        JsonFinding {
            secret: JsonSecretFields::new(f, show_secrets, f.note),
            place: JsonPlace::new(f),
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
        if report.group {
            let secrets: Vec<JsonSecret<'_>> = super::group(report.findings)
                .iter()
                .map(|g| JsonSecret::new(g, report.show_secrets))
                .collect();
            if self.lines {
                for s in &secrets {
                    serde_json::to_writer(&mut *out, s)?;
                    out.write_all(b"\n")?;
                }
                return Ok(());
            }
            let doc = serde_json::json!({
                "version": SCHEMA_VERSION,
                "tool": Tool { name: env!("CARGO_PKG_NAME"), version: env!("CARGO_PKG_VERSION") },
                "findings": secrets,
                "stats": report.stats,
            });
            serde_json::to_writer_pretty(&mut *out, &doc)?;
            return out.write_all(b"\n");
        }
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

/// One secret with all its places, in `--group` output.
#[derive(Debug, Serialize)]
pub struct JsonSecret<'a> {
    /// The secret.
    #[serde(flatten)]
    pub secret: JsonSecretFields<'a>,
    /// Every place.
    pub locations: Vec<JsonPlace<'a>>,
}

impl<'a> JsonSecret<'a> {
    fn new(g: &super::SecretGroup<'a>, show_secrets: bool) -> Self {
        JsonSecret {
            secret: JsonSecretFields::new(
                g.first,
                show_secrets,
                g.places.iter().find_map(|p| p.note),
            ),
            locations: g.places.iter().map(|p| JsonPlace::new(p)).collect(),
        }
    }
}
