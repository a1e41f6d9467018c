//! The decode pass: secrets written base64, hex, percent-encoded, escaped, gzip inside base64,
//! and nested; random blobs stay quiet; bombs are bounded. See issue 16.

use std::{fs, io::Write};

use base64::Engine as _;

use crate::util::{findings, github_token, leakhound, scan_json, stripe_key};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(bytes).unwrap();
    z.finish().unwrap()
}

/// A fake Slack webhook URL, assembled at run time.
fn webhook() -> String {
    [
        "https://hooks.slack.com/services/",
        "TQ7RV4P8G/",
        "BA3ZQNX6ZAR/",
        "aJrJRicxgWswtieO3yNbzaQm",
    ]
    .concat()
}

/// `(rule_id, path, line, column, decoded chain, secret_id)` of every finding.
fn decoded_places(doc: &serde_json::Value) -> Vec<(String, String, u64, u64, Vec<String>, String)> {
    findings(doc)
        .iter()
        .map(|f| {
            let chain = f["decoded"]
                .as_array()
                .map(|a| a.iter().map(|e| e.as_str().unwrap().to_owned()).collect())
                .unwrap_or_default();
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["path"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
                chain,
                f["secret_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn base64_in_helm_values_is_found_at_the_encoded_span_with_the_plain_secret_id() {
    let dir = tempfile::tempdir().unwrap();
    let key = stripe_key();
    fs::write(
        dir.path().join("values.yaml"),
        format!(
            "image: app\nconfig:\n  paymentKey: {}\n",
            b64(key.as_bytes())
        ),
    )
    .unwrap();
    fs::write(dir.path().join("plain.env"), format!("STRIPE={key}\n")).unwrap();
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let p = decoded_places(&doc);
    let encoded = p
        .iter()
        .find(|f| f.1 == "values.yaml")
        .unwrap_or_else(|| panic!("no finding in values.yaml: {p:?}"));
    assert!(encoded.0.starts_with("stripe."), "{p:?}");
    assert_eq!(
        (encoded.2, encoded.3),
        (3, 15),
        "line and column of the base64: {p:?}"
    );
    assert_eq!(encoded.4, vec!["base64"]);
    let plain = p
        .iter()
        .find(|f| f.1 == "plain.env")
        .expect("plain finding");
    assert!(plain.4.is_empty(), "{p:?}");
    assert_eq!(encoded.5, plain.5, "one secret, one secret_id");
    assert!(
        !p.iter()
            .any(|f| f.1 == "values.yaml" && f.0.starts_with("generic.")),
        "the generic finding of the encoded value yields to the decoded one: {p:?}"
    );
    // the redacted output does not print the decoded secret either
    let text = String::from_utf8_lossy(&doc.to_string().into_bytes()).into_owned();
    assert!(!text.contains(&key));
}

#[test]
fn gzip_inside_base64_and_base64_of_base64_name_their_chain() {
    let dir = tempfile::tempdir().unwrap();
    let token = github_token();
    let config = format!("[deploy]\ntoken = \"{token}\"\n");
    fs::write(
        dir.path().join("bundle.txt"),
        format!("payload: {}\n", b64(&gzip(config.as_bytes()))),
    )
    .unwrap();
    fs::write(
        dir.path().join("nested.yaml"),
        format!("blob: {}\n", b64(b64(token.as_bytes()).as_bytes())),
    )
    .unwrap();
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let p = decoded_places(&doc);
    let chain_at = |path: &str| {
        p.iter()
            .find(|f| f.1 == path && f.0.starts_with("github."))
            .map(|f| f.4.clone())
    };
    assert_eq!(
        chain_at("bundle.txt"),
        Some(vec!["base64".into(), "gzip".into()]),
        "{p:?}"
    );
    assert_eq!(
        chain_at("nested.yaml"),
        Some(vec!["base64".into(), "base64".into()]),
        "{p:?}"
    );

    // one layer only: the nested value stays encoded
    let (_, doc) = scan_json(dir.path(), &["--decode-depth", "1"]);
    let p = decoded_places(&doc);
    assert!(!p.iter().any(|f| f.1 == "nested.yaml"), "{p:?}");
    assert!(
        p.iter().any(|f| f.1 == "bundle.txt"),
        "gzip is not a layer: {p:?}"
    );
    // no decoding at all
    let (code, doc) = scan_json(dir.path(), &["--decode-depth", "0"]);
    assert_eq!(code, 0, "{doc}");
}

#[test]
fn hex_percent_and_escapes_decode_and_key_names_inside_count() {
    let dir = tempfile::tempdir().unwrap();
    let assignment = ["db_password", " = \"", "Vq8#nZt2!xLw", "\""].concat();
    fs::write(
        dir.path().join("dump.txt"),
        format!("row 1: {}\n", hex(assignment.as_bytes())),
    )
    .unwrap();
    let encoded: String = webhook().replace(':', "%3A").replace('/', "%2F");
    fs::write(
        dir.path().join("redirect.conf"),
        format!("return 302 https://auth.example.org/login?next={encoded};\n"),
    )
    .unwrap();
    let escaped = webhook().replace('/', "\\/");
    fs::write(
        dir.path().join("settings.json"),
        format!("{{\n  \"notify\": {{\"url\": \"{escaped}\", \"retries\": 3}}\n}}\n"),
    )
    .unwrap();
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let p = decoded_places(&doc);
    let at = |path: &str| p.iter().find(|f| f.1 == path).cloned();
    let dump = at("dump.txt").unwrap_or_else(|| panic!("hex: {p:?}"));
    assert!(dump.0.starts_with("generic."), "{p:?}");
    assert_eq!(dump.4, vec!["hex"]);
    let redirect = at("redirect.conf").unwrap_or_else(|| panic!("percent: {p:?}"));
    assert_eq!(redirect.0, "slack.webhook-url");
    assert_eq!(redirect.4, vec!["percent"]);
    let settings = at("settings.json").unwrap_or_else(|| panic!("escapes: {p:?}"));
    assert_eq!(settings.0, "slack.webhook-url");
    assert_eq!(settings.4, vec!["escape"]);
    assert_eq!(settings.2, 2);
    assert_eq!(redirect.5, settings.5, "the same webhook is one secret");
}

#[test]
fn random_base64_and_hex_blobs_stay_quiet() {
    let dir = tempfile::tempdir().unwrap();
    // a fixed pseudo-random stream (xorshift): nonces, digests, key material, images
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut random = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    };
    let mut text = String::new();
    for i in 0..50 {
        text.push_str(&format!("nonce_{i}: {}\n", b64(&random(24))));
        text.push_str(&format!("sha256_{i} = \"{}\"\n", hex(&random(32))));
    }
    let blob = b64(&random(3000));
    for line in blob.as_bytes().chunks(76) {
        text.push_str(std::str::from_utf8(line).unwrap());
        text.push('\n');
    }
    let png = [&b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..], &random(200)].concat();
    text.push_str(&format!(
        "<img src=\"data:image/png;base64,{}\">\n",
        b64(&png)
    ));
    fs::write(dir.path().join("blobs.txt"), &text).unwrap();
    let (code, doc) = scan_json(dir.path(), &["--min-confidence", "low"]);
    assert_eq!(code, 0, "random data gave findings: {doc}");
}

#[test]
fn a_compression_bomb_is_bounded_and_its_neighbours_are_still_found() {
    let dir = tempfile::tempdir().unwrap();
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..64 {
        z.write_all(&zeros).unwrap();
    }
    let bomb = b64(&z.finish().unwrap());
    let key = stripe_key();
    fs::write(
        dir.path().join("bomb.txt"),
        format!(
            "a: {bomb}\nb: {}\nSTRIPE={key}\n",
            b64(&gzip(key.as_bytes()))
        ),
    )
    .unwrap();
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let p = decoded_places(&doc);
    assert!(p.iter().any(|f| f.2 == 3 && f.4.is_empty()), "{p:?}");
    assert!(
        p.iter().any(|f| f.2 == 2 && f.4 == vec!["base64", "gzip"]),
        "{p:?}"
    );
    assert_eq!(doc["stats"]["errors"], 0);
}

#[test]
fn encoded_findings_say_so_in_every_format_and_honour_inline_allow() {
    let dir = tempfile::tempdir().unwrap();
    let value = b64(stripe_key().as_bytes());
    fs::write(dir.path().join("app.yaml"), format!("key: {value}\n")).unwrap();
    for (format, needle) in [
        ("text", "[decoded: base64]"),
        ("sarif", "\"decoded\""),
        ("markdown", "(decoded: base64)"),
        ("github", "found encoded: base64"),
    ] {
        let out = leakhound()
            .current_dir(dir.path())
            .args(["scan", ".", "--format", format])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(needle), "{format}: {stdout}");
    }
    fs::write(
        dir.path().join("app.yaml"),
        format!("key: {value} # leakhound:allow\n"),
    )
    .unwrap();
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{doc}");
    assert_eq!(doc["stats"]["suppressed"]["inline"], 1);
}
