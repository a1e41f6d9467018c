//! The keyword prefilter: one Aho-Corasick automaton over every keyword of every rule.
//!
//! Matching is ASCII case-insensitive and overlapping, so that `secret` and `client_secret` both
//! report. Each automaton pattern maps to the rules that listed that keyword.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::rules::RuleSet;

/// The compiled prefilter.
#[derive(Debug, Clone)]
pub struct Prefilter {
    ac: AhoCorasick,
    /// For each automaton pattern, the indices of the rules that use it.
    rules_of: Vec<Vec<u32>>,
}

impl Prefilter {
    /// Builds the automaton over every rule's keywords: a DFA (fastest search, ~5 ms to build
    /// over the built-in keywords) or, for `small_inputs`, a contiguous NFA (a third of the
    /// build time, a third of the search speed: the better trade for a pre-commit hook).
    pub fn new(rules: &RuleSet, small_inputs: bool) -> Prefilter {
        let mut keywords: Vec<String> = Vec::new();
        let mut rules_of: Vec<Vec<u32>> = Vec::new();
        let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for (i, rule) in rules.rules().iter().enumerate() {
            if rule.decoded || rule.engine.is_some() {
                continue;
            }
            for kw in &rule.keywords {
                // Why: a keyword's first bytes occur wherever the keyword does, so a prefix
                // selects a superset of the inputs, and the regex still decides. Prefixes keep
                // the automaton small (it is searched byte by byte: a larger one misses the
                // cache), and many long keywords share one.
                let kw = truncate(kw);
                // Why: a map, not a scan of the list: a thousand rules have twice as many
                // keywords, and start-up is on the pre-commit path.
                let idx = *index.entry(kw).or_insert_with(|| {
                    keywords.push(kw.to_owned());
                    rules_of.push(Vec::new());
                    keywords.len() - 1
                });
                let rule_idx = u32::try_from(i)
                    .expect("fewer than 2^32 rules because each is parsed from text");
                if !rules_of[idx].contains(&rule_idx) {
                    rules_of[idx].push(rule_idx);
                }
            }
        }
        let kind = if small_inputs {
            AhoCorasickKind::ContiguousNFA
        } else {
            AhoCorasickKind::DFA
        };
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(kind))
            .build(&keywords)
            .expect("keyword automaton builds because keywords are non-empty literals");
        Prefilter { ac, rules_of }
    }

    /// Calls `hit(rule_index, start, end)` for every keyword occurrence, in order of end offset.
    #[inline]
    pub fn for_each_hit(&self, haystack: &[u8], mut hit: impl FnMut(usize, usize, usize)) {
        for m in self.ac.find_overlapping_iter(haystack) {
            for &r in &self.rules_of[m.pattern().as_usize()] {
                hit(r as usize, m.start(), m.end());
            }
        }
    }

    /// Whether any keyword occurs at all (for benchmarks and quick rejection).
    pub fn is_match(&self, haystack: &[u8]) -> bool {
        self.ac.is_match(haystack)
    }
}

/// The longest keyword prefix the automaton holds, in bytes.
pub const KEYWORD_PREFIX: usize = 8;

/// A keyword cut to [`KEYWORD_PREFIX`] bytes (at a character boundary).
fn truncate(kw: &str) -> &str {
    let mut end = kw.len().min(KEYWORD_PREFIX);
    while !kw.is_char_boundary(end) {
        end -= 1;
    }
    &kw[..end]
}
