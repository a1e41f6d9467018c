//! `leakhound scan` over directories, files and standard input.

use std::fs;

use crate::util::{
    findings, fixture_copy, github_token, json, leakhound, places, scan_tree, stripe_key,
};

fn has(places: &[(String, String, u64)], rule_prefix: &str, path: &str, line: u64) -> bool {
    places
        .iter()
        .any(|(r, p, l)| r.starts_with(rule_prefix) && p == path && *l == line)
}

#[test]
fn finds_every_planted_secret_and_exits_1() {
    let doc = json(&scan_tree("json"));
    let p = places(&doc);
    assert!(has(&p, "aws.", "config/app.yml", 6), "{p:?}");
    assert!(has(&p, "aws.", "config/app.yml", 7), "{p:?}");
    assert!(has(&p, "github.", ".env", 3), "{p:?}");
    assert!(has(&p, "stripe.", ".env", 4), "{p:?}");
    assert!(has(&p, "slack.", "src/notify.py", 4), "{p:?}");
    assert!(
        p.iter()
            .any(|(_, path, line)| path == "src/notify.py" && *line == 5),
        "postgres URL: {p:?}"
    );
    assert!(
        p.iter()
            .any(|(_, path, line)| path == "deploy/id_ed25519" && *line == 2),
        "ssh key: {p:?}"
    );
    // the README holds only documented examples, templates and placeholders
    assert!(
        !p.iter().any(|(_, path, _)| path == "README.md"),
        "false positive in README: {p:?}"
    );
    let stats = &doc["stats"];
    assert_eq!(stats["files"], 5);
    assert_eq!(stats["errors"], 0);
}

#[test]
fn secrets_are_redacted_unless_asked() {
    let dir = fixture_copy("tree");
    let token = github_token();
    for format in ["text", "json", "jsonl", "sarif"] {
        let out = leakhound()
            .current_dir(dir.path())
            .args(["scan", ".", "--format", format])
            .assert()
            .code(1);
        let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(!stdout.contains(&token), "{format} output leaks the token");
        assert!(
            stdout.contains(&token[..4]),
            "{format} output shows no redacted prefix"
        );
    }
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json", "--show-secrets"])
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains(&token));
}

#[test]
fn clean_tree_exits_0() {
    let dir = fixture_copy("clean");
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", "."])
        .assert()
        .code(0);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(stdout.contains("No secrets found"), "{stdout}");
    assert!(stdout.contains("scanned 2 files"), "{stdout}");
}

#[test]
fn stdin_files_and_directories_together() {
    let dir = fixture_copy("tree");
    let stdin = format!("payment:\n  key: {}\n", stripe_key());
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", "src", "config/app.yml", "-", "--format", "json"])
        .write_stdin(stdin)
        .assert()
        .code(1);
    let p = places(&json(&out.get_output().stdout));
    assert!(has(&p, "stripe.", "<stdin>", 2), "{p:?}");
    assert!(has(&p, "slack.", "src/notify.py", 4), "{p:?}");
    assert!(has(&p, "aws.", "config/app.yml", 6), "{p:?}");
    assert!(
        !p.iter().any(|(_, path, _)| path == ".env"),
        "scanned an input that was not named: {p:?}"
    );
}

#[test]
fn exit_code_flag_changes_the_findings_code() {
    let dir = fixture_copy("tree");
    leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--exit-code", "7"])
        .assert()
        .code(7);
    let clean = fixture_copy("clean");
    leakhound()
        .current_dir(clean.path())
        .args(["scan", ".", "--exit-code", "7"])
        .assert()
        .code(0);
}

#[test]
fn binary_files_are_skipped_with_a_warning_unless_asked() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    bytes.extend_from_slice(format!("\nstripe: {}\n", stripe_key()).as_bytes());
    fs::write(dir.path().join("logo.png"), &bytes).unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json", "-v"])
        .assert()
        .code(0);
    let doc = json(&out.get_output().stdout);
    assert_eq!(doc["stats"]["skipped"], 1);
    assert_eq!(doc["stats"]["by_kind"]["binary"], 1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("warning: skipped binary file logo.png"),
        "{stderr}"
    );
    // without -v the skip is summarised, not listed
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", "."])
        .assert()
        .code(0);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("1 binary files were skipped"), "{stderr}");
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--scan-binary", "--format", "json"])
        .assert()
        .code(1);
    assert!(has(
        &places(&json(&out.get_output().stdout)),
        "stripe.",
        "logo.png",
        4
    ));
}

#[test]
fn invalid_utf8_is_scanned_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = b"caf\xe9 = 1\n".to_vec();
    bytes.extend_from_slice(format!("key = {}\n", stripe_key()).as_bytes());
    fs::write(dir.path().join("latin1.properties"), &bytes).unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json"])
        .assert()
        .code(1);
    let doc = json(&out.get_output().stdout);
    assert!(has(&places(&doc), "stripe.", "latin1.properties", 2));
    assert_eq!(doc["stats"]["warnings"], 1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("latin1.properties is not valid UTF-8"),
        "{stderr}"
    );
}

#[test]
fn huge_single_line_file_is_scanned_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let mut line = "var a=1;".repeat(200_000);
    line.push_str(&format!("var k=\"{}\";", stripe_key()));
    line.push_str(&"var b=2;".repeat(100_000));
    fs::write(dir.path().join("app.min.js"), &line).unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json"])
        .assert()
        .code(1);
    let doc = json(&out.get_output().stdout);
    let f = &findings(&doc)[0];
    assert_eq!(f["line"], 1);
    assert_eq!(f["column"], 200_000 * 8 + 8);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("app.min.js has a line longer than 1 MiB"),
        "{stderr}"
    );
}

#[test]
fn files_over_the_size_limit_are_skipped_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let big = format!("{}\nkey = {}\n", "x".repeat(4096), stripe_key());
    fs::write(dir.path().join("big.txt"), big).unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--max-file-size", "2K", "--format", "json"])
        .assert()
        .code(0);
    let doc = json(&out.get_output().stdout);
    assert_eq!(doc["stats"]["by_kind"]["too_large"], 1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("skipped big.txt") && stderr.contains("2048-byte limit"),
        "{stderr}"
    );
    leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--max-file-size", "0"])
        .assert()
        .code(1);
}

#[test]
fn unreadable_inputs_are_errors_and_the_scan_goes_on() {
    let dir = fixture_copy("tree");
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", "does-not-exist", "config", "--format", "json"])
        .assert()
        .code(2);
    let doc = json(&out.get_output().stdout);
    assert_eq!(doc["stats"]["errors"], 1);
    // the readable input was still scanned and reported
    assert!(has(&places(&doc), "aws.", "config/app.yml", 6));
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("error: does-not-exist"), "{stderr}");
}

#[cfg(unix)]
#[test]
fn symlink_loops_do_not_trap_the_walk() {
    let dir = fixture_copy("tree");
    std::os::unix::fs::symlink("..", dir.path().join("config/loop")).unwrap();
    std::os::unix::fs::symlink("missing-target", dir.path().join("dangling")).unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json"])
        .assert()
        .code(1);
    let doc = json(&out.get_output().stdout);
    assert_eq!(doc["stats"]["files"], 5, "symlinks must not be followed");
}

#[test]
fn gitignored_files_are_skipped_unless_no_ignore() {
    let dir = fixture_copy("clean");
    fs::create_dir(dir.path().join(".git")).unwrap();
    fs::write(dir.path().join(".gitignore"), "local.env\n").unwrap();
    fs::write(
        dir.path().join("local.env"),
        format!("STRIPE={}\n", stripe_key()),
    )
    .unwrap();
    leakhound()
        .current_dir(dir.path())
        .args(["scan", "."])
        .assert()
        .code(0);
    leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--no-ignore"])
        .assert()
        .code(1);
    // a file named on the command line is scanned even if ignored
    leakhound()
        .current_dir(dir.path())
        .args(["scan", "local.env"])
        .assert()
        .code(1);
}

#[test]
fn config_file_disables_rules_and_excludes_paths() {
    let dir = fixture_copy("tree");
    fs::write(
        dir.path().join(".leakhound.toml"),
        "[rules]\ndisable = [\"nope.unknown\"]\n[paths]\nexclude = [\"config/**\", \"*.py\", \"deploy\"]\n",
    )
    .unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json"])
        .assert()
        .code(1);
    let p = places(&json(&out.get_output().stdout));
    assert!(p.iter().all(|(_, path, _)| path == ".env"), "{p:?}");
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("unknown rule id \"nope.unknown\""),
        "{stderr}"
    );

    // disable by id, given with --config from elsewhere
    let ids: Vec<String> = p.iter().map(|(r, _, _)| format!("{r:?}")).collect();
    let cfg = dir.path().join("other.toml");
    fs::write(&cfg, format!("[rules]\ndisable = [{}]\n", ids.join(", "))).unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".env", "--format", "json", "--config"])
        .arg(&cfg)
        .assert();
    let after = places(&json(&out.get_output().stdout));
    for (rule, _, _) in &p {
        assert!(
            !after.iter().any(|(r, _, _)| r == rule),
            "disabled rule {rule} still reports: {after:?}"
        );
    }
    // with the specific rules off, the generic assignment rule still sees the values
    assert!(
        after.iter().all(|(r, _, _)| r.starts_with("generic.")),
        "{after:?}"
    );
}

#[test]
fn invalid_config_is_a_clear_error() {
    let dir = fixture_copy("clean");
    fs::write(
        dir.path().join(".leakhound.toml"),
        "[rules]\ndisabled = []\n",
    )
    .unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", "."])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("invalid config file") && stderr.contains("disabled"),
        "{stderr}"
    );
}

#[test]
fn extra_rule_files_add_rules() {
    let dir = fixture_copy("clean");
    fs::write(
        dir.path().join("notes.md"),
        "internal: acme_live_Q81mXk20LpAq9Rt7\n",
    )
    .unwrap();
    let rules = dir.path().join("acme.yml");
    fs::write(
        &rules,
        r#"provider: Acme
rules:
  - id: acme.live-key
    name: Acme live key
    keywords: [acme_live_]
    pattern: '\b(acme_live_[A-Za-z0-9]{16})\b'
    severity: high
    remediation: { revoke: "https://acme.invalid/keys", rotate: "issue a new key" }
    examples: ['acme_live_Q81mXk20LpAq9Rt7']
    negative_examples: ['acme_live_']
"#,
    )
    .unwrap();
    leakhound()
        .current_dir(dir.path())
        .args(["scan", "notes.md"])
        .assert()
        .code(0);
    let out = leakhound()
        .current_dir(dir.path())
        .args([
            "scan", "notes.md", "--format", "json", "--rules", "acme.yml",
        ])
        .assert()
        .code(1);
    assert!(has(
        &places(&json(&out.get_output().stdout)),
        "acme.live-key",
        "notes.md",
        1
    ));
}

#[test]
fn output_file_receives_the_report() {
    let dir = fixture_copy("tree");
    let report = dir.path().join("out.json");
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", "config", "--format", "json", "-o"])
        .arg(&report)
        .assert()
        .code(1);
    assert!(out.get_output().stdout.is_empty());
    let doc = json(&fs::read(&report).unwrap());
    assert!(!findings(&doc).is_empty());
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("findings"), "summary on stderr: {stderr}");
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..5000 {
        text.push_str(&format!("key{i} = {}{:04}\n", &stripe_key()[..28], i));
    }
    fs::write(dir.path().join("many.txt"), text).unwrap();
    let (status, stderr) = crate::util::read_then_close(
        std::process::Command::new(env!("CARGO_BIN_EXE_leakhound"))
            .current_dir(dir.path())
            .args(["scan", "."]),
    );
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("error"), "{stderr}");
}
