//! The model of what a scan found: [`Finding`] (one secret at one place, owned, redacted, with
//! line/column, provenance and remediation), [`Located`] (a match placed in its blob, before it
//! is given an origin), and where things come from ([`Origin`], git and image provenance).
//! Findings are made by the analysis (`analysis`); this module only describes them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::{
    detect::validate::{Confidence, Validation},
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
    /// The encodings the secret was found under, outermost first (empty: found as written).
    pub decoded: Vec<Encoding>,
    /// The other half of a two-part secret found near it (an AWS secret key's key id), for
    /// live verification; never reported.
    pub companion: Option<Secret>,
    /// What the provider said when asked (`--verify`).
    pub verification: Option<Arc<crate::verify::Verification>>,
    /// Commit lists of gitleaks allowlists that drop this finding if its commit is in one;
    /// never reported.
    pub allow_commits: Vec<Arc<[String]>>,
}

/// A match located in its blob: rule index, region and secret, before it is given a place.
#[derive(Debug, Clone)]
pub struct Located {
    /// Rule index in the detector.
    pub rule: usize,
    /// Where in the blob.
    pub region: Region,
    /// Byte span of the secret in the input the pass analyzed (for a decoded finding, that of
    /// the encoded text).
    pub span: (usize, usize),
    /// The secret.
    pub secret: Secret,
    /// What the rule's offline check established.
    pub validation: Validation,
    /// How sure the detector is.
    pub confidence: Confidence,
    /// CI context, for findings of the CI analysis.
    pub ci: Option<Box<CiContext>>,
    /// The encodings the secret was found under, outermost first (empty: found as written).
    /// The region is then that of the encoded text.
    pub decoded: Vec<Encoding>,
    /// The other half of a two-part secret found near it (see [`Finding::companion`]).
    pub companion: Option<Secret>,
    /// Commit lists of gitleaks allowlists that drop this finding if its commit is in one
    /// (see `gitleaks::engine`); empty for almost every finding.
    pub allow_commits: Vec<Arc<[String]>>,
}

/// An encoding the decode pass undid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// Base64, standard or URL-safe alphabet, padded or not, possibly line-wrapped.
    Base64,
    /// Hexadecimal digits, two per byte.
    Hex,
    /// Percent-encoding (`%40`), as in URLs and form bodies.
    Percent,
    /// String-literal escapes (`\uXXXX`, `\xHH`, `\/`) of JSON, JavaScript and Python.
    Escape,
    /// gzip, inside a base64 or hex value.
    Gzip,
    /// zlib, inside a base64 or hex value.
    Zlib,
}

impl Encoding {
    /// The lower-case name used in every output.
    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Base64 => "base64",
            Encoding::Hex => "hex",
            Encoding::Percent => "percent",
            Encoding::Escape => "escape",
            Encoding::Gzip => "gzip",
            Encoding::Zlib => "zlib",
        }
    }

    /// The name read back from a store or baseline.
    pub fn parse(name: &str) -> Option<Encoding> {
        [
            Encoding::Base64,
            Encoding::Hex,
            Encoding::Percent,
            Encoding::Escape,
            Encoding::Gzip,
            Encoding::Zlib,
        ]
        .into_iter()
        .find(|e| e.as_str() == name)
    }
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

impl Finding {
    /// The decode chain as shown to people (`base64 → gzip`), if the secret was encoded.
    pub fn decode_chain(&self) -> Option<String> {
        (!self.decoded.is_empty()).then(|| {
            let names: Vec<&str> = self.decoded.iter().map(|e| e.as_str()).collect();
            names.join(" → ")
        })
    }

    /// Adds the CI note when the finding is in a CI/CD configuration file and has no note yet.
    pub fn with_context_note(mut self) -> Finding {
        if self.note.is_none() && is_ci_config(self.origin.relative()) {
            self.note = Some(CI_NOTE);
        }
        self
    }
}
