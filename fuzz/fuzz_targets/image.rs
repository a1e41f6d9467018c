//! The docker-archive and OCI-archive readers (manifests, configs, layers), over arbitrary
//! bytes written to a file.
#![no_main]

use std::{io::Write, sync::OnceLock};

use leakhound::{
    config::{ScanConfig, ScanSettings},
    pipeline::{Progress, image::scan_image},
    sources::{image::Limits, registry::RegistryOptions},
};
use libfuzzer_sys::fuzz_target;

struct Quiet;
impl Progress for Quiet {}

fn config() -> &'static ScanConfig {
    static C: OnceLock<ScanConfig> = OnceLock::new();
    C.get_or_init(|| {
        let settings = ScanSettings {
            root: std::env::temp_dir(),
            no_ignore_file: true,
            ..ScanSettings::default()
        };
        ScanConfig::build(&settings).expect("a default configuration builds")
    })
}

fuzz_target!(|data: &[u8]| {
    let mut file = tempfile::Builder::new().suffix(".tar").tempfile().unwrap();
    file.write_all(data).unwrap();
    let limits = Limits {
        max_layer_bytes: 8 << 20,
        ..Limits::default()
    };
    let path = file.path().to_string_lossy().into_owned();
    let _ = scan_image(config(), &path, &RegistryOptions::default(), limits, &|_| {}, &Quiet);
});
