//! The format-aware mutator.
//!
//! A byte-level fuzzer almost never gets past a SHA-256 digest, and rarely keeps a count, a
//! section length and a table in agreement. This mutator finds the structures with the
//! parser's own byte map (`dcf_parser::layout`), edits them coherently, and then recomputes the
//! digest, so that mutated inputs reach the deep checks. The digest repair happens here, in
//! the fuzz build only: the parser always verifies the digest.

use dcf_parser::format::{DIGEST_LEN, FLAG_SIGNED, HEADER_LEN, SIGNATURE_BLOCK_LEN, header};
use dcf_parser::layout::{Span, walk};
use dcf_parser::sha256;

/// A small deterministic generator seeded by libFuzzer.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Rewrites the digest of `data` (as located by its flags) so the file passes `DIG-1`.
pub fn fix_digest(data: &mut [u8]) {
    if data.len() < HEADER_LEN + DIGEST_LEN {
        return;
    }
    let flags = u32::from_le_bytes([
        data[header::FLAGS],
        data[header::FLAGS + 1],
        data[header::FLAGS + 2],
        data[header::FLAGS + 3],
    ]);
    let trailer = DIGEST_LEN
        + if flags & FLAG_SIGNED != 0 {
            SIGNATURE_BLOCK_LEN
        } else {
            0
        };
    let Some(at) = data
        .len()
        .checked_sub(trailer)
        .filter(|at| *at >= HEADER_LEN)
    else {
        return;
    };
    let digest = sha256(&data[..at]);
    data[at..at + DIGEST_LEN].copy_from_slice(&digest);
}

/// Values worth trying in a numeric field: boundaries of the format's limits and of integers.
const INTERESTING: &[u64] = &[
    0,
    1,
    2,
    3,
    4,
    5,
    6,
    7,
    0x7f,
    0x80,
    0xff,
    0x100,
    0x3ff,
    0x400,
    0x401,
    0x7ff,
    0x800,
    0x801,
    0xffff,
    0x1_0000,
    0x1_0001,
    0x10_0000,
    0x10_0001,
    0x40_0000,
    0x100_0000,
    0x400_0000,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_fffe,
    0xffff_ffff,
    u64::MAX,
];

fn is_numeric(span: &Span) -> bool {
    !matches!(
        span.label,
        "header.magic" | "strings.bytes" | "digest" | "signature.key_id" | "signature.signature"
    ) && !span.label.starts_with("section.unknown")
        && span.len <= 8
}

/// Mutates `data` within `max_size` and returns its new length; falls back to `default`
/// (libFuzzer's own mutator, given the bytes and the most it may grow them to) for
/// byte-level changes. For tests and tools; the fuzz targets use [`mutate_in_place`], which
/// works in libFuzzer's buffer without copying it.
pub fn mutate(
    data: &mut Vec<u8>,
    max_size: usize,
    seed: u32,
    default: &mut dyn FnMut(&mut Vec<u8>, usize),
) {
    data.truncate(max_size);
    let size = data.len();
    data.resize(max_size, 0);
    let mut byte_level = |buf: &mut [u8], size: usize| {
        let mut bytes = buf[..size].to_vec();
        default(&mut bytes, buf.len());
        let n = bytes.len().min(buf.len());
        buf[..n].copy_from_slice(&bytes[..n]);
        n
    };
    let n = mutate_buffer(data, size, seed, &mut byte_level);
    data.truncate(n);
}

thread_local! {
    /// The byte map of the input being mutated, kept from one mutation to the next so that
    /// a mutation allocates nothing.
    static SPANS: std::cell::RefCell<Vec<Span>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The mutator proper: `buf[..size]` is the input and `buf.len()` the most it may grow to;
/// returns the new length. `default(buf, size)` is the byte-level mutator, in the same
/// convention. Costs one walk of the byte map, the edit, and one digest over the input:
/// nothing proportional to `buf.len()`.
fn mutate_buffer(
    buf: &mut [u8],
    size: usize,
    seed: u32,
    default: &mut dyn FnMut(&mut [u8], usize) -> usize,
) -> usize {
    let mut rng = Rng(u64::from(seed) ^ 0x9e37_79b9_7f4a_7c15);
    let size = size.min(buf.len());
    SPANS.with(|cell| {
        let mut spans = cell.borrow_mut();
        spans.clear();
        walk(&buf[..size], |s| spans.push(s));
        let len = match rng.below(5) {
            0 => default(buf, size),
            1 | 2 => {
                set_field(&mut buf[..size], &spans, &mut rng);
                size
            }
            3 => duplicate_or_delete_record(buf, size, &spans, &mut rng),
            _ => {
                let len = default(buf, size).min(buf.len());
                set_field(&mut buf[..len], &spans, &mut rng);
                len
            }
        }
        .min(buf.len());
        fix_digest(&mut buf[..len]);
        len
    })
}

/// Sets one numeric field to an interesting value, a neighbour of its value, or the value of
/// another field with the same label.
fn set_field(data: &mut [u8], spans: &[Span], rng: &mut Rng) {
    let numeric = || spans.iter().filter(|s| is_numeric(s));
    let count = numeric().count();
    if count == 0 {
        return;
    }
    let Some(span) = numeric().nth(rng.below(count)) else {
        return;
    };
    let Some(bytes) = data.get(span.offset..span.offset + span.len) else {
        return;
    };
    let mut current = [0u8; 8];
    current[..span.len].copy_from_slice(bytes);
    let current = u64::from_le_bytes(current);
    let value = match rng.below(4) {
        0 => INTERESTING[rng.below(INTERESTING.len())],
        1 => current.wrapping_add(1),
        2 => current.wrapping_sub(1),
        _ => {
            let same = || numeric().filter(|s| s.label == span.label);
            let mut v = [0u8; 8];
            if let Some(other) = same().nth(rng.below(same().count()))
                && let Some(b) = data.get(other.offset..other.offset + other.len)
            {
                v[..other.len.min(8)].copy_from_slice(&b[..other.len.min(8)]);
            }
            u64::from_le_bytes(v)
        }
    };
    if let Some(target) = data.get_mut(span.offset..span.offset + span.len) {
        target.copy_from_slice(&value.to_le_bytes()[..span.len]);
    }
}

/// Copies or removes one whole record of a counted table, keeping the table's count and the
/// enclosing section's length in step, so the file stays framed. `buf[..size]` is the input;
/// returns the new length (at most `buf.len()`).
fn duplicate_or_delete_record(buf: &mut [u8], size: usize, spans: &[Span], rng: &mut Rng) -> usize {
    let is_first = |s: &Span| {
        s.index.is_some()
            && matches!(
                s.label,
                "rule.id"
                    | "node.op"
                    | "template.id"
                    | "field.name"
                    | "attribute.key"
                    | "value.string"
            )
    };
    // Records: runs of spans with the same index whose labels share a table prefix.
    let firsts = || {
        spans
            .iter()
            .enumerate()
            .filter(|(_, s)| is_first(s))
            .map(|(i, _)| i)
    };
    let count = firsts().count();
    if count == 0 {
        return size;
    }
    let Some(first) = firsts().nth(rng.below(count)) else {
        return size;
    };
    let start = spans[first];
    let prefix = start.label.split('.').next().unwrap_or("");
    let mut end = start.offset + start.len;
    for s in &spans[first + 1..] {
        if s.index != start.index || !s.label.starts_with(prefix) {
            break;
        }
        end = s.offset + s.len;
    }
    if start.offset > end || end > size {
        return size;
    }
    let record_len = end - start.offset;
    // The table count is the closest "*count" span before the record; the section length the
    // closest "section.len" span before that.
    let Some(count) = spans[..first]
        .iter()
        .rev()
        .find(|s| s.label.ends_with("count") && s.index.is_none())
    else {
        return size;
    };
    let Some(section_len) = spans[..first]
        .iter()
        .rev()
        .find(|s| s.label == "section.len")
    else {
        return size;
    };
    let grow = rng.below(2) == 0;
    if grow && size + record_len > buf.len() {
        return size;
    }
    let adjust = |buf: &mut [u8], at: usize, by: i64| {
        if let Some(b) = buf.get_mut(at..at + 4) {
            let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64 + by;
            b.copy_from_slice(&(v as u32).to_le_bytes());
        }
    };
    if grow {
        // Shift the tail right by one record, then copy the record (which lies before the
        // tail, so is unmoved) into the gap.
        buf.copy_within(end..size, end + record_len);
        buf.copy_within(start.offset..end, end);
        adjust(buf, count.offset, 1);
        adjust(buf, section_len.offset, record_len as i64);
        size + record_len
    } else {
        buf.copy_within(end..size, start.offset);
        adjust(buf, count.offset, -1);
        adjust(buf, section_len.offset, -(record_len as i64));
        size - record_len
    }
}

/// The libFuzzer custom-mutator calling convention: `data[..size]` is the input, the buffer
/// holds `max_size` bytes, and the new size is returned. The mutation happens in that buffer:
/// nothing is copied or cleared, so a large `max_size` costs nothing per mutation.
pub fn mutate_in_place(
    data: &mut [u8],
    size: usize,
    max_size: usize,
    seed: u32,
    fuzzer_mutate: fn(&mut [u8], usize, usize) -> usize,
) -> usize {
    let limit = max_size.min(data.len());
    let buf = &mut data[..limit];
    let mut default = |buf: &mut [u8], size: usize| fuzzer_mutate(buf, size, buf.len());
    mutate_buffer(buf, size, seed, &mut default)
}
