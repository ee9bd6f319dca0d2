//! Rollout plans (`ROLLOUT.md`, ROLLOUT-3): waves, each a share of the fleet and a delay after
//! the start, for the fleet as a whole and for cohorts of sensor versions staged on their own.
//!
//! A plan is written by the release owner as TOML ([`Plan::from_toml`]) and travels inside the
//! signed TUF targets metadata as JSON (the serde form of [`Plan`]).

use dcf_parser::SensorVersion;
use dcf_validator::manifest::parse_version;
use serde::{Deserialize, Serialize};

use crate::limits::{MAX_COHORTS, MAX_NAME_LEN, MAX_WAVES, SHARE_SCALE};

/// The name of the track that sensors of no cohort follow.
pub const DEFAULT_TRACK: &str = "default";

/// One wave: from `after_secs` after the plan's start, sensors whose position is below
/// `share_bp` (basis points of the fleet) may take the content, once the wave is approved.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wave {
    /// The share of the track's sensors this wave opens to, in basis points (1 % = 100).
    pub share_bp: u32,
    /// Seconds after the plan's start before the wave may open.
    pub after_secs: u64,
}

/// Sensor versions staged on their own schedule.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cohort {
    /// The cohort's name, which approvals and reports refer to.
    pub name: String,
    /// Lowest sensor version of the cohort (inclusive).
    pub sensor_min: SensorVersion,
    /// Highest sensor version of the cohort (inclusive).
    pub sensor_max: SensorVersion,
    /// The cohort's waves.
    pub waves: Vec<Wave>,
}

/// A rollout plan: the default waves, and cohorts with their own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Seconds since the Unix epoch at which wave delays start counting.
    pub start: u64,
    /// The waves of sensors in no cohort.
    pub waves: Vec<Wave>,
    /// Cohorts, tried in order; a sensor follows the first whose range holds its version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cohorts: Vec<Cohort>,
}

/// The plan as a release owner writes it (`--plan FILE`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PlanFile {
    #[serde(default)]
    wave: Vec<WaveFile>,
    #[serde(default)]
    cohort: Vec<CohortFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WaveFile {
    share: String,
    #[serde(default)]
    after: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CohortFile {
    name: String,
    sensor_min: String,
    sensor_max: String,
    wave: Vec<WaveFile>,
}

impl Plan {
    /// The default plan, as Bottlerocket stages OS updates: 1 % at once, 10 % after 4 hours,
    /// 50 % after a day, everyone after three days.
    pub fn staged(start: u64) -> Plan {
        let wave = |share_bp, hours: u64| Wave {
            share_bp,
            after_secs: hours * 3600,
        };
        Plan {
            start,
            waves: vec![
                wave(100, 0),
                wave(1_000, 4),
                wave(5_000, 24),
                wave(SHARE_SCALE, 72),
            ],
            cohorts: Vec::new(),
        }
    }

    /// One wave for everyone at once: what a rollback publishes.
    pub fn immediate(start: u64) -> Plan {
        Plan {
            start,
            waves: vec![Wave {
                share_bp: SHARE_SCALE,
                after_secs: 0,
            }],
            cohorts: Vec::new(),
        }
    }

    /// Reads a plan file (TOML: `[[wave]] share = "1%" after = "4h"`, and `[[cohort]]` tables
    /// with `name`, `sensor_min`, `sensor_max` and their own `[[cohort.wave]]`), starting at
    /// `start`. The error says what is wrong (E6202).
    pub fn from_toml(text: &str, start: u64) -> Result<Plan, String> {
        let file: PlanFile = toml::from_str(text).map_err(|e| e.to_string())?;
        let waves = waves_from(&file.wave).map_err(|e| format!("[[wave]]: {e}"))?;
        let mut cohorts = Vec::new();
        for c in &file.cohort {
            let version = |text: &str| {
                parse_version(text).ok_or_else(|| {
                    format!("cohort `{}`: `{text}` is not major.minor.patch", c.name)
                })
            };
            cohorts.push(Cohort {
                name: c.name.clone(),
                sensor_min: version(&c.sensor_min)?,
                sensor_max: version(&c.sensor_max)?,
                waves: waves_from(&c.wave).map_err(|e| format!("cohort `{}`: {e}", c.name))?,
            });
        }
        let plan = Plan {
            start,
            waves,
            cohorts,
        };
        plan.check()?;
        Ok(plan)
    }

    /// Whether the plan is well formed: every track has 1 to [`MAX_WAVES`] waves whose shares
    /// rise strictly to the whole fleet and whose delays do not fall; cohorts are at most
    /// [`MAX_COHORTS`], with distinct names other than `default` and ranges `min <= max`.
    pub fn check(&self) -> Result<(), String> {
        check_waves(&self.waves).map_err(|e| format!("default waves: {e}"))?;
        if self.cohorts.len() > MAX_COHORTS {
            return Err(format!("more than {MAX_COHORTS} cohorts"));
        }
        for (i, c) in self.cohorts.iter().enumerate() {
            if c.name.is_empty() || c.name.len() > MAX_NAME_LEN || c.name == DEFAULT_TRACK {
                return Err(format!(
                    "cohort name `{}` must be 1 to {MAX_NAME_LEN} bytes and not `{DEFAULT_TRACK}`",
                    c.name
                ));
            }
            if self.cohorts[..i].iter().any(|o| o.name == c.name) {
                return Err(format!("cohort `{}` is named twice", c.name));
            }
            if c.sensor_min > c.sensor_max {
                return Err(format!(
                    "cohort `{}`: sensor_min {} is above sensor_max {}",
                    c.name, c.sensor_min, c.sensor_max
                ));
            }
            check_waves(&c.waves).map_err(|e| format!("cohort `{}`: {e}", c.name))?;
        }
        Ok(())
    }

    /// The track a sensor of `version` follows: the first cohort whose range holds it, else
    /// the default.
    pub fn track_for(&self, version: SensorVersion) -> &str {
        self.cohorts
            .iter()
            .find(|c| c.sensor_min <= version && version <= c.sensor_max)
            .map_or(DEFAULT_TRACK, |c| c.name.as_str())
    }

    /// The waves of a track (`None` for a track the plan does not have).
    pub fn waves_of(&self, track: &str) -> Option<&[Wave]> {
        if track == DEFAULT_TRACK {
            return Some(&self.waves);
        }
        self.cohorts
            .iter()
            .find(|c| c.name == track)
            .map(|c| c.waves.as_slice())
    }

    /// Every track's name, the default first.
    pub fn tracks(&self) -> impl Iterator<Item = &str> {
        core::iter::once(DEFAULT_TRACK).chain(self.cohorts.iter().map(|c| c.name.as_str()))
    }

    /// The share open on `track` at `now` when its first `approved` waves are approved: the
    /// largest share among them whose delay has passed (0 when none has).
    pub fn open_share(&self, track: &str, approved: u32, now: u64) -> u32 {
        let Some(waves) = self.waves_of(track) else {
            return 0;
        };
        waves
            .iter()
            .take(approved as usize)
            .filter(|w| self.start.saturating_add(w.after_secs) <= now)
            .map(|w| w.share_bp)
            .max()
            .unwrap_or(0)
    }
}

fn waves_from(waves: &[WaveFile]) -> Result<Vec<Wave>, String> {
    waves
        .iter()
        .map(|w| {
            Ok(Wave {
                share_bp: parse_share(&w.share)?,
                after_secs: w.after.as_deref().map_or(Ok(0), parse_duration)?,
            })
        })
        .collect()
}

fn check_waves(waves: &[Wave]) -> Result<(), String> {
    if waves.is_empty() || waves.len() > MAX_WAVES {
        return Err(format!("a track needs 1 to {MAX_WAVES} waves"));
    }
    let mut last: Option<&Wave> = None;
    for w in waves {
        if w.share_bp == 0 || w.share_bp > SHARE_SCALE {
            return Err(format!(
                "share {} is not in (0 %, 100 %]",
                percent(w.share_bp)
            ));
        }
        if let Some(l) = last {
            if w.share_bp <= l.share_bp {
                return Err(format!(
                    "shares must rise: {} follows {}",
                    percent(w.share_bp),
                    percent(l.share_bp)
                ));
            }
            if w.after_secs < l.after_secs {
                return Err("a wave may not open before the one ahead of it".to_string());
            }
        }
        last = Some(w);
    }
    if last.is_some_and(|w| w.share_bp != SHARE_SCALE) {
        return Err("the last wave must open to 100 %".to_string());
    }
    Ok(())
}

/// `"1%"`, `"0.5%"`, `"100%"` in basis points (two decimals at most).
fn parse_share(text: &str) -> Result<u32, String> {
    let bad = || format!("share `{text}` is not a percentage such as \"1%\" or \"0.5%\"");
    let number = text.trim().strip_suffix('%').ok_or_else(bad)?.trim();
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty()
        || fraction.len() > 2
        || !whole
            .bytes()
            .chain(fraction.bytes())
            .all(|b| b.is_ascii_digit())
        || whole.len() > 3
    {
        return Err(bad());
    }
    let whole: u32 = whole.parse().map_err(|_| bad())?;
    let fraction: u32 = format!("{fraction:0<2}").parse().map_err(|_| bad())?;
    Ok(whole * 100 + fraction)
}

/// `"0"`, `"90s"`, `"30m"`, `"4h"`, `"3d"` in seconds.
fn parse_duration(text: &str) -> Result<u64, String> {
    let bad = || format!("delay `{text}` is not a duration such as \"30m\", \"4h\" or \"3d\"");
    let text = text.trim();
    if text == "0" {
        return Ok(0);
    }
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(bad()),
    };
    let n: u64 = number.parse().map_err(|_| bad())?;
    n.checked_mul(scale).ok_or_else(bad)
}

/// Basis points as a percentage for messages (`150` is `1.5 %`).
pub fn percent(share_bp: u32) -> String {
    let (whole, rest) = (share_bp / 100, share_bp % 100);
    match rest {
        0 => format!("{whole} %"),
        r if r % 10 == 0 => format!("{whole}.{} %", r / 10),
        r => format!("{whole}.{r:02} %"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_plan_file() {
        let plan = Plan::from_toml(
            r#"
[[wave]]
share = "1%"
[[wave]]
share = "10%"
after = "4h"
[[wave]]
share = "100%"
after = "3d"

[[cohort]]
name = "legacy"
sensor_min = "1.0.0"
sensor_max = "1.99.0"
[[cohort.wave]]
share = "0.5%"
[[cohort.wave]]
share = "100%"
after = "1d"
"#,
            1000,
        )
        .unwrap();
        assert_eq!(
            plan.waves[1],
            Wave {
                share_bp: 1000,
                after_secs: 14_400
            }
        );
        assert_eq!(plan.cohorts[0].waves[0].share_bp, 50);
        let v = |t| parse_version(t).unwrap();
        assert_eq!(plan.track_for(v("1.5.0")), "legacy");
        assert_eq!(plan.track_for(v("2.0.0")), DEFAULT_TRACK);
        // Approved waves open only once their delay has passed.
        assert_eq!(plan.open_share(DEFAULT_TRACK, 2, 1000), 100);
        assert_eq!(plan.open_share(DEFAULT_TRACK, 2, 1000 + 14_400), 1000);
        assert_eq!(plan.open_share(DEFAULT_TRACK, 1, 1000 + 14_400), 100);
        assert_eq!(plan.open_share(DEFAULT_TRACK, 0, 1000), 0);
        assert_eq!(plan.open_share("legacy", 2, 1000 + 86_400), SHARE_SCALE);
    }

    #[test]
    fn refuses_malformed_plans() {
        for (text, why) in [
            ("", "1 to 16 waves"),
            (
                "[[wave]]\nshare = \"10%\"\n[[wave]]\nshare = \"5%\"",
                "shares must rise",
            ),
            ("[[wave]]\nshare = \"50%\"", "last wave must open to 100 %"),
            (
                "[[wave]]\nshare = \"0%\"\n[[wave]]\nshare = \"100%\"",
                "not in (0 %",
            ),
            ("[[wave]]\nshare = \"ten\"", "not a percentage"),
            (
                "[[wave]]\nshare = \"100%\"\nafter = \"4w\"",
                "not a duration",
            ),
            (
                "[[wave]]\nshare = \"1%\"\nafter = \"1d\"\n[[wave]]\nshare = \"100%\"\nafter = \"1h\"",
                "may not open before",
            ),
            ("[[wave]]\nshare = \"100%\"\nextra = 1", "unknown field"),
        ] {
            let e = Plan::from_toml(text, 0).unwrap_err();
            assert!(e.contains(why), "{text:?}: {e}");
        }
    }

    #[test]
    fn percentages_read_and_print() {
        assert_eq!(parse_share("0.5%"), Ok(50));
        assert_eq!(parse_share("12.34%"), Ok(1234));
        assert_eq!(parse_share("100 %"), Ok(10_000));
        assert!(parse_share("1.234%").is_err());
        assert_eq!(percent(100), "1 %");
        assert_eq!(percent(50), "0.5 %");
        assert_eq!(percent(1234), "12.34 %");
    }
}
