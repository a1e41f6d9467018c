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
//! 3. **Trees: only what changed.** For each commit in that order, compare its tree with its
//!    parents' trees at the same paths (both sorted in git's order, so a linear merge) and
//!    descend only into entries whose id differs from every parent's. Each `(blob, path)` pair
//!    seen for the first time is a *place* attributed to the commit being traversed, which,
//!    thanks to the parents-first order, is the earliest commit in history that has that blob at
//!    that path (a merge that brings in a new blob is its own introducer; a rename is a new place
//!    of the same blob). For incremental scans, an entry identical to the same path in a hidden
//!    parent is skipped too, so only what the new commits introduce is listed. The parsed trees
//!    of the previous commit are kept, since it is nearly always the next commit's parent.
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
//! number of distinct `(blob, path)` pairs in the history (~60 bytes each), one interned copy of
//! each distinct path, ~100 bytes per commit, and the parsed trees of two commits; plus, per
//! worker, a 48 MiB delta-base cache and one blob (at most `--max-file-size`). It does not depend
//! on the size of the history's diffs.
//!
//! Submodules (gitlink entries) are not followed; they are counted in a note. Symbolic links are
//! blobs holding a path, not content, and are not scanned.

use std::{
    collections::{HashMap, HashSet},
    path::{Path, PathBuf},
    rc::Rc,
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
    // Why: with a byte limit set, gix caches delta bases in a hash map (O(1) lookups) instead
    // of a 64-entry list scanned linearly, which profiles at a tenth of a history scan.
    let opts = gix::open::Options::isolated().config_overrides(["core.deltaBaseCacheLimit=48m"]);
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
    /// Commits whose history is not walked (a previous scan's tips); ids the repository does
    /// not have are ignored.
    pub hide: Vec<ObjectId>,
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
    /// The commits the walk started from (ref tips, peeled), sorted.
    pub tips: Vec<ObjectId>,
    /// Walked commits, parents first.
    pub commits: Vec<ObjectId>,
    /// Interned paths.
    pub paths: Vec<BString>,
    /// Every reachable blob introduced by the walked commits, with its places.
    pub blobs: HashMap<ObjectId, Vec<Place>>,
    /// Blobs in pack order: the reachable ones first, then (with `all_objects`) unreachable ones.
    pub order: Vec<ObjectId>,
    /// Notes and warnings met on the way (shallow history, submodules, unreadable objects).
    pub diagnostics: Vec<Diagnostic>,
}

/// A walked commit with the trees of its parents.
struct WalkedCommit {
    id: ObjectId,
    tree: ObjectId,
    parent_trees: Vec<ObjectId>,
}

/// A tree's entries, names in one buffer (in git's tree order).
#[derive(Default)]
struct TreeEntries {
    names: Vec<u8>,
    items: Vec<(EntryKind, ObjectId, usize, usize)>,
}

impl TreeEntries {
    fn len(&self) -> usize {
        self.items.len()
    }

    fn get(&self, i: usize) -> (EntryKind, ObjectId, &[u8]) {
        let (kind, oid, start, end) = self.items[i];
        (kind, oid, &self.names[start..end])
    }

    /// The entry named `name` (of kind tree if `is_tree`), searching forward from `*cursor`.
    /// Both trees list entries in git's order, and callers look names up in that order, so
    /// the cursor only moves forward: the whole comparison is linear in the two trees' sizes.
    fn find_from(
        &self,
        cursor: &mut usize,
        name: &[u8],
        is_tree: bool,
    ) -> Option<(EntryKind, ObjectId)> {
        while *cursor < self.items.len() {
            let (kind, oid, n) = self.get(*cursor);
            match git_order(n, kind == EntryKind::Tree, name, is_tree) {
                std::cmp::Ordering::Less => *cursor += 1,
                std::cmp::Ordering::Equal => {
                    *cursor += 1;
                    return Some((kind, oid));
                }
                std::cmp::Ordering::Greater => return None,
            }
        }
        None
    }
}

/// Git's tree entry order: bytewise, with a tree's name compared as if followed by `/`.
fn git_order(a: &[u8], a_tree: bool, b: &[u8], b_tree: bool) -> std::cmp::Ordering {
    let n = a.len().min(b.len());
    a[..n].cmp(&b[..n]).then_with(|| {
        let next =
            |name: &[u8], tree: bool| name.get(n).copied().unwrap_or(if tree { b'/' } else { 0 });
        next(a, a_tree).cmp(&next(b, b_tree))
    })
}

struct Walker<'r> {
    repo: &'r gix::Repository,
    path_ids: HashMap<BString, u32>,
    seen_places: HashSet<(ObjectId, u32)>,
    /// Trees parsed while traversing the current and the previous commit.
    current_trees: HashMap<ObjectId, Rc<TreeEntries>>,
    previous_trees: HashMap<ObjectId, Rc<TreeEntries>>,
    out: Enumeration,
    submodules: u64,
    buf: Vec<u8>,
}

/// An object that could not be read: an error, because what depends on it (a commit's tree
/// and its ancestors, a tree's entries) was not scanned and may hold a secret.
fn corrupt(what: &str, id: &gix::oid, e: impl std::fmt::Display) -> Diagnostic {
    let behind = match what {
        "commit" => {
            "; its tree and the history behind it were not walked (--all-objects scans every blob in the object database)"
        }
        "tree" => "; the files below it were not listed",
        _ => "",
    };
    Diagnostic::Error {
        path: format!("{what} {id}"),
        message: format!("could not be read ({e}){behind}"),
    }
}

/// The blobs of `HEAD`'s tree, or `None` when `HEAD` is unborn or unreadable. Only history
/// scans that found something need it (for `in_head`), so it is not part of [`enumerate`].
pub fn head_blobs(repo: &gix::Repository) -> Option<HashSet<ObjectId>> {
    let tree = repo.head_tree_id().ok()?;
    let mut blobs = HashSet::new();
    let mut stack = vec![tree.detach()];
    let mut buf = Vec::new();
    while let Some(t) = stack.pop() {
        let Ok(iter) = repo.objects.find_tree_iter(&t, &mut buf) else {
            continue;
        };
        for entry in iter.flatten() {
            match entry.mode.kind() {
                EntryKind::Tree => stack.push(entry.oid.to_owned()),
                EntryKind::Blob | EntryKind::BlobExecutable => {
                    blobs.insert(entry.oid.to_owned());
                }
                EntryKind::Commit | EntryKind::Link => {}
            }
        }
    }
    Some(blobs)
}

/// Lists the blobs to scan and where each was introduced.
pub fn enumerate(repo: &gix::Repository, selection: &Selection) -> Result<Enumeration, Error> {
    let mut w = Walker {
        repo,
        path_ids: HashMap::new(),
        seen_places: HashSet::new(),
        current_trees: HashMap::new(),
        previous_trees: HashMap::new(),
        out: Enumeration::default(),
        submodules: 0,
        buf: Vec::new(),
    };
    let (tips, mut hidden_tips) = w.tips(selection)?;
    hidden_tips.extend(selection.hide.iter().filter(|id| repo.has_object(id)));
    w.out.tips = tips.clone();
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
    let walked = w.walk_commits(&tips, &hidden, &shallow);
    let mut order = Vec::with_capacity(walked.len());
    for (i, c) in walked.into_iter().enumerate() {
        let idx =
            u32::try_from(i).expect("fewer than 2^32 commits because each is an object in memory");
        w.traverse(c.tree, &c.parent_trees, idx);
        // Why: a commit's parent is nearly always the commit traversed just before it, so the
        // trees parsed for that commit are kept (one generation) and not read or parsed again.
        w.previous_trees = std::mem::take(&mut w.current_trees);
        order.push(c.id);
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
                    self.out.diagnostics.push(Diagnostic::Error {
                        path: "reference".into(),
                        message: format!("could not be read ({e}); its history was not walked"),
                    });
                    continue;
                }
            };
            let name = reference.name().as_bstr().to_string();
            // Tags may point at trees or blobs; only commits have history to walk.
            match reference.peel_to_kind(gix::object::Kind::Commit) {
                Ok(commit) => tips.push(commit.id),
                Err(e) => {
                    // Why: a tag of a tree or blob has no history (nothing is lost), but a
                    // reference whose object is missing or unreadable hides a whole branch.
                    let target = reference.peel_to_id().ok().map(|id| id.object());
                    let no_history = matches!(
                        &target,
                        Some(Ok(o)) if o.kind != gix::object::Kind::Commit
                    );
                    if !no_history {
                        let what = match &target {
                            Some(Err(_)) | None => {
                                "points at an object that is missing or unreadable"
                            }
                            Some(Ok(_)) => "points at a commit that could not be read",
                        };
                        self.out.diagnostics.push(Diagnostic::Error {
                            path: format!("reference {name}"),
                            message: format!("{what} ({e}); its history was not walked"),
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

    /// Walks commits from `tips`, not entering `hidden` or past `shallow` boundaries; returns
    /// the commits parents-first, each with the trees of its parents (walked or hidden).
    fn walk_commits(
        &mut self,
        tips: &[ObjectId],
        hidden: &HashSet<ObjectId>,
        shallow: &HashSet<ObjectId>,
    ) -> Vec<WalkedCommit> {
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
        let mut hidden_trees: HashMap<ObjectId, Option<ObjectId>> = HashMap::new();
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
                    hidden_trees.insert(*p, None);
                } else if !index.contains_key(p) {
                    stack.push(*p);
                }
            }
            index.insert(id, nodes.len());
            nodes.push(Node { id, tree, parents });
        }
        for (hidden_id, tree) in hidden_trees.iter_mut() {
            match self
                .repo
                .objects
                .find_commit_iter(hidden_id, &mut self.buf)
                .map(|mut it| it.tree_id())
            {
                Ok(Ok(t)) => *tree = Some(t),
                Ok(Err(e)) => self.out.diagnostics.push(corrupt("commit", hidden_id, e)),
                Err(e) => self.out.diagnostics.push(corrupt("commit", hidden_id, e)),
            }
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
        order
            .into_iter()
            .map(|i| {
                let n = &nodes[i];
                let parent_trees = n
                    .parents
                    .iter()
                    .filter_map(|p| match index.get(p) {
                        Some(&pi) => Some(nodes[pi].tree),
                        None => hidden_trees.get(p).copied().flatten(),
                    })
                    .collect();
                WalkedCommit {
                    id: n.id,
                    tree: n.tree,
                    parent_trees,
                }
            })
            .collect()
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

    /// Traverses a commit's tree, descending only into entries that differ from the same path
    /// in every parent tree, and records first-seen `(blob, path)` pairs as places of `commit`.
    ///
    /// Skipping is sound because parents are traversed first: an entry identical to a parent's
    /// has had all its pairs recorded already (or, for a hidden parent, is before the range).
    /// Attribution itself rests on the `(blob, path)` set, so a comparison that fails to pair two
    /// entries only costs a traversal.
    fn traverse(&mut self, root: ObjectId, parents: &[ObjectId], commit: u32) {
        let mut stack: Vec<(ObjectId, Vec<ObjectId>, BString)> =
            vec![(root, parents.to_vec(), BString::default())];
        let mut buf = Vec::new();
        let mut parent_entries: Vec<Rc<TreeEntries>> = Vec::new();
        while let Some((tree, parent_trees, prefix)) = stack.pop() {
            if parent_trees.contains(&tree) {
                continue;
            }
            let Some(entries) = self.read_tree(&tree, &mut buf) else {
                continue;
            };
            parent_entries.clear();
            for p in &parent_trees {
                if let Some(pe) = self.read_tree(p, &mut buf) {
                    parent_entries.push(pe);
                }
            }
            let mut cursors = vec![0usize; parent_entries.len()];
            for e in 0..entries.len() {
                let (kind, oid, name) = entries.get(e);
                let mut unchanged = false;
                let mut parent_subtrees: Vec<ObjectId> = Vec::new();
                for (pe, cur) in parent_entries.iter().zip(cursors.iter_mut()) {
                    if let Some((pkind, poid)) = pe.find_from(cur, name, kind == EntryKind::Tree) {
                        if poid == oid && pkind == kind {
                            unchanged = true;
                            break;
                        }
                        if pkind == EntryKind::Tree && kind == EntryKind::Tree {
                            parent_subtrees.push(poid);
                        }
                    }
                }
                if unchanged {
                    continue;
                }
                let mut path = prefix.clone();
                if !path.is_empty() {
                    path.push(b'/');
                }
                path.extend_from_slice(name);
                match kind {
                    EntryKind::Tree => stack.push((oid, parent_subtrees, path)),
                    EntryKind::Blob | EntryKind::BlobExecutable => {
                        let pid = self.intern(path.as_bstr());
                        if self.seen_places.insert((oid, pid)) {
                            self.out
                                .blobs
                                .entry(oid)
                                .or_default()
                                .push(Place { path: pid, commit });
                        }
                    }
                    EntryKind::Commit => self.submodules += 1,
                    EntryKind::Link => {}
                }
            }
        }
    }

    /// A tree's entries, parsed once per generation; an unreadable tree is a warning and
    /// reads as `None`.
    fn read_tree(&mut self, id: &ObjectId, buf: &mut Vec<u8>) -> Option<Rc<TreeEntries>> {
        if let Some(t) = self.current_trees.get(id) {
            return Some(Rc::clone(t));
        }
        if let Some(t) = self.previous_trees.get(id) {
            let t = Rc::clone(t);
            self.current_trees.insert(*id, Rc::clone(&t));
            return Some(t);
        }
        let iter = match self.repo.objects.find_tree_iter(id, buf) {
            Ok(iter) => iter,
            Err(e) => {
                self.out.diagnostics.push(corrupt("tree", id, e));
                return None;
            }
        };
        let mut out = TreeEntries::default();
        for entry in iter {
            match entry {
                Ok(entry) => {
                    let start = out.names.len();
                    out.names.extend_from_slice(entry.filename);
                    out.items.push((
                        entry.mode.kind(),
                        entry.oid.to_owned(),
                        start,
                        out.names.len(),
                    ));
                }
                Err(e) => {
                    self.out.diagnostics.push(corrupt("tree", id, e));
                    break;
                }
            }
        }
        let out = Rc::new(out);
        self.current_trees.insert(*id, Rc::clone(&out));
        Some(out)
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
                    self.out.diagnostics.push(Diagnostic::Error {
                        path: "object database".into(),
                        message: format!("an object could not be listed ({e})"),
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
