//! Every analysis pass (prefilter, rules, context, CI and Kubernetes structure, notebooks,
//! decoding, allowlists) over arbitrary bytes, at a path the first byte picks.
#![no_main]

use std::sync::{Arc, OnceLock};

use leakhound::{
    analysis::{Analyzer, Blob, Settings},
    detect::Detector,
    rules::RuleSet,
};
use libfuzzer_sys::fuzz_target;

const PATHS: [&str; 8] = [
    "app/.env",
    ".github/workflows/ci.yml",
    ".gitlab-ci.yml",
    "k8s/secret.yaml",
    "notebooks/a.ipynb",
    "src/config.properties",
    "deploy/values.json",
    "Jenkinsfile",
];

fn analyzer() -> &'static Analyzer {
    static A: OnceLock<Analyzer> = OnceLock::new();
    A.get_or_init(|| {
        let rules = RuleSet::builtin().expect("the built-in rules load");
        Analyzer::new(Detector::new(Arc::new(rules)), Settings::default())
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&first, bytes)) = data.split_first() else {
        return;
    };
    let path = PATHS[usize::from(first) % PATHS.len()];
    let a = analyzer();
    let mut work = a.workspace();
    let _ = a.analyze(
        Blob {
            bytes,
            paths: &[path],
        },
        &mut work,
    );
});
