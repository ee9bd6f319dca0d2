//! Health gates (`ROLLOUT.md`, ROLLOUT-6): what the field's reports must show before a
//! rollout advances, judged per track of the content's plan.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::codes::RolloutCode;
use crate::limits::MAX_NAMED_SENSORS;
use crate::report::HealthReport;
use crate::target::TargetMeta;

/// The gates' thresholds (`--gates FILE`, TOML; every key optional, defaults as below).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Gates {
    /// Reports about the content a track needs before its next wave may open (default 10).
    pub min_reports: u64,
    /// Sensors that may refuse the content (default 0).
    pub max_load_refusals: u64,
    /// Sensors that may quarantine the content (default 0).
    pub max_quarantines: u64,
    /// Refused evaluations per event (default 0.001).
    pub max_error_rate: f64,
    /// Events under the content before match rates and cost are judged (default 1,000).
    pub min_events: u64,
    /// How many times its rate under the previous content a rule may match (default 10).
    pub max_match_rate_ratio: f64,
    /// Matches per event below which no rule counts as noisy (default 0.001).
    pub match_rate_floor: f64,
    /// Matches per event allowed to a rule that never matched under the previous content
    /// (default 0.01).
    pub new_rule_max_match_rate: f64,
    /// How many times the previous content's steps per event evaluation may cost (default 4).
    pub max_cost_ratio: f64,
}

impl Default for Gates {
    fn default() -> Self {
        Gates {
            min_reports: 10,
            max_load_refusals: 0,
            max_quarantines: 0,
            max_error_rate: 0.001,
            min_events: 1_000,
            max_match_rate_ratio: 10.0,
            match_rate_floor: 0.001,
            new_rule_max_match_rate: 0.01,
            max_cost_ratio: 4.0,
        }
    }
}

impl Gates {
    /// Reads a gates file.
    pub fn from_toml(text: &str) -> Result<Gates, String> {
        let gates: Gates = toml::from_str(text).map_err(|e| e.to_string())?;
        let ratios = [
            gates.max_error_rate,
            gates.max_match_rate_ratio,
            gates.match_rate_floor,
            gates.new_rule_max_match_rate,
            gates.max_cost_ratio,
        ];
        if ratios.iter().any(|r| !r.is_finite() || *r < 0.0) {
            return Err("rates and ratios must be finite and not negative".to_string());
        }
        Ok(gates)
    }
}

/// A gate that failed, and what failed it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct GateFailure {
    /// Which gate (E63xx).
    #[serde(serialize_with = "code_text")]
    pub code: RolloutCode,
    /// The track it failed on.
    pub track: String,
    /// What was measured against which threshold.
    pub message: String,
    /// The sensors concerned (the first ten), and how many in all.
    pub sensors: Vec<String>,
    /// How many sensors in all.
    pub sensor_count: u64,
    /// The rules concerned, as `id "title" (author)`.
    pub rules: Vec<String>,
}

fn code_text<S: serde::Serializer>(code: &RolloutCode, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(code.as_str())
}

impl core::fmt::Display for GateFailure {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{}: {}: track `{}`: {}",
            self.code.as_str(),
            self.code.description(),
            self.track,
            self.message
        )?;
        if !self.sensors.is_empty() {
            write!(f, "; sensors: {}", self.sensors.join(", "))?;
            let more = self.sensor_count.saturating_sub(self.sensors.len() as u64);
            if more > 0 {
                write!(f, " and {more} more")?;
            }
        }
        for r in &self.rules {
            write!(f, "; rule {r}")?;
        }
        Ok(())
    }
}

/// What the reports say about one track.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TrackJudgement {
    /// The track.
    pub track: String,
    /// Sensors that fetched the content (run it, refused it or quarantined it).
    pub exposed: u64,
    /// Sensors that run it.
    pub running: u64,
    /// Events evaluated under it.
    pub events: u64,
    /// Whether enough sensors reported for the next wave to open.
    pub enough_reports: bool,
    /// The gates that failed.
    pub failures: Vec<GateFailure>,
}

/// What the reports say about a content, track by track.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Judgement {
    /// Each track of the content's plan, the default first.
    pub tracks: Vec<TrackJudgement>,
    /// Reports about the previous content (the baseline).
    pub baseline_reports: u64,
}

impl Judgement {
    /// Every failure, track by track.
    pub fn failures(&self) -> impl Iterator<Item = &GateFailure> {
        self.tracks.iter().flat_map(|t| t.failures.iter())
    }

    /// Whether no gate failed.
    pub fn passed(&self) -> bool {
        self.failures().next().is_none()
    }

    /// The judgement of `track`.
    pub fn track(&self, track: &str) -> Option<&TrackJudgement> {
        self.tracks.iter().find(|t| t.track == track)
    }
}

#[derive(Default)]
struct Tally {
    events: u64,
    errors: u64,
    steps: u64,
    matches: BTreeMap<String, (u64, String, String)>,
}

impl Tally {
    fn add(&mut self, r: &HealthReport) {
        let e = &r.evaluation;
        self.events = self.events.saturating_add(e.events);
        self.errors = self
            .errors
            .saturating_add(e.errors.values().fold(0u64, |a, b| a.saturating_add(*b)));
        self.steps = self.steps.saturating_add(e.steps);
        for (id, m) in &e.matches {
            let slot = self
                .matches
                .entry(id.clone())
                .or_insert_with(|| (0, m.title.clone(), m.author.clone()));
            slot.0 = slot.0.saturating_add(m.count);
        }
    }

    fn rate(&self, count: u64) -> f64 {
        if self.events == 0 {
            0.0
        } else {
            count as f64 / self.events as f64
        }
    }
}

/// Judges `current` by `reports`, against the reports of sensors that run `previous`.
pub fn judge(
    reports: &[HealthReport],
    current: &TargetMeta,
    previous: Option<&TargetMeta>,
    gates: &Gates,
) -> Judgement {
    let runs = |r: &HealthReport, m: &TargetMeta| {
        r.channel == m.channel && r.active.as_ref().is_some_and(|a| a.digest == m.digest)
    };
    let mut baseline = Tally::default();
    let mut baseline_reports = 0u64;
    if let Some(p) = previous {
        for r in reports.iter().filter(|r| runs(r, p)) {
            baseline.add(r);
            baseline_reports = baseline_reports.saturating_add(1);
        }
    }
    let tracks = current
        .plan
        .tracks()
        .map(|track| judge_track(track, reports, current, &baseline, gates, &runs))
        .collect();
    Judgement {
        tracks,
        baseline_reports,
    }
}

fn judge_track(
    track: &str,
    reports: &[HealthReport],
    current: &TargetMeta,
    baseline: &Tally,
    gates: &Gates,
    runs: &dyn Fn(&HealthReport, &TargetMeta) -> bool,
) -> TrackJudgement {
    let on_track = |r: &&HealthReport| {
        r.channel == current.channel
            && dcf_validator::manifest::parse_version(&r.sensor_version)
                .is_some_and(|v| current.plan.track_for(v) == track)
    };
    let mut refused: Vec<(String, String)> = Vec::new();
    let mut quarantined: Vec<String> = Vec::new();
    let mut running = Tally::default();
    let mut running_count = 0u64;
    let mut exposed = 0u64;
    for r in reports.iter().filter(on_track) {
        let refusal = r
            .loads
            .iter()
            .rev()
            .find(|l| l.digest == current.digest && l.code.is_some());
        let quarantine = r.quarantined.iter().any(|q| q.digest == current.digest);
        let run = runs(r, current);
        if run || refusal.is_some() || quarantine {
            exposed = exposed.saturating_add(1);
        }
        if let Some(l) = refusal.filter(|_| !run) {
            refused.push((r.device_id.clone(), l.code.clone().unwrap_or_default()));
        }
        if quarantine {
            quarantined.push(r.device_id.clone());
        }
        if run {
            running.add(r);
            running_count = running_count.saturating_add(1);
        }
    }
    let mut failures = Vec::new();
    let fail = |code, message: String, sensors: Vec<String>, rules: Vec<String>| GateFailure {
        code,
        track: track.to_string(),
        message,
        sensor_count: sensors.len() as u64,
        sensors: sensors.into_iter().take(MAX_NAMED_SENSORS).collect(),
        rules,
    };
    if refused.len() as u64 > gates.max_load_refusals {
        let mut by_code: BTreeMap<&str, u64> = BTreeMap::new();
        for (_, code) in &refused {
            *by_code.entry(code).or_default() += 1;
        }
        let codes: Vec<String> = by_code.iter().map(|(c, n)| format!("{c} × {n}")).collect();
        failures.push(fail(
            RolloutCode::GateLoadRefusals,
            format!(
                "{} sensors refused it ({}); at most {} may",
                refused.len(),
                codes.join(", "),
                gates.max_load_refusals
            ),
            refused
                .into_iter()
                .map(|(d, c)| format!("{d} ({c})"))
                .collect(),
            Vec::new(),
        ));
    }
    if quarantined.len() as u64 > gates.max_quarantines {
        failures.push(fail(
            RolloutCode::GateQuarantines,
            format!(
                "{} sensors quarantined it; at most {} may",
                quarantined.len(),
                gates.max_quarantines
            ),
            quarantined,
            Vec::new(),
        ));
    }
    if running.events > 0 && running.rate(running.errors) > gates.max_error_rate {
        failures.push(fail(
            RolloutCode::GateEvaluationErrors,
            format!(
                "{} of {} events refused ({:.4} per event; at most {})",
                running.errors,
                running.events,
                running.rate(running.errors),
                gates.max_error_rate
            ),
            Vec::new(),
            Vec::new(),
        ));
    }
    if running.events >= gates.min_events {
        let mut noisy = Vec::new();
        for (id, (count, title, author)) in &running.matches {
            let rate = running.rate(*count);
            let before = baseline.matches.get(id).map_or(0, |m| m.0);
            let limit = if before > 0 {
                (gates.max_match_rate_ratio * baseline.rate(before)).max(gates.match_rate_floor)
            } else {
                gates.new_rule_max_match_rate
            };
            if rate > limit {
                noisy.push(format!(
                    "{id} \"{title}\" ({author}): {rate:.4} matches per event, limit {limit:.4} \
                     (before: {:.4})",
                    baseline.rate(before)
                ));
            }
        }
        if !noisy.is_empty() {
            failures.push(fail(
                RolloutCode::GateMatchRate,
                format!(
                    "{} rules match far more often than under the previous content, over {} events",
                    noisy.len(),
                    running.events
                ),
                Vec::new(),
                noisy,
            ));
        }
        if baseline.events > 0 && baseline.steps > 0 {
            let now = running.steps as f64 / running.events as f64;
            let before = baseline.steps as f64 / baseline.events as f64;
            if now > gates.max_cost_ratio * before {
                failures.push(fail(
                    RolloutCode::GateEvaluationCost,
                    format!(
                        "{now:.0} steps per event against {before:.0} before (at most {} times)",
                        gates.max_cost_ratio
                    ),
                    Vec::new(),
                    Vec::new(),
                ));
            }
        }
    }
    TrackJudgement {
        track: track.to_string(),
        exposed,
        running: running_count,
        events: running.events,
        enough_reports: exposed >= gates.min_reports,
        failures,
    }
}
