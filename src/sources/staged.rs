//! Staged changes for the pre-commit hook: the files whose index blob differs from `HEAD`.
//!
//! Comparing the whole index with the whole `HEAD` tree would read every tree object of a large
//! repository on every commit. Instead the comparison walks `HEAD`'s tree together with the
//! index's cache-tree extension (as git does): a directory whose cached tree id equals `HEAD`'s
//! tree id is unchanged and is skipped whole, so a typical commit reads only the trees on the
//! paths of the changed files. Conflicted entries (stages 1-3), symbolic links and submodules
//! are not file content and are left out.
//!
//! Everything that could make the hook pass without having looked is an [`Error`]: no
//! repository, a bare repository (no index), an unreadable index or `HEAD`.

use std::{collections::HashMap, path::Path};

use gix::{
    ObjectId,
    bstr::{BStr, BString, ByteSlice},
    objs::tree::EntryKind,
    prelude::FindExt,
};

/// Errors that stop a staged scan (the hook fails closed).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Opening the repository failed.
    #[error(transparent)]
    Open(#[from] super::git::Error),
    /// The repository has no index (bare).
    #[error("{0} has no index (a bare repository has nothing staged)")]
    Bare(String),
    /// The index could not be read.
    #[error("cannot read the index of {path}")]
    Index {
        /// The repository.
        path: String,
        /// The cause.
        #[source]
        source: gix::Error,
    },
    /// `HEAD` could not be resolved (other than being unborn).
    #[error("cannot read HEAD of {path}")]
    Head {
        /// The repository.
        path: String,
        /// The cause.
        #[source]
        source: gix::Error,
    },
    /// A tree of `HEAD` could not be read, so what is staged cannot be known.
    #[error("cannot read tree {id} of HEAD")]
    Tree {
        /// The tree.
        id: ObjectId,
        /// The cause.
        #[source]
        source: gix::Error,
    },
}

/// One staged file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedFile {
    /// Path relative to the repository root.
    pub path: BString,
    /// The staged blob.
    pub new: ObjectId,
    /// The blob at `HEAD`, if the file exists there (a modification).
    pub old: Option<ObjectId>,
}

/// Lists the files whose staged content differs from `HEAD` (all files if `HEAD` is unborn).
pub fn staged_files(repo: &gix::Repository) -> Result<Vec<StagedFile>, Error> {
    let name = repo
        .workdir()
        .unwrap_or(repo.git_dir())
        .display()
        .to_string();
    if repo.workdir().is_none() {
        return Err(Error::Bare(name));
    }
    let index = repo.open_index().map_err(|source| Error::Index {
        path: name.clone(),
        source,
    })?;
    let head_tree = match repo.head() {
        Ok(head) if head.is_unborn() => None,
        Ok(_) => Some(
            repo.head_tree_id()
                .map_err(|source| Error::Head {
                    path: name.clone(),
                    source,
                })?
                .detach(),
        ),
        Err(source) => return Err(Error::Head { path: name, source }),
    };
    let entries = index.entries();
    let mut unchanged = vec![false; entries.len()];
    let mut head_files: HashMap<BString, ObjectId> = HashMap::new();
    if let Some(tree) = head_tree {
        let mut cmp = Comparison {
            repo,
            index: &index,
            unchanged: &mut unchanged,
            head_files: &mut head_files,
        };
        cmp.walk(tree, index.tree(), BString::default())?;
    }
    let mut out = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if unchanged[i] || entry.stage_raw() != 0 {
            continue;
        }
        let is_file = entry.mode == gix::index::entry::Mode::FILE
            || entry.mode == gix::index::entry::Mode::FILE_EXECUTABLE;
        if !is_file {
            continue;
        }
        let path = entry.path(&index);
        let old = head_files.get(path).copied();
        if old == Some(entry.id) {
            continue;
        }
        out.push(StagedFile {
            path: path.to_owned(),
            new: entry.id,
            old,
        });
    }
    Ok(out)
}

struct Comparison<'a> {
    repo: &'a gix::Repository,
    index: &'a gix::index::State,
    unchanged: &'a mut [bool],
    head_files: &'a mut HashMap<BString, ObjectId>,
}

impl Comparison<'_> {
    fn walk(
        &mut self,
        tree: ObjectId,
        cached: Option<&gix::index::extension::Tree>,
        prefix: BString,
    ) -> Result<(), Error> {
        if let Some(c) = cached
            && c.num_entries.is_some()
            && c.id == tree
        {
            self.mark_unchanged(prefix.as_bstr());
            return Ok(());
        }
        let mut buf = Vec::new();
        let iter = self
            .repo
            .objects
            .find_tree_iter(&tree, &mut buf)
            .map_err(|source| Error::Tree { id: tree, source })?;
        let mut subtrees = Vec::new();
        for entry in iter {
            let entry = entry.map_err(|source| Error::Tree { id: tree, source })?;
            let mut path = prefix.clone();
            if !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(entry.filename);
            match entry.mode.kind() {
                EntryKind::Tree => {
                    let child = cached.and_then(|c| {
                        c.children
                            .iter()
                            .find(|t| t.name.as_slice() == entry.filename.as_bytes())
                    });
                    subtrees.push((entry.oid.to_owned(), child, path));
                }
                EntryKind::Blob | EntryKind::BlobExecutable => {
                    self.head_files.insert(path, entry.oid.to_owned());
                }
                EntryKind::Link | EntryKind::Commit => {}
            }
        }
        for (id, child, path) in subtrees {
            self.walk(id, child, path)?;
        }
        Ok(())
    }

    /// Marks every index entry below `dir` (everything for the root) as unchanged.
    fn mark_unchanged(&mut self, dir: &BStr) {
        let entries = self.index.entries();
        if dir.is_empty() {
            self.unchanged.iter_mut().for_each(|u| *u = true);
            return;
        }
        // Entries are sorted by path: those below "dir/" lie in ["dir/", "dir0") since '0'
        // follows '/' in byte order.
        let mut lo_key = dir.to_vec();
        lo_key.push(b'/');
        let mut hi_key = dir.to_vec();
        hi_key.push(b'0');
        let lo = entries.partition_point(|e| e.path(self.index).as_bytes() < lo_key.as_slice());
        let hi = entries.partition_point(|e| e.path(self.index).as_bytes() < hi_key.as_slice());
        self.unchanged[lo..hi].iter_mut().for_each(|u| *u = true);
    }
}

/// The 1-based numbers of the lines of `new` that are not in `old`. Lines are compared as a
/// multiset: a line that already existed (anywhere) in the old version is not new, so a secret
/// that was already committed and only moved does not block the commit, while every line that
/// brings new text is checked.
///
/// ```
/// use leakhound::sources::staged::added_lines;
/// let old = b"a\nb\nc\n";
/// let new = b"a\nb\nkey = 1\nc\nb\n";
/// assert_eq!(added_lines(Some(old), new), vec![3, 5]);
/// assert_eq!(added_lines(None, b"x\ny"), vec![1, 2]);
/// ```
pub fn added_lines(old: Option<&[u8]>, new: &[u8]) -> Vec<usize> {
    let Some(old) = old else {
        return (1..=new.lines_with_terminator().count()).collect();
    };
    let mut counts: HashMap<&[u8], usize> = HashMap::new();
    for line in old.lines() {
        *counts.entry(line).or_default() += 1;
    }
    let mut added = Vec::new();
    for (i, line) in new.lines().enumerate() {
        match counts.get_mut(line) {
            Some(n) if *n > 0 => *n -= 1,
            _ => added.push(i + 1),
        }
    }
    added
}

/// The repository root that paths of staged files are relative to.
pub fn root(repo: &gix::Repository) -> &Path {
    repo.workdir().unwrap_or(repo.git_dir())
}
