//! gitleaks and Betterleaks interoperability: their TOML configuration (custom rules,
//! `[extend]`, allowlists), their `.gitleaksignore` fingerprints, and their JSON reports (as a
//! baseline to import).
//!
//! A gitleaks configuration is recognised by its content: `[[rules]]` as an array of tables,
//! `[extend]`, `[allowlist]` or `[[allowlists]]` (a `.leakhound.toml` has `[rules]` as one
//! table). Its custom rules become rules of the scan whose findings follow gitleaks' semantics
//! exactly ([`engine`]); `useDefault` means leakhound's own rules. Fields that gitleaks knows
//! and leakhound does not implement are named in a warning; fields that neither knows are an
//! error naming the file and line, as is a regex that does not compile.

pub mod engine;
pub mod ignore;
pub mod import;

use std::{
    collections::HashSet,
    path::{Path, PathBuf},
    sync::Arc,
};

use serde::Deserialize;

pub use engine::{Allowlist, Allowlists, CustomRule};

/// The configuration files gitleaks and Betterleaks look for, in the order leakhound tries
/// them when the scan root has no `.leakhound.toml`.
pub const CONFIG_FILE_NAMES: [&str; 2] = [".betterleaks.toml", ".gitleaks.toml"];

/// How deep `[extend] path` chains are followed (gitleaks stops at 2).
const MAX_EXTEND_DEPTH: usize = 2;

/// A regex longer than this is refused (a configuration is data, not a program).
const MAX_REGEX_LEN: usize = 64 * 1024;

/// Whether a TOML text is a gitleaks configuration rather than a `.leakhound.toml`. Text that
/// is not valid TOML counts as gitleaks' when it has gitleaks' tables, so that its error is
/// reported with gitleaks' field names.
pub fn is_gitleaks_config(text: &str) -> bool {
    let Ok(table) = text.parse::<toml::Table>() else {
        return ["[[rules", "[extend", "[allowlist", "[[allowlists"]
            .iter()
            .any(|t| text.contains(t));
    };
    matches!(table.get("rules"), Some(toml::Value::Array(_)))
        || table.contains_key("extend")
        || table.contains_key("allowlist")
        || table.contains_key("allowlists")
        || table.contains_key("title")
}

/// A configuration that could not be used: the file, the line when known, the rule when
/// known, and what is wrong.
#[derive(Debug, thiserror::Error)]
#[error("invalid gitleaks configuration {}{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default(), rule.as_deref().map(|r| format!(" (rule {r})")).unwrap_or_default())]
pub struct ConfigError {
    /// The file.
    pub path: PathBuf,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// The rule id, when the problem is in a rule.
    pub rule: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// A loaded gitleaks configuration, translated.
#[derive(Debug, Default)]
pub struct Loaded {
    /// `[extend] useDefault`: leakhound's own rules run too.
    pub use_default: bool,
    /// Rule ids to disable (`[extend] disabledRules`), leakhound's or extended ones.
    pub disabled: Vec<String>,
    /// The custom rules, in file order (base files first).
    pub rules: Vec<Arc<CustomRule>>,
    /// The global allowlists.
    pub allowlists: Allowlists,
    /// Fields named but not implemented, and other non-fatal problems.
    pub warnings: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FileSyntax {
    #[serde(default)]
    // Accepted (gitleaks documents it) and not used.
    #[allow(dead_code)]
    title: Option<String>,
    #[serde(default)]
    // Accepted (gitleaks documents it) and not used.
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    min_version: Option<String>,
    #[serde(default)]
    extend: Option<ExtendSyntax>,
    #[serde(default)]
    rules: Vec<RuleSyntax>,
    #[serde(default)]
    allowlist: Option<AllowlistSyntax>,
    #[serde(default)]
    allowlists: Vec<AllowlistSyntax>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ExtendSyntax {
    #[serde(default)]
    use_default: bool,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    disabled_rules: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RuleSyntax {
    id: toml::Spanned<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    regex: Option<toml::Spanned<String>>,
    #[serde(default)]
    secret_group: Option<usize>,
    #[serde(default)]
    entropy: Option<f64>,
    #[serde(default)]
    path: Option<toml::Spanned<String>>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    allowlist: Option<AllowlistSyntax>,
    #[serde(default)]
    allowlists: Vec<AllowlistSyntax>,
    // Known to gitleaks or Betterleaks, not implemented here: each is named in a warning.
    #[serde(default)]
    skip_report: Option<toml::Value>,
    #[serde(default)]
    required: Option<toml::Value>,
    #[serde(default)]
    prefilter: Option<toml::Value>,
    #[serde(default)]
    filter: Option<toml::Value>,
    #[serde(default)]
    validate: Option<toml::Value>,
    #[serde(default)]
    token_efficiency: Option<toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AllowlistSyntax {
    #[serde(default)]
    // Accepted (gitleaks documents it) and not used.
    #[allow(dead_code)]
    description: Option<String>,
    #[serde(default)]
    condition: Option<String>,
    #[serde(default)]
    commits: Vec<String>,
    #[serde(default)]
    paths: Vec<toml::Spanned<String>>,
    #[serde(default)]
    regex_target: Option<String>,
    #[serde(default)]
    regexes: Vec<toml::Spanned<String>>,
    #[serde(default)]
    stopwords: Vec<String>,
    #[serde(default)]
    target_rules: Vec<String>,
}

/// Loads a gitleaks configuration file and the files it extends.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let mut loaded = Loaded::default();
    let mut seen = HashSet::new();
    load_into(path, 0, &mut loaded, &mut seen)?;
    Ok(loaded)
}

fn load_into(
    path: &Path,
    depth: usize,
    out: &mut Loaded,
    seen: &mut HashSet<PathBuf>,
) -> Result<(), ConfigError> {
    let error = |line: Option<usize>, rule: Option<&str>, message: String| ConfigError {
        path: path.to_owned(),
        line,
        rule: rule.map(str::to_owned),
        message,
    };
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_owned());
    if !seen.insert(canonical) {
        return Err(error(None, None, "[extend] path forms a cycle".into()));
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| error(None, None, format!("cannot read the file: {e}")))?;
    let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
    let file: FileSyntax = toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| line_of(s.start));
        error(line, None, e.message().trim().to_owned())
    })?;
    let shown = path.display();
    if let Some(v) = &file.min_version {
        out.warnings.push(format!(
            "{shown}: minVersion {v:?} is a gitleaks version; leakhound ignores it"
        ));
    }
    // The base configuration comes first: this file's rules override it by id.
    if let Some(extend) = &file.extend {
        if extend.use_default {
            out.use_default = true;
        }
        if let Some(url) = &extend.url {
            out.warnings.push(format!(
                "{shown}: [extend] url {url:?} is not supported (leakhound fetches nothing); extend a local path instead"
            ));
        }
        if let Some(base) = &extend.path {
            if depth >= MAX_EXTEND_DEPTH {
                out.warnings.push(format!(
                    "{shown}: [extend] path {base:?} not followed: extends are followed {MAX_EXTEND_DEPTH} deep, as gitleaks does"
                ));
            } else {
                let dir = path.parent().unwrap_or(Path::new("."));
                let base_path = dir.join(base);
                let base_path = if base_path.is_file() {
                    base_path
                } else {
                    PathBuf::from(base)
                };
                load_into(&base_path, depth + 1, out, seen)?;
            }
        }
        out.disabled.extend(extend.disabled_rules.iter().cloned());
    }
    if file.allowlist.is_some() && !file.allowlists.is_empty() {
        // Why: gitleaks refuses this mix too; taking either half would change what is hidden.
        return Err(error(
            None,
            None,
            "[allowlist] (deprecated) cannot be used alongside [[allowlists]]: move it into [[allowlists]]".into(),
        ));
    }
    for (i, al) in file.allowlist.iter().chain(&file.allowlists).enumerate() {
        let which = if file.allowlist.is_some() && i == 0 {
            "[allowlist]".to_owned()
        } else {
            "[[allowlists]]".to_owned()
        };
        let compiled = allowlist(al, &which, &line_of).map_err(|(line, m)| error(line, None, m))?;
        out.allowlists.add_global(compiled, al.target_rules.clone());
    }
    for rule in file.rules {
        let id = rule.id.get_ref().clone();
        let at = line_of(rule.id.span().start);
        let custom = custom_rule(rule, &line_of, &mut out.warnings, &shown.to_string())
            .map_err(|(line, m)| error(line.or(Some(at)), Some(&id), m))?;
        match out.rules.iter().position(|r| r.id == id) {
            Some(i) => {
                let merged = out.rules[i].extended_by(custom);
                out.rules[i] = Arc::new(merged);
            }
            None => out.rules.push(Arc::new(custom)),
        }
    }
    Ok(())
}

type Problem = (Option<usize>, String);

/// Compiles one regex of the configuration in gitleaks' dialect (RE2: `\w`, `\d`, `\s` and
/// `\b` are ASCII), with Unicode classes where the pattern uses them.
fn compile(
    pattern: &toml::Spanned<String>,
    what: &str,
    line_of: &dyn Fn(usize) -> usize,
) -> Result<regex::bytes::Regex, Problem> {
    let line = Some(line_of(pattern.span().start));
    let text = pattern.get_ref();
    if text.len() > MAX_REGEX_LEN {
        return Err((
            line,
            format!(
                "{what} is {} bytes long; the limit is {MAX_REGEX_LEN}",
                text.len()
            ),
        ));
    }
    let text = &from_re2(text);
    let build = |unicode: bool| {
        regex::bytes::RegexBuilder::new(text)
            .unicode(unicode)
            .size_limit(16 << 20)
            .dfa_size_limit(16 << 20)
            .build()
    };
    // Why: ASCII mode matches RE2's ASCII `\w`/`\b`; a pattern using `\p{L}` needs Unicode.
    build(false)
        .or_else(|_| build(true))
        .map_err(|e| (line, format!("{what} does not compile: {e}")))
}

/// A pattern in RE2 syntax (Go's `regexp`, which gitleaks uses) rewritten where Rust's `regex`
/// reads the same text differently: a `{` that does not start a counted repetition is a
/// literal in RE2 (`^\$(?:\d+|{\d+})$` in gitleaks' own default rules) and an error here;
/// inside a class, `[` (but for `[:alpha:]`), `&` and `~` are literals in RE2 while Rust
/// reads nested classes and set operations (`&&`, `~~`); `\Q…\E` quotes a literal.
pub fn from_re2(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut out = String::with_capacity(pattern.len() + 8);
    let mut i = 0;
    let mut class = false;
    // Whether the class just opened (a `]` or `^]` there is a literal `]`).
    let mut class_start = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            if chars.get(i + 1) == Some(&'Q') {
                let mut j = i + 2;
                let mut literal = String::new();
                while j < chars.len() && !(chars[j] == '\\' && chars.get(j + 1) == Some(&'E')) {
                    literal.push(chars[j]);
                    j += 1;
                }
                out.push_str(&regex::escape(&literal));
                i = (j + 2).min(chars.len());
                continue;
            }
            out.push(c);
            if let Some(&n) = chars.get(i + 1) {
                out.push(n);
            }
            i += 2;
            class_start = false;
            continue;
        }
        if class {
            match c {
                ']' if !class_start => class = false,
                '[' if chars.get(i + 1) == Some(&':') => {
                    // A POSIX class `[:name:]` is copied whole.
                    if let Some(end) = (i + 2..chars.len().saturating_sub(1))
                        .find(|&j| chars[j] == ':' && chars[j + 1] == ']')
                    {
                        out.extend(&chars[i..end + 2]);
                        i = end + 2;
                        class_start = false;
                        continue;
                    }
                    out.push('\\');
                }
                '[' | '&' | '~' => out.push('\\'),
                _ => {}
            }
            class_start = c == '^' && class_start && out.ends_with('[');
            out.push(c);
            i += 1;
            continue;
        }
        match c {
            '[' => {
                class = true;
                class_start = true;
                out.push(c);
                if chars.get(i + 1) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                i += 1;
                continue;
            }
            '{' if !counted_repetition(&chars[i..]) => out.push_str("\\{"),
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Whether text starts with `{n}`, `{n,}` or `{n,m}`.
fn counted_repetition(chars: &[char]) -> bool {
    let mut i = 1;
    let digits = |i: &mut usize| {
        let from = *i;
        while chars.get(*i).is_some_and(char::is_ascii_digit) {
            *i += 1;
        }
        *i > from
    };
    if !digits(&mut i) {
        return false;
    }
    if chars.get(i) == Some(&',') {
        i += 1;
        digits(&mut i);
    }
    chars.get(i) == Some(&'}')
}

fn allowlist(
    al: &AllowlistSyntax,
    which: &str,
    line_of: &dyn Fn(usize) -> usize,
) -> Result<Allowlist, Problem> {
    let and = match al
        .condition
        .as_deref()
        .map(str::to_ascii_uppercase)
        .as_deref()
    {
        None | Some("OR") | Some("") => false,
        Some("AND") => true,
        Some(other) => {
            return Err((
                None,
                format!("{which}: condition {other:?} is neither OR nor AND"),
            ));
        }
    };
    let target = match al.regex_target.as_deref() {
        None | Some("") | Some("secret") => engine::Target::Secret,
        Some("match") => engine::Target::Match,
        Some("line") => engine::Target::Line,
        Some(other) => {
            return Err((
                None,
                format!("{which}: regexTarget {other:?} is not one of secret, match, line"),
            ));
        }
    };
    let paths = al
        .paths
        .iter()
        .map(|p| compile(p, &format!("{which} path {:?}", p.get_ref()), line_of))
        .collect::<Result<Vec<_>, _>>()?;
    let regexes = al
        .regexes
        .iter()
        .map(|p| compile(p, &format!("{which} regex {:?}", p.get_ref()), line_of))
        .collect::<Result<Vec<_>, _>>()?;
    if al.commits.is_empty() && paths.is_empty() && regexes.is_empty() && al.stopwords.is_empty() {
        // Why: gitleaks refuses it too; an empty AND allowlist would allow everything.
        return Err((
            None,
            format!("{which} must contain at least one of commits, paths, regexes, stopwords"),
        ));
    }
    Ok(Allowlist {
        and,
        commits: al.commits.iter().map(|c| c.to_ascii_lowercase()).collect(),
        paths,
        target,
        regexes,
        stopwords: al.stopwords.iter().map(|s| s.to_lowercase()).collect(),
    })
}

fn custom_rule(
    rule: RuleSyntax,
    line_of: &dyn Fn(usize) -> usize,
    warnings: &mut Vec<String>,
    shown: &str,
) -> Result<CustomRule, Problem> {
    let id = rule.id.get_ref().clone();
    if id.trim().is_empty() {
        return Err((None, "a rule has an empty id".into()));
    }
    for (name, present) in [
        ("skipReport", rule.skip_report.is_some()),
        ("required (composite rules)", rule.required.is_some()),
        ("prefilter (Betterleaks CEL)", rule.prefilter.is_some()),
        ("filter (Betterleaks CEL)", rule.filter.is_some()),
        ("validate (Betterleaks CEL)", rule.validate.is_some()),
        (
            "tokenEfficiency (Betterleaks)",
            rule.token_efficiency.is_some(),
        ),
    ] {
        if present {
            warnings.push(format!(
                "{shown}: rule {id}: {name} is not supported by leakhound and is ignored (the rule reports without it)"
            ));
        }
    }
    let regex = rule
        .regex
        .as_ref()
        .map(|r| compile(r, "regex", line_of))
        .transpose()?;
    let path = rule
        .path
        .as_ref()
        .map(|p| compile(p, "path", line_of))
        .transpose()?;
    if regex.is_none() && path.is_none() {
        return Err((None, "a rule needs a regex, a path, or both".into()));
    }
    let groups = regex.as_ref().map_or(0, |r| r.captures_len() - 1);
    if let Some(g) = rule.secret_group
        && g > groups
    {
        return Err((
            rule.regex.as_ref().map(|r| line_of(r.span().start)),
            format!("secretGroup {g} but the regex has {groups} capture groups"),
        ));
    }
    let mut allowlists = Vec::new();
    for (i, al) in rule.allowlist.iter().chain(&rule.allowlists).enumerate() {
        if !al.target_rules.is_empty() {
            warnings.push(format!(
                "{shown}: rule {id}: targetRules only applies to global allowlists; ignored here"
            ));
        }
        allowlists.push(allowlist(
            al,
            &format!("rule {id} allowlist {}", i + 1),
            line_of,
        )?);
    }
    let source_line = line_of(rule.id.span().start);
    Ok(CustomRule {
        description: rule
            .description
            .clone()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| id.clone()),
        pattern: rule.regex.as_ref().map(|r| r.get_ref().clone()),
        regex,
        secret_group: rule.secret_group.unwrap_or(0),
        entropy: rule.entropy.unwrap_or(0.0),
        path,
        keywords: rule.keywords.iter().map(|k| k.to_lowercase()).collect(),
        tags: rule.tags,
        allowlists,
        source: format!("{shown}:{source_line}"),
        id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Loaded, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(".gitleaks.toml");
        std::fs::write(&p, text).unwrap();
        load(&p)
    }

    #[test]
    fn re2_patterns_read_the_same_here() {
        let cases = [
            (r"^\$(?:\d+|{\d+})$", r"^\$(?:\d+|\{\d+})$"),
            (r"a{2}b{1,}c{1,3}", r"a{2}b{1,}c{1,3}"),
            (r"x{,3}", r"x\{,3}"),
            (r"[[]x", r"[\[]x"),
            (r"[]a]", r"[]a]"),
            (r"[^]a]", r"[^]a]"),
            (r"[a&&b~~c]", r"[a\&\&b\~\~c]"),
            (r"[[:alpha:]_]", r"[[:alpha:]_]"),
            (r"\Qa.b*\Ec", r"a\.b\*c"),
            (r"\{x\}", r"\{x\}"),
        ];
        for (re2, rust) in cases {
            assert_eq!(from_re2(re2), rust, "{re2}");
            assert!(regex::Regex::new(&from_re2(re2)).is_ok(), "{re2}");
        }
        let re = regex::Regex::new(&from_re2(r"^\$(?:\d+|{\d+})$")).unwrap();
        assert!(re.is_match("${12}") && re.is_match("$7") && !re.is_match("${x}"));
    }

    #[test]
    fn recognises_gitleaks_configs_by_content() {
        assert!(is_gitleaks_config("[[rules]]\nid = 'a'\nregex = 'x'\n"));
        assert!(is_gitleaks_config("[extend]\nuseDefault = true\n"));
        assert!(!is_gitleaks_config("[rules]\ndisable = ['x']\n"));
        assert!(!is_gitleaks_config("not = [toml"));
    }

    #[test]
    fn bad_regex_names_the_file_line_and_rule() {
        let err = load_text("title = 'x'\n\n[[rules]]\nid = 'broken'\nregex = '''(unclosed'''\n")
            .unwrap_err();
        assert_eq!(err.rule.as_deref(), Some("broken"));
        assert_eq!(err.line, Some(5));
        assert!(
            err.to_string().contains(".gitleaks.toml:5 (rule broken)"),
            "{err}"
        );
    }

    #[test]
    fn unknown_fields_are_errors_and_unsupported_ones_warnings() {
        let err = load_text("[[rules]]\nid = 'a'\nregex = 'x'\nregexx = 'y'\n").unwrap_err();
        assert!(err.message.contains("regexx"), "{err}");
        assert_eq!(err.line, Some(4));
        let ok = load_text("[[rules]]\nid = 'a'\nregex = 'x'\nskipReport = true\n").unwrap();
        assert!(
            ok.warnings.iter().any(|w| w.contains("skipReport")),
            "{:?}",
            ok.warnings
        );
    }

    #[test]
    fn empty_allowlists_are_refused() {
        let err = load_text("[[allowlists]]\ndescription = 'nothing'\n").unwrap_err();
        assert!(err.message.contains("at least one of"), "{err}");
    }

    #[test]
    fn secret_group_beyond_the_groups_is_refused() {
        let err = load_text("[[rules]]\nid = 'a'\nregex = '(x)'\nsecretGroup = 2\n").unwrap_err();
        assert!(err.message.contains("secretGroup 2"), "{err}");
    }

    #[test]
    fn extends_merge_by_id_and_cycles_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.toml"),
            "[[rules]]\nid = 'a'\nregex = 'aaa'\n[[rules]]\nid = 'b'\nregex = 'bbb'\n",
        )
        .unwrap();
        let top = dir.path().join("top.toml");
        std::fs::write(
            &top,
            "[extend]\npath = 'base.toml'\ndisabledRules = ['x.y']\n[[rules]]\nid = 'b'\nregex = 'ccc'\n",
        )
        .unwrap();
        let loaded = load(&top).unwrap();
        let ids: Vec<&str> = loaded.rules.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        assert_eq!(loaded.rules[1].pattern.as_deref(), Some("ccc"));
        assert_eq!(loaded.disabled, ["x.y"]);
        let cyc = dir.path().join("cyc.toml");
        std::fs::write(&cyc, "[extend]\npath = 'cyc.toml'\n").unwrap();
        assert!(load(&cyc).unwrap_err().message.contains("cycle"));
    }
}
