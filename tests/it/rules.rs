//! The built-in rules, `rules list` and `rules check`.

use std::sync::Arc;

use leakhound::{analysis::check, rules::RuleSet};

use crate::util::{json, leakhound};

/// Every example and negative example of every built-in rule, through the whole detector.
#[test]
fn every_builtin_example_passes_the_whole_detector() {
    let set = RuleSet::builtin_with_examples().expect("built-in rules load");
    assert!(set.len() >= 60, "at least 60 rules, found {}", set.len());
    let report = check::check_set(Arc::new(set));
    let problems: Vec<String> = report.problems.iter().map(ToString::to_string).collect();
    assert!(
        problems.is_empty(),
        "rule problems (rule id and example index):\n{}",
        problems.join("\n")
    );
}

#[test]
fn rules_list_shows_the_catalog() {
    let out = leakhound().args(["rules", "list"]).assert().success();
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(text.starts_with("ID"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("aws.") && l.contains("akia")),
        "{text}"
    );
    let out = leakhound()
        .args(["rules", "list", "--format", "json"])
        .assert()
        .success();
    let doc = json(&out.get_output().stdout);
    let rules = doc.as_array().unwrap();
    assert!(rules.len() >= 900);
    for r in rules {
        for field in ["id", "provider", "severity", "class", "source"] {
            assert!(r[field].is_string(), "{field} of {r}");
        }
    }
    // Why: only rules scoped to paths (key stores, key files) run without a keyword.
    let unkeyed: Vec<&str> = rules
        .iter()
        .filter(|r| r["keywords"].as_array().is_some_and(|k| k.is_empty()))
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert!(unkeyed.contains(&"keystore.pkcs12"), "{unkeyed:?}");
    assert!(
        unkeyed
            .iter()
            .all(|id| id.starts_with("keystore.") || id.starts_with("rails.")),
        "{unkeyed:?}"
    );
    let classes: std::collections::BTreeSet<&str> =
        rules.iter().map(|r| r["class"].as_str().unwrap()).collect();
    assert_eq!(classes, ["credential", "hash", "keystore"].into());
}

#[test]
fn rules_check_passes_on_the_builtin_rules_dir() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rules");
    let out = leakhound().args(["rules", "check", dir]).assert().success();
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains(": 0 problems"));
    leakhound().args(["rules", "check"]).assert().success();
}

#[test]
fn rules_check_names_the_rule_and_example_that_fail() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yml");
    std::fs::write(
        &file,
        r#"provider: Acme
remediation: { revoke: "r", rotate: "r" }
rules:
  - id: acme.key
    name: Acme key
    keywords: [acme_]
    pattern: '\b(acme_[a-z0-9]{12})\b'
    severity: high
    examples: ['acme_q81mxk20lpaq', 'acme_short']
    negative_examples: ['acme_', 'acme_zz81mxk20lpa']
  - id: acme.key
    name: duplicate
    keywords: [acme_]
    pattern: '(acme)'
    severity: low
"#,
    )
    .unwrap();
    let out = leakhound()
        .args(["rules", "check"])
        .arg(&file)
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("duplicate rule id acme.key"), "{text}");

    std::fs::write(
        &file,
        std::fs::read_to_string(&file)
            .unwrap()
            .split("  - id: acme.key\n    name: duplicate")
            .next()
            .unwrap(),
    )
    .unwrap();
    let out = leakhound()
        .args(["rules", "check"])
        .arg(&file)
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains("acme.key: example 1 produces no finding"),
        "{text}"
    );
    assert!(
        text.contains("acme.key: negative example 1 produces a finding"),
        "{text}"
    );
    assert!(!text.contains("example 0 produces no finding"), "{text}");
}

#[test]
fn rules_check_reports_bad_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.yml");
    std::fs::write(
        &file,
        "provider: X\nremediation: { revoke: r, rotate: r }\nrules:\n  - id: x.y\n    name: y\n    keywords: [y]\n    pattern: '(?<=y)(z)'\n    severity: low\n",
    )
    .unwrap();
    let out = leakhound()
        .args(["rules", "check"])
        .arg(&file)
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains("pattern does not compile"));
}

#[test]
fn rules_list_json_into_a_closed_pipe_is_not_an_error() {
    let (status, stderr) = crate::util::read_then_close(
        std::process::Command::new(env!("CARGO_BIN_EXE_leakhound"))
            .args(["rules", "list", "--format", "json"]),
    );
    // the catalog is far larger than a pipe's buffer, so the write hits the closed pipe
    assert_eq!(status.code(), Some(0), "stderr: {stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}
