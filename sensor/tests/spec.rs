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
use dcf_sensor::limits::{REGEX_DFA_SIZE_LIMIT, REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT};
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
        .filter(|r| r.len() == 2 && r[0].starts_with("REGEX_"))
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    assert_eq!(rows["REGEX_SIZE_LIMIT"], REGEX_SIZE_LIMIT.to_string());
    assert_eq!(
        rows["REGEX_DFA_SIZE_LIMIT"],
        REGEX_DFA_SIZE_LIMIT.to_string()
    );
    assert_eq!(rows["REGEX_NEST_LIMIT"], REGEX_NEST_LIMIT.to_string());
}
