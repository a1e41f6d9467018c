//! Broken histories fail closed: whatever could not be read is an error (exit 2, findings or
//! not) unless `--allow-incomplete` accepts it, and what could be read is still reported.

use crate::{
    gitrepo::Repo,
    util::{json, leakhound, stripe_key},
};

fn run_git(repo: &Repo, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let out = leakhound()
        .args(["git", "--format", "json", "--no-progress"])
        .args(extra)
        .arg(repo.path())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        json(&out.stdout),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A repository whose older history is in a pack cut in half, and whose newest commit (loose
/// objects) adds a secret.
fn truncated_history() -> Repo {
    let repo = Repo::init();
    for i in 0..3 {
        let filler: String = (0..3000)
            .map(|j| char::from(b'a' + ((i * 7 + j) % 26) as u8))
            .collect();
        repo.write(&format!("f{i}.txt"), filler);
        repo.commit(&format!("c{i}"));
    }
    repo.git(&["gc", "-q"]);
    // The newest commit's objects stay loose, outside the pack that is cut below.
    repo.write("config.env", format!("STRIPE_KEY={}\n", stripe_key()));
    repo.commit("add config");
    let pack_dir = repo.path().join(".git/objects/pack");
    for entry in std::fs::read_dir(&pack_dir).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "pack") {
            let len = std::fs::metadata(&p).unwrap().len();
            let mut perms = std::fs::metadata(&p).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&p, perms).unwrap();
            let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
            f.set_len(len / 2).unwrap();
        }
    }
    repo
}

#[test]
fn a_truncated_pack_fails_the_run_but_keeps_what_could_be_read() {
    let repo = truncated_history();
    let (code, doc, stderr) = run_git(&repo, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("could not be read"), "{stderr}");
    assert!(stderr.contains("the scan is incomplete"), "{stderr}");
    assert!(doc["stats"]["errors"].as_u64().unwrap() >= 1);
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    assert!(rules.iter().any(|r| r.starts_with("stripe.")), "{rules:?}");
    // Accepted explicitly: the findings decide the exit code again.
    let (code, _, stderr) = run_git(&repo, &["--allow-incomplete"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(
        stderr.contains("accepted by --allow-incomplete"),
        "{stderr}"
    );
}

#[test]
fn a_branch_at_a_missing_commit_is_an_error() {
    let repo = Repo::init();
    repo.write("a.txt", "nothing here\n");
    repo.commit("a");
    std::fs::write(
        repo.path().join(".git/refs/heads/lost"),
        format!("{}\n", "0123456789".repeat(4)),
    )
    .unwrap();
    let (code, _, stderr) = run_git(&repo, &[]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("reference refs/heads/lost"), "{stderr}");
    assert!(stderr.contains("missing"), "{stderr}");
}
