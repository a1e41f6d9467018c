//! The passes of a gitleaks configuration: its custom rules, matched as gitleaks matches them,
//! and its global allowlists, applied to every finding (see [`crate::gitleaks::engine`]).

use super::{Context, Pass};
use crate::{
    detect::{
        location::Locator,
        validate::{Confidence, Validation},
    },
    finding::{Located, Region},
    gitleaks::engine::{Texts, decide, lines_of},
    secret::Secret,
};

/// Pass 2b: the custom rules of a gitleaks configuration.
pub(super) struct CustomRules;

impl Pass for CustomRules {
    fn name(&self) -> &'static str {
        "gitleaks-rules"
    }

    fn applies(&self, cx: &Context<'_>) -> bool {
        !cx.analyzer.custom.is_empty()
    }

    fn run(&self, cx: &mut Context<'_>) {
        let analyzer = cx.analyzer;
        let input = cx.input;
        let mut lower: Option<Vec<u8>> = None;
        let mut locator = Locator::new(input);
        for &r in analyzer.custom.iter() {
            let rule = analyzer.detector.rule(r);
            let Some(custom) = &rule.gitleaks else {
                continue;
            };
            if !custom.applies_to(cx.paths) {
                continue;
            }
            let lists = || {
                custom
                    .allowlists
                    .iter()
                    .chain(analyzer.allowlists.for_rule(&rule.id))
            };
            // Why: an allowlist that allows the whole path makes matching pointless (gitleaks
            // skips such files too).
            if lists().any(|l| l.allows_all_at(cx.paths)) {
                continue;
            }
            if custom.regex.is_none() {
                // A path-only rule reports the file itself, once (not its decoded contents).
                if cx.depth == 0 {
                    let empty = Texts {
                        secret: b"",
                        whole: b"",
                        line: b"",
                    };
                    match decide(lists(), cx.paths, empty) {
                        Some(pending) => {
                            let (start, end) = locator.locate_span(0, 0);
                            // Why: the file itself is what leaked; its digest names it (the
                            // same file at several paths is one secret), as for key stores.
                            let secret = super::digest_secret(input);
                            push(cx, r, (Region::of(start, end), (0, 0)), secret, pending);
                        }
                        None => cx.allowlisted += 1,
                    }
                }
                continue;
            }
            let lower = lower.get_or_insert_with(|| input.to_ascii_lowercase());
            if !custom.keywords_admit(lower) {
                continue;
            }
            for m in custom.matches(input) {
                if cx.allowed(m.secret.0) || cx.allowed(m.whole.0) {
                    continue;
                }
                let (from, to) = lines_of(input, m.whole);
                let lines = &input[from..to];
                let secret = &input[m.secret.0..m.secret.1];
                let texts = Texts {
                    secret,
                    whole: &input[m.whole.0..m.whole.1],
                    line: lines,
                };
                let Some(pending) = decide(lists(), cx.paths, texts) else {
                    cx.allowlisted += 1;
                    continue;
                };
                let (start, end) = locator.locate_span(m.secret.0, m.secret.1);
                push(
                    cx,
                    r,
                    (Region::of(start, end), m.secret),
                    Secret::new(secret),
                    pending,
                );
            }
        }
        drop_generic_repeats(cx);
    }
}

/// gitleaks' precedence: a finding of a rule whose id says `generic` is dropped when a rule
/// whose id does not found a secret containing it on the same line. Only custom rules' findings
/// are dropped this way (leakhound resolves its own overlaps in the judge pass).
fn drop_generic_repeats(cx: &mut Context<'_>) {
    let detector = &cx.analyzer.detector;
    let generic = |l: &Located| {
        detector
            .rule(l.rule)
            .id
            .to_ascii_lowercase()
            .contains("generic")
    };
    let keep: Vec<bool> = cx
        .located
        .iter()
        .map(|l| {
            detector.rule(l.rule).gitleaks.is_none()
                || !generic(l)
                || !cx.located.iter().any(|o| {
                    o.region.line == l.region.line
                        && o.rule != l.rule
                        && !generic(o)
                        && o.secret.expose().contains(l.secret.expose())
                })
        })
        .collect();
    let mut i = 0;
    cx.located.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

fn push(
    cx: &mut Context<'_>,
    rule: usize,
    (region, span): (Region, (usize, usize)),
    secret: Secret,
    allow_commits: Vec<std::sync::Arc<[String]>>,
) {
    cx.located.push(Located {
        rule,
        region,
        span,
        secret,
        validation: Validation::Unchecked,
        // Why: gitleaks has no confidence levels; a custom rule's finding is never hidden.
        confidence: Confidence::High,
        ci: None,
        decoded: Vec::new(),
        companion: None,
        allow_commits,
    });
}

/// Pass 5: a gitleaks configuration's global allowlists, over the findings of leakhound's own
/// rules (custom rules apply them as they match). For these findings the "match" an allowlist
/// regex may target is taken to be the secret's lines.
pub(super) struct GlobalAllowlists;

impl Pass for GlobalAllowlists {
    fn name(&self) -> &'static str {
        "gitleaks-allowlists"
    }

    fn applies(&self, cx: &Context<'_>) -> bool {
        !cx.analyzer.allowlists.is_empty() && cx.depth == 0 && !cx.located.is_empty()
    }

    fn run(&self, cx: &mut Context<'_>) {
        let analyzer = cx.analyzer;
        let input = cx.input;
        let paths = cx.paths;
        let mut dropped = 0;
        cx.located.retain_mut(|l| {
            let rule = analyzer.detector.rule(l.rule);
            if rule.gitleaks.is_some() {
                return true;
            }
            let span = (l.span.0.min(input.len()), l.span.1.min(input.len()));
            let (from, to) = lines_of(input, (span.0, span.1.max(span.0)));
            let texts = Texts {
                secret: l.secret.expose().as_bytes(),
                whole: &input[from..to],
                line: &input[from..to],
            };
            match decide(analyzer.allowlists.for_rule(&rule.id), paths, texts) {
                None => {
                    dropped += 1;
                    false
                }
                Some(pending) => {
                    l.allow_commits.extend(pending);
                    true
                }
            }
        });
        cx.allowlisted += dropped;
    }
}
