//! The updater against real TUF repositories written by `dcf-rollout` (`ROLLOUT.md`
//! ROLLOUT-5): a content reaches the sensor over HTTP and from a path, and each of TUF's
//! attacks is refused with its code while the active content stays.

// A test: a failure may panic, and fixtures are indexed directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::path::Path;

use common::*;
use dcf_rollout::plan::Plan;
use dcf_rollout::repo::{self, Change, Expiries};
use dcf_rollout::rollout;
use dcf_test_support::StaticServer;
use dcf_updater::{Health, Outcome, Slot};
use jiff::SignedDuration;

fn publish(paths: &repo::RepoPaths, bytes: &[u8]) {
    rollout::publish(
        paths,
        bytes,
        Plan::immediate(NOW),
        NOW,
        &Expiries::default(),
    )
    .unwrap();
}

fn health() -> Health {
    Health::new("device", "7.12.0", CHANNEL)
}

fn copy_dir(from: &Path, to: &Path) {
    let _ = std::fs::remove_dir_all(to);
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

/// The one file of `dir` whose name ends with `suffix`.
fn file_ending(dir: &Path, suffix: &str) -> std::path::PathBuf {
    let found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(found.len(), 1, "{suffix}: {found:?}");
    found.into_iter().next().unwrap()
}

#[test]
fn a_content_reaches_the_sensor_over_http_and_from_a_path() {
    let paths = new_repo("http");
    publish(&paths, &example(1));
    let server = StaticServer::start(&paths.dir).unwrap();
    let state = scratch("http-state");
    let mut up = updater(
        &paths,
        server.url("metadata/").parse().unwrap(),
        server.url("targets/").parse().unwrap(),
        &state,
        "sensor-a",
    );
    let sensor = sensor("7.12");
    let mut h = health();
    assert_eq!(
        up.check_blocking(Slot::Sensor(&sensor), &mut h, NOW),
        Ok(Outcome::Updated { sequence: 1 })
    );
    assert_eq!(sensor.current_sequence(), 1);
    assert!(server.requests() >= 5, "{}", server.requests());
    // Nothing new: the sensor stays, and says why.
    let again = up
        .check_blocking(Slot::Sensor(&sensor), &mut h, NOW)
        .unwrap();
    assert!(
        matches!(
            again,
            Outcome::Current {
                newest: Some((1, dcf_rollout::Admission::NotNewer))
            }
        ),
        "{again:?}"
    );
    let report = h.report(NOW);
    assert_eq!(report.active.as_ref().unwrap().sequence, 1);
    assert_eq!(report.loads.len(), 1);
    assert_eq!(report.loads[0].code, None);
    // A new content: the same updater (its connections kept) notices the new timestamp, runs
    // the full TUF workflow again and takes it.
    publish(&paths, &example(2));
    assert_eq!(
        up.check_blocking(Slot::Sensor(&sensor), &mut h, NOW),
        Ok(Outcome::Updated { sequence: 2 })
    );
    assert_eq!(h.report(NOW).active.unwrap().sequence, 2);

    // The same repository from its directory.
    let local_sensor = common::sensor("7.12");
    let mut local = local_updater(&paths, &state, "sensor-b");
    assert_eq!(
        local.check_blocking(Slot::Sensor(&local_sensor), &mut health(), NOW),
        Ok(Outcome::Updated { sequence: 2 })
    );
}

/// Runs one cycle that must fail with `code`, and checks the sensor kept sequence `kept`.
fn refused(up: &mut dcf_updater::Updater, sensor: &dcf_sensor::Sensor, kept: u64, code: &str) {
    let err = up
        .check_blocking(Slot::Sensor(sensor), &mut health(), NOW)
        .unwrap_err();
    assert_eq!(err.code.as_str(), code, "{err}");
    assert_eq!(sensor.current_sequence(), kept);
}

#[test]
fn rollback_of_metadata_is_refused() {
    let paths = new_repo("rollback");
    publish(&paths, &example(1));
    let old = scratch("rollback-old");
    copy_dir(&paths.metadata(), &old);
    publish(&paths, &example(2));
    let state = scratch("rollback-state");
    let sensor = sensor("7.12");
    let mut up = local_updater(&paths, &state, "s");
    assert_eq!(
        up.check_blocking(Slot::Sensor(&sensor), &mut health(), NOW),
        Ok(Outcome::Updated { sequence: 2 })
    );
    // An attacker (or a stale mirror) serves the older metadata: the datastore remembers.
    copy_dir(&old, &paths.metadata());
    let mut restarted = local_updater_keeping(&paths, &state, "s");
    refused(&mut restarted, &sensor, 2, "E6101");
}

/// An updater over an existing datastore (as after a restart).
fn local_updater_keeping(
    paths: &repo::RepoPaths,
    state: &Path,
    device: &str,
) -> dcf_updater::Updater {
    let root = std::fs::read(paths.root()).unwrap();
    let config = dcf_updater::UpdaterConfig::new(
        root,
        dir_url(&paths.metadata()),
        dir_url(&paths.targets()),
        state.join(device),
        device,
        CHANNEL,
    );
    dcf_updater::Updater::new(config).unwrap()
}

#[test]
fn expired_metadata_is_a_freeze_and_is_refused() {
    let expiries = Expiries {
        timestamp: SignedDuration::from_hours(-1),
        ..Expiries::default()
    };
    let paths = new_repo_with("freeze", 1, &Expiries::default());
    rollout::publish(&paths, &example(1), Plan::immediate(NOW), NOW, &expiries).unwrap();
    let sensor = sensor("7.12");
    refused(
        &mut local_updater(&paths, &scratch("freeze-state"), "s"),
        &sensor,
        0,
        "E6102",
    );
}

#[test]
fn mixed_metadata_versions_are_refused() {
    let paths = new_repo("mix");
    publish(&paths, &example(1));
    let first_targets = std::fs::read(file_ending(&paths.metadata(), "2.targets.json")).unwrap();
    publish(&paths, &example(2));
    // The snapshot names targets version 3; the attacker serves version 2 under that name.
    std::fs::write(paths.metadata().join("3.targets.json"), first_targets).unwrap();
    let sensor = sensor("7.12");
    refused(
        &mut local_updater(&paths, &scratch("mix-state"), "s"),
        &sensor,
        0,
        "E6104",
    );
}

#[test]
fn endless_data_is_cut_off() {
    let paths = new_repo("endless");
    publish(&paths, &example(1));
    let target = file_ending(&paths.targets(), ".dcf");
    let mut bytes = std::fs::read(&target).unwrap();
    bytes.extend(std::iter::repeat_n(0u8, 1 << 20));
    std::fs::write(&target, bytes).unwrap();
    let sensor = sensor("7.12");
    refused(
        &mut local_updater(&paths, &scratch("endless-state"), "s"),
        &sensor,
        0,
        "E6105",
    );
}

#[test]
fn arbitrary_content_is_refused_by_its_digest() {
    let paths = new_repo("arbitrary");
    publish(&paths, &example(1));
    let target = file_ending(&paths.targets(), ".dcf");
    let mut bytes = std::fs::read(&target).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&target, bytes).unwrap();
    let sensor = sensor("7.12");
    refused(
        &mut local_updater(&paths, &scratch("arbitrary-state"), "s"),
        &sensor,
        0,
        "E6106",
    );
}

#[test]
fn metadata_from_untrusted_keys_is_refused() {
    let paths = new_repo("trusted");
    publish(&paths, &example(1));
    let attacker = new_repo("attacker");
    publish(&attacker, &example(1));
    // The sensor trusts the first root; the attacker's repository is served in its place.
    let root = std::fs::read(paths.root()).unwrap();
    let config = dcf_updater::UpdaterConfig::new(
        root,
        dir_url(&attacker.metadata()),
        dir_url(&attacker.targets()),
        scratch("trusted-state"),
        "s",
        CHANNEL,
    );
    let sensor = sensor("7.12");
    refused(
        &mut dcf_updater::Updater::new(config).unwrap(),
        &sensor,
        0,
        "E6103",
    );
}

#[test]
fn too_few_signatures_are_refused() {
    let paths = new_repo_with("threshold", 2, &Expiries::default());
    publish(&paths, &example(1));
    // The timestamp role needs two signatures; drop one.
    let file = paths.metadata().join("timestamp.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let signatures = json["signatures"].as_array_mut().unwrap();
    assert_eq!(signatures.len(), 2);
    signatures.pop();
    std::fs::write(&file, serde_json::to_vec_pretty(&json).unwrap()).unwrap();
    let sensor = sensor("7.12");
    refused(
        &mut local_updater(&paths, &scratch("threshold-state"), "s"),
        &sensor,
        0,
        "E6103",
    );
    // And the publisher cannot sign a role with fewer keys than its threshold.
    std::fs::remove_file(paths.keys.join("targets-2.pk8")).unwrap();
    let err = rollout::publish(
        &paths,
        &example(2),
        Plan::immediate(NOW),
        NOW,
        &Expiries::default(),
    )
    .unwrap_err();
    assert_eq!(err.code.as_str(), "E6204", "{err}");
}

#[test]
fn tuf_does_not_stand_in_for_the_content_signature() {
    // Published through a trusted repository, but signed by a key the sensor does not trust.
    let paths = new_repo("dcf-signature");
    let stranger = ed25519_dalek::SigningKey::from_bytes(&[0x77; 32]);
    publish(&paths, &sign(compile(1, &[], &["7.11", "7.12"]), &stranger));
    let sensor = sensor("7.12");
    let mut up = local_updater(&paths, &scratch("dcf-signature-state"), "s");
    let mut h = health();
    let out = up
        .check_blocking(Slot::Sensor(&sensor), &mut h, NOW)
        .unwrap();
    assert!(
        matches!(&out, Outcome::Refused { sequence: 1, code, .. } if code == "E3002"),
        "{out:?}"
    );
    assert_eq!(h.report(NOW).loads[0].code.as_deref(), Some("E3002"));
    // A refused content is not fetched again.
    let out = up
        .check_blocking(Slot::Sensor(&sensor), &mut h, NOW)
        .unwrap();
    assert!(matches!(out, Outcome::Current { .. }), "{out:?}");
    assert_eq!(h.report(NOW).loads.len(), 1);
}

#[test]
fn target_metadata_that_disagrees_with_the_content_is_refused() {
    let paths = new_repo("mismatch");
    let bytes = example(1);
    let (_, mut meta) = {
        // Publish properly to learn the metadata, into a throwaway repository.
        let scratch_repo = new_repo("mismatch-scratch");
        rollout::publish(
            &scratch_repo,
            &bytes,
            Plan::immediate(NOW),
            NOW,
            &Expiries::default(),
        )
        .unwrap()
    };
    meta.sequence = 9;
    repo::publish(
        &paths,
        &[Change::Add {
            name: "dcf-c291-s9.dcf".into(),
            bytes,
            meta,
        }],
        &Expiries::default(),
    )
    .unwrap();
    let sensor = sensor("7.12");
    let out = local_updater(&paths, &scratch("mismatch-state"), "s")
        .check_blocking(Slot::Sensor(&sensor), &mut health(), NOW)
        .unwrap();
    assert!(
        matches!(&out, Outcome::Refused { code, .. } if code == "E6110"),
        "{out:?}"
    );
    assert_eq!(sensor.current_sequence(), 0);
}

#[test]
fn an_unreachable_repository_is_reported() {
    let paths = new_repo("unreachable");
    let server = StaticServer::start(&paths.dir).unwrap();
    let (metadata, targets) = (server.url("metadata/"), server.url("targets/"));
    drop(server);
    let sensor = sensor("7.12");
    let mut up = updater(
        &paths,
        metadata.parse().unwrap(),
        targets.parse().unwrap(),
        &scratch("unreachable-state"),
        "s",
    );
    refused(&mut up, &sensor, 0, "E6107");
}

#[test]
fn malformed_metadata_is_refused() {
    let paths = new_repo("malformed");
    publish(&paths, &example(1));
    std::fs::write(
        paths.metadata().join("timestamp.json"),
        b"{ \"signed\": 7 }",
    )
    .unwrap();
    let sensor = sensor("7.12");
    refused(
        &mut local_updater(&paths, &scratch("malformed-state"), "s"),
        &sensor,
        0,
        "E6108",
    );
}

#[test]
fn a_target_whose_dcf_metadata_is_malformed_is_not_taken() {
    let paths = new_repo("bad-custom");
    let (name, mut meta) = rollout::publish(
        &paths,
        &example(1),
        Plan::immediate(NOW),
        NOW,
        &Expiries::default(),
    )
    .unwrap();
    // A plan no sensor can follow (no waves), signed into the metadata.
    meta.plan.waves.clear();
    repo::publish(
        &paths,
        &[Change::Update { name, meta }],
        &Expiries::default(),
    )
    .unwrap();
    let sensor = sensor("7.12");
    refused(
        &mut local_updater(&paths, &scratch("bad-custom-state"), "s"),
        &sensor,
        0,
        "E6109",
    );
}
