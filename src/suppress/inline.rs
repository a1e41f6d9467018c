//! Inline suppressions: `leakhound:allow` on the line of a secret, or
//! `leakhound:allow-next-line` on the line before it, in any comment syntax (`#`, `//`, `--`,
//! `/* */`, `<!-- -->`, ...: only the marker text matters). gitleaks' `gitleaks:allow` and
//! Betterleaks' `betterleaks:allow` on the line of a secret are honoured too, so that a
//! repository moving over keeps its markers. `--no-inline-allow` turns them off.

/// The marker.
pub const ALLOW: &[u8] = b"leakhound:allow";
/// The same-line markers of gitleaks and Betterleaks.
const OTHER_TOOLS: [&[u8]; 2] = [b"gitleaks:allow", b"betterleaks:allow"];
const NEXT_LINE: &[u8] = b"-next-line";

/// Whether the secret starting at `offset` is allowed by an inline marker.
///
/// ```
/// use leakhound::suppress::inline::allowed;
/// let text = b"a = 1\nk = 'v' # leakhound:allow\n// leakhound:allow-next-line\nk2 = 'w'\nk3 = 'z'\n";
/// let at = |s: &str| text.windows(s.len()).position(|w| w == s.as_bytes()).unwrap();
/// assert!(allowed(text, at("'v'")));
/// assert!(allowed(text, at("'w'")));
/// assert!(!allowed(text, at("'z'")));
/// assert!(!allowed(b"x // leakhound:allow-next-line y", 0));
/// assert!(allowed(b"token = 'v' # gitleaks:allow", 8));
/// assert!(allowed(b"token = 'v' // betterleaks:allow", 8));
/// ```
pub fn allowed(input: &[u8], offset: usize) -> bool {
    let offset = offset.min(input.len());
    let start = memchr::memrchr(b'\n', &input[..offset]).map_or(0, |i| i + 1);
    let end = memchr::memchr(b'\n', &input[offset..]).map_or(input.len(), |i| offset + i);
    let line = &input[start..end];
    if has_marker(line, false)
        || OTHER_TOOLS
            .iter()
            .any(|m| memchr::memmem::find(line, m).is_some())
    {
        return true;
    }
    if start == 0 {
        return false;
    }
    let prev_start = memchr::memrchr(b'\n', &input[..start - 1]).map_or(0, |i| i + 1);
    has_marker(&input[prev_start..start - 1], true)
}

/// Whether `line` holds the same-line marker (`next_line == false`) or the next-line marker.
fn has_marker(line: &[u8], next_line: bool) -> bool {
    memchr::memmem::find_iter(line, ALLOW).any(|at| {
        let rest = &line[at + ALLOW.len()..];
        rest.starts_with(NEXT_LINE) == next_line
    })
}
