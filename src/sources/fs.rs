//! Files and directories: a parallel walk with `ignore`, one reusable read buffer per worker.
//!
//! Honours `.gitignore`/`.ignore` unless told not to (a gitignored file is not shared, so it is
//! not leaked; `--no-ignore` scans it anyway), never descends into `.git`, scans hidden files
//! (`.env`, `.npmrc` are where secrets live), and does not follow symbolic links, so a symlink
//! loop cannot trap the walk. Named files are always read, even if ignored, but configuration
//! excludes still apply to them (so a pre-commit hook that passes file names honours them).
//!
//! UTF-16 text with a byte order mark (PowerShell scripts, `.reg` exports, configuration saved
//! on Windows) is transcoded to UTF-8 before it is sniffed and scanned (`utf16_to_utf8`),
//! so it is not skipped as binary for its NUL bytes.

use std::{
    io::Read as _,
    path::{Path, PathBuf},
    sync::Arc,
};

use globset::GlobSet;
use ignore::{WalkBuilder, WalkState};

use super::{Diagnostic, SkipReason, WarningKind};
use crate::{
    detect::{BINARY_SNIFF_LEN, looks_binary},
    finding::Origin,
};

/// A single line at least this long triggers a [`WarningKind::LongLine`] warning.
pub const LONG_LINE: usize = 1 << 20;

/// One input named by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A file or directory.
    Path(PathBuf),
    /// Standard input (`-`).
    Stdin,
}

/// Options of the filesystem walk.
#[derive(Debug, Clone, Default)]
pub struct FsOptions {
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Honour `.gitignore`, `.ignore` and `.git/info/exclude`.
    pub respect_ignore: bool,
    /// Globs (matched against root-relative paths) to skip.
    pub exclude: Option<Arc<GlobSet>>,
    /// Larger files are skipped (0 = no limit: files are read in windows, see
    /// [`WINDOW`]).
    pub max_file_size: u64,
    /// Larger git blobs, image files and archive members are skipped (they are held whole).
    pub max_blob_size: u64,
    /// Scan files that look binary instead of skipping them.
    pub scan_binary: bool,
    /// Binary files at these paths are scanned anyway: binary rules (key stores) name them.
    pub binary_paths: Option<Arc<GlobSet>>,
}

impl FsOptions {
    /// Whether a binary file at `rel` (root-relative) is scanned rather than skipped.
    pub fn keeps_binary(&self, rel: &str) -> bool {
        self.scan_binary || self.binary_paths.as_ref().is_some_and(|g| g.is_match(rel))
    }
}

/// Files larger than this are read and scanned in windows of this size, so that memory stays
/// bounded whatever the file size or line length.
pub const WINDOW: usize = 32 << 20;
/// How much consecutive windows share: a finding belongs to the window where it has at least
/// half of this before and after it, which is more than any rule reaches (16 KiB).
pub const OVERLAP: usize = 1 << 20;

/// Where a window of a large file sits in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    /// Lines of the file before the window.
    pub lines_before: usize,
    /// Characters of the window's first line that come before the window.
    pub column_before: usize,
    /// Findings that start in `keep.0..keep.1` (byte offsets in the window) belong to it.
    pub keep: (usize, usize),
    /// Whether this is the file's first window (it counts the file).
    pub first: bool,
    /// Bytes of the file this window adds (its length, less what it shares with the next).
    pub new_bytes: usize,
}

/// What a source hands to a visitor.
#[derive(Debug)]
pub enum Event<'a> {
    /// The bytes of one input.
    Blob {
        /// Where they came from.
        origin: Origin,
        /// The bytes.
        bytes: &'a [u8],
        /// For a window of a large file, where it sits (`None`: the whole input).
        part: Option<Part>,
    },
    /// A problem with one input.
    Diagnostic(Diagnostic),
}

/// Per-worker visitor of events.
pub type Visitor<'s> = Box<dyn FnMut(Event<'_>) + Send + 's>;

/// Walks the inputs, calling one visitor per worker thread (made by `make_visitor`).
pub fn walk<'s>(
    inputs: &[Input],
    opts: &FsOptions,
    make_visitor: &(dyn Fn() -> Visitor<'s> + Sync),
) {
    if inputs.contains(&Input::Stdin) {
        let mut visit = make_visitor();
        read_stdin(opts, &mut visit);
    }
    let mut paths: Vec<&PathBuf> = Vec::new();
    for input in inputs {
        if let Input::Path(p) = input {
            // Why: a missing root is reported once, here, rather than as a walk error.
            match std::fs::metadata(p) {
                // Why: a pipe or device the user named (`scan <(cmd)`, `/dev/stdin`, a FIFO)
                // is what they want scanned; it is read as a stream, in windows.
                Ok(m) if is_stream(&m.file_type()) => read_stream(p, opts, &mut make_visitor()),
                Ok(_) => paths.push(p),
                Err(e) => make_visitor()(Event::Diagnostic(Diagnostic::Error {
                    path: display(p),
                    message: e.to_string(),
                })),
            }
        }
    }
    let Some((first, rest)) = paths.split_first() else {
        return;
    };
    let mut builder = WalkBuilder::new(first);
    for p in rest {
        builder.add(p);
    }
    let roots: Arc<Vec<PathBuf>> = Arc::new(paths.iter().map(|p| (*p).clone()).collect());
    let exclude = opts.exclude.clone();
    let prune_roots = Arc::clone(&roots);
    builder
        .threads(opts.threads)
        .hidden(false)
        .git_ignore(opts.respect_ignore)
        .git_exclude(opts.respect_ignore)
        .git_global(false)
        .ignore(opts.respect_ignore)
        .parents(opts.respect_ignore)
        .follow_links(false)
        .filter_entry(move |e| {
            if e.file_name() == ".git" && e.depth() > 0 {
                return false;
            }
            // Why: prune excluded directories here so that the walk never enters them.
            match (&exclude, e.file_type()) {
                (Some(globs), Some(ft)) if ft.is_dir() && e.depth() > 0 => {
                    !globs.is_match(relative(&prune_roots, e.path()))
                }
                _ => true,
            }
        });
    let walker = builder.build_parallel();
    walker.run(|| {
        let mut visit = make_visitor();
        let mut buf = Vec::new();
        let roots = Arc::clone(&roots);
        let opts = opts.clone();
        Box::new(move |entry| {
            match entry {
                Ok(entry) => match entry.file_type() {
                    Some(t) if t.is_file() => {
                        read_file(entry.path(), &roots, &opts, &mut buf, &mut visit);
                    }
                    Some(t) if is_stream(&t) || is_socket(&t) => {
                        visit(Event::Diagnostic(Diagnostic::Skipped {
                            path: display(entry.path()),
                            reason: SkipReason::Special,
                        }));
                    }
                    _ => {}
                },
                Err(err) => {
                    let path = match &err {
                        ignore::Error::WithPath { path, .. } => display(path),
                        _ => String::from("<walk>"),
                    };
                    visit(Event::Diagnostic(Diagnostic::Error {
                        path,
                        message: err.to_string(),
                    }));
                }
            }
            WalkState::Continue
        })
    });
}

/// How far a file was read.
enum Read {
    TooLarge(u64),
    Binary,
    Whole,
    /// Scanned in windows (see [`WINDOW`]).
    Windows,
}

fn read_file(
    path: &Path,
    roots: &[PathBuf],
    opts: &FsOptions,
    buf: &mut Vec<u8>,
    visit: &mut Visitor<'_>,
) {
    let shown = display(path);
    let rel = relative(roots, path);
    if let Some(globs) = &opts.exclude
        && globs.is_match(&rel)
    {
        visit(Event::Diagnostic(Diagnostic::Skipped {
            path: shown,
            reason: SkipReason::Excluded,
        }));
        return;
    }
    let result = std::fs::File::open(path).and_then(|f| {
        let size = f.metadata()?.len();
        if opts.max_file_size > 0 && size > opts.max_file_size {
            return Ok(Read::TooLarge(size));
        }
        buf.clear();
        // Why: a file can grow after the metadata call; never read more than the limit + 1.
        let cap = if opts.max_file_size > 0 {
            opts.max_file_size + 1
        } else {
            u64::MAX
        };
        let mut f = f.take(cap);
        // Why: sniff the head first so that a large binary file costs one small read.
        (&mut f).take(BINARY_SNIFF_LEN as u64).read_to_end(buf)?;
        // Why: archives are binary by nature; they are opened and their entries scanned.
        // UTF-16 text is transcoded (by `emit_blob`) before it is judged.
        if memchr::memchr(0, buf).is_some()
            && utf16_order(buf).is_none()
            && !opts.keeps_binary(&rel)
            && !super::archive::has_archive_name(&rel)
        {
            return Ok(Read::Binary);
        }
        if size > WINDOW as u64
            && utf16_order(buf).is_none()
            && !super::archive::has_archive_name(&rel)
        {
            let origin = Origin::File {
                path: shown.clone(),
                relative: rel.clone(),
            };
            read_windows(&mut f, origin, buf, visit)?;
            return Ok(Read::Windows);
        }
        f.read_to_end(buf)?;
        Ok(Read::Whole)
    });
    match result {
        Err(e) => visit(Event::Diagnostic(Diagnostic::Error {
            path: shown,
            message: e.to_string(),
        })),
        Ok(Read::TooLarge(size)) => visit(Event::Diagnostic(Diagnostic::Skipped {
            path: shown,
            reason: SkipReason::TooLarge {
                size,
                limit: opts.max_file_size,
            },
        })),
        Ok(Read::Binary) => visit(Event::Diagnostic(Diagnostic::Skipped {
            path: shown,
            reason: SkipReason::Binary,
        })),
        Ok(Read::Whole) => {
            let origin = Origin::File {
                path: shown,
                relative: rel,
            };
            emit_blob(origin, buf, opts, visit);
        }
        Ok(Read::Windows) => {}
    }
}

/// Reads the rest of a large file (`buf` holds its first bytes) and hands it over window by
/// window: each window is [`WINDOW`] bytes, the next starts [`OVERLAP`] bytes before its end,
/// and memory holds one window.
fn read_windows(
    f: &mut impl std::io::Read,
    origin: Origin,
    buf: &mut Vec<u8>,
    visit: &mut Visitor<'_>,
) -> std::io::Result<()> {
    let half = OVERLAP / 2;
    let (mut lines_before, mut column_before) = (0usize, 0usize);
    let mut first = true;
    loop {
        let want = WINDOW.saturating_sub(buf.len());
        let got = f.by_ref().take(want as u64).read_to_end(buf)?;
        let last = got < want;
        let len = buf.len();
        if first && memchr::memchr(b'\n', &buf[..len.min(LONG_LINE)]).is_none() && len >= LONG_LINE
        {
            visit(Event::Diagnostic(Diagnostic::Warning {
                path: origin.display().to_owned(),
                kind: WarningKind::LongLine,
            }));
        }
        // The window's own bytes end where the next window's start; findings are split in
        // the middle of what the two share.
        let next = if last { len } else { len - OVERLAP };
        let keep = (
            if first { 0 } else { half },
            if last { len } else { next + half },
        );
        visit(Event::Blob {
            origin: origin.clone(),
            bytes: buf,
            part: Some(Part {
                lines_before,
                column_before,
                keep,
                first,
                new_bytes: next,
            }),
        });
        if last {
            return Ok(());
        }
        let consumed = &buf[..next];
        match memchr::memrchr(b'\n', consumed) {
            Some(nl) => {
                lines_before += memchr::memchr_iter(b'\n', consumed).count();
                column_before = chars(&consumed[nl + 1..]);
            }
            None => column_before += chars(consumed),
        }
        buf.drain(..next);
        first = false;
    }
}

/// Characters in UTF-8 bytes (bytes that do not continue a character).
fn chars(bytes: &[u8]) -> usize {
    bytes.iter().filter(|&&b| b & 0xC0 != 0x80).count()
}

/// Whether a file type is a FIFO or a device (something read as a stream).
fn is_stream(t: &std::fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        t.is_fifo() || t.is_char_device() || t.is_block_device()
    }
    #[cfg(not(unix))]
    {
        let _ = t;
        false
    }
}

/// Whether a file type is a socket.
fn is_socket(t: &std::fs::FileType) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        t.is_socket()
    }
    #[cfg(not(unix))]
    {
        let _ = t;
        false
    }
}

/// Reads a pipe or device named on the command line, like standard input but in windows.
fn read_stream(path: &Path, opts: &FsOptions, visit: &mut Visitor<'_>) {
    let shown = display(path);
    let result = std::fs::File::open(path).and_then(|f| {
        let mut buf = Vec::new();
        let cap = if opts.max_file_size > 0 {
            opts.max_file_size + 1
        } else {
            u64::MAX
        };
        let mut f = f.take(cap);
        (&mut f)
            .take(BINARY_SNIFF_LEN as u64)
            .read_to_end(&mut buf)?;
        if looks_binary(&buf) && !opts.scan_binary {
            return Ok(Some(SkipReason::Binary));
        }
        let origin = Origin::File {
            path: shown.clone(),
            relative: shown.clone(),
        };
        read_windows(&mut f, origin, &mut buf, visit)?;
        Ok(None)
    });
    match result {
        Err(e) => visit(Event::Diagnostic(Diagnostic::Error {
            path: shown,
            message: e.to_string(),
        })),
        Ok(Some(reason)) => visit(Event::Diagnostic(Diagnostic::Skipped {
            path: shown,
            reason,
        })),
        Ok(None) => {}
    }
}

fn read_stdin(opts: &FsOptions, visit: &mut Visitor<'_>) {
    let mut buf = Vec::new();
    let cap = if opts.max_file_size > 0 {
        opts.max_file_size + 1
    } else {
        u64::MAX
    };
    match std::io::stdin().lock().take(cap).read_to_end(&mut buf) {
        Err(e) => visit(Event::Diagnostic(Diagnostic::Error {
            path: "<stdin>".into(),
            message: e.to_string(),
        })),
        Ok(_) if opts.max_file_size > 0 && buf.len() as u64 > opts.max_file_size => {
            visit(Event::Diagnostic(Diagnostic::Skipped {
                path: "<stdin>".into(),
                reason: SkipReason::TooLarge {
                    size: buf.len() as u64,
                    limit: opts.max_file_size,
                },
            }));
        }
        Ok(_) => emit_blob(Origin::Stdin, &buf, opts, visit),
    }
}

/// Sniffs, warns and hands the bytes over (UTF-16 text as UTF-8, see [`utf16_to_utf8`]).
fn emit_blob(origin: Origin, bytes: &[u8], opts: &FsOptions, visit: &mut Visitor<'_>) {
    let transcoded = utf16_to_utf8(bytes);
    let bytes = transcoded.as_deref().unwrap_or(bytes);
    let path = origin.display().to_owned();
    let binary = looks_binary(bytes);
    if binary
        && !opts.keeps_binary(origin.relative())
        && !super::archive::has_archive_name(origin.relative())
    {
        visit(Event::Diagnostic(Diagnostic::Skipped {
            path,
            reason: SkipReason::Binary,
        }));
        return;
    }
    if !binary && std::str::from_utf8(bytes).is_err() {
        visit(Event::Diagnostic(Diagnostic::Warning {
            path: path.clone(),
            kind: WarningKind::InvalidUtf8,
        }));
    }
    if bytes.len() >= LONG_LINE && memchr::memchr(b'\n', &bytes[..LONG_LINE]).is_none() {
        visit(Event::Diagnostic(Diagnostic::Warning {
            path,
            kind: WarningKind::LongLine,
        }));
    }
    visit(Event::Blob {
        origin,
        bytes,
        part: None,
    });
}

/// The byte order of UTF-16 text: `Some(true)` for little endian (`FF FE`), `Some(false)` for
/// big endian (`FE FF`), `None` without a UTF-16 byte order mark (or with the UTF-32 LE one,
/// `FF FE 00 00`).
fn utf16_order(bytes: &[u8]) -> Option<bool> {
    match bytes {
        [0xFF, 0xFE, 0, 0, ..] => None,
        [0xFF, 0xFE, ..] => Some(true),
        [0xFE, 0xFF, ..] => Some(false),
        _ => None,
    }
}

/// UTF-16 text (with a byte order mark, little or big endian) as UTF-8, without the mark;
/// `None` for other input. Unpaired surrogates (and an odd last byte) become U+FFFD. What is
/// scanned, and so what findings' lines and columns count, is this UTF-8 text: lines are the
/// same as the file's, and columns count characters.
///
/// Text that holds U+0000 is still binary after transcoding, and is skipped as such.
fn utf16_to_utf8(bytes: &[u8]) -> Option<Vec<u8>> {
    let little = utf16_order(bytes)?;
    let body = &bytes[2..];
    let pairs = body.chunks_exact(2);
    let odd = !pairs.remainder().is_empty();
    let units = pairs.map(|c| {
        if little {
            u16::from_le_bytes([c[0], c[1]])
        } else {
            u16::from_be_bytes([c[0], c[1]])
        }
    });
    let mut text = String::with_capacity(body.len() / 2);
    text.extend(char::decode_utf16(units).map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER)));
    if odd {
        text.push(char::REPLACEMENT_CHARACTER);
    }
    Some(text.into_bytes())
}

/// The path as shown: without a leading `./`.
fn display(path: &Path) -> String {
    let s = path.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_owned()
}

/// The path relative to the input root it came from (the longest root that is a prefix), with
/// `/` separators; a named file is relative to nothing and keeps its shown form.
fn relative(roots: &[PathBuf], path: &Path) -> String {
    let rel = roots
        .iter()
        .filter(|r| path != r.as_path())
        .filter_map(|r| path.strip_prefix(r).ok())
        .min_by_key(|rel| rel.as_os_str().len())
        .unwrap_or(path);
    let s = rel.to_string_lossy().replace('\\', "/");
    s.strip_prefix("./").unwrap_or(&s).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf16_with_a_byte_order_mark_is_transcoded() {
        let text = "a=\u{e9}\u{1F600}\n";
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(utf16_to_utf8(&le).as_deref(), Some(text.as_bytes()));
        assert_eq!(utf16_to_utf8(&be).as_deref(), Some(text.as_bytes()));
        // an unpaired surrogate and an odd last byte are replaced
        assert_eq!(
            utf16_to_utf8(b"\xFF\xFEa\0\x00\xD8b\0c").as_deref(),
            Some("a\u{FFFD}b\u{FFFD}".as_bytes())
        );
        assert_eq!(utf16_to_utf8(b"\xFF\xFE\0\0a\0\0\0"), None);
        assert_eq!(utf16_to_utf8(b"plain"), None);
    }

    #[test]
    fn relative_strips_the_longest_root() {
        let roots = vec![PathBuf::from("."), PathBuf::from("./src")];
        assert_eq!(relative(&roots, Path::new("./src/a/b.rs")), "a/b.rs");
        assert_eq!(
            relative(&[PathBuf::from("x.yml")], Path::new("x.yml")),
            "x.yml"
        );
        assert_eq!(
            relative(&[PathBuf::from("/tmp/r")], Path::new("/tmp/r/c/d")),
            "c/d"
        );
    }
}
