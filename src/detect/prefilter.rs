//! The keyword prefilter: one Aho-Corasick automaton over every keyword of every rule.
//!
//! Matching is ASCII case-insensitive and overlapping, so that `secret` and `client_secret` both
//! report. Each automaton pattern maps to the rules that listed that keyword.
//!
//! The automaton is a DFA ([`keywords::Tables`]); for the built-in rules its tables are computed
//! at build time, so a scan does not build it. It is walked in four lanes at once: a DFA search
//! is one dependent table load per byte, so a single walk waits on memory latency, while four
//! independent walks over four quarters of the input keep the core busy (2.2× the single-walk
//! throughput on the cargo registry sources).

use std::borrow::Cow;
use std::collections::HashMap;

use super::keywords::{self, Tables};
use crate::rules::RuleSet;

mod builtin {
    include!(concat!(env!("OUT_DIR"), "/builtin_keywords.rs"));
}

/// The compiled prefilter.
#[derive(Debug, Clone)]
pub struct Prefilter {
    tables: Tables,
    /// For each automaton pattern, the indices of the rules that use it.
    rules_of: Vec<Vec<u32>>,
}

/// Reusable buffers for [`Prefilter::for_each_hit`].
#[derive(Debug, Default)]
pub struct Hits {
    /// `(pattern, end)` of every keyword occurrence, in order of end offset.
    all: Vec<(u32, usize)>,
    /// The occurrences found by lanes 1 to 3, appended to `all` after lane 0's.
    lanes: [Vec<(u32, usize)>; LANES - 1],
}

/// How many walks run side by side.
const LANES: usize = 4;
/// Inputs shorter than this are walked in one lane (the split would not pay).
const MIN_LANE: usize = 1024;

impl Prefilter {
    /// The automaton over every rule's keywords: the built-in tables if they hold every
    /// keyword (the built-in rules, less any disabled), else tables built now.
    pub fn new(rules: &RuleSet) -> Prefilter {
        let mut wanted: Vec<&str> = Vec::new();
        let mut rules_of_kw: Vec<Vec<u32>> = Vec::new();
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, rule) in rules.rules().iter().enumerate() {
            if rule.decoded || rule.engine.is_some() || rule.gitleaks.is_some() {
                continue;
            }
            for kw in &rule.keywords {
                // Why: a keyword's first bytes occur wherever the keyword does, so a prefix
                // selects a superset of the inputs, and the regex still decides. Prefixes keep
                // the automaton small, and many long keywords share one.
                let kw = keywords::truncate(kw);
                let idx = *index.entry(kw).or_insert_with(|| {
                    wanted.push(kw);
                    rules_of_kw.push(Vec::new());
                    wanted.len() - 1
                });
                let rule_idx = u32::try_from(i)
                    .expect("fewer than 2^32 rules because each is parsed from text");
                if !rules_of_kw[idx].contains(&rule_idx) {
                    rules_of_kw[idx].push(rule_idx);
                }
            }
        }
        let builtin: HashMap<&str, usize> = builtin::KEYWORDS
            .iter()
            .enumerate()
            .map(|(i, k)| (*k, i))
            .collect();
        if wanted.iter().all(|k| builtin.contains_key(k)) {
            let mut rules_of = vec![Vec::new(); builtin::KEYWORDS.len()];
            for (kw, rs) in wanted.iter().zip(rules_of_kw) {
                rules_of[builtin[kw]] = rs;
            }
            return Prefilter {
                tables: Tables {
                    classes: Cow::Borrowed(&builtin::CLASSES),
                    shift: builtin::SHIFT,
                    trans: Cow::Borrowed(&builtin::TRANS),
                    start: builtin::START,
                    match_limit: builtin::MATCH_LIMIT,
                    offsets: Cow::Borrowed(&builtin::OFFSETS),
                    patterns: Cow::Borrowed(&builtin::PATTERNS),
                    lens: Cow::Borrowed(&builtin::LENS),
                },
                rules_of,
            };
        }
        let bytes: Vec<&[u8]> = wanted.iter().map(|k| k.as_bytes()).collect();
        Prefilter {
            tables: Tables::build(&bytes),
            rules_of: rules_of_kw,
        }
    }

    /// Calls `hit(rule_index, start, end)` for every keyword occurrence, in order of end offset.
    #[inline]
    pub fn for_each_hit(
        &self,
        haystack: &[u8],
        hits: &mut Hits,
        mut hit: impl FnMut(usize, usize, usize),
    ) {
        walk_lanes(&self.tables, haystack, hits);
        for &(p, end) in &hits.all {
            let p = p as usize;
            let start = end - self.tables.lens[p] as usize;
            for &r in &self.rules_of[p] {
                hit(r as usize, start, end);
            }
        }
    }
}

/// Records the patterns that match in state `s`, ending at `end`.
#[inline(always)]
fn record(dfa: &Tables, s: u32, end: usize, out: &mut Vec<(u32, usize)>) {
    out.extend(dfa.patterns_of(s).iter().map(|&p| (p, end)));
}

/// One walk over `hay[from..to]`, recording matches that end after `report_from`.
#[inline(always)]
fn walk(
    dfa: &Tables,
    hay: &[u8],
    mut s: u32,
    (from, to): (usize, usize),
    report_from: usize,
    out: &mut Vec<(u32, usize)>,
) -> u32 {
    for (pos, &b) in hay[from..to].iter().enumerate() {
        let pos = from + pos;
        s = dfa.next(s, b);
        if dfa.is_match(s) && pos >= report_from {
            record(dfa, s, pos + 1, out);
        }
    }
    s
}

/// Every overlapping match of `dfa` in `hay`, into `hits.all` in order of end offset.
///
/// The input is cut into four quarters. Lane `j` starts its walk `max_len - 1` bytes before
/// its quarter, so that it has seen the start of every keyword that ends inside the quarter,
/// and records only the matches that end inside it: each match is recorded once.
fn walk_lanes(dfa: &Tables, hay: &[u8], hits: &mut Hits) {
    hits.all.clear();
    let n = hay.len();
    if n < MIN_LANE * LANES {
        walk(dfa, hay, dfa.start, (0, n), 0, &mut hits.all);
        return;
    }
    let overlap = dfa.max_len().saturating_sub(1);
    let quarter = n / LANES;
    // Lane j records matches ending in bounds[j]..bounds[j + 1] and starts at from[j].
    let bounds = [0, quarter, 2 * quarter, 3 * quarter, n];
    let from = [
        0,
        quarter - overlap,
        2 * quarter - overlap,
        3 * quarter - overlap,
    ];
    let [l1, l2, l3] = &mut hits.lanes;
    l1.clear();
    l2.clear();
    l3.clear();
    let (h0, h1, h2, h3) = (
        &hay[..quarter],
        &hay[from[1]..from[1] + quarter],
        &hay[from[2]..from[2] + quarter],
        &hay[from[3]..from[3] + quarter],
    );
    let mut s = [dfa.start; LANES];
    for i in 0..quarter {
        s[0] = dfa.next(s[0], h0[i]);
        s[1] = dfa.next(s[1], h1[i]);
        s[2] = dfa.next(s[2], h2[i]);
        s[3] = dfa.next(s[3], h3[i]);
        // Why: one test for the four lanes on the common path (no lane matches).
        if s[0].min(s[1]).min(s[2]).min(s[3]) < dfa.match_limit {
            if dfa.is_match(s[0]) {
                record(dfa, s[0], i + 1, &mut hits.all);
            }
            if dfa.is_match(s[1]) && from[1] + i >= bounds[1] {
                record(dfa, s[1], from[1] + i + 1, l1);
            }
            if dfa.is_match(s[2]) && from[2] + i >= bounds[2] {
                record(dfa, s[2], from[2] + i + 1, l2);
            }
            if dfa.is_match(s[3]) && from[3] + i >= bounds[3] {
                record(dfa, s[3], from[3] + i + 1, l3);
            }
        }
    }
    // Each lane has walked `quarter` bytes; the tails run one lane at a time, in order.
    walk(dfa, hay, s[0], (quarter, bounds[1]), 0, &mut hits.all);
    for (j, lane) in [l1, l2, l3].into_iter().enumerate() {
        let j = j + 1;
        walk(
            dfa,
            hay,
            s[j],
            (from[j] + quarter, bounds[j + 1]),
            bounds[j],
            lane,
        );
        hits.all.extend_from_slice(lane);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aho_corasick::AhoCorasick;

    /// Every overlapping occurrence, as the aho-corasick crate finds it.
    fn oracle(keywords: &[&str], hay: &[u8]) -> Vec<(u32, usize)> {
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(keywords)
            .expect("builds");
        let mut v: Vec<(u32, usize)> = ac
            .find_overlapping_iter(hay)
            .map(|m| (m.pattern().as_u32(), m.end()))
            .collect();
        v.sort_unstable_by_key(|&(p, e)| (e, p));
        v
    }

    fn found(dfa: &Tables, hay: &[u8]) -> Vec<(u32, usize)> {
        let mut hits = Hits::default();
        walk_lanes(dfa, hay, &mut hits);
        assert!(
            hits.all.windows(2).all(|w| w[0].1 <= w[1].1),
            "in end order"
        );
        let mut got = hits.all;
        got.sort_unstable_by_key(|&(p, e)| (e, p));
        got
    }

    /// The four-lane walk over our tables finds exactly what the crate's overlapping search
    /// finds, at quarter boundaries too, for keywords that nest, overlap and repeat.
    #[test]
    fn lanes_match_the_overlapping_search() {
        let keywords = [
            "secret",
            "client_secret",
            "ab",
            "abab",
            "key",
            "xyzzy",
            "Q~",
            "é_k",
        ];
        let lower: Vec<String> = keywords.iter().map(|k| k.to_ascii_lowercase()).collect();
        let lower: Vec<&[u8]> = lower.iter().map(|k| k.as_bytes()).collect();
        let dfa = Tables::build(&lower);
        assert_eq!(dfa.max_len(), 13);
        for n in [10, 4095, 4096, 4097, 6001, 20_011] {
            let mut hay = vec![b'.'; n];
            let boundaries = [
                (n / 4).saturating_sub(3),
                n / 2 - 1,
                (3 * n / 4).saturating_sub(5),
            ];
            for at in (0..n).step_by(97).chain(boundaries) {
                let word: &[u8] = match at % 5 {
                    0 => b"Client_SECRET",
                    1 => b"ababab",
                    2 => b"kEy",
                    3 => "q~é_K".as_bytes(),
                    _ => b"xyzzy",
                };
                let end = (at + word.len()).min(n);
                hay[at..end].copy_from_slice(&word[..end - at]);
            }
            let want = oracle(&keywords, &hay);
            assert!(!want.is_empty());
            assert_eq!(found(&dfa, &hay), want, "length {n}");
        }
    }

    /// The built-in tables, generated by build.rs, agree with the crate on real text.
    #[test]
    fn builtin_tables_match_the_overlapping_search() {
        let rules = RuleSet::builtin().expect("built-in rules load");
        let pre = Prefilter::new(&rules);
        assert!(
            matches!(pre.tables.trans, Cow::Borrowed(_)),
            "uses the build-time tables"
        );
        let mut hay = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
            .expect("README is readable");
        hay.extend_from_slice(b"AKIA sk_live_ ghp_ xoxb- -----BEGIN");
        let want = oracle(builtin::KEYWORDS, &hay);
        assert!(want.len() > 100);
        assert_eq!(found(&pre.tables, &hay), want);
    }

    /// Rules outside the built-in set get tables built at run time, and their hits.
    #[test]
    fn extra_keywords_build_tables_at_run_time() {
        let mut rules = RuleSet::default();
        rules
            .add_text(
                "x.yml",
                r#"
provider: Test
remediation: { revoke: "revoke it", rotate: "rotate it" }
rules:
  - id: test.zzqx
    name: Zzqx token
    keywords: [ZZQX_]
    pattern: '(zzqx_[a-z]{8})'
    severity: high
    examples: ['zzqx_abcdefgh']
    negative_examples: ['zzqx_']
"#,
                false,
            )
            .expect("rule loads");
        let pre = Prefilter::new(&rules);
        assert!(matches!(pre.tables.trans, Cow::Owned(_)));
        let mut hits = Hits::default();
        let mut seen = Vec::new();
        pre.for_each_hit(b"a ZZQX_abcdefgh b", &mut hits, |r, s, e| {
            seen.push((r, s, e))
        });
        assert_eq!(seen, vec![(0, 2, 7)]);
    }
}
