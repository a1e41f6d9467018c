//! Structured secrets that a regex over the raw text cannot see: the values of Kubernetes
//! `Secret` manifests. `data:` values are base64, which is encoding, not encryption: they are
//! decoded and scanned with every rule, and a real value that no rule names is reported by the
//! rules marked `decoded: true` (e.g. `kubernetes.secret-value`). `stringData:` values are plain
//! text, already seen by the normal scan; a real one that no rule found is reported the same way.
//!
//! The manifest is read line by line (no YAML library): top-level `kind: Secret`, then the
//! indented `key: value` entries under top-level `data:` and `stringData:`, including block
//! scalars (`key: |`). Several documents (`---`) per file are handled.

use base64::Engine as _;

/// One value of a Secret manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretValue {
    /// Byte span of the value in the manifest.
    pub span: (usize, usize),
    /// The value: decoded for `data:`, as written for `stringData:`.
    pub value: Vec<u8>,
    /// Whether it came from `data:` (base64).
    pub encoded: bool,
    /// The entry's key (`password`, `region`), unquoted.
    pub key: String,
}

/// Quick test: could this input be a Kubernetes Secret manifest?
pub fn may_hold_secret_manifest(input: &[u8]) -> bool {
    memchr::memmem::find(input, b"kind: Secret").is_some()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Data,
    StringData,
}

/// The values of every Secret manifest in `input`.
///
/// ```
/// use leakhound::detect::structure::secret_values;
/// let y = b"apiVersion: v1\nkind: Secret\ndata:\n  user: YWRtaW4=\nstringData:\n  note: |\n    line one\n    line two\n";
/// let v = secret_values(y);
/// assert_eq!(v.len(), 2);
/// assert_eq!(v[0].value, b"admin");
/// assert!(v[0].encoded);
/// assert_eq!(v[1].value, b"line one\nline two");
/// ```
pub fn secret_values(input: &[u8]) -> Vec<SecretValue> {
    let mut out = Vec::new();
    let lines = split_lines(input);
    let mut doc_start = 0;
    for i in 0..=lines.len() {
        let boundary = i == lines.len() || &input[lines[i].0..lines[i].1] == b"---";
        if boundary {
            document(input, &lines[doc_start..i], &mut out);
            doc_start = i + 1;
        }
    }
    out
}

/// Line spans without their terminators (`\n` or `\r\n`).
fn split_lines(input: &[u8]) -> Vec<(usize, usize)> {
    let mut lines = Vec::new();
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', input) {
        let end = if nl > start && input[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        lines.push((start, end));
        start = nl + 1;
    }
    if start < input.len() {
        lines.push((start, input.len()));
    }
    lines
}

fn indent(line: &[u8]) -> usize {
    line.iter().take_while(|&&b| b == b' ').count()
}

fn document(input: &[u8], lines: &[(usize, usize)], out: &mut Vec<SecretValue>) {
    let is_secret = lines.iter().any(|&(s, e)| {
        let l = &input[s..e];
        let t = l.strip_suffix(b" ").unwrap_or(l);
        t == b"kind: Secret" || t == b"kind: \"Secret\"" || t == b"kind: 'Secret'"
    });
    if !is_secret {
        return;
    }
    let mut section = Section::None;
    let mut i = 0;
    while i < lines.len() {
        let (s, e) = lines[i];
        let line = &input[s..e];
        i += 1;
        if line.is_empty() || line.starts_with(b"#") {
            continue;
        }
        let ind = indent(line);
        if ind == 0 {
            section = if line.starts_with(b"data:") && line[5..].iter().all(|b| *b == b' ') {
                Section::Data
            } else if line.starts_with(b"stringData:") && line[11..].iter().all(|b| *b == b' ') {
                Section::StringData
            } else {
                Section::None
            };
            continue;
        }
        if section == Section::None {
            continue;
        }
        let body = &line[ind..];
        let Some(colon) = memchr::memmem::find(body, b": ")
            .or_else(|| body.ends_with(b":").then(|| body.len() - 1))
        else {
            continue;
        };
        let key = &body[..colon];
        let key_text = String::from_utf8_lossy(key)
            .trim_matches(['"', '\''])
            .to_string();
        if key.is_empty()
            || !key
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"._-\"'".contains(b))
        {
            continue;
        }
        let raw_start = s + ind + colon + 1;
        let rest = &input[raw_start..e];
        let lead = rest.iter().take_while(|&&b| b == b' ').count();
        let vstart = raw_start + lead;
        let value = &input[vstart..e];
        let (span, text) = if value.starts_with(b"|") || value.starts_with(b">") {
            // Block scalar: the following lines indented deeper than the key.
            let first = i;
            while i < lines.len() {
                let (ls, le) = lines[i];
                let l = &input[ls..le];
                if !l.is_empty() && indent(l) <= ind {
                    break;
                }
                i += 1;
            }
            if first == i {
                continue;
            }
            let block = &lines[first..i];
            let inner = block
                .iter()
                .filter(|(a, b)| b > a)
                .map(|(a, _)| indent(&input[*a..]))
                .min()
                .unwrap_or(0);
            let text: Vec<u8> = block
                .iter()
                .map(|&(a, b)| {
                    if b - a >= inner {
                        &input[a + inner..b]
                    } else {
                        &input[b..b]
                    }
                })
                .collect::<Vec<_>>()
                .join(&b'\n');
            let text = text.strip_suffix(b"\n").map(<[u8]>::to_vec).unwrap_or(text);
            ((block[0].0 + inner, block[block.len() - 1].1), text)
        } else {
            let v = value.strip_suffix(b" ").unwrap_or(value);
            let unquoted = match v {
                [b'"', inner @ .., b'"'] | [b'\'', inner @ .., b'\''] => inner,
                _ => v,
            };
            let offset = if unquoted.len() < v.len() { 1 } else { 0 };
            (
                (vstart + offset, vstart + offset + unquoted.len()),
                unquoted.to_vec(),
            )
        };
        if text.is_empty() {
            continue;
        }
        match section {
            Section::Data => {
                let compact: Vec<u8> = text
                    .iter()
                    .copied()
                    .filter(|b| !b.is_ascii_whitespace())
                    .collect();
                if let Ok(decoded) = BASE64.decode(&compact) {
                    out.push(SecretValue {
                        span,
                        value: decoded,
                        encoded: true,
                        key: key_text,
                    });
                }
            }
            Section::StringData => out.push(SecretValue {
                span,
                value: text,
                encoded: false,
                key: key_text,
            }),
            Section::None => {}
        }
    }
}

/// The string literals of a JSON document, unescaped and joined, with a map back to `input`:
/// the code of a Jupyter notebook (`.ipynb`) is JSON-escaped source (`"api_key = \"…\"\n"`),
/// which the rules see only once it is unescaped. A string that does not end a line is followed
/// by `\n`, so the lines of a cell's `source` array join into the cell's code. Invalid escapes
/// are kept as written; the input is not validated.
///
/// ```
/// use leakhound::detect::structure::json_strings;
/// let u = json_strings(br#"{"source": ["k = \"v\"\n", "x"]}"#);
/// assert_eq!(u.text, b"source\nk = \"v\"\nx\n");
/// assert_eq!(u.origin(7), 13); // the `k`
/// assert_eq!(u.origin(12), 19); // the `v`, after an escape
/// ```
pub fn json_strings(input: &[u8]) -> Unescaped {
    let mut out = Unescaped {
        text: Vec::with_capacity(input.len() / 2),
        runs: Vec::new(),
    };
    let mut i = 0;
    while let Some(q) = memchr::memchr(b'"', &input[i..]) {
        i += q + 1;
        while i < input.len() {
            let b = input[i];
            if b == b'"' {
                i += 1;
                break;
            }
            if b != b'\\' || i + 1 >= input.len() {
                out.push(b, i);
                i += 1;
                continue;
            }
            let unescaped = match input[i + 1] {
                b'n' => Some(b'\n'),
                b't' => Some(b'\t'),
                b'r' => Some(b'\r'),
                b'b' | b'f' => Some(b' '),
                c @ (b'"' | b'\\' | b'/') => Some(c),
                _ => None,
            };
            if let Some(c) = unescaped {
                out.push(c, i);
                i += 2;
            } else if input[i + 1] == b'u'
                && let Some(c) = input
                    .get(i + 2..i + 6)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u32::from_str_radix(h, 16).ok())
            {
                let ch = char::from_u32(c).unwrap_or(char::REPLACEMENT_CHARACTER);
                let mut buf = [0u8; 4];
                for &byte in ch.encode_utf8(&mut buf).as_bytes() {
                    out.push(byte, i);
                }
                i += 6;
            } else {
                out.push(b, i);
                i += 1;
            }
        }
        if out.text.last() != Some(&b'\n') {
            out.push(b'\n', i.saturating_sub(1));
        }
    }
    out
}

/// Text decoded from an input, with where each byte came from.
#[derive(Debug, Default)]
pub struct Unescaped {
    /// The decoded text.
    pub text: Vec<u8>,
    /// `(offset in text, offset in input)` at the start of each run of bytes copied as they
    /// were: one entry per escape, not per byte, so the map stays small beside the text.
    runs: Vec<(usize, usize)>,
}

impl Unescaped {
    fn push(&mut self, byte: u8, from: usize) {
        let at = self.text.len();
        let continues = self.runs.last().is_some_and(|&(o, f)| f + (at - o) == from);
        if !continues {
            self.runs.push((at, from));
        }
        self.text.push(byte);
    }

    /// The offset in the input of the text's byte at `at`.
    pub fn origin(&self, at: usize) -> usize {
        let k = self
            .runs
            .partition_point(|&(o, _)| o <= at)
            .saturating_sub(1);
        self.runs.get(k).map_or(0, |&(o, f)| f + (at - o))
    }
}

/// Standard base64, padding optional (manifests are written by hand too).
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_secret_documents_and_only_their_data() {
        let y = b"kind: ConfigMap\ndata:\n  a: YWRtaW4=\n---\nkind: Secret\nmetadata:\n  name: x\n  labels:\n    a: b\ndata:\n  password: \"UzNjcjN0IQ==\"\ntype: Opaque\n";
        let v = secret_values(y);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].value, b"S3cr3t!");
        assert_eq!(v[0].key, "password");
        assert_eq!(&y[v[0].span.0..v[0].span.1], b"UzNjcjN0IQ==");
    }
}
