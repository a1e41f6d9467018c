//! The detector: the first two passes of the analysis (see `analysis`), over bytes.
//!
//! [`Detector::find`] is the keyword prefilter and the rule regexes in windows around the hits:
//! it yields [`Candidate`]s. [`Detector::judge`] applies what the rules ask for to each
//! candidate — entropy, placeholder and extra filters ([`filter`]), the offline validity check
//! ([`validate`]), the context of weakly anchored rules ([`context`]) — and resolves overlaps
//! between rules: it yields [`Match`]es. The rule data (validator, filter and context *kinds*)
//! lives in `rules`; their implementations live here.
//!
//! A [`Detector`] is built once per scan and shared by every worker thread; each worker keeps its
//! own [`Scratch`] so that the hot path does not allocate per input. The detector never reads
//! files: it is given bytes and returns byte spans.

pub mod context;
pub mod entropy;
pub mod filter;
pub mod gate;
pub mod keystore;
pub mod keywords;
pub mod location;
pub mod prefilter;
pub mod structure;
pub mod validate;

use std::sync::Arc;

use crate::rules::{Compile, Rule, RuleSet};
use prefilter::Prefilter;

/// How far a window reaches before and after a keyword hit on the same line.
pub const LINE_REACH: usize = 1024;
/// How far a `multiline` rule's window reaches past its keyword hit.
pub const MULTILINE_REACH: usize = 16 * 1024;

/// One match of a rule in an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Match {
    /// Index of the rule in the detector's rule set.
    pub rule: usize,

    /// Byte span of the secret (capture group 1).
    pub secret: (usize, usize),
    /// What the rule's offline check established.
    pub validation: validate::Validation,
    /// How sure the detector is that this is a credential: from the offline check, and for
    /// weakly anchored rules from the context (see [`context`]).
    pub confidence: validate::Confidence,
}

/// A regex match of a rule before its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    /// Index of the rule in the detector's rule set.
    pub rule: usize,
    /// Byte span of the whole regex match.
    pub whole: (usize, usize),
    /// Byte span of the secret (capture group 1).
    pub secret: (usize, usize),
}

/// Per-worker reusable buffers.
#[derive(Debug, Default)]
pub struct Scratch {
    /// For each rule, its merged windows for the current input.
    windows: Vec<Vec<(usize, usize)>>,
    /// Rules with at least one window for the current input.
    touched: Vec<usize>,
    /// Per rule: 0 = path scope not checked yet for this input, 1 = applies, 2 = does not.
    scope: Vec<u8>,
    /// Rules whose `scope` entry was set for this input.
    scoped: Vec<usize>,
    /// The prefilter's buffers.
    hits: prefilter::Hits,
    /// Candidates of [`Detector::scan`].
    candidates: Vec<Candidate>,
}

/// Rules plus their compiled prefilter.
#[derive(Debug, Clone)]
pub struct Detector {
    rules: Arc<RuleSet>,
    prefilter: Arc<Prefilter>,
    /// Rules without keywords, which run on every file in their path scope (binary rules on
    /// binary files, the others on text).
    unkeyed: Arc<[usize]>,
    /// How regexes are built on first use.
    compile: Compile,
}

/// How many leading bytes are sniffed for a NUL byte.
pub const BINARY_SNIFF_LEN: usize = 8 * 1024;

/// Whether an input is binary: a NUL byte in its first [`BINARY_SNIFF_LEN`] bytes.
///
/// ```
/// use leakhound::detect::looks_binary;
/// assert!(looks_binary(b"PK\x03\x04\0\0"));
/// assert!(!looks_binary(b"password = hunter2"));
/// ```
pub fn looks_binary(bytes: &[u8]) -> bool {
    memchr::memchr(0, &bytes[..bytes.len().min(BINARY_SNIFF_LEN)]).is_some()
}

/// How much of a file a rule without keywords reads (key stores and key files are kilobytes).
pub const UNKEYED_REACH: usize = 16 * 1024 * 1024;

impl Detector {
    /// A detector for inputs of any size.
    pub fn new(rules: Arc<RuleSet>) -> Detector {
        Detector::with_compile(rules, Compile::Full)
    }

    /// A detector for a few small inputs (a pre-commit hook, an editor): its regexes are
    /// cheaper to build and slower to search, and the ones an input needs are built on both
    /// cores at once.
    pub fn for_small_inputs(rules: Arc<RuleSet>) -> Detector {
        Detector::with_compile(rules, Compile::Lean)
    }

    fn with_compile(rules: Arc<RuleSet>, compile: Compile) -> Detector {
        let prefilter = Arc::new(Prefilter::new(&rules));
        let unkeyed = rules
            .rules()
            .iter()
            .enumerate()
            .filter(|(_, r)| {
                r.keywords.is_empty() && !r.decoded && r.engine.is_none() && r.gitleaks.is_none()
            })
            .map(|(i, _)| i)
            .collect();
        Detector {
            rules,
            prefilter,
            unkeyed,
            compile,
        }
    }

    /// The compiled regex of the rule with this index.
    pub fn regex(&self, index: usize) -> &regex_automata::meta::Regex {
        self.rules.rules()[index].compiled(self.compile)
    }

    /// Whether the rules of one input are better run on two threads: for a small-input
    /// detector when enough of them have no regex built yet (building one costs more than
    /// searching a small input, and a thread costs about as much as building one).
    fn worth_two_threads(&self, touched: &[usize]) -> bool {
        /// Fewer regexes to build than this are built on the scanning thread.
        const WORTH_A_THREAD: usize = 8;
        self.compile == Compile::Lean
            && touched
                .iter()
                .filter(|&&r| !self.rules.rules()[r].is_compiled())
                .nth(WORTH_A_THREAD - 1)
                .is_some()
    }

    /// Runs rule `r`'s regex in its `windows` of `input`, appending candidates to `out`.
    fn run_rule(
        &self,
        r: usize,
        input: &[u8],
        windows: &[(usize, usize)],
        out: &mut Vec<Candidate>,
    ) {
        let regex = self.regex(r);
        for &(ws, we) in windows {
            let hay = &input[ws..we];
            for caps in regex.captures_iter(hay) {
                let (Some(whole), Some(secret)) = (caps.get_match(), caps.get_group(1)) else {
                    continue;
                };
                out.push(Candidate {
                    rule: r,
                    whole: (ws + whole.start(), ws + whole.end()),
                    secret: (ws + secret.start, ws + secret.end),
                });
            }
        }
    }

    /// Judges one candidate: the rule's filters, its offline check and its context. `None`
    /// drops it; `Err` drops it as a malformed token of a known format (its span then silences
    /// weaker rules on it).
    fn judge_one(
        &self,
        c: &Candidate,
        input: &[u8],
        paths: &[&str],
        file: &mut Option<context::FileContext>,
    ) -> Result<Option<Match>, (usize, usize)> {
        let rule = &self.rules.rules()[c.rule];
        let secret = &input[c.secret.0..c.secret.1];
        // Why: a binary rule's capture is a whole container; text filters mean nothing there.
        if !rule.binary && !accept(rule, secret) {
            return Ok(None);
        }
        let whole = &input[c.whole.0..c.whole.1];
        // Why: a token whose own checksum or structure fails is not a credential; its span is
        // remembered so that a generic rule does not report it either.
        let Some(validation) = validate::check_match(rule.validate, secret, whole) else {
            let keyed = !self.unkeyed.contains(&c.rule);
            return if keyed && !rule.generic {
                Err(c.secret)
            } else {
                Ok(None)
            };
        };
        let confidence = match rule.context {
            None => validate::Confidence::of(validation, rule.generic),
            Some(kind) => {
                let candidate = context::Candidate {
                    input,
                    whole: c.whole,
                    secret: c.secret,
                    file: *file.get_or_insert_with(|| context::FileContext::of(paths)),
                };
                let Some(judged) = context::judge(kind, &candidate) else {
                    return Ok(None);
                };
                if validation == validate::Validation::Expired {
                    validate::Confidence::Low
                } else {
                    judged
                }
            }
        };
        Ok(Some(Match {
            rule: c.rule,
            secret: c.secret,
            validation,
            confidence,
        }))
    }

    /// The rules this detector runs.
    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The rules this detector runs, shared.
    pub fn shared_rules(&self) -> Arc<RuleSet> {
        Arc::clone(&self.rules)
    }

    /// The rule with this index (from [`Match::rule`]).
    pub fn rule(&self, index: usize) -> &Rule {
        &self.rules.rules()[index]
    }

    /// The keyword prefilter.
    pub fn prefilter(&self) -> &Prefilter {
        &self.prefilter
    }

    /// A scratch space sized for this detector.
    pub fn scratch(&self) -> Scratch {
        Scratch {
            windows: vec![Vec::new(); self.rules.len()],
            touched: Vec::new(),
            scope: vec![0; self.rules.len()],
            scoped: Vec::new(),
            hits: prefilter::Hits::default(),
            candidates: Vec::new(),
        }
    }

    /// Finds and judges every match in `input` ([`Detector::find`] then
    /// [`Detector::judge`]), sorted by secret offset, into `out` (cleared first).
    pub fn scan(&self, input: &[u8], paths: &[&str], scratch: &mut Scratch, out: &mut Vec<Match>) {
        let mut candidates = std::mem::take(&mut scratch.candidates);
        self.find(input, paths, scratch, &mut candidates);
        self.judge(input, paths, &candidates, out);
        scratch.candidates = candidates;
    }

    /// The first pass: the rules whose keywords occur in `input` (and the rules without
    /// keywords whose path scope holds one of `paths`) run their regex; every capture becomes a
    /// [`Candidate`] in `out` (cleared first). `paths` are where the input lives (relative,
    /// `/`-separated; empty if unknown): a rule limited to some paths runs only if one of them
    /// is in its scope.
    pub fn find(
        &self,
        input: &[u8],
        paths: &[&str],
        scratch: &mut Scratch,
        out: &mut Vec<Candidate>,
    ) {
        out.clear();
        if scratch.windows.len() != self.rules.len() {
            *scratch = self.scratch();
        }
        let rules = self.rules.rules();
        if !self.unkeyed.is_empty() && !paths.is_empty() {
            self.scan_unkeyed(input, paths, out);
        }
        let Scratch {
            windows,
            touched,
            scope,
            scoped,
            hits,
            ..
        } = scratch;
        self.prefilter.for_each_hit(input, hits, |r, start, end| {
            if rules[r].paths.is_some() {
                if scope[r] == 0 {
                    scope[r] = if rules[r].applies_to(paths.iter().copied()) {
                        1
                    } else {
                        2
                    };
                    scoped.push(r);
                }
                if scope[r] == 2 {
                    return;
                }
            }
            let win = &mut windows[r];
            // Why: a hit inside the rule's last window needs no new window; this keeps the cost
            // per hit at a comparison for keywords that repeat on one line.
            if let Some(last) = win.last()
                && start >= last.0
                && end <= last.1
            {
                return;
            }
            let w = window(input, start, end, rules[r].multiline);
            match win.last_mut() {
                Some(last) if w.0 <= last.1 => last.1 = last.1.max(w.1),
                Some(_) => win.push(w),
                None => {
                    touched.push(r);
                    win.push(w);
                }
            }
        });
        // Why: a rule whose windows cannot hold its secret needs no regex (see `gate`).
        touched.retain(|&r| {
            let admitted = rules[r].gate().admits(input, &windows[r]);
            if !admitted {
                windows[r].clear();
            }
            admitted
        });
        if self.worth_two_threads(touched) {
            let next = std::sync::atomic::AtomicUsize::new(0);
            let windows = &*windows;
            let work = || {
                let mut found = Vec::new();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&r) = touched.get(i) else { break };
                    self.run_rule(r, input, &windows[r], &mut found);
                }
                found
            };
            let theirs = std::thread::scope(|scope| {
                let helper = scope.spawn(work);
                out.extend(work());
                helper
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            });
            out.extend(theirs);
        } else {
            for &r in touched.iter() {
                self.run_rule(r, input, &windows[r], out);
            }
        }
        for &r in touched.iter() {
            windows[r].clear();
        }
        touched.clear();
        for r in scoped.drain(..) {
            scope[r] = 0;
        }
    }

    /// The second pass: judges each candidate (filters, offline
    /// check, context), then resolves overlaps (a specific rule over a generic one, a rule over
    /// one it supersedes, a malformed known token over weaker rules). Matches go into `out`
    /// (cleared first), sorted by secret offset.
    pub fn judge(
        &self,
        input: &[u8],
        paths: &[&str],
        candidates: &[Candidate],
        out: &mut Vec<Match>,
    ) {
        out.clear();
        let rules = self.rules.rules();
        let mut rejected: Vec<(usize, usize)> = Vec::new();
        // Why: the file context is computed once per input, and only if a contextual rule
        // matched.
        let mut file: Option<context::FileContext> = None;
        for c in candidates {
            match self.judge_one(c, input, paths, &mut file) {
                Ok(Some(m)) => out.push(m),
                Ok(None) => {}
                Err(span) => rejected.push(span),
            }
        }
        if out.len() > 1 {
            out.sort_by_key(|m| (m.secret.0, m.secret.1, m.rule));
            out.dedup_by(|b, a| a.rule == b.rule && a.secret == b.secret);
            drop_generic_overlaps(rules, out);
            drop_dominated(rules, out);
        }
        if !rejected.is_empty() {
            // Structural (path-scoped) rules yield to a rejected token too: a malformed
            // token of a known format is not a credential in a .env file either.
            out.retain(|m| {
                let weak = anchoring(&rules[m.rule]) < 2 || rules[m.rule].paths.is_some();
                !weak
                    || !rejected
                        .iter()
                        .any(|s| s.0 < m.secret.1 && m.secret.0 < s.1)
            });
        }
    }
}

impl Detector {
    /// Runs the rules without keywords whose scope holds one of `paths` over the whole input
    /// (its first [`UNKEYED_REACH`] bytes): `binary` rules if the input is binary (a NUL byte
    /// in its head), the others if it is text. A binary rule's validator parses the container.
    fn scan_unkeyed(&self, input: &[u8], paths: &[&str], out: &mut Vec<Candidate>) {
        let mut binary = None;
        let hay = &input[..input.len().min(UNKEYED_REACH)];
        for &r in self.unkeyed.iter() {
            let rule = &self.rules.rules()[r];
            if !rule.applies_to(paths.iter().copied()) {
                continue;
            }
            let is_binary = *binary.get_or_insert_with(|| looks_binary(input));
            if is_binary != rule.binary {
                continue;
            }
            let Some(caps) = self.regex(r).captures_iter(hay).next() else {
                continue;
            };
            let (Some(whole), Some(secret)) = (caps.get_match(), caps.get_group(1)) else {
                continue;
            };
            out.push(Candidate {
                rule: r,
                whole: (whole.start(), whole.end()),
                secret: (secret.start, secret.end),
            });
        }
    }
}

/// The window of `input` in which a rule's regex runs for a keyword hit at `start..end`.
fn window(input: &[u8], start: usize, end: usize, multiline: bool) -> (usize, usize) {
    let floor = start.saturating_sub(LINE_REACH);
    let ws = memchr::memrchr(b'\n', &input[floor..start]).map_or(floor, |i| floor + i + 1);
    let we = if multiline {
        (end + MULTILINE_REACH).min(input.len())
    } else {
        let ceil = (end + LINE_REACH).min(input.len());
        memchr::memchr(b'\n', &input[end..ceil]).map_or(ceil, |i| end + i)
    };
    (ws, we)
}

/// Entropy, placeholder and extra filters: whether a capture is reported.
pub(crate) fn accept(rule: &Rule, secret: &[u8]) -> bool {
    if secret.is_empty() {
        return false;
    }
    if let Some(min) = rule.entropy
        && entropy::shannon(secret) < min
    {
        return false;
    }
    !filter::is_placeholder(secret) && filter::passes(&rule.filters, secret)
}

/// How strongly a rule's format anchors its findings: 0 generic, 1 judged in context (JWTs,
/// URLs, SMTP settings), 2 a specific format.
fn anchoring(rule: &Rule) -> u8 {
    if rule.generic {
        0
    } else if rule.context.is_some() {
        1
    } else {
        2
    }
}

/// Drops matches whose secret overlaps one of a more strongly anchored rule: the specific rule
/// names the provider and its remediation, so it is the better report of the same secret (and
/// a JWT or URL rule is a better report than a generic assignment).
fn drop_generic_overlaps(rules: &[Rule], out: &mut Vec<Match>) {
    if !out.iter().any(|m| anchoring(&rules[m.rule]) < 2) {
        return;
    }
    let stronger: Vec<((usize, usize), u8)> = out
        .iter()
        .map(|m| (m.secret, anchoring(&rules[m.rule])))
        .filter(|&(_, a)| a > 0)
        .collect();
    out.retain(|m| {
        let own = anchoring(&rules[m.rule]);
        own == 2
            || !stronger
                .iter()
                .any(|&(s, a)| a > own && s.0 < m.secret.1 && m.secret.0 < s.1)
    });
}

/// Drops the match of a rule that another rule `supersedes` (rule data) on an overlapping
/// secret: Paystack, Clerk and WorkOS keys share Stripe's `sk_live_` prefix, and their rules,
/// anchored on the provider's name or a longer prefix, say which provider the key is for.
fn drop_dominated(rules: &[Rule], out: &mut Vec<Match>) {
    if !out.iter().any(|m| !rules[m.rule].supersedes.is_empty()) {
        return;
    }
    let dominated = |m: &Match, o: &Match| {
        o.rule != m.rule
            && o.secret.0 < m.secret.1
            && m.secret.0 < o.secret.1
            && rules[o.rule].supersedes.contains(&rules[m.rule].id)
    };
    // Why: `out` is sorted by secret start, so a match can only be contained by one that is
    // still open at its start (or starts with it); sweeping keeps this linear for real inputs.
    let mut keep = vec![true; out.len()];
    let mut open: Vec<usize> = Vec::new();
    for (i, m) in out.iter().enumerate() {
        open.retain(|&j| out[j].secret.1 > m.secret.0);
        let later = out[i + 1..].iter().take_while(|o| o.secret.0 < m.secret.1);
        if open
            .iter()
            .map(|&j| &out[j])
            .chain(later)
            .any(|o| dominated(m, o))
        {
            keep[i] = false;
        }
        open.push(i);
    }
    if keep.iter().all(|&k| k) {
        return;
    }
    let mut i = 0;
    out.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detector(yaml: &str) -> Detector {
        let mut set = RuleSet::default();
        set.add_text("t.yml", yaml, true).unwrap();
        Detector::new(Arc::new(set))
    }

    const RULES: &str = r#"
provider: T
remediation: { revoke: r, rotate: r }
rules:
  - id: t.tok
    name: tok
    keywords: [tok_]
    pattern: '\b(tok_[A-Za-z0-9]{12})\b'
    entropy: 3.0
    severity: high
  - id: generic.secret
    name: generic
    keywords: [secret]
    pattern: '(?i)secret\s*=\s*"([^"]{8,})"'
    severity: medium
    filters: [identifier]
  - id: t.pem
    name: pem
    keywords: [begin test key]
    pattern: '(?s)(-----BEGIN TEST KEY-----.*?-----END TEST KEY-----)'
    severity: critical
    multiline: true
"#;

    fn scan(d: &Detector, text: &str) -> Vec<(String, String)> {
        let mut scratch = d.scratch();
        let mut out = Vec::new();
        d.scan(text.as_bytes(), &[], &mut scratch, &mut out);
        out.iter()
            .map(|m| {
                (
                    d.rule(m.rule).id.clone(),
                    text[m.secret.0..m.secret.1].to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn finds_case_insensitive_keyword_and_reports_capture() {
        let d = detector(RULES);
        let found = scan(&d, "a\nx = TOK_ nothing\ny = tok_Zq81mXk20LpA\n");
        assert_eq!(
            found,
            vec![("t.tok".to_string(), "tok_Zq81mXk20LpA".to_string())]
        );
    }

    #[test]
    fn entropy_and_placeholders_filter() {
        let d = detector(RULES);
        assert!(scan(&d, "tok_aaaaaaaaaaaa").is_empty());
        assert!(scan(&d, r#"secret = "${{ secrets.A }}""#).is_empty());
        assert!(scan(&d, r#"secret = "settings.db_password""#).is_empty());
        assert_eq!(
            scan(&d, &["secret", " = \"", "hX9!kq2#Lm", "\""].concat()).len(),
            1
        );
    }

    #[test]
    fn generic_yields_to_specific_on_same_secret() {
        let d = detector(RULES);
        // assembled so that this file does not itself hold an assignment of a secret
        let line = ["secret", " = \"", "tok_Zq81mXk20LpA", "\""].concat();
        let found = scan(&d, &line);
        assert_eq!(
            found,
            vec![("t.tok".to_string(), "tok_Zq81mXk20LpA".to_string())]
        );
    }

    #[test]
    fn multiline_window_spans_lines_and_repeated_hits_report_once() {
        let d = detector(RULES);
        let text = "-----BEGIN TEST KEY-----\nQk1x\nZz9a\n-----END TEST KEY-----\n";
        assert_eq!(scan(&d, text).len(), 1);
        let twice = format!("{text}{text}");
        assert_eq!(scan(&d, &twice).len(), 2);
        let same_line = "tok_Zq81mXk20LpA tok_Zq81mXk20LpB tok_";
        assert_eq!(scan(&d, same_line).len(), 2);
    }

    #[test]
    fn window_stays_on_the_hit_line_for_single_line_rules() {
        // the secret is on the line after the keyword-only line, and it has its own keyword
        let d = detector(RULES);
        let text = "no keyword here\nsecret =\n\"Qx81zLm02kPw\"";
        assert!(scan(&d, text).is_empty());
    }
}
