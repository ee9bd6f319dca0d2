//! `dcf compile` of `dcf decompile`'s output reproduces the content byte for byte.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::path::Path;

use dcf_parser::Content;
use dcf_validator::source::{HeaderOverrides, SourceFile, compile, decompile};

fn recompile(content: &Content, name: &str) -> Vec<u8> {
    let text = decompile(content);
    let compiled = compile(
        &[SourceFile {
            name: name.into(),
            text: text.clone(),
        }],
        &[],
        &HeaderOverrides::default(),
        0,
    );
    assert!(
        compiled.diagnostics.is_empty(),
        "{name}: decompiled source does not compile: {:?}\n{text}",
        compiled.diagnostics
    );
    compiled
        .content
        .expect("compiled")
        .encode()
        .expect("encodes")
}

fn check_dir(dir: &Path) -> usize {
    let mut n = 0;
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .expect("corpus dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "dcf"))
        .collect();
    paths.sort();
    for path in paths {
        let bytes = std::fs::read(&path).expect("readable");
        let Ok(mut content) = Content::decode(&bytes) else {
            continue;
        };
        // Sources are unsigned: compare with the unsigned encoding.
        content.signature = None;
        let expected = content.encode().expect("re-encodes");
        let name = path.display().to_string();
        assert_eq!(
            recompile(&content, &name),
            expected,
            "{name} does not round-trip"
        );
        n += 1;
    }
    n
}

#[test]
fn valid_corpus_round_trips() {
    assert!(check_dir(&common::repo_root().join("corpus/valid")) >= 10);
}

#[test]
fn semantic_corpus_round_trips() {
    assert!(check_dir(&common::repo_root().join("corpus/semantic")) >= 20);
}

#[test]
fn examples_round_trip_through_source() {
    let root = common::repo_root().join("examples");
    let mut sources = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(root.join("rules"))
        .expect("examples/rules")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    for p in paths {
        sources.push(SourceFile {
            name: p.display().to_string(),
            text: std::fs::read_to_string(&p).expect("readable"),
        });
    }
    let manifests: Vec<_> = ["sensor-7.11.toml", "sensor-7.12.toml"]
        .iter()
        .map(|f| {
            let text = std::fs::read_to_string(root.join("manifests").join(f)).expect("manifest");
            (
                f.to_string(),
                dcf_validator::manifest::from_toml(&text).expect("valid manifest"),
            )
        })
        .collect();
    let compiled = compile(
        &sources,
        &manifests,
        &HeaderOverrides::default(),
        1_800_000_000,
    );
    assert!(
        compiled.diagnostics.is_empty(),
        "{:?}",
        compiled.diagnostics
    );
    let content = compiled.content.expect("compiles");
    assert_eq!(content.rules.len(), 6);
    let bytes = content.encode().expect("encodes");
    assert_eq!(recompile(&content, "examples"), bytes);
    // Compiling twice gives the same bytes: the writer is canonical.
    let again = compile(
        &sources,
        &manifests,
        &HeaderOverrides::default(),
        1_800_000_000,
    );
    assert_eq!(
        again.content.expect("compiles").encode().expect("encodes"),
        bytes
    );
}
