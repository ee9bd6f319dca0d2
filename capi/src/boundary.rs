//! The boundary every entry point runs inside: panics are caught, the caller's status is
//! written, and raw pointers become references only after their null, alignment and length
//! checks.

use core::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use crate::status::{Failure, dcf_result, dcf_status};

/// Runs `body` as one entry point: a panic inside becomes `DCF_PANIC`, a failure is recorded
/// in `status` (when it is not null), success clears it.
///
/// # Safety
/// `status` is null or points to a `dcf_status` the caller owns for the call.
pub(crate) unsafe fn entry(
    status: *mut dcf_status,
    body: impl FnOnce() -> Result<(), Failure>,
) -> dcf_result {
    // `AssertUnwindSafe`: after a panic nothing the body borrowed is used again but the
    // sensor handle, whose only shared state is the atomically swapped content and a mutex
    // whose poisoning the loader ignores on purpose (it guards no data).
    let outcome = catch_unwind(AssertUnwindSafe(body))
        .unwrap_or_else(|payload| Err(Failure::panic(describe(payload.as_ref()))));
    // SAFETY: by this function's contract, `status` is null or valid and unaliased for the
    // call; `as_mut` turns null into `None`. Alignment is checked before it is written.
    let status = if status.is_aligned() {
        unsafe { status.as_mut() }
    } else {
        None
    };
    match outcome {
        Ok(()) => {
            if let Some(status) = status {
                status.clear();
            }
            dcf_result::DCF_OK
        }
        Err(failure) => {
            if let Some(status) = status {
                status.record(&failure);
            }
            failure.result
        }
    }
}

fn describe(payload: &(dyn Any + Send)) -> String {
    let what = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("a panic without a message");
    format!("dcf panicked (a bug, please report it): {what}")
}

/// `len` elements at `ptr`, as a slice. A zero length needs no pointer (null is fine).
///
/// # Safety
/// When `len` is not zero and `ptr` is not null, `ptr` points to `len` initialised `T` that
/// nothing writes during the call.
pub(crate) unsafe fn slice<'a, T>(
    ptr: *const T,
    len: usize,
    name: &str,
) -> Result<&'a [T], Failure> {
    if len == 0 {
        return Ok(&[]);
    }
    if ptr.is_null() {
        return Err(Failure::null(name));
    }
    if !ptr.is_aligned() {
        return Err(Failure::invalid("", format!("`{name}` is not aligned")));
    }
    let fits = len
        .checked_mul(size_of::<T>())
        .is_some_and(|bytes| bytes <= isize::MAX.unsigned_abs());
    if !fits {
        return Err(Failure::invalid(
            "",
            format!("`{name}`: a length of {len} is more than any object can hold"),
        ));
    }
    // SAFETY: non-null, aligned, at most `isize::MAX` bytes, and by this function's
    // contract `len` initialised elements that are not written during the call.
    Ok(unsafe { core::slice::from_raw_parts(ptr, len) })
}

/// The `T` at `ptr`.
///
/// # Safety
/// `ptr` is null or points to an initialised `T` that nothing writes during the call.
pub(crate) unsafe fn reference<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, Failure> {
    if !ptr.is_aligned() {
        return Err(Failure::invalid("", format!("`{name}` is not aligned")));
    }
    // SAFETY: aligned, and by this function's contract null or a valid `T`.
    unsafe { ptr.as_ref() }.ok_or_else(|| Failure::null(name))
}

/// A checked place to write one result into: non-null and aligned.
pub(crate) struct Output<T>(*mut T);

impl<T> Output<T> {
    /// Checks `ptr` before any work is done, so that a null output never costs a leak.
    pub(crate) fn new(ptr: *mut T, name: &str) -> Result<Output<T>, Failure> {
        if ptr.is_null() {
            return Err(Failure::null(name));
        }
        if !ptr.is_aligned() {
            return Err(Failure::invalid("", format!("`{name}` is not aligned")));
        }
        Ok(Output(ptr))
    }

    /// Writes `value` without reading what was there (it may be uninitialised).
    ///
    /// # Safety
    /// The pointer given to [`Output::new`] points to a `T` the caller lets us write.
    pub(crate) unsafe fn write(self, value: T) {
        // SAFETY: non-null and aligned (checked in `new`), writable by the contract.
        unsafe { self.0.write(value) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::DCF_NO_OFFSET;

    fn text(bytes: &[core::ffi::c_char]) -> String {
        let end = bytes.iter().position(|b| *b == 0).unwrap();
        bytes[..end].iter().map(|b| *b as u8 as char).collect()
    }

    fn blank() -> dcf_status {
        dcf_status {
            code: [1; 8],
            offset: 7,
            message: [1; crate::status::DCF_MESSAGE_LEN],
        }
    }

    #[test]
    fn a_panic_becomes_dcf_panic_with_its_message() {
        let mut status = blank();
        // SAFETY: a status on this stack.
        let result = unsafe { entry(&mut status, || panic!("an invariant broke")) };
        assert_eq!(result, dcf_result::DCF_PANIC);
        assert!(text(&status.message).contains("an invariant broke"));
        assert_eq!(text(&status.code), "");
    }

    #[test]
    fn success_clears_the_status_and_a_failure_fills_it() {
        let mut status = blank();
        // SAFETY: a status on this stack.
        assert_eq!(unsafe { entry(&mut status, || Ok(())) }, dcf_result::DCF_OK);
        assert_eq!(
            (text(&status.code), status.offset),
            (String::new(), DCF_NO_OFFSET)
        );
        // SAFETY: as above.
        let result = unsafe {
            entry(&mut status, || {
                Err(Failure::refused(
                    "E0107",
                    Some(12),
                    "E0107 at offset 12".into(),
                ))
            })
        };
        assert_eq!(result, dcf_result::DCF_REFUSED);
        assert_eq!((text(&status.code), status.offset), ("E0107".into(), 12));
        // A null status is allowed.
        // SAFETY: null.
        let result = unsafe { entry(core::ptr::null_mut(), || Err(Failure::null("x"))) };
        assert_eq!(result, dcf_result::DCF_NULL_ARGUMENT);
    }
}
