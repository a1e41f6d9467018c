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

use std::{
    collections::{HashMap, HashSet},
    fs::File,
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

#[derive(Debug, Clone)]
enum Location {
    /// A byte range of the archive file.
    Range { offset: u64, size: u64 },
    /// A file (OCI layout blob).
    File(PathBuf),
    /// A registry blob, by digest.
    Remote(String),
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
    archive: Option<PathBuf>,
    client: Option<super::registry::Client>,
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
    files: Vec<HashSet<String>>,
    whiteouts: Vec<HashSet<String>>,
    opaque: Vec<HashSet<String>>,
}

impl Deletions {
    /// Whether `path`, as found in `layer`, is gone from the final image: a later layer whites it
    /// out (or a directory above it, or makes such a directory opaque), or replaces it.
    pub fn deleted(&self, layer: usize, path: &str) -> bool {
        let ancestors = || {
            let mut dirs = Vec::new();
            let mut p = path;
            while let Some((d, _)) = p.rsplit_once('/') {
                dirs.push(d);
                p = d;
            }
            dirs
        };
        (layer + 1..self.files.len()).any(|later| {
            self.files[later].contains(path)
                || self.whiteouts[later].contains(path)
                || ancestors()
                    .iter()
                    .any(|d| self.whiteouts[later].contains(*d) || self.opaque[later].contains(*d))
                || self.opaque[later].contains("")
        })
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

fn open_archive(reference: &str, path: &Path, platform: &str) -> Result<Image, Error> {
    let open_err = |source| Error::Open {
        reference: reference.to_owned(),
        source,
    };
    let file = File::open(path).map_err(open_err)?;
    let mut archive = tar::Archive::new(BufReader::new(file));
    let mut index: HashMap<String, (u64, u64)> = HashMap::new();
    let mut small: HashMap<String, Vec<u8>> = HashMap::new();
    for entry in archive.entries_with_seek().map_err(open_err)? {
        let mut entry =
            entry.map_err(|e| format_err(reference, format!("not a readable tar archive: {e}")))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let name = normalize(&entry.path().map_err(open_err)?.to_string_lossy());
        let (offset, size) = (entry.raw_file_position(), entry.size());
        if name.ends_with(".json") && size <= MAX_METADATA {
            let mut buf = Vec::new();
            entry.read_to_end(&mut buf).map_err(open_err)?;
            small.insert(name.clone(), buf);
        }
        index.insert(name, (offset, size));
    }
    let range = |name: &str| {
        index
            .get(name)
            .map(|&(offset, size)| Location::Range { offset, size })
    };
    let image = if let Some(manifest) = small.get("manifest.json") {
        let entries: Vec<DockerManifestEntry> = serde_json::from_slice(manifest)
            .map_err(|e| format_err(reference, format!("invalid manifest.json: {e}")))?;
        let first = entries
            .into_iter()
            .next()
            .ok_or_else(|| format_err(reference, "manifest.json lists no image"))?;
        let config_bytes = small
            .get(&normalize(&first.config))
            .ok_or_else(|| format_err(reference, format!("config {} is missing", first.config)))?;
        let config: serde_json::Value = serde_json::from_slice(config_bytes)
            .map_err(|e| format_err(reference, format!("invalid config: {e}")))?;
        let digest = Some(format!("sha256:{:x}", Sha256::digest(config_bytes)));
        let mut layers = Vec::new();
        for l in &first.layers {
            let name = normalize(l);
            let location = range(&name)
                .ok_or_else(|| format_err(reference, format!("layer {l} is missing")))?;
            let digest = name
                .strip_prefix("blobs/sha256/")
                .map(|h| format!("sha256:{h}"));
            layers.push(Layer {
                digest,
                created_by: None,
                location,
            });
        }
        assemble(
            reference,
            digest,
            config,
            layers,
            Some(path.to_owned()),
            None,
        )
    } else if let Some(index_json) = small.get("index.json") {
        let read_blob = |digest: &str| -> Result<Vec<u8>, String> {
            let name = blob_name(digest).ok_or_else(|| format!("bad digest {digest}"))?;
            let &(offset, size) = index
                .get(&name)
                .ok_or_else(|| format!("blob {digest} is missing"))?;
            if size > MAX_METADATA {
                return Err(format!("blob {digest} is too large for metadata"));
            }
            let mut bytes = Vec::new();
            File::open(path)
                .and_then(|mut f| f.seek(SeekFrom::Start(offset)).map(|_| f))
                .and_then(|f| f.take(size).read_to_end(&mut bytes))
                .map_err(|e| format!("blob {digest}: {e}"))?;
            oci::verified(digest, bytes)
        };
        let doc = parse_json(reference, index_json, "index.json")?;
        let r = oci::resolve(doc, None, platform, &|_, d| read_blob(d))
            .map_err(|m| format_err(reference, m))?;
        let mut layers = Vec::new();
        for d in r.layers {
            let name =
                blob_name(&d).ok_or_else(|| format_err(reference, format!("bad digest {d}")))?;
            let location = range(&name)
                .ok_or_else(|| format_err(reference, format!("layer {d} is missing")))?;
            layers.push(Layer {
                digest: Some(d),
                created_by: None,
                location,
            });
        }
        assemble(
            reference,
            Some(r.config_digest),
            r.config,
            layers,
            Some(path.to_owned()),
            None,
        )
    } else {
        return Err(format_err(
            reference,
            "neither a docker-archive (manifest.json) nor an OCI archive (index.json)",
        ));
    };
    Ok(image)
}

fn open_layout(
    reference: &str,
    dir: &Path,
    tag: Option<&str>,
    platform: &str,
) -> Result<Image, Error> {
    let read = |p: PathBuf| -> Result<Vec<u8>, String> {
        let mut buf = Vec::new();
        File::open(&p)
            .and_then(|f| f.take(MAX_METADATA + 1).read_to_end(&mut buf))
            .map_err(|e| format!("{}: {e}", p.display()))?;
        if buf.len() as u64 > MAX_METADATA {
            return Err(format!("{} is too large for metadata", p.display()));
        }
        Ok(buf)
    };
    let index_json = read(dir.join("index.json")).map_err(|m| format_err(reference, m))?;
    let read_blob = |digest: &str| -> Result<Vec<u8>, String> {
        let name = blob_name(digest).ok_or_else(|| format!("bad digest {digest}"))?;
        oci::verified(digest, read(dir.join(&name))?)
    };
    let doc = parse_json(reference, &index_json, "index.json")?;
    let r = oci::resolve(doc, tag, platform, &|_, d| read_blob(d))
        .map_err(|m| format_err(reference, m))?;
    let mut layers = Vec::new();
    for d in r.layers {
        let name = blob_name(&d).ok_or_else(|| format_err(reference, format!("bad digest {d}")))?;
        layers.push(Layer {
            digest: Some(d),
            created_by: None,
            location: Location::File(dir.join(name)),
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
/// whiteout information needed for `deleted_in_final_image`.
pub fn read_layers(
    image: &Image,
    limits: Limits,
    visit: &mut dyn FnMut(LayerEvent<'_>),
) -> Deletions {
    let mut deletions = Deletions::default();
    let mut buf = Vec::new();
    for (i, layer) in image.layers.iter().enumerate() {
        deletions.files.push(HashSet::new());
        deletions.whiteouts.push(HashSet::new());
        deletions.opaque.push(HashSet::new());
        if let Err(message) = read_layer(image, i, layer, limits, &mut deletions, &mut buf, visit) {
            visit(LayerEvent::LayerError { layer: i, message });
        }
    }
    deletions
}

fn read_layer(
    image: &Image,
    i: usize,
    layer: &Layer,
    limits: Limits,
    deletions: &mut Deletions,
    buf: &mut Vec<u8>,
    visit: &mut dyn FnMut(LayerEvent<'_>),
) -> Result<(), String> {
    let (raw, compressed_size): (Box<dyn Read>, u64) = match &layer.location {
        Location::Range { offset, size } => {
            let path = image.archive.as_ref().ok_or("no archive")?;
            let mut f = File::open(path).map_err(|e| e.to_string())?;
            f.seek(SeekFrom::Start(*offset))
                .map_err(|e| e.to_string())?;
            (Box::new(f.take(*size)), *size)
        }
        Location::File(p) => {
            let f = File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
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
    };
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
            deletions.opaque[i].insert(dir.to_owned());
            continue;
        }
        if let Some(target) = file.strip_prefix(".wh.") {
            let path = if dir.is_empty() {
                target.to_owned()
            } else {
                format!("{dir}/{target}")
            };
            deletions.whiteouts[i].insert(path);
            continue;
        }
        // Links, devices and directories are never followed or read.
        if !entry.header().entry_type().is_file() {
            continue;
        }
        deletions.files[i].insert(name.clone());
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
