//! What a content target carries in the signed TUF targets metadata (`ROLLOUT.md`,
//! ROLLOUT-2): under the key `dcf` of the target's `custom` object, the content's channel,
//! sequence and digest, its rollout plan, the waves approved so far, and a halt.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::plan::Plan;

/// The key of a target's `custom` object that holds its [`TargetMeta`].
pub const CUSTOM_KEY: &str = "dcf";

/// The TUF target name of a content: `dcf-c<channel>-s<sequence>.dcf`.
pub fn target_name(channel: u32, sequence: u64) -> String {
    format!("dcf-c{channel}-s{sequence}.dcf")
}

/// The rollout state of one content, signed by the targets role.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetMeta {
    /// The content's channel (as in its header).
    pub channel: u32,
    /// The content's sequence (as in its header).
    pub sequence: u64,
    /// The content's own digest (its frame digest, SHA-256), in lower-case hex: what a sensor
    /// reports as its active content.
    pub digest: String,
    /// When it was published, seconds since the Unix epoch.
    pub published_at: u64,
    /// Its rollout plan.
    pub plan: Plan,
    /// For each track, how many of its waves are approved (a track not listed: none).
    pub approved: BTreeMap<String, u32>,
    /// Set when the rollout was halted: no sensor takes the content any more.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halted: Option<Halt>,
    /// Set on a rollback: the sequence of the earlier content whose rules this one restores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rollback_of: Option<u64>,
}

/// Why and when a rollout stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Halt {
    /// Seconds since the Unix epoch.
    pub at: u64,
    /// The codes of the gates that failed (none for a halt by hand).
    pub codes: Vec<String>,
    /// What a person reads.
    pub reason: String,
}

impl TargetMeta {
    /// Waves approved on `track`.
    pub fn approved_on(&self, track: &str) -> u32 {
        self.approved.get(track).copied().unwrap_or(0)
    }

    /// Reads the `dcf` entry of a target's `custom` object.
    pub fn from_custom(
        custom: &std::collections::HashMap<String, serde_json::Value>,
    ) -> Result<TargetMeta, String> {
        let value = custom
            .get(CUSTOM_KEY)
            .ok_or_else(|| format!("no `{CUSTOM_KEY}` entry in the target's custom metadata"))?;
        let meta: TargetMeta = serde_json::from_value(value.clone()).map_err(|e| e.to_string())?;
        meta.plan.check()?;
        Ok(meta)
    }

    /// The JSON value stored under [`CUSTOM_KEY`].
    pub fn to_custom(&self) -> serde_json::Value {
        // A struct of strings, numbers, maps and vectors always serialises.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}
