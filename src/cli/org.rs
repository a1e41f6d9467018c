//! `leakhound org`, `leakhound report` and `leakhound merge`: organization scans into a store,
//! reports from a store, and merging the stores of shards.

use std::{
    collections::BTreeSet,
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
    sync::Mutex,
    time::Duration,
};

use anyhow::{Context, bail};
use clap::Args as ClapArgs;

use super::{
    EXIT_CLEAN, EXIT_FINDINGS, FormatArg, GlobalArgs, ScanOptions, diagnostics::DiagnosticPrinter,
    progress::OrgBar, scan::finish,
};
use crate::{
    config::{ScanConfig, ScanSettings},
    pipeline::{
        ScanOutcome, Stats,
        org::{OrgOptions, RepoSpec, scan_org},
    },
    sources::{
        forge::{self, Filters, Target},
        mirror::HttpAuth,
    },
    store::{SqliteStore, Store},
};

/// `leakhound org github:ORG | gitlab:GROUP | --repos FILE`
#[derive(Debug, Clone, ClapArgs)]
pub struct OrgArgs {
    /// `github:OWNER` (an organization or user) or `gitlab:GROUP[/SUBGROUP]` (with subgroups)
    #[arg(
        value_name = "TARGET",
        required_unless_present = "repos",
        conflicts_with = "repos"
    )]
    pub target: Option<String>,
    /// A file listing clone URLs or local repository paths, one per line (`#` comments)
    #[arg(long, value_name = "FILE")]
    pub repos: Option<PathBuf>,
    /// API base URL (GitHub Enterprise: https://HOST/api/v3; self-managed GitLab: https://HOST)
    #[arg(long, value_name = "URL")]
    pub api: Option<String>,
    /// Environment variable holding the API and clone token (never pass a token as an argument)
    #[arg(long, value_name = "VAR")]
    pub token_env: Option<String>,
    /// The findings store (SQLite; created if missing)
    #[arg(long, value_name = "FILE", default_value = "leakhound.db")]
    pub store: PathBuf,
    /// Where bare mirrors are kept between runs
    #[arg(long, value_name = "DIR", default_value = "leakhound-mirrors")]
    pub cache_dir: PathBuf,
    /// Repositories fetched and scanned at once
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub jobs: usize,
    /// Scan only shard K of N (0 <= K < N), by a stable hash of the repository name
    #[arg(long, value_name = "K/N", value_parser = parse_shard)]
    pub shard: Option<(u64, u64)>,
    /// Skip archived repositories
    #[arg(long)]
    pub exclude_archived: bool,
    /// Skip forks
    #[arg(long)]
    pub exclude_forks: bool,
    /// Only repositories of these visibilities (public, private, internal)
    #[arg(long, value_name = "V", value_delimiter = ',')]
    pub visibility: Vec<String>,
    /// Longest wait for an API rate limit to reset, in seconds
    #[arg(long, value_name = "SECS", default_value_t = 3600)]
    pub max_rate_limit_wait: u64,
    /// Shared scan and output options
    #[command(flatten)]
    pub options: ScanOptions,
}

fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (k, n) = s
        .split_once('/')
        .ok_or_else(|| format!("{s:?}: expected K/N"))?;
    let k: u64 = k
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: K is not a number"))?;
    let n: u64 = n
        .trim()
        .parse()
        .map_err(|_| format!("{s:?}: N is not a number"))?;
    if n == 0 || k >= n {
        return Err(format!("{s:?}: need 0 <= K < N"));
    }
    Ok((k, n))
}

/// The shard a repository belongs to: a stable hash (SHA-256) of its name, modulo `n`.
///
/// ```
/// use leakhound::cli::org::shard_of;
/// assert_eq!(shard_of("acme/api", 4), shard_of("acme/api", 4));
/// assert!(shard_of("acme/api", 4) < 4);
/// ```
pub fn shard_of(name: &str, n: u64) -> u64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_be_bytes(first) % n
}

/// The name of a repository given by URL or path: the URL's path without `.git`, or the path.
///
/// ```
/// use leakhound::cli::org::repo_name;
/// assert_eq!(repo_name("https://github.com/acme/api.git"), "acme/api");
/// assert_eq!(repo_name("git@github.com:acme/api.git"), "acme/api");
/// assert_eq!(repo_name("./checkouts/web/"), "./checkouts/web");
/// ```
pub fn repo_name(entry: &str) -> String {
    if let Some((_, rest)) = entry.split_once("://") {
        let path = rest.split_once('/').map_or("", |(_, p)| p);
        return path
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .to_owned();
    }
    if let Some((host, path)) = entry.split_once(':')
        && host.contains('@')
        && !host.contains('/')
    {
        return path
            .trim_end_matches('/')
            .trim_end_matches(".git")
            .to_owned();
    }
    entry.trim_end_matches('/').to_owned()
}

fn read_repos_file(path: &Path) -> anyhow::Result<Vec<RepoSpec>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let mut specs = Vec::new();
    for line in text.lines() {
        let entry = line.trim();
        if entry.is_empty() || entry.starts_with('#') {
            continue;
        }
        let is_url = entry.contains("://") || (entry.contains('@') && entry.contains(':'));
        let local = (!is_url).then(|| {
            let p = Path::new(entry);
            if p.is_absolute() || p.exists() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        });
        specs.push(RepoSpec {
            name: repo_name(entry),
            url: entry.to_owned(),
            local,
        });
    }
    Ok(specs)
}

fn token(var: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some(var) = var else { return Ok(None) };
    match std::env::var(var) {
        Ok(t) if !t.trim().is_empty() => Ok(Some(t.trim().to_owned())),
        _ => bail!("--token-env {var}: the variable is not set or empty"),
    }
}

/// Runs `org`.
pub fn run(global: &GlobalArgs, args: &OrgArgs) -> anyhow::Result<ExitCode> {
    if args.options.show_secrets {
        bail!("--show-secrets: the store keeps no secret values (see `leakhound report --help`)");
    }
    let settings = args.options.settings(PathBuf::from("."));
    let config = ScanConfig::build(&settings).context("failed to set up the scan")?;
    for w in &config.warnings {
        let _ = writeln!(
            std::io::stderr(),
            "leakhound: warning: {}",
            crate::report::escape_control(w)
        );
    }
    let token = token(args.token_env.as_deref())?;
    let (source, mut repos, auth) = match (&args.target, &args.repos) {
        (Some(t), _) => {
            let target = Target::parse(t).map_err(anyhow::Error::msg)?;
            let opts = forge::Options {
                api: args.api.clone(),
                token: token.clone(),
                max_wait: Duration::from_secs(args.max_rate_limit_wait),
            };
            let filters = Filters {
                exclude_archived: args.exclude_archived,
                exclude_forks: args.exclude_forks,
                visibility: args.visibility.clone(),
            };
            let quiet = global.quiet;
            let listed = forge::list(&target, &opts, &filters, &|m| {
                if !quiet {
                    let _ = writeln!(std::io::stderr(), "leakhound: {m}");
                }
            })
            .map_err(anyhow::Error::msg)
            .context("failed to list the repositories")?;
            let specs = listed
                .into_iter()
                .map(|r| RepoSpec {
                    name: r.name,
                    url: r.url,
                    local: None,
                })
                .collect();
            let auth = token.map(|token| HttpAuth {
                username: target.clone_user().to_owned(),
                token,
            });
            (t.clone(), specs, auth)
        }
        (None, Some(file)) => {
            let auth = token.map(|token| HttpAuth {
                username: "x-access-token".into(),
                token,
            });
            let source = format!("repos:{}", file.display());
            (source, read_repos_file(file)?, auth)
        }
        (None, None) => bail!("give a TARGET (github:OWNER, gitlab:GROUP) or --repos FILE"),
    };
    let mut seen = BTreeSet::new();
    repos.retain(|r| seen.insert(r.name.clone()));
    let shard = match args.shard {
        Some((k, n)) => {
            repos.retain(|r| shard_of(&r.name, n) == k);
            format!("{k}/{n}")
        }
        None => String::new(),
    };
    let store = SqliteStore::open(&args.store, &config.detector().rules().digest())?;
    let store: Mutex<Box<dyn Store>> = Mutex::new(Box::new(store));
    let bar = OrgBar::new(!global.quiet && !args.options.no_progress);
    let printer = DiagnosticPrinter::new(global.quiet, global.verbose).with_bar(bar.bar());
    let opts = OrgOptions {
        cache: args.cache_dir.clone(),
        auth,
        jobs: args.jobs,
        source,
        shard,
    };
    let outcome = scan_org(&config, &repos, &store, &opts, &|d| printer.print(d), &bar)?;
    bar.bar().finish();
    printer.finish();
    if !global.quiet {
        let resumed = if outcome.resumed {
            format!(
                " (resumed an interrupted run: {} already done)",
                outcome.already_done
            )
        } else {
            String::new()
        };
        let _ = writeln!(
            std::io::stderr(),
            "leakhound: {} repositories scanned{resumed}, {} failed; {} new blobs, {} already scanned",
            outcome.counts.repositories,
            outcome.counts.failed,
            outcome.counts.new_blobs,
            outcome.counts.known_blobs
        );
    }
    let names: BTreeSet<&str> = repos.iter().map(|r| r.name.as_str()).collect();
    let mut store = store.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut outcome = from_store(&mut *store, &names, &config, outcome.stats)?;
    if let Some(settings) = &config.verify {
        let summary = verify_stored(
            &mut *store,
            &mut outcome.findings,
            &config,
            settings,
            &repos,
            &args.cache_dir,
        )?;
        outcome.stats.verification = Some(summary);
    }
    finish(global, &args.options, &config, &mut outcome, None)
}

/// The store as a verification cache.
struct StoreCache<'a>(&'a mut dyn Store);

impl crate::verify::Cache for StoreCache<'_> {
    fn get(&mut self, secret_id: &str, max_age: Duration) -> Option<crate::verify::Verification> {
        self.0.verification(secret_id, max_age).ok().flatten()
    }

    fn put(&mut self, secret_id: &str, v: &crate::verify::Verification) {
        let _ = self.0.record_verification(secret_id, v);
    }
}

/// `org --verify`: each distinct verifiable secret is checked once, unless the store holds a
/// result younger than `max_age_hours`. The store keeps no values, so those to check are read
/// back from their blobs in the mirrors first.
fn verify_stored(
    store: &mut dyn Store,
    findings: &mut [crate::finding::Finding],
    config: &ScanConfig,
    settings: &crate::verify::Settings,
    repos: &[RepoSpec],
    cache_dir: &Path,
) -> anyhow::Result<crate::verify::Summary> {
    use crate::{pipeline::org::Wanted, verify::Verification};
    use std::{collections::HashMap, sync::Arc};
    let rules = config.detector().rules();
    let mut results: HashMap<String, Verification> = HashMap::new();
    let mut wanted: Vec<Wanted> = Vec::new();
    // The rule of each distinct secret id (the first finding's).
    let mut rule_of: HashMap<&str, &str> = HashMap::new();
    let mut cached = 0;
    for f in findings.iter() {
        if rule_of.insert(&f.secret_id, &f.rule_id).is_some() {
            continue;
        }
        if rules.get(&f.rule_id).is_none_or(|r| r.verify.is_none()) {
            results.insert(
                f.secret_id.clone(),
                Verification::unknown("unsupported: no live check for this rule"),
            );
            continue;
        }
        if let Some(v) = store.verification(&f.secret_id, settings.max_age)? {
            cached += 1;
            results.insert(f.secret_id.clone(), v);
            continue;
        }
        let Some(g) = &f.git else { continue };
        wanted.push(Wanted {
            secret_id: f.secret_id.clone(),
            repo: g.repository.as_deref().unwrap_or_default().to_owned(),
            blob: g.blob.clone(),
            path: f.origin.relative().to_owned(),
        });
    }
    let values = crate::pipeline::org::recover_values(config, repos, cache_dir, &wanted);
    let mut targets = Vec::new();
    let mut ids = Vec::new();
    for w in &wanted {
        match values.get(&w.secret_id) {
            Some((secret, companion)) => {
                let rule = rule_of
                    .get(w.secret_id.as_str())
                    .and_then(|id| rules.get(id));
                targets.push(rule.map(|rule| crate::verify::Target {
                    rule,
                    secret,
                    companion: companion.as_ref(),
                }));
                ids.push(w.secret_id.as_str());
            }
            None => {
                results.insert(
                    w.secret_id.clone(),
                    Verification::unknown("the value could not be read back from the repository"),
                );
            }
        }
    }
    let verifier = crate::verify::Verifier::new(settings.clone());
    let mut cache = StoreCache(store);
    let (checked, mut summary) = verifier.verify(&targets, &ids, Some(&mut cache));
    for (id, v) in ids.iter().zip(checked) {
        results.insert((*id).to_owned(), v);
    }
    summary.tally(results.values());
    summary.cached += cached;
    let shared: HashMap<String, Arc<Verification>> =
        results.into_iter().map(|(k, v)| (k, Arc::new(v))).collect();
    for f in findings.iter_mut() {
        f.verification = shared.get(&f.secret_id).cloned();
    }
    Ok(summary)
}

/// The findings of the repositories `names` (all if empty) as the reporters take them, sorted,
/// with `stats` counting them per repository.
fn from_store(
    store: &mut dyn Store,
    names: &BTreeSet<&str>,
    config: &ScanConfig,
    mut stats: Stats,
) -> anyhow::Result<ScanOutcome> {
    let mut findings: Vec<_> = store
        .findings()?
        .into_iter()
        .filter(|f| names.is_empty() || names.contains(f.repo.as_str()))
        .map(|f| f.to_finding(config.detector().rules()))
        .collect();
    crate::pipeline::sort(&mut findings);
    let kept: std::collections::HashMap<String, std::sync::Arc<crate::verify::Verification>> =
        store
            .verifications()?
            .into_iter()
            .map(|(id, v)| (id, std::sync::Arc::new(v)))
            .collect();
    for f in &mut findings {
        f.verification = kept.get(&f.secret_id).cloned();
    }
    for f in &findings {
        if let Some(r) = f.git.as_ref().and_then(|g| g.repository.as_deref()) {
            *stats.by_repository.entry(r.to_owned()).or_default() += 1;
        }
    }
    Ok(ScanOutcome { findings, stats })
}

/// `leakhound report`
#[derive(Debug, Clone, ClapArgs)]
pub struct ReportArgs {
    /// The store `leakhound org` wrote
    #[arg(long, value_name = "FILE", default_value = "leakhound.db")]
    pub store: PathBuf,
    /// Re-filter and re-render a saved JSON or JSONL report (of any scan) instead of a store;
    /// needs neither the sources nor the store
    #[arg(long, value_name = "REPORT", conflicts_with_all = ["store", "repos"])]
    pub from: Option<PathBuf>,
    /// Only findings of at least this severity
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_severity: Option<SeverityArg>,
    /// Only these rules: ids or globs such as `aws.*` (repeatable)
    #[arg(long = "rule", value_name = "ID")]
    pub rule_filter: Vec<String>,
    /// Only findings at paths matching this glob (repeatable; `**` crosses directories)
    #[arg(long = "path", value_name = "GLOB")]
    pub path_filter: Vec<String>,
    /// Show secret values, if the report holds them (`--from` a report written with
    /// --show-secrets)
    #[arg(long, requires = "from")]
    pub show_secrets: bool,
    /// Output format
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Write the report to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// JSON/JSONL: one record per secret with a `locations` array
    #[arg(long)]
    pub group: bool,
    /// Hide findings below this confidence [default: medium]
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_confidence: Option<super::ConfidenceArg>,
    /// Only these repositories (repeatable)
    #[arg(long = "repo", value_name = "NAME")]
    pub repos: Vec<String>,
    /// Extra rule files (for the playbooks of custom rules)
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Report only secrets not in this baseline file
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Suppressions file [default: .leakhoundignore in the working directory, if present]
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// Exit code when findings exist
    #[arg(long, value_name = "N", default_value_t = EXIT_FINDINGS)]
    pub exit_code: u8,
    /// Show only secrets `org --verify` found active
    #[arg(long)]
    pub only_verified: bool,
    /// Which findings fail the run: any, or only secrets `org --verify` found active
    #[arg(long, value_enum, value_name = "WHICH")]
    pub fail_on: Option<super::FailOn>,
}

/// `--min-severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SeverityArg {
    /// Everything
    Low,
    /// Medium, high and critical
    Medium,
    /// High and critical
    High,
    /// Critical only
    Critical,
}

impl From<SeverityArg> for crate::rules::Severity {
    fn from(s: SeverityArg) -> Self {
        match s {
            SeverityArg::Low => Self::Low,
            SeverityArg::Medium => Self::Medium,
            SeverityArg::High => Self::High,
            SeverityArg::Critical => Self::Critical,
        }
    }
}

/// Runs `report`.
pub fn report(global: &GlobalArgs, args: &ReportArgs) -> anyhow::Result<ExitCode> {
    if let Some(from) = &args.from {
        return report_from(global, args, from);
    }
    if !args.store.is_file() {
        bail!(
            "{}: no such store (run `leakhound org … --store {}` first)",
            args.store.display(),
            args.store.display()
        );
    }
    let (options, config) = report_setup(args)?;
    let mut store = SqliteStore::open(&args.store, &config.detector().rules().digest())?;
    let wanted: BTreeSet<&str> = args.repos.iter().map(String::as_str).collect();
    let repos = store.repos()?;
    let shown: Vec<_> = repos
        .iter()
        .filter(|r| wanted.is_empty() || wanted.contains(r.name.as_str()))
        .collect();
    let last = store.last_run()?;
    let stats = Stats {
        repositories: Some(shown.len() as u64),
        new_blobs: last.as_ref().map(|c| c.new_blobs),
        known_blobs: last.as_ref().map(|c| c.known_blobs),
        errors: shown.iter().filter(|r| r.error.is_some()).count() as u64,
        ..Stats::default()
    };
    for r in shown.iter().filter(|r| r.error.is_some()) {
        let _ = writeln!(
            std::io::stderr(),
            "leakhound: warning: {}: last scan failed: {}",
            r.name,
            r.error.as_deref().unwrap_or("")
        );
    }
    let mut outcome = from_store(&mut store, &wanted, &config, stats)?;
    finish(global, &options, &config, &mut outcome, None)
}

/// The output options and configuration of `report` (rules for playbooks, suppressions).
fn report_setup(args: &ReportArgs) -> anyhow::Result<(ScanOptions, ScanConfig)> {
    let options = ScanOptions {
        format: args.format,
        output: args.output.clone(),
        show_secrets: args.show_secrets,
        config: None,
        rules: args.rules.clone(),
        threads: 1,
        max_file_size: None,
        exit_code: args.exit_code,
        baseline: args.baseline.clone(),
        ignore_file: args.ignore_file.clone(),
        no_inline_allow: false,
        group: args.group,
        min_confidence: args.min_confidence,
        no_progress: true,
        decode_depth: None,
        verify: false,
        only_verified: args.only_verified,
        fail_on: args.fail_on,
        allow_incomplete: false,
    };
    let settings = ScanSettings {
        small_inputs: true,
        ..options.settings(PathBuf::from("."))
    };
    let config = ScanConfig::build(&settings).context("failed to set up the report")?;
    Ok((options, config))
}

/// `report --from`: a saved report, filtered and rendered again.
fn report_from(global: &GlobalArgs, args: &ReportArgs, from: &Path) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(from)
        .with_context(|| format!("failed to read {}", from.display()))?;
    let (mut findings, stats) =
        crate::report::read::read(&text).map_err(|e| anyhow::anyhow!("{}: {e}", from.display()))?;
    let (options, config) = report_setup(args)?;
    // Why: rule ids hold no `/`, paths do; `**` crosses directories in a path glob only.
    let rules = glob_set(&args.rule_filter, false)?;
    let paths = glob_set(&args.path_filter, true)?;
    let min_severity = args.min_severity.map(crate::rules::Severity::from);
    findings.retain(|f| {
        min_severity.is_none_or(|m| f.severity >= m)
            && rules.as_ref().is_none_or(|g| g.is_match(&f.rule_id))
            && paths
                .as_ref()
                .is_none_or(|g| g.is_match(f.origin.relative()))
    });
    let mut outcome = ScanOutcome { findings, stats };
    finish(global, &options, &config, &mut outcome, None)
}

/// The filter globs of `report --from`, `None` when there are none.
fn glob_set(globs: &[String], literal_separator: bool) -> anyhow::Result<Option<globset::GlobSet>> {
    if globs.is_empty() {
        return Ok(None);
    }
    let mut set = globset::GlobSetBuilder::new();
    for g in globs {
        set.add(
            globset::GlobBuilder::new(g)
                .literal_separator(literal_separator)
                .build()
                .with_context(|| format!("invalid glob {g:?}"))?,
        );
    }
    Ok(Some(set.build().context("invalid globs")?))
}

/// `leakhound merge`
#[derive(Debug, Clone, ClapArgs)]
pub struct MergeArgs {
    /// Stores to merge (e.g. one per shard)
    #[arg(value_name = "STORE", required = true)]
    pub inputs: Vec<PathBuf>,
    /// The merged store (created, or added to if it exists)
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
}

/// Runs `merge`.
pub fn merge(global: &GlobalArgs, args: &MergeArgs) -> anyhow::Result<ExitCode> {
    for input in &args.inputs {
        if !input.is_file() {
            bail!("{}: no such store", input.display());
        }
    }
    let mut out = SqliteStore::open(&args.output, "")?;
    for input in &args.inputs {
        let counts = out
            .merge_from(input)
            .with_context(|| format!("failed to merge {}", input.display()))?;
        if !global.quiet {
            let _ = writeln!(
                std::io::stderr(),
                "leakhound: merged {}: {} new repositories, {} new blobs, {} new locations",
                input.display(),
                counts.repos,
                counts.blobs,
                counts.locations
            );
        }
    }
    Ok(ExitCode::from(EXIT_CLEAN))
}
