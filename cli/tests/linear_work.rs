//! Every compile path, and the dry run, is linear (or n log n) in its input, measured by counting work, not
//! time: each case runs `dcf` under valgrind's callgrind, which counts the instructions the
//! process executes (the same count for the same binary and input, whatever the machine is
//! doing), on an input of size n and one of size 2n. With the start-up cost (a tiny input)
//! taken off, a linear path doubles and a quadratic one quadruples; the bound is 2.6.
//!
//! The cases are the quadratic paths a red team found (issue 14): a long one-line JSON list
//! (byte offsets found by rescanning the line), a mapping of many keys (each key compared
//! with all before it), a Sigma value list (deduplicated by searching the list), a manifest
//! of many templates and a fleet of many manifests (each compared with all before it), and a
//! report of many diagnostics (each located by counting lines from the start); and `dcf test`
//! over many rules (each probe event checked against every rule).

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::repo_root;

/// Largest accepted ratio of the work for 2n to the work for n (start-up cost removed).
const MAX_GROWTH: f64 = 2.6;

/// A scratch directory of this test, emptied first.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("dcf-linear-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Instructions `dcf args` executes, counted by callgrind.
fn instructions(args: &[String]) -> u64 {
    let out = Command::new("valgrind")
        .args([
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            "--error-exitcode=0",
        ])
        .arg(env!("CARGO_BIN_EXE_dcf"))
        .args(args)
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .output()
        .expect("valgrind runs (./dev test installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let code = out.status.code().expect("dcf exited");
    assert_ne!(code, 101, "dcf panicked on {args:?}: {stderr}");
    stderr
        .lines()
        .find_map(|l| {
            l.split_once("Collected :")
                .map(|(_, n)| n.trim().to_string())
        })
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no instruction count from callgrind: {stderr}"))
}

/// Runs the case at sizes `tiny`, `n` and `2n` and checks the growth. `make(dir, size)`
/// writes the input and returns the arguments of the `dcf` run.
fn assert_linear(name: &str, n: usize, make: impl Fn(&Path, usize) -> Vec<String>) {
    let dir = scratch(name);
    let count = |size: usize| {
        let sub = dir.join(size.to_string());
        std::fs::create_dir_all(&sub).expect("dir");
        instructions(&make(&sub, size))
    };
    let base = count(1);
    let single = count(n);
    let double = count(2 * n);
    let _ = std::fs::remove_dir_all(&dir);
    let (a, b) = (single.saturating_sub(base), double.saturating_sub(base));
    assert!(a > 0, "{name}: size {n} costs no more than size 1");
    let growth = b as f64 / a as f64;
    println!("{name}: {base} + {a} for n = {n}, {base} + {b} for 2n: growth {growth:.2}");
    assert!(
        growth <= MAX_GROWTH,
        "{name}: doubling the input multiplied the work by {growth:.2} (at most {MAX_GROWTH}): \
         {a} instructions beyond start-up for n = {n}, {b} for 2n"
    );
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

const HEADER_JSON: &str = r#""content": {"channel": 291, "sequence": 1, "created": "2026-12-01T00:00:00Z", "valid_for": "30d", "sensor_min": "7.11.0", "sensor_max": "7.12.65535"}"#;

fn rule_json(id: usize, values: &str) -> String {
    format!(
        r#"{{"id": "00000000-0000-4000-8000-{id:012}", "title": "t{id}", "author": "a", "template": "process_creation", "severity": "high", "action": "detect", "condition": {{"field": "command_line", "contains": [{values}]}}}}"#
    )
}

fn compile_args(dir: &Path, source: &Path) -> Vec<String> {
    vec![
        "compile".into(),
        path(source),
        "-m".into(),
        "examples/manifests".into(),
        "-o".into(),
        path(&dir.join("out.dcf")),
        "--format".into(),
        "json".into(),
    ]
}

#[test]
fn a_long_one_line_json_list_compiles_in_linear_work() {
    assert_linear("json-list", 6_000, |dir, size| {
        let values: Vec<String> = (0..size).map(|i| format!("\"value-{i}\"")).collect();
        let text = format!(
            "{{{HEADER_JSON}, \"rules\": [{}]}}",
            rule_json(1, &values.join(", "))
        );
        let source = dir.join("rules.json");
        std::fs::write(&source, text).expect("write");
        compile_args(dir, &source)
    });
}

#[test]
fn a_mapping_of_many_keys_is_read_in_linear_work() {
    // Rules as a mapping would be refused after reading; the reading is what is measured,
    // and every key is also reported (an unknown key each), which is the report path.
    assert_linear("yaml-keys", 6_000, |dir, size| {
        let mut text = String::from("rules:\n  - id: 00000000-0000-4000-8000-000000000001\n");
        for i in 0..size {
            text.push_str(&format!("    key_{i}: {i}\n"));
        }
        let source = dir.join("rules.yaml");
        std::fs::write(&source, text).expect("write");
        compile_args(dir, &source)
    });
}

#[test]
fn many_rules_with_errors_are_reported_in_linear_work() {
    // One error per rule (an unknown template type), each located by line and column, in
    // the JSON report and in the human one.
    for format in ["json", "human"] {
        assert_linear(&format!("many-errors-{format}"), 2_000, |dir, size| {
            let rules: Vec<String> = (0..size)
                .map(|i| rule_json(i, "\"x\"").replace("process_creation", "no_such_template"))
                .collect();
            let text = format!("{{{HEADER_JSON}, \"rules\": [\n{}\n]}}", rules.join(",\n"));
            let source = dir.join("rules.json");
            std::fs::write(&source, text).expect("write");
            let mut args = compile_args(dir, &source);
            args.truncate(6);
            args.extend(["--format".into(), format.into()]);
            args
        });
    }
}

#[test]
fn a_sigma_value_list_compiles_in_linear_work() {
    assert_linear("sigma-list", 6_000, |dir, size| {
        let mut text = String::from(
            "title: many values\nid: 5f1e2d3c-0000-4000-8000-000000000001\nauthor: a\n\
             logsource:\n  product: windows\n  category: process_creation\n\
             detection:\n  selection:\n    CommandLine|contains:\n",
        );
        for i in 0..size {
            text.push_str(&format!("      - 'value-{i}'\n"));
        }
        text.push_str("  condition: selection\nlevel: high\n");
        let source = dir.join("rule.yml");
        std::fs::write(&source, text).expect("write");
        vec![
            "compile".into(),
            "--from".into(),
            "sigma".into(),
            path(&source),
            "-m".into(),
            "sigma/manifests".into(),
            "-o".into(),
            path(&dir.join("out.dcf")),
            "--format".into(),
            "json".into(),
        ]
    });
}

/// A manifest of `templates` template types of two fields each.
fn manifest(version: &str, templates: usize) -> String {
    let mut text = format!("sensor = \"s\"\nversion = \"{version}\"\n");
    for i in 0..templates {
        text.push_str(&format!(
            "[[template]]\nid = {}\nname = \"t{i}\"\nfields = [{{ name = \"a\", type = \"string\" }}, {{ name = \"b\", type = \"integer\" }}]\n",
            i + 1
        ));
    }
    text
}

#[test]
fn a_manifest_of_many_templates_is_read_in_linear_work() {
    assert_linear("manifest-templates", 8_000, |dir, size| {
        let m = dir.join("sensor.toml");
        std::fs::write(&m, manifest("7.11.0", size)).expect("write");
        vec![
            "validate".into(),
            "corpus/valid/minimal.dcf".into(),
            "-m".into(),
            path(&m),
            "--format".into(),
            "json".into(),
        ]
    });
}

#[test]
fn a_fleet_of_many_manifests_is_read_in_linear_work() {
    assert_linear("fleet", 1_500, |dir, size| {
        for i in 0..size {
            let version = format!("{}.{}.0", 1 + i / 60_000, i % 60_000);
            std::fs::write(dir.join(format!("m{i}.toml")), manifest(&version, 1)).expect("write");
        }
        vec![
            "validate".into(),
            "corpus/valid/minimal.dcf".into(),
            "-m".into(),
            path(dir),
            "--format".into(),
            "json".into(),
        ]
    });
}

/// `dcf test` runs every rule in the interpreter on probe events made for it: checking each
/// probe against every rule's exhaustive verdict made it quadratic in the rules (issue 16:
/// 8,000 rules took 3.15 times as long as 4,000).
#[test]
fn dcf_test_over_many_rules_is_linear_work() {
    assert_linear("dcf-test-rules", 500, |dir, size| {
        let rules: Vec<String> = (0..size)
            .map(|id| rule_json(id, &format!("\"needle{id:06}x\"")))
            .collect();
        let source = dir.join("rules.json");
        std::fs::write(
            &source,
            format!("{{{HEADER_JSON}, \"rules\": [\n{}\n]}}", rules.join(",\n")),
        )
        .unwrap();
        let compiled = Command::new(env!("CARGO_BIN_EXE_dcf"))
            .args(compile_args(dir, &source))
            .current_dir(repo_root())
            .output()
            .unwrap();
        assert!(compiled.status.success(), "{compiled:?}");
        vec![
            "test".into(),
            path(&dir.join("out.dcf")),
            "-m".into(),
            "examples/manifests".into(),
        ]
    });
}
