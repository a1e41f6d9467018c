//! Markdown output: a report a person can hand to the team that owns the secrets. One section
//! per secret with its places, its full playbook and a checklist.

use std::io::{self, Write};

use super::{Report, Reporter, group, human_bytes, shown_secret, summary_line};

pub(super) struct MarkdownReporter;

/// Escapes the characters that would break a Markdown table cell or inline text.
fn md(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

impl Reporter for MarkdownReporter {
    fn render(&self, report: &Report<'_>, out: &mut dyn Write) -> io::Result<()> {
        let groups = group(report.findings);
        writeln!(out, "# leakhound report\n")?;
        writeln!(
            out,
            "{} secret(s) in {} place(s). Scanned {} input(s), {}.\n",
            groups.len(),
            report.findings.len(),
            report.stats.files,
            human_bytes(report.stats.bytes)
        )?;
        if groups.is_empty() {
            writeln!(out, "No secrets found.\n")?;
        } else {
            writeln!(
                out,
                "| # | severity | secret | rule | places |\n|---|---|---|---|---|"
            )?;
            for (i, g) in groups.iter().enumerate() {
                let f = g.first;
                writeln!(
                    out,
                    "| {} | {} | `{}` | {} (`{}`) | {} |",
                    i + 1,
                    f.severity.as_str(),
                    md(&shown_secret(f, report.show_secrets)),
                    md(&f.rule_name),
                    f.rule_id,
                    g.places.len()
                )?;
            }
            writeln!(out)?;
        }
        for (title, counts) in [
            ("repository", &report.stats.by_repository),
            ("rule", &report.stats.by_rule),
        ] {
            if report.stats.by_repository.is_empty() || counts.is_empty() {
                continue;
            }
            writeln!(out, "| {title} | findings |\n|---|---|")?;
            for (name, n) in counts {
                writeln!(out, "| {} | {n} |", md(name))?;
            }
            writeln!(out)?;
        }
        for (i, g) in groups.iter().enumerate() {
            let f = g.first;
            let r = &f.remediation;
            writeln!(
                out,
                "## {}. {} ({}) — {}\n",
                i + 1,
                md(&f.rule_name),
                f.provider,
                f.severity.as_str()
            )?;
            writeln!(
                out,
                "- Secret: `{}` (id `{}`)",
                md(&shown_secret(f, report.show_secrets)),
                f.secret_id
            )?;
            writeln!(out, "- Rule: `{}`", f.rule_id)?;
            writeln!(
                out,
                "- Confidence: {} ({})",
                f.confidence.as_str(),
                f.validation.as_str()
            )?;
            if let Some(v) = &f.verification {
                writeln!(
                    out,
                    "- Live: **{}**",
                    md(&super::text::verification_line(v))
                )?;
            }
            writeln!(out)?;
            if let Some(note) = g.places.iter().find_map(|p| p.note) {
                writeln!(out, "> **Note:** {note}\n")?;
            }
            writeln!(out, "### Where\n")?;
            let git = g.places.iter().any(|p| p.git.is_some());
            if git {
                writeln!(
                    out,
                    "| path | line | commit | author | date | still in HEAD |\n|---|---|---|---|---|---|"
                )?;
            } else {
                writeln!(out, "| path | line | column |\n|---|---|---|")?;
            }
            for p in &g.places {
                match &p.git {
                    Some(gp) => {
                        let (id, author, date) = gp.commit.as_ref().map_or(("", "", ""), |c| {
                            (
                                &c.id[..c.id.len().min(12)],
                                c.author.as_str(),
                                c.date.as_str(),
                            )
                        });
                        let head = match gp.in_head {
                            Some(true) => "yes",
                            Some(false) => "no",
                            None => "",
                        };
                        writeln!(
                            out,
                            "| `{}`{} | {} | `{id}` | {} | {date} | {head} |",
                            md(p.origin.display()),
                            decoded_note(p),
                            p.region.line,
                            md(author)
                        )?;
                    }
                    None => writeln!(
                        out,
                        "| `{}`{} | {} | {} |",
                        md(p.origin.display()),
                        decoded_note(p),
                        p.region.line,
                        p.region.column
                    )?,
                }
            }
            writeln!(out, "\n### Playbook\n")?;
            writeln!(out, "1. **Revoke now:** {}", md(&r.revoke))?;
            writeln!(out, "2. **Replace:** {}", md(&r.rotate))?;
            writeln!(out, "3. **Look for misuse:** {}", md(&r.audit))?;
            writeln!(out, "4. **Rotate from now on:** {}", md(&r.rotation))?;
            if !r.references.is_empty() {
                writeln!(out, "\nReferences:\n")?;
                for url in &r.references {
                    writeln!(out, "- <{url}>")?;
                }
            }
            writeln!(out, "\n### Checklist\n")?;
            writeln!(
                out,
                "- [ ] Revoked at {} (the old value no longer works)",
                f.provider
            )?;
            writeln!(
                out,
                "- [ ] Replacement issued and delivered from a secret manager, not the repository"
            )?;
            writeln!(
                out,
                "- [ ] Audit log reviewed for use since the secret was first committed"
            )?;
            writeln!(
                out,
                "- [ ] Removed from the code; pre-commit hook (`leakhound git --staged`) in place\n"
            )?;
        }
        writeln!(out, "---\n\n{}", summary_line(report))
    }
}

/// ` (decoded: base64 → gzip)` after a path whose secret was found encoded.
fn decoded_note(f: &crate::finding::Finding) -> String {
    f.decode_chain()
        .map(|c| format!(" (decoded: {c})"))
        .unwrap_or_default()
}
