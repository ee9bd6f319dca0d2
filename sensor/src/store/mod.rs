//! The crash-safe content store (`LOADER.md` STORE-1 to STORE-7): what a sensor must remember
//! across a restart, kept in a directory the embedder names.
//!
//! - It persists the active content, the previous one and the sequence high-water mark, with
//!   writes that a crash at any point leaves either old or new ([`disk`]).
//! - At start it loads the active content again through the full loader, falling back to the
//!   previous one and then to none, each step reported with its code.
//! - A newly activated content is on probation until the embedder confirms the sensor is
//!   healthy; a content that the process died on too many times while on probation is
//!   quarantined and the previous one runs instead: no boot loop.

use crate::prelude::*;

mod disk;
mod state;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

pub use disk::{FaultKind, FaultPlan};
pub use state::Quarantined;

use crate::error::{LoadError, SensorCode};
use crate::loader::Sensor;
use crate::program::Ruleset;
use crate::verify::{LoaderConfig, hex};
use disk::Disk;
use state::{MAX_STATE_BYTES, STATE_FILE, State, Stored};

/// What a restart does with a persisted content that expired while the sensor was off.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExpiredAtStart {
    /// Run it, flagged in the start report ([`Restored::expired`]), until a fresh update
    /// arrives: a sensor keeps its last known good rules rather than boot with none.
    Run,
    /// Refuse it (E3007), as an update would be; the store falls back as for any refusal.
    Refuse,
}

/// How the store behaves; [`StoreConfig::new`] gives the defaults.
#[derive(Clone, Debug)]
pub struct StoreConfig {
    /// The sensor's loader configuration (interface, keys, channels, size).
    pub loader: LoaderConfig,
    /// Starts a content may begin on probation; at the next one it is quarantined (default 3).
    pub max_probation_starts: u32,
    /// Evaluations after which a content on probation counts as healthy
    /// ([`ContentStore::record_evaluations`]); `None`: only [`ContentStore::confirm_healthy`].
    pub probation_events: Option<u64>,
    /// What a restart does with an expired content (default [`ExpiredAtStart::Run`]).
    pub expired_at_start: ExpiredAtStart,
    /// The high-water mark of a store with no state yet (its first start): updates at or
    /// below it are refused.
    pub initial_sequence: u64,
}

impl StoreConfig {
    /// The defaults: 3 probation starts, confirmation by an explicit call, expired contents
    /// run flagged, no sequence floor.
    pub fn new(loader: LoaderConfig) -> Self {
        StoreConfig {
            loader,
            max_probation_starts: 3,
            probation_events: None,
            expired_at_start: ExpiredAtStart::Run,
            initial_sequence: 0,
        }
    }
}

/// Which persisted content a start step concerns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// The content that was active.
    Active,
    /// The one before it.
    Previous,
}

/// One step of a start: a persisted content tried, and what came of it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartStep {
    /// Which content.
    pub slot: Slot,
    /// Its sequence, as the state recorded it.
    pub sequence: u64,
    /// `Ok` if it is now active; else the refusal's code and message.
    pub outcome: Result<(), (&'static str, String)>,
}

/// What runs after a start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Restored {
    /// Which content runs, if any.
    pub slot: Option<Slot>,
    /// Its sequence (0 when none runs).
    pub sequence: u64,
    /// It expired while the sensor was off and runs under [`ExpiredAtStart::Run`].
    pub expired: bool,
    /// It is on probation (this start counted).
    pub on_probation: bool,
}

/// Everything a start did, for the sensor's health reporting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StartReport {
    /// Each content tried, in order.
    pub steps: Vec<StartStep>,
    /// The content this start quarantined, if the process had died on it too often.
    pub quarantined: Option<Quarantined>,
    /// The state could not be read (E3704 and why): the store started empty.
    pub state_error: Option<String>,
    /// What runs now.
    pub restored: Restored,
}

/// The content store: a [`Sensor`] whose every update is persisted before it is activated.
///
/// Updates must go through [`ContentStore::update`]; evaluation goes through
/// [`ContentStore::sensor`] as for any sensor, from any number of threads.
pub struct ContentStore {
    disk: Disk,
    sensor: Sensor,
    config: StoreConfig,
    state: Mutex<State>,
    evaluations: AtomicU64,
}

fn store_error(code: SensorCode, detail: String) -> LoadError {
    LoadError::Sensor { code, detail }
}

impl ContentStore {
    /// Opens (creating it if need be) the store in `dir` and restores what it persisted,
    /// at time `now` (seconds since the Unix epoch): STORE-3 to STORE-5. An error only when
    /// the directory cannot be used at all (E3703); every other trouble is reported in the
    /// [`StartReport`] and the store starts with what it could restore.
    pub fn open(
        dir: impl Into<PathBuf>,
        config: StoreConfig,
        now: u64,
    ) -> Result<(ContentStore, StartReport), LoadError> {
        Self::open_with_faults(dir, config, now, None)
    }

    /// [`ContentStore::open`] with a fault plan for its file operations: tests only.
    #[doc(hidden)]
    pub fn open_with_faults(
        dir: impl Into<PathBuf>,
        config: StoreConfig,
        now: u64,
        faults: Option<FaultPlan>,
    ) -> Result<(ContentStore, StartReport), LoadError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|e| {
            store_error(
                SensorCode::StoreWriteFailed,
                format!("{}: {e}", dir.display()),
            )
        })?;
        let disk = Disk::new(dir, faults);
        let (mut state, state_error) = match disk.read(STATE_FILE, MAX_STATE_BYTES) {
            Ok(None) => (State::fresh(config.initial_sequence), None),
            Ok(Some(bytes)) => match State::from_bytes(&bytes) {
                Ok(state) => (state, None),
                Err(e) => (State::fresh(config.initial_sequence), Some(e)),
            },
            Err(e) => (State::fresh(config.initial_sequence), Some(e.to_string())),
        };
        state.high_water = state.high_water.max(config.initial_sequence);

        // STORE-5: a start on probation counts before anything is loaded, so that dying while
        // loading or running the content counts too.
        let mut quarantined = None;
        let on_probation = state.probation_starts.is_some();
        if let Some(starts) = state.probation_starts {
            let starts = starts.saturating_add(1);
            if starts > config.max_probation_starts {
                if let Some(active) = state.active.take() {
                    let entry = Quarantined {
                        digest: active.digest.clone(),
                        sequence: active.sequence,
                        reason: format!(
                            "the sensor stopped {} times while it ran this content on probation",
                            starts.saturating_sub(1)
                        ),
                    };
                    state.quarantine(entry.clone());
                    quarantined = Some(entry);
                }
                state.active = state.previous.take();
                state.probation_starts = None;
            } else {
                state.probation_starts = Some(starts);
            }
        }
        if on_probation {
            // A failed write here leaves the old state, whose probation count is then one
            // short: the next start counts again.
            let _ = disk.write_atomic(STATE_FILE, &state.to_bytes());
        }

        let sensor = Sensor::new(config.loader.clone(), state.high_water)?;
        let mut steps = Vec::new();
        let mut restored = Restored {
            slot: None,
            sequence: 0,
            expired: false,
            on_probation: false,
        };
        for slot in [Slot::Active, Slot::Previous] {
            let stored = match slot {
                Slot::Active => state.active.clone(),
                Slot::Previous => state.previous.clone(),
            };
            let Some(stored) = stored else { continue };
            match restore(&disk, &sensor, &config, &stored, now) {
                Ok((ruleset, expired)) => {
                    sensor.activate(Arc::new(ruleset));
                    steps.push(StartStep {
                        slot,
                        sequence: stored.sequence,
                        outcome: Ok(()),
                    });
                    restored = Restored {
                        slot: Some(slot),
                        sequence: stored.sequence,
                        expired,
                        on_probation: slot == Slot::Active && state.probation_starts.is_some(),
                    };
                    break;
                }
                Err(e) => steps.push(StartStep {
                    slot,
                    sequence: stored.sequence,
                    outcome: Err((e.code(), e.to_string())),
                }),
            }
        }
        let keep = state.files();
        let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
        disk.collect_garbage(&keep);
        let store = ContentStore {
            disk,
            sensor,
            config,
            state: Mutex::new(state),
            evaluations: AtomicU64::new(0),
        };
        let report = StartReport {
            steps,
            quarantined,
            state_error: state_error.map(|e| format!("{}: {e}", SensorCode::StoreStateUnreadable)),
            restored,
        };
        Ok((store, report))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The sensor: evaluate through it. Its own `load` bypasses the store (nothing would be
    /// persisted); use [`ContentStore::update`].
    pub fn sensor(&self) -> &Sensor {
        &self.sensor
    }

    /// The sequence high-water mark: every update must exceed it, after any restart.
    pub fn high_water(&self) -> u64 {
        self.lock().high_water
    }

    /// Every quarantined content, oldest first.
    pub fn quarantined(&self) -> Vec<Quarantined> {
        self.lock().quarantined.clone()
    }

    /// Whether the active content is on probation.
    pub fn on_probation(&self) -> bool {
        self.lock().probation_starts.is_some()
    }

    /// Verifies an update with every check of [`Sensor::load`], persists it (STORE-2), then
    /// activates it on probation. A refusal, or a failure to persist it (E3703), leaves both
    /// the active content and the persisted state as they were. A quarantined content is
    /// refused with E3701.
    pub fn update(&self, bytes: &[u8], now: u64) -> Result<Arc<Ruleset>, LoadError> {
        let mut state = self.lock();
        // A quarantined content is named as such, before the checks that would refuse it
        // as a rollback: its frame's digest is all it takes to recognise it.
        if let Ok(frame) = dcf_parser::Frame::read(bytes) {
            let digest = hex(frame.digest());
            if let Some(q) = state.quarantined.iter().find(|q| q.digest == digest) {
                return Err(store_error(
                    SensorCode::Quarantined,
                    format!("content {digest} (sequence {}): {}", q.sequence, q.reason),
                ));
            }
        }
        let ruleset = self.sensor.verify(bytes, now)?;
        let stored = Stored {
            digest: hex(ruleset.digest()),
            sequence: ruleset.sequence(),
        };
        let persist_failed =
            |e: std::io::Error| store_error(SensorCode::StoreWriteFailed, e.to_string());
        self.disk
            .write_atomic(&stored.file_name(), bytes)
            .map_err(persist_failed)?;
        let mut next = state.clone();
        next.previous = next.active.take();
        next.high_water = next.high_water.max(stored.sequence);
        next.active = Some(stored);
        next.probation_starts = Some(0);
        self.disk
            .write_atomic(STATE_FILE, &next.to_bytes())
            .map_err(persist_failed)?;
        *state = next;
        let ruleset = Arc::new(ruleset);
        self.sensor.activate(Arc::clone(&ruleset));
        self.evaluations.store(0, Ordering::SeqCst);
        let keep = state.files();
        let keep: Vec<&str> = keep.iter().map(String::as_str).collect();
        self.disk.collect_garbage(&keep);
        Ok(ruleset)
    }

    /// Ends the active content's probation: the sensor runs well on it (STORE-5).
    pub fn confirm_healthy(&self) -> Result<(), LoadError> {
        let mut state = self.lock();
        if state.probation_starts.is_none() {
            return Ok(());
        }
        let mut next = state.clone();
        next.probation_starts = None;
        self.disk
            .write_atomic(STATE_FILE, &next.to_bytes())
            .map_err(|e| store_error(SensorCode::StoreWriteFailed, e.to_string()))?;
        *state = next;
        Ok(())
    }

    /// Counts `count` evaluations on the active content; once [`StoreConfig::probation_events`]
    /// are reached, confirms it healthy. Returns whether it is confirmed now.
    pub fn record_evaluations(&self, count: u64) -> Result<bool, LoadError> {
        let total = self
            .evaluations
            .fetch_add(count, Ordering::SeqCst)
            .saturating_add(count);
        match self.config.probation_events {
            Some(needed) if total >= needed && self.on_probation() => {
                self.confirm_healthy()?;
                Ok(true)
            }
            _ => Ok(!self.on_probation()),
        }
    }

    /// The store's directory.
    pub fn dir(&self) -> &std::path::Path {
        self.disk.dir()
    }
}

/// Loads one persisted content again (STORE-3): its file must hold exactly what the state
/// recorded (E3702 otherwise), and it passes the loader's checks but the sequence.
fn restore(
    disk: &Disk,
    sensor: &Sensor,
    config: &StoreConfig,
    stored: &Stored,
    now: u64,
) -> Result<(Ruleset, bool), LoadError> {
    let mismatch = |why: String| {
        store_error(
            SensorCode::StoredContentMismatch,
            format!(
                "{} (sequence {}): {why}",
                stored.file_name(),
                stored.sequence
            ),
        )
    };
    let bytes = disk
        .read(&stored.file_name(), config.loader.max_size)
        .map_err(|e| mismatch(e.to_string()))?
        .ok_or_else(|| mismatch("the file is missing".into()))?;
    let allow_expired = config.expired_at_start == ExpiredAtStart::Run;
    let ruleset = sensor.verify_restored(&bytes, now, allow_expired)?;
    if hex(ruleset.digest()) != stored.digest || ruleset.sequence() != stored.sequence {
        return Err(mismatch(format!(
            "it holds content {} of sequence {}",
            hex(ruleset.digest()),
            ruleset.sequence()
        )));
    }
    let expired = now >= ruleset.header().expires_at;
    Ok((ruleset, expired))
}
