//! `leakhound image` over images built in the test with `tar`, `flate2` and `zstd`:
//! docker-archive, OCI layout and OCI archive, whiteouts, the image config, hostile layers.

use std::{fs, io::Write, path::Path};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::util::{findings, json, leakhound, slack_token, stripe_key, stripe_key_2};

enum Entry<'a> {
    File(&'a str, Vec<u8>),
    Symlink(&'a str, &'a str),
}

fn layer_tar(entries: &[Entry<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        match e {
            Entry::File(path, data) => {
                let mut h = tar::Header::new_gnu();
                h.set_size(data.len() as u64);
                h.set_mode(0o644);
                h.set_entry_type(tar::EntryType::Regular);
                // Why: set the raw name so that hostile names ("../x", "/x") go in unchanged.
                let name = path.as_bytes();
                h.as_old_mut().name[..name.len()].copy_from_slice(name);
                h.set_cksum();
                b.append(&h, &data[..]).unwrap();
            }
            Entry::Symlink(path, target) => {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Symlink);
                h.set_size(0);
                b.append_link(&mut h, path, target).unwrap();
            }
        }
    }
    b.into_inner().unwrap()
}

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn sha(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

fn config(history: &[(&str, bool)], env: &[String]) -> Vec<u8> {
    let history: Vec<Value> = history
        .iter()
        .map(|(by, empty)| json!({"created_by": by, "empty_layer": empty}))
        .collect();
    serde_json::to_vec(&json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": env, "Cmd": ["/app/run"], "Labels": {"team": "payments"}},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": history,
    }))
    .unwrap()
}

fn tar_of(files: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in files {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, &data[..]).unwrap();
    }
    b.into_inner().unwrap()
}

/// Layer 0 adds a secret file, layer 1 whites it out; the config has a secret in Env and in a
/// RUN line.
fn secret_layers() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let l0 = layer_tar(&[
        Entry::File("app/run", b"#!/bin/sh\nexec server\n".to_vec()),
        Entry::File(
            "app/config.env",
            format!("STRIPE_KEY={}\n", stripe_key()).into_bytes(),
        ),
    ]);
    let l1 = layer_tar(&[
        Entry::File("app/.wh.config.env", Vec::new()),
        Entry::File("app/VERSION", b"1.4\n".to_vec()),
    ]);
    let run = format!(
        "RUN curl -H 'Authorization: Bearer {}' https://api.internal/setup",
        slack_token()
    );
    let cfg = config(
        &[
            ("ADD rootfs /", false),
            ("ENV PATH=/app", true),
            ("RUN rm app/config.env", false),
            (run.as_str(), true),
        ],
        &[
            "PATH=/app".to_owned(),
            format!("PAYMENTS_STRIPE_KEY={}", stripe_key_2()),
        ],
    );
    (l0, l1, cfg)
}

fn scan(image: &str, extra: &[&str]) -> (i32, Vec<Value>, String) {
    let out = leakhound()
        .args(["image", image, "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let doc = json(&out.stdout);
    (
        out.status.code().unwrap(),
        findings(&doc).clone(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_docker_archive(dir: &Path, l0: &[u8], l1_gz: &[u8], cfg: &[u8]) -> String {
    let cfg_name = format!("{}.json", sha(cfg));
    let manifest = json!([{"Config": cfg_name, "RepoTags": ["app:1.4"], "Layers": ["aaa/layer.tar", "bbb/layer.tar.gz"]}]);
    let outer = tar_of(&[
        ("aaa/layer.tar".to_owned(), l0.to_vec()),
        ("bbb/layer.tar.gz".to_owned(), l1_gz.to_vec()),
        (cfg_name, cfg.to_vec()),
        (
            "manifest.json".to_owned(),
            serde_json::to_vec(&manifest).unwrap(),
        ),
    ]);
    let path = dir.join("app.tar");
    fs::write(&path, outer).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn docker_archive_layers_whiteouts_and_config() {
    let dir = tempfile::tempdir().unwrap();
    let (l0, l1, cfg) = secret_layers();
    let image = write_docker_archive(dir.path(), &l0, &gz(&l1), &cfg);
    let (code, f, stderr) = scan(&image, &[]);
    assert_eq!(code, 1, "{stderr}");
    let file = f
        .iter()
        .find(|x| x["path"] == "app/config.env")
        .unwrap_or_else(|| panic!("{f:#?}"));
    assert_eq!(file["layer_index"], 0);
    assert_eq!(
        file["deleted_in_final_image"], true,
        "a whiteout in layer 1 removed it"
    );
    assert_eq!(file["created_by"], "ADD rootfs /");
    assert_eq!(file["image"], image.as_str());
    assert_eq!(file["image_digest"], format!("sha256:{}", sha(&cfg)));
    assert!(file["note"].as_str().unwrap().contains("container image"));
    let env = f
        .iter()
        .find(|x| {
            x["path"]
                .as_str()
                .unwrap()
                .starts_with("[image config] Env")
        })
        .unwrap();
    assert!(env["rule_id"].as_str().unwrap().starts_with("stripe."));
    assert!(env.get("layer_index").is_none());
    let run = f
        .iter()
        .find(|x| {
            x["path"]
                .as_str()
                .unwrap()
                .starts_with("[image config] history")
        })
        .unwrap();
    assert!(
        run["rule_id"].as_str().unwrap().starts_with("slack."),
        "{run:#}"
    );
}

fn write_layout(dir: &Path, layers: &[Vec<u8>], media: &str, cfg: &[u8]) -> (String, Vec<String>) {
    fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    let put = |data: &[u8]| -> String {
        let d = sha(data);
        fs::write(dir.join("blobs/sha256").join(&d), data).unwrap();
        format!("sha256:{d}")
    };
    let layer_digests: Vec<String> = layers.iter().map(|l| put(l)).collect();
    let cfg_digest = put(cfg);
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_digest, "size": cfg.len()},
        "layers": layer_digests.iter().zip(layers).map(|(d, l)| json!({"mediaType": media, "digest": d, "size": l.len()})).collect::<Vec<_>>(),
    });
    let m = serde_json::to_vec(&manifest).unwrap();
    let m_digest = put(&m);
    let index = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": m_digest, "size": m.len(),
        "annotations": {"org.opencontainers.image.ref.name": "1.4"}}]});
    fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    fs::write(
        dir.join("oci-layout"),
        br#"{"imageLayoutVersion": "1.0.0"}"#,
    )
    .unwrap();
    (cfg_digest, layer_digests)
}

#[test]
fn oci_layout_with_zstd_layers_and_opaque_whiteout() {
    let dir = tempfile::tempdir().unwrap();
    let l0 = layer_tar(&[Entry::File(
        "etc/app/secrets.yml",
        format!("token: {}\n", slack_token()).into_bytes(),
    )]);
    let l1 = layer_tar(&[
        Entry::File("etc/app/.wh..wh..opq", Vec::new()),
        Entry::File("etc/app/ok.yml", b"a: 1\n".to_vec()),
    ]);
    let z0 = zstd::encode_all(&l0[..], 3).unwrap();
    let z1 = zstd::encode_all(&l1[..], 3).unwrap();
    let cfg = config(
        &[
            ("COPY secrets.yml /etc/app/", false),
            ("RUN cleanup", false),
        ],
        &[],
    );
    let (_, layer_digests) = write_layout(
        dir.path(),
        &[z0, z1],
        "application/vnd.oci.image.layer.v1.tar+zstd",
        &cfg,
    );
    let image = format!("{}:1.4", dir.path().display());
    let (code, f, stderr) = scan(&image, &[]);
    assert_eq!(code, 1, "{stderr}");
    let s = f
        .iter()
        .find(|x| x["path"] == "etc/app/secrets.yml")
        .unwrap();
    assert_eq!(s["layer_digest"], layer_digests[0].as_str());
    assert_eq!(
        s["deleted_in_final_image"], true,
        "the opaque whiteout hides it"
    );
    assert_eq!(s["created_by"], "COPY secrets.yml /etc/app/");
    // an unknown tag is an error
    let (code, _, stderr) = {
        let out = leakhound()
            .args(["image", &format!("{}:9.9", dir.path().display())])
            .output()
            .unwrap();
        (
            out.status.code().unwrap(),
            (),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(code, 2);
    assert!(stderr.contains("no manifest tagged 9.9"), "{stderr}");
}

#[test]
fn oci_archive_is_a_tarred_layout() {
    let dir = tempfile::tempdir().unwrap();
    let layout = dir.path().join("layout");
    let (l0, l1, cfg) = secret_layers();
    write_layout(
        &layout,
        &[gz(&l0), gz(&l1)],
        "application/vnd.oci.image.layer.v1.tar+gzip",
        &cfg,
    );
    let mut files = Vec::new();
    for name in ["index.json", "oci-layout"] {
        files.push((name.to_owned(), fs::read(layout.join(name)).unwrap()));
    }
    for e in fs::read_dir(layout.join("blobs/sha256")).unwrap() {
        let e = e.unwrap();
        files.push((
            format!("blobs/sha256/{}", e.file_name().to_string_lossy()),
            fs::read(e.path()).unwrap(),
        ));
    }
    let archive = dir.path().join("app-oci.tar");
    fs::write(&archive, tar_of(&files)).unwrap();
    let (code, f, stderr) = scan(&archive.to_string_lossy(), &[]);
    assert_eq!(code, 1, "{stderr}");
    let file = f.iter().find(|x| x["path"] == "app/config.env").unwrap();
    assert_eq!(file["deleted_in_final_image"], true);
    assert!(
        file["layer_digest"]
            .as_str()
            .unwrap()
            .starts_with("sha256:")
    );
}

#[test]
fn hostile_layers_are_contained_and_reported() {
    let dir = tempfile::tempdir().unwrap();
    let evil = layer_tar(&[
        Entry::File(
            "../../../tmp/escape.env",
            format!("K={}\n", stripe_key()).into_bytes(),
        ),
        Entry::Symlink("etc/shadow-link", "/etc/shadow"),
    ]);
    let good = layer_tar(&[Entry::File(
        "srv/app.env",
        format!("T={}\n", slack_token()).into_bytes(),
    )]);
    let mut truncated = gz(&layer_tar(&[Entry::File("x", vec![b'x'; 100_000])]));
    truncated.truncate(truncated.len() / 2);
    let cfg = config(
        &[
            ("ADD evil /", false),
            ("ADD good /", false),
            ("ADD truncated /", false),
        ],
        &[],
    );
    let image = {
        let cfg_name = "cfg.json".to_owned();
        let manifest =
            json!([{"Config": cfg_name, "Layers": ["evil.tar", "good.tar.gz", "trunc.tar.gz"]}]);
        let outer = tar_of(&[
            ("evil.tar".to_owned(), evil),
            ("good.tar.gz".to_owned(), gz(&good)),
            ("trunc.tar.gz".to_owned(), truncated),
            (cfg_name, cfg),
            (
                "manifest.json".to_owned(),
                serde_json::to_vec(&manifest).unwrap(),
            ),
        ]);
        let p = dir.path().join("evil.tar");
        fs::write(&p, outer).unwrap();
        p.to_string_lossy().into_owned()
    };
    let (code, f, stderr) = scan(&image, &[]);
    assert_eq!(code, 2, "the truncated layer is an error: {stderr}");
    assert!(stderr.contains("layer 2"), "{stderr}");
    // the traversal name is only a label: scanned and reported, never written anywhere
    assert!(
        f.iter().any(|x| x["path"] == "../../../tmp/escape.env"),
        "{f:#?}"
    );
    assert!(!Path::new("/tmp/escape.env").exists());
    // readable layers are still reported
    assert!(
        f.iter()
            .any(|x| x["path"] == "srv/app.env" && x["layer_index"] == 1)
    );
    assert!(
        !stderr.contains("shadow"),
        "links are not followed: {stderr}"
    );
}

#[test]
fn decompression_bombs_and_digest_mismatches_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = gz(&layer_tar(&[Entry::File("zeros", vec![0u8; 20 << 20])]));
    let cfg = config(&[("ADD bomb /", false)], &[]);
    write_layout(
        &dir.path().join("bomb"),
        &[bomb],
        "application/vnd.oci.image.layer.v1.tar+gzip",
        &cfg,
    );
    let out = leakhound()
        .args(["image"])
        .arg(dir.path().join("bomb"))
        .args(["--max-ratio", "10", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("decompression bomb"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let layout = dir.path().join("tampered");
    let layer = gz(&layer_tar(&[Entry::File(
        "a.env",
        format!("K={}\n", stripe_key()).into_bytes(),
    )]));
    let (_, digests) = write_layout(
        &layout,
        &[layer],
        "application/vnd.oci.image.layer.v1.tar+gzip",
        &cfg,
    );
    let blob = layout
        .join("blobs/sha256")
        .join(digests[0].trim_start_matches("sha256:"));
    let mut tampered = gz(&layer_tar(&[Entry::File(
        "a.env",
        format!("K={}\n", stripe_key_2()).into_bytes(),
    )]));
    tampered.extend_from_slice(&[0; 0]);
    fs::write(&blob, tampered).unwrap();
    let out = leakhound()
        .args(["image"])
        .arg(&layout)
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("does not match its digest"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unreachable_and_silent_registries_are_clear_errors() {
    // nothing listens on this port
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = leakhound()
        .args(["image", &format!("127.0.0.1:{port}/team/app:1")])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&format!("127.0.0.1:{port}")),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // a server that accepts and never answers: the timeout ends the wait
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let start = std::time::Instant::now();
    let out = leakhound()
        .args([
            "image",
            &format!("127.0.0.1:{port}/team/app:1"),
            "--registry-timeout",
            "2",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(start.elapsed() < std::time::Duration::from_secs(30));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("timeout")
            || String::from_utf8_lossy(&out.stderr)
                .to_lowercase()
                .contains("timed out"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    drop(silent);
}

fn jar(entries: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

#[test]
fn archives_inside_layers_and_directories_are_opened() {
    let props = format!(
        "db.url=jdbc:postgresql://db/app\nstripe.key={}\n",
        stripe_key()
    );
    let inner_tgz = gz(&layer_tar(&[Entry::File(
        "conf/token.txt",
        format!("slack {}\n", slack_token()).into_bytes(),
    )]));
    let app = jar(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n".to_vec()),
        (
            "BOOT-INF/classes/application.properties",
            props.into_bytes(),
        ),
        ("BOOT-INF/lib/extra.tgz", inner_tgz),
    ]);
    // In a directory.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("app.jar"), &app).unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json"])
        .output()
        .unwrap();
    let f = findings(&json(&out.stdout)).clone();
    let paths: Vec<&str> = f.iter().map(|x| x["path"].as_str().unwrap()).collect();
    assert!(
        paths.contains(&"app.jar!/BOOT-INF/classes/application.properties"),
        "{paths:?}"
    );
    assert!(
        paths.contains(&"app.jar!/BOOT-INF/lib/extra.tgz!/conf/token.txt"),
        "{paths:?}"
    );
    // In an image layer, deleted by a later layer's whiteout of the jar.
    let l0 = layer_tar(&[Entry::File("srv/app.jar", app)]);
    let l1 = layer_tar(&[Entry::File("srv/.wh.app.jar", Vec::new())]);
    let cfg = config(
        &[
            ("COPY app.jar /srv/", false),
            ("RUN rm /srv/app.jar", false),
        ],
        &[],
    );
    let image = write_docker_archive(dir.path(), &l0, &gz(&l1), &cfg);
    let (code, f, stderr) = scan(&image, &[]);
    assert_eq!(code, 1, "{stderr}");
    let p = f
        .iter()
        .find(|x| x["path"] == "srv/app.jar!/BOOT-INF/classes/application.properties")
        .unwrap();
    assert_eq!(p["line"], 2);
    assert_eq!(p["deleted_in_final_image"], true);
}

#[test]
fn grouped_output_keeps_image_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let (l0, l1, cfg) = secret_layers();
    let image = write_docker_archive(dir.path(), &l0, &gz(&l1), &cfg);
    let out = leakhound()
        .args(["image", &image, "--format", "json", "--group"])
        .output()
        .unwrap();
    let doc = json(&out.stdout);
    let secret = findings(&doc)
        .iter()
        .find(|s| s["locations"][0]["path"] == "app/config.env")
        .unwrap()
        .clone();
    let loc = &secret["locations"][0];
    assert_eq!(loc["layer_index"], 0);
    assert_eq!(loc["deleted_in_final_image"], true);
    assert_eq!(loc["created_by"], "ADD rootfs /");
}

#[test]
fn key_stores_in_layers_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let l0 = layer_tar(&[
        Entry::File("opt/app/conf/server.jks", crate::breadth::jks(1)),
        Entry::File("opt/java/lib/security/trust.jks", crate::breadth::jks(2)),
        Entry::File("usr/bin/tool", b"\x7fELF\x02\x01\x01\x00\x00".to_vec()),
    ]);
    let l1 = layer_tar(&[Entry::File("etc/krb5.keytab", crate::breadth::keytab())]);
    let cfg = config(
        &[
            ("COPY app /opt/app", false),
            ("COPY krb5.keytab /etc/", false),
        ],
        &[],
    );
    let image = write_docker_archive(dir.path(), &l0, &gz(&l1), &cfg);
    let (code, f, stderr) = scan(&image, &[]);
    assert_eq!(code, 1, "{stderr}");
    let mut got: Vec<(String, String, u64)> = f
        .iter()
        .map(|x| {
            (
                x["rule_id"].as_str().unwrap().to_owned(),
                x["path"].as_str().unwrap().to_owned(),
                x["layer_index"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "keystore.java".to_owned(),
                "opt/app/conf/server.jks".to_owned(),
                0
            ),
            (
                "keystore.kerberos-keytab".to_owned(),
                "etc/krb5.keytab".to_owned(),
                1
            ),
        ]
    );
}
