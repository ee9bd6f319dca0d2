//! A multi-literal finder: one short window (atom) per literal, looked up by hash at every
//! position of the text, and the whole literal compared on a hit.
//!
//! SigmaHQ's rules give one sensor about 26,000 prefilter literals of 22 bytes on average, up
//! to 8,400 on one field. Aho-Corasick automata over whole literals were half of the time to
//! load them; over 4-byte atoms they still cost a third of the load, and their scan of a
//! command line (70 bytes, a dozen hits) took microseconds. As YARA does, each literal is
//! represented by an atom of [`ATOM_LEN_MIN`] to [`ATOM_LEN_MAX`] bytes (as long as the
//! finder's shortest literal allows, so hash lists get long atoms that other hashes do not
//! hit): the window of it that the fewest other literals share, then the one of rarest bytes.
//! The distinct atoms go into an open-addressing table, and a bitmap of their hashes dismisses
//! almost every position of the text with one bit test. Literals shorter than an atom are
//! found by [`super::short`] in a pass of their own, so that they add no atom length
//! (a probe per position each) to the scan. Building is a pass over the literals; scanning is
//! a pass over the text with one bit test per position, plus one table probe and the
//! comparisons of the literals anchored there for each position whose bit is set. The answer
//! is exact: a literal is reported if and only if it occurs.

use crate::prelude::*;

use super::short::ShortLiterals;
use super::{LiteralSink, table_bits};
use crate::cost::Cost;
use crate::limits::{ATOM_LEN_MAX, ATOM_LEN_MIN};

/// Where a literal's atom sits in it.
#[derive(Clone, Copy, Debug)]
struct Anchor {
    /// Index of the literal in the finder's input.
    literal: u32,
    /// Byte offset of the atom within the literal.
    offset: u32,
}

/// One distinct atom of an [`AtomFinder`]: its key and its range of anchors.
#[derive(Clone, Copy, Debug, Default)]
struct Slot {
    /// The atom's bytes and length ([`atom_key`]); 0 marks an empty slot (no key is 0).
    key: u64,
    first: u32,
    count: u32,
}

/// The atom length of an [`AtomFinder`], with what makes a key of that length out of the
/// scan's rolling window.
#[derive(Clone, Copy, Debug)]
struct AtomLength {
    len: usize,
    shift: u32,
    tag: u64,
}

/// The atoms of many literals, in a hash table.
#[derive(Debug)]
pub(super) struct AtomFinder {
    /// Bit `h >> filter_shift` is set when some atom's hash is `h`.
    filter: Vec<u64>,
    filter_shift: u32,
    /// Open addressing with linear probing, from slot `h >> slot_shift`.
    slots: Vec<Slot>,
    slot_shift: u32,
    /// Anchors, grouped by atom.
    anchors: Vec<Anchor>,
    /// The length of every atom: literals shorter than [`ATOM_LEN_MIN`] are in `short`.
    atom: AtomLength,
    /// The literals of one to three bytes.
    short: Option<ShortLiterals>,
    /// The empty literals, which occur in every text.
    empty: Vec<u32>,
    /// Every literal's bytes, concatenated; `spans` says where each one is.
    bytes: Vec<u8>,
    spans: Vec<(u32, u32)>,
}

/// How unusual each byte is in the folded text of process, file, registry and network events:
/// path separators, spaces and frequent letters hit everywhere and make poor atoms. A table,
/// because a `match` per byte of every literal was a third of the time to build a finder.
// Evaluated at compile time: an index out of range fails the build, never a sensor.
#[allow(clippy::indexing_slicing)]
const RARITY: [u8; 256] = {
    let mut table = [4u8; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = match b as u8 {
            b' ' | b'\\' | b'/' | b'.' | b'-' | b'_' | b':' | b'0' => 1,
            b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' | b'x' | b'c' => 2,
            b'a'..=b'z' | b'1'..=b'9' => 3,
            _ => 4,
        };
        b += 1;
    }
    table
};

fn rarity(byte: u8) -> u32 {
    RARITY.get(usize::from(byte)).map_or(4, |&r| u32::from(r))
}

/// The key of an atom of at most [`ATOM_LEN_MAX`] bytes: its bytes, and one more than its length
/// above them, so atoms of different lengths never share a key and no key is 0.
fn atom_key(atom: &[u8]) -> u64 {
    let bytes = atom
        .iter()
        .rev()
        .fold(0u64, |key, &b| (key << 8) | u64::from(b));
    bytes | ((atom.len() as u64).saturating_add(1) << 56)
}

// Keys hold an atom's bytes below bit 56.
const _: () = assert!(ATOM_LEN_MIN <= ATOM_LEN_MAX && ATOM_LEN_MAX <= 7);

/// Spreads a key over 64 bits (Fibonacci hashing); the top bits index the bitmap and table.
fn spread(key: u64) -> u64 {
    key.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// How often windows of one atom length occur in a set of literals, approximately: counts
/// are kept per hash bucket, so a collision can only overstate one.
struct WindowCounts {
    counts: Vec<u16>,
    shift: u32,
}

impl WindowCounts {
    fn new<S: AsRef<[u8]>>(literals: &[S], atom_len: usize) -> WindowCounts {
        let windows: usize = literals
            .iter()
            .map(|l| l.as_ref().len().saturating_sub(atom_len.saturating_sub(1)))
            .sum();
        let bits = table_bits(windows.saturating_mul(2), 8, 16);
        let mut table = WindowCounts {
            counts: vec![0; 1 << bits],
            shift: 64u32.saturating_sub(bits),
        };
        for literal in literals {
            for window in literal.as_ref().windows(atom_len) {
                let bucket = table.bucket(window);
                if let Some(count) = table.counts.get_mut(bucket) {
                    *count = count.saturating_add(1);
                }
            }
        }
        table
    }

    fn bucket(&self, window: &[u8]) -> usize {
        (spread(atom_key(window)) >> self.shift) as usize
    }

    fn get(&self, window: &[u8]) -> u16 {
        self.counts.get(self.bucket(window)).copied().unwrap_or(0)
    }
}

/// Offset of the atom of `literal`: of its windows of `atom_len` bytes, the one fewest
/// literals share (`shared`), so that an atom hit fans out to few comparisons; among those,
/// the one whose distinct bytes are rarest in text (`aaaa` is a poor atom).
fn atom_offset(literal: &[u8], atom_len: usize, shared: &WindowCounts) -> usize {
    let mut best = (0, u16::MAX, 0u32);
    for (offset, window) in literal.windows(atom_len).enumerate() {
        let sharing = shared.get(window);
        if sharing > best.1 {
            continue;
        }
        let mut score = 0u32;
        for (i, &b) in window.iter().enumerate() {
            if !window.get(..i).is_some_and(|before| before.contains(&b)) {
                score = score.saturating_add(rarity(b));
            }
        }
        if sharing < best.1 || score > best.2 {
            best = (offset, sharing, score);
        }
    }
    best.0
}

impl AtomFinder {
    pub(super) fn new<S: AsRef<[u8]>>(literals: &[S]) -> AtomFinder {
        let atom_len = literals
            .iter()
            .map(|l| l.as_ref().len())
            .filter(|&len| len >= ATOM_LEN_MIN)
            .min()
            .unwrap_or(ATOM_LEN_MIN)
            .min(ATOM_LEN_MAX);
        let shared = WindowCounts::new(literals, atom_len);
        let mut keyed: Vec<(u64, Anchor)> = Vec::with_capacity(literals.len());
        let mut bytes = Vec::new();
        let mut spans = Vec::with_capacity(literals.len());
        let mut empty = Vec::new();
        let mut short = Vec::new();
        for (literal_id, literal) in literals.iter().enumerate() {
            let literal = literal.as_ref();
            let literal_id = literal_id as u32;
            spans.push((bytes.len() as u32, literal.len() as u32));
            bytes.extend_from_slice(literal);
            if literal.is_empty() {
                empty.push(literal_id);
                continue;
            }
            if literal.len() < ATOM_LEN_MIN {
                short.push((literal_id, literal));
                continue;
            }
            let offset = atom_offset(literal, atom_len, &shared);
            let atom = literal
                .get(offset..)
                .and_then(|rest| rest.get(..atom_len))
                .unwrap_or(literal);
            keyed.push((
                atom_key(atom),
                Anchor {
                    literal: literal_id,
                    offset: offset as u32,
                },
            ));
        }
        let short = (!short.is_empty()).then(|| ShortLiterals::new(short));
        keyed.sort_unstable_by_key(|(key, anchor)| (*key, anchor.literal));
        let distinct = keyed
            .iter()
            .zip(keyed.iter().skip(1))
            .filter(|(a, b)| a.0 != b.0)
            .count()
            .saturating_add(1);
        // About 16 bitmap bits per atom keep the bitmap's false positives near 1 in 16.
        let filter_bits = table_bits(distinct.saturating_mul(16), 9, 24);
        let slot_bits = table_bits(distinct.saturating_mul(2), 4, 24);
        let mut finder = AtomFinder {
            filter: vec![0; 1 << filter_bits.saturating_sub(6)],
            filter_shift: 64u32.saturating_sub(filter_bits),
            slots: vec![Slot::default(); 1 << slot_bits],
            slot_shift: 64u32.saturating_sub(slot_bits),
            anchors: Vec::with_capacity(keyed.len()),
            atom: AtomLength {
                len: atom_len,
                shift: 64u32.saturating_sub((atom_len as u32).saturating_mul(8)),
                tag: (atom_len as u64).saturating_add(1) << 56,
            },
            short,
            empty,
            bytes,
            spans,
        };
        let mut i = 0;
        while let Some(&(key, _)) = keyed.get(i) {
            let first = finder.anchors.len() as u32;
            while let Some(&(k, anchor)) = keyed.get(i)
                && k == key
            {
                finder.anchors.push(anchor);
                i = i.saturating_add(1);
            }
            let count = (finder.anchors.len() as u32).saturating_sub(first);
            finder.insert(key, first, count);
        }
        finder
    }

    /// Per position: one bit test, a probe along the longest run of occupied slots, and the
    /// comparisons of the literals anchored on the costliest atom; then the short literals'
    /// pass.
    pub(super) fn worst_case(&self) -> Cost {
        let mut run = 0u64;
        let mut longest_run = 0u64;
        let mut costliest = 0u64;
        // Runs wrap around the end of the table: two passes see every run whole.
        for slot in self.slots.iter().chain(self.slots.iter()) {
            if slot.key == 0 {
                run = 0;
                continue;
            }
            run = run.saturating_add(1);
            longest_run = longest_run.max(run.min(self.slots.len() as u64));
            let verify = self.anchors_of(slot).iter().fold(0u64, |sum, a| {
                let len = self.spans.get(a.literal as usize).map_or(0, |s| s.1);
                sum.saturating_add(u64::from(len)).saturating_add(1)
            });
            costliest = costliest.max(verify);
        }
        let short = self
            .short
            .as_ref()
            .map_or(Cost::default(), ShortLiterals::worst_case);
        Cost {
            per_byte: longest_run
                .saturating_add(costliest)
                .saturating_add(1)
                .saturating_add(short.per_byte),
            fixed: (self.empty.len() as u64)
                .saturating_add(short.fixed)
                .saturating_add(1),
        }
    }

    /// The word of `filter` and the bit in it that stand for atoms of hash `hash`.
    fn filter_bit(&self, hash: u64) -> (usize, u64) {
        let bit = hash >> self.filter_shift;
        ((bit >> 6) as usize, 1 << (bit & 63))
    }

    fn insert(&mut self, key: u64, first: u32, count: u32) {
        let hash = spread(key);
        let (word, bit) = self.filter_bit(hash);
        if let Some(word) = self.filter.get_mut(word) {
            *word |= bit;
        }
        let mask = self.slots.len().saturating_sub(1);
        let mut at = (hash >> self.slot_shift) as usize;
        // The table has at least twice as many slots as atoms: a free one is always found.
        for _ in 0..self.slots.len() {
            if let Some(slot) = self.slots.get_mut(at)
                && slot.key == 0
            {
                *slot = Slot { key, first, count };
                return;
            }
            at = at.wrapping_add(1) & mask;
        }
    }

    fn lookup(&self, key: u64, hash: u64) -> Option<&Slot> {
        let mask = self.slots.len().saturating_sub(1);
        let mut at = (hash >> self.slot_shift) as usize;
        loop {
            let slot = self.slots.get(at)?;
            if slot.key == key {
                return Some(slot);
            }
            if slot.key == 0 {
                return None;
            }
            at = at.wrapping_add(1) & mask;
        }
    }

    pub(super) fn find(&self, text: &str, sink: &mut impl LiteralSink) {
        let haystack = text.as_bytes();
        // The last bytes read, the newest in the top byte: the window of `len` bytes ending
        // here is `window >> (64 - 8 * len)`, in the byte order of `atom_key`.
        let mut window = 0u64;
        let AtomLength { len, shift, tag } = self.atom;
        if !self.anchors.is_empty() {
            // `read` counts the bytes read so far, this one included.
            for (read, &byte) in (1usize..).zip(haystack) {
                window = (window >> 8) | (u64::from(byte) << 56);
                let Some(at) = read.checked_sub(len) else {
                    continue;
                };
                let key = (window >> shift) | tag;
                let hash = spread(key);
                let (word, bit) = self.filter_bit(hash);
                let set = self.filter.get(word).is_some_and(|w| w & bit != 0);
                if set && let Some(slot) = self.lookup(key, hash) {
                    self.verify(haystack, at, slot, sink);
                }
            }
        }
        if let Some(short) = &self.short {
            short.find(haystack, sink);
        }
        for &literal in &self.empty {
            if !sink.known(literal) {
                sink.found(literal);
            }
        }
    }

    /// Compares the literals anchored on the atom at `at` of `haystack`.
    fn verify(&self, haystack: &[u8], at: usize, slot: &Slot, sink: &mut impl LiteralSink) {
        for anchor in self.anchors_of(slot) {
            if sink.known(anchor.literal) {
                continue;
            }
            let Some(start) = at.checked_sub(anchor.offset as usize) else {
                continue;
            };
            if self.literal(anchor.literal).is_some_and(|literal| {
                haystack
                    .get(start..)
                    .and_then(|rest| rest.get(..literal.len()))
                    == Some(literal)
            }) {
                sink.found(anchor.literal);
            }
        }
    }

    /// The anchors of the literals whose atom is `slot`'s.
    fn anchors_of(&self, slot: &Slot) -> &[Anchor] {
        let range = slot.first as usize..slot.first.saturating_add(slot.count) as usize;
        self.anchors.get(range).unwrap_or_default()
    }

    fn literal(&self, id: u32) -> Option<&[u8]> {
        let &(start, len) = self.spans.get(id as usize)?;
        self.bytes
            .get(start as usize..)
            .and_then(|rest| rest.get(..len as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoms_prefer_rare_bytes_over_separators() {
        let none = WindowCounts::new::<&str>(&[], 4);
        assert_eq!(atom_offset(b"\\\\..%q|z", 4, &none), 4);
        assert_eq!(atom_offset(b"abc", 4, &none), 0);
        assert_eq!(atom_offset(b"aaaaaaaq", 4, &none), 4);
        // A window other literals share loses to a unique one, however rare its bytes.
        let shared = WindowCounts::new(&["%q|z", "x%q|zy", "abcde%q|z"], 4);
        assert_eq!(atom_offset(b"abcde%q|z", 4, &shared), 4);
    }
}
