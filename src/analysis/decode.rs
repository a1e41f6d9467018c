//! Pass 4, decoding: secrets written encoded (base64 in Helm values and CI variables, percent-
//! encoded inside URLs, hex in dumps, escaped inside JSON strings, gzip inside base64) are
//! decoded and the decoded text goes back through passes 1–4, up to `--decode-depth` layers.
//!
//! Only candidate spans are decoded, so that a tree scan keeps its speed:
//! - **base64**: a run of at least [`MIN_BASE64`] characters (padding included) of the standard or URL-safe
//!   alphabet (not both), with upper- and lower-case letters, optionally `=`-padded; a run that
//!   fills its line continues on the next lines while they are as long (line-wrapped output);
//! - **hex**: a run of at least [`MIN_HEX`] hex digits, of even length;
//! - **percent**: a run of URL characters with at least two `%HH` escapes, one of them of URL
//!   syntax (`:`, `/`, `=`, `&`, `?`, `@`, a quote or a space);
//! - **escapes**: a string literal holding `\uXXXX`, `\xHH` or `\/` (JSON, JavaScript, Python).
//!
//! A decoded value is kept only if it is plausible text: valid UTF-8 without control
//! characters, at least 8 bytes. Random base64 and hex (hashes, nonces, images, certificates,
//! key material) decode to binary and stay quiet. gzip and zlib streams inside a base64 or hex
//! value are inflated (they do not count as a layer), each to at most [`MAX_INFLATED`] bytes,
//! and one blob's decoding may produce at most [`budget`] bytes in all: no decompression bomb
//! gets past that.
//!
//! A finding in decoded text is reported at the encoded span's region in the original input,
//! with its decode chain (`["base64", "gzip"]`); its secret (and `secret_id`) is the decoded
//! secret. Spans inside a finding of a specific rule are not decoded (a JWT, a Basic
//! credential, a URL's password are that rule's to judge), and a generic finding of the
//! encoded value yields to what its decoding reveals.

use std::io::Read;

use super::{Context, Pass, chain};
use crate::{
    detect::location::Locator,
    finding::{Encoding, Region},
};

/// Shortest base64 run decoded, with its padding: 16 bytes of text padded (`…==`), or 17
/// unpadded.
pub const MIN_BASE64: usize = 24;
/// Shortest hex run decoded (16 bytes of text).
pub const MIN_HEX: usize = 32;
/// Shortest decoded text scanned.
pub const MIN_DECODED: usize = 8;
/// Most bytes one gzip or zlib stream inflates to.
pub const MAX_INFLATED: usize = 4 << 20;
/// A base64 run at least this long that ends its line may continue on the next ones.
const WRAP_MIN: usize = 40;

/// The most bytes the decode pass may produce for one blob of `len` bytes: four times the blob
/// plus 1 MiB, at most 64 MiB.
pub fn budget(len: usize) -> usize {
    len.saturating_mul(4).saturating_add(1 << 20).min(64 << 20)
}

/// The decode pass.
pub(super) struct Decode;

impl Pass for Decode {
    fn name(&self) -> &'static str {
        "decode"
    }

    fn applies(&self, cx: &Context<'_>) -> bool {
        cx.depth < cx.analyzer.settings.decode_depth && cx.work.decode_budget > 0
    }

    fn run(&self, cx: &mut Context<'_>) {
        let input = cx.input;
        let spans = candidates(input);
        if spans.is_empty() {
            return;
        }
        let mut locator = Locator::new(input);
        let mut text = Vec::new();
        let detector = cx.detector();
        // Why: with many findings and many spans, asking every finding about every span is
        // quadratic (100,000 findings took 30 s); sorted spans answer in a binary search.
        let specific = Intervals::new(
            cx.located
                .iter()
                .filter(|l| !detector.rule(l.rule).generic)
                .map(|l| l.span),
        );
        let before = cx.located.len();
        let mut replaced: Vec<(usize, usize)> = Vec::new();
        for span in spans {
            if cx.work.decode_budget == 0 {
                break;
            }
            let bytes = (span.start, span.end);
            if specific.overlaps(bytes) {
                continue;
            }
            text.clear();
            let Some(encodings) = decode(
                &input[span.start..span.end],
                span.kind,
                &mut text,
                &mut cx.work.decode_budget,
            ) else {
                continue;
            };
            let (inner, _) = cx.analyze_decoded(&text);
            if inner.is_empty() || cx.allowed(span.start) {
                continue;
            }
            let (start, end) = locator.locate_span(span.start, span.end);
            let region = Region::of(start, end);
            // The generic findings of this encoded value are dropped below.
            replaced.push(bytes);
            for mut l in inner {
                l.region = region;
                l.span = bytes;
                l.decoded = chain(&encodings, &l.decoded);
                cx.located.push(l);
            }
        }
        if !replaced.is_empty() {
            // Why: the generic finding of an encoded value says less than what it decodes to.
            let replaced = Intervals::new(replaced.into_iter());
            let mut i = 0;
            cx.located.retain(|l| {
                i += 1;
                i > before || !(detector.rule(l.rule).generic && replaced.overlaps(l.span))
            });
        }
    }
}

/// Byte spans, sorted, answering "does any of them share a byte with this span?" in
/// logarithmic time.
struct Intervals {
    /// Spans by start.
    spans: Vec<(usize, usize)>,
    /// For each prefix of `spans`, the largest end.
    max_end: Vec<usize>,
}

impl Intervals {
    fn new(spans: impl Iterator<Item = (usize, usize)>) -> Intervals {
        let mut spans: Vec<(usize, usize)> = spans.collect();
        spans.sort_unstable();
        let mut max_end = Vec::with_capacity(spans.len());
        let mut m = 0;
        for s in &spans {
            m = m.max(s.1);
            max_end.push(m);
        }
        Intervals { spans, max_end }
    }

    fn overlaps(&self, b: (usize, usize)) -> bool {
        // The spans that start before `b` ends; one of them overlaps if it ends after `b`
        // starts.
        let n = self.spans.partition_point(|s| s.0 < b.1);
        n > 0 && self.max_end[n - 1] > b.0
    }
}

/// What a candidate span looks like it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Base64, standard alphabet.
    Base64,
    /// Base64, URL-safe alphabet.
    Base64Url,
    /// Hex digits.
    Hex,
    /// Percent escapes.
    Percent,
    /// A string literal with escapes.
    Escape,
}

/// A span of an input that may hold encoded text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Start offset.
    pub start: usize,
    /// End offset (exclusive).
    pub end: usize,
    /// What it looks like.
    pub kind: Kind,
}

const B64: u8 = 1;
const B64_STD: u8 = 2;
const B64_URL: u8 = 4;
const HEX: u8 = 8;
const UPPER: u8 = 16;
const LOWER: u8 = 32;

/// Character classes, one byte each (why: the run scan does one table load per byte it
/// looks at).
static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut k = 0;
        if c.is_ascii_alphanumeric() {
            k |= B64;
        }
        if c == b'+' || c == b'/' {
            k |= B64 | B64_STD;
        }
        if c == b'-' || c == b'_' {
            k |= B64 | B64_URL;
        }
        if c.is_ascii_hexdigit() {
            k |= HEX;
        }
        if c.is_ascii_uppercase() {
            k |= UPPER;
        }
        if c.is_ascii_lowercase() {
            k |= LOWER;
        }
        t[b] = k;
        b += 1;
    }
    t
};

fn is_b64(b: u8) -> bool {
    CLASS[b as usize] & B64 != 0
}

/// The candidate spans of `input`, sorted by start, not overlapping.
///
/// ```
/// use leakhound::analysis::decode::{Kind, candidates};
/// let text = b"value: cGFzc3dvcmQ9aHVudGVyMg==\nname: some_plain_identifier\n";
/// let spans = candidates(text);
/// assert_eq!(spans.len(), 1);
/// assert_eq!(spans[0].kind, Kind::Base64);
/// assert_eq!(&text[spans[0].start..spans[0].end], b"cGFzc3dvcmQ9aHVudGVyMg==");
/// ```
pub fn candidates(input: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    runs(input, &mut out);
    percent_and_escape_spans(input, &mut out);
    if out.len() > 1 {
        out.sort_by_key(|s| (s.start, std::cmp::Reverse(s.end)));
        let mut last_end = 0;
        out.retain(|s| {
            let keep = s.start >= last_end;
            if keep {
                last_end = s.end;
            }
            keep
        });
    }
    out
}

/// Base64 and hex runs. Why by words: a run of at least 23 characters (with its padding)
/// holds two whole consecutive 8-byte words of any grid of words, one of them at an even
/// place; so the scan tests every other word, without a branch per byte ([`all_base64`]),
/// then that word's neighbours, and walks bytes only around two words that are base64
/// through and through (in code, a rare long identifier or path).
fn runs(input: &[u8], out: &mut Vec<Span>) {
    const _: () = assert!(
        MIN_BASE64 >= 23,
        "a run must hold two whole words of any grid"
    );
    let n = input.len();
    let word_at = |i: usize| -> bool {
        let word: [u8; 8] = input[i..i + 8].try_into().expect("an 8-byte slice");
        all_base64(u64::from_le_bytes(word))
    };
    let mut i = 8;
    // Bytes before `done` belong to a run already classified.
    let mut done = 0;
    while i + 8 <= n {
        if !word_at(i) || !(word_at(i - 8) || (i + 16 <= n && word_at(i + 8))) {
            i += 16;
            continue;
        }
        let mut s = i;
        while s > done && is_b64(input[s - 1]) {
            s -= 1;
        }
        let mut e = i;
        while e < n && is_b64(input[e]) {
            e += 1;
        }
        done = if pad(input, e) - s >= MIN_BASE64 {
            classify(input, s, e, out).max(e)
        } else {
            e
        };
        i = done.max(i + 1) + 8;
    }
}

/// Whether all 8 bytes of `word` are base64 digits of either alphabet or padding
/// (`A-Za-z0-9+/-_=`), with SWAR arithmetic: each byte's high bit ends up saying whether it
/// is one.
fn all_base64(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let ascii = !word & HIGH;
    let x = word & !HIGH;
    // High bit set in the bytes of `v` (< 0x80) that are >= c.
    let ge = |v: u64, c: u8| v + ONES * u64::from(0x80 - c);
    // Why first: most words of text and code hold a space, a bracket, a quote or a newline,
    // all outside `+`..=`z`; this cheaper test rules them out.
    if ge(x, b'+') & !ge(x, b'z' + 1) & ascii != HIGH {
        return false;
    }
    let lower = (x | (ONES * 0x20)) & !HIGH;
    let alpha = ge(lower, b'a') & !ge(lower, b'z' + 1);
    let digit = ge(x, b'0') & !ge(x, b'9' + 1);
    // `+`, `-` and `/` are the odd bytes of 0x2B..=0x2F.
    let sign = ge(x, b'+') & !ge(x, b'/' + 1) & (x << 7);
    let underscore = ge(x, b'_') & !ge(x, b'_' + 1);
    let equals = ge(x, b'=') & !ge(x, b'=' + 1);
    (alpha | digit | sign | underscore | equals) & ascii == HIGH
}

/// Classifies the run `s..e` (and, for base64, its padding and wrapped continuation lines);
/// returns where the span ends.
fn classify(input: &[u8], s: usize, e: usize, out: &mut Vec<Span>) -> usize {
    let mut seen = 0u8;
    let mut all = B64 | HEX;
    for &b in &input[s..e] {
        let c = CLASS[b as usize];
        seen |= c;
        all &= c;
    }
    if all & HEX != 0 {
        if e - s >= MIN_HEX && (e - s).is_multiple_of(2) && seen & (UPPER | LOWER) != 0 {
            out.push(Span {
                start: s,
                end: e,
                kind: Kind::Hex,
            });
        }
        return e;
    }
    let std = seen & B64_STD != 0;
    let url = seen & B64_URL != 0;
    if (std && url) || seen & UPPER == 0 || seen & LOWER == 0 {
        return e;
    }
    let kind = if url { Kind::Base64Url } else { Kind::Base64 };
    let mut end = pad(input, e);
    let width = e - s;
    if width >= WRAP_MIN && end == e {
        let mut at = e;
        while let Some((ls, le)) = next_line_run(input, at) {
            end = pad(input, le);
            if le - ls != width || end != le {
                break;
            }
            at = le;
        }
    }
    if (end - s) % 4 == 1 && end == e {
        return e;
    }
    out.push(Span {
        start: s,
        end,
        kind,
    });
    end
}

/// `end` past up to two `=`.
fn pad(input: &[u8], mut end: usize) -> usize {
    for _ in 0..2 {
        if input.get(end) == Some(&b'=') {
            end += 1;
        }
    }
    end
}

/// The base64 run that starts the line after a line ending at `at`, past its indentation.
fn next_line_run(input: &[u8], at: usize) -> Option<(usize, usize)> {
    let mut i = at;
    if input.get(i) == Some(&b'\r') {
        i += 1;
    }
    if input.get(i) != Some(&b'\n') {
        return None;
    }
    i += 1;
    while matches!(input.get(i), Some(b' ' | b'\t')) {
        i += 1;
    }
    let s = i;
    while i < input.len() && is_b64(input[i]) {
        i += 1;
    }
    let ends_line = matches!(input.get(pad(input, i)), None | Some(b'\r' | b'\n'));
    (i > s && ends_line).then_some((s, i))
}

/// Percent-encoded runs (at least two `%HH` escapes, one of them of URL syntax) and string
/// literals holding `\uXXXX`, `\xHH` or `\/`, found in one pass for both bytes. Why line by
/// line for escapes: each line with one is walked once from its start (to know which quotes
/// open literals), so a minified file of one long line costs one walk, not one per escape.
fn percent_and_escape_spans(input: &[u8], out: &mut Vec<Span>) {
    let (mut percent_from, mut escape_from, mut line_start) = (0, 0, 0);
    for p in memchr::memchr2_iter(b'%', b'\\', input) {
        if input[p] == b'%' {
            if p >= percent_from {
                percent_from = percent_span(input, p, out);
            }
            continue;
        }
        if p < escape_from || !is_trigger(input, p) {
            continue;
        }
        if let Some(nl) = memchr::memrchr(b'\n', &input[line_start..p]) {
            line_start += nl + 1;
        }
        let line_end = memchr::memchr(b'\n', &input[p..]).map_or(input.len(), |i| p + i);
        literals_with_escapes(input, line_start, line_end, out);
        escape_from = line_end + 1;
        line_start = line_end.min(input.len());
    }
}

/// The percent-encoded run around the `%` at `p`, if it qualifies; returns where the next
/// `%` worth a look may be.
fn percent_span(input: &[u8], p: usize, out: &mut Vec<Span>) -> usize {
    let url_char = |b: u8| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'`' | b'<' | b'>');
    if hex_byte(input, p + 1).is_none() {
        return p + 1;
    }
    let mut s = p;
    while s > 0 && url_char(input[s - 1]) {
        s -= 1;
    }
    let mut e = p;
    while e < input.len() && url_char(input[e]) {
        e += 1;
    }
    let (mut escapes, mut syntax) = (0, false);
    for i in memchr::memchr_iter(b'%', &input[s..e]) {
        if let Some(b) = hex_byte(input, s + i + 1) {
            escapes += 1;
            syntax |= matches!(
                b,
                b':' | b'/' | b'=' | b'&' | b'?' | b'@' | b'"' | b'\'' | b' '
            );
        }
    }
    if escapes >= 2 && syntax {
        out.push(Span {
            start: s,
            end: e,
            kind: Kind::Percent,
        });
    }
    e.max(p + 1)
}

/// Whether the backslash at `p` starts `\uXXXX`, `\xHH` or `\/`.
fn is_trigger(input: &[u8], p: usize) -> bool {
    match input.get(p + 1) {
        Some(b'/') => true,
        Some(b'u') => (2..6).all(|k| input.get(p + k).is_some_and(u8::is_ascii_hexdigit)),
        Some(b'x') => hex_byte(input, p + 2).is_some(),
        _ => false,
    }
}

/// The string literals of the line `start..end` that hold a trigger escape (their contents,
/// without the quotes); the whole line without its indentation if a trigger is outside any
/// literal.
fn literals_with_escapes(input: &[u8], start: usize, end: usize, out: &mut Vec<Span>) {
    let mut open: Option<(u8, usize, bool)> = None;
    let mut found = Vec::new();
    let mut i = start;
    while i < end {
        let b = input[i];
        if b == b'\\' {
            if is_trigger(input, i) {
                match &mut open {
                    Some((_, _, has)) => *has = true,
                    None => {
                        let mut s = start;
                        while s < i && matches!(input[s], b' ' | b'\t') {
                            s += 1;
                        }
                        found.clear();
                        found.push((s, end));
                        break;
                    }
                }
            }
            i += 2;
            continue;
        }
        match open {
            None if b == b'"' || b == b'\'' => open = Some((b, i + 1, false)),
            Some((q, s, has)) if b == q => {
                if has {
                    found.push((s, i));
                }
                open = None;
            }
            _ => {}
        }
        i += 1;
    }
    if let Some((_, s, true)) = open
        && found.last().is_none_or(|l| l.1 != end)
    {
        found.push((s, end));
    }
    out.extend(found.into_iter().map(|(start, end)| Span {
        start,
        end,
        kind: Kind::Escape,
    }));
}

/// The byte of the two hex digits at `at`.
fn hex_byte(input: &[u8], at: usize) -> Option<u8> {
    let h = input.get(at..at + 2)?;
    let digit = |c: u8| (c as char).to_digit(16);
    Some((digit(h[0])? * 16 + digit(h[1])?) as u8)
}

/// Decodes `encoded` (a candidate of `kind`) into `out`, inflating gzip or zlib inside base64
/// and hex, within `budget` bytes (lowered by what was produced). Returns the chain of
/// encodings undone, or `None` if the span does not decode to plausible text.
///
/// ```
/// use leakhound::analysis::decode::{Kind, decode};
/// use leakhound::finding::Encoding;
/// let mut out = Vec::new();
/// let mut budget = 1 << 20;
/// let chain = decode(b"cGFzc3dvcmQ9aHVudGVyMg==", Kind::Base64, &mut out, &mut budget);
/// assert_eq!(chain, Some(vec![Encoding::Base64]));
/// assert_eq!(out, b"password=hunter2");
/// // random bytes, base64-encoded, are not text
/// assert_eq!(decode(b"9sJ3+fQm0LwXk2Zr8YtB1aVn", Kind::Base64, &mut out, &mut budget), None);
/// ```
pub fn decode(
    encoded: &[u8],
    kind: Kind,
    out: &mut Vec<u8>,
    budget: &mut usize,
) -> Option<Vec<Encoding>> {
    out.clear();
    let mut chain = match kind {
        Kind::Base64 | Kind::Base64Url => {
            // Why: most candidates are identifiers, paths and random tokens; a prefix that is
            // not text (nor a compressed stream) rules the span out without an allocation,
            // before the whole of a long run (an embedded image or font) is decoded.
            let head = base64_head(encoded, kind == Kind::Base64Url)?;
            if !text_like_prefix(&head) && compression(&head).is_none() {
                return None;
            }
            base64_into(encoded, kind, out)?;
            vec![Encoding::Base64]
        }
        Kind::Hex => {
            out.extend(
                encoded
                    .chunks_exact(2)
                    .map(|h| hex_byte(h, 0))
                    .collect::<Option<Vec<u8>>>()?,
            );
            vec![Encoding::Hex]
        }
        Kind::Percent => {
            let mut i = 0;
            while i < encoded.len() {
                match hex_byte(encoded, i + 1).filter(|_| encoded[i] == b'%') {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                    }
                    None => {
                        out.push(encoded[i]);
                        i += 1;
                    }
                }
            }
            vec![Encoding::Percent]
        }
        Kind::Escape => {
            unescape(encoded, out);
            vec![Encoding::Escape]
        }
    };
    if matches!(kind, Kind::Base64 | Kind::Base64Url | Kind::Hex)
        && let Some(stream) = compression(out)
    {
        let cap = MAX_INFLATED.min(*budget);
        let inflated = inflate(out, stream, cap)?;
        *out = inflated;
        chain.push(stream);
    }
    if out.len() < MIN_DECODED || out.as_slice() == encoded || !text_like(out) {
        return None;
    }
    *budget = budget.saturating_sub(out.len());
    Some(chain)
}

/// The values of base64 digits (standard and URL-safe alike; 0xFF: not a digit).
static DIGIT: [u8; 256] = {
    let mut t = [0xFFu8; 256];
    let mut i = 0;
    while i < 26 {
        t[b'A' as usize + i] = i as u8;
        t[b'a' as usize + i] = 26 + i as u8;
        i += 1;
    }
    let mut d = 0;
    while d < 10 {
        t[b'0' as usize + d] = 52 + d as u8;
        d += 1;
    }
    t[b'+' as usize] = 62;
    t[b'-' as usize] = 62;
    t[b'/' as usize] = 63;
    t[b'_' as usize] = 63;
    t
};

/// The first 12 bytes a base64 run decodes to (its first 16 digits; `url` picks the
/// alphabet), or `None` if they are not all digits of it.
fn base64_head(encoded: &[u8], url: bool) -> Option<[u8; 12]> {
    let digits = encoded.get(..16)?;
    let mut out = [0u8; 12];
    for (group, bytes) in digits.chunks_exact(4).zip(out.chunks_exact_mut(3)) {
        let mut v = 0u32;
        for &c in group {
            let ok = if url {
                !matches!(c, b'+' | b'/')
            } else {
                !matches!(c, b'-' | b'_')
            };
            let d = DIGIT[c as usize];
            if d == 0xFF || !ok {
                return None;
            }
            v = v << 6 | u32::from(d);
        }
        bytes.copy_from_slice(&v.to_be_bytes()[1..]);
    }
    Some(out)
}

/// Standard or URL-safe base64, padding optional, whitespace (line wrapping) skipped.
fn base64_into(encoded: &[u8], kind: Kind, out: &mut Vec<u8>) -> Option<()> {
    use base64::Engine as _;
    let config = base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let alphabet = if kind == Kind::Base64Url {
        &base64::alphabet::URL_SAFE
    } else {
        &base64::alphabet::STANDARD
    };
    let engine = base64::engine::GeneralPurpose::new(alphabet, config);
    let compact: Vec<u8>;
    let data = if encoded.iter().any(u8::is_ascii_whitespace) {
        compact = encoded
            .iter()
            .copied()
            .filter(|b| !b.is_ascii_whitespace())
            .collect();
        &compact[..]
    } else {
        encoded
    };
    let data = match data.len() % 4 {
        1 => &data[..data.len() - 1],
        _ => data,
    };
    engine.decode_vec(data, out).ok()
}

/// Whether `bytes` start a gzip or zlib stream.
fn compression(bytes: &[u8]) -> Option<Encoding> {
    match bytes {
        [0x1f, 0x8b, 8, ..] => Some(Encoding::Gzip),
        [cmf, flg, ..]
            if cmf & 0x0f == 8
                && cmf >> 4 <= 7
                && (u16::from(*cmf) << 8 | u16::from(*flg)) % 31 == 0 =>
        {
            Some(Encoding::Zlib)
        }
        _ => None,
    }
}

/// Inflates a gzip or zlib stream to at most `cap` bytes (a truncated or corrupt stream gives
/// what inflated before the damage).
fn inflate(bytes: &[u8], stream: Encoding, cap: usize) -> Option<Vec<u8>> {
    let reader: Box<dyn Read + '_> = match stream {
        Encoding::Gzip => Box::new(flate2::read::GzDecoder::new(bytes)),
        _ => Box::new(flate2::read::ZlibDecoder::new(bytes)),
    };
    let mut out = Vec::new();
    let mut limited = reader.take(cap as u64);
    let mut chunk = [0u8; 8192];
    loop {
        match limited.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => out.extend_from_slice(&chunk[..n]),
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Whether the first bytes of a decoding look like text (UTF-8 cut anywhere is allowed).
fn text_like_prefix(bytes: &[u8]) -> bool {
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => bytes.len(),
        Err(e) if e.error_len().is_none() => e.valid_up_to(),
        Err(_) => return false,
    };
    valid > 0 && !bytes[..valid].iter().any(|&b| is_control(b))
}

/// Whether decoded bytes are text: valid UTF-8 without control characters.
fn text_like(bytes: &[u8]) -> bool {
    std::str::from_utf8(bytes).is_ok() && !bytes.iter().any(|&b| is_control(b))
}

fn is_control(b: u8) -> bool {
    (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r')) || b == 0x7f
}

/// Undoes JSON, JavaScript and Python string escapes; an unknown escape is kept as written.
fn unescape(s: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    while i < s.len() {
        let b = s[i];
        if b != b'\\' || i + 1 == s.len() {
            out.push(b);
            i += 1;
            continue;
        }
        let simple = match s[i + 1] {
            b'n' => Some(b'\n'),
            b't' => Some(b'\t'),
            b'r' => Some(b'\r'),
            b'0' => Some(0),
            c @ (b'"' | b'\'' | b'\\' | b'/' | b'`') => Some(c),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            i += 2;
            continue;
        }
        let (code, len) = match s[i + 1] {
            b'x' => (hex_byte(s, i + 2).map(u32::from), 4),
            b'u' if s.get(i + 2) == Some(&b'{') => {
                let close = s[i + 2..]
                    .iter()
                    .position(|&c| c == b'}')
                    .map(|k| i + 2 + k);
                match close {
                    Some(c) => (hex_number(&s[i + 3..c]), c + 1 - i),
                    None => (None, 0),
                }
            }
            b'u' => (s.get(i + 2..i + 6).and_then(hex_number), 6),
            b'U' => (s.get(i + 2..i + 10).and_then(hex_number), 10),
            _ => (None, 0),
        };
        let Some(mut code) = code else {
            out.push(b);
            i += 1;
            continue;
        };
        let mut len = len;
        // A UTF-16 surrogate pair: `\uD83D\uDE00`.
        if (0xD800..0xDC00).contains(&code)
            && s.get(i + 6..i + 8) == Some(b"\\u")
            && let Some(low) = s.get(i + 8..i + 12).and_then(hex_number)
            && (0xDC00..0xE000).contains(&low)
        {
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
            len = 12;
        }
        let ch = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        i += len;
    }
}

fn hex_number(h: &[u8]) -> Option<u32> {
    if h.is_empty() || h.len() > 8 {
        return None;
    }
    u32::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_answer_overlap_like_a_scan_of_every_span() {
        let set = [(10, 20), (15, 40), (50, 55), (3, 4)];
        let iv = Intervals::new(set.iter().copied());
        for start in 0..60 {
            for end in start + 1..62 {
                let scan = set.iter().any(|a| a.0 < end && start < a.1);
                assert_eq!(iv.overlaps((start, end)), scan, "{start}..{end}");
            }
        }
        assert!(!Intervals::new(std::iter::empty()).overlaps((0, 10)));
    }

    fn spans(text: &str) -> Vec<(Kind, &str)> {
        candidates(text.as_bytes())
            .into_iter()
            .map(|s| (s.kind, &text[s.start..s.end]))
            .collect()
    }

    #[test]
    fn the_word_test_agrees_with_the_table() {
        for b in 0..=255u8 {
            for lane in 0..8 {
                let mut word = [b'A'; 8];
                word[lane] = b;
                assert_eq!(
                    all_base64(u64::from_le_bytes(word)),
                    is_b64(b) || b == b'=',
                    "byte {b:#04x} in lane {lane}"
                );
            }
        }
    }

    #[test]
    fn runs_are_classified() {
        let hex = "70617373776f72643d68756e74657232";
        let text =
            format!("a = {hex}\nb = cGFzc3dvcmQ9aHVudGVyMg==\nc = cGFz-3dvcmQ9aHVudGVyMg_x\n");
        let got = spans(&text);
        assert_eq!(
            got,
            vec![
                (Kind::Hex, hex),
                (Kind::Base64, "cGFzc3dvcmQ9aHVudGVyMg=="),
                (Kind::Base64Url, "cGFz-3dvcmQ9aHVudGVyMg_x"),
            ]
        );
        // identifiers of one case, and runs mixing both alphabets, are not candidates
        assert!(spans("some_really_long_snake_case_identifier").is_empty());
        assert!(spans("AAAAAAAAAAAAAAAAAAAAAAAAAAAA").is_empty());
        assert!(spans("abcDEF+ghiJKL/mno_PQRs-tuv").is_empty());
    }

    #[test]
    fn a_run_is_found_wherever_it_starts_and_ends() {
        let value = "cGFzc3dvcmQ9aHVudGVyMg==";
        for before in 0..20 {
            for after in 0..20 {
                let text = format!("{}{value}{}", " ".repeat(before), ";".repeat(after));
                let got = spans(&text);
                assert_eq!(
                    got,
                    vec![(Kind::Base64, value)],
                    "{before} before, {after} after"
                );
            }
        }
        let unpadded = "cGFzc3dvcmQ9aHVudGVyMgx";
        assert_eq!(spans(&format!(" {unpadded} {unpadded}")).len(), 0);
        assert_eq!(spans(&format!(" {unpadded}x")).len(), 1);
    }

    #[test]
    fn wrapped_base64_continues_over_lines() {
        let text = "data: |\n  QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9w\n  cXJzdHV2d3h5ejAxMjM0NTY3ODk=\nnext: x\n";
        let got = spans(text);
        assert_eq!(got.len(), 1);
        assert!(got[0].1.ends_with("ODk="), "{:?}", got[0].1);
        let mut out = Vec::new();
        let s = candidates(text.as_bytes())[0];
        let chain = decode(
            &text.as_bytes()[s.start..s.end],
            s.kind,
            &mut out,
            &mut (1 << 20),
        );
        assert_eq!(chain, Some(vec![Encoding::Base64]));
        assert!(out.ends_with(b"xyz0123456789"));
    }

    #[test]
    fn percent_needs_two_escapes_of_url_syntax() {
        let got = spans("u=https%3A%2F%2Fhooks.example.com%2Fservices%2Fx \"100%25\" %41%42");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, Kind::Percent);
        assert!(got[0].1.starts_with("u=https%3A"));
    }

    #[test]
    fn escapes_take_the_enclosing_literal() {
        let text = r#"x = {"url": "https:\/\/hooks.example.com\/a", "n": 1}"#;
        let got = spans(text);
        assert_eq!(got, vec![(Kind::Escape, r"https:\/\/hooks.example.com\/a")]);
        let mut out = Vec::new();
        unescape(br"a\u0041\x42\/\uD83D\uDE00\q", &mut out);
        assert_eq!(out, "aAB/\u{1F600}\\q".as_bytes());
    }

    #[test]
    fn bombs_are_capped() {
        use std::io::Write;
        let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let line = b"password=not-a-real-one\n";
        for _ in 0..(16 << 20) / line.len() {
            z.write_all(line).unwrap();
        }
        let gz = z.finish().unwrap();
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::STANDARD.encode(&gz);
        let mut out = Vec::new();
        let mut budget = 64 << 20;
        let chain = decode(b64.as_bytes(), Kind::Base64, &mut out, &mut budget);
        assert_eq!(chain, Some(vec![Encoding::Base64, Encoding::Gzip]));
        assert_eq!(out.len(), MAX_INFLATED);
        assert_eq!(budget, (64 << 20) - MAX_INFLATED);
        let mut small = 100;
        decode(b64.as_bytes(), Kind::Base64, &mut out, &mut small);
        assert!(out.len() <= 100);
    }

    #[test]
    fn random_bytes_do_not_decode() {
        use base64::Engine as _;
        // a fixed pseudo-random stream (xorshift), so the test is deterministic
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut quiet = 0;
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..32)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    x as u8
                })
                .collect();
            let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            let mut out = Vec::new();
            let mut budget = 1 << 20;
            let a = decode(b64.as_bytes(), Kind::Base64, &mut out, &mut budget);
            let b = decode(hex.as_bytes(), Kind::Hex, &mut out, &mut budget);
            quiet += usize::from(a.is_none() && b.is_none());
        }
        assert_eq!(quiet, 200);
    }
}
