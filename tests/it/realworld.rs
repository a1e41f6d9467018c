//! Precision and recall on real third-party code (issue 13).
//!
//! `fixtures/realworld/` holds lines that real packages ship and that a naive generic detector
//! reports (each file's origin is in `fixtures/realworld/SOURCES.md`): a default scan over them
//! must stay quiet. The other tests plant real-format credentials where real leaks happen inside
//! vendored trees (an internal package in `node_modules/`, a `settings.py` in `site-packages/`,
//! a shell profile, an `.npmrc`) among those same lines, and every one must still be reported.

use std::{fs, path::Path};

use crate::util::{findings, fixture, github_token, scan_json, stripe_key};

fn scan(dir: &Path, extra: &[&str]) -> serde_json::Value {
    scan_json(dir, extra).1
}

fn write(root: &Path, path: &str, text: &str) {
    let full = root.join(path);
    fs::create_dir_all(full.parent().unwrap()).unwrap();
    fs::write(full, text).unwrap();
}

#[test]
fn real_third_party_lines_are_quiet_by_default() {
    let report = scan(&fixture("realworld"), &[]);
    let found: Vec<String> = findings(&report)
        .iter()
        .map(|f| format!("{}:{} {}", f["path"], f["line"], f["rule_id"]))
        .collect();
    assert!(found.is_empty(), "false findings: {found:#?}");
    // The fixture is not empty of candidates: the generic rules match there, and the context
    // decides. Some of them stay visible at low confidence, for who asks.
    let all = scan(&fixture("realworld"), &["--min-confidence", "low"]);
    assert!(!findings(&all).is_empty());
    assert!(
        findings(&all).iter().all(|f| f["confidence"] == "low"),
        "{:#?}",
        findings(&all)
    );
    assert_eq!(
        report["stats"]["below_confidence"].as_u64(),
        Some(findings(&all).len() as u64)
    );
}

#[test]
fn leaks_inside_vendored_trees_are_still_found() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // The real third-party lines, vendored alongside the leaks.
    let cp = |from: &Path, to: &Path| {
        let status = std::process::Command::new("cp")
            .arg("-r")
            .arg(from)
            .arg(to)
            .status()
            .unwrap();
        assert!(status.success());
    };
    cp(&fixture("realworld"), &root.join("vendor-copy"));
    let aws_id = ["AKIA", "QY7MZ2KX4PLR3VWN"].concat();
    let aws_secret = ["k9Qz2XvB7mLp4", "Rt8Wn3Yc6Jd1Hf5Gs0Ua/Ie2Ko"].concat();
    let db_password = ["Vq7#", "mZ2!pLx9"].concat();
    let django_key = ["p8#zq2!v6m", "k4@x9w1r7t3y5u0i8o2e6a4s9d1f7g3h(j5k=l8z"].concat();
    let api_key = ["Hb3kW9qZ", "7mT2xV5nR8cL4pY1"].concat();
    let generic_token = ["tQ5vN8", "xK2mZ7bW4rL9"].concat();
    let smtp = ["Lm4%Rt8", "@Yw2Zq"].concat();
    let github = github_token();
    let stripe = stripe_key();
    write(
        root,
        "node-app/node_modules/@acme-internal/billing/config.js",
        &format!(
            "module.exports = {{\n  region: 'eu-west-1',\n  accessKeyId: '{aws_id}',\n  \
             secretAccessKey: '{aws_secret}',\n  stripeKey: '{stripe}',\n  \
             paymentsApiKey: '{api_key}',\n}};\n"
        ),
    );
    write(
        root,
        "node-app/.npmrc",
        &format!("//npm.pkg.github.com/:_authToken={github}\n"),
    );
    write(
        root,
        "python/site-packages/acme_app/settings.py",
        &format!(
            "SECRET_KEY = '{django_key}'\nDATABASES = {{\n    'default': {{\n        \
             'ENGINE': 'django.db.backends.postgresql',\n        'PASSWORD': '{db_password}',\n    \
             }}\n}}\nEMAIL_HOST_PASSWORD = '{smtp}'\n"
        ),
    );
    write(
        root,
        "python/site-packages/acme_app/client.py",
        &format!("class Client:\n    token = \"{generic_token}\"\n"),
    );
    write(
        root,
        "debian/root/.bashrc",
        &format!("export PS1='$ '\nexport GITHUB_TOKEN={github}\n"),
    );
    write(
        root,
        "debian/etc/acme/app.conf",
        &format!("[db]\nhost = db.internal\npassword = {db_password}\n"),
    );
    write(
        root,
        "node-app/.env",
        &format!(
            "DATABASE_URL=postgres://app:{}@db.internal:5432/app\n",
            ["Wq8vT2", "nRk5Lp"].concat()
        ),
    );
    let report = scan(root, &[]);
    let found = findings(&report);
    let has = |path: &str, value_prefix: &str| {
        found.iter().any(|f| {
            f["path"].as_str().is_some_and(|p| p.ends_with(path)) && f["confidence"] != "low"
        }) || panic!("{path} ({value_prefix}…) not found: {found:#?}")
    };
    has("@acme-internal/billing/config.js", &aws_id[..4]);
    has(".npmrc", "ghp_");
    has("acme_app/settings.py", "SECRET_KEY");
    has("acme_app/client.py", "token");
    has("root/.bashrc", "ghp_");
    has("acme/app.conf", "password");
    has("node-app/.env", "postgres");
    let count = |path: &str| {
        found
            .iter()
            .filter(|f| f["path"].as_str().is_some_and(|p| p.ends_with(path)))
            .count()
    };
    // every planted value, not only one per file
    assert!(count("@acme-internal/billing/config.js") >= 4, "{found:#?}");
    assert_eq!(count("acme_app/settings.py"), 3, "{found:#?}");
    // and nothing from the vendored third-party lines next to them
    assert!(
        !found.iter().any(|f| f["path"]
            .as_str()
            .is_some_and(|p| p.contains("vendor-copy"))),
        "{found:#?}"
    );
}

#[test]
fn the_same_generic_value_in_many_files_is_data() {
    let dir = tempfile::tempdir().unwrap();
    let value = ["c7Hq2Lx9", "Vb4Nm8Kz3Rt6"].concat();
    for i in 0..5 {
        write(
            dir.path(),
            &format!("gen/part{i}/map.json"),
            &format!("{{\"auth_token\": \"{value}\"}}\n"),
        );
    }
    let report = scan(dir.path(), &[]);
    assert!(findings(&report).is_empty(), "{report:#?}");
    assert_eq!(report["stats"]["below_confidence"], 5);
    // in fewer files it is a leak
    let dir = tempfile::tempdir().unwrap();
    for i in 0..2 {
        write(
            dir.path(),
            &format!("svc{i}/config.json"),
            &format!("{{\"auth_token\": \"{value}\"}}\n"),
        );
    }
    assert_eq!(findings(&scan(dir.path(), &[])).len(), 2);
}

#[test]
fn min_confidence_high_keeps_only_strong_evidence() {
    let dir = tempfile::tempdir().unwrap();
    let password = ["Xk29!qLm", "#7zRw4"].concat();
    write(
        dir.path(),
        "app/config/database.yml",
        &format!("production:\n  password: \"{password}\"\n"),
    );
    write(
        dir.path(),
        "app/main.py",
        &format!("token = \"{}\"\n", ["tQ5vN8", "xK2mZ7bW4rL9"].concat()),
    );
    let report = scan(dir.path(), &["--min-confidence", "high"]);
    let f = findings(&report);
    assert_eq!(f.len(), 1, "{f:#?}");
    assert_eq!(f[0]["path"], "app/config/database.yml");
    assert_eq!(f[0]["confidence"], "high");
    let f = findings(&scan(dir.path(), &[])).clone();
    assert_eq!(f.len(), 2, "{f:#?}");
}

#[test]
fn the_config_file_sets_the_confidence_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let value = ["Xk29!qLm", "#7zRw4"].concat();
    write(
        dir.path(),
        "docs/setup.md",
        &format!("DB_PASSWORD={value}\n"),
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!((code, findings(&report).len()), (0, 0), "{report:#?}");
    write(
        dir.path(),
        ".leakhound.toml",
        "[scan]\nmin_confidence = \"low\"\n",
    );
    let (code, report) = scan_json(dir.path(), &[]);
    assert_eq!(code, 1);
    assert_eq!(findings(&report)[0]["confidence"], "low");
    // the flag overrides the file
    let (code, _) = scan_json(dir.path(), &["--min-confidence", "medium"]);
    assert_eq!(code, 0);
}

#[test]
fn a_rule_that_supersedes_another_reports_the_shared_prefix_alone() {
    // A Paystack secret key has Stripe's `sk_live_` prefix; the Paystack rule supersedes the
    // Stripe one on the same secret.
    let dir = tempfile::tempdir().unwrap();
    let key = ["sk_live_", "3f9c2e7a1b8d4f6e0a5c", "9b2d7e4f1a8c3b6d5e2f"].concat();
    write(
        dir.path(),
        "pay.env",
        &format!("PAYSTACK_SECRET_KEY={key}\n"),
    );
    let report = scan(dir.path(), &[]);
    let rules: Vec<&str> = findings(&report)
        .iter()
        .filter_map(|f| f["rule_id"].as_str())
        .filter(|r| !r.starts_with("file."))
        .collect();
    assert_eq!(rules, ["paystack.secret-key"], "{report:#?}");
    // without the Paystack context, the same key is Stripe's
    write(dir.path(), "pay.env", &format!("PAYMENTS_KEY={key}\n"));
    let report = scan(dir.path(), &[]);
    assert!(
        findings(&report)
            .iter()
            .any(|f| f["rule_id"] == "stripe.secret-key"),
        "{report:#?}"
    );
}
