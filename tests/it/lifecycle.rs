//! Findings lifecycle: stable secret ids, grouping, suppressions (ignore file, inline,
//! baseline) and playbooks.

use std::fs;

use serde_json::Value;

use crate::{
    gitrepo::{Repo, git_command},
    util::{
        findings, fixture_copy, json, leakhound, scan_json, slack_token, stripe_key, stripe_key_2,
    },
};

fn ids_of(doc: &Value, rule_prefix: &str) -> Vec<String> {
    findings(doc)
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with(rule_prefix))
        .map(|f| f["secret_id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn moving_a_secret_keeps_its_id() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.env"), format!("K={}\n", stripe_key())).unwrap();
    let (_, before) = scan_json(dir.path(), &[]);
    fs::remove_file(dir.path().join("a.env")).unwrap();
    fs::create_dir(dir.path().join("moved")).unwrap();
    fs::write(
        dir.path().join("moved/b.yml"),
        format!("one: 1\ntwo: 2\nstripe: {}\n", stripe_key()),
    )
    .unwrap();
    let (_, after) = scan_json(dir.path(), &[]);
    assert_eq!(ids_of(&before, "stripe."), ids_of(&after, "stripe."));
    assert_eq!(findings(&after)[0]["line"], 3);
}

#[test]
fn an_ignore_entry_never_hides_a_different_secret_on_the_same_line() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("k.env"), format!("K={}\n", stripe_key())).unwrap();
    let (_, doc) = scan_json(dir.path(), &[]);
    let id = ids_of(&doc, "stripe.")[0].clone();
    fs::write(
        dir.path().join(".leakhoundignore"),
        format!("{id} # test key, revoked 2024-05\n"),
    )
    .unwrap();
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0);
    assert_eq!(doc["stats"]["suppressed"]["ignore"], 1);
    // a different secret on the very same line is reported
    fs::write(
        dir.path().join("k.env"),
        format!("K={} # and {}\n", stripe_key(), stripe_key_2()),
    )
    .unwrap();
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let f = findings(&doc);
    assert_eq!(f.len(), 1);
    assert_ne!(f[0]["secret_id"], id.as_str());
    assert_eq!(f[0]["line"], 1);
}

#[test]
fn ignore_file_scopes_paths_and_reports_invalid_and_stale_entries() {
    let dir = fixture_copy("tree");
    let (_, doc) = scan_json(dir.path(), &[]);
    let slack_id = ids_of(&doc, "slack.")[0].clone();
    fs::write(
        dir.path().join(".leakhoundignore"),
        format!(
            "# suppressions\n{slack_id} src/** # bot token of the test workspace\npath config/** # fixture values\n{} # stale: no such secret\n{slack_id}\n",
            "0".repeat(32)
        ),
    )
    .unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json"])
        .output()
        .unwrap();
    let doc = json(&out.stdout);
    let paths: Vec<&str> = findings(&doc)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(!paths.iter().any(|p| p.starts_with("config/")), "{paths:?}");
    assert!(ids_of(&doc, "slack.").is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains(".leakhoundignore:5: no reason"));

    let out = leakhound()
        .current_dir(dir.path())
        .args(["ignore", "check", "."])
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains(".leakhoundignore:4: stale: secret 00000000000000000000000000000000"),
        "{text}"
    );
    assert!(
        text.contains(".leakhoundignore:5: invalid: no reason"),
        "{text}"
    );
    assert!(
        !text.contains(":2: stale") && !text.contains(":3: stale"),
        "{text}"
    );
}

#[test]
fn inline_allow_works_in_every_comment_syntax_unless_refused() {
    let dir = tempfile::tempdir().unwrap();
    let k = stripe_key();
    let files = [
        ("a.sh", format!("K={k} # leakhound:allow\n")),
        ("b.js", format!("const k = '{k}'; // leakhound:allow\n")),
        (
            "c.sql",
            format!("-- leakhound:allow-next-line\nSELECT '{k}';\n"),
        ),
        (
            "d.css",
            format!("/* leakhound:allow */ .x {{ content: '{k}' }}\n"),
        ),
        (
            "e.html",
            format!("<!-- leakhound:allow-next-line -->\n<meta content=\"{k}\">\n"),
        ),
    ];
    for (name, text) in &files {
        fs::write(dir.path().join(name), text).unwrap();
    }
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["stats"]["suppressed"]["inline"], 5);
    let (code, doc) = scan_json(dir.path(), &["--no-inline-allow"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&doc).len(), 5);
    // the next-line marker does not allow its own line
    fs::write(
        dir.path().join("f.py"),
        format!("K = '{k}'  # leakhound:allow-next-line\n"),
    )
    .unwrap();
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&doc)[0]["path"], "f.py");
}

/// A directory with a secret in `old.env` and a baseline of it in `base.json`.
fn baselined_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("old.env"), format!("K={}\n", stripe_key())).unwrap();
    leakhound()
        .current_dir(dir.path())
        .args(["baseline", "create", ".", "-o", "base.json"])
        .assert()
        .success();
    dir
}

#[test]
fn baseline_reports_only_new_secrets_and_prune_drops_gone_ones() {
    let dir = baselined_dir();
    let text = fs::read_to_string(dir.path().join("base.json")).unwrap();
    let entries: Vec<&str> = text.lines().filter(|l| l.starts_with(", {")).collect();
    assert_eq!(entries.len(), 1, "{text}");
    assert!(
        entries
            .iter()
            .all(|e| !e.contains("line") && !e.contains("path")),
        "no positions: {text}"
    );
    let (code, _) = scan_json(dir.path(), &["--baseline", "base.json"]);
    assert_eq!(code, 0);
    fs::write(dir.path().join("new.env"), format!("T={}\n", slack_token())).unwrap();
    let (code, doc) = scan_json(dir.path(), &["--baseline", "base.json"]);
    assert_eq!(code, 1);
    assert_eq!(findings(&doc).len(), 1);
    assert!(
        findings(&doc)[0]["rule_id"]
            .as_str()
            .unwrap()
            .starts_with("slack.")
    );
    assert_eq!(doc["stats"]["suppressed"]["baseline"], 1);

    // prune: the old secret is gone
    leakhound()
        .current_dir(dir.path())
        .args(["baseline", "create", ".", "-o", "base.json"])
        .assert()
        .success();
    fs::remove_file(dir.path().join("old.env")).unwrap();
    leakhound()
        .current_dir(dir.path())
        .args(["baseline", "prune", ".", "--baseline", "base.json"])
        .assert()
        .success();
    let text = fs::read_to_string(dir.path().join("base.json")).unwrap();
    assert_eq!(text.matches("\"secret_id\"").count(), 1, "{text}");
    assert!(text.contains("slack."));
}

#[test]
fn baselines_from_two_branches_merge_without_conflict() {
    let r = Repo::init();
    r.write(".gitattributes", ".leakhound-baseline.json merge=union\n");
    r.write("known.env", format!("K={}\n", stripe_key()));
    let lh = |repo: &Repo| {
        leakhound()
            .current_dir(repo.path())
            .args(["baseline", "create", ".", "-o", ".leakhound-baseline.json"])
            .assert()
            .success();
    };
    lh(&r);
    r.commit("baseline");
    r.git(&["checkout", "-q", "-b", "one"]);
    r.write("one.env", format!("T={}\n", slack_token()));
    lh(&r);
    r.commit("one");
    r.git(&["checkout", "-q", "main"]);
    r.write("two.env", format!("K2={}\n", stripe_key_2()));
    lh(&r);
    r.commit("two");
    let merge = git_command(r.path())
        .args(["merge", "-q", "--no-edit", "one"])
        .output()
        .unwrap();
    assert!(
        merge.status.success(),
        "merge conflict: {}",
        String::from_utf8_lossy(&merge.stdout)
    );
    let text = fs::read_to_string(r.path().join(".leakhound-baseline.json")).unwrap();
    assert_eq!(text.matches("\"secret_id\"").count(), 3, "{text}");
    assert!(!text.contains("<<<<<<<"));
    // the merged baseline is valid and covers all three secrets
    let (code, doc) = scan_json(r.path(), &["--baseline", ".leakhound-baseline.json"]);
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(doc["stats"]["suppressed"]["baseline"], 3);
}

#[test]
fn group_emits_one_record_per_secret_with_locations() {
    let dir = fixture_copy("tree");
    fs::copy(dir.path().join(".env"), dir.path().join("config/.env.copy")).unwrap();
    let (_, flat) = scan_json(dir.path(), &[]);
    let (_, grouped) = scan_json(dir.path(), &["--group"]);
    let secrets = findings(&grouped);
    // 7 provider secrets + 2 structural findings (credentials in a committed .env file), each
    // in two places for the copied .env
    assert_eq!(secrets.len(), 9);
    assert_eq!(findings(&flat).len(), 13);
    let gh = secrets
        .iter()
        .find(|s| s["rule_id"].as_str().unwrap().starts_with("github."))
        .unwrap();
    let locs = gh["locations"].as_array().unwrap();
    assert_eq!(locs.len(), 2);
    assert!(locs.iter().all(|l| l["line"] == 3));
    assert!(gh["remediation"]["rotation"].is_string());
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "jsonl", "--group"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().count(), 9);
    for line in text.lines() {
        crate::util::json(line.as_bytes());
    }
}

#[test]
fn explain_prints_the_playbook_for_a_rule_or_a_reported_secret() {
    let out = leakhound()
        .args(["explain", "aws.access-key-id"])
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    for part in [
        "1. Revoke now",
        "2. Replace",
        "3. Look for misuse",
        "4. Rotate from now on",
        "critical",
    ] {
        assert!(text.contains(part), "{part} missing in {text}");
    }
    let dir = fixture_copy("tree");
    let report = dir.path().join("r.json");
    leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json", "-o"])
        .arg(&report)
        .assert()
        .code(1);
    let doc: Value = crate::util::json(&fs::read(&report).unwrap());
    let f = findings(&doc)
        .iter()
        .find(|f| f["rule_id"].as_str().unwrap().starts_with("stripe."))
        .unwrap()
        .clone();
    let id = f["secret_id"].as_str().unwrap();
    let out = leakhound()
        .args(["explain", id, "--report"])
        .arg(&report)
        .assert()
        .success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.contains(f["rule_name"].as_str().unwrap()) && text.contains(".env:4"),
        "{text}"
    );
    leakhound().args(["explain", id]).assert().code(2);
}

#[test]
fn committed_credential_files_get_structural_findings() {
    let dir = tempfile::tempdir().unwrap();
    let npm_token = ["npm", "_", "Qw8rT2vXz9LpKe4sN7bY1cH5mJ3fD6", "49cPDY"].concat();
    fs::write(
        dir.path().join(".npmrc"),
        format!("//registry.npmjs.org/:_authToken={npm_token}\n"),
    )
    .unwrap();
    fs::write(
        dir.path().join("npmrc-notes.txt"),
        format!("_authToken={npm_token}\n"),
    )
    .unwrap();
    let assignment = ["DB_PASS", "WORD=Xk29", "fLq0Zp81Wm\n"].concat();
    fs::write(dir.path().join(".env.example"), &assignment).unwrap();
    fs::write(dir.path().join(".env"), format!("{assignment}DEBUG=1\n")).unwrap();
    let (_, doc) = scan_json(dir.path(), &[]);
    let got: Vec<(String, String)> = findings(&doc)
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("file."))
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        got.contains(&("file.npmrc".into(), ".npmrc".into())),
        "{got:?}"
    );
    assert!(
        got.contains(&("file.dotenv".into(), ".env".into())),
        "{got:?}"
    );
    // the path scope keeps structural rules to their files
    assert!(
        !got.iter()
            .any(|(_, p)| p == "npmrc-notes.txt" || p == ".env.example"),
        "{got:?}"
    );
    let f = findings(&doc)
        .iter()
        .find(|f| f["rule_id"] == "file.npmrc")
        .unwrap();
    assert!(
        f["remediation"]["rotate"]
            .as_str()
            .unwrap()
            .contains(".gitignore")
    );
}

#[test]
fn kubernetes_secret_data_is_decoded_and_scanned() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let dir = tempfile::tempdir().unwrap();
    let manifest = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: app\ntype: Opaque\ndata:\n  stripe-key: {}\n  db-password: {}\n  username: {}\n  host: {}\n  region: {}\n",
        b64(&stripe_key()),
        b64("Pg-Vq83nLx02Kd7Rm4"),
        b64("admin"),
        b64("pg-7f3k2q9x.cluster-c1x2y3.eu-west-1.rds.amazonaws.com"),
        b64("eu-west-1")
    );
    fs::write(dir.path().join("secret.yaml"), &manifest).unwrap();
    let (code, doc) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    let got: Vec<(String, u64)> = findings(&doc)
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    // the decoded Stripe key is named by its provider rule, at the line of its data entry
    assert!(
        got.iter().any(|(r, l)| r.starts_with("stripe.") && *l == 7),
        "{got:?}"
    );
    // a real password no rule names is a structural finding; "admin" is not reported
    assert!(got.contains(&("file.k8s-secret".to_owned(), 8)), "{got:?}");
    // nor are the connection details next to the credentials
    assert!(!got.iter().any(|(_, l)| (9..=11).contains(l)), "{got:?}");
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--show-secrets", "--format", "json"])
        .output()
        .unwrap();
    let shown = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        shown.contains(&stripe_key()),
        "the decoded value is what is shown with --show-secrets"
    );
}

#[test]
fn findings_in_ci_configuration_carry_a_note() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join(".github/workflows")).unwrap();
    fs::write(
        dir.path().join(".github/workflows/deploy.yml"),
        format!("env:\n  STRIPE: {}\n", stripe_key()),
    )
    .unwrap();
    fs::write(
        dir.path().join("app.env"),
        format!("STRIPE={}\n", stripe_key_2()),
    )
    .unwrap();
    let (_, doc) = scan_json(dir.path(), &[]);
    for f in findings(&doc) {
        let in_ci = f["path"] == ".github/workflows/deploy.yml";
        assert_eq!(
            f["note"]
                .as_str()
                .is_some_and(|n| n.contains("CI/CD configuration")),
            in_ci,
            "{f:#}"
        );
    }
}

#[test]
fn prune_refuses_after_scan_errors_and_ignore_check_needs_a_file() {
    let dir = baselined_dir();
    let before = fs::read_to_string(dir.path().join("base.json")).unwrap();
    fs::remove_file(dir.path().join("old.env")).unwrap();
    // an unreadable input could hold a baselined secret: nothing is pruned
    let out = leakhound()
        .current_dir(dir.path())
        .args([
            "baseline",
            "prune",
            ".",
            "missing-dir",
            "--baseline",
            "base.json",
        ])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("not pruned"));
    assert_eq!(
        fs::read_to_string(dir.path().join("base.json")).unwrap(),
        before
    );

    let out = leakhound()
        .current_dir(dir.path())
        .args(["ignore", "check", "."])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("no ignore file"));
}
