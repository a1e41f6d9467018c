//! A YAML document tree with source positions, built from `yaml-rust2`'s event parser (its
//! `Yaml` type drops positions, which CI findings need).

use yaml_rust2::{
    Event,
    parser::{MarkedEventReceiver, Parser},
    scanner::{Marker, ScanError},
};

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
}

impl Node {
    /// The start line.
    pub fn line(&self) -> usize {
        match self {
            Node::Scalar { line, .. }
            | Node::Seq { line, .. }
            | Node::Map { line, .. }
            | Node::Alias { line } => *line,
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

enum Frame {
    Seq(Vec<Node>, usize),
    Map(Vec<(Node, Node)>, Option<Node>, usize),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    docs: Vec<Node>,
}

impl Builder {
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
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        let (line, col) = (mark.line(), mark.col() + 1);
        match ev {
            Event::Scalar(value, style, _, _) => {
                let quoted = !matches!(style, yaml_rust2::scanner::TScalarStyle::Plain);
                self.push(Node::Scalar {
                    value,
                    quoted,
                    line,
                    col,
                });
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
    }
}

/// Parses every document of a YAML text.
pub fn parse(text: &str) -> Result<Vec<Node>, ScanError> {
    let mut builder = Builder::default();
    Parser::new_from_str(text).load(&mut builder, true)?;
    Ok(builder.docs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based() {
        let docs = parse("a: 1\nb:\n  - x\n  - 'y'\n").unwrap();
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
}
