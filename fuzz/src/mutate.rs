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

/// Mutates `data` in place within `max_size` and returns its new length; falls back to
/// `default` (libFuzzer's own mutator) for byte-level changes.
pub fn mutate(
    data: &mut Vec<u8>,
    max_size: usize,
    seed: u32,
    default: &mut dyn FnMut(&mut Vec<u8>, usize),
) {
    let mut rng = Rng(u64::from(seed) ^ 0x9e37_79b9_7f4a_7c15);
    let mut spans = Vec::new();
    walk(data, |s| spans.push(s));
    match rng.below(5) {
        0 => default(data, max_size),
        1 | 2 => set_field(data, &spans, &mut rng),
        3 => duplicate_or_delete_record(data, &spans, &mut rng, max_size),
        _ => {
            default(data, max_size);
            set_field(data, &spans, &mut rng);
        }
    }
    data.truncate(max_size);
    fix_digest(data);
}

/// Sets one numeric field to an interesting value, a neighbour of its value, or the value of
/// another field with the same label.
fn set_field(data: &mut [u8], spans: &[Span], rng: &mut Rng) {
    let numeric: Vec<&Span> = spans.iter().filter(|s| is_numeric(s)).collect();
    if numeric.is_empty() {
        return;
    }
    let span = numeric[rng.below(numeric.len())];
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
            let same: Vec<&&Span> = numeric.iter().filter(|s| s.label == span.label).collect();
            let other = same[rng.below(same.len())];
            let mut v = [0u8; 8];
            if let Some(b) = data.get(other.offset..other.offset + other.len) {
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
/// enclosing section's length in step, so the file stays framed.
fn duplicate_or_delete_record(data: &mut Vec<u8>, spans: &[Span], rng: &mut Rng, max_size: usize) {
    // Records: runs of spans with the same index whose labels share a table prefix.
    let firsts: Vec<usize> = spans
        .iter()
        .enumerate()
        .filter(|(_, s)| {
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
        })
        .map(|(i, _)| i)
        .collect();
    if firsts.is_empty() {
        return;
    }
    let first = firsts[rng.below(firsts.len())];
    let start = spans[first];
    let prefix = start.label.split('.').next().unwrap_or("");
    let mut end = start.offset + start.len;
    for s in &spans[first + 1..] {
        if s.index != start.index || !s.label.starts_with(prefix) {
            break;
        }
        end = s.offset + s.len;
    }
    let record = data[start.offset..end].to_vec();
    // The table count is the closest "*count" span before the record; the section length the
    // closest "section.len" span before that.
    let Some(count) = spans[..first]
        .iter()
        .rev()
        .find(|s| s.label.ends_with("count") && s.index.is_none())
    else {
        return;
    };
    let Some(section_len) = spans[..first]
        .iter()
        .rev()
        .find(|s| s.label == "section.len")
    else {
        return;
    };
    let grow = rng.below(2) == 0;
    if grow && data.len() + record.len() > max_size {
        return;
    }
    let adjust = |data: &mut Vec<u8>, at: usize, by: i64| {
        if let Some(b) = data.get_mut(at..at + 4) {
            let v = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64 + by;
            b.copy_from_slice(&(v as u32).to_le_bytes());
        }
    };
    if grow {
        data.splice(end..end, record.iter().copied());
        adjust(data, count.offset, 1);
        adjust(data, section_len.offset, record.len() as i64);
    } else {
        data.drain(start.offset..end);
        adjust(data, count.offset, -1);
        adjust(data, section_len.offset, -(record.len() as i64));
    }
}

/// The libFuzzer custom-mutator calling convention: `data[..size]` is the input, the buffer
/// holds `max_size` bytes, and the new size is returned.
pub fn mutate_in_place(
    data: &mut [u8],
    size: usize,
    max_size: usize,
    seed: u32,
    fuzzer_mutate: fn(&mut [u8], usize, usize) -> usize,
) -> usize {
    let limit = max_size.min(data.len());
    let mut buffer = data[..size.min(limit)].to_vec();
    let mut default = |bytes: &mut Vec<u8>, max: usize| {
        let len = bytes.len();
        bytes.resize(max, 0);
        let new_len = fuzzer_mutate(bytes, len, max);
        bytes.truncate(new_len.min(max));
    };
    mutate(&mut buffer, limit, seed, &mut default);
    let n = buffer.len().min(limit);
    data[..n].copy_from_slice(&buffer[..n]);
    n
}
