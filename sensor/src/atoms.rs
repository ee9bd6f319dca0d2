//! A multi-literal finder that scans for short atoms and verifies whole literals on a hit.
//!
//! Building an Aho-Corasick automaton costs time in proportion to the bytes of its patterns.
//! SigmaHQ's rules give the prefilters about 26,000 literals of 22 bytes on average, and
//! building automata over whole literals was half of the sensor's load time. As YARA does, each
//! literal is instead represented by one short window of itself (its atom, at most
//! [`ATOM_LEN`] bytes, chosen to be rare in ordinary text); the automaton is built over the
//! distinct atoms, and an atom found in the text is confirmed by comparing the whole literal
//! at the atom's offset. The answer is exact: a literal is reported if and only if it occurs.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, AhoCorasickKind, BuildError, MatchKind};

use crate::limits::ATOM_LEN;

/// Where a literal's atom sits in it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Anchor {
    /// Index of the literal in the finder's input.
    pub(crate) literal: u32,
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
pub(crate) struct LiteralFinder {
    automaton: AhoCorasick,
    /// For each atom (automaton pattern), its range in `anchors`.
    atom_anchors: Vec<(u32, u32)>,
    /// Anchors, grouped by atom.
    anchors: Vec<Anchor>,
    /// Every literal's bytes, concatenated; `spans` says where each one is.
    bytes: Vec<u8>,
    spans: Vec<(u32, u32)>,
}

/// How unusual a byte is in the folded text of process, file, registry and network events:
/// path separators, spaces and frequent letters hit everywhere and make poor atoms.
fn rarity(byte: u8) -> u32 {
    match byte {
        b' ' | b'\\' | b'/' | b'.' | b'-' | b'_' | b':' | b'0' => 1,
        b'e' | b't' | b'a' | b'o' | b'i' | b'n' | b's' | b'r' | b'x' | b'c' => 2,
        b'a'..=b'z' | b'1'..=b'9' => 3,
        _ => 4,
    }
}

/// Offset of the atom of `literal`: the window of [`ATOM_LEN`] bytes whose distinct bytes are
/// rarest (a repeated byte counts once: `aaaa` is a poor atom).
fn atom_offset(literal: &[u8]) -> usize {
    let mut best = (0, 0u32);
    for (offset, window) in literal.windows(ATOM_LEN).enumerate() {
        let mut score = 0u32;
        for (i, &b) in window.iter().enumerate() {
            if !window.get(..i).is_some_and(|before| before.contains(&b)) {
                score = score.saturating_add(rarity(b));
            }
        }
        if score > best.1 {
            best = (offset, score);
        }
    }
    best.0
}

impl LiteralFinder {
    /// Builds a finder over `literals` (each non-empty and distinct, for reports to be useful).
    pub(crate) fn new<S: AsRef<[u8]>>(literals: &[S]) -> Result<LiteralFinder, BuildError> {
        let mut atom_ids: HashMap<&[u8], u32> = HashMap::new();
        let mut atoms: Vec<&[u8]> = Vec::new();
        let mut tagged: Vec<(u32, Anchor)> = Vec::with_capacity(literals.len());
        let mut bytes = Vec::new();
        let mut spans = Vec::with_capacity(literals.len());
        for (literal_id, literal) in literals.iter().enumerate() {
            let literal = literal.as_ref();
            spans.push((bytes.len() as u32, literal.len() as u32));
            bytes.extend_from_slice(literal);
            let offset = atom_offset(literal);
            let atom = literal
                .get(offset..)
                .and_then(|rest| rest.get(..ATOM_LEN.min(rest.len())))
                .unwrap_or(literal);
            let id = *atom_ids.entry(atom).or_insert_with(|| {
                atoms.push(atom);
                (atoms.len() - 1) as u32
            });
            tagged.push((
                id,
                Anchor {
                    literal: literal_id as u32,
                    offset: offset as u32,
                },
            ));
        }
        tagged.sort_by_key(|(atom, anchor)| (*atom, anchor.literal));
        let mut atom_anchors = vec![(0u32, 0u32); atoms.len()];
        for (i, (atom, _)) in tagged.iter().enumerate() {
            if let Some(range) = atom_anchors.get_mut(*atom as usize) {
                if range.1 == 0 {
                    range.0 = i as u32;
                }
                range.1 = range.1.saturating_add(1);
            }
        }
        // A contiguous NFA, not a DFA: on SigmaHQ's rules DFAs made the loaded content 3.3x
        // larger and its load 1.6x slower, and scanned no faster (BENCHMARKS.md).
        let automaton = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(AhoCorasickKind::ContiguousNFA))
            .build(&atoms)?;
        Ok(LiteralFinder {
            automaton,
            atom_anchors,
            anchors: tagged.into_iter().map(|(_, anchor)| anchor).collect(),
            bytes,
            spans,
        })
    }

    /// Tells `sink` of every literal occurring in `text` and not yet known to it.
    pub(crate) fn find(&self, text: &str, sink: &mut impl LiteralSink) {
        let haystack = text.as_bytes();
        for hit in self.automaton.find_overlapping_iter(text) {
            let Some(&(first, len)) = self.atom_anchors.get(hit.pattern().as_usize()) else {
                continue;
            };
            let range = first as usize..first.saturating_add(len) as usize;
            for anchor in self.anchors.get(range).unwrap_or_default() {
                if sink.known(anchor.literal) {
                    continue;
                }
                let Some(start) = hit.start().checked_sub(anchor.offset as usize) else {
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
        let finder = LiteralFinder::new(&literals).unwrap();
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

    #[test]
    fn literals_sharing_an_atom_are_each_verified() {
        let literals = ["a%q%b", "x%q%y", "%q%"];
        let finder = LiteralFinder::new(&literals).unwrap();
        assert_eq!(found(&finder, "..x%q%y.."), [1, 2]);
        assert_eq!(found(&finder, "a%q%b x%q%y"), [0, 1, 2]);
    }

    #[test]
    fn known_literals_are_not_reported_again() {
        let finder = LiteralFinder::new(&["abcdef", "zq"]).unwrap();
        let mut sink = Recorder {
            known: vec![0],
            reports: Vec::new(),
        };
        finder.find("abcdef zq abcdef zq", &mut sink);
        assert_eq!(sink.reports, [1, 1]);
    }

    #[test]
    fn atoms_prefer_rare_bytes_over_separators() {
        assert_eq!(atom_offset(b"\\\\..%q|z"), 4);
        assert_eq!(atom_offset(b"abc"), 0);
        assert_eq!(atom_offset(b"aaaaaaaq"), 4);
    }
}
