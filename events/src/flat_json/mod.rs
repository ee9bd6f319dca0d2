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
//! The result is the same as [`crate::windows::WindowsEvent`]'s slower path
//! ([`WindowsEvent::from_flat_json`](crate::windows::WindowsEvent::from_flat_json), then
//! [`FlatEvent::project`](crate::named::FlatEvent::project)), and the reader accepts exactly
//! the lines serde_json reads as an object; tests hold both.
//!
//! The event types are here; the line reader is in `reader.rs`, the routing of events to
//! template types and their field arrays in `projector.rs` ([`Projector`]).

mod projector;
mod reader;
#[cfg(test)]
mod tests;

use std::fmt;

use dcf_sensor::Value;

pub use projector::{FnvHasher, Projector};

use crate::windows::WindowsEvent;

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
    /// `a.b`), as [`crate::named::FlatEvent::from_json_object`] names them. The previous
    /// event's fields are forgotten.
    pub fn parse<'a>(&'a mut self, line: &'a str) -> Result<FlatJsonEvent<'a>, JsonError> {
        self.fields.clear();
        self.arena.clear();
        reader::read_object(line, self)?;
        Ok(FlatJsonEvent {
            line,
            arena: &self.arena,
            fields: &self.fields,
        })
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
