//! The canonical writer (feature `alloc`).
//!
//! The writer lays out exactly the bytes the spec allows for a model: strings interned in
//! order of first reference, ranges tiled in order, no padding. It then reads its own output
//! back with [`crate::parse`], so it can never hand out bytes the reader would reject, and a
//! model that breaks a rule (unsorted ids, a field index past its template, an undeclared
//! template) is refused with the very code a reader would report.

use alloc::vec::Vec;

use crate::error::{Error, ErrorCode};
use crate::format::{FLAG_SIGNED, FORMAT_MAJOR, MAGIC, SIGNATURE_BLOCK_LEN, match_flag, op, tag};
use crate::frame::sha256;
use crate::limits::{MAX_FILE_SIZE, MAX_RULES, MAX_TEMPLATES};
use crate::model::Content;
use crate::types::{Match, Node, Operand, Target};
use crate::view::parse;

/// Interns strings in order of first reference, in an open-addressing hash table: the writer
/// looks up every string reference twice (once to intern, once to write), millions of times
/// for a large content, and an ordered map's comparisons at scattered addresses dominated it.
#[derive(Default)]
struct Interner<'c> {
    order: Vec<&'c str>,
    /// Slot `i` holds `1 + index into order`, or 0 when empty. Length a power of two, at
    /// least twice `order.len()`.
    slots: Vec<u32>,
}

/// FNV-1a, 64-bit: simple and good enough for an in-memory table of distinct strings.
fn hash(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

impl<'c> Interner<'c> {
    /// The slot where `s` is, or the empty slot where it would go.
    fn find(&self, s: &str) -> (usize, Option<u32>) {
        let mask = self.slots.len().wrapping_sub(1);
        let mut i = (hash(s) as usize) & mask;
        loop {
            match self.slots.get(i) {
                Some(0) | None => return (i, None),
                Some(&k) => {
                    let index = k.wrapping_sub(1);
                    if self.order.get(index as usize) == Some(&s) {
                        return (i, Some(index));
                    }
                }
            }
            i = i.wrapping_add(1) & mask;
        }
    }

    fn grow(&mut self) {
        let size = self.slots.len().saturating_mul(2).max(1024);
        self.slots = alloc::vec![0; size];
        let mask = size.wrapping_sub(1);
        for (index, s) in self.order.iter().enumerate() {
            let mut i = (hash(s) as usize) & mask;
            while self.slots.get(i).is_some_and(|k| *k != 0) {
                i = i.wrapping_add(1) & mask;
            }
            if let Some(slot) = self.slots.get_mut(i) {
                *slot = (index as u32).wrapping_add(1);
            }
        }
    }

    fn add(&mut self, s: &'c str) -> u32 {
        if self.order.len().saturating_mul(2) >= self.slots.len() {
            self.grow();
        }
        match self.find(s) {
            (_, Some(index)) => index,
            (slot, None) => {
                let index = self.order.len() as u32;
                self.order.push(s);
                if let Some(k) = self.slots.get_mut(slot) {
                    *k = index.wrapping_add(1);
                }
                index
            }
        }
    }

    fn get(&self, s: &str) -> u32 {
        if self.slots.is_empty() {
            return u32::MAX;
        }
        self.find(s).1.unwrap_or(u32::MAX)
    }

    /// The indexes of the strings in byte order: the table's sorted index.
    fn sorted(&self) -> Vec<u32> {
        let mut sorted: Vec<u32> = (0..self.order.len() as u32).collect();
        sorted.sort_unstable_by(|a, b| {
            self.order
                .get(*a as usize)
                .cmp(&self.order.get(*b as usize))
        });
        sorted
    }
}

/// Little-endian byte sink.
#[derive(Default)]
struct Out(Vec<u8>);

impl Out {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u16(&mut self, v: u16) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.0.extend_from_slice(v);
    }
    fn section(&mut self, section_tag: u32, payload: &Out) {
        self.u32(section_tag);
        self.u32(len32(payload.0.len()));
        self.bytes(&payload.0);
    }
}

/// Lengths past `u32::MAX` cannot be in a valid file; they saturate so that the read-back
/// reports the limit they break.
fn len32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

fn too_many(code: ErrorCode, limit: u32, found: usize) -> Error {
    Error::new(code, 0)
        .expected(u64::from(limit))
        .found(found as u64)
}

impl Content {
    /// Writes the canonical encoding of the content and checks it by reading it back.
    pub fn encode(&self) -> Result<Vec<u8>, Error> {
        // Refuse sizes that would not fit the wire's counters before building anything.
        if self.templates.len() > MAX_TEMPLATES as usize {
            return Err(too_many(
                ErrorCode::TooManyTemplates,
                MAX_TEMPLATES,
                self.templates.len(),
            ));
        }
        if self.rules.len() > MAX_RULES as usize {
            return Err(too_many(
                ErrorCode::TooManyRules,
                MAX_RULES,
                self.rules.len(),
            ));
        }
        let bytes = self.write();
        if bytes.len() > MAX_FILE_SIZE {
            return Err(
                Error::new(ErrorCode::FileTooLarge, MAX_FILE_SIZE).found(bytes.len() as u64)
            );
        }
        parse(&bytes)?;
        Ok(bytes)
    }

    fn intern(&self) -> Interner<'_> {
        let mut strings = Interner::default();
        for t in &self.templates {
            strings.add(&t.name);
        }
        for f in self.templates.iter().flat_map(|t| &t.fields) {
            strings.add(&f.name);
        }
        for a in self.rules.iter().flat_map(|r| &r.attributes) {
            strings.add(&a.key);
            strings.add(&a.value);
        }
        for node in self.rules.iter().flat_map(|r| &r.expression) {
            if let Node::Match(Match {
                operand: Operand::Values(values),
                ..
            }) = node
            {
                for v in values {
                    strings.add(v);
                }
            }
        }
        for r in &self.rules {
            strings.add(&r.title);
            strings.add(&r.author);
        }
        strings
    }

    fn write(&self) -> Vec<u8> {
        let strings = self.intern();
        // Required sections and extensions go out in ascending tag order, so an extension with
        // a tag below a required one (tag 0) stays where the reader found it.
        let mut sections: Vec<(u32, Out)> =
            Vec::with_capacity(6usize.saturating_add(self.extensions.len()));

        let mut payload = Out::default();
        payload.u32(len32(strings.order.len()));
        let mut end: u32 = 0;
        for s in &strings.order {
            end = end.saturating_add(len32(s.len()));
            payload.u32(end);
        }
        for index in strings.sorted() {
            payload.u32(index);
        }
        for s in &strings.order {
            payload.bytes(s.as_bytes());
        }
        sections.push((tag::STRINGS, payload));

        let mut payload = Out::default();
        payload.u32(len32(self.templates.len()));
        let mut first_field: u32 = 0;
        for t in &self.templates {
            payload.u32(t.id);
            payload.u32(strings.get(&t.name));
            payload.u32(first_field);
            payload.u32(len32(t.fields.len()));
            first_field = first_field.saturating_add(len32(t.fields.len()));
        }
        payload.u32(first_field);
        for f in self.templates.iter().flat_map(|t| &t.fields) {
            payload.u32(strings.get(&f.name));
            payload.u8(f.kind.code());
        }
        sections.push((tag::INTERFACE, payload));

        let mut payload = Out::default();
        payload.u32(len32(self.rules.iter().map(|r| r.attributes.len()).sum()));
        for a in self.rules.iter().flat_map(|r| &r.attributes) {
            payload.u32(strings.get(&a.key));
            payload.u32(strings.get(&a.value));
        }
        sections.push((tag::ATTRIBUTES, payload));

        let mut payload = Out::default();
        let mut value_count: usize = 0;
        let mut values = Out::default();
        for node in self.rules.iter().flat_map(|r| &r.expression) {
            if let Node::Match(Match {
                operand: Operand::Values(list),
                ..
            }) = node
            {
                for v in list {
                    values.u32(strings.get(v));
                    value_count = value_count.saturating_add(1);
                }
            }
        }
        payload.u32(len32(value_count));
        payload.bytes(&values.0);
        sections.push((tag::VALUES, payload));

        let mut payload = Out::default();
        payload.u32(len32(self.rules.len()));
        let (mut attr_first, mut node_first) = (0u32, 0u32);
        for r in &self.rules {
            payload.bytes(&r.id.0);
            // An undeclared template id is written as the first index past the table, which
            // the read-back rejects with E0604.
            let template = self
                .templates
                .binary_search_by_key(&r.template, |t| t.id)
                .unwrap_or(self.templates.len());
            payload.u16(u16::try_from(template).unwrap_or(u16::MAX));
            payload.u8(r.severity.code());
            payload.u8(r.action.code());
            payload.u32(strings.get(&r.title));
            payload.u32(strings.get(&r.author));
            payload.u32(attr_first);
            payload.u32(len32(r.attributes.len()));
            payload.u32(node_first);
            payload.u32(len32(r.expression.len()));
            attr_first = attr_first.saturating_add(len32(r.attributes.len()));
            node_first = node_first.saturating_add(len32(r.expression.len()));
        }
        sections.push((tag::RULES, payload));

        let mut payload = Out::default();
        payload.u32(node_first);
        let mut value_first: u32 = 0;
        for node in self.rules.iter().flat_map(|r| &r.expression) {
            write_node(&mut payload, node, &mut value_first);
        }
        sections.push((tag::NODES, payload));

        for e in &self.extensions {
            let mut payload = Out::default();
            payload.bytes(&e.payload);
            sections.push((e.tag, payload));
        }
        sections.sort_by_key(|(section_tag, _)| *section_tag);
        let mut body = Out::default();
        for (section_tag, payload) in &sections {
            body.section(*section_tag, payload);
        }

        let mut out = Out::default();
        out.bytes(&MAGIC);
        out.u16(FORMAT_MAJOR);
        out.u16(self.header.minor);
        out.u32(if self.signature.is_some() {
            FLAG_SIGNED
        } else {
            0
        });
        out.u32(self.header.channel);
        out.u64(self.header.sequence);
        out.u64(self.header.created_at);
        out.u64(self.header.expires_at);
        for v in [self.header.sensor_min, self.header.sensor_max] {
            out.u16(v.major);
            out.u16(v.minor);
            out.u16(v.patch);
        }
        out.bytes(&body.0);
        let digest = sha256(&out.0);
        out.bytes(&digest);
        if let Some(sig) = &self.signature {
            out.0.reserve(SIGNATURE_BLOCK_LEN);
            out.bytes(&sig.key_id);
            out.bytes(&sig.signature);
        }
        out.0
    }
}

fn write_node(out: &mut Out, node: &Node<Vec<alloc::string::String>>, value_first: &mut u32) {
    let (code, flags, field, a, b) = match node {
        Node::And { children } => (op::AND, 0, 0, *children, 0),
        Node::Or { children } => (op::OR, 0, 0, *children, 0),
        Node::Not => (op::NOT, 0, 0, 0, 0),
        Node::AtLeast { required, children } => (op::AT_LEAST, 0, 0, *required, *children),
        Node::Any { field } => (op::ANY, 0, *field, 0, 0),
        Node::Exists { field } => (op::EXISTS, 0, *field, 0, 0),
        Node::IsNull { field } => (op::IS_NULL, 0, *field, 0, 0),
        Node::Compare { op, field, value } => {
            let bits = *value as u64;
            (
                op.code(),
                0,
                *field,
                bits as u32,
                bits.wrapping_shr(32) as u32,
            )
        }
        Node::Match(m) => {
            let mut flags = 0u8;
            if m.case_sensitive {
                flags |= match_flag::CASE_SENSITIVE;
            }
            if m.all_of {
                flags |= match_flag::ALL_OF;
            }
            let field = match m.target {
                Target::Field(f) => f,
                Target::Keyword => {
                    flags |= match_flag::KEYWORD;
                    0
                }
            };
            let (a, b) = match &m.operand {
                Operand::Field(other) => {
                    flags |= match_flag::FIELD_REF;
                    (u32::from(*other), 0)
                }
                Operand::Values(list) => {
                    let first = *value_first;
                    let count = len32(list.len());
                    *value_first = first.saturating_add(count);
                    (first, count)
                }
            };
            (m.kind.code(), flags, field, a, b)
        }
    };
    out.u8(code);
    out.u8(flags);
    out.u16(field);
    out.u32(a);
    out.u32(b);
}
