//! The fast path from a flat JSON event (one object per event, the shape SIEMs and most log
//! converters emit) to the field arrays a sensor evaluates, without building a JSON tree.
//!
//! [`JsonBuffers::parse`] reads one line with a strict reader of its own and returns a
//! [`FlatJsonEvent`], a view of the line and of the buffers. A string without escape sequences,
//! a plain integer and a field name that needs no mapping stay in the line itself; unescaped
//! strings, mapped names and numbers serde_json would write differently go to one text arena
//! that the buffers keep from event to event, so once the buffers have grown to the largest
//! event, reading an event allocates nothing (the rare nested object or array is still read
//! by serde_json). [`Projector`] knows, once for all events, which template types a Windows
//! event is delivered to and where each named field goes.
//!
//! The result is the same as [`crate::adapter::WindowsEvent`]'s slower path
//! ([`WindowsEvent::from_flat_json`](crate::adapter::WindowsEvent::from_flat_json), then
//! [`FlatEvent::project`](crate::adapter::FlatEvent::project)), and the reader accepts exactly
//! the lines serde_json reads as an object; tests hold both.

use std::collections::HashMap;
use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::sync::Mutex;

use dcf_parser::FieldType;
use dcf_sensor::{SensorInterface, Value};
use serde_json::{Map, Number, Value as Json};

use crate::adapter::WindowsEvent;

/// One value of a flat event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scalar<'a> {
    /// JSON `null`.
    Null,
    /// A string: in the line when it had no escapes, otherwise unescaped in the buffers.
    Str(&'a str),
    /// A number: its text as serde_json writes the number back (`1.0e3` is `1000.0`), and its
    /// value when it is an integer that fits `i64`.
    Num(&'a str, Option<i64>),
    /// `true` or `false`.
    Bool(bool),
    /// An array, as compact JSON text (nested objects are flattened into dotted names).
    Array(&'a str),
}

/// Why a line is not a JSON object.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// The byte offset in the line where reading stopped.
    pub offset: usize,
    /// What was wrong there.
    pub reason: &'static str,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.reason, self.offset)
    }
}

impl std::error::Error for JsonError {}

/// A text of an event: a byte range of the line, or of the arena. Ranges, not references, so
/// that [`JsonBuffers`] has no lifetime and outlives the lines it reads.
#[derive(Clone, Copy, Debug)]
struct Text {
    start: usize,
    end: usize,
    source: Source,
}

/// Which text a [`Text`] is a range of. Word-sized on purpose: with a `bool` here, a `Text`
/// returned through memory was stored a byte at a time and read back a word at a time, which
/// stalled store forwarding on every field (a profile showed it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
enum Source {
    Line,
    Arena,
}

impl Text {
    fn line(start: usize, end: usize) -> Text {
        Text {
            start,
            end,
            source: Source::Line,
        }
    }

    fn arena(start: usize, end: usize) -> Text {
        Text {
            start,
            end,
            source: Source::Arena,
        }
    }
}

/// A value of an event, its texts as ranges ([`Scalar`] resolved).
#[derive(Clone, Copy, Debug)]
enum Slot {
    Null,
    Bool(bool),
    Str(Text),
    Num(Text, Option<i64>),
    Array(Text),
}

/// One field of an event, as ranges.
#[derive(Clone, Copy, Debug)]
struct Field {
    name: Text,
    value: Slot,
}

/// The memory [`JsonBuffers::parse`] reads events into, kept from one event to the next: the
/// fields of the last event read, and the text of it that is not in the line.
#[derive(Clone, Debug, Default)]
pub struct JsonBuffers {
    fields: Vec<Field>,
    arena: String,
}

impl JsonBuffers {
    /// Empty buffers; they grow to the largest event read.
    pub fn new() -> JsonBuffers {
        JsonBuffers::default()
    }

    /// Reads one line holding one JSON object (RFC 8259, what `serde_json` reads as an object,
    /// whitespace around it allowed). Nested objects become dotted names (`{"a": {"b": 1}}` →
    /// `a.b`), as [`crate::adapter::FlatEvent::from_json_object`] names them. The previous
    /// event's fields are forgotten.
    pub fn parse<'a>(&'a mut self, line: &'a str) -> Result<FlatJsonEvent<'a>, JsonError> {
        self.fields.clear();
        self.arena.clear();
        Reader {
            line,
            bytes: line.as_bytes(),
            pos: 0,
            out: self,
        }
        .object()?;
        Ok(FlatJsonEvent {
            line,
            arena: &self.arena,
            fields: &self.fields,
        })
    }
}

/// How deep a nested value may go, itself counted: serde_json refuses a document nested 128
/// deep (its recursion limit), and a member's value is already one level inside the event.
/// The reader hands nested values to serde_json, whose fresh limit would allow one more.
const MAX_NESTED_DEPTH: usize = 126;

/// Eight copies of a byte, for the string scan.
const fn splat(b: u8) -> u64 {
    0x0101_0101_0101_0101 * b as u64
}

/// Whether a word holds a zero byte (exact as a whole, not per byte).
const fn has_zero_byte(w: u64) -> bool {
    w.wrapping_sub(splat(1)) & !w & splat(0x80) != 0
}

/// Whether eight string bytes hold one that ends a plain run: `"`, `\` or a control character.
const fn special_in(w: u64) -> bool {
    has_zero_byte(w ^ splat(b'"'))
        || has_zero_byte(w ^ splat(b'\\'))
        // A byte below 0x20 borrows into its high bit that the byte itself does not have.
        || w.wrapping_sub(splat(0x20)) & !w & splat(0x80) != 0
}

/// The index of the first byte at or after `pos` that ends a plain run of string bytes: `"`,
/// `\` or a control character (or the end).
#[inline(always)]
fn plain_end(bytes: &[u8], mut pos: usize) -> usize {
    // Eight bytes at a time first: event strings are paths and command lines.
    while let Some(chunk) = bytes.get(pos..pos.saturating_add(8)) {
        let Ok(word) = <[u8; 8]>::try_from(chunk) else {
            break;
        };
        if special_in(u64::from_le_bytes(word)) {
            break;
        }
        pos += 8;
    }
    while let Some(&b) = bytes.get(pos) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        pos += 1;
    }
    pos
}

/// Whether eight bytes are all bytes of a valid field name: ASCII letters, digits, `_`, `.`
/// and `-`. For a byte below 0x80, adding `0x80 - lo` sets its high bit iff it is at least
/// `lo`, and adding `0x7f - hi` iff it is above `hi`, with no carry into the next byte.
fn name_bytes_in(w: u64) -> bool {
    let high = splat(0x80);
    if w & high != 0 {
        return false;
    }
    let within =
        |lo: u8, hi: u8| w.wrapping_add(splat(0x80 - lo)) & !w.wrapping_add(splat(0x7f - hi));
    let valid = within(b'-', b'.')
        | within(b'0', b'9')
        | within(b'A', b'Z')
        | within(b'_', b'_')
        | within(b'a', b'z');
    valid & high == high
}

/// [`dcf_sensor::is_valid_name`], eight bytes at a time: every key of every event is checked,
/// and the byte-by-byte test (a branch per byte, a misprediction per name) showed in profiles.
/// Short names and the tail are read as overlapping words, not copied to a padded buffer (the
/// copy stalled the load that followed it). A test holds the two equal.
fn valid_name(name: &[u8]) -> bool {
    let len = name.len();
    if len == 0 || len > 128 || name.first().is_some_and(u8::is_ascii_digit) {
        return false;
    }
    let word = |at: usize| {
        name.get(at..at.saturating_add(8))
            .and_then(|w| <[u8; 8]>::try_from(w).ok())
            .map(u64::from_le_bytes)
    };
    let half = |at: usize| {
        name.get(at..at.saturating_add(4))
            .and_then(|w| <[u8; 4]>::try_from(w).ok())
            .map(|w| u64::from(u32::from_le_bytes(w)))
    };
    let last = if len >= 8 {
        let mut at = 0;
        while at + 8 < len {
            match word(at) {
                Some(w) if name_bytes_in(w) => at += 8,
                _ => return false,
            }
        }
        // The last eight bytes, overlapping the words before.
        word(len - 8)
    } else if len >= 4 {
        // The first four and the last four, overlapping.
        half(0).zip(half(len - 4)).map(|(lo, hi)| lo | hi << 32)
    } else {
        // One to three bytes: the first, middle and last, padded with a valid byte.
        let byte = |i: usize| name.get(i).map_or(0, |&b| u64::from(b));
        Some(splat(b'a') & !0xff_ffff | byte(0) | byte(len / 2) << 8 | byte(len - 1) << 16)
    };
    last.is_some_and(name_bytes_in)
}

/// The nesting depth of one JSON value's text (valid JSON: strings are skipped by their quotes).
fn depth_of(text: &[u8]) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for &b in text {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth = depth.saturating_add(1);
                max = max.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// The reader of one line: a cursor over it, writing fields and arena text into the buffers.
/// The top level is read here, without recursion; nested objects and arrays, rare in flat
/// events, go to serde_json (whose recursion limit bounds the stack).
struct Reader<'l, 'b> {
    line: &'l str,
    bytes: &'l [u8],
    pos: usize,
    out: &'b mut JsonBuffers,
}

impl Reader<'_, '_> {
    fn fail<T>(&self, reason: &'static str) -> Result<T, JsonError> {
        Err(JsonError {
            offset: self.pos,
            reason,
        })
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while let Some(b' ' | b'\n' | b'\t' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, reason: &'static str) -> Result<(), JsonError> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            self.fail(reason)
        }
    }

    /// The text of a range, from the line or the arena (None only for a range this reader did
    /// not make).
    fn text(&self, t: Text) -> Option<&str> {
        if t.source == Source::Arena {
            self.out.arena.get(t.start..t.end)
        } else {
            self.line.get(t.start..t.end)
        }
    }

    /// Appends formatted text to the arena (writing to a `String` cannot fail).
    fn write(&mut self, args: fmt::Arguments<'_>) -> Text {
        let start = self.out.arena.len();
        let _ = self.out.arena.write_fmt(args);
        Text::arena(start, self.out.arena.len())
    }

    /// The whole line: one object, then nothing but whitespace.
    fn object(&mut self) -> Result<(), JsonError> {
        self.skip_whitespace();
        self.expect(b'{', "expected a JSON object")?;
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.expect(b'"', "expected a field name")?;
                let key = self.string()?;
                self.skip_whitespace();
                self.expect(b':', "expected ':' after a field name")?;
                self.skip_whitespace();
                self.member(key)?;
                self.skip_whitespace();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_whitespace();
                    }
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return self.fail("expected ',' or '}'"),
                }
            }
        }
        self.skip_whitespace();
        if self.pos < self.bytes.len() {
            return self.fail("trailing characters after the object");
        }
        Ok(())
    }

    /// One member's value, and the field (or, for an object, the fields) it makes.
    fn member(&mut self, key: Text) -> Result<(), JsonError> {
        let value = match self.peek() {
            Some(b'"') => {
                self.pos += 1;
                Slot::Str(self.string()?)
            }
            Some(b'-' | b'0'..=b'9') => self.number()?,
            Some(b't') => self.literal(b"true", Slot::Bool(true))?,
            Some(b'f') => self.literal(b"false", Slot::Bool(false))?,
            Some(b'n') => self.literal(b"null", Slot::Null)?,
            Some(b'[' | b'{') => return self.nested(key),
            _ => return self.fail("expected a value"),
        };
        let name = self.map_name(key)?;
        self.out.fields.push(Field { name, value });
        Ok(())
    }

    fn literal(&mut self, word: &[u8], value: Slot) -> Result<Slot, JsonError> {
        if self
            .bytes
            .get(self.pos..self.pos.saturating_add(word.len()))
            == Some(word)
        {
            self.pos += word.len();
            Ok(value)
        } else {
            self.fail("expected a value")
        }
    }

    /// Advances over string bytes that end nothing: not `"`, `\` or a control character.
    fn skip_plain(&mut self) {
        self.pos = plain_end(self.bytes, self.pos);
    }

    /// A string whose opening quote has been read: its range in the line when it has no
    /// escape, else its unescaped text in the arena.
    #[inline(always)]
    fn string(&mut self) -> Result<Text, JsonError> {
        let start = self.pos;
        self.skip_plain();
        match self.peek() {
            Some(b'"') => {
                let end = self.pos;
                self.pos += 1;
                Ok(Text::line(start, end))
            }
            Some(b'\\') => self.escaped_string(start),
            Some(_) => self.fail("control character in a string"),
            None => self.fail("unterminated string"),
        }
    }

    /// The rest of a string from its first escape: plain runs are copied whole.
    fn escaped_string(&mut self, start: usize) -> Result<Text, JsonError> {
        let out = self.out.arena.len();
        let mut run = start;
        loop {
            match self.peek() {
                Some(b'"') => {
                    self.copy_run(run)?;
                    self.pos += 1;
                    return Ok(Text::arena(out, self.out.arena.len()));
                }
                Some(b'\\') => {
                    self.copy_run(run)?;
                    self.pos += 1;
                    if let Some(b'\\' | b'"' | b'/') = self.peek() {
                        // The escaped byte is itself: it starts the next run (Windows paths
                        // are mostly `\\`), copied with it.
                        run = self.pos;
                        self.pos += 1;
                    } else {
                        self.escape()?;
                        run = self.pos;
                    }
                }
                Some(_) => return self.fail("control character in a string"),
                None => return self.fail("unterminated string"),
            }
            self.skip_plain();
        }
    }

    /// Copies the line from `from` to the cursor into the arena. Both ends are next to ASCII
    /// bytes, so they are character boundaries.
    fn copy_run(&mut self, from: usize) -> Result<(), JsonError> {
        let Some(run) = self.line.get(from..self.pos) else {
            return self.fail("not a character boundary");
        };
        self.out.arena.push_str(run);
        Ok(())
    }

    /// One escape sequence after its backslash, unescaped into the arena.
    fn escape(&mut self) -> Result<(), JsonError> {
        let Some(b) = self.peek() else {
            return self.fail("unterminated string");
        };
        self.pos += 1;
        let c = match b {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => self.unicode_escape()?,
            _ => return self.fail("invalid escape"),
        };
        self.out.arena.push(c);
        Ok(())
    }

    /// `\uXXXX` after its `\u`: a character of the basic plane, or a surrogate pair. A lone
    /// surrogate is refused, as serde_json refuses it in a string.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        let code = match first {
            0xDC00..=0xDFFF => return self.fail("lone surrogate in a \\u escape"),
            0xD800..=0xDBFF => {
                if self.bytes.get(self.pos..self.pos.saturating_add(2)) != Some(b"\\u") {
                    return self.fail("unpaired surrogate in a \\u escape");
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return self.fail("unpaired surrogate in a \\u escape");
                }
                0x1_0000 + ((first - 0xD800) << 10) + (second - 0xDC00)
            }
            _ => first,
        };
        match char::from_u32(code) {
            Some(c) => Ok(c),
            None => self.fail("invalid \\u escape"),
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let mut n = 0u32;
        for _ in 0..4 {
            let Some(digit) = self.peek().and_then(|b| char::from(b).to_digit(16)) else {
                return self.fail("invalid \\u escape");
            };
            n = (n << 4) | digit;
            self.pos += 1;
        }
        Ok(n)
    }

    /// A number (RFC 8259 grammar). A plain integer that serde_json reads as `i64` or `u64`
    /// is its own text; any other number (fraction, exponent, `-0`, beyond `u64`) is read by
    /// serde_json and its text written back as serde_json writes it, as the tree adapter sees it.
    fn number(&mut self) -> Result<Slot, JsonError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        let digits = self.pos;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.skip_digits(),
            _ => return self.fail("invalid number"),
        }
        let digits = self.bytes.get(digits..self.pos).unwrap_or_default();
        let mut plain = true;
        if self.peek() == Some(b'.') {
            self.pos += 1;
            self.require_digits()?;
            plain = false;
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            self.require_digits()?;
            plain = false;
        }
        if plain && let Some(value) = plain_integer(digits, negative) {
            return Ok(Slot::Num(Text::line(start, self.pos), value));
        }
        let number = self
            .line
            .get(start..self.pos)
            .and_then(|token| serde_json::from_str::<Number>(token).ok());
        let Some(number) = number else {
            // The grammar held, so serde_json refused the magnitude (`1e400`).
            return Err(JsonError {
                offset: start,
                reason: "number out of range",
            });
        };
        let text = self.write(format_args!("{number}"));
        Ok(Slot::Num(text, number.as_i64()))
    }

    fn skip_digits(&mut self) {
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
    }

    fn require_digits(&mut self) -> Result<(), JsonError> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return self.fail("invalid number");
        }
        self.skip_digits();
        Ok(())
    }

    /// A nested object or array, read by serde_json: an array is kept as its compact text, an
    /// object's members become fields named `key.member` (deeper objects, `key.member.inner`),
    /// in the order serde_json's map gives them, a repeated member's last value only.
    fn nested(&mut self, key: Text) -> Result<(), JsonError> {
        let start = self.pos;
        let rest = self.line.get(start..).unwrap_or_default();
        let mut values = serde_json::Deserializer::from_str(rest).into_iter::<Json>();
        let Some(Ok(value)) = values.next() else {
            return self.fail("invalid nested array or object");
        };
        let end = start.saturating_add(values.byte_offset());
        let text = self.bytes.get(start..end).unwrap_or_default();
        if depth_of(text) > MAX_NESTED_DEPTH {
            return self.fail("nested too deep");
        }
        self.pos = end;
        if let Json::Object(object) = &value {
            let Some(prefix) = self.text(key).map(str::to_owned) else {
                return self.fail("not a character boundary");
            };
            self.flatten(&prefix, object)
        } else {
            let name = self.map_name(key)?;
            let text = self.write(format_args!("{value}"));
            self.out.fields.push(Field {
                name,
                value: Slot::Array(text),
            });
            Ok(())
        }
    }

    fn flatten(&mut self, prefix: &str, object: &Map<String, Json>) -> Result<(), JsonError> {
        for (k, v) in object {
            let name = format!("{prefix}.{k}");
            let value = match v {
                Json::Object(inner) => {
                    self.flatten(&name, inner)?;
                    continue;
                }
                Json::Null => Slot::Null,
                Json::Bool(b) => Slot::Bool(*b),
                Json::Number(n) => Slot::Num(self.write(format_args!("{n}")), n.as_i64()),
                Json::String(s) => Slot::Str(self.write(format_args!("{s}"))),
                Json::Array(_) => Slot::Array(self.write(format_args!("{v}"))),
            };
            let raw = self.write(format_args!("{name}"));
            let name = self.map_name(raw)?;
            self.out.fields.push(Field { name, value });
        }
        Ok(())
    }

    /// A field name as manifests name fields: a valid name as it is, any other as
    /// [`crate::logsource::field_name`] maps it (a test holds the two equal), written to the
    /// arena byte by byte, so that no name costs an allocation.
    fn map_name(&mut self, raw: Text) -> Result<Text, JsonError> {
        let name = if raw.source == Source::Arena {
            self.out.arena.as_bytes().get(raw.start..raw.end)
        } else {
            self.bytes.get(raw.start..raw.end)
        };
        match name {
            Some(name) if valid_name(name) => return Ok(raw),
            Some(_) => {}
            None => return self.fail("not a character boundary"),
        }
        let start = self.out.arena.len();
        let source = |reader: &Self, i: usize| {
            if raw.source == Source::Arena {
                reader.out.arena.as_bytes().get(i).copied()
            } else {
                reader.bytes.get(i).copied()
            }
        };
        if raw.start == raw.end || source(self, raw.start).is_some_and(|b| b.is_ascii_digit()) {
            self.out.arena.push('_');
        }
        for i in raw.start..raw.end {
            let Some(b) = source(self, i) else {
                return self.fail("not a character boundary");
            };
            if b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-') {
                self.out.arena.push(char::from(b));
            } else {
                let _ = write!(self.out.arena, "_{b:02X}");
            }
        }
        Ok(Text::arena(start, self.out.arena.len()))
    }
}

/// The value of a plain integer token (`-?(0|[1-9][0-9]*)`) when serde_json reads it as an
/// integer whose text is the token: `Some(Some(i))` for an `i64`, `Some(None)` for a `u64`
/// above `i64::MAX`; `None` for `-0` and integers beyond (serde_json reads both as `f64`).
fn plain_integer(digits: &[u8], negative: bool) -> Option<Option<i64>> {
    let mut magnitude = 0u64;
    for &d in digits {
        magnitude = magnitude
            .checked_mul(10)?
            .checked_add(u64::from(d.wrapping_sub(b'0')))?;
    }
    if negative {
        if magnitude == 0 {
            return None;
        }
        0i64.checked_sub_unsigned(magnitude).map(Some)
    } else {
        Some(i64::try_from(magnitude).ok())
    }
}

/// A flat JSON event read by [`JsonBuffers::parse`]: `(field name, value)` in document order,
/// names mapped as manifests name fields. A repeated name appears more than once; its last
/// value is the one that counts. A view: it borrows the line and the buffers.
#[derive(Clone, Copy)]
pub struct FlatJsonEvent<'a> {
    line: &'a str,
    arena: &'a str,
    fields: &'a [Field],
}

impl<'a> FlatJsonEvent<'a> {
    /// A range's text. Every range was made by the reader over this line and arena, so the
    /// empty fallback is never taken.
    fn text(&self, t: Text) -> &'a str {
        let source = match t.source {
            Source::Line => self.line,
            Source::Arena => self.arena,
        };
        source.get(t.start..t.end).unwrap_or_default()
    }

    fn scalar(&self, value: Slot) -> Scalar<'a> {
        match value {
            Slot::Null => Scalar::Null,
            Slot::Bool(b) => Scalar::Bool(b),
            Slot::Str(t) => Scalar::Str(self.text(t)),
            Slot::Num(t, i) => Scalar::Num(self.text(t), i),
            Slot::Array(t) => Scalar::Array(self.text(t)),
        }
    }

    /// The fields, in document order.
    pub fn fields(&self) -> Fields<'a> {
        Fields {
            event: *self,
            iter: self.fields.iter(),
        }
    }

    /// How many fields the event has (a repeated name counted each time).
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    /// Whether the event has no field.
    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// The value of a field.
    pub fn get(&self, name: &str) -> Option<Scalar<'a>> {
        // Lengths first: most names differ in length, and those need no text.
        self.fields
            .iter()
            .rev()
            .find(|f| {
                f.name.end.wrapping_sub(f.name.start) == name.len() && self.text(f.name) == name
            })
            .map(|f| self.scalar(f.value))
    }

    /// The Windows event's routing facts (channel, provider, event id), for
    /// [`WindowsEvent::routes`].
    fn windows(&self) -> WindowsEvent {
        let text = |k: &str| match self.get(k) {
            Some(Scalar::Str(s)) => Some(s.to_string()),
            _ => None,
        };
        // Routing reads only these three; the fields stay out.
        WindowsEvent {
            channel: text("Channel"),
            provider: text("Provider_Name"),
            event_id: event_id(self),
            flat: Default::default(),
        }
    }
}

/// The event id, a number or a number's text.
fn event_id(event: &FlatJsonEvent<'_>) -> Option<i64> {
    match event.get("EventID") {
        Some(Scalar::Num(_, n)) => n,
        Some(Scalar::Str(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

impl fmt::Debug for FlatJsonEvent<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.fields()).finish()
    }
}

/// The fields of a [`FlatJsonEvent`], `(name, value)` in document order.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    event: FlatJsonEvent<'a>,
    iter: std::slice::Iter<'a, Field>,
}

impl<'a> Fields<'a> {
    fn resolve(&self, field: &Field) -> (&'a str, Scalar<'a>) {
        (self.event.text(field.name), self.event.scalar(field.value))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a str, Scalar<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        let field = self.iter.next()?;
        Some(self.resolve(field))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl DoubleEndedIterator for Fields<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        let field = self.iter.next_back()?;
        Some(self.resolve(field))
    }
}

impl ExactSizeIterator for Fields<'_> {}

/// Empties a field array and returns its allocation for values that borrow something else.
/// A `Vec<Value<'e>>` borrows the event it was projected from, so a loop that reads each event
/// into the same [`JsonBuffers`] cannot keep one vector across events; passing it through
/// here between events can. The standard library collects in place between element types of
/// the same layout, so nothing is allocated.
pub fn reuse_fields<'b>(mut fields: Vec<Value<'_>>) -> Vec<Value<'b>> {
    fields.clear();
    // Empty, so the closure never runs: only the allocation changes type.
    fields.into_iter().map(|_| Value::Null).collect()
}

/// FNV-1a: field names are short, and SipHash's per-call setup dominated projection.
#[derive(Clone, Copy, Default)]
pub struct FnvHasher(u64);

impl std::hash::Hasher for FnvHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FnvBuild = std::hash::BuildHasherDefault<FnvHasher>;

/// Template types by channel, then by event id.
type RouteMemo = HashMap<String, HashMap<Option<i64>, Box<[u32]>>>;

/// A template type's fields by name id ([`Projector::resolve`]): index and type.
type FieldSlots = Vec<Option<(usize, FieldType)>>;

/// The id [`Projector::resolve`] gives a field name that no template type has.
const UNKNOWN_NAME: u32 = u32::MAX;

/// Distinct (channel, event id) pairs a [`Projector`] remembers the routes of.
const MAX_REMEMBERED_ROUTES: usize = 4096;

/// Where the fields of flat events go, for one sensor interface.
pub struct Projector {
    /// Template type id by template name.
    by_name: HashMap<String, u32>,
    /// Template types by (channel, event id), filled as events arrive: routing builds log
    /// source names, which costs more than the rest of an event's projection.
    routes: Mutex<RouteMemo>,
    /// Field name ids, over the field names of every template type.
    names: HashMap<String, u32, FnvBuild>,
    /// For each template type id: name id → (index, type), and the field count.
    layout: HashMap<u32, (FieldSlots, usize)>,
}

impl Projector {
    /// The projector of an interface.
    pub fn new(interface: &SensorInterface) -> Projector {
        let mut names: HashMap<String, u32, FnvBuild> = HashMap::default();
        for field in interface.templates.iter().flat_map(|t| t.fields.iter()) {
            let next = names.len() as u32;
            names.entry(field.name.clone()).or_insert(next);
        }
        let layout = interface
            .templates
            .iter()
            .map(|t| {
                let mut slots: FieldSlots = vec![None; names.len()];
                for (i, f) in t.fields.iter().enumerate() {
                    if let Some(slot) = names
                        .get(&f.name)
                        .and_then(|&id| slots.get_mut(id as usize))
                    {
                        *slot = Some((i, f.kind));
                    }
                }
                (t.id, (slots, t.fields.len()))
            })
            .collect();
        Projector {
            by_name: interface
                .templates
                .iter()
                .map(|t| (t.name.clone(), t.id))
                .collect(),
            routes: Mutex::new(HashMap::new()),
            names,
            layout,
        }
    }

    /// The template types a Windows event is delivered to (see [`WindowsEvent::routes`]).
    pub fn windows_templates(&self, event: &FlatJsonEvent<'_>) -> Box<[u32]> {
        let mut out = Vec::new();
        self.windows_templates_into(event, &mut out);
        out.into_boxed_slice()
    }

    /// [`Projector::windows_templates`] into a buffer the caller reuses across events.
    pub fn windows_templates_into(&self, event: &FlatJsonEvent<'_>, out: &mut Vec<u32>) {
        out.clear();
        let channel = match event.get("Channel") {
            Some(Scalar::Str(s)) => s,
            _ => "",
        };
        let event_id = event_id(event);
        let mut routes = self.routes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(known) = routes.get(channel).and_then(|ids| ids.get(&event_id)) {
            out.extend_from_slice(known);
            return;
        }
        let found: Box<[u32]> = event
            .windows()
            .routes()
            .iter()
            .filter_map(|k| self.by_name.get(&k.template_name()).copied())
            .collect();
        out.extend_from_slice(&found);
        // Bounded: channels and event ids come from the events, so cap what is remembered.
        if routes.values().map(HashMap::len).sum::<usize>() < MAX_REMEMBERED_ROUTES {
            routes
                .entry(channel.to_string())
                .or_default()
                .insert(event_id, found);
        }
    }

    /// Fills `out` with the field array of `template` for `event`: each field's value by name,
    /// [`Value::Null`] where the event has none or the value does not convert to the field's
    /// type. Returns false for a template type this projector does not know.
    pub fn project<'e>(
        &self,
        event: &FlatJsonEvent<'e>,
        template: u32,
        out: &mut Vec<Value<'e>>,
    ) -> bool {
        let mut names = Vec::new();
        self.resolve(event, &mut names);
        self.project_resolved(event, &names, template, out)
    }

    /// Looks up the name of each of `event`'s fields once, into `names`, for
    /// [`Projector::project_resolved`]: an event delivered to several template types (a Sysmon
    /// event goes to its category, the `sysmon` service and the `windows` product) then costs
    /// one name lookup per field, not one per field and template type.
    pub fn resolve(&self, event: &FlatJsonEvent<'_>, names: &mut Vec<u32>) {
        names.clear();
        names.extend(event.fields.iter().map(|field| {
            self.names
                .get(event.text(field.name))
                .copied()
                .unwrap_or(UNKNOWN_NAME)
        }));
    }

    /// [`Projector::project`] with the event's names resolved by [`Projector::resolve`].
    pub fn project_resolved<'e>(
        &self,
        event: &FlatJsonEvent<'e>,
        names: &[u32],
        template: u32,
        out: &mut Vec<Value<'e>>,
    ) -> bool {
        let Some((slots, count)) = self.layout.get(&template) else {
            return false;
        };
        out.clear();
        out.resize(*count, Value::Null);
        // Later fields overwrite earlier ones of the same name: the last value wins.
        for (field, &name) in event.fields.iter().zip(names) {
            let Some(&Some((index, kind))) = slots.get(name as usize) else {
                continue;
            };
            let converted = match (kind, event.scalar(field.value)) {
                (_, Scalar::Null) => Value::Null,
                (FieldType::String, Scalar::Str(s)) => Value::Str(s),
                (FieldType::String, Scalar::Num(text, _)) => Value::Str(text),
                (FieldType::String, Scalar::Bool(b)) => {
                    Value::Str(if b { "true" } else { "false" })
                }
                (FieldType::String, Scalar::Array(text)) => Value::Str(text),
                (FieldType::Integer, Scalar::Num(_, Some(i))) => Value::Int(i),
                (FieldType::Integer, Scalar::Str(s)) => {
                    s.trim().parse().map_or(Value::Null, Value::Int)
                }
                (FieldType::Ip, Scalar::Str(s)) => {
                    s.trim().parse::<IpAddr>().map_or(Value::Null, Value::Ip)
                }
                _ => Value::Null,
            };
            if let Some(slot) = out.get_mut(index) {
                *slot = converted;
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapter::{OwnedValue, WindowsEvent};
    use crate::json_reference::{Members, OwnedScalar, reference_fields};
    use crate::logsource::field_name;
    use dcf_sensor::{FieldInterface, TemplateInterface};
    use dcf_test_support::Rng;

    fn interface() -> SensorInterface {
        let t = |id: u32, name: &str, fields: &[(&str, FieldType)]| TemplateInterface {
            id,
            name: name.into(),
            fields: fields
                .iter()
                .map(|(n, k)| FieldInterface {
                    name: n.to_string(),
                    kind: *k,
                })
                .collect(),
        };
        SensorInterface {
            sensor: None,
            version: dcf_parser::SensorVersion {
                major: 1,
                minor: 0,
                patch: 0,
            },
            templates: vec![
                t(
                    1,
                    "windows.process_creation",
                    &[
                        ("Image", FieldType::String),
                        ("ProcessId", FieldType::String),
                        ("Count", FieldType::Integer),
                        ("Dst", FieldType::Ip),
                        ("nested.inner", FieldType::String),
                        ("List", FieldType::String),
                        ("Flag", FieldType::String),
                        ("Missing", FieldType::String),
                        ("Odd_20Name", FieldType::String),
                        ("Ratio", FieldType::String),
                        ("Big", FieldType::Integer),
                    ],
                ),
                t(2, "windows.service.sysmon", &[("Image", FieldType::String)]),
                t(3, "windows", &[("Channel", FieldType::String)]),
            ],
        }
    }

    /// Whether `s` points into `line` (borrowed) rather than into the arena.
    fn in_line(line: &str, s: &str) -> bool {
        line.as_bytes().as_ptr_range().contains(&s.as_ptr())
    }

    #[test]
    fn same_as_the_tree_adapter() {
        let line = r#"{"Channel": "Microsoft-Windows-Sysmon/Operational", "EventID": 1, "Image": "C:\\Windows\\cmd.exe", "ProcessId": 42, "Count": "7", "Dst": "10.1.2.3", "nested": {"inner": "x"}, "List": [1, "a"], "Flag": true, "Odd Name": "o", "Esc": "a\\b", "Ratio": 2.50e1, "Big": -9223372036854775808, "Image": "second"}"#;
        let interface = interface();
        let projector = Projector::new(&interface);
        let mut buffers = JsonBuffers::new();
        let fast = buffers.parse(line).unwrap();
        // An escaped string is unescaped into the arena; a plain one stays in the line; the
        // last "Image" wins.
        let Some(Scalar::Str(esc)) = fast.get("Esc") else {
            panic!("{fast:?}")
        };
        assert_eq!(esc, "a\\b");
        assert!(!in_line(line, esc));
        let Some(Scalar::Str(image)) = fast.get("Image") else {
            panic!()
        };
        assert_eq!(image, "second");
        assert!(in_line(line, image));
        assert!(matches!(fast.get("Channel"), Some(Scalar::Str(s)) if in_line(line, s)));
        // Numbers: a plain integer is its own text, any other is serde_json's text of it.
        assert_eq!(fast.get("ProcessId"), Some(Scalar::Num("42", Some(42))));
        assert_eq!(fast.get("Ratio"), Some(Scalar::Num("25.0", None)));
        assert_eq!(
            fast.get("Big"),
            Some(Scalar::Num("-9223372036854775808", Some(i64::MIN)))
        );
        assert_eq!(fast.get("List"), Some(Scalar::Array("[1,\"a\"]")));
        assert_eq!(fast.get("Odd_20Name"), Some(Scalar::Str("o")));
        assert_eq!(fast.get("Odd Name"), None);
        assert_eq!(fast.len(), 14);
        let templates = projector.windows_templates(&fast);
        let Json::Object(object) = serde_json::from_str::<Json>(line).unwrap() else {
            panic!()
        };
        let slow = WindowsEvent::from_flat_json(&object);
        let slow_templates: Vec<u32> = slow
            .routes()
            .iter()
            .filter_map(|k| interface.template_named(&k.template_name()).map(|t| t.id))
            .collect();
        assert_eq!(*templates, *slow_templates);
        assert_eq!(*templates, [1, 2, 3]);
        // Remembered: the same answer the second time.
        assert_eq!(projector.windows_templates(&fast), templates);
        let mut out = Vec::new();
        for &id in templates.iter() {
            assert!(projector.project(&fast, id, &mut out));
            let expected: Vec<OwnedValue> = slow.flat.project(interface.template(id).unwrap());
            let expected: Vec<Value<'_>> = expected.iter().map(OwnedValue::as_value).collect();
            assert_eq!(out, expected, "template {id}");
        }
        assert!(!projector.project(&fast, 99, &mut out));
        let error = buffers.parse("[1]").unwrap_err();
        assert_eq!((error.offset, error.reason), (0, "expected a JSON object"));
        assert_eq!(error.to_string(), "expected a JSON object at byte 0");
        let error = buffers.parse("{\"a\": 1} x").unwrap_err();
        assert_eq!(error.offset, 9);
        // The buffers are reused: the next event forgets the last one.
        let event = buffers
            .parse(r#" {"a\u00e9": "\ud83d\ude00", "b": {}} "#)
            .unwrap();
        assert_eq!(
            event.fields().collect::<Vec<_>>(),
            [("a_C3_A9", Scalar::Str("😀"))]
        );
        assert!(buffers.parse("{}").unwrap().is_empty());
    }

    #[test]
    fn field_arrays_are_reused() {
        let interface = interface();
        let projector = Projector::new(&interface);
        let mut buffers = JsonBuffers::new();
        let mut spare = Vec::new();
        for (line, image) in [(r#"{"Image": "a"}"#, "a"), (r#"{"Image": "b\\c"}"#, "b\\c")] {
            let event = buffers.parse(line).unwrap();
            let mut fields = reuse_fields(std::mem::take(&mut spare));
            assert!(projector.project(&event, 1, &mut fields));
            assert_eq!(fields.first(), Some(&Value::Str(image)));
            let (pointer, capacity) = (fields.as_ptr() as usize, fields.capacity());
            spare = reuse_fields(fields);
            assert!(spare.is_empty());
            assert_eq!(
                (spare.as_ptr() as usize, spare.capacity()),
                (pointer, capacity)
            );
        }
    }

    // ---------------------------------------------------------------------------------------
    // The differential test: the reader against serde_json.

    /// The last value of each name.
    fn last_values(fields: &[(String, OwnedScalar)]) -> HashMap<&str, &OwnedScalar> {
        fields.iter().map(|(n, v)| (n.as_str(), v)).collect()
    }

    const WHITESPACE: &[&str] = &["", "", "", " ", "  ", "\t", "\n", "\r\n", " \t "];

    /// Pieces of string contents: plain text, every escape, raw non-ASCII, and (rarely) what
    /// JSON forbids: lone surrogates, broken escapes, raw control characters.
    const STRING_PIECES: &[&str] = &[
        "Image",
        "C:\\\\Windows\\\\System32\\\\cmd.exe",
        "a b",
        "\\\"quoted\\\"",
        "\\/",
        "\\b\\f\\n\\r\\t",
        "\\u00e9",
        "\\u00E9",
        "\\u0000",
        "\\u001f",
        "\\u2028",
        "\\uFFFF",
        "\\ud83d\\ude00",
        "\\uD834\\uDD1E",
        "\\uDBFF\\uDFFF",
        "\\ud800\\udc00",
        "\\uD7FF\\uE000",
        "é",
        "😀",
        "日本",
        "\u{7f}",
        "0123456789abcdefghij",
        "@timestamp",
        "1st",
        ".",
        "-",
        "_",
        ",",
        ":{}[]",
    ];
    const BAD_STRING_PIECES: &[&str] = &[
        "\\ud800",
        "\\udc00",
        "\\udfff",
        "\\udbff",
        "\\ud800\\ud800\\udc00",
        "\\ud800\\u0041",
        "\\ud800\\n",
        "\\ud800x",
        "\\uDBFF\\uDBFF",
        "\\x",
        "\\u12",
        "\\u12g4",
        "\\",
        "\u{1}",
        "\t",
        "\n",
    ];

    fn string(rng: &mut Rng, out: &mut String) {
        out.push('"');
        for _ in 0..rng.below(4) {
            if rng.chance(40) {
                out.push_str(rng.pick(BAD_STRING_PIECES));
            } else {
                out.push_str(rng.pick(STRING_PIECES));
            }
        }
        out.push('"');
    }

    const NUMBERS: &[&str] = &[
        "0",
        "-0",
        "1",
        "-1",
        "42",
        "-42",
        "9223372036854775807",
        "9223372036854775808",
        "-9223372036854775808",
        "-9223372036854775809",
        "18446744073709551615",
        "18446744073709551616",
        "-18446744073709551615",
        "-18446744073709551616",
        "123456789012345678901234567890",
        "-123456789012345678901234567890",
        "0.0",
        "-0.0",
        "1.5",
        "-2.25",
        "0.1",
        "1e2",
        "1E2",
        "1e+2",
        "1e-2",
        "-1.5e-7",
        "2.5E+10",
        "0e0",
        "-0e-0",
        "1e308",
        "1.7976931348623157e308",
        "5e-324",
        "1e-400",
        "123456789.123456789",
        "100000000000000000000000e-10",
        "1e400",
        "-1e400",
        "01",
        "-01",
        "00",
        "1.",
        ".5",
        "-",
        "+1",
        "1e",
        "1e+",
        "-.5",
        "1.e3",
        "0x10",
        "1_000",
        "Infinity",
        "NaN",
    ];

    /// A JSON value (sometimes not quite): `depth` bounds nested objects and arrays.
    fn value(rng: &mut Rng, depth: usize, out: &mut String) {
        match rng.below(if depth == 0 { 6 } else { 9 }) {
            0 | 1 => string(rng, out),
            2 => {
                if rng.chance(2) {
                    out.push_str(rng.pick(NUMBERS));
                } else {
                    let n = rng.next_u64() as i64 >> rng.below(64);
                    out.push_str(&n.to_string());
                    if rng.chance(3) {
                        out.push_str(&format!(".{}", rng.below(1000)));
                    }
                    if rng.chance(4) {
                        out.push_str(&format!("e{}", rng.below(40) as i64 - 20));
                    }
                }
            }
            3 => out.push_str(rng.pick(&["true", "false"])),
            4 => out.push_str("null"),
            5 => out.push_str(rng.pick(&["tru", "nul", "fals", "True", "nulll"])),
            6 | 7 => object(rng, depth - 1, out),
            _ => {
                out.push('[');
                for i in 0..rng.below(4) {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(rng.pick(WHITESPACE));
                    value(rng, depth - 1, out);
                }
                out.push(']');
            }
        }
    }

    const NAMES: &[&str] = &[
        "\"Image\"",
        "\"Image\"",
        "\"EventID\"",
        "\"Channel\"",
        "\"CommandLine\"",
        "\"a\"",
        "\"b\"",
        "\"a.b\"",
        "\"Odd Name\"",
        "\"Odd_20Name\"",
        "\"@timestamp\"",
        "\"1st\"",
        "\"\"",
        "\"é\"",
        "\"a\\u0020b\"",
        "\"x\\ty\"",
        "\"C:\\\\\"",
    ];

    fn object(rng: &mut Rng, depth: usize, out: &mut String) {
        out.push('{');
        out.push_str(rng.pick(WHITESPACE));
        for i in 0..rng.below(7) {
            if i > 0 {
                out.push(',');
                out.push_str(rng.pick(WHITESPACE));
            }
            if rng.chance(3) {
                string(rng, out);
            } else {
                out.push_str(rng.pick(NAMES));
            }
            out.push_str(rng.pick(WHITESPACE));
            out.push(':');
            out.push_str(rng.pick(WHITESPACE));
            value(rng, depth, out);
            out.push_str(rng.pick(WHITESPACE));
        }
        out.push('}');
    }

    /// A line: mostly an object, sometimes another value, sometimes mutated bytes.
    fn line(rng: &mut Rng) -> String {
        let mut out = String::new();
        out.push_str(rng.pick(WHITESPACE));
        if rng.chance(20) {
            value(rng, 2, &mut out);
        } else {
            object(rng, 2, &mut out);
        }
        out.push_str(rng.pick(WHITESPACE));
        if rng.chance(3) { mutate(rng, out) } else { out }
    }

    /// Byte-level damage: truncations, bit flips, inserted and deleted bytes.
    fn mutate(rng: &mut Rng, line: String) -> String {
        let mut bytes = line.into_bytes();
        for _ in 0..1 + rng.below(3) {
            let at = rng.below(bytes.len() + 1);
            match rng.below(4) {
                0 => bytes.truncate(at),
                1 if at < bytes.len() => bytes[at] ^= 1 << rng.below(8),
                2 => {
                    let inserted = rng.pick(&[
                        ",", "}", "{", "\"", "\\", ":", "[", "]", "0", "-", "e", ".", " ", "\u{1}",
                        "x", "\\u", "é",
                    ]);
                    bytes.splice(at..at, inserted.bytes());
                }
                _ if at < bytes.len() => {
                    bytes.remove(at);
                }
                _ => {}
            }
        }
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Checks one line; returns whether it was accepted.
    fn check(buffers: &mut JsonBuffers, line: &str) -> bool {
        let serde_object = matches!(serde_json::from_str::<Json>(line), Ok(Json::Object(_)));
        let expected = reference_fields(line);
        assert_eq!(
            expected.is_some(),
            serde_object,
            "the reference disagrees with serde_json on {line:?}"
        );
        let ours = buffers.parse(line);
        assert_eq!(
            ours.is_ok(),
            serde_object,
            "acceptance differs from serde_json on {line:?}: {ours:?}"
        );
        let (Ok(event), Some(expected)) = (ours, expected) else {
            return false;
        };
        let fields: Vec<(String, OwnedScalar)> = event
            .fields()
            .map(|(n, v)| (n.to_string(), OwnedScalar::from(v)))
            .collect();
        assert_eq!(fields, expected, "fields differ on {line:?}");
        assert_eq!(last_values(&fields), last_values(&expected), "on {line:?}");
        for (name, value) in last_values(&expected) {
            assert_eq!(
                event.get(name).map(OwnedScalar::from).as_ref(),
                Some(value),
                "{line:?}"
            );
        }
        // Without escapes or nesting, strings and names stay in the line.
        if !line.contains(['\\', '[']) && line.matches('{').count() == 1 {
            let names_kept = serde_json::from_str::<Members>(line)
                .is_ok_and(|m| m.0.iter().all(|(k, _)| dcf_sensor::is_valid_name(k)));
            for (name, value) in event.fields() {
                if let Scalar::Str(s) = value {
                    assert!(
                        in_line(line, s) || s.is_empty(),
                        "{s:?} copied from {line:?}"
                    );
                }
                if names_kept {
                    assert!(in_line(line, name), "{name:?} copied from {line:?}");
                }
            }
        }
        true
    }

    #[test]
    fn accepts_and_reads_what_serde_json_does() {
        let mut rng = Rng::new(0x5eed_f1a7_1503_0001);
        let mut buffers = JsonBuffers::new();
        let (mut accepted, mut total) = (0, 0);
        for _ in 0..40_000 {
            let line = line(&mut rng);
            accepted += usize::from(check(&mut buffers, &line));
            total += 1;
        }
        // Both sides of the acceptance must be exercised.
        assert!(
            accepted > total / 4 && accepted < total * 3 / 4,
            "{accepted} of {total} accepted"
        );
    }

    #[test]
    fn every_number_shape_as_serde_json_reads_it() {
        let mut buffers = JsonBuffers::new();
        for n in NUMBERS {
            for line in [
                format!("{{\"n\":{n}}}"),
                format!("{{\"n\": {n} , \"m\":[{n}]}}"),
            ] {
                check(&mut buffers, &line);
            }
        }
        // Integers around every power of ten and the i64/u64 boundaries.
        let mut edges = vec![i128::from(i64::MIN), i128::from(u64::MAX)];
        for p in 0..20 {
            edges.push(10i128.pow(p));
        }
        for e in edges {
            for d in -2..=2 {
                for sign in [1, -1] {
                    check(&mut buffers, &format!("{{\"n\":{}}}", sign * (e + d)));
                }
            }
        }
    }

    #[test]
    fn every_escape_and_invalid_string_as_serde_json_reads_it() {
        let mut buffers = JsonBuffers::new();
        for piece in STRING_PIECES.iter().chain(BAD_STRING_PIECES) {
            for line in [
                format!("{{\"s\":\"{piece}\"}}"),
                format!("{{\"s\":\"x{piece}y{piece}\"}}"),
                format!("{{\"{piece}\":1}}"),
                format!("{{\"o\":{{\"{piece}\":\"{piece}\"}}}}"),
            ] {
                check(&mut buffers, &line);
            }
        }
        // Every byte, raw and after a backslash, in a string and between members.
        for b in 0..=0x7fu8 {
            let c = char::from(b);
            for line in [
                format!("{{\"s\":\"{c}\"}}"),
                format!("{{\"s\":\"\\{c}\"}}"),
                format!("{{\"s\":\"\\u00{c}0\"}}"),
                format!("{{\"s\":1{c}}}"),
                format!("{{\"s\":1}}{c}"),
                format!("{c}{{}}"),
            ] {
                check(&mut buffers, &line);
            }
        }
        // Every prefix of a line with every kind of value.
        let full = r#" {"a":"x\"\u00e9\ud83d\ude00","b":-1.5e3,"c":[1,{"d":null}],"e":{"f":{"g":true}},"h":false,"i":null,"j":18446744073709551616} "#;
        for end in 0..=full.len() {
            if let Some(prefix) = full.get(..end) {
                check(&mut buffers, prefix);
            }
        }
    }

    #[test]
    fn nesting_is_bounded_as_serde_json_bounds_it() {
        let mut buffers = JsonBuffers::new();
        for depth in (1..=8).chain(120..=132).chain([1_000, 100_000]) {
            let arrays = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
            let objects = format!(
                "{{\"a\":{}1{}}}",
                "{\"b\":".repeat(depth),
                "}".repeat(depth)
            );
            let mixed = format!(
                "{{\"a\":{}\"[{{\"{}}}",
                "[{\"b\":".repeat(depth / 2),
                "}]".repeat(depth / 2)
            );
            let unclosed = format!("{{\"a\":{}", "[".repeat(depth));
            for line in [arrays, objects, mixed, unclosed] {
                check(&mut buffers, &line);
            }
        }
    }

    #[test]
    fn valid_names_are_the_sensors() {
        let mut names = vec![String::new(), "a".repeat(128), "a".repeat(129)];
        for b in 0..=255u8 {
            for at in 0..20 {
                let mut name = [b'a'; 20];
                name[at] = b;
                for len in [1, 2, 7, 8, 9, 15, 16, 17, 20] {
                    names.push(String::from_utf8_lossy(name.get(..len).unwrap()).into_owned());
                }
            }
        }
        for name in &names {
            assert_eq!(
                valid_name(name.as_bytes()),
                dcf_sensor::is_valid_name(name),
                "{name:?}"
            );
        }
    }

    #[test]
    fn names_are_mapped_as_field_name_maps_them() {
        let mut buffers = JsonBuffers::new();
        for name in [
            "",
            "a",
            "1",
            "1a",
            "a b",
            "é",
            "@timestamp",
            "a.b-c_d",
            "\u{7f}",
            "日本",
            "a,b",
        ] {
            let long = name.repeat(60);
            for name in [name, long.as_str()] {
                let line = serde_json::json!({ name: 1 }).to_string();
                let event = buffers.parse(&line).unwrap();
                assert_eq!(
                    event.fields().map(|(n, _)| n).collect::<Vec<_>>(),
                    [field_name(name)]
                );
            }
        }
    }
}
