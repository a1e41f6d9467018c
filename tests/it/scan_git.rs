//! `leakhound git`: history built in real repositories, every case asserting the attributed
//! commit and path.

use std::fs;

use serde_json::Value;

use crate::{
    gitrepo::{Repo, git_command},
    util::{findings, json, leakhound, slack_token, stripe_key, stripe_key_2},
};

/// Runs `leakhound git` with JSON output; returns (exit code, findings, stderr, whole document).
fn scan(dir: &std::path::Path, extra: &[&str]) -> (i32, Vec<Value>, String, Value) {
    let out = leakhound()
        .current_dir(dir)
        .args(["git", "."])
        .args(extra)
        .args(["--format", "json"])
        .output()
        .unwrap();
    let doc = json(&out.stdout);
    let f = findings(&doc).clone();
    (
        out.status.code().unwrap(),
        f,
        String::from_utf8_lossy(&out.stderr).into_owned(),
        doc,
    )
}

fn with_rule<'a>(f: &'a [Value], prefix: &str) -> Vec<&'a Value> {
    f.iter()
        .filter(|x| x["rule_id"].as_str().unwrap().starts_with(prefix))
        .collect()
}

#[test]
fn secret_added_then_deleted_is_attributed_and_flagged_as_removed() {
    let r = Repo::init();
    r.write("README", "hello\n");
    r.commit("init");
    r.write(
        "config/prod.env",
        format!("A=1\nSTRIPE_KEY={}\n", stripe_key()),
    );
    let added = r.commit("add prod config");
    fs::remove_file(r.path().join("config/prod.env")).unwrap();
    r.commit("remove prod config");
    let (code, f, _, doc) = scan(r.path(), &[]);
    assert_eq!(code, 1);
    let s = with_rule(&f, "stripe.");
    assert_eq!(s.len(), 1, "{f:#?}");
    assert_eq!(s[0]["commit"], added.as_str());
    assert_eq!(s[0]["path"], "config/prod.env");
    assert_eq!(s[0]["line"], 2);
    assert_eq!(s[0]["in_head"], false);
    assert_eq!(s[0]["author"], "Ada Tester");
    assert_eq!(s[0]["email"], "ada@example.invalid");
    assert_eq!(s[0]["date"], "2024-03-01T12:00:00+01:00");
    assert_eq!(s[0]["summary"], "add prod config");
    assert!(
        s[0]["note"]
            .as_str()
            .unwrap()
            .contains("rewriting history does not un-leak it")
    );
    assert_eq!(doc["stats"]["commits"], 3);
}

#[test]
fn secret_only_on_a_side_branch() {
    let r = Repo::init();
    r.write("a.txt", "a\n");
    r.commit("init");
    r.git(&["checkout", "-q", "-b", "feature"]);
    r.write("feature.py", format!("KEY = '{}'\n", stripe_key()));
    let on_branch = r.commit("feature work");
    r.git(&["checkout", "-q", "main"]);
    let (code, f, _, _) = scan(r.path(), &[]);
    assert_eq!(code, 1);
    let s = with_rule(&f, "stripe.");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["commit"], on_branch.as_str());
    assert_eq!(s[0]["path"], "feature.py");
    // HEAD (main) does not have it
    assert_eq!(s[0]["in_head"], false);
}

#[test]
fn secret_only_reachable_from_a_tag() {
    let r = Repo::init();
    r.write("a.txt", "a\n");
    r.commit("init");
    r.git(&["checkout", "-q", "-b", "release"]);
    r.write("deploy/creds.txt", format!("token: {}\n", slack_token()));
    let tagged = r.commit("release build");
    r.git(&["tag", "-a", "v1.0", "-m", "v1.0"]);
    r.git(&["checkout", "-q", "main"]);
    r.git(&["branch", "-q", "-D", "release"]);
    let (_, f, _, _) = scan(r.path(), &[]);
    let s = with_rule(&f, "slack.");
    assert_eq!(s.len(), 1, "{f:#?}");
    assert_eq!(s[0]["commit"], tagged.as_str());
    assert_eq!(s[0]["path"], "deploy/creds.txt");
}

#[test]
fn secret_introduced_by_a_merge_commit() {
    let r = Repo::init();
    r.write("a.txt", "a\n");
    r.commit("init");
    r.git(&["checkout", "-q", "-b", "side"]);
    r.write("side.txt", "side\n");
    r.commit("side");
    r.git(&["checkout", "-q", "main"]);
    r.write("main.txt", "main\n");
    r.commit("main");
    r.git(&["merge", "-q", "--no-ff", "--no-commit", "side"]);
    r.write("merge-fix.env", format!("STRIPE={}\n", stripe_key()));
    let merge = r.commit("merge side");
    assert_eq!(
        r.git(&["rev-list", "--parents", "-n1", "HEAD"])
            .split(' ')
            .count(),
        3,
        "a real merge"
    );
    let (_, f, _, _) = scan(r.path(), &[]);
    let s = with_rule(&f, "stripe.");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0]["commit"], merge.as_str());
    assert_eq!(s[0]["path"], "merge-fix.env");
    assert_eq!(s[0]["in_head"], true);
    assert!(s[0].get("note").is_none());
}

#[test]
fn renamed_file_reports_each_path_with_its_commit() {
    let r = Repo::init();
    r.write("old/name.yml", format!("key: {}\n", stripe_key()));
    let first = r.commit("add");
    r.git(&["mv", "old/name.yml", "new-name.yml"]);
    let renamed = r.commit("rename");
    let (_, f, _, _) = scan(r.path(), &[]);
    let s = with_rule(&f, "stripe.");
    assert_eq!(s.len(), 2, "{f:#?}");
    let by_path = |p: &str| {
        s.iter()
            .find(|x| x["path"] == p)
            .unwrap_or_else(|| panic!("no finding at {p}: {s:#?}"))
    };
    assert_eq!(by_path("old/name.yml")["commit"], first.as_str());
    assert_eq!(by_path("new-name.yml")["commit"], renamed.as_str());
    assert_eq!(s[0]["secret_id"], s[1]["secret_id"]);
    assert_eq!(
        s[0]["blob"], s[1]["blob"],
        "one blob, scanned once, two places"
    );
    assert!(s.iter().all(|x| x["in_head"] == true));
}

#[test]
fn same_secret_in_two_files_and_blob_scanned_once() {
    let r = Repo::init();
    let content = format!("x=1\nkey={}\n", stripe_key());
    r.write("a/one.env", &content);
    r.write("b/two.env", &content);
    r.write(
        "c/three.env",
        format!("other\nline\nkey={}\n", stripe_key()),
    );
    let c = r.commit("copies");
    let (_, f, _, doc) = scan(r.path(), &[]);
    let s = with_rule(&f, "stripe.");
    let mut paths: Vec<(&str, u64)> = s
        .iter()
        .map(|x| (x["path"].as_str().unwrap(), x["line"].as_u64().unwrap()))
        .collect();
    paths.sort();
    assert_eq!(
        paths,
        vec![("a/one.env", 2), ("b/two.env", 2), ("c/three.env", 3)]
    );
    assert!(s.iter().all(|x| x["commit"] == c.as_str()));
    assert!(s.iter().all(|x| x["secret_id"] == s[0]["secret_id"]));
    // two distinct blobs were scanned, not three
    assert_eq!(doc["stats"]["files"], 2);
}

#[test]
fn binary_and_large_blobs_are_skipped_with_reasons() {
    let r = Repo::init();
    let mut bin = b"\x7fELF\0\0\0\x01".to_vec();
    bin.extend_from_slice(format!("\n{}\n", stripe_key()).as_bytes());
    r.write("bin/tool", &bin);
    let big = format!("{}\nkey={}\n", "y".repeat(10_000), stripe_key_2());
    r.write("data/big.txt", &big);
    let c = r.commit("binaries");
    let (code, f, stderr, doc) = scan(r.path(), &["--max-file-size", "4K"]);
    assert_eq!(code, 0, "{f:#?}");
    assert_eq!(doc["stats"]["by_kind"]["binary"], 1);
    assert_eq!(doc["stats"]["by_kind"]["too_large"], 1);
    assert!(stderr.contains("skipped data/big.txt"), "{stderr}");
    let (_, f, _, _) = scan(r.path(), &[]);
    let s = with_rule(&f, "stripe.");
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0]["path"].as_str(), s[0]["commit"].as_str()),
        (Some("data/big.txt"), Some(c.as_str()))
    );
    assert_eq!(s[0]["line"], 2);
}

#[test]
fn empty_repository_is_clean() {
    let r = Repo::init();
    let (code, f, stderr, doc) = scan(r.path(), &[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(f.is_empty());
    assert_eq!(doc["stats"]["commits"], 0);
}

#[test]
fn bare_clone_gives_the_same_findings() {
    let r = Repo::init();
    r.write("s.env", format!("K={}\n", stripe_key()));
    let c = r.commit("secret");
    let bare = tempfile::tempdir().unwrap();
    let status = git_command(bare.path())
        .args(["clone", "-q", "--bare"])
        .arg(r.path())
        .arg("repo.git")
        .status()
        .unwrap();
    assert!(status.success());
    let (code, f, _, _) = scan(&bare.path().join("repo.git"), &[]);
    assert_eq!(code, 1);
    let s = with_rule(&f, "stripe.");
    assert_eq!(
        (s[0]["path"].as_str(), s[0]["commit"].as_str()),
        (Some("s.env"), Some(c.as_str()))
    );
    assert_eq!(s[0]["in_head"], true);
}

#[test]
fn corrupt_loose_object_is_an_error_and_the_scan_goes_on() {
    let r = Repo::init();
    r.write("good.env", format!("K={}\n", stripe_key()));
    r.write("bad.env", format!("K={}\n", stripe_key_2()));
    let c = r.commit("two secrets");
    let bad = r.git(&["rev-parse", "HEAD:bad.env"]);
    let obj = r.loose_object(&bad);
    let mut perms = fs::metadata(&obj).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    perms.set_readonly(false);
    fs::set_permissions(&obj, perms).unwrap();
    fs::write(&obj, b"this is not zlib data").unwrap();
    let (code, f, stderr, doc) = scan(r.path(), &[]);
    // Why: the unreadable blob is an unscanned place; the run fails closed.
    assert_eq!(code, 2, "an incomplete scan: {stderr}");
    assert!(
        stderr.contains(&bad),
        "the error names the object: {stderr}"
    );
    let s = with_rule(&f, "stripe.");
    assert_eq!(s.len(), 1);
    assert_eq!(
        (s[0]["path"].as_str(), s[0]["commit"].as_str()),
        (Some("good.env"), Some(c.as_str()))
    );
    assert_eq!(doc["stats"]["errors"], 1);
    let (code, _, stderr, _) = scan(r.path(), &["--allow-incomplete"]);
    assert_eq!(code, 1, "accepted as incomplete: {stderr}");
}

#[test]
fn since_commit_and_range_scan_only_new_commits() {
    let r = Repo::init();
    r.write("old.env", format!("K={}\n", stripe_key()));
    let base = r.commit("old secret");
    r.write("notes.txt", "n\n");
    r.commit("unrelated");
    r.write("new.env", format!("T={}\n", slack_token()));
    let newc = r.commit("new secret");
    for args in [vec!["--since-commit", base.as_str()], vec!["--range"]] {
        let range = format!("{base}..HEAD");
        let mut a = args.clone();
        if a == ["--range"] {
            a.push(&range);
        }
        let (code, f, stderr, doc) = scan(r.path(), &a);
        assert_eq!(code, 1, "{stderr}");
        assert!(
            with_rule(&f, "stripe.").is_empty(),
            "old secret must not be reported: {f:#?}"
        );
        let s = with_rule(&f, "slack.");
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0]["path"].as_str(), s[0]["commit"].as_str()),
            (Some("new.env"), Some(newc.as_str()))
        );
        assert_eq!(doc["stats"]["commits"], 2);
        // unchanged blobs of the base are not rescanned
        assert_eq!(doc["stats"]["files"], 2);
    }
    let out = leakhound()
        .current_dir(r.path())
        .args(["git", ".", "--range", "nope..HEAD"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    assert!(
        stderr.contains("cannot resolve revision \"nope\""),
        "{stderr}"
    );
}

#[test]
fn all_objects_finds_dangling_blobs() {
    let r = Repo::init();
    r.write("a.txt", "a\n");
    r.commit("init");
    let tmp = r.path().join("dangling.txt");
    fs::write(&tmp, format!("K={}\n", stripe_key())).unwrap();
    let blob = r.git(&["hash-object", "-w", "dangling.txt"]);
    fs::remove_file(&tmp).unwrap();
    let (code, f, _, _) = scan(r.path(), &[]);
    assert_eq!(code, 0, "{f:#?}");
    let (code, f, _, _) = scan(r.path(), &["--all-objects"]);
    assert_eq!(code, 1);
    let s = with_rule(&f, "stripe.");
    assert_eq!(s[0]["blob"], blob.as_str());
    assert!(s[0].get("commit").is_none());
    assert_eq!(s[0]["path"], format!("unreachable blob {blob}").as_str());
}

#[test]
fn shallow_clones_and_submodules_are_noted() {
    let r = Repo::init();
    r.write("s.env", format!("K={}\n", stripe_key()));
    r.commit("one");
    r.write("b.txt", "b\n");
    r.commit("two");
    let sub = r.git(&["rev-parse", "HEAD"]);
    r.git(&[
        "update-index",
        "--add",
        "--cacheinfo",
        &format!("160000,{sub},vendored"),
    ]);
    r.git(&["commit", "-q", "-m", "add submodule"]);
    let (_, _, stderr, _) = scan(r.path(), &[]);
    assert!(
        stderr.contains("1 submodule entry was not followed"),
        "{stderr}"
    );

    let shallow = tempfile::tempdir().unwrap();
    let url = format!("file://{}", r.path().display());
    let status = git_command(shallow.path())
        .args(["clone", "-q", "--depth", "1", &url, "c"])
        .status()
        .unwrap();
    assert!(status.success());
    let (code, f, stderr, doc) = scan(&shallow.path().join("c"), &[]);
    assert!(stderr.contains("shallow clone"), "{stderr}");
    assert_eq!(doc["stats"]["commits"], 1);
    // the secret is still in the tree of the one commit the clone has
    assert_eq!(code, 1);
    assert_eq!(with_rule(&f, "stripe.").len(), 1);
}

#[test]
fn not_a_repository_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["git", "."])
        .env("GIT_CEILING_DIRECTORIES", dir.path().parent().unwrap())
        .assert()
        .code(2);
    assert!(String::from_utf8_lossy(&out.get_output().stderr).contains("not a git repository"));
}

#[test]
fn sarif_for_history_is_valid_and_repo_relative() {
    let r = Repo::init();
    r.write("deep/dir/key.env", format!("K={}\n", stripe_key()));
    r.commit("add");
    let out = leakhound()
        .current_dir(r.path())
        .args(["git", ".", "--format", "sarif"])
        .assert()
        .code(1);
    let doc = json(&out.get_output().stdout);
    let res = &doc["runs"][0]["results"][0];
    assert_eq!(
        res["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "deep/dir/key.env"
    );
    assert!(res["properties"]["commit"].is_string());
    assert!(
        res["message"]["text"]
            .as_str()
            .unwrap()
            .contains("introduced in commit")
    );
}

#[test]
fn linked_worktrees_scan_history_and_staged_changes() {
    let r = Repo::init();
    r.write("a.txt", "a\n");
    r.commit("init");
    let linked = r.path().parent().unwrap().join(format!(
        "{}-linked",
        r.path().file_name().unwrap().to_string_lossy()
    ));
    r.git(&[
        "worktree",
        "add",
        "-q",
        linked.to_str().unwrap(),
        "-b",
        "feature",
    ]);
    fs::write(linked.join("k.env"), format!("K={}\n", stripe_key())).unwrap();
    let status = git_command(&linked)
        .args(["add", "k.env"])
        .status()
        .unwrap();
    assert!(status.success());
    let out = leakhound()
        .current_dir(&linked)
        .args(["git", "--staged", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(findings(&json(&out.stdout))[0]["path"], "k.env");
    let c = git_command(&linked)
        .args(["commit", "-q", "-m", "leak"])
        .status()
        .unwrap();
    assert!(c.success());
    // history read from the main work tree sees the commit on the worktree's branch
    let (code, f, _, _) = scan(r.path(), &[]);
    assert_eq!(code, 1);
    assert!(
        f.iter()
            .any(|x| x["path"] == "k.env" && x["in_head"] == false),
        "{f:#?}"
    );
    fs::remove_dir_all(&linked).unwrap();
}
