//! The byte map (`dcf_parser::layout`) over the whole corpus: in bounds and ordered on every
//! file, and covering every byte of every valid file.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::fs;

use dcf_parser::layout::{Span, walk};

fn spans(bytes: &[u8]) -> Vec<Span> {
    let mut out = Vec::new();
    walk(bytes, |s| out.push(s));
    out
}

#[test]
fn spans_are_ordered_and_in_bounds_on_every_corpus_file() {
    let root = dcf_test_support::repo_root().join("corpus");
    let mut seen = 0;
    for dir in ["valid", "invalid"] {
        for path in fs::read_dir(root.join(dir))
            .unwrap()
            .flatten()
            .map(|e| e.path())
        {
            if path.extension().is_none_or(|e| e != "dcf") {
                continue;
            }
            let bytes = fs::read(&path).unwrap();
            let spans = spans(&bytes);
            let mut end = 0;
            for s in &spans {
                assert!(
                    s.len > 0 && s.offset >= end,
                    "{}: {s:?} overlaps or is empty",
                    path.display()
                );
                end = s.offset + s.len;
                assert!(end <= bytes.len(), "{}: {s:?} past the end", path.display());
            }
            if dir == "valid" {
                let covered: usize = spans.iter().map(|s| s.len).sum();
                assert_eq!(
                    covered,
                    bytes.len(),
                    "{}: bytes left unlabelled",
                    path.display()
                );
            }
            seen += 1;
        }
    }
    assert!(seen > 80);
}

#[test]
fn labels_name_the_structures() {
    let bytes = dcf_conformance::valid::base().encode().unwrap();
    let spans = spans(&bytes);
    let label_at = |offset: usize| {
        spans
            .iter()
            .find(|s| s.offset <= offset && offset < s.offset + s.len)
            .map(|s| s.label)
    };
    assert_eq!(label_at(0), Some("header.magic"));
    assert_eq!(label_at(bytes.len() - 1), Some("digest"));
    let view = dcf_parser::parse(&bytes).unwrap();
    let rule = view.rule_at(1).unwrap();
    assert_eq!(label_at(rule.offset), Some("rule.id"));
    assert_eq!(
        spans
            .iter()
            .find(|s| s.offset == rule.offset)
            .unwrap()
            .index,
        Some(1)
    );
    assert_eq!(label_at(rule.node_offset(0).unwrap()), Some("node.op"));
}
