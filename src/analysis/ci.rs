//! Pass 3, CI/CD configuration: the workflow analysis of [`crate::ci`] (literal credentials
//! in environment blocks, secrets echoed to logs, debug logging, secrets on command lines),
//! reported under the `ci.*` rules with the system, job and step.

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
        cx.depth == 0 && cx.paths.iter().any(|p| crate::ci::system(p).is_some())
    }

    fn run(&self, cx: &mut Context<'_>) {
        let input = cx.input;
        let Some(system) = cx.paths.iter().find_map(|p| crate::ci::system(p)) else {
            return;
        };
        let rules = cx.detector().rules().rules();
        let text = String::from_utf8_lossy(input);
        let line_starts: Vec<usize> = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', input).map(|i| i + 1))
            .collect();
        for issue in crate::ci::analyze(system, &text) {
            let Some(rule) = rules
                .iter()
                .position(|r| r.id == issue.rule && r.engine.is_some())
            else {
                continue;
            };
            let offset = line_starts.get(issue.line - 1).copied().unwrap_or(0);
            if cx.allowed(offset) {
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
