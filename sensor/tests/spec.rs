//! `format-spec/LOADER.md` and the sensor agree on every code and every limit.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeMap;

use dcf_sensor::SensorCode;
use dcf_sensor::limits;
use dcf_test_support::{Cells, repo_root, table_rows};

#[test]
fn code_table_matches_sensor_codes() {
    let text = std::fs::read_to_string(repo_root().join("format-spec/LOADER.md")).unwrap();
    let rows: BTreeMap<String, String> = table_rows(&text, Cells::Trimmed)
        .into_iter()
        .filter(|r| r.len() == 3 && r[0].starts_with("E3"))
        .map(|r| (r[0].clone(), r[2].clone()))
        .collect();
    for code in SensorCode::ALL {
        assert_eq!(
            rows.get(code.as_str()).map(String::as_str),
            Some(code.description()),
            "{}",
            code.as_str()
        );
    }
    assert_eq!(
        rows.len(),
        SensorCode::ALL.len(),
        "LOADER.md lists codes the sensor does not define"
    );
}

#[test]
fn limits_table_matches_limits_module() {
    let text = std::fs::read_to_string(repo_root().join("format-spec/LOADER.md")).unwrap();
    let rows: BTreeMap<String, String> = table_rows(&text, Cells::Trimmed)
        .into_iter()
        .filter(|r| r.len() == 2 && r[0].chars().all(|c| c.is_ascii_uppercase() || c == '_'))
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let expected: [(&str, String); 14] = [
        ("REGEX_SIZE_LIMIT", limits::REGEX_SIZE_LIMIT.to_string()),
        (
            "REGEX_DFA_SIZE_LIMIT",
            limits::REGEX_DFA_SIZE_LIMIT.to_string(),
        ),
        ("REGEX_NEST_LIMIT", limits::REGEX_NEST_LIMIT.to_string()),
        (
            "REGEX_DENSE_SIZE_LIMIT",
            limits::REGEX_DENSE_SIZE_LIMIT.to_string(),
        ),
        (
            "ALPHABET_WORK_LIMIT",
            limits::ALPHABET_WORK_LIMIT.to_string(),
        ),
        (
            "REGEX_DENSE_ALLOWANCE",
            limits::REGEX_DENSE_ALLOWANCE.to_string(),
        ),
        (
            "REGEX_STEPS_PER_STATE",
            limits::REGEX_STEPS_PER_STATE.to_string(),
        ),
        ("REGEX_DENSE_STEPS", limits::REGEX_DENSE_STEPS.to_string()),
        ("REGEX_LAZY_STEPS", limits::REGEX_LAZY_STEPS.to_string()),
        (
            "REGEX_UNICODE_STEPS",
            limits::REGEX_UNICODE_STEPS.to_string(),
        ),
        (
            "DEFAULT_STEPS_PER_BYTE",
            limits::DEFAULT_STEPS_PER_BYTE.to_string(),
        ),
        (
            "DEFAULT_STEPS_PER_EVENT",
            limits::DEFAULT_STEPS_PER_EVENT.to_string(),
        ),
        (
            "DEFAULT_MATCHER_MEMORY",
            limits::DEFAULT_MATCHER_MEMORY.to_string(),
        ),
        (
            "EXHAUSTIVE_BUDGET_FACTOR",
            limits::EXHAUSTIVE_BUDGET_FACTOR.to_string(),
        ),
    ];
    for (name, value) in &expected {
        assert_eq!(rows.get(*name), Some(value), "LOADER.md row {name}");
    }
    assert_eq!(
        rows.len(),
        expected.len(),
        "LOADER.md lists limits the sensor does not define: {rows:?}"
    );
}
