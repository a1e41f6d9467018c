//! [`Finding`]: one secret at one place, owned, redacted, with line/column and remediation.

use std::sync::Arc;

use crate::{
    detect::{
        Detector, Match,
        location::Locator,
        validate::{self, Confidence, Validation},
    },
    rules::{Remediation, SecretClass, Severity},
    secret::Secret,
};

/// Where an input came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Origin {
    /// A file on disk.
    File {
        /// The path as shown to the user (the input as given, joined with the walked path).
        path: String,
        /// The path relative to the scan root, with `/` separators (used for SARIF URIs).
        relative: String,
    },
    /// Standard input (`-`).
    Stdin,
}

impl Origin {
    /// A file whose shown path is already relative (git and image paths).
    pub fn relative_file(path: String) -> Origin {
        Origin::File {
            relative: path.clone(),
            path,
        }
    }

    /// The path as shown to the user.
    pub fn display(&self) -> &str {
        match self {
            Origin::File { path, .. } => path,
            Origin::Stdin => "<stdin>",
        }
    }

    /// The path relative to the scan root.
    pub fn relative(&self) -> &str {
        match self {
            Origin::File { relative, .. } => relative,
            Origin::Stdin => "<stdin>",
        }
    }
}

/// A 1-based region of text: start line/column to end line/column (end column exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Region {
    /// First line.
    pub line: usize,
    /// Column of the first character.
    pub column: usize,
    /// Last line.
    pub end_line: usize,
    /// Column just past the last character.
    pub end_column: usize,
}

impl Region {
    /// The region from a located start to a located end.
    pub fn of(
        start: crate::detect::location::LineCol,
        end: crate::detect::location::LineCol,
    ) -> Region {
        Region {
            line: start.line,
            column: start.column,
            end_line: end.line,
            end_column: end.column,
        }
    }
}

/// The commit that introduced a blob at a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitMeta {
    /// Full commit id.
    pub id: String,
    /// Author name.
    pub author: String,
    /// Author email.
    pub email: String,
    /// Author date, RFC 3339.
    pub date: String,
    /// First line of the message.
    pub summary: String,
}

/// Where in git a finding lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitProvenance {
    /// The commit that introduced the blob at this path (none for unreachable or staged blobs).
    pub commit: Option<Arc<CommitMeta>>,
    /// The blob id.
    pub blob: String,
    /// Whether the secret is still in the tree of `HEAD` (none for staged scans).
    pub in_head: Option<bool>,
    /// The repository, in organization scans.
    pub repository: Option<Arc<str>>,
}

/// Where in a container image a finding lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageProvenance {
    /// The image reference as given.
    pub image: String,
    /// The image digest (`sha256:` of its config), if known.
    pub image_digest: Option<String>,
    /// The layer (0 = bottom); none for the image config.
    pub layer_index: Option<usize>,
    /// The layer's digest.
    pub layer_digest: Option<String>,
    /// The instruction that created the layer (from the config history).
    pub created_by: Option<String>,
    /// Whether a later layer deleted or replaced the file.
    pub deleted_in_final_image: bool,
}

/// A note attached to findings whose secret is only in history.
pub const REMOVED_NOTE: &str = "Removed from the current tree but still in git history: anyone \
with a clone or fork has it, and rewriting history does not un-leak it. Treat it as compromised: \
revoke and rotate it first, then check the provider's audit log for use since the commit date.";

/// A note attached to findings in CI/CD configuration files.
pub const CI_NOTE: &str = "Found in CI/CD configuration: anyone who can read the repository \
(and often every build log) has it. Removing it from the file is not remediation: revoke and \
rotate it first, then move it to the CI secret store or, better, to short-lived OIDC credentials.";

/// Whether a path is a CI/CD configuration file (GitHub Actions, GitLab CI, CircleCI, Azure
/// Pipelines, Bitbucket Pipelines, Travis, Drone, Buildkite, Jenkins).
///
/// ```
/// use leakhound::finding::is_ci_config;
/// assert!(is_ci_config(".github/workflows/deploy.yml"));
/// assert!(is_ci_config("ci/Jenkinsfile"));
/// assert!(!is_ci_config("src/workflows/deploy.yml"));
/// ```
pub fn is_ci_config(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    path.starts_with(".github/workflows/")
        || path.contains("/.github/workflows/")
        || matches!(
            name,
            ".gitlab-ci.yml"
                | "azure-pipelines.yml"
                | "bitbucket-pipelines.yml"
                | ".travis.yml"
                | ".drone.yml"
                | "Jenkinsfile"
        )
        || path.ends_with(".circleci/config.yml")
        || path.ends_with(".buildkite/pipeline.yml")
}

/// One secret found at one place.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Rule id.
    pub rule_id: String,
    /// Rule name.
    pub rule_name: String,
    /// Provider name.
    pub provider: String,
    /// Severity.
    pub severity: Severity,
    /// What kind of secret it is (credential, hash, key store).
    pub class: SecretClass,
    /// Where the input came from.
    pub origin: Origin,
    /// Where in the input the secret is.
    pub region: Region,
    /// The secret (redacted unless exposed).
    pub secret: Secret,
    /// Stable id of rule + secret value.
    pub secret_id: String,
    /// Revoke-and-rotate guidance.
    pub remediation: Arc<Remediation>,
    /// Git provenance, for history and staged scans.
    pub git: Option<GitProvenance>,
    /// Context-specific advice (e.g. a secret removed from the tree is still in history).
    pub note: Option<&'static str>,
    /// What the offline check established.
    pub validation: Validation,
    /// How sure leakhound is that this is a live credential.
    pub confidence: Confidence,
    /// What the check decoded (JWT claims, key type and bits, AWS account id).
    pub details: Vec<(&'static str, String)>,
    /// CI context (system, job, step, what is wrong), for CI configuration findings.
    pub ci: Option<Box<CiContext>>,
    /// Image provenance, for image scans.
    pub image: Option<Arc<ImageProvenance>>,
}

/// A match located in its blob: rule index, region and secret, before it is given a place.
#[derive(Debug, Clone)]
pub struct Located {
    /// Rule index in the detector.
    pub rule: usize,
    /// Where in the blob.
    pub region: Region,
    /// The secret.
    pub secret: Secret,
    /// What the rule's offline check established.
    pub validation: Validation,
    /// How sure the detector is.
    pub confidence: Confidence,
    /// CI context, for findings of the CI analysis.
    pub ci: Option<Box<CiContext>>,
}

/// Where in a CI configuration a finding is, and what exactly is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CiContext {
    /// The CI system.
    pub system: &'static str,
    /// The job.
    pub job: Option<String>,
    /// The step.
    pub step: Option<String>,
    /// What is wrong at this place.
    pub detail: String,
}

/// Locates a blob's matches (sorted by offset). With `inline_allow`, matches on a line marked
/// `leakhound:allow` (or after a `leakhound:allow-next-line` line) are dropped and counted in
/// `suppressed`.
fn locate(blob: &Blob<'_>, matches: &[Match], suppressed: &mut u64) -> Vec<Located> {
    let mut locator = Locator::new(blob.input);
    matches
        .iter()
        .filter(|m| !blob.allowed(m.secret.0, suppressed))
        .map(|m| {
            let (start, end) = locator.locate_span(m.secret.0, m.secret.1);
            Located {
                rule: m.rule,
                region: Region::of(start, end),
                secret: secret_of(&blob.input[m.secret.0..m.secret.1]),
                validation: m.validation,
                confidence: m.confidence,
                ci: None,
            }
        })
        .collect()
}

/// The secret of a match. A binary one (a key store: the whole file) is named by its SHA-256
/// instead: its bytes would print as garbage and control characters, and the digest still
/// identifies it (`sha256sum FILE` finds it again).
fn secret_of(bytes: &[u8]) -> Secret {
    if memchr::memchr(0, bytes).is_none() {
        return Secret::new(bytes);
    }
    use sha2::{Digest, Sha256};
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Secret::withheld(&format!("sha256:{hex}"))
}

impl Finding {
    /// A finding of a located match at an origin.
    pub fn new(detector: &Detector, located: &Located, origin: Origin) -> Finding {
        let rule = detector.rule(located.rule);
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
        }
        .with_context_note()
    }

    /// Adds the CI note when the finding is in a CI/CD configuration file and has no note yet.
    pub fn with_context_note(mut self) -> Finding {
        if self.note.is_none() && is_ci_config(self.origin.relative()) {
            self.note = Some(CI_NOTE);
        }
        self
    }
}

/// Everything found in one input, located and sorted: the regex matches (less those allowed
/// inline), plus the values of Kubernetes Secret manifests, decoded and scanned with every rule
/// (see [`crate::detect::structure`]). `matches` is a reusable buffer.
#[allow(clippy::too_many_arguments)]
pub fn analyze(
    detector: &Detector,
    input: &[u8],
    paths: &[&str],
    inline_allow: bool,
    scratch: &mut crate::detect::Scratch,
    matches: &mut Vec<Match>,
    suppressed: &mut u64,
) -> Vec<Located> {
    detector.scan(input, paths, scratch, matches);
    let blob = Blob {
        detector,
        input,
        paths,
        inline_allow,
    };
    let mut located = locate(&blob, matches, suppressed);
    // Why: the CI pass and the decoding passes see what the rule matches cannot (workflow
    // structure, JSON escapes, base64); each runs only on inputs of its kind.
    let passes: [(bool, Pass); 3] = [
        (
            paths.iter().any(|p| crate::ci::system(p).is_some()),
            ci_findings,
        ),
        (
            paths.iter().any(|p| p.ends_with(".ipynb")),
            notebook_findings,
        ),
        (
            crate::detect::structure::may_hold_secret_manifest(input),
            decoded_findings,
        ),
    ];
    for (applies, pass) in passes {
        if applies {
            pass(&blob, scratch, &mut located, suppressed);
            located.sort_by_key(|l| (l.region, l.rule));
        }
    }
    located
}

/// What the passes over one input share: the detector, the input and where it lives.
struct Blob<'a> {
    detector: &'a Detector,
    input: &'a [u8],
    paths: &'a [&'a str],
    inline_allow: bool,
}

impl Blob<'_> {
    /// Whether a secret at `offset` carries an inline allow marker (and is counted if so).
    fn allowed(&self, offset: usize, suppressed: &mut u64) -> bool {
        let allowed = self.inline_allow && crate::suppress::inline::allowed(self.input, offset);
        *suppressed += u64::from(allowed);
        allowed
    }
}

/// A pass over an input after the rule matches: it adds the findings it sees to `located`.
type Pass = fn(&Blob<'_>, &mut crate::detect::Scratch, &mut Vec<Located>, &mut u64);

/// Findings in a Jupyter notebook's code and outputs: the JSON strings are unescaped
/// ([`crate::detect::structure::json_strings`]) and scanned, and each match is mapped back to
/// its place in the file. A secret the raw scan found already (one without escapes) is not
/// reported twice.
fn notebook_findings(
    blob: &Blob<'_>,
    scratch: &mut crate::detect::Scratch,
    located: &mut Vec<Located>,
    suppressed: &mut u64,
) {
    let Blob {
        detector,
        input,
        paths,
        ..
    } = *blob;
    let decoded = crate::detect::structure::json_strings(input);
    let text = &decoded.text;
    let mut inner = Vec::new();
    detector.scan(text, paths, scratch, &mut inner);
    if inner.is_empty() {
        return;
    }
    let mut locator = Locator::new(input);
    for m in &inner {
        let (start, last) = (decoded.origin(m.secret.0), decoded.origin(m.secret.1 - 1));
        if blob.allowed(start, suppressed) {
            continue;
        }
        let secret = Secret::new(&text[m.secret.0..m.secret.1]);
        if located.iter().any(|l| l.secret == secret) {
            continue;
        }
        let (s, e) = locator.locate_span(start, last + 1);
        located.push(Located {
            rule: m.rule,
            region: Region::of(s, e),
            secret,
            validation: m.validation,
            confidence: m.confidence,
            ci: None,
        });
    }
}

fn decoded_findings(
    blob: &Blob<'_>,
    scratch: &mut crate::detect::Scratch,
    located: &mut Vec<Located>,
    suppressed: &mut u64,
) {
    let Blob {
        detector,
        input,
        paths,
        ..
    } = *blob;
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
    for v in crate::detect::structure::secret_values(input) {
        if blob.allowed(v.span.0, suppressed) {
            continue;
        }
        let (start, end) = locator.locate_span(v.span.0, v.span.1);
        let region = Region::of(start, end);
        let overlaps =
            |l: &Located| l.region.line <= region.end_line && region.line <= l.region.end_line;
        if v.encoded {
            detector.scan(&v.value, paths, scratch, &mut inner);
            for m in &inner {
                located.push(Located {
                    rule: m.rule,
                    region,
                    secret: Secret::new(&v.value[m.secret.0..m.secret.1]),
                    validation: m.validation,
                    confidence: m.confidence,
                    ci: None,
                });
            }
        }
        // Plain stringData was seen by the normal scan already. A provider rule that names the
        // value is the better report; a generic one yields to the structural finding below.
        if located
            .iter()
            .any(|l| overlaps(l) && !detector.rule(l.rule).generic)
        {
            continue;
        }

        // Why: a Secret also carries its connection details (`region`, `host`, `port`,
        // `username`); those are not credentials, so only a value under a credential-like key
        // (or one a provider rule names, above) is reported.
        if !crate::detect::context::is_credential_field(&v.key) {
            continue;
        }
        let structural = decoded_rules.iter().find_map(|&r| {
            let rule = detector.rule(r);
            let caps = detector.regex(r).captures_iter(&v.value).next()?;
            let secret = &v.value[caps.get_group(1)?.range()];
            if !crate::detect::accept(rule, secret) {
                return None;
            }
            let full = caps.get_match().map_or(&[][..], |m| &v.value[m.range()]);
            let validation = validate::check_match(rule.validate, secret, full)?;
            Some(Located {
                rule: r,
                region,
                secret: Secret::new(secret),
                validation,
                confidence: Confidence::of(validation, rule.generic),
                ci: None,
            })
        });
        if let Some(s) = structural {
            located.retain(|l| !(overlaps(l) && detector.rule(l.rule).generic));
            located.push(s);
        }
    }
}

fn ci_findings(
    blob: &Blob<'_>,
    _: &mut crate::detect::Scratch,
    located: &mut Vec<Located>,
    suppressed: &mut u64,
) {
    let Blob {
        detector, input, ..
    } = *blob;
    let Some(system) = blob.paths.iter().find_map(|p| crate::ci::system(p)) else {
        return;
    };
    let rules = detector.rules().rules();
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
        if blob.allowed(offset, suppressed) {
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
        located.push(Located {
            rule,
            region,
            secret: Secret::new(issue.value.as_bytes()),
            validation,
            confidence: Confidence::of(validation, rules[rule].generic),
            ci,
        });
    }
}
