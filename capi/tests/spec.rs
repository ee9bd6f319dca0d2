//! `format-spec/LOADER.md` (CAPI-1) and the header agree on every result code.

// A test: a failure may panic, and fixtures are indexed directly.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

use dcf::dcf_result;
use dcf_test_support::{Cells, repo_root, table_rows};

#[test]
fn the_result_table_is_the_abis() {
    let text = std::fs::read_to_string(repo_root().join("format-spec/LOADER.md")).unwrap();
    let rows: Vec<(String, i64)> = table_rows(&text, Cells::Unquoted)
        .into_iter()
        .filter(|r| r.len() == 3 && r[0].starts_with("DCF_"))
        .map(|r| (r[0].clone(), r[1].parse().unwrap()))
        .collect();
    let abi = [
        ("DCF_OK", dcf_result::DCF_OK),
        ("DCF_REFUSED", dcf_result::DCF_REFUSED),
        ("DCF_NULL_ARGUMENT", dcf_result::DCF_NULL_ARGUMENT),
        ("DCF_INVALID_ARGUMENT", dcf_result::DCF_INVALID_ARGUMENT),
        ("DCF_PANIC", dcf_result::DCF_PANIC),
    ];
    // A result added to the ABI must be added here (and to the table): the match is exhaustive.
    for (_, result) in &abi {
        match result {
            dcf_result::DCF_OK
            | dcf_result::DCF_REFUSED
            | dcf_result::DCF_NULL_ARGUMENT
            | dcf_result::DCF_INVALID_ARGUMENT
            | dcf_result::DCF_PANIC => {}
        }
    }
    let expected: Vec<(String, i64)> = abi
        .iter()
        .map(|(name, result)| (name.to_string(), *result as i64))
        .collect();
    assert_eq!(
        rows, expected,
        "LOADER.md CAPI-1 lists the ABI's results in order"
    );
    // The header spells each the same way.
    let header = std::fs::read_to_string(repo_root().join("capi/include/dcf.h")).unwrap();
    for (name, value) in &expected {
        assert!(
            header.contains(&format!("{name} = {value},")),
            "dcf.h lacks `{name} = {value}`"
        );
    }
}
