//! `leakhound image` (and `scan`) over broken and hostile inputs: a truncated docker-archive, a
//! FIFO and a symbolic link leading out of an OCI layout, a layer listed 2,000 times, archives
//! nested too deep, tar members of type 7 (contiguous files).

use std::{
    fs,
    io::Write,
    path::Path,
    time::{Duration, Instant},
};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::util::{findings, json, leakhound, slack_token, stripe_key, stripe_key_2};

/// Long enough for any of these scans on a loaded machine; only a hang reaches it.
const HANG_GUARD: Duration = Duration::from_secs(20);

/// A layer tar of regular files (`Regular`) or contiguous files (`Continuous`, type 7).
fn layer_tar(files: &[(&str, Vec<u8>, tar::EntryType)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (path, data, kind) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(*kind);
        b.append_data(&mut h, path, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

/// A layer of regular text files.
fn text_layer(files: &[(&str, String)]) -> Vec<u8> {
    let entries: Vec<(&str, Vec<u8>, tar::EntryType)> = files
        .iter()
        .map(|(p, text)| (*p, text.clone().into_bytes(), tar::EntryType::Regular))
        .collect();
    layer_tar(&entries)
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn sha(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

fn config(history: &[&str]) -> Vec<u8> {
    let history: Vec<Value> = history.iter().map(|by| json!({"created_by": by})).collect();
    serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["/app/run"]},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": history,
    }))
    .unwrap()
}

/// An outer (docker-archive) tar of named members, in order.
fn tar_of(members: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

/// A docker-archive whose manifest lists `layers` (member names) in that order.
fn docker_archive(members: &[(&str, Vec<u8>)], layers: &[&str], cfg: &[u8]) -> Vec<u8> {
    let manifest = json!([{"Config": "cfg.json", "RepoTags": ["app:1"], "Layers": layers}]);
    let mut all: Vec<(&str, Vec<u8>)> = members.to_vec();
    all.push(("cfg.json", cfg.to_vec()));
    all.push(("manifest.json", serde_json::to_vec(&manifest).unwrap()));
    tar_of(&all)
}

/// An OCI layout holding `blobs`, whose manifest lists the blobs at `listed` as its layers;
/// returns the blobs' digests (hex).
fn write_layout(dir: &Path, blobs: &[Vec<u8>], listed: &[usize], cfg: &[u8]) -> Vec<String> {
    fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let put = |data: &[u8]| -> String {
        let d = sha(data);
        fs::write(dir.join("blobs/sha256").join(&d), data).unwrap();
        d
    };
    let digests: Vec<String> = blobs.iter().map(|b| put(b)).collect();
    let cfg_digest = put(cfg);
    let layers: Vec<Value> = listed
        .iter()
        .map(|&i| {
            json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": format!("sha256:{}", digests[i]), "size": blobs[i].len()})
        })
        .collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": format!("sha256:{cfg_digest}"), "size": cfg.len()},
        "layers": layers,
    }))
    .unwrap();
    let m_digest = put(&manifest);
    let index = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": format!("sha256:{m_digest}"), "size": manifest.len()}]});
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    fs::write(
        dir.join("oci-layout"),
        br#"{"imageLayoutVersion": "1.0.0"}"#,
    )
    .unwrap();
    digests
}

/// Runs leakhound with `args` (plus `--format json`), killed after [`HANG_GUARD`]: the exit
/// code, the findings and standard error.
fn run(args: &[&str]) -> (i32, Vec<Value>, String) {
    let start = Instant::now();
    let out = leakhound()
        .args(args)
        .args(["--format", "json"])
        .timeout(HANG_GUARD)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let Some(code) = out.status.code() else {
        panic!(
            "leakhound {args:?} was killed after {:?} (it hangs): {stderr}",
            start.elapsed()
        );
    };
    (code, findings(&json(&out.stdout)).clone(), stderr)
}

fn paths(f: &[Value]) -> Vec<&str> {
    f.iter().map(|x| x["path"].as_str().unwrap()).collect()
}

#[test]
fn truncated_docker_archive_scans_the_layers_it_still_holds() {
    let dir = tempfile::tempdir().unwrap();
    let l0 = text_layer(&[("app/config.env", format!("STRIPE_KEY={}\n", stripe_key()))]);
    let l1 = gz(&text_layer(&[(
        "srv/app.env",
        format!("T={}\n", slack_token()),
    )]));
    let cfg = config(&["ADD a /", "ADD b /"]);
    let whole = docker_archive(
        &[
            ("aaa/layer.tar", l0.clone()),
            ("bbb/layer.tar.gz", l1.clone()),
        ],
        &["aaa/layer.tar", "bbb/layer.tar.gz"],
        &cfg,
    );
    let image = dir.path().join("app.tar");
    let image_arg = image.to_string_lossy().into_owned();

    // The whole archive is complete: no error.
    fs::write(&image, &whole).unwrap();
    let (code, f, stderr) = run(&["image", &image_arg]);
    assert_eq!(code, 1, "{stderr}");
    assert!(!stderr.contains("truncated"), "{stderr}");
    assert!(paths(&f).contains(&"app/config.env"), "{f:#?}");
    assert!(paths(&f).contains(&"srv/app.env"), "{f:#?}");

    // Cut right after the first layer (header and padded data): manifest.json is gone.
    let first_end = 512 + l0.len().div_ceil(512) * 512;
    fs::write(&image, &whole[..first_end]).unwrap();
    let (code, f, stderr) = run(&["image", &image_arg]);
    assert_eq!(
        code, 2,
        "a truncated archive leaves the scan incomplete: {stderr}"
    );
    assert!(stderr.contains("truncated"), "{stderr}");
    let secret = f
        .iter()
        .find(|x| x["path"] == "app/config.env")
        .unwrap_or_else(|| panic!("the first layer is still scanned: {f:#?}\n{stderr}"));
    assert!(secret["rule_id"].as_str().unwrap().starts_with("stripe."));
    assert_eq!(secret["layer_index"], 0);
    assert_eq!(
        secret["deleted_in_final_image"], false,
        "the layer order is unknown: nothing is known to be deleted"
    );

    // Cut in the middle of the second layer: the first is still scanned, the second is an error.
    let mid = first_end + 512 + l1.len() / 2;
    fs::write(&image, &whole[..mid]).unwrap();
    let (code, f, stderr) = run(&["image", &image_arg]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("truncated"), "{stderr}");
    assert!(stderr.contains("layer 1"), "{stderr}");
    assert!(paths(&f).contains(&"app/config.env"), "{f:#?}\n{stderr}");
}

#[cfg(unix)]
#[test]
fn fifo_blob_in_a_layout_is_refused_without_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let good = gz(&text_layer(&[(
        "app/config.env",
        format!("K={}\n", stripe_key()),
    )]));
    let other = gz(&text_layer(&[(
        "srv/app.env",
        format!("T={}\n", slack_token()),
    )]));
    let cfg = config(&["ADD good /", "ADD other /"]);
    let digests = write_layout(dir.path(), &[good, other], &[0, 1], &cfg);
    let blob = dir.path().join("blobs/sha256").join(&digests[1]);
    fs::remove_file(&blob).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&blob)
        .status()
        .expect("mkfifo runs");
    assert!(made.success(), "mkfifo {}", blob.display());

    let (code, f, stderr) = run(&["image", &dir.path().to_string_lossy()]);
    assert_eq!(code, 2, "an unreadable layer is an error: {stderr}");
    assert!(
        stderr.contains(&digests[1]),
        "the error names the blob: {stderr}"
    );
    assert!(
        paths(&f).contains(&"app/config.env"),
        "the other layer is scanned: {f:#?}\n{stderr}"
    );
    assert!(!paths(&f).contains(&"srv/app.env"), "{f:#?}");
}

#[cfg(unix)]
#[test]
fn blob_symlinks_out_of_a_layout_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let host = dir.path().join("host");
    fs::create_dir_all(&host).unwrap();
    let inside = gz(&text_layer(&[(
        "srv/app.env",
        format!("T={}\n", slack_token()),
    )]));
    let outside = gz(&text_layer(&[(
        "etc/host-secret.env",
        format!("K={}\n", stripe_key_2()),
    )]));
    let shared = gz(&text_layer(&[(
        "app/config.env",
        format!("K={}\n", stripe_key()),
    )]));
    let cfg = config(&["ADD inside /", "ADD outside /", "ADD shared /"]);
    let digests = write_layout(
        &layout,
        &[inside, outside.clone(), shared.clone()],
        &[0, 1, 2],
        &cfg,
    );
    // The outside blob is a link to a file of the host (with the right content, so that only
    // the link check can keep it from being read).
    let host_file = host.join("layer.tar.gz");
    fs::write(&host_file, &outside).unwrap();
    let out_blob = layout.join("blobs/sha256").join(&digests[1]);
    fs::remove_file(&out_blob).unwrap();
    std::os::unix::fs::symlink(&host_file, &out_blob).unwrap();
    // The shared blob is a link within the layout: followed.
    fs::create_dir_all(layout.join("store")).unwrap();
    fs::write(layout.join("store/shared.tar.gz"), &shared).unwrap();
    let shared_blob = layout.join("blobs/sha256").join(&digests[2]);
    fs::remove_file(&shared_blob).unwrap();
    std::os::unix::fs::symlink("../../store/shared.tar.gz", &shared_blob).unwrap();

    let (code, f, stderr) = run(&["image", &layout.to_string_lossy()]);
    assert_eq!(code, 2, "a refused blob is an error: {stderr}");
    assert!(stderr.contains(&digests[1]), "names the blob: {stderr}");
    assert!(stderr.contains("outside the layout"), "{stderr}");
    let p = paths(&f);
    assert!(
        !p.contains(&"etc/host-secret.env"),
        "nothing outside the layout is read: {f:#?}"
    );
    assert!(p.contains(&"srv/app.env"), "{f:#?}\n{stderr}");
    assert!(
        p.contains(&"app/config.env"),
        "a link inside the layout is followed: {f:#?}\n{stderr}"
    );
}

#[test]
fn a_layer_listed_2000_times_is_scanned_once() {
    let dir = tempfile::tempdir().unwrap();
    let layer = text_layer(&[("app/config.env", format!("STRIPE_KEY={}\n", stripe_key()))]);
    let cfg = config(&["ADD rootfs /"]);

    // An OCI layout: the same digest 2,000 times.
    let layout = dir.path().join("layout");
    write_layout(&layout, &[gz(&layer)], &[0; 2000], &cfg);
    // A docker-archive: the same member 2,000 times.
    let archive = dir.path().join("app.tar");
    fs::write(
        &archive,
        docker_archive(
            &[("aaa/layer.tar", layer.clone())],
            &["aaa/layer.tar"; 2000],
            &cfg,
        ),
    )
    .unwrap();

    for image in [layout, archive] {
        let (code, f, stderr) = run(&["image", &image.to_string_lossy()]);
        assert_eq!(code, 1, "{stderr}");
        assert_eq!(
            f.len(),
            1,
            "one finding per secret, not one per listing: {}",
            f.len()
        );
        assert!(f[0]["rule_id"].as_str().unwrap().starts_with("stripe."));
        assert_eq!(f[0]["path"], "app/config.env");
        assert_eq!(f[0]["layer_index"], 0, "the first index it has");
        assert_eq!(
            f[0]["deleted_in_final_image"], false,
            "listing the same layer again puts the same file back"
        );
    }
}

/// A zip holding one file.
fn zip_of(name: &str, data: &[u8]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    w.start_file(name, opts).unwrap();
    w.write_all(data).unwrap();
    w.finish().unwrap().into_inner()
}

#[test]
fn archives_nested_too_deep_are_an_error_naming_the_entry() {
    // level1.zip holds the secret; level12.zip holds level11.zip, and so on: 12 deep.
    let mut nested = zip_of(
        "secret.env",
        format!("STRIPE_KEY={}\n", stripe_key()).as_bytes(),
    );
    for level in 2..=12 {
        nested = zip_of(&format!("level{}.zip", level - 1), &nested);
    }
    let dir = tempfile::tempdir().unwrap();
    let layer = layer_tar(&[("srv/deep.zip", nested.clone(), tar::EntryType::Regular)]);
    let cfg = config(&["COPY deep.zip /srv/"]);
    let image = dir.path().join("app.tar");
    fs::write(
        &image,
        docker_archive(&[("aaa/layer.tar", layer)], &["aaa/layer.tar"], &cfg),
    )
    .unwrap();
    let (code, _, stderr) = run(&["image", &image.to_string_lossy()]);
    assert_eq!(
        code, 2,
        "a limit reached leaves the scan incomplete: {stderr}"
    );
    assert!(
        stderr.contains("srv/deep.zip!/level11.zip!/"),
        "the diagnostic names the entry: {stderr}"
    );
    assert!(stderr.contains("nested"), "{stderr}");

    // `scan` too: an error naming the entry, the scan incomplete.
    let tree = tempfile::tempdir().unwrap();
    fs::write(tree.path().join("deep.zip"), &nested).unwrap();
    let out = leakhound()
        .current_dir(tree.path())
        .args(["scan", ".", "--format", "json"])
        .timeout(HANG_GUARD)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("deep.zip!/level11.zip!/"),
        "the diagnostic names the entry: {stderr}"
    );
}

#[test]
fn contiguous_tar_members_are_scanned() {
    let secret = format!("STRIPE_KEY={}\n", stripe_key()).into_bytes();
    let tar = layer_tar(&[("conf/key.env", secret, tar::EntryType::Continuous)]);

    // In an image layer.
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&["ADD conf /"]);
    let image = dir.path().join("app.tar");
    fs::write(
        &image,
        docker_archive(&[("aaa/layer.tar", tar.clone())], &["aaa/layer.tar"], &cfg),
    )
    .unwrap();
    let (code, f, stderr) = run(&["image", &image.to_string_lossy()]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(paths(&f), vec!["conf/key.env"], "{stderr}");

    // In a tar file that `scan` opens.
    let tree = tempfile::tempdir().unwrap();
    fs::write(tree.path().join("bundle.tar"), &tar).unwrap();
    let out = leakhound()
        .current_dir(tree.path())
        .args(["scan", ".", "--format", "json"])
        .timeout(HANG_GUARD)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let doc = json(&out.stdout);
    assert_eq!(
        paths(findings(&doc)),
        vec!["bundle.tar!/conf/key.env"],
        "{stderr}"
    );
}
