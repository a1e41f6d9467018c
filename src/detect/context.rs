//! Context for weakly anchored rules: is a generic match a credential, and how sure are we?
//!
//! A provider rule with a distinctive format (`ghp_…`, `AKIA…`, a PEM block) needs no context:
//! the format is the evidence. A generic rule (`password = …`, `token: …`, `user:pass@host`, a
//! JWT) matches in every codebase, and on real third-party code (vendored npm packages,
//! installed Python packages, a container root filesystem) almost all of its matches are
//! pagination tokens, example data, declarations and code. Rules opt in with `context:` in their
//! YAML ([`ContextKind`]); this module then judges each match from four kinds of evidence:
//!
//! 1. **Key-name semantics** ([`key_class`]): the key the value is assigned to is split into
//!    words (`ClientRequestToken` → `client request token`). A credential word (`password`,
//!    `secret`, `token`, `api key`, …) modified by a word that names something else —
//!    pagination (`next`, `page`, `continuation`, `cursor`, `marker`), idempotency and request
//!    ids (`idempotency`, `request`, `change`, `nonce`), anti-forgery fields (`csrf`, `xsrf`),
//!    counts and limits (`max`, `count`, `length`), names of things (`type`, `name`, `url`,
//!    `header`, `field`), key ids and public keys (`id`, `public`), caches, checksums and hashes
//!    — is not a credential name, and the match is dropped.
//! 2. **Value shape** ([`value_shape`]): identifiers, type names and words were dropped by the
//!    rule's `identifier` filter already; here ARNs, paths, URLs without credentials, e-mail
//!    addresses, versions and dates, format strings and expressions are dropped, and UUIDs and
//!    values made of placeholder words (`testpassword`, `secret123`) are kept at low confidence.
//!    In source code an unquoted value is a variable, not a literal.
//! 3. **File context** ([`FileContext`]): documentation and examples (`*.md`, `docs/`,
//!    `examples/`, `*.examples.json`), tests (`tests/`, `*_test.go`, `*.spec.ts`), type
//!    declarations (`*.d.ts`, `*.pyi`), schemas, locale files, lockfiles, minified bundles and
//!    comments in source code hold example values by design: matches there are kept at low
//!    confidence. Configuration files (`.env`, `*.properties`, `*.ini`, `settings.py`, …) are
//!    where real credentials are written: a strong key with a random value there is high
//!    confidence. Dependency directories (`node_modules/`, `site-packages/`) are deliberately
//!    neutral: an internal package or a vendored config carrying a real key is a classic leak.
//! 4. **Repetition** (decided after the walk, in [`crate::pipeline::triage`]): the
//!    same generic secret in many files of one scan is data (a schema map, a generated
//!    fixture), not a leak, and goes to low confidence.
//!
//! The outcome is a [`Confidence`], or `None` for a match that is not a credential at all.
//! Low-confidence findings are hidden unless `--min-confidence low` is given (the default is
//! `medium`), so that a scan of real code reads as a list of leaks, while nothing is lost to a
//! user who asks for everything.

use crate::{detect::validate::Confidence, rules::ContextKind};

/// What the paths of an input say about the values in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileContext {
    /// Documentation, examples, tests, declarations, schemas, locale files, lockfiles or
    /// bundles: values there are examples by design.
    pub examples: bool,
    /// Source code (values are literals only when quoted; comments are documentation).
    pub code: bool,
    /// Type declarations (`*.d.ts`, `*.pyi`): no literal is a credential.
    pub declarations: bool,
    /// Configuration and environment files, where real credentials are written.
    pub config: bool,
    /// Python source (docstrings are documentation).
    pub python: bool,
    /// Inside an installed or vendored package (`node_modules/`, `site-packages/`, …): its
    /// comments, in code and configuration alike, are somebody else's documentation.
    pub vendored: bool,
}

impl FileContext {
    /// The context of an input found at `paths` (relative, `/`-separated): a blob at several
    /// paths gets the context of its most serious one (an example only if every path is).
    pub fn of(paths: &[&str]) -> FileContext {
        let mut iter = paths.iter().map(|p| FileContext::of_path(p));
        let Some(first) = iter.next() else {
            return FileContext::default();
        };
        iter.fold(first, |a, b| FileContext {
            examples: a.examples && b.examples,
            code: a.code || b.code,
            declarations: a.declarations && b.declarations,
            config: a.config || b.config,
            python: a.python && b.python,
            vendored: a.vendored && b.vendored,
        })
    }

    /// The context of one path.
    ///
    /// ```
    /// use leakhound::detect::context::FileContext;
    /// assert!(FileContext::of_path("botocore/data/s3/2006-03-01/examples-1.json").examples);
    /// assert!(FileContext::of_path("pkg/tests/test_client.py").examples);
    /// assert!(FileContext::of_path("aws-sdk/clients/iam.d.ts").declarations);
    /// assert!(FileContext::of_path("app/.env.production").config);
    /// let internal = FileContext::of_path("node_modules/@acme/billing/config.js");
    /// assert!(!internal.examples && internal.code);
    /// ```
    pub fn of_path(path: &str) -> FileContext {
        let lower = path.to_ascii_lowercase();
        let (dirs, name) = match lower.rfind('/') {
            Some(i) => (&lower[..i], &lower[i + 1..]),
            None => ("", lower.as_str()),
        };
        let in_dir = |set: &[&str]| dirs.split('/').any(|d| set.contains(&d));
        let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
        let declarations = [".d.ts", ".d.mts", ".d.cts", ".pyi", ".rbi"]
            .iter()
            .any(|s| name.ends_with(s));
        // Why: documentation somebody else wrote (a vendored package's README, a man page) is
        // examples; documentation of the scanned project itself (a NOTES.md at its root) is
        // where a team pastes the real password, so it stays neutral.
        let vendored = in_dir(VENDOR_DIRS)
            || dirs
                .split('/')
                .any(|d| d.ends_with(".dist-info") || d.ends_with(".egg-info"));
        let documentation = DOC_EXTENSIONS.contains(&ext) || is_doc_name(name);
        let examples = declarations
            || in_dir(EXAMPLE_DIRS)
            || in_dir(TEST_DIRS)
            || in_dir(LOCALE_DIRS)
            || (documentation && vendored)
            || LOCKFILES.contains(&name)
            || is_test_file(name)
            || is_example_file(name);
        let code = CODE_EXTENSIONS.contains(&ext);
        let config = !examples
            && (CONFIG_EXTENSIONS.contains(&ext)
                || name.starts_with(".env")
                || name.ends_with(".env")
                || CONFIG_NAMES.contains(&name)
                || is_config_code(name));
        FileContext {
            examples,
            code,
            declarations,
            config,
            python: matches!(ext, "py" | "pyi" | "pyw"),
            vendored,
        }
    }
}

/// Directories of documentation and examples.
const EXAMPLE_DIRS: &[&str] = &[
    "doc",
    "docs",
    "documentation",
    "example",
    "examples",
    "sample",
    "samples",
    "demo",
    "demos",
    "man",
    "snippets",
    "tutorial",
    "tutorials",
    "cookbook",
];

/// Directories of tests and fixtures.
const TEST_DIRS: &[&str] = &[
    "test",
    "tests",
    "__tests__",
    "testing",
    "testdata",
    "test-data",
    "test_data",
    "spec",
    "specs",
    "fixture",
    "fixtures",
    "__fixtures__",
    "__mocks__",
    "mocks",
    "e2e",
    "unittest",
    "unittests",
];

/// Directories of translations.
const LOCALE_DIRS: &[&str] = &["locale", "locales", "i18n", "l10n", "translations"];

/// Extensions of documentation, translations, source maps and generated bundles.
const DOC_EXTENSIONS: &[&str] = &[
    "md", "markdown", "mdx", "rst", "adoc", "asciidoc", "textile", "html", "htm", "po", "pot",
    "xlf", "xliff", "map", "1", "3", "5", "8", "info", "texi", "tex",
];

/// Lockfiles: hashes and resolved URLs, never credentials of their own.
const LOCKFILES: &[&str] = &[
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "bun.lock",
    "cargo.lock",
    "poetry.lock",
    "pipfile.lock",
    "uv.lock",
    "composer.lock",
    "gemfile.lock",
    "go.sum",
    "flake.lock",
];

/// Extensions of source code.
const CODE_EXTENSIONS: &[&str] = &[
    "js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx", "py", "rb", "go", "java", "kt", "kts",
    "scala", "groovy", "cs", "fs", "vb", "php", "c", "h", "cc", "cpp", "hpp", "cxx", "m", "mm",
    "swift", "rs", "dart", "lua", "pl", "pm", "r", "jl", "ex", "exs", "erl", "clj", "hs", "vue",
    "svelte",
];

/// Extensions of configuration files.
const CONFIG_EXTENSIONS: &[&str] = &[
    "env",
    "properties",
    "ini",
    "cfg",
    "conf",
    "config",
    "cnf",
    "toml",
    "yaml",
    "yml",
    "tfvars",
    "npmrc",
    "pypirc",
    "netrc",
    "pgpass",
    "credentials",
    "secrets",
    "xml",
];

/// File names of configuration files without a telling extension.
const CONFIG_NAMES: &[&str] = &[
    ".npmrc",
    ".pypirc",
    ".netrc",
    ".pgpass",
    ".git-credentials",
    ".bashrc",
    ".bash_profile",
    ".profile",
    ".zshrc",
    ".zprofile",
    "credentials",
    "config",
    "dockerfile",
    "docker-compose.yml",
    "docker-compose.yaml",
    "appsettings.json",
    "secrets.json",
    "credentials.json",
];

/// Source files that are configuration by convention.
fn is_config_code(name: &str) -> bool {
    matches!(
        name,
        "settings.py"
            | "local_settings.py"
            | "production.py"
            | "config.py"
            | "secrets.py"
            | "config.js"
            | "config.ts"
            | "secrets.js"
            | "wp-config.php"
            | "database.php"
            | "settings.php"
    )
}

fn is_test_file(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or(name);
    name.starts_with("test_")
        || stem.ends_with("_test")
        || stem.ends_with("_tests")
        || stem.ends_with("_spec")
        || stem.ends_with("test")
        || stem.ends_with("tests")
        || name == "conftest.py"
        || [".test.", ".spec.", ".tests.", ".stories."]
            .iter()
            .any(|m| name.contains(m))
}

/// Directories of other people's code: installed dependencies and vendored copies.
const VENDOR_DIRS: &[&str] = &[
    "node_modules",
    "bower_components",
    "jspm_packages",
    "site-packages",
    "dist-packages",
    "vendor",
    "third_party",
    "third-party",
    "thirdparty",
    "external",
    "share",
];

fn is_doc_name(name: &str) -> bool {
    [
        "readme",
        "changelog",
        "changes",
        "history",
        "news",
        "license",
        "copying",
        "authors",
        "contributing",
        "metadata",
        "pkg-info",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

fn is_example_file(name: &str) -> bool {
    [
        ".example",
        ".examples",
        ".sample",
        ".template",
        ".tmpl",
        ".dist",
        ".min.js",
        ".min.css",
        ".min.mjs",
        ".bundle.js",
        ".chunk.js",
        "_pb2.py",
        ".pb.go",
        ".schema.json",
    ]
    .iter()
    .any(|m| name.contains(m))
        || name.starts_with("examples-")
        || name.starts_with("example-")
        || name.starts_with("example.")
        || name.starts_with("sample")
        || name.starts_with("openapi")
        || name.starts_with("swagger")
        || name == "schema.json"
        || name.starts_with("service-2.json")
}

/// How a key name reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyClass {
    /// A credential name that says what it is (`db_password`, `client_secret`, `api_key`).
    Strong,
    /// A credential word with nothing around it that says otherwise (`token`, `auth`).
    Plain,
    /// Not a credential: pagination, idempotency, counts, names, ids, public keys, hashes.
    NotCredential,
}

/// Words that make the credential word next to them name something else.
const NOT_CREDENTIAL_WORDS: &[&str] = &[
    // pagination and continuation
    "next",
    "prev",
    "previous",
    "page",
    "paging",
    "pagination",
    "continuation",
    "cursor",
    "marker",
    "resume",
    "bookmark",
    "offset",
    "sync",
    // idempotency, requests, changes, anti-forgery
    "idempotency",
    "idempotent",
    "request",
    "client_request",
    "change",
    "nonce",
    "csrf",
    "xsrf",
    "anti",
    "forgery",
    "etag",
    "cancellation",
    "cancel",
    "lock",
    "lease",
    "upload",
    "continue",
    "state",
    "trace",
    "correlation",
    "invite",
    "invitation",
    "confirmation",
    "verification",
    "verify",
    "unsubscribe",
    // counts, limits, kinds and names of things
    "max",
    "min",
    "num",
    "count",
    "length",
    "len",
    "size",
    "limit",
    "type",
    "types",
    "kind",
    "name",
    "names",
    "field",
    "fields",
    "param",
    "params",
    "parameter",
    "header",
    "headers",
    "prefix",
    "suffix",
    "url",
    "uri",
    "endpoint",
    "path",
    "file",
    "filename",
    "dir",
    "env",
    "var",
    "variable",
    "placeholder",
    "label",
    "hint",
    "regex",
    "pattern",
    "format",
    "policy",
    "policies",
    "rule",
    "rules",
    "mode",
    "option",
    "options",
    "flag",
    "enabled",
    "required",
    "expiry",
    "expires",
    "expiration",
    "expire",
    "ttl",
    "timeout",
    "lifetime",
    "duration",
    "validity",
    "interval",
    "version",
    "usage",
    "budget",
    "estimate",
    "estimated",
    "input",
    "output",
    "prompt",
    "completion",
    "completions",
    "total",
    "special",
    "eos",
    "bos",
    "pad",
    "unk",
    "sep",
    "mask",
    "vocab",
    "position",
    "index",
    "location",
    "source",
    "target",
    "field",
    "selector",
    "attribute",
    "property",
    "column",
    "table",
    "reset",
    "forgot",
    "strength",
    "policy",
    "confirm",
    "repeat",
    "old",
    "new",
    "current",
    "hint",
    "prompt",
    "dialog",
    "input",
    "form",
    "validator",
    "validation",
    "error",
    "message",
    "description",
    "help",
    "text",
    "title",
    "doc",
    "example",
    "sample",
    "test",
    "fake",
    "mock",
    "dummy",
    // identifiers and public halves
    "id",
    "ids",
    "identifier",
    "arn",
    "public",
    "pub",
    "fingerprint",
    "thumbprint",
    "checksum",
    "hash",
    "digest",
    "crc",
    "md5",
    "sha",
    "sha1",
    "sha256",
    "signature",
    "kid",
    // data-structure keys
    "cache",
    "sort",
    "partition",
    "primary",
    "foreign",
    "composite",
    "row",
    "range",
    "object",
    "map",
    "lookup",
    "dict",
    "hotkey",
    "shortcut",
    "keyboard",
    "keycode",
    "translation",
    "i18n",
    "metric",
    "metrics",
    "event",
    "events",
    "lex",
    "lexer",
    "parser",
    "parse",
    "tokenize",
    "tokenizer",
    "tokens",
    "separator",
    "delimiter",
    "start",
    "end",
    "literal",
    "identifier",
    "char",
    "character",
    "string",
    "bracket",
    "paren",
    "punctuation",
    "operator",
    "keyword",
    "whitespace",
    "comment",
    "newline",
    "eof",
];

/// Credential words: the key names the generic rules look for.
const CREDENTIAL_WORDS: &[&str] = &[
    "password",
    "passwd",
    "passphrase",
    "pwd",
    "pass",
    "secret",
    "secrets",
    "token",
    "key",
    "apikey",
    "accesskey",
    "authkey",
    "auth",
    "credential",
    "credentials",
    "connectionstring",
];

/// Words that make a credential word strong when they stand next to it.
const STRONG_MODIFIERS: &[&str] = &[
    "api",
    "basic",
    "access",
    "auth",
    "private",
    "client",
    "secret",
    "signing",
    "encryption",
    "master",
    "admin",
    "root",
    "db",
    "database",
    "bearer",
    "bot",
    "refresh",
    "session",
    "service",
    "personal",
    "deploy",
    "app",
    "application",
    "oauth",
    "webhook",
    "smtp",
    "mail",
    "email",
    "ldap",
    "redis",
    "mysql",
    "postgres",
    "pg",
    "mongo",
    "license",
    "consumer",
    "account",
    "storage",
    "sas",
    "aws",
    "azure",
    "gcp",
    "github",
    "gitlab",
    "npm",
    "pypi",
    "registry",
    "docker",
    "slack",
    "stripe",
    "sendgrid",
    "twilio",
    "jwt",
    "hmac",
    "shared",
    "user",
    "login",
    // symmetric keys
    "aes",
    "cipher",
    "crypt",
    "crypto",
    "fernet",
];

/// Splits a key name into lower-case words: `ClientRequestToken` → `client request token`,
/// `AWS_SECRET_ACCESS_KEY` → `aws secret access key`, `apiKey` → `api key`.
///
/// ```
/// use leakhound::detect::context::split_words;
/// assert_eq!(split_words("ClientRequestToken"), ["client", "request", "token"]);
/// assert_eq!(split_words("AWS_SECRET_ACCESS_KEY"), ["aws", "secret", "access", "key"]);
/// assert_eq!(split_words("x-api-key"), ["x", "api", "key"]);
/// assert_eq!(split_words("OAuthToken"), ["o", "auth", "token"]);
/// ```
pub fn split_words(key: &str) -> Vec<String> {
    let b = key.as_bytes();
    let mut words = Vec::new();
    let mut cur = String::new();
    for (i, &c) in b.iter().enumerate() {
        if !c.is_ascii_alphanumeric() {
            if !cur.is_empty() {
                words.push(std::mem::take(&mut cur));
            }
            continue;
        }
        // Why: a new word starts at an upper-case letter after a lower-case one or a digit
        // (`apiKey`), or at the last capital of an acronym run before lower case (`OAuthToken`:
        // `O`, `Auth`).
        let boundary = c.is_ascii_uppercase()
            && i > 0
            && (b[i - 1].is_ascii_lowercase()
                || b[i - 1].is_ascii_digit()
                || (b[i - 1].is_ascii_uppercase()
                    && b.get(i + 1).is_some_and(u8::is_ascii_lowercase)));
        if boundary && !cur.is_empty() {
            words.push(std::mem::take(&mut cur));
        }
        cur.push(c.to_ascii_lowercase() as char);
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
}

/// How a key name reads: whether it names a credential, and how clearly.
///
/// ```
/// use leakhound::detect::context::{key_class, KeyClass};
/// assert_eq!(key_class("NextToken"), KeyClass::NotCredential);
/// assert_eq!(key_class("ClientRequestToken"), KeyClass::NotCredential);
/// assert_eq!(key_class("csrf_token"), KeyClass::NotCredential);
/// assert_eq!(key_class("max_tokens"), KeyClass::NotCredential);
/// assert_eq!(key_class("public_key"), KeyClass::NotCredential);
/// assert_eq!(key_class("aws_access_key_id"), KeyClass::NotCredential);
/// assert_eq!(key_class("client_secret"), KeyClass::Strong);
/// assert_eq!(key_class("DB_PASSWORD"), KeyClass::Strong);
/// assert_eq!(key_class("apiKey"), KeyClass::Strong);
/// assert_eq!(key_class("token"), KeyClass::Plain);
/// ```
pub fn key_class(key: &str) -> KeyClass {
    let words = split_words(key);
    let Some(last_cred) = words
        .iter()
        .rposition(|w| CREDENTIAL_WORDS.contains(&w.as_str()))
    else {
        // Why: the credential word is written into a longer word (`dbpassword`,
        // `azurestoragekey`), or the rule's keyword sits inside an unrelated word
        // (`tokenizer`, `monkey`).
        return words
            .last()
            .and_then(|w| compound_class(w))
            .unwrap_or(KeyClass::NotCredential);
    };
    // Words after the last credential word describe it (`token_type`, `password_length`,
    // `key_id`); words before it qualify it (`next_token`, `public_key`).
    // Why: a word that names a symmetric key's purpose (`FIELD_ENCRYPTION_KEY`,
    // `column_aes_key`) makes the words before it qualify the data it encrypts, not the key.
    let encrypts = |i: usize| {
        words.get(i + 1).is_some_and(|n| {
            matches!(
                n.as_str(),
                "encryption" | "aes" | "fernet" | "cipher" | "crypt" | "crypto"
            )
        }) && words[i] != "public"
    };
    if words
        .iter()
        .enumerate()
        .any(|(i, w)| NOT_CREDENTIAL_WORDS.contains(&w.as_str()) && !encrypts(i))
    {
        return KeyClass::NotCredential;
    }
    let word = words[last_cred].as_str();
    let strong = matches!(
        word,
        "password"
            | "passwd"
            | "passphrase"
            | "secret"
            | "secrets"
            | "apikey"
            | "accesskey"
            | "authkey"
            | "credential"
            | "credentials"
            | "connectionstring"
    ) || words[..last_cred]
        .iter()
        .any(|w| STRONG_MODIFIERS.contains(&w.as_str()));
    // Why: a bare `key` or `pass` is too common a name (dictionary keys, `pass` statements) to
    // stand on its own.
    if !strong && matches!(word, "key" | "pass" | "auth") {
        return KeyClass::NotCredential;
    }
    if strong {
        KeyClass::Strong
    } else {
        KeyClass::Plain
    }
}

/// How a credential name written as one word reads: `dbpassword`, `azurestoragekey` and
/// `apitoken` are credentials; `nexttoken`, `publickey` and `monkey` are not.
///
/// ```
/// use leakhound::detect::context::{compound_class, KeyClass};
/// assert_eq!(compound_class("azurestoragekey"), Some(KeyClass::Strong));
/// assert_eq!(compound_class("dbpassword"), Some(KeyClass::Strong));
/// assert_eq!(compound_class("nexttoken"), Some(KeyClass::NotCredential));
/// assert_eq!(compound_class("monkey"), Some(KeyClass::NotCredential));
/// assert_eq!(compound_class("hostname"), None);
/// ```
pub fn compound_class(w: &str) -> Option<KeyClass> {
    const ENDINGS: &[&str] = &[
        "password",
        "passwd",
        "passphrase",
        "secret",
        "apikey",
        "accesskey",
        "authkey",
        "token",
        "key",
        "pwd",
    ];
    let ending = ENDINGS.iter().find(|e| w.ends_with(*e))?;
    let head = &w[..w.len() - ending.len()];
    if head.is_empty() {
        return None;
    }
    let ends_with_word = |set: &[&str]| set.iter().any(|m| m.len() >= 2 && head.ends_with(m));
    Some(if ends_with_word(NOT_CREDENTIAL_WORDS) {
        KeyClass::NotCredential
    } else if ends_with_word(STRONG_MODIFIERS)
        || matches!(
            *ending,
            "password" | "passwd" | "passphrase" | "secret" | "apikey" | "accesskey" | "authkey"
        )
    {
        KeyClass::Strong
    } else if *ending == "token" {
        KeyClass::Plain
    } else {
        KeyClass::NotCredential
    })
}

/// Whether the key of a Kubernetes Secret entry names a credential. A Secret also carries
/// the connection details around its credentials (`region`, `host`, `port`, `username`,
/// `database`); those are not reported on their own. Keys shorter than a credential word
/// (`DB_PASS`, `root-pw`, `ssh-privatekey`, `tls.key`) still count.
///
/// ```
/// use leakhound::detect::context::is_credential_field;
/// assert!(is_credential_field("password"));
/// assert!(is_credential_field("DB_PASS"));
/// assert!(is_credential_field("ssh-privatekey"));
/// assert!(!is_credential_field("region"));
/// assert!(!is_credential_field("username"));
/// assert!(!is_credential_field("next_token"));
/// ```
pub fn is_credential_field(key: &str) -> bool {
    if key_class(key) != KeyClass::NotCredential {
        return true;
    }
    let words = split_words(key);
    if words
        .iter()
        .any(|w| NOT_CREDENTIAL_WORDS.contains(&w.as_str()))
    {
        return false;
    }
    const FRAGMENTS: &[&str] = &[
        "pass", "pw", "secret", "token", "key", "cred", "auth", "private", "jwt", "salt", "cookie",
        "session", "cert", "pem", "htpasswd", "pin",
    ];
    words
        .iter()
        .any(|w| FRAGMENTS.iter().any(|f| w.contains(f)))
}

/// What a value looks like, beyond the rule's filters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Random-looking: a candidate credential.
    Random,
    /// Plausible but weak evidence (a UUID, placeholder words, a short value).
    Weak,
    /// Not a credential (an ARN, path, URL, e-mail address, version, expression).
    NotSecret,
}

/// Words that make a value an example rather than a credential.
const PLACEHOLDER_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "test",
    "sample",
    "demo",
    "fake",
    "mock",
    "foo",
    "bar",
    "baz",
    "qux",
    "admin",
    "default",
    "letmein",
    "hunter",
    "pass",
    "user",
    "username",
    "login",
    "value",
    "string",
    "mykey",
    "apikey",
    "api_key",
    "insert",
    "enter",
    "here",
    "todo",
    "fixme",
    "none",
    "null",
    "undefined",
    "true",
    "false",
    "abc",
    "xyz",
    "qwerty",
    "asdf",
    "s3cr3t",
    "passw0rd",
    "p4ssw0rd",
    "p@ssw0rd",
    "p@ssword",
    "secure",
    "sekret",
    "pa$$w",
    "passwort",
    "geheim",
];

/// The shape of a candidate value.
///
/// ```
/// use leakhound::detect::context::{value_shape, Shape};
/// assert_eq!(value_shape(b"arn:aws:iam::123456789012:role/x"), Shape::NotSecret);
/// assert_eq!(value_shape(b"/usr/local/share/keys"), Shape::NotSecret);
/// assert_eq!(value_shape(b"ops@acme.io"), Shape::NotSecret);
/// assert_eq!(value_shape(b"2019-10-01"), Shape::NotSecret);
/// assert_eq!(value_shape(b"8c1f3e9a-d27b-4c5e-b6a0-f94e2d7c13b8"), Shape::Weak);
/// assert_eq!(value_shape(b"mysecretpassword1"), Shape::Weak);
/// assert_eq!(value_shape(b"Xk29!qLm#7"), Shape::Random);
/// ```
pub fn value_shape(v: &[u8]) -> Shape {
    let lower = v.to_ascii_lowercase();
    let has = |s: &[u8]| memchr::memmem::find(&lower, s).is_some();
    if lower.starts_with(b"arn:")
        || lower.starts_with(b"-")
        || has(b"://")
        || lower.starts_with(b"/")
        || lower.starts_with(b"./")
        || lower.starts_with(b"../")
        || lower.starts_with(b"~/")
        || lower.starts_with(b"data:")
        || lower.starts_with(b"sha256:")
        || lower.starts_with(b"sha512-")
        || lower.starts_with(b"sha1-")
    {
        return Shape::NotSecret;
    }
    // e-mail address or host name: word.word@word.tld
    if let Some(at) = memchr::memchr(b'@', &lower)
        && at > 0
        && lower[at + 1..].contains(&b'.')
        && lower[at + 1..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'))
    {
        return Shape::NotSecret;
    }
    // versions, dates, times, numbers: digits and separators only
    if v.iter()
        .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'-' | b':' | b'+' | b'_' | b'/'))
    {
        return Shape::NotSecret;
    }
    // file names: a word, a dot and a known extension
    if let Some(dot) = memchr::memrchr(b'.', &lower)
        && dot > 0
        && FILE_EXTENSIONS.contains(&&lower[dot + 1..])
    {
        return Shape::NotSecret;
    }
    // Why: an ellipsis marks a value cut short in documentation (`eyJ2IjoiMSIs...`).
    if has(b"...") || has("\u{2026}".as_bytes()) {
        return Shape::NotSecret;
    }
    // format strings and template markers
    if has(b"%s") || has(b"%d") || has(b"%v") || has(b"{0}") {
        return Shape::NotSecret;
    }
    if is_word_name(v) {
        return Shape::NotSecret;
    }
    if is_uuid(v) {
        return Shape::Weak;
    }
    // Why: a value built from placeholder words (`mysecretpassword1`, `test-token-123`) is an
    // example; what is left after removing them must carry the randomness.
    let mut rest = lower.clone();
    let mut removed = 0;
    for w in PLACEHOLDER_WORDS {
        while let Some(i) = memchr::memmem::find(&rest, w.as_bytes()) {
            rest.drain(i..i + w.len());
            removed += w.len();
        }
    }
    if removed > 0 && (rest.len() < 6 || removed * 2 >= v.len()) {
        return Shape::Weak;
    }
    Shape::Random
}

/// Extensions that make a value a file name (`key.pem`, `token.json`).
const FILE_EXTENSIONS: &[&[u8]] = &[
    b"pem", b"key", b"crt", b"cer", b"p12", b"pfx", b"jks", b"json", b"yaml", b"yml", b"txt",
    b"js", b"ts", b"py", b"rb", b"go", b"html", b"css", b"xml", b"png", b"svg", b"jpg", b"gif",
    b"ico", b"sh", b"md", b"toml", b"ini", b"cfg", b"conf", b"log", b"lock", b"db", b"sqlite",
    b"gpg", b"asc", b"pub", b"der", b"env", b"so", b"dll", b"exe", b"zip", b"gz", b"tgz",
];

/// Whether a value is a name made of words (`V1SecretVolumeSource`, `auth/missing-password`,
/// `INVALID_RECAPTCHA_TOKEN`, `signInWithPassword`): an identifier, an error code or a type
/// name, not a secret. Every word must read as one (letters with a vowel, or a version such as
/// `v1`), and random tokens do not: their case changes cut them into short unpronounceable
/// pieces, and they carry digits.
///
/// ```
/// use leakhound::detect::context::is_word_name;
/// assert!(is_word_name(b"V1SecretVolumeSource"));
/// assert!(is_word_name(b"auth/missing-password"));
/// assert!(is_word_name(b"signInWithPassword"));
/// assert!(!is_word_name(b"term-token-gPFEGk7CF4wS901w7ppYclt7"));
/// assert!(!is_word_name(b"AbGhTkLmQwEr"));
/// assert!(!is_word_name(b"Summer2024!"));
/// assert!(is_word_name(b"X-Amz-Security-Token"));
/// ```
pub fn is_word_name(v: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(v) else {
        return false;
    };
    if !v
        .iter()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b':'))
    {
        return false;
    }
    if v.iter().filter(|b| b.is_ascii_digit()).count() > 2 {
        return false;
    }
    let words = split_words(text);
    let vowel = |c: char| matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y');
    let readable = |w: &String| {
        let letters: String = w.chars().filter(char::is_ascii_alphabetic).collect();
        let version = w.starts_with('v') && letters.len() == 1 && w.len() > 1;
        version
            || (letters.len() >= 2
                && letters.chars().any(vowel)
                && max_consonant_run(&letters) <= 4)
    };
    // Why: one single-letter word is common in names (`X-Api-Key`, `aValue`); random tokens
    // split into many.
    let single = words.iter().filter(|w| w.len() == 1).count();
    words.len() >= 2
        && words.iter().any(|w| w.len() >= 4)
        && single <= 1
        && words.iter().all(|w| w.len() == 1 || readable(w))
}

fn max_consonant_run(letters: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in letters.chars() {
        if matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y') {
            run = 0;
        } else {
            run += 1;
            best = best.max(run);
        }
    }
    best
}

/// Whether a value is a UUID (8-4-4-4-12 hex digits).
pub fn is_uuid(v: &[u8]) -> bool {
    v.len() == 36
        && v.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// A line longer than this was not written by a person (a minified bundle, a source map).
const MINIFIED_LINE: usize = 1000;

/// What a judge is given: the input, the rule's whole match and its secret, and the file.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// The whole input.
    pub input: &'a [u8],
    /// The span of the rule's whole match.
    pub whole: (usize, usize),
    /// The span of the secret (capture group 1).
    pub secret: (usize, usize),
    /// What the input's paths say.
    pub file: FileContext,
}

impl Candidate<'_> {
    fn value(&self) -> &[u8] {
        &self.input[self.secret.0..self.secret.1]
    }

    /// The line holding the secret's start.
    ///
    /// Why: looked for at most [`MINIFIED_LINE`] bytes each way, so that many matches on one
    /// huge line (a bundle) cost a bounded search each, not a pass over the line; a longer
    /// line is cut, which still reads as minified.
    fn line(&self) -> &[u8] {
        let s = self.secret.0;
        let floor = s.saturating_sub(MINIFIED_LINE + 1);
        let ceil = (s + MINIFIED_LINE + 1).min(self.input.len());
        let start = memchr::memrchr(b'\n', &self.input[floor..s]).map_or(floor, |i| floor + i + 1);
        let end = memchr::memchr(b'\n', &self.input[s..ceil]).map_or(ceil, |i| s + i);
        &self.input[start..end]
    }

    /// Whether the secret sits in a comment or docstring example of source code.
    fn in_comment(&self) -> bool {
        let line = self.line();
        let t = line.trim_ascii_start();
        t.starts_with(b"#")
            || t.starts_with(b"//")
            || t.starts_with(b"/*")
            || t.starts_with(b"* ")
            || t.starts_with(b"*\t")
            || t.starts_with(b"--")
            || t.starts_with(b">>>")
            || t.starts_with(b"...")
            || t.starts_with(b"<!--")
            || t.starts_with(b";")
            || t.starts_with(b"%")
            || t.starts_with(b"rem ")
    }

    /// Whether the secret sits inside a Python docstring: an odd number of triple quotes of
    /// one kind before it. Only asked for matches that passed every other check, so the count
    /// is rare work.
    fn in_docstring(&self) -> bool {
        let before = &self.input[..self.secret.0];
        let odd = |q: &[u8]| memchr::memmem::find_iter(before, q).count() % 2 == 1;
        odd(b"\"\"\"") || odd(b"'''")
    }

    /// Whether the key and value are separated by a comma (`define('DB_PASSWORD', '…')`)
    /// rather than an assignment operator.
    fn comma_separated(&self) -> bool {
        let between = &self.input[self.whole.0..self.secret.0];
        between.contains(&b',') && !between.iter().any(|b| matches!(b, b'=' | b':'))
    }

    /// Whether the secret is a quoted literal.
    fn quoted(&self) -> bool {
        self.secret.0 > 0 && matches!(self.input[self.secret.0 - 1], b'"' | b'\'' | b'`')
    }

    /// Whether the secret's line looks minified (a bundle) rather than written by a person.
    fn minified(&self) -> bool {
        self.line().len() > MINIFIED_LINE
    }

    /// The key the value is assigned to: the last identifier before the secret (within the
    /// whole match) that holds a credential word, extended to its full length.
    fn key(&self) -> (usize, &str) {
        let (ms, ss) = (self.whole.0, self.secret.0);
        let ident = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.');
        let mut end = ss;
        while end > ms {
            // skip separators and quotes back to an identifier
            while end > ms && !ident(self.input[end - 1]) {
                end -= 1;
            }
            let mut start = end;
            while start > 0 && ident(self.input[start - 1]) {
                start -= 1;
            }
            let word = std::str::from_utf8(&self.input[start..end]).unwrap_or("");
            let lower = word.to_ascii_lowercase();
            if [
                "pass",
                "pwd",
                "secret",
                "token",
                "key",
                "auth",
                "cred",
                "connectionstring",
            ]
            .iter()
            .any(|k| lower.contains(k))
            {
                return (start, word);
            }
            if start <= ms {
                break;
            }
            end = start;
        }
        (0, "")
    }

    /// Whether the key is a segment of a longer name: a namespaced type
    /// (`AWS::IAM::AccessKey`, as in generated schema maps), an ARN or URN
    /// (`…:123456789012:secret:db-a1b2`) or a path (`/v1/token`).
    fn key_in_path(&self, at: usize) -> bool {
        at >= 1 && matches!(self.input[at - 1], b':' | b'/' | b'\\')
    }
}

/// Judges a match of a rule with a context kind: `None` drops it (not a credential), otherwise
/// the confidence the context supports.
pub fn judge(kind: ContextKind, c: &Candidate<'_>) -> Option<Confidence> {
    if c.file.declarations && !c.quoted() {
        return None;
    }
    let base = match kind {
        ContextKind::Assignment => assignment(c)?,
        ContextKind::Url => url(c)?,
        ContextKind::Jwt => jwt(c)?,
        ContextKind::Value => match value_shape(c.value()) {
            Shape::NotSecret => return None,
            // Why: after `Bearer`, a UUID is a token (many APIs issue UUID tokens).
            Shape::Weak if !is_uuid(c.value()) => Confidence::Low,
            Shape::Weak | Shape::Random => Confidence::Medium,
        },
    };
    let example = c.file.examples
        || c.minified()
        || (c.file.vendored && c.in_comment())
        || (c.file.code && (c.in_comment() || (c.file.python && c.in_docstring())));
    Some(if example { Confidence::Low } else { base })
}

fn assignment(c: &Candidate<'_>) -> Option<Confidence> {
    let (key_at, key) = c.key();
    let class = if key.is_empty() {
        KeyClass::Plain
    } else {
        key_class(key)
    };
    if class == KeyClass::NotCredential || (!key.is_empty() && c.key_in_path(key_at)) {
        return None;
    }
    // Why: in source code an unquoted value is a variable or an expression, not a literal.
    if c.file.code && !c.quoted() {
        return None;
    }
    let value = c.value();
    // Why: a comma also separates the items of lists and argument lists
    // (`'mysql_native_password', 'latin1'`): only a strong key with a value that mixes
    // letters, digits and symbols reads as `define('DB_PASSWORD', '…')`.
    if c.comma_separated()
        && (class != KeyClass::Strong
            || value.len() < 8
            || crate::detect::filter::char_classes(value) < 3)
    {
        return None;
    }
    match value_shape(value) {
        Shape::NotSecret => None,
        // Why: a UUID under a name that says what it is (`HEROKU_API_KEY`) is a key; under a
        // bare `token` it is as likely a request or object id.
        Shape::Weak if is_uuid(value) && class == KeyClass::Strong => Some(Confidence::Medium),
        Shape::Weak => Some(Confidence::Low),
        Shape::Random => {
            let random = crate::detect::entropy::shannon(value) >= 3.5 && value.len() >= 10;
            Some(if c.file.config && class == KeyClass::Strong && random {
                Confidence::High
            } else {
                Confidence::Medium
            })
        }
    }
}

/// Hosts that only appear in documentation and local development.
fn is_example_host(host: &[u8]) -> bool {
    let host = host.to_ascii_lowercase();
    let name = host.split(|&b| b == b':').next().unwrap_or(&host);
    matches!(
        name,
        b"localhost"
            | b"127.0.0.1"
            | b"0.0.0.0"
            | b"host"
            | b"hostname"
            | b"server"
            | b"domain"
            | b"myhost"
            | b"myserver"
            | b"yourserver"
            | b"your-server"
            | b"example"
    ) || [
        &b".example"[..],
        b"example.com",
        b"example.org",
        b"example.net",
        b".test",
        b".invalid",
        b".local",
        b".localhost",
    ]
    .iter()
    .any(|s| name.ends_with(s))
}

fn url(c: &Candidate<'_>) -> Option<Confidence> {
    let (ss, se) = c.secret;
    let input = c.input;
    let before = &input[c.whole.0..ss];
    let user_start = memchr::memmem::rfind(before, b"://").map_or(0, |i| i + 3);
    let user = &before[user_start..before.len().saturating_sub(1)];
    let password = &input[ss..se];
    let host_end = input[se..]
        .iter()
        .skip(1)
        .position(|b| {
            matches!(
                b,
                b'/' | b'?' | b'#' | b'"' | b'\'' | b' ' | b'\n' | b'<' | b'>'
            )
        })
        .map_or(input.len(), |i| se + 1 + i);
    let host = &input[(se + 1).min(host_end)..host_end];
    let lower = password.to_ascii_lowercase();
    if password == user
        || matches!(password.first(), Some(b'[' | b'<' | b'{' | b'$' | b'%'))
        || PLACEHOLDER_WORDS.contains(&std::str::from_utf8(&lower).unwrap_or(""))
        || lower.iter().all(|&b| b == b'*' || b == b'x' || b == b'.')
    {
        return None;
    }
    let weak = is_example_host(host)
        || value_shape(password) == Shape::Weak
        || (password.len() < 8 && !password.iter().any(u8::is_ascii_digit));
    Some(if weak {
        Confidence::Low
    } else {
        Confidence::Medium
    })
}

/// Claims of the sample tokens that documentation copies (jwt.io's `John Doe`, `1234567890`).
const SAMPLE_CLAIMS: &[&str] = &[
    "\"1234567890\"",
    "john doe",
    "jane doe",
    "example.com",
    "example.org",
    "\"test\"",
    "foo@",
    "\"foo\"",
    "\"bar\"",
];

fn jwt(c: &Candidate<'_>) -> Option<Confidence> {
    use base64::Engine as _;
    let value = c.value();
    let payload = value.split(|&b| b == b'.').nth(1)?;
    let claims = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.strip_suffix(b"=").unwrap_or(payload))
        .ok()?;
    let claims = String::from_utf8_lossy(&claims).to_ascii_lowercase();
    if SAMPLE_CLAIMS.iter().any(|s| claims.contains(s)) {
        return Some(Confidence::Low);
    }
    Some(Confidence::Medium)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judge_line(kind: ContextKind, line: &str, secret: &str, path: &str) -> Option<Confidence> {
        let s = line.find(secret).expect("secret in line");
        let c = Candidate {
            input: line.as_bytes(),
            whole: (0, line.len()),
            secret: (s, s + secret.len()),
            file: FileContext::of(&[path]),
        };
        judge(kind, &c)
    }

    #[test]
    fn pagination_and_request_tokens_are_not_credentials() {
        for (line, v) in [
            (
                r#""NextToken": "AAEAAb3xQ9mZ7Kp2Lw8Rt""#,
                "AAEAAb3xQ9mZ7Kp2Lw8Rt",
            ),
            (
                r#""ContinuationToken": "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=""#,
                "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=",
            ),
            (
                r#"pageToken: "CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA""#,
                "CiAKGjBpNDd2Nmp2Zml2cXRwYjBpOXA",
            ),
        ] {
            assert_eq!(
                judge_line(ContextKind::Assignment, line, v, "sdk/client.js"),
                None,
                "{line}"
            );
        }
    }

    #[test]
    fn strong_key_with_random_value_in_config_is_high() {
        let line = "DB_PASSWORD=Xk29!qLm#7zRw";
        assert_eq!(
            judge_line(ContextKind::Assignment, line, "Xk29!qLm#7zRw", "app/.env"),
            Some(Confidence::High)
        );
        assert_eq!(
            judge_line(
                ContextKind::Assignment,
                line,
                "Xk29!qLm#7zRw",
                "docs/setup.md"
            ),
            Some(Confidence::Low)
        );
    }

    #[test]
    fn unquoted_values_in_code_are_variables() {
        let line = "token = tokenFromVault2;";
        assert_eq!(
            judge_line(
                ContextKind::Assignment,
                line,
                "tokenFromVault2",
                "src/app.js"
            ),
            None
        );
    }

    #[test]
    fn namespaced_type_names_are_schema_keys() {
        let line = r#""AWS::IAM::AccessKey": "62d91b17309e76c8","#;
        assert_eq!(
            judge_line(
                ContextKind::Assignment,
                line,
                "62d91b17309e76c8",
                "schema/map.json"
            ),
            None
        );
    }

    #[test]
    fn url_credentials_on_example_hosts_are_low() {
        // assembled, so that this file holds no whole credential URL
        let pw = ["Qw8vT2", "nRk5"].concat();
        let line = &format!("postgres://app:{pw}@localhost:5432/app");
        assert_eq!(
            judge_line(ContextKind::Url, line, &pw, "src/db.py"),
            Some(Confidence::Low)
        );
        let line = &format!("postgres://app:{pw}@db.internal:5432/app");
        assert_eq!(
            judge_line(ContextKind::Url, line, &pw, "src/db.py"),
            Some(Confidence::Medium)
        );
        let line = "redis://user:password@cache.acme.io:6379";
        assert_eq!(
            judge_line(ContextKind::Url, line, "password", "src/db.py"),
            None
        );
    }
}
