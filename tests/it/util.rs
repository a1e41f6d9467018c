//! Helpers shared by the integration tests.

use std::{
    fs,
    path::{Path, PathBuf},
    sync::OnceLock,
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

/// Parses stdout as one JSON document. A leakhound report, or one report record (a JSONL
/// line), is also validated against `schemas/report-v1.json` (see [`is_report`]); other JSON
/// (SARIF, GitLab, `rules list`) is returned unchecked.
pub fn json(stdout: &[u8]) -> serde_json::Value {
    let doc: serde_json::Value = serde_json::from_slice(stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(stdout)
        )
    });
    if is_report(&doc) {
        assert_report_schema(&doc);
    }
    doc
}

/// Whether a JSON value is a leakhound report (an object with `version` and `findings`) or
/// one report record (a FINDING or `--group` SECRET: `rule_id`, `secret_id`, and `path` or
/// `locations`). SARIF and GitLab documents, `rules list` output, baselines and revocation
/// audit lines (which have `rule_id` and `secret_id` but no place) are not.
pub fn is_report(v: &serde_json::Value) -> bool {
    let Some(o) = v.as_object() else {
        return false;
    };
    (o.contains_key("version") && o.contains_key("findings"))
        || (o.contains_key("rule_id")
            && o.contains_key("secret_id")
            && (o.contains_key("path") || o.contains_key("locations")))
}

/// `schemas/report-v1.json`, compiled once for the whole test run.
fn report_schema() -> &'static jsonschema::Validator {
    static SCHEMA: OnceLock<jsonschema::Validator> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas/report-v1.json");
        let text = fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
        let schema: serde_json::Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        jsonschema::validator_for(&schema)
            .unwrap_or_else(|e| panic!("{} is not a valid JSON Schema: {e}", path.display()))
    })
}

/// Validates a `--format json` document, or one `--format jsonl` record (FINDING or, with
/// `--group`, SECRET), against `schemas/report-v1.json`; panics listing every violation with
/// its instance path, and the record of the first one.
pub fn assert_report_schema(doc: &serde_json::Value) {
    if report_schema().is_valid(doc) {
        return;
    }
    let errors: Vec<(String, String)> = report_schema()
        .iter_errors(doc)
        .map(|e| {
            let message = format!("{e} (schema {})", e.schema_path());
            (e.instance_path().to_string(), message)
        })
        .collect();
    let Some((first, _)) = errors.first() else {
        return;
    };
    let listed: Vec<String> = errors
        .iter()
        .map(|(at, message)| format!("  at {}: {message}", or_root(at)))
        .collect();
    // Why: a document can hold thousands of findings; show the one that failed, not all.
    let record = record_pointer(first);
    let shown = doc.pointer(record).map_or_else(String::new, |v| {
        let text = serde_json::to_string_pretty(v).unwrap_or_default();
        let mut cut: String = text.chars().take(4000).collect();
        if cut.len() < text.len() {
            cut.push_str("\n…");
        }
        cut
    });
    panic!(
        "the report does not match schemas/report-v1.json ({} violations):\n{}\nat {}:\n{shown}",
        errors.len(),
        listed.join("\n"),
        or_root(record),
    );
}

/// A JSON pointer as shown: `/` for the root.
fn or_root(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}

/// The JSON pointer of the report record that holds `at`: `/findings/N` for a place inside a
/// document's findings, else the root (`""`).
fn record_pointer(at: &str) -> &str {
    let mut parts = at.splitn(4, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(""), Some("findings"), Some(index)) => &at[.."/findings/".len() + index.len()],
        _ => "",
    }
}

/// `leakhound scan . --format json EXTRA…` in `dir`: the exit code and the report.
pub fn scan_json(dir: &Path, extra: &[&str]) -> (i32, serde_json::Value) {
    let out = leakhound()
        .current_dir(dir)
        .args(["scan", ".", "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    (out.status.code().unwrap(), json(&out.stdout))
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

/// `leakhound scan . --format FORMAT` over a copy of the fixture tree, which must find
/// something (exit 1); returns standard output.
pub fn scan_tree(format: &str) -> Vec<u8> {
    let dir = fixture_copy("tree");
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", format])
        .assert()
        .code(1);
    out.get_output().stdout.clone()
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

/// One HTTP request's line and headers, as the test servers read them.
pub struct Request {
    /// `GET`, `POST`, …
    pub method: String,
    /// The request target: path and query.
    pub target: String,
    headers: Vec<(String, String)>,
}

impl Request {
    /// A header's value (the name compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Reads a request's line and headers, leaving the body in `reader`.
pub fn read_request(reader: &mut impl std::io::BufRead) -> Option<Request> {
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    Some(Request {
        method,
        target,
        headers,
    })
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

/// Runs `cmd`, reads the first bytes of its standard output, closes the pipe and waits: the
/// exit status and standard error of a program whose reader went away.
pub fn read_then_close(cmd: &mut std::process::Command) -> (std::process::ExitStatus, String) {
    use std::io::Read;
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = [0u8; 16];
    child
        .stdout
        .as_mut()
        .unwrap()
        .read_exact(&mut first)
        .unwrap();
    drop(child.stdout.take());
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    (child.wait().unwrap(), stderr)
}
