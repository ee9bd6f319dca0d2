//! The crash-safe content store from C: a sensor whose updates are persisted in a directory,
//! restored at start, and protected from boot loops by probation and quarantine
//! (`format-spec/LOADER.md` STORE-1 to STORE-7).

use core::ffi::c_char;
use std::path::PathBuf;

use ::dcf_sensor::store::{ContentStore, Slot, StartReport, StoreConfig};

use crate::boundary::{Output, entry, reference, slice};
use crate::sensor::{dcf_sensor, dcf_sensor_config, load_failure, loader_config};
use crate::status::{Failure, dcf_result, dcf_status};

/// `dcf_start_step.slot` and `dcf_start_report.restored_slot`: no content.
pub const DCF_SLOT_NONE: u32 = 0;
/// The content that was active before the restart.
pub const DCF_SLOT_ACTIVE: u32 = 1;
/// The one before it.
pub const DCF_SLOT_PREVIOUS: u32 = 2;

/// `dcf_store_options.flags`: refuse a persisted content that expired while the sensor was
/// off (E3007) instead of running it flagged (LOADER.md STORE-4).
pub const DCF_STORE_REFUSE_EXPIRED: u32 = 1;

/// How the store behaves beyond the sensor's own configuration. Zeroed, it asks for the
/// defaults.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dcf_store_options {
    /// Starts a content may begin on probation before it is quarantined; 0 means 3.
    pub max_probation_starts: u32,
    /// `DCF_STORE_REFUSE_EXPIRED`, or 0.
    pub flags: u32,
    /// Evaluations after which a content on probation counts as healthy
    /// (`dcf_sensor_record_evaluations`); 0 means only `dcf_sensor_confirm_healthy` ends it.
    pub probation_events: u64,
}

/// One persisted content tried at start.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dcf_start_step {
    /// `DCF_SLOT_ACTIVE` or `DCF_SLOT_PREVIOUS`.
    pub slot: u32,
    /// Its sequence, as the store recorded it.
    pub sequence: u64,
    /// Empty if it is now active, else the code it was refused with (`"E3702"`, `"E3007"`…).
    pub code: [c_char; 8],
}

/// What a start restored, for the sensor's health reporting.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dcf_start_report {
    /// `DCF_SLOT_NONE`, `DCF_SLOT_ACTIVE` or `DCF_SLOT_PREVIOUS`: which content runs.
    pub restored_slot: u32,
    /// Its sequence (0 when none runs).
    pub restored_sequence: u64,
    /// It expired while the sensor was off and runs flagged.
    pub expired: bool,
    /// It is on probation: confirm the sensor healthy once it is.
    pub on_probation: bool,
    /// This start quarantined a content (the process had died on it too often).
    pub quarantined: bool,
    /// The quarantined content's sequence.
    pub quarantined_sequence: u64,
    /// The state file could not be read (E3704); the store started empty.
    pub state_unreadable: bool,
    /// How many of `steps` are filled in (at most 2).
    pub step_count: usize,
    /// The contents tried, in order.
    pub steps: [dcf_start_step; 2],
}

fn code_bytes(code: &str) -> [c_char; 8] {
    let mut out = [0 as c_char; 8];
    for (slot, byte) in out.iter_mut().take(7).zip(code.bytes()) {
        // Codes are ASCII.
        *slot = byte as c_char;
    }
    out
}

fn slot_code(slot: Option<Slot>) -> u32 {
    match slot {
        None => DCF_SLOT_NONE,
        Some(Slot::Active) => DCF_SLOT_ACTIVE,
        Some(Slot::Previous) => DCF_SLOT_PREVIOUS,
    }
}

fn c_report(report: &StartReport) -> dcf_start_report {
    let empty = dcf_start_step {
        slot: DCF_SLOT_NONE,
        sequence: 0,
        code: [0; 8],
    };
    let mut steps = [empty; 2];
    for (out, step) in steps.iter_mut().zip(&report.steps) {
        *out = dcf_start_step {
            slot: slot_code(Some(step.slot)),
            sequence: step.sequence,
            code: step
                .outcome
                .as_ref()
                .err()
                .map_or([0; 8], |(code, _)| code_bytes(code)),
        };
    }
    dcf_start_report {
        restored_slot: slot_code(report.restored.slot),
        restored_sequence: report.restored.sequence,
        expired: report.restored.expired,
        on_probation: report.restored.on_probation,
        quarantined: report.quarantined.is_some(),
        quarantined_sequence: report.quarantined.as_ref().map_or(0, |q| q.sequence),
        state_unreadable: report.state_error.is_some(),
        step_count: report.steps.len().min(2),
        steps,
    }
}

/// Creates a sensor whose updates the content store persists in the directory `dir` (a
/// path of `dir_len` bytes, created if need be), and restores what it persisted, at time
/// `now` (LOADER.md STORE-3 to STORE-5). `config.current_sequence` is the floor of a store
/// that has no state yet; the persisted high-water mark rules once there is one. On
/// `DCF_OK`, `*out` is a sensor to use as any other (`dcf_sensor_load` persists through the
/// store) and, if `report` is not null, `*report` says what runs. `DCF_REFUSED` with `E3703`
/// when the directory cannot be used at all.
///
/// Thread safety: may be called from any thread; one store directory belongs to one sensor.
///
/// # Safety
/// As `dcf_sensor_new`, with `dir` holding `dir_len` bytes, `options` null or valid and
/// `report` null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dcf_sensor_open_store(
    config: *const dcf_sensor_config,
    options: *const dcf_store_options,
    dir: *const u8,
    dir_len: usize,
    now: u64,
    out: *mut *mut dcf_sensor,
    report: *mut dcf_start_report,
    status: *mut dcf_status,
) -> dcf_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        entry(status, || {
            let out = Output::new(out, "out")?;
            let config = reference(config, "config")?;
            let defaults = dcf_store_options {
                max_probation_starts: 0,
                flags: 0,
                probation_events: 0,
            };
            let options = if options.is_null() {
                &defaults
            } else {
                reference(options, "options")?
            };
            if options.flags & !DCF_STORE_REFUSE_EXPIRED != 0 {
                return Err(Failure::invalid(
                    "",
                    format!("unknown store flags {:#x}", options.flags),
                ));
            }
            let dir = slice(dir, dir_len, "dir")?;
            let dir = core::str::from_utf8(dir)
                .map_err(|e| Failure::invalid("", format!("the directory is not UTF-8: {e}")))?;
            if dir.is_empty() {
                return Err(Failure::invalid("", "the directory is empty".into()));
            }
            let mut store_config = StoreConfig::new(loader_config(config)?);
            store_config.initial_sequence = config.current_sequence;
            if options.max_probation_starts != 0 {
                store_config.max_probation_starts = options.max_probation_starts;
            }
            if options.probation_events != 0 {
                store_config.probation_events = Some(options.probation_events);
            }
            if options.flags & DCF_STORE_REFUSE_EXPIRED != 0 {
                store_config.expired_at_start = ::dcf_sensor::store::ExpiredAtStart::Refuse;
            }
            let (store, start) = ContentStore::open(PathBuf::from(dir), store_config, now)
                .map_err(|e| load_failure(&e))?;
            if !report.is_null() {
                Output::new(report, "report")?.write(c_report(&start));
            }
            out.write(Box::into_raw(Box::new(dcf_sensor::stored(store))));
            Ok(())
        })
    }
}

fn store_of(sensor: &dcf_sensor) -> Result<&ContentStore, Failure> {
    sensor.store().ok_or_else(|| {
        Failure::invalid(
            "",
            "the sensor has no content store (it was made by dcf_sensor_new)".into(),
        )
    })
}

/// Ends the active content's probation: the sensor runs well on it (LOADER.md STORE-5).
/// `DCF_INVALID_ARGUMENT` for a sensor without a store; `DCF_REFUSED` with `E3703` if the
/// state could not be written (it is then still on probation).
///
/// Thread safety: may be called from any thread.
///
/// # Safety
/// `sensor` is a live handle; `status` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dcf_sensor_confirm_healthy(
    sensor: *const dcf_sensor,
    status: *mut dcf_status,
) -> dcf_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        entry(status, || {
            let store = store_of(reference(sensor, "sensor")?)?;
            store.confirm_healthy().map_err(|e| load_failure(&e))
        })
    }
}

/// Counts `count` evaluations; once `dcf_store_options.probation_events` are reached, ends
/// the active content's probation. `*confirmed` (if not null) says whether it has ended.
///
/// Thread safety: may be called from any thread.
///
/// # Safety
/// `sensor` is a live handle; `confirmed` and `status` are null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dcf_sensor_record_evaluations(
    sensor: *const dcf_sensor,
    count: u64,
    confirmed: *mut bool,
    status: *mut dcf_status,
) -> dcf_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        entry(status, || {
            let store = store_of(reference(sensor, "sensor")?)?;
            let done = store
                .record_evaluations(count)
                .map_err(|e| load_failure(&e))?;
            if !confirmed.is_null() {
                Output::new(confirmed, "confirmed")?.write(done);
            }
            Ok(())
        })
    }
}
