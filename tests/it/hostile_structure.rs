//! Kubernetes Secrets in the forms they are really written in — what `kubectl get secrets -o
//! yaml` / `-o json` prints (a `kind: List`), JSON manifests, `kind: Secret # comment`, flow
//! mappings, `stringData:` — and UTF-16 text with a byte order mark (PowerShell scripts, `.reg`
//! exports), which is not binary.
//!
//! Every Secret here holds a fake Stripe key and a fake database password under credential
//! keys, next to connection details (`host`, `region`, `username`) that must not be reported.

use std::fs;

use base64::Engine as _;

use crate::util::{findings, scan_json, stripe_key};

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// A fake database password that no provider rule names (assembled, like every secret here).
fn password() -> String {
    ["Pg-Vq83n", "Lx02Kd7Rm4"].concat()
}

const HOST: &str = "pg-7f3k2q9x.cluster-c1x2y3.eu-west-1.rds.amazonaws.com";
const REGION: &str = "eu-west-1";
const USERNAME: &str = "admin";

/// One finding, as the JSON report gives it.
#[derive(Debug)]
struct Found {
    rule: String,
    line: u64,
    decoded: Vec<String>,
    secret: String,
}

/// `leakhound scan . --format json --show-secrets` over a directory holding one file.
fn scan_one(name: &str, bytes: &[u8]) -> (serde_json::Value, Vec<Found>) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(name), bytes).unwrap();
    let (code, doc) = scan_json(dir.path(), &["--show-secrets"]);
    assert_eq!(code, 1, "{name}: {doc}");
    let found = findings(&doc)
        .iter()
        .map(|f| Found {
            rule: f["rule_id"].as_str().unwrap().to_owned(),
            line: f["line"].as_u64().unwrap(),
            decoded: f["decoded"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|e| e.as_str().unwrap_or_default().to_owned())
                        .collect::<Vec<String>>()
                })
                .unwrap_or_default(),
            secret: f["secret"].as_str().unwrap_or_default().to_owned(),
        })
        .collect();
    (doc, found)
}

/// The 1-based line of `text` that first holds `needle`.
fn line_of(text: &str, needle: &str) -> u64 {
    let at = text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle} is not in\n{text}"));
    at as u64 + 1
}

/// The Stripe key is reported by a Stripe rule and the password by the structural rule, each at
/// the line of its entry, decoded from base64 when `encoded`; nothing else is reported (not the
/// connection details, nor a generic rule's finding on the base64 text).
fn assert_reported(name: &str, text: &str, found: &[Found], encoded: bool) {
    let (key, pw) = (stripe_key(), password());
    let (key_at, pw_at) = if encoded {
        (b64(&key), b64(&pw))
    } else {
        (key.clone(), pw.clone())
    };
    let chain: Vec<String> = if encoded {
        vec!["base64".to_owned()]
    } else {
        Vec::new()
    };
    let stripe_line = line_of(text, &key_at);
    assert!(
        found.iter().any(|f| f.rule.starts_with("stripe.")
            && f.line == stripe_line
            && f.secret == key
            && (!encoded || f.decoded.iter().any(|d| d == "base64"))),
        "{name}: no Stripe finding at line {stripe_line}: {found:#?}"
    );
    let pw_line = line_of(text, &pw_at);
    assert!(
        found.iter().any(|f| f.rule == "file.k8s-secret"
            && f.line == pw_line
            && f.secret == pw
            && f.decoded == chain),
        "{name}: no structural finding of the password at line {pw_line}: {found:#?}"
    );
    for f in found {
        assert!(
            f.secret == key || f.secret == pw,
            "{name}: only the two credentials are reported: {f:#?}"
        );
    }
    for detail in [HOST, REGION, USERNAME] {
        let written = if encoded {
            b64(detail)
        } else {
            detail.to_owned()
        };
        assert!(
            !found
                .iter()
                .any(|f| f.secret.contains(detail) || f.secret.contains(&written)),
            "{name}: a connection detail ({detail}) is reported: {found:#?}"
        );
    }
}

/// `kubectl get secrets -o yaml`: a `kind: List` whose `items:` are Secrets.
#[test]
fn a_kubectl_list_of_secrets_is_decoded() {
    let text = format!(
        "apiVersion: v1\nitems:\n- apiVersion: v1\n  data:\n    STRIPE_API_KEY: {}\n    db-password: {}\n    host: {}\n    region: {}\n    username: {}\n  kind: Secret\n  metadata:\n    name: app\n    namespace: default\n  type: Opaque\n- apiVersion: v1\n  data:\n    region: {}\n  kind: Secret\n  metadata:\n    name: other\n  type: Opaque\nkind: List\nmetadata:\n  resourceVersion: \"\"\n",
        b64(&stripe_key()),
        b64(&password()),
        b64(HOST),
        b64(REGION),
        b64(USERNAME),
        b64(REGION),
    );
    let (_, found) = scan_one("secrets.yaml", text.as_bytes());
    assert_reported("kind: List", &text, &found, true);
}

/// A JSON manifest on one line: both credentials share the line and are both reported.
#[test]
fn a_json_secret_is_decoded() {
    let text = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{{\"name\":\"app\"}},\"type\":\"Opaque\",\"data\":{{\"STRIPE_API_KEY\":\"{}\",\"db-password\":\"{}\",\"host\":\"{}\",\"region\":\"{}\",\"username\":\"{}\"}}}}\n",
        b64(&stripe_key()),
        b64(&password()),
        b64(HOST),
        b64(REGION),
        b64(USERNAME),
    );
    let (_, found) = scan_one("secret.json", text.as_bytes());
    assert_reported("JSON Secret", &text, &found, true);
}

/// `kubectl get secrets -o json`: a JSON `kind: List`, pretty-printed.
#[test]
fn a_json_list_of_secrets_is_decoded() {
    let text = format!(
        "{{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n        {{\n            \"apiVersion\": \"v1\",\n            \"data\": {{\n                \"STRIPE_API_KEY\": \"{}\",\n                \"db-password\": \"{}\",\n                \"host\": \"{}\",\n                \"region\": \"{}\",\n                \"username\": \"{}\"\n            }},\n            \"kind\": \"Secret\",\n            \"metadata\": {{\n                \"name\": \"app\"\n            }},\n            \"type\": \"Opaque\"\n        }}\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {{\n        \"resourceVersion\": \"\"\n    }}\n}}\n",
        b64(&stripe_key()),
        b64(&password()),
        b64(HOST),
        b64(REGION),
        b64(USERNAME),
    );
    let (_, found) = scan_one("secrets.json", text.as_bytes());
    assert_reported("JSON List", &text, &found, true);
}

#[test]
fn kind_secret_with_a_trailing_comment_is_decoded() {
    let text = format!(
        "apiVersion: v1\nkind: Secret # payment service\nmetadata:\n  name: app\ndata:\n  STRIPE_API_KEY: {}\n  db-password: \"{}\" # rotated monthly\n  host: {}\n  region: {}\n  username: {}\n",
        b64(&stripe_key()),
        b64(&password()),
        b64(HOST),
        b64(REGION),
        b64(USERNAME),
    );
    let (_, found) = scan_one("secret.yaml", text.as_bytes());
    assert_reported("kind: Secret # comment", &text, &found, true);
}

/// `data: {KEY: base64, …}` on one line, and a flow mapping spread over several lines.
#[test]
fn flow_style_data_is_decoded() {
    let text = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: app}}\ndata: {{STRIPE_API_KEY: {}, db-password: \"{}\", host: {}, region: '{}', username: {}}}\n",
        b64(&stripe_key()),
        b64(&password()),
        b64(HOST),
        b64(REGION),
        b64(USERNAME),
    );
    let (_, found) = scan_one("secret.yaml", text.as_bytes());
    assert_reported("flow data", &text, &found, true);
    let text = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: app}}\ndata: {{\n  STRIPE_API_KEY: {},\n  db-password: {},\n  host: {},\n  region: {},\n  username: {}\n}}\ntype: Opaque\n",
        b64(&stripe_key()),
        b64(&password()),
        b64(HOST),
        b64(REGION),
        b64(USERNAME),
    );
    let (_, found) = scan_one("secret.yaml", text.as_bytes());
    assert_reported("multi-line flow data", &text, &found, true);
}

/// `stringData:` holds plain values: they are reported as written, not decoded.
#[test]
fn string_data_is_read_as_plain_values() {
    let text = format!(
        "apiVersion: v1\nkind: List\nitems:\n  - apiVersion: v1\n    kind: Secret\n    metadata:\n      name: app\n    stringData:\n      STRIPE_API_KEY: {}\n      db-password: '{}'\n      host: {HOST}\n      region: {REGION}\n      username: {USERNAME}\n",
        stripe_key(),
        password(),
    );
    let (_, found) = scan_one("secret.yaml", text.as_bytes());
    assert_reported("stringData", &text, &found, false);
}

/// A `data:` value that is not base64 is skipped; the entries after it are still decoded.
#[test]
fn invalid_base64_does_not_stop_the_manifest() {
    let text = format!(
        "apiVersion: v1\nkind: Secret\ndata:\n  api-token: '%%not*base64%%'\n  STRIPE_API_KEY: {}\n  db-password: {}\n  region: {}\n",
        b64(&stripe_key()),
        b64(&password()),
        b64(REGION),
    );
    let (_, found) = scan_one("secret.yaml", text.as_bytes());
    let invalid_line = line_of(&text, "not*base64");
    assert!(
        !found
            .iter()
            .any(|f| f.line == invalid_line && !f.decoded.is_empty()),
        "{found:#?}"
    );
    assert_reported("invalid base64", &text, &found, true);
    // The skipped value is named in a warning.
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("secret.yaml"), &text).unwrap();
    let out = crate::util::leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--no-progress"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("\"api-token\"") && stderr.contains("not valid base64"),
        "{stderr}"
    );
}

/// Hostile manifests (deep nesting, unclosed flow mappings) are read in bounded time, and a
/// Secret after them is still found.
#[test]
fn hostile_manifests_are_bounded() {
    let mut text = String::from("kind: Secret\ndata: {\n");
    text.push_str(&"[".repeat(100_000));
    text.push_str("\n---\n");
    for d in 0..300 {
        text.push_str(&" ".repeat(d));
        text.push_str("k:\n");
    }
    text.push_str("---\n");
    text.push_str(&format!(
        "apiVersion: v1\nkind: Secret\ndata:\n  STRIPE_API_KEY: {}\n  db-password: {}\n  region: {}\n",
        b64(&stripe_key()),
        b64(&password()),
        b64(REGION),
    ));
    let (_, found) = scan_one("secret.yaml", text.as_bytes());
    assert_reported("after hostile documents", &text, &found, true);
}

fn utf16(text: &str, little: bool) -> Vec<u8> {
    let mut out = if little {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for unit in text.encode_utf16() {
        out.extend(if little {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        });
    }
    out
}

/// UTF-16 text with a byte order mark (either endianness) is transcoded and scanned, not
/// skipped as binary; the line and column are those of the transcoded text (the file's lines).
#[test]
fn utf16_text_with_a_byte_order_mark_is_scanned() {
    let key = stripe_key();
    let text = format!("# deploy settings (caf\u{e9})\r\nSTRIPE_KEY={key}\r\nREGION={REGION}\r\n");
    for (name, little) in [("deploy.ps1", true), ("export.reg", false)] {
        let (doc, found) = scan_one(name, &utf16(&text, little));
        let stats = &doc["stats"];
        assert_eq!(stats["files"], 1, "{name}: {stats}");
        assert_eq!(stats["skipped"], 0, "{name}: {stats}");
        assert_eq!(stats["warnings"], 0, "{name}: {stats}");
        let stripe: Vec<&serde_json::Value> = findings(&doc)
            .iter()
            .filter(|f| f["rule_id"].as_str().unwrap().starts_with("stripe."))
            .collect();
        assert_eq!(stripe.len(), 1, "{name}: {found:#?}");
        assert_eq!(stripe[0]["secret"], key.as_str(), "{name}");
        assert_eq!(
            (stripe[0]["line"].as_u64(), stripe[0]["column"].as_u64()),
            (Some(2), Some(12)),
            "{name}: {found:#?}"
        );
        assert!(found.iter().all(|f| f.line == 2), "{name}: {found:#?}");
    }
}
