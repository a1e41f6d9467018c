//! The gitleaks configuration importer (TOML, rules, allowlists, RE2 rewriting) and the
//! `.gitleaksignore` parser over arbitrary text.
#![no_main]

use std::{collections::HashSet, io::Write};

use leakhound::gitleaks;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = regex::Regex::new(&gitleaks::from_re2(text));
    let mut file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
    file.write_all(data).unwrap();
    let _ = gitleaks::load(file.path());
    let ids: HashSet<&str> = ["a", "b"].into_iter().collect();
    let _ = gitleaks::ignore::GitleaksIgnore::parse(file.path(), text, &ids);
});
