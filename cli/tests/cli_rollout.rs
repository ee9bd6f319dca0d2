//! `dcf publish` and `dcf rollout` on the bundled example: what is published, refused, judged,
//! halted and rolled back, with the exit codes and E6xxx codes of `format-spec/ROLLOUT.md`.

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

use common::{dcf, s};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("rollout")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The example compiled as `sequence` (and signed, unless `key` is `None`).
fn content(dir: &Path, sequence: u64, key: Option<&str>) -> String {
    let unsigned = s(&dir.join(format!("content-{sequence}.dcf")));
    let seq = sequence.to_string();
    let (code, _, e) = dcf(&[
        "compile",
        "examples/rules",
        "-m",
        "examples/manifests",
        "--sequence",
        &seq,
        "-o",
        &unsigned,
    ]);
    assert_eq!(code, 0, "{e}");
    let Some(key) = key else { return unsigned };
    let signed = s(&dir.join(format!("signed-{sequence}.dcf")));
    let (code, _, e) = dcf(&[
        "sign",
        &unsigned,
        "--key",
        key,
        "-m",
        "examples/manifests",
        "-o",
        &signed,
    ]);
    assert_eq!(code, 0, "{e}");
    signed
}

#[test]
fn publish_refuses_what_sensors_must_never_see_with_its_code_and_exit_code() {
    let dir = scratch("publish");
    let (repo, keys, release) = (
        s(&dir.join("repo")),
        s(&dir.join("keys")),
        s(&dir.join("release")),
    );
    assert_eq!(dcf(&["keygen", "--out", &release]).0, 0);
    let secret = format!("{release}.secret");
    let (code, out, e) = dcf(&[
        "publish",
        &repo,
        "--keys",
        &keys,
        "--init",
        &content(&dir, 5, Some(&secret)),
    ]);
    assert_eq!(code, 0, "{e}");
    assert!(out.contains("published dcf-c291-s5.dcf"), "{out}");
    // Created twice: a repository error.
    let (code, _, e) = dcf(&["publish", &repo, "--keys", &keys, "--init"]);
    assert_eq!((code, e.contains("error[E6204]")), (2, true), "{e}");
    // Unsigned, and not above the channel's sequence: the content is refused.
    let (code, _, e) = dcf(&["publish", &repo, "--keys", &keys, &content(&dir, 6, None)]);
    assert_eq!((code, e.contains("error[E6205]")), (1, true), "{e}");
    let (code, _, e) = dcf(&[
        "publish",
        &repo,
        "--keys",
        &keys,
        &content(&dir, 4, Some(&secret)),
    ]);
    assert_eq!((code, e.contains("error[E6206]")), (1, true), "{e}");
    // A malformed plan.
    let plan = dir.join("plan.toml");
    std::fs::write(&plan, "[[wave]]\nshare = \"50%\"\n").unwrap();
    let (code, _, e) = dcf(&[
        "publish",
        &repo,
        "--keys",
        &keys,
        "--plan",
        &s(&plan),
        &content(&dir, 7, Some(&secret)),
    ]);
    assert_eq!((code, e.contains("error[E6202]")), (2, true), "{e}");
}

#[test]
fn a_refusing_sensor_halts_the_rollout_and_rollback_republishes_the_good_rules() {
    let dir = scratch("halt");
    let (repo, keys, release) = (
        s(&dir.join("repo")),
        s(&dir.join("keys")),
        s(&dir.join("release")),
    );
    assert_eq!(dcf(&["keygen", "--out", &release]).0, 0);
    let secret = format!("{release}.secret");
    assert_eq!(
        dcf(&[
            "publish",
            &repo,
            "--keys",
            &keys,
            "--init",
            &content(&dir, 1, Some(&secret))
        ])
        .0,
        0
    );
    let (code, _, e) = dcf(&[
        "publish",
        &repo,
        "--keys",
        &keys,
        &content(&dir, 2, Some(&secret)),
    ]);
    assert_eq!(code, 0, "{e}");
    // One sensor reports that it refused sequence 2.
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let (_, json, _) = dcf(&["rollout", "status", &repo, "--format", "json"]);
    let status: serde_json::Value = serde_json::from_str(&json).unwrap();
    let digest = status["rollout"]["current"][1]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let report = serde_json::json!({
        "format": "dcf-health/1", "device_id": "host-7", "sensor_version": "7.11.0", "channel": 291,
        "at": 0, "active": null, "quarantined": [],
        "loads": [{"sequence": 2, "digest": digest, "at": 0, "code": "E3102", "message": "field 21"}],
        "evaluation": {"events": 0, "errors": {}, "steps": 0, "nanos": 0, "matches": {}}
    });
    std::fs::write(reports.join("host-7.json"), report.to_string()).unwrap();
    std::fs::write(reports.join("junk.json"), "{").unwrap();
    let (code, out, e) = dcf(&["rollout", "status", &repo, "--reports", &s(&reports)]);
    assert_eq!(code, 1, "{out}{e}");
    assert!(
        out.contains("error[E6301]") && out.contains("host-7 (E3102)"),
        "{out}"
    );
    assert!(
        e.contains("warning[E6201]") && e.contains("junk.json"),
        "{e}"
    );
    // Publishing actions need the keys.
    let (code, _, e) = dcf(&["rollout", "advance", &repo, "--reports", &s(&reports)]);
    assert_eq!((code, e.contains("--keys")), (2, true), "{e}");
    let (code, out, _) = dcf(&[
        "rollout",
        "advance",
        &repo,
        "--keys",
        &keys,
        "--reports",
        &s(&reports),
    ]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("halted"), "{out}");
    let (code, out, _) = dcf(&[
        "rollout",
        "advance",
        &repo,
        "--keys",
        &keys,
        "--reports",
        &s(&reports),
    ]);
    assert_eq!((code, out.contains("already halted")), (1, true), "{out}");
    // Rollback: validated against the manifests, signed with the release key.
    let (code, _, e) = dcf(&[
        "rollout", "rollback", &repo, "--keys", &keys, "--key", &secret,
    ]);
    assert_eq!((code, e.contains("--manifest")), (2, true), "{e}");
    let (code, out, e) = dcf(&[
        "rollout",
        "rollback",
        &repo,
        "--keys",
        &keys,
        "--key",
        &secret,
        "-m",
        "examples/manifests",
    ]);
    assert_eq!(code, 0, "{e}");
    assert!(
        out.contains("published dcf-c291-s3.dcf") && out.contains("rules of sequence 1"),
        "{out}"
    );
}
