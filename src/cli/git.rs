//! `leakhound git`: full history, incremental ranges, all objects, or staged changes; and
//! `leakhound install-hook`.

use std::{
    io::Write,
    path::{Path, PathBuf},
    process::ExitCode,
};

use anyhow::Context;
use clap::Args as ClapArgs;

use super::{
    EXIT_CLEAN, GlobalArgs, ScanOptions, diagnostics::DiagnosticPrinter, progress::Bar,
    scan::finish,
};
use crate::{
    config::ScanConfig,
    pipeline::git::{scan_git, scan_staged},
    sources::{
        git::{self, Selection},
        staged,
    },
};

/// `leakhound git [REPO]`
#[derive(Debug, Clone, ClapArgs)]
pub struct GitArgs {
    /// The repository (a work tree, a subdirectory of one, or a bare repository)
    #[arg(value_name = "REPO", default_value = ".")]
    pub repo: PathBuf,
    /// Only commits not reachable from this revision (CI: the new commits of a push)
    #[arg(long, value_name = "REV", conflicts_with_all = ["range", "staged"])]
    pub since_commit: Option<String>,
    /// Only commits reachable from B and not from A
    #[arg(long, value_name = "A..B", conflicts_with = "staged")]
    pub range: Option<String>,
    /// Also scan blobs no commit reaches (dangling and unreachable objects)
    #[arg(long, conflicts_with = "staged")]
    pub all_objects: bool,
    /// Pre-commit: scan only the lines the index adds over HEAD; fails closed (never verifies:
    /// a hook must not send anything anywhere)
    #[arg(long, conflicts_with = "verify")]
    pub staged: bool,
    /// Shared scan and output options
    #[command(flatten)]
    pub options: ScanOptions,
}

/// Runs `git`.
pub fn run(global: &GlobalArgs, args: &GitArgs) -> anyhow::Result<ExitCode> {
    let repo = git::open(&args.repo)?;
    let root = staged::root(&repo).to_owned();
    let settings = crate::config::ScanSettings {
        small_inputs: args.staged,
        ..args.options.settings(root.clone())
    };
    let config = ScanConfig::build(&settings).context("failed to set up the scan")?;
    let bar = Bar::new(
        !global.quiet && !args.options.no_progress && !args.staged,
        "blobs",
    );
    let printer = DiagnosticPrinter::new(global.quiet, global.verbose).with_bar(&bar);
    for w in &config.warnings {
        let _ = writeln!(
            std::io::stderr(),
            "leakhound: warning: {}",
            crate::report::escape_control(w)
        );
    }
    let mut outcome = if args.staged {
        scan_staged(&config, &repo, &|d| printer.print(d))
            .context("pre-commit scan failed (failing closed)")?
    } else {
        let selection = Selection {
            since: args.since_commit.clone(),
            range: args.range.clone(),
            all_objects: args.all_objects,
            hide: Vec::new(),
        };
        scan_git(&config, &repo, &selection, &|d| printer.print(d), &bar)
            .context("git scan failed")?
    };
    bar.finish();
    printer.finish();
    // Paths are relative to the repository root already.
    let code = finish(global, &args.options, &config, &mut outcome, None);
    super::scan::end_of_run(config);
    code
}

/// `leakhound install-hook`
#[derive(Debug, Clone, ClapArgs)]
pub struct InstallHookArgs {
    /// The repository
    #[arg(value_name = "REPO", default_value = ".")]
    pub repo: PathBuf,
    /// Replace an existing pre-commit hook that leakhound did not write
    #[arg(long)]
    pub force: bool,
}

/// The marker line that identifies a hook written by `install-hook`.
pub const HOOK_MARKER: &str = "# installed by `leakhound install-hook`";

/// Runs `install-hook`: writes `.git/hooks/pre-commit` running `leakhound git --staged`.
pub fn install_hook(args: &InstallHookArgs) -> anyhow::Result<ExitCode> {
    let repo = git::open(&args.repo)?;
    let hooks = repo.git_dir().join("hooks");
    std::fs::create_dir_all(&hooks)
        .with_context(|| format!("failed to create {}", hooks.display()))?;
    let path = hooks.join("pre-commit");
    if let Ok(existing) = std::fs::read_to_string(&path)
        && !existing.contains(HOOK_MARKER)
        && !args.force
    {
        anyhow::bail!(
            "{} exists and was not written by leakhound; use --force to replace it",
            path.display()
        );
    }
    let exe = std::env::current_exe().context("failed to find the leakhound executable")?;
    std::fs::write(&path, hook_script(&exe))
        .with_context(|| format!("failed to write {}", path.display()))?;
    make_executable(&path)?;
    let _ = writeln!(std::io::stdout(), "installed {}", path.display());
    Ok(ExitCode::from(EXIT_CLEAN))
}

fn hook_script(exe: &Path) -> String {
    let exe = exe.display().to_string().replace('\'', r"'\''");
    format!(
        "#!/bin/sh\n{HOOK_MARKER}\n# Blocks commits that add secrets. Bypass once (at your own risk) with: git commit --no-verify\n\
         LEAKHOUND=leakhound\ncommand -v \"$LEAKHOUND\" >/dev/null 2>&1 || LEAKHOUND='{exe}'\n\
         exec \"$LEAKHOUND\" git --staged\n"
    )
}

#[cfg(unix)]
fn make_executable(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut perms = std::fs::metadata(path)?.permissions();
    perms.set_mode(0o755);
    std::fs::set_permissions(path, perms)
        .with_context(|| format!("failed to make {} executable", path.display()))
}

#[cfg(not(unix))]
fn make_executable(_: &Path) -> anyhow::Result<()> {
    Ok(())
}
