//! `format-spec/DIAGNOSTICS.md` and `validator/src/codes.rs` define the same codes.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::collections::BTreeMap;

use dcf_test_support::{Cells, table_rows};
use dcf_validator::{Code, limits};

fn doc() -> String {
    std::fs::read_to_string(common::repo_root().join("format-spec/DIAGNOSTICS.md"))
        .expect("format-spec/DIAGNOSTICS.md")
}

/// Rows `| E1234 | a | b |` of the section that starts with `heading`.
fn rows(doc: &str, heading: &str) -> Vec<Vec<String>> {
    let section = doc
        .split("\n## ")
        .find(|s| s.starts_with(heading))
        .unwrap_or_else(|| panic!("DIAGNOSTICS.md has no section `{heading}`"));
    table_rows(section, Cells::Trimmed)
        .into_iter()
        .filter(|cells| cells[0].starts_with('E'))
        .collect()
}

#[test]
fn code_table_matches_the_enum_both_ways() {
    let doc = doc();
    let table: BTreeMap<String, (String, String)> = rows(&doc, "Codes")
        .into_iter()
        .map(|r| match r.as_slice() {
            [code, rule, description] => (code.clone(), (rule.clone(), description.clone())),
            other => panic!("malformed row {other:?}"),
        })
        .collect();
    for code in Code::ALL {
        let (rule, description) = table
            .get(code.as_str())
            .unwrap_or_else(|| panic!("{} is missing from DIAGNOSTICS.md", code.as_str()));
        assert_eq!(rule, code.rule(), "rule of {}", code.as_str());
        assert_eq!(
            description,
            code.description(),
            "description of {}",
            code.as_str()
        );
    }
    for code in table.keys() {
        assert!(
            Code::from_str_code(code).is_some(),
            "DIAGNOSTICS.md lists {code}, which validator/src/codes.rs does not define"
        );
    }
    assert_eq!(table.len(), Code::ALL.len(), "a code is listed twice");
}

#[test]
fn severity_table_matches_the_enum_both_ways() {
    let doc = doc();
    let table: BTreeMap<String, String> = rows(&doc, "Severities")
        .into_iter()
        .map(|r| match r.as_slice() {
            [code, severity] => (code.clone(), severity.clone()),
            other => panic!("malformed row {other:?}"),
        })
        .collect();
    assert_eq!(table.len(), Code::ALL.len());
    for code in Code::ALL {
        assert_eq!(
            table.get(code.as_str()).map(String::as_str),
            Some(code.severity().as_str()),
            "severity of {}",
            code.as_str()
        );
    }
}

#[test]
fn codes_are_in_their_families_and_unique() {
    let mut seen = std::collections::BTreeSet::new();
    for code in Code::ALL {
        let s = code.as_str();
        assert!(seen.insert(s), "{s} defined twice");
        assert!(
            s.len() == 5 && ["E1", "E2", "E4", "E9"].iter().any(|p| s.starts_with(p)),
            "{s} is outside the validator's ranges (E1xxx, E2xxx, E4xxx, E9xxx)"
        );
        assert!(
            dcf_parser::ErrorCode::from_str_code(s).is_none(),
            "{s} collides with a parser code"
        );
    }
}

#[test]
fn limits_table_states_the_constants() {
    let doc = doc();
    for (name, value) in [
        (
            "REGEX_SIZE_LIMIT",
            format!("({} bytes)", limits::REGEX_SIZE_LIMIT),
        ),
        (
            "REGEX_NEST_LIMIT",
            format!("{} levels", limits::REGEX_NEST_LIMIT),
        ),
        (
            "MAX_SOURCE_DEPTH",
            format!("{} levels", limits::MAX_SOURCE_DEPTH),
        ),
        (
            "MAX_KEY_FILE_SIZE",
            format!("{} bytes", limits::MAX_KEY_FILE_SIZE),
        ),
        (
            "SEQUENCE_RESERVE",
            format!("{} sequence numbers", limits::SEQUENCE_RESERVE),
        ),
        ("SEQUENCE_WARNING", format!("{} ", limits::SEQUENCE_WARNING)),
        (
            "MAX_SEQUENCE_JUMP",
            format!("{} over", limits::MAX_SEQUENCE_JUMP),
        ),
        (
            "MAX_WALK_DEPTH",
            format!("{} levels", limits::MAX_WALK_DEPTH),
        ),
        ("MAX_JOBS", format!("{} threads", limits::MAX_JOBS)),
    ] {
        let row = doc
            .lines()
            .find(|l| l.starts_with(&format!("| `{name}` |")))
            .unwrap_or_else(|| panic!("no row for {name}"));
        assert!(
            row.contains(&value),
            "{name}: `{row}` does not state `{value}`"
        );
    }
    assert_eq!(limits::REGEX_SIZE_LIMIT, 1 << 20);
    assert_eq!(limits::REGEX_DFA_SIZE_LIMIT, 256 << 10);
    assert_eq!(limits::MAX_SOURCE_SIZE, 16 << 20);
    assert_eq!(limits::MAX_MANIFEST_SIZE, 4 << 20);
}
