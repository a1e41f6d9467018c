//! Hostile CI configurations: a workflow with a syntax error, one nested far too deep, and a
//! very large one. None may stall or crash the scan; each still gets the `ci.*` findings of
//! the parts that parse (with a warning that names the file when something was left out), and
//! the plain rules still see the whole file.

use std::{fs, path::Path};

use crate::util::{findings, json, leakhound, stripe_key};

/// A `pull_request_target` workflow whose job checks out the pull request's head (line 9)
/// and then runs it (line 10).
const UNTRUSTED: &str = "name: pr
on: pull_request_target
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          ref: ${{ github.event.pull_request.head.sha }}
      - run: npm ci && npm test
";

/// A literal password, assembled so that this source file holds none.
fn literal_password() -> String {
    ["hunter", "22"].concat()
}

/// Scans a directory holding `.github/workflows/pr.yml` with `text`: exit code, report, stderr.
fn scan_workflow(text: &str) -> (i32, serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join(".github/workflows");
    fs::create_dir_all(&workflows).unwrap();
    fs::write(workflows.join("pr.yml"), text).unwrap();
    scan(dir.path())
}

fn scan(dir: &Path) -> (i32, serde_json::Value, String) {
    let out = leakhound()
        .current_dir(dir)
        .args([
            "scan",
            ".",
            "--format",
            "json",
            "--max-file-size",
            "0",
            "--no-progress",
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        !stderr.contains("overflowed its stack") && !stderr.contains("panicked"),
        "{stderr}"
    );
    (out.status.code().unwrap(), json(&out.stdout), stderr)
}

/// `(rule_id, line)` of every finding, sorted.
fn rules_and_lines(doc: &serde_json::Value) -> Vec<(String, u64)> {
    let mut v: Vec<(String, u64)> = findings(doc)
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// The `ci.*` findings as `(rule_id, line)`.
fn ci_findings(doc: &serde_json::Value) -> Vec<(String, u64)> {
    rules_and_lines(doc)
        .into_iter()
        .filter(|(r, _)| r.starts_with("ci."))
        .collect()
}

fn has(doc: &serde_json::Value, rule: &str, line: u64) -> bool {
    rules_and_lines(doc)
        .iter()
        .any(|(r, l)| r == rule && *l == line)
}

/// The warning about what the CI analysis of `pr.yml` left out, if any.
fn ci_warning(stderr: &str) -> Option<&str> {
    stderr
        .lines()
        .find(|l| l.contains("pr.yml") && l.contains("the CI configuration"))
}

#[test]
fn a_syntax_error_later_in_a_workflow_keeps_the_findings_before_and_after_it() {
    // Line 14 cannot be parsed (`@` cannot start a YAML value); the `env` block after it can.
    let text = format!(
        "{UNTRUSTED}  lint:
    runs-on: ubuntu-latest
    steps:
      - run: @oops
env:
  DB_PASSWORD: {}
",
        literal_password()
    );
    let (code, doc, stderr) = scan_workflow(&text);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        ci_findings(&doc),
        vec![
            ("ci.literal-credential".to_owned(), 16),
            ("ci.untrusted-checkout".to_owned(), 9),
        ],
        "{doc:#}"
    );
    let f = findings(&doc)
        .iter()
        .find(|f| f["rule_id"] == "ci.untrusted-checkout")
        .unwrap();
    assert_eq!(f["job"], "test");
    let warning = ci_warning(&stderr).unwrap_or_else(|| panic!("no warning in {stderr}"));
    assert!(
        warning.contains("warning") && warning.contains("not valid YAML (line 14"),
        "{warning}"
    );
}

#[test]
fn a_syntax_error_inside_the_job_still_finds_the_untrusted_checkout_by_lines() {
    // The unclosed `[` on line 5 swallows the steps: the parsed tree has none of them, and the
    // line scan finds the checkout of the head (line 9) followed by a `run` (line 10).
    let text = UNTRUSTED.replace("runs-on: ubuntu-latest", "runs-on: [ubuntu-latest");
    let (code, doc, stderr) = scan_workflow(&text);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        ci_findings(&doc),
        vec![("ci.untrusted-checkout".to_owned(), 9)],
        "{doc:#}"
    );
    let f = findings(&doc)
        .iter()
        .find(|f| f["rule_id"] == "ci.untrusted-checkout")
        .unwrap();
    assert_eq!(f["job"], "test");
    assert!(ci_warning(&stderr).is_some(), "{stderr}");

    // The same without the trigger is nothing to report.
    let safe = text.replace("pull_request_target", "pull_request");
    let (code, doc, stderr) = scan_workflow(&safe);
    assert_eq!(code, 0, "{stderr}");
    assert!(ci_findings(&doc).is_empty(), "{doc:#}");
}

#[test]
fn flow_nesting_300_deep_keeps_the_ci_findings_and_the_plain_secret() {
    let text = format!(
        "{UNTRUSTED}deep: {}1{}\nstripe: {}\n",
        "[".repeat(300),
        "]".repeat(300),
        stripe_key()
    );
    let (code, doc, stderr) = scan_workflow(&text);
    assert_eq!(code, 1, "{stderr}");
    assert!(has(&doc, "stripe.secret-key", 12), "{doc:#}");
    assert!(has(&doc, "ci.untrusted-checkout", 9), "{doc:#}");
    assert!(ci_warning(&stderr).is_some(), "{stderr}");
}

#[test]
fn block_nesting_20000_deep_neither_crashes_nor_hides_findings() {
    // Twenty thousand nested sequences in 40 KB (`- - - … x`): a recursive parser or tree walk
    // overflows its stack on this and aborts the whole scan.
    let text = format!(
        "{UNTRUSTED}deep:\n  {}x\nstripe: {}\n",
        "- ".repeat(20_000),
        stripe_key()
    );
    let (code, doc, stderr) = scan_workflow(&text);
    assert_eq!(code, 1, "{stderr}");
    assert!(has(&doc, "stripe.secret-key", 13), "{doc:#}");
    assert!(has(&doc, "ci.untrusted-checkout", 9), "{doc:#}");
    let warning = ci_warning(&stderr).unwrap_or_else(|| panic!("no warning in {stderr}"));
    assert!(warning.contains("nests deeper than"), "{warning}");
}

#[test]
fn a_large_workflow_is_analysed_whole() {
    // About 8 MiB: thousands of jobs of twenty steps each, with one finding of each kind at the
    // start and at the end. (No timing is asserted; the scan must finish and find them.)
    let mut text = UNTRUSTED.to_owned();
    let mut job = 0;
    while text.len() < 8 << 20 {
        text.push_str(&format!(
            "  job{job}:\n    runs-on: ubuntu-latest\n    env:\n      BUILD_ID: build-{job}\n    steps:\n"
        ));
        for step in 0..20 {
            text.push_str(&format!(
                "      - name: step {job}.{step}\n        run: |\n          echo building part {step} of {job}\n          make -C part{step} all\n"
            ));
        }
        job += 1;
    }
    let before = text.lines().count() as u64;
    text.push_str(&format!(
        "  last:\n    runs-on: ubuntu-latest\n    env:\n      DB_PASSWORD: {}\n    steps:\n      - name: leak\n        run: echo ${{{{ secrets.DEPLOY_TOKEN }}}}\n",
        literal_password()
    ));
    let (code, doc, stderr) = scan_workflow(&text);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        ci_findings(&doc),
        vec![
            ("ci.literal-credential".to_owned(), before + 4),
            ("ci.secret-in-logs".to_owned(), before + 7),
            ("ci.untrusted-checkout".to_owned(), 9),
        ],
        "{stderr}"
    );
    assert!(ci_warning(&stderr).is_none(), "{stderr}");
}

/// A later window of a large file starts mid-document: the CI analysis is not run on it (it
/// would report syntax errors the file does not have); the plain rules still are.
#[test]
fn later_windows_of_a_large_file_skip_the_ci_analysis() {
    use leakhound::{
        analysis::{Analyzer, Blob, Settings},
        detect::Detector,
        rules::RuleSet,
    };
    let rules = std::sync::Arc::new(RuleSet::builtin().unwrap());
    let analyzer = Analyzer::new(Detector::new(rules), Settings::default());
    let mut work = analyzer.workspace();
    // What a window that starts inside a run script looks like.
    let fragment = format!(
        "        echo one\n      - run: |\n  [unclosed\nenv:\n  STRIPE_KEY: {}\n",
        crate::util::stripe_key()
    );
    let blob = Blob {
        bytes: fragment.as_bytes(),
        paths: &[".github/workflows/big.yml"],
    };
    let first = analyzer.analyze_part(blob, &mut work, false);
    let later = analyzer.analyze_part(blob, &mut work, true);
    assert!(
        !first.notes.is_empty(),
        "the first window is analysed as CI"
    );
    assert!(later.notes.is_empty(), "{:?}", later.notes);
    let rules_of = |a: &leakhound::analysis::Analysis| -> Vec<String> {
        a.located
            .iter()
            .map(|l| analyzer.detector().rule(l.rule).id.clone())
            .collect()
    };
    assert!(rules_of(&later).iter().any(|r| r.starts_with("stripe.")));
    assert!(!rules_of(&later).iter().any(|r| r.starts_with("ci.")));
}
