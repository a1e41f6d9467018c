//! Detector throughput over mixed text (bytes/s): the keyword prefilter alone, and the whole
//! detector with every built-in rule.
//!
//! The corpus is this crate's own source and rule files (realistic code, YAML and prose with
//! many `token`/`secret`/`key` words) plus generated config lines, a few with fake secrets,
//! repeated to about 8 MiB.
//!
//! Run: `cargo bench --bench detector`.

use std::{hint::black_box, path::Path, sync::Arc};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use leakhound::{detect::Detector, rules::RuleSet};

fn corpus() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut text = Vec::new();
    let mut add_dir = |dir: &Path| {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else if let Ok(bytes) = std::fs::read(&p) {
                    text.extend_from_slice(&bytes);
                    text.push(b'\n');
                }
            }
        }
    };
    add_dir(&root.join("src"));
    add_dir(&root.join("tests"));
    let mut i = 0u64;
    while text.len() < 8 << 20 {
        i += 1;
        text.extend_from_slice(
            format!(
                "service_{i}.timeout_ms = {}\nservice_{i}.url = \"https://svc{i}.internal/api\"\n",
                i * 7
            )
            .as_bytes(),
        );
        if i.is_multiple_of(500) {
            text.extend_from_slice(
                format!("STRIPE_KEY=sk_{}_Zq81mXk20LpAq9Rt7Vb{i:05}\n", "live").as_bytes(),
            );
        }
        if text.len().is_multiple_of(3) {
            text.extend_from_slice(&std::fs::read(root.join("README.md")).unwrap_or_default());
        }
    }
    text
}

fn bench(c: &mut Criterion) {
    let rules = Arc::new(RuleSet::builtin().expect("built-in rules load"));
    let detector = Detector::new(rules);
    let text = corpus();
    let mut group = c.benchmark_group("detector");
    group.throughput(Throughput::Bytes(text.len() as u64));
    group.sample_size(20);
    group.bench_function("prefilter_only", |b| {
        let mut buffers = leakhound::detect::prefilter::Hits::default();
        b.iter(|| {
            let mut hits = 0usize;
            detector
                .prefilter()
                .for_each_hit(black_box(&text), &mut buffers, |_, _, _| hits += 1);
            hits
        })
    });
    group.bench_function("all_rules", |b| {
        let mut scratch = detector.scratch();
        let mut out = Vec::new();
        b.iter(|| {
            detector.scan(black_box(&text), &[], &mut scratch, &mut out);
            out.len()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
