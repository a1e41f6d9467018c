//! Scanning container images: the config (Env, Labels, Cmd/Entrypoint, history) and every
//! regular file of every layer, each finding attributed to its layer and the instruction that
//! created it, and flagged when a later layer removed or replaced the file.
//!
//! Whatever leaves part of the image unscanned is an error diagnostic (exit code 2): what
//! opening the image found missing (a truncated archive), a layer that cannot be read to its
//! end, and an archive inside a layer that cannot be (corrupt, truncated, an unsupported
//! compression method, over its budget, nested too deep).

use std::{sync::Arc, time::Instant};

use super::{Counters, Scan, ScanOutcome, sort};
use crate::{
    config::ScanConfig,
    finding::{Finding, ImageProvenance, Origin},
    sources::{
        Diagnostic, SkipReason,
        image::{self, LayerEvent, Limits},
    },
};

/// A note for every image finding.
pub const IMAGE_NOTE: &str = "Found in a container image: anyone who can pull the image has \
every layer, including files a later layer deleted. Rebuilding without it is not remediation: \
revoke and rotate first, then rebuild (use build secrets, e.g. RUN --mount=type=secret) and \
delete the old image tags and digests from every registry.";

/// Scans an image.
pub fn scan_image(
    config: &ScanConfig,
    reference: &str,
    registry: &crate::sources::registry::RegistryOptions,
    limits: Limits,
    on_diagnostic: &(dyn Fn(&Diagnostic) + Sync),
    progress: &dyn super::Progress,
) -> Result<ScanOutcome, image::Error> {
    let start = Instant::now();
    let counters = Counters::default();
    let img = image::open(reference, registry)?;
    // A layer listed more than once is read once.
    progress.total(img.distinct_layers() as u64 + 1);
    let analyzer = &config.analyzer;
    let mut work = analyzer.workspace();
    let shared = Scan {
        config,
        counters: &counters,
        on_diagnostic,
    };
    // What opening found missing (a truncated archive): the scan goes on with what is left.
    for message in &img.problems {
        shared.diagnostic(&Diagnostic::Error {
            path: reference.to_owned(),
            message: message.clone(),
        });
    }
    let mut found: Vec<(Option<usize>, Finding)> = Vec::new();
    let provenance = |layer: Option<usize>| -> Arc<ImageProvenance> {
        let l = layer.and_then(|i| img.layers.get(i));
        Arc::new(ImageProvenance {
            image: img.reference.clone(),
            image_digest: img.digest.clone(),
            layer_index: layer,
            layer_digest: l.and_then(|l| l.digest.clone()),
            created_by: l.and_then(|l| l.created_by.clone()),
            deleted_in_final_image: false,
        })
    };

    // The config: one line per item, so a finding's line names the item.
    let items = image::config_items(&img.config);
    let text: String = items
        .iter()
        .map(|(_, t)| format!("{}\n", t.replace('\n', " ")))
        .collect();
    counters.scanned(text.len());
    progress.advance(1, text.len() as u64);
    let config_prov = provenance(None);
    for l in shared.analyze(&mut work, text.as_bytes(), &[]) {
        let label = items
            .get(l.region.line - 1)
            .map_or("config", |(label, _)| label.as_str());
        let path = format!("[image config] {label}");
        let mut f = analyzer.finding(&l, Origin::relative_file(path));
        f.image = Some(Arc::clone(&config_prov));
        f.note = Some(IMAGE_NOTE);
        found.push((None, f));
    }

    let layer_provs: Vec<Arc<ImageProvenance>> =
        (0..img.layers.len()).map(|i| provenance(Some(i))).collect();
    let mut current = usize::MAX;
    let deletions = image::read_layers(&img, limits, &mut |event| match event {
        LayerEvent::File(file) => {
            if file.layer != current {
                current = file.layer;
                progress.advance(1, 0);
            }
            if config
                .fs
                .exclude
                .as_ref()
                .is_some_and(|g| g.is_match(file.path))
            {
                let d = Diagnostic::Skipped {
                    path: file.path.to_owned(),
                    reason: SkipReason::Excluded,
                };
                counters.diagnostic(&d, on_diagnostic);
                return;
            }
            if let Some(kind) = crate::sources::archive::kind(file.path, file.bytes) {
                let nested = super::scan_archive(&shared, &mut work, kind, file.bytes, file.path);
                for mut f in nested {
                    f.image = Some(Arc::clone(&layer_provs[file.layer]));
                    f.note = Some(IMAGE_NOTE);
                    found.push((Some(file.layer), f));
                }
                return;
            }
            if crate::detect::looks_binary(file.bytes) && !config.fs.keeps_binary(file.path) {
                // Why: images hold thousands of binaries; they are counted, not listed.
                counters.diagnostic(
                    &Diagnostic::Skipped {
                        path: file.path.to_owned(),
                        reason: SkipReason::Binary,
                    },
                    &|_| {},
                );
                return;
            }
            counters.scanned(file.bytes.len());
            progress.advance(0, file.bytes.len() as u64);
            let located = shared.analyze(&mut work, file.bytes, &[file.path]);
            for l in located {
                let path = file.path.to_owned();
                let mut f = analyzer.finding(&l, Origin::relative_file(path));
                f.image = Some(Arc::clone(&layer_provs[file.layer]));
                if f.note.is_none() {
                    f.note = Some(IMAGE_NOTE);
                }
                found.push((Some(file.layer), f));
            }
        }
        LayerEvent::TooLarge { layer, path, size } => {
            let d = Diagnostic::Skipped {
                path: format!("layer {layer}: {path}"),
                reason: SkipReason::TooLarge {
                    size,
                    limit: limits.max_file_size,
                },
            };
            counters.diagnostic(&d, on_diagnostic);
        }
        LayerEvent::LayerError { layer, message } => {
            let d = Diagnostic::Error {
                path: format!("{reference} layer {layer}"),
                message,
            };
            counters.diagnostic(&d, on_diagnostic);
        }
    });
    // Now that every layer is read, say which findings the final image no longer has.
    let mut findings: Vec<Finding> = found
        .into_iter()
        .map(|(layer, mut f)| {
            if let Some(layer) = layer
                                // An entry of an archive goes with the archive file itself.
                && deletions.deleted(layer, f.origin.relative().split("!/").next().unwrap_or_default())
                && let Some(p) = &f.image
            {
                let mut p = (**p).clone();
                p.deleted_in_final_image = true;
                f.image = Some(Arc::new(p));
            }
            f
        })
        .collect();
    sort(&mut findings);
    Ok(ScanOutcome {
        findings,
        stats: counters.into_stats(start),
    })
}
