//! Scanning git history and staged changes.
//!
//! History: [`crate::sources::git::enumerate`] lists each blob once with its places; rayon
//! workers read and match the blobs (one thread-local gix handle and one detector scratch per
//! worker); then each located match is attributed to every place of its blob, with the
//! introducing commit's metadata and whether the secret is still in `HEAD`.
//!
//! Staged: each staged file's blob is matched whole and only findings on added lines are kept,
//! with their real line numbers.

use std::{
    collections::{HashMap, HashSet},
    sync::{Arc, Mutex},
    time::Instant,
};

use gix::{ObjectId, bstr::ByteSlice, odb::HeaderExt, prelude::FindExt};
use rayon::prelude::*;

use super::{Counters, Scan, ScanOutcome, sort};
use crate::{
    config::ScanConfig,
    finding::{CommitMeta, Finding, GitProvenance, Located, Origin, REMOVED_NOTE},
    sources::{
        Diagnostic, SkipReason,
        git::{self, Enumeration, Selection},
        staged,
    },
};

/// Blobs per rayon task: large enough to amortise scheduling, small enough to balance.
const CHUNK: usize = 32;

/// Scans the history selected by `selection`.
pub fn scan_git(
    config: &ScanConfig,
    repo: &gix::Repository,
    selection: &Selection,
    on_diagnostic: &(dyn Fn(&Diagnostic) + Sync),
    progress: &dyn super::Progress,
) -> Result<ScanOutcome, git::Error> {
    let start = Instant::now();
    let counters = Counters::default();
    let mut en = git::enumerate(repo, selection)?;
    for d in &en.diagnostics {
        counters.diagnostic(d, on_diagnostic);
    }
    apply_excludes(config, &mut en, &counters, on_diagnostic);
    progress.total(en.order.len() as u64);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.fs.threads)
        .build()
        .ok();
    let blobs = BlobScan {
        shared: Scan {
            config,
            counters: &counters,
            on_diagnostic,
        },
        repo,
        en: &en,
        progress,
        pool: pool.as_ref(),
    };
    let (located, _) = blobs.scan(&en.order);
    let findings = attribute(config, repo, &en, located);
    let mut stats = counters.into_stats(start);
    stats.commits = Some(en.commits.len() as u64);
    Ok(ScanOutcome { findings, stats })
}

/// The blobs of one enumeration, read and analyzed on `pool` (or the global rayon pool).
pub(crate) struct BlobScan<'a> {
    pub(crate) shared: Scan<'a>,
    pub(crate) repo: &'a gix::Repository,
    pub(crate) en: &'a Enumeration,
    pub(crate) progress: &'a dyn super::Progress,
    pub(crate) pool: Option<&'a rayon::ThreadPool>,
}

/// The located matches of each blob that has any.
pub(crate) type BlobFindings = Vec<(ObjectId, Vec<Located>)>;

impl BlobScan<'_> {
    /// Reads and analyzes the blobs `ids`, one thread-local gix handle and analysis workspace
    /// per worker. Returns the located matches of each blob that has any, and the blobs that
    /// could not be read.
    pub(crate) fn scan(&self, ids: &[ObjectId]) -> (BlobFindings, Vec<ObjectId>) {
        let BlobScan {
            shared,
            repo,
            en,
            progress,
            pool,
        } = *self;
        let (config, counters, on_diagnostic) =
            (shared.config, shared.counters, shared.on_diagnostic);
        let sync = repo.clone().into_sync();
        let analyzer = &config.analyzer;
        let limit = config.fs.max_blob_size;
        let unreadable: Mutex<Vec<ObjectId>> = Mutex::new(Vec::new());
        let failed = |id: &ObjectId, shown: &str, e: &dyn std::fmt::Display| {
            counters.diagnostic(&corrupt_blob(id, shown, e), on_diagnostic);
            unreadable
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(*id);
        };
        let scan_chunk = |(repo, work, buf): &mut (gix::Repository, _, Vec<u8>),
                          chunk: &[ObjectId]| {
            let mut found: Vec<(ObjectId, Vec<Located>)> = Vec::new();
            for id in chunk {
                progress.advance(1, 0);
                let shown = first_path(en, id);
                if limit > 0 {
                    match repo.objects.header(id) {
                        Ok(h) if h.size() > limit => {
                            let reason = SkipReason::TooLarge {
                                size: h.size(),
                                limit,
                            };
                            counters.diagnostic(
                                &Diagnostic::Skipped {
                                    path: shown,
                                    reason,
                                },
                                on_diagnostic,
                            );
                            continue;
                        }
                        Ok(_) => {}
                        Err(e) => {
                            failed(id, &shown, &e);
                            continue;
                        }
                    }
                }
                let data = match repo.objects.find_blob(id, buf) {
                    Ok(blob) => blob.data,
                    Err(e) => {
                        failed(id, &shown, &e);
                        continue;
                    }
                };
                if crate::detect::looks_binary(data) && !config.fs.keeps_binary(&shown) {
                    counters.diagnostic(
                        &Diagnostic::Skipped {
                            path: shown,
                            reason: SkipReason::Binary,
                        },
                        on_diagnostic,
                    );
                    continue;
                }
                counters.scanned(data.len());
                progress.advance(0, data.len() as u64);
                let paths: Vec<&str> = en
                    .blobs
                    .get(id)
                    .into_iter()
                    .flatten()
                    .filter_map(|p| en.paths[p.path as usize].to_str().ok())
                    .collect();
                let located = shared.analyze(work, data, &paths);
                if !located.is_empty() {
                    found.push((*id, located));
                }
            }
            found
        };
        let run = || -> Vec<(ObjectId, Vec<Located>)> {
            ids.par_chunks(CHUNK)
                .map_init(
                    || {
                        let mut repo = sync.to_thread_local();
                        // Why: blobs are read once each, so an object cache would only churn;
                        // the pack's delta-base cache is what helps, and it is on by default.
                        repo.object_cache_size(None);
                        (repo, analyzer.workspace(), Vec::new())
                    },
                    scan_chunk,
                )
                .flatten_iter()
                .collect()
        };
        let located = match pool {
            Some(pool) => pool.install(run),
            None => run(),
        };
        (
            located,
            unreadable.into_inner().unwrap_or_else(|p| p.into_inner()),
        )
    }
}

/// A blob that could not be read: an error, since it is an unscanned place.
fn corrupt_blob(id: &ObjectId, shown: &str, e: &dyn std::fmt::Display) -> Diagnostic {
    Diagnostic::Error {
        path: format!("blob {id} ({shown})"),
        message: format!("could not be read ({e}); not scanned"),
    }
}

/// The path shown for a blob in diagnostics: its first place, or its id.
fn first_path(en: &Enumeration, id: &ObjectId) -> String {
    en.blobs
        .get(id)
        .and_then(|places| places.first())
        .map(|p| en.paths[p.path as usize].to_str_lossy().into_owned())
        .unwrap_or_else(|| format!("unreachable blob {id}"))
}

/// Drops places whose path the configuration excludes, and blobs left without places.
pub(crate) fn apply_excludes(
    config: &ScanConfig,
    en: &mut Enumeration,
    counters: &Counters,
    on_diagnostic: &(dyn Fn(&Diagnostic) + Sync),
) {
    let Some(globs) = &config.fs.exclude else {
        return;
    };
    let paths = &en.paths;
    let excluded_path: Vec<bool> = paths
        .iter()
        .map(|p| globs.is_match(p.to_str_lossy().as_ref()))
        .collect();
    let mut dropped: HashSet<ObjectId> = HashSet::new();
    for (id, places) in en.blobs.iter_mut() {
        places.retain(|p| !excluded_path[p.path as usize]);
        if places.is_empty() {
            dropped.insert(*id);
        }
    }
    for id in &dropped {
        en.blobs.remove(id);
        let d = Diagnostic::Skipped {
            path: format!("blob {id}"),
            reason: SkipReason::Excluded,
        };
        counters.diagnostic(&d, on_diagnostic);
    }
    en.order.retain(|id| !dropped.contains(id));
}

/// Gives every located match of every blob a finding per place of the blob.
fn attribute(
    config: &ScanConfig,
    repo: &gix::Repository,
    en: &Enumeration,
    located: Vec<(ObjectId, Vec<Located>)>,
) -> Vec<Finding> {
    let analyzer = &config.analyzer;
    let detector = analyzer.detector();
    // Why: HEAD's tree is read only when there is something to attribute.
    let head = if located.is_empty() {
        None
    } else {
        git::head_blobs(repo)
    };
    let has_head = head.is_some();
    let head_secret_ids: HashSet<String> = located
        .iter()
        .filter(|(id, _)| head.as_ref().is_some_and(|h| h.contains(id)))
        .flat_map(|(_, ls)| ls.iter().map(|l| l.secret.id(&detector.rule(l.rule).id)))
        .collect();
    let metas: Mutex<HashMap<u32, Arc<CommitMeta>>> = Mutex::new(HashMap::new());
    let meta_of = |commit: u32| -> Arc<CommitMeta> {
        let mut metas = metas.lock().unwrap_or_else(|p| p.into_inner());
        Arc::clone(
            metas
                .entry(commit)
                .or_insert_with(|| Arc::new(commit_meta(repo, en.commits[commit as usize]))),
        )
    };
    let mut findings = Vec::new();
    for (blob, ls) in &located {
        let blob_hex = blob.to_string();
        let places = en.blobs.get(blob);
        for l in ls {
            let mut base = analyzer.finding(l, Origin::Stdin);
            let in_head = has_head.then(|| head_secret_ids.contains(&base.secret_id));
            if in_head == Some(false) {
                base.note = Some(REMOVED_NOTE);
            }
            match places {
                Some(places) => {
                    let rule = detector.rule(l.rule);
                    for p in places {
                        // A path-scoped rule is reported only at the places in its scope.
                        if !rule.applies_to(en.paths[p.path as usize].to_str().into_iter()) {
                            continue;
                        }
                        let path = en.paths[p.path as usize].to_str_lossy().into_owned();
                        let mut f = base.clone();
                        f.origin = Origin::relative_file(path);
                        f.git = Some(GitProvenance {
                            commit: Some(meta_of(p.commit)),
                            blob: blob_hex.clone(),
                            in_head,
                            repository: None,
                        });
                        findings.push(f.with_context_note());
                    }
                }
                None => {
                    let path = format!("unreachable blob {blob_hex}");
                    base.origin = Origin::relative_file(path);
                    base.git = Some(GitProvenance {
                        commit: None,
                        blob: blob_hex.clone(),
                        in_head,
                        repository: None,
                    });
                    findings.push(base);
                }
            }
        }
    }
    sort(&mut findings);
    findings
}

/// Metadata of a commit; unreadable parts are left empty (the commit was readable during the
/// walk, so this only happens if the object database changes under the scan).
pub(crate) fn commit_meta(repo: &gix::Repository, id: ObjectId) -> CommitMeta {
    let mut meta = CommitMeta {
        id: id.to_string(),
        author: String::new(),
        email: String::new(),
        date: String::new(),
        summary: String::new(),
    };
    let mut buf = Vec::new();
    if let Ok(commit) = repo.objects.find_commit(&id, &mut buf) {
        if let Ok(author) = commit.author() {
            meta.author = author.name.to_str_lossy().into_owned();
            meta.email = author.email.to_str_lossy().into_owned();
            if let Ok(time) = author.time() {
                meta.date = time.format_or_unix(gix::date::time::format::ISO8601_STRICT);
            }
        }
        meta.summary = commit.message().summary().to_str_lossy().into_owned();
    }
    meta
}

/// Scans what the index adds over `HEAD`. Fails closed: any staged file that cannot be read is
/// an error, and so is a non-empty set of staged files of which none was scanned or skipped for
/// a stated reason.
pub fn scan_staged(
    config: &ScanConfig,
    repo: &gix::Repository,
    on_diagnostic: &(dyn Fn(&Diagnostic) + Sync),
) -> Result<ScanOutcome, staged::Error> {
    let start = Instant::now();
    let counters = Counters::default();
    let files = staged::staged_files(repo)?;
    let analyzer = &config.analyzer;
    let mut work = analyzer.workspace();
    let shared = Scan {
        config,
        counters: &counters,
        on_diagnostic,
    };
    let mut findings = Vec::new();
    let (mut new_buf, mut old_buf) = (Vec::new(), Vec::new());
    let mut accounted = 0usize;
    for file in &files {
        let path = file.path.to_str_lossy().into_owned();
        if config
            .fs
            .exclude
            .as_ref()
            .is_some_and(|g| g.is_match(&path))
        {
            counters.diagnostic(
                &Diagnostic::Skipped {
                    path,
                    reason: SkipReason::Excluded,
                },
                on_diagnostic,
            );
            accounted += 1;
            continue;
        }
        let data = match repo.objects.find_blob(&file.new, &mut new_buf) {
            Ok(b) => b.data,
            Err(e) => {
                let message = format!("cannot read staged blob {}: {e}", file.new);
                counters.diagnostic(&Diagnostic::Error { path, message }, on_diagnostic);
                continue;
            }
        };
        accounted += 1;
        let limit = config.fs.max_blob_size;
        if limit > 0 && data.len() as u64 > limit {
            let reason = SkipReason::TooLarge {
                size: data.len() as u64,
                limit,
            };
            counters.diagnostic(&Diagnostic::Skipped { path, reason }, on_diagnostic);
            continue;
        }
        if crate::detect::looks_binary(data) && !config.fs.keeps_binary(&path) {
            counters.diagnostic(
                &Diagnostic::Skipped {
                    path,
                    reason: SkipReason::Binary,
                },
                on_diagnostic,
            );
            continue;
        }
        counters.scanned(data.len());
        let located = shared.analyze(&mut work, data, &[path.as_str()]);
        if located.is_empty() {
            continue;
        }
        let old = match file.old {
            Some(old) => match repo.objects.find_blob(&old, &mut old_buf) {
                Ok(b) => Some(b.data),
                Err(e) => {
                    let message = format!("cannot read the HEAD version (blob {old}): {e}");
                    counters.diagnostic(
                        &Diagnostic::Error {
                            path: path.clone(),
                            message,
                        },
                        on_diagnostic,
                    );
                    None
                }
            },
            None => None,
        };
        let added: HashSet<usize> = staged::added_lines(old, data).into_iter().collect();
        for l in located {
            if !(l.region.line..=l.region.end_line).any(|line| added.contains(&line)) {
                continue;
            }
            let mut f = analyzer.finding(&l, Origin::relative_file(path.clone()));
            f.git = Some(GitProvenance {
                commit: None,
                blob: file.new.to_string(),
                in_head: None,
                repository: None,
            });
            findings.push(f);
        }
    }
    if !files.is_empty() && accounted == 0 {
        let d = Diagnostic::Error {
            path: staged::root(repo).display().to_string(),
            message: format!(
                "{} staged file(s) but none could be read: refusing to pass the commit",
                files.len()
            ),
        };
        counters.diagnostic(&d, on_diagnostic);
    }
    sort(&mut findings);
    Ok(ScanOutcome {
        findings,
        stats: counters.into_stats(start),
    })
}
