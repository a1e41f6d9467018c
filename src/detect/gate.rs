//! The run gate: a necessary condition on a rule's windows, checked before its regex is built
//! or run.
//!
//! A rule's secret (capture group 1) is at least `min` bytes long, and every byte of it is in a
//! set the pattern allows there. So a window that can hold a match holds a run of at least
//! `min` bytes from that set. A keyword that occurs in prose (`travis`, `stripe`, `token`) with no
//! such run nearby — no 22 characters of `[A-Za-z0-9_-]` in a row — cannot produce a finding,
//! and the rule's regex is neither built (a tenth of a millisecond for a large one) nor run.
//!
//! The gate is derived from the pattern's syntax tree, so it holds for every rule, user rules
//! included, and it can only skip windows the regex would find nothing in.

use regex_syntax::hir::{Class, Hir, HirKind};

/// Runs shorter than this are too common to be worth checking for.
const MIN_USEFUL: usize = 6;

/// The necessary condition of one rule.
#[derive(Debug, Clone)]
pub struct Gate {
    /// The bytes the secret may contain, as a 256-bit set.
    bytes: [u64; 4],
    /// The secret's minimum length; 0 means the gate admits everything.
    min: usize,
}

impl Gate {
    /// The gate of a pattern (in the dialect rules are compiled with). A pattern that does not
    /// parse, has no group 1, or whose secret is short or of almost any byte admits everything.
    pub fn of(pattern: &str) -> Gate {
        let open = Gate {
            bytes: [u64::MAX; 4],
            min: 0,
        };
        let Ok(hir) = regex_syntax::ParserBuilder::new()
            .unicode(false)
            .utf8(false)
            .build()
            .parse(pattern)
        else {
            return open;
        };
        let Some(secret) = group_one(&hir) else {
            return open;
        };
        let min = secret.properties().minimum_len().unwrap_or(0);
        let mut gate = Gate { bytes: [0; 4], min };
        gate.add(secret);
        let width: u32 = gate.bytes.iter().map(|w| w.count_ones()).sum();
        // Why: a run of 6 bytes from nearly every byte is in every window; the scan would
        // cost and never skip.
        if min < MIN_USEFUL || width > 200 {
            return open;
        }
        gate
    }

    /// The gate as plain data: the secret's minimum length and its byte set (for the gates of
    /// the built-in rules, which the build script derives).
    pub fn parts(&self) -> (usize, [u64; 4]) {
        (self.min, self.bytes)
    }

    /// The gate from [`Gate::parts`].
    pub fn from_parts((min, bytes): (usize, [u64; 4])) -> Gate {
        Gate { bytes, min }
    }

    /// Whether any window of `input` holds a run that the secret could be.
    pub fn admits(&self, input: &[u8], windows: &[(usize, usize)]) -> bool {
        self.min == 0
            || windows
                .iter()
                .any(|&(start, end)| self.has_run(&input[start..end]))
    }

    #[inline(always)]
    fn contains(&self, b: u8) -> bool {
        self.bytes[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    /// Whether `hay` holds `min` bytes of the set in a row. It looks at the last byte of each
    /// candidate run first, so that a byte outside the set skips `min` bytes at once.
    fn has_run(&self, hay: &[u8]) -> bool {
        let min = self.min;
        let mut end = min - 1;
        while end < hay.len() {
            if !self.contains(hay[end]) {
                end += min;
                continue;
            }
            let low = end + 1 - min;
            let mut start = end;
            while start > low && self.contains(hay[start - 1]) {
                start -= 1;
            }
            if start == low {
                return true;
            }
            // Why: hay[start - 1] is outside the set, so a run must begin at `start` or later.
            end = start - 1 + min;
        }
        false
    }

    /// Adds every byte that `hir` can match to the set.
    fn add(&mut self, hir: &Hir) {
        match hir.kind() {
            HirKind::Empty | HirKind::Look(_) => {}
            HirKind::Literal(lit) => lit.0.iter().for_each(|&b| self.insert(b, b)),
            HirKind::Class(Class::Bytes(c)) => {
                c.ranges()
                    .iter()
                    .for_each(|r| self.insert(r.start(), r.end()));
            }
            HirKind::Class(Class::Unicode(c)) => {
                for r in c.ranges() {
                    let (start, end) = (u32::from(r.start()), u32::from(r.end()));
                    if let (Ok(start), Ok(end)) = (u8::try_from(start), u8::try_from(end.min(0x7F)))
                        && start <= 0x7F
                    {
                        self.insert(start, end);
                    }
                    // Why: a character above U+007F is encoded with bytes 0x80 and above.
                    if end >= 0x80 {
                        self.insert(0x80, 0xFF);
                    }
                }
            }
            HirKind::Repetition(rep) => self.add(&rep.sub),
            HirKind::Capture(cap) => self.add(&cap.sub),
            HirKind::Concat(subs) | HirKind::Alternation(subs) => {
                subs.iter().for_each(|s| self.add(s));
            }
        }
    }

    fn insert(&mut self, start: u8, end: u8) {
        for b in start..=end {
            self.bytes[usize::from(b >> 6)] |= 1 << (b & 63);
        }
    }
}

/// The capture group with index 1.
fn group_one(hir: &Hir) -> Option<&Hir> {
    match hir.kind() {
        HirKind::Capture(cap) if cap.index == 1 => Some(hir),
        HirKind::Capture(cap) => group_one(&cap.sub),
        HirKind::Repetition(rep) => group_one(&rep.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().find_map(group_one),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admits(pattern: &str, text: &str) -> bool {
        Gate::of(pattern).admits(text.as_bytes(), &[(0, text.len())])
    }

    #[test]
    fn needs_a_run_as_long_as_the_secret() {
        let p = r"travis.{0,40}?\b([A-Za-z0-9_-]{22})\b";
        assert!(!admits(p, "We run on Travis CI and GitHub Actions."));
        assert!(admits(p, "travis_token = abcdefghijABCDEFGHIJ_-"));
        // One byte short of the run.
        assert!(!admits(p, "travis_token = abcdefghijABCDEFGHIJ_"));
    }

    #[test]
    fn the_run_may_sit_anywhere_in_any_window() {
        let g = Gate::of(r"k([0-9a-f]{8})");
        let text = b"zz 0123 zz 89abcdef zz";
        assert!(!g.admits(text, &[(0, 9)]));
        assert!(g.admits(text, &[(0, 9), (10, text.len())]));
        assert!(g.admits(b"89abcdef", &[(0, 8)]));
        assert!(!g.admits(b"89abcde", &[(0, 7)]));
        // Runs broken just before the end and just after the start.
        assert!(g.admits(b"x9abcdefz0123456789", &[(0, 19)]));
        assert!(!g.admits(b"0123456z8abcdefz", &[(0, 16)]));
    }

    #[test]
    fn literals_and_alternations_inside_the_secret_count() {
        let p = r"\b((?:ghp|gho)_[A-Za-z0-9]{36})\b";
        let token = format!("gho_{}", "a1".repeat(18));
        assert!(admits(p, &format!("token: {token}")));
        assert!(!admits(p, "a ghp_ prefix alone"));
    }

    #[test]
    fn short_or_wide_secrets_and_odd_patterns_admit_everything() {
        assert!(admits(r"password=([^\s]{4,})", ""));
        assert!(admits(r"pw=(.{8,})", "pw"));
        assert!(admits(r"no group here", ""));
        assert!(admits(r"(unclosed", ""));
    }

    #[test]
    fn case_insensitive_secrets_fold_into_the_set() {
        let p = r"(?i)key=(abcdef[0-9]{2})";
        assert!(admits(p, "KEY=ABCDEF12"));
    }
}
