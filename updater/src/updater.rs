//! One update cycle (`ROLLOUT.md`, ROLLOUT-5): fetch and verify the repository's metadata
//! through TUF, pick the content the rollout plan admits this sensor to, fetch and verify
//! it, and hand its bytes to the dcf loader (or the content store). TUF proves the bytes are
//! what the repository's keys published; the loader still checks dcf's own signature and
//! everything else it checks for any update, so neither check stands in for the other.

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use dcf_parser::Frame;
use dcf_rollout::{Admission, RolloutCode, SensorPlace, TargetMeta, admission, choose, position};
use dcf_sensor::store::ContentStore;
use dcf_sensor::{LoadError, Ruleset, Sensor};
use jiff::Timestamp;
use tough::{IntoVec as _, Repository, RepositoryLoader, TargetName, Transport as _};
use url::Url;

use crate::error::{Stage, UpdateError, from_tough};
use crate::health::Health;
use crate::transport::PooledTransport;

/// What an updater needs to know.
#[derive(Clone, Debug)]
pub struct UpdaterConfig {
    /// The trusted root metadata the sensor ships with (`1.root.json`).
    pub trusted_root: Vec<u8>,
    /// Where the metadata is (`http://`, `https://` or `file://`, ending in `/`).
    pub metadata_url: Url,
    /// Where the targets are.
    pub targets_url: Url,
    /// A directory on persistent storage for the metadata last trusted: what protects a
    /// sensor from rollback of metadata across restarts.
    pub datastore: PathBuf,
    /// This sensor's device id.
    pub device_id: String,
    /// The channel this sensor serves.
    pub channel: u32,
    /// The largest content fetched, whatever the metadata says (default: the format's limit).
    pub max_content_size: u64,
    /// HTTP timeout per request (default 30 s).
    pub http_timeout: Duration,
}

impl UpdaterConfig {
    /// A configuration with the defaults.
    pub fn new(
        trusted_root: Vec<u8>,
        metadata_url: Url,
        targets_url: Url,
        datastore: PathBuf,
        device_id: &str,
        channel: u32,
    ) -> Self {
        UpdaterConfig {
            trusted_root,
            metadata_url,
            targets_url,
            datastore,
            device_id: device_id.to_string(),
            channel,
            max_content_size: dcf_parser::limits::MAX_FILE_SIZE as u64,
            http_timeout: Duration::from_secs(30),
        }
    }
}

/// What an update cycle hands the content to.
#[derive(Clone, Copy)]
pub enum Slot<'a> {
    /// A sensor's slot: the sequence it holds is its current one.
    Sensor(&'a Sensor),
    /// A content store: updates are persisted before they are activated.
    Store(&'a ContentStore),
}

impl Slot<'_> {
    /// The sensor evaluating.
    pub fn sensor(&self) -> &Sensor {
        match self {
            Slot::Sensor(s) => s,
            Slot::Store(s) => s.sensor(),
        }
    }

    /// The highest sequence this sensor holds or has held.
    pub fn high_water(&self) -> u64 {
        match self {
            Slot::Sensor(s) => s.current_sequence(),
            Slot::Store(s) => s.high_water(),
        }
    }

    fn update(&self, bytes: &[u8], now: u64) -> Result<std::sync::Arc<Ruleset>, LoadError> {
        match self {
            Slot::Sensor(s) => s.load(bytes, now),
            Slot::Store(s) => s.update(bytes, now),
        }
    }
}

/// What an update cycle did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Nothing to take: the newest content of the channel (if any) and why not.
    Current {
        /// The newest content's sequence and what the plan says to this sensor.
        newest: Option<(u64, Admission)>,
    },
    /// The content is active now.
    Updated {
        /// Its sequence.
        sequence: u64,
    },
    /// The loader (or the consistency check, E6110) refused it; the previous content stays
    /// active, and this updater does not fetch the same content again.
    Refused {
        /// Its sequence.
        sequence: u64,
        /// The refusal's code.
        code: String,
        /// The refusal's message.
        message: String,
    },
}

/// A sensor's updater.
#[derive(Debug)]
pub struct Updater {
    config: UpdaterConfig,
    transport: PooledTransport,
    refused: HashSet<String>,
    verified: Option<Verified>,
    runtime: Option<tokio::runtime::Runtime>,
}

/// The repository as last verified, and what it was verified with.
#[derive(Debug)]
struct Verified {
    /// The `signed` part of the timestamp metadata (a JSON value: maps compare by key).
    timestamp: serde_json::Value,
    /// The earliest expiry of its metadata.
    expires: Timestamp,
    repository: Repository,
}

/// Bytes of timestamp metadata the quick check reads (`tough`'s own default limit).
const MAX_TIMESTAMP_SIZE: usize = 1024 * 1024;

impl Updater {
    /// An updater with a transport of its own; creates its datastore directory.
    pub fn new(config: UpdaterConfig) -> Result<Updater, UpdateError> {
        let transport = PooledTransport::new(config.http_timeout)
            .map_err(|e| UpdateError::new(RolloutCode::Unreachable, e))?;
        Updater::with_transport(config, transport)
    }

    /// An updater that fetches through `transport` (many updaters in one process share one
    /// client this way); creates its datastore directory.
    pub fn with_transport(
        config: UpdaterConfig,
        transport: PooledTransport,
    ) -> Result<Updater, UpdateError> {
        std::fs::create_dir_all(&config.datastore).map_err(|e| {
            UpdateError::new(
                RolloutCode::MetadataInvalid,
                format!("datastore {}: {e}", config.datastore.display()),
            )
        })?;
        Ok(Updater {
            transport,
            config,
            refused: HashSet::new(),
            verified: None,
            runtime: None,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &UpdaterConfig {
        &self.config
    }

    /// This sensor's position in the fleet.
    pub fn position(&self) -> u32 {
        position(self.config.channel, &self.config.device_id)
    }

    /// One update cycle at `now` (seconds since the Unix epoch; the plan's clock). TUF's own
    /// expiry checks use the system clock, as `tough` does.
    pub async fn check(
        &mut self,
        slot: Slot<'_>,
        health: &mut Health,
        now: u64,
    ) -> Result<Outcome, UpdateError> {
        let repo = self.repository().await?;
        let c = &self.config;
        let mut metas: Vec<(TargetName, u64, TargetMeta)> = Vec::new();
        let mut malformed: Option<UpdateError> = None;
        for (name, target) in repo.all_targets() {
            match TargetMeta::from_custom(&target.custom) {
                Ok(meta) if meta.channel == c.channel => {
                    metas.push((name.clone(), target.length, meta))
                }
                Ok(_) => {}
                Err(e) => {
                    malformed.get_or_insert_with(|| {
                        UpdateError::new(
                            RolloutCode::TargetMetadataInvalid,
                            format!("{}: {e}", name.raw()),
                        )
                    });
                }
            }
        }
        let place = SensorPlace {
            channel: c.channel,
            version: slot.sensor().interface().version,
            position: self.position(),
            high_water: slot.high_water(),
        };
        let candidates = metas
            .iter()
            .filter(|(_, _, m)| !self.refused.contains(&m.digest))
            .map(|(name, length, m)| ((name, *length), m));
        let Some(((name, length), meta)) = choose(candidates, &place, now) else {
            if let Some(e) = malformed {
                return Err(e);
            }
            let newest = metas
                .iter()
                .max_by_key(|(_, _, m)| m.sequence)
                .map(|(_, _, m)| (m.sequence, admission(m, &place, now)));
            return Ok(Outcome::Current { newest });
        };
        let meta = meta.clone();
        if length > c.max_content_size {
            return Err(UpdateError::new(
                RolloutCode::TooLong,
                format!(
                    "{} is {length} bytes; this sensor takes at most {}",
                    name.raw(),
                    c.max_content_size
                ),
            ));
        }
        let stream = repo
            .read_target(name)
            .await
            .map_err(|e| from_tough(&e, Stage::Target))?
            .ok_or_else(|| {
                UpdateError::new(
                    RolloutCode::MetadataMismatch,
                    format!("no target {}", name.raw()),
                )
            })?;
        let bytes = stream
            .into_vec()
            .await
            .map_err(|e| from_tough(&e, Stage::Target))?;
        let refusal = match consistent(&bytes, &meta) {
            Err(message) => Err((
                RolloutCode::TargetMetadataMismatch.as_str().to_string(),
                message,
            )),
            Ok(()) => slot
                .update(&bytes, now)
                .map_err(|e| (e.code().to_string(), e.to_string())),
        };
        match refusal {
            Ok(ruleset) => {
                health.record_load(meta.sequence, &meta.digest, now, Ok(&ruleset));
                Ok(Outcome::Updated {
                    sequence: meta.sequence,
                })
            }
            Err((code, message)) => {
                health.record_load(
                    meta.sequence,
                    &meta.digest,
                    now,
                    Err((&code, message.clone())),
                );
                self.refused.insert(meta.digest.clone());
                Ok(Outcome::Refused {
                    sequence: meta.sequence,
                    code,
                    message,
                })
            }
        }
    }

    /// The verified repository: the one verified last if the repository's timestamp
    /// metadata is still the one it was verified with (the timestamp role exists so that a
    /// client can tell cheaply that nothing changed) and nothing it holds has expired; else
    /// a full TUF update of the metadata through `tough`.
    async fn repository(&mut self) -> Result<Repository, UpdateError> {
        if let Some(v) = &self.verified
            && let Some(fresh) = self.fetch_timestamp().await
            && fresh == v.timestamp
        {
            if Timestamp::now() >= v.expires {
                return Err(UpdateError::new(
                    RolloutCode::MetadataExpired,
                    format!("the repository's metadata expired at {}", v.expires),
                ));
            }
            return Ok(v.repository.clone());
        }
        let c = &self.config;
        let repository = RepositoryLoader::new(
            &c.trusted_root,
            c.metadata_url.clone(),
            c.targets_url.clone(),
        )
        .transport(self.transport.clone())
        .datastore(c.datastore.clone())
        .load()
        .await
        .map_err(|e| from_tough(&e, Stage::Metadata))?;
        let expires = [
            repository.root().signed.expires,
            repository.timestamp().signed.expires,
            repository.snapshot().signed.expires,
            repository.targets().signed.expires,
        ]
        .into_iter()
        .min()
        .unwrap_or_else(Timestamp::now);
        self.verified = serde_json::to_value(&repository.timestamp().signed)
            .ok()
            .map(|timestamp| Verified {
                timestamp,
                expires,
                repository: repository.clone(),
            });
        Ok(repository)
    }

    /// The `signed` part of the repository's timestamp metadata as it is served now, if it
    /// can be fetched and read (anything else sends the cycle down the full path, which
    /// reports it).
    async fn fetch_timestamp(&self) -> Option<serde_json::Value> {
        let url = self.config.metadata_url.join("timestamp.json").ok()?;
        let stream = self.transport.fetch(url).await.ok()?;
        let mut bytes = Vec::new();
        let mut stream = std::pin::pin!(stream);
        while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
            bytes.extend_from_slice(&chunk.ok()?);
            if bytes.len() > MAX_TIMESTAMP_SIZE {
                return None;
            }
        }
        let mut value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        Some(value.get_mut("signed")?.take())
    }

    /// [`Updater::check`] on a runtime of the updater's own, for callers that are not async.
    /// The runtime lives as long as the updater: the pooled HTTP connections belong to it.
    pub fn check_blocking(
        &mut self,
        slot: Slot<'_>,
        health: &mut Health,
        now: u64,
    ) -> Result<Outcome, UpdateError> {
        let runtime = match self.runtime.take() {
            Some(r) => r,
            None => tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| {
                    UpdateError::new(RolloutCode::Unreachable, format!("async runtime: {e}"))
                })?,
        };
        let outcome = runtime.block_on(self.check(slot, health, now));
        self.runtime = Some(runtime);
        outcome
    }
}

/// Whether the content's header and digest are those its target metadata names (a
/// publisher's mistake caught before the loader; the loader's checks follow regardless).
fn consistent(bytes: &[u8], meta: &TargetMeta) -> Result<(), String> {
    // Bytes that are not a frame are the loader's to refuse, with its own code.
    let Ok(frame) = Frame::read(bytes) else {
        return Ok(());
    };
    let h = frame.header();
    let digest = dcf_rollout::repo::hex(frame.digest());
    if h.channel != meta.channel || h.sequence != meta.sequence || digest != meta.digest {
        return Err(format!(
            "the content is channel {} sequence {} digest {digest}; its metadata says channel {} \
             sequence {} digest {}",
            h.channel, h.sequence, meta.channel, meta.sequence, meta.digest
        ));
    }
    Ok(())
}
