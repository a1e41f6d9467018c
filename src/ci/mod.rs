//! CI/CD configuration analysis: what leaks through pipelines.
//!
//! When a scan meets a CI configuration (GitHub Actions workflows and actions, GitLab CI and the
//! files it includes from `.gitlab/`, CircleCI, Azure Pipelines, Bitbucket Pipelines, Travis,
//! Drone, Buildkite; Jenkinsfiles by text rules), it is parsed with source positions and checked
//! for:
//!
//! 1. `ci.literal-credential`: a literal (not a reference such as `${{ secrets.X }}`, `$VAR`,
//!    `${VAR}`, `$(VAR)`, `((var))`) under a credential-named key in `env`, `variables`, `with`,
//!    `secrets`, `environment`, `settings`…; a literal password after `curl -u user:` or in an
//!    `Authorization:` header; a literal after `--password`/`docker login -p`.
//! 2. `ci.secret-in-logs`: `echo`/`printf`/`cat` of a secret reference (not piped into a
//!    command, not `::add-mask::`), `set -x` in a step that has secrets, `env`/`printenv` dumps;
//!    and `ci.debug-logging`: `ACTIONS_STEP_DEBUG`/`ACTIONS_RUNNER_DEBUG`/`CI_DEBUG_TRACE`
//!    committed on.
//! 3. `ci.untrusted-checkout`: a `pull_request_target` or `workflow_run` workflow that checks out
//!    the pull request's head and then runs code; `ci.unpinned-secrets-inherit`: `secrets:
//!    inherit` into another repository's reusable workflow pinned by a branch or tag.
//! 4. `ci.secret-on-command-line`: a secret reference passed as `--password …` or `docker login
//!    -p …` where `--password-stdin` exists.
//!
//! Each issue names the job and step. The rules' ids, names, severities and playbooks live in
//! `rules/ci.yml` (as `engine: ci` rules); the matching is here.
//!
//! Every step is linear in the size of the file (line lookups by index, duplicate issues by
//! hash, bounded searches within a line), and the YAML tree has limits (see [`yaml`]). A file
//! that is not valid YAML, nests too deep or is too large is analysed as far as it parses, a
//! GitHub workflow is also searched line by line for an untrusted checkout, and the outcome
//! carries a warning saying what was left out ([`Outcome::warnings`]); the plain rules see the
//! whole file regardless.

pub mod yaml;

use std::{collections::HashSet, sync::LazyLock};

use regex::Regex;
use yaml::Node;

/// A CI system, recognised by path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// `.github/workflows/*.yml`, `action.yml`.
    GithubActions,
    /// `.gitlab-ci.yml`, `.gitlab/**.yml`.
    Gitlab,
    /// `.circleci/config.yml`.
    Circleci,
    /// `azure-pipelines.yml`.
    Azure,
    /// `bitbucket-pipelines.yml`.
    Bitbucket,
    /// `.travis.yml`.
    Travis,
    /// `.drone.yml`.
    Drone,
    /// `.buildkite/*.yml`.
    Buildkite,
    /// `Jenkinsfile`.
    Jenkins,
}

impl System {
    /// Every system, for parsing names back.
    pub const ALL: [System; 9] = [
        System::GithubActions,
        System::Gitlab,
        System::Circleci,
        System::Azure,
        System::Bitbucket,
        System::Travis,
        System::Drone,
        System::Buildkite,
        System::Jenkins,
    ];

    /// The system of an [`as_str`](System::as_str) name.
    pub fn from_name(name: &str) -> Option<System> {
        System::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The name used in findings.
    pub fn as_str(self) -> &'static str {
        match self {
            System::GithubActions => "github-actions",
            System::Gitlab => "gitlab-ci",
            System::Circleci => "circleci",
            System::Azure => "azure-pipelines",
            System::Bitbucket => "bitbucket-pipelines",
            System::Travis => "travis",
            System::Drone => "drone",
            System::Buildkite => "buildkite",
            System::Jenkins => "jenkins",
        }
    }
}

/// The CI system a path belongs to, if any.
///
/// ```
/// use leakhound::ci::{System, system};
/// assert_eq!(system(".github/workflows/ci.yml"), Some(System::GithubActions));
/// assert_eq!(system("deploy/.gitlab/ci/build.yml"), Some(System::Gitlab));
/// assert_eq!(system("src/main.rs"), None);
/// ```
pub fn system(path: &str) -> Option<System> {
    let name = path.rsplit('/').next().unwrap_or(path);
    let yml = name.ends_with(".yml") || name.ends_with(".yaml");
    let within = |dir: &str| path.starts_with(dir) || path.contains(&format!("/{dir}"));
    Some(match name {
        _ if within(".github/workflows/") && yml => System::GithubActions,
        "action.yml" | "action.yaml" => System::GithubActions,
        ".gitlab-ci.yml" | ".gitlab-ci.yaml" => System::Gitlab,
        _ if within(".gitlab/") && yml => System::Gitlab,
        _ if name.ends_with(".gitlab-ci.yml") => System::Gitlab,
        _ if within(".circleci/") && yml => System::Circleci,
        "azure-pipelines.yml" | "azure-pipelines.yaml" => System::Azure,
        _ if within(".azure-pipelines/") && yml => System::Azure,
        "bitbucket-pipelines.yml" => System::Bitbucket,
        ".travis.yml" => System::Travis,
        ".drone.yml" => System::Drone,
        _ if within(".buildkite/") && yml => System::Buildkite,
        "Jenkinsfile" => System::Jenkins,
        _ if name.ends_with(".jenkinsfile") || name.starts_with("Jenkinsfile.") => System::Jenkins,
        _ => return None,
    })
}

/// One problem found in a CI configuration.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Issue {
    /// The rule id (`ci.*`).
    pub rule: &'static str,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The offending text: the literal credential, or the reference/command at fault.
    pub value: String,
    /// The job, if known.
    pub job: Option<String>,
    /// The step, if known.
    pub step: Option<String>,
    /// What exactly is wrong here.
    pub detail: String,
}

static CREDENTIAL_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(passw(or)?d|passphrase|secret|token|api[-_]?key|apikey|access[-_]?key|private[-_]?key|client[-_]?secret|credential|auth|pwd)")
        .expect("the credential-key pattern is a valid regex")
});
static NOT_SECRET_SUFFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)[-_.](id|url|uri|endpoint|name|user|username|file|path|type|header|length|ttl|expiry|expires|host|port|region|scope|scopes|audience|method|enabled|required|env|var)$")
        .expect("the suffix pattern is a valid regex")
});
static SECRET_REF: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\$\{\{\s*secrets\.[A-Za-z0-9_-]+\s*\}\}|\$\{?[A-Za-z0-9_]*(PASSW(OR)?D|SECRET|TOKEN|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL)[A-Za-z0-9_]*\}?|\$\{\{\s*env\.[A-Za-z0-9_]*(PASSWORD|SECRET|TOKEN|KEY)[A-Za-z0-9_]*\s*\}\}")
        .expect("the secret-reference pattern is a valid regex")
});
static LOGGING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[;&|(]\s*|\s)(echo|printf|cat|Write-Host|Write-Output)\b").expect("valid regex")
});
static XTRACE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(^|[;&]\s*)set\s+(-[a-wyz]*x[a-z]*|-o\s+xtrace)\b|\bbash\s+-[a-z]*x")
        .expect("valid regex")
});
static DUMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(env|printenv|export\s+-p|set)\s*($|\||>|;)").expect("valid regex")
});
static PASSWORD_ARG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:--password[= ]+|\b(?:docker|podman|buildah|skopeo|oras|nerdctl)\s+login\b[^\n]*?\s-p\s+)(["']?)([^\s"']+)"#).expect("valid regex")
});
static CURL_USER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"\bcurl\b[^\n]*?\s(?:-u|--user)\s+(["']?)[^:\s"']+:([^\s"']+)"#)
        .expect("valid regex")
});
static EXPORT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?:export|set|setx)\s+([A-Za-z_][A-Za-z0-9_]*)=(["']?)([^\s"'$;&|]+)"#)
        .expect("valid regex")
});
static AUTH_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)authorization:\s*(?:bearer|token|basic)\s+([A-Za-z0-9._~+/=-]{8,})"#)
        .expect("valid regex")
});

/// Whether a value is a reference to a secret store or variable rather than a literal.
///
/// ```
/// use leakhound::ci::is_reference;
/// for r in ["${{ secrets.X }}", "${{ vars.X }}", "$TOKEN", "${TOKEN}", "$(token)", "((token))", "$CI_JOB_TOKEN", "{{ .Values.x }}"] {
///     assert!(is_reference(r), "{r}");
/// }
/// assert!(!is_reference("hunter2"));
/// ```
pub fn is_reference(v: &str) -> bool {
    let v = v.trim();
    v.contains("${{")
        || v.contains("$(")
        || v.contains("${")
        || v.starts_with('$')
        || (v.contains("((") && v.contains("))"))
        || v.contains("{{")
        || v.contains("%{")
}

fn literal_credential(v: &str) -> bool {
    let t = v.trim();
    !t.is_empty()
        && !is_reference(t)
        && !matches!(
            t.to_ascii_lowercase().as_str(),
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~" | "inherit" | "none"
        )
        && !t.contains('$')
        && !crate::detect::filter::is_placeholder(t.as_bytes())
}

fn credential_key(key: &str) -> bool {
    CREDENTIAL_KEY.is_match(key) && !NOT_SECRET_SUFFIX.is_match(key)
}

/// Keys whose mapping values are variables or inputs.
const SLOTS: &[&str] = &[
    "env",
    "variables",
    "with",
    "secrets",
    "environment",
    "settings",
    "global",
    "vars",
    "parameters",
    "inputs",
    "auth",
    "credentials",
];
/// GitLab's predefined variables that GitLab always masks in job logs.
const ALWAYS_MASKED: &[&str] = &[
    "CI_JOB_TOKEN",
    "CI_REGISTRY_PASSWORD",
    "CI_DEPLOY_PASSWORD",
    "CI_JOB_JWT",
    "CI_JOB_JWT_V2",
    "CI_DEPENDENCY_PROXY_PASSWORD",
];
/// Keys whose values are shell scripts.
const SCRIPT_KEYS: &[&str] = &[
    "run",
    "script",
    "before_script",
    "after_script",
    "command",
    "commands",
    "bash",
    "pwsh",
    "powershell",
    "inlineScript",
    "install",
    "before_install",
    "deploy",
];

/// Where in a CI file an issue is: line and column (1-based), job and step.
#[derive(Clone, Copy)]
struct At<'s> {
    line: usize,
    col: usize,
    job: Option<&'s str>,
    step: Option<&'s str>,
}

/// How far along a line [`Ctx::column_of`] looks for a value; longer lines are searched only
/// this far from the node's column (so that many issues on one long line stay linear).
const COLUMN_WINDOW: usize = 4096;

struct Ctx<'a> {
    lines: Vec<&'a str>,
    /// Each line without its leading and trailing whitespace.
    trimmed: Vec<&'a str>,
    /// Whether each line is ASCII (a column is then a byte offset plus one).
    ascii: Vec<bool>,
    out: Vec<Issue>,
    /// The issues in `out`, to drop repeats in constant time.
    seen: HashSet<Issue>,
}

impl<'a> Ctx<'a> {
    fn new(text: &'a str) -> Ctx<'a> {
        let lines: Vec<&'a str> = text.lines().collect();
        let trimmed = lines.iter().map(|&l| l.trim()).collect();
        let ascii = lines.iter().map(|l| l.is_ascii()).collect();
        Ctx {
            lines,
            trimmed,
            ascii,
            out: Vec::new(),
            seen: HashSet::new(),
        }
    }
}

impl Ctx<'_> {
    /// The column of `needle` on `line` at or after `col` (1-based), or `col`.
    fn column_of(&self, line: usize, col: usize, needle: &str) -> usize {
        let index = line.wrapping_sub(1);
        let Some(&text) = self.lines.get(index) else {
            return col;
        };
        if self.ascii.get(index).copied().unwrap_or(false) {
            let from = match col.saturating_sub(1) {
                c if c < text.len() => c,
                _ => 0,
            };
            let end = from
                .saturating_add(needle.len())
                .saturating_add(COLUMN_WINDOW)
                .min(text.len());
            if let Some(i) = text[from..end].find(needle) {
                return from + i + 1;
            }
            if text.len() <= COLUMN_WINDOW
                && let Some(i) = text.find(needle)
            {
                return i + 1;
            }
            return col;
        }
        if text.len() > COLUMN_WINDOW {
            return col;
        }
        let from = text
            .char_indices()
            .nth(col.saturating_sub(1))
            .map_or(0, |(i, _)| i);
        match text[from..].find(needle).or_else(|| text.find(needle)) {
            Some(i) => {
                let byte = if text[from..].contains(needle) {
                    from + i
                } else {
                    i
                };
                text[..byte].chars().count() + 1
            }
            None => col,
        }
    }

    /// Reports `value` if `key` names a credential and the value is a literal.
    fn keyed_literal(&mut self, key: &str, value: &str, at: At<'_>, how: &str) {
        if credential_key(key) && literal_credential(value) {
            self.push("ci.literal-credential", at, value, format!("{key} {how}"));
        }
    }

    fn push(&mut self, rule: &'static str, at: At<'_>, value: &str, detail: String) {
        let At {
            line,
            col,
            job,
            step,
        } = at;
        let column = self.column_of(line, col, value);
        let issue = Issue {
            rule,
            line,
            column,
            value: value.to_owned(),
            job: job.map(str::to_owned),
            step: step.map(str::to_owned),
            detail,
        };
        if self.seen.insert(issue.clone()) {
            self.out.push(issue);
        }
    }
}

/// What the analysis of one CI configuration found.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The issues, sorted by line, column and rule.
    pub issues: Vec<Issue>,
    /// What the analysis left out and why (invalid YAML, too deep, too large), one sentence
    /// each, for a warning about the file.
    pub warnings: Vec<String>,
}

/// Analyzes one CI configuration file.
pub fn analyze(system: System, text: &str) -> Outcome {
    let mut ctx = Ctx::new(text);
    let mut warnings = Vec::new();
    if system == System::Jenkins {
        jenkins(&mut ctx);
    } else {
        let parsed = yaml::parse(text);
        for doc in &parsed.docs {
            walk(&mut ctx, system, doc, &mut Vec::new(), false);
            if system == System::GithubActions {
                github_untrusted(&mut ctx, doc);
            }
        }
        if !parsed.complete() {
            if system == System::GithubActions {
                untrusted_by_lines(&mut ctx);
            }
            warnings.push(left_out(&parsed));
        }
    }
    let mut issues = ctx.out;
    issues.sort_by_key(|i| (i.line, i.column, i.rule));
    Outcome { issues, warnings }
}

/// The warning for a file that did not parse whole.
fn left_out(parsed: &yaml::Parsed) -> String {
    let mut what = Vec::new();
    if let Some((line, message)) = &parsed.syntax {
        let more = match parsed.syntax_errors {
            0 | 1 => String::new(),
            n => format!(
                ", and {} more syntax error{}",
                n - 1,
                if n == 2 { "" } else { "s" }
            ),
        };
        what.push(format!(
            "is not valid YAML (line {line}: {}{more})",
            printable(message)
        ));
    }
    if let Some(line) = parsed.too_deep {
        what.push(format!(
            "nests deeper than {} levels (from line {line})",
            yaml::MAX_DEPTH
        ));
    }
    if let Some(line) = parsed.truncated {
        what.push(format!(
            "is too large or too broken for the CI analysis (it stopped at line {line})"
        ));
    }
    format!(
        "the CI configuration {}; the ci.* rules checked only the parts that parse (the other rules checked the whole file)",
        what.join(" and ")
    )
}

/// A parser message as safe to print: control characters escaped, at most 120 characters.
fn printable(message: &str) -> String {
    let mut out = String::new();
    for c in message.chars().take(120) {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// The job and step a path (of mapping keys and sequence indices) is in.
fn job_step(system: System, path: &[PathPart<'_>]) -> (Option<String>, Option<String>) {
    let key = |i: usize| match path.get(i) {
        Some(PathPart::Key(k)) => Some((*k).to_owned()),
        _ => None,
    };
    let job = match system {
        System::GithubActions | System::Circleci | System::Drone => {
            if matches!(path.first(), Some(PathPart::Key("jobs"))) {
                key(1)
            } else {
                key(0)
            }
        }
        System::Gitlab | System::Travis => key(0).filter(|k| !SLOTS.contains(&k.as_str())),
        _ => path.iter().rev().find_map(|p| match p {
            PathPart::Key(k) if !SLOTS.contains(k) && !SCRIPT_KEYS.contains(k) => {
                Some((*k).to_owned())
            }
            _ => None,
        }),
    };
    let step = path
        .iter()
        .enumerate()
        .find_map(|(i, p)| match (p, path.get(i + 1)) {
            (PathPart::Key("steps"), Some(PathPart::Step(name))) => Some(name.clone()),
            _ => None,
        });
    (job, step)
}

#[derive(Debug, Clone)]
enum PathPart<'a> {
    Key(&'a str),
    Step(String),
}

fn walk<'a>(
    ctx: &mut Ctx<'_>,
    system: System,
    node: &'a Node,
    path: &mut Vec<PathPart<'a>>,
    step_has_secrets: bool,
) {
    match node {
        Node::Map { .. } => {
            let has_secrets = step_has_secrets
                || node
                    .entries()
                    .any(|(k, v)| SLOTS.contains(&k) && mentions_secret(v));
            // Why: a mapping with many `secrets: inherit` keys is judged once, not once per key.
            let mut inherit_judged = false;
            for (key, value) in node.entries() {
                path.push(PathPart::Key(key));
                let (job, step) = job_step(system, path);
                let parent = path.len().checked_sub(2).and_then(|i| match path[i] {
                    PathPart::Key(k) => Some(k),
                    _ => None,
                });
                // Credential slot: a literal under a credential-named key.
                if parent.is_some_and(|p| SLOTS.contains(&p)) {
                    slot_entry(ctx, key, value, job.as_deref(), step.as_deref());
                }
                if SCRIPT_KEYS.contains(&key) {
                    script(ctx, value, has_secrets, job.as_deref(), step.as_deref());
                }
                if !inherit_judged && key == "secrets" && value.as_str() == Some("inherit") {
                    inherit_judged = true;
                    unpinned_inherit(ctx, node, job.as_deref());
                }
                walk(ctx, system, value, path, has_secrets);
                path.pop();
            }
        }
        Node::Seq { items, .. } => {
            let under_steps = matches!(path.last(), Some(PathPart::Key("steps")));
            let under_slot = matches!(path.last(), Some(PathPart::Key(k)) if SLOTS.contains(k));
            for (i, item) in items.iter().enumerate() {
                if under_steps {
                    let name = item
                        .get("name")
                        .or_else(|| item.get("uses"))
                        .and_then(Node::as_str)
                        .map_or_else(|| format!("#{}", i + 1), str::to_owned);
                    path.push(PathPart::Step(name));
                }
                let (job, step) = job_step(system, path);
                if under_slot {
                    list_slot_item(ctx, item, job.as_deref(), step.as_deref());
                }
                walk(ctx, system, item, path, step_has_secrets);
                if under_steps {
                    path.pop();
                }
            }
        }
        _ => {}
    }
}

fn mentions_secret(node: &Node) -> bool {
    match node {
        Node::Scalar { value, .. } => SECRET_REF.is_match(value),
        Node::Map { .. } => node
            .entries()
            .any(|(k, v)| (credential_key(k) && v.as_str().is_some()) || mentions_secret(v)),
        Node::Seq { items, .. } => items.iter().any(mentions_secret),
        Node::Alias { .. } | Node::Elided { .. } => false,
    }
}

const DEBUG_TOGGLES: &[&str] = &[
    "ACTIONS_STEP_DEBUG",
    "ACTIONS_RUNNER_DEBUG",
    "CI_DEBUG_TRACE",
    "CI_DEBUG_SERVICES",
    "SYSTEM_DEBUG",
];

fn slot_entry(ctx: &mut Ctx<'_>, key: &str, value: &Node, job: Option<&str>, step: Option<&str>) {
    let Node::Scalar {
        value: v,
        line,
        col,
        ..
    } = value
    else {
        return;
    };
    if DEBUG_TOGGLES.contains(&key)
        && matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes")
    {
        let detail =
            format!("{key} is committed on: debug logging prints expanded commands and variables");
        ctx.push(
            "ci.debug-logging",
            At {
                line: *line,
                col: *col,
                job,
                step,
            },
            v,
            detail,
        );
        return;
    }
    ctx.keyed_literal(
        key,
        v,
        At {
            line: *line,
            col: *col,
            job,
            step,
        },
        HOLDS_LITERAL,
    );
}

const HOLDS_LITERAL: &str = "holds a literal value instead of a secret-store reference";

/// `- KEY=value` (Travis, Drone, Bitbucket) and `- name: KEY / value: …` (Azure) list items.
fn list_slot_item(ctx: &mut Ctx<'_>, item: &Node, job: Option<&str>, step: Option<&str>) {
    match item {
        Node::Scalar {
            value, line, col, ..
        } => {
            if let Some((k, v)) = value.split_once('=') {
                let (k, v) = (k.trim(), v.trim().trim_matches(|c| c == '"' || c == '\''));
                ctx.keyed_literal(
                    k,
                    v,
                    At {
                        line: *line,
                        col: *col,
                        job,
                        step,
                    },
                    HOLDS_LITERAL,
                );
            }
        }
        Node::Map { .. } => {
            if let (Some(name), Some(value @ Node::Scalar { .. })) =
                (item.get("name").and_then(Node::as_str), item.get("value"))
            {
                slot_entry(ctx, name, value, job, step);
            }
        }
        _ => {}
    }
}

/// Every line of a script value, with its source line and column. Lines of a block scalar
/// are found in the source from the scalar's position on (their text is the same, less the
/// indentation), so folding and indentation indicators cannot shift the numbers. Each value
/// line is looked for among at most 200 source lines, compared trimmed (trimmed once per file).
fn script_lines(node: &Node, ctx: &Ctx<'_>) -> Vec<(String, usize, usize)> {
    let (src, trimmed) = (&ctx.lines, &ctx.trimmed);
    match node {
        Node::Scalar {
            value, line, col, ..
        } if value.contains('\n') => {
            let mut cursor = line.saturating_sub(1);
            let mut out = Vec::new();
            for (i, l) in value.lines().enumerate() {
                let want = l.trim();
                if want.is_empty() {
                    continue;
                }
                let found = (cursor..trimmed.len().min(cursor + 200)).find(|&j| trimmed[j] == want);
                let at = match found {
                    Some(j) => {
                        cursor = j + 1;
                        j + 1
                    }
                    None => line + 1 + i,
                };
                let indent = src
                    .get(at - 1)
                    .map_or(0, |s| s.chars().take_while(|c| c.is_whitespace()).count());
                out.push((l.to_owned(), at, indent + 1));
            }
            out
        }
        Node::Scalar {
            value, line, col, ..
        } => vec![(value.clone(), *line, *col)],
        Node::Seq { items, .. } => items.iter().flat_map(|i| script_lines(i, ctx)).collect(),
        Node::Map { .. } => node
            .get("command")
            .map(|c| script_lines(c, ctx))
            .unwrap_or_default(),
        Node::Alias { .. } | Node::Elided { .. } => Vec::new(),
    }
}

fn script(
    ctx: &mut Ctx<'_>,
    node: &Node,
    step_has_secrets: bool,
    job: Option<&str>,
    step: Option<&str>,
) {
    // Why: the lines are collected first (no copy of the file's lines per script).
    let lines = script_lines(node, ctx);
    for (line_text, line, col) in lines {
        script_line(ctx, &line_text, line, col, step_has_secrets, job, step);
    }
}

fn script_line(
    ctx: &mut Ctx<'_>,
    text: &str,
    line: usize,
    col: usize,
    step_has_secrets: bool,
    job: Option<&str>,
    step: Option<&str>,
) {
    let t = text.trim();
    if t.starts_with('#') {
        return;
    }
    // 2. secrets into logs
    if let Some(m) = LOGGING.find(t) {
        let after = &t[m.end()..];
        let piped = after.contains('|') || after.contains('>');
        let masked = |r: &str| {
            ALWAYS_MASKED.iter().any(|m| {
                r.trim_start_matches("${")
                    .trim_start_matches('$')
                    .trim_end_matches('}')
                    == *m
            })
        };
        if !piped
            && !after.contains("::add-mask::")
            && let Some(r) = SECRET_REF.find_iter(after).find(|r| !masked(r.as_str()))
        {
            let detail = format!(
                "`{}` prints {} to the build log",
                m.as_str().trim(),
                r.as_str()
            );
            ctx.push(
                "ci.secret-in-logs",
                At {
                    line,
                    col,
                    job,
                    step,
                },
                r.as_str(),
                detail,
            );
        }
    }
    if step_has_secrets && let Some(m) = XTRACE.find(t) {
        let detail =
            "shell tracing (set -x) echoes every command, with expanded secrets, to the log"
                .to_owned();
        ctx.push(
            "ci.secret-in-logs",
            At {
                line,
                col,
                job,
                step,
            },
            m.as_str().trim(),
            detail,
        );
    }
    if DUMP.is_match(t) {
        let detail = "dumps every environment variable (and secret) to the build log".to_owned();
        ctx.push(
            "ci.secret-in-logs",
            At {
                line,
                col,
                job,
                step,
            },
            t,
            detail,
        );
    }
    // 1. literals exported in scripts
    if let Some(c) = EXPORT.captures(t)
        && let (Some(k), Some(v)) = (c.get(1), c.get(3))
    {
        let how = "is exported with a literal value instead of a secret-store reference";
        ctx.keyed_literal(
            k.as_str(),
            v.as_str(),
            At {
                line,
                col,
                job,
                step,
            },
            how,
        );
    }
    // 4. secrets on command lines, and literals in command-line credential slots
    if let Some(c) = PASSWORD_ARG.captures(t)
        && let Some(v) = c.get(2)
    {
        let v = v.as_str();
        if literal_credential(v) {
            let detail = "a literal password on the command line".to_owned();
            ctx.push(
                "ci.literal-credential",
                At {
                    line,
                    col,
                    job,
                    step,
                },
                v,
                detail,
            );
        } else {
            let detail = format!(
                "{v} is passed as a command-line argument (visible in process lists and logs); use --password-stdin"
            );
            ctx.push(
                "ci.secret-on-command-line",
                At {
                    line,
                    col,
                    job,
                    step,
                },
                v,
                detail,
            );
        }
    }
    // Literal credentials in command-line slots: `curl -u user:…`, `Authorization: …`.
    for (re, group, what) in [
        (
            &*CURL_USER,
            2,
            "a literal password in `curl -u user:password`",
        ),
        (
            &*AUTH_HEADER,
            1,
            "a literal credential in an Authorization header",
        ),
    ] {
        if let Some(v) = re.captures(t).and_then(|c| c.get(group))
            && literal_credential(v.as_str())
        {
            ctx.push(
                "ci.literal-credential",
                At {
                    line,
                    col,
                    job,
                    step,
                },
                v.as_str(),
                what.to_owned(),
            );
        }
    }
}

fn unpinned_inherit(ctx: &mut Ctx<'_>, job_node: &Node, job: Option<&str>) {
    let Some(uses) = job_node.get("uses") else {
        return;
    };
    let Some(target) = uses.as_str() else { return };
    if target.starts_with("./") {
        return;
    }
    let pinned = target
        .rsplit_once('@')
        .is_some_and(|(_, r)| r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()));
    if !pinned {
        let detail = format!(
            "secrets: inherit hands every secret to {target}, which is pinned by a branch or tag, not a commit SHA"
        );
        ctx.push(
            "ci.unpinned-secrets-inherit",
            At {
                line: uses.line(),
                col: 1,
                job,
                step: None,
            },
            target,
            detail,
        );
    }
}

const HEAD_REFS: &[&str] = &[
    "github.event.pull_request.head.sha",
    "github.event.pull_request.head.ref",
    "github.event.pull_request.head.repo.full_name",
    "github.head_ref",
    "refs/pull/",
    "github.event.workflow_run.head_sha",
    "github.event.workflow_run.head_branch",
    "github.event.workflow_run.head_repository.full_name",
];

/// `pull_request_target` / `workflow_run` workflows that check out the PR head and run it.
fn github_untrusted(ctx: &mut Ctx<'_>, doc: &Node) {
    let Some(on) = doc.get("on").or_else(|| doc.get("true")) else {
        return;
    };
    let triggers: Vec<&str> = match on {
        Node::Scalar { value, .. } => vec![value.as_str()],
        Node::Seq { items, .. } => items.iter().filter_map(Node::as_str).collect(),
        Node::Map { .. } => on.entries().map(|(k, _)| k).collect(),
        Node::Alias { .. } | Node::Elided { .. } => Vec::new(),
    };
    let Some(trigger) = triggers
        .into_iter()
        .find(|t| *t == "pull_request_target" || *t == "workflow_run")
    else {
        return;
    };
    let Some(jobs) = doc.get("jobs") else { return };
    for (job, job_node) in jobs.entries() {
        let steps = job_node.get("steps").map(Node::items).unwrap_or_default();
        // Whether a step after each one runs code: found in one pass when first needed.
        let mut later_runs: Option<Vec<bool>> = None;
        for (i, s) in steps.iter().enumerate() {
            let is_checkout = s
                .get("uses")
                .and_then(Node::as_str)
                .is_some_and(|u| u.starts_with("actions/checkout@"));
            let head = s.get("with").is_some_and(|w| {
                ["ref", "repository"].iter().any(|k| {
                    w.get(k)
                        .and_then(Node::as_str)
                        .is_some_and(|v| HEAD_REFS.iter().any(|h| v.contains(h)))
                })
            });
            if !(is_checkout && head) {
                continue;
            }
            let runs_code = later_runs.get_or_insert_with(|| runs_after(steps))[i];
            if runs_code {
                let name = s
                    .get("name")
                    .and_then(Node::as_str)
                    .unwrap_or("actions/checkout")
                    .to_owned();
                let detail = format!(
                    "{trigger} runs with secrets and a write token; this job checks out the pull request's head and then runs its code"
                );
                let line = s
                    .get("with")
                    .and_then(|w| w.get("ref").or_else(|| w.get("repository")))
                    .map_or(s.line(), Node::line);
                let value = s
                    .get("with")
                    .and_then(|w| w.get("ref").or_else(|| w.get("repository")))
                    .and_then(Node::as_str)
                    .unwrap_or("");
                ctx.push(
                    "ci.untrusted-checkout",
                    At {
                        line,
                        col: 1,
                        job: Some(job),
                        step: Some(&name),
                    },
                    value,
                    detail,
                );
            }
        }
    }
}

/// For each step, whether a later step runs code (`run`, or a local action).
fn runs_after(steps: &[Node]) -> Vec<bool> {
    let mut out = vec![false; steps.len()];
    let mut seen = false;
    for (i, s) in steps.iter().enumerate().rev() {
        out[i] = seen;
        seen = seen
            || s.get("run").is_some()
            || s.get("uses")
                .and_then(Node::as_str)
                .is_some_and(|u| u.starts_with("./"));
    }
    out
}

/// A trigger that runs with secrets on code from a fork, as a word on a line of `on:`.
static TRIGGER_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[\s\[,{'"])(pull_request_target|workflow_run)(?:[\s\]:,}'"]|$)"#)
        .expect("valid regex")
});
/// A step line that uses `actions/checkout`.
static CHECKOUT_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?:-\s+)?uses\s*:\s*['"]?actions/checkout@"#).expect("valid regex")
});
/// A step line that runs code: `run:`, or a local action.
static RUN_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^(?:-\s+)?(?:run\s*:|uses\s*:\s*['"]?\./)"#).expect("valid regex")
});
/// A `ref:` or `repository:` input and its value.
static REF_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?:^|[\s{,-])(?:ref|repository)\s*:\s*(.*)$"#).expect("valid regex")
});
/// How many lines around a checkout line the fallback reads as its step.
const STEP_LINES: usize = 64;

/// A line as the line scan sees it: indentation (bytes) and text without a trailing comment,
/// trimmed (empty for blank and comment lines).
fn line_code(line: &str) -> (usize, &str) {
    let indent = line.len() - line.trim_start().len();
    let body = line.trim();
    if body.starts_with('#') {
        return (indent, "");
    }
    let body = match body.find(" #").or_else(|| body.find("\t#")) {
        Some(i) => body[..i].trim_end(),
        None => body,
    };
    (indent, body)
}

/// The key of a `key: value` line (after an item's `- `), without quotes.
fn line_key(body: &str) -> Option<&str> {
    let body = body.trim_start_matches('-').trim_start();
    let (key, _) = body.split_once(':')?;
    let key = key.trim().trim_matches(|c| c == '"' || c == '\'');
    (!key.is_empty()).then_some(key)
}

/// `ci.untrusted-checkout` by lines, for a workflow that did not parse whole: a
/// `pull_request_target` or `workflow_run` trigger under `on:`, a step that uses
/// `actions/checkout` with a `ref`/`repository` of the pull request's head, and a later line of
/// the same job that runs code. One pass over the lines (a checkout's step is read at most
/// [`STEP_LINES`] lines each way); lines already reported by the parsed analysis are skipped.
fn untrusted_by_lines(ctx: &mut Ctx<'_>) {
    let n = ctx.lines.len();
    let code: Vec<(usize, &str)> = ctx.lines.iter().map(|&l| line_code(l)).collect();
    // Pass 1: the trigger, and the job each line belongs to (0: none).
    let mut trigger: Option<&'static str> = None;
    let mut job_of = vec![0u32; n + 1];
    let mut jobs: Vec<String> = vec![String::new()];
    let mut section = "";
    let mut job_indent: Option<usize> = None;
    for (i, &(indent, body)) in code.iter().enumerate() {
        if body.is_empty() {
            job_of[i] = job_of[i.saturating_sub(1)];
            continue;
        }
        if indent == 0 {
            section = line_key(body).unwrap_or("");
            job_indent = None;
        }
        if section == "on"
            && trigger.is_none()
            && let Some(c) = TRIGGER_WORD.captures(if indent == 0 {
                body.split_once(':').map_or("", |(_, rest)| rest)
            } else {
                body
            })
            && let Some(t) = c.get(1)
        {
            trigger = Some(if t.as_str() == "workflow_run" {
                "workflow_run"
            } else {
                "pull_request_target"
            });
        }
        if section == "jobs" && indent > 0 {
            let at = *job_indent.get_or_insert(indent);
            if indent == at
                && !body.starts_with('-')
                && let Some(key) = line_key(body)
            {
                jobs.push(key.to_owned());
            }
            if indent >= at {
                job_of[i] = u32::try_from(jobs.len() - 1).unwrap_or(u32::MAX);
            }
        }
    }
    let Some(trigger) = trigger else { return };
    // Pass 2: the first line at or after each one that runs code.
    let mut next_run = vec![usize::MAX; n + 1];
    for i in (0..n).rev() {
        next_run[i] = if RUN_LINE.is_match(code[i].1) {
            i
        } else {
            next_run[i + 1]
        };
    }
    let reported: HashSet<usize> = ctx
        .out
        .iter()
        .filter(|i| i.rule == "ci.untrusted-checkout")
        .map(|i| i.line)
        .collect();
    // Pass 3: each checkout step.
    for (i, &(indent, body)) in code.iter().enumerate() {
        if job_of[i] == 0 || !CHECKOUT_LINE.is_match(body) {
            continue;
        }
        let after_dash = body.trim_start_matches('-').trim_start();
        let key_indent = indent + (body.len() - after_dash.len());
        // The step's first line: this one if it starts the item, else the `- ` above.
        let mut first = i;
        if !body.starts_with('-') {
            for j in (i.saturating_sub(STEP_LINES)..i).rev() {
                let (ind, b) = code[j];
                if b.is_empty() {
                    continue;
                }
                if ind >= key_indent {
                    first = j;
                    continue;
                }
                if b.starts_with('-') {
                    let rest = b.trim_start_matches('-').trim_start();
                    if ind + (b.len() - rest.len()) == key_indent {
                        first = j;
                    }
                }
                break;
            }
        }
        // The step's end: the first line indented less than its keys.
        let mut end = (i + 1 + STEP_LINES).min(n);
        for (j, &(ind, b)) in code.iter().enumerate().take(end).skip(i + 1) {
            if !b.is_empty() && ind < key_indent {
                end = j;
                break;
            }
        }
        let head = (first..end).find_map(|j| {
            let c = REF_LINE.captures(code[j].1)?;
            let v = c.get(1)?.as_str().trim();
            HEAD_REFS
                .iter()
                .any(|h| v.contains(h))
                .then(|| (j, v.trim_matches(|c| c == '"' || c == '\'').to_owned()))
        });
        let Some((ref_index, value)) = head else {
            continue;
        };
        let later = next_run[end];
        if later == usize::MAX || job_of[later] != job_of[i] || reported.contains(&(ref_index + 1))
        {
            continue;
        }
        let name = (first..end)
            .find_map(|j| {
                let b = code[j].1.trim_start_matches('-').trim_start();
                let v = b.strip_prefix("name:")?.trim();
                Some(v.trim_matches(|c| c == '"' || c == '\'').to_owned())
            })
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| "actions/checkout".to_owned());
        let job = jobs
            .get(job_of[i] as usize)
            .filter(|j| !j.is_empty())
            .cloned();
        let detail = format!(
            "{trigger} runs with secrets and a write token; this job checks out the pull request's head and then runs its code (found by a line scan: the file does not parse whole)"
        );
        ctx.push(
            "ci.untrusted-checkout",
            At {
                line: ref_index + 1,
                col: 1,
                job: job.as_deref(),
                step: Some(&name),
            },
            &value,
            detail,
        );
    }
}

static JENKINS_STAGE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"stage\s*\(\s*['"]([^'"]+)['"]"#).expect("valid regex"));
static JENKINS_ASSIGN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"^\s*(?:def\s+|env\.)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(['"])([^'"$]+)['"]\s*(?://.*)?$"#,
    )
    .expect("valid regex")
});

/// Jenkinsfiles (Groovy): careful line rules rather than a parser.
fn jenkins(ctx: &mut Ctx<'_>) {
    let mut stage: Option<String> = None;
    // One copy of the line slices per file (the lines themselves are borrowed).
    let lines = ctx.lines.clone();
    for (i, &text) in lines.iter().enumerate() {
        let line = i + 1;
        if let Some(c) = JENKINS_STAGE.captures(text) {
            stage = c.get(1).map(|m| m.as_str().to_owned());
        }
        if let Some(c) = JENKINS_ASSIGN.captures(text)
            && let (Some(k), Some(v)) = (c.get(1), c.get(3))
        {
            let how = "holds a literal value; use credentials('id') or withCredentials";
            ctx.keyed_literal(
                k.as_str(),
                v.as_str(),
                At {
                    line,
                    col: 1,
                    job: None,
                    step: stage.as_deref(),
                },
                how,
            );
        }
        if let Some(start) = text
            .find("sh ")
            .or_else(|| text.find("sh("))
            .or_else(|| text.find("bat "))
        {
            let cmd = text[start..]
                .trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '(' || c == ' ');
            let cmd = cmd.trim_matches(|c| c == '\'' || c == '"' || c == ')');
            let cmd = cmd.replace("${env.", "${");
            script_line(ctx, &cmd, line, 1, true, None, stage.as_deref());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(system: System, text: &str) -> Vec<(&'static str, usize)> {
        analyze(system, text)
            .issues
            .into_iter()
            .map(|i| (i.rule, i.line))
            .collect()
    }

    #[test]
    fn github_literals_logs_and_command_lines() {
        let wf = r#"on: push
jobs:
  deploy:
    runs-on: ubuntu-latest
    env:
      API_TOKEN: ${{ secrets.API_TOKEN }}
      DB_PASSWORD: @PW1@
      DB_USER: admin
    steps:
      - name: show
        run: |
          echo "token is ${{ secrets.API_TOKEN }}"
          echo "$DB_PASSWORD" | docker login -u me --password-stdin
          docker login -u me -p "$DOCKER_PASSWORD" registry.example
      - uses: some/action@v1
        with:
          password: @PW2@
          token: ${{ secrets.X }}
"#;
        // assembled so that this source file holds no literal credential
        let wf = &wf
            .replace("@PW1@", &["hunter", "22"].concat())
            .replace("@PW2@", &["s3cr3t", "-Value"].concat());
        assert_eq!(
            rules(System::GithubActions, wf),
            vec![
                ("ci.literal-credential", 7),
                ("ci.secret-in-logs", 12),
                ("ci.secret-on-command-line", 14),
                ("ci.literal-credential", 17)
            ]
        );
        let issues = analyze(System::GithubActions, wf).issues;
        assert_eq!(issues[0].job.as_deref(), Some("deploy"));
        assert_eq!(issues[1].step.as_deref(), Some("show"));
        assert_eq!(issues[0].column, 20);
    }

    #[test]
    fn a_workflow_that_does_not_parse_warns_and_keeps_the_untrusted_checkout() {
        let wf = "on: pull_request_target\njobs:\n  t:\n    runs-on: [x\n    steps:\n      - name: co\n        uses: actions/checkout@v4\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n      - run: npm test\n";
        let out = analyze(System::GithubActions, wf);
        assert_eq!(out.warnings.len(), 1, "{:?}", out.warnings);
        assert!(
            out.warnings[0].contains("not valid YAML"),
            "{:?}",
            out.warnings
        );
        let found: Vec<_> = out
            .issues
            .iter()
            .map(|i| (i.rule, i.line, i.job.as_deref(), i.step.as_deref()))
            .collect();
        assert_eq!(
            found,
            vec![("ci.untrusted-checkout", 9, Some("t"), Some("co"))]
        );
        assert!(
            analyze(System::GithubActions, "on: push\njobs: {}\n")
                .warnings
                .is_empty()
        );
    }

    #[test]
    fn many_issues_on_one_long_line_keep_their_columns() {
        let entries: Vec<String> = (0..3000).map(|i| format!("A_TOKEN_{i}: v{i}lit")).collect();
        let wf = format!("on: push\nenv: {{{}}}\n", entries.join(", "));
        let issues = analyze(System::GithubActions, &wf).issues;
        assert_eq!(issues.len(), 3000);
        let line = wf.lines().nth(1).unwrap();
        for i in &issues {
            assert!(line[i.column - 1..].starts_with(&i.value), "{i:?}");
        }
    }

    #[test]
    fn pull_request_target_with_head_checkout() {
        let wf = "on: pull_request_target\njobs:\n  t:\n    steps:\n      - uses: actions/checkout@v4\n        with:\n          ref: ${{ github.event.pull_request.head.sha }}\n      - run: npm test\n";
        assert_eq!(
            rules(System::GithubActions, wf),
            vec![("ci.untrusted-checkout", 7)]
        );
        let safe = wf.replace("pull_request_target", "pull_request");
        assert!(rules(System::GithubActions, &safe).is_empty());
        let base = wf.replace(
            "${{ github.event.pull_request.head.sha }}",
            "${{ github.event.pull_request.base.sha }}",
        );
        assert!(rules(System::GithubActions, &base).is_empty());
    }
}
