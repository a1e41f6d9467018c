//! `leakhound scan`: files, directories and standard input.

use std::{
    fs::File,
    io::{BufWriter, IsTerminal, Write},
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context;
use clap::Args as ClapArgs;

use super::{
    ColorChoice, EXIT_CLEAN, EXIT_ERROR, GlobalArgs, ScanOptions, diagnostics::DiagnosticPrinter,
    progress::Bar,
};
use crate::{
    config::{ScanConfig, ScanSettings},
    pipeline::{self, ScanOutcome},
    report::{self, Format, Report},
    sources::fs::Input,
};

/// `leakhound scan [PATH]...`
#[derive(Debug, Clone, ClapArgs)]
pub struct ScanArgs {
    /// Files and directories to scan; `-` reads standard input
    #[arg(value_name = "PATH", default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Shared scan and output options
    #[command(flatten)]
    pub options: ScanOptions,
    /// Also scan files that .gitignore/.ignore files exclude
    #[arg(long)]
    pub no_ignore: bool,
    /// Scan files that look binary (a NUL byte in the first 8 KiB) instead of skipping them
    #[arg(long)]
    pub scan_binary: bool,
}

/// Below this many bytes of named files in all, `scan` builds the cheaper prefilter.
const SMALL_INPUTS: u64 = 1 << 20;

/// Runs `scan`.
pub fn run(global: &GlobalArgs, args: &ScanArgs) -> anyhow::Result<ExitCode> {
    let (config, mut outcome, root) = scan(global, args, |s| s)?;
    let code = finish(global, &args.options, &config, &mut outcome, Some(&root));
    end_of_run(config);
    code
}

/// Lets go of the configuration when the command is done, without freeing it: the process
/// ends next, and freeing a thousand compiled rules one allocation at a time takes longer than
/// scanning a small file (a tenth of `scan README.md`).
pub(crate) fn end_of_run(config: ScanConfig) {
    std::mem::forget(config);
}

/// Builds the configuration (after `adjust` has changed the settings) and scans, without
/// applying file-based suppressions or rendering; returns the scan root too.
pub(crate) fn scan(
    global: &GlobalArgs,
    args: &ScanArgs,
    adjust: impl FnOnce(ScanSettings) -> ScanSettings,
) -> anyhow::Result<(ScanConfig, ScanOutcome, PathBuf)> {
    let inputs: Vec<Input> = args
        .paths
        .iter()
        .map(|p| {
            if p.as_os_str() == "-" {
                Input::Stdin
            } else {
                Input::Path(p.clone())
            }
        })
        .collect();
    let root = scan_root(&args.paths);
    // Why: a few small named files (an editor hook, `scan README.md`) are scanned faster with
    // regexes that are cheap to build than with ones that are fast to search.
    let sizes: Option<u64> = args
        .paths
        .iter()
        .map(|p| {
            std::fs::metadata(p)
                .ok()
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len())
        })
        .sum();
    let small_inputs = sizes.is_some_and(|total| total < SMALL_INPUTS);
    let settings = adjust(ScanSettings {
        respect_ignore: !args.no_ignore,
        scan_binary: args.scan_binary,
        small_inputs,
        ..args.options.settings(root.clone())
    });
    let config = ScanConfig::build(&settings).context("failed to set up the scan")?;
    let bar = Bar::new(!global.quiet && !args.options.no_progress, "files");
    let printer = DiagnosticPrinter::new(global.quiet, global.verbose).with_bar(&bar);
    for w in &config.warnings {
        let _ = writeln!(
            std::io::stderr(),
            "leakhound: warning: {}",
            crate::report::escape_control(w)
        );
    }
    let outcome = pipeline::scan_fs(&config, &inputs, &|d| printer.print(d), &bar);
    bar.finish();
    printer.finish();
    Ok((config, outcome, root))
}

/// Verifies (with `--verify`, unless the caller did), renders the outcome and picks the exit
/// code: 2 if any input could not be read (the result is incomplete), else the findings code
/// if there are findings (with `--fail-on active`: if any is active), else 0.
pub(crate) fn finish(
    global: &GlobalArgs,
    options: &ScanOptions,
    config: &ScanConfig,
    outcome: &mut ScanOutcome,
    root: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    outcome.stats.below_confidence = crate::pipeline::triage::triage(
        &mut outcome.findings,
        config.detector().rules(),
        config.min_confidence,
    );
    let mut used = Vec::new();
    config.suppressions.apply(
        &mut outcome.findings,
        &mut outcome.stats.suppressed,
        &mut used,
    );
    if let Some(settings) = &config.verify
        && outcome.stats.verification.is_none()
    {
        let verifier = crate::verify::Verifier::new(settings.clone());
        let summary =
            verifier.verify_findings(&mut outcome.findings, config.detector().rules(), None);
        outcome.stats.verification = Some(summary);
    }
    if options.only_verified {
        let before = outcome.findings.len();
        outcome.findings.retain(is_active);
        outcome.stats.unverified_hidden = (before - outcome.findings.len()) as u64;
    }
    for f in &outcome.findings {
        *outcome.stats.by_rule.entry(f.rule_id.clone()).or_default() += 1;
    }
    let outcome = &*outcome;
    let format = Format::from(options.format);
    let cwd = root.and_then(|_| std::env::current_dir().ok());
    let abs_root = cwd.as_ref().zip(root).map(|(c, r)| c.join(r));
    let to_terminal = options.output.is_none() && std::io::stdout().is_terminal();
    let color = match global.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            to_terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
        }
    } && format == Format::Text;
    let report = Report {
        findings: &outcome.findings,
        stats: &outcome.stats,
        rules: config.detector().rules(),
        show_secrets: options.show_secrets,
        color,
        root: abs_root,
        cwd,
        group: options.group,
    };
    let reporter = report::reporter(format);
    match &options.output {
        Some(path) => {
            let file = create_report(path, options.show_secrets)
                .with_context(|| format!("failed to create {}", path.display()))?;
            let mut w = BufWriter::new(file);
            reporter
                .render(&report, &mut w)
                .and_then(|()| w.flush())
                .with_context(|| format!("failed to write {}", path.display()))?;
        }
        None => {
            let mut w = BufWriter::new(std::io::stdout().lock());
            reporter
                .render(&report, &mut w)
                .and_then(|()| w.flush())
                .context("failed to write the report")?;
        }
    }
    // People reading a terminal get the summary from the text report; machine formats (or a
    // report written to a file) get it on stderr.
    if !global.quiet && (format != Format::Text || options.output.is_some()) {
        let _ = writeln!(
            std::io::stderr(),
            "leakhound: {}",
            report::summary_line(&report)
        );
    }
    if outcome.stats.errors > 0 && !global.quiet {
        let _ = writeln!(
            std::io::stderr(),
            "leakhound: error: the scan is incomplete: {} could not be read (see the errors above); {}",
            report::plural(outcome.stats.errors as usize, "place", "places"),
            if options.allow_incomplete {
                "accepted by --allow-incomplete"
            } else {
                "exit code 2 (--allow-incomplete accepts an incomplete scan)"
            }
        );
    }
    let code = if outcome.stats.errors > 0 && !options.allow_incomplete {
        EXIT_ERROR
    } else if outcome.findings.is_empty()
        || (options.fail_on == Some(super::FailOn::Active)
            && !outcome.findings.iter().any(is_active))
    {
        EXIT_CLEAN
    } else {
        options.exit_code
    };
    Ok(ExitCode::from(code))
}

/// Creates a report file; one that holds secret values is readable by its owner only (0600).
fn create_report(path: &Path, secrets: bool) -> std::io::Result<File> {
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if secrets {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        o.mode(0o600);
        let file = o.open(path)?;
        // Why: the mode applies only to a new file; an existing one keeps its own.
        file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
        return Ok(file);
    }
    #[cfg(not(unix))]
    let _ = secrets;
    o.open(path)
}

/// Whether the provider confirmed a finding's secret active.
fn is_active(f: &crate::finding::Finding) -> bool {
    f.verification
        .as_ref()
        .is_some_and(|v| v.status == crate::verify::Status::Active)
}

/// The scan root: the only directory named, or the working directory.
fn scan_root(paths: &[PathBuf]) -> PathBuf {
    let dirs: Vec<&PathBuf> = paths.iter().filter(|p| p.is_dir()).collect();
    match dirs.as_slice() {
        [only] if paths.len() == 1 => (*only).clone(),
        _ => PathBuf::from("."),
    }
}
