//! Hostile scanned data: file names, commit authors and messages, and CI job and step names
//! that carry terminal escape sequences or a newline that forges a workflow command. Every
//! format read by people or by a CI log (text, Markdown, GitHub annotations, warnings on
//! standard error) shows such control characters escaped; JSON keeps the exact value.

use std::{collections::BTreeSet, fs, path::Path, process::Output};

use crate::{
    gitrepo::{Repo, git_command},
    util::{findings, json, leakhound, stripe_key},
};

/// Retitles the terminal window (OSC 0, ended by BEL).
const TITLE: &str = "x\u{1b}]0;pwned\u{7}.env";
/// Starts a forged GitHub workflow command on a line of its own.
const FORGED: &str = "a\n::warning file=x::forged.env";
/// A backtick and a pipe: would end a Markdown code span or table cell early.
const TICK: &str = "b`q|r.env";

/// A directory with one fake secret in each hostile file name.
fn hostile_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for name in [TITLE, FORGED, TICK] {
        fs::write(
            dir.path().join(name),
            format!("STRIPE_KEY={}\n", stripe_key()),
        )
        .unwrap();
    }
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    leakhound().current_dir(dir).args(args).output().unwrap()
}

/// No raw ESC, BEL or C1 CSI, and no line that starts a forged workflow command.
fn assert_inert(what: &str, bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    assert!(!bytes.contains(&0x1b), "{what}: raw ESC in {text:?}");
    assert!(!bytes.contains(&0x07), "{what}: raw BEL in {text:?}");
    assert!(!text.contains('\u{9b}'), "{what}: raw CSI in {text:?}");
    assert!(
        !text
            .lines()
            .any(|l| l.trim_start().starts_with("::warning file=x::forged")),
        "{what}: a forged workflow command line in {text:?}"
    );
}

/// Whether every ESC in `bytes` starts an SGR sequence (`ESC [ digits ; … m`): colours and
/// styles, which leakhound writes itself, and nothing that moves, retitles or clears.
fn only_sgr(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != 0x1b {
            i += 1;
            continue;
        }
        let mut j = i + 1;
        if bytes.get(j) != Some(&b'[') {
            return false;
        }
        j += 1;
        while bytes
            .get(j)
            .is_some_and(|b| b.is_ascii_digit() || *b == b';')
        {
            j += 1;
        }
        if bytes.get(j) != Some(&b'm') {
            return false;
        }
        i = j + 1;
    }
    true
}

fn text_of(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8")
}

#[test]
fn text_output_escapes_control_characters_in_paths() {
    let dir = hostile_tree();
    let out = run(dir.path(), &["scan", ".", "--format", "text"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_inert("text", &out.stdout);
    assert_inert("stderr", &out.stderr);
    let text = text_of(&out);
    assert!(text.contains("x\\x1b]0;pwned\\x07.env:1:"), "{text}");
    assert!(
        text.contains("a\\x0a::warning file=x::forged.env:1:"),
        "{text}"
    );
    assert!(text.contains("b`q|r.env:1:"), "{text}");
    assert!(text.contains("1 secret, 3 places:"), "{text}");
}

#[test]
fn coloured_text_output_has_only_its_own_colour_sequences() {
    let dir = hostile_tree();
    let out = run(
        dir.path(),
        &["scan", ".", "--format", "text", "--color", "always"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        out.stdout.contains(&0x1b),
        "--color always colours the output"
    );
    assert!(
        only_sgr(&out.stdout),
        "an escape sequence other than a colour: {:?}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!out.stdout.contains(&0x07), "raw BEL");
    assert!(String::from_utf8_lossy(&out.stdout).contains("x\\x1b]0;pwned\\x07.env:1:"));
}

#[test]
fn markdown_output_escapes_control_characters_and_keeps_code_spans_closed() {
    let dir = hostile_tree();
    let out = run(dir.path(), &["scan", ".", "--format", "markdown"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_inert("markdown", &out.stdout);
    let text = text_of(&out);
    assert!(text.contains("| `x\\x1b]0;pwned\\x07.env` | 1 |"), "{text}");
    assert!(
        text.contains("| `a\\x0a::warning file=x::forged.env` | 1 |"),
        "{text}"
    );
    // A longer fence around a backtick; the pipe escaped so the cell does not end.
    assert!(text.contains("| ``b`q\\|r.env`` | 1 |"), "{text}");
    for line in text.lines().filter(|l| l.contains(".env`")) {
        assert!(line.starts_with("| "), "a place row was split: {line:?}");
    }
}

#[test]
fn github_annotations_escape_control_characters_and_cannot_be_forged() {
    let dir = hostile_tree();
    let out = run(dir.path(), &["scan", ".", "--format", "github"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_inert("github", &out.stdout);
    let text = text_of(&out);
    for line in text.lines() {
        assert!(
            line.starts_with("::error ")
                || line.starts_with("::warning ")
                || line.starts_with("::notice "),
            "not a workflow command: {line:?}"
        );
        assert!(
            !line.contains("::warning file=x"),
            "a forged command inside a line: {line:?}"
        );
    }
    assert!(
        text.contains(" file=x\\x1b]0;pwned\\x07.env,line=1,"),
        "{text}"
    );
    assert!(
        text.contains(" file=a%0A%3A%3Awarning file=x%3A%3Aforged.env,line=1,"),
        "{text}"
    );
    assert!(text.contains(" file=b`q|r.env,line=1,"), "{text}");
    assert_eq!(
        text.lines()
            .filter(|l| l.contains(",title=leakhound%3A stripe."))
            .count(),
        3,
        "one annotation per file: {text}"
    );
}

#[test]
fn json_keeps_the_exact_path_and_machine_formats_have_no_raw_control_bytes() {
    let dir = hostile_tree();
    let out = run(dir.path(), &["scan", ".", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_inert("json", &out.stdout);
    let doc = json(&out.stdout);
    let paths: BTreeSet<&str> = findings(&doc)
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    for name in [TITLE, FORGED, TICK] {
        assert!(paths.contains(name), "{name:?} not in {paths:?}");
    }
    for format in ["jsonl", "sarif", "gitlab"] {
        let out = run(dir.path(), &["scan", ".", "--format", format]);
        assert_eq!(out.status.code(), Some(1), "{format}: {out:?}");
        assert_inert(format, &out.stdout);
        assert_inert("stderr", &out.stderr);
    }
}

#[test]
fn warnings_on_stderr_escape_control_characters_in_paths() {
    let dir = tempfile::tempdir().unwrap();
    // Not valid UTF-8: scanned, with a warning naming the file.
    let mut latin1 = b"caf\xe9 = 1\n".to_vec();
    latin1.extend_from_slice(format!("key = {}\n", stripe_key()).as_bytes());
    fs::write(dir.path().join("w\u{1b}]0;pwned\u{7}.properties"), &latin1).unwrap();
    // Over the size limit: skipped, with a warning naming the file.
    let big = format!("{}\nkey = {}\n", "x".repeat(4096), stripe_key());
    fs::write(dir.path().join("big\u{1b}[2J.txt"), &big).unwrap();
    fs::write(dir.path().join("n\n::warning file=x::forged.txt"), &big).unwrap();
    let out = run(
        dir.path(),
        &["scan", ".", "--max-file-size", "2K", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_inert("stderr", &out.stderr);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        stderr.contains("warning: w\\x1b]0;pwned\\x07.properties is not valid UTF-8"),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: skipped big\\x1b[2J.txt: "),
        "{stderr}"
    );
    assert!(
        stderr.contains("warning: skipped n\\x0a::warning file=x::forged.txt: "),
        "{stderr}"
    );
    // JSON still names the scanned file exactly.
    let doc = json(&out.stdout);
    assert!(
        findings(&doc)
            .iter()
            .any(|f| f["path"] == "w\u{1b}]0;pwned\u{7}.properties"),
        "{doc:#}"
    );
}

#[test]
fn git_paths_authors_and_commit_messages_are_escaped() {
    const AUTHOR: &str = "Eve\u{1b}]0;pwned\u{7} Mallory";
    const SUMMARY: &str = "add \u{1b}[2Jconfig \u{1b}]8;;https://evil.invalid\u{7}link";
    let r = Repo::init();
    r.write(
        "config/x\u{1b}]0;t\u{7}.env",
        format!("STRIPE_KEY={}\n", stripe_key()),
    );
    r.git(&["add", "-A"]);
    let commit = git_command(r.path())
        .env("GIT_AUTHOR_NAME", AUTHOR)
        .args(["commit", "-q", "-m", SUMMARY])
        .output()
        .unwrap();
    assert!(
        commit.status.success(),
        "git commit failed: {}",
        String::from_utf8_lossy(&commit.stderr)
    );

    // The premise: the history really carries the control characters, and JSON keeps them.
    let out = run(r.path(), &["git", ".", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let doc = json(&out.stdout);
    let f = findings(&doc)
        .iter()
        .find(|f| f["rule_id"].as_str().unwrap().starts_with("stripe."))
        .unwrap_or_else(|| panic!("no stripe finding: {doc:#}"))
        .clone();
    assert_eq!(f["path"], "config/x\u{1b}]0;t\u{7}.env", "{f:#}");
    assert!(
        f["author"].as_str().unwrap().contains('\u{1b}'),
        "git kept the author's ESC: {f:#}"
    );
    assert!(
        f["summary"].as_str().unwrap().contains('\u{1b}'),
        "git kept the message's ESC: {f:#}"
    );

    for format in ["text", "markdown", "github"] {
        let out = run(r.path(), &["git", ".", "--format", format]);
        assert_eq!(out.status.code(), Some(1), "{format}: {out:?}");
        assert_inert(format, &out.stdout);
        assert_inert("stderr", &out.stderr);
    }
    let out = run(r.path(), &["git", ".", "--format", "text"]);
    let text = text_of(&out);
    assert!(text.contains("config/x\\x1b]0;t\\x07.env:1:"), "{text}");
    assert!(text.contains("Eve\\x1b]0;pwned\\x07 Mallory"), "{text}");
    assert!(
        text.contains("add \\x1b[2Jconfig \\x1b]8;;https://evil.invalid\\x07link"),
        "{text}"
    );
    let out = run(r.path(), &["git", ".", "--format", "markdown"]);
    let md = text_of(&out);
    assert!(md.contains("| Eve\\x1b]0;pwned\\x07 Mallory |"), "{md}");
}

#[test]
fn ci_job_and_step_names_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join(".github/workflows");
    fs::create_dir_all(&workflows).unwrap();
    let token = ["Zx81", "LmQ0Pa55"].concat();
    // YAML double-quoted escapes: the parsed names hold a raw ESC and BEL.
    let workflow = r#"name: deploy
on: push
jobs:
  "dep\x1b[2Jloy":
    runs-on: ubuntu-latest
    steps:
      - name: "no\x1b]0;pwned\x07tify"
        uses: some-org/notify-action@v2
        with:
          webhook-token: TOKEN
"#
    .replace("TOKEN", &token);
    fs::write(workflows.join("deploy.yml"), workflow).unwrap();

    let out = run(dir.path(), &["scan", ".", "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let doc = json(&out.stdout);
    let f = findings(&doc)
        .iter()
        .find(|f| f["rule_id"] == "ci.literal-credential")
        .unwrap_or_else(|| panic!("no literal credential: {doc:#}"))
        .clone();
    assert_eq!(f["job"], "dep\u{1b}[2Jloy", "{f:#}");
    assert_eq!(f["step"], "no\u{1b}]0;pwned\u{7}tify", "{f:#}");

    for format in ["text", "markdown", "github"] {
        let out = run(dir.path(), &["scan", ".", "--format", format]);
        assert_eq!(out.status.code(), Some(1), "{format}: {out:?}");
        assert_inert(format, &out.stdout);
        assert_inert("stderr", &out.stderr);
    }
    let out = run(dir.path(), &["scan", ".", "--format", "text"]);
    let text = text_of(&out);
    assert!(
        text.contains("dep\\x1b[2Jloy / no\\x1b]0;pwned\\x07tify: "),
        "{text}"
    );
}
