//! `leakhound revoke`: revoke leaked secrets through their providers' token-only revocation
//! APIs, from a scan of paths or from a saved JSON report that holds the values. A dry run
//! unless `--yes`; every action is appended to an audit log (never the value).

use std::{
    collections::{BTreeMap, HashSet},
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::{Context, bail};
use clap::Args as ClapArgs;
use serde::Serialize;

use super::{
    EXIT_CLEAN, EXIT_ERROR, GlobalArgs,
    scan::{ScanArgs, end_of_run, scan},
};
use crate::{
    config::ConfigFile,
    rules::RuleSet,
    secret::Secret,
    verify::{
        http::Client,
        provider_key,
        revoke::{Item, Outcome, revoke},
    },
};

/// The audit log written when `--audit-log` is not given.
pub const AUDIT_LOG: &str = "leakhound-revocations.jsonl";

/// `leakhound revoke [PATH]... | --from REPORT.json`
#[derive(Debug, Clone, ClapArgs)]
pub struct RevokeArgs {
    /// A `--format json` or `jsonl` report written with `--show-secrets` (instead of scanning)
    #[arg(long, value_name = "REPORT")]
    pub from: Option<PathBuf>,
    /// Only this secret id (or an unambiguous prefix of at least 8 digits; repeatable)
    #[arg(long = "id", value_name = "SECRET_ID")]
    pub ids: Vec<String>,
    /// Revoke: without it, print what would be revoked and change nothing
    #[arg(long)]
    pub yes: bool,
    /// Append one JSON line per action here
    #[arg(long, value_name = "FILE", default_value = AUDIT_LOG)]
    pub audit_log: PathBuf,
    /// What to scan when there is no --from (and the scan options)
    #[command(flatten)]
    pub scan: ScanArgs,
}

/// A secret that can be revoked.
struct Candidate {
    rule_id: String,
    secret_id: String,
    secret: Secret,
    provider: String,
}

/// One line of the audit log.
#[derive(Serialize)]
struct AuditLine<'a> {
    time: String,
    secret_id: &'a str,
    rule_id: &'a str,
    provider: &'a str,
    outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    detail: Option<&'a str>,
}

/// Runs `revoke`.
pub fn run(global: &GlobalArgs, args: &RevokeArgs) -> anyhow::Result<ExitCode> {
    let (rules, endpoints, found) = match &args.from {
        Some(report) => {
            let config_path = args.scan.options.config.clone().or_else(|| {
                Some(PathBuf::from(crate::config::CONFIG_FILE_NAME)).filter(|p| p.is_file())
            });
            let file = match &config_path {
                Some(p) => ConfigFile::load(p)?,
                None => ConfigFile::default(),
            };
            let mut rules = RuleSet::builtin().context("failed to load the built-in rules")?;
            for extra in &args.scan.options.rules {
                rules.add_path(extra)?;
            }
            let endpoints = endpoints(&file)?;
            let found = from_report(report, &rules)?;
            (std::sync::Arc::new(rules), endpoints, found)
        }
        None => {
            let (config, mut outcome, _) = scan(global, &args.scan, |s| s)?;
            let mut used = Vec::new();
            config.suppressions.apply(
                &mut outcome.findings,
                &mut outcome.stats.suppressed,
                &mut used,
            );
            let file = match &config.config_file {
                Some(p) => ConfigFile::load(p)?,
                None => ConfigFile::default(),
            };
            let endpoints = endpoints(&file)?;
            let found = outcome
                .findings
                .into_iter()
                .map(|f| Candidate {
                    rule_id: f.rule_id,
                    secret_id: f.secret_id,
                    secret: f.secret,
                    provider: f.provider,
                })
                .collect();
            let rules = config.detector().shared_rules();
            end_of_run(config);
            (rules, endpoints, found)
        }
    };
    let mut seen = HashSet::new();
    let mut chosen: Vec<Candidate> = Vec::new();
    let mut not_revocable = 0usize;
    for c in found {
        if !seen.insert(c.secret_id.clone()) || !selected(&args.ids, &c.secret_id) {
            continue;
        }
        if rules.get(&c.rule_id).is_some_and(|r| r.revoke.is_some()) {
            chosen.push(c);
        } else {
            not_revocable += 1;
        }
    }
    for id in &args.ids {
        if id.len() < 8 {
            bail!("--id {id}: give at least 8 digits of the secret id");
        }
    }
    let mut out = std::io::stdout().lock();
    if not_revocable > 0 && !global.quiet {
        let (n, verb) = if not_revocable == 1 {
            ("1 other secret".to_owned(), "has")
        } else {
            (format!("{not_revocable} other secrets"), "have")
        };
        let _ = writeln!(
            std::io::stderr(),
            "leakhound: {n} {verb} no token-only revocation API: revoke them as `leakhound explain RULE_ID` says"
        );
    }
    if chosen.is_empty() {
        writeln!(out, "Nothing to revoke.")?;
        return Ok(ExitCode::from(EXIT_CLEAN));
    }
    if !args.yes {
        for c in &chosen {
            writeln!(
                out,
                "would revoke  {}  {}  id {}  ({})",
                c.rule_id,
                c.secret.redacted(),
                c.secret_id,
                how(&rules, &c.rule_id, &endpoints)
            )?;
        }
        writeln!(
            out,
            "Dry run: {} would be revoked. Run again with --yes to revoke them (this cannot be undone).",
            plural(chosen.len())
        )?;
        return Ok(ExitCode::from(EXIT_CLEAN));
    }
    let items: Vec<Item<'_>> = chosen
        .iter()
        .filter_map(|c| {
            Some(Item {
                rule: rules.get(&c.rule_id)?,
                secret: c.secret.expose(),
            })
        })
        .collect();
    let client = Client::new(std::time::Duration::from_secs(15));
    let outcomes = revoke(&client, &endpoints, &items);
    let mut log = open_log(&args.audit_log)?;
    let mut failed = 0;
    for (c, outcome) in chosen.iter().zip(&outcomes) {
        let detail = match outcome {
            Outcome::Failed(d) => {
                failed += 1;
                Some(d.as_str())
            }
            _ => None,
        };
        let line = AuditLine {
            time: crate::timestamp::rfc3339_now(),
            secret_id: &c.secret_id,
            rule_id: &c.rule_id,
            provider: &c.provider,
            outcome: outcome.as_str(),
            detail,
        };
        serde_json::to_writer(&mut log, &line)?;
        writeln!(log)?;
        writeln!(
            out,
            "{:<16}  {}  {}  id {}{}",
            outcome.as_str(),
            c.rule_id,
            c.secret.redacted(),
            c.secret_id,
            detail.map(|d| format!(": {d}")).unwrap_or_default()
        )?;
    }
    log.flush()?;
    writeln!(
        out,
        "{} of {} done; audit log: {}",
        chosen.len() - failed,
        plural(chosen.len()),
        args.audit_log.display()
    )?;
    Ok(ExitCode::from(if failed > 0 {
        EXIT_ERROR
    } else {
        EXIT_CLEAN
    }))
}

fn plural(n: usize) -> String {
    crate::report::plural(n, "secret", "secrets")
}

fn selected(ids: &[String], secret_id: &str) -> bool {
    ids.is_empty()
        || ids
            .iter()
            .any(|id| id.len() >= 8 && secret_id.starts_with(id.as_str()))
}

/// The `[verify.endpoints]` overrides, checked as `--verify` checks them.
fn endpoints(file: &ConfigFile) -> anyhow::Result<BTreeMap<String, String>> {
    Ok(file
        .verify
        .settings()
        .map_err(anyhow::Error::msg)?
        .endpoints)
}

/// `POST https://api.github.com/credentials/revoke`, as it would be sent.
fn how(rules: &RuleSet, rule_id: &str, endpoints: &BTreeMap<String, String>) -> String {
    let Some(spec) = rules.get(rule_id).and_then(|r| r.revoke.as_deref()) else {
        return String::new();
    };
    let base = endpoints.get(provider_key(rule_id)).map(String::as_str);
    match (&spec.request, spec.kind) {
        (_, Some(kind)) => format!(
            "POST {}/credentials/revoke",
            base.unwrap_or(kind.origin()).trim_end_matches('/')
        ),
        (Some(t), None) => format!(
            "{} {}{}",
            t.method.as_str(),
            base.or(t.origin.as_deref())
                .unwrap_or("{endpoint}")
                .trim_end_matches('/'),
            t.rest.split('{').next().unwrap_or("")
        ),
        (None, None) => String::new(),
    }
}

fn open_log(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path)
        .with_context(|| format!("failed to open the audit log {}", path.display()))
}

/// The revocable secrets of a saved report: each needs its value (`--show-secrets`), which
/// must match its secret id.
fn from_report(path: &Path, rules: &RuleSet) -> anyhow::Result<Vec<Candidate>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    let records: Vec<serde_json::Value> = match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(doc) => match doc.get("findings").and_then(serde_json::Value::as_array) {
            Some(f) => f.clone(),
            None => bail!(
                "{}: not a leakhound JSON report (no findings)",
                path.display()
            ),
        },
        Err(_) => text
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()
            .with_context(|| format!("{}: not a leakhound JSON or JSONL report", path.display()))?,
    };
    let mut out = Vec::new();
    let mut redacted = 0;
    for r in &records {
        let field = |k: &str| r.get(k).and_then(serde_json::Value::as_str);
        let (Some(rule_id), Some(value), Some(secret_id)) =
            (field("rule_id"), field("secret"), field("secret_id"))
        else {
            continue;
        };
        let secret = Secret::new(value.as_bytes());
        if secret.id(rule_id) != secret_id {
            redacted += 1;
            continue;
        }
        out.push(Candidate {
            rule_id: rule_id.to_owned(),
            secret_id: secret_id.to_owned(),
            provider: field("provider")
                .map(str::to_owned)
                .or_else(|| rules.get(rule_id).map(|r| r.provider.clone()))
                .unwrap_or_default(),
            secret,
        });
    }
    if redacted > 0 && out.is_empty() {
        bail!(
            "{}: the report's secrets are redacted; write it with `--show-secrets -o FILE` (mode 0600) and delete it afterwards",
            path.display()
        );
    }
    Ok(out)
}
