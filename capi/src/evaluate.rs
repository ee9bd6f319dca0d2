//! Evaluating events: typed field arrays (what a sensor has in hand) or JSON objects (what
//! `dcf test` reads), matches delivered through a callback.

use core::ffi::{c_char, c_void};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ::dcf_sensor::{EvalError, Event, Ruleset, Scratch, SensorCode, Value};

use crate::boundary::{Output, entry, reference, slice};
use crate::sensor::dcf_sensor;
use crate::status::{Failure, dcf_result, dcf_status};

/// `dcf_value.kind`: no value (the field is absent or null for this event).
pub const DCF_VALUE_ABSENT: u32 = 0;
/// `dcf_value.kind`: text, `string` and `len`.
pub const DCF_VALUE_STRING: u32 = 1;
/// `dcf_value.kind`: a signed 64-bit integer, `integer`.
pub const DCF_VALUE_INTEGER: u32 = 2;
/// `dcf_value.kind`: an IPv4 address, the first 4 bytes of `ip` in network order.
pub const DCF_VALUE_IPV4: u32 = 3;
/// `dcf_value.kind`: an IPv6 address, the 16 bytes of `ip` in network order.
pub const DCF_VALUE_IPV6: u32 = 4;

/// `dcf_match.severity`: informational (the content format's wire codes).
pub const DCF_SEVERITY_INFORMATIONAL: u8 = 0;
/// `dcf_match.severity`: low.
pub const DCF_SEVERITY_LOW: u8 = 1;
/// `dcf_match.severity`: medium.
pub const DCF_SEVERITY_MEDIUM: u8 = 2;
/// `dcf_match.severity`: high.
pub const DCF_SEVERITY_HIGH: u8 = 3;
/// `dcf_match.severity`: critical.
pub const DCF_SEVERITY_CRITICAL: u8 = 4;
/// `dcf_match.action`: record the match only.
pub const DCF_ACTION_LOG: u8 = 0;
/// `dcf_match.action`: raise a detection.
pub const DCF_ACTION_DETECT: u8 = 1;
/// `dcf_match.action`: raise a detection and block the activity.
pub const DCF_ACTION_BLOCK: u8 = 2;

/// One field value of an event.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dcf_value {
    /// `DCF_VALUE_ABSENT`, `DCF_VALUE_STRING`, `DCF_VALUE_INTEGER`, `DCF_VALUE_IPV4` or
    /// `DCF_VALUE_IPV6`; any other is `DCF_INVALID_ARGUMENT`.
    pub kind: u32,
    /// `DCF_VALUE_STRING`: the text, UTF-8 (else `DCF_INVALID_ARGUMENT`), `len` bytes, not
    /// necessarily NUL-terminated; may be null when `len` is 0.
    pub string: *const u8,
    /// `DCF_VALUE_STRING`: length of `string` in bytes.
    pub len: usize,
    /// `DCF_VALUE_INTEGER`: the value.
    pub integer: i64,
    /// `DCF_VALUE_IPV4` (first 4 bytes) or `DCF_VALUE_IPV6` (all 16), network byte order.
    pub ip: [u8; 16],
}

/// One event: its template type and its field array, indexed as in the sensor's manifest.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dcf_event {
    /// The template type id.
    pub template_id: u32,
    /// The field values; may be null when `field_count` is 0.
    pub fields: *const dcf_value,
    /// How many values `fields` holds. Fewer than the manifest declares for the template
    /// type is refused for this event (`E3503`), never read past.
    pub field_count: usize,
}

/// One matching rule, as every match report must name it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct dcf_match {
    /// Index of the rule in the content (0 to `dcf_content_info.rule_count` − 1).
    pub rule_index: u32,
    /// The rule's id, 16 bytes.
    pub rule_id: [u8; 16],
    /// The rule's id as a NUL-terminated UUID string (`8-4-4-4-12` lowercase hex).
    pub rule_id_text: [c_char; 37],
    /// The rule's title, UTF-8, `title_len` bytes, not NUL-terminated.
    pub title: *const u8,
    /// Length of `title` in bytes.
    pub title_len: usize,
    /// The rule's author, UTF-8, `author_len` bytes, not NUL-terminated.
    pub author: *const u8,
    /// Length of `author` in bytes.
    pub author_len: usize,
    /// `DCF_SEVERITY_*`.
    pub severity: u8,
    /// `DCF_ACTION_*`.
    pub action: u8,
}

/// Called once per matching rule, in rule order, on the thread that evaluates. `match` and
/// the strings it points to live until the callback returns; copy what you keep. The
/// callback must not call back into the same `dcf_scratch`.
pub type dcf_match_fn = Option<unsafe extern "C" fn(user: *mut c_void, m: *const dcf_match)>;

/// What one evaluation did.
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct dcf_evaluation {
    /// How many rules matched (the callback was called as often).
    pub match_count: usize,
    /// The sequence number of the content that evaluated the event: every match of one
    /// evaluation comes from this one content, even while another thread loads.
    pub sequence: u64,
}

/// Per-thread evaluation memory: matcher caches and buffers, reused from event to event so
/// evaluation allocates nothing once warm. Opaque.
///
/// Thread safety: a scratch is used by one thread at a time; give each evaluating thread
/// its own. It is not tied to a sensor and may serve several.
pub struct dcf_scratch {
    scratch: Scratch,
    matches: Vec<u32>,
    /// The field array of the last event, emptied: its capacity is reused.
    values: Vec<Value<'static>>,
}

/// Creates a scratch. On `DCF_OK`, `*out` is a new handle to free with `dcf_scratch_free`.
///
/// # Safety
/// `out` points to writable storage for one pointer; `status` is null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dcf_scratch_new(
    out: *mut *mut dcf_scratch,
    status: *mut dcf_status,
) -> dcf_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        entry(status, || {
            let out = Output::new(out, "out")?;
            out.write(Box::into_raw(Box::new(dcf_scratch {
                scratch: Scratch::new(),
                matches: Vec::new(),
                values: Vec::new(),
            })));
            Ok(())
        })
    }
}

/// Frees a scratch. Null is allowed and does nothing; freeing one twice is undefined
/// behaviour, as for `free`.
///
/// # Safety
/// `scratch` is null or a handle from `dcf_scratch_new` not freed before and not in use.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dcf_scratch_free(scratch: *mut dcf_scratch) {
    // SAFETY: forwarded from this function's contract; the status is null.
    unsafe {
        entry(core::ptr::null_mut(), || {
            if !scratch.is_null() {
                // SAFETY: a handle from `Box::into_raw` in `dcf_scratch_new`, freed once.
                drop(Box::from_raw(scratch));
            }
            Ok(())
        });
    }
}

/// The scratch at `ptr`, for this thread alone during the call.
///
/// # Safety
/// `ptr` is null or a live handle from `dcf_scratch_new` no other thread uses.
unsafe fn scratch_of<'a>(ptr: *mut dcf_scratch) -> Result<&'a mut dcf_scratch, Failure> {
    if !ptr.is_aligned() {
        return Err(Failure::invalid("", "`scratch` is not aligned".into()));
    }
    // SAFETY: by the contract, null or a live handle used by this thread only.
    unsafe { ptr.as_mut() }.ok_or_else(|| Failure::null("scratch"))
}

/// An empty vector with `values`' capacity, for values of another lifetime: the field
/// array's buffer is reused from event to event without `unsafe`. (Collecting a vector's
/// `into_iter` into one of the same layout reuses its allocation.)
fn recycle<'b>(mut values: Vec<Value<'_>>) -> Vec<Value<'b>> {
    values.clear();
    values.into_iter().map(|_| Value::Null).collect()
}

/// Why a field value cannot be read; small, so that the per-field conversion returns in
/// registers (a `Failure` is built only for the event that has one).
#[derive(Clone, Copy)]
enum BadValue {
    NullString,
    NotUtf8,
    UnknownKind(u32),
}

impl BadValue {
    fn failure(self, index: usize) -> Failure {
        match self {
            BadValue::NullString => Failure::null(&format!("fields[{index}].string")),
            BadValue::NotUtf8 => {
                Failure::invalid("", format!("field {index}: the string is not UTF-8"))
            }
            BadValue::UnknownKind(kind) => {
                Failure::invalid("", format!("field {index}: unknown value kind {kind}"))
            }
        }
    }
}

/// # Safety
/// `value.string` holds `value.len` bytes when `value.kind` is `DCF_VALUE_STRING`.
#[inline]
unsafe fn convert<'a>(value: &dcf_value) -> Result<Value<'a>, BadValue> {
    Ok(match value.kind {
        DCF_VALUE_ABSENT => Value::Null,
        DCF_VALUE_STRING => {
            let bytes: &[u8] = if value.len == 0 {
                &[]
            } else if value.string.is_null() || value.len > isize::MAX.unsigned_abs() {
                return Err(BadValue::NullString);
            } else {
                // SAFETY: non-null, `u8` needs no alignment, at most `isize::MAX` bytes, and
                // by this function's contract `len` readable bytes.
                unsafe { core::slice::from_raw_parts(value.string, value.len) }
            };
            Value::Str(core::str::from_utf8(bytes).map_err(|_| BadValue::NotUtf8)?)
        }
        DCF_VALUE_INTEGER => Value::Int(value.integer),
        DCF_VALUE_IPV4 => {
            let [a, b, c, d, ..] = value.ip;
            Value::Ip(IpAddr::V4(Ipv4Addr::new(a, b, c, d)))
        }
        DCF_VALUE_IPV6 => Value::Ip(IpAddr::V6(Ipv6Addr::from(value.ip))),
        other => return Err(BadValue::UnknownKind(other)),
    })
}

fn eval_failure(error: &EvalError) -> Failure {
    Failure::refused(error.code.as_str(), None, error.to_string())
}

/// Runs the evaluation itself and reports its matches; shared by both evaluate functions.
///
/// # Safety
/// `on_match` is null or a function that may be called with `user`; `result` null or
/// writable.
unsafe fn run(
    sensor: &dcf_sensor,
    scratch: &mut dcf_scratch,
    event: &Event<'_>,
    on_match: dcf_match_fn,
    user: *mut c_void,
    result: *mut dcf_evaluation,
) -> Result<(), Failure> {
    scratch.matches.clear();
    let ruleset = sensor
        .sensor()
        .evaluate(event, &mut scratch.scratch, &mut scratch.matches)
        .map_err(|e| eval_failure(&e))?;
    if let Some(callback) = on_match {
        for &index in &scratch.matches {
            if let Some(report) = report(&ruleset, index) {
                // SAFETY: the caller's callback, called as the header documents; `report`
                // and the strings it points into outlive the call.
                unsafe { callback(user, &report) };
            }
        }
    }
    if !result.is_null() {
        let out = Output::new(result, "result")?;
        // SAFETY: checked non-null and aligned; writable by the contract.
        unsafe {
            out.write(dcf_evaluation {
                match_count: scratch.matches.len(),
                sequence: ruleset.sequence(),
            });
        }
    }
    Ok(())
}

fn report(ruleset: &Ruleset, index: u32) -> Option<dcf_match> {
    let rule = ruleset.rules().get(usize::try_from(index).ok()?)?;
    Some(dcf_match {
        rule_index: index,
        rule_id: rule.id.0,
        rule_id_text: uuid_text(&rule.id.0),
        title: rule.title.as_ptr(),
        title_len: rule.title.len(),
        author: rule.author.as_ptr(),
        author_len: rule.author.len(),
        severity: rule.severity.code(),
        action: rule.action.code(),
    })
}

/// `8-4-4-4-12` lowercase hex and a NUL, as `RuleId`'s `Display` writes it, without
/// allocating on the evaluation path.
fn uuid_text(id: &[u8; 16]) -> [c_char; 37] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0 as c_char; 37];
    let mut slots = out.iter_mut();
    for (i, byte) in id.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10)
            && let Some(slot) = slots.next()
        {
            *slot = b'-' as c_char;
        }
        for nibble in [byte >> 4, byte & 0xf] {
            if let (Some(slot), Some(digit)) = (slots.next(), HEX.get(usize::from(nibble))) {
                *slot = *digit as c_char;
            }
        }
    }
    out
}

/// Evaluates one event against the active content and calls `on_match` (if not null) for
/// each matching rule, in rule order.
///
/// Returns `DCF_OK` (with `*result`, if not null, filled in), or `DCF_REFUSED` for this
/// event alone: `E3501` no content loaded, `E3502` a template type the sensor does not
/// implement, `E3503` fewer fields than its manifest declares, `E3504` a value longer than
/// its field's declared maximum, `E3505` the event's step budget is spent (count it and go
/// on; LOADER.md). A refused event reports no matches. `DCF_INVALID_ARGUMENT` for a value of
/// unknown kind or a string that is not UTF-8.
///
/// Thread safety: any number of threads may evaluate on one sensor at once, each with its
/// own scratch, also while another thread loads.
///
/// # Safety
/// `sensor` and `scratch` are live handles, `scratch` used by this thread alone; `event`
/// points to a `dcf_event` whose arrays hold the lengths it states; `on_match` is null or
/// callable with `user`; `result` and `status` are null or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dcf_sensor_evaluate(
    sensor: *const dcf_sensor,
    scratch: *mut dcf_scratch,
    event: *const dcf_event,
    on_match: dcf_match_fn,
    user: *mut c_void,
    result: *mut dcf_evaluation,
    status: *mut dcf_status,
) -> dcf_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        entry(status, || {
            let sensor = reference(sensor, "sensor")?;
            let scratch = scratch_of(scratch)?;
            let event = reference(event, "event")?;
            let fields = slice(event.fields, event.field_count, "event.fields")?;
            let mut values = recycle(core::mem::take(&mut scratch.values));
            values.reserve(fields.len());
            for (index, field) in fields.iter().enumerate() {
                match convert(field) {
                    Ok(value) => values.push(value),
                    Err(bad) => {
                        scratch.values = recycle(values);
                        return Err(bad.failure(index));
                    }
                }
            }
            let event = Event {
                template: event.template_id,
                fields: &values,
            };
            let outcome = run(sensor, scratch, &event, on_match, user, result);
            scratch.values = recycle(values);
            outcome
        })
    }
}

/// Evaluates one event given as a JSON object, as `dcf test` and `dcf scan` read events:
/// `{"template": NAME or ID, "fields": {NAME: VALUE, ...}}`. Fields the sensor does not
/// supply are ignored; fields it supplies but the object leaves out are absent. Otherwise
/// as `dcf_sensor_evaluate`. A JSON text that is not such an object is
/// `DCF_INVALID_ARGUMENT`; a template type the sensor does not implement, `E3502`.
///
/// Thread safety: as `dcf_sensor_evaluate`.
///
/// # Safety
/// As `dcf_sensor_evaluate`, with `json` holding `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn dcf_sensor_evaluate_json(
    sensor: *const dcf_sensor,
    scratch: *mut dcf_scratch,
    json: *const u8,
    len: usize,
    on_match: dcf_match_fn,
    user: *mut c_void,
    result: *mut dcf_evaluation,
    status: *mut dcf_status,
) -> dcf_result {
    // SAFETY: forwarded from this function's contract.
    unsafe {
        entry(status, || {
            let sensor = reference(sensor, "sensor")?;
            let scratch = scratch_of(scratch)?;
            let bytes = slice(json, len, "json")?;
            let text = core::str::from_utf8(bytes)
                .map_err(|e| Failure::invalid("", format!("the event is not UTF-8: {e}")))?;
            let parsed = dcf_events::test_events::parse_events(text).map_err(|errors| {
                let message = errors
                    .first()
                    .map_or_else(|| "not an event".to_string(), |e| e.message.clone());
                Failure::invalid("", format!("the event is not valid: {message}"))
            })?;
            let [event] = parsed.as_slice() else {
                return Err(Failure::invalid(
                    "",
                    format!("one event per call, the text holds {}", parsed.len()),
                ));
            };
            let interface = sensor.sensor().interface();
            let Some(template) =
                dcf_events::test_events::resolve_template(interface, &event.template)
            else {
                let code = SensorCode::UnknownTemplate;
                return Err(Failure::refused(
                    code.as_str(),
                    None,
                    format!("{code}: {}: {:?}", code.description(), event.template),
                ));
            };
            let (owned, _unknown) = dcf_events::test_events::field_array(template, event)
                .map_err(|e| Failure::invalid("", format!("the event is not valid: {e}")))?;
            let values = dcf_events::value::borrow_values(&owned);
            let event = Event {
                template: template.id,
                fields: &values,
            };
            run(sensor, scratch, &event, on_match, user, result)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcf_parser::format::{action, severity};

    /// The header states the wire codes as literals (cbindgen cannot follow another crate's
    /// constants): they must be the format's.
    #[test]
    fn severity_and_action_codes_are_the_formats() {
        assert_eq!(DCF_SEVERITY_INFORMATIONAL, severity::INFORMATIONAL);
        assert_eq!(DCF_SEVERITY_LOW, severity::LOW);
        assert_eq!(DCF_SEVERITY_MEDIUM, severity::MEDIUM);
        assert_eq!(DCF_SEVERITY_HIGH, severity::HIGH);
        assert_eq!(DCF_SEVERITY_CRITICAL, severity::CRITICAL);
        assert_eq!(DCF_ACTION_LOG, action::LOG);
        assert_eq!(DCF_ACTION_DETECT, action::DETECT);
        assert_eq!(DCF_ACTION_BLOCK, action::BLOCK);
    }

    #[test]
    fn rule_ids_are_written_as_their_display_text() {
        let id = dcf_parser::RuleId::parse("3f6c2a1e-8d4b-4f0a-9c2e-5b7d1e9a0c11").unwrap();
        let text: String = uuid_text(&id.0)[..36]
            .iter()
            .map(|c| *c as u8 as char)
            .collect();
        assert_eq!(text, id.to_string());
        assert_eq!(uuid_text(&id.0)[36], 0);
    }

    #[test]
    fn the_field_buffer_keeps_its_capacity() {
        let mut values: Vec<Value<'static>> = Vec::with_capacity(40);
        let text = String::from("x");
        let mut borrowed = recycle(core::mem::take(&mut values));
        borrowed.push(Value::Str(&text));
        let back: Vec<Value<'static>> = recycle(borrowed);
        assert!(back.is_empty());
        assert!(back.capacity() >= 40);
    }
}
