//! Markdown output: a report a person can hand to the team that owns the secrets. One section
//! per secret with its places, its full playbook and a checklist.

use std::io::{self, Write};

use super::{Report, Reporter, escape_control, group, human_bytes, shown_secret, summary_line};

pub(super) struct MarkdownReporter;

/// Prose (rule names, playbooks, the provider's answer) made safe for a Markdown table cell or
/// inline text: line breaks become spaces, every other control character is shown escaped
/// (`\x1b`), and `|` is escaped so that it cannot end a table cell.
fn md(text: &str) -> String {
    escape_control(&text.replace("\r\n", " ").replace(['\n', '\r'], " ")).replace('|', "\\|")
}

/// Scanned data (a path, an author, a repository name) made safe for a Markdown table cell:
/// every control character, line breaks included, is shown escaped (`\x0a`, `\x1b`) so that
/// the value reads as it is, and `|` is escaped so that it cannot end a table cell.
fn cell(text: &str) -> String {
    escape_control(text).replace('|', "\\|")
}

/// A code span holding `text` (already escaped with [`md`], [`cell`] or `escape_control`):
/// fenced with one backtick more than the longest run of backticks in it, and padded with a
/// space when it starts or ends with a backtick or a space, so that no character of the text
/// can end the span early (CommonMark strips one padding space on each side).
fn code(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        if c == '`' {
            run += 1;
            longest = longest.max(run);
        } else {
            run = 0;
        }
    }
    let fence = "`".repeat(longest + 1);
    let pad = if text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']) {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A reference link: an autolink (`<https://…>`) when the URL can be one, else a code span.
fn link(url: &str) -> String {
    let url = escape_control(url);
    if url.is_empty() || url.contains(|c: char| c.is_whitespace() || c == '<' || c == '>') {
        code(&url)
    } else {
        format!("<{url}>")
    }
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
                    "| {} | {} | {} | {} ({}) | {} |",
                    i + 1,
                    f.severity.as_str(),
                    code(&cell(&shown_secret(f, report.show_secrets))),
                    md(&f.rule_name),
                    code(&cell(&f.rule_id)),
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
                writeln!(out, "| {} | {n} |", cell(name))?;
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
                md(&f.provider),
                f.severity.as_str()
            )?;
            writeln!(
                out,
                "- Secret: {} (id {})",
                code(&escape_control(&shown_secret(f, report.show_secrets))),
                code(&escape_control(&f.secret_id))
            )?;
            writeln!(out, "- Rule: {}", code(&escape_control(&f.rule_id)))?;
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
                        let (id, author, date) =
                            gp.commit.as_ref().map_or((String::new(), "", ""), |c| {
                                (
                                    c.id.chars().take(12).collect::<String>(),
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
                            "| {}{} | {} | {} | {} | {} | {head} |",
                            code(&cell(p.origin.display())),
                            decoded_note(p),
                            p.region.line,
                            code(&cell(&id)),
                            cell(author),
                            cell(date)
                        )?;
                    }
                    None => writeln!(
                        out,
                        "| {}{} | {} | {} |",
                        code(&cell(p.origin.display())),
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
                    writeln!(out, "- {}", link(url))?;
                }
            }
            writeln!(out, "\n### Checklist\n")?;
            writeln!(
                out,
                "- [ ] Revoked at {} (the old value no longer works)",
                md(&f.provider)
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
        writeln!(out, "---\n\n{}", escape_control(&summary_line(report)))
    }
}

/// ` (decoded: base64 → gzip)` after a path whose secret was found encoded.
fn decoded_note(f: &crate::finding::Finding) -> String {
    f.decode_chain()
        .map(|c| format!(" (decoded: {c})"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_cannot_be_closed_by_their_text() {
        assert_eq!(code("src/a.rs"), "`src/a.rs`");
        assert_eq!(code("b`q.env"), "``b`q.env``");
        assert_eq!(code("a``b"), "```a``b```");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code(""), "");
    }

    #[test]
    fn scanned_text_shows_control_characters_escaped() {
        assert_eq!(
            cell("x\u{1b}]0;pwned\u{7}|a\nb"),
            "x\\x1b]0;pwned\\x07\\|a\\x0ab"
        );
        assert_eq!(md("revoke\nit | now\u{1b}[2J"), "revoke it \\| now\\x1b[2J");
        assert_eq!(
            link("https://example.com/docs"),
            "<https://example.com/docs>"
        );
        assert_eq!(link("https://x.invalid/a>b"), "`https://x.invalid/a>b`");
    }
}
