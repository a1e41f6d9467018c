//! Byte offsets to 1-based line and column numbers.
//!
//! Columns count Unicode code points (SARIF `unicodeCodePoints`); in invalid UTF-8 each byte that
//! is not a continuation byte counts as one.

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    /// 1-based line.
    pub line: usize,
    /// 1-based column in code points.
    pub column: usize,
}

/// Converts increasing offsets into line/column positions in one pass over the text.
///
/// ```
/// use leakhound::detect::location::{LineCol, Locator};
/// let text = "ab\ncdé f\n";
/// let mut loc = Locator::new(text.as_bytes());
/// assert_eq!(loc.locate(0), LineCol { line: 1, column: 1 });
/// assert_eq!(loc.locate(3), LineCol { line: 2, column: 1 });
/// // "é" is two bytes but one column
/// assert_eq!(loc.locate(8), LineCol { line: 2, column: 5 });
/// ```
#[derive(Debug)]
pub struct Locator<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
    line_start: usize,
    /// Code points from `line_start` to `pos`. Why: a minified file is one long line, and
    /// counting from the line start for every offset would be quadratic.
    column: usize,
}

impl<'a> Locator<'a> {
    /// A locator at the start of `text`.
    pub fn new(text: &'a [u8]) -> Self {
        Locator {
            text,
            pos: 0,
            line: 1,
            line_start: 0,
            column: 0,
        }
    }

    /// The position of `offset`. Offsets before the previous call restart from the beginning.
    pub fn locate(&mut self, offset: usize) -> LineCol {
        let offset = offset.min(self.text.len());
        if offset < self.pos {
            *self = Locator::new(self.text);
        }
        let mut from = self.pos;
        for nl in memchr::memchr_iter(b'\n', &self.text[self.pos..offset]) {
            self.line += 1;
            self.line_start = self.pos + nl + 1;
            from = self.line_start;
            self.column = 0;
        }
        self.column += self.text[from..offset]
            .iter()
            .filter(|&&b| b & 0xC0 != 0x80)
            .count();
        self.pos = offset;
        LineCol {
            line: self.line,
            column: self.column + 1,
        }
    }

    /// The positions of `start` and `end` (`end >= start`); only `start` moves the locator, so
    /// the next call may ask for an offset between the two.
    pub fn locate_span(&mut self, start: usize, end: usize) -> (LineCol, LineCol) {
        let s = self.locate(start);
        let mut probe = Locator {
            text: self.text,
            pos: self.pos,
            line: self.line,
            line_start: self.line_start,
            column: self.column,
        };
        (s, probe.locate(end.max(start)))
    }
}
