//! The sensor handle: created from a manifest and trusted keys, fed content updates, asked
//! what it runs.

use ::dcf_sensor::store::ContentStore;
use ::dcf_sensor::{Channels, LoadError, LoaderConfig, Sensor};
use dcf_parser::format::DIGEST_LEN;
use dcf_parser::limits::MAX_FILE_SIZE;

use crate::boundary::{Output, entry, reference, slice};
use crate::status::{Failure, dcf_status};

/// A sensor's content slot: the active content and the loader that replaces it. Opaque.
///
/// Thread safety: every function taking a `const dcf_sensor *` may be called from any number
/// of threads at once, loads included (they are serialised inside; evaluations running while
/// a load swaps the content finish on the content they started with).
pub struct dcf_sensor {
    slot: Slot,
}

/// A slot in memory only, or one whose updates the content store persists.
enum Slot {
    Memory(Sensor),
    // Boxed: the store is larger than the sensor it holds, and each handle is one allocation
    // either way.
    Stored(Box<ContentStore>),
}

impl dcf_sensor {
    pub(crate) fn new(sensor: Sensor) -> Self {
        dcf_sensor {
            slot: Slot::Memory(sensor),
        }
    }

    pub(crate) fn stored(store: ContentStore) -> Self {
        dcf_sensor {
            slot: Slot::Stored(Box::new(store)),
        }
    }

    /// The sensor that evaluates, whichever slot holds it.
    pub(crate) fn sensor(&self) -> &Sensor {
        match &self.slot {
            Slot::Memory(sensor) => sensor,
            Slot::Stored(store) => store.sensor(),
        }
    }

    /// The store, for a sensor opened with `dcf_sensor_open_store`.
    pub(crate) fn store(&self) -> Option<&ContentStore> {
        match &self.slot {
            Slot::Memory(_) => None,
            Slot::Stored(store) => Some(store),
        }
    }

    fn load(&self, bytes: &[u8], now: u64) -> Result<(), LoadError> {
        match &self.slot {
            Slot::Memory(sensor) => sensor.load(bytes, now).map(drop),
            Slot::Stored(store) => store.update(bytes, now).map(drop),
        }
    }
}

/// `dcf_sensor_config.flags`: accept content of every channel, one sequence space for all.
pub const DCF_ANY_CHANNEL: u32 = 1;
/// `dcf_sensor_config.flags`: accept content without a signature. Tests and development only.
pub const DCF_ALLOW_UNSIGNED: u32 = 2;

/// What a sensor build declares about itself when it creates its slot.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dcf_sensor_config {
    /// The sensor's manifest (`format-spec/MANIFEST.md`) as TOML text, UTF-8, not
    /// necessarily NUL-terminated: what this build really supplies to the interpreter.
    pub manifest: *const u8,
    /// Length of `manifest` in bytes.
    pub manifest_len: usize,
    /// The trusted Ed25519 public keys, 32 bytes each, back to back.
    pub trusted_keys: *const u8,
    /// How many keys `trusted_keys` holds.
    pub trusted_key_count: usize,
    /// The content channel this slot serves (ignored with `DCF_ANY_CHANNEL`).
    pub channel: u32,
    /// `DCF_ANY_CHANNEL`, `DCF_ALLOW_UNSIGNED`, or 0.
    pub flags: u32,
    /// The sequence number of the content the sensor ran before (its persisted high-water
    /// mark): content with a sequence at or below it is refused (`E3008`). 0 on first start.
    pub current_sequence: u64,
    /// The largest update accepted, in bytes; 0 means the format's limit (64 MiB).
    pub max_size: usize,
}

// The header spells the digest's length out (cbindgen cannot follow the parser's constant).
const _: () = assert!(DIGEST_LEN == 32);

/// What the active content is.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dcf_content_info {
    /// Its sequence number.
    pub sequence: u64,
    /// Its channel.
    pub channel: u32,
    /// Its number of rules (match reports index into them).
    pub rule_count: u32,
    /// Seconds since the Unix epoch from which it is valid.
    pub created_at: u64,
    /// Seconds since the Unix epoch at which it expires.
    pub expires_at: u64,
    /// The SHA-256 digest its frame carries: what names it in health reports.
    pub digest: [u8; 32],
    /// Whether it was signed (it always is unless the slot allows unsigned content).
    pub is_signed: bool,
    /// The id of the key that signed it (zero when unsigned).
    pub key_id: [u8; 16],
    /// Size of the content file, bytes.
    pub content_len: usize,
}

pub(crate) fn load_failure(error: &LoadError) -> Failure {
    let offset = match error {
        LoadError::Format(e) => Some(e.offset()),
        LoadError::Sensor { .. } => None,
    };
    Failure::refused(error.code(), offset, error.to_string())
}

/// Creates a sensor slot with no content yet. On `DCF_OK`, `*out` is a new handle to free
/// with `dcf_sensor_free`; on any other result `*out` is left untouched.
///
/// Returns `DCF_INVALID_ARGUMENT` with `E9101` or `E9102` (and the byte offset in the
/// manifest) for a manifest that does not parse or is inconsistent, with `E3002` for a
/// trusted key that is not an Ed25519 public key, and for unknown flags.
///
/// Thread safety: may be called from any thread.
///
/// # Safety
/// `config` points to a `dcf_sensor_config` whose pointers hold the lengths it states;
/// `out` points to writable storage for one pointer; `status` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dcf_sensor_new(
    config: *const dcf_sensor_config,
    out: *mut *mut dcf_sensor,
    status: *mut dcf_status,
) -> crate::status::dcf_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        entry(status, || {
            let out = Output::new(out, "out")?;
            let config = reference(config, "config")?;
            let loader = loader_config(config)?;
            let sensor = Sensor::new(loader, config.current_sequence).map_err(|e| Failure {
                result: crate::status::dcf_result::DCF_INVALID_ARGUMENT,
                ..load_failure(&e)
            })?;
            out.write(Box::into_raw(Box::new(dcf_sensor::new(sensor))));
            Ok(())
        })
    }
}

/// The loader configuration `config` describes, its manifest and keys read: what
/// `dcf_sensor_new` and `dcf_sensor_open_store` both make a sensor from.
///
/// # Safety
/// `config`'s pointers hold the lengths it states.
pub(crate) unsafe fn loader_config(config: &dcf_sensor_config) -> Result<LoaderConfig, Failure> {
    // SAFETY: forwarded from this function's contract.
    let manifest = unsafe { slice(config.manifest, config.manifest_len, "config.manifest")? };
    let key_bytes_len = config
        .trusted_key_count
        .checked_mul(32)
        .ok_or_else(|| Failure::invalid("", "too many trusted keys".into()))?;
    // SAFETY: as above.
    let key_bytes = unsafe { slice(config.trusted_keys, key_bytes_len, "config.trusted_keys")? };
    if config.flags & !(DCF_ANY_CHANNEL | DCF_ALLOW_UNSIGNED) != 0 {
        return Err(Failure::invalid(
            "",
            format!("unknown flags {:#x}", config.flags),
        ));
    }
    let text = core::str::from_utf8(manifest)
        .map_err(|e| Failure::invalid("", format!("the manifest is not UTF-8: {e}")))?;
    let interface = dcf_validator::manifest::from_toml(text).map_err(|e| Failure {
        offset: e.span.as_ref().map(|s| s.start),
        ..Failure::invalid(e.code.as_str(), e.to_string())
    })?;
    let trusted_keys = key_bytes
        .chunks_exact(32)
        .filter_map(|chunk| <[u8; 32]>::try_from(chunk).ok())
        .collect();
    let channels = if config.flags & DCF_ANY_CHANNEL != 0 {
        Channels::Any
    } else {
        Channels::Only(config.channel)
    };
    let mut loader = LoaderConfig::new(interface, trusted_keys, channels);
    loader.allow_unsigned = config.flags & DCF_ALLOW_UNSIGNED != 0;
    if config.max_size != 0 {
        loader.max_size = config.max_size.min(MAX_FILE_SIZE);
    }
    Ok(loader)
}

/// Frees a sensor. Null is allowed and does nothing. The handle must not be used again, by
/// any thread: freeing it twice, or while another thread still uses it, is undefined
/// behaviour (as for `free`), which no check here can catch.
///
/// # Safety
/// `sensor` is null or a handle from `dcf_sensor_new` not freed before, and no other thread
/// uses it any more.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dcf_sensor_free(sensor: *mut dcf_sensor) {
    // SAFETY: forwarded from this function's contract; the status is null.
    unsafe {
        entry(core::ptr::null_mut(), || {
            if !sensor.is_null() {
                // SAFETY: a handle from `Box::into_raw` in `dcf_sensor_new`, freed once.
                drop(Box::from_raw(sensor));
            }
            Ok(())
        });
    }
}

/// Verifies, binds and compiles an update (`format-spec/LOADER.md`, in its order: size,
/// frame, digest, signature, sensor version, channel, times, sequence, structure, binding,
/// budget) and on success makes it the active content with one atomic swap. For a sensor
/// opened with `dcf_sensor_open_store`, the update is persisted first (LOADER.md STORE-2,
/// `E3701` a quarantined content, `E3703` nothing could be written) and starts on probation.
///
/// `now` is the current time, seconds since the Unix epoch. Returns `DCF_OK`, or
/// `DCF_REFUSED` with the `E` code, the byte offset (for format codes) and a message naming
/// the rule, field or key; the last known good content then stays active. A zero length is
/// an (empty, refused) update, and `bytes` may then be null.
///
/// Thread safety: may be called from any thread, also while others evaluate or load.
///
/// # Safety
/// `sensor` is a live handle; `bytes` holds `len` bytes; `status` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dcf_sensor_load(
    sensor: *const dcf_sensor,
    bytes: *const u8,
    len: usize,
    now: u64,
    status: *mut dcf_status,
) -> crate::status::dcf_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        entry(status, || {
            let sensor = reference(sensor, "sensor")?;
            let bytes = slice(bytes, len, "bytes")?;
            sensor.load(bytes, now).map_err(|e| load_failure(&e))
        })
    }
}

/// The sequence number an update must exceed: the active content's, or the
/// `current_sequence` the slot was created with if that is higher. What a sensor persists
/// across a restart so that anti-rollback survives it.
///
/// Thread safety: may be called from any thread.
///
/// # Safety
/// `sensor` is a live handle; `out` is writable; `status` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dcf_sensor_sequence(
    sensor: *const dcf_sensor,
    out: *mut u64,
    status: *mut dcf_status,
) -> crate::status::dcf_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        entry(status, || {
            let out = Output::new(out, "out")?;
            let sensor = reference(sensor, "sensor")?;
            out.write(sensor.sensor().current_sequence());
            Ok(())
        })
    }
}

/// Describes the active content in `*out`. Returns `DCF_REFUSED` with `E3501` when no
/// content has been loaded yet (and leaves `*out` untouched).
///
/// Thread safety: may be called from any thread.
///
/// # Safety
/// `sensor` is a live handle; `out` is writable; `status` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dcf_sensor_content(
    sensor: *const dcf_sensor,
    out: *mut dcf_content_info,
    status: *mut dcf_status,
) -> crate::status::dcf_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        entry(status, || {
            let out = Output::new(out, "out")?;
            let sensor = reference(sensor, "sensor")?;
            let Some(active) = sensor.sensor().active() else {
                let code = ::dcf_sensor::SensorCode::NoContent;
                return Err(Failure::refused(
                    code.as_str(),
                    None,
                    code.description().into(),
                ));
            };
            let header = active.header();
            out.write(dcf_content_info {
                sequence: header.sequence,
                channel: header.channel,
                rule_count: u32::try_from(active.rules().len()).unwrap_or(u32::MAX),
                created_at: header.created_at,
                expires_at: header.expires_at,
                digest: *active.digest(),
                is_signed: active.key_id().is_some(),
                key_id: active.key_id().unwrap_or_default(),
                content_len: active.content_len(),
            });
            Ok(())
        })
    }
}
