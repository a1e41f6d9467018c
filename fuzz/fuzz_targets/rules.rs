//! The rule loader (YAML syntax, validation, pattern compilation) over arbitrary text.
#![no_main]

use leakhound::rules::RuleSet;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut set = RuleSet::default();
    let _ = set.add_text("fuzz.yml", text, true);
});
