//! `format-spec/SIGMA.md` and the crate agree on every code, both ways.

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

use dcf_sigma::Code;
use dcf_test_support::{Cells, table_rows};

#[test]
fn code_table_matches_the_crate() {
    let text = std::fs::read_to_string(common::repo_root().join("format-spec/SIGMA.md")).unwrap();
    let rows: BTreeMap<String, (String, String)> = table_rows(&text, Cells::Trimmed)
        .into_iter()
        .filter(|cells| cells[0].starts_with("E5"))
        .map(|cells| {
            assert_eq!(cells.len(), 3, "{cells:?}");
            (cells[0].clone(), (cells[1].clone(), cells[2].clone()))
        })
        .collect();
    for code in Code::ALL {
        assert_eq!(
            rows.get(code.as_str()),
            Some(&(code.rule().to_string(), code.description().to_string())),
            "{}",
            code.as_str()
        );
        assert!(
            text.contains(&format!("## {} ", code.rule())),
            "{} names rule {}, which SIGMA.md does not define",
            code.as_str(),
            code.rule()
        );
    }
    assert_eq!(
        rows.len(),
        Code::ALL.len(),
        "SIGMA.md lists codes the crate does not define"
    );
}
