//! What a sensor records for its health report (`ROLLOUT.md`, ROLLOUT-6): loads, quarantines
//! and evaluation under the active content, turned into a [`HealthReport`] on demand.

use std::collections::VecDeque;

use dcf_rollout::HealthReport;
use dcf_rollout::limits::{MAX_LOAD_RECORDS, MAX_REPORTED_RULES};
use dcf_rollout::report::{
    ActiveContent, ContentRef, EvaluationStats, LoadRecord, REPORT_FORMAT, RuleMatches,
};
use dcf_sensor::{EvalError, Ruleset};

/// A sensor's health record. Bounded: at most 16 load records, and match counts for at most
/// the rules of the active content.
#[derive(Clone, Debug)]
pub struct Health {
    device_id: String,
    sensor_version: String,
    channel: u32,
    active: Option<ActiveContent>,
    loads: VecDeque<LoadRecord>,
    quarantined: Vec<ContentRef>,
    evaluation: EvaluationStats,
}

/// The lower-case hex of a ruleset's digest.
pub fn digest_hex(ruleset: &Ruleset) -> String {
    dcf_rollout::repo::hex(ruleset.digest())
}

impl Health {
    /// An empty record for a sensor.
    pub fn new(device_id: &str, sensor_version: &str, channel: u32) -> Health {
        Health {
            device_id: device_id.to_string(),
            sensor_version: sensor_version.to_string(),
            channel,
            active: None,
            loads: VecDeque::new(),
            quarantined: Vec::new(),
            evaluation: EvaluationStats::default(),
        }
    }

    /// Notes which content runs (after a start or a load). A new content starts new
    /// evaluation statistics; the same content keeps them.
    pub fn set_active(&mut self, ruleset: Option<&Ruleset>, at: u64) {
        let digest = ruleset.map(digest_hex);
        if self.active.as_ref().map(|a| &a.digest) == digest.as_ref() {
            return;
        }
        self.active = ruleset.zip(digest).map(|(r, digest)| ActiveContent {
            sequence: r.sequence(),
            digest,
            since: at,
        });
        self.evaluation = EvaluationStats::default();
    }

    /// Records a load of the content `sequence`/`digest`: `Ok` with the ruleset now active, or
    /// the refusal's code and message.
    pub fn record_load(
        &mut self,
        sequence: u64,
        digest: &str,
        at: u64,
        result: Result<&Ruleset, (&str, String)>,
    ) {
        let (code, message) = match &result {
            Ok(_) => (None, None),
            Err((code, message)) => (Some((*code).to_string()), Some(message.clone())),
        };
        if self.loads.len() == MAX_LOAD_RECORDS {
            self.loads.pop_front();
        }
        self.loads.push_back(LoadRecord {
            sequence,
            digest: digest.to_string(),
            at,
            code,
            message,
        });
        if let Ok(ruleset) = result {
            self.set_active(Some(ruleset), at);
        }
    }

    /// Sets the contents the sensor's store has quarantined.
    pub fn set_quarantined(&mut self, quarantined: Vec<ContentRef>) {
        self.quarantined = quarantined;
    }

    /// Records one evaluation under `ruleset`: the rules that matched (indices into its
    /// rules) or the refusal, the steps it took and its wall-clock time.
    pub fn record_evaluation(
        &mut self,
        ruleset: &Ruleset,
        result: Result<&[u32], &EvalError>,
        steps: u64,
        nanos: u64,
    ) {
        let e = &mut self.evaluation;
        e.events = e.events.saturating_add(1);
        e.steps = e.steps.saturating_add(steps);
        e.nanos = e.nanos.saturating_add(nanos);
        match result {
            Ok(matched) => {
                for &i in matched {
                    let Some(rule) = ruleset.rules().get(i as usize) else {
                        continue;
                    };
                    let id = rule.id.to_string();
                    if let Some(m) = e.matches.get_mut(&id) {
                        m.count = m.count.saturating_add(1);
                    } else if e.matches.len() < MAX_REPORTED_RULES {
                        e.matches.insert(
                            id,
                            RuleMatches {
                                count: 1,
                                title: rule.title.clone(),
                                author: rule.author.clone(),
                            },
                        );
                    }
                }
            }
            Err(err) => {
                let slot = e.errors.entry(err.code.as_str().to_string()).or_insert(0);
                *slot = slot.saturating_add(1);
            }
        }
    }

    /// The report as of `at`.
    pub fn report(&self, at: u64) -> HealthReport {
        HealthReport {
            format: REPORT_FORMAT.to_string(),
            device_id: self.device_id.clone(),
            sensor_version: self.sensor_version.clone(),
            channel: self.channel,
            at,
            active: self.active.clone(),
            loads: self.loads.iter().cloned().collect(),
            quarantined: self.quarantined.clone(),
            evaluation: self.evaluation.clone(),
        }
    }
}
