//! Image manifests, shared by archives, layout directories and registries: from an index (or a
//! Docker manifest list, possibly nested) to one image manifest, then its config and layers.
//! Callers supply the fetching, which verifies every document against its digest.

use serde_json::Value;
use sha2::{Digest, Sha256};

/// What a fetch is for (a registry serves them from different endpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fetch {
    /// A manifest or index, by digest.
    Manifest,
    /// A blob (the config), by digest.
    Blob,
}

/// Fetches a document by digest, verified against it.
pub type FetchFn<'a> = dyn Fn(Fetch, &str) -> Result<Vec<u8>, String> + 'a;

/// The blob, if it hashes to its digest.
pub(crate) fn verified(digest: &str, bytes: Vec<u8>) -> Result<Vec<u8>, String> {
    let actual = format!("sha256:{:x}", Sha256::digest(&bytes));
    if actual != digest {
        return Err(format!(
            "blob {digest} does not match its digest (it hashes to {actual})"
        ));
    }
    Ok(bytes)
}

/// An image manifest, resolved.
#[derive(Debug)]
pub struct Resolved {
    /// The config document.
    pub config: Value,
    /// The config's digest (the image id).
    pub config_digest: String,
    /// Layer digests, bottom first.
    pub layers: Vec<String>,
}

/// The index entry to follow: the one annotated with `tag` if a tag is asked for, else the one
/// for `platform` (`os/arch[/variant]`), else the first if no entry names a platform.
///
/// ```
/// use leakhound::sources::oci::pick;
/// let m: Vec<serde_json::Value> = serde_json::from_str(r#"[
///   {"digest": "sha256:a", "platform": {"os": "linux", "architecture": "amd64"}},
///   {"digest": "sha256:b", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
///   {"digest": "sha256:c", "annotations": {"org.opencontainers.image.ref.name": "1.4"}}]"#).unwrap();
/// assert_eq!(pick(&m, None, "linux/arm64").unwrap()["digest"], "sha256:b");
/// assert_eq!(pick(&m, None, "linux/arm64/v8").unwrap()["digest"], "sha256:b");
/// assert_eq!(pick(&m, Some("1.4"), "linux/amd64").unwrap()["digest"], "sha256:c");
/// assert!(pick(&m, None, "linux/s390x").is_err());
/// ```
pub fn pick<'a>(
    manifests: &'a [Value],
    tag: Option<&str>,
    platform: &str,
) -> Result<&'a Value, String> {
    let text = |m: &Value, p: &str| m.pointer(p).and_then(Value::as_str).map(str::to_owned);
    if let Some(tag) = tag {
        return manifests
            .iter()
            .find(|m| {
                text(m, "/annotations/org.opencontainers.image.ref.name").as_deref() == Some(tag)
            })
            .ok_or_else(|| format!("no manifest tagged {tag}"));
    }
    let mut parts = platform.split('/');
    let (os, arch, variant) = (parts.next(), parts.next(), parts.next());
    let found = manifests.iter().find(|m| {
        text(m, "/platform/os").as_deref() == os
            && text(m, "/platform/architecture").as_deref() == arch
            && variant.is_none_or(|v| text(m, "/platform/variant").as_deref() == Some(v))
    });
    match (found, manifests) {
        (Some(m), _) => Ok(m),
        // No entry says its platform (a layout of single-platform images): take the first.
        (None, [first, ..]) if manifests.iter().all(|m| m.get("platform").is_none()) => Ok(first),
        _ => Err(format!("the image index has no manifest for {platform}")),
    }
}

/// Follows `doc` (an index or a manifest) to one image manifest and fetches its config.
pub fn resolve(
    mut doc: Value,
    tag: Option<&str>,
    platform: &str,
    fetch: &FetchFn<'_>,
) -> Result<Resolved, String> {
    let parse = |bytes: Vec<u8>, what: &str| -> Result<Value, String> {
        serde_json::from_slice(&bytes).map_err(|e| format!("invalid {what}: {e}"))
    };
    let mut tag = tag;
    for _ in 0..4 {
        let Some(manifests) = doc.get("manifests").and_then(Value::as_array) else {
            let config_digest = doc
                .pointer("/config/digest")
                .and_then(Value::as_str)
                .ok_or("manifest without a config")?
                .to_owned();
            let layers = doc
                .get("layers")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|l| l.get("digest").and_then(Value::as_str).map(str::to_owned))
                .collect();
            let config = parse(fetch(Fetch::Blob, &config_digest)?, "config")?;
            return Ok(Resolved {
                config,
                config_digest,
                layers,
            });
        };
        let entry = pick(manifests, tag, platform)?;
        let digest = entry
            .get("digest")
            .and_then(Value::as_str)
            .ok_or("index entry without a digest")?
            .to_owned();
        doc = parse(
            fetch(Fetch::Manifest, &digest)?,
            &format!("manifest {digest}"),
        )?;
        // A tag names an entry of the top-level index only.
        tag = None;
    }
    Err("index nesting too deep".into())
}
