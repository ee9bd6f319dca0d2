//! `dcf-update`, one update cycle from the command line, on a repository directory: the
//! content goes into the content store, survives the next run, and the health report says
//! what happened; a sensor outside the open wave waits.

// A test: a failure may panic, and fixtures are indexed directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::process::Command;

use common::*;
use dcf_rollout::plan::Plan;
use dcf_rollout::repo::Expiries;
use dcf_rollout::report::read_report;

fn update(
    paths: &dcf_rollout::repo::RepoPaths,
    dir: &std::path::Path,
    device: &str,
) -> (i32, String, String) {
    let pubkey = dir.join("release.pub");
    std::fs::write(
        &pubkey,
        dcf_validator::keys::public_text(&release_key().verifying_key()),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dcf-update"))
        .args(["--root", &paths.root().to_string_lossy()])
        .args(["--repo", &paths.dir.to_string_lossy()])
        .args([
            "--manifest",
            &dcf_test_support::repo_root()
                .join("examples/manifests/sensor-7.12.toml")
                .to_string_lossy(),
        ])
        .args(["--pubkey", &pubkey.to_string_lossy()])
        .args(["--channel", "291", "--device-id", device])
        .args(["--state", &dir.join(device).to_string_lossy()])
        .args([
            "--events",
            &dcf_test_support::repo_root()
                .join("examples/benign.jsonl")
                .to_string_lossy(),
        ])
        .args([
            "--report",
            &dir.join("reports")
                .join(format!("{device}.json"))
                .to_string_lossy(),
        ])
        .args(["--now", &NOW.to_string()])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn one_cycle_stores_the_content_and_reports_it() {
    let paths = new_repo("bin");
    dcf_rollout::rollout::publish(
        &paths,
        &example(1),
        Plan::staged(NOW),
        NOW,
        &Expiries::default(),
    )
    .unwrap();
    let dir = scratch("bin-sensors");
    // host-10 is in the first 1 % (ROLLOUT-3's formula), host-1 is not.
    let (code, out, err) = update(&paths, &dir, "host-10");
    assert_eq!(
        (code, out.as_str()),
        (0, "updated to sequence 1\n"),
        "{err}"
    );
    let report = read_report(&dir.join("reports/host-10.json")).unwrap();
    assert_eq!(report.active.as_ref().unwrap().sequence, 1);
    assert_eq!(report.loads[0].code, None);
    assert_eq!(report.evaluation.events, 300);
    // The next run starts from the store: nothing new, the content still active.
    let (code, out, _) = update(&paths, &dir, "host-10");
    assert_eq!(code, 0);
    assert!(out.contains("not newer"), "{out}");
    let report = read_report(&dir.join("reports/host-10.json")).unwrap();
    assert_eq!(report.active.unwrap().sequence, 1);
    let (code, out, _) = update(&paths, &dir, "host-1");
    assert_eq!(code, 0);
    assert!(out.contains("open to 1 % only"), "{out}");
    assert!(
        read_report(&dir.join("reports/host-1.json"))
            .unwrap()
            .active
            .is_none()
    );
    // A content the sensor refuses: exit 1, the code in the report.
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[0x77; 32]);
    dcf_rollout::rollout::publish(
        &paths,
        &sign(compile(2, &[], &["7.11", "7.12"]), &stranger),
        Plan::immediate(NOW),
        NOW,
        &Expiries::default(),
    )
    .unwrap();
    let (code, _, err) = update(&paths, &dir, "host-10");
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("error[E3002]"), "{err}");
    let report = read_report(&dir.join("reports/host-10.json")).unwrap();
    assert_eq!(report.loads[0].code.as_deref(), Some("E3002"));
    assert_eq!(report.active.unwrap().sequence, 1);
}
