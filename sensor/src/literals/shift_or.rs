//! A multi-literal finder for small literal sets: bit-parallel shift-or over eight buckets of
//! literals, as Hyperscan's FDR and the Teddy algorithm filter, in plain 64-bit arithmetic.
//!
//! The first (at most) eight bytes of each literal are its *window*. The state is a `u64` of
//! eight one-byte lanes, one lane per window position, one bit per bucket in each lane; a zero
//! bit says "the literals of this bucket can match the text so far at this position". Each
//! text byte costs one shift, one OR with that byte's mask (a 2 KiB table that stays in the
//! L1 cache) and one test of the top lane, whatever the number of literals or their lengths;
//! the atom table ([`super::atoms`]) costs a hash and a bitmap probe per byte *and* atom
//! length. A set bucket bit in the top lane is a candidate: the bucket's few literals are
//! compared at that position. Buckets hold the union of their literals' bytes per lane, so a
//! set with many literals passes almost every position; [`crate::limits::SHIFT_OR_LITERALS_MAX`]
//! keeps the buckets small enough that candidates stay rare. The answer is exact.

use crate::prelude::*;

use super::LiteralSink;
use crate::cost::Cost;

/// Window length in bytes: the lanes of the state.
const LANES: usize = 8;

/// Buckets of literals: the bits of a lane.
const BUCKETS: usize = 8;

/// One literal of a [`ShiftOr`] finder.
#[derive(Clone, Copy, Debug)]
struct Member {
    /// Index of the literal in the finder's input.
    literal: u32,
    /// Where its bytes are in [`ShiftOr::bytes`].
    start: u32,
    len: u32,
}

/// A shift-or finder over at most a few dozen literals.
#[derive(Debug)]
pub(super) struct ShiftOr {
    /// For each byte value, its lanes: bit `b` of lane `l` is 0 when a literal of bucket `b`
    /// has this byte at window position `l` (windows end at the top lane), or no byte there.
    masks: Box<[u64; 256]>,
    /// The state before the first byte: a bucket's lanes are 0 from where its shortest window
    /// could start, so windows that start at the text's first byte are seen.
    start: u64,
    /// Members by bucket: bucket `b`'s are `members[bounds[b]..bounds[b + 1]]`.
    members: Vec<Member>,
    bounds: [u32; BUCKETS + 1],
    /// Every literal's bytes, concatenated.
    bytes: Vec<u8>,
    /// Literals that are empty: they occur in every text.
    empty: Vec<u32>,
}

impl ShiftOr {
    /// One shift and one test per byte; a position where every bucket passes compares every
    /// member, each at most its length.
    pub(super) fn worst_case(&self) -> Cost {
        let verify = self.members.iter().fold(0u64, |sum, m| {
            sum.saturating_add(u64::from(m.len)).saturating_add(1)
        });
        Cost {
            per_byte: verify.saturating_add(1),
            fixed: (self.empty.len() as u64).saturating_add(1),
        }
    }

    /// A finder over `literals`.
    pub(super) fn new<S: AsRef<[u8]>>(literals: &[S]) -> ShiftOr {
        let mut empty = Vec::new();
        let mut order: Vec<u32> = Vec::with_capacity(literals.len());
        for (id, literal) in literals.iter().enumerate() {
            if literal.as_ref().is_empty() {
                empty.push(id as u32);
            } else {
                order.push(id as u32);
            }
        }
        let window = |id: u32| -> &[u8] {
            let literal = literals.get(id as usize).map_or(&[][..], AsRef::as_ref);
            literal.get(..LANES).unwrap_or(literal)
        };
        // A bucket admits any byte in the lanes before its shortest window: short windows are
        // bucketed together so that they weaken no bucket of long ones. Neighbours in sorted
        // order then share leading bytes, and a bucket of them admits fewer bytes per lane.
        order.sort_unstable_by(|&a, &b| {
            (window(a).len(), window(a)).cmp(&(window(b).len(), window(b)))
        });
        let per_bucket = order.len().div_ceil(BUCKETS).max(1);
        let mut finder = ShiftOr {
            masks: Box::new([u64::MAX; 256]),
            start: u64::MAX,
            members: Vec::with_capacity(order.len()),
            bounds: [0; BUCKETS + 1],
            bytes: Vec::new(),
            empty,
        };
        for (bucket, ids) in order.chunks(per_bucket).enumerate() {
            let mut shortest = LANES;
            for &id in ids {
                let literal = literals.get(id as usize).map_or(&[][..], AsRef::as_ref);
                finder.members.push(Member {
                    literal: id,
                    start: finder.bytes.len() as u32,
                    len: literal.len() as u32,
                });
                finder.bytes.extend_from_slice(literal);
                let window = window(id);
                shortest = shortest.min(window.len());
                let first_lane = LANES.saturating_sub(window.len());
                for (k, &byte) in window.iter().enumerate() {
                    if let Some(mask) = finder.masks.get_mut(usize::from(byte)) {
                        *mask &= !lane_bit(first_lane.saturating_add(k), bucket);
                    }
                }
            }
            // Lanes before a window match any byte: in the union, those before the shortest.
            let wildcard = (0..LANES.saturating_sub(shortest))
                .fold(0, |bits, lane| bits | lane_bit(lane, bucket));
            for mask in finder.masks.iter_mut() {
                *mask &= !wildcard;
            }
            // Before the text, the top lane after `i + 1` bytes is the start's lane `6 - i`: a
            // window of `shortest` bytes from the first byte ends at `i = shortest - 1` and
            // needs the start's lanes up to `LANES - 1 - shortest` clear, the same lanes.
            finder.start &= !wildcard;
            if let Some(bound) = finder.bounds.get_mut(bucket.saturating_add(1)..) {
                bound.fill(finder.members.len() as u32);
            }
        }
        finder
    }

    /// Tells `sink` of every literal occurring in `text` and not yet known to it.
    pub(super) fn find(&self, text: &[u8], sink: &mut impl LiteralSink) {
        for &literal in &self.empty {
            if !sink.known(literal) {
                sink.found(literal);
            }
        }
        let mut state = self.start;
        for (end, &byte) in text.iter().enumerate() {
            let mask = self
                .masks
                .get(usize::from(byte))
                .copied()
                .unwrap_or(u64::MAX);
            state = (state << 8) | mask;
            let candidates = !(state >> 56) as u8;
            if candidates != 0 {
                self.confirm(text, end, candidates, sink);
            }
        }
    }

    /// Compares the literals of the `candidates` buckets whose window ends at `end`.
    #[cold]
    fn confirm(&self, text: &[u8], end: usize, candidates: u8, sink: &mut impl LiteralSink) {
        let mut buckets = candidates;
        while buckets != 0 {
            let bucket = buckets.trailing_zeros() as usize;
            buckets &= buckets.wrapping_sub(1);
            let (Some(&first), Some(&last)) = (
                self.bounds.get(bucket),
                self.bounds.get(bucket.saturating_add(1)),
            ) else {
                continue;
            };
            for member in self
                .members
                .get(first as usize..last as usize)
                .unwrap_or_default()
            {
                if sink.known(member.literal) {
                    continue;
                }
                let window = (member.len as usize).min(LANES);
                let Some(start) = end.saturating_add(1).checked_sub(window) else {
                    continue;
                };
                let literal = self
                    .bytes
                    .get(member.start as usize..)
                    .and_then(|rest| rest.get(..member.len as usize));
                let here = text
                    .get(start..)
                    .and_then(|rest| rest.get(..member.len as usize));
                if literal.is_some() && literal == here {
                    sink.found(member.literal);
                }
            }
        }
    }
}

/// The bit of `bucket` in `lane`.
fn lane_bit(lane: usize, bucket: usize) -> u64 {
    1u64.checked_shl(lane.saturating_mul(BUCKETS).saturating_add(bucket) as u32)
        .unwrap_or(0)
}
