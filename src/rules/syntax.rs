//! The on-disk form of rule files (`rules/*.yml`), as parsed by serde.
//!
//! `RuleFileSyntax` is what the YAML says; [`super::Rule`] is the validated, compiled form. The
//! format is documented for users in `rules/README.md`.

use serde::{Deserialize, Serialize};

/// One rule file: a provider and its rules.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleFileSyntax {
    pub(crate) provider: String,
    #[serde(default)]
    pub(crate) remediation: Option<RemediationSyntax>,
    pub(crate) rules: Vec<RuleSyntax>,
}

/// One rule as written in YAML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RuleSyntax {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) keywords: Vec<String>,
    pub(crate) pattern: String,
    #[serde(default)]
    pub(crate) entropy: Option<f64>,
    pub(crate) severity: Severity,
    #[serde(default)]
    pub(crate) multiline: bool,
    #[serde(default)]
    pub(crate) filters: Vec<FilterKind>,
    /// Globs of the paths the rule applies to (`!glob` excludes); empty = every path.
    #[serde(default)]
    pub(crate) paths: Vec<String>,
    /// The path `rules check` scans the examples of a path-scoped rule as.
    #[serde(default)]
    pub(crate) example_path: Option<String>,
    /// Runs only on values decoded from structured files (Kubernetes Secret data), never on
    /// raw text.
    #[serde(default)]
    pub(crate) decoded: bool,
    /// Runs on binary files at the rule's `paths` (key stores), and only there.
    #[serde(default)]
    pub(crate) binary: bool,
    /// What kind of secret the rule finds (default `credential`).
    #[serde(default)]
    pub(crate) class: SecretClass,
    /// Produced by an analysis engine instead of the regex (`ci`); the pattern is unused.
    #[serde(default)]
    pub(crate) engine: Option<Engine>,
    /// An offline validity check (see `detect::validate`).
    #[serde(default)]
    pub(crate) validate: Option<Validator>,
    /// How the rule's matches are judged in context (see `detect::context`).
    #[serde(default)]
    pub(crate) context: Option<ContextKind>,
    /// Rule ids whose finding on the same secret this rule replaces (a shared prefix).
    #[serde(default)]
    pub(crate) supersedes: Vec<String>,
    /// The rotation period from now on, overriding the remediation's and the severity table's.
    #[serde(default)]
    pub(crate) rotation: Option<String>,
    #[serde(default)]
    pub(crate) remediation: Option<RemediationSyntax>,
    /// How to ask the provider whether a secret is live.
    #[serde(default)]
    pub(crate) verify: Option<VerifySyntax>,
    /// How to revoke a secret with nothing but the secret.
    #[serde(default)]
    pub(crate) revoke: Option<RevokeSyntax>,
    #[serde(default)]
    pub(crate) examples: Vec<String>,
    #[serde(default)]
    pub(crate) negative_examples: Vec<String>,
}

/// A rule's live check as written in YAML (see `rules/README.md`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct VerifySyntax {
    /// `METHOD URL`.
    #[serde(default)]
    pub request: Option<String>,
    /// Request headers (templates).
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// HTTP basic auth, `user:password` (a template).
    #[serde(default)]
    pub basic: Option<String>,
    /// A form body (templates).
    #[serde(default)]
    pub form: std::collections::BTreeMap<String, String>,
    /// A JSON body (a template; substitutions are JSON-escaped).
    #[serde(default)]
    pub json: Option<String>,
    /// Statuses that mean live.
    #[serde(default)]
    pub active: Vec<u16>,
    /// Statuses that mean revoked or invalid.
    #[serde(default)]
    pub inactive: Vec<u16>,
    /// A JSON pointer that must hold `true` for the secret to be live.
    #[serde(default)]
    pub ok: Option<String>,
    /// A JSON pointer to who the secret belongs to.
    #[serde(default)]
    pub identity: Option<String>,
    /// A response header listing the scopes.
    #[serde(default)]
    pub scopes: Option<String>,
    /// A pattern (capture 1) for the other half of a two-part secret.
    #[serde(default)]
    pub companion: Option<String>,
    /// A verifier written in code.
    #[serde(default)]
    pub kind: Option<String>,
    /// The endpoint's documentation.
    pub docs: String,
}

/// A rule's revocation as written in YAML (see `rules/README.md`).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RevokeSyntax {
    /// `METHOD URL`.
    #[serde(default)]
    pub request: Option<String>,
    /// Request headers (templates).
    #[serde(default)]
    pub headers: std::collections::BTreeMap<String, String>,
    /// HTTP basic auth, `user:password` (a template).
    #[serde(default)]
    pub basic: Option<String>,
    /// A form body (templates).
    #[serde(default)]
    pub form: std::collections::BTreeMap<String, String>,
    /// A JSON body (a template; substitutions are JSON-escaped).
    #[serde(default)]
    pub json: Option<String>,
    /// Statuses that mean revoked now.
    #[serde(default)]
    pub revoked: Vec<u16>,
    /// A JSON pointer that must hold `true` for the token to count as revoked.
    #[serde(default)]
    pub ok: Option<String>,
    /// Statuses that mean already revoked or invalid.
    #[serde(default)]
    pub inactive: Vec<u16>,
    /// A revoker written in code.
    #[serde(default)]
    pub kind: Option<String>,
    /// The endpoint's documentation.
    pub docs: String,
}

/// Remediation as written in YAML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RemediationSyntax {
    pub(crate) revoke: String,
    pub(crate) rotate: String,
    #[serde(default)]
    pub(crate) references: Vec<String>,
    /// Where to look for misuse (the provider's audit log).
    #[serde(default)]
    pub(crate) audit: Option<String>,
    /// The rotation period from now on, overriding the severity table.
    #[serde(default)]
    pub(crate) rotation: Option<String>,
}

/// How bad a leak of this kind of secret is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Leaks that are cheap to abuse and hard to bound; fix first.
    Low,
    /// Third-party tokens with limited scope.
    Medium,
    /// Database passwords, OAuth tokens, SaaS admin tokens.
    High,
    /// Private keys and cloud provider credentials.
    Critical,
}

impl Severity {
    /// The lower-case name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// What kind of secret a rule finds: what a leak gives away.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SecretClass {
    /// A credential that opens something as it is: a password, token, API key or private key.
    #[default]
    Credential,
    /// A password hash (htpasswd, shadow, bcrypt, crypt(3)): it opens nothing by itself, but
    /// it can be cracked offline and names a password to change.
    Hash,
    /// A binary key store (PKCS#12, Java key store, Kerberos keytab) holding private or
    /// secret keys.
    Keystore,
}

impl SecretClass {
    /// The kebab-case name used in every output format.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretClass::Credential => "credential",
            SecretClass::Hash => "hash",
            SecretClass::Keystore => "keystore",
        }
    }
}

/// Analysis engines that produce findings for rules without running their regex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// CI/CD configuration analysis (the `ci` module).
    Ci,
}

/// Which offline check a rule asks for (implemented in `detect::validate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validator {
    /// GitHub `ghp_`/`gho_`/`ghu_`/`ghs_`/`ghr_` tokens.
    GithubChecksum,
    /// npm `npm_` tokens.
    NpmChecksum,
    /// JSON Web Tokens.
    Jwt,
    /// PEM, OpenSSH, PuTTY, PGP and age private keys.
    PrivateKey,
    /// AWS access key ids.
    AwsKeyId,
    /// The pattern encodes the structure.
    Structure,
    /// HTTP Basic credentials: base64 of `user:password`, with a non-trivial password.
    BasicAuth,
    /// An Azure shared access signature: its `se=` expiry, read from the whole match, decides
    /// whether it is expired.
    AzureSas,
    /// An AWS SigV4 presigned URL: `X-Amz-Date` plus `X-Amz-Expires`, read from the whole
    /// match, decide whether it is expired.
    AwsPresigned,
    /// A PKCS#12 (PFX) container (implemented in `detect::keystore`).
    Pkcs12,
    /// A JKS/JCEKS key store with a key entry (implemented in `detect::keystore`).
    JavaKeystore,
    /// A Kerberos keytab whose first entry parses (implemented in `detect::keystore`).
    Keytab,
}

/// Extra false-positive filters a rule can opt into (see `rules/README.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FilterKind {
    /// Drop captures that look like code (references, attribute access, calls, bare words).
    Identifier,
    /// Require at least two character classes in the capture.
    Charclass,
}

/// How the matches of a weakly anchored rule are judged in context (implemented in
/// `detect::context`): the rule's pattern finds candidates, the context decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ContextKind {
    /// A value assigned to a key (`password = …`, `"token": …`): key-name semantics, value
    /// shape and file context.
    Assignment,
    /// A password inside a URL (`scheme://user:password@host`): placeholder passwords and
    /// example hosts.
    Url,
    /// A JSON Web Token: sample claims from documentation.
    Jwt,
    /// A bare value after a weak anchor (`Bearer …`): value shape and file context.
    Value,
}
