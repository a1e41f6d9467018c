//! Rules: what a secret of each provider looks like, and what to do when one leaks.
//!
//! Rules are data (`rules/*.yml`, embedded at build time by `build.rs`, plus user files given with
//! `--rules`). This module parses and validates them into a [`RuleSet`]; it does not match
//! anything (that is the `detect` module). Regexes of built-in rules compile lazily, on the first
//! input whose keywords select the rule, so that start-up stays in milliseconds; user rule files
//! compile eagerly so that a bad pattern is reported before the scan starts.

pub(crate) mod syntax;

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    sync::{Arc, OnceLock},
};

use regex_automata::meta::Regex;
use serde::Serialize;

pub use syntax::{ContextKind, Engine, FilterKind, SecretClass, Severity, Validator};
use syntax::{RemediationSyntax, RuleFileSyntax, RuleSyntax};

/// One built-in rule file, as the build script embeds it.
pub(crate) struct BuiltinFile {
    /// The file name in `rules/`.
    name: &'static str,
    /// The file as JSON, without the examples.
    rules: &'static str,
    /// `{id: [examples, negative examples]}` as JSON.
    examples: &'static str,
    /// The run gate of each rule, in order, as `Gate::parts` gives it.
    gates: &'static [(usize, [u64; 4])],
}

include!(concat!(env!("OUT_DIR"), "/builtin_rules.rs"));

/// The longest rule id accepted.
pub const MAX_ID_LEN: usize = 32;

/// Errors while loading rule files.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A rule file or directory could not be read.
    #[error("failed to read rule file {path}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A rule file is not valid YAML or does not have the rule file shape.
    #[error("invalid rule file {path}")]
    Syntax {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: serde_yaml_ng::Error,
    },
    /// A rule is structurally invalid (bad id, bad pattern, missing remediation, ...).
    #[error("invalid rule {id} in {path}: {message}")]
    Invalid {
        /// The file.
        path: String,
        /// The rule id.
        id: String,
        /// What is wrong.
        message: String,
    },
    /// Two rules share an id.
    #[error("duplicate rule id {id} (in {first} and {second})")]
    Duplicate {
        /// The id.
        id: String,
        /// Where it was first defined.
        first: String,
        /// Where it was defined again.
        second: String,
    },
}

/// How to revoke and replace a leaked credential: the playbook of a rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Remediation {
    /// Where and how to revoke it (URL, CLI or API call).
    pub revoke: String,
    /// The steps to issue and roll out a replacement.
    pub rotate: String,
    /// Where to look for misuse (the provider's audit log).
    pub audit: String,
    /// How often to rotate this kind of secret from now on.
    pub rotation: String,
    /// Provider documentation.
    pub references: Vec<String>,
}

/// The rotation period a severity calls for, unless a rule says otherwise (documented in the
/// README's severity table).
pub fn default_rotation(severity: Severity) -> &'static str {
    match severity {
        Severity::Critical => {
            "critical: rotate at least every 90 days (cloud provider keys every 30-90 days); prefer short-lived credentials (OIDC, workload identity, STS) that need no rotation"
        }
        Severity::High => {
            "high: rotate passwords every 30-60 days, OAuth tokens per session, TLS keys and certificates before they expire"
        }
        Severity::Medium => "medium: rotate every 90 days",
        Severity::Low => "low: rotate every 180 days, and at once on any sign of exposure",
    }
}

/// Where to look for misuse when a rule does not say.
pub fn default_audit(provider: &str) -> String {
    format!(
        "Review {provider}'s audit and access logs for any use of this credential since it was first committed: unfamiliar IP addresses, regions, user agents and API calls, and resources created or data read with it."
    )
}

impl Remediation {
    /// A playbook from its syntax, with the audit and rotation defaults for the provider and
    /// severity filled in where the rule file is silent.
    fn from_syntax(r: &RemediationSyntax, provider: &str, severity: Severity) -> Self {
        Remediation {
            revoke: r.revoke.trim().to_owned(),
            rotate: r.rotate.trim().to_owned(),
            audit: r
                .audit
                .as_deref()
                .map_or_else(|| default_audit(provider), |a| a.trim().to_owned()),
            rotation: r.rotation.as_deref().map_or_else(
                || default_rotation(severity).to_owned(),
                |a| a.trim().to_owned(),
            ),
            references: r.references.clone(),
        }
    }
}

/// A validated rule. Its regex is compiled on first use.
#[derive(Debug)]
pub struct Rule {
    /// Unique id, `provider.kind`.
    pub id: String,
    /// Human-readable name.
    pub name: String,
    /// Provider display name (from the rule file).
    pub provider: String,
    /// Prefilter keywords, lower-cased.
    pub keywords: Vec<String>,
    /// The regex source.
    pub pattern: String,
    /// Minimum Shannon entropy of the capture, bits per byte.
    pub entropy: Option<f64>,
    /// Severity of a leak.
    pub severity: Severity,
    /// Whether a match may span lines (widens the regex window).
    pub multiline: bool,
    /// Extra false-positive filters.
    pub filters: Vec<FilterKind>,
    /// Whether this is a generic (context-only) rule: its findings yield to specific rules.
    pub generic: bool,
    /// Paths the rule is limited to, if any.
    pub paths: Option<PathScope>,
    /// The path `rules check` scans this rule's examples as.
    pub example_path: Option<String>,
    /// Runs only on decoded structured values (see `detect::structure`).
    pub decoded: bool,
    /// Runs only on binary files in its path scope (see `detect::keystore`).
    pub binary: bool,
    /// What kind of secret it finds.
    pub class: SecretClass,
    /// The offline validity check, if any.
    pub validate: Option<Validator>,
    /// The engine that produces this rule's findings, if not its regex.
    pub engine: Option<Engine>,
    /// How the rule's matches are judged in context, for weakly anchored rules.
    pub context: Option<ContextKind>,
    /// Rule ids whose finding on an overlapping secret this rule's finding replaces.
    pub supersedes: Vec<String>,
    /// Revoke-and-rotate guidance.
    pub remediation: Arc<Remediation>,
    /// How to ask the provider whether a secret is live (`--verify`).
    pub verify: Option<Arc<crate::verify::spec::VerifySpec>>,
    /// How to revoke a secret with nothing but the secret (`leakhound revoke`).
    pub revoke: Option<Arc<crate::verify::spec::RevokeSpec>>,
    /// Texts that must produce a finding of this rule.
    pub examples: Vec<String>,
    /// Texts that must not produce a finding of this rule.
    pub negative_examples: Vec<String>,
    /// The file the rule came from (`builtin:aws.yml` or a path).
    pub source: String,
    /// A custom rule of a gitleaks configuration, which matches as gitleaks does (see
    /// `gitleaks::engine`) instead of through the keyword prefilter and `pattern`.
    pub gitleaks: Option<Arc<crate::gitleaks::CustomRule>>,
    regex: OnceLock<Regex>,
    gate: OnceLock<crate::detect::gate::Gate>,
}

impl Rule {
    /// The rule of a gitleaks custom rule. gitleaks rules carry no severity or playbook: they
    /// report as `high`, with a playbook that says what to do with any credential.
    pub fn from_gitleaks(custom: Arc<crate::gitleaks::CustomRule>) -> Rule {
        const PROVIDER: &str = "custom rule (gitleaks configuration)";
        let severity = Severity::High;
        Rule {
            id: custom.id.clone(),
            name: custom.description.clone(),
            provider: PROVIDER.to_owned(),
            keywords: Vec::new(),
            pattern: custom.pattern.clone().unwrap_or_default(),
            entropy: None,
            severity,
            multiline: true,
            filters: Vec::new(),
            generic: false,
            paths: None,
            example_path: None,
            decoded: false,
            binary: false,
            class: SecretClass::Credential,
            validate: None,
            engine: None,
            context: None,
            supersedes: Vec::new(),
            remediation: Arc::new(Remediation {
                revoke: "Revoke the credential where it was issued (the rule's description names what it is), before anything else: it has been readable by everyone with access to this place.".into(),
                rotate: "Issue a replacement, store it in a secret manager or the CI secret store instead of the code, deploy it, and remove the leaked value from the code (and from history if it must not stay readable).".into(),
                audit: default_audit("the issuer"),
                rotation: default_rotation(severity).to_owned(),
                references: Vec::new(),
            }),
            verify: None,
            revoke: None,
            examples: Vec::new(),
            negative_examples: Vec::new(),
            source: custom.source.clone(),
            gitleaks: Some(custom),
            regex: OnceLock::new(),
            gate: OnceLock::new(),
        }
    }

    /// The compiled regex, built on first use. User rule files are compiled when loaded; the
    /// built-in rules are parsed when loaded and compiled by the test suite, so building one
    /// cannot fail.
    pub fn regex(&self) -> &Regex {
        self.compiled(Compile::Full)
    }

    /// The compiled regex, built on first use as `how` says if it was not built yet.
    pub fn compiled(&self, how: Compile) -> &Regex {
        self.regex.get_or_init(|| {
            compile(&self.pattern, how)
                .expect("built-in patterns compile because the test suite compiles every one")
        })
    }

    /// The rule's run gate (see `detect::gate`), derived from the pattern on first use.
    pub fn gate(&self) -> &crate::detect::gate::Gate {
        self.gate
            .get_or_init(|| crate::detect::gate::Gate::of(&self.pattern))
    }

    /// Whether the regex has been built.
    pub fn is_compiled(&self) -> bool {
        self.regex.get().is_some()
    }
}

/// How a rule's regex is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compile {
    /// With the regex engine's literal prefilter: fastest search over large inputs.
    Full,
    /// Without it: a third less build time, for a scan of a few small inputs, which builds
    /// more regexes than it searches bytes.
    Lean,
}

/// Compiles a rule pattern. ASCII mode: secret formats are ASCII, and Unicode `\w`, `\b`,
/// `\s` and case folding multiply NFA states and compile time (tenfold over the built-in rules)
/// for no gain.
fn compile(pattern: &str, how: Compile) -> Result<Regex, String> {
    Regex::builder()
        .syntax(
            regex_automata::util::syntax::Config::new()
                .unicode(false)
                .utf8(false),
        )
        .configure(
            Regex::config()
                .nfa_size_limit(Some(32 * (1 << 20)))
                .auto_prefilter(how == Compile::Full)
                // Why: a fully built DFA costs more to build than a few small inputs cost to
                // search with the lazy one (`[^\s]{3,}` alone: 0.17 ms against 0.01 ms).
                .dfa(how == Compile::Full),
        )
        .build(pattern)
        .map_err(|e| e.to_string())
}

/// The paths a rule applies to: any include glob matches and no exclude glob does. A glob
/// without `/` matches a file name at any depth.
#[derive(Debug, Clone)]
pub struct PathScope {
    globs: Vec<String>,
    /// The include and exclude sets, built on first use: building a set compiles a regex, and
    /// most scans never ask about most scoped rules.
    sets: OnceLock<(globset::GlobSet, globset::GlobSet)>,
}

impl PathScope {
    /// A scope over `globs`. Each glob is parsed now; `eager` also builds the sets now (user
    /// rule files), so that no error can surface later.
    fn new(globs: &[String], eager: bool) -> Result<PathScope, String> {
        for g in globs {
            anchored_glob(g.strip_prefix('!').unwrap_or(g))
                .map_err(|e| format!("invalid path glob {g:?}: {e}"))?;
        }
        let scope = PathScope {
            globs: globs.to_vec(),
            sets: OnceLock::new(),
        };
        if eager {
            // Ignoring the result is fine: the cell is fresh, so set cannot fail.
            let _ = scope.sets.set(build_sets(globs)?);
        }
        Ok(scope)
    }

    /// Builds the scope's glob sets, as a scan would on first use (`rules check`).
    pub fn check(&self) -> Result<(), String> {
        build_sets(&self.globs).map(drop)
    }

    /// Whether a path (relative, `/`-separated) is in scope.
    pub fn matches(&self, path: &str) -> bool {
        let (include, exclude) = self.sets.get_or_init(|| {
            build_sets(&self.globs)
                .expect("built-in path globs build because the test suite builds every one")
        });
        include.is_match(path) && !exclude.is_match(path)
    }
}

/// The include and exclude sets of a scope's globs (`!` marks an exclusion).
fn build_sets(globs: &[String]) -> Result<(globset::GlobSet, globset::GlobSet), String> {
    let mut include = globset::GlobSetBuilder::new();
    let mut exclude = globset::GlobSetBuilder::new();
    for g in globs {
        let (set, pat) = match g.strip_prefix('!') {
            Some(p) => (&mut exclude, p),
            None => (&mut include, g.as_str()),
        };
        set.add(anchored_glob(pat).map_err(|e| format!("invalid path glob {g:?}: {e}"))?);
    }
    Ok((
        include.build().map_err(|e| e.to_string())?,
        exclude.build().map_err(|e| e.to_string())?,
    ))
}

/// A path glob as rules write it: one without a `/` matches a file name at any depth.
fn anchored_glob(pat: &str) -> Result<globset::Glob, globset::Error> {
    let anchored = if pat.contains('/') {
        pat.to_owned()
    } else {
        format!("**/{pat}")
    };
    globset::GlobBuilder::new(&anchored)
        .literal_separator(true)
        .build()
}

impl Rule {
    /// Whether the rule applies to an input at any of `paths` (a rule without a path scope
    /// applies everywhere, including to inputs without a path).
    pub fn applies_to<'p>(&self, mut paths: impl Iterator<Item = &'p str>) -> bool {
        match &self.paths {
            None => true,
            Some(scope) => paths.any(|p| scope.matches(p)),
        }
    }
}

/// An ordered collection of rules with unique ids.
#[derive(Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    /// Each rule's index in `rules`, by id.
    index: HashMap<String, usize>,
}

impl RuleSet {
    /// The rules embedded in the binary, without their examples (what a scan needs).
    pub fn builtin() -> Result<RuleSet, LoadError> {
        let mut set = RuleSet::default();
        for file in BUILTIN_RULE_FILES {
            let source = format!("builtin:{}", file.name);
            let rules = parse_json(&source, file.rules)?;
            for (rule, &gate) in rules.iter().zip(file.gates) {
                // Ignoring the result is fine: the cell is fresh, so set cannot fail.
                let _ = rule.gate.set(crate::detect::gate::Gate::from_parts(gate));
            }
            set.push_all(&source, rules)?;
        }
        Ok(set)
    }

    /// The rules embedded in the binary with their examples (what `rules check` needs).
    pub fn builtin_with_examples() -> Result<RuleSet, LoadError> {
        let mut set = RuleSet::builtin()?;
        for BuiltinFile {
            name,
            examples: json,
            ..
        } in BUILTIN_RULE_FILES
        {
            let examples: HashMap<String, (Vec<String>, Vec<String>)> = serde_json::from_str(json)
                .map_err(|e| LoadError::Invalid {
                    path: format!("builtin:{name}"),
                    id: String::new(),
                    message: format!("examples: {e}"),
                })?;
            for (id, (positive, negative)) in examples {
                if let Some(&i) = set.index.get(&id) {
                    set.rules[i].examples = positive;
                    set.rules[i].negative_examples = negative;
                }
            }
        }
        Ok(set)
    }

    /// Adds the rules of one file or of every `*.yml`/`*.yaml` file in a directory.
    pub fn add_path(&mut self, path: &Path) -> Result<(), LoadError> {
        for file in rule_files(path)? {
            let text = std::fs::read_to_string(&file).map_err(|source| LoadError::Io {
                path: file.clone(),
                source,
            })?;
            self.add_text(&file.display().to_string(), &text, true)?;
        }
        Ok(())
    }

    /// Parses and adds the rules of one YAML text. `eager` compiles the patterns now.
    pub fn add_text(&mut self, source: &str, text: &str, eager: bool) -> Result<(), LoadError> {
        let file: RuleFileSyntax =
            serde_yaml_ng::from_str(text).map_err(|e| LoadError::Syntax {
                path: source.to_owned(),
                source: e,
            })?;
        self.add_syntax(source, file, eager)
    }

    fn add_syntax(
        &mut self,
        source: &str,
        file: RuleFileSyntax,
        eager: bool,
    ) -> Result<(), LoadError> {
        let rules = validate_file(source, file, eager)?;
        self.push_all(source, rules)
    }

    /// Adds one rule (a gitleaks custom rule); a rule id already in the set is an error.
    pub fn push(&mut self, rule: Rule) -> Result<(), LoadError> {
        let source = rule.source.clone();
        self.push_all(&source, vec![rule])
    }

    /// Appends rules loaded from `source`; a rule id already in the set is an error.
    fn push_all(&mut self, source: &str, rules: Vec<Rule>) -> Result<(), LoadError> {
        for rule in rules {
            if let Some(&prev) = self.index.get(&rule.id) {
                return Err(LoadError::Duplicate {
                    id: rule.id,
                    first: self.rules[prev].source.clone(),
                    second: source.to_owned(),
                });
            }
            self.index.insert(rule.id.clone(), self.rules.len());
            self.rules.push(rule);
        }
        Ok(())
    }

    /// Removes rules by id; returns the ids that matched no rule.
    pub fn disable(&mut self, ids: &[String]) -> Vec<String> {
        let unknown = ids
            .iter()
            .filter(|id| !self.index.contains_key(id.as_str()))
            .cloned()
            .collect();
        let drop: HashSet<&str> = ids.iter().map(String::as_str).collect();
        self.rules.retain(|r| !drop.contains(r.id.as_str()));
        self.index = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| (r.id.clone(), i))
            .collect();
        unknown
    }

    /// A digest of everything that decides what the rules find (ids, patterns, keywords,
    /// thresholds, filters, scopes, checks) and of the leakhound version (the engine decides
    /// too): stores key scanned blobs by it, so other rules or a new version rescan.
    pub fn digest(&self) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(concat!("leakhound ", env!("CARGO_PKG_VERSION"), "\0").as_bytes());
        for r in &self.rules {
            let fields = format!(
                "{}\0{}\0{:?}\0{:?}\0{}\0{:?}\0{:?}\0{}\0{:?}\0{:?}\0{:?}\n",
                r.id,
                r.pattern,
                r.keywords,
                r.entropy,
                r.multiline,
                r.filters,
                r.paths.as_ref().map(|p| &p.globs),
                r.decoded,
                (r.binary, r.validate),
                r.engine,
                r.generic
            );
            h.update(fields.as_bytes());
        }
        h.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The paths at which binary files are still scanned, because a `binary` rule names them
    /// (key stores); `None` if no rule does. Sources consult it before they skip a binary file.
    pub fn binary_paths(&self) -> Option<Arc<globset::GlobSet>> {
        // Why: the excludes are left to the rule's own scope, which the detector applies.
        let globs: Vec<globset::Glob> = self
            .rules
            .iter()
            .filter(|r| r.binary)
            .flat_map(|r| r.paths.iter().flat_map(|p| &p.globs))
            .filter(|g| !g.starts_with('!'))
            .filter_map(|g| anchored_glob(g).ok())
            .collect();
        if globs.is_empty() {
            return None;
        }
        let mut set = globset::GlobSetBuilder::new();
        for g in globs {
            set.add(g);
        }
        set.build().ok().map(Arc::new)
    }

    /// All rules, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The rule with this id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.index.get(id).map(|&i| &self.rules[i])
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

/// Checks that a pattern parses (in the dialect rules are compiled with) and has exactly one
/// capture group.
pub fn check_pattern(pattern: &str) -> Result<(), String> {
    let hir = regex_syntax::ParserBuilder::new()
        .unicode(false)
        .utf8(false)
        .build()
        .parse(pattern)
        .map_err(|e| format!("pattern does not compile: {e}"))?;
    let captures = hir.properties().explicit_captures_len();
    if captures != 1 {
        return Err(format!(
            "pattern must have exactly one capture group (the secret), found {captures}"
        ));
    }
    compile(pattern, Compile::Full).map_err(|e| format!("pattern does not compile: {e}"))?;
    Ok(())
}

/// The rule files named by a path: the file itself, or the `*.yml`/`*.yaml` files of a
/// directory, sorted.
pub fn rule_files(path: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let meta = std::fs::metadata(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    if !meta.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let entries = std::fs::read_dir(path).map_err(|source| LoadError::Io {
        path: path.to_owned(),
        source,
    })?;
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| LoadError::Io {
            path: path.to_owned(),
            source,
        })?;
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "yml" || e == "yaml") && p.is_file() {
            files.push(p);
        }
    }
    files.sort();
    Ok(files)
}

/// The rules of a built-in file in its build-time JSON form (patterns compile lazily).
fn parse_json(source: &str, json: &str) -> Result<Vec<Rule>, LoadError> {
    let file: RuleFileSyntax = serde_json::from_str(json).map_err(|e| LoadError::Invalid {
        path: source.to_owned(),
        id: String::new(),
        message: e.to_string(),
    })?;
    validate_file(source, file, false)
}

/// Validates every rule of one parsed file. `eager` compiles the patterns now.
fn validate_file(source: &str, file: RuleFileSyntax, eager: bool) -> Result<Vec<Rule>, LoadError> {
    let default_remediation = file.remediation;
    file.rules
        .into_iter()
        .map(|syntax| {
            validate(
                source,
                &file.provider,
                default_remediation.as_ref(),
                syntax,
                eager,
            )
        })
        .collect()
}

fn validate(
    source: &str,
    provider: &str,
    default_remediation: Option<&RemediationSyntax>,
    s: RuleSyntax,
    eager: bool,
) -> Result<Rule, LoadError> {
    let invalid = |message: String| LoadError::Invalid {
        path: source.to_owned(),
        id: s.id.clone(),
        message,
    };
    let id_ok = !s.id.is_empty()
        && s.id.len() <= MAX_ID_LEN
        && s.id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        && s.id
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
    if !id_ok {
        return Err(invalid(format!(
            "id must be 1-{MAX_ID_LEN} characters of [a-z0-9._-], starting with a letter or digit"
        )));
    }
    if s.name.trim().is_empty() {
        return Err(invalid("name is empty".into()));
    }
    // Why: a rule without keywords runs on every file in its path scope (a key store, a
    // `config/master.key` that holds nothing but the key); a binary file has no text to search
    // for a keyword.
    if s.keywords.iter().any(|k| k.trim().is_empty()) {
        return Err(invalid("keywords must be non-empty strings".into()));
    }
    if s.keywords.is_empty() && s.paths.is_empty() && s.engine.is_none() {
        return Err(invalid(
            "a rule without keywords needs paths (it runs on every file at them)".into(),
        ));
    }
    if s.binary && !s.keywords.is_empty() {
        return Err(invalid(
            "a binary rule has no keywords (it runs on every binary file at its paths)".into(),
        ));
    }
    if let Some(e) = s.entropy
        && !(0.0..=8.0).contains(&e)
    {
        return Err(invalid(format!(
            "entropy {e} is outside 0..=8 bits per byte"
        )));
    }
    // Why: built-in rules are parsed, compiled and run by `rules check` in the test suite, so
    // start-up does no regex work for them (it is most of the load time of a pre-commit hook);
    // rules from files are checked here, before the scan starts.
    if eager {
        check_pattern(&s.pattern).map_err(invalid)?;
    }
    let verify = s
        .verify
        .map(|v| crate::verify::spec::VerifySpec::from_syntax(v, eager))
        .transpose()
        .map_err(|e| invalid(format!("verify: {e}")))?
        .map(Arc::new);
    let revoke = s
        .revoke
        .map(crate::verify::spec::RevokeSpec::from_syntax)
        .transpose()
        .map_err(|e| invalid(format!("revoke: {e}")))?
        .map(Arc::new);
    let remediation = match (&s.remediation, default_remediation) {
        (Some(r), _) | (None, Some(r)) => {
            let mut rem = Remediation::from_syntax(r, provider, s.severity);
            if let Some(rotation) = &s.rotation {
                rem.rotation = rotation.trim().to_owned();
            }
            if revoke.is_some() {
                rem.revoke = format!(
                    "{} (`leakhound revoke` can do this step: it revokes the token through the provider's API.)",
                    rem.revoke.trim_end()
                );
            }
            Arc::new(rem)
        }
        (None, None) => {
            return Err(invalid(
                "no remediation (neither on the rule nor on the file)".into(),
            ));
        }
    };
    let paths = if s.paths.is_empty() {
        None
    } else {
        Some(PathScope::new(&s.paths, eager).map_err(invalid)?)
    };
    if paths.is_some() && s.example_path.is_none() {
        return Err(invalid(
            "a rule with paths needs an example_path for its examples".into(),
        ));
    }
    let regex_cell = OnceLock::new();
    if eager {
        let regex = compile(&s.pattern, Compile::Full)
            .map_err(|e| invalid(format!("pattern does not compile: {e}")))?;
        // Ignoring the result is fine: the cell is fresh, so set cannot fail.
        let _ = regex_cell.set(regex);
    }
    Ok(Rule {
        paths,
        example_path: s.example_path,
        decoded: s.decoded,
        binary: s.binary,
        class: s.class,
        validate: s.validate,
        engine: s.engine,
        context: s.context,
        supersedes: s.supersedes,
        generic: s.id.starts_with("generic."),
        keywords: s.keywords.iter().map(|k| k.to_ascii_lowercase()).collect(),
        id: s.id,
        name: s.name.trim().to_owned(),
        provider: provider.to_owned(),
        pattern: s.pattern,
        entropy: s.entropy,
        severity: s.severity,
        multiline: s.multiline,
        filters: s.filters,
        remediation,
        verify,
        revoke,
        examples: s.examples,
        negative_examples: s.negative_examples,
        source: source.to_owned(),
        regex: regex_cell,
        gate: OnceLock::new(),
        gitleaks: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
provider: Test
remediation: { revoke: "revoke it", rotate: "rotate it" }
rules:
  - id: test.token
    name: Test token
    keywords: [TTK_]
    pattern: '\b(ttk_[a-z0-9]{8})\b'
    severity: high
    examples: ['t = ttk_a1b2c3d4']
    negative_examples: ['ttk_']
"#;

    #[test]
    fn loads_and_lowercases_keywords() {
        let mut set = RuleSet::default();
        set.add_text("t.yml", GOOD, false).unwrap();
        let r = set.get("test.token").unwrap();
        assert_eq!(r.keywords, vec!["ttk_"]);
        assert_eq!(r.remediation.revoke, "revoke it");
        assert!(!r.generic);
    }

    #[test]
    fn rejects_two_capture_groups() {
        let text = GOOD.replace(r"\b(ttk_[a-z0-9]{8})\b", r"(ttk)_([a-z0-9]{8})");
        // rules from files are loaded eagerly, which checks their patterns
        let err = RuleSet::default()
            .add_text("t.yml", &text, true)
            .unwrap_err();
        assert!(
            err.to_string().contains("exactly one capture group"),
            "{err}"
        );
    }

    #[test]
    fn rejects_duplicates_and_bad_ids() {
        let mut set = RuleSet::default();
        set.add_text("a.yml", GOOD, false).unwrap();
        assert!(matches!(
            set.add_text("b.yml", GOOD, false),
            Err(LoadError::Duplicate { .. })
        ));
        let bad = GOOD.replace("test.token", "Test Token");
        assert!(matches!(
            RuleSet::default().add_text("c.yml", &bad, false),
            Err(LoadError::Invalid { .. })
        ));
    }

    #[test]
    fn rejects_unknown_fields_and_missing_remediation() {
        let unknown = GOOD.replace("severity: high", "severity: high\n    colour: red");
        assert!(matches!(
            RuleSet::default().add_text("u.yml", &unknown, false),
            Err(LoadError::Syntax { .. })
        ));
        let no_rem = GOOD.replace(
            "remediation: { revoke: \"revoke it\", rotate: \"rotate it\" }\n",
            "",
        );
        let err = RuleSet::default()
            .add_text("n.yml", &no_rem, false)
            .unwrap_err();
        assert!(err.to_string().contains("no remediation"), "{err}");
    }

    #[test]
    fn rules_without_keywords_need_paths_and_binary_rules_no_keywords() {
        let unkeyed = GOOD.replace("keywords: [TTK_]", "keywords: []");
        let err = RuleSet::default()
            .add_text("k.yml", &unkeyed, false)
            .unwrap_err();
        assert!(err.to_string().contains("needs paths"), "{err}");
        let scoped = unkeyed.replace(
            "severity: high",
            "severity: high\n    paths: ['*.tok']\n    example_path: a.tok",
        );
        assert!(RuleSet::default().add_text("s.yml", &scoped, false).is_ok());
        let binary = GOOD.replace(
            "severity: high",
            "severity: high\n    binary: true\n    paths: ['*.tok']\n    example_path: a.tok",
        );
        let err = RuleSet::default()
            .add_text("b.yml", &binary, false)
            .unwrap_err();
        assert!(err.to_string().contains("has no keywords"), "{err}");
        let mut set = RuleSet::default();
        set.add_text(
            "b.yml",
            &binary.replace("keywords: [TTK_]", "keywords: []"),
            false,
        )
        .unwrap();
        let globs = set.binary_paths().expect("a binary rule names paths");
        assert!(globs.is_match("deep/dir/x.tok") && !globs.is_match("x.txt"));
        assert!(RuleSet::default().binary_paths().is_none());
    }

    #[test]
    fn disable_reports_unknown_ids() {
        let mut set = RuleSet::default();
        set.add_text("a.yml", GOOD, false).unwrap();
        let unknown = set.disable(&["test.token".into(), "nope.x".into()]);
        assert_eq!(unknown, vec!["nope.x".to_string()]);
        assert!(set.is_empty());
    }

    #[test]
    fn builtin_gates_are_the_ones_the_patterns_give() {
        let set = RuleSet::builtin().expect("built-in rules load");
        let mut closed = 0;
        for rule in set.rules() {
            let derived = crate::detect::gate::Gate::of(&rule.pattern).parts();
            assert_eq!(rule.gate().parts(), derived, "{}", rule.id);
            closed += usize::from(derived.0 > 0);
        }
        assert!(closed > set.len() / 2, "only {closed} rules have a gate");
    }
}
