//! Literals of one to three bytes, found with direct tables: one bit test of a 256-bit set and
//! one of a 65,536-bit set (the two bytes ending at each position) per byte of text.
//!
//! In the atom table ([`super::atoms`]) every atom length costs a hash probe per position: a
//! field of thousands of long literals and a few short ones (`:`, `-c`, `/s `, one Unicode
//! character) paid four probes per byte instead of one. Here the short ones cost two bit tests
//! whose index is the text itself, whatever their number; a set bit is confirmed by comparing
//! the literals ending with those bytes. The answer is exact.

use crate::prelude::*;

use super::{LiteralSink, table_bits};
use crate::cost::Cost;

/// A literal of two or three bytes, by the two bytes it ends with.
#[derive(Clone, Copy, Debug)]
struct Ending {
    /// The last two bytes, as [`pair`] makes them.
    pair: u16,
    /// The first byte of a three-byte literal.
    first: Option<u8>,
    literal: u32,
}

/// Finds literals of one to three bytes.
#[derive(Debug)]
pub(super) struct ShortLiterals {
    /// Bit `b` is set when some one-byte literal is `b`.
    singles: [u64; 4],
    /// One-byte literals: (byte, literal).
    single_ids: Vec<(u8, u32)>,
    /// Bit `pair_hash(p)` is set when some longer literal ends with the byte pair `p`
    /// ([`pair`]): 16 bits per literal, so that the filter of a field stays in the L1 cache.
    pairs: Vec<u64>,
    pair_shift: u32,
    /// Longer literals, sorted by their last two bytes.
    endings: Vec<Ending>,
}

/// The index of two consecutive bytes: the later one in the high byte.
fn pair(earlier: u8, later: u8) -> u16 {
    u16::from_le_bytes([earlier, later])
}

/// The filter bit of `pair` in a filter of `32 - shift` bits (Fibonacci hashing).
fn pair_bit(pair: u16, shift: u32) -> usize {
    (u32::from(pair).wrapping_mul(0x9E37_79B9) >> shift) as usize
}

fn bit_is_set(bits: &[u64], index: usize) -> bool {
    bits.get(index >> 6)
        .is_some_and(|word| word & (1 << (index & 63)) != 0)
}

fn set_bit(bits: &mut [u64], index: usize) {
    if let Some(word) = bits.get_mut(index >> 6) {
        *word |= 1 << (index & 63);
    }
}

impl ShortLiterals {
    /// A finder over `literals`, each `(id, bytes)` of one to three bytes; others are ignored.
    pub(super) fn new<'a>(literals: impl IntoIterator<Item = (u32, &'a [u8])>) -> ShortLiterals {
        let mut finder = ShortLiterals {
            singles: [0; 4],
            single_ids: Vec::new(),
            pairs: Vec::new(),
            pair_shift: 0,
            endings: Vec::new(),
        };
        for (literal, bytes) in literals {
            match *bytes {
                [b] => {
                    set_bit(&mut finder.singles, usize::from(b));
                    finder.single_ids.push((b, literal));
                }
                [a, b] => finder.endings.push(Ending {
                    pair: pair(a, b),
                    first: None,
                    literal,
                }),
                [first, a, b] => finder.endings.push(Ending {
                    pair: pair(a, b),
                    first: Some(first),
                    literal,
                }),
                _ => {}
            }
        }
        // 16 bits per literal, as the atom table's bitmap.
        let bits = table_bits(finder.endings.len().saturating_mul(16), 9, 16);
        let pair_shift = 32u32.saturating_sub(bits);
        let mut pairs = vec![0; 1 << bits.saturating_sub(6)];
        for ending in &finder.endings {
            set_bit(&mut pairs, pair_bit(ending.pair, pair_shift));
        }
        finder.pairs = pairs;
        finder.pair_shift = pair_shift;
        finder.endings.sort_unstable_by_key(|e| (e.pair, e.literal));
        finder
    }

    /// Two bit tests per byte; a byte can report every one-byte literal equal to it and
    /// confirm every longer literal ending with its pair (three comparisons each).
    pub(super) fn worst_case(&self) -> Cost {
        // The one-byte literals are filtered in a pass over all of them; the endings sharing
        // one pair are found by a binary search and compared one by one.
        let singles = self.single_ids.len() as u64;
        let mut same_pair = 0u64;
        let mut run = 0u64;
        let mut last = None;
        for ending in &self.endings {
            run = if last == Some(ending.pair) {
                run.saturating_add(1)
            } else {
                1
            };
            last = Some(ending.pair);
            same_pair = same_pair.max(run);
        }
        let search = u64::from(usize::BITS.saturating_sub(self.endings.len().leading_zeros()));
        Cost {
            per_byte: singles
                .saturating_add(same_pair.saturating_mul(3))
                .saturating_add(search)
                .saturating_add(2),
            fixed: 1,
        }
    }

    /// Tells `sink` of every literal occurring in `text` and not yet known to it.
    pub(super) fn find(&self, text: &[u8], sink: &mut impl LiteralSink) {
        let mut previous: Option<u8> = None;
        for (end, &byte) in text.iter().enumerate() {
            if bit_is_set(&self.singles, usize::from(byte)) {
                self.report_singles(byte, sink);
            }
            if let Some(earlier) = previous {
                let pair = pair(earlier, byte);
                if bit_is_set(&self.pairs, pair_bit(pair, self.pair_shift)) {
                    self.confirm_endings(text, end, pair, sink);
                }
            }
            previous = Some(byte);
        }
    }

    fn report_singles(&self, byte: u8, sink: &mut impl LiteralSink) {
        // A field has a handful of one-byte literals: a linear pass beats a binary search.
        for &(_, literal) in self.single_ids.iter().filter(|&&(b, _)| b == byte) {
            if !sink.known(literal) {
                sink.found(literal);
            }
        }
    }

    /// Compares the literals ending with `pair`, which ends at `end` of `text`.
    fn confirm_endings(&self, text: &[u8], end: usize, pair: u16, sink: &mut impl LiteralSink) {
        let from = self.endings.partition_point(|e| e.pair < pair);
        let same = self.endings.get(from..).unwrap_or_default();
        for ending in same.iter().take_while(|e| e.pair == pair) {
            if sink.known(ending.literal) {
                continue;
            }
            let whole = match ending.first {
                None => true,
                Some(first) => end
                    .checked_sub(2)
                    .and_then(|at| text.get(at))
                    .is_some_and(|&b| b == first),
            };
            if whole {
                sink.found(ending.literal);
            }
        }
    }
}
