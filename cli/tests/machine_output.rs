//! Every command's machine-readable output carries every error, whatever its code and
//! whenever it is found (by the file's size before reading, by the frame, by the body), with
//! the byte offset SPEC.md gives it (§3: every error reports one). Checked against every file
//! of `corpus/invalid/` and its `expected.json`, for each command and format that has one.
//! The human output names the offset too, even where there are no bytes to excerpt.

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

use common::{dcf, repo_root};
use serde_json::Value;

/// `corpus/invalid/expected.json`: file name → (code, offset).
fn expected() -> BTreeMap<String, (String, u64)> {
    let text = std::fs::read_to_string(repo_root().join("corpus/invalid/expected.json"))
        .expect("corpus/invalid/expected.json");
    let doc: Value = serde_json::from_str(&text).expect("expected.json is JSON");
    let map = doc.as_object().expect("an object");
    let out: BTreeMap<String, (String, u64)> = map
        .iter()
        .map(|(name, v)| {
            let code = v["code"].as_str().expect("code").to_string();
            let offset = v["offset"].as_u64().expect("offset");
            (name.clone(), (code, offset))
        })
        .collect();
    assert!(out.len() >= 70, "the corpus has a file per code");
    out
}

/// Reads the (code, offset) pairs of one command's standard output.
type Reader = fn(&str, &str) -> Vec<(String, Option<u64>)>;

/// The (code, offset) pairs of a `--format json` document.
fn json_errors(stdout: &str, what: &str) -> Vec<(String, Option<u64>)> {
    let doc: Value = serde_json::from_str(stdout).unwrap_or_else(|e| {
        panic!("{what}: standard output is not one JSON document ({e}): {stdout:?}")
    });
    doc["files"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no `files` in {doc}"))
        .iter()
        .flat_map(|f| f["diagnostics"].as_array().cloned().unwrap_or_default())
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default().to_string(),
                d["offset"].as_u64(),
            )
        })
        .collect()
}

/// The (code, offset) pairs of a SARIF log.
fn sarif_errors(stdout: &str, what: &str) -> Vec<(String, Option<u64>)> {
    let doc: Value = serde_json::from_str(stdout)
        .unwrap_or_else(|e| panic!("{what}: standard output is not SARIF ({e}): {stdout:?}"));
    doc["runs"][0]["results"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}: no results in {doc}"))
        .iter()
        .map(|r| {
            (
                r["ruleId"].as_str().unwrap_or_default().to_string(),
                r["locations"][0]["physicalLocation"]["region"]["byteOffset"].as_u64(),
            )
        })
        .collect()
}

#[test]
fn every_command_reports_every_structural_error_with_its_offset() {
    let manifests = "corpus/semantic/manifests";
    let mut checked = 0;
    for (name, (code, offset)) in expected() {
        let file = format!("corpus/invalid/{name}");
        let want = (code.clone(), Some(offset));
        let runs: [(&str, Vec<&str>, Reader); 5] = [
            (
                "validate --format json",
                vec!["validate", &file, "-m", manifests, "--format", "json"],
                json_errors,
            ),
            (
                "validate --format sarif",
                vec!["validate", &file, "-m", manifests, "--format", "sarif"],
                sarif_errors,
            ),
            (
                "inspect --format json",
                vec!["inspect", &file, "--format", "json"],
                json_errors,
            ),
            (
                "test --format json",
                vec!["test", &file, "-m", manifests, "--format", "json"],
                json_errors,
            ),
            (
                "test --format sarif",
                vec!["test", &file, "-m", manifests, "--format", "sarif"],
                sarif_errors,
            ),
        ];
        for (what, args, read) in runs {
            let (exit, stdout, _) = dcf(&args);
            let what = format!("dcf {what} on {name}");
            assert_eq!(exit, 1, "{what}: a rejected content exits 1");
            let errors = read(&stdout, &what);
            assert_eq!(errors, vec![want.clone()], "{what}");
            checked += 1;
        }
        // The human form says where too, on standard error.
        for args in [
            vec!["validate", &file, "-m", manifests],
            vec!["inspect", &file],
        ] {
            let (_, _, stderr) = dcf(&args);
            assert!(
                stderr.contains(&code) && stderr.contains(&format!("byte {offset}")),
                "dcf {} on {name}: the human message names {code} and byte {offset}: {stderr}",
                args[0]
            );
        }
    }
    assert!(checked >= 350);
}
