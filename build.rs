//! Embeds every `rules/*.yml` file into the binary.
//!
//! A generated `builtin_rules.rs` lists the files with `include_str!`. Listing the directory here
//! (rather than using `include_dir!`) together with `rerun-if-changed=rules` means a newly added
//! rule file is picked up by the next incremental build.

use std::{env, fs, path::PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=rules");
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("rules");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("the rules/ directory exists because it is part of the crate")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    let mut out = String::from("/// Built-in rule files: (file name, YAML text).\n");
    out.push_str("pub(crate) static BUILTIN_RULE_FILES: &[(&str, &str)] = &[\n");
    for f in &files {
        let name = f
            .file_name()
            .expect("a listed file has a name")
            .to_string_lossy();
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            f.display().to_string()
        ));
    }
    out.push_str("];\n");
    let dest =
        PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("builtin_rules.rs");
    fs::write(dest, out).expect("OUT_DIR is writable");
}
