//! Compile time and size of the whole SigmaHQ rule set (issue 6), against the time sigma-rust
//! takes only to parse the same rules (the peer reference measured in the same run).
//!
//! `cargo bench -p dcf-sigma --bench compile`. Rules are read into memory once, so the figures
//! are the compilers' own time, not the disk's.

// A benchmark: a broken setup may panic, and measurements are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use dcf_sigma::{ImportOptions, Source, compile_sources, rule_files};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn sources() -> Vec<Source> {
    let root = repo().join("../shared/sigma/rules");
    let mut files = rule_files(std::slice::from_ref(&root)).expect("SigmaHQ rules");
    files.sort();
    files
        .into_iter()
        .map(|f| Source {
            file: f.display().to_string(),
            relative: f
                .strip_prefix(&root)
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
            text: std::fs::read_to_string(&f).ok(),
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let sources = sources();
    let manifest = std::fs::read_to_string(repo().join("sigma/manifests/sigmahq.toml"))
        .expect("reference manifest");
    let interface = dcf_validator::manifest::from_toml(&manifest).expect("manifest parses");
    let manifests = [interface];
    let options = ImportOptions::default();
    let (content, report) = compile_sources(&sources, &manifests, &options).expect("compiles");
    let bytes = content.encode().expect("encodes");
    let yaml_bytes: usize = sources
        .iter()
        .filter_map(|s| s.text.as_ref().map(String::len))
        .sum();
    eprintln!(
        "sigma content: {} rules compiled, {} skipped; {} bytes of content from {} bytes of YAML",
        report.compiled.len(),
        report.skipped.len(),
        bytes.len(),
        yaml_bytes
    );

    let mut group = c.benchmark_group("sigma");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.bench_function("compile_all", |b| {
        b.iter(|| black_box(compile_sources(black_box(&sources), &manifests, &options)))
    });
    group.bench_function("compile_all_and_encode", |b| {
        b.iter(|| {
            let (content, _) =
                compile_sources(black_box(&sources), &manifests, &options).expect("compiles");
            black_box(content.encode())
        })
    });
    // The peer: sigma-rust parsing the same YAML into its rule objects (no encoding).
    group.bench_function("sigma_rust_parse_all", |b| {
        b.iter(|| {
            for s in &sources {
                if let Some(text) = &s.text {
                    let _ = black_box(sigma_rust::rule_from_yaml(black_box(text)));
                }
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
