//! CI-aware detection over fixtures for every CI system: each line marked `expect: RULE` must be
//! reported with that rule, and nothing else from the CI rules (safe look-alikes stay silent).

use std::{collections::BTreeSet, fs, path::Path};

use crate::util::{findings, fixture, json, leakhound};

/// (path relative to the system's directory, line, rule) marked in the fixture files.
fn expected(root: &Path) -> BTreeSet<(String, u64, String)> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            for (i, line) in fs::read_to_string(&p).unwrap().lines().enumerate() {
                if let Some(rule) = line.split("expect: ").nth(1) {
                    out.insert((rel.clone(), i as u64 + 1, rule.trim().to_owned()));
                }
            }
        }
    }
    out
}

fn check_system(system: &str) {
    let root = fixture(&format!("ci/{system}"));
    let out = leakhound()
        .current_dir(&root)
        .args(["scan", ".", "--format", "json", "--no-ignore"])
        .output()
        .unwrap();
    let doc = json(&out.stdout);
    let got: BTreeSet<(String, u64, String)> = findings(&doc)
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("ci."))
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["rule_id"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let want = expected(&root);
    assert!(!want.is_empty());
    assert_eq!(got, want, "{system}: reported vs marked");
    for f in findings(&doc)
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("ci."))
    {
        assert!(f["detail"].as_str().is_some_and(|d| !d.is_empty()), "{f:#}");
        assert!(f["ci_system"].is_string());
    }
}

#[test]
fn github_actions() {
    check_system("github");
    let root = fixture("ci/github");
    let out = leakhound()
        .current_dir(&root)
        .args(["scan", ".", "--format", "json"])
        .output()
        .unwrap();
    let doc = json(&out.stdout);
    let f = findings(&doc)
        .iter()
        .find(|f| f["rule_id"] == "ci.secret-on-command-line")
        .unwrap()
        .clone();
    assert_eq!(
        (f["job"].as_str(), f["step"].as_str()),
        (Some("deploy"), Some("login"))
    );
    let lit = findings(&doc)
        .iter()
        .find(|f| f["rule_id"] == "ci.literal-credential" && f["line"] == 13)
        .unwrap()
        .clone();
    assert_eq!(lit["column"], 20, "the column of the value");
    assert!(
        lit["secret"].as_str().unwrap().ends_with('…'),
        "literal values are redacted"
    );
}

#[test]
fn gitlab_ci_and_its_includes() {
    check_system("gitlab");
}

#[test]
fn circleci() {
    check_system("circleci");
}

#[test]
fn azure_pipelines() {
    check_system("azure");
}

#[test]
fn bitbucket_pipelines() {
    check_system("bitbucket");
}

#[test]
fn travis() {
    check_system("travis");
}

#[test]
fn drone() {
    check_system("drone");
}

#[test]
fn buildkite() {
    check_system("buildkite");
}

#[test]
fn jenkinsfile() {
    check_system("jenkins");
}

#[test]
fn github_annotations_and_gitlab_report_formats() {
    let root = fixture("ci/github");
    let out = leakhound()
        .current_dir(&root)
        .args(["scan", ".", "--format", "github"])
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    let line = text
        .lines()
        .find(|l| l.contains("ci.untrusted-checkout"))
        .unwrap();
    assert!(
        line.starts_with("::error file=.github/workflows/pr.yml,line=9,col="),
        "{line}"
    );
    assert!(
        text.lines()
            .last()
            .unwrap()
            .starts_with("::notice title=leakhound::")
    );

    let out = leakhound()
        .current_dir(&root)
        .args(["scan", ".", "--format", "gitlab"])
        .assert()
        .code(1);
    let doc = json(&out.get_output().stdout);
    assert_eq!(doc["scan"]["type"], "secret_detection");
    assert_eq!(doc["scan"]["status"], "success");
    let v = doc["vulnerabilities"].as_array().unwrap();
    assert!(!v.is_empty());
    for x in v {
        assert_eq!(x["category"], "secret_detection");
        assert!(["Critical", "High", "Medium", "Low"].contains(&x["severity"].as_str().unwrap()));
        assert!(
            x["location"]["file"].is_string() && x["location"]["start_line"].as_u64().unwrap() >= 1
        );
        assert_eq!(x["location"]["commit"]["sha"].as_str().unwrap().len(), 40);
        assert_eq!(x["identifiers"][0]["type"], "leakhound_rule_id");
    }
    let ids: BTreeSet<&str> = v.iter().map(|x| x["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), v.len(), "ids are unique");
}
