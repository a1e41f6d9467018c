//! gitleaks semantics: how a custom rule matches, and how allowlists decide.
//!
//! A custom rule runs its regex over the whole input (not windows around keywords), after its
//! `path` regex and its keywords (any of them, case-insensitively) admit the input. The secret
//! is capture group `secretGroup`, or without one the first non-empty group, or the whole match.
//! A rule with `entropy` drops secrets whose Shannon entropy is at most that (over characters,
//! divided by the byte length, as gitleaks computes it). (Older gitleaks releases also dropped
//! digit-free secrets of rules whose id starts with `generic`; 8.30, which the conformance tests
//! run, does not.) A rule with a `path` and no `regex` reports the file itself. Then the rule's
//! allowlists and the global ones decide.
//!
//! An allowlist with `condition = "OR"` (the default) allows a finding when any of its
//! criteria does; with `"AND"`, when every criterion it sets does. The criteria: `paths`
//! (regexes on the file's path), `regexes` on the secret, the whole match or its lines
//! (`regexTarget`), `stopwords` (the secret contains one, ignoring case) and `commits` (the
//! finding's commit). Commits are only known when a finding is given its place in history, so
//! the analysis hands them on with the finding ([`crate::finding::Located::allow_commits`]).

use std::sync::Arc;

use regex::bytes::Regex;

/// One custom rule of a gitleaks configuration.
#[derive(Debug)]
pub struct CustomRule {
    /// `id`.
    pub id: String,
    /// `description`, or the id.
    pub description: String,
    /// The `regex` source.
    pub pattern: Option<String>,
    /// The compiled `regex`.
    pub regex: Option<Regex>,
    /// `secretGroup` (0: the first non-empty group).
    pub secret_group: usize,
    /// `entropy` (0: no threshold).
    pub entropy: f64,
    /// `path`: the rule applies only to files whose path matches.
    pub path: Option<Regex>,
    /// `keywords`, lower-cased.
    pub keywords: Vec<String>,
    /// `tags`.
    pub tags: Vec<String>,
    /// The rule's own allowlists.
    pub allowlists: Vec<Allowlist>,
    /// `FILE:LINE` of the rule's id.
    pub source: String,
}

impl CustomRule {
    /// This rule extended by a rule of the same id in an extending file: what the extending
    /// rule sets wins; keywords, tags and allowlists add up.
    pub fn extended_by(&self, child: CustomRule) -> CustomRule {
        let mut keywords = self.keywords.clone();
        keywords.extend(
            child
                .keywords
                .into_iter()
                .filter(|k| !self.keywords.contains(k)),
        );
        let mut tags = self.tags.clone();
        tags.extend(child.tags.into_iter().filter(|t| !self.tags.contains(t)));
        let mut allowlists: Vec<Allowlist> = self.allowlists.clone();
        allowlists.extend(child.allowlists);
        let (pattern, regex) = match child.regex {
            Some(r) => (child.pattern, Some(r)),
            None => (self.pattern.clone(), self.regex.clone()),
        };
        CustomRule {
            description: if child.description == child.id {
                self.description.clone()
            } else {
                child.description
            },
            pattern,
            regex,
            secret_group: if child.secret_group > 0 {
                child.secret_group
            } else {
                self.secret_group
            },
            entropy: if child.entropy > 0.0 {
                child.entropy
            } else {
                self.entropy
            },
            path: child.path.or_else(|| self.path.clone()),
            keywords,
            tags,
            allowlists,
            source: child.source,
            id: child.id,
        }
    }
}

/// What an allowlist's `regexes` are matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The secret (the default).
    Secret,
    /// The whole regex match.
    Match,
    /// The lines the match is on.
    Line,
}

/// One allowlist, compiled.
#[derive(Debug, Clone)]
pub struct Allowlist {
    /// `condition = "AND"`.
    pub and: bool,
    /// Commit ids, lower-cased (shared with the findings that wait for their commit).
    pub commits: Arc<[String]>,
    /// Path regexes.
    pub paths: Vec<Regex>,
    /// What `regexes` are matched against.
    pub target: Target,
    /// Regexes.
    pub regexes: Vec<Regex>,
    /// Stop words, lower-cased.
    pub stopwords: Vec<String>,
}

/// The texts of one finding that allowlists look at.
#[derive(Debug, Clone, Copy)]
pub struct Texts<'a> {
    /// The secret.
    pub secret: &'a [u8],
    /// The whole match (for a built-in rule, the secret's lines).
    pub whole: &'a [u8],
    /// The lines of the match.
    pub line: &'a [u8],
}

/// What an allowlist says about a finding before its commit is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Allowed: drop it.
    Allowed,
    /// Allowed if its commit is one of these.
    IfCommit(Arc<[String]>),
    /// Not allowed.
    No,
}

impl Allowlist {
    /// Whether the allowlist allows everything at these paths, whatever is found there (its
    /// verdict depends on the path alone): gitleaks then skips the file, and so does leakhound.
    pub fn allows_all_at(&self, paths: &[&str]) -> bool {
        self.path_holds(paths) == Some(true)
            && (!self.and
                || (self.commits.is_empty()
                    && self.regexes.is_empty()
                    && self.stopwords.is_empty()))
    }

    /// The `paths` criterion at these paths, `None` when the allowlist sets none. A blob may
    /// live at several paths: the criterion holds only if it holds for all of them, so that no
    /// place is hidden wrongly.
    fn path_holds(&self, paths: &[&str]) -> Option<bool> {
        (!self.paths.is_empty()).then(|| {
            !paths.is_empty()
                && paths
                    .iter()
                    .all(|p| self.paths.iter().any(|r| r.is_match(p.as_bytes())))
        })
    }

    /// The allowlist's verdict on a finding at these paths.
    pub fn verdict(&self, paths: &[&str], texts: Texts<'_>) -> Verdict {
        let path = self.path_holds(paths);
        let regex = (!self.regexes.is_empty()).then(|| {
            let hay = match self.target {
                Target::Secret => texts.secret,
                Target::Match => texts.whole,
                Target::Line => texts.line,
            };
            !hay.is_empty() && self.regexes.iter().any(|r| r.is_match(hay))
        });
        let stopword = (!self.stopwords.is_empty()).then(|| {
            let secret = String::from_utf8_lossy(texts.secret).to_lowercase();
            self.stopwords.iter().any(|w| secret.contains(w.as_str()))
        });
        let others = [path, regex, stopword];
        let commits = (!self.commits.is_empty()).then(|| Arc::clone(&self.commits));
        if self.and {
            if others.iter().flatten().any(|held| !held) {
                return Verdict::No;
            }
            match commits {
                Some(c) => Verdict::IfCommit(c),
                None if others.iter().any(Option::is_some) => Verdict::Allowed,
                None => Verdict::No,
            }
        } else if others.iter().flatten().any(|&held| held) {
            Verdict::Allowed
        } else {
            commits.map_or(Verdict::No, Verdict::IfCommit)
        }
    }
}

/// The global allowlists of a configuration, each with the rule ids it targets (empty: all).
#[derive(Debug, Clone, Default)]
pub struct Allowlists {
    lists: Vec<(Allowlist, Vec<String>)>,
}

impl Allowlists {
    /// Adds a global allowlist.
    pub fn add_global(&mut self, list: Allowlist, target_rules: Vec<String>) {
        self.lists.push((list, target_rules));
    }

    /// How many allowlists there are.
    pub fn len(&self) -> usize {
        self.lists.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.lists.is_empty()
    }

    /// Whether a global allowlist for every rule allows everything at these paths.
    pub fn allow_all_at(&self, paths: &[&str]) -> bool {
        self.lists
            .iter()
            .any(|(l, targets)| targets.is_empty() && l.allows_all_at(paths))
    }

    /// The allowlists that apply to a rule.
    pub fn for_rule<'a>(&'a self, rule_id: &'a str) -> impl Iterator<Item = &'a Allowlist> + 'a {
        self.lists
            .iter()
            .filter(move |(_, targets)| targets.is_empty() || targets.iter().any(|t| t == rule_id))
            .map(|(l, _)| l)
    }
}

/// The combined verdict of several allowlists: `None` drops the finding, `Some(commits)` keeps
/// it with the commit lists that would still drop it.
pub fn decide<'a>(
    lists: impl Iterator<Item = &'a Allowlist>,
    paths: &[&str],
    texts: Texts<'_>,
) -> Option<Vec<Arc<[String]>>> {
    let mut pending = Vec::new();
    for list in lists {
        match list.verdict(paths, texts) {
            Verdict::Allowed => return None,
            Verdict::IfCommit(c) => pending.push(c),
            Verdict::No => {}
        }
    }
    Some(pending)
}

/// Shannon entropy as gitleaks computes it: over characters, divided by the byte length.
pub fn entropy(secret: &str) -> f64 {
    if secret.is_empty() {
        return 0.0;
    }
    let mut counts: std::collections::HashMap<char, u32> = std::collections::HashMap::new();
    for c in secret.chars() {
        *counts.entry(c).or_default() += 1;
    }
    let inv = 1.0 / secret.len() as f64;
    counts
        .values()
        .map(|&n| {
            let f = f64::from(n) * inv;
            -f * f.log2()
        })
        .sum()
}

/// One match of a custom rule: byte spans of the whole match (newlines trimmed from both ends,
/// as gitleaks reports it) and of the secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleMatch {
    /// The whole match.
    pub whole: (usize, usize),
    /// The secret.
    pub secret: (usize, usize),
}

impl CustomRule {
    /// Whether the rule applies to an input at these paths (its `path` regex, if any, matches
    /// one of them).
    pub fn applies_to(&self, paths: &[&str]) -> bool {
        match &self.path {
            None => true,
            Some(p) => paths.iter().any(|x| p.is_match(x.as_bytes())),
        }
    }

    /// Whether the input holds one of the rule's keywords (`lower` is the input lower-cased;
    /// a rule without keywords admits every input).
    pub fn keywords_admit(&self, lower: &[u8]) -> bool {
        self.keywords.is_empty()
            || self
                .keywords
                .iter()
                .any(|k| memchr::memmem::find(lower, k.as_bytes()).is_some())
    }

    /// The matches of the rule's regex in `input` that pass its entropy checks.
    pub fn matches(&self, input: &[u8]) -> Vec<RuleMatch> {
        let Some(regex) = &self.regex else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for caps in regex.captures_iter(input) {
            let Some(m) = caps.get(0) else { continue };
            let (mut start, mut end) = (m.start(), m.end());
            while start < end && input[start] == b'\n' {
                start += 1;
            }
            while end > start && input[end - 1] == b'\n' {
                end -= 1;
            }
            let secret = if self.secret_group > 0 {
                caps.get(self.secret_group).map(|g| (g.start(), g.end()))
            } else {
                (1..caps.len())
                    .filter_map(|i| caps.get(i))
                    .find(|g| !g.is_empty())
                    .map(|g| (g.start(), g.end()))
                    .or(Some((start, end)))
            };
            let Some(secret) = secret.filter(|s| s.1 > s.0) else {
                continue;
            };
            if self.entropy > 0.0 {
                let text = String::from_utf8_lossy(&input[secret.0..secret.1]);
                if entropy(&text) <= self.entropy {
                    continue;
                }
            }
            out.push(RuleMatch {
                whole: (start, end),
                secret,
            });
        }
        out
    }
}

/// The lines a span is on, without the final newline.
pub fn lines_of(input: &[u8], (start, end): (usize, usize)) -> (usize, usize) {
    let from = memchr::memrchr(b'\n', &input[..start]).map_or(0, |i| i + 1);
    let to = memchr::memchr(b'\n', &input[end..]).map_or(input.len(), |i| end + i);
    (from, to)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(regex: &str, secret_group: usize, entropy: f64, id: &str) -> CustomRule {
        CustomRule {
            id: id.into(),
            description: id.into(),
            pattern: Some(regex.into()),
            regex: Some(Regex::new(regex).unwrap()),
            secret_group,
            entropy,
            path: None,
            keywords: Vec::new(),
            tags: Vec::new(),
            allowlists: Vec::new(),
            source: String::new(),
        }
    }

    fn secrets(r: &CustomRule, input: &str) -> Vec<String> {
        r.matches(input.as_bytes())
            .iter()
            .map(|m| input[m.secret.0..m.secret.1].to_owned())
            .collect()
    }

    #[test]
    fn the_secret_is_the_group_asked_for_else_the_first_non_empty_one() {
        let r = rule(r"(?:tok|key)_(x)?([a-z0-9]{6})", 0, 0.0, "t");
        assert_eq!(secrets(&r, "tok_abc123 key_xqwe456"), ["abc123", "x"]);
        let r = rule(r"(?:tok|key)_(x)?([a-z0-9]{6})", 2, 0.0, "t");
        assert_eq!(secrets(&r, "tok_abc123 key_xqwe456"), ["abc123", "qwe456"]);
        let r = rule(r"tok_[a-z]{3}", 0, 0.0, "t");
        assert_eq!(secrets(&r, "\ntok_abc\n"), ["tok_abc"]);
    }

    #[test]
    fn entropy_at_the_threshold_drops() {
        // "abcdefgh" has entropy 3.0 exactly.
        assert!((entropy("abcdefgh") - 3.0).abs() < 1e-9);
        let r = rule(r"e=([a-z0-9]{8})", 0, 3.0, "custom");
        assert!(secrets(&r, "e=abcdefgh").is_empty());
        let r = rule(r"e=([a-z0-9]{8})", 0, 2.9, "custom");
        assert_eq!(secrets(&r, "e=abcdefgh"), ["abcdefgh"]);
        let r = rule(r"e=([a-z0-9]{8})", 0, 2.9, "generic-x");
        assert_eq!(secrets(&r, "e=abcdefgh e=aaaaaaaa"), ["abcdefgh"]);
    }

    fn list(
        and: bool,
        paths: &[&str],
        regexes: &[&str],
        stopwords: &[&str],
        commits: &[&str],
    ) -> Allowlist {
        Allowlist {
            and,
            commits: commits.iter().map(|s| s.to_string()).collect(),
            paths: paths.iter().map(|p| Regex::new(p).unwrap()).collect(),
            target: Target::Secret,
            regexes: regexes.iter().map(|p| Regex::new(p).unwrap()).collect(),
            stopwords: stopwords.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn or_allows_on_any_criterion_and_on_every_one() {
        let t = Texts {
            secret: b"Sample123",
            whole: b"k = Sample123",
            line: b"k = Sample123 # x",
        };
        let or = list(false, &["^tests/"], &["^nomatch$"], &["sample"], &[]);
        assert_eq!(or.verdict(&["src/a.rs"], t), Verdict::Allowed);
        let and = list(true, &["^tests/"], &[], &["sample"], &[]);
        assert_eq!(and.verdict(&["src/a.rs"], t), Verdict::No);
        assert_eq!(and.verdict(&["tests/a.rs"], t), Verdict::Allowed);
        // A blob at an allowed and a non-allowed path stays reported.
        assert_eq!(and.verdict(&["tests/a.rs", "src/a.rs"], t), Verdict::No);
        let with_commit = list(true, &["^tests/"], &[], &[], &["abc"]);
        assert!(matches!(
            with_commit.verdict(&["tests/a.rs"], t),
            Verdict::IfCommit(_)
        ));
        assert_eq!(with_commit.verdict(&["src/a.rs"], t), Verdict::No);
        let only_commit = list(false, &[], &[], &[], &["abc"]);
        assert!(matches!(
            only_commit.verdict(&["src/a.rs"], t),
            Verdict::IfCommit(_)
        ));
    }
}
