//! The keyword prefilter: one Aho-Corasick automaton over every keyword of every rule.
//!
//! Matching is ASCII case-insensitive and overlapping, so that `secret` and `client_secret` both
//! report. Each automaton pattern maps to the rules that listed that keyword.
//!
//! For large inputs the automaton is a DFA walked by our own loop over four lanes at once: a
//! DFA search is one dependent table load per byte, so a single walk waits on memory latency,
//! while four independent walks over four quarters of the input keep the core busy (2.2× the
//! single-walk throughput on the cargo registry sources).

use aho_corasick::automaton::{Automaton, StateID};
use aho_corasick::dfa::DFA;
use aho_corasick::{AhoCorasick, AhoCorasickKind, Anchored, MatchKind, StartKind};

use crate::rules::RuleSet;

/// The compiled prefilter.
#[derive(Debug, Clone)]
pub struct Prefilter {
    engine: Engine,
    /// For each automaton pattern, the indices of the rules that use it.
    rules_of: Vec<Vec<u32>>,
    /// For each automaton pattern, its length in bytes.
    lens: Vec<u32>,
}

#[derive(Debug, Clone)]
enum Engine {
    /// Searched by [`walk_lanes`]: fastest search, ~10 ms to build over the built-in keywords.
    Dfa(Box<DFA>),
    /// A third of the build time, a third of the search speed: the better trade for a few
    /// small inputs.
    Nfa(AhoCorasick),
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
    /// Builds the automaton over every rule's keywords: a DFA, or for `small_inputs` a
    /// contiguous NFA.
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
                // the automaton small, and many long keywords share one.
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
        let lens = keywords
            .iter()
            .map(|k| u32::try_from(k.len()).expect("keywords are cut to a few bytes"))
            .collect();
        let engine = if small_inputs {
            Engine::Nfa(
                AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    .kind(Some(AhoCorasickKind::ContiguousNFA))
                    .build(&keywords)
                    .expect("keyword automaton builds because keywords are non-empty literals"),
            )
        } else {
            Engine::Dfa(Box::new(
                DFA::builder()
                    .ascii_case_insensitive(true)
                    .match_kind(MatchKind::Standard)
                    // Why: without a prefilter the start state is not special, so the walk
                    // leaves its fast path only at matches.
                    .prefilter(false)
                    .start_kind(StartKind::Unanchored)
                    .build(&keywords)
                    .expect("keyword automaton builds because keywords are non-empty literals"),
            ))
        };
        Prefilter {
            engine,
            rules_of,
            lens,
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
        hits.all.clear();
        match &self.engine {
            Engine::Dfa(dfa) => walk_lanes(dfa, haystack, hits),
            Engine::Nfa(ac) => hits.all.extend(
                ac.find_overlapping_iter(haystack)
                    .map(|m| (m.pattern().as_u32(), m.end())),
            ),
        }
        for &(p, end) in &hits.all {
            let p = p as usize;
            let start = end - self.lens[p] as usize;
            for &r in &self.rules_of[p] {
                hit(r as usize, start, end);
            }
        }
    }
}

/// Records the patterns that match in state `s`, ending at `end`.
#[inline(always)]
fn record(dfa: &DFA, s: StateID, end: usize, out: &mut Vec<(u32, usize)>) {
    for k in 0..dfa.match_len(s) {
        out.push((dfa.match_pattern(s, k).as_u32(), end));
    }
}

/// One walk over `hay[from..to]`, recording matches that end after `report_from`.
#[inline(always)]
fn walk(
    dfa: &DFA,
    hay: &[u8],
    mut s: StateID,
    (from, to): (usize, usize),
    report_from: usize,
    out: &mut Vec<(u32, usize)>,
) {
    for (pos, &b) in hay[from..to].iter().enumerate() {
        let pos = from + pos;
        s = dfa.next_state(Anchored::No, s, b);
        if dfa.is_special(s) && dfa.is_match(s) && pos >= report_from {
            record(dfa, s, pos + 1, out);
        }
    }
}

/// Every overlapping match of `dfa` in `hay`, into `hits.all` in order of end offset.
///
/// The input is cut into four quarters. Lane `j` starts its walk `max_pattern_len - 1` bytes
/// before its quarter, so that it has seen the start of every keyword that ends inside the
/// quarter, and records only the matches that end inside it: each match is recorded once.
fn walk_lanes(dfa: &DFA, hay: &[u8], hits: &mut Hits) {
    let start = dfa
        .start_state(Anchored::No)
        .expect("the DFA is built with an unanchored start state");
    let n = hay.len();
    if n < MIN_LANE * LANES {
        walk(dfa, hay, start, (0, n), 0, &mut hits.all);
        return;
    }
    let overlap = dfa.max_pattern_len().saturating_sub(1);
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
    let (mut s0, mut s1, mut s2, mut s3) = (start, start, start, start);
    for i in 0..quarter {
        s0 = dfa.next_state(Anchored::No, s0, h0[i]);
        s1 = dfa.next_state(Anchored::No, s1, h1[i]);
        s2 = dfa.next_state(Anchored::No, s2, h2[i]);
        s3 = dfa.next_state(Anchored::No, s3, h3[i]);
        if dfa.is_special(s0) | dfa.is_special(s1) | dfa.is_special(s2) | dfa.is_special(s3) {
            if dfa.is_match(s0) {
                record(dfa, s0, i + 1, &mut hits.all);
            }
            if dfa.is_match(s1) && from[1] + i >= bounds[1] {
                record(dfa, s1, from[1] + i + 1, l1);
            }
            if dfa.is_match(s2) && from[2] + i >= bounds[2] {
                record(dfa, s2, from[2] + i + 1, l2);
            }
            if dfa.is_match(s3) && from[3] + i >= bounds[3] {
                record(dfa, s3, from[3] + i + 1, l3);
            }
        }
    }
    // Each lane has walked `quarter` bytes; the tails run one lane at a time, in order.
    let tails = [s0, s1, s2, s3];
    walk(dfa, hay, tails[0], (quarter, bounds[1]), 0, &mut hits.all);
    for (j, lane) in [l1, l2, l3].into_iter().enumerate() {
        let j = j + 1;
        walk(
            dfa,
            hay,
            tails[j],
            (from[j] + quarter, bounds[j + 1]),
            bounds[j],
            lane,
        );
        hits.all.extend_from_slice(lane);
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The four-lane walk finds exactly what the crate's own overlapping search finds, at
    /// quarter boundaries too.
    #[test]
    fn lanes_match_the_overlapping_search() {
        let keywords = ["secret", "client_secret", "ab", "abab", "key", "xyzzy"];
        let dfa = DFA::builder()
            .ascii_case_insensitive(true)
            .prefilter(false)
            .start_kind(StartKind::Unanchored)
            .build(keywords)
            .expect("builds");
        let ac = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(keywords)
            .expect("builds");
        // Keywords are placed across every quarter boundary of inputs of several lengths.
        for n in [10, 4095, 4096, 4097, 6001, 20_011] {
            let mut hay = vec![b'.'; n];
            for at in (0..n).step_by(97).chain([
                (n / 4).saturating_sub(3),
                n / 2 - 1,
                (3 * n / 4).saturating_sub(5),
            ]) {
                let word: &[u8] = match at % 4 {
                    0 => b"Client_SECRET",
                    1 => b"ababab",
                    2 => b"key",
                    _ => b"xyzzy",
                };
                let end = (at + word.len()).min(n);
                hay[at..end].copy_from_slice(&word[..end - at]);
            }
            let mut hits = Hits::default();
            walk_lanes(&dfa, &hay, &mut hits);
            let want: Vec<(u32, usize)> = ac
                .find_overlapping_iter(&hay)
                .map(|m| (m.pattern().as_u32(), m.end()))
                .collect();
            let mut got = hits.all.clone();
            assert!(got.windows(2).all(|w| w[0].1 <= w[1].1), "in end order");
            got.sort_unstable_by_key(|&(p, e)| (e, p));
            let mut want_sorted = want.clone();
            want_sorted.sort_unstable_by_key(|&(p, e)| (e, p));
            assert!(!want.is_empty());
            assert_eq!(got, want_sorted, "length {n}");
        }
    }
}
