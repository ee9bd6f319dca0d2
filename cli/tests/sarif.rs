//! `dcf validate --format sarif` is SARIF 2.1.0: it deserialises into the typed SARIF model
//! of the `serde-sarif` crate (generated from the published 2.1.0 schema) and serialises back
//! to the same JSON, so no key is misspelt, misplaced or of the wrong type, and it has what
//! GitHub code scanning needs (rules, levels, locations with a start line).

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::process::Command;

use serde_json::Value;

fn sarif_of(args: &[&str]) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_dcf"))
        .args(args)
        .args(["--format", "sarif"])
        .current_dir(common::repo_root())
        .output()
        .expect("dcf runs");
    let code = out.status.code().expect("exit code");
    assert_ne!(code, 101);
    (
        code,
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document"),
    )
}

/// Removes nulls and empty collections, which the typed model does not write back.
fn normalise(v: &Value) -> Value {
    match v {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), normalise(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        other => other.clone(),
    }
}

fn check(doc: &Value) {
    let typed: serde_sarif::sarif::Sarif =
        serde_json::from_value(doc.clone()).expect("deserialises as SARIF 2.1.0");
    let back = serde_json::to_value(&typed).expect("serialises");
    assert_eq!(
        normalise(&back),
        normalise(doc),
        "the typed round trip changes the log"
    );

    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "dcf");
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules.iter().filter_map(|r| r["id"].as_str()).collect();
    for result in run["results"].as_array().expect("results") {
        let id = result["ruleId"].as_str().expect("ruleId");
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(ids.get(index), Some(&id), "ruleIndex points at its rule");
        assert!(matches!(
            result["level"].as_str(),
            Some("error" | "warning")
        ));
        assert!(
            result["message"]["text"]
                .as_str()
                .is_some_and(|t| !t.is_empty())
        );
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().expect("uri");
        assert!(
            !uri.starts_with('/') && !uri.contains('\\'),
            "relative URI: {uri}"
        );
        assert!(
            location["region"]["startLine"]
                .as_u64()
                .is_some_and(|l| l >= 1)
        );
        assert!(result["partialFingerprints"].is_object());
    }
}

#[test]
fn semantic_corpus_is_valid_sarif() {
    let (code, doc) = sarif_of(&[
        "validate",
        "corpus/semantic",
        "--manifest",
        "corpus/semantic/manifests",
        "--previous",
        "corpus/semantic/previous/channel-291-seq-10.dcf",
        "--now",
        "2027-01-15T08:00:00Z",
    ]);
    assert_eq!(code, 1);
    check(&doc);
    let results = doc["runs"][0]["results"].as_array().expect("results");
    assert!(results.len() > 20);
    // Binary findings carry their byte range.
    assert!(results.iter().any(|r| {
        let region = &r["locations"][0]["physicalLocation"]["region"];
        r["ruleId"] == "E1003" && region["byteOffset"].is_u64() && region["byteLength"] == 12
    }));
}

#[test]
fn parser_rejections_are_valid_sarif() {
    let (code, doc) = sarif_of(&[
        "validate",
        "corpus/invalid",
        "--manifest",
        "corpus/semantic/manifests",
    ]);
    assert_eq!(code, 1);
    check(&doc);
}

#[test]
fn a_clean_run_is_valid_sarif_with_no_results() {
    let (code, doc) = sarif_of(&[
        "validate",
        "corpus/semantic/signed-ok.dcf",
        "--manifest",
        "corpus/semantic/manifests",
        "--now",
        "2027-01-15T08:00:00Z",
    ]);
    assert_eq!(code, 0);
    check(&doc);
    assert_eq!(doc["runs"][0]["results"].as_array().map(Vec::len), Some(0));
}

#[test]
fn manifest_errors_are_valid_sarif_with_text_regions() {
    let dir = std::env::temp_dir().join(format!("dcf-sarif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let bad = dir.join("bad.toml");
    std::fs::write(&bad, "version = \"7.11.0\"\n[[template]]\nid = -4\n").expect("write");
    let (code, doc) = sarif_of(&[
        "validate",
        "corpus/semantic/signed-ok.dcf",
        "--manifest",
        bad.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(code, 2);
    // An absolute path becomes a file:// URI.
    let location = &doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"];
    assert!(
        location["artifactLocation"]["uri"]
            .as_str()
            .is_some_and(|u| u.starts_with("file:///"))
    );
    assert_eq!(location["region"]["startLine"], 3);
    let typed: serde_sarif::sarif::Sarif = serde_json::from_value(doc).expect("SARIF");
    assert_eq!(typed.runs.len(), 1);
    let _ = std::fs::remove_dir_all(dir);
}
