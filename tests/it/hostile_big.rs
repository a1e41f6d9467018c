//! Large files are scanned whole, in bounded memory: a file bigger than a window is read in
//! overlapping windows, and every secret is reported once, at its line and column in the file.

use crate::util::{json, leakhound};

/// A fake Stripe key with a distinct body per `n`.
fn key(n: usize) -> String {
    let body: String = format!("{n:06}Zq81mXk20LpAq9Rt7V")
        .chars()
        .take(24)
        .collect();
    ["sk", "_live_", &body].concat()
}

#[test]
fn secrets_across_window_boundaries_of_a_large_file_are_each_reported_once() {
    const WINDOW: usize = 32 << 20;
    const HALF: usize = 512 << 10;
    let filler = "lorem ipsum dolor sit amet, consectetur adipiscing elit sed do eiusmod\n";
    // Offsets to put a secret near: the start, around the split between windows 1 and 2 and
    // the start of window 2, deep in window 2, around the next split, and the end.
    let step = WINDOW - 2 * HALF;
    let targets = [
        1000,
        WINDOW - HALF - 40,
        WINDOW - HALF + 3,
        step,
        step + 5_000_000,
        2 * step + WINDOW - HALF - 10,
        70 << 20,
    ];
    let mut text = String::with_capacity((71 << 20) + 4096);
    let mut expected = Vec::new();
    for (i, &at) in targets.iter().enumerate() {
        while text.len() + filler.len() < at {
            text.push_str(filler);
        }
        // The secret sits after a prefix on its line, so columns are checked too.
        let line = text.matches('\n').count() + 1;
        let prefix = "STRIPE_KEY=";
        text.push_str(prefix);
        let column = prefix.len() + 1;
        text.push_str(&key(i));
        text.push('\n');
        expected.push((line, column));
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dump.sql"), &text).unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args([
            "scan",
            ".",
            "--format",
            "json",
            "--no-progress",
            "--show-secrets",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out.stdout);
    let mut found: Vec<(String, u64, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("stripe."))
        .map(|f| {
            (
                f["secret"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["column"].as_u64().unwrap(),
            )
        })
        .collect();
    found.sort_by_key(|f| f.1);
    let want: Vec<(String, u64, u64)> = (0..targets.len())
        .map(|i| (key(i), expected[i].0 as u64, expected[i].1 as u64))
        .collect();
    assert_eq!(found, want);
    assert_eq!(doc["stats"]["files"], 1);
    assert_eq!(doc["stats"]["bytes"], text.len() as u64);
    assert_eq!(doc["stats"]["skipped"], 0);
}

#[test]
fn a_secret_on_a_line_longer_than_a_window_keeps_its_column() {
    const WINDOW: usize = 32 << 20;
    let mut text = String::from("header\n");
    // One line of 40 MiB with the secret 33 MiB in: it is in the second window.
    let pad = "abcdefgh ".repeat((33 << 20) / 9);
    text.push_str(&pad);
    let column = pad.chars().count() + "token = ".len() + 1;
    text.push_str("token = ");
    text.push_str(&key(7));
    text.push(' ');
    text.push_str(&"ijklmnop ".repeat((7 << 20) / 9));
    text.push('\n');
    assert!(text.len() > WINDOW);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("one-line.txt"), &text).unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json", "--no-progress"])
        .output()
        .unwrap();
    let doc = json(&out.stdout);
    let f: Vec<(u64, u64)> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule_id"].as_str().unwrap().starts_with("stripe."))
        .map(|f| (f["line"].as_u64().unwrap(), f["column"].as_u64().unwrap()))
        .collect();
    assert_eq!(f, [(2, column as u64)]);
}
