//! A YAML document tree with source positions, built from `yaml-rust2`'s event parser (its
//! `Yaml` type drops positions, which CI findings need).
//!
//! Scanned files are hostile input, so building the tree has limits, and none of them stops
//! the analysis of what can be built:
//!
//! - The parser is driven event by event (`Parser::load` recurses once per nesting level and
//!   overflows the stack on a few thousand levels, which aborts the whole scan). A collection
//!   nested deeper than [`MAX_DEPTH`] is not built: it stands as one [`Node::Elided`], and the
//!   rest of the document is built as usual.
//! - At most [`MAX_NODES`] nodes are built; past that, building stops and the tree holds the
//!   part read so far.
//! - A syntax error ends the document being read, which is kept as far as it was read (open
//!   collections closed). Parsing then resumes at the next line that starts a document (`---`)
//!   or a top-level key, whose entries join the interrupted document's top-level mapping. Every
//!   restart begins after the line of the previous error, at most [`MAX_RESTARTS`] times, and the
//!   characters all the restarts read together are bounded by a multiple of the input's length,
//!   so that the work stays linear in the input.

use std::cell::Cell;

use yaml_rust2::{
    Event,
    parser::Parser,
    scanner::{Marker, ScanError, TScalarStyle},
};

/// Collections nested deeper than this are not built (real CI files nest a dozen levels).
pub const MAX_DEPTH: usize = 64;
/// At most this many nodes are built for one file (about 25 MiB of dense workflow YAML).
pub const MAX_NODES: usize = 2_000_000;
/// Parsing resumes after at most this many syntax errors.
pub const MAX_RESTARTS: usize = 256;

/// A YAML node with the 1-based line and column where it starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    /// A scalar (strings, numbers and booleans all stay text).
    Scalar {
        /// The value.
        value: String,
        /// Whether it was quoted or a block scalar (never a bool/number/null then).
        quoted: bool,
        /// Start line.
        line: usize,
        /// Start column.
        col: usize,
    },
    /// A sequence.
    Seq {
        /// Items.
        items: Vec<Node>,
        /// Start line.
        line: usize,
    },
    /// A mapping, keys in order.
    Map {
        /// Entries.
        entries: Vec<(Node, Node)>,
        /// Start line.
        line: usize,
    },
    /// An alias (`*name`), not resolved.
    Alias {
        /// Line.
        line: usize,
    },
    /// A value that was not built: a collection nested deeper than [`MAX_DEPTH`], or the value
    /// of a key cut off by a syntax error or a limit.
    Elided {
        /// Line.
        line: usize,
    },
}

impl Node {
    /// The start line.
    pub fn line(&self) -> usize {
        match self {
            Node::Scalar { line, .. }
            | Node::Seq { line, .. }
            | Node::Map { line, .. }
            | Node::Alias { line }
            | Node::Elided { line } => *line,
        }
    }

    /// The scalar text, if a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    /// The value of `key` in a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map { entries, .. } => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    /// Mapping entries with scalar keys.
    pub fn entries(&self) -> impl Iterator<Item = (&str, &Node)> {
        let entries: &[(Node, Node)] = match self {
            Node::Map { entries, .. } => entries,
            _ => &[],
        };
        entries
            .iter()
            .filter_map(|(k, v)| k.as_str().map(|k| (k, v)))
    }

    /// Sequence items (empty for other nodes).
    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq { items, .. } => items,
            _ => &[],
        }
    }
}

/// The documents of a YAML text, and what kept parts of it out of them.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Every document, as far as it could be built.
    pub docs: Vec<Node>,
    /// The first syntax error: its line and the parser's message.
    pub syntax: Option<(usize, String)>,
    /// How many syntax errors were met (parsing resumed after each).
    pub syntax_errors: usize,
    /// The line of the first collection nested deeper than [`MAX_DEPTH`] (not built).
    pub too_deep: Option<usize>,
    /// The line at which building stopped for good (too many nodes, restarts or characters).
    pub truncated: Option<usize>,
}

impl Parsed {
    /// Whether the whole text was built.
    pub fn complete(&self) -> bool {
        self.syntax.is_none() && self.too_deep.is_none() && self.truncated.is_none()
    }
}

enum Frame {
    Seq(Vec<Node>, usize),
    Map(Vec<(Node, Node)>, Option<Node>, usize),
}

/// How reading one stretch of the text ended.
enum End {
    /// At the end of the stream.
    Done,
    /// At a syntax error.
    Syntax(ScanError),
    /// The node budget ran out (at this line).
    Budget(usize),
}

struct Builder {
    stack: Vec<Frame>,
    docs: Vec<Node>,
    /// Lines of the text before the stretch being read.
    line_offset: usize,
    /// How deep inside a collection that is not built (0: building).
    skipping: usize,
    /// Where the collection that is not built starts.
    skip_line: usize,
    /// The first line where nesting went past the limit.
    too_deep: Option<usize>,
    /// Nodes that may still be built.
    nodes_left: usize,
}

impl Builder {
    fn new() -> Builder {
        Builder {
            stack: Vec::new(),
            docs: Vec::new(),
            line_offset: 0,
            skipping: 0,
            skip_line: 0,
            too_deep: None,
            nodes_left: MAX_NODES,
        }
    }

    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(Frame::Seq(items, _)) => items.push(node),
            Some(Frame::Map(entries, key, _)) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => *key = Some(node),
            },
            None => self.docs.push(node),
        }
    }

    /// Takes one event; `false` when the node budget has run out.
    fn event(&mut self, ev: Event, mark: Marker) -> bool {
        let (line, col) = (mark.line() + self.line_offset, mark.col() + 1);
        if self.skipping > 0 {
            match ev {
                Event::SequenceStart(..) | Event::MappingStart(..) => self.skipping += 1,
                Event::SequenceEnd | Event::MappingEnd => {
                    self.skipping -= 1;
                    if self.skipping == 0 {
                        let line = self.skip_line;
                        self.push(Node::Elided { line });
                    }
                }
                _ => {}
            }
            return true;
        }
        let builds = matches!(
            ev,
            Event::Scalar(..)
                | Event::SequenceStart(..)
                | Event::MappingStart(..)
                | Event::Alias(_)
        );
        if builds {
            if self.nodes_left == 0 {
                return false;
            }
            self.nodes_left -= 1;
        }
        match ev {
            Event::Scalar(value, style, _, _) => {
                let quoted = !matches!(style, TScalarStyle::Plain);
                self.push(Node::Scalar {
                    value,
                    quoted,
                    line,
                    col,
                });
            }
            Event::SequenceStart(..) | Event::MappingStart(..) if self.stack.len() >= MAX_DEPTH => {
                self.skipping = 1;
                self.skip_line = line;
                self.too_deep.get_or_insert(line);
            }
            Event::SequenceStart(..) => self.stack.push(Frame::Seq(Vec::new(), line)),
            Event::MappingStart(..) => self.stack.push(Frame::Map(Vec::new(), None, line)),
            Event::SequenceEnd => {
                if let Some(Frame::Seq(items, line)) = self.stack.pop() {
                    self.push(Node::Seq { items, line });
                }
            }
            Event::MappingEnd => {
                if let Some(Frame::Map(entries, _, line)) = self.stack.pop() {
                    self.push(Node::Map { entries, line });
                }
            }
            Event::Alias(_) => self.push(Node::Alias { line }),
            _ => {}
        }
        true
    }

    /// Closes every open collection (after an error or a limit), keeping what was read.
    fn close_all(&mut self) {
        if self.skipping > 0 {
            self.skipping = 0;
            let line = self.skip_line;
            self.push(Node::Elided { line });
        }
        while let Some(frame) = self.stack.pop() {
            let node = match frame {
                Frame::Seq(items, line) => Node::Seq { items, line },
                Frame::Map(mut entries, key, line) => {
                    if let Some(k) = key {
                        let line = k.line();
                        entries.push((k, Node::Elided { line }));
                    }
                    Node::Map { entries, line }
                }
            };
            self.push(node);
        }
    }

    /// Reads `text` (one stretch of the whole), every character counted against `work`.
    fn read(&mut self, text: &str, work: &Cell<usize>) -> End {
        let mut parser = Parser::new(Budgeted {
            chars: text.chars(),
            left: work,
        });
        loop {
            match parser.next_token() {
                Ok((Event::StreamEnd, _)) => return End::Done,
                Ok((ev, mark)) => {
                    let line = mark.line() + self.line_offset;
                    if !self.event(ev, mark) {
                        return End::Budget(line);
                    }
                }
                Err(e) => return End::Syntax(e),
            }
        }
    }

    /// Joins the first document read since `first` to the one before it when the stretch
    /// continued that document's top-level mapping.
    fn merge(&mut self, first: usize, continues: bool) {
        if !continues || first == 0 || first >= self.docs.len() {
            return;
        }
        if !matches!(self.docs[first - 1], Node::Map { .. })
            || !matches!(self.docs[first], Node::Map { .. })
        {
            return;
        }
        if let Node::Map { entries, .. } = self.docs.remove(first)
            && let Some(Node::Map { entries: into, .. }) = self.docs.get_mut(first - 1)
        {
            into.extend(entries);
        }
    }
}

/// The characters of a text, until a shared budget runs out (then the parser sees the end).
struct Budgeted<'a> {
    chars: std::str::Chars<'a>,
    left: &'a Cell<usize>,
}

impl Iterator for Budgeted<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let left = self.left.get();
        if left == 0 {
            return None;
        }
        let c = self.chars.next()?;
        self.left.set(left - 1);
        Some(c)
    }
}

/// The byte offset of each line's start.
fn line_starts(text: &str) -> Vec<usize> {
    std::iter::once(0)
        .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
        .collect()
}

/// The first line at or after line index `from` (0-based) where parsing can resume: a
/// document start (`---`: `true`) or a top-level key (`false`).
fn restart_at(text: &str, starts: &[usize], from: usize) -> Option<(usize, bool)> {
    for index in from..starts.len() {
        let begin = starts[index];
        let end = starts.get(index + 1).copied().unwrap_or(text.len());
        let line = text[begin..end].trim_end_matches(['\n', '\r']);
        if line == "---" || line.starts_with("--- ") || line.starts_with("---\t") {
            return Some((index, true));
        }
        let Some(first) = line.chars().next() else {
            continue;
        };
        let opens_key = !first.is_whitespace()
            && !matches!(
                first,
                '#' | '-' | '[' | ']' | '{' | '}' | ',' | '.' | '|' | '>' | '%' | '?' | ':'
            );
        if opens_key && line.contains(':') {
            return Some((index, false));
        }
    }
    None
}

/// Parses every document of a YAML text, as far as it parses (see the module notes).
pub fn parse(text: &str) -> Parsed {
    // Why: restarts may read some lines twice; all of them together read at most this much.
    let work = Cell::new(text.len().saturating_mul(2).saturating_add(1 << 16));
    let mut builder = Builder::new();
    let mut out = Parsed::default();
    let mut start = 0usize;
    let mut continues = false;
    let mut starts: Option<Vec<usize>> = None;
    loop {
        let first = builder.docs.len();
        let end = builder.read(&text[start..], &work);
        if !matches!(end, End::Done) {
            builder.close_all();
        }
        builder.merge(first, continues);
        let error_line = match end {
            End::Done => {
                if work.get() == 0 {
                    out.truncated = Some(builder.line_offset + 1);
                }
                break;
            }
            End::Budget(line) => {
                out.truncated = Some(line);
                break;
            }
            End::Syntax(e) => {
                if work.get() == 0 {
                    out.truncated = Some(builder.line_offset + 1);
                    break;
                }
                let line = e.marker().line() + builder.line_offset;
                out.syntax_errors += 1;
                if out.syntax.is_none() {
                    out.syntax = Some((line.max(1), e.info().to_owned()));
                }
                line
            }
        };
        if out.syntax_errors > MAX_RESTARTS {
            out.truncated = Some(error_line.max(1));
            break;
        }
        let starts = starts.get_or_insert_with(|| line_starts(text));
        // The error's line is 1-based: as an index it is the line after it, so every restart
        // begins after the line where the last stretch failed.
        let from = error_line.max(builder.line_offset + 1);
        let Some((index, document)) = restart_at(text, starts, from) else {
            break;
        };
        start = starts[index];
        builder.line_offset = index;
        continues = !document;
    }
    out.too_deep = builder.too_deep;
    out.docs = builder.docs;
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let docs = parse("a: 1\nb:\n  - x\n  - 'y'\n").docs;
        let root = &docs[0];
        let b = root.get("b").unwrap();
        assert_eq!(
            b.items()[0],
            Node::Scalar {
                value: "x".into(),
                quoted: false,
                line: 3,
                col: 5
            }
        );
        assert!(matches!(
            b.items()[1],
            Node::Scalar {
                quoted: true,
                line: 4,
                ..
            }
        ));
    }

    #[test]
    fn a_syntax_error_keeps_what_came_before_and_resumes_at_the_next_key() {
        let p = parse("a: 1\nb: [x, y\n  c: ]]\nd:\n  e: 2\n");
        assert!(p.syntax.is_some(), "{p:?}");
        let root = &p.docs[0];
        assert_eq!(root.get("a").and_then(Node::as_str), Some("1"));
        let e = root.get("d").and_then(|d| d.get("e")).unwrap();
        assert_eq!((e.as_str(), e.line()), (Some("2"), 5));
    }

    #[test]
    fn deep_nesting_is_elided_not_recursed() {
        let text = format!("a:\n  {}x\nb: 1\n", "- ".repeat(20_000));
        let p = parse(&text);
        assert_eq!(p.too_deep, Some(2));
        assert_eq!(p.docs[0].get("b").and_then(Node::as_str), Some("1"));
        let flow = format!("a: {}1{}\nb: 2\n", "[".repeat(300), "]".repeat(300));
        let p = parse(&flow);
        assert!(!p.complete());
        assert_eq!(p.docs[0].get("b").and_then(Node::as_str), Some("2"));
    }
}
