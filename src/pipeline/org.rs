//! Organization scans: many repositories, each mirrored (or opened in place), its new history
//! enumerated, its blobs not already in the store scanned, and everything recorded in a
//! [`Store`].
//!
//! - **Bounded**: `jobs` workers take one repository at a time; a worker holds one repository's
//!   enumeration and one batch of results, whatever the number of repositories. Matching runs
//!   on one shared rayon pool.
//! - **Incremental**: a repository's next scan hides the commits its last scan reached, and a
//!   blob already in the store (from any repository) is not read again; its stored matches are
//!   attributed to the new places.
//! - **Resumable**: blobs are recorded in batches as they are scanned and each repository when
//!   it is done, each in its own transaction; a killed run, started again, continues its run and
//!   skips the repositories that run completed.

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    },
    time::Instant,
};

use gix::{ObjectId, bstr::ByteSlice};

use super::{Counters, Scan, Stats, git::BlobScan};
use crate::{
    config::ScanConfig,
    finding::Origin,
    sources::{
        Diagnostic,
        git::{self, Enumeration, Selection},
        mirror::{self, HttpAuth},
    },
    store::{BlobKey, LocationRecord, RepoUpdate, RunCounts, ScannedBlob, Store, StoredMatch},
};

/// Blobs scanned between two store commits.
const BATCH: usize = 4096;

/// One repository to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSpec {
    /// Its name in reports and in the store (`owner/name`, or the path as given).
    pub name: String,
    /// Clone URL, or the local path.
    pub url: String,
    /// A local repository, scanned in place (not mirrored).
    pub local: Option<PathBuf>,
}

/// How to run an organization scan.
#[derive(Debug, Clone)]
pub struct OrgOptions {
    /// Where mirrors live.
    pub cache: PathBuf,
    /// Credentials for HTTPS remotes.
    pub auth: Option<HttpAuth>,
    /// Repositories in flight at once.
    pub jobs: usize,
    /// What the run scans (`github:acme`, a repos file), to resume the right run.
    pub source: String,
    /// `K/N`, or empty.
    pub shard: String,
}

/// Progress of an organization scan.
pub trait OrgProgress: Sync {
    /// The number of repositories.
    fn repositories(&self, _total: u64) {}
    /// A repository was started.
    fn started(&self, _name: &str) {}
    /// A repository is done (`None`) or failed (`Some(error)`).
    fn done(&self, _name: &str, _error: Option<&str>) {}
    /// More blobs and bytes were scanned, and findings found.
    fn scanned(&self, _blobs: u64, _bytes: u64, _findings: u64) {}
}

struct BlobProgress<'a>(&'a dyn OrgProgress);

impl super::Progress for BlobProgress<'_> {
    fn advance(&self, inputs: u64, bytes: u64) {
        self.0.scanned(inputs, bytes, 0);
    }
}

/// What an organization scan did.
#[derive(Debug, Default)]
pub struct OrgOutcome {
    /// Counters over every repository (findings are in the store).
    pub stats: Stats,
    /// The run's counts, as recorded in the store.
    pub counts: RunCounts,
    /// Whether an interrupted run was continued.
    pub resumed: bool,
    /// Repositories skipped because the resumed run had completed them.
    pub already_done: u64,
    /// Repositories that could not be scanned, with why.
    pub failures: Vec<(String, String)>,
}

/// Scans `repos` into `store`.
pub fn scan_org(
    config: &ScanConfig,
    repos: &[RepoSpec],
    store: &Mutex<Box<dyn Store>>,
    opts: &OrgOptions,
    on_diagnostic: &(dyn Fn(&Diagnostic) + Sync),
    progress: &dyn OrgProgress,
) -> Result<OrgOutcome, crate::store::Error> {
    let start = Instant::now();
    let lock = || store.lock().unwrap_or_else(|p| p.into_inner());
    let run = lock().begin_run(&opts.source, &opts.shard)?;
    let mut todo = Vec::new();
    let mut already_done = 0;
    for r in repos {
        if run.resumed && lock().completed_in(run.id, &r.name)? {
            already_done += 1;
        } else {
            todo.push(r);
        }
    }
    progress.repositories(todo.len() as u64);
    let counters = Counters::default();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(config.fs.threads)
        .build()
        .ok();
    let shared = Shared {
        config,
        store,
        opts,
        counters: &counters,
        on_diagnostic,
        progress,
        pool: pool.as_ref(),
        run: run.id,
        new_blobs: AtomicU64::new(0),
        known_blobs: AtomicU64::new(0),
        commits: AtomicU64::new(0),
        interrupt: AtomicBool::new(false),
        failures: Mutex::new(Vec::new()),
        incomplete: AtomicU64::new(0),
        store_error: Mutex::new(None),
    };
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1).min(todo.len().max(1)) {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(spec) = todo.get(i) else { break };
                    if shared.interrupt.load(Ordering::Relaxed) {
                        break;
                    }
                    progress.started(&spec.name);
                    let error = shared.repository(spec);
                    progress.done(&spec.name, error.as_deref());
                }
            });
        }
    });
    let Shared {
        new_blobs,
        known_blobs,
        commits,
        failures,
        store_error,
        incomplete,
        ..
    } = shared;
    if let Some(e) = store_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let failures = failures.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut stats = counters.into_stats(start);
    let counts = RunCounts {
        repositories: todo.len() as u64,
        failed: failures.len() as u64 + incomplete.into_inner(),
        new_blobs: new_blobs.into_inner(),
        known_blobs: known_blobs.into_inner(),
        bytes: stats.bytes,
    };
    stats.commits = Some(commits.into_inner());
    stats.repositories = Some(todo.len() as u64);
    stats.new_blobs = Some(counts.new_blobs);
    stats.known_blobs = Some(counts.known_blobs);
    stats.errors += failures.len() as u64;
    lock().finish_run(run.id, &counts)?;
    Ok(OrgOutcome {
        stats,
        counts,
        resumed: run.resumed,
        already_done,
        failures,
    })
}

struct Shared<'a> {
    config: &'a ScanConfig,
    store: &'a Mutex<Box<dyn Store>>,
    opts: &'a OrgOptions,
    counters: &'a Counters,
    on_diagnostic: &'a (dyn Fn(&Diagnostic) + Sync),
    progress: &'a dyn OrgProgress,
    pool: Option<&'a rayon::ThreadPool>,
    run: i64,
    new_blobs: AtomicU64,
    known_blobs: AtomicU64,
    commits: AtomicU64,
    interrupt: AtomicBool,
    failures: Mutex<Vec<(String, String)>>,
    /// Repositories scanned with objects that could not be read (their errors are counted
    /// where they were found).
    incomplete: AtomicU64,
    store_error: Mutex<Option<crate::store::Error>>,
}

/// Why a repository scan stopped.
enum Stop {
    /// The repository could not be fetched or read: recorded, and the run goes on.
    Repo(String),
    /// The store failed: the run stops.
    Store(crate::store::Error),
}

impl From<crate::store::Error> for Stop {
    fn from(e: crate::store::Error) -> Stop {
        Stop::Store(e)
    }
}

impl Shared<'_> {
    fn store(&self) -> std::sync::MutexGuard<'_, Box<dyn Store>> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Scans one repository; returns its error, if it failed.
    fn repository(&self, spec: &RepoSpec) -> Option<String> {
        match self.scan(spec) {
            Ok(()) => None,
            Err(Stop::Repo(message)) => {
                let update = RepoUpdate {
                    name: spec.name.clone(),
                    url: spec.url.clone(),
                    error: Some(message.clone()),
                    ..Default::default()
                };
                if let Err(e) = self.store().record_repo(self.run, &update) {
                    self.fail_store(e);
                }
                (self.on_diagnostic)(&Diagnostic::Error {
                    path: spec.name.clone(),
                    message: message.clone(),
                });
                self.failures
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push((spec.name.clone(), message.clone()));
                Some(message)
            }
            Err(Stop::Store(e)) => {
                let message = e.to_string();
                self.fail_store(e);
                Some(message)
            }
        }
    }

    fn fail_store(&self, e: crate::store::Error) {
        self.interrupt.store(true, Ordering::Relaxed);
        self.store_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert(e);
    }

    fn scan(&self, spec: &RepoSpec) -> Result<(), Stop> {
        let repo = match &spec.local {
            Some(path) => git::open(path).map_err(|e| Stop::Repo(e.to_string()))?,
            None => {
                let dir = mirror::mirror_dir(&self.opts.cache, &spec.url);
                mirror::update(&spec.url, &dir, self.opts.auth.as_ref(), &self.interrupt)
                    .map_err(|e| Stop::Repo(e.to_string()))?
                    .repo
            }
        };
        let analyzer = &self.config.analyzer;
        let detector = analyzer.detector();
        let rules_digest = detector.rules().digest();
        let prior = self.store().repo(&spec.name)?;
        let hide: Vec<ObjectId> = prior
            .filter(|p| p.rules == rules_digest && p.error.is_none())
            .map(|p| {
                p.tips
                    .iter()
                    .filter_map(|t| ObjectId::from_hex(t.as_bytes()).ok())
                    .collect()
            })
            .unwrap_or_default();
        let selection = Selection {
            hide,
            ..Selection::default()
        };
        let mut en = git::enumerate(&repo, &selection).map_err(|e| Stop::Repo(e.to_string()))?;
        // Why: an object that could not be read is a place a secret may sit; the repository
        // is recorded as incomplete so that the next run scans it again in full.
        let mut unread = en
            .diagnostics
            .iter()
            .filter(|d| matches!(d, Diagnostic::Error { .. }))
            .count();
        for d in &en.diagnostics {
            let d = prefixed(&spec.name, d);
            self.counters.diagnostic(&d, self.on_diagnostic);
        }
        super::git::apply_excludes(self.config, &mut en, self.counters, self.on_diagnostic);
        self.commits
            .fetch_add(en.commits.len() as u64, Ordering::Relaxed);

        let scopes = Scopes::new(self.config, &en);
        // Blobs already in the store keep their stored matches; the rest are scanned. Each
        // blob's key is computed once.
        let mut with_matches: Vec<(ObjectId, BlobKey, Vec<StoredMatch>)> = Vec::new();
        let mut new: Vec<(ObjectId, BlobKey)> = Vec::new();
        {
            let mut store = self.store();
            for id in &en.order {
                let key = scopes.key(id);
                match store.blob(&key)? {
                    Some(ms) if !ms.is_empty() => with_matches.push((*id, key, ms)),
                    Some(_) => {}
                    None => new.push((*id, key)),
                }
            }
        }
        self.known_blobs
            .fetch_add((en.order.len() - new.len()) as u64, Ordering::Relaxed);
        let progress = BlobProgress(self.progress);
        for batch in new.chunks(BATCH) {
            if self.interrupt.load(Ordering::Relaxed) {
                return Err(Stop::Repo("interrupted".into()));
            }
            let ids: Vec<ObjectId> = batch.iter().map(|(id, _)| *id).collect();
            let on_diagnostic = |d: &Diagnostic| (self.on_diagnostic)(&prefixed(&spec.name, d));
            let blobs = BlobScan {
                shared: Scan {
                    config: self.config,
                    counters: self.counters,
                    on_diagnostic: &on_diagnostic,
                },
                repo: &repo,
                en: &en,
                progress: &progress,
                pool: self.pool,
            };
            let (located, unreadable) = blobs.scan(&ids);
            let mut found: HashMap<ObjectId, Vec<StoredMatch>> = located
                .into_iter()
                .map(|(id, ls)| {
                    (
                        id,
                        ls.iter()
                            .map(|l| StoredMatch::new(analyzer.finding(l, Origin::Stdin)))
                            .collect(),
                    )
                })
                .collect();
            let unreadable: HashSet<ObjectId> = unreadable.into_iter().collect();
            unread += unreadable.len();
            let scanned: Vec<ScannedBlob> = batch
                .iter()
                .filter(|(id, _)| !unreadable.contains(id))
                .map(|(id, key)| ScannedBlob {
                    key: key.clone(),
                    matches: found.get(id).cloned().unwrap_or_default(),
                })
                .collect();
            let added = self.store().record_blobs(&scanned)?;
            self.new_blobs.fetch_add(added, Ordering::Relaxed);
            self.known_blobs
                .fetch_add(scanned.len() as u64 - added, Ordering::Relaxed);
            with_matches.extend(
                batch
                    .iter()
                    .filter_map(|(id, key)| Some((*id, key.clone(), found.remove(id)?))),
            );
        }

        let mut locations = Vec::new();
        let mut metas: HashMap<u32, crate::finding::CommitMeta> = HashMap::new();
        for (id, key, matches) in &with_matches {
            for place in en.blobs.get(id).into_iter().flatten() {
                let path = en.paths[place.path as usize].to_str_lossy();
                let commit = metas
                    .entry(place.commit)
                    .or_insert_with(|| {
                        super::git::commit_meta(&repo, en.commits[place.commit as usize])
                    })
                    .clone();
                for m in matches {
                    // A path-scoped rule is reported only at the places in its scope.
                    let in_scope = detector
                        .rules()
                        .get(&m.rule_id)
                        .is_none_or(|r| r.applies_to(std::iter::once(path.as_ref())));
                    if in_scope {
                        locations.push(LocationRecord {
                            key: key.clone(),
                            matched: m.clone(),
                            path: path.clone().into_owned(),
                            commit: Some(commit.clone()),
                        });
                    }
                }
            }
        }
        self.progress.scanned(0, 0, locations.len() as u64);
        let head_secrets = self.head_secrets(&repo, &spec.name, &locations)?;
        let update = RepoUpdate {
            name: spec.name.clone(),
            url: spec.url.clone(),
            tips: en.tips.iter().map(ToString::to_string).collect(),
            locations,
            head_secrets,
            commits: en.commits.len() as u64,
            error: (unread > 0).then(|| {
                format!(
                    "incomplete: {unread} object(s) could not be read; the next run scans this repository again in full"
                )
            }),
        };
        self.store().record_repo(self.run, &update)?;
        if unread > 0 {
            self.incomplete.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    /// The secrets of a repository still in its `HEAD` (`None` when `HEAD` is unborn): those of
    /// its recorded and new locations whose blob is in `HEAD`'s tree. The tree is read only when
    /// the repository has any location.
    fn head_secrets(
        &self,
        repo: &gix::Repository,
        name: &str,
        new: &[LocationRecord],
    ) -> Result<Option<Vec<String>>, Stop> {
        let mut located: Vec<(String, String)> = self.store().located_secrets(name)?;
        located.extend(
            new.iter()
                .map(|l| (l.key.oid.clone(), l.matched.secret_id.clone())),
        );
        if located.is_empty() {
            return Ok(repo.head_tree_id().is_ok().then(Vec::new));
        }
        let Some(head) = git::head_blobs(repo) else {
            return Ok(None);
        };
        let mut secrets: Vec<String> = located
            .into_iter()
            .filter(|(oid, _)| {
                ObjectId::from_hex(oid.as_bytes()).is_ok_and(|id| head.contains(&id))
            })
            .map(|(_, secret)| secret)
            .collect();
        secrets.sort();
        secrets.dedup();
        Ok(Some(secrets))
    }
}

/// A diagnostic with the repository name in front of its path.
fn prefixed(repo: &str, d: &Diagnostic) -> Diagnostic {
    match d.clone() {
        Diagnostic::Skipped { path, reason } => Diagnostic::Skipped {
            path: format!("{repo}:{path}"),
            reason,
        },
        Diagnostic::Warning { path, kind } => Diagnostic::Warning {
            path: format!("{repo}:{path}"),
            kind,
        },
        Diagnostic::Error { path, message } => Diagnostic::Error {
            path: format!("{repo}:{path}"),
            message,
        },
    }
}

/// The scope of each blob: which path-dependent rules applied at its places.
struct Scopes<'a> {
    en: &'a Enumeration,
    /// Scope of each interned path.
    by_path: Vec<String>,
}

impl<'a> Scopes<'a> {
    fn new(config: &ScanConfig, en: &'a Enumeration) -> Scopes<'a> {
        let scoped: Vec<&crate::rules::Rule> = config
            .detector()
            .rules()
            .rules()
            .iter()
            .filter(|r| r.paths.is_some())
            .collect();
        let by_path = en
            .paths
            .iter()
            .map(|p| {
                let path = p.to_str_lossy();
                let mut parts: Vec<&str> = scoped
                    .iter()
                    .filter(|r| r.applies_to(std::iter::once(path.as_ref())))
                    .map(|r| r.id.as_str())
                    .collect();
                if let Some(system) = crate::ci::system(&path) {
                    parts.push(system.as_str());
                }
                parts.join(",")
            })
            .collect();
        Scopes { en, by_path }
    }

    fn key(&self, id: &ObjectId) -> BlobKey {
        let mut parts: Vec<&str> = self
            .en
            .blobs
            .get(id)
            .into_iter()
            .flatten()
            .map(|p| self.by_path[p.path as usize].as_str())
            .filter(|s| !s.is_empty())
            .collect();
        parts.sort_unstable();
        parts.dedup();
        BlobKey {
            oid: id.to_string(),
            scope: parts.join(";"),
        }
    }
}

/// A secret whose value is wanted again (to verify it): where one copy of it lives.
#[derive(Debug, Clone)]
pub struct Wanted {
    /// Its secret id.
    pub secret_id: String,
    /// The repository.
    pub repo: String,
    /// The blob id.
    pub blob: String,
    /// A path of the blob (path-scoped rules need it).
    pub path: String,
}

/// Reads the values of stored secrets back from their repositories (the store keeps none):
/// each blob is read from its mirror or local repository and analyzed again, and the match
/// with the wanted secret id gives the value and its other half. Secrets whose blob cannot be
/// read are left out.
pub fn recover_values(
    config: &ScanConfig,
    repos: &[RepoSpec],
    cache: &std::path::Path,
    wanted: &[Wanted],
) -> HashMap<String, (crate::secret::Secret, Option<crate::secret::Secret>)> {
    let mut by_repo: HashMap<&str, Vec<&Wanted>> = HashMap::new();
    for w in wanted {
        by_repo.entry(w.repo.as_str()).or_default().push(w);
    }
    let analyzer = &config.analyzer;
    let mut work = analyzer.workspace();
    let mut out = HashMap::new();
    for (name, items) in by_repo {
        let Some(spec) = repos.iter().find(|r| r.name == name) else {
            continue;
        };
        let dir = spec
            .local
            .clone()
            .unwrap_or_else(|| mirror::mirror_dir(cache, &spec.url));
        let Ok(repo) = git::open(&dir) else { continue };
        for w in items {
            let Ok(oid) = ObjectId::from_hex(w.blob.as_bytes()) else {
                continue;
            };
            let Ok(object) = repo.find_object(oid) else {
                continue;
            };
            let paths = [w.path.as_str()];
            let blob = crate::analysis::Blob {
                bytes: &object.data,
                paths: &paths,
            };
            let found = analyzer.analyze(blob, &mut work);
            for l in found.located {
                let rule = analyzer.detector().rule(l.rule);
                if l.secret.id(&rule.id) == w.secret_id {
                    out.insert(w.secret_id.clone(), (l.secret, l.companion));
                    break;
                }
            }
        }
    }
    out
}
