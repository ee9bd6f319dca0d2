//! `format-spec/SPEC.md` and the parser agree: every error code and every limit is stated
//! once in the spec's tables and once in Rust, with the same meaning and value.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeMap;
use std::fs;

use dcf_parser::ErrorCode;
use dcf_parser::limits::*;
use dcf_test_support::{Cells, repo_root, table_rows};

fn spec() -> String {
    fs::read_to_string(repo_root().join("format-spec/SPEC.md")).expect("format-spec/SPEC.md")
}

/// Table rows whose first cell matches `first`, as trimmed cells without backticks.
fn rows(text: &str, first: impl Fn(&str) -> bool) -> Vec<Vec<String>> {
    table_rows(text, Cells::Unquoted)
        .into_iter()
        .filter(|cells| cells.first().is_some_and(|c| first(c)))
        .collect()
}

/// The parser's codes are `E0` + three digits; codes from E1000 up belong to other layers and
/// are tabled in `DIAGNOSTICS.md`.
fn is_parser_code(cell: &str) -> bool {
    cell.len() == 5 && cell.starts_with("E0") && cell[2..].bytes().all(|b| b.is_ascii_digit())
}

#[test]
fn error_table_matches_error_codes() {
    let text = spec();
    // The error table is the one whose rows read `| code | rule ids | description |`.
    let mut rule_ids: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for cells in rows(&text, is_parser_code) {
        let code = ErrorCode::from_str_code(&cells[0]).unwrap_or_else(|| {
            panic!(
                "SPEC.md names {} which the parser does not define",
                cells[0]
            )
        });
        if cells.len() >= 3 && cells[2] == code.description() {
            rule_ids
                .entry(cells[0].clone())
                .or_default()
                .push(cells[1].clone());
        }
    }
    for code in ErrorCode::ALL {
        let rows = rule_ids.get(code.as_str()).unwrap_or_else(|| {
            panic!(
                "SPEC.md error table lacks `| {} | <rule ids> | {} |`",
                code.as_str(),
                code.description()
            )
        });
        assert_eq!(
            rows.len(),
            1,
            "{} has {} rows in the error table",
            code.as_str(),
            rows.len()
        );
        assert!(
            !rows[0].is_empty(),
            "{} has no rule id in SPEC.md",
            code.as_str()
        );
    }
}

#[test]
fn limits_table_matches_limits_module() {
    let text = spec();
    let table: BTreeMap<String, (String, String)> = rows(&text, |c| c.starts_with("MAX_"))
        .into_iter()
        .filter(|cells| cells.len() >= 3)
        .map(|cells| {
            (
                cells[0].clone(),
                (cells[1].replace(['_', ','], ""), cells[2].clone()),
            )
        })
        .collect();
    let limits: [(&str, u64, ErrorCode); 14] = [
        (
            "MAX_FILE_SIZE",
            MAX_FILE_SIZE as u64,
            ErrorCode::FileTooLarge,
        ),
        ("MAX_STRINGS", MAX_STRINGS.into(), ErrorCode::TooManyStrings),
        (
            "MAX_STRING_LEN",
            MAX_STRING_LEN.into(),
            ErrorCode::StringTooLong,
        ),
        (
            "MAX_TEMPLATES",
            MAX_TEMPLATES.into(),
            ErrorCode::TooManyTemplates,
        ),
        (
            "MAX_FIELDS_PER_TEMPLATE",
            MAX_FIELDS_PER_TEMPLATE.into(),
            ErrorCode::TooManyFields,
        ),
        (
            "MAX_TOTAL_FIELDS",
            MAX_TOTAL_FIELDS.into(),
            ErrorCode::TooManyTotalFields,
        ),
        (
            "MAX_ATTRIBUTES",
            MAX_ATTRIBUTES.into(),
            ErrorCode::TooManyAttributes,
        ),
        (
            "MAX_ATTRIBUTES_PER_RULE",
            MAX_ATTRIBUTES_PER_RULE.into(),
            ErrorCode::TooManyRuleAttributes,
        ),
        ("MAX_VALUES", MAX_VALUES.into(), ErrorCode::TooManyValues),
        (
            "MAX_VALUES_PER_NODE",
            MAX_VALUES_PER_NODE.into(),
            ErrorCode::ValueCountOutOfRange,
        ),
        ("MAX_RULES", MAX_RULES.into(), ErrorCode::TooManyRules),
        ("MAX_NODES", MAX_NODES.into(), ErrorCode::TooManyNodes),
        (
            "MAX_NODES_PER_RULE",
            MAX_NODES_PER_RULE.into(),
            ErrorCode::ExpressionSize,
        ),
        (
            "MAX_EXPRESSION_DEPTH",
            MAX_EXPRESSION_DEPTH.into(),
            ErrorCode::ExpressionTooDeep,
        ),
    ];
    for (name, value, code) in limits {
        let (spec_value, spec_code) = table
            .get(name)
            .unwrap_or_else(|| panic!("SPEC.md limits table lacks {name}"));
        assert_eq!(
            spec_value,
            &value.to_string(),
            "{name}: SPEC.md value differs from limits.rs"
        );
        assert_eq!(spec_code, code.as_str(), "{name}: SPEC.md code differs");
    }
    let known: Vec<&str> = limits.iter().map(|l| l.0).collect();
    for name in table.keys() {
        assert!(
            known.contains(&name.as_str()),
            "SPEC.md states limit {name} that this test does not check"
        );
    }
}
