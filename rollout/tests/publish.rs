//! Publishing and the rollout operations on a real repository (`ROLLOUT.md` ROLLOUT-1 and
//! ROLLOUT-7): what is refused with which code, and what advance, halt and rollback publish.

// A test: a failure may panic, and fixtures are indexed directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::num::NonZeroU64;
use std::path::PathBuf;

use dcf_rollout::gates::Gates;
use dcf_rollout::plan::Plan;
use dcf_rollout::repo::{self, Expiries, RepoPaths};
use dcf_rollout::rollout::{self, Decision};
use dcf_test_support::example::{CHANNEL, NOW, compile, example, release_key};

fn new_repo(name: &str) -> RepoPaths {
    let base = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("rollout")
        .join(name);
    let _ = std::fs::remove_dir_all(&base);
    let paths = RepoPaths {
        dir: base.join("repo"),
        keys: base.join("keys"),
    };
    repo::init(&paths, NonZeroU64::MIN, &Expiries::default()).unwrap();
    paths
}

fn code<T: std::fmt::Debug>(r: Result<T, repo::RepoError>) -> String {
    r.unwrap_err().code.as_str().to_string()
}

#[test]
fn publishing_refuses_what_sensors_must_never_see() {
    let paths = new_repo("refusals");
    let e = Expiries::default();
    // Unsigned content, and bytes that are not content at all.
    let bytes = compile(1, &[], &["7.11", "7.12"]).encode().unwrap();
    assert_eq!(
        code(rollout::publish(
            &paths,
            &bytes,
            Plan::immediate(NOW),
            NOW,
            &e
        )),
        "E6205"
    );
    assert_eq!(
        code(rollout::publish(
            &paths,
            b"not dcf",
            Plan::immediate(NOW),
            NOW,
            &e
        )),
        "E6205"
    );
    // A malformed plan.
    let mut plan = Plan::immediate(NOW);
    plan.waves.clear();
    assert_eq!(
        code(rollout::publish(&paths, &example(1), plan, NOW, &e)),
        "E6202"
    );
    assert!(Plan::from_toml("[[wave]]\nshare = \"5%\"", NOW).is_err());
    // Sequences only go up.
    rollout::publish(&paths, &example(2), Plan::immediate(NOW), NOW, &e).unwrap();
    assert_eq!(
        code(rollout::publish(
            &paths,
            &example(2),
            Plan::immediate(NOW),
            NOW,
            &e
        )),
        "E6206"
    );
    assert_eq!(
        code(rollout::publish(
            &paths,
            &example(1),
            Plan::immediate(NOW),
            NOW,
            &e
        )),
        "E6206"
    );
    // A repository that is not one, and one made twice.
    let missing = RepoPaths {
        dir: paths.dir.join("nowhere"),
        keys: paths.keys.clone(),
    };
    assert_eq!(
        code(rollout::publish(
            &missing,
            &example(3),
            Plan::immediate(NOW),
            NOW,
            &e
        )),
        "E6204"
    );
    assert_eq!(code(repo::init(&paths, NonZeroU64::MIN, &e)), "E6204");
    // Nothing to act on in an empty channel.
    let empty = new_repo("empty");
    assert_eq!(
        code(rollout::halt(&empty, CHANNEL, "why", NOW, &e)),
        "E6203"
    );
    assert_eq!(
        code(rollout::rollback(
            &empty,
            CHANNEL,
            &release_key(),
            "why",
            NOW,
            &e,
            &|_| Ok(())
        )),
        "E6203"
    );
}

#[test]
fn advance_approves_waves_as_their_time_comes_and_halt_stops_them() {
    let paths = new_repo("advance");
    let e = Expiries::default();
    let (_, meta) = rollout::publish(&paths, &example(1), Plan::staged(NOW), NOW, &e).unwrap();
    assert_eq!(meta.approved_on("default"), 1);
    let gates = Gates {
        min_reports: 0,
        ..Gates::default()
    };
    // Before the second wave's time: waiting, nothing published.
    let (d, _) = rollout::advance(&paths, CHANNEL, &[], &gates, NOW + 3_600, &e).unwrap();
    assert!(
        matches!(&d, Decision::Waiting { reasons } if reasons[0].contains("opens at")),
        "{d:?}"
    );
    let (d, _) = rollout::advance(&paths, CHANNEL, &[], &gates, NOW + 4 * 3_600, &e).unwrap();
    assert_eq!(
        d,
        Decision::Advanced {
            tracks: vec![("default".into(), 1, 2)]
        }
    );
    // Every wave, then complete.
    rollout::advance(&paths, CHANNEL, &[], &gates, NOW + 72 * 3_600, &e).unwrap();
    rollout::advance(&paths, CHANNEL, &[], &gates, NOW + 72 * 3_600, &e).unwrap();
    let (d, _) = rollout::advance(&paths, CHANNEL, &[], &gates, NOW + 72 * 3_600, &e).unwrap();
    assert_eq!(d, Decision::Complete);
    // Default gates want reports before a wave opens.
    let (_, _) = rollout::publish(&paths, &example(2), Plan::staged(NOW), NOW, &e).unwrap();
    let (d, _) =
        rollout::advance(&paths, CHANNEL, &[], &Gates::default(), NOW + 5 * 3_600, &e).unwrap();
    assert!(
        matches!(&d, Decision::Waiting { reasons } if reasons[0].contains("0 of the 10 reports")),
        "{d:?}"
    );
    let halted = rollout::halt(&paths, CHANNEL, "by hand", NOW, &e).unwrap();
    assert_eq!(halted.halted.unwrap().reason, "by hand");
    let (d, _) = rollout::advance(&paths, CHANNEL, &[], &gates, NOW + 5 * 3_600, &e).unwrap();
    assert_eq!(d, Decision::AlreadyHalted);
}

#[test]
fn rollback_republishes_the_last_good_rules_under_a_new_sequence() {
    let paths = new_repo("rollback");
    let e = Expiries::default();
    rollout::publish(&paths, &example(1), Plan::immediate(NOW), NOW, &e).unwrap();
    rollout::publish(&paths, &example(2), Plan::staged(NOW), NOW, &e).unwrap();
    // The check sees the new bytes and may refuse them.
    let refused = rollout::rollback(&paths, CHANNEL, &release_key(), "bad", NOW, &e, &|_| {
        Err("no".into())
    });
    assert_eq!(code(refused), "E6203");
    let (name, meta) =
        rollout::rollback(&paths, CHANNEL, &release_key(), "bad", NOW, &e, &|_| Ok(())).unwrap();
    assert_eq!(
        (name.as_str(), meta.sequence, meta.rollback_of),
        ("dcf-c291-s3.dcf", 3, Some(1))
    );
    let contents = repo::contents(&repo::load(&paths).unwrap()).unwrap();
    assert!(contents[1].1.halted.is_some(), "the bad content is halted");
    // The new content is the old rules, re-signed: it verifies under the release key.
    let target = repo::load(&paths).unwrap();
    let t = target
        .all_targets()
        .find(|(n, _)| n.raw() == name)
        .unwrap()
        .1
        .clone();
    let file = paths
        .targets()
        .join(format!("{}.{name}", repo::hex(&t.hashes.sha256)));
    let bytes = std::fs::read(file).unwrap();
    dcf_validator::keys::verify_signature(&bytes, &[release_key().verifying_key()]).unwrap();
    let decoded = dcf_parser::Content::decode(&bytes).unwrap();
    assert_eq!(decoded.header.sequence, 3);
    assert_eq!(
        decoded.rules,
        dcf_parser::Content::decode(&example(1)).unwrap().rules
    );
}
