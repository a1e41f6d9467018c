//! Helpers shared by the integration tests.

use std::{
    fs,
    path::{Path, PathBuf},
};

use assert_cmd::Command;

/// A command for the built binary, with colour and config discovery made predictable.
pub fn leakhound() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_leakhound"));
    cmd.env_remove("NO_COLOR");
    cmd
}

/// `fixtures/<name>`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// Copies a fixture directory into a fresh temporary directory.
pub fn fixture_copy(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&fixture(name), dir.path());
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let dest = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), &dest).unwrap();
        }
    }
}

/// Parses stdout as one JSON document.
pub fn json(stdout: &[u8]) -> serde_json::Value {
    serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(stdout)
        )
    })
}

/// The findings array of a `--format json` report.
pub fn findings(doc: &serde_json::Value) -> &Vec<serde_json::Value> {
    doc["findings"].as_array().expect("findings is an array")
}

/// `(rule_id, path, line)` of every finding.
pub fn places(doc: &serde_json::Value) -> Vec<(String, String, u64)> {
    findings(doc)
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["path"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// A fake Stripe live key, assembled so that this source file does not contain it.
pub fn stripe_key() -> String {
    ["sk", "_live_", "Zq81mXk20LpAq9Rt7Vb3Nc6W"].concat()
}

/// A fake GitHub classic token with a valid checksum, read from the fixtures.
pub fn github_token() -> String {
    let env = fs::read_to_string(fixture("tree/.env")).unwrap();
    env.lines()
        .find_map(|l| l.strip_prefix("GITHUB_TOKEN="))
        .expect("fixture has GITHUB_TOKEN")
        .to_owned()
}

/// A second fake Stripe key, different from [`stripe_key`].
pub fn stripe_key_2() -> String {
    ["sk", "_live_", "Pw47nQz83LmXc5Vr2Tb9Kd1H"].concat()
}

/// The fake Slack bot token of the fixtures.
pub fn slack_token() -> String {
    let py = fs::read_to_string(fixture("tree/src/notify.py")).unwrap();
    py.lines()
        .find_map(|l| {
            l.strip_prefix("SLACK_BOT_TOKEN = \"")
                .and_then(|r| r.strip_suffix('"'))
        })
        .expect("fixture has SLACK_BOT_TOKEN")
        .to_owned()
}

/// Reads one HTTP request's line and headers: the path, and the header lines lower-cased.
pub fn read_request(stream: &std::net::TcpStream) -> Option<(String, Vec<String>)> {
    use std::io::{BufRead, BufReader};
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut request = String::new();
    if reader.read_line(&mut request).unwrap_or(0) == 0 {
        return None;
    }
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        headers.push(line.trim().to_ascii_lowercase());
    }
    let path = request.split_whitespace().nth(1).unwrap_or("").to_owned();
    Some((path, headers))
}

/// The artifact URIs of a SARIF document's results.
pub fn sarif_uris(doc: &serde_json::Value) -> Vec<&str> {
    doc["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect()
}
