//! Structured secrets that a regex over the raw text cannot see: the values of Kubernetes
//! `Secret` manifests. `data:` values are base64, which is encoding, not encryption: they are
//! decoded and scanned with every rule, and a real value that no rule names is reported by the
//! rules marked `decoded: true` (e.g. `kubernetes.secret-value`). `stringData:` values are plain
//! text, already seen by the normal scan; a real one that no rule found is reported the same way.
//!
//! Manifests are read without a YAML library, in one forward pass that is linear in the input
//! and never recurses:
//!
//! - block-style YAML line by line, with a stack of the open mappings by indentation;
//! - flow style with a small tokenizer: JSON manifests (an input whose first byte is `{` or
//!   `[`) and YAML flow collections (`data: {KEY: dmFsdWU=, …}`, which may span lines).
//!
//! A Secret is any mapping with the entry `kind: Secret` (quoted or not, a trailing `# comment`
//! allowed): a document, an item of a `kind: List` (`items:`, what `kubectl get secrets -o yaml`
//! and `-o json` print), or a mapping nested deeper. Its `data:` and `stringData:` mappings hold
//! the values, including block scalars (`key: |`). Several documents (`---`) per file are
//! handled; block scalars of other keys (such as the `last-applied-configuration` annotation,
//! which repeats the manifest as JSON) are skipped. What is nested deeper than [`MAX_DEPTH`]
//! is skipped.

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

/// A `data:` entry of a Secret whose value is not base64 (so it was not decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidValue {
    /// Byte span of the value in the manifest.
    pub span: (usize, usize),
    /// The entry's key, unquoted.
    pub key: String,
}

/// What the Secret manifests of an input hold, in input order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Manifests {
    /// The values, decoded where they were base64.
    pub values: Vec<SecretValue>,
    /// The `data:` entries that are not valid base64.
    pub invalid: Vec<InvalidValue>,
}

impl Manifests {
    fn absorb(&mut self, other: Manifests) {
        self.values.extend(other.values);
        self.invalid.extend(other.invalid);
    }
}

/// How many mappings and sequences may be open at once; what is nested deeper is not read.
pub const MAX_DEPTH: usize = 256;

/// Quick test: could this input be a Kubernetes Secret manifest? (`kind` shortly before
/// `Secret`: `kind: Secret`, `"kind": "Secret"`, `kind: 'Secret'`.)
///
/// ```
/// use leakhound::detect::structure::may_hold_secret_manifest;
/// assert!(may_hold_secret_manifest(b"kind: Secret # app keys"));
/// assert!(may_hold_secret_manifest(br#"{"kind":"Secret"}"#));
/// assert!(!may_hold_secret_manifest(b"kind: ConfigMap\nname: Secret"));
/// ```
pub fn may_hold_secret_manifest(input: &[u8]) -> bool {
    memchr::memmem::find_iter(input, b"Secret").any(|at| {
        let before = &input[at.saturating_sub(16)..at];
        let kept = before
            .iter()
            .rposition(|b| !b" \t\"':".contains(b))
            .map_or(0, |p| p + 1);
        before[..kept].ends_with(b"kind")
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Section {
    None,
    Data,
    StringData,
}

/// The section a mapping under this key holds.
fn section_of(key: &[u8]) -> Section {
    match key {
        b"data" => Section::Data,
        b"stringData" => Section::StringData,
        _ => Section::None,
    }
}

/// The values of every Secret manifest in `input`, in input order. A `data:` value that is not
/// base64 is left out (see [`secret_manifests`] for those).
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
    secret_manifests(input).values
}

/// The values of every Secret manifest in `input`, and the `data:` entries that are not base64.
///
/// ```
/// use leakhound::detect::structure::secret_manifests;
/// let j = br#"{"kind": "List", "items": [{"kind": "Secret", "data": {"a": "YWRtaW4=", "b": "*"}}]}"#;
/// let m = secret_manifests(j);
/// assert_eq!(m.values.len(), 1);
/// assert_eq!(m.values[0].value, b"admin");
/// assert_eq!(m.invalid.len(), 1);
/// assert_eq!(m.invalid[0].key, "b");
/// ```
pub fn secret_manifests(input: &[u8]) -> Manifests {
    let mut out = Manifests::default();
    let from = if input.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let first = input[from..]
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .map(|p| from + p);
    match first {
        None => {}
        Some(at) if matches!(input[at], b'{' | b'[') => {
            let mut sink = Manifests::default();
            flow(input, at, Section::None, &mut sink, &mut out, true);
        }
        Some(_) => block(input, from, &mut out),
    }
    out.values.sort_by_key(|v| v.span);
    out.invalid.sort_by_key(|v| v.span);
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

fn is_blank(line: &[u8]) -> bool {
    line.iter().all(|&b| b == b' ' || b == b'\t')
}

fn trim_end(s: &[u8]) -> &[u8] {
    let kept = s
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(0, |p| p + 1);
    &s[..kept]
}

/// A YAML document marker (`---`, `...`) at the start of `s`.
fn document_marker(s: &[u8]) -> bool {
    (s.starts_with(b"---") || s.starts_with(b"..."))
        && s.get(3)
            .is_none_or(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

/// One open block mapping.
struct Frame {
    /// The column of its keys.
    indent: usize,
    /// It has the entry `kind: Secret`.
    secret: bool,
    /// What a mapping nested under its last key holds (that key was `data:` or `stringData:`
    /// with nothing after it).
    opens: Section,
    /// What it holds itself (it is a `data:` or `stringData:` mapping).
    role: Section,
    /// The values of its `data:` and `stringData:`, kept until it closes: only then is it
    /// known whether it is a Secret.
    pending: Manifests,
}

/// Closes the frames whose keys are deeper than `column` (all of them for `None`); a Secret's
/// values go to `out`.
fn close(stack: &mut Vec<Frame>, column: Option<usize>, out: &mut Manifests) {
    while let Some(top) = stack.last() {
        if column.is_some_and(|c| top.indent <= c) {
            break;
        }
        if let Some(frame) = stack.pop()
            && frame.secret
        {
            out.absorb(frame.pending);
        }
    }
}

/// Block-style YAML, from byte `from` (after a byte order mark).
fn block(input: &[u8], from: usize, out: &mut Manifests) {
    let mut lines = split_lines(input);
    if let Some(first) = lines.first_mut() {
        first.0 = from.min(first.1);
    }
    let mut stack: Vec<Frame> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (s, e) = lines[i];
        i += 1;
        let line = &input[s..e];
        let ind = indent(line);
        if is_blank(line) || line[ind] == b'#' {
            continue;
        }
        if ind == 0 && document_marker(line) {
            close(&mut stack, None, out);
            continue;
        }
        // Sequence items (`- `, also `- - `): each closes what the item before it opened.
        let mut col = ind;
        let mut dashed = false;
        while &line[col..] == b"-"
            || line[col..].starts_with(b"- ")
            || line[col..].starts_with(b"-\t")
        {
            close(&mut stack, Some(col), out);
            if let Some(top) = stack.last_mut() {
                top.opens = Section::None;
            }
            col += 1;
            col += line[col..]
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
            dashed = true;
        }
        let content = &line[col..];
        if content.is_empty() || content[0] == b'#' {
            continue;
        }
        if matches!(content[0], b'{' | b'[') {
            // A flow collection as a node of its own (`- {kind: Secret, …}`), or the value of
            // the key above it (`data:` then `{…}` on the next line).
            if !dashed {
                close(&mut stack, Some(col), out);
            }
            let mut own = Manifests::default();
            let (root, sink) = match stack.last_mut() {
                Some(top) if !dashed && top.indent < col && content[0] == b'{' => {
                    let opens = std::mem::replace(&mut top.opens, Section::None);
                    (opens, &mut top.pending)
                }
                _ => (Section::None, &mut own),
            };
            let end = flow(input, s + col, root, sink, out, false);
            skip_to(&lines, &mut i, end);
            continue;
        }
        let Some((raw_key, colon)) = key_of(content) else {
            if matches!(content[0], b'|' | b'>') {
                skip_block(input, &lines, &mut i, ind);
            }
            continue;
        };
        if !dashed {
            close(&mut stack, Some(col), out);
        }
        if dashed || stack.last().is_none_or(|top| top.indent < col) {
            if stack.len() >= MAX_DEPTH {
                continue;
            }
            let role = if dashed {
                Section::None
            } else {
                stack.last().map_or(Section::None, |top| top.opens)
            };
            stack.push(Frame {
                indent: col,
                secret: false,
                opens: Section::None,
                role,
                pending: Manifests::default(),
            });
        }
        let depth = stack.len();
        let role = stack[depth - 1].role;
        stack[depth - 1].opens = Section::None;
        let key = raw_key;
        let mut v = s + col + colon + 1;
        while v < e && matches!(input[v], b' ' | b'\t') {
            v += 1;
        }
        let first = input[v..e].first().copied();
        match first {
            None | Some(b'#') => {
                if role == Section::None {
                    stack[depth - 1].opens = section_of(key);
                }
            }
            Some(b'|' | b'>') => {
                let at = i;
                skip_block(input, &lines, &mut i, col);
                if role != Section::None
                    && depth >= 2
                    && let Some((span, text)) = block_text(input, &lines[at..i])
                {
                    entry(role, span, text, key, &mut stack[depth - 2].pending);
                }
            }
            Some(b'{' | b'[') => {
                let root = if role == Section::None && first == Some(b'{') {
                    section_of(key)
                } else {
                    Section::None
                };
                let end = flow(input, v, root, &mut stack[depth - 1].pending, out, false);
                skip_to(&lines, &mut i, end);
            }
            Some(_) => {
                let Some((span, text)) = scalar(input, v, e) else {
                    continue;
                };
                if role == Section::None {
                    if key == b"kind" && text == b"Secret" {
                        stack[depth - 1].secret = true;
                    }
                } else if depth >= 2 {
                    entry(role, span, text, key, &mut stack[depth - 2].pending);
                }
            }
        }
    }
    close(&mut stack, None, out);
}

/// Moves `i` past the lines that start before byte `end` (read by the flow tokenizer).
fn skip_to(lines: &[(usize, usize)], i: &mut usize, end: usize) {
    while *i < lines.len() && lines[*i].0 < end {
        *i += 1;
    }
}

/// Moves `i` past a block scalar: the lines indented deeper than `column`, and blank lines.
fn skip_block(input: &[u8], lines: &[(usize, usize)], i: &mut usize, column: usize) {
    while *i < lines.len() {
        let (s, e) = lines[*i];
        let l = &input[s..e];
        if !is_blank(l) && indent(l) <= column {
            break;
        }
        *i += 1;
    }
}

/// A block scalar's span and text: its lines less their common indentation, joined by `\n`,
/// without trailing blank lines.
fn block_text(input: &[u8], block: &[(usize, usize)]) -> Option<((usize, usize), Vec<u8>)> {
    let kept = block
        .iter()
        .rposition(|&(a, b)| !is_blank(&input[a..b]))
        .map_or(0, |p| p + 1);
    let block = &block[..kept];
    let inner = block
        .iter()
        .filter(|&&(a, b)| !is_blank(&input[a..b]))
        .map(|&(a, b)| indent(&input[a..b]))
        .min()?;
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
    let (first, last) = (block.first()?, block.last()?);
    Some(((first.0 + inner, last.1), text))
}

/// The key of a block mapping entry (unquoted) and the index of its `:` in `content`.
fn key_of(content: &[u8]) -> Option<(&[u8], usize)> {
    let q = *content.first()?;
    match q {
        b'"' | b'\'' => {
            let close = 1 + memchr::memchr(q, &content[1..])?;
            let rest = &content[close + 1..];
            let pad = rest
                .iter()
                .take_while(|&&b| b == b' ' || b == b'\t')
                .count();
            (rest.get(pad) == Some(&b':')).then_some((&content[1..close], close + 1 + pad))
        }
        _ => {
            let colon = content
                .windows(2)
                .position(|w| w[0] == b':' && (w[1] == b' ' || w[1] == b'\t'))
                .or_else(|| content.ends_with(b":").then(|| content.len() - 1))?;
            let key = trim_end(&content[..colon]);
            (!key.is_empty()).then_some((key, colon))
        }
    }
}

/// A block-style scalar from `at` to the end of its line `end`: its span and text (unquoted,
/// without a trailing `# comment`).
fn scalar(input: &[u8], at: usize, end: usize) -> Option<((usize, usize), Vec<u8>)> {
    let first = *input[..end].get(at)?;
    if first == b'"' || first == b'\'' {
        let (span, text, _) = quoted(input, at, end);
        return Some((span, text));
    }
    let stop = (at + 1..end)
        .find(|&j| input[j] == b'#' && matches!(input[j - 1], b' ' | b'\t'))
        .unwrap_or(end);
    let text = trim_end(&input[at..stop]);
    (!text.is_empty()).then(|| ((at, at + text.len()), text.to_vec()))
}

/// A quoted string starting at `at` (its quote) and ending before `limit`: the span inside the
/// quotes, the unescaped text and the offset after the closing quote. An unclosed one runs to
/// `limit`.
fn quoted(input: &[u8], at: usize, limit: usize) -> ((usize, usize), Vec<u8>, usize) {
    let q = input[at];
    let mut text = Vec::new();
    let mut j = at + 1;
    while j < limit {
        let b = input[j];
        if b == q {
            if q == b'\'' && j + 1 < limit && input[j + 1] == b'\'' {
                text.push(b'\'');
                j += 2;
                continue;
            }
            return ((at + 1, j), text, j + 1);
        }
        if b == b'\\' && q == b'"' && j + 1 < limit {
            j += unescape(&input[j..limit], &mut text);
            continue;
        }
        text.push(b);
        j += 1;
    }
    ((at + 1, limit.max(at + 1)), text, limit.max(at + 1))
}

/// Unescapes the escape that starts `s` (a backslash and at least one more byte) onto `out`;
/// returns how many bytes it took. An unknown escape is kept as written.
fn unescape(s: &[u8], out: &mut Vec<u8>) -> usize {
    let simple = match s[1] {
        b'n' => Some(b'\n'),
        b't' => Some(b'\t'),
        b'r' => Some(b'\r'),
        b'b' => Some(0x08),
        b'f' => Some(0x0c),
        c @ (b'"' | b'\\' | b'/') => Some(c),
        _ => None,
    };
    if let Some(c) = simple {
        out.push(c);
        return 2;
    }
    if s[1] == b'u'
        && let Some(code) = s
            .get(2..6)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
    {
        let ch = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        return 6;
    }
    out.push(b'\\');
    1
}

/// A plain scalar in a flow collection, from `at`: its span, text and the offset after it.
fn plain(input: &[u8], at: usize) -> ((usize, usize), Vec<u8>, usize) {
    let mut j = at;
    while j < input.len() {
        let b = input[j];
        if matches!(b, b',' | b'{' | b'}' | b'[' | b']' | b'\n' | b'\r') {
            break;
        }
        if b == b':'
            && input
                .get(j + 1)
                .is_none_or(|&c| matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b',' | b'}' | b']'))
        {
            break;
        }
        if b == b'#' && j > at && matches!(input[j - 1], b' ' | b'\t') {
            break;
        }
        j += 1;
    }
    let next = j.max(at + 1);
    let text = trim_end(&input[at..j]);
    ((at, at + text.len()), text.to_vec(), next)
}

/// One open flow collection.
struct FlowFrame {
    /// A mapping (`{`), not a sequence (`[`).
    object: bool,
    /// It has the entry `kind: Secret`.
    secret: bool,
    /// The key read, whose value comes next.
    key: Option<Vec<u8>>,
    /// What it holds itself (it is a `data` or `stringData` mapping).
    role: Section,
    /// The values of its `data` and `stringData`.
    pending: Manifests,
}

/// Flow collections from `at` (a `{` or `[`): JSON, or YAML flow style. The first collection
/// opened holds `root` (a `data:` mapping's entries go to `sink`); Secrets found inside go to
/// `out`. Returns the offset after the collection, or after everything for `whole` (a JSON
/// document, or several in a row). Outside `whole`, a YAML document marker at the start of a
/// line ends an unclosed collection. What is nested deeper than [`MAX_DEPTH`] is skipped (its
/// brackets are only counted).
fn flow(
    input: &[u8],
    at: usize,
    root: Section,
    sink: &mut Manifests,
    out: &mut Manifests,
    whole: bool,
) -> usize {
    let n = input.len();
    let mut stack: Vec<FlowFrame> = Vec::new();
    // Collections open beyond MAX_DEPTH: only counted, so that their ends are matched.
    let mut beyond = 0usize;
    let mut i = at;
    while i < n {
        let b = input[i];
        match b {
            b'\n' => {
                i += 1;
                if !whole && document_marker(&input[i..]) {
                    break;
                }
            }
            b' ' | b'\t' | b'\r' | b':' => i += 1,
            b',' => {
                if beyond == 0
                    && let Some(top) = stack.last_mut()
                {
                    top.key = None;
                }
                i += 1;
            }
            b'#' => i = memchr::memchr(b'\n', &input[i..]).map_or(n, |p| i + p),
            b'{' | b'[' if beyond > 0 || stack.len() >= MAX_DEPTH => {
                beyond += 1;
                i += 1;
            }
            b'}' | b']' if beyond > 0 => {
                beyond -= 1;
                i += 1;
            }
            b'{' | b'[' => {
                let object = b == b'{';
                let role = match stack.last_mut() {
                    None if object => root,
                    None => Section::None,
                    Some(parent) => {
                        let key = parent.key.take();
                        match key {
                            Some(k) if object && parent.object && parent.role == Section::None => {
                                section_of(&k)
                            }
                            _ => Section::None,
                        }
                    }
                };
                stack.push(FlowFrame {
                    object,
                    secret: false,
                    key: None,
                    role,
                    pending: Manifests::default(),
                });
                i += 1;
            }
            b'}' | b']' => {
                i += 1;
                if let Some(frame) = stack.pop() {
                    if frame.secret {
                        out.absorb(frame.pending);
                    }
                    if stack.is_empty() && !whole {
                        return i;
                    }
                }
            }
            _ => {
                let (span, text, next) = if b == b'"' || b == b'\'' {
                    quoted(input, i, n)
                } else {
                    plain(input, i)
                };
                i = next;
                if beyond == 0 {
                    flow_scalar(&mut stack, span, text, sink);
                }
            }
        }
    }
    // Unclosed: what was read still counts.
    while let Some(frame) = stack.pop() {
        if frame.secret {
            out.absorb(frame.pending);
        }
    }
    i
}

/// A scalar read inside flow collections: a key, or the value of the key before it.
fn flow_scalar(stack: &mut [FlowFrame], span: (usize, usize), text: Vec<u8>, sink: &mut Manifests) {
    let depth = stack.len();
    let Some(top) = stack.last_mut() else {
        return;
    };
    if !top.object {
        return;
    }
    let Some(key) = top.key.take() else {
        top.key = Some(text);
        return;
    };
    let role = top.role;
    if role == Section::None {
        if key == b"kind" && text == b"Secret" {
            top.secret = true;
        }
        return;
    }
    let target = if depth >= 2 {
        &mut stack[depth - 2].pending
    } else {
        sink
    };
    entry(role, span, text, &key, target);
}

/// One entry of a `data:` (decoded) or `stringData:` mapping. Kubernetes keys are
/// `[-._a-zA-Z0-9]+`; other entries are not values.
fn entry(section: Section, span: (usize, usize), text: Vec<u8>, key: &[u8], out: &mut Manifests) {
    if text.is_empty()
        || key.is_empty()
        || !key
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(b))
    {
        return;
    }
    let key = String::from_utf8_lossy(key).into_owned();
    match section {
        Section::Data => {
            let compact: Vec<u8> = text
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            match BASE64.decode(&compact) {
                Ok(value) => out.values.push(SecretValue {
                    span,
                    value,
                    encoded: true,
                    key,
                }),
                Err(_) => out.invalid.push(InvalidValue { span, key }),
            }
        }
        Section::StringData => out.values.push(SecretValue {
            span,
            value: text,
            encoded: false,
            key,
        }),
        Section::None => {}
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

    /// `(key, value, text at the span)` of every value.
    fn found(input: &[u8]) -> Vec<(String, Vec<u8>, Vec<u8>)> {
        secret_values(input)
            .into_iter()
            .map(|v| (v.key, v.value, input[v.span.0..v.span.1].to_vec()))
            .collect()
    }

    fn one(key: &str, value: &[u8], at: &[u8]) -> (String, Vec<u8>, Vec<u8>) {
        (key.to_owned(), value.to_vec(), at.to_vec())
    }

    #[test]
    fn the_items_of_a_list_are_read_and_annotations_are_not() {
        let y = b"apiVersion: v1\nitems:\n- apiVersion: v1\n  data:\n    password: UzNjcjN0IQ==\n  kind: Secret\n  metadata:\n    annotations:\n      kubectl.kubernetes.io/last-applied-configuration: |\n        {\"data\":{\"password\":\"UzNjcjN0IQ==\"},\"kind\":\"Secret\"}\n    name: a\n- apiVersion: v1\n  data:\n    user: YWRtaW4=\n  kind: ConfigMap\nkind: List\nmetadata:\n  resourceVersion: \"\"\n";
        assert_eq!(found(y), [one("password", b"S3cr3t!", b"UzNjcjN0IQ==")]);
        let v = secret_values(y);
        assert_eq!(y[..v[0].span.0].iter().filter(|&&b| b == b'\n').count(), 4);
        // items indented under `items:`, and several Secrets in a row
        let y = b"kind: List\nitems:\n  - kind: Secret\n    data:\n      a: YWRtaW4=\n  - kind: Secret\n    stringData:\n      b: plain\n";
        assert_eq!(
            found(y),
            [
                one("a", b"admin", b"YWRtaW4="),
                one("b", b"plain", b"plain")
            ]
        );
    }

    #[test]
    fn json_manifests_and_lists_are_read() {
        let j = br#"{"apiVersion":"v1","kind":"Secret","data":{"motd":"UzNjcjN0IQ==","user":"YWRtaW4\u003d"},"type":"Opaque"}"#;
        assert_eq!(
            found(j),
            [
                one("motd", b"S3cr3t!", b"UzNjcjN0IQ=="),
                one("user", b"admin", br"YWRtaW4\u003d")
            ]
        );
        let j = b"{\n  \"apiVersion\": \"v1\",\n  \"items\": [\n    {\n      \"data\": {\"a\": \"YWRtaW4=\", \"n\": 3},\n      \"kind\": \"Secret\"\n    },\n    {\"kind\": \"ConfigMap\", \"data\": {\"b\": \"YWRtaW4=\"}}\n  ],\n  \"kind\": \"List\"\n}\n";
        assert_eq!(found(j), [one("a", b"admin", b"YWRtaW4=")]);
        assert!(found(br#"{"kind":"ConfigMap","data":{"a":"YWRtaW4="}}"#).is_empty());
        assert!(found(b"kind: SecretStore\ndata:\n  a: YWRtaW4=\n").is_empty());
    }

    #[test]
    fn comments_flow_mappings_and_string_data() {
        let y = b"kind: Secret # app credentials\ndata:\n  password: UzNjcjN0IQ== # rotated\n";
        assert_eq!(found(y), [one("password", b"S3cr3t!", b"UzNjcjN0IQ==")]);
        let y = b"kind: Secret\nmetadata: {name: a}\ndata: {password: UzNjcjN0IQ==, \"user\": 'YWRtaW4='}\n";
        assert_eq!(
            found(y),
            [
                one("password", b"S3cr3t!", b"UzNjcjN0IQ=="),
                one("user", b"admin", b"YWRtaW4=")
            ]
        );
        let y = b"kind: Secret\ndata: {\n  password: UzNjcjN0IQ==,  # one\n  user: YWRtaW4=\n}\nstringData:\n  note: plain\n";
        assert_eq!(found(y).len(), 3);
        let y = b"kind: Secret\ndata:\n  {password: UzNjcjN0IQ==}\n";
        assert_eq!(found(y), [one("password", b"S3cr3t!", b"UzNjcjN0IQ==")]);
        let y = b"items:\n- {kind: Secret, data: {a: YWRtaW4=}}\n";
        assert_eq!(found(y), [one("a", b"admin", b"YWRtaW4=")]);
    }

    #[test]
    fn invalid_base64_is_listed_apart() {
        let y = b"kind: Secret\ndata:\n  password: not*base64\n  user: YWRtaW4=\n";
        let m = secret_manifests(y);
        assert_eq!(m.values.len(), 1);
        assert_eq!(m.values[0].key, "user");
        assert_eq!(m.invalid.len(), 1);
        assert_eq!(m.invalid[0].key, "password");
        assert_eq!(&y[m.invalid[0].span.0..m.invalid[0].span.1], b"not*base64");
    }

    #[test]
    fn hostile_nesting_is_bounded() {
        let mut j = br#"{"kind":"Secret","data":{"a":"YWRtaW4="},"x":"#.to_vec();
        j.extend(std::iter::repeat_n(b'[', 200_000));
        assert!(secret_values(&j).len() <= 1);
        let mut y = b"kind: Secret\n".to_vec();
        for d in 0..2_000 {
            y.extend(std::iter::repeat_n(b' ', d));
            y.extend(b"k:\n");
        }
        y.extend(std::iter::repeat_n(&b"- "[..], 20_000).flatten());
        y.push(b'\n');
        y.extend(std::iter::repeat_n(&b"data: {\n"[..], 20_000).flatten());
        assert!(secret_values(&y).is_empty());
        // an unclosed flow mapping ends at the next document
        let y = b"kind: Secret\ndata: {a: YWRtaW4=\n---\nkind: Secret\ndata:\n  b: YWRtaW4=\n";
        assert_eq!(found(y).len(), 2);
    }
}
