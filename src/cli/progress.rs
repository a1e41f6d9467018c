//! Progress on standard error when it is a terminal (files or blobs done, bytes, rate, ETA),
//! drawn by `indicatif`; nothing otherwise, or with `--no-progress`.

use std::{
    io::IsTerminal,
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{pipeline::Progress, report::human_bytes};

/// A progress bar (or nothing).
pub(crate) struct Bar {
    bar: Option<ProgressBar>,
    unit: &'static str,
    bytes: AtomicU64,
}

impl Bar {
    /// A bar for `unit`s ("files", "blobs"), shown only on a terminal and when wanted.
    pub(crate) fn new(wanted: bool, unit: &'static str) -> Bar {
        let bar = (wanted && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(8));
            bar.set_style(Self::spinner_style(unit));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Bar {
            bar,
            unit,
            bytes: AtomicU64::new(0),
        }
    }

    fn spinner_style(unit: &str) -> ProgressStyle {
        ProgressStyle::with_template(&format!("{{spinner}} {{pos}} {unit}, {{msg}}, {{elapsed}}"))
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
    }

    /// Prints a line above the bar (or straight to stderr when there is none).
    pub(crate) fn println(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => {
                use std::io::Write as _;
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        }
    }

    /// Removes the bar before the report is written.
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

impl Progress for Bar {
    fn total(&self, inputs: u64) {
        if let Some(bar) = &self.bar {
            bar.set_length(inputs);
            let style = ProgressStyle::with_template(&format!(
                "[{{bar:30}}] {{pos}}/{{len}} {}, {{msg}}, {{elapsed}} (ETA {{eta}})",
                self.unit
            ))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
        }
    }

    fn advance(&self, inputs: u64, bytes: u64) {
        if let Some(bar) = &self.bar {
            bar.inc(inputs);
            if bytes > 0 {
                let read = self.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
                let secs = bar.elapsed().as_secs_f64().max(0.001);
                bar.set_message(format!(
                    "{} ({}/s)",
                    human_bytes(read),
                    human_bytes((read as f64 / secs) as u64)
                ));
            }
        }
    }
}

/// Organization scans: repositories done / total as the bar, with blobs, bytes and findings.
pub(crate) struct OrgBar {
    bar: Bar,
    blobs: AtomicU64,
    findings: AtomicU64,
}

impl OrgBar {
    pub(crate) fn new(wanted: bool) -> OrgBar {
        let bar = Bar::new(wanted, "repositories");
        OrgBar {
            bar,
            blobs: AtomicU64::new(0),
            findings: AtomicU64::new(0),
        }
    }

    /// The underlying bar (for printing diagnostics above it).
    pub(crate) fn bar(&self) -> &Bar {
        &self.bar
    }
}

impl crate::pipeline::org::OrgProgress for OrgBar {
    fn repositories(&self, total: u64) {
        self.bar.total(total);
    }

    fn done(&self, _name: &str, _error: Option<&str>) {
        if let Some(bar) = &self.bar.bar {
            bar.inc(1);
        }
    }

    fn scanned(&self, blobs: u64, bytes: u64, findings: u64) {
        let Some(bar) = &self.bar.bar else { return };
        let blobs = self.blobs.fetch_add(blobs, Ordering::Relaxed) + blobs;
        let bytes = self.bar.bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let findings = self.findings.fetch_add(findings, Ordering::Relaxed) + findings;
        bar.set_message(format!(
            "{blobs} new blobs, {}, {findings} findings",
            human_bytes(bytes)
        ));
    }
}
