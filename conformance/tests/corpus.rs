//! The conformance test: every corpus file through the parser, and the committed corpus
//! against what the generator makes.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use dcf_parser::{Content, ErrorCode, parse};

fn corpus() -> PathBuf {
    dcf_test_support::repo_root().join("corpus")
}

fn dcf_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "dcf"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_valid_file_is_accepted_and_reencodes_to_itself() {
    let files = dcf_files(&corpus().join("valid"));
    assert!(
        files.len() >= 10,
        "corpus/valid must hold at least 10 files, has {}",
        files.len()
    );
    for path in files {
        let bytes = fs::read(&path).unwrap();
        let view = parse(&bytes).unwrap_or_else(|e| panic!("{} rejected: {e}", path.display()));
        assert!(view.rule_count() <= view.rules().count());
        let content = Content::from_view(&view);
        assert_eq!(
            content.encode().unwrap(),
            bytes,
            "{} is not canonical",
            path.display()
        );
    }
}

#[test]
fn every_invalid_file_is_rejected_with_its_code_and_offset() {
    let dir = corpus().join("invalid");
    let index: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.join("expected.json")).unwrap()).unwrap();
    let index = index.as_object().unwrap();
    let files = dcf_files(&dir);
    assert_eq!(
        files.len(),
        index.len(),
        "every invalid file needs an entry in expected.json"
    );
    for path in files {
        let name = path.file_name().unwrap().to_str().unwrap();
        let expected = &index[name];
        let code = expected["code"].as_str().unwrap();
        let offset = expected["offset"].as_u64().unwrap() as usize;
        assert!(
            name.starts_with(&format!("{code}-")),
            "{name} must be named after its code {code}"
        );
        let bytes = fs::read(&path).unwrap();
        let error = match parse(&bytes) {
            Ok(_) => panic!("{name} was accepted"),
            Err(e) => e,
        };
        assert_eq!(error.code().as_str(), code, "{name}: {error}");
        assert_eq!(error.offset(), offset, "{name}: {error}");
    }
}

#[test]
fn every_error_code_has_an_invalid_corpus_file() {
    let names: BTreeSet<String> = dcf_files(&corpus().join("invalid"))
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy()[..5].to_string())
        .collect();
    let missing: Vec<&str> = ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .filter(|c| !names.contains(*c))
        .collect();
    assert!(
        missing.is_empty(),
        "codes without a corpus file: {missing:?}"
    );
}

#[test]
fn committed_corpus_matches_the_generator() {
    let root = corpus();
    let generated = dcf_conformance::generate();
    let mut expected_paths = BTreeSet::new();
    for file in &generated {
        expected_paths.insert(file.path.clone());
        let committed = fs::read(root.join(&file.path)).unwrap_or_else(|e| {
            panic!(
                "corpus/{} missing ({e}); run `cargo run -p dcf-conformance --bin gen-corpus`",
                file.path
            )
        });
        assert!(
            committed == file.bytes,
            "corpus/{} differs from the generator; run `cargo run -p dcf-conformance --bin gen-corpus`",
            file.path
        );
    }
    for dir in ["valid", "invalid"] {
        for path in fs::read_dir(root.join(dir))
            .unwrap()
            .flatten()
            .map(|e| e.path())
        {
            let rel = format!("{dir}/{}", path.file_name().unwrap().to_string_lossy());
            assert!(
                expected_paths.contains(&rel),
                "corpus/{rel} is not made by the generator"
            );
        }
    }
}
