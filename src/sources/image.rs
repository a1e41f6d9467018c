//! Container images, read without a Docker engine: `docker save` archives, OCI archives and OCI
//! image layout directories (registries are not read yet).
//!
//! # How
//!
//! An archive is indexed once (`tar::Archive::entries_with_seek`: names, offsets and sizes; no
//! layer is copied anywhere). The image's manifest and config are read into memory (they are
//! small, and capped). Each layer is then streamed from its offset through a reader that
//! verifies its sha256 digest (for content-addressed blobs) and caps the bytes read, through
//! decompression chosen by magic bytes (gzip, zstd, or none), into a tar walk; every regular
//! file is handed to the visitor with its path, and whiteouts (`.wh.name`, `.wh..wh..opq`) and
//! overwritten paths are recorded so that a file removed by a later layer can be reported as
//! `deleted_in_final_image`. Nothing is written to disk, links are never followed, and entry
//! names are only ever displayed (`../` or absolute names cannot reach the host).
//!
//! # Hostile and broken images
//!
//! - A layer listed more than once (the same digest) is read once; its findings carry the first
//!   index it has.
//! - A truncated archive is scanned as far as it goes: `docker save` writes `manifest.json` last,
//!   so a cut archive has none; then every member that is a layer (a tar, gzip or zstd stream) is
//!   scanned as an unordered set, and the image reports the loss in [`Image::problems`] (each an
//!   error: the scan is incomplete). A layer cut short, or one the manifest lists but the archive
//!   lacks, is an error of that layer; the others are still read.
//! - In a layout directory every file is checked before it is opened: only regular files are
//!   read (a FIFO would block the scan forever, a device could have side effects), and a
//!   symbolic link is followed only if it resolves inside the layout (one leading out would make
//!   the scan read, and report, files of this host). Links inside are allowed because tools
//!   that share blobs between images or tags use them.

use std::{
    collections::{HashMap, HashSet},
    fs::{self, File},
    io::{self, BufReader, Read, Seek, SeekFrom},
    path::{Path, PathBuf},
};

use serde::Deserialize;

use super::oci;
use sha2::{Digest, Sha256};

/// Errors that stop an image scan.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The image reference names nothing readable.
    #[error("cannot open image {reference}")]
    Open {
        /// The reference.
        reference: String,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The image is not in a known format or its metadata is broken.
    #[error("{reference}: {message}")]
    Format {
        /// The reference.
        reference: String,
        /// What is wrong.
        message: String,
    },
    /// The registry could not be read.
    #[error("{reference}: {message}")]
    Registry {
        /// The reference.
        reference: String,
        /// What went wrong.
        message: String,
    },
}

/// Limits for reading hostile images.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Decompressed bytes allowed per layer.
    pub max_layer_bytes: u64,
    /// Decompressed bytes allowed per compressed byte (gzip/zstd bombs).
    pub max_ratio: u64,
    /// Larger files are skipped (0 = no limit).
    pub max_file_size: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_layer_bytes: 16 << 30,
            max_ratio: 1000,
            max_file_size: super::DEFAULT_MAX_FILE_SIZE,
        }
    }
}

/// One layer as the manifest lists it.
#[derive(Debug, Clone)]
pub struct Layer {
    /// The layer's digest (`sha256:…`), if known.
    pub digest: Option<String>,
    /// The Dockerfile instruction that created it (from the config's history).
    pub created_by: Option<String>,
    location: Location,
}

impl Layer {
    /// What makes two listed layers the same blob: the digest, else where it is read from.
    fn key(&self) -> String {
        match (&self.digest, &self.location) {
            (Some(digest), _) => digest.clone(),
            (None, Location::Range { offset, .. }) => format!("@{offset}"),
            (None, Location::File(p)) => p.display().to_string(),
            (None, Location::Remote(digest)) => digest.clone(),
            (None, Location::Missing(message)) => message.clone(),
        }
    }
}

#[derive(Debug, Clone)]
enum Location {
    /// A byte range of the archive file.
    Range { offset: u64, size: u64 },
    /// A file (OCI layout blob), checked to be a regular file inside the layout.
    File(PathBuf),
    /// A registry blob, by digest.
    Remote(String),
    /// The layer cannot be read: why (reported when the layers are read).
    Missing(String),
}

/// An opened image: its metadata and layers.
#[derive(Debug)]
pub struct Image {
    /// The reference as given.
    pub reference: String,
    /// The image's digest (`sha256:` of its config, the image id).
    pub digest: Option<String>,
    /// The config document.
    pub config: serde_json::Value,
    /// Layers, bottom first.
    pub layers: Vec<Layer>,
    /// What opening the image found missing or broken (a truncated archive): each leaves part of
    /// the image unscanned, and is reported as an error.
    pub problems: Vec<String>,
    /// The stacking order of the layers is unknown (a truncated archive without its manifest):
    /// they are in archive order, and nothing is known to be deleted by a later layer.
    pub unordered: bool,
    archive: Option<PathBuf>,
    client: Option<super::registry::Client>,
}

impl Image {
    /// How many distinct layers [`read_layers`] reads (a layer listed twice is read once).
    pub fn distinct_layers(&self) -> usize {
        self.layers
            .iter()
            .map(Layer::key)
            .collect::<HashSet<String>>()
            .len()
    }
}

/// A regular file of a layer.
#[derive(Debug)]
pub struct LayerFile<'a> {
    /// Index of the layer (0 = bottom).
    pub layer: usize,
    /// The path in the image (no leading `/`).
    pub path: &'a str,
    /// The content (at most `max_file_size` bytes; larger files are reported as skipped).
    pub bytes: &'a [u8],
}

/// What happened while reading layers.
#[derive(Debug)]
pub enum LayerEvent<'a> {
    /// A regular file.
    File(LayerFile<'a>),
    /// A file over the size limit (not read).
    TooLarge {
        /// Layer index.
        layer: usize,
        /// Path.
        path: String,
        /// Size.
        size: u64,
    },
    /// A layer could not be read (fully): what was read before the problem was handed over.
    LayerError {
        /// Layer index.
        layer: usize,
        /// What went wrong.
        message: String,
    },
}

/// Whiteouts and paths per layer, to tell which files the final image no longer has.
#[derive(Debug, Default)]
pub struct Deletions {
    /// What each distinct layer blob adds and removes.
    sets: Vec<LayerSets>,
    /// For each listed layer, its entry in `sets` (a layer listed twice shares one).
    set_of: Vec<usize>,
    /// The layer order is unknown: no file is known to be deleted.
    unordered: bool,
}

/// The paths one layer adds, whites out, and makes opaque (directories).
#[derive(Debug, Default)]
struct LayerSets {
    files: HashSet<String>,
    whiteouts: HashSet<String>,
    opaque: HashSet<String>,
}

impl Deletions {
    /// Whether `path`, as found in `layer`, is gone from the final image: the last later layer
    /// that touches it whites it out (or a directory above it, or makes such a directory
    /// opaque), or replaces it. The same layer blob listed again puts the same file back.
    pub fn deleted(&self, layer: usize, path: &str) -> bool {
        if self.unordered {
            return false;
        }
        let Some(&own) = self.set_of.get(layer) else {
            return false;
        };
        let mut dirs = Vec::new();
        let mut p = path;
        while let Some((d, _)) = p.rsplit_once('/') {
            dirs.push(d);
            p = d;
        }
        let mut gone = false;
        for &later in &self.set_of[layer + 1..] {
            let s = &self.sets[later];
            if s.files.contains(path) {
                gone = later != own;
            } else if s.whiteouts.contains(path)
                || s.opaque.contains("")
                || dirs
                    .iter()
                    .any(|d| s.whiteouts.contains(*d) || s.opaque.contains(*d))
            {
                gone = true;
            }
        }
        gone
    }
}

#[derive(Deserialize)]
struct DockerManifestEntry {
    #[serde(rename = "Config")]
    config: String,
    #[serde(rename = "Layers")]
    layers: Vec<String>,
}

/// Metadata files are small; a larger one is hostile.
const MAX_METADATA: u64 = 16 << 20;

/// Opens an image: an archive file, an OCI layout directory (`DIR` or `DIR:tag`), or a
/// registry reference (`host[:port]/name[:tag|@digest]`).
pub fn open(reference: &str, registry: &super::registry::RegistryOptions) -> Result<Image, Error> {
    let (path_part, tag) = match reference.rsplit_once(':') {
        Some((p, t)) if Path::new(p).is_dir() && !t.contains('/') => (p, Some(t)),
        _ => (reference, None),
    };
    let path = Path::new(path_part);
    if path.is_dir() {
        return open_layout(
            reference,
            path,
            tag,
            platform_or_default(&registry.platform),
        );
    }
    if !path.exists() {
        if let Some(r) = super::registry::parse_reference(reference) {
            return open_registry(reference, &r, registry);
        }
        return Err(Error::Open {
            reference: reference.to_owned(),
            source: io::Error::from(io::ErrorKind::NotFound),
        });
    }
    open_archive(reference, path, platform_or_default(&registry.platform))
}

fn format_err(reference: &str, message: impl Into<String>) -> Error {
    Error::Format {
        reference: reference.to_owned(),
        message: message.into(),
    }
}

/// A tar archive's regular files, indexed: names, data offsets and sizes, the small JSON
/// documents, and whether the archive ends early.
struct ArchiveIndex {
    path: PathBuf,
    /// The archive file's length.
    len: u64,
    /// Name → (data offset, size).
    entries: HashMap<String, (u64, u64)>,
    /// Names in archive order.
    order: Vec<String>,
    /// The `.json` members, whole.
    small: HashMap<String, Vec<u8>>,
    /// What leaves part of the archive unscanned.
    problems: Vec<String>,
    /// The archive ends early: mid-header, mid-member, or without an end-of-archive marker.
    truncated: bool,
}

impl ArchiveIndex {
    fn read(reference: &str, path: &Path) -> Result<ArchiveIndex, Error> {
        let open_err = |source| Error::Open {
            reference: reference.to_owned(),
            source,
        };
        let meta = fs::metadata(path).map_err(open_err)?;
        // Why: opening a FIFO blocks until someone writes to it; a device may have effects.
        if !meta.is_file() {
            return Err(format_err(
                reference,
                format!(
                    "{} is {}, not an archive file (save the image to a file first)",
                    path.display(),
                    file_kind(&meta.file_type())
                ),
            ));
        }
        let file = File::open(path).map_err(open_err)?;
        let mut ix = ArchiveIndex {
            path: path.to_owned(),
            len: meta.len(),
            entries: HashMap::new(),
            order: Vec::new(),
            small: HashMap::new(),
            problems: Vec::new(),
            truncated: false,
        };
        let mut archive = tar::Archive::new(BufReader::new(file));
        // Where the members read so far end: the end-of-archive marker belongs there.
        let mut end = 0u64;
        for (members, entry) in archive.entries_with_seek().map_err(open_err)?.enumerate() {
            let mut entry = match entry {
                Ok(entry) => entry,
                Err(e) if members == 0 => {
                    return Err(format_err(
                        reference,
                        format!("not a readable tar archive: {e}"),
                    ));
                }
                Err(e) => {
                    // Why: what was indexed before the damage is still worth scanning.
                    ix.truncated = true;
                    ix.problems.push(format!(
                        "the archive is truncated or corrupt after byte {end} ({e}): what \
                         follows is not scanned"
                    ));
                    break;
                }
            };
            let (offset, size) = (entry.raw_file_position(), entry.size());
            end = end.max(offset.saturating_add(size.div_ceil(512).saturating_mul(512)));
            if offset.saturating_add(size) > ix.len {
                ix.truncated = true;
            }
            if !super::archive::is_regular(entry.header().entry_type()) {
                continue;
            }
            let name = normalize(&entry.path().map_err(open_err)?.to_string_lossy());
            if name.ends_with(".json") && size <= MAX_METADATA {
                let mut buf = Vec::new();
                entry.read_to_end(&mut buf).map_err(open_err)?;
                // Why: a document cut short by a truncated archive is not the document.
                if buf.len() as u64 == size {
                    ix.small.insert(name.clone(), buf);
                }
            }
            if ix.entries.insert(name.clone(), (offset, size)).is_none() {
                ix.order.push(name);
            }
        }
        // Why: the walk stops at the end of the file as it stops at the marker; only a missing
        // marker tells an archive cut at a member boundary.
        if !ix.truncated && !has_end_marker(path, end) {
            ix.truncated = true;
        }
        Ok(ix)
    }

    /// Where a member is, or why it cannot be read.
    fn location(&self, name: &str) -> Location {
        match self.entries.get(name) {
            Some(&(offset, size)) => Location::Range { offset, size },
            None => Location::Missing(format!("{name} is not in the archive{}", self.cut())),
        }
    }

    fn cut(&self) -> &'static str {
        if self.truncated {
            " (the archive is truncated)"
        } else {
            ""
        }
    }

    /// `size` bytes at `offset` (fewer if the archive ends first).
    fn read_range(&self, offset: u64, size: u64) -> io::Result<Vec<u8>> {
        let mut f = File::open(&self.path)?;
        f.seek(SeekFrom::Start(offset))?;
        let mut bytes = Vec::new();
        f.take(size).read_to_end(&mut bytes)?;
        Ok(bytes)
    }
}

/// Whether the tar file has an end-of-archive marker (a zero block) at `end`.
fn has_end_marker(path: &Path, end: u64) -> bool {
    let mut block = [0u8; 512];
    let read = File::open(path).and_then(|mut f| {
        f.seek(SeekFrom::Start(end))?;
        f.read_exact(&mut block)
    });
    read.is_ok() && block.iter().all(|&b| b == 0)
}

fn open_archive(reference: &str, path: &Path, platform: &str) -> Result<Image, Error> {
    let mut ix = ArchiveIndex::read(reference, path)?;
    let structured = if let Some(manifest) = ix.small.get("manifest.json") {
        Some(docker_image(reference, &ix, manifest))
    } else {
        ix.small
            .get("index.json")
            .map(|index_json| oci_archive_image(reference, &ix, index_json, platform))
    };
    let mut image = match structured {
        Some(Ok(image)) => image,
        // Why: a truncated archive may keep its manifest and lose what the manifest points to.
        Some(Err(e)) if ix.truncated => {
            let why = match e {
                Error::Format { message, .. } => message,
                other => other.to_string(),
            };
            unordered_image(reference, &ix, Some(why))?
        }
        Some(Err(e)) => return Err(e),
        None => unordered_image(reference, &ix, None)?,
    };
    let mut problems = std::mem::take(&mut ix.problems);
    problems.append(&mut image.problems);
    image.problems = problems;
    Ok(image)
}

/// A `docker save` archive: `manifest.json` names the config and the layers, bottom first.
fn docker_image(reference: &str, ix: &ArchiveIndex, manifest: &[u8]) -> Result<Image, Error> {
    let entries: Vec<DockerManifestEntry> = serde_json::from_slice(manifest)
        .map_err(|e| format_err(reference, format!("invalid manifest.json: {e}")))?;
    let first = entries
        .into_iter()
        .next()
        .ok_or_else(|| format_err(reference, "manifest.json lists no image"))?;
    let config_bytes = ix.small.get(&normalize(&first.config)).ok_or_else(|| {
        format_err(
            reference,
            format!("config {} is missing{}", first.config, ix.cut()),
        )
    })?;
    let config = parse_json(reference, config_bytes, "config")?;
    let digest = Some(format!("sha256:{:x}", Sha256::digest(config_bytes)));
    let layers = first
        .layers
        .iter()
        .map(|l| {
            let name = normalize(l);
            Layer {
                digest: name
                    .strip_prefix("blobs/sha256/")
                    .map(|h| format!("sha256:{h}")),
                created_by: None,
                location: ix.location(&name),
            }
        })
        .collect();
    Ok(assemble(
        reference,
        digest,
        config,
        layers,
        Some(ix.path.clone()),
        None,
    ))
}

/// An OCI archive: a tarred layout, `index.json` leading to the manifest.
fn oci_archive_image(
    reference: &str,
    ix: &ArchiveIndex,
    index_json: &[u8],
    platform: &str,
) -> Result<Image, Error> {
    let read_blob = |digest: &str| -> Result<Vec<u8>, String> {
        let name = blob_name(digest).ok_or_else(|| format!("bad digest {digest}"))?;
        let &(offset, size) = ix
            .entries
            .get(&name)
            .ok_or_else(|| format!("blob {digest} is missing{}", ix.cut()))?;
        if size > MAX_METADATA {
            return Err(format!("blob {digest} is too large for metadata"));
        }
        let bytes = ix
            .read_range(offset, size)
            .map_err(|e| format!("blob {digest}: {e}"))?;
        oci::verified(digest, bytes)
    };
    let doc = parse_json(reference, index_json, "index.json")?;
    let r = oci::resolve(doc, None, platform, &|_, d| read_blob(d))
        .map_err(|m| format_err(reference, m))?;
    let mut layers = Vec::new();
    for d in r.layers {
        let name = blob_name(&d).ok_or_else(|| format_err(reference, format!("bad digest {d}")))?;
        layers.push(Layer {
            location: ix.location(&name),
            digest: Some(d),
            created_by: None,
        });
    }
    Ok(assemble(
        reference,
        Some(r.config_digest),
        r.config,
        layers,
        Some(ix.path.clone()),
        None,
    ))
}

/// What an archive without a usable manifest still holds (a truncated one: `docker save`
/// writes `manifest.json` last): every member that is a layer (a tar, gzip or zstd stream, or a
/// legacy `…/layer.tar`), in archive order, as an unordered set, and the config if one is found.
/// Which layer stacks on which, what created it and what a later layer deleted are unknown.
fn unordered_image(
    reference: &str,
    ix: &ArchiveIndex,
    why: Option<String>,
) -> Result<Image, Error> {
    let mut layers = Vec::new();
    let mut config: Option<(serde_json::Value, String)> = None;
    for name in &ix.order {
        let Some(&(offset, size)) = ix.entries.get(name) else {
            continue;
        };
        if let Some(bytes) = ix.small.get(name) {
            if config.is_none()
                && let Some(c) = as_image_config(bytes)
            {
                config = Some((c, format!("sha256:{:x}", Sha256::digest(bytes))));
            }
            continue;
        }
        let head = ix.read_range(offset, size.min(512)).unwrap_or_default();
        let is_layer = name == "layer.tar"
            || name.ends_with("/layer.tar")
            || head.starts_with(&[0x1f, 0x8b])
            || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
            || (head.len() > 262 && &head[257..262] == b"ustar");
        if is_layer {
            layers.push(Layer {
                digest: name
                    .strip_prefix("blobs/sha256/")
                    .map(|h| format!("sha256:{h}")),
                created_by: None,
                location: Location::Range { offset, size },
            });
        } else if config.is_none()
            && head.first() == Some(&b'{')
            && size <= MAX_METADATA
            && let Ok(bytes) = ix.read_range(offset, size)
            && let Some(c) = as_image_config(&bytes)
        {
            // A content-addressed config blob (an OCI archive, or docker save since 25).
            config = Some((c, format!("sha256:{:x}", Sha256::digest(&bytes))));
        }
    }
    let what = match (why, ix.truncated) {
        (Some(why), _) => format!("the archive is truncated ({why})"),
        (None, true) => "the archive is truncated: it ends without its manifest.json or \
                         index.json (docker save writes them last)"
            .to_owned(),
        (None, false) => "neither a docker-archive (manifest.json) nor an OCI archive \
                          (index.json)"
            .to_owned(),
    };
    if layers.is_empty() {
        return Err(format_err(
            reference,
            if ix.truncated {
                format!("{what}, and no layer could be found in what is left")
            } else {
                what
            },
        ));
    }
    let message = format!(
        "{what}; the scan is incomplete: the {} layer(s) found are scanned as an unordered set \
         (layer indices are archive order; created_by and deleted_in_final_image are unknown)",
        layers.len()
    );
    let (config, digest) = match config {
        Some((c, d)) => (c, Some(d)),
        None => (serde_json::Value::Object(serde_json::Map::new()), None),
    };
    let mut image = assemble(
        reference,
        digest,
        config,
        layers,
        Some(ix.path.clone()),
        None,
    );
    // Why: the history goes with the manifest's order, which is lost.
    for layer in &mut image.layers {
        layer.created_by = None;
    }
    image.unordered = true;
    image.problems.push(message);
    Ok(image)
}

/// The document, if it is an image config (it has `rootfs`).
fn as_image_config(bytes: &[u8]) -> Option<serde_json::Value> {
    serde_json::from_slice::<serde_json::Value>(bytes)
        .ok()
        .filter(|v| v.get("rootfs").is_some_and(serde_json::Value::is_object))
}

fn open_layout(
    reference: &str,
    dir: &Path,
    tag: Option<&str>,
    platform: &str,
) -> Result<Image, Error> {
    // Why: every file is checked against the layout's real path, so no link leads out of it.
    let root = fs::canonicalize(dir).map_err(|source| Error::Open {
        reference: reference.to_owned(),
        source,
    })?;
    let read = |rel: &str| -> Result<Vec<u8>, String> {
        let p = layout_file(&root, rel)?;
        let mut buf = Vec::new();
        open_regular(&p)?
            .take(MAX_METADATA + 1)
            .read_to_end(&mut buf)
            .map_err(|e| format!("{}: {e}", p.display()))?;
        if buf.len() as u64 > MAX_METADATA {
            return Err(format!("{} is too large for metadata", p.display()));
        }
        Ok(buf)
    };
    let index_json = read("index.json").map_err(|m| format_err(reference, m))?;
    let read_blob = |digest: &str| -> Result<Vec<u8>, String> {
        let name = blob_name(digest).ok_or_else(|| format!("bad digest {digest}"))?;
        oci::verified(digest, read(&name)?)
    };
    let doc = parse_json(reference, &index_json, "index.json")?;
    let r = oci::resolve(doc, tag, platform, &|_, d| read_blob(d))
        .map_err(|m| format_err(reference, m))?;
    let mut layers = Vec::new();
    for d in r.layers {
        let name = blob_name(&d).ok_or_else(|| format_err(reference, format!("bad digest {d}")))?;
        let location = match layout_file(&root, &name) {
            Ok(p) => Location::File(p),
            Err(message) => Location::Missing(format!("blob {d}: {message}")),
        };
        layers.push(Layer {
            digest: Some(d),
            created_by: None,
            location,
        });
    }
    Ok(assemble(
        reference,
        Some(r.config_digest),
        r.config,
        layers,
        None,
        None,
    ))
}

/// The real path of `rel` in the layout directory `root` (already canonical), if it is a
/// regular file inside the layout. A FIFO would block the scan forever and a device may have
/// effects when opened; a symbolic link (of the file or of a directory on the way) that leads
/// out of the layout would make the scan read, and report, files of this host. Links that stay
/// inside are followed: tools that share blobs between images use them.
fn layout_file(root: &Path, rel: &str) -> Result<PathBuf, String> {
    let path = root.join(rel);
    let link = fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let real = fs::canonicalize(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if !real.starts_with(root) {
        let how = if link.file_type().is_symlink() {
            "is a symbolic link to"
        } else {
            "resolves (through a linked directory) to"
        };
        return Err(format!(
            "{} {how} {}, outside the layout directory: refused, not read",
            path.display(),
            real.display()
        ));
    }
    let meta = fs::metadata(&real).map_err(|e| format!("{}: {e}", real.display()))?;
    if !meta.is_file() {
        return Err(format!(
            "{} is {}, not a regular file: refused, not read",
            path.display(),
            file_kind(&meta.file_type())
        ));
    }
    Ok(real)
}

/// Opens a file only if it is a regular file, checked before opening (a FIFO blocks `open`) and
/// again on the open file.
fn open_regular(p: &Path) -> Result<File, String> {
    let err = |e: io::Error| format!("{}: {e}", p.display());
    let refuse = |t: &fs::FileType| {
        format!(
            "{} is {}, not a regular file: refused, not read",
            p.display(),
            file_kind(t)
        )
    };
    let meta = fs::symlink_metadata(p).map_err(err)?;
    if !meta.is_file() {
        return Err(refuse(&meta.file_type()));
    }
    let f = File::open(p).map_err(err)?;
    let meta = f.metadata().map_err(err)?;
    if !meta.is_file() {
        return Err(refuse(&meta.file_type()));
    }
    Ok(f)
}

/// What a file that is not a regular file is, for messages.
fn file_kind(t: &fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if t.is_fifo() {
            return "a FIFO";
        }
        if t.is_socket() {
            return "a socket";
        }
        if t.is_block_device() || t.is_char_device() {
            return "a device";
        }
    }
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else {
        "not a regular file"
    }
}

fn open_registry(
    reference: &str,
    r: &super::registry::Reference,
    opts: &super::registry::RegistryOptions,
) -> Result<Image, Error> {
    let err = |message: String| Error::Registry {
        reference: reference.to_owned(),
        message,
    };
    let client = super::registry::Client::new(r, opts).map_err(err)?;
    let resolved = client
        .resolve(&r.reference, platform_or_default(&opts.platform))
        .map_err(err)?;
    let layers = resolved
        .layers
        .into_iter()
        .map(|d| Layer {
            digest: Some(d.clone()),
            created_by: None,
            location: Location::Remote(d),
        })
        .collect();
    Ok(assemble(
        reference,
        Some(resolved.config_digest),
        resolved.config,
        layers,
        None,
        Some(client),
    ))
}

/// The platform to pick, `linux/amd64` unless one is given.
fn platform_or_default(platform: &str) -> &str {
    if platform.is_empty() {
        "linux/amd64"
    } else {
        platform
    }
}

/// An image from its parts, each layer given the history entry that created it.
fn assemble(
    reference: &str,
    digest: Option<String>,
    config: serde_json::Value,
    layers: Vec<Layer>,
    archive: Option<PathBuf>,
    client: Option<super::registry::Client>,
) -> Image {
    let mut image = Image {
        reference: reference.to_owned(),
        digest,
        config,
        layers,
        problems: Vec::new(),
        unordered: false,
        archive,
        client,
    };
    attach_history(&mut image);
    image
}

fn parse_json(reference: &str, bytes: &[u8], what: &str) -> Result<serde_json::Value, Error> {
    serde_json::from_slice(bytes).map_err(|e| format_err(reference, format!("invalid {what}: {e}")))
}

/// `sha256:hex` → `blobs/sha256/hex`, refusing anything but a hex digest.
fn blob_name(digest: &str) -> Option<String> {
    let (alg, hex) = digest.split_once(':')?;
    (matches!(alg, "sha256" | "sha512")
        && !hex.is_empty()
        && hex.bytes().all(|b| b.is_ascii_hexdigit()))
    .then(|| format!("blobs/{alg}/{hex}"))
}

/// Gives each layer the history entry that created it (entries marked `empty_layer` made none).
fn attach_history(image: &mut Image) {
    let history = image
        .config
        .get("history")
        .and_then(|h| h.as_array())
        .cloned()
        .unwrap_or_default();
    let mut layers = image.layers.iter_mut();
    for h in history {
        if h.get("empty_layer").and_then(|e| e.as_bool()) == Some(true) {
            continue;
        }
        match layers.next() {
            Some(layer) => {
                layer.created_by = h
                    .get("created_by")
                    .and_then(|c| c.as_str())
                    .map(str::to_owned)
            }
            None => break,
        }
    }
}

/// Strips `./` and `/` prefixes; keeps everything else for display only.
fn normalize(name: &str) -> String {
    let mut n = name.trim_start_matches("./");
    while let Some(rest) = n.strip_prefix('/') {
        n = rest;
    }
    n.trim_end_matches('/').to_owned()
}

/// The config items worth scanning, one per line: `Env`, `Labels`, `Cmd`, `Entrypoint`, and every
/// history `created_by`, each as `(label, text)`.
pub fn config_items(config: &serde_json::Value) -> Vec<(String, String)> {
    let mut items = Vec::new();
    let c = config
        .get("config")
        .or_else(|| config.get("container_config"));
    if let Some(c) = c {
        for (i, e) in c
            .get("Env")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(s) = e.as_str() {
                items.push((format!("Env[{i}]"), s.to_owned()));
            }
        }
        if let Some(labels) = c.get("Labels").and_then(|l| l.as_object()) {
            for (k, v) in labels {
                items.push((
                    format!("Labels[{k}]"),
                    format!("{k}={}", v.as_str().unwrap_or("")),
                ));
            }
        }
        for key in ["Cmd", "Entrypoint"] {
            if let Some(parts) = c.get(key).and_then(|v| v.as_array()) {
                let joined: Vec<&str> = parts.iter().filter_map(|p| p.as_str()).collect();
                items.push((key.to_owned(), joined.join(" ")));
            }
        }
    }
    for (i, h) in config
        .get("history")
        .and_then(|h| h.as_array())
        .into_iter()
        .flatten()
        .enumerate()
    {
        if let Some(s) = h.get("created_by").and_then(|c| c.as_str()) {
            items.push((format!("history[{i}]"), s.to_owned()));
        }
    }
    items
}

/// Reads every layer, bottom first, calling `visit` for each regular file; returns the
/// whiteout information needed for `deleted_in_final_image`. A layer listed again (the same
/// digest) is not read again: its files were handed over with the index it first had.
pub fn read_layers(
    image: &Image,
    limits: Limits,
    visit: &mut dyn FnMut(LayerEvent<'_>),
) -> Deletions {
    let mut deletions = Deletions {
        unordered: image.unordered,
        ..Deletions::default()
    };
    let mut read: HashMap<String, usize> = HashMap::new();
    let mut buf = Vec::new();
    for (i, layer) in image.layers.iter().enumerate() {
        let key = layer.key();
        if let Some(&set) = read.get(&key) {
            deletions.set_of.push(set);
            continue;
        }
        let set = deletions.sets.len();
        read.insert(key, set);
        deletions.set_of.push(set);
        let mut sets = LayerSets::default();
        if let Err(message) = read_layer(image, i, layer, limits, &mut sets, &mut buf, visit) {
            visit(LayerEvent::LayerError { layer: i, message });
        }
        deletions.sets.push(sets);
    }
    deletions
}

fn read_layer(
    image: &Image,
    i: usize,
    layer: &Layer,
    limits: Limits,
    sets: &mut LayerSets,
    buf: &mut Vec<u8>,
    visit: &mut dyn FnMut(LayerEvent<'_>),
) -> Result<(), String> {
    // What of the layer a truncated archive lost, if anything.
    let mut short = None;
    let (raw, compressed_size): (Box<dyn Read>, u64) = match &layer.location {
        Location::Range { offset, size } => {
            let path = image.archive.as_ref().ok_or("no archive")?;
            let mut f = File::open(path).map_err(|e| e.to_string())?;
            let len = f.metadata().map_err(|e| e.to_string())?.len();
            let held = len.saturating_sub(*offset).min(*size);
            if held < *size {
                short = Some(format!(
                    "layer {i} is truncated: the archive holds {held} of its {size} bytes"
                ));
            }
            f.seek(SeekFrom::Start(*offset))
                .map_err(|e| e.to_string())?;
            (Box::new(f.take(*size)), *size)
        }
        Location::File(p) => {
            let f = open_regular(p)?;
            let size = f.metadata().map_err(|e| e.to_string())?.len();
            (Box::new(f), size)
        }
        // Streamed from the registry: the ratio guard has no size to work from; the layer cap
        // still applies.
        Location::Remote(digest) => (
            image
                .client
                .as_ref()
                .ok_or("no registry client")?
                .blob(digest)?,
            u64::MAX,
        ),
        Location::Missing(message) => return Err(message.clone()),
    };
    let result = walk_layer(raw, compressed_size, i, layer, limits, sets, buf, visit);
    match (short, result) {
        (Some(short), Err(e)) => Err(format!("{short} ({e})")),
        (Some(short), Ok(())) => Err(short),
        (None, result) => result,
    }
}

/// Decompresses a layer's bytes and walks its tar, handing each regular file to `visit`, then
/// checks the digest.
#[allow(clippy::too_many_arguments)]
fn walk_layer(
    raw: Box<dyn Read>,
    compressed_size: u64,
    i: usize,
    layer: &Layer,
    limits: Limits,
    sets: &mut LayerSets,
    buf: &mut Vec<u8>,
    visit: &mut dyn FnMut(LayerEvent<'_>),
) -> Result<(), String> {
    let mut hashing = HashingReader {
        inner: raw,
        hasher: Sha256::new(),
    };
    let mut head = [0u8; 4];
    let n = read_fill(&mut hashing, &mut head).map_err(|e| e.to_string())?;
    let chained = io::Cursor::new(head[..n].to_vec()).chain(&mut hashing);
    let cap = limits.max_layer_bytes.min(
        compressed_size
            .saturating_mul(limits.max_ratio)
            .max(1 << 20),
    );
    let decompressed: Box<dyn Read + '_> = match head[..n] {
        [0x1f, 0x8b, ..] => Box::new(flate2::read::MultiGzDecoder::new(chained)),
        [0x28, 0xb5, 0x2f, 0xfd] => {
            Box::new(zstd::stream::read::Decoder::new(chained).map_err(|e| e.to_string())?)
        }
        _ => Box::new(chained),
    };
    let capped = CappedReader {
        inner: decompressed,
        left: cap,
        cap,
    };
    let mut archive = tar::Archive::new(capped);
    let entries = archive.entries().map_err(|e| e.to_string())?;
    for entry in entries {
        let mut entry = entry.map_err(|e| format!("layer {i} is truncated or corrupt: {e}"))?;
        let name = normalize(&String::from_utf8_lossy(&entry.path_bytes()));
        let (dir, file) = name.rsplit_once('/').unwrap_or(("", &name));
        if file == ".wh..wh..opq" {
            sets.opaque.insert(dir.to_owned());
            continue;
        }
        if let Some(target) = file.strip_prefix(".wh.") {
            let path = if dir.is_empty() {
                target.to_owned()
            } else {
                format!("{dir}/{target}")
            };
            sets.whiteouts.insert(path);
            continue;
        }
        // Links, devices and directories are never followed or read; contiguous (type 7) and
        // sparse files are regular files.
        if !super::archive::is_regular(entry.header().entry_type()) {
            continue;
        }
        sets.files.insert(name.clone());
        let size = entry.size();
        if limits.max_file_size > 0 && size > limits.max_file_size {
            visit(LayerEvent::TooLarge {
                layer: i,
                path: name,
                size,
            });
            continue;
        }
        buf.clear();
        entry
            .read_to_end(buf)
            .map_err(|e| format!("layer {i}: reading {name}: {e}"))?;
        visit(LayerEvent::File(LayerFile {
            layer: i,
            path: &name,
            bytes: buf,
        }));
    }
    drop(archive);
    // Read what the tar walk left (padding) so that the digest covers the whole blob.
    io::copy(&mut hashing, &mut io::sink()).map_err(|e| e.to_string())?;
    if let Some(expected) = &layer.digest
        && let Some(hex) = expected.strip_prefix("sha256:")
    {
        let actual = format!("{:x}", hashing.hasher.finalize());
        if actual != hex {
            return Err(format!(
                "layer {i} does not match its digest {expected} (it hashes to sha256:{actual})"
            ));
        }
    }
    Ok(())
}

fn read_fill(r: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Fails once more than `cap` bytes were read: the decompression-bomb guard.
struct CappedReader<R> {
    inner: R,
    left: u64,
    cap: u64,
}

impl<R: Read> Read for CappedReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.left = self.left.checked_sub(n as u64).ok_or_else(|| {
            io::Error::other(format!(
                "decompressed data exceeds {} bytes (a decompression bomb? raise --max-layer-size)",
                self.cap
            ))
        })?;
        Ok(n)
    }
}
