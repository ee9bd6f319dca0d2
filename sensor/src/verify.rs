//! The fail-closed verification of an update, without the slot that holds it: every check
//! of `format-spec/LOADER.md` LOAD-1 to LOAD-10a, in its order. It needs no `std`, so a
//! kernel driver runs the same checks as a user-mode sensor; the atomically swapped slot
//! ([`crate::Sensor`]) and the content store are built on it with `std`.

use crate::prelude::*;

use dcf_parser::{Error as FormatError, ErrorCode, Frame, limits::MAX_FILE_SIZE};
use ed25519_dalek::{Signature, VerifyingKey};

use crate::bind::bind;
use crate::error::{LoadError, SensorCode};
use crate::interface::SensorInterface;
use crate::program::Ruleset;

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

/// The checks of LOAD-1 to LOAD-10a for one sensor: its configuration, with its trusted keys
/// decoded once.
#[derive(Debug)]
pub struct Verifier {
    config: LoaderConfig,
    keys: Vec<([u8; 16], VerifyingKey)>,
}

/// Which time and sequence checks a content passes.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Freshness {
    /// A new update: valid now, and its sequence above this one (LOAD-6, LOAD-7).
    Update(u64),
    /// A content the store persisted, loaded again at start (STORE-3).
    #[cfg_attr(not(feature = "std"), allow(dead_code))]
    Restored { allow_expired: bool },
}

impl Verifier {
    /// A verifier for `config`; refuses a trusted key that is not an Ed25519 public key
    /// (E3002).
    pub fn new(config: LoaderConfig) -> Result<Verifier, LoadError> {
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
        Ok(Verifier { config, keys })
    }

    /// The configuration it checks against.
    pub fn config(&self) -> &LoaderConfig {
        &self.config
    }

    /// Verifies, binds and compiles an update whose sequence must exceed `current_sequence`,
    /// at time `now` (seconds since the Unix epoch): the ruleset to activate, or the first
    /// refusal.
    pub fn verify_update(
        &self,
        bytes: &[u8],
        now: u64,
        current_sequence: u64,
    ) -> Result<Ruleset, LoadError> {
        self.check(bytes, now, Freshness::Update(current_sequence))
    }

    pub(crate) fn check(
        &self,
        bytes: &[u8],
        now: u64,
        freshness: Freshness,
    ) -> Result<Ruleset, LoadError> {
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

/// Lowercase hex, as key ids and digests are written in messages and the store's state.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
