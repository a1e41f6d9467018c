//! The command line: clap arguments (validated only) and one `run` per verb.
//!
//! Nothing below `cli/` sees clap types: each verb turns its arguments into plain settings
//! ([`crate::config::ScanSettings`]) and calls the library.

mod diagnostics;
pub mod git;
pub mod image;
pub mod lifecycle;
pub mod org;
mod progress;
pub mod revoke;
pub mod rules;
pub mod scan;

use std::{path::PathBuf, process::ExitCode};

use clap::{Args as ClapArgs, Parser, Subcommand, ValueEnum};

use crate::report::Format;

/// Exit code: nothing found.
pub const EXIT_CLEAN: u8 = 0;
/// Exit code (default): findings.
pub const EXIT_FINDINGS: u8 = 1;
/// Exit code: the scan could not run, or some inputs could not be read.
pub const EXIT_ERROR: u8 = 2;

/// leakhound: find leaked credentials, and learn how to revoke and rotate them.
#[derive(Debug, Parser)]
#[command(name = "leakhound", version, about, long_about = None, max_term_width = 100)]
pub struct Args {
    /// Options for every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Options for every command.
#[derive(Debug, Clone, ClapArgs)]
pub struct GlobalArgs {
    /// Print no warnings (errors are still printed)
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print every skipped file (binary, excluded) and every warning
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// When to colour text output
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing text to a terminal and `NO_COLOR` is unset.
    Auto,
    /// Always colour text output.
    Always,
    /// Never colour.
    Never,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Scan files, directories, or standard input (`-`)
    Scan(scan::ScanArgs),
    /// Scan git history (every commit of every ref), a range, or staged changes
    Git(git::GitArgs),
    /// Scan a container image (docker-archive, OCI archive or OCI layout), layer by layer
    Image(image::ImageArgs),
    /// Scan every repository of a GitHub organization or user, a GitLab group, or a list, into
    /// a store (incremental, resumable, shardable)
    Org(org::OrgArgs),
    /// Render a report from a store written by `org`
    Report(org::ReportArgs),
    /// Merge stores (e.g. of shards) into one
    Merge(org::MergeArgs),
    /// Install a git pre-commit hook that runs `leakhound git --staged`
    InstallHook(git::InstallHookArgs),
    /// List or check rules
    #[command(subcommand)]
    Rules(rules::RulesCommand),
    /// Create or prune a baseline of known secrets
    #[command(subcommand)]
    Baseline(lifecycle::BaselineCommand),
    /// Check the .leakhoundignore file for invalid and stale entries
    #[command(subcommand)]
    Ignore(lifecycle::IgnoreCommand),
    /// Print the revoke-and-rotate playbook of a rule (or of a secret id from a report)
    Explain(lifecycle::ExplainArgs),
    /// Revoke leaked secrets through their providers' APIs (a dry run unless --yes)
    Revoke(revoke::RevokeArgs),
}

/// `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FormatArg {
    /// Findings grouped by file, for people
    Text,
    /// One JSON document: {version, tool, findings, stats}
    Json,
    /// One JSON finding per line
    Jsonl,
    /// SARIF 2.1.0 for code-scanning UIs
    Sarif,
    /// A Markdown report for the owning team (one section per secret, playbook, checklist)
    Markdown,
    /// GitHub Actions annotations (::error file=…,line=…::…) for workflow logs
    Github,
    /// GitLab secret-detection report JSON (gl-secret-detection-report.json)
    Gitlab,
    /// One self-contained HTML page (no external loads): charts, a sortable, filterable table
    /// of secrets, and each secret's places and playbook
    Html,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Text => Format::Text,
            FormatArg::Json => Format::Json,
            FormatArg::Jsonl => Format::Jsonl,
            FormatArg::Sarif => Format::Sarif,
            FormatArg::Markdown => Format::Markdown,
            FormatArg::Github => Format::Github,
            FormatArg::Gitlab => Format::Gitlab,
            FormatArg::Html => Format::Html,
        }
    }
}

/// `--min-confidence`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ConfidenceArg {
    /// Everything, including generic matches in documentation, tests and examples
    Low,
    /// Specific formats, and generic credentials outside example contexts
    Medium,
    /// Only verified structures and strong generic credentials in configuration files
    High,
}

impl From<ConfidenceArg> for crate::detect::validate::Confidence {
    fn from(c: ConfidenceArg) -> Self {
        match c {
            ConfidenceArg::Low => Self::Low,
            ConfidenceArg::Medium => Self::Medium,
            ConfidenceArg::High => Self::High,
        }
    }
}

/// Output and detection options shared by every scanning command.
#[derive(Debug, Clone, ClapArgs)]
pub struct ScanOptions {
    /// Output format
    #[arg(long, value_enum, default_value_t = FormatArg::Text)]
    pub format: FormatArg,
    /// Write the report to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Show secret values in the report (redacted by default: first characters + …)
    #[arg(long)]
    pub show_secrets: bool,
    /// Configuration file [default: .leakhound.toml at the scan root, if present]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Extra rule file or directory of rule files (repeatable)
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Worker threads [default: one per core]
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub threads: usize,
    /// Skip files larger than this (bytes, or with K/M/G suffix; 0 = no limit) [default: 25MiB,
    /// or the config file's scan.max_file_size]
    #[arg(long, value_name = "SIZE", value_parser = parse_size_arg)]
    pub max_file_size: Option<u64>,
    /// Exit code when findings exist
    #[arg(long, value_name = "N", default_value_t = EXIT_FINDINGS)]
    pub exit_code: u8,
    /// Report only secrets not in this baseline file (see `leakhound baseline create`)
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Suppressions file [default: .leakhoundignore at the scan root, if present]
    #[arg(long, value_name = "FILE")]
    pub ignore_file: Option<PathBuf>,
    /// Ignore inline `leakhound:allow` markers (for CI gates that refuse self-service suppression)
    #[arg(long)]
    pub no_inline_allow: bool,
    /// JSON/JSONL: one record per secret with a `locations` array
    #[arg(long)]
    pub group: bool,
    /// Hide findings below this confidence (counted in the summary) [default: medium, or the
    /// config file's scan.min_confidence]
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_confidence: Option<ConfidenceArg>,
    /// Draw no progress bar (it is drawn only when stderr is a terminal)
    #[arg(long)]
    pub no_progress: bool,
    /// Decode base64, hex, percent-encoding, string escapes and gzip/zlib this many layers deep
    /// (0 = no decoding) [default: 2, or the config file's scan.decode_depth]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(0..=8))]
    pub decode_depth: Option<u8>,
    /// Ask each secret's provider whether it is live: one read-only request per distinct
    /// secret, to the provider's documented API only (see `[verify]` in the config file)
    #[arg(long)]
    pub verify: bool,
    /// Show only secrets their provider confirmed active (the rest are counted)
    #[arg(long, requires = "verify")]
    pub only_verified: bool,
    /// Accept an incomplete scan: exit 0 or 1 even when something could not be read (a
    /// truncated pack, a corrupt object, an unreadable file or archive). Without it such a run
    /// exits 2, findings or not, since an unread place may hold a secret
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Which findings fail the run (exit code): any finding, or only secrets confirmed active
    /// (needs --verify) [default: any]
    #[arg(
        long,
        value_enum,
        value_name = "WHICH",
        requires_if("active", "verify")
    )]
    pub fail_on: Option<FailOn>,
}

/// `--fail-on`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Any finding fails the run.
    Any,
    /// Only a secret its provider confirmed active fails the run.
    Active,
}

impl ScanOptions {
    /// The scan settings these options ask for, at a scan root.
    pub(crate) fn settings(&self, root: PathBuf) -> crate::config::ScanSettings {
        crate::config::ScanSettings {
            config_file: self.config.clone(),
            root,
            extra_rules: self.rules.clone(),
            threads: self.threads,
            max_file_size: self.max_file_size,
            min_confidence: self.min_confidence.map(Into::into),
            respect_ignore: true,
            scan_binary: false,
            inline_allow: !self.no_inline_allow,
            ignore_file: self.ignore_file.clone(),
            baseline: self.baseline.clone(),
            no_ignore_file: false,
            small_inputs: false,
            decode_depth: self.decode_depth,
            verify: self.verify,
        }
    }
}

pub(crate) fn parse_size_arg(s: &str) -> Result<u64, String> {
    crate::config::parse_size(s).map_err(|e| e.to_string())
}

/// Runs the parsed command.
pub fn run(args: &Args) -> anyhow::Result<ExitCode> {
    match &args.command {
        Command::Scan(a) => scan::run(&args.global, a),
        Command::Git(a) => git::run(&args.global, a),
        Command::InstallHook(a) => git::install_hook(a),
        Command::Org(a) => org::run(&args.global, a),
        Command::Report(a) => org::report(&args.global, a),
        Command::Merge(a) => org::merge(&args.global, a),
        Command::Image(a) => image::run(&args.global, a),
        Command::Rules(c) => rules::run(&args.global, c),
        Command::Baseline(c) => lifecycle::baseline(&args.global, c),
        Command::Ignore(c) => lifecycle::ignore(&args.global, c),
        Command::Explain(a) => lifecycle::explain(a),
        Command::Revoke(a) => revoke::run(&args.global, a),
    }
}

/// Whether an error is (or was caused by) a broken pipe: the reader went away, which is not a
/// failure of the scan.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
            // Why: a JSON writer wraps the write error in its own type.
            || c.downcast_ref::<serde_json::Error>()
                .is_some_and(|e| e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe))
    })
}
