//! The fail-closed loader: an update is all or nothing.
//!
//! `load` checks, in this order (spec `format-spec/LOADER.md`): size, frame (magic, format
//! major, flags; the layout depends on them, so they come first), digest, signature by a
//! trusted key, sensor version and channel, validity times, sequence (anti-rollback), full
//! parse, binding to this sensor's interface and matcher compilation. Any failure leaves the
//! active content untouched. A success replaces it with one atomic pointer swap: evaluations
//! running in other threads finish on the content they started with and never see a mix.

use std::sync::{Arc, Mutex};
use std::vec::Vec;

use arc_swap::ArcSwapOption;

use crate::error::{EvalError, LoadError, SensorCode};
use crate::event::Event;
use crate::interface::SensorInterface;
use crate::program::{Ruleset, Scratch};
use crate::verify::{Freshness, LoaderConfig, Verifier};

/// A sensor's content slot: the active rule set and the loader that replaces it.
pub struct Sensor {
    verifier: Verifier,
    active: ArcSwapOption<Ruleset>,
    /// Sequence number of the content the sensor had before any load through this slot.
    initial_sequence: u64,
    /// Serialises loads so that the rollback check and the swap are one step.
    update: Mutex<()>,
}

impl Sensor {
    /// A slot with no content yet; `current_sequence` is the sequence number of the content the
    /// sensor already runs (persisted by the embedder), so older content is refused.
    pub fn new(config: LoaderConfig, current_sequence: u64) -> Result<Sensor, LoadError> {
        let verifier = Verifier::new(config)?;
        Ok(Sensor {
            verifier,
            active: ArcSwapOption::empty(),
            initial_sequence: current_sequence,
            update: Mutex::new(()),
        })
    }

    /// The interface this slot binds every content to: what the sensor build supplies.
    pub fn interface(&self) -> &SensorInterface {
        &self.verifier.config().interface
    }

    /// The active content, if any.
    pub fn active(&self) -> Option<Arc<Ruleset>> {
        self.active.load_full()
    }

    /// Sequence number an update must exceed.
    pub fn current_sequence(&self) -> u64 {
        self.active
            .load()
            .as_ref()
            .map_or(self.initial_sequence, |r| {
                r.sequence().max(self.initial_sequence)
            })
    }

    /// Verifies, binds and compiles `bytes`; on success makes it the active content.
    /// `now` is the current time in seconds since the Unix epoch.
    pub fn load(&self, bytes: &[u8], now: u64) -> Result<Arc<Ruleset>, LoadError> {
        let _guard = self
            .update
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let ruleset = Arc::new(self.verifier.check(
            bytes,
            now,
            Freshness::Update(self.current_sequence()),
        )?);
        self.active.store(Some(Arc::clone(&ruleset)));
        Ok(ruleset)
    }

    /// Runs every check of [`Sensor::load`] on an update without activating it: what the
    /// content store calls before it persists an update, so that nothing is written for a
    /// content the sensor would refuse. The caller serialises it with its activation.
    pub(crate) fn verify(&self, bytes: &[u8], now: u64) -> Result<Ruleset, LoadError> {
        self.verifier
            .check(bytes, now, Freshness::Update(self.current_sequence()))
    }

    /// The checks of a content the store persisted and loads again at start
    /// (`LOADER.md` STORE-3): digest, signature, sensor version, channel, structure and
    /// binding as for an update; its sequence is not compared with the high-water mark it
    /// set itself (the store compares it with what it recorded); an expired content passes
    /// only if `allow_expired` (it is then flagged by the caller).
    pub(crate) fn verify_restored(
        &self,
        bytes: &[u8],
        now: u64,
        allow_expired: bool,
    ) -> Result<Ruleset, LoadError> {
        self.verifier
            .check(bytes, now, Freshness::Restored { allow_expired })
    }

    /// Makes `ruleset` the active content with one atomic swap (the store's last step).
    pub(crate) fn activate(&self, ruleset: Arc<Ruleset>) {
        let _guard = self
            .update
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.active.store(Some(ruleset));
    }

    /// Evaluates an event against the active content.
    pub fn evaluate(
        &self,
        event: &Event<'_>,
        scratch: &mut Scratch,
        out: &mut Vec<u32>,
    ) -> Result<Arc<Ruleset>, EvalError> {
        let Some(ruleset) = self.active.load_full() else {
            return Err(EvalError {
                code: SensorCode::NoContent,
                template: event.template,
                supplied: event.fields.len(),
                expected: 0,
                field: None,
            });
        };
        ruleset.evaluate(event, scratch, out)?;
        Ok(ruleset)
    }
}
