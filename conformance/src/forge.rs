//! Forges invalid files from raw parts.
//!
//! The canonical writer cannot produce an invalid file, by design, so the invalid corpus is
//! assembled here: a valid file is encoded, split into its header and section payloads
//! (located with the parser's own `sections()`), patched, and reassembled with a fresh
//! digest. This module writes bytes; it never interprets them, so it is not a second reader.

use dcf_parser::format::{DIGEST_LEN, HEADER_LEN, SECTION_HEADER_LEN, record};
use dcf_parser::{Content, parse, sha256};

/// A file in pieces.
#[derive(Clone, Debug)]
pub struct Forge {
    /// The 56 header bytes.
    pub header: Vec<u8>,
    /// Sections in order: tag, payload, and a length to write instead of the real one.
    pub sections: Vec<ForgedSection>,
    /// Bytes placed after the last section, inside the digested body.
    pub body_tail: Vec<u8>,
    /// The signature block, written after the digest when present.
    pub signature_block: Option<Vec<u8>>,
}

/// One section of a forged file.
#[derive(Clone, Debug)]
pub struct ForgedSection {
    /// Tag.
    pub tag: u32,
    /// Payload.
    pub payload: Vec<u8>,
    /// Length field to write; the payload's real length when `None`.
    pub len_override: Option<u32>,
}

impl Forge {
    /// Splits the canonical encoding of a valid content.
    pub fn from_content(content: &Content) -> Forge {
        let bytes = content
            .encode()
            .unwrap_or_else(|e| panic!("corpus base content must encode: {e}"));
        let view = parse(&bytes).unwrap_or_else(|e| panic!("corpus base content must parse: {e}"));
        let sections = view
            .sections()
            .map(|s| ForgedSection {
                tag: s.tag,
                payload: s.payload.to_vec(),
                len_override: None,
            })
            .collect();
        let signature_block = view
            .signature()
            .map(|s| [s.key_id.as_slice(), s.signature.as_slice()].concat());
        Forge {
            header: bytes[..HEADER_LEN].to_vec(),
            sections,
            body_tail: vec![],
            signature_block,
        }
    }

    fn index(&self, tag: u32) -> usize {
        self.sections
            .iter()
            .position(|s| s.tag == tag)
            .unwrap_or_else(|| panic!("no section {tag}"))
    }

    /// The payload of section `tag`.
    pub fn payload(&mut self, tag: u32) -> &mut Vec<u8> {
        let i = self.index(tag);
        &mut self.sections[i].payload
    }

    /// Absolute offset of the header of section `tag` in the built file.
    pub fn section_offset(&self, tag: u32) -> usize {
        let i = self.index(tag);
        HEADER_LEN
            + self.sections[..i]
                .iter()
                .map(|s| SECTION_HEADER_LEN + s.payload.len())
                .sum::<usize>()
    }

    /// Absolute offset of byte `rel` of the payload of section `tag` in the built file.
    pub fn at(&self, tag: u32, rel: usize) -> usize {
        self.section_offset(tag) + SECTION_HEADER_LEN + rel
    }

    /// Absolute offset of the end of the last section.
    pub fn sections_end(&self) -> usize {
        HEADER_LEN
            + self
                .sections
                .iter()
                .map(|s| SECTION_HEADER_LEN + s.payload.len())
                .sum::<usize>()
    }

    /// Overwrites bytes of the payload of section `tag` at `rel`.
    pub fn put(&mut self, tag: u32, rel: usize, bytes: &[u8]) {
        self.payload(tag)[rel..rel + bytes.len()].copy_from_slice(bytes);
    }

    /// Overwrites a little-endian u32 of section `tag` at `rel`.
    pub fn put_u32(&mut self, tag: u32, rel: usize, value: u32) {
        self.put(tag, rel, &value.to_le_bytes());
    }

    /// Reads back a little-endian u32 this forge wrote or copied (its own bytes, not a file).
    pub fn get_u32(&mut self, tag: u32, rel: usize) -> u32 {
        let p = self.payload(tag);
        u32::from_le_bytes([p[rel], p[rel + 1], p[rel + 2], p[rel + 3]])
    }

    /// Overwrites header bytes at `offset`.
    pub fn put_header(&mut self, offset: usize, bytes: &[u8]) {
        self.header[offset..offset + bytes.len()].copy_from_slice(bytes);
    }

    /// Assembles the file with a correct digest over header and body.
    pub fn build(&self) -> Vec<u8> {
        let mut out = self.header.clone();
        for s in &self.sections {
            out.extend_from_slice(&s.tag.to_le_bytes());
            out.extend_from_slice(
                &s.len_override
                    .unwrap_or(s.payload.len() as u32)
                    .to_le_bytes(),
            );
            out.extend_from_slice(&s.payload);
        }
        out.extend_from_slice(&self.body_tail);
        let digest = sha256(&out);
        out.extend_from_slice(&digest);
        debug_assert_eq!(digest.len(), DIGEST_LEN);
        if let Some(block) = &self.signature_block {
            out.extend_from_slice(block);
        }
        out
    }
}

/// Payload-relative offsets of the tables, from the record sizes of the format definitions.
pub mod rel {
    use super::record;

    /// Offset of entry `i` of a table that follows a u32 count at payload start.
    pub fn entry(i: usize, size: usize) -> usize {
        4 + i * size
    }

    /// Offset of rule record `i`.
    pub fn rule(i: usize) -> usize {
        entry(i, record::RULE)
    }

    /// Offset of node record `i`.
    pub fn node(i: usize) -> usize {
        entry(i, record::NODE)
    }

    /// Offset of template record `i`.
    pub fn template(i: usize) -> usize {
        entry(i, record::TEMPLATE)
    }

    /// Rule record field offsets.
    pub mod rule_field {
        /// `id`.
        pub const ID: usize = 0;
        /// `template`.
        pub const TEMPLATE: usize = 16;
        /// `severity`.
        pub const SEVERITY: usize = 18;
        /// `action`.
        pub const ACTION: usize = 19;
        /// `attr_first`.
        pub const ATTR_FIRST: usize = 28;
        /// `attr_count`.
        pub const ATTR_COUNT: usize = 32;
        /// `node_first`.
        pub const NODE_FIRST: usize = 36;
        /// `node_count`.
        pub const NODE_COUNT: usize = 40;
    }
}

/// Encodes a raw node record.
pub fn node_record(op: u8, flags: u8, field: u16, a: u32, b: u32) -> Vec<u8> {
    let mut n = vec![op, flags];
    n.extend_from_slice(&field.to_le_bytes());
    n.extend_from_slice(&a.to_le_bytes());
    n.extend_from_slice(&b.to_le_bytes());
    n
}

/// Builds a `STRINGS` payload from explicit parts, for forging string-table defects.
pub fn strings_payload(strings: &[&[u8]], sorted: &[u32]) -> Vec<u8> {
    let mut out = (strings.len() as u32).to_le_bytes().to_vec();
    let mut end = 0u32;
    for s in strings {
        end += s.len() as u32;
        out.extend_from_slice(&end.to_le_bytes());
    }
    for i in sorted {
        out.extend_from_slice(&i.to_le_bytes());
    }
    for s in strings {
        out.extend_from_slice(s);
    }
    out
}
