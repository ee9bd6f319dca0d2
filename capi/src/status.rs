//! What an entry point returns: a result code, and in the caller's `dcf_status` the `E` code,
//! the byte offset and a message.

use core::ffi::c_char;

/// The result of every entry point. The numbers mirror the exit codes of the `dcf` command:
/// 0 accepted, 1 refused, 2 and 3 a caller's mistake, 101 a bug in dcf.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum dcf_result {
    /// Done.
    DCF_OK = 0,
    /// The content or the event was refused; `dcf_status.code` says why (an `E` code of
    /// `format-spec/SPEC.md` or `LOADER.md`). A refused load leaves the active content active.
    DCF_REFUSED = 1,
    /// A pointer argument that must not be null was null (`dcf_status.message` names it).
    DCF_NULL_ARGUMENT = 2,
    /// An argument is malformed: a manifest that does not parse (`E9101`, `E9102`), a key
    /// that is not an Ed25519 public key (`E3002`), a string that is not UTF-8, an unknown
    /// value kind, a length beyond `PTRDIFF_MAX`.
    DCF_INVALID_ARGUMENT = 3,
    /// dcf panicked: a bug, caught before it crossed into C. Please report it. The handles
    /// stay valid: the active content changes only by the atomic swap of a successful load.
    DCF_PANIC = 101,
}

/// `dcf_status.offset` when the refusal has no byte offset in the content.
pub const DCF_NO_OFFSET: u64 = u64::MAX;

/// Bytes of `dcf_status.message`, its terminating NUL included.
pub const DCF_MESSAGE_LEN: usize = 256;

/// Why an entry point did not return `DCF_OK`. The caller owns it (on its stack, say); each
/// entry point that takes one clears it first and fills it in on any result but `DCF_OK`.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dcf_status {
    /// The stable code, NUL-terminated (`"E3102"`), or empty when the result carries none.
    pub code: [c_char; 8],
    /// Absolute byte offset in the content of what was refused, or `DCF_NO_OFFSET`.
    pub offset: u64,
    /// What, precisely (the rule, field, key or times involved), NUL-terminated UTF-8,
    /// truncated to fit at a character boundary.
    pub message: [c_char; DCF_MESSAGE_LEN],
}

/// What an entry point reports, before it is written into the caller's `dcf_status`.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) result: dcf_result,
    pub(crate) code: &'static str,
    pub(crate) offset: Option<usize>,
    pub(crate) message: String,
}

impl Failure {
    /// A refusal with its code.
    pub(crate) fn refused(code: &'static str, offset: Option<usize>, message: String) -> Self {
        Failure {
            result: dcf_result::DCF_REFUSED,
            code,
            offset,
            message,
        }
    }

    /// A null pointer where `argument` must point somewhere.
    pub(crate) fn null(argument: &str) -> Self {
        Failure {
            result: dcf_result::DCF_NULL_ARGUMENT,
            code: "",
            offset: None,
            message: format!("`{argument}` is null"),
        }
    }

    /// A malformed argument, with the code of the rule it breaks where there is one.
    pub(crate) fn invalid(code: &'static str, message: String) -> Self {
        Failure {
            result: dcf_result::DCF_INVALID_ARGUMENT,
            code,
            offset: None,
            message,
        }
    }

    /// A panic caught at the boundary.
    pub(crate) fn panic(message: String) -> Self {
        Failure {
            result: dcf_result::DCF_PANIC,
            code: "",
            offset: None,
            message,
        }
    }
}

impl dcf_status {
    /// No code, no offset, no message: what `DCF_OK` leaves.
    pub(crate) fn clear(&mut self) {
        self.code = [0; 8];
        self.offset = DCF_NO_OFFSET;
        self.message = [0; DCF_MESSAGE_LEN];
    }

    pub(crate) fn record(&mut self, failure: &Failure) {
        self.clear();
        copy_truncated(&mut self.code, failure.code);
        self.offset = failure
            .offset
            .and_then(|o| u64::try_from(o).ok())
            .unwrap_or(DCF_NO_OFFSET);
        copy_truncated(&mut self.message, &failure.message);
    }
}

/// Copies `text` into `out` as NUL-terminated bytes, cut at the last character boundary
/// that leaves room for the NUL.
fn copy_truncated(out: &mut [c_char], text: &str) {
    let room = out.len().saturating_sub(1);
    let mut end = text.len().min(room);
    while !text.is_char_boundary(end) {
        end = end.saturating_sub(1);
    }
    let bytes = text.as_bytes().get(..end).unwrap_or_default();
    for (slot, byte) in out.iter_mut().zip(bytes) {
        // `c_char` is `i8` or `u8` by platform; the bytes are UTF-8, reinterpreted.
        *slot = *byte as c_char;
    }
    if let Some(nul) = out.get_mut(end) {
        *nul = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(bytes: &[c_char]) -> String {
        let end = bytes.iter().position(|b| *b == 0).unwrap();
        String::from_utf8(bytes[..end].iter().map(|b| *b as u8).collect()).unwrap()
    }

    #[test]
    fn messages_are_cut_at_a_character_boundary_and_terminated() {
        let mut out = [1 as c_char; 6];
        copy_truncated(&mut out, "abcé€");
        // Room for 5 bytes: "abcé" is 5 bytes, "€" would not fit.
        assert_eq!(text(&out), "abcé");
        let mut out = [1 as c_char; 5];
        copy_truncated(&mut out, "abcé");
        assert_eq!(text(&out), "abc");
        let mut out = [1 as c_char; 8];
        copy_truncated(&mut out, "E3102");
        assert_eq!(text(&out), "E3102");
    }
}
