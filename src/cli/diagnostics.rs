//! Prints diagnostics to standard error as they arrive, at most a few per kind unless
//! `--verbose`, then a count of what was held back.

use std::{collections::BTreeMap, io::Write, sync::Mutex};

use crate::{report::escape_control, sources::Diagnostic};

/// How many diagnostics of one kind are printed before the rest are only counted.
const PER_KIND: u64 = 20;

/// A thread-safe stderr sink for diagnostics.
pub(crate) struct DiagnosticPrinter<'b> {
    bar: Option<&'b super::progress::Bar>,
    quiet: bool,
    verbose: bool,
    counts: Mutex<BTreeMap<&'static str, u64>>,
}

impl<'b> DiagnosticPrinter<'b> {
    pub(crate) fn new(quiet: bool, verbose: bool) -> Self {
        DiagnosticPrinter {
            bar: None,
            quiet,
            verbose,
            counts: Mutex::new(BTreeMap::new()),
        }
    }

    /// Prints above a progress bar.
    pub(crate) fn with_bar(mut self, bar: &'b super::progress::Bar) -> Self {
        self.bar = Some(bar);
        self
    }

    /// Prints one line. A diagnostic names inputs from the scanned data (paths, archive
    /// members, git objects) and carries error messages that quote them, so every control
    /// character is shown escaped: a file name cannot rewrite the terminal or forge a line.
    fn emit(&self, line: &str) {
        let line = escape_control(line);
        match self.bar {
            Some(bar) => bar.println(&line),
            None => {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
    }

    /// Prints one diagnostic (or counts it).
    pub(crate) fn print(&self, d: &Diagnostic) {
        let kind = d.kind();
        let is_error = matches!(d, Diagnostic::Error { .. });
        // Binary and excluded files are routine in real trees: counted and summarised, and
        // listed one by one only with --verbose.
        let routine = matches!(kind, "binary" | "excluded");
        let n = {
            let mut counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
            let n = counts.entry(kind).or_default();
            *n += 1;
            *n
        };
        if is_error {
            self.emit(&format!("leakhound: error: {d}"));
            return;
        }
        if self.quiet || (routine && !self.verbose) || (!self.verbose && n > PER_KIND) {
            return;
        }
        self.emit(&format!("leakhound: warning: {d}"));
    }

    /// Prints what was counted but not shown.
    pub(crate) fn finish(&self) {
        if self.quiet || self.verbose {
            return;
        }
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for (kind, &n) in counts.iter() {
            let held = match *kind {
                "error" => 0,
                "binary" | "excluded" => n,
                _ => n.saturating_sub(PER_KIND),
            };
            if held == 0 || *kind == "excluded" {
                continue;
            }
            let what = match *kind {
                "binary" => "binary files were skipped",
                "too_large" => "more files were skipped as too large",
                "invalid_utf8" => "more files are not valid UTF-8",
                "long_line" => "more files have very long lines",
                _ => "more warnings",
            };
            let _ = writeln!(
                std::io::stderr(),
                "leakhound: warning: {held} {what} (--verbose lists them)"
            );
        }
    }
}
