//! The health gates (`ROLLOUT.md` ROLLOUT-6): each fails on exactly the reports it is about,
//! with its code, and passes on a healthy rollout.

// A test: a failure may panic, and fixtures are indexed directly.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

use std::collections::BTreeMap;

use dcf_rollout::gates::{Gates, judge};
use dcf_rollout::plan::{DEFAULT_TRACK, Plan};
use dcf_rollout::report::{
    ActiveContent, ContentRef, EvaluationStats, LoadRecord, REPORT_FORMAT, RuleMatches,
    read_reports,
};
use dcf_rollout::{HealthReport, TargetMeta};

fn meta(sequence: u64, digest: &str) -> TargetMeta {
    TargetMeta {
        channel: 1,
        sequence,
        digest: digest.into(),
        published_at: 0,
        plan: Plan::staged(0),
        approved: BTreeMap::from([(DEFAULT_TRACK.to_string(), 1)]),
        halted: None,
        rollback_of: None,
    }
}

/// A report of `device` running `digest`, with `events` events of `steps` steps each and the
/// given match counts.
fn report(
    device: &str,
    digest: &str,
    events: u64,
    steps: u64,
    matches: &[(&str, u64)],
) -> HealthReport {
    HealthReport {
        format: REPORT_FORMAT.into(),
        device_id: device.into(),
        sensor_version: "7.12.0".into(),
        channel: 1,
        at: 0,
        active: Some(ActiveContent {
            sequence: 0,
            digest: digest.into(),
            since: 0,
        }),
        loads: Vec::new(),
        quarantined: Vec::new(),
        evaluation: EvaluationStats {
            events,
            errors: BTreeMap::new(),
            steps: events * steps,
            nanos: 0,
            matches: matches
                .iter()
                .map(|(id, n)| {
                    (
                        id.to_string(),
                        RuleMatches {
                            count: *n,
                            title: format!("rule {id}"),
                            author: "a".into(),
                        },
                    )
                })
                .collect(),
        },
    }
}

/// Forty sensors on the previous content and twenty on the current one, all healthy: the
/// same rates, the same cost.
fn healthy() -> Vec<HealthReport> {
    let mut out: Vec<HealthReport> = (0..40)
        .map(|i| report(&format!("old-{i}"), "old", 100, 50, &[("r1", 1)]))
        .collect();
    out.extend((0..20).map(|i| report(&format!("new-{i}"), "new", 100, 60, &[("r1", 2)])));
    out
}

fn codes(reports: &[HealthReport]) -> Vec<String> {
    let j = judge(
        reports,
        &meta(2, "new"),
        Some(&meta(1, "old")),
        &Gates::default(),
    );
    j.failures().map(|f| f.code.as_str().to_string()).collect()
}

#[test]
fn a_healthy_rollout_passes_every_gate() {
    let r = healthy();
    let j = judge(
        &r,
        &meta(2, "new"),
        Some(&meta(1, "old")),
        &Gates::default(),
    );
    assert!(j.passed(), "{:?}", j.failures().collect::<Vec<_>>());
    let t = j.track(DEFAULT_TRACK).unwrap();
    assert_eq!(
        (t.exposed, t.running, t.events, t.enough_reports),
        (20, 20, 2_000, true)
    );
    assert_eq!(j.baseline_reports, 40);
}

#[test]
fn refusals_fail_the_load_gate_and_name_the_sensors() {
    let mut r = healthy();
    let mut refused = report("refuser", "old", 100, 50, &[]);
    refused.loads.push(LoadRecord {
        sequence: 2,
        digest: "new".into(),
        at: 0,
        code: Some("E3102".into()),
        message: Some("field 21".into()),
    });
    r.push(refused);
    assert_eq!(codes(&r), ["E6301"]);
    let j = judge(
        &r,
        &meta(2, "new"),
        Some(&meta(1, "old")),
        &Gates::default(),
    );
    let f = j.failures().next().unwrap();
    assert_eq!(f.sensors, ["refuser (E3102)"]);
    assert!(f.to_string().contains("E3102 × 1"), "{f}");
    // A refusal of another content is not this content's.
    let mut r = healthy();
    let mut other = report("other", "old", 100, 50, &[]);
    other.loads.push(LoadRecord {
        sequence: 9,
        digest: "else".into(),
        at: 0,
        code: Some("E3102".into()),
        message: None,
    });
    r.push(other);
    assert!(codes(&r).is_empty());
}

#[test]
fn quarantines_fail_their_gate() {
    let mut r = healthy();
    let mut q = report("crashed", "old", 100, 50, &[]);
    q.quarantined.push(ContentRef {
        sequence: 2,
        digest: "new".into(),
    });
    r.push(q);
    assert_eq!(codes(&r), ["E6302"]);
}

#[test]
fn evaluation_errors_fail_their_gate() {
    let mut r = healthy();
    r[45].evaluation.errors.insert("E3503".into(), 5);
    assert_eq!(codes(&r), ["E6303"]);
}

#[test]
fn a_noisy_rule_fails_the_match_rate_gate() {
    let mut r = healthy();
    // r1 goes from 0.01 to 0.2 matches per event on one sensor's worth: over 10 times.
    for report in &mut r[40..] {
        report.evaluation.matches.get_mut("r1").unwrap().count = 20;
    }
    assert_eq!(codes(&r), ["E6304"]);
    // A new rule is held to the absolute rate for new rules.
    let mut r = healthy();
    for report in &mut r[40..] {
        report.evaluation.matches.insert(
            "r2".into(),
            RuleMatches {
                count: 5,
                title: "new".into(),
                author: "a".into(),
            },
        );
    }
    assert_eq!(codes(&r), ["E6304"]);
    let j = judge(
        &r,
        &meta(2, "new"),
        Some(&meta(1, "old")),
        &Gates::default(),
    );
    assert!(j.failures().next().unwrap().rules[0].starts_with("r2 \"new\" (a)"));
    // Too few events to judge rates: no verdict yet.
    let few: Vec<HealthReport> = r
        .iter()
        .cloned()
        .map(|mut x| {
            x.evaluation.events /= 100;
            x.evaluation.steps /= 100;
            x
        })
        .collect();
    assert!(codes(&few).is_empty(), "{:?}", codes(&few));
}

#[test]
fn a_costlier_content_fails_the_cost_gate() {
    let mut r = healthy();
    for report in &mut r[40..] {
        report.evaluation.steps = 100 * 250;
    }
    assert_eq!(codes(&r), ["E6305"]);
}

#[test]
fn too_few_reports_hold_the_next_wave() {
    let r: Vec<HealthReport> = healthy().into_iter().take(45).collect();
    let j = judge(
        &r,
        &meta(2, "new"),
        Some(&meta(1, "old")),
        &Gates::default(),
    );
    assert!(!j.track(DEFAULT_TRACK).unwrap().enough_reports);
}

#[test]
fn malformed_reports_are_listed_not_judged() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("reports-malformed");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("good.json"),
        report("good", "new", 1, 1, &[]).to_json(),
    )
    .unwrap();
    std::fs::write(dir.join("broken.json"), "{ not json").unwrap();
    let mut wrong = report("wrong", "new", 1, 1, &[]);
    wrong.format = "other/9".into();
    std::fs::write(dir.join("wrong.json"), wrong.to_json()).unwrap();
    std::fs::write(dir.join("ignored.txt"), "not a report").unwrap();
    let reports = read_reports(&dir).unwrap();
    assert_eq!(reports.reports.len(), 1);
    let names: Vec<String> = reports
        .unreadable
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().to_string())
        .collect();
    assert_eq!(names, ["broken.json", "wrong.json"]);
    // What the CLI reports for each of them.
    assert_eq!(dcf_rollout::RolloutCode::ReportInvalid.as_str(), "E6201");
}

#[test]
fn gates_files_read_and_refuse_nonsense() {
    let g = Gates::from_toml("max_load_refusals = 2\nmin_reports = 50\n").unwrap();
    assert_eq!(
        (g.max_load_refusals, g.min_reports, g.max_cost_ratio),
        (2, 50, 4.0)
    );
    assert!(Gates::from_toml("max_cost_ratio = -1.0").is_err());
    assert!(
        Gates::from_toml("max_refusals = 1")
            .unwrap_err()
            .contains("unknown field")
    );
}
