//! What a tool written in C needs without a sensor: the structural check of a content file,
//! and the library's version.

use core::ffi::{CStr, c_char};

use crate::boundary::{entry, slice};
use crate::status::{Failure, dcf_result, dcf_status};

const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => c"unknown",
    };

/// The library's version, a static NUL-terminated string (`"0.1.0"`).
///
/// Thread safety: may be called from any thread.
#[unsafe(no_mangle)]
pub extern "C" fn dcf_version() -> *const c_char {
    VERSION.as_ptr()
}

/// Checks that `bytes` is a well-formed content file (`format-spec/SPEC.md`: frame, digest,
/// every section, every rule), with the parser every dcf tool and sensor uses. No signature,
/// time, sequence or sensor interface is checked: that is the loader's job
/// (`dcf_sensor_load`). Returns `DCF_OK` or `DCF_REFUSED` with the `E0xxx` code and the
/// absolute byte offset of the defect.
///
/// Thread safety: may be called from any thread.
///
/// # Safety
/// `bytes` holds `len` bytes (it may be null when `len` is 0); `status` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dcf_check(
    bytes: *const u8,
    len: usize,
    status: *mut dcf_status,
) -> dcf_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        entry(status, || {
            let bytes = slice(bytes, len, "bytes")?;
            dcf_parser::parse(bytes)
                .map(drop)
                .map_err(|e| Failure::refused(e.code().as_str(), Some(e.offset()), e.to_string()))
        })
    }
}
