//! The content store (`LOADER.md` STORE-1 to STORE-7): restarts restore what was active and
//! keep anti-rollback; torn writes, full disks and crashes at every step leave the old state
//! or the new, never a mix and never nothing; a content the process keeps dying on is
//! quarantined instead of boot-looping.

// A test: a failure may panic, and fixtures are indexed and counted directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use dcf_conformance::valid::{TEST_KEY_SEED, base, m, rule, sign};
use dcf_parser::{Content, MatchKind, SensorVersion};
use dcf_sensor::store::{
    ContentStore, ExpiredAtStart, FaultKind, FaultPlan, Slot, StartReport, StoreConfig,
};
use dcf_sensor::{Channels, LoaderConfig, SensorInterface};
use dcf_test_support::Rng;
use ed25519_dalek::SigningKey;

const NOW: u64 = 1_780_000_000;

fn interface() -> SensorInterface {
    let bytes = base().encode().unwrap();
    SensorInterface::declared_by(
        &dcf_parser::parse(&bytes).unwrap(),
        SensorVersion {
            major: 7,
            minor: 11,
            patch: 0,
        },
    )
}

fn config() -> StoreConfig {
    let key = SigningKey::from_bytes(&TEST_KEY_SEED)
        .verifying_key()
        .to_bytes();
    StoreConfig::new(LoaderConfig::new(interface(), vec![key], Channels::Only(1)))
}

/// How many rules the content of sequence `s` has: which content runs is visible in its
/// rule count too, so a mix of two would show.
fn rules_of(s: u64) -> u64 {
    s % 200 + 1
}

/// The content of sequence `s`.
fn content(s: u64) -> Vec<u8> {
    let mut c: Content = base();
    c.rules = (0..rules_of(s) as u8)
        .map(|i| rule(i, 1, vec![m(MatchKind::Contains, 1, &["probe"])]))
        .collect();
    c.header.sequence = s;
    sign(c).encode().unwrap()
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("store")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn open(dir: &Path, config: StoreConfig, now: u64) -> (ContentStore, StartReport) {
    ContentStore::open(dir, config, now).unwrap()
}

fn running(store: &ContentStore) -> Option<u64> {
    store.sensor().active().map(|r| r.sequence())
}

#[test]
fn a_restart_restores_the_active_content_and_keeps_its_high_water_mark() {
    let dir = scratch_dir("restart");
    let (store, report) = open(&dir, config(), NOW);
    assert_eq!(report.restored.slot, None, "a new store runs nothing");
    assert!(report.steps.is_empty());
    store.update(&content(5), NOW).unwrap();
    store.update(&content(6), NOW).unwrap();
    store.confirm_healthy().unwrap();
    drop(store);

    let (store, report) = open(&dir, config(), NOW);
    assert_eq!(report.restored.slot, Some(Slot::Active));
    assert_eq!((report.restored.sequence, running(&store)), (6, Some(6)));
    assert!(!report.restored.on_probation && !report.restored.expired);
    assert_eq!(store.high_water(), 6);
    // The content it runs is not refused as a rollback of itself; older and equal updates are.
    for stale in [5, 6] {
        let e = store.update(&content(stale), NOW).unwrap_err();
        assert_eq!(e.code(), "E3008", "{e}");
    }
    assert_eq!(running(&store), Some(6));
    store.update(&content(7), NOW).unwrap();
    // Only the active and the previous contents are kept on disk.
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files.len(), 3, "{files:?}");
    assert!(files.contains(&"state.json".to_string()));
}

#[test]
fn a_deleted_or_replaced_content_file_cannot_roll_the_sensor_back() {
    let dir = scratch_dir("replaced");
    let (store, _) = open(&dir, config(), NOW);
    store.update(&content(5), NOW).unwrap();
    store.update(&content(6), NOW).unwrap();
    store.confirm_healthy().unwrap();
    drop(store);
    let file_of = |s: u64| {
        let bytes = content(s);
        let frame = dcf_parser::Frame::read(&bytes).unwrap();
        let hex: String = frame.digest().iter().map(|b| format!("{b:02x}")).collect();
        dir.join(format!("content-{hex}.dcf"))
    };

    // The active file replaced by an older content: refused (E3702), the previous one runs.
    std::fs::write(file_of(6), content(4)).unwrap();
    let (store, report) = open(&dir, config(), NOW);
    assert_eq!(report.steps[0].outcome.as_ref().unwrap_err().0, "E3702");
    assert_eq!(report.restored.slot, Some(Slot::Previous));
    assert_eq!(running(&store), Some(5));
    // The high-water mark is the state's, not the files': 6 is still a rollback.
    assert_eq!(store.update(&content(6), NOW).unwrap_err().code(), "E3008");
    drop(store);

    // Every content file deleted: nothing runs, and the mark still holds.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "dcf") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let (store, report) = open(&dir, config(), NOW);
    assert_eq!(report.restored.slot, None);
    assert!(
        report
            .steps
            .iter()
            .all(|s| s.outcome.as_ref().unwrap_err().0 == "E3702")
    );
    assert_eq!(store.update(&content(5), NOW).unwrap_err().code(), "E3008");
    store.update(&content(7), NOW).unwrap();
}

#[test]
fn an_expired_last_known_good_runs_flagged_or_is_refused_as_configured() {
    let dir = scratch_dir("expired");
    let (store, _) = open(&dir, config(), NOW);
    store.update(&content(5), NOW).unwrap();
    store.confirm_healthy().unwrap();
    drop(store);
    let later = base().header.expires_at + 86_400;

    let (store, report) = open(&dir, config(), later);
    assert_eq!(report.restored.slot, Some(Slot::Active));
    assert!(report.restored.expired, "it runs, flagged");
    assert_eq!(running(&store), Some(5));
    drop(store);

    let mut refuse = config();
    refuse.expired_at_start = ExpiredAtStart::Refuse;
    let (store, report) = open(&dir, refuse, later);
    assert_eq!(report.steps[0].outcome.as_ref().unwrap_err().0, "E3007");
    assert_eq!((report.restored.slot, running(&store)), (None, None));
}

#[test]
fn a_content_the_sensor_keeps_dying_on_is_quarantined_and_the_previous_one_runs() {
    let dir = scratch_dir("probation");
    let (store, _) = open(&dir, config(), NOW);
    store.update(&content(5), NOW).unwrap();
    store.confirm_healthy().unwrap();
    store.update(&content(6), NOW).unwrap();
    assert!(store.on_probation());
    drop(store); // the process dies before the sensor confirmed it healthy

    // Three starts on probation (the default) run it, each counted.
    for start in 1..=3 {
        let (store, report) = open(&dir, config(), NOW);
        assert_eq!(running(&store), Some(6), "start {start}");
        assert!(report.restored.on_probation && report.quarantined.is_none());
    }
    // The fourth quarantines it.
    let (store, report) = open(&dir, config(), NOW);
    let quarantined = report.quarantined.clone().expect("quarantined");
    assert_eq!(quarantined.sequence, 6);
    assert!(
        quarantined.reason.contains("3 times"),
        "{}",
        quarantined.reason
    );
    assert_eq!(report.restored.slot, Some(Slot::Active));
    assert_eq!((report.restored.sequence, running(&store)), (5, Some(5)));
    assert!(!report.restored.on_probation);
    // It is never activated again, and its sequence stays spent.
    assert_eq!(store.update(&content(6), NOW).unwrap_err().code(), "E3701");
    assert_eq!(store.quarantined().len(), 1);
    store.update(&content(7), NOW).unwrap();
    drop(store);
    let (store, report) = open(&dir, config(), NOW);
    assert_eq!(running(&store), Some(7));
    assert!(report.quarantined.is_none());
    assert_eq!(
        store.quarantined()[0].sequence,
        6,
        "the quarantine persists"
    );
}

#[test]
fn probation_ends_by_confirmation_or_after_enough_evaluations() {
    let dir = scratch_dir("confirm");
    let mut by_events = config();
    by_events.probation_events = Some(100);
    let (store, _) = open(&dir, by_events.clone(), NOW);
    store.update(&content(5), NOW).unwrap();
    assert!(!store.record_evaluations(99).unwrap());
    assert!(store.record_evaluations(1).unwrap());
    assert!(!store.on_probation());
    drop(store);
    for _ in 0..5 {
        let (store, report) = open(&dir, by_events.clone(), NOW);
        assert!(!report.restored.on_probation && report.quarantined.is_none());
        assert_eq!(running(&store), Some(5));
    }
}

#[test]
fn an_unreadable_state_starts_empty_with_e3704() {
    let dir = scratch_dir("unreadable");
    let (store, _) = open(&dir, config(), NOW);
    store.update(&content(5), NOW).unwrap();
    drop(store);
    std::fs::write(dir.join("state.json"), b"{ not json").unwrap();
    let mut floor = config();
    floor.initial_sequence = 5;
    let (store, report) = open(&dir, floor, NOW);
    assert!(report.state_error.as_deref().unwrap().starts_with("E3704"));
    assert_eq!(running(&store), None);
    // The embedder's floor still holds without the state.
    assert_eq!(store.update(&content(5), NOW).unwrap_err().code(), "E3008");
}

#[test]
fn a_full_disk_at_any_step_refuses_the_update_and_keeps_the_old_state() {
    let mut failures = 0;
    for step in 0..40 {
        let dir = scratch_dir(&format!("full-{step}"));
        let (store, _) = open(&dir, config(), NOW);
        store.update(&content(5), NOW).unwrap();
        store.confirm_healthy().unwrap();
        drop(store);
        let plan = FaultPlan::new(step, FaultKind::Fail);
        let (store, _) = ContentStore::open_with_faults(&dir, config(), NOW, Some(plan)).unwrap();
        match store.update(&content(6), NOW) {
            Ok(_) => assert_eq!(running(&store), Some(6)),
            Err(e) => {
                failures += 1;
                assert_eq!(e.code(), "E3703", "step {step}: {e}");
                assert_eq!(
                    running(&store),
                    Some(5),
                    "step {step}: the old content runs"
                );
            }
        }
        drop(store);
        let (store, report) = open(&dir, config(), NOW);
        let after = running(&store);
        assert!(
            after == Some(5) || after == Some(6),
            "step {step}: {report:?}"
        );
    }
    assert!(
        failures >= 8,
        "every write, sync and rename of the update failed once"
    );
}

/// The child side of the crash tests: this test binary run again with `DCF_STORE_CHILD` set.
/// It opens the store in that directory with the fault plan `DCF_STORE_FAULT` (`kind:step`
/// or `kind:step:bytes`) and updates it with sequences `from` upward, printing
/// `activated N` after each update returns; it dies at the planned step (or is killed).
#[test]
fn store_child() {
    let Some(dir) = std::env::var_os("DCF_STORE_CHILD") else {
        return;
    };
    let fault = std::env::var("DCF_STORE_FAULT").unwrap_or_default();
    let parts: Vec<&str> = fault.split(':').collect();
    let plan = match parts.as_slice() {
        ["crash", step] => Some(FaultPlan::new(step.parse().unwrap(), FaultKind::Crash)),
        ["torn", step, n] => Some(FaultPlan::new(
            step.parse().unwrap(),
            FaultKind::Torn(n.parse().unwrap()),
        )),
        _ => None,
    };
    let (store, _) =
        ContentStore::open_with_faults(PathBuf::from(dir), config(), NOW, plan).unwrap();
    let first = store.high_water() + 1;
    for s in first..first + 1000 {
        store.update(&content(s), NOW).unwrap();
        println!("activated {s}");
        if s % 2 == 0 {
            store.confirm_healthy().unwrap();
        }
    }
}

/// Runs the child on `dir`; returns the last sequence it reported activated (0 for none).
fn run_child(dir: &Path, fault: &str, kill_after: Option<u64>) -> u64 {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "store_child", "--nocapture", "--test-threads=1"])
        .env("DCF_STORE_CHILD", dir)
        .env("DCF_STORE_FAULT", fault)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut last = 0;
    let mut lines = 0;
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        // The harness prints `test store_child ... ` before the first line, without a newline.
        if let Some(s) = line.split("activated ").nth(1) {
            last = s.trim().parse().unwrap();
            lines += 1;
            // Killed once; the lines it wrote before it died are still read, so `last` is
            // the last update it finished.
            if kill_after == Some(lines) {
                let _ = child.kill();
            }
        }
    }
    let _ = child.wait();
    last
}

/// After a crash: a fresh store comes up with a valid content, the old or the new, and a
/// high-water mark that never went backwards.
fn check_after_crash(dir: &Path, before: u64, reported: u64, what: &str) -> u64 {
    let (store, report) = open(dir, config(), NOW);
    let high = store.high_water();
    assert!(
        high >= before.max(reported),
        "{what}: mark {high} below {before}/{reported}"
    );
    assert!(
        high <= reported + 1,
        "{what}: mark {high} past the update in flight"
    );
    let runs = running(&store).unwrap_or(0);
    assert!(
        runs == reported || runs == reported + 1 || (reported == 0 && runs == before),
        "{what}: runs {runs}, last reported {reported}: {report:?}"
    );
    if runs != 0 {
        let active = store.sensor().active().unwrap();
        assert_eq!(
            active.rules().len() as u64,
            rules_of(runs),
            "{what}: the content is whole"
        );
    }
    assert!(
        report.steps.iter().all(|s| s.outcome.is_ok()),
        "{what}: {report:?}"
    );
    high
}

#[test]
fn a_crash_at_every_step_and_a_torn_write_at_every_length_leave_old_or_new() {
    let mut crashes = 0;
    // A crash at each of the first 120 steps of a run of updates: between every create,
    // write, sync, rename and removal of the first dozen updates and their confirmations.
    for step in 0..120 {
        let dir = scratch_dir("crash");
        let reported = run_child(&dir, &format!("crash:{step}"), None);
        check_after_crash(&dir, 0, reported, &format!("crash at step {step}"));
        crashes += 1;
    }
    // A torn write at every length, while an old state exists: the second update's content
    // file (written at step 11; the first update takes steps 0 to 9) and its state file
    // (step 16), each cut after every possible number of bytes.
    let state_len = {
        let dir = scratch_dir("state-size");
        let (store, _) = open(&dir, config(), NOW);
        store.update(&content(1), NOW).unwrap();
        store.update(&content(2), NOW).unwrap();
        std::fs::metadata(dir.join("state.json")).unwrap().len() as usize
    };
    for (step, len) in [(11, content(2).len()), (16, state_len)] {
        for n in 0..len {
            let dir = scratch_dir("torn");
            let reported = run_child(&dir, &format!("torn:{step}:{n}"), None);
            assert_eq!(reported, 1, "torn during the second update");
            check_after_crash(
                &dir,
                0,
                reported,
                &format!("torn at step {step}, {n} bytes"),
            );
            crashes += 1;
        }
    }
    println!("{crashes} crashes injected, every one recovered");
    assert_eq!(crashes, 120 + content(2).len() + state_len);
}

#[test]
fn sigkill_at_random_points_never_loses_the_content_or_the_mark() {
    let dir = scratch_dir("sigkill");
    let mut rng = Rng::new(0x5eed_51c4);
    let mut before = 0;
    let kills = 300;
    for round in 0..kills {
        let reported = run_child(&dir, "none", Some(1 + rng.below(3) as u64));
        before = check_after_crash(&dir, before, reported.max(before), &format!("kill {round}"));
    }
    println!("{kills} SIGKILLs, high-water mark {before}");
}
