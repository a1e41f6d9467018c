//! The `leakhound` binary: parse arguments, run, map the result to an exit code.
//! Exit codes: 0 nothing found, 1 findings (or `--exit-code N`), 2 error. A broken pipe is 0.

use std::{io::Write, process::ExitCode};

use clap::Parser;
use leakhound::cli::{self, Args, EXIT_CLEAN, EXIT_ERROR};

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            let _ = e.print();
            // Why: clap exits 2 for usage errors already; --help and --version are successes.
            return ExitCode::from(if e.use_stderr() {
                EXIT_ERROR
            } else {
                EXIT_CLEAN
            });
        }
    };
    match cli::run(&args) {
        Ok(code) => code,
        Err(e) if cli::is_broken_pipe(&e) => ExitCode::from(EXIT_CLEAN),
        Err(e) => {
            // Why: an error can name a path or quote a file from the scanned data.
            let text: Vec<String> = format!("{e:#}")
                .lines()
                .map(leakhound::report::escape_control)
                .collect();
            let text = text.join("\n");
            let _ = writeln!(std::io::stderr(), "leakhound: error: {text}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
