//! Archives inside scanned files: jar/war/ear/zip, tar, tar.gz/tgz. Each entry is scanned as
//! if it were a file, with the path `outer.jar!/inner/path`, and archives inside archives are
//! opened too, to a bounded depth. The archive is already in memory (within `--max-file-size`);
//! each entry is decompressed on its own and capped, and the total decompressed size of one
//! archive is capped too (zip bombs). Nothing is written to disk.
//!
//! Whatever leaves part of an archive unscanned is reported as a [`Nested::Error`] naming the
//! entry: an archive that cannot be read to its end (corrupt, truncated, an unsupported
//! compression method), an entry over the size cap or the archive's budget, and an archive
//! nested deeper than [`MAX_DEPTH`] (not opened). Tar members of type `7` (contiguous files)
//! and GNU sparse files are regular files and are scanned as such.

use std::io::{Cursor, Read};

/// How deep archives inside archives are opened (the outer archive is depth 1).
pub const MAX_DEPTH: usize = 3;
/// Decompressed bytes allowed for all entries of one outer archive.
pub const MAX_TOTAL: u64 = 1 << 30;

/// Kinds of archives opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// zip, jar, war, ear, apk, nupkg, whl.
    Zip,
    /// Plain tar.
    Tar,
    /// gzip-compressed tar.
    TarGz,
}

/// The archive kind of a file, by name and magic bytes.
///
/// ```
/// use leakhound::sources::archive::{Kind, kind};
/// assert_eq!(kind("lib/app.jar", b"PK\x03\x04rest"), Some(Kind::Zip));
/// assert_eq!(kind("notes.txt", b"PK\x03\x04"), None);
/// assert_eq!(kind("a.tgz", b"\x1f\x8b\x08"), Some(Kind::TarGz));
/// ```
pub fn kind(path: &str, bytes: &[u8]) -> Option<Kind> {
    let name = path
        .rsplit(['/', '!'])
        .next()
        .unwrap_or(path)
        .to_ascii_lowercase();
    let ext = |e: &str| name.ends_with(e);
    if ["zip", "jar", "war", "ear", "apk", "nupkg", "whl", "aar"]
        .iter()
        .any(|e| ext(&format!(".{e}")))
    {
        return bytes.starts_with(b"PK\x03\x04").then_some(Kind::Zip);
    }
    if ext(".tar.gz") || ext(".tgz") {
        return bytes.starts_with(&[0x1f, 0x8b]).then_some(Kind::TarGz);
    }
    if ext(".tar") {
        return (bytes.len() > 262 && &bytes[257..262] == b"ustar").then_some(Kind::Tar);
    }
    None
}

/// Whether a name looks like an archive this module opens (checked before binary sniffing,
/// since archives are binary).
pub fn has_archive_name(path: &str) -> bool {
    let n = path.to_ascii_lowercase();
    [
        ".zip", ".jar", ".war", ".ear", ".apk", ".nupkg", ".whl", ".aar", ".tar", ".tar.gz", ".tgz",
    ]
    .iter()
    .any(|e| n.ends_with(e))
}

/// An entry of an archive, or a problem with one.
#[derive(Debug)]
pub enum Nested<'a> {
    /// A regular file inside.
    File {
        /// `outer!/inner` path.
        path: &'a str,
        /// Its content.
        bytes: &'a [u8],
    },
    /// An entry or the archive could not be read; the rest goes on.
    Error {
        /// Where.
        path: String,
        /// What.
        message: String,
    },
}

/// Walks an archive held in memory, calling `visit` for every file inside (recursively).
pub fn walk(
    kind: Kind,
    bytes: &[u8],
    path: &str,
    max_file_size: u64,
    visit: &mut dyn FnMut(Nested<'_>),
) {
    let mut budget = MAX_TOTAL;
    walk_at(kind, bytes, path, 1, max_file_size, &mut budget, visit);
}

fn walk_at(
    kind: Kind,
    bytes: &[u8],
    path: &str,
    depth: usize,
    max: u64,
    budget: &mut u64,
    visit: &mut dyn FnMut(Nested<'_>),
) {
    let cap = if max > 0 { max } else { u64::MAX };
    let handle =
        |name: &str, data: Vec<u8>, visit: &mut dyn FnMut(Nested<'_>), budget: &mut u64| {
            let inner = format!("{path}!/{}", name.trim_start_matches('/'));
            match self::kind(&inner, &data) {
                Some(k) if depth < MAX_DEPTH => {
                    walk_at(k, &data, &inner, depth + 1, max, budget, visit)
                }
                Some(_) => {
                    // Why: a limit that is reached silently hides what lies beyond it.
                    visit(Nested::Error {
                        path: inner.clone(),
                        message: format!(
                            "an archive nested more than {MAX_DEPTH} levels deep: not opened, \
                             its entries are not scanned"
                        ),
                    });
                    visit(Nested::File {
                        path: &inner,
                        bytes: &data,
                    })
                }
                None => visit(Nested::File {
                    path: &inner,
                    bytes: &data,
                }),
            }
        };
    let read_capped = |r: &mut dyn Read, budget: &mut u64| -> Result<Vec<u8>, String> {
        let limit = cap.min(*budget);
        let mut data = Vec::new();
        r.take(limit.saturating_add(1))
            .read_to_end(&mut data)
            .map_err(|e| e.to_string())?;
        if data.len() as u64 > limit {
            return Err(if *budget < cap {
                format!(
                    "not read: the {MAX_TOTAL}-byte decompressed budget of the outer archive \
                     is used up (a zip bomb?)"
                )
            } else {
                format!(
                    "entry exceeds {limit} decompressed bytes (a zip bomb, or raise --max-file-size)"
                )
            });
        }
        *budget -= data.len() as u64;
        Ok(data)
    };
    match kind {
        Kind::Zip => {
            let mut zip = match zip::ZipArchive::new(Cursor::new(bytes)) {
                Ok(z) => z,
                Err(e) => {
                    return visit(Nested::Error {
                        path: path.to_owned(),
                        message: format!("not a readable zip: {e}"),
                    });
                }
            };
            for i in 0..zip.len() {
                let mut entry = match zip.by_index(i) {
                    Ok(e) => e,
                    Err(e) => {
                        visit(Nested::Error {
                            path: path.to_owned(),
                            message: format!("entry {i}: {e}"),
                        });
                        continue;
                    }
                };
                if !entry.is_file() {
                    continue;
                }
                let name = entry
                    .name()
                    .map_or_else(|_| format!("entry-{i}"), |n| n.to_string());
                match read_capped(&mut entry, budget) {
                    Ok(data) => handle(&name, data, visit, budget),
                    Err(message) => visit(Nested::Error {
                        path: format!("{path}!/{name}"),
                        message,
                    }),
                }
            }
        }
        Kind::Tar | Kind::TarGz => {
            let reader: Box<dyn Read> = match kind {
                Kind::TarGz => Box::new(flate2::read::MultiGzDecoder::new(bytes)),
                _ => Box::new(bytes),
            };
            let mut archive = tar::Archive::new(reader);
            let entries = match archive.entries() {
                Ok(e) => e,
                Err(e) => {
                    return visit(Nested::Error {
                        path: path.to_owned(),
                        message: e.to_string(),
                    });
                }
            };
            for entry in entries {
                let mut entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        return visit(Nested::Error {
                            path: path.to_owned(),
                            message: format!("truncated or corrupt: {e}"),
                        });
                    }
                };
                if !is_regular(entry.header().entry_type()) {
                    continue;
                }
                let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                match read_capped(&mut entry, budget) {
                    Ok(data) => handle(&name, data, visit, budget),
                    Err(message) => visit(Nested::Error {
                        path: format!("{path}!/{name}"),
                        message,
                    }),
                }
            }
        }
    }
}

/// Whether a tar member holds a file's content: a regular file, a contiguous file (type `7`,
/// a regular file everywhere but on a few historical systems) or a GNU sparse file (read with
/// its holes filled in).
pub(crate) fn is_regular(t: tar::EntryType) -> bool {
    t.is_file() || t.is_contiguous() || t.is_gnu_sparse()
}
