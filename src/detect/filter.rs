//! False-positive filters applied to a rule's capture after the regex matched.
//!
//! The placeholder filter runs for every rule; `identifier` and `charclass` only for rules that
//! ask for them (generic, context-anchored rules). The lists are documented in `rules/README.md`.

use crate::rules::FilterKind;

/// Substrings (lower-case) that mark a documented example, a template or a placeholder.
const PLACEHOLDER_MARKERS: &[&str] = &[
    "example",
    "placeholder",
    "changeme",
    "change_me",
    "your_",
    "your-",
    "yourkey",
    "redacted",
    "dummy",
    "replace_me",
    "replaceme",
    "xxxxxxxx",
    "123456789",
    "abcdefghij",
    "${",
    "#{",
    "{{",
    "}}",
    "%(",
    "$(",
    "process.env",
    "os.environ",
    "getenv",
];

/// Published values that every copy of a specification or SDK shares: documented development
/// defaults and the examples of the standards, not secrets. The Azurite storage emulator's
/// account key; RFC 6749's (OAuth 2.0) example access and refresh tokens and client
/// credentials; RFC 5849's (OAuth 1.0) example tokens and secrets.
const PUBLIC_DEFAULTS: &[&str] = &[
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsu",
    "2YotnFZFEjr1zCsicMWpAA",
    "tGzv3JOkF0XG5Qx2TlKWIA",
    "czZCaGRSa3F0MzpnWDFmQmF0M2JW",
    "gX1fBat3bV",
    "ad180jjd733klru7",
    "kd94hf93k423kf44",
    "dpf43f3p2l4k3l03",
    "hh5s93j4hdidpola",
    "hdhd0244k9j7ao03",
    "nnch734d00sl2jdk",
    "pfkkdhi9sl3r4s00",
];

/// Whether the capture is a placeholder rather than a credential.
///
/// ```
/// use leakhound::detect::filter::is_placeholder;
/// assert!(is_placeholder(b"AKIAIOSFODNN7EXAMPLE"));
/// assert!(is_placeholder(b"${{ secrets.TOKEN }}"));
/// assert!(is_placeholder(b"aaaaaaaaaa"));
/// assert!(!is_placeholder(b"k8Xq2LmP9zRw4TvB"));
/// ```
pub fn is_placeholder(capture: &[u8]) -> bool {
    let lower = capture.to_ascii_lowercase();
    // Why: `{}`, `{0}`, `{password}` (format strings) and `<password>` (docs) are templates.
    let template =
        |open: u8, close: u8| capture.first() == Some(&open) && capture.last() == Some(&close);
    if template(b'{', b'}')
        || template(b'<', b'>')
        || memchr::memmem::find(capture, b"{}").is_some()
    {
        return true;
    }
    if PUBLIC_DEFAULTS
        .iter()
        .any(|d| memchr::memmem::find(capture, d.as_bytes()).is_some())
    {
        return true;
    }
    if PLACEHOLDER_MARKERS
        .iter()
        .any(|m| memchr::memmem::find(&lower, m.as_bytes()).is_some())
    {
        return true;
    }
    capture.len() >= 8 && distinct_bytes(capture) <= 3
}

fn distinct_bytes(bytes: &[u8]) -> usize {
    let mut seen = [false; 256];
    let mut n = 0;
    for &b in bytes {
        if !seen[b as usize] {
            seen[b as usize] = true;
            n += 1;
        }
    }
    n
}

/// Whether the capture passes the rule's extra filters.
pub fn passes(filters: &[FilterKind], capture: &[u8]) -> bool {
    filters.iter().all(|f| match f {
        FilterKind::Identifier => !looks_like_code(capture),
        FilterKind::Charclass => char_classes(capture) >= 2,
    })
}

/// Whether a value looks like code (a reference, attribute access, call or bare word) rather
/// than a literal secret.
///
/// ```
/// use leakhound::detect::filter::looks_like_code;
/// assert!(looks_like_code(b"$DB_PASSWORD"));
/// assert!(looks_like_code(b"config.password"));
/// assert!(looks_like_code(b"get_token()"));
/// assert!(looks_like_code(b"user_password"));
/// assert!(!looks_like_code(b"Xk29fLq0Zp81"));
/// ```
pub fn looks_like_code(v: &[u8]) -> bool {
    let Some(&first) = v.first() else { return true };
    if matches!(first, b'$' | b'@' | b':' | b'%' | b'&' | b'*') {
        return true;
    }
    let ident_char = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_';
    let ident_start = |b: u8| b.is_ascii_alphabetic() || b == b'_';
    // attribute access or call: a.b, a.b(), a[b], a::b, a->b (each part an identifier)
    if ident_start(first) {
        let has_access = memchr::memmem::find(v, b"::").is_some()
            || memchr::memmem::find(v, b"->").is_some()
            || v.contains(&b'(')
            || v.contains(&b'[');
        // Why: `settings.DB_PASSWORD` is code, `W3iW...z7Al9` (a token with a dot) is not;
        // attribute paths rarely carry digits, random tokens nearly always do.
        let dotted = v.contains(&b'.')
            && !v.iter().any(u8::is_ascii_digit)
            && v.split(|&b| b == b'.').all(|part| {
                !part.is_empty() && ident_start(part[0]) && part.iter().all(ident_char)
            });
        if has_access || dotted {
            return true;
        }
        // bare identifier or word without any digit, shaped like a name
        if v.iter().all(ident_char) && !v.iter().any(u8::is_ascii_digit) && name_shaped(v) {
            return true;
        }
    }
    false
}

/// Whether a digit-free identifier is shaped like a name a person wrote: snake_case or
/// UPPER_SNAKE (any `_`), one case throughout (`password`, `SECRET`), or camelCase whose
/// humps are words (`getPasswordFromVault`). Random letters (`AbGhTkLmQwEr`) are not.
///
/// ```
/// use leakhound::detect::filter::name_shaped;
/// assert!(name_shaped(b"user_password"));
/// assert!(name_shaped(b"hunter"));
/// assert!(name_shaped(b"getPasswordFromVault"));
/// assert!(!name_shaped(b"AbGhTkLmQwErTyUi"));
/// assert!(!name_shaped(b"qWeRtYuIoPaSdF"));
/// ```
pub fn name_shaped(v: &[u8]) -> bool {
    if v.contains(&b'_')
        || v.iter().all(|b| !b.is_ascii_uppercase())
        || v.iter().all(|b| !b.is_ascii_lowercase())
    {
        return true;
    }
    // camelCase / PascalCase: every uppercase letter starts a run of at least two lowercase
    // letters (an acronym of uppercase letters is allowed only at the end).
    let mut i = usize::from(v[0].is_ascii_uppercase());
    while i < v.len() {
        if v[i].is_ascii_uppercase() {
            let run = v[i + 1..]
                .iter()
                .take_while(|b| b.is_ascii_lowercase())
                .count();
            let rest_upper = v[i..].iter().all(u8::is_ascii_uppercase);
            if run < 2 && !rest_upper {
                return false;
            }
            i += 1 + run;
        } else {
            i += 1;
        }
    }
    true
}

/// How many of lower-case letters, upper-case letters, digits and other bytes a value mixes.
pub(crate) fn char_classes(v: &[u8]) -> usize {
    let (mut lower, mut upper, mut digit, mut other) = (false, false, false, false);
    for &b in v {
        match b {
            b'a'..=b'z' => lower = true,
            b'A'..=b'Z' => upper = true,
            b'0'..=b'9' => digit = true,
            _ => other = true,
        }
    }
    [lower, upper, digit, other].iter().filter(|&&x| x).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn charclass_needs_two_classes() {
        assert!(!passes(
            &[FilterKind::Charclass],
            b"correcthorsebatterystaple"
        ));
        assert!(passes(
            &[FilterKind::Charclass],
            b"correcthorse7batterystaple"
        ));
    }

    #[test]
    fn identifier_filter_keeps_values_with_digits() {
        assert!(passes(&[FilterKind::Identifier], b"s3cr3tV4lue"));
        assert!(!passes(
            &[FilterKind::Identifier],
            b"settings.DATABASE_PASSWORD"
        ));
        assert!(!passes(&[FilterKind::Identifier], b"os::env::var"));
    }
}
