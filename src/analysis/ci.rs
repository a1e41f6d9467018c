//! Pass 3, CI/CD configuration: the workflow analysis of [`crate::ci`] (literal credentials
//! in environment blocks, secrets echoed to logs, debug logging, secrets on command lines),
//! reported under the `ci.*` rules with the system, job and step.
//!
//! A configuration that does not parse whole (invalid YAML, nesting too deep, too large) is
//! analysed as far as it parses, and the pass notes what it left out ([`Context::note`], a
//! warning for the file); the other passes see the whole file as always.

use std::collections::HashMap;

use super::{Context, Pass, confidence_of};
use crate::{
    detect::validate::Validation,
    finding::{CiContext, Located, Region},
    secret::Secret,
};

/// CI/CD configuration files.
pub(super) struct CiPass;

impl Pass for CiPass {
    fn name(&self) -> &'static str {
        "ci"
    }

    fn applies(&self, cx: &Context<'_>) -> bool {
        // Why: a later window of a large file starts mid-document; its CI analysis would
        // report syntax errors that are not in the file.
        cx.depth == 0 && !cx.later_window && cx.paths.iter().any(|p| crate::ci::system(p).is_some())
    }

    fn run(&self, cx: &mut Context<'_>) {
        let input = cx.input;
        let Some(system) = cx.paths.iter().find_map(|p| crate::ci::system(p)) else {
            return;
        };
        let text = String::from_utf8_lossy(input);
        let outcome = crate::ci::analyze(system, &text);
        for message in outcome.warnings {
            cx.note(message);
        }
        if outcome.issues.is_empty() {
            return;
        }
        let rules = cx.detector().rules().rules();
        // The engine rules by id, looked up once per file rather than once per issue.
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        for (i, r) in rules.iter().enumerate() {
            if r.engine.is_some() {
                by_id.entry(r.id.as_str()).or_insert(i);
            }
        }
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', input).map(|i| i + 1))
            .collect();
        // Why: issues come sorted by line; an inline marker is looked for once per line (a
        // long line with many issues would otherwise be read once per issue).
        let mut marked: Option<(usize, bool)> = None;
        for issue in outcome.issues {
            let Some(&rule) = by_id.get(issue.rule) else {
                continue;
            };
            let offset = line_starts
                .get(issue.line.wrapping_sub(1))
                .copied()
                .unwrap_or(0);
            let allowed = match marked {
                Some((line, allowed)) if line == issue.line => {
                    cx.suppressed += u64::from(allowed);
                    allowed
                }
                _ => {
                    let allowed = cx.allowed(offset);
                    marked = Some((issue.line, allowed));
                    allowed
                }
            };
            if allowed {
                continue;
            }
            let end_column = issue.column + issue.value.chars().count();
            let region = Region {
                line: issue.line,
                column: issue.column,
                end_line: issue.line,
                end_column,
            };
            let validation = Validation::Unchecked;
            let ci = Some(Box::new(CiContext {
                system: system.as_str(),
                job: issue.job,
                step: issue.step,
                detail: issue.detail,
            }));
            let line_end = line_starts.get(issue.line).copied().unwrap_or(input.len());
            cx.located.push(Located {
                rule,
                region,
                span: (offset, line_end),
                secret: Secret::new(issue.value.as_bytes()),
                validation,
                confidence: confidence_of(&rules[rule], validation),
                ci,
                decoded: Vec::new(),
                companion: None,
                allow_commits: Vec::new(),
            });
        }
    }
}
