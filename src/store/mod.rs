//! The findings store of organization scans: repositories, scan runs, blobs already scanned,
//! their matches, and the places (repository, path, commit) of every match.
//!
//! Everything `leakhound org` learns goes through the [`Store`] trait; [`sqlite::SqliteStore`]
//! is the one implementation (one file, embedded). A shared PostgreSQL store would be a second
//! implementation of the same trait: the keys are natural (blob id, repository name, commit id),
//! never local row ids, so stores written on different machines merge without renumbering.
//!
//! # What is stored
//!
//! | table | one row per | key |
//! |---|---|---|
//! | `repos` | repository | name |
//! | `runs` | `org` invocation (resumed runs keep theirs) | id |
//! | `blobs` | blob scanned under a rule set | blob id, scope, rules digest |
//! | `matches` | match in a scanned blob | blob key, rule, position, secret id |
//! | `locations` | match at a place of a repository | repository, blob, path, commit, match |
//! | `commits` | introducing commit's metadata | commit id |
//! | `head_secrets` | secret still in a repository's `HEAD` | repository, secret id |
//! | `verifications` | secret's newest live-check result (`org --verify`) | secret id |
//!
//! A blob's *scope* names the path-dependent rules that applied where it was found (path-scoped
//! rules, the CI analysis): the same blob at a path in another scope is scanned again. The
//! *rules digest* names the rule set and leakhound version: a store scanned with other rules
//! rescans every blob, so new rules reach old history.
//!
//! Secret values are never stored: a match keeps its secret id (a hash) and its redacted form.
//! The blob id and line say where to read the value in the mirror.

pub mod sqlite;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use std::sync::Arc;

use crate::{
    detect::validate::{self, Confidence, Validation},
    finding::{CiContext, CommitMeta, Finding, GitProvenance, Origin, REMOVED_NOTE, Region},
    rules::{Remediation, RuleSet, Severity},
    secret::Secret,
};

pub use sqlite::SqliteStore;

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The database refused an operation.
    #[error("store {path}: {source}")]
    Sql {
        /// The store file.
        path: String,
        /// What SQLite said.
        source: rusqlite::Error,
    },
    /// The file is not a leakhound store, or one of a newer schema.
    #[error("{path} is not a leakhound store of schema {expected} (found {found})")]
    Schema {
        /// The store file.
        path: String,
        /// The schema this leakhound writes.
        expected: u32,
        /// What the file says.
        found: String,
    },
}

/// A blob to look up or record: its id and scope (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BlobKey {
    /// Blob id (hex).
    pub oid: String,
    /// Path-dependent rules that applied to it (`""` for most blobs).
    pub scope: String,
}

/// One match in a blob, as stored: everything about it but the secret value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredMatch {
    /// Rule id.
    pub rule_id: String,
    /// Rule name when scanned.
    pub rule_name: String,
    /// Provider when scanned.
    pub provider: String,
    /// Severity when scanned.
    pub severity: Severity,
    /// Secret id (hash of rule and value).
    pub secret_id: String,
    /// The redacted secret.
    pub preview: String,
    /// Where in the blob.
    pub line: usize,
    /// Start column.
    pub column: usize,
    /// End line.
    pub end_line: usize,
    /// End column.
    pub end_column: usize,
    /// Offline check result.
    pub validation: Validation,
    /// Confidence.
    pub confidence: Confidence,
    /// Decoded details.
    pub details: BTreeMap<String, String>,
    /// CI context: system, job, step, detail.
    pub ci: Option<StoredCi>,
    /// The encodings the secret was found under (see [`Finding::decoded`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub decoded: Vec<String>,
}

impl StoredMatch {
    /// The stored form of a located match: the value is replaced by its id and redacted form.
    pub fn new(f: Finding) -> StoredMatch {
        StoredMatch {
            decoded: f.decoded.iter().map(|e| e.as_str().to_owned()).collect(),
            preview: f.secret.redacted(),
            rule_id: f.rule_id,
            rule_name: f.rule_name,
            provider: f.provider,
            severity: f.severity,
            secret_id: f.secret_id,
            line: f.region.line,
            column: f.region.column,
            end_line: f.region.end_line,
            end_column: f.region.end_column,
            validation: f.validation,
            confidence: f.confidence,
            details: f
                .details
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v))
                .collect(),
            ci: f.ci.map(|c| StoredCi {
                system: c.system.to_owned(),
                job: c.job,
                step: c.step,
                detail: c.detail,
            }),
        }
    }

    /// The region of the match.
    pub fn region(&self) -> Region {
        Region {
            line: self.line,
            column: self.column,
            end_line: self.end_line,
            end_column: self.end_column,
        }
    }
}

/// The CI context of a stored match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredCi {
    /// CI system name.
    pub system: String,
    /// Job.
    pub job: Option<String>,
    /// Step.
    pub step: Option<String>,
    /// What is wrong.
    pub detail: String,
}

/// A scanned blob and what was found in it.
#[derive(Debug, Clone)]
pub struct ScannedBlob {
    /// Its key.
    pub key: BlobKey,
    /// Its matches (empty for most blobs).
    pub matches: Vec<StoredMatch>,
}

/// One match at one place of a repository.
#[derive(Debug, Clone)]
pub struct LocationRecord {
    /// The blob and scope the match was stored under.
    pub key: BlobKey,
    /// The match.
    pub matched: StoredMatch,
    /// Path in the repository.
    pub path: String,
    /// The commit that introduced the blob at this path.
    pub commit: Option<CommitMeta>,
}

/// What a finished repository scan records.
#[derive(Debug, Clone, Default)]
pub struct RepoUpdate {
    /// Repository name (`owner/name`, or a path).
    pub name: String,
    /// Clone URL or path.
    pub url: String,
    /// Ref tips scanned (the next run hides what they reach).
    pub tips: Vec<String>,
    /// New places of matches.
    pub locations: Vec<LocationRecord>,
    /// Secret ids still in `HEAD`, or `None` when `HEAD` is unborn (replaces the old set).
    pub head_secrets: Option<Vec<String>>,
    /// Commits walked this time.
    pub commits: u64,
    /// Why the repository could not be scanned, if it could not.
    pub error: Option<String>,
}

/// What the store remembers of a repository.
#[derive(Debug, Clone, Default)]
pub struct RepoRecord {
    /// Tips of the last completed scan.
    pub tips: Vec<String>,
    /// Rules digest of the last completed scan.
    pub rules: String,
    /// The run that last completed it.
    pub run: i64,
    /// The last error, if the last attempt failed.
    pub error: Option<String>,
}

/// A scan run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Run id.
    pub id: i64,
    /// Whether an interrupted run of the same source and shard is being continued.
    pub resumed: bool,
}

/// Counters a run records when it ends.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunCounts {
    /// Repositories scanned (this invocation).
    pub repositories: u64,
    /// Repositories that failed.
    pub failed: u64,
    /// Blobs scanned for the first time.
    pub new_blobs: u64,
    /// Blobs already in the store, not scanned again.
    pub known_blobs: u64,
    /// Bytes scanned.
    pub bytes: u64,
}

/// One row of a report: a match at a place.
#[derive(Debug, Clone)]
pub struct StoredFinding {
    /// Repository name.
    pub repo: String,
    /// Path.
    pub path: String,
    /// Blob id.
    pub blob: String,
    /// Introducing commit.
    pub commit: Option<CommitMeta>,
    /// Whether the secret is still in the repository's `HEAD` (none if it has none).
    pub in_head: Option<bool>,
    /// The match.
    pub matched: StoredMatch,
}

impl StoredFinding {
    /// The finding as the reporters take it: the playbook comes from `rules` (the stored rule
    /// name, provider and severity, if the rule is not loaded now); the path shown is
    /// `repository:path`.
    pub fn to_finding(&self, rules: &RuleSet) -> Finding {
        let m = &self.matched;
        let rule = rules.get(&m.rule_id);
        let remediation = rule.map_or_else(
            || {
                Arc::new(Remediation {
                    revoke: format!("Revoke this {} credential where it was issued.", m.provider),
                    rotate: "Issue a replacement, roll it out, then delete the old one.".into(),
                    audit: crate::rules::default_audit(&m.provider),
                    rotation: crate::rules::default_rotation(m.severity).into(),
                    references: Vec::new(),
                })
            },
            |r| Arc::clone(&r.remediation),
        );
        let repository: Arc<str> = Arc::from(self.repo.as_str());
        let mut f = Finding {
            rule_id: m.rule_id.clone(),
            rule_name: rule.map_or_else(|| m.rule_name.clone(), |r| r.name.clone()),
            provider: rule.map_or_else(|| m.provider.clone(), |r| r.provider.clone()),
            severity: rule.map_or(m.severity, |r| r.severity),
            class: rule.map_or_else(Default::default, |r| r.class),
            origin: Origin::File {
                path: format!("{}:{}", self.repo, self.path),
                relative: self.path.clone(),
            },
            region: m.region(),
            decoded: m
                .decoded
                .iter()
                .filter_map(|e| crate::finding::Encoding::parse(e))
                .collect(),
            secret: Secret::withheld(&m.preview),
            companion: None,
            verification: None,
            allow_commits: Vec::new(),
            secret_id: m.secret_id.clone(),
            remediation,
            git: Some(GitProvenance {
                commit: self.commit.clone().map(Arc::new),
                blob: self.blob.clone(),
                in_head: self.in_head,
                repository: Some(repository),
            }),
            note: (self.in_head == Some(false)).then_some(REMOVED_NOTE),
            validation: m.validation,
            confidence: m.confidence,
            details: m
                .details
                .iter()
                .filter_map(|(k, v)| Some((validate::detail_key(k)?, v.clone())))
                .collect(),
            ci: m.ci.as_ref().map(|c| {
                Box::new(CiContext {
                    system: crate::ci::System::from_name(&c.system)
                        .map_or("unknown", |s| s.as_str()),
                    job: c.job.clone(),
                    step: c.step.clone(),
                    detail: c.detail.clone(),
                })
            }),
            image: None,
        };
        f = f.with_context_note();
        f
    }
}

/// Per-repository status in a report.
#[derive(Debug, Clone, Serialize)]
pub struct RepoStatus {
    /// Repository name.
    pub name: String,
    /// Clone URL or path.
    pub url: String,
    /// When it was last scanned (RFC 3339), if ever.
    pub scanned_at: Option<String>,
    /// The last error.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What a merge added.
#[derive(Debug, Clone, Default)]
pub struct MergeCounts {
    /// Repositories.
    pub repos: u64,
    /// Blobs.
    pub blobs: u64,
    /// Locations.
    pub locations: u64,
}

/// A findings store. Methods take `&mut self`; callers share one store behind a mutex, and each
/// method is one transaction, so a killed process leaves every completed call in place.
pub trait Store: Send {
    /// Starts a run of `source` (and `shard`), or continues the newest unfinished one of the same
    /// source and shard.
    fn begin_run(&mut self, source: &str, shard: &str) -> Result<Run, Error>;
    /// Whether `run` completed `repo` already (for resuming).
    fn completed_in(&mut self, run: i64, repo: &str) -> Result<bool, Error>;
    /// What is known of a repository.
    fn repo(&mut self, name: &str) -> Result<Option<RepoRecord>, Error>;
    /// Whether a blob was scanned under the current rules; `Some(matches)` if it was.
    fn blob(&mut self, key: &BlobKey) -> Result<Option<Vec<StoredMatch>>, Error>;
    /// The (blob id, secret id) pairs of a repository's recorded locations.
    fn located_secrets(&mut self, repo: &str) -> Result<Vec<(String, String)>, Error>;
    /// Records scanned blobs and their matches; returns how many were not recorded before (two
    /// workers may scan a blob that two repositories share at the same time).
    fn record_blobs(&mut self, blobs: &[ScannedBlob]) -> Result<u64, Error>;
    /// Records a finished (or failed) repository under `run`.
    fn record_repo(&mut self, run: i64, update: &RepoUpdate) -> Result<(), Error>;
    /// Marks a run finished.
    fn finish_run(&mut self, run: i64, counts: &RunCounts) -> Result<(), Error>;
    /// The counts of the newest finished run.
    fn last_run(&mut self) -> Result<Option<RunCounts>, Error>;
    /// Every match at every place, under each repository's current rules.
    fn findings(&mut self) -> Result<Vec<StoredFinding>, Error>;
    /// Every repository and its status.
    fn repos(&mut self) -> Result<Vec<RepoStatus>, Error>;
    /// A secret's live-check result, if one no older than `max_age` is kept.
    fn verification(
        &mut self,
        secret_id: &str,
        max_age: std::time::Duration,
    ) -> Result<Option<crate::verify::Verification>, Error>;
    /// Keeps a secret's live-check result (replacing an older one).
    fn record_verification(
        &mut self,
        secret_id: &str,
        v: &crate::verify::Verification,
    ) -> Result<(), Error>;
    /// Every kept live-check result, by secret id.
    fn verifications(&mut self) -> Result<Vec<(String, crate::verify::Verification)>, Error>;
    /// Adds everything of another store of the same kind; duplicates are skipped.
    fn merge_from(&mut self, other: &std::path::Path) -> Result<MergeCounts, Error>;
}
