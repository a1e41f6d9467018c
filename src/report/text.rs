//! Text output for people: one block per secret with all its places, a one-line revoke hint per
//! secret, a "next steps" block, and a summary line. Colour only when the caller says so (a
//! terminal, and `NO_COLOR` unset).

use std::io::{self, Write};

use anstyle::{AnsiColor, Effects, Style};

use super::{Report, Reporter, escape_control, group, plural, shown_secret, summary_line};
use crate::{
    finding::Finding,
    rules::Severity,
    verify::{Status, Verification},
};

/// `active (octocat; scopes repo, gist): the provider accepted it (HTTP 200)`.
///
/// Raw: the identity, scopes and detail come from the provider's answer, so a terminal or
/// Markdown caller escapes the line (JSON-based formats keep it exact).
pub(super) fn verification_line(v: &Verification) -> String {
    let mut who: Vec<String> = Vec::new();
    if let Some(id) = &v.identity {
        who.push(id.clone());
    }
    if !v.scopes.is_empty() {
        who.push(format!("scopes {}", v.scopes.join(", ")));
    }
    let who = if who.is_empty() {
        String::new()
    } else {
        format!(" ({})", who.join("; "))
    };
    format!(
        "{}{who}: {}, checked {}",
        v.status.as_str(),
        v.detail,
        v.checked_at
    )
}

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
pub(super) fn one_line(text: &str, max: usize) -> String {
    let first = text.lines().next().unwrap_or("").trim();
    if first.chars().count() <= max {
        first.to_owned()
    } else {
        let mut s: String = first.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

/// `path:line:column`, plus the commit that introduced it and whether it left `HEAD`. Every
/// part taken from scanned data (path, commit, author, message, layer instruction) has its
/// control characters escaped, so that the line is safe to print to a terminal.
pub(super) fn place(f: &Finding) -> String {
    let mut s = format!(
        "{}:{}:{}",
        escape_control(f.origin.display()),
        f.region.line,
        f.region.column
    );
    if let Some(chain) = f.decode_chain() {
        s.push_str(&format!("  [decoded: {chain}]"));
    }
    if let Some(g) = &f.git {
        match &g.commit {
            Some(c) => {
                let id: String = c.id.chars().take(12).collect();
                s.push_str(&format!(
                    "  commit {} {} {}  {}",
                    escape_control(&id),
                    escape_control(&c.author),
                    escape_control(&c.date),
                    escape_control(&c.summary)
                ));
            }
            None => {
                let blob: String = g.blob.chars().take(12).collect();
                s.push_str(&format!("  blob {}", escape_control(&blob)));
            }
        }
        if g.in_head == Some(false) {
            s.push_str("  [removed from HEAD, still in history]");
        }
    }
    if let Some(img) = &f.image
        && let Some(layer) = img.layer_index
    {
        s.push_str(&format!("  layer {layer}"));
        if let Some(by) = &img.created_by {
            let by: String = by.chars().take(60).collect();
            s.push_str(&format!(" ({})", escape_control(&by)));
        }
        if img.deleted_in_final_image {
            s.push_str("  [deleted in the final image, still in the layer]");
        }
    }
    s
}

impl Reporter for TextReporter {
    fn render(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let paint = |style: Style| if report.color { style } else { Style::new() };
        let bold = paint(Style::new().effects(Effects::BOLD));
        let dim = paint(Style::new().effects(Effects::DIMMED));
        let warn = paint(AnsiColor::Yellow.on_default());
        let groups = group(report.findings);
        for g in &groups {
            let f = g.first;
            let sev = paint(severity_style(f.severity));
            writeln!(
                out,
                "{sev}{:<8}{sev:#} {bold}{}{bold:#}  {}  {}  {dim}id {}  confidence {} ({}){dim:#}",
                f.severity.as_str(),
                escape_control(&f.rule_id),
                escape_control(&f.rule_name),
                escape_control(&shown_secret(f, report.show_secrets)),
                escape_control(&f.secret_id[..12]),
                f.confidence.as_str(),
                f.validation.as_str(),
            )?;
            if !f.details.is_empty() {
                let d: Vec<String> = f
                    .details
                    .iter()
                    .map(|(k, v)| format!("{k}={}", escape_control(v)))
                    .collect();
                writeln!(out, "  {dim}{}{dim:#}", d.join(" "))?;
            }
            if let Some(v) = &f.verification {
                let style = match v.status {
                    Status::Active => paint(AnsiColor::Red.on_default().effects(Effects::BOLD)),
                    Status::Inactive => dim,
                    Status::Unknown => warn,
                };
                writeln!(
                    out,
                    "  {style}live: {}{style:#}",
                    escape_control(&verification_line(v))
                )?;
            }
            if g.places.len() > 1 {
                writeln!(
                    out,
                    "  1 secret, {}:",
                    plural(g.places.len(), "place", "places")
                )?;
            }
            for p in &g.places {
                writeln!(out, "    {}", place(p))?;
                if let Some(ci) = &p.ci {
                    let at: Vec<&str> = [ci.job.as_deref(), ci.step.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect();
                    writeln!(
                        out,
                        "      {} {}: {}",
                        ci.system,
                        escape_control(&at.join(" / ")),
                        escape_control(&ci.detail)
                    )?;
                }
            }
            writeln!(
                out,
                "  {dim}revoke: {}{dim:#}",
                escape_control(&one_line(&f.remediation.revoke, 110))
            )?;
            if let Some(note) = g.places.iter().find_map(|p| p.note) {
                writeln!(
                    out,
                    "  {warn}note: {}{warn:#}",
                    escape_control(&one_line(note, 140))
                )?;
            }
            writeln!(out)?;
        }
        if !groups.is_empty() {
            writeln!(out, "{bold}Next steps{bold:#}")?;
            writeln!(
                out,
                "  1. Revoke first: a committed secret is compromised; deleting it does not undo the leak.\n     `leakhound explain RULE_ID` prints the full playbook for each rule above."
            )?;
            writeln!(
                out,
                "  2. Rotate: issue a replacement and deliver it from a secret manager or CI secret store."
            )?;
            writeln!(
                out,
                "  3. Investigate: check each provider's audit log for use since the secret was committed."
            )?;
            writeln!(
                out,
                "  4. Prevent: remove it from the code, and run `leakhound git --staged` as a pre-commit hook.\n"
            )?;
        }
        for (title, counts) in [
            ("rule", &report.stats.by_rule),
            ("repository", &report.stats.by_repository),
        ] {
            if !counts.is_empty() {
                let by: Vec<String> = counts
                    .iter()
                    .map(|(r, n)| format!("{} {n}", escape_control(r)))
                    .collect();
                writeln!(out, "Findings by {title}: {}", by.join(", "))?;
            }
        }
        writeln!(out, "{}", escape_control(&summary_line(report)))
    }
}
