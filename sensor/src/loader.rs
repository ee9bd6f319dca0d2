//! The fail-closed loader: an update is all or nothing.
//!
//! `load` checks, in this order (spec `format-spec/LOADER.md`): size, frame (magic, format
//! major, flags; the layout depends on them, so they come first), digest, signature by a
//! trusted key, sensor version and channel, validity times, sequence (anti-rollback), full
//! parse, binding to this sensor's interface and matcher compilation. Any failure leaves the
//! active content untouched. A success replaces it with one atomic pointer swap: evaluations
//! running in other threads finish on the content they started with and never see a mix.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwapOption;
use dcf_parser::{Error as FormatError, ErrorCode, Frame, limits::MAX_FILE_SIZE};
use ed25519_dalek::{Signature, VerifyingKey};

use crate::bind::bind;
use crate::error::{EvalError, LoadError, SensorCode};
use crate::event::Event;
use crate::interface::SensorInterface;
use crate::program::{Ruleset, Scratch};

/// Which content channels a sensor slot accepts (LOADER.md, LOAD-5).
///
/// There is no default: a sensor names its channel, or says explicitly that it accepts any.
/// A slot has one sequence high-water mark whatever the channels it accepts, so under
/// [`Channels::Any`] a content of one channel with a high sequence makes every lower
/// sequence of every channel a rollback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Channels {
    /// Only content whose header names this channel; any other is refused (E3005) before
    /// its sequence is looked at, so it cannot move the slot's high-water mark.
    Only(u32),
    /// Content of every channel, sharing one sequence space.
    Any,
}

/// What the embedding sensor declares about itself.
#[derive(Clone, Debug)]
pub struct LoaderConfig {
    /// The interface this sensor build really supplies.
    pub interface: SensorInterface,
    /// Ed25519 public keys whose signatures are trusted.
    pub trusted_keys: Vec<[u8; 32]>,
    /// Accept content without a signature block. For tests and development only.
    pub allow_unsigned: bool,
    /// The channels this slot accepts.
    pub channels: Channels,
    /// Largest update accepted, in bytes (at most the format's limit).
    pub max_size: usize,
}

impl LoaderConfig {
    /// A configuration that trusts `keys` for content of `channels`, up to the format's limit.
    pub fn new(
        interface: SensorInterface,
        trusted_keys: Vec<[u8; 32]>,
        channels: Channels,
    ) -> Self {
        LoaderConfig {
            interface,
            trusted_keys,
            allow_unsigned: false,
            channels,
            max_size: MAX_FILE_SIZE,
        }
    }
}

/// A sensor's content slot: the active rule set and the loader that replaces it.
pub struct Sensor {
    config: LoaderConfig,
    keys: Vec<([u8; 16], VerifyingKey)>,
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
        let mut keys = Vec::with_capacity(config.trusted_keys.len());
        for key in &config.trusted_keys {
            let verifying = VerifyingKey::from_bytes(key).map_err(|_| {
                LoadError::new(
                    SensorCode::UntrustedKey,
                    "a configured trusted key is not a valid Ed25519 public key",
                )
            })?;
            keys.push((dcf_parser::key_id(key), verifying));
        }
        Ok(Sensor {
            config,
            keys,
            active: ArcSwapOption::empty(),
            initial_sequence: current_sequence,
            update: Mutex::new(()),
        })
    }

    /// The interface this slot binds every content to: what the sensor build supplies.
    pub fn interface(&self) -> &SensorInterface {
        &self.config.interface
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
        let ruleset =
            Arc::new(self.check(bytes, now, Freshness::Update(self.current_sequence()))?);
        self.active.store(Some(Arc::clone(&ruleset)));
        Ok(ruleset)
    }

    /// Runs every check of [`Sensor::load`] on an update without activating it: what the
    /// content store calls before it persists an update, so that nothing is written for a
    /// content the sensor would refuse. The caller serialises it with its activation.
    pub(crate) fn verify(&self, bytes: &[u8], now: u64) -> Result<Ruleset, LoadError> {
        self.check(bytes, now, Freshness::Update(self.current_sequence()))
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
        self.check(bytes, now, Freshness::Restored { allow_expired })
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

    fn check(&self, bytes: &[u8], now: u64, freshness: Freshness) -> Result<Ruleset, LoadError> {
        let max = self.config.max_size.min(MAX_FILE_SIZE);
        if bytes.len() > max {
            return Err(FormatError::new(ErrorCode::FileTooLarge, max)
                .expected(max as u64)
                .found(bytes.len() as u64)
                .into());
        }
        let frame = Frame::read(bytes)?.verify_digest()?;
        match frame.frame().signature() {
            None if self.config.allow_unsigned => {}
            None => {
                return Err(LoadError::new(
                    SensorCode::Unsigned,
                    "the content carries no signature block",
                ));
            }
            Some(block) => {
                let Some((_, key)) = self.keys.iter().find(|(id, _)| id == block.key_id) else {
                    return Err(LoadError::new(
                        SensorCode::UntrustedKey,
                        format!("key id {}", hex(block.key_id)),
                    ));
                };
                let signature = Signature::from_bytes(block.signature);
                key.verify_strict(&frame.frame().signed_message(), &signature)
                    .map_err(|_| {
                        LoadError::new(
                            SensorCode::BadSignature,
                            format!("key id {}", hex(block.key_id)),
                        )
                    })?;
            }
        }
        let header = *frame.header();
        let version = self.config.interface.version;
        if version < header.sensor_min || version > header.sensor_max {
            return Err(LoadError::new(
                SensorCode::SensorVersionOutOfRange,
                format!(
                    "sensor {version}, content targets {} to {}",
                    header.sensor_min, header.sensor_max
                ),
            ));
        }
        if let Channels::Only(channel) = self.config.channels
            && channel != header.channel
        {
            return Err(LoadError::new(
                SensorCode::WrongChannel,
                format!(
                    "content channel {}, sensor channel {channel}",
                    header.channel
                ),
            ));
        }
        if now < header.created_at {
            return Err(LoadError::new(
                SensorCode::NotYetValid,
                format!("valid from {}, now {now}", header.created_at),
            ));
        }
        let expiry_waived = matches!(
            freshness,
            Freshness::Restored {
                allow_expired: true
            }
        );
        if now >= header.expires_at && !expiry_waived {
            return Err(LoadError::new(
                SensorCode::Expired,
                format!("expired at {}, now {now}", header.expires_at),
            ));
        }
        if let Freshness::Update(current_sequence) = freshness
            && header.sequence <= current_sequence
        {
            return Err(LoadError::new(
                SensorCode::Rollback,
                format!(
                    "content sequence {}, active sequence {current_sequence}",
                    header.sequence
                ),
            ));
        }
        let view = frame.parse_body()?;
        bind(&view, &self.config.interface).into_result()
    }
}

/// Which time and sequence checks a content passes.
#[derive(Clone, Copy)]
enum Freshness {
    /// A new update: valid now, and its sequence above this one (LOAD-6, LOAD-7).
    Update(u64),
    /// A content the store persisted, loaded again at start (STORE-3).
    Restored { allow_expired: bool },
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
