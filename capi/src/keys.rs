//! Key files as `dcf keygen` writes them, read by the one reader the CLI uses.

use crate::boundary::{entry, slice};
use crate::status::{Failure, dcf_result, dcf_status};

/// Bytes of an Ed25519 public key, as `dcf_sensor_config.trusted_keys` holds each.
pub const DCF_PUBLIC_KEY_LEN: usize = 32;

/// Reads a public key file as `dcf keygen` writes it (`KEYS.md`: a tag line, then 64 hex
/// digits) into the 32 bytes at `out`. Returns `DCF_INVALID_ARGUMENT` with a message for any
/// other text, or for a key that is not an Ed25519 public key; `out` is then untouched.
///
/// Thread safety: may be called from any thread.
///
/// # Safety
/// `text` holds `len` bytes; `out` points to 32 writable bytes; `status` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dcf_public_key_from_text(
    text: *const u8,
    len: usize,
    out: *mut u8,
    status: *mut dcf_status,
) -> dcf_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        entry(status, || {
            if out.is_null() {
                return Err(Failure::null("out"));
            }
            let bytes = slice(text, len, "text")?;
            let text = core::str::from_utf8(bytes)
                .map_err(|e| Failure::invalid("", format!("the key file is not UTF-8: {e}")))?;
            let key = dcf_validator::keys::parse_public(text)
                .map_err(|e| Failure::invalid("", format!("not a dcf public key file: {e}")))?;
            // SAFETY: `out` is non-null and, by the contract, 32 writable bytes; `u8` needs
            // no alignment; the key's bytes do not overlap them.
            core::ptr::copy_nonoverlapping(key.as_bytes().as_ptr(), out, DCF_PUBLIC_KEY_LEN);
            Ok(())
        })
    }
}
