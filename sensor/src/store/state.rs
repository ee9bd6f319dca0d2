//! The store's state file (`state.json`, LOADER.md STORE-1): which contents are active and
//! previous, the sequence high-water mark, probation and quarantine.

use crate::prelude::*;

use serde::{Deserialize, Serialize};

/// The file name of the state in the store's directory.
pub(crate) const STATE_FILE: &str = "state.json";

/// The version of the state's layout this code writes and reads.
pub(crate) const STATE_FORMAT: u32 = 1;

/// Largest state file read (the quarantine list is bounded, so a real one is far smaller).
pub(crate) const MAX_STATE_BYTES: usize = 1 << 20;

/// Most quarantined contents remembered; the oldest is forgotten first. A forgotten one can
/// still never come back: its sequence is at or below the high-water mark.
pub(crate) const MAX_QUARANTINED: usize = 64;

/// One persisted content, as the state records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Stored {
    /// SHA-256 digest (its frame's), lowercase hex: it names the file, `content-<digest>.dcf`.
    pub(crate) digest: String,
    /// Its sequence number.
    pub(crate) sequence: u64,
}

impl Stored {
    pub(crate) fn file_name(&self) -> String {
        format!("content-{}.dcf", self.digest)
    }
}

/// A content that the store will never activate again, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Quarantined {
    /// Its digest, lowercase hex.
    pub digest: String,
    /// Its sequence number.
    pub sequence: u64,
    /// Why, for the fleet's health reports.
    pub reason: String,
}

/// The state, as `state.json` holds it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct State {
    /// [`STATE_FORMAT`].
    pub(crate) format: u32,
    /// The highest sequence the store ever activated by an update: no update at or below it
    /// is accepted again, whatever the content files hold.
    pub(crate) high_water: u64,
    /// The content to run.
    pub(crate) active: Option<Stored>,
    /// The content before it, to fall back to.
    pub(crate) previous: Option<Stored>,
    /// Starts begun since the active content was activated and not yet confirmed healthy;
    /// `None` once it is confirmed (STORE-5).
    pub(crate) probation_starts: Option<u32>,
    /// Contents never to activate again, oldest first.
    pub(crate) quarantined: Vec<Quarantined>,
}

impl State {
    pub(crate) fn fresh(high_water: u64) -> Self {
        State {
            format: STATE_FORMAT,
            high_water,
            ..State::default()
        }
    }

    pub(crate) fn quarantine(&mut self, entry: Quarantined) {
        if self.quarantined.len() >= MAX_QUARANTINED {
            self.quarantined.remove(0);
        }
        self.quarantined.push(entry);
    }

    /// The content files the state refers to.
    pub(crate) fn files(&self) -> Vec<String> {
        self.active
            .iter()
            .chain(self.previous.iter())
            .map(Stored::file_name)
            .collect()
    }

    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<State, String> {
        let state: State = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if state.format != STATE_FORMAT {
            return Err(format!(
                "state format {} (this sensor reads {STATE_FORMAT})",
                state.format
            ));
        }
        Ok(state)
    }
}
