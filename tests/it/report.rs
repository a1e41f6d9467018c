//! Output formats: text, JSON, JSONL, SARIF (validated against the OASIS schema).

use std::path::Path;

use crate::util::{findings, fixture_copy, json, leakhound, scan_tree};

fn sarif_schema() -> serde_json::Value {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/schemas/sarif-schema-2.1.0.json");
    let text = std::fs::read_to_string(&path)
        .or_else(|_| {
            std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sarif-schema-2.1.0.json"),
            )
        })
        .expect("the SARIF 2.1.0 schema is in ../shared/schemas or tests/");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn sarif_is_valid_and_complete() {
    let doc = json(&scan_tree("sarif"));
    let validator = jsonschema::validator_for(&sarif_schema()).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "SARIF schema violations: {errors:#?}");

    let run = &doc["runs"][0];
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    assert!(rules.len() >= 60, "one descriptor per rule");
    for r in rules {
        assert!(
            r["help"]["text"].as_str().unwrap().contains("Revoke:"),
            "{r}"
        );
        assert!(r["help"]["markdown"].as_str().is_some());
    }
    let results = run["results"].as_array().unwrap();
    assert!(results.len() >= 7);
    for res in results {
        let loc = &res["locations"][0]["physicalLocation"];
        let uri = loc["artifactLocation"]["uri"].as_str().unwrap();
        assert!(
            !uri.starts_with('/') && !uri.starts_with("./"),
            "uri relative to the scan root: {uri}"
        );
        assert!(loc["region"]["startLine"].as_u64().unwrap() >= 1);
        assert_eq!(
            res["partialFingerprints"]["secretId/v1"]
                .as_str()
                .unwrap()
                .len(),
            32
        );
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
    }
    assert!(results.iter().any(
        |r| r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "config/app.yml"
    ));
}

#[test]
fn sarif_paths_are_relative_to_a_named_root() {
    let dir = fixture_copy("tree");
    let out = leakhound()
        .arg("scan")
        .arg(dir.path())
        .args(["--format", "sarif"])
        .assert()
        .code(1);
    let doc = json(&out.get_output().stdout);
    let uris = crate::util::sarif_uris(&doc);
    assert!(uris.contains(&"config/app.yml"), "{uris:?}");
}

#[test]
fn json_has_the_documented_shape() {
    let doc = json(&scan_tree("json"));
    assert_eq!(doc["version"], "1");
    for key in ["files", "bytes", "skipped", "errors", "duration_ms"] {
        assert!(doc["stats"][key].is_u64(), "stats.{key}");
    }
    for f in findings(&doc) {
        for key in [
            "rule_id",
            "rule_name",
            "path",
            "secret",
            "secret_id",
            "severity",
        ] {
            assert!(f[key].is_string(), "{key} in {f}");
        }
        for key in ["line", "column", "end_line", "end_column"] {
            assert!(f[key].as_u64().unwrap() >= 1, "{key} in {f}");
        }
        assert!(f["end_line"].as_u64() >= f["line"].as_u64());
        for key in ["revoke", "rotate"] {
            assert!(
                !f["remediation"][key].as_str().unwrap().is_empty(),
                "remediation.{key} in {f}"
            );
        }
        assert!(f["remediation"]["references"].is_array());
    }
}

#[test]
fn jsonl_is_one_finding_per_line() {
    let dir = fixture_copy("tree");
    let full = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json"])
        .assert()
        .code(1);
    let n = findings(&json(&full.get_output().stdout)).len();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "jsonl"])
        .assert()
        .code(1);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), n);
    for l in lines {
        let v = json(l.as_bytes());
        assert!(v["rule_id"].is_string());
    }
}

#[test]
fn text_groups_by_secret_with_hint_next_steps_and_summary() {
    let dir = fixture_copy("tree");
    std::fs::copy(
        dir.path().join(".env"),
        dir.path().join("config/.env.backup"),
    )
    .unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", "."])
        .assert()
        .code(1);
    let text = String::from_utf8(out.get_output().stdout.clone()).unwrap();
    assert!(!text.contains('\x1b'), "no colour when not a terminal");
    // the GitHub token is in two files: one block, two places
    let header = text
        .lines()
        .position(|l| l.contains("github.pat-classic"))
        .unwrap();
    assert_eq!(
        text.lines()
            .filter(|l| l.contains("github.pat-classic") && !l.starts_with("Findings by rule"))
            .count(),
        1,
        "{text}"
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[header + 1].trim(), "1 secret, 2 places:");
    assert!(lines[header + 2].trim().starts_with(".env:3:"), "{text}");
    assert!(
        lines[header + 3]
            .trim()
            .starts_with("config/.env.backup:3:"),
        "{text}"
    );
    assert!(lines[header + 4].trim().starts_with("revoke: "), "{text}");
    assert!(text.contains("Next steps"), "{text}");
    assert!(
        text.contains("Findings by rule: ") && text.contains("github.pat-classic 2"),
        "{text}"
    );
    let last = text.lines().last().unwrap();
    assert!(
        last.contains("findings (")
            && last.contains("scanned 6 files")
            && last.ends_with("0 errors"),
        "{last}"
    );

    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--color", "always"])
        .assert()
        .code(1);
    assert!(String::from_utf8_lossy(&out.get_output().stdout).contains('\x1b'));
}

#[test]
fn markdown_report_has_a_section_playbook_and_checklist_per_secret() {
    let text = String::from_utf8(scan_tree("markdown")).unwrap();
    assert!(text.starts_with("# leakhound report"));
    let sections = text.matches("\n## ").count();
    assert_eq!(sections, 9, "{text}");
    assert_eq!(text.matches("### Playbook").count(), 9);
    assert_eq!(text.matches("- [ ] Revoked at").count(), 9);
    assert!(text.contains("**Look for misuse:**") && text.contains("**Rotate from now on:**"));
    assert!(!text.contains(&crate::util::github_token()), "redacted");
}

#[test]
fn same_secret_in_two_places_shares_its_id() {
    let dir = fixture_copy("tree");
    std::fs::copy(
        dir.path().join(".env"),
        dir.path().join("config/.env.backup"),
    )
    .unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json"])
        .assert()
        .code(1);
    let doc = json(&out.get_output().stdout);
    let gh: Vec<&serde_json::Value> = findings(&doc)
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("github."))
        .collect();
    assert_eq!(gh.len(), 2);
    assert_eq!(gh[0]["secret_id"], gh[1]["secret_id"]);
    assert_ne!(gh[0]["path"], gh[1]["path"]);
}

/// `leakhound report --from REPORT` with extra arguments: exit code and stdout.
fn report_from(dir: &Path, report: &str, args: &[&str]) -> (i32, Vec<u8>) {
    let out = leakhound()
        .current_dir(dir)
        .args(["report", "--from", report])
        .args(args)
        .output()
        .unwrap();
    (out.status.code().unwrap(), out.stdout)
}

#[test]
fn report_from_refilters_and_rerenders_a_saved_report_without_the_sources() {
    let dir = fixture_copy("tree");
    let saved = tempfile::tempdir().unwrap();
    for (format, extra) in [
        ("json", &[][..]),
        ("jsonl", &[][..]),
        ("json", &["--group"][..]),
    ] {
        let name = format!("r-{format}-{}.{format}", extra.len());
        let out = saved.path().join(&name);
        leakhound()
            .current_dir(dir.path())
            .args(["scan", ".", "--no-progress", "--format", format, "-o"])
            .arg(&out)
            .args(extra)
            .assert()
            .code(1);
    }
    let original = json(&std::fs::read(saved.path().join("r-json-0.json")).unwrap());
    let all = findings(&original).clone();
    // The sources are gone: only the report is read.
    drop(dir);
    let cwd = saved.path();
    for name in ["r-json-0.json", "r-jsonl-0.jsonl", "r-json-1.json"] {
        let (code, out) = report_from(cwd, name, &["--format", "json"]);
        assert_eq!(code, 1, "{name}");
        let doc = json(&out);
        let back = findings(&doc);
        assert_eq!(back.len(), all.len(), "{name}");
        let ids = |v: &Vec<serde_json::Value>| {
            let mut ids: Vec<String> = v
                .iter()
                .map(|f| format!("{} {} {}", f["secret_id"], f["path"], f["line"]))
                .collect();
            ids.sort();
            ids
        };
        assert_eq!(ids(back), ids(&all), "{name}");
    }
    // Filters: severity, rule glob, path glob.
    let count = |args: &[&str]| {
        let mut a = vec!["--format", "json"];
        a.extend_from_slice(args);
        let (_, out) = report_from(cwd, "r-json-0.json", &a);
        findings(&json(&out)).len()
    };
    let critical = all.iter().filter(|f| f["severity"] == "critical").count();
    assert!(critical > 0 && critical < all.len());
    assert_eq!(count(&["--min-severity", "critical"]), critical);
    let aws = all
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("aws."))
        .count();
    assert!(aws > 0);
    assert_eq!(count(&["--rule", "aws.*"]), aws);
    let first_path = all[0]["path"].as_str().unwrap();
    let at_path = all.iter().filter(|f| f["path"] == first_path).count();
    assert_eq!(count(&["--path", first_path]), at_path);
    assert_eq!(count(&["--path", "no/such/**"]), 0);
    // A baseline made from the report hides everything; exit 0.
    leakhound()
        .current_dir(cwd)
        .args([
            "baseline",
            "create",
            "--from",
            "r-json-0.json",
            "-o",
            "b.json",
        ])
        .assert()
        .success();
    let (code, out) = report_from(
        cwd,
        "r-json-0.json",
        &["--format", "json", "--baseline", "b.json"],
    );
    assert_eq!(code, 0);
    assert_eq!(findings(&json(&out)).len(), 0);
    // Any format renders; SARIF still validates.
    let (_, sarif) = report_from(cwd, "r-json-0.json", &["--format", "sarif"]);
    let validator = jsonschema::validator_for(&sarif_schema()).unwrap();
    assert!(validator.is_valid(&json(&sarif)));
    // Not a report: a clear error, exit 2.
    std::fs::write(cwd.join("junk.json"), "[1, 2]").unwrap();
    let out = leakhound()
        .current_dir(cwd)
        .args(["report", "--from", "junk.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("junk.json"));
}

#[test]
fn report_from_refuses_another_report_version() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("v9.json"),
        r#"{"version": "9", "findings": [], "stats": {}}"#,
    )
    .unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["report", "--from", "v9.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("report version \"9\""), "{stderr}");
}
