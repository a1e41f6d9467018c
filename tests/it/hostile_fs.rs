//! Special files: a pipe or device named on the command line is read; one met while walking a
//! directory is skipped with a diagnostic, never opened (it could block for ever).

use std::{io::Write, process::Stdio};

use crate::util::{json, leakhound, stripe_key};

fn mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(status.success());
}

#[cfg(unix)]
#[test]
fn a_fifo_named_on_the_command_line_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    mkfifo(&fifo);
    let writer = {
        let fifo = fifo.clone();
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new().write(true).open(fifo).unwrap();
            writeln!(f, "# from a pipe\nSTRIPE_KEY={}", stripe_key()).unwrap();
        })
    };
    let out = leakhound()
        .args(["scan", "--format", "json", "--no-progress"])
        .arg(&fifo)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    writer.join().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc = json(&out.stdout);
    let f = &doc["findings"][0];
    assert!(
        f["rule_id"].as_str().unwrap().starts_with("stripe."),
        "{doc}"
    );
    assert_eq!(f["line"], 2);
    assert_eq!(doc["stats"]["files"], 1);
}

#[cfg(unix)]
#[test]
fn dev_stdin_is_read() {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_leakhound"))
        .args(["scan", "/dev/stdin", "--format", "json", "--no-progress"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    {
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "STRIPE_KEY={}", stripe_key()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(json(&out.stdout)["findings"].as_array().unwrap().len(), 1);
}

#[cfg(unix)]
#[test]
fn a_fifo_inside_a_directory_is_skipped_and_its_neighbour_reported() {
    let dir = tempfile::tempdir().unwrap();
    mkfifo(&dir.path().join("blocked.env"));
    std::fs::write(
        dir.path().join("app.env"),
        format!("STRIPE_KEY={}\n", stripe_key()),
    )
    .unwrap();
    let out = leakhound()
        .current_dir(dir.path())
        .args(["scan", ".", "--format", "json", "--no-progress"])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("blocked.env") && stderr.contains("FIFO"),
        "{stderr}"
    );
    let doc = json(&out.stdout);
    assert_eq!(doc["stats"]["by_kind"]["special"], 1);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 1);
}
