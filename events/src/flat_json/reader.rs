//! The line reader of [`super::JsonBuffers::parse`]: a strict reader of one JSON object,
//! word-at-a-time scanning of plain strings, and the hand-off of nested values to serde_json.

use std::fmt::{self, Write as _};

use serde_json::{Map, Number, Value as Json};

use super::{Field, JsonBuffers, JsonError, Slot, Source, Text};

/// Reads `line`, one JSON object, into `out`.
pub(super) fn read_object(line: &str, out: &mut JsonBuffers) -> Result<(), JsonError> {
    Reader {
        line,
        bytes: line.as_bytes(),
        pos: 0,
        out,
    }
    .object()
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
pub(super) fn valid_name(name: &[u8]) -> bool {
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
    /// [`dcf_sigma::logsource::field_name`] maps it (a test holds the two equal), written to the
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
