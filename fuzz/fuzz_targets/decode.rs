//! The decoders (base64, hex, percent, escapes, gzip/zlib) and the span finder over arbitrary
//! bytes.
#![no_main]

use leakhound::analysis::decode::{Kind, candidates, decode};
use libfuzzer_sys::fuzz_target;

const KINDS: [Kind; 5] = [
    Kind::Base64,
    Kind::Base64Url,
    Kind::Hex,
    Kind::Percent,
    Kind::Escape,
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let mut out = Vec::new();
    let mut budget = 1 << 20;
    let _ = decode(bytes, KINDS[usize::from(first) % KINDS.len()], &mut out, &mut budget);
    for span in candidates(bytes) {
        let mut budget = 1 << 20;
        let _ = decode(&bytes[span.start..span.end], span.kind, &mut out, &mut budget);
    }
});
