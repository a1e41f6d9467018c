//! Embeds every `rules/*.yml` file into the binary.
//!
//! Each YAML file is converted to JSON here, at build time, because parsing JSON at start-up is
//! an order of magnitude cheaper than parsing YAML, and start-up time matters for a pre-commit
//! hook. The generated `builtin_rules.rs` lists `(file name, JSON text)` pairs. A file that is
//! not valid YAML fails the build with its name. Listing the directory (rather than using
//! `include_dir!`) together with `rerun-if-changed=rules` picks up new files.

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
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut out = String::from("/// Built-in rule files: (file name, the file as JSON).\n");
    out.push_str("pub(crate) static BUILTIN_RULE_FILES: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f
            .file_name()
            .expect("a listed file has a name")
            .to_string_lossy()
            .into_owned();
        let text =
            fs::read_to_string(f).unwrap_or_else(|e| panic!("cannot read {}: {e}", f.display()));
        let value: serde_json::Value = serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|e| panic!("rules/{name} is not valid YAML: {e}"));
        let json_path = out_dir.join(format!("{name}.json"));
        fs::write(
            &json_path,
            serde_json::to_string(&value).expect("a YAML value serializes as JSON"),
        )
        .expect("OUT_DIR is writable");
        out.push_str(&format!(
            "    ({name:?}, include_str!({:?})),\n",
            json_path.display().to_string()
        ));
    }
    out.push_str("];\n");
    fs::write(out_dir.join("builtin_rules.rs"), out).expect("OUT_DIR is writable");
}
