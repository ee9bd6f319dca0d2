//! The whole pipeline on real public content: SigmaHQ's rules (`../shared/sigma/rules`)
//! compiled with `dcf compile --from sigma`, validated, dry-run with `dcf test`, signed,
//! verified, then loaded by the sensor runtime with the signing key trusted.

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

use dcf_sensor::{Channels, LoaderConfig, Sensor};

#[test]
fn sigmahq_rules_compile_validate_pass_dcf_test_sign_and_load() {
    let rules = common::repo_root().join("../shared/sigma/rules");
    assert!(
        rules.is_dir(),
        "SigmaHQ rules expected at {}",
        rules.display()
    );
    let dir: PathBuf =
        std::env::temp_dir().join(format!("dcf-sigma-pipeline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    let content = dir.join("sigma.dcf");
    let signed = dir.join("sigma-signed.dcf");
    let key = dir.join("release");
    let now = "2027-01-15T08:00:00Z";

    let (code, stdout, stderr) = dcf(&[
        "compile",
        "--from",
        "sigma",
        &s(&rules),
        "-m",
        "sigma/manifests",
        "-o",
        &s(&content),
        "--created",
        now,
        "--sequence",
        "100",
        "--fail-on-skip",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).expect("json report");
    let compiled = report["compiled"].as_array().map_or(0, Vec::len);
    assert!(compiled >= 3_100, "only {compiled} rules compiled");
    assert_eq!(report["skipped"].as_array().map(Vec::len), Some(0));

    // Accepted by the validator (warnings allowed: SigmaHQ has a few `contains ''`).
    let (code, _, stderr) = dcf(&[
        "validate",
        &s(&content),
        "-m",
        "sigma/manifests",
        "--now",
        now,
    ]);
    assert_eq!(code, 0, "{stderr}");

    // Every rule binds and every criterion behaves as specified in the interpreter.
    let (code, stdout, stderr) = dcf(&[
        "test",
        &s(&content),
        "-m",
        "sigma/manifests",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let run: serde_json::Value = serde_json::from_str(&stdout).expect("json report");
    let sensor = &run["sensors"][0];
    assert_eq!(sensor["rules_bound"].as_u64(), Some(compiled as u64));
    assert_eq!(sensor["rules_refused"], 0);
    assert!(
        sensor["criteria"].as_u64().unwrap_or(0) > 10_000,
        "{sensor}"
    );
    let errors: Vec<&serde_json::Value> = run["files"][0]["diagnostics"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["severity"] == "error")
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");

    let (code, _, stderr) = dcf(&["keygen", "--out", &s(&key)]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = dcf(&[
        "sign",
        &s(&content),
        "--key",
        &format!("{}.secret", s(&key)),
        "-m",
        "sigma/manifests",
        "--now",
        now,
        "-o",
        &s(&signed),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let (code, _, stderr) = dcf(&[
        "verify",
        &s(&signed),
        "--pubkey",
        &format!("{}.pub", s(&key)),
    ]);
    assert_eq!(code, 0, "{stderr}");

    // The sensor runtime, trusting that key, loads it and makes it active.
    let public = std::fs::read_to_string(format!("{}.pub", s(&key))).expect("public key");
    let public = dcf_validator::keys::parse_public(&public).expect("public key parses");
    let manifest =
        std::fs::read_to_string(common::repo_root().join("sigma/manifests/sigmahq.toml"))
            .expect("manifest");
    let interface = dcf_validator::manifest::from_toml(&manifest).expect("manifest parses");
    let sensor = Sensor::new(
        LoaderConfig::new(interface, vec![public.to_bytes()], Channels::Only(0)),
        99,
    )
    .expect("sensor");
    let bytes = std::fs::read(&signed).expect("signed content");
    let now_secs = 1_800_000_000;
    let ruleset = sensor
        .load(&bytes, now_secs)
        .expect("the sensor loads the signed content");
    assert_eq!(ruleset.rules().len(), compiled);
    assert_eq!(sensor.current_sequence(), 100);
    // Tampering with one byte is refused and the loaded content stays active.
    let mut tampered = bytes.clone();
    if let Some(b) = tampered.get_mut(bytes.len() / 2) {
        *b ^= 0x40;
    }
    assert!(sensor.load(&tampered, now_secs).is_err());
    assert_eq!(sensor.current_sequence(), 100);
    let _ = std::fs::remove_dir_all(&dir);
}
