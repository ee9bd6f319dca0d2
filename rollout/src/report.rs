//! Sensors' health reports (`ROLLOUT.md`, ROLLOUT-6): what a sensor says about the content it
//! runs, as JSON, one file per sensor (the latest replaces the one before).

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::limits::{MAX_LOAD_RECORDS, MAX_REPORT_SIZE, MAX_REPORTED_RULES, MAX_REPORTS};

/// The value of [`HealthReport::format`].
pub const REPORT_FORMAT: &str = "dcf-health/1";

/// One sensor's health report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HealthReport {
    /// Always [`REPORT_FORMAT`].
    pub format: String,
    /// The sensor's device id (its position in the fleet derives from it).
    pub device_id: String,
    /// The sensor build's version, `major.minor.patch`.
    pub sensor_version: String,
    /// The channel the sensor serves.
    pub channel: u32,
    /// When the report was written, seconds since the Unix epoch.
    pub at: u64,
    /// The content the sensor runs, if any.
    pub active: Option<ActiveContent>,
    /// The most recent loads (at most 16), oldest first.
    pub loads: Vec<LoadRecord>,
    /// Contents the sensor's store quarantined.
    pub quarantined: Vec<ContentRef>,
    /// Evaluation under the active content since it became active.
    pub evaluation: EvaluationStats,
}

/// A content by its sequence and digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContentRef {
    /// Its sequence.
    pub sequence: u64,
    /// Its frame digest in lower-case hex.
    pub digest: String,
}

/// The active content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActiveContent {
    /// Its sequence.
    pub sequence: u64,
    /// Its frame digest in lower-case hex.
    pub digest: String,
    /// Since when it runs, seconds since the Unix epoch.
    pub since: u64,
}

/// One load: a content the sensor fetched and handed to its loader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadRecord {
    /// The content's sequence (from its target metadata).
    pub sequence: u64,
    /// The content's digest (from its target metadata).
    pub digest: String,
    /// When, seconds since the Unix epoch.
    pub at: u64,
    /// `None` when it was loaded; else the refusal's code (an E3xxx loader code, an E0xxx
    /// format code, or an E61xx distribution code).
    pub code: Option<String>,
    /// The refusal's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Evaluation statistics under one content.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvaluationStats {
    /// Events evaluated.
    pub events: u64,
    /// Events refused, by code (E35xx).
    pub errors: BTreeMap<String, u64>,
    /// Interpreter steps spent, in all (deterministic: the work the cost model counts).
    pub steps: u64,
    /// Wall-clock nanoseconds spent evaluating, in all (for people; gates use steps).
    pub nanos: u64,
    /// Matches per rule id (UUID text), with the rule's title and author (DRL 1.1).
    pub matches: BTreeMap<String, RuleMatches>,
}

/// How often one rule matched.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMatches {
    /// Events it matched.
    pub count: u64,
    /// The rule's title.
    pub title: String,
    /// The rule's author.
    pub author: String,
}

impl HealthReport {
    /// Whether the report is well formed beyond its JSON shape: its format, its version, and
    /// lists within their limits.
    pub fn check(&self) -> Result<(), String> {
        if self.format != REPORT_FORMAT {
            return Err(format!("format `{}` is not `{REPORT_FORMAT}`", self.format));
        }
        if dcf_validator::manifest::parse_version(&self.sensor_version).is_none() {
            return Err(format!(
                "sensor_version `{}` is not major.minor.patch",
                self.sensor_version
            ));
        }
        if self.loads.len() > MAX_LOAD_RECORDS {
            return Err(format!("more than {MAX_LOAD_RECORDS} load records"));
        }
        if self.evaluation.matches.len() > MAX_REPORTED_RULES {
            return Err(format!("matches for more than {MAX_REPORTED_RULES} rules"));
        }
        Ok(())
    }

    /// The report as its file holds it (one line of JSON).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The reports of a directory, and the files that could not be used with why (E6201).
#[derive(Clone, Debug, Default)]
pub struct Reports {
    /// The reports that read, in file name order.
    pub reports: Vec<HealthReport>,
    /// The files that did not, with why.
    pub unreadable: Vec<(PathBuf, String)>,
}

/// Reads every `*.json` file of a directory. More than [`MAX_REPORTS`] files is an error.
pub fn read_reports(dir: &Path) -> Result<Reports, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("{}: {e}", dir.display()))?.path();
        if path.extension().is_some_and(|e| e == "json") {
            if paths.len() == MAX_REPORTS {
                return Err(format!(
                    "{}: more than {MAX_REPORTS} reports",
                    dir.display()
                ));
            }
            paths.push(path);
        }
    }
    paths.sort();
    let mut out = Reports::default();
    for path in paths {
        match read_report(&path) {
            Ok(r) => out.reports.push(r),
            Err(e) => out.unreadable.push((path, e)),
        }
    }
    Ok(out)
}

/// One report file, read within [`MAX_REPORT_SIZE`] and checked.
pub fn read_report(path: &Path) -> Result<HealthReport, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    file.take(MAX_REPORT_SIZE.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > MAX_REPORT_SIZE {
        return Err(format!("larger than {MAX_REPORT_SIZE} bytes"));
    }
    let report: HealthReport = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    report.check()?;
    Ok(report)
}
