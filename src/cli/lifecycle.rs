//! Findings lifecycle commands: `baseline create|prune`, `ignore check`, `explain`.

use std::{
    io::{BufWriter, Write},
    path::PathBuf,
    process::ExitCode,
};

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};

use super::{
    EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, GlobalArgs,
    scan::{ScanArgs, scan},
};
use crate::{
    rules::RuleSet,
    suppress::{
        baseline::{BASELINE_FILE_NAME, Baseline},
        ignore::Target,
    },
};

/// `leakhound baseline ...`
#[derive(Debug, Clone, Subcommand)]
pub enum BaselineCommand {
    /// Scan, and write every secret found to a baseline (`-o`, default .leakhound-baseline.json)
    Create(BaselineCreateArgs),
    /// Rescan, and drop the baseline entries whose secret is gone (`--baseline`, default
    /// .leakhound-baseline.json)
    Prune(ScanArgs),
    /// Add the secrets of a gitleaks or Betterleaks JSON report to a baseline (by content, so
    /// that it keeps working when lines move)
    Import(BaselineImportArgs),
}

/// `baseline import` options.
#[derive(Debug, Clone, ClapArgs)]
pub struct BaselineImportArgs {
    /// The report: `gitleaks ... --report-format json --report-path FILE`, without `--redact`
    #[arg(value_name = "REPORT")]
    pub report: PathBuf,
    /// The baseline to add to, created if missing [default: .leakhound-baseline.json]
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Configuration file (a gitleaks one brings its custom rules) [default: the one in the
    /// current directory, if any]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Extra rule file or directory (repeatable)
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
}

/// `baseline create` options.
#[derive(Debug, Clone, ClapArgs)]
pub struct BaselineCreateArgs {
    /// Build from a `--format json` report (of `scan` or `git`) instead of scanning
    #[arg(long, value_name = "REPORT")]
    pub from: Option<PathBuf>,
    /// The scan (its `-o` names the baseline file)
    #[command(flatten)]
    pub scan: ScanArgs,
}

/// `leakhound ignore ...`
#[derive(Debug, Clone, Subcommand)]
pub enum IgnoreCommand {
    /// Scan, and report ignore-file entries that are invalid or suppress nothing (stale)
    Check(ScanArgs),
}

/// `leakhound explain ID`
#[derive(Debug, Clone, ClapArgs)]
pub struct ExplainArgs {
    /// A rule id, or a secret id from a report (with --report)
    #[arg(value_name = "ID")]
    pub id: String,
    /// A `--format json` report to look a secret id up in
    #[arg(long, value_name = "REPORT")]
    pub report: Option<PathBuf>,
    /// Extra rule file or directory (repeatable)
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
}

fn baseline_path(p: &Option<PathBuf>) -> PathBuf {
    p.clone()
        .unwrap_or_else(|| PathBuf::from(BASELINE_FILE_NAME))
}

/// Runs a `baseline` subcommand.
pub fn baseline(global: &GlobalArgs, cmd: &BaselineCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BaselineCommand::Create(a) => {
            let out = baseline_path(&a.scan.options.output);
            let mut b = Baseline::default();
            if let Some(report) = &a.from {
                let text = std::fs::read_to_string(report)
                    .with_context(|| format!("failed to read {}", report.display()))?;
                let doc: serde_json::Value = serde_json::from_str(&text)
                    .with_context(|| format!("{} is not a JSON report", report.display()))?;
                let findings = doc["findings"]
                    .as_array()
                    .with_context(|| format!("{} has no findings array", report.display()))?;
                for f in findings {
                    if let (Some(id), Some(rule)) = (f["secret_id"].as_str(), f["rule_id"].as_str())
                    {
                        b.secrets.insert(id.to_owned(), rule.to_owned());
                    }
                }
            } else {
                // Why: a baseline records everything present now, so no suppression applies.
                let (_, outcome, _) = scan(global, &a.scan, |s| s.no_suppressions())?;
                for f in &outcome.findings {
                    b.secrets.insert(f.secret_id.clone(), f.rule_id.clone());
                }
            }
            std::fs::write(&out, b.render())
                .with_context(|| format!("failed to write {}", out.display()))?;
            let _ = writeln!(
                std::io::stderr(),
                "leakhound: wrote {} secret(s) to {} (tip: `{} merge=union` in .gitattributes merges branches without conflicts)",
                b.secrets.len(),
                out.display(),
                out.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
            );
            Ok(ExitCode::from(EXIT_CLEAN))
        }
        BaselineCommand::Import(args) => import(args),
        BaselineCommand::Prune(args) => {
            let path = baseline_path(&args.options.baseline);
            let mut b = Baseline::load(&path)?;
            let (_, outcome, _) = scan(global, args, |s| s.no_suppressions())?;
            if outcome.stats.errors > 0 {
                anyhow::bail!(
                    "the scan hit errors, so the baseline was not pruned (an unread file could hold a baselined secret)"
                );
            }
            let present: std::collections::HashSet<&str> = outcome
                .findings
                .iter()
                .map(|f| f.secret_id.as_str())
                .collect();
            let before = b.secrets.len();
            b.secrets.retain(|id, _| present.contains(id.as_str()));
            std::fs::write(&path, b.render())
                .with_context(|| format!("failed to write {}", path.display()))?;
            let _ = writeln!(
                std::io::stderr(),
                "leakhound: pruned {} of {} baseline entries from {}",
                before - b.secrets.len(),
                before,
                path.display()
            );
            Ok(ExitCode::from(EXIT_CLEAN))
        }
    }
}

/// Runs `baseline import`.
fn import(args: &BaselineImportArgs) -> anyhow::Result<ExitCode> {
    let out = baseline_path(&args.output);
    let mut b = if out.is_file() {
        Baseline::load(&out)?
    } else {
        Baseline::default()
    };
    let settings = crate::config::ScanSettings {
        config_file: args.config.clone(),
        root: PathBuf::from("."),
        extra_rules: args.rules.clone(),
        no_ignore_file: true,
        ..crate::config::ScanSettings::default()
    };
    let config = crate::config::ScanConfig::build(&settings)?;
    let text = std::fs::read_to_string(&args.report)
        .with_context(|| format!("failed to read {}", args.report.display()))?;
    let done = crate::gitleaks::import::import(&text, &config.analyzer, &mut b)
        .map_err(|e| anyhow::anyhow!("{}: {e}", args.report.display()))?;
    if done.findings > 0 && done.redacted == done.findings {
        anyhow::bail!(
            "{}: every finding is redacted (the report was written with --redact); run gitleaks again without --redact, and keep the report private",
            args.report.display()
        );
    }
    std::fs::write(&out, b.render())
        .with_context(|| format!("failed to write {}", out.display()))?;
    let mut err = std::io::stderr();
    let _ = writeln!(
        err,
        "leakhound: imported {} finding(s) of {} as {} new baseline entr{} in {}",
        done.findings - done.redacted - done.unmatched.len(),
        args.report.display(),
        done.added,
        if done.added == 1 { "y" } else { "ies" },
        out.display()
    );
    if done.redacted > 0 {
        let _ = writeln!(
            err,
            "leakhound: warning: {} finding(s) are redacted and were not imported",
            done.redacted
        );
    }
    for u in &done.unmatched {
        let _ = writeln!(
            err,
            "leakhound: warning: {} is not found by any rule of this scan; not imported",
            crate::report::escape_control(u)
        );
    }
    Ok(ExitCode::from(EXIT_CLEAN))
}

/// Runs `ignore check`.
pub fn ignore(global: &GlobalArgs, cmd: &IgnoreCommand) -> anyhow::Result<ExitCode> {
    let IgnoreCommand::Check(args) = cmd;
    let (config, mut outcome, _) = scan(global, args, |s| s)?;
    let Some(ignore) = &config.suppressions.ignore else {
        anyhow::bail!(
            "no ignore file: none was given with --ignore-file and there is no .leakhoundignore at the scan root"
        );
    };
    let mut used = Vec::new();
    let mut counts = Default::default();
    config
        .suppressions
        .apply(&mut outcome.findings, &mut counts, &mut used);
    let mut out = BufWriter::new(std::io::stdout().lock());
    let shown = ignore.path.display();
    let mut problems = 0;
    for (line, problem) in &ignore.problems {
        writeln!(out, "{shown}:{line}: invalid: {problem}")?;
        problems += 1;
    }
    for (entry, used) in ignore
        .entries
        .iter()
        .zip(used.iter().chain(std::iter::repeat(&false)))
    {
        if !used {
            let what = match &entry.target {
                Target::Secret { id, scope: None } => format!("secret {id}"),
                Target::Secret {
                    id,
                    scope: Some((g, _)),
                } => format!("secret {id} at {g}"),
                Target::Path { glob, .. } => format!("path {glob}"),
            };
            writeln!(
                out,
                "{shown}:{}: stale: {what} suppresses nothing in this scan ({})",
                entry.line, entry.reason
            )?;
            problems += 1;
        }
    }
    writeln!(
        out,
        "{}: {} entries, {problems} problem(s)",
        shown,
        ignore.entries.len() + ignore.problems.len()
    )?;
    out.flush()?;
    Ok(ExitCode::from(if outcome.stats.errors > 0 {
        EXIT_ERROR
    } else if problems > 0 {
        EXIT_FINDINGS
    } else {
        EXIT_CLEAN
    }))
}

/// Runs `explain`: prints a rule's playbook (looked up by rule id, or by a secret id in a report).
pub fn explain(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let mut set = RuleSet::builtin().context("failed to load the built-in rules")?;
    for p in &args.rules {
        set.add_path(p)
            .with_context(|| format!("failed to load rules from {}", p.display()))?;
    }
    let mut places: Vec<String> = Vec::new();
    let rule_id = if set.get(&args.id).is_some() {
        args.id.clone()
    } else if let Some(report) = &args.report {
        let text = std::fs::read_to_string(report)
            .with_context(|| format!("failed to read {}", report.display()))?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a JSON report", report.display()))?;
        let mut rule = None;
        for f in doc["findings"].as_array().into_iter().flatten() {
            if f["secret_id"]
                .as_str()
                .is_some_and(|s| s == args.id || (args.id.len() >= 8 && s.starts_with(&args.id)))
            {
                rule = f["rule_id"].as_str().map(str::to_owned);
                let locations = f["locations"]
                    .as_array()
                    .cloned()
                    .unwrap_or_else(|| vec![f.clone()]);
                for l in locations {
                    places.push(format!(
                        "{}:{}",
                        l["path"].as_str().unwrap_or("?"),
                        l["line"]
                    ));
                }
            }
        }
        rule.with_context(|| {
            format!(
                "no finding with secret id {} in {}",
                args.id,
                report.display()
            )
        })?
    } else {
        anyhow::bail!(
            "unknown rule id {:?} (to explain a secret id, pass the report it came from with --report FILE)",
            args.id
        );
    };
    let rule = set
        .get(&rule_id)
        .with_context(|| format!("the report names rule {rule_id}, which is not loaded"))?;
    let r = &rule.remediation;
    let mut out = BufWriter::new(std::io::stdout().lock());
    writeln!(
        out,
        "{} ({})\nrule {} · provider {} · severity {}\n",
        rule.name,
        rule.provider,
        rule.id,
        rule.provider,
        rule.severity.as_str()
    )?;
    if !places.is_empty() {
        writeln!(out, "Found at:")?;
        for p in &places {
            writeln!(out, "  {p}")?;
        }
        writeln!(out)?;
    }
    writeln!(out, "1. Revoke now\n   {}\n", r.revoke)?;
    writeln!(out, "2. Replace\n   {}\n", r.rotate)?;
    writeln!(out, "3. Look for misuse\n   {}\n", r.audit)?;
    writeln!(out, "4. Rotate from now on\n   {}\n", r.rotation)?;
    if !r.references.is_empty() {
        writeln!(out, "References")?;
        for url in &r.references {
            writeln!(out, "   {url}")?;
        }
    }
    out.flush()?;
    Ok(ExitCode::from(EXIT_CLEAN))
}
