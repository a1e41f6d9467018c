//! Pass 3, structure: what a regex over the raw text cannot see in structured files.
//!
//! - [`Notebook`]: a Jupyter notebook's code and outputs are JSON strings; they are unescaped
//!   ([`crate::detect::structure::json_strings`]) and scanned, and each match is mapped back
//!   to its place in the file.
//! - [`KubernetesSecret`]: the values of Secret manifests
//!   ([`crate::detect::structure::secret_manifests`]: YAML or JSON, single Secrets or the items
//!   of a `kind: List`); `data:` values are base64 and are decoded and scanned with every rule,
//!   and a credential field that no rule names is reported by the rules marked `decoded: true`.
//!   A `data:` value that is not base64 is skipped: passes have no channel for warnings, so it
//!   is not reported (its raw text was seen by the normal scan).

use super::{Context, Pass, confidence_of};
use crate::{
    detect::{accept, location::Locator, structure, validate},
    finding::{Encoding, Located, Region},
    secret::Secret,
};

/// Jupyter notebooks.
pub(super) struct Notebook;

impl Pass for Notebook {
    fn name(&self) -> &'static str {
        "notebook"
    }

    fn applies(&self, cx: &Context<'_>) -> bool {
        cx.depth == 0 && cx.paths.iter().any(|p| p.ends_with(".ipynb"))
    }

    /// A secret the raw scan found already (one without escapes) is not reported twice.
    fn run(&self, cx: &mut Context<'_>) {
        let input = cx.input;
        let decoded = structure::json_strings(input);
        let text = &decoded.text;
        let mut inner = Vec::new();
        cx.scan_text(text, &mut inner);
        let mut locator = Locator::new(input);
        for m in &inner {
            let (start, last) = (decoded.origin(m.secret.0), decoded.origin(m.secret.1 - 1));
            if cx.allowed(start) {
                continue;
            }
            let secret = Secret::new(&text[m.secret.0..m.secret.1]);
            if cx.located.iter().any(|l| l.secret == secret) {
                continue;
            }
            let (s, e) = locator.locate_span(start, last + 1);
            cx.push(m.rule, (Region::of(s, e), (start, last + 1)), secret, m);
        }
    }
}

/// Kubernetes Secret manifests.
pub(super) struct KubernetesSecret;

impl Pass for KubernetesSecret {
    fn name(&self) -> &'static str {
        "kubernetes-secret"
    }

    fn applies(&self, cx: &Context<'_>) -> bool {
        structure::may_hold_secret_manifest(cx.input)
    }

    fn run(&self, cx: &mut Context<'_>) {
        let input = cx.input;
        let detector = cx.detector();
        let decoded_rules: Vec<usize> = detector
            .rules()
            .rules()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.decoded)
            .map(|(i, _)| i)
            .collect();
        let mut inner = Vec::new();
        let mut locator = Locator::new(input);
        let manifests = structure::secret_manifests(input);
        for bad in &manifests.invalid {
            let line = locator.locate(bad.span.0).line;
            cx.note(format!(
                "Kubernetes Secret value {:?} at line {line} is not valid base64; it was not decoded",
                bad.key
            ));
        }
        for v in manifests.values {
            if cx.allowed(v.span.0) {
                continue;
            }
            let (start, end) = locator.locate_span(v.span.0, v.span.1);
            let region = Region::of(start, end);
            // Why: by bytes, not lines: a flow mapping (`data: {A: …, B: …}`, a JSON manifest)
            // holds several values on one line.
            let span = v.span;
            let overlaps = |l: &Located| l.span.0 < span.1 && span.0 < l.span.1;
            let chain = if v.encoded {
                vec![Encoding::Base64]
            } else {
                Vec::new()
            };
            if v.encoded {
                cx.scan_text(&v.value, &mut inner);
                // Why: a generic rule's finding on the base64 text is the same secret that a
                // provider rule names once decoded; the provider finding is the better report.
                if inner.iter().any(|m| !detector.rule(m.rule).generic) {
                    cx.located.retain(|l| {
                        !(l.decoded.is_empty() && overlaps(l) && detector.rule(l.rule).generic)
                    });
                }
                for m in &inner {
                    let secret = Secret::new(&v.value[m.secret.0..m.secret.1]);
                    cx.push(m.rule, (region, v.span), secret, m);
                    if let Some(l) = cx.located.last_mut() {
                        l.decoded.clone_from(&chain);
                    }
                }
            }
            // Plain stringData was seen by the normal scan already. A provider rule that names
            // the value is the better report; a generic one yields to the structural finding.
            if cx
                .located
                .iter()
                .any(|l| overlaps(l) && !detector.rule(l.rule).generic)
            {
                continue;
            }
            // Why: a Secret also carries its connection details (`region`, `host`, `port`,
            // `username`); those are not credentials, so only a value under a credential-like
            // key (or one a provider rule names, above) is reported.
            if !crate::detect::context::is_credential_field(&v.key) {
                continue;
            }
            let structural = decoded_rules.iter().find_map(|&r| {
                let rule = detector.rule(r);
                let caps = detector.regex(r).captures_iter(&v.value).next()?;
                let secret = &v.value[caps.get_group(1)?.range()];
                if !accept(rule, secret) {
                    return None;
                }
                let full = caps.get_match().map_or(&[][..], |m| &v.value[m.range()]);
                let validation = validate::check_match(rule.validate, secret, full)?;
                Some(Located {
                    rule: r,
                    region,
                    span: v.span,
                    secret: Secret::new(secret),
                    validation,
                    confidence: confidence_of(rule, validation),
                    ci: None,
                    decoded: chain.clone(),
                    companion: None,
                    allow_commits: Vec::new(),
                })
            });
            if let Some(s) = structural {
                cx.located
                    .retain(|l| !(overlaps(l) && detector.rule(l.rule).generic));
                cx.located.push(s);
            }
        }
    }
}
