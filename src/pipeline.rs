//! The scan pipeline: a source's workers each own a detector scratch space, match the bytes they
//! are handed, and push owned [`Finding`]s into a shared list; counters track what was scanned.

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
    config::ScanConfig,
    finding::{self, Finding},
    sources::{
        Diagnostic,
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
}

/// The result of a scan.
#[derive(Debug, Default)]
pub struct ScanOutcome {
    /// Findings sorted by path, line, column and rule.
    pub findings: Vec<Finding>,
    /// Counters.
    pub stats: Stats,
}

#[derive(Default)]
struct Counters {
    files: AtomicU64,
    bytes: AtomicU64,
    skipped: AtomicU64,
    errors: AtomicU64,
    warnings: AtomicU64,
    by_kind: Mutex<BTreeMap<String, u64>>,
}

/// Scans files, directories and standard input. `on_diagnostic` is called from worker threads
/// as problems are met, so that a long scan reports them as it goes.
pub fn scan_fs(
    config: &ScanConfig,
    inputs: &[Input],
    on_diagnostic: &(dyn Fn(&Diagnostic) + Sync),
) -> ScanOutcome {
    let start = Instant::now();
    let counters = Counters::default();
    let findings: Mutex<Vec<Finding>> = Mutex::new(Vec::new());
    let detector = &config.detector;
    let make_visitor = || -> Visitor<'_> {
        // Why: one scratch space and match buffer per worker; the hot path reuses them.
        let mut scratch = detector.scratch();
        let mut matches = Vec::new();
        let (counters, findings) = (&counters, &findings);
        Box::new(move |event: Event<'_>| match event {
            Event::Blob { origin, bytes } => {
                counters.files.fetch_add(1, Ordering::Relaxed);
                counters
                    .bytes
                    .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                detector.scan(bytes, &mut scratch, &mut matches);
                if !matches.is_empty() {
                    let found = finding::from_matches(detector, &origin, bytes, &matches);
                    findings
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .extend(found);
                }
            }
            Event::Diagnostic(d) => {
                match &d {
                    Diagnostic::Skipped { .. } => counters.skipped.fetch_add(1, Ordering::Relaxed),
                    Diagnostic::Warning { .. } => counters.warnings.fetch_add(1, Ordering::Relaxed),
                    Diagnostic::Error { .. } => counters.errors.fetch_add(1, Ordering::Relaxed),
                };
                *counters
                    .by_kind
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .entry(d.kind().to_owned())
                    .or_default() += 1;
                on_diagnostic(&d);
            }
        })
    };
    fs::walk(inputs, &config.fs, &make_visitor);
    let mut findings = findings.into_inner().unwrap_or_else(|p| p.into_inner());
    sort(&mut findings);
    let stats = Stats {
        files: counters.files.into_inner(),
        bytes: counters.bytes.into_inner(),
        skipped: counters.skipped.into_inner(),
        errors: counters.errors.into_inner(),
        warnings: counters.warnings.into_inner(),
        duration_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        by_kind: counters
            .by_kind
            .into_inner()
            .unwrap_or_else(|p| p.into_inner()),
    };
    ScanOutcome { findings, stats }
}

/// Sorts findings for stable output: path, line, column, rule.
pub fn sort(findings: &mut [Finding]) {
    findings.sort_by(|a, b| {
        (a.origin.display(), a.region, &a.rule_id).cmp(&(b.origin.display(), b.region, &b.rule_id))
    });
}
