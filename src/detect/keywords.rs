//! The keyword automaton: an Aho-Corasick DFA over ASCII-case-folded keyword prefixes, as
//! plain tables.
//!
//! It is built here rather than by a crate so that the tables for the built-in rules can be
//! computed once, at build time (`build.rs` includes this file), and linked into the binary as
//! static data: start-up pays nothing for them. Rules added at run time get the same tables
//! built on the spot.
//!
//! Layout: every byte maps to a class (bytes that occur in no keyword share class 0; a letter
//! and its other case share one). A state is a row of `1 << shift` entries in `trans`, and a
//! state id is the index of its row's first entry, so a step is one add and one load. Match
//! states come first: a state matches iff its id is below `match_limit`, and the patterns it
//! reports are `patterns[offsets[i]..offsets[i + 1]]` for `i = id >> shift`.

use std::borrow::Cow;

/// The longest keyword prefix the automaton holds, in bytes.
pub const KEYWORD_PREFIX: usize = 8;

/// A keyword cut to [`KEYWORD_PREFIX`] bytes (at a character boundary).
pub fn truncate(kw: &str) -> &str {
    let mut end = kw.len().min(KEYWORD_PREFIX);
    while !kw.is_char_boundary(end) {
        end -= 1;
    }
    &kw[..end]
}

/// The tables of one keyword automaton (see the module docs).
#[derive(Debug, Clone)]
pub struct Tables {
    /// Byte to class.
    pub classes: Cow<'static, [u8]>,
    /// log2 of the row length.
    pub shift: u32,
    /// Transitions: `trans[state + class]` is the next state.
    pub trans: Cow<'static, [u32]>,
    /// The start state.
    pub start: u32,
    /// States below this id are match states.
    pub match_limit: u32,
    /// Per match state (by row number), where its patterns start in `patterns`; one more entry
    /// closes the last.
    pub offsets: Cow<'static, [u32]>,
    /// Pattern indices reported by the match states.
    pub patterns: Cow<'static, [u32]>,
    /// Each pattern's length in bytes.
    pub lens: Cow<'static, [u8]>,
}

impl Tables {
    /// Builds the automaton over `keywords` (compared ASCII-case-insensitively; each at most
    /// [`KEYWORD_PREFIX`] bytes and non-empty). Pattern `i` is `keywords[i]`.
    pub fn build(keywords: &[&[u8]]) -> Tables {
        const NONE: u32 = u32::MAX;
        let mut classes = [0u8; 256];
        let mut next_class = 1usize;
        for kw in keywords {
            for &b in *kw {
                let f = b.to_ascii_lowercase();
                if classes[f as usize] == 0 {
                    classes[f as usize] = u8::try_from(next_class)
                        .expect("at most 255 distinct keyword bytes because there are 256 bytes");
                    next_class += 1;
                }
            }
        }
        for b in 0..=255u8 {
            classes[b as usize] = classes[b.to_ascii_lowercase() as usize];
        }
        let shift = next_class.next_power_of_two().trailing_zeros();
        let stride = 1usize << shift;

        // The trie, as dense rows of child node numbers (NONE where there is no child).
        let mut child: Vec<u32> = vec![NONE; stride];
        let mut out: Vec<Vec<u32>> = vec![Vec::new()];
        for (p, kw) in keywords.iter().enumerate() {
            let mut node = 0usize;
            for &b in *kw {
                let c = classes[b as usize] as usize;
                if child[node * stride + c] == NONE {
                    let n = out.len();
                    out.push(Vec::new());
                    child.extend(std::iter::repeat_n(NONE, stride));
                    child[node * stride + c] = u32::try_from(n).expect("fewer than 2^32 nodes");
                }
                node = child[node * stride + c] as usize;
            }
            let p = u32::try_from(p).expect("fewer than 2^32 keywords");
            if !out[node].contains(&p) {
                out[node].push(p);
            }
        }

        // Breadth first: failure links, inherited outputs, and the full transition function
        // (a missing child goes where the failure state goes, which is shallower, so done).
        let nodes = out.len();
        let mut delta = child;
        let mut fail = vec![0u32; nodes];
        let mut queue = std::collections::VecDeque::new();
        for v in &mut delta[..stride] {
            if *v == NONE {
                *v = 0;
            } else {
                fail[*v as usize] = 0;
                queue.push_back(*v as usize);
            }
        }
        while let Some(u) = queue.pop_front() {
            let f = fail[u] as usize;
            let inherited = out[f].clone();
            for p in inherited {
                if !out[u].contains(&p) {
                    out[u].push(p);
                }
            }
            for c in 0..stride {
                let v = delta[u * stride + c];
                let via_fail = delta[f * stride + c];
                if v == NONE {
                    delta[u * stride + c] = via_fail;
                } else {
                    fail[v as usize] = via_fail;
                    queue.push_back(v as usize);
                }
            }
        }

        // Renumber: match states first, then the rest; ids premultiplied by the stride.
        let mut order: Vec<usize> = (0..nodes).filter(|&n| !out[n].is_empty()).collect();
        let matching = order.len();
        order.extend((0..nodes).filter(|&n| out[n].is_empty()));
        let mut id_of = vec![0u32; nodes];
        for (new, &old) in order.iter().enumerate() {
            id_of[old] = u32::try_from(new << shift).expect("the automaton has under 2^32 entries");
        }
        let mut trans = Vec::with_capacity(nodes * stride);
        let mut offsets = Vec::with_capacity(matching + 1);
        let mut patterns = Vec::new();
        for &old in &order {
            trans.extend(
                delta[old * stride..(old + 1) * stride]
                    .iter()
                    .map(|&t| id_of[t as usize]),
            );
        }
        for &old in &order[..matching] {
            offsets.push(u32::try_from(patterns.len()).expect("fewer than 2^32 outputs"));
            let mut ps = out[old].clone();
            ps.sort_unstable();
            patterns.extend(ps);
        }
        offsets.push(u32::try_from(patterns.len()).expect("fewer than 2^32 outputs"));
        Tables {
            classes: Cow::Owned(classes.to_vec()),
            shift,
            trans: Cow::Owned(trans),
            start: id_of[0],
            match_limit: u32::try_from(matching << shift).expect("under 2^32 entries"),
            offsets: Cow::Owned(offsets),
            patterns: Cow::Owned(patterns),
            lens: Cow::Owned(
                keywords
                    .iter()
                    .map(|k| u8::try_from(k.len()).expect("keywords are cut to a few bytes"))
                    .collect(),
            ),
        }
    }

    /// The state after `s` reads `b`.
    #[inline(always)]
    pub fn next(&self, s: u32, b: u8) -> u32 {
        self.trans[s as usize + self.classes[b as usize] as usize]
    }

    /// Whether `s` reports patterns.
    #[inline(always)]
    pub fn is_match(&self, s: u32) -> bool {
        s < self.match_limit
    }

    /// The patterns a match state reports.
    #[inline(always)]
    pub fn patterns_of(&self, s: u32) -> &[u32] {
        let i = (s >> self.shift) as usize;
        &self.patterns[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    /// The longest pattern, in bytes.
    pub fn max_len(&self) -> usize {
        self.lens.iter().copied().max().unwrap_or(0) as usize
    }
}
