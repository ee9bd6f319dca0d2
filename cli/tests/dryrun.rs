//! `dcf test`: the example content passes; the seeded broken example is refused with the
//! failing rules named; every finding a content can cause has a case here.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use common::{dcf, s};

use std::path::{Path, PathBuf};

use serde_json::Value;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dcf-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn compile(source: &str, out: &Path) {
    let (code, _, stderr) = dcf(&["compile", source, "-m", "examples/manifests", "-o", &s(out)]);
    assert_eq!(code, 0, "{stderr}");
}

/// `(code, message)` of every diagnostic of a JSON report.
fn findings(doc: &Value) -> Vec<(String, String)> {
    doc["files"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|f| f["diagnostics"].as_array().into_iter().flatten())
        .map(|d| {
            (
                d["code"].as_str().unwrap_or_default().to_string(),
                d["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn test_json(content: &Path, extra: &[&str]) -> (i32, Value) {
    let c = s(content);
    let mut args = vec![
        "test",
        c.as_str(),
        "-m",
        "examples/manifests",
        "--format",
        "json",
    ];
    args.extend(extra);
    let (code, stdout, stderr) = dcf(&args);
    let doc = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    (code, doc)
}

#[test]
fn the_example_content_passes_with_its_expectations_and_benign_events() {
    let dir = scratch("example");
    let content = dir.join("content.dcf");
    compile("examples/rules", &content);
    let (code, doc) = test_json(
        &content,
        &[
            "--events",
            "examples/events.jsonl",
            "--benign",
            "examples/benign.jsonl",
        ],
    );
    assert_eq!(code, 0, "{doc:#}");
    assert_eq!(findings(&doc), Vec::<(String, String)>::new());
    let sensors = doc["sensors"].as_array().expect("sensors");
    assert_eq!(sensors.len(), 2);
    for run in sensors {
        assert_eq!(run["rules_bound"], 6);
        assert_eq!(run["rules_refused"], 0);
        assert_eq!(run["criteria"], 16);
        assert_eq!(run["events"], 14);
        assert_eq!(run["benign_events"], 300);
        assert!(run["probe_events"].as_u64().unwrap_or(0) >= 64);
    }
    // Human output: one summary, no findings.
    let (code, stdout, stderr) = dcf(&[
        "test",
        &s(&content),
        "-m",
        "examples/manifests",
        "--events",
        "examples/events.jsonl",
    ]);
    assert_eq!(code, 0);
    assert!(stdout.is_empty());
    assert!(stderr.contains(": ok (0 errors, 0 warnings)"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_seeded_broken_example_names_the_failing_rules() {
    let dir = scratch("broken");
    let content = dir.join("broken.dcf");
    compile("examples/broken/rules.yaml", &content);
    let (code, doc) = test_json(&content, &["--benign", "examples/benign.jsonl"]);
    assert_eq!(code, 1, "{doc:#}");
    let found = findings(&doc);
    assert_eq!(found.len(), 2, "{found:#?}");
    // The Channel File 291 class: refused by 7.11 only, with the rule, field and sensor named.
    let (code, message) = &found[0];
    assert_eq!(code, "E3102");
    for part in [
        "29107e1e-0000-4000-8000-000000000291",
        "impersonation_level",
        "supplies only 20 fields",
        "(on dcf-sensor-windows 7.11.0)",
    ] {
        assert!(message.contains(part), "{part} not in {message}");
    }
    // The block rule that matches every benign process start.
    let (code, message) = &found[1];
    assert_eq!(code, "E4201");
    assert!(
        message.contains("6d2f0a4e-5b1c-4e7a-9c3d-8f1e2a7b6c90"),
        "{message}"
    );
    assert!(message.contains("120 of 120"), "{message}");
    // 7.11 still tests the rule it can bind; 7.12 binds both.
    assert_eq!(doc["sensors"][0]["rules_bound"], 1);
    assert_eq!(doc["sensors"][0]["rules_refused"], 1);
    assert_eq!(doc["sensors"][1]["rules_bound"], 2);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn expectations_report_missing_unwanted_and_unknown_rules() {
    let dir = scratch("expect");
    let content = dir.join("content.dcf");
    compile("examples/rules", &content);
    let events = dir.join("events.jsonl");
    // Line 1: must match the encoded-PowerShell rule but does not (no -enc).
    // Line 2: must not match it but does. Line 3: names a rule the content lacks.
    std::fs::write(
        &events,
        concat!(
            r#"{"template": "process_creation", "fields": {"image": "C:\\x\\powershell.exe", "command_line": "powershell -File a.ps1"}, "match": ["3f6c2a1e-8d4b-4f0a-9c2e-5b7d1e9a0c11"]}"#,
            "\n",
            r#"{"template": "process_creation", "fields": {"image": "C:\\x\\powershell.exe", "command_line": "powershell -enc AAAA"}, "no_match": ["3f6c2a1e-8d4b-4f0a-9c2e-5b7d1e9a0c11"]}"#,
            "\n",
            r#"{"template": 1, "fields": {}, "match": ["00000000-0000-4000-8000-0000000000ff"]}"#,
            "\n"
        ),
    )
    .expect("write events");
    let (code, doc) = test_json(&content, &["--events", &s(&events)]);
    assert_eq!(code, 1);
    let found = findings(&doc);
    let codes: Vec<&str> = found.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(codes, ["E4103", "E4101", "E4102"], "{found:#?}");
    assert!(found[1].1.contains("events line 1"), "{}", found[1].1);
    assert!(found[2].1.contains("events line 2"), "{}", found[2].1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn blast_radius_is_an_error_for_block_rules_and_a_warning_otherwise() {
    let dir = scratch("blast");
    let content = dir.join("content.dcf");
    compile("examples/rules", &content);
    // The expectation events are mostly attacks: as "benign" traffic, with no tolerance,
    // every rule they trigger is over the threshold.
    let (code, doc) = test_json(
        &content,
        &[
            "--benign",
            "examples/events.jsonl",
            "--benign-threshold",
            "0",
        ],
    );
    assert_eq!(code, 1);
    let found = findings(&doc);
    let block: Vec<_> = found.iter().filter(|(c, _)| c == "E4201").collect();
    let other: Vec<_> = found.iter().filter(|(c, _)| c == "E4202").collect();
    assert_eq!(block.len(), 2, "{found:#?}"); // the Office and Cobalt Strike block rules
    assert_eq!(other.len(), 4, "{found:#?}");
    assert_eq!(block.len() + other.len(), found.len());
    // Warnings alone pass, unless denied.
    let (code, _) = test_json(
        &content,
        &[
            "--benign",
            "examples/benign.jsonl",
            "--benign-threshold",
            "0",
        ],
    );
    assert_eq!(code, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_criterion_without_a_failing_value_is_a_warning() {
    let (code, stdout, _) = dcf(&[
        "test",
        "corpus/semantic/E1105-operand-matches-all.dcf",
        "-m",
        "corpus/semantic/manifests",
        "--format",
        "json",
    ]);
    let doc: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(code, 0, "{doc:#}");
    let found = findings(&doc);
    assert!(!found.is_empty());
    assert!(found.iter().all(|(c, _)| c == "E4003"), "{found:#?}");
    assert!(
        found[0]
            .1
            .contains("no value could be generated that fails")
    );
    let (code, _, _) = dcf(&[
        "test",
        "corpus/semantic/E1105-operand-matches-all.dcf",
        "-m",
        "corpus/semantic/manifests",
        "--deny-warnings",
    ]);
    assert_eq!(code, 1);
}

#[test]
fn bad_inputs_exit_2_and_structural_rejections_exit_1() {
    let dir = scratch("bad");
    let content = dir.join("content.dcf");
    compile("examples/rules", &content);
    let events = dir.join("events.jsonl");
    std::fs::write(
        &events,
        "{\"template\": \"process_creation\", \"fields\": {\"imagee\": \"x\"}}\n{\"template\": \"nope\"}\n{not json\n",
    )
    .expect("write");
    let (code, _, stderr) = dcf(&[
        "test",
        &s(&content),
        "-m",
        "examples/manifests",
        "--events",
        &s(&events),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("E9301"), "{stderr}");
    assert!(stderr.contains("line 3"), "{stderr}");
    std::fs::write(
        &events,
        "{\"template\": \"process_creation\", \"fields\": {\"imagee\": \"x\"}}\n{\"template\": \"nope\"}\n",
    )
    .expect("write");
    let (code, _, stderr) = dcf(&[
        "test",
        &s(&content),
        "-m",
        "examples/manifests",
        "--events",
        &s(&events),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("field `imagee`"), "{stderr}");
    assert!(stderr.contains("template type `nope`"), "{stderr}");
    let (code, _, _) = dcf(&[
        "test",
        &s(&content),
        "-m",
        "examples/manifests",
        "--benign-threshold",
        "150%",
    ]);
    assert_eq!(code, 2);
    let (code, _, stderr) = dcf(&[
        "test",
        "corpus/invalid/E0107-corrupted-body.dcf",
        "-m",
        "examples/manifests",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("E0107"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
