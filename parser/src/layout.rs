//! A byte map of a file: which structure each byte belongs to.
//!
//! For people who analyse a rejected or crashing file (`dcf inspect --hexdump`), so it walks
//! as far as the bytes allow instead of stopping at the first rule broken: it does no semantic
//! check, only follows the layout. Every span it reports lies inside the input, and it reports
//! them in ascending, non-overlapping order. Bytes it cannot attribute are not reported.
//! It reports through a callback, so it allocates nothing.

use crate::format::{
    DIGEST_LEN, FLAG_SIGNED, HEADER_LEN, KEY_ID_LEN, SECTION_HEADER_LEN, SIGNATURE_BLOCK_LEN,
    SIGNATURE_LEN, header, record, tag,
};

/// One labelled range of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Absolute offset of the first byte.
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
    /// The structure and field, e.g. `"rule.title"`, `"header.magic"`, `"strings.blob"`.
    pub label: &'static str,
    /// Which record of a table the bytes belong to, where there is one.
    pub index: Option<u32>,
}

/// Field layouts of the fixed-size records: `(label, width)` in order.
const TEMPLATE_FIELDS: &[(&str, usize)] = &[
    ("template.id", 4),
    ("template.name", 4),
    ("template.first_field", 4),
    ("template.field_count", 4),
];
const FIELD_FIELDS: &[(&str, usize)] = &[("field.name", 4), ("field.type", 1)];
const ATTRIBUTE_FIELDS: &[(&str, usize)] = &[("attribute.key", 4), ("attribute.value", 4)];
const VALUE_FIELDS: &[(&str, usize)] = &[("value.string", 4)];
const RULE_FIELDS: &[(&str, usize)] = &[
    ("rule.id", 16),
    ("rule.template", 2),
    ("rule.severity", 1),
    ("rule.action", 1),
    ("rule.title", 4),
    ("rule.author", 4),
    ("rule.attr_first", 4),
    ("rule.attr_count", 4),
    ("rule.node_first", 4),
    ("rule.node_count", 4),
];
const NODE_FIELDS: &[(&str, usize)] = &[
    ("node.op", 1),
    ("node.flags", 1),
    ("node.field", 2),
    ("node.a", 4),
    ("node.b", 4),
];
const HEADER_FIELDS: &[(&str, usize)] = &[
    ("header.magic", 8),
    ("header.major", 2),
    ("header.minor", 2),
    ("header.flags", 4),
    ("header.channel", 4),
    ("header.sequence", 8),
    ("header.created_at", 8),
    ("header.expires_at", 8),
    ("header.sensor_min", 6),
    ("header.sensor_max", 6),
];

const _: () = assert!(header::SENSOR_MAX + 6 == HEADER_LEN);
const _: () = assert!(record::RULE == 44 && record::NODE == 12 && record::TEMPLATE == 16);

struct Walker<'a, F: FnMut(Span)> {
    bytes: &'a [u8],
    emit: F,
}

impl<F: FnMut(Span)> Walker<'_, F> {
    /// Emits `[offset, offset + len)` clipped to `limit`; returns the end actually reached.
    fn span(
        &mut self,
        offset: usize,
        len: usize,
        limit: usize,
        label: &'static str,
        index: Option<u32>,
    ) -> usize {
        let end = offset.saturating_add(len).min(limit).min(self.bytes.len());
        if end > offset {
            (self.emit)(Span {
                offset,
                len: end.saturating_sub(offset),
                label,
                index,
            });
        }
        end
    }

    fn u32_at(&self, offset: usize) -> Option<u32> {
        let b = self.bytes.get(offset..)?.first_chunk::<4>()?;
        Some(u32::from_le_bytes(*b))
    }

    /// Emits `fields` for each of `count` records from `offset`, stopping at `limit`.
    fn records(
        &mut self,
        mut offset: usize,
        count: u32,
        fields: &[(&'static str, usize)],
        limit: usize,
    ) -> usize {
        for i in 0..count {
            for &(label, width) in fields {
                let end = self.span(offset, width, limit, label, Some(i));
                if end < offset.saturating_add(width) {
                    return end;
                }
                offset = end;
            }
        }
        offset
    }

    /// A u32 count followed by `count` records; returns the end reached.
    fn counted(
        &mut self,
        offset: usize,
        label: &'static str,
        fields: &[(&'static str, usize)],
        limit: usize,
    ) -> usize {
        let Some(count) = self
            .u32_at(offset)
            .filter(|_| offset.saturating_add(4) <= limit)
        else {
            return offset;
        };
        let after = self.span(offset, 4, limit, label, None);
        self.records(after, count, fields, limit)
    }

    fn strings(&mut self, offset: usize, limit: usize) {
        let Some(count) = self
            .u32_at(offset)
            .filter(|_| offset.saturating_add(4) <= limit)
        else {
            return;
        };
        let mut at = self.span(offset, 4, limit, "strings.count", None);
        let ends_at = at;
        at = self.records(at, count, &[("strings.end", 4)], limit);
        at = self.records(at, count, &[("strings.sorted", 4)], limit);
        let blob_at = at;
        let mut start = 0usize;
        for i in 0..count {
            let Some(end) = self.u32_at(ends_at.saturating_add((i as usize).saturating_mul(4)))
            else {
                break;
            };
            let end = end as usize;
            if end < start {
                break;
            }
            let from = blob_at.saturating_add(start);
            if from >= limit {
                break;
            }
            self.span(
                from,
                end.saturating_sub(start),
                limit,
                "strings.bytes",
                Some(i),
            );
            start = end;
        }
    }

    fn section(&mut self, section_tag: u32, offset: usize, limit: usize) {
        match section_tag {
            tag::STRINGS => self.strings(offset, limit),
            tag::INTERFACE => {
                let at = self.counted(offset, "interface.template_count", TEMPLATE_FIELDS, limit);
                self.counted(at, "interface.field_count", FIELD_FIELDS, limit);
            }
            tag::ATTRIBUTES => {
                self.counted(offset, "attributes.count", ATTRIBUTE_FIELDS, limit);
            }
            tag::VALUES => {
                self.counted(offset, "values.count", VALUE_FIELDS, limit);
            }
            tag::RULES => {
                self.counted(offset, "rules.count", RULE_FIELDS, limit);
            }
            tag::NODES => {
                self.counted(offset, "nodes.count", NODE_FIELDS, limit);
            }
            _ => {
                self.span(
                    offset,
                    limit.saturating_sub(offset),
                    limit,
                    "section.unknown_payload",
                    None,
                );
            }
        }
    }

    fn walk(&mut self) {
        let len = self.bytes.len();
        let mut at = 0usize;
        for &(label, width) in HEADER_FIELDS {
            at = self.span(at, width, len, label, None);
        }
        if len < HEADER_LEN {
            return;
        }
        let signed = self
            .u32_at(header::FLAGS)
            .is_some_and(|f| f & FLAG_SIGNED != 0);
        let trailer = if signed {
            DIGEST_LEN.saturating_add(SIGNATURE_BLOCK_LEN)
        } else {
            DIGEST_LEN
        };
        let body_end = len.saturating_sub(trailer).max(HEADER_LEN);
        let mut offset = HEADER_LEN;
        let mut index = 0u32;
        while offset.saturating_add(SECTION_HEADER_LEN) <= body_end {
            let (Some(section_tag), Some(section_len)) =
                (self.u32_at(offset), self.u32_at(offset.saturating_add(4)))
            else {
                break;
            };
            self.span(offset, 4, body_end, "section.tag", Some(index));
            self.span(
                offset.saturating_add(4),
                4,
                body_end,
                "section.len",
                Some(index),
            );
            let payload = offset.saturating_add(SECTION_HEADER_LEN);
            let end = payload.saturating_add(section_len as usize).min(body_end);
            self.section(section_tag, payload, end);
            offset = end;
            index = index.saturating_add(1);
        }
        if body_end > HEADER_LEN && body_end <= len {
            let after = self.span(body_end, DIGEST_LEN, len, "digest", None);
            if signed {
                let after = self.span(after, KEY_ID_LEN, len, "signature.key_id", None);
                self.span(after, SIGNATURE_LEN, len, "signature.signature", None);
            }
        }
    }
}

/// Walks `bytes` and calls `emit` for every labelled span, in ascending offset order.
pub fn walk(bytes: &[u8], emit: impl FnMut(Span)) {
    Walker { bytes, emit }.walk();
}
