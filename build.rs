//! Embeds every `rules/*.yml` file into the binary.
//!
//! Each YAML file is converted to JSON here, at build time, because parsing JSON at start-up is
//! an order of magnitude cheaper than parsing YAML, and start-up time matters for a pre-commit
//! hook. The rules' examples go to a second JSON text (`{id: [examples, negative examples]}`):
//! a third of the bytes, which only `rules check` and the tests read. The generated
//! `builtin_rules.rs` lists `(file name, rules JSON, examples JSON)` triples. A file that is
//! not valid YAML fails the build with its name. Listing the directory (rather than using
//! `include_dir!`) together with `rerun-if-changed=rules` picks up new files.
//!
//! It also computes the keyword automaton of the built-in rules (`builtin_keywords.rs`: the
//! keyword list and the automaton's tables as static arrays), so that no scan builds it.

use std::{env, fmt::Write as _, fs, path::PathBuf};

#[allow(dead_code)]
#[path = "src/detect/gate.rs"]
mod gate;
#[allow(dead_code)]
#[path = "src/detect/keywords.rs"]
mod keywords;

fn main() {
    println!("cargo:rerun-if-changed=rules");
    // Why: the binary's 50,000 relative relocations, applied one by one at every start, were a
    // fifth of a small scan; packed (DT_RELR, glibc 2.36+), they cost next to nothing. A
    // linker that does not know the option ignores it with a warning.
    if env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux")
        && env::var("CARGO_CFG_TARGET_ENV").as_deref() == Ok("gnu")
    {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
    let dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"))
        .join("rules");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("the rules/ directory exists because it is part of the crate")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yml" || e == "yaml"))
        .collect();
    files.sort();
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut keyword_list: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut out = String::from("/// Built-in rule files, in order of file name.\n");
    out.push_str("pub(crate) static BUILTIN_RULE_FILES: &[BuiltinFile] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f
            .file_name()
            .expect("a listed file has a name")
            .to_string_lossy()
            .into_owned();
        let text =
            fs::read_to_string(f).unwrap_or_else(|e| panic!("cannot read {}: {e}", f.display()));
        let mut value: serde_json::Value = serde_yaml_ng::from_str(&text)
            .unwrap_or_else(|e| panic!("rules/{name} is not valid YAML: {e}"));
        let mut examples = serde_json::Map::new();
        for rule in value["rules"].as_array_mut().into_iter().flatten() {
            let Some(rule) = rule.as_object_mut() else {
                continue;
            };
            let positive = rule.remove("examples").unwrap_or_default();
            let negative = rule.remove("negative_examples").unwrap_or_default();
            if let Some(id) = rule.get("id").and_then(|v| v.as_str()) {
                examples.insert(id.to_owned(), serde_json::json!([positive, negative]));
            }
        }
        // The same selection as the prefilter makes at run time (`Prefilter::new`).
        for rule in value["rules"].as_array().into_iter().flatten() {
            if rule["decoded"].as_bool() == Some(true) || !rule["engine"].is_null() {
                continue;
            }
            for kw in rule["keywords"].as_array().into_iter().flatten() {
                let kw = kw.as_str().unwrap_or_default().to_ascii_lowercase();
                let kw = keywords::truncate(&kw).to_owned();
                if !kw.is_empty() && seen.insert(kw.clone()) {
                    keyword_list.push(kw);
                }
            }
        }
        let json_path = out_dir.join(format!("{name}.json"));
        fs::write(
            &json_path,
            serde_json::to_string(&value).expect("a YAML value serializes as JSON"),
        )
        .expect("OUT_DIR is writable");
        let examples_path = out_dir.join(format!("{name}.examples.json"));
        fs::write(
            &examples_path,
            serde_json::to_string(&examples).expect("a JSON map serializes"),
        )
        .expect("OUT_DIR is writable");
        // Why: deriving a gate parses the pattern, a fifth of a small scan's start-up if done
        // at run time; see `detect::gate`.
        let gates: Vec<String> = value["rules"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|rule| {
                let (min, bytes) =
                    gate::Gate::of(rule["pattern"].as_str().unwrap_or_default()).parts();
                format!("({min}, {bytes:?})")
            })
            .collect();
        out.push_str(&format!(
            "    BuiltinFile {{ name: {name:?}, rules: include_str!({:?}), examples: include_str!({:?}), gates: &[{}] }},\n",
            json_path.display().to_string(),
            examples_path.display().to_string(),
            gates.join(", ")
        ));
    }
    out.push_str("];\n");
    fs::write(out_dir.join("builtin_rules.rs"), out).expect("OUT_DIR is writable");
    fs::write(
        out_dir.join("builtin_keywords.rs"),
        keyword_tables(&keyword_list),
    )
    .expect("OUT_DIR is writable");
}

/// The built-in keywords and their automaton, as Rust statics.
fn keyword_tables(list: &[String]) -> String {
    let bytes: Vec<&[u8]> = list.iter().map(|k| k.as_bytes()).collect();
    let t = keywords::Tables::build(&bytes);
    let mut s = String::new();
    let _ = writeln!(
        s,
        "/// The built-in rules' keyword prefixes; pattern `i` of the tables."
    );
    let _ = writeln!(s, "pub(crate) static KEYWORDS: &[&str] = &{list:?};");
    array(&mut s, "CLASSES", "u8", &t.classes);
    array(&mut s, "TRANS", "u32", &t.trans);
    array(&mut s, "OFFSETS", "u32", &t.offsets);
    array(&mut s, "PATTERNS", "u32", &t.patterns);
    array(&mut s, "LENS", "u8", &t.lens);
    let _ = writeln!(s, "pub(crate) const SHIFT: u32 = {};", t.shift);
    let _ = writeln!(s, "pub(crate) const START: u32 = {};", t.start);
    let _ = writeln!(s, "pub(crate) const MATCH_LIMIT: u32 = {};", t.match_limit);
    s
}

fn array<T: std::fmt::Display>(s: &mut String, name: &str, ty: &str, values: &[T]) {
    let _ = write!(s, "pub(crate) static {name}: [{ty}; {}] = [", values.len());
    for v in values {
        let _ = write!(s, "{v},");
    }
    s.push_str("];\n");
}
