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
//! found by [`crate::short_literals`] in a pass of their own, so that they add no atom length
//! (a probe per position each) to the scan. Building is a pass over the literals; scanning is
//! a pass over the text with one bit test per position, plus one table probe and the
//! comparisons of the literals anchored there for each position whose bit is set. The answer
//! is exact: a literal is reported if and only if it occurs.
//!
//! [`LiteralFinder`] picks the strategy by the number of literals: one literal is searched for
//! directly, a few dozen go through one pass of [`crate::shift_or`] (cheaper per byte than a
//! probe per atom length, but its buckets blur as they fill), and larger sets use atoms.

use memchr::memmem::Finder;

use crate::limits::{ATOM_LEN_MAX, ATOM_LEN_MIN, FEW_LITERALS_MAX, SHIFT_OR_LITERALS_MAX};
use crate::shift_or::ShiftOr;
use crate::short_literals::ShortLiterals;

/// Where a literal's atom sits in it.
#[derive(Clone, Copy, Debug)]
struct Anchor {
    /// Index of the literal in the finder's input.
    literal: u32,
    /// Byte offset of the atom within the literal.
    offset: u32,
}

/// Receives the literals a [`LiteralFinder`] finds.
pub(crate) trait LiteralSink {
    /// Whether literal `literal` is already recorded: its verification is then skipped.
    fn known(&self, literal: u32) -> bool;
    /// Records that `literal` occurs.
    fn found(&mut self, literal: u32);
}

/// Finds which of a set of literals occur in a text.
#[derive(Debug)]
pub(crate) enum LiteralFinder {
    /// At most [`FEW_LITERALS_MAX`] literals, each searched for on its own with a SIMD
    /// substring search, which a long text (a script block) does not slow down.
    Few(Vec<Finder<'static>>),
    /// A few dozen literals: one pass of bucketed shift-or.
    Buckets(ShiftOr),
    /// Many literals: a table of their atoms.
    Atoms(AtomFinder),
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
pub(crate) struct AtomFinder {
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

/// Bits of a power-of-two table holding about `entries`, within `min..=max` bits.
pub(crate) fn table_bits(entries: usize, min: u32, max: u32) -> u32 {
    entries
        .checked_next_power_of_two()
        .map_or(max, usize::trailing_zeros)
        .clamp(min, max)
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

impl LiteralFinder {
    /// Builds a finder over `literals` (distinct, for reports to be useful).
    pub(crate) fn new<S: AsRef<[u8]>>(literals: &[S]) -> LiteralFinder {
        if literals.len() <= FEW_LITERALS_MAX {
            return LiteralFinder::Few(
                literals
                    .iter()
                    .map(|l| Finder::new(l.as_ref()).into_owned())
                    .collect(),
            );
        }
        if literals.len() <= SHIFT_OR_LITERALS_MAX {
            return LiteralFinder::Buckets(ShiftOr::new(literals));
        }
        LiteralFinder::Atoms(AtomFinder::new(literals))
    }

    /// Tells `sink` of every literal occurring in `text` and not yet known to it.
    pub(crate) fn find(&self, text: &str, sink: &mut impl LiteralSink) {
        match self {
            LiteralFinder::Few(finders) => {
                for (literal, finder) in finders.iter().enumerate() {
                    let literal = literal as u32;
                    if !sink.known(literal) && finder.find(text.as_bytes()).is_some() {
                        sink.found(literal);
                    }
                }
            }
            LiteralFinder::Buckets(buckets) => buckets.find(text.as_bytes(), sink),
            LiteralFinder::Atoms(atoms) => atoms.find(text, sink),
        }
    }
}

impl AtomFinder {
    fn new<S: AsRef<[u8]>>(literals: &[S]) -> AtomFinder {
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

    fn find(&self, text: &str, sink: &mut impl LiteralSink) {
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

    /// Records every report; `known` literals are skipped by the finder.
    struct Recorder {
        known: Vec<u32>,
        reports: Vec<u32>,
    }

    impl LiteralSink for Recorder {
        fn known(&self, literal: u32) -> bool {
            self.known.contains(&literal)
        }
        fn found(&mut self, literal: u32) {
            self.reports.push(literal);
        }
    }

    /// Every strategy, over the same literals.
    fn finders<S: AsRef<[u8]>>(literals: &[S]) -> [LiteralFinder; 3] {
        [
            LiteralFinder::Few(
                literals
                    .iter()
                    .map(|l| Finder::new(l.as_ref()).into_owned())
                    .collect(),
            ),
            LiteralFinder::Buckets(ShiftOr::new(literals)),
            LiteralFinder::Atoms(AtomFinder::new(literals)),
        ]
    }

    fn found(finder: &LiteralFinder, text: &str) -> Vec<u32> {
        let mut sink = Recorder {
            known: Vec::new(),
            reports: Vec::new(),
        };
        finder.find(text, &mut sink);
        sink.reports.sort_unstable();
        sink.reports.dedup();
        sink.reports
    }

    #[test]
    fn reports_exactly_the_literals_that_occur() {
        let literals = [
            "\\cmd.exe",
            "cmd",
            "powershell -enc",
            "-enc",
            "zz",
            "\\windows\\system32\\",
            "é-ünïcode",
        ];
        for finder in finders(&literals) {
            assert_eq!(
                found(&finder, "c:\\windows\\system32\\cmd.exe /c x"),
                [0, 1, 5]
            );
            assert_eq!(found(&finder, "powershell -encodedcommand"), [2, 3]);
            assert_eq!(found(&finder, "powershell  -enc abc"), [3]);
            assert_eq!(found(&finder, "zzz é-ünïcode"), [4, 6]);
            // The atom occurs but the literal does not, on either side of it.
            assert_eq!(found(&finder, "\\cmd.ex"), [1]);
            assert_eq!(found(&finder, "md.exe"), Vec::<u32>::new());
            assert_eq!(found(&finder, ""), Vec::<u32>::new());
        }
    }

    #[test]
    fn literals_sharing_an_atom_are_each_verified() {
        let literals = ["a%q%b", "x%q%y", "%q%"];
        for finder in finders(&literals) {
            assert_eq!(found(&finder, "..x%q%y.."), [1, 2]);
            assert_eq!(found(&finder, "a%q%b x%q%y"), [0, 1, 2]);
        }
    }

    #[test]
    fn known_literals_are_not_reported_again() {
        let [few, buckets, atoms] = finders(&["abcdef", "zq"]);
        for (finder, reports) in [(few, vec![1]), (buckets, vec![1, 1]), (atoms, vec![1, 1])] {
            let mut sink = Recorder {
                known: vec![0],
                reports: Vec::new(),
            };
            finder.find("abcdef zq abcdef zq", &mut sink);
            assert_eq!(sink.reports, reports);
        }
    }

    #[test]
    fn the_strategy_follows_the_number_of_literals() {
        let literals = |n: usize| -> Vec<String> { (0..n).map(|i| format!("l{i}")).collect() };
        assert!(matches!(
            LiteralFinder::new(&literals(FEW_LITERALS_MAX)),
            LiteralFinder::Few(_)
        ));
        for n in [FEW_LITERALS_MAX + 1, SHIFT_OR_LITERALS_MAX] {
            assert!(matches!(
                LiteralFinder::new(&literals(n)),
                LiteralFinder::Buckets(_)
            ));
        }
        assert!(matches!(
            LiteralFinder::new(&literals(SHIFT_OR_LITERALS_MAX + 1)),
            LiteralFinder::Atoms(_)
        ));
    }

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

    /// Every strategy against `str::contains`, on random literals and texts over a small
    /// alphabet (so atoms collide and share, and shift-or buckets pass often), with literals of
    /// every length from 0 to 16, atoms of 4 and 7 bytes, and sets of 1 to 400 literals.
    #[test]
    fn agrees_with_substring_search() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n) as usize
        };
        let alphabet = ['a', 'b', 'c', '\\', 'é'];
        let mut checked = 0;
        for round in 0..60 {
            let count = 1 + next(if round % 4 == 1 { 40 } else { 400 });
            // Every third set has only literals of 7 characters or more: the longest atoms.
            let shortest = if round % 3 == 0 { 7 } else { 0 };
            let mut literals: Vec<String> = (0..count)
                .map(|_| {
                    (0..shortest + next(10))
                        .map(|_| alphabet[next(5)])
                        .collect()
                })
                .collect();
            if round % 2 == 0 {
                literals.retain(|l| !l.is_empty());
            }
            literals.sort();
            literals.dedup();
            let strategies = finders(&literals);
            for _ in 0..40 {
                let text: String = (0..next(40)).map(|_| alphabet[next(5)]).collect();
                let expected: Vec<u32> = literals
                    .iter()
                    .enumerate()
                    .filter(|(_, l)| text.contains(l.as_str()))
                    .map(|(i, _)| i as u32)
                    .collect();
                for finder in &strategies {
                    assert_eq!(found(finder, &text), expected, "{text:?} in {literals:?}");
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 3 * 2400);
    }
}
