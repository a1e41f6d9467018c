//! The analysis: one pipeline of passes over each blob a source hands over.
//!
//! Every source (tree, archive entries, history, staged changes, image layers and config,
//! organization scans) calls [`Analyzer::analyze`] with a [`Blob`] (bytes plus the paths it
//! lives at) and a per-worker [`Workspace`]. The analyzer runs its passes in order over one
//! [`Context`], which carries what they share: the rules and settings, the input and its
//! paths, the scratch space, the findings so far and the decode depth.
//!
//! | # | pass | where |
//! |---|---|---|
//! | 1 | keyword prefilter + rule regexes → candidates | [`crate::detect::Detector::find`] |
//! | 2 | filters, offline checks, context, overlaps → located matches (less inline allows) | [`crate::detect::Detector::judge`], here |
//! | 3 | structure and CI: Kubernetes Secrets, notebooks, CI/CD configuration | `analysis/structure.rs`, `analysis/ci.rs` |
//! | 4 | decoding: base64, hex, percent, string escapes, gzip/zlib; each decoded span goes back through 1–4 | [`decode`] |
//! | 2b | gitleaks custom rules, with gitleaks' semantics and allowlists | `analysis/gitleaks.rs` |
//! | 5 | a gitleaks configuration's global allowlists, over every finding | `analysis/gitleaks.rs` |
//! | 6 | companions (`--verify` only): the other half of a two-part secret, near it | here |
//!
//! Live verification itself runs once per scan, after suppressions, over distinct secrets
//! ([`crate::verify`]); a later pass (a learned post-filter) is one more [`Pass`] in
//! [`PASSES`]. The rule data that passes 1–2 interpret (validator, filter and context kinds)
//! is in `rules`; passes never print and never read files.

pub mod check;
mod ci;
pub mod decode;
mod gitleaks;
mod structure;

use std::sync::Arc;

use crate::{
    detect::{
        Candidate, Detector, Match, Scratch,
        location::Locator,
        validate::{self, Confidence},
    },
    finding::{Encoding, Finding, Located, Origin, Region},
    rules::Rule,
    secret::Secret,
};

/// Default `--decode-depth`: how many encodings deep decoded content is scanned.
pub const DEFAULT_DECODE_DEPTH: u8 = 2;

/// What the passes are asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings {
    /// Honour inline `leakhound:allow` markers.
    pub inline_allow: bool,
    /// How many encodings deep to decode (0 = no decoding).
    pub decode_depth: u8,
    /// Look for the other half of two-part secrets near them (for `--verify`).
    pub companions: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            inline_allow: true,
            decode_depth: DEFAULT_DECODE_DEPTH,
            companions: false,
        }
    }
}

/// The detector plus the settings: built once per scan, shared by every worker.
#[derive(Debug, Clone)]
pub struct Analyzer {
    detector: Detector,
    settings: Settings,
    /// The rules that are gitleaks custom rules (see [`crate::gitleaks`]).
    custom: Arc<[usize]>,
    /// The global allowlists of a gitleaks configuration.
    allowlists: Arc<crate::gitleaks::Allowlists>,
}

/// One input to analyze: its bytes and where they live (relative, `/`-separated paths; empty
/// when unknown, as for an image config).
#[derive(Debug, Clone, Copy)]
pub struct Blob<'a> {
    /// The bytes.
    pub bytes: &'a [u8],
    /// Where the bytes live (a git blob may live at several paths).
    pub paths: &'a [&'a str],
}

/// What the analysis of one blob found.
#[derive(Debug, Default)]
pub struct Analysis {
    /// Located findings, sorted by region and rule.
    pub located: Vec<Located>,
    /// Findings dropped by inline `leakhound:allow` markers.
    pub suppressed: u64,
    /// Findings dropped by a gitleaks configuration's allowlists.
    pub allowlisted: u64,
    /// What the passes could not do with this input (a Secret value that is not base64, a CI
    /// file analysed in part): the source reports each as a warning.
    pub notes: Vec<String>,
}

/// Per-worker reusable buffers (one per rayon worker: the hot path does not allocate per blob).
#[derive(Debug, Default)]
pub struct Workspace {
    scratch: Scratch,
    candidates: Vec<Candidate>,
    matches: Vec<Match>,
    /// Bytes the decode pass may still produce for the current blob (see [`decode`]).
    decode_budget: usize,
}

impl Analyzer {
    /// An analyzer over a detector.
    pub fn new(detector: Detector, settings: Settings) -> Analyzer {
        let custom = detector
            .rules()
            .rules()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.gitleaks.is_some())
            .map(|(i, _)| i)
            .collect();
        Analyzer {
            detector,
            settings,
            custom,
            allowlists: Arc::default(),
        }
    }

    /// The analyzer with the global allowlists of a gitleaks configuration.
    pub fn with_allowlists(self, allowlists: crate::gitleaks::Allowlists) -> Analyzer {
        Analyzer {
            allowlists: Arc::new(allowlists),
            ..self
        }
    }

    /// The detector.
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// The settings.
    pub fn settings(&self) -> Settings {
        self.settings
    }

    /// A workspace sized for this analyzer.
    pub fn workspace(&self) -> Workspace {
        Workspace {
            scratch: self.detector.scratch(),
            ..Workspace::default()
        }
    }

    /// Runs every pass over `blob`.
    pub fn analyze(&self, blob: Blob<'_>, work: &mut Workspace) -> Analysis {
        self.analyze_part(blob, work, false)
    }

    /// Runs the passes over a window of a large file; `later` is true for every window but
    /// the first, where whole-file passes (CI configuration) would see a fragment.
    pub fn analyze_part(&self, blob: Blob<'_>, work: &mut Workspace, later: bool) -> Analysis {
        // Why: a gitleaks global allowlist that allows everything at this path leaves nothing
        // to report there; gitleaks skips the file, and so does leakhound.
        if !self.allowlists.is_empty() && self.allowlists.allow_all_at(blob.paths) {
            return Analysis::default();
        }
        work.decode_budget = decode::budget(blob.bytes.len());
        let mut cx = Context {
            analyzer: self,
            input: blob.bytes,
            paths: blob.paths,
            depth: 0,
            work,
            located: Vec::new(),
            suppressed: 0,
            allowlisted: 0,
            notes: Vec::new(),
            later_window: later,
        };
        cx.run();
        Analysis {
            located: cx.located,
            suppressed: cx.suppressed,
            allowlisted: cx.allowlisted,
            notes: cx.notes,
        }
    }

    /// The finding of a located match at an origin.
    pub fn finding(&self, located: &Located, origin: Origin) -> Finding {
        let rule = self.detector.rule(located.rule);
        Finding {
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            provider: rule.provider.clone(),
            severity: rule.severity,
            class: rule.class,
            origin,
            region: located.region,
            secret_id: located.secret.id(&rule.id),
            secret: located.secret.clone(),
            remediation: Arc::clone(&rule.remediation),
            git: None,
            note: None,
            validation: located.validation,
            ci: located.ci.clone(),
            image: None,
            confidence: located.confidence,
            details: validate::details(rule.validate, located.secret.expose().as_bytes()),
            decoded: located.decoded.clone(),
            companion: located.companion.clone(),
            verification: None,
            allow_commits: located.allow_commits.clone(),
        }
        .with_context_note()
    }
}

/// What the passes over one input share.
pub struct Context<'a> {
    analyzer: &'a Analyzer,
    /// The input: a blob's bytes, or text a decode pass produced.
    input: &'a [u8],
    /// Where the blob lives.
    paths: &'a [&'a str],
    /// How many decodings produced `input` (0: the blob as read).
    depth: u8,
    work: &'a mut Workspace,
    /// What the passes found so far.
    located: Vec<Located>,
    /// Findings dropped by inline markers.
    suppressed: u64,
    /// Findings dropped by allowlists.
    allowlisted: u64,
    /// What the passes could not do (see [`Analysis::notes`]).
    notes: Vec<String>,
    /// A window of a large file after its first one (see [`Analyzer::analyze_part`]).
    later_window: bool,
}

/// One step of the analysis.
pub trait Pass: Sync {
    /// The pass's name (for documentation and debugging).
    fn name(&self) -> &'static str;
    /// Whether the pass has anything to do on this input.
    fn applies(&self, cx: &Context<'_>) -> bool;
    /// Adds what the pass finds to the context.
    fn run(&self, cx: &mut Context<'_>);
}

/// The passes, in order.
pub static PASSES: [&dyn Pass; 9] = [
    &Find,
    &Judge,
    &gitleaks::CustomRules,
    &ci::CiPass,
    &structure::Notebook,
    &structure::KubernetesSecret,
    &decode::Decode,
    &gitleaks::GlobalAllowlists,
    &Companions,
];

/// Pass 5 (only for `--verify`): the other half of each two-part secret (an AWS secret key's
/// key id, a Twilio auth token's account SID), found nearest to it in the blob, as its rule's
/// `verify.companion` pattern says.
struct Companions;

impl Pass for Companions {
    fn name(&self) -> &'static str {
        "companions"
    }

    fn applies(&self, cx: &Context<'_>) -> bool {
        cx.analyzer.settings.companions && cx.depth == 0 && !cx.located.is_empty()
    }

    fn run(&self, cx: &mut Context<'_>) {
        let detector = &cx.analyzer.detector;
        for l in &mut cx.located {
            let rule = detector.rule(l.rule);
            if let Some(c) = rule.verify.as_ref().and_then(|v| v.companion.as_ref()) {
                l.companion = c
                    .nearest(cx.input, l.span)
                    .map(|v| Secret::new(v.as_bytes()));
            }
        }
    }
}

impl<'a> Context<'a> {
    fn run(&mut self) {
        for pass in PASSES {
            if pass.applies(self) {
                pass.run(self);
            }
        }
        self.located.sort_by_key(|l| (l.region, l.rule));
        if self.located.iter().any(|l| !l.decoded.is_empty()) {
            drop_repeats(&mut self.located);
        }
    }

    /// The detector.
    pub fn detector(&self) -> &'a Detector {
        &self.analyzer.detector
    }

    /// Records something a pass could not do with this input (reported as a warning).
    pub fn note(&mut self, message: String) {
        self.notes.push(message);
    }

    /// The rule with this index.
    pub fn rule(&self, index: usize) -> &'a Rule {
        self.analyzer.detector.rule(index)
    }

    /// The input.
    pub fn input(&self) -> &'a [u8] {
        self.input
    }

    /// Where the blob lives.
    pub fn paths(&self) -> &'a [&'a str] {
        self.paths
    }

    /// How many decodings produced this input.
    pub fn depth(&self) -> u8 {
        self.depth
    }

    /// Whether a finding at `offset` carries an inline allow marker (counted if so). Inside
    /// decoded text the marker is looked for around the encoded span instead.
    fn allowed(&mut self, offset: usize) -> bool {
        let allowed = self.analyzer.settings.inline_allow
            && self.depth == 0
            && crate::suppress::inline::allowed(self.input, offset);
        self.suppressed += u64::from(allowed);
        allowed
    }

    /// Runs the detector over other text (a notebook's strings, a decoded value) with this
    /// input's paths; the matches go into `out`.
    fn scan_text(&mut self, text: &[u8], out: &mut Vec<Match>) {
        self.analyzer
            .detector
            .scan(text, self.paths, &mut self.work.scratch, out);
    }

    /// Runs passes 1–4 over `text`, decoded from this input with one more layer.
    fn analyze_decoded(&mut self, text: &[u8]) -> (Vec<Located>, u64) {
        let mut inner = Context {
            analyzer: self.analyzer,
            input: text,
            paths: self.paths,
            depth: self.depth + 1,
            work: &mut *self.work,
            located: Vec::new(),
            suppressed: 0,
            allowlisted: 0,
            notes: Vec::new(),
            later_window: self.later_window,
        };
        inner.run();
        self.allowlisted += inner.allowlisted;
        self.notes.append(&mut inner.notes);
        (inner.located, inner.suppressed)
    }

    /// A located finding of rule `rule` with this secret at this region.
    fn push(&mut self, rule: usize, at: (Region, (usize, usize)), secret: Secret, found: &Match) {
        let (region, span) = at;
        self.located.push(Located {
            rule,
            region,
            span,
            secret,
            validation: found.validation,
            confidence: found.confidence,
            ci: None,
            decoded: Vec::new(),
            companion: None,
            allow_commits: Vec::new(),
        });
    }
}

/// Pass 1: the keyword prefilter and the rule regexes.
struct Find;

impl Pass for Find {
    fn name(&self) -> &'static str {
        "find"
    }

    fn applies(&self, _: &Context<'_>) -> bool {
        true
    }

    fn run(&self, cx: &mut Context<'_>) {
        let Workspace {
            scratch,
            candidates,
            ..
        } = &mut *cx.work;
        cx.analyzer
            .detector
            .find(cx.input, cx.paths, scratch, candidates);
    }
}

/// Pass 2: filters, offline checks and context decide; the survivors are located (those on a
/// line marked `leakhound:allow` are dropped and counted).
struct Judge;

impl Pass for Judge {
    fn name(&self) -> &'static str {
        "judge"
    }

    fn applies(&self, cx: &Context<'_>) -> bool {
        !cx.work.candidates.is_empty()
    }

    fn run(&self, cx: &mut Context<'_>) {
        let mut matches = std::mem::take(&mut cx.work.matches);
        cx.analyzer
            .detector
            .judge(cx.input, cx.paths, &cx.work.candidates, &mut matches);
        let mut locator = Locator::new(cx.input);
        for m in &matches {
            if cx.allowed(m.secret.0) {
                continue;
            }
            let (start, end) = locator.locate_span(m.secret.0, m.secret.1);
            let secret = secret_of(&cx.input[m.secret.0..m.secret.1]);
            cx.push(m.rule, (Region::of(start, end), m.secret), secret, m);
        }
        cx.work.matches = matches;
    }
}

/// The secret of a match. A binary one (a key store: the whole file) is named by its SHA-256
/// instead: its bytes would print as garbage and control characters, and the digest still
/// identifies it (`sha256sum FILE` finds it again).
fn secret_of(bytes: &[u8]) -> Secret {
    if memchr::memchr(0, bytes).is_none() {
        return Secret::new(bytes);
    }
    digest_secret(bytes)
}

/// A secret named by the SHA-256 of its bytes (`sha256:…`).
fn digest_secret(bytes: &[u8]) -> Secret {
    use sha2::{Digest, Sha256};
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Secret::withheld(&format!("sha256:{hex}"))
}

/// Drops a decoded finding that repeats another of the same rule and secret at an overlapping
/// region with a decode chain no longer than its own (the plain one is the better report; a
/// Kubernetes Secret value is seen by its structural pass and by the decode pass alike).
fn drop_repeats(located: &mut Vec<Located>) {
    let overlaps = |a: &Region, b: &Region| a.line <= b.end_line && b.line <= a.end_line;
    // Why: only findings of the same rule and secret can repeat each other; comparing within
    // those groups keeps this linear when a file holds many findings.
    let mut groups: std::collections::HashMap<(usize, &str), Vec<usize>> =
        std::collections::HashMap::new();
    for (i, l) in located.iter().enumerate() {
        groups
            .entry((l.rule, l.secret.expose()))
            .or_default()
            .push(i);
    }
    let mut keep = vec![true; located.len()];
    for members in groups.values().filter(|m| m.len() > 1) {
        for &i in members {
            let l = &located[i];
            if l.decoded.is_empty() {
                continue;
            }
            keep[i] = !members.iter().any(|&j| {
                let o = &located[j];
                j != i
                    && keep[j]
                    && o.secret == l.secret
                    && overlaps(&o.region, &l.region)
                    && (o.decoded.len(), j) < (l.decoded.len(), i)
            });
        }
    }
    let mut i = 0;
    located.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

/// The chain of a finding decoded from a span: the span's encodings, then the inner ones.
fn chain(outer: &[Encoding], inner: &[Encoding]) -> Vec<Encoding> {
    outer.iter().chain(inner).copied().collect()
}

/// Confidence of a structural finding of a rule.
fn confidence_of(rule: &Rule, validation: validate::Validation) -> Confidence {
    Confidence::of(validation, rule.generic)
}
