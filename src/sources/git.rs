//! Git history through `gix`: every blob reachable from every ref, each listed once, with the
//! places (path and commit) where it was introduced.
//!
//! # How
//!
//! 1. **Open isolated.** The repository is untrusted input: [`open`] uses
//!    `gix::open::Options::isolated()`, so neither user nor system git configuration (or
//!    environment variables) take part.
//! 2. **Commits.** From the tips (every reference peeled to a commit, plus `HEAD`), walk the
//!    commit graph, decoding only commit headers, and order the commits parents-first
//!    (a depth-first post-order). Hidden tips (`--since-commit A`, `--range A..B`) are walked first
//!    into a set that stops the main walk. Shallow boundaries stop the walk with a note.
//! 3. **Trees, once per (tree, path).** For each commit in that order, traverse its tree, skipping
//!    any subtree whose `(tree id, path)` pair was already traversed: unchanged directories cost
//!    a hash lookup. Each `(blob, path)` pair seen for the first time is a *place* attributed to
//!    the commit being traversed, which, thanks to the parents-first order, is the earliest
//!    commit in history that has that blob at that path (a merge that brings in a new blob is
//!    its own introducer; a rename is a new place of the same blob). For incremental scans, the
//!    trees of the hidden parents of the walked commits are traversed first, without attribution,
//!    so that only what the new commits introduce is listed.
//! 4. **Blobs, once each, in pack order.** The object database is iterated in pack-offset order
//!    (`PackAscendingOffsetThenLooseLexicographical`) and filtered to the reachable blobs, so that
//!    delta bases are still cached when their deltas are read. `--all-objects` adds every other
//!    blob in the database (header lookup only) as an unreachable blob.
//!
//! The scan itself (`crate::pipeline::scan_git`) reads the listed blobs on rayon workers, each
//! with its own thread-local handle (`into_sync()` once, `to_thread_local()` per worker).
//!
//! # Memory
//!
//! No diff and no blob content is held beyond the blob being scanned. Memory grows with the
//! number of distinct `(tree, path)` and `(blob, path)` pairs in the history (roughly the number of
//! tree and blob objects, times ~60 bytes), plus one interned copy of each distinct path, plus
//! ~40 bytes per commit; it does not depend on blob sizes, which are bounded by
//! `--max-file-size` and read one per worker at a time.
//!
//! Submodules (gitlink entries) are not followed; they are counted in a note. Symbolic links are
//! blobs holding a path, not content, and are not scanned.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
};

use gix::{
    ObjectId,
    bstr::{BStr, BString, ByteSlice},
    objs::tree::EntryKind,
    odb::HeaderExt,
    odb::store::iter::Ordering as IterOrdering,
    prelude::FindExt,
};

use super::{Diagnostic, WarningKind};

/// Errors that stop a git scan: the repository cannot be read at all.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No repository could be opened at or above the path.
    #[error("not a git repository (or any parent up to the filesystem root): {path}")]
    Open {
        /// The path given.
        path: PathBuf,
        /// The cause.
        #[source]
        source: gix::Error,
    },
    /// A revision given on the command line does not resolve.
    #[error("cannot resolve revision {rev:?}")]
    Revision {
        /// The revision.
        rev: String,
        /// The cause.
        #[source]
        source: gix::Error,
    },
    /// A `--range` is not of the form `A..B`.
    #[error("invalid range {0:?}: expected A..B")]
    Range(String),
    /// The references or the object database cannot be listed.
    #[error("cannot read the repository: {what}")]
    Unreadable {
        /// What failed.
        what: String,
        /// The cause.
        #[source]
        source: gix::Error,
    },
}

/// Opens the repository at or above `path`, isolated from user and system configuration.
pub fn open(path: &Path) -> Result<gix::Repository, Error> {
    let opts = gix::open::Options::isolated();
    gix::discover_opts(path, gix::discover::upwards::Options::default(), opts).map_err(|source| {
        Error::Open {
            path: path.to_owned(),
            source,
        }
    })
}

/// Which commits to enumerate.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// Only commits not reachable from this revision (`--since-commit`).
    pub since: Option<String>,
    /// `A..B`: commits reachable from B and not from A (`--range`).
    pub range: Option<String>,
    /// Also list blobs that no walked commit reaches (`--all-objects`).
    pub all_objects: bool,
}

/// Where a blob was introduced: an interned path and a commit index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// Index into [`Enumeration::paths`].
    pub path: u32,
    /// Index into [`Enumeration::commits`].
    pub commit: u32,
}

/// What [`enumerate`] found.
#[derive(Debug, Default)]
pub struct Enumeration {
    /// Walked commits, parents first.
    pub commits: Vec<ObjectId>,
    /// Interned paths.
    pub paths: Vec<BString>,
    /// Every reachable blob introduced by the walked commits, with its places.
    pub blobs: HashMap<ObjectId, Vec<Place>>,
    /// Blobs in pack order: the reachable ones first, then (with `all_objects`) unreachable ones.
    pub order: Vec<ObjectId>,
    /// Blobs in the tree of `HEAD`.
    pub head_blobs: HashSet<ObjectId>,
    /// Notes and warnings met on the way (shallow history, submodules, unreadable objects).
    pub diagnostics: Vec<Diagnostic>,
}

struct Walker<'r> {
    repo: &'r gix::Repository,
    path_ids: HashMap<BString, u32>,
    seen_trees: HashSet<(ObjectId, u32)>,
    seen_places: HashSet<(ObjectId, u32)>,
    out: Enumeration,
    submodules: u64,
    buf: Vec<u8>,
}

fn corrupt(what: &str, id: &gix::oid, e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::Warning {
        path: format!("{what} {id}"),
        kind: WarningKind::CorruptObject(e.to_string()),
    }
}

/// Lists the blobs to scan and where each was introduced.
pub fn enumerate(repo: &gix::Repository, selection: &Selection) -> Result<Enumeration, Error> {
    let mut w = Walker {
        repo,
        path_ids: HashMap::new(),
        seen_trees: HashSet::new(),
        seen_places: HashSet::new(),
        out: Enumeration::default(),
        submodules: 0,
        buf: Vec::new(),
    };
    let (tips, hidden_tips) = w.tips(selection)?;
    let hidden = w.ancestors(&hidden_tips);
    let shallow: HashSet<ObjectId> = match repo.shallow_commits() {
        Ok(Some(commits)) => commits.iter().copied().collect(),
        _ => HashSet::new(),
    };
    if !shallow.is_empty() {
        w.out.diagnostics.push(Diagnostic::Warning {
            path: repo.git_dir().display().to_string(),
            kind: WarningKind::Incomplete(format!(
                "shallow clone: history before {} boundary commit(s) is not in this clone and was not scanned",
                shallow.len()
            )),
        });
    }
    let (order, trees, boundary) = w.walk_commits(&tips, &hidden, &shallow);
    // Why: the hidden parents' trees are seeded first so that only what the walked commits
    // introduce becomes a place.
    for parent_tree in boundary {
        w.traverse(parent_tree, None);
    }
    for (i, tree) in trees.into_iter().enumerate() {
        let idx =
            u32::try_from(i).expect("fewer than 2^32 commits because each is an object in memory");
        w.traverse(tree, Some(idx));
    }
    w.out.commits = order;
    if w.submodules > 0 {
        w.out.diagnostics.push(Diagnostic::Warning {
            path: repo.git_dir().display().to_string(),
            kind: WarningKind::Incomplete(format!(
                "{} submodule entr{} not followed (scan each submodule's repository separately)",
                w.submodules,
                if w.submodules == 1 {
                    "y was"
                } else {
                    "ies were"
                }
            )),
        });
    }
    w.head_blobs();
    w.pack_order(selection.all_objects)?;
    Ok(w.out)
}

impl Walker<'_> {
    /// The tips to walk and the tips to hide.
    fn tips(&mut self, selection: &Selection) -> Result<(Vec<ObjectId>, Vec<ObjectId>), Error> {
        let resolve = |rev: &str| -> Result<ObjectId, Error> {
            let id = self
                .repo
                .rev_parse_single(rev)
                .map_err(|source| Error::Revision {
                    rev: rev.to_owned(),
                    source,
                })?;
            let commit = id
                .object()
                .and_then(|o| o.peel_to_commit())
                .map_err(|source| Error::Revision {
                    rev: rev.to_owned(),
                    source,
                })?;
            Ok(commit.id)
        };
        if let Some(range) = &selection.range {
            let (a, b) = range
                .split_once("..")
                .ok_or_else(|| Error::Range(range.clone()))?;
            if a.is_empty() || b.is_empty() || b.starts_with('.') {
                return Err(Error::Range(range.clone()));
            }
            return Ok((vec![resolve(b)?], vec![resolve(a)?]));
        }
        let hidden = match &selection.since {
            Some(rev) => vec![resolve(rev)?],
            None => Vec::new(),
        };
        let mut tips = Vec::new();
        let platform = self.repo.references().map_err(|source| Error::Unreadable {
            what: "references".into(),
            source,
        })?;
        let all = platform.all().map_err(|source| Error::Unreadable {
            what: "references".into(),
            source,
        })?;
        for reference in all {
            let mut reference = match reference {
                Ok(r) => r,
                Err(e) => {
                    self.out.diagnostics.push(Diagnostic::Warning {
                        path: "reference".into(),
                        kind: WarningKind::CorruptObject(e.to_string()),
                    });
                    continue;
                }
            };
            let name = reference.name().as_bstr().to_string();
            // Tags may point at trees or blobs; only commits have history to walk.
            match reference.peel_to_kind(gix::object::Kind::Commit) {
                Ok(commit) => tips.push(commit.id),
                Err(e) => {
                    let points_at_commit = reference
                        .peel_to_id()
                        .ok()
                        .and_then(|id| id.object().ok())
                        .is_some_and(|o| o.kind == gix::object::Kind::Commit);
                    if points_at_commit {
                        self.out.diagnostics.push(Diagnostic::Warning {
                            path: format!("reference {name}"),
                            kind: WarningKind::CorruptObject(e.to_string()),
                        });
                    }
                }
            }
        }
        // A detached HEAD may point at a commit no reference reaches.
        if let Ok(head) = self.repo.head_id() {
            tips.push(head.detach());
        }
        tips.sort_unstable();
        tips.dedup();
        Ok((tips, hidden))
    }

    /// Every commit reachable from `tips` (inclusive).
    fn ancestors(&mut self, tips: &[ObjectId]) -> HashSet<ObjectId> {
        let mut seen = HashSet::new();
        let mut stack: Vec<ObjectId> = tips.to_vec();
        while let Some(id) = stack.pop() {
            if !seen.insert(id) {
                continue;
            }
            match self.repo.objects.find_commit_iter(&id, &mut self.buf) {
                Ok(iter) => stack.extend(iter.parent_ids()),
                Err(e) => self.out.diagnostics.push(corrupt("commit", &id, e)),
            }
        }
        seen
    }

    /// Walks commits from `tips`, not entering `hidden`; returns the commits parents-first with
    /// their trees, and the trees of hidden parents (the boundary).
    fn walk_commits(
        &mut self,
        tips: &[ObjectId],
        hidden: &HashSet<ObjectId>,
        shallow: &HashSet<ObjectId>,
    ) -> (Vec<ObjectId>, Vec<ObjectId>, Vec<ObjectId>) {
        struct Node {
            id: ObjectId,
            tree: ObjectId,
            parents: Vec<ObjectId>,
        }
        let mut nodes: Vec<Node> = Vec::new();
        let mut index: HashMap<ObjectId, usize> = HashMap::new();
        let mut stack: Vec<ObjectId> = tips
            .iter()
            .filter(|t| !hidden.contains(*t))
            .copied()
            .collect();
        let mut boundary: Vec<ObjectId> = Vec::new();
        while let Some(id) = stack.pop() {
            if index.contains_key(&id) {
                continue;
            }
            let mut iter = match self.repo.objects.find_commit_iter(&id, &mut self.buf) {
                Ok(iter) => iter,
                Err(e) => {
                    self.out.diagnostics.push(corrupt("commit", &id, e));
                    continue;
                }
            };
            let tree = match iter.tree_id() {
                Ok(t) => t,
                Err(e) => {
                    self.out.diagnostics.push(corrupt("commit", &id, e));
                    continue;
                }
            };
            let parents: Vec<ObjectId> = if shallow.contains(&id) {
                Vec::new()
            } else {
                iter.parent_ids().collect()
            };
            for p in &parents {
                if hidden.contains(p) {
                    boundary.push(*p);
                } else if !index.contains_key(p) {
                    stack.push(*p);
                }
            }
            index.insert(id, nodes.len());
            nodes.push(Node { id, tree, parents });
        }
        // Parents-first order: iterative depth-first post-order over parent edges.
        let mut state = vec![0u8; nodes.len()]; // 0 new, 1 on stack, 2 done
        let mut order: Vec<usize> = Vec::with_capacity(nodes.len());
        for root in 0..nodes.len() {
            if state[root] != 0 {
                continue;
            }
            let mut dfs: Vec<(usize, usize)> = vec![(root, 0)];
            state[root] = 1;
            while let Some(&mut (n, ref mut next)) = dfs.last_mut() {
                if let Some(p) = nodes[n].parents.get(*next) {
                    *next += 1;
                    if let Some(&pi) = index.get(p)
                        && state[pi] == 0
                    {
                        state[pi] = 1;
                        dfs.push((pi, 0));
                    }
                } else {
                    state[n] = 2;
                    order.push(n);
                    dfs.pop();
                }
            }
        }
        let mut boundary_trees = Vec::new();
        boundary.sort_unstable();
        boundary.dedup();
        for b in boundary {
            match self
                .repo
                .objects
                .find_commit_iter(&b, &mut self.buf)
                .map(|mut it| it.tree_id())
            {
                Ok(Ok(tree)) => boundary_trees.push(tree),
                Ok(Err(e)) => self.out.diagnostics.push(corrupt("commit", &b, e)),
                Err(e) => self.out.diagnostics.push(corrupt("commit", &b, e)),
            }
        }
        let ids = order.iter().map(|&i| nodes[i].id).collect();
        let trees = order.iter().map(|&i| nodes[i].tree).collect();
        (ids, trees, boundary_trees)
    }

    fn intern(&mut self, path: &BStr) -> u32 {
        if let Some(&id) = self.path_ids.get(path) {
            return id;
        }
        let id = u32::try_from(self.out.paths.len())
            .expect("fewer than 2^32 distinct paths because each is in memory");
        self.out.paths.push(path.to_owned());
        self.path_ids.insert(path.to_owned(), id);
        id
    }

    /// Traverses a tree, recording first-seen `(blob, path)` pairs as places of `commit`
    /// (or only marking them seen when `commit` is `None`).
    fn traverse(&mut self, root: ObjectId, commit: Option<u32>) {
        let mut stack: Vec<(ObjectId, BString)> = vec![(root, BString::default())];
        let mut buf = Vec::new();
        while let Some((tree, prefix)) = stack.pop() {
            let dir_id = self.intern(prefix.as_bstr());
            if !self.seen_trees.insert((tree, dir_id)) {
                continue;
            }
            let iter = match self.repo.objects.find_tree_iter(&tree, &mut buf) {
                Ok(iter) => iter,
                Err(e) => {
                    self.out.diagnostics.push(corrupt("tree", &tree, e));
                    continue;
                }
            };
            let mut blobs: Vec<(ObjectId, BString)> = Vec::new();
            for entry in iter {
                let entry = match entry {
                    Ok(e) => e,
                    Err(e) => {
                        self.out.diagnostics.push(corrupt("tree", &tree, e));
                        break;
                    }
                };
                let mut path = prefix.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(entry.filename);
                match entry.mode.kind() {
                    EntryKind::Tree => stack.push((entry.oid.to_owned(), path)),
                    EntryKind::Blob | EntryKind::BlobExecutable => {
                        blobs.push((entry.oid.to_owned(), path))
                    }
                    EntryKind::Commit => self.submodules += 1,
                    EntryKind::Link => {}
                }
            }
            for (blob, path) in blobs {
                let pid = self.intern(path.as_bstr());
                if self.seen_places.insert((blob, pid))
                    && let Some(commit) = commit
                {
                    self.out
                        .blobs
                        .entry(blob)
                        .or_default()
                        .push(Place { path: pid, commit });
                }
            }
        }
    }

    /// Records the blobs of `HEAD`'s tree (for `in_head`).
    fn head_blobs(&mut self) {
        let Ok(tree) = self.repo.head_tree_id() else {
            return;
        };
        let mut stack = vec![tree.detach()];
        let mut buf = Vec::new();
        while let Some(t) = stack.pop() {
            let Ok(iter) = self.repo.objects.find_tree_iter(&t, &mut buf) else {
                continue;
            };
            for entry in iter.flatten() {
                match entry.mode.kind() {
                    EntryKind::Tree => stack.push(entry.oid.to_owned()),
                    EntryKind::Blob | EntryKind::BlobExecutable => {
                        self.out.head_blobs.insert(entry.oid.to_owned());
                    }
                    EntryKind::Commit | EntryKind::Link => {}
                }
            }
        }
    }

    /// Orders the blobs to scan by pack offset; with `all_objects`, appends unreachable blobs.
    fn pack_order(&mut self, all_objects: bool) -> Result<(), Error> {
        let iter = self
            .repo
            .objects
            .iter()
            .map_err(|source| Error::Unreadable {
                what: "the object database".into(),
                source,
            })?
            .with_ordering(IterOrdering::PackAscendingOffsetThenLooseLexicographical);
        let mut listed: HashSet<ObjectId> = HashSet::with_capacity(self.out.blobs.len());
        let mut extra = Vec::new();
        for id in iter {
            let id = match id {
                Ok(id) => id,
                Err(e) => {
                    self.out.diagnostics.push(Diagnostic::Warning {
                        path: "object database".into(),
                        kind: WarningKind::CorruptObject(e.to_string()),
                    });
                    continue;
                }
            };
            if self.out.blobs.contains_key(&id) {
                if listed.insert(id) {
                    self.out.order.push(id);
                }
            } else if all_objects && !listed.contains(&id) {
                match self.repo.objects.header(id) {
                    Ok(h) if h.kind() == gix::object::Kind::Blob => {
                        listed.insert(id);
                        extra.push(id);
                    }
                    Ok(_) => {}
                    Err(e) => self.out.diagnostics.push(corrupt("object", &id, e)),
                }
            }
        }
        // Blobs the iteration did not list (e.g. in an alternate it could not read) are still
        // scanned, after the rest.
        let mut missing: Vec<ObjectId> = self
            .out
            .blobs
            .keys()
            .filter(|id| !listed.contains(*id))
            .copied()
            .collect();
        missing.sort_unstable();
        self.out.order.extend(missing);
        self.out.order.extend(extra);
        Ok(())
    }
}
