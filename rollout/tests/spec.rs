//! `format-spec/ROLLOUT.md` and the crate agree on every code and every limit, both ways.

// A test: a failure may panic, and fixtures are indexed directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeMap;

use dcf_rollout::RolloutCode;
use dcf_rollout::limits;
use dcf_test_support::{Cells, repo_root, table_rows};

fn spec() -> String {
    std::fs::read_to_string(repo_root().join("format-spec/ROLLOUT.md")).unwrap()
}

#[test]
fn code_table_matches_the_crate() {
    let text = spec();
    let rows: BTreeMap<String, (String, String)> = table_rows(&text, Cells::Trimmed)
        .into_iter()
        .filter(|r| r.len() == 3 && r[0].starts_with("E6"))
        .map(|r| (r[0].clone(), (r[1].clone(), r[2].clone())))
        .collect();
    for code in RolloutCode::ALL {
        assert_eq!(
            rows.get(code.as_str()),
            Some(&(code.rule().to_string(), code.description().to_string())),
            "{}",
            code.as_str()
        );
        assert!(
            text.contains(&format!("## {} ", code.rule())),
            "{} names rule {}, which ROLLOUT.md does not define",
            code.as_str(),
            code.rule()
        );
    }
    assert_eq!(
        rows.len(),
        RolloutCode::ALL.len(),
        "ROLLOUT.md lists codes the crate does not define"
    );
}

#[test]
fn limits_table_matches_the_limits_module() {
    let text = spec();
    let section = text
        .split("\n## Limits")
        .nth(1)
        .unwrap()
        .split("\n## ")
        .next()
        .unwrap();
    let rows: BTreeMap<String, String> = table_rows(section, Cells::Trimmed)
        .into_iter()
        .filter(|r| r.len() == 2 && r[0] != "Limit")
        .map(|r| (r[0].clone(), r[1].clone()))
        .collect();
    let expected: BTreeMap<String, String> = [
        ("SHARE_SCALE", limits::SHARE_SCALE.to_string()),
        ("MAX_WAVES", limits::MAX_WAVES.to_string()),
        ("MAX_COHORTS", limits::MAX_COHORTS.to_string()),
        ("MAX_NAME_LEN", limits::MAX_NAME_LEN.to_string()),
        ("MAX_PLAN_SIZE", limits::MAX_PLAN_SIZE.to_string()),
        ("MAX_REPORT_SIZE", limits::MAX_REPORT_SIZE.to_string()),
        ("MAX_REPORTS", limits::MAX_REPORTS.to_string()),
        ("MAX_LOAD_RECORDS", limits::MAX_LOAD_RECORDS.to_string()),
        ("MAX_REPORTED_RULES", limits::MAX_REPORTED_RULES.to_string()),
        ("MAX_NAMED_SENSORS", limits::MAX_NAMED_SENSORS.to_string()),
        ("MAX_GATES_SIZE", limits::MAX_GATES_SIZE.to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    assert_eq!(rows, expected);
}

/// Every code has a test that produces exactly it: the tests named here, in this crate and
/// in `dcf-updater` (whose tests name their codes in ROLLOUT.md's attack table).
#[test]
fn every_code_is_produced_by_a_test() {
    let sources: String = [
        "rollout/tests/gates.rs",
        "rollout/tests/publish.rs",
        "updater/tests/tuf.rs",
    ]
    .iter()
    .map(|p| std::fs::read_to_string(repo_root().join(p)).unwrap())
    .collect();
    for code in RolloutCode::ALL {
        assert!(
            sources.contains(&format!("\"{}\"", code.as_str())),
            "no test asserts {}",
            code.as_str()
        );
    }
}
