//! The scan pipeline: a source's workers each own a detector scratch space, match the bytes they
//! are handed, and push owned [`Finding`]s into a shared list; counters track what was scanned.
//! `scan_fs` is here; git history and staged changes are in [`git`].

pub mod git;
pub mod image;
pub mod org;
pub mod triage;

use std::{
    collections::BTreeMap,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Instant,
};

use serde::Serialize;

use crate::{
    analysis::{Blob, Workspace},
    config::ScanConfig,
    finding::{Finding, Located, Origin},
    sources::{
        Diagnostic, archive,
        fs::{self, Event, Input, Visitor},
    },
};

/// What a scan counted.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Stats {
    /// Inputs scanned.
    pub files: u64,
    /// Bytes scanned.
    pub bytes: u64,
    /// Inputs not scanned (binary, too large, excluded).
    pub skipped: u64,
    /// Inputs that could not be read.
    pub errors: u64,
    /// Inputs scanned with a caveat (invalid UTF-8, very long line).
    pub warnings: u64,
    /// Wall-clock time of the scan.
    pub duration_ms: u64,
    /// Skipped and warned inputs by kind (`binary`, `too_large`, `excluded`, `invalid_utf8`, ...).
    pub by_kind: BTreeMap<String, u64>,
    /// Findings suppressed, by mechanism.
    pub suppressed: crate::suppress::Suppressed,
    /// Findings hidden because their confidence is below `--min-confidence`.
    pub below_confidence: u64,
    /// Findings by rule id (after suppressions).
    pub by_rule: BTreeMap<String, u64>,
    /// Commits walked (git history scans only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commits: Option<u64>,
    /// Repositories scanned (organization scans only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repositories: Option<u64>,
    /// Blobs scanned for the first time (organization scans; 0 on a re-run with no changes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_blobs: Option<u64>,
    /// Blobs already in the store, not scanned again (organization scans).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub known_blobs: Option<u64>,
    /// Findings by repository (organization scans and reports).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub by_repository: BTreeMap<String, u64>,
    /// What live verification did (`--verify`): distinct secrets by status, cached results,
    /// requests by provider.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verification: Option<crate::verify::Summary>,
    /// Findings hidden by `--only-verified` (not confirmed active).
    #[serde(skip_serializing_if = "is_zero")]
    pub unverified_hidden: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The result of a scan.
#[derive(Debug, Default)]
pub struct ScanOutcome {
    /// Findings sorted by path, line, column and rule.
    pub findings: Vec<Finding>,
    /// Counters.
    pub stats: Stats,
}

/// Receives progress as a scan goes (the CLI draws it; the library never prints).
pub trait Progress: Sync {
    /// The number of inputs to scan, when known in advance (git blobs).
    fn total(&self, _inputs: u64) {}
    /// `inputs` more inputs were taken on and `bytes` more bytes read.
    fn advance(&self, _inputs: u64, _bytes: u64) {}
}

/// No progress reporting.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// Thread-safe counters of a scan in progress.
#[derive(Default)]
pub(crate) struct Counters {
    files: AtomicU64,
    bytes: AtomicU64,
    skipped: AtomicU64,
    errors: AtomicU64,
    warnings: AtomicU64,
    inline_suppressed: AtomicU64,
    allowlisted: AtomicU64,
    by_kind: Mutex<BTreeMap<String, u64>>,
}

impl Counters {
    /// Counts a scanned input.
    pub(crate) fn scanned(&self, bytes: usize) {
        self.files.fetch_add(1, Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts a window of a large file: the file once, and the bytes it adds.
    pub(crate) fn scanned_part(&self, first: bool, bytes: usize) {
        self.files.fetch_add(u64::from(first), Ordering::Relaxed);
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// Counts findings suppressed by inline markers.
    pub(crate) fn inline_suppressed(&self, n: u64) {
        if n > 0 {
            self.inline_suppressed.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts findings dropped by a gitleaks configuration's allowlists.
    pub(crate) fn allowlisted(&self, n: u64) {
        if n > 0 {
            self.allowlisted.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// Counts a diagnostic and passes it on.
    pub(crate) fn diagnostic(&self, d: &Diagnostic, on_diagnostic: &(dyn Fn(&Diagnostic) + Sync)) {
        match d {
            Diagnostic::Skipped { .. } => self.skipped.fetch_add(1, Ordering::Relaxed),
            Diagnostic::Warning { .. } => self.warnings.fetch_add(1, Ordering::Relaxed),
            Diagnostic::Error { .. } => self.errors.fetch_add(1, Ordering::Relaxed),
        };
        *self
            .by_kind
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(d.kind().to_owned())
            .or_default() += 1;
        on_diagnostic(d);
    }

    /// The final counts.
    pub(crate) fn into_stats(self, start: Instant) -> Stats {
        Stats {
            files: self.files.into_inner(),
            bytes: self.bytes.into_inner(),
            skipped: self.skipped.into_inner(),
            errors: self.errors.into_inner(),
            warnings: self.warnings.into_inner(),
            duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
            by_kind: self.by_kind.into_inner().unwrap_or_else(|p| p.into_inner()),
            commits: None,
            repositories: None,
            new_blobs: None,
            known_blobs: None,
            by_repository: BTreeMap::new(),
            by_rule: BTreeMap::new(),
            below_confidence: 0,
            suppressed: crate::suppress::Suppressed {
                inline: self.inline_suppressed.into_inner(),
                allowlist: self.allowlisted.into_inner(),
                ..Default::default()
            },
            verification: None,
            unverified_hidden: 0,
        }
    }
}

/// What a source's workers share while they scan: the configuration, the counters and where
/// diagnostics go.
#[derive(Clone, Copy)]
pub(crate) struct Scan<'a> {
    pub(crate) config: &'a ScanConfig,
    pub(crate) counters: &'a Counters,
    pub(crate) on_diagnostic: &'a (dyn Fn(&Diagnostic) + Sync),
}

impl Scan<'_> {
    /// Runs the analysis over one input (counting what inline markers suppressed).
    pub(crate) fn analyze(
        &self,
        work: &mut Workspace,
        bytes: &[u8],
        paths: &[&str],
    ) -> Vec<Located> {
        self.analyze_part(work, bytes, paths, false)
    }

    /// [`Scan::analyze`] for a window of a large file (`later`: not its first window).
    pub(crate) fn analyze_part(
        &self,
        work: &mut Workspace,
        bytes: &[u8],
        paths: &[&str],
        later: bool,
    ) -> Vec<Located> {
        let analysis = self
            .config
            .analyzer
            .analyze_part(Blob { bytes, paths }, work, later);
        self.counters.inline_suppressed(analysis.suppressed);
        self.counters.allowlisted(analysis.allowlisted);
        for message in analysis.notes {
            self.diagnostic(&Diagnostic::Warning {
                path: paths.first().copied().unwrap_or("<input>").to_owned(),
                kind: crate::sources::WarningKind::Analysis(message),
            });
        }
        analysis.located
    }

    /// Counts a diagnostic and passes it on.
    pub(crate) fn diagnostic(&self, d: &Diagnostic) {
        self.counters.diagnostic(d, self.on_diagnostic);
    }
}

/// Scans files, directories and standard input. `on_diagnostic` is called from worker threads
/// as problems are met, so that a long scan reports them as it goes.
pub fn scan_fs(
    config: &ScanConfig,
    inputs: &[Input],
    on_diagnostic: &(dyn Fn(&Diagnostic) + Sync),
    progress: &dyn Progress,
) -> ScanOutcome {
    let start = Instant::now();
    let counters = Counters::default();
    let findings: Mutex<Vec<Finding>> = Mutex::new(Vec::new());
    let analyzer = &config.analyzer;
    let shared = Scan {
        config,
        counters: &counters,
        on_diagnostic,
    };
    let make_visitor = || -> Visitor<'_> {
        // Why: one workspace per worker; the hot path reuses its buffers.
        let mut work = analyzer.workspace();
        let findings = &findings;
        Box::new(move |event: Event<'_>| match event {
            Event::Blob {
                origin,
                bytes,
                part: Some(part),
            } => {
                // A window of a large file: its findings are those that start in its share,
                // placed in the file.
                shared.counters.scanned_part(part.first, part.new_bytes);
                progress.advance(u64::from(part.first), part.new_bytes as u64);
                let located =
                    shared.analyze_part(&mut work, bytes, &[origin.relative()], !part.first);
                let found: Vec<Finding> = located
                    .iter()
                    .filter(|l| (part.keep.0..part.keep.1).contains(&l.span.0))
                    .map(|l| {
                        let mut l = l.clone();
                        place_in_file(&mut l.region, &part);
                        analyzer.finding(&l, origin.clone())
                    })
                    .collect();
                if !found.is_empty() {
                    findings
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(found);
                }
            }
            Event::Blob { origin, bytes, .. } => {
                shared.counters.scanned(bytes.len());
                progress.advance(1, bytes.len() as u64);
                if let Some(kind) = archive::kind(origin.relative(), bytes) {
                    let nested = scan_archive(&shared, &mut work, kind, bytes, origin.display());
                    if !nested.is_empty() {
                        findings
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .extend(nested);
                    }
                    return;
                }
                let located = shared.analyze(&mut work, bytes, &[origin.relative()]);
                if !located.is_empty() {
                    let found = located.iter().map(|l| analyzer.finding(l, origin.clone()));
                    findings
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(found);
                }
            }
            Event::Diagnostic(d) => shared.diagnostic(&d),
        })
    };
    fs::walk(inputs, &config.fs, &make_visitor);
    let mut findings = findings.into_inner().unwrap_or_else(|p| p.into_inner());
    sort(&mut findings);
    let stats = counters.into_stats(start);
    ScanOutcome { findings, stats }
}

/// Moves a region found in a window of a large file to where it is in the file.
fn place_in_file(region: &mut crate::finding::Region, part: &fs::Part) {
    if region.line == 1 {
        region.column += part.column_before;
    }
    if region.end_line == 1 {
        region.end_column += part.column_before;
    }
    region.line += part.lines_before;
    region.end_line += part.lines_before;
}

/// Scans the entries of an archive held in memory (recursively, bounded); returns findings whose
/// paths read `outer.jar!/inner/path`.
pub(crate) fn scan_archive(
    shared: &Scan<'_>,
    work: &mut Workspace,
    kind: archive::Kind,
    bytes: &[u8],
    path: &str,
) -> Vec<Finding> {
    let config = shared.config;
    let mut out = Vec::new();
    archive::walk(
        kind,
        bytes,
        path,
        config.fs.max_blob_size,
        &mut |event| match event {
            archive::Nested::File { path, bytes } => {
                if crate::detect::looks_binary(bytes) && !config.fs.keeps_binary(path) {
                    return;
                }
                shared.counters.scanned(bytes.len());
                let located = shared.analyze(work, bytes, &[path]);
                let origin = Origin::File {
                    path: path.to_owned(),
                    relative: path.to_owned(),
                };
                out.extend(
                    located
                        .iter()
                        .map(|l| config.analyzer.finding(l, origin.clone())),
                );
            }
            // Why: an archive that cannot be read to the end leaves unscanned places.
            archive::Nested::Error { path, message } => {
                shared.diagnostic(&Diagnostic::Error { path, message });
            }
        },
    );
    out
}

/// Sorts findings for stable output: path, line, column, rule.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.origin.display(), a.region, &a.rule_id).cmp(&(b.origin.display(), b.region, &b.rule_id))
    });
}
