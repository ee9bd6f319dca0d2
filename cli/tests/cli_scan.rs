//! `dcf scan`: a content over log files, every match with its rule's id, title, author and
//! severity, in three formats; Windows events through the adapter's routing; exit codes as
//! every command.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::path::PathBuf;

use common::{dcf, repo_root, s};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("scan")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn example_content(dir: &std::path::Path) -> String {
    let out = s(&dir.join("content.dcf"));
    let (code, _, stderr) = dcf(&[
        "compile",
        "examples/rules",
        "--manifest",
        "examples/manifests",
        "-o",
        &out,
    ]);
    assert_eq!(code, 0, "{stderr}");
    out
}

#[test]
fn the_example_events_match_as_their_expectations_say_in_every_format() {
    let dir = scratch("example");
    let content = example_content(&dir);
    let (code, stdout, stderr) = dcf(&["scan", &content, "examples/events.jsonl"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.is_empty(), "quiet when all is well: {stderr}");
    // Every rule id an event of the file must match is reported on that event's line.
    let events = std::fs::read_to_string(repo_root().join("examples/events.jsonl")).unwrap();
    let mut expected = 0;
    for (index, line) in events.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let event: serde_json::Value = serde_json::from_str(line).unwrap();
        for id in event["match"].as_array().into_iter().flatten() {
            let want = format!("examples/events.jsonl:{}  ", index + 1);
            let id = id.as_str().unwrap();
            assert!(
                stdout
                    .lines()
                    .any(|l| l.starts_with(&want) && l.contains(id)),
                "{id} on line {}:\n{stdout}",
                index + 1
            );
            expected += 1;
        }
    }
    assert_eq!(stdout.lines().count(), expected, "{stdout}");

    let (code, stdout, _) = dcf(&[
        "scan",
        &content,
        "examples/events.jsonl",
        "--format",
        "jsonl",
    ]);
    assert_eq!(code, 0);
    let first: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    for key in [
        "file", "line", "rule_id", "title", "author", "severity", "action",
    ] {
        assert!(first.get(key).is_some(), "{key} in {first}");
    }
    assert_eq!(first["author"], "dcf detection engineering");

    let (code, stdout, _) = dcf(&[
        "scan",
        &content,
        "examples/events.jsonl",
        "--format",
        "csv",
        "--jobs",
        "1",
    ]);
    assert_eq!(code, 0);
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some("file,line,rule_id,title,author,severity,action")
    );
    assert_eq!(lines.count(), expected);
}

#[test]
fn sigma_content_matches_windows_events_routed_by_the_adapter() {
    let dir = scratch("sigma");
    let out = s(&dir.join("sigma.dcf"));
    let rule = "../shared/sigma/rules/windows/file/file_event/file_event_win_creation_system_dll_files.yml";
    let (code, _, stderr) = dcf(&[
        "compile",
        "--from",
        "sigma",
        rule,
        "-m",
        "sigma/manifests",
        "-o",
        &out,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let events = "../shared/sigma/regression_data/rules/windows/file/file_event/file_event_win_creation_system_dll_files/13c02350-4177-4e45-ac17-cf7ca628ff5e.json";
    let (code, stdout, stderr) = dcf(&[
        "scan",
        &out,
        "-m",
        "sigma/manifests",
        events,
        "--format",
        "jsonl",
        "--stats",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let hit: serde_json::Value = serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
    assert_eq!(hit["rule_id"], "13c02350-4177-4e45-ac17-cf7ca628ff5e");
    assert_eq!(hit["line"], 1);
    assert!(
        hit["author"].as_str().unwrap().contains("Nasreddine"),
        "DRL 1.1: {hit}"
    );
    assert!(stderr.contains("1 matches"), "{stderr}");

    // The same event as a flat JSON object, as a SIEM emits it, on a JSON Lines line.
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(repo_root().join(events)).unwrap()).unwrap();
    let mut flat = serde_json::Map::new();
    flat.insert(
        "Channel".into(),
        event["Event"]["System"]["Channel"].clone(),
    );
    flat.insert(
        "EventID".into(),
        event["Event"]["System"]["EventID"].clone(),
    );
    for (k, v) in event["Event"]["EventData"].as_object().unwrap() {
        flat.insert(k.clone(), v.clone());
    }
    let lines = dir.join("flat.jsonl");
    std::fs::write(&lines, format!("{}\n", serde_json::Value::Object(flat))).unwrap();
    let (code, stdout, stderr) = dcf(&["scan", &out, "-m", "sigma/manifests", &s(&lines)]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("13c02350-4177-4e45-ac17-cf7ca628ff5e"),
        "{stdout}"
    );
}

#[test]
fn bad_lines_are_reported_and_the_rest_is_scanned() {
    let dir = scratch("bad-lines");
    let content = example_content(&dir);
    let events = std::fs::read_to_string(repo_root().join("examples/events.jsonl")).unwrap();
    let path = dir.join("events.jsonl");
    std::fs::write(&path, format!("{{ not json\n{events}[1, 2]\n")).unwrap();
    let (code, stdout, stderr) = dcf(&["scan", &content, &s(&path)]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("E9301"), "{stderr}");
    assert!(stderr.contains("line 1: not JSON"), "{stderr}");
    assert!(stderr.contains("not a JSON object"), "{stderr}");
    assert_eq!(
        stdout.lines().count(),
        7,
        "the good lines are scanned: {stdout}"
    );
}

#[test]
fn a_content_the_sensor_cannot_run_is_rejected_with_its_binding_code() {
    let dir = scratch("broken");
    let out = s(&dir.join("broken.dcf"));
    let (code, _, stderr) = dcf(&[
        "compile",
        "examples/broken/rules.yaml",
        "-m",
        "examples/manifests",
        "-o",
        &out,
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, stdout, stderr) = dcf(&[
        "scan",
        &out,
        "-m",
        "examples/manifests/sensor-7.11.toml",
        "examples/events.jsonl",
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("E3102"), "{stderr}");
    assert!(stdout.is_empty());
    let (code, _, stderr) = dcf(&["scan", &out, "missing.jsonl"]);
    assert_eq!(code, 2, "{stderr}");
}
