//! `dcf compile --from sigma`: skipped rules are reported one by one with their code, listed in
//! the JSON report, and fail the run only under `--fail-on-skip`.

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

use std::path::PathBuf;

const GOOD: &str = "\
title: Whoami Execution
id: 0c6d3d3b-1b0e-4a7b-9d2b-5f7d0a2b9c11
status: test
author: dcf tests
logsource:
  category: process_creation
  product: windows
detection:
  selection:
    Image|endswith: '\\whoami.exe'
  condition: selection
level: low
";

const EXPAND: &str = "\
title: Expand Placeholder
id: 5b0e0f43-3c2a-4d47-8f0e-6f1c2b7d9a01
status: test
author: dcf tests
logsource:
  category: process_creation
  product: windows
detection:
  selection:
    CommandLine|expand: '%Admins%'
  condition: selection
level: high
";

fn rules_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dcf-sigma-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("rules/nested")).expect("scratch dir");
    std::fs::write(dir.join("rules/whoami.yml"), GOOD).expect("write rule");
    std::fs::write(dir.join("rules/nested/expand.yml"), EXPAND).expect("write rule");
    dir
}

#[test]
fn skipped_rules_are_reported_listed_and_fail_only_on_request() {
    let dir = rules_dir("skip");
    let out = dir.join("out.dcf");
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "compile",
            "--from",
            "sigma",
            &s(&dir.join("rules")),
            "--manifest",
            "sigma/manifests",
            "-o",
            &s(&out),
            "--sequence",
            "7",
        ]
        .iter()
        .map(|x| x.to_string())
        .collect();
        a.extend(extra.iter().map(|x| x.to_string()));
        a
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        dcf(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };

    let (code, stdout, stderr) = run(&[]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.is_empty());
    assert!(stderr.contains("E5406"), "{stderr}");
    assert!(stderr.contains("expand.yml"), "{stderr}");
    assert!(
        stderr.contains("compiled 1 of 2 Sigma rules; 1 skipped"),
        "{stderr}"
    );
    let view_bytes = std::fs::read(&out).expect("content written");
    let view = dcf_parser::parse(&view_bytes).expect("content parses");
    assert_eq!(view.rule_count(), 1);
    assert_eq!(view.header().sequence, 7);

    let (code, _, stderr) = run(&["--fail-on-skip"]);
    assert_eq!(code, 1, "{stderr}");

    let (code, stdout, _) = run(&["--format", "json"]);
    assert_eq!(code, 0);
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(doc["valid"], true);
    assert_eq!(doc["compiled"].as_array().map(Vec::len), Some(1));
    assert_eq!(doc["compiled"][0]["title"], "Whoami Execution");
    assert_eq!(doc["compiled"][0]["author"], "dcf tests");
    assert_eq!(doc["skipped"][0]["code"], "E5406");
    assert_eq!(
        doc["skipped"][0]["id"],
        "5b0e0f43-3c2a-4d47-8f0e-6f1c2b7d9a01"
    );
    assert!(
        doc["skipped"][0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("%Admins%")),
        "{stdout}"
    );
    assert_eq!(doc["breakdown"]["E5406"], 1);

    let (code, stdout, _) = run(&["--format", "json", "--fail-on-skip"]);
    assert_eq!(code, 1);
    let doc: serde_json::Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(doc["valid"], false);

    // With the placeholder's values the rule compiles: one criterion per value.
    let placeholders = dir.join("placeholders.yml");
    std::fs::write(&placeholders, "Admins: ['alice', 'bob']\n").unwrap();
    let (code, _, stderr) = run(&["--placeholders", &s(&placeholders), "--fail-on-skip"]);
    assert_eq!(code, 0, "{stderr}");
    let bytes = std::fs::read(&out).expect("content written");
    let view = dcf_parser::parse(&bytes).expect("content parses");
    assert_eq!(view.rule_count(), 2);
    assert!(
        view.strings().iter().any(|t| t == "alice") && view.strings().iter().any(|t| t == "bob"),
        "the expanded values are in the content"
    );
    // A placeholder file that is not a mapping of names to values: E9401, exit 2.
    std::fs::write(&placeholders, "- alice\n- bob\n").unwrap();
    let (code, _, stderr) = run(&["--placeholders", &s(&placeholders)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("E9401"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn usage_errors_exit_2() {
    let dir = rules_dir("usage");
    let out = s(&dir.join("out.dcf"));
    let rules = s(&dir.join("rules"));
    // No manifest: the log sources cannot be mapped.
    let (code, _, stderr) = dcf(&["compile", "--from", "sigma", &rules, "-o", &out]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--manifest"), "{stderr}");
    // The sensor range of a Sigma content is that of the manifests.
    let (code, _, stderr) = dcf(&[
        "compile",
        "--from",
        "sigma",
        &rules,
        "-m",
        "sigma/manifests",
        "-o",
        &out,
        "--sensor-min",
        "1.0.0",
    ]);
    assert_eq!(code, 2, "{stderr}");
    // --fail-on-skip means nothing for dcf sources.
    let (code, _, _) = dcf(&[
        "compile",
        "examples/rules",
        "-m",
        "examples/manifests",
        "-o",
        &out,
        "--fail-on-skip",
    ]);
    assert_eq!(code, 2);
    // Expiry before creation.
    let (code, _, _) = dcf(&[
        "compile",
        "--from",
        "sigma",
        &rules,
        "-m",
        "sigma/manifests",
        "-o",
        &out,
        "--created",
        "2027-01-01T00:00:00Z",
        "--expires",
        "2026-01-01T00:00:00Z",
    ]);
    assert_eq!(code, 2);
    assert!(
        !dir.join("out.dcf").exists(),
        "nothing written on usage errors"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
