//! Conformance support: the reproducible corpus generator and what the tests share.
//!
//! `cargo run -p dcf-conformance --bin gen-corpus` rewrites `corpus/valid` and
//! `corpus/invalid` from the code in this crate; `tests/corpus.rs` fails when the committed
//! files differ from what the generator makes.

// Test tooling, not run in a sensor: the corpus generator panics on a broken fixture and
// indexes and counts the bytes it forges. The deny list binds the parser and the sensor.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

pub mod forge;
pub mod invalid;
pub mod valid;

/// One generated corpus file.
pub struct CorpusFile {
    /// Path relative to `corpus/`.
    pub path: String,
    /// Content.
    pub bytes: Vec<u8>,
}

/// Every corpus file the generator makes: the valid files, the invalid files and the index
/// of expected rejections (`invalid/expected.json`).
pub fn generate() -> Vec<CorpusFile> {
    let mut files = Vec::new();
    for (stem, content) in valid::contents() {
        let bytes = content
            .encode()
            .unwrap_or_else(|e| panic!("valid corpus `{stem}` must encode: {e}"));
        files.push(CorpusFile {
            path: format!("valid/{stem}.dcf"),
            bytes,
        });
    }
    let mut expected = serde_json::Map::new();
    for case in invalid::cases() {
        expected.insert(
            format!("{}.dcf", case.name),
            serde_json::json!({ "code": case.code.as_str(), "offset": case.offset }),
        );
        files.push(CorpusFile {
            path: format!("invalid/{}.dcf", case.name),
            bytes: case.bytes,
        });
    }
    let mut index =
        serde_json::to_string_pretty(&serde_json::Value::Object(expected)).unwrap_or_default();
    index.push('\n');
    files.push(CorpusFile {
        path: "invalid/expected.json".into(),
        bytes: index.into_bytes(),
    });
    files
}
