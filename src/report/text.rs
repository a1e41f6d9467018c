//! Text output for people: findings grouped by file, a one-line revoke hint per finding, and a
//! summary line. Colour only when the caller says so (a terminal, and `NO_COLOR` unset).

use std::io::{self, Write};

use anstyle::{AnsiColor, Effects, Style};

use super::{Report, Reporter, shown_secret, summary_line};
use crate::rules::Severity;

pub(super) struct TextReporter;

fn severity_style(s: Severity) -> Style {
    match s {
        Severity::Critical => AnsiColor::Red.on_default().effects(Effects::BOLD),
        Severity::High => AnsiColor::Red.on_default(),
        Severity::Medium => AnsiColor::Yellow.on_default(),
        Severity::Low => AnsiColor::Cyan.on_default(),
    }
}

/// The first line of a text, shortened to `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or("").trim();
    if first.chars().count() <= max {
        first.to_owned()
    } else {
        let mut s: String = first.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

impl Reporter for TextReporter {
    fn render(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let paint = |style: Style| if report.color { style } else { Style::new() };
        let path_style = paint(Style::new().effects(Effects::BOLD | Effects::UNDERLINE));
        let dim = paint(Style::new().effects(Effects::DIMMED));
        let mut last_path: Option<&str> = None;
        for f in report.findings {
            let path = f.origin.display();
            if last_path != Some(path) {
                if last_path.is_some() {
                    writeln!(out)?;
                }
                writeln!(out, "{path_style}{path}{path_style:#}")?;
                last_path = Some(path);
            }
            let sev = paint(severity_style(f.severity));
            writeln!(
                out,
                "  {:>4}:{:<3} {sev}{:<8}{sev:#} {}  {}  {}  {dim}id {}{dim:#}",
                f.region.line,
                f.region.column,
                f.severity.as_str(),
                f.rule_id,
                f.rule_name,
                shown_secret(f, report.show_secrets),
                &f.secret_id[..12],
            )?;
            if let Some(g) = &f.git {
                match &g.commit {
                    Some(c) => writeln!(
                        out,
                        "             commit {} {} <{}> {}  {}",
                        &c.id[..c.id.len().min(12)],
                        c.author,
                        c.email,
                        c.date,
                        c.summary
                    )?,
                    None => writeln!(out, "             blob {}", g.blob)?,
                }
            }
            writeln!(
                out,
                "             {dim}revoke: {}{dim:#}",
                one_line(&f.remediation.revoke, 110)
            )?;
            if let Some(note) = f.note {
                let warn = paint(AnsiColor::Yellow.on_default());
                writeln!(
                    out,
                    "             {warn}note: {}{warn:#}",
                    one_line(note, 140)
                )?;
            }
        }
        if !report.findings.is_empty() {
            writeln!(out)?;
        }
        writeln!(out, "{}", summary_line(report))
    }
}
