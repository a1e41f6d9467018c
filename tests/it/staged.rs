//! `leakhound git --staged` (pre-commit) and `leakhound install-hook`.

use std::fs;

use crate::{
    gitrepo::{Repo, git_command},
    util::{findings, json, leakhound, slack_token, stripe_key, stripe_key_2},
};

fn staged(r: &Repo) -> (i32, Vec<serde_json::Value>, String) {
    let out = leakhound()
        .current_dir(r.path())
        .args(["git", "--staged", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let f = if out.stdout.is_empty() {
        Vec::new()
    } else {
        findings(&json(&out.stdout)).clone()
    };
    (out.status.code().unwrap(), f, stderr)
}

#[test]
fn only_added_lines_are_reported_with_real_line_numbers() {
    let r = Repo::init();
    // an old secret that is already committed
    r.write(
        "app/settings.py",
        format!("DEBUG = False\nOLD = '{}'\nX = 1\n", stripe_key()),
    );
    r.commit("init");
    r.write(
        "app/settings.py",
        format!(
            "DEBUG = False\nOLD = '{}'\nX = 1\nNEW = '{}'\n",
            stripe_key(),
            stripe_key_2()
        ),
    );
    r.git(&["add", "app/settings.py"]);
    let (code, f, stderr) = staged(&r);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(f.len(), 1, "only the added line: {f:#?}");
    assert_eq!(f[0]["path"], "app/settings.py");
    assert_eq!(f[0]["line"], 4);
    assert!(f[0]["secret"].as_str().unwrap().starts_with("sk_l"));
}

#[test]
fn unstaged_changes_are_not_scanned() {
    let r = Repo::init();
    r.write("a.txt", "a\n");
    r.commit("init");
    r.write("a.txt", format!("a\nk={}\n", stripe_key()));
    let (code, f, stderr) = staged(&r);
    assert_eq!(code, 0, "{stderr}");
    assert!(f.is_empty());
}

#[test]
fn new_repository_scans_whole_staged_files() {
    let r = Repo::init();
    r.write("deep/a/b/c.env", format!("one\ntwo\nT={}\n", slack_token()));
    r.git(&["add", "-A"]);
    let (code, f, _) = staged(&r);
    assert_eq!(code, 1);
    assert_eq!(
        (f[0]["path"].as_str(), f[0]["line"].as_u64()),
        (Some("deep/a/b/c.env"), Some(3))
    );
}

#[test]
fn unchanged_directories_are_skipped_but_new_files_anywhere_are_seen() {
    let r = Repo::init();
    for i in 0..30 {
        r.write(&format!("pkg{i}/mod{i}/file.txt"), format!("content {i}\n"));
    }
    r.commit("many dirs");
    // a new file in an existing, otherwise unchanged directory, and a modification elsewhere
    r.write("pkg7/mod7/new.env", format!("K={}\n", stripe_key()));
    r.write(
        "pkg20/mod20/file.txt",
        format!("content 20\nT={}\n", slack_token()),
    );
    r.git(&["add", "-A"]);
    let (code, f, stderr) = staged(&r);
    assert_eq!(code, 1, "{stderr}");
    let mut got: Vec<(String, u64)> = f
        .iter()
        .map(|x| {
            (
                x["path"].as_str().unwrap().to_owned(),
                x["line"].as_u64().unwrap(),
            )
        })
        .collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("pkg20/mod20/file.txt".to_owned(), 2),
            ("pkg7/mod7/new.env".to_owned(), 1)
        ]
    );
}

#[test]
fn deletions_and_clean_changes_pass() {
    let r = Repo::init();
    r.write("a.env", format!("K={}\n", stripe_key()));
    r.write("b.txt", "b\n");
    r.commit("init");
    r.git(&["rm", "-q", "a.env"]);
    r.write("b.txt", "b\nmore\n");
    r.git(&["add", "b.txt"]);
    let (code, f, stderr) = staged(&r);
    assert_eq!(code, 0, "{f:#?} {stderr}");
}

#[test]
fn fails_closed_outside_a_repository_in_a_bare_one_and_with_a_corrupt_index() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["git", "--staged"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("not a git repository"));

    let r = Repo::init();
    r.write("a.txt", "a\n");
    r.commit("init");
    let bare = tempfile::tempdir().unwrap();
    assert!(
        git_command(bare.path())
            .args(["clone", "-q", "--bare"])
            .arg(r.path())
            .arg("b.git")
            .status()
            .unwrap()
            .success()
    );
    let out = leakhound()
        .current_dir(bare.path().join("b.git"))
        .args(["git", "--staged"])
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("has no index"));

    r.write("b.txt", "b\n");
    r.git(&["add", "b.txt"]);
    fs::write(
        r.path().join(".git/index"),
        b"DIRC garbage that is not an index",
    )
    .unwrap();
    let out = leakhound()
        .current_dir(r.path())
        .args(["git", "--staged"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(stderr.contains("cannot read the index"), "{stderr}");
}

#[test]
fn installed_hook_blocks_a_secret_and_passes_a_clean_commit() {
    let r = Repo::init();
    r.write("a.txt", "a\n");
    r.commit("init");
    leakhound()
        .current_dir(r.path())
        .arg("install-hook")
        .assert()
        .success();
    let hook = fs::read_to_string(r.path().join(".git/hooks/pre-commit")).unwrap();
    assert!(hook.contains("git --staged"));

    r.write("leak.env", format!("K={}\n", stripe_key()));
    r.git(&["add", "leak.env"]);
    let blocked = git_command(r.path())
        .args(["commit", "-q", "-m", "leak"])
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(!blocked.status.success(), "the hook must block the commit");
    // git sends a hook's output to stderr
    let said = String::from_utf8_lossy(&blocked.stderr).into_owned();
    assert!(
        said.contains("stripe.") && !said.contains(&stripe_key()),
        "{said}"
    );
    assert_eq!(r.git(&["rev-list", "--count", "HEAD"]), "1");

    r.git(&["rm", "-q", "--cached", "leak.env"]);
    fs::remove_file(r.path().join("leak.env")).unwrap();
    r.write("ok.txt", "fine\n");
    r.git(&["add", "ok.txt"]);
    let ok = git_command(r.path())
        .args(["commit", "-q", "-m", "clean"])
        .env("PATH", "/usr/bin:/bin")
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    assert_eq!(r.git(&["rev-list", "--count", "HEAD"]), "2");

    // a hook leakhound did not write is not replaced without --force
    fs::write(
        r.path().join(".git/hooks/pre-commit"),
        "#!/bin/sh\necho mine\n",
    )
    .unwrap();
    leakhound()
        .current_dir(r.path())
        .arg("install-hook")
        .assert()
        .code(2);
    leakhound()
        .current_dir(r.path())
        .args(["install-hook", "--force"])
        .assert()
        .success();
}
