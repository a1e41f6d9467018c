//! Detection beyond text tokens: binary key stores (in trees, git history and image layers),
//! password hashes with their own class, Jupyter notebooks and the fields of Kubernetes
//! Secrets. The key stores are built here byte by byte in their real formats.

use std::fs;

use sha2::{Digest, Sha256};

use crate::{
    gitrepo::Repo,
    util::{findings, json, leakhound, scan_json},
};

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let n = content.len();
    let mut out = vec![tag];
    if n < 0x80 {
        out.push(n as u8);
    } else {
        out.push(0x82);
        out.extend((n as u16).to_be_bytes());
    }
    out.extend(content);
    out
}

/// A PFX whose plain `data` safe holds one bag of `kind` (2 = pkcs8ShroudedKeyBag, 3 = certBag).
pub fn pkcs12(kind: u8) -> Vec<u8> {
    let data_oid = der(6, b"\x2a\x86\x48\x86\xf7\x0d\x01\x07\x01");
    let mut bag_oid = b"\x2a\x86\x48\x86\xf7\x0d\x01\x0c\x0a\x01".to_vec();
    bag_oid.push(kind);
    let bag = der(
        0x30,
        &[der(6, &bag_oid), der(0xa0, &der(0x30, &[7u8; 48]))].concat(),
    );
    let safe_contents = der(0x04, &der(0x30, &bag));
    let safe = der(
        0x30,
        &der(
            0x30,
            &[data_oid.clone(), der(0xa0, &safe_contents)].concat(),
        ),
    );
    let auth_safe = der(0x30, &[data_oid, der(0xa0, &der(0x04, &safe))].concat());
    let mac = der(0x30, &[der(0x04, &[9u8; 20]), der(2, b"\x08\x00")].concat());
    der(0x30, &[der(2, b"\x03"), auth_safe, mac].concat())
}

fn counted16(s: &[u8]) -> Vec<u8> {
    [(s.len() as u16).to_be_bytes().to_vec(), s.to_vec()].concat()
}

fn counted32(s: &[u8]) -> Vec<u8> {
    [(s.len() as u32).to_be_bytes().to_vec(), s.to_vec()].concat()
}

/// A JKS store with one entry: a private key (`tag` 1) or a trusted certificate (`tag` 2).
pub fn jks(tag: u32) -> Vec<u8> {
    let mut out = b"\xfe\xed\xfe\xed\x00\x00\x00\x02\x00\x00\x00\x01".to_vec();
    out.extend(tag.to_be_bytes());
    out.extend(counted16(b"server"));
    out.extend(1_701_388_800_000u64.to_be_bytes());
    if tag == 1 {
        out.extend(counted32(&[0x30; 64]));
        out.extend(0u32.to_be_bytes());
    } else {
        out.extend(counted16(b"X.509"));
        out.extend(counted32(&[0x30; 64]));
    }
    out.extend([0u8; 20]);
    out
}

/// A version 2 keytab with one AES256 key for `HTTP/web01.corp.acme.io@CORP.ACME.IO`.
pub fn keytab() -> Vec<u8> {
    let mut entry = 2u16.to_be_bytes().to_vec();
    entry.extend(counted16(b"CORP.ACME.IO"));
    entry.extend(counted16(b"HTTP"));
    entry.extend(counted16(b"web01.corp.acme.io"));
    entry.extend(1u32.to_be_bytes());
    entry.extend(1_701_388_800u32.to_be_bytes());
    entry.push(3);
    entry.extend(0x12u16.to_be_bytes());
    entry.extend(counted16(&[0x5a; 32]));
    [b"\x05\x02".to_vec(), counted32(&entry)].concat()
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `(rule_id, path, class, secret)` of every finding, sorted.
fn summary(doc: &serde_json::Value) -> Vec<(String, String, String, String)> {
    let mut v: Vec<_> = findings(doc)
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or_default().to_owned();
            (s("rule_id"), s("path"), s("class"), s("secret"))
        })
        .collect();
    v.sort();
    v
}

#[test]
fn key_stores_are_found_by_format_and_trust_stores_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("certs/server.p12", pkcs12(2)),
        ("certs/truststore.p12", pkcs12(3)),
        ("src/main/resources/app.jks", jks(1)),
        ("src/main/resources/trust.jks", jks(2)),
        ("deploy/http.keytab", keytab()),
        // a key store's bytes under a name no key-store rule covers
        ("assets/logo.png", pkcs12(2)),
        // a key store's name over other bytes
        ("certs/broken.p12", b"\x30\x03\x02\x01\x01\x00\x00".to_vec()),
    ];
    for (p, b) in &files {
        let path = dir.path().join(p);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, b).unwrap();
    }
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let digest = |p: &str| {
        format!(
            "sha256:{}",
            sha256(&files.iter().find(|f| f.0 == p).unwrap().1)
        )
    };
    assert_eq!(
        summary(&doc),
        vec![
            (
                "keystore.java".into(),
                "src/main/resources/app.jks".into(),
                "keystore".into(),
                digest("src/main/resources/app.jks")
            ),
            (
                "keystore.kerberos-keytab".into(),
                "deploy/http.keytab".into(),
                "keystore".into(),
                digest("deploy/http.keytab")
            ),
            (
                "keystore.pkcs12".into(),
                "certs/server.p12".into(),
                "keystore".into(),
                digest("certs/server.p12")
            ),
        ]
    );
    // the other binary files are skipped as binary, not scanned
    assert_eq!(doc["stats"]["by_kind"]["binary"], 1, "{}", doc["stats"]);
}

#[test]
fn key_stores_in_git_history_are_found() {
    let repo = Repo::init();
    repo.write("certs/server.pfx", pkcs12(2));
    repo.write("README.md", "certificates\n");
    let commit = repo.commit("add the server certificate");
    repo.git(&["rm", "-q", "certs/server.pfx"]);
    repo.commit("remove it");
    let out = leakhound()
        .current_dir(repo.path())
        .args(["git", ".", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc = json(&out.stdout);
    let f = findings(&doc);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["rule_id"], "keystore.pkcs12");
    assert_eq!(f[0]["commit"], commit.as_str());
    assert_eq!(f[0]["in_head"], false);
}

#[test]
fn password_hashes_have_their_own_class_in_json_and_sarif() {
    let dir = tempfile::tempdir().unwrap();
    let salt = "CLxuVEKxDmpYR3VX";
    let hash =
        "27jY.15usMlFnBj489WYooQXlJfadFgwjZb7kW3ACQH.YfGG7RjCIevFBtwdhHQfNoBetXATJrEO0tLnHOGrtg";
    fs::create_dir_all(dir.path().join("etc")).unwrap();
    fs::write(
        dir.path().join("etc/shadow"),
        format!(
            "root:${}${salt}${hash}:19700:0:99999:7:::\nbin:*:19700:0:99999:7:::\n",
            6
        ),
    )
    .unwrap();
    fs::write(
        dir.path().join(".htpasswd"),
        ["ops:", "$apr1$", "btSXGBfm$w8YZBMrDMRjfEmLqZjEXTR\n"].concat(),
    )
    .unwrap();
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let got = summary(&doc);
    assert_eq!(got.len(), 2, "{got:#?}");
    assert!(got.iter().all(|f| f.2 == "hash"), "{got:#?}");
    assert!(
        got.iter()
            .any(|f| f.0 == "hash.shadow" && f.1 == "etc/shadow")
    );
    assert!(
        got.iter()
            .any(|f| f.0 == "hash.htpasswd" && f.1 == ".htpasswd")
    );
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "sarif"])
        .output()
        .unwrap();
    let sarif = json(&out.stdout);
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap();
    let shadow = rules.iter().find(|r| r["id"] == "hash.shadow").unwrap();
    assert_eq!(shadow["properties"]["class"], "hash");
}

#[test]
fn notebook_code_is_unescaped_and_placed_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let value = ["jS0gAq2Wz8", "Lp3vRt7xN4bY"].concat();
    let nb = format!(
        "{{\n \"cells\": [\n  {{\n   \"cell_type\": \"code\",\n   \"source\": [\n    \"import requests\\n\",\n    \"api_secret = \\\"{value}\\\"\\n\"\n   ]\n  }}\n ]\n}}\n"
    );
    fs::write(dir.path().join("explore.ipynb"), &nb).unwrap();
    // the same text outside a notebook is not unescaped
    fs::write(dir.path().join("notes.json"), &nb).unwrap();
    let (code, doc) = scan_json(dir.path(), &["--show-secrets"]);
    assert_eq!(code, 1);
    let f = findings(&doc);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["path"], "explore.ipynb");
    assert_eq!(f[0]["secret"], value.as_str());
    let line = nb.lines().position(|l| l.contains(&value)).unwrap() + 1;
    let column = nb.lines().nth(line - 1).unwrap().find(&value).unwrap() + 1;
    assert_eq!(
        (f[0]["line"].as_u64(), f[0]["column"].as_u64()),
        (Some(line as u64), Some(column as u64))
    );
}

#[test]
fn a_staged_key_store_is_found_by_the_pre_commit_scan() {
    let repo = Repo::init();
    repo.write("README.md", "service\n");
    repo.commit("init");
    repo.write("conf/server.jks", jks(1));
    repo.write("conf/trust.jks", jks(2));
    repo.git(&["add", "-A"]);
    let out = leakhound()
        .current_dir(repo.path())
        .args(["git", "--staged", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out.stdout);
    let got: Vec<(&str, &str)> = findings(&doc)
        .iter()
        .map(|f| (f["rule_id"].as_str().unwrap(), f["path"].as_str().unwrap()))
        .collect();
    assert_eq!(got, [("keystore.java", "conf/server.jks")]);
}
