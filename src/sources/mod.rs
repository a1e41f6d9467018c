//! Sources: where bytes come from. A source enumerates inputs and hands each one's bytes, with
//! its [`Origin`](crate::finding::Origin), to a per-worker visitor. Sources never match; problems
//! with one input become [`Diagnostic`]s and the enumeration goes on.

pub mod archive;
pub mod forge;
pub mod fs;
pub mod git;
pub mod image;
pub mod mirror;
pub mod oci;
pub mod registry;
pub mod staged;

use std::fmt;

/// Default `--max-file-size`: 25 MiB.
pub const DEFAULT_MAX_FILE_SIZE: u64 = 25 << 20;

/// Something worth telling the user about one input; the scan goes on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Diagnostic {
    /// The input was not scanned.
    Skipped {
        /// The input.
        path: String,
        /// Why.
        reason: SkipReason,
    },
    /// The input was scanned, with a caveat.
    Warning {
        /// The input.
        path: String,
        /// The caveat.
        kind: WarningKind,
    },
    /// The input could not be read; it counts towards exit code 2.
    Error {
        /// The input.
        path: String,
        /// The cause, as text.
        message: String,
    },
}

/// Why an input was skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// A NUL byte in the first 8 KiB.
    Binary,
    /// Larger than `--max-file-size`.
    TooLarge {
        /// Its size in bytes.
        size: u64,
        /// The limit in bytes.
        limit: u64,
    },
    /// Excluded by a path glob of the configuration.
    Excluded,
    /// A FIFO, socket or device met while walking a directory: reading it could block or
    /// never end. (One named on the command line is read.)
    Special,
}

/// A caveat about a scanned input.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WarningKind {
    /// Not valid UTF-8; scanned as bytes, columns count bytes that start a character.
    InvalidUtf8,
    /// A single line longer than 1 MiB (minified or data file); scanned in windows.
    LongLine,
    /// A git object could not be read or decoded; what depends on it was not scanned.
    CorruptObject(String),
    /// Part of the history is not available or not followed (shallow clone, submodules).
    Incomplete(String),
    /// A pass of the analysis could not do all it does with this input (a Secret value that
    /// is not base64, a CI file analysed in part); the plain rules still ran.
    Analysis(String),
}

impl Diagnostic {
    /// A short machine-friendly name of the diagnostic kind (`binary`, `too_large`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Diagnostic::Skipped { reason, .. } => match reason {
                SkipReason::Binary => "binary",
                SkipReason::TooLarge { .. } => "too_large",
                SkipReason::Excluded => "excluded",
                SkipReason::Special => "special",
            },
            Diagnostic::Warning { kind, .. } => match kind {
                WarningKind::InvalidUtf8 => "invalid_utf8",
                WarningKind::LongLine => "long_line",
                WarningKind::CorruptObject(_) => "corrupt_object",
                WarningKind::Incomplete(_) => "incomplete",
                WarningKind::Analysis(_) => "analysis",
            },
            Diagnostic::Error { .. } => "error",
        }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Diagnostic::Skipped { path, reason } => match reason {
                SkipReason::Binary => {
                    write!(
                        f,
                        "skipped binary file {path} (NUL byte in the first 8 KiB; --scan-binary scans it)"
                    )
                }
                SkipReason::TooLarge { size, limit } => write!(
                    f,
                    "skipped {path}: {size} bytes is over the {limit}-byte limit (raise --max-file-size, 0 = no limit)"
                ),
                SkipReason::Excluded => write!(f, "skipped {path}: excluded by the configuration"),
                SkipReason::Special => write!(
                    f,
                    "skipped {path}: a FIFO, socket or device, not a regular file (name it on the command line to read it)"
                ),
            },
            Diagnostic::Warning { path, kind } => match kind {
                WarningKind::InvalidUtf8 => {
                    write!(f, "{path} is not valid UTF-8; scanned as bytes")
                }
                WarningKind::LongLine => write!(
                    f,
                    "{path} has a line longer than 1 MiB (minified or data file); scanned, columns may be large"
                ),
                WarningKind::CorruptObject(message) => {
                    write!(f, "{path} could not be read ({message}); scanning the rest")
                }
                WarningKind::Incomplete(message) | WarningKind::Analysis(message) => {
                    write!(f, "{path}: {message}")
                }
            },
            Diagnostic::Error { path, message } => write!(f, "{path}: {message}"),
        }
    }
}
