//! Offline validity checks as a user sees them: validation, confidence and details in JSON,
//! and values whose own structure fails are not reported.

use std::fs;

use base64::Engine as _;

use crate::util::{findings, github_token, scan_json};

fn scan_text(name: &str, text: &str) -> Vec<serde_json::Value> {
    findings(&scan_text_with(name, text, &[])).clone()
}

fn scan_text_with(name: &str, text: &str, args: &[&str]) -> serde_json::Value {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(name), text).unwrap();
    scan_json(dir.path(), args).1
}

#[test]
fn github_checksum_decides() {
    let good = github_token();
    let f = scan_text("a.txt", &format!("token {good}\n"));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0]["validation"], "checksum_valid");
    assert_eq!(f[0]["confidence"], "high");
    // the same shape with a checksum that does not verify is not a token, for any rule
    let bad = format!("{}000000", &good[..34]);
    assert!(scan_text("b.txt", &format!("GITHUB_TOKEN={bad}\n")).is_empty());
}

#[test]
fn jwt_claims_and_expiry_are_reported() {
    let enc = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let token = format!(
        "{}.{}.{}",
        enc(r#"{"alg":"RS256","typ":"JWT"}"#),
        enc(r#"{"iss":"https://auth.internal","sub":"svc-7","exp":1500000000}"#),
        "Zq81mXk20LpAq9Rt7Vb3Nc6WKd1HPw47nQz83LmXc5V"
    );
    // An expired token is low confidence: hidden by default and counted, shown on request.
    let hidden = scan_text_with("jwt.txt", &format!("auth: {token}\n"), &[]);
    assert_eq!(findings(&hidden).len(), 0, "{hidden:#?}");
    assert_eq!(hidden["stats"]["below_confidence"], 1);
    let shown = scan_text_with(
        "jwt.txt",
        &format!("auth: {token}\n"),
        &["--min-confidence", "low"],
    );
    let f = findings(&shown).clone();
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["validation"], "expired");
    assert_eq!(f[0]["confidence"], "low");
    assert_eq!(f[0]["details"]["alg"], "RS256");
    assert_eq!(f[0]["details"]["iss"], "https://auth.internal");
    assert_eq!(f[0]["details"]["expired"], "true");
}

#[test]
fn private_keys_are_parsed_and_placeholders_dropped() {
    let keys = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/keys");
    let rsa = fs::read_to_string(keys.join("rsa-pkcs1.pem")).unwrap();
    let f = scan_text("id_rsa", &rsa);
    assert_eq!(f[0]["details"]["key_type"], "rsa");
    assert_eq!(f[0]["details"]["bits"], "1024");
    assert_eq!(f[0]["details"]["encrypted"], "false");
    let ssh = fs::read_to_string(keys.join("openssh")).unwrap();
    let f = scan_text("id_ed25519", &ssh);
    assert_eq!(f[0]["details"]["key_type"], "ssh-ed25519");
    let ec = fs::read_to_string(keys.join("ec-sec1.pem")).unwrap();
    assert_eq!(scan_text("ec.pem", &ec)[0]["details"]["curve"], "P-256");
    // a truncated block in documentation, and public material, are not findings
    let doc =
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA...\n-----END RSA PRIVATE KEY-----\n";
    assert!(scan_text("README.md", doc).is_empty());
    for public in ["cert.pem", "rsa-public.pem"] {
        assert!(
            scan_text(public, &fs::read_to_string(keys.join(public)).unwrap()).is_empty(),
            "{public}"
        );
    }
}

#[test]
fn aws_key_ids_name_their_account() {
    // A key id published as an example of the decoding, not a live credential.
    let id = ["ASIA", "Y34FZKBOKMUTVV7A"].concat();
    let f = scan_text("creds", &format!("aws_access_key_id = {id}\n"));
    assert_eq!(f[0]["details"]["aws_account_id"], "609629065308");
}
