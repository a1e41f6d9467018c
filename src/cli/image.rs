//! `leakhound image`: docker-archive and OCI archives, OCI layout directories.

use std::{io::Write, path::PathBuf, process::ExitCode};

use anyhow::Context;
use clap::Args as ClapArgs;

use super::{GlobalArgs, ScanOptions, diagnostics::DiagnosticPrinter, progress::Bar, scan::finish};
use crate::{
    config::ScanConfig,
    pipeline::image::scan_image,
    sources::{image::Limits, registry::RegistryOptions},
};

/// `leakhound image REF`
#[derive(Debug, Clone, ClapArgs)]
pub struct ImageArgs {
    /// A `docker save` archive, an OCI archive, or an OCI layout directory (`DIR` or `DIR:tag`)
    #[arg(value_name = "IMAGE")]
    pub image: String,
    /// Stop reading a layer past this many decompressed bytes (K/M/G suffixes)
    #[arg(long, value_name = "SIZE", default_value = "16G", value_parser = super::parse_size_arg)]
    pub max_layer_size: u64,
    /// Stop reading a layer whose decompressed size exceeds this multiple of its compressed size
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_ratio: u64,
    /// Scan files that look binary instead of skipping them
    #[arg(long)]
    pub scan_binary: bool,
    /// Platform to pick from a multi-platform image
    #[arg(long, value_name = "OS/ARCH[/VARIANT]", default_value = "linux/amd64")]
    pub platform: String,
    /// Registry user name (the password is read from standard input with --password-stdin)
    #[arg(long, value_name = "USER")]
    pub username: Option<String>,
    /// Read the registry password from standard input
    #[arg(long)]
    pub password_stdin: bool,
    /// Allow plain HTTP to this registry (always allowed for localhost and 127.0.0.1)
    #[arg(long)]
    pub insecure_registry: bool,
    /// Seconds to wait for the registry to connect or answer
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub registry_timeout: u64,
    /// Shared scan and output options
    #[command(flatten)]
    pub options: ScanOptions,
}

/// Runs `image`.
pub fn run(global: &GlobalArgs, args: &ImageArgs) -> anyhow::Result<ExitCode> {
    let settings = crate::config::ScanSettings {
        scan_binary: args.scan_binary,
        ..args.options.settings(PathBuf::from("."))
    };
    let config = ScanConfig::build(&settings).context("failed to set up the scan")?;
    let bar = Bar::new(!global.quiet && !args.options.no_progress, "layers");
    let printer = DiagnosticPrinter::new(global.quiet, global.verbose).with_bar(&bar);
    for w in &config.warnings {
        let _ = writeln!(
            std::io::stderr(),
            "leakhound: warning: {}",
            crate::report::escape_control(w)
        );
    }
    let limits = Limits {
        max_layer_bytes: args.max_layer_size,
        max_ratio: args.max_ratio,
        max_file_size: config.fs.max_blob_size,
    };
    let password = if args.password_stdin {
        let mut p = String::new();
        std::io::stdin()
            .read_line(&mut p)
            .context("failed to read the password from standard input")?;
        Some(p.trim_end_matches(['\n', '\r']).to_owned())
    } else {
        None
    };
    let registry = RegistryOptions {
        username: args.username.clone(),
        password,
        insecure: args.insecure_registry,
        platform: args.platform.clone(),
        timeout_secs: args.registry_timeout,
    };
    let mut outcome = scan_image(
        &config,
        &args.image,
        &registry,
        limits,
        &|d| printer.print(d),
        &bar,
    )
    .context("image scan failed")?;
    bar.finish();
    printer.finish();
    finish(global, &args.options, &config, &mut outcome, None)
}
