//! The zip, tar and gzip readers, nested archives included, over arbitrary bytes.
#![no_main]

use leakhound::sources::archive;
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 4] = ["a.zip", "a.tar", "a.tar.gz", "a.jar"];

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let name = NAMES[usize::from(first) % NAMES.len()];
    if let Some(kind) = archive::kind(name, bytes) {
        archive::walk(kind, bytes, name, 1 << 20, &mut |_| {});
    }
});
