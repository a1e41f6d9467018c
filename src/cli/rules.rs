//! `leakhound rules list` and `leakhound rules check`.

use std::{
    io::{BufWriter, Write},
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
};

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand, ValueEnum};
use serde::Serialize;

use super::{EXIT_CLEAN, EXIT_FINDINGS, GlobalArgs};
use crate::{
    analysis::check::{self, CheckReport},
    rules::RuleSet,
};

/// `leakhound rules ...`
#[derive(Debug, Clone, Subcommand)]
pub enum RulesCommand {
    /// List the rules: id, name, severity, keywords
    List(ListArgs),
    /// Lint rule files and run their examples through the detector (default: the built-in rules)
    Check(CheckArgs),
}

/// `rules list` options.
#[derive(Debug, Clone, ClapArgs)]
pub struct ListArgs {
    /// Output format
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
    /// Extra rule file or directory to include (repeatable)
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
}

/// `rules list --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// A table
    Text,
    /// A JSON array
    Json,
}

/// `rules check` options.
#[derive(Debug, Clone, ClapArgs)]
pub struct CheckArgs {
    /// Rule files or directories [default: the built-in rules]
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
}

#[derive(Serialize)]
struct ListedRule<'a> {
    id: &'a str,
    name: &'a str,
    provider: &'a str,
    severity: &'static str,
    class: &'static str,
    keywords: &'a [String],
    source: &'a str,
    /// `--verify` can ask the provider whether a secret is live.
    verifiable: bool,
    /// `leakhound revoke` can revoke it.
    revocable: bool,
}

/// Runs a `rules` subcommand.
pub fn run(global: &GlobalArgs, cmd: &RulesCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        RulesCommand::List(a) => list(a),
        RulesCommand::Check(a) => check(global, a),
    }
}

fn list(args: &ListArgs) -> anyhow::Result<ExitCode> {
    let mut set = RuleSet::builtin().context("failed to load the built-in rules")?;
    for p in &args.rules {
        set.add_path(p)
            .with_context(|| format!("failed to load rules from {}", p.display()))?;
    }
    let mut out = BufWriter::new(std::io::stdout().lock());
    let listed: Vec<ListedRule<'_>> = set
        .rules()
        .iter()
        .map(|r| ListedRule {
            id: &r.id,
            name: &r.name,
            provider: &r.provider,
            severity: r.severity.as_str(),
            class: r.class.as_str(),
            keywords: &r.keywords,
            source: &r.source,
            verifiable: r.verify.is_some(),
            revocable: r.revoke.is_some(),
        })
        .collect();
    match args.format {
        ListFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &listed)?;
            writeln!(out)?;
        }
        ListFormat::Text => {
            let id_w = listed.iter().map(|r| r.id.len()).max().unwrap_or(2).max(2);
            let name_w = listed
                .iter()
                .map(|r| r.name.chars().count())
                .max()
                .unwrap_or(4)
                .clamp(4, 48);
            writeln!(
                out,
                "{:<id_w$}  {:<name_w$}  {:<8}  KEYWORDS",
                "ID", "NAME", "SEVERITY"
            )?;
            for r in &listed {
                let name: String = r.name.chars().take(name_w).collect();
                writeln!(
                    out,
                    "{:<id_w$}  {:<name_w$}  {:<8}  {}",
                    r.id,
                    name,
                    r.severity,
                    r.keywords.join(", ")
                )?;
            }
            writeln!(
                out,
                "{} rules ({} verifiable with --verify, {} revocable with `leakhound revoke`)",
                listed.len(),
                listed.iter().filter(|r| r.verifiable).count(),
                listed.iter().filter(|r| r.revocable).count()
            )?;
        }
    }
    out.flush()?;
    Ok(ExitCode::from(EXIT_CLEAN))
}

fn check(global: &GlobalArgs, args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let report: CheckReport = if args.paths.is_empty() {
        check::check_set(Arc::new(
            RuleSet::builtin_with_examples().context("failed to load the built-in rules")?,
        ))
    } else {
        let paths: Vec<&std::path::Path> = args.paths.iter().map(PathBuf::as_path).collect();
        check::check_paths(&paths)
    };
    let mut out = BufWriter::new(std::io::stdout().lock());
    for p in &report.problems {
        writeln!(out, "{p}")?;
    }
    if !global.quiet || !report.problems.is_empty() {
        writeln!(
            out,
            "checked {} rules and {} examples: {} problems",
            report.rules,
            report.examples,
            report.problems.len()
        )?;
    }
    out.flush()?;
    Ok(ExitCode::from(if report.problems.is_empty() {
        EXIT_CLEAN
    } else {
        EXIT_FINDINGS
    }))
}
