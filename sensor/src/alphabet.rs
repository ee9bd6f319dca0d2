//! A regex's characters compressed into at most 256 classes, so that its whole DFA runs over
//! one byte per character of text instead of one state per UTF-8 byte.
//!
//! A whole DFA over UTF-8 bytes grows with every Unicode class: `(?i)` and `\w`, `\s`, `\d`
//! and `.` each spell hundreds of byte sequences, and a counted repetition of one multiplies
//! them. Of SigmaHQ's 81 regexes on `CommandLine`, 10 had no whole DFA within 16 KiB and were
//! charged, and could cost, the PikeVM's per-state price (`LOADER.md` COST-2). But a regex
//! only ever asks of a character which of its classes and literals it belongs to: the
//! characters that belong to the same ones form one class of the regex's *alphabet*, and
//! those are few (every ASCII letter of a `(?i)` literal, the non-ASCII word characters, the
//! rest). The regex rewritten over the class bytes has the same matches on the text
//! rewritten the same way, character by character, and its DFA is that of an ASCII regex.
//!
//! Look-around assertions survive the rewrite: `\n` and `\r` keep their bytes (line anchors),
//! and the classes inside the word set (Unicode's or ASCII's, whichever the regex's word
//! boundaries use) get ASCII word bytes, so a Unicode word boundary becomes an ASCII one over
//! the class bytes. A regex that uses both kinds of word boundary, matches raw non-ASCII
//! bytes, or needs more classes than there are bytes of each kind is not compressed.

use crate::prelude::*;

use alloc::borrow::Cow;
#[cfg(feature = "std")]
use std::sync::OnceLock;

use regex_syntax::ParserBuilder;
use regex_syntax::hir::{
    Class, ClassBytes, ClassBytesRange, ClassUnicode, Hir, HirKind, Look, Repetition,
};

use crate::limits::{ALPHABET_WORK_LIMIT, REGEX_NEST_LIMIT};

/// One past the largest code point.
const CODE_POINTS: u32 = 0x11_0000;

/// The class bytes of one regex's alphabet, by character.
#[derive(Clone, Debug)]
pub(crate) struct Alphabet {
    /// The class byte of each ASCII character.
    ascii: [u8; 128],
    /// The first code point and class byte of each run of non-ASCII code points, sorted,
    /// the first starting at U+0080.
    runs: Box<[(u32, u8)]>,
}

impl Alphabet {
    /// The class byte of `c`.
    pub(crate) fn class_of(&self, c: char) -> u8 {
        let code = u32::from(c);
        if let Some(&class) = self.ascii.get(code as usize) {
            return class;
        }
        let after = self.runs.partition_point(|&(start, _)| start <= code);
        after
            .checked_sub(1)
            .and_then(|i| self.runs.get(i))
            .map_or(0, |&(_, class)| class)
    }

    /// The class byte of an ASCII byte (0 for any other: [`Alphabet::class_of`] reads those).
    pub(crate) fn class_of_ascii(&self, byte: u8) -> u8 {
        self.ascii.get(usize::from(byte)).copied().unwrap_or(0)
    }

    /// Steps the look-up of one character takes at most: one for ASCII, a binary search of
    /// the runs otherwise (`LOADER.md` COST-2).
    pub(crate) fn lookup_steps(&self) -> u64 {
        let runs = self.runs.len() as u64;
        u64::from(runs.saturating_add(1).next_power_of_two().trailing_zeros()).max(1)
    }

    /// Bytes the alphabet holds.
    pub(crate) fn memory(&self) -> usize {
        self.ascii.len().saturating_add(
            self.runs
                .len()
                .saturating_mul(core::mem::size_of::<(u32, u8)>()),
        )
    }
}

/// Which word boundaries a regex uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Words {
    unicode: bool,
    ascii: bool,
}

/// A set of code points, as sorted, non-overlapping inclusive ranges.
type Set = Vec<(u32, u32)>;

/// Rewrites `hir` over its alphabet, or `None` when it cannot be (see the module's text) or
/// the partition would take more than `ALPHABET_WORK_LIMIT` steps.
pub(crate) fn compress(hir: &Hir) -> Option<(Alphabet, Hir)> {
    let mut sets: Vec<Set> = vec![vec![(0x0a, 0x0a)], vec![(0x0d, 0x0d)]];
    let mut words = Words::default();
    collect(hir, &mut sets, &mut words, nest_bound())?;
    let unicode_word_set;
    let word_set: Option<&[(u32, u32)]> = match (words.unicode, words.ascii) {
        (true, true) => return None,
        (true, false) => {
            unicode_word_set = unicode_word();
            Some(&unicode_word_set)
        }
        (false, true) => Some(ASCII_WORD),
        (false, false) => None,
    };
    if let Some(w) = word_set {
        sets.push(w.to_vec());
    }
    sets.sort_unstable();
    sets.dedup();
    let partition = Partition::refine(&sets)?;
    let classes = partition.assign(word_set)?;
    let rewritten = rewrite(hir, &partition, &classes, nest_bound())?;
    Some((partition.alphabet(&classes), rewritten))
}

/// The recursion bound of a walk over a parsed tree: the parser's nesting limit, with room for
/// the levels a repetition or capture adds around a group.
fn nest_bound() -> u32 {
    REGEX_NEST_LIMIT.saturating_mul(2).saturating_add(8)
}

/// Unicode's word characters (`\w`), parsed once with `std`, at each use without it.
fn unicode_word() -> Cow<'static, [(u32, u32)]> {
    #[cfg(feature = "std")]
    {
        static WORD: OnceLock<Set> = OnceLock::new();
        Cow::Borrowed(WORD.get_or_init(parse_unicode_word))
    }
    #[cfg(not(feature = "std"))]
    {
        Cow::Owned(parse_unicode_word())
    }
}

fn parse_unicode_word() -> Set {
    let parsed = ParserBuilder::new().build().parse(r"\w").ok();
    match parsed.as_ref().map(Hir::kind) {
        Some(HirKind::Class(Class::Unicode(c))) => unicode_set(c),
        // `\w` always parses to a Unicode class; an empty set only makes every class
        // non-word, which `compress` then refuses for lack of word bytes.
        _ => Vec::new(),
    }
}

/// ASCII's word characters (`(?-u:\w)`).
const ASCII_WORD: &[(u32, u32)] = &[(0x30, 0x39), (0x41, 0x5a), (0x5f, 0x5f), (0x61, 0x7a)];

fn unicode_set(class: &ClassUnicode) -> Set {
    class
        .ranges()
        .iter()
        .map(|r| (u32::from(r.start()), u32::from(r.end())))
        .collect()
}

/// The code points `class` matches, or `None` for a byte class that matches a non-ASCII byte
/// (only `(?-u)` makes one, and it is not a set of characters).
fn class_set(class: &Class) -> Option<Set> {
    match class {
        Class::Unicode(c) => Some(unicode_set(c)),
        Class::Bytes(c) => c
            .ranges()
            .iter()
            .map(|r| (r.end() < 0x80).then(|| (u32::from(r.start()), u32::from(r.end()))))
            .collect(),
    }
}

/// The characters of a literal, which the parser writes as UTF-8 (or `None` for raw bytes).
fn literal_chars(bytes: &[u8]) -> Option<core::str::Chars<'_>> {
    core::str::from_utf8(bytes).ok().map(str::chars)
}

fn collect(hir: &Hir, sets: &mut Vec<Set>, words: &mut Words, depth: u32) -> Option<()> {
    let depth = depth.checked_sub(1)?;
    match hir.kind() {
        HirKind::Empty => {}
        HirKind::Literal(literal) => {
            for c in literal_chars(&literal.0)? {
                sets.push(vec![(u32::from(c), u32::from(c))]);
            }
        }
        HirKind::Class(class) => sets.push(class_set(class)?),
        HirKind::Look(look) => match look {
            Look::WordUnicode
            | Look::WordUnicodeNegate
            | Look::WordStartUnicode
            | Look::WordEndUnicode
            | Look::WordStartHalfUnicode
            | Look::WordEndHalfUnicode => words.unicode = true,
            Look::WordAscii
            | Look::WordAsciiNegate
            | Look::WordStartAscii
            | Look::WordEndAscii
            | Look::WordStartHalfAscii
            | Look::WordEndHalfAscii => words.ascii = true,
            _ => {}
        },
        HirKind::Repetition(r) => collect(&r.sub, sets, words, depth)?,
        HirKind::Capture(c) => collect(&c.sub, sets, words, depth)?,
        HirKind::Concat(parts) | HirKind::Alternation(parts) => {
            for part in parts {
                collect(part, sets, words, depth)?;
            }
        }
    }
    Some(())
}

/// The code points cut into intervals at every boundary of every set, and each interval's
/// class: two code points share a class exactly when every set holds both or neither.
struct Partition {
    /// Interval `i` is `bounds[i]..bounds[i + 1]`.
    bounds: Vec<u32>,
    class: Vec<u16>,
    classes: usize,
}

impl Partition {
    /// `None` past `ALPHABET_WORK_LIMIT` steps (intervals visited, classes split).
    fn refine(sets: &[Set]) -> Option<Partition> {
        let mut bounds = vec![0, CODE_POINTS];
        for set in sets {
            for &(start, end) in set {
                bounds.push(start);
                bounds.push(end.checked_add(1)?);
            }
        }
        bounds.sort_unstable();
        bounds.dedup();
        let intervals = bounds.len().checked_sub(1)?;
        let mut partition = Partition {
            bounds,
            class: vec![0; intervals],
            classes: 1,
        };
        let mut sizes = vec![intervals];
        let mut covered = Vec::new();
        let mut work = 0usize;
        for set in sets {
            covered.clear();
            for &(start, end) in set {
                let span = partition.span(start, end)?;
                work = work.saturating_add(span.len());
                if work > ALPHABET_WORK_LIMIT {
                    return None;
                }
                covered.extend(span);
            }
            work = work.saturating_add(partition.classes);
            partition.split(&covered, &mut sizes)?;
        }
        Some(partition)
    }

    /// The intervals `start..=end` covers (both are boundaries by construction).
    fn span(&self, start: u32, end: u32) -> Option<core::ops::Range<usize>> {
        let first = self.bounds.binary_search(&start).ok()?;
        let last = self.bounds.binary_search(&end.checked_add(1)?).ok()?;
        Some(first..last)
    }

    /// Moves the `covered` intervals of every class that also has intervals outside them into
    /// a new class.
    fn split(&mut self, covered: &[usize], sizes: &mut Vec<usize>) -> Option<()> {
        // There are never more than 256 classes (see below): no allocation per set.
        let mut inside = [0usize; 256];
        for &i in covered {
            let c = usize::from(*self.class.get(i)?);
            let n = inside.get_mut(c)?;
            *n = n.saturating_add(1);
        }
        // New class of each class that splits, by old class.
        let mut moved: [Option<u16>; 256] = [None; 256];
        for (c, &n) in inside.iter().enumerate().take(self.classes) {
            let size = *sizes.get(c)?;
            if n > 0 && n < size {
                // A byte names a class: more than 256 can never be assigned.
                if self.classes >= 256 {
                    return None;
                }
                *moved.get_mut(c)? = Some(u16::try_from(self.classes).ok()?);
                sizes.push(n);
                *sizes.get_mut(c)? = size.checked_sub(n)?;
                self.classes = self.classes.checked_add(1)?;
            }
        }
        for &i in covered {
            let slot = self.class.get_mut(i)?;
            if let Some(new) = moved.get(usize::from(*slot)).copied().flatten() {
                *slot = new;
            }
        }
        Some(())
    }

    /// The class of the interval holding code point `code`.
    fn class_at(&self, code: u32) -> Option<u16> {
        let after = self.bounds.partition_point(|&b| b <= code);
        self.class.get(after.checked_sub(1)?).copied()
    }

    /// A byte for each class: `\n` and `\r` keep theirs, the classes inside `word` (when the
    /// regex has word boundaries) take ASCII word bytes and the others the rest.
    fn assign(&self, word: Option<&[(u32, u32)]>) -> Option<Vec<u8>> {
        let is_word_byte = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        // The word set is one of the sets refined by: each of its intervals' classes lies
        // inside it.
        let mut in_word = vec![false; self.classes];
        for &(start, end) in word.unwrap_or_default() {
            for i in self.span(start, end)? {
                *in_word.get_mut(usize::from(*self.class.get(i)?))? = true;
            }
        }
        let mut bytes = vec![None; self.classes];
        *bytes.get_mut(usize::from(self.class_at(0x0a)?))? = Some(b'\n');
        *bytes.get_mut(usize::from(self.class_at(0x0d)?))? = Some(b'\r');
        let mut word_bytes = (0..=255u8).filter(move |&b| is_word_byte(b));
        // Without word boundaries no assertion reads a byte's wordness: any byte will do.
        let mut other_bytes = (0..=255u8)
            .filter(move |&b| b != b'\n' && b != b'\r' && (word.is_none() || !is_word_byte(b)));
        for (c, slot) in bytes.iter_mut().enumerate() {
            if slot.is_none() {
                *slot = Some(if *in_word.get(c)? {
                    word_bytes.next()?
                } else {
                    other_bytes.next()?
                });
            }
        }
        bytes.into_iter().collect()
    }

    /// The look-up table of `classes`' bytes.
    fn alphabet(&self, classes: &[u8]) -> Alphabet {
        let byte = |i: usize| {
            self.class
                .get(i)
                .and_then(|&c| classes.get(usize::from(c)))
                .copied()
                .unwrap_or(0)
        };
        let mut ascii = [0u8; 128];
        let mut runs: Vec<(u32, u8)> = Vec::new();
        for (i, window) in self.bounds.windows(2).enumerate() {
            let [start, end] = *window else { continue };
            let b = byte(i);
            for code in start..end.min(0x80) {
                if let Some(slot) = ascii.get_mut(code as usize) {
                    *slot = b;
                }
            }
            if end > 0x80 && runs.last().is_none_or(|&(_, last)| last != b) {
                runs.push((start.max(0x80), b));
            }
        }
        Alphabet {
            ascii,
            runs: runs.into_boxed_slice(),
        }
    }

    /// The class bytes a set of code points covers: whole classes, by construction.
    fn bytes_of(&self, set: &Set, classes: &[u8]) -> Option<ClassBytes> {
        let mut seen = [false; 256];
        for &(start, end) in set {
            for i in self.span(start, end)? {
                let c = usize::from(*self.class.get(i)?);
                *seen.get_mut(usize::from(*classes.get(c)?))? = true;
            }
        }
        // Runs of consecutive bytes, in order: already the class's canonical ranges.
        let mut ranges: Vec<ClassBytesRange> = Vec::new();
        for b in (0..=255u8).filter(|&b| seen.get(usize::from(b)).copied().unwrap_or(false)) {
            match ranges.last_mut() {
                Some(last) if last.end().checked_add(1) == Some(b) => {
                    *last = ClassBytesRange::new(last.start(), b);
                }
                _ => ranges.push(ClassBytesRange::new(b, b)),
            }
        }
        Some(ClassBytes::new(ranges))
    }
}

/// `hir` over the class bytes: each literal character and class becomes its classes' bytes,
/// each Unicode word assertion its ASCII one.
fn rewrite(hir: &Hir, partition: &Partition, classes: &[u8], depth: u32) -> Option<Hir> {
    let depth = depth.checked_sub(1)?;
    let class_byte =
        |code: u32| -> Option<u8> { classes.get(usize::from(partition.class_at(code)?)).copied() };
    Some(match hir.kind() {
        HirKind::Empty => Hir::empty(),
        HirKind::Literal(literal) => {
            let bytes: Option<Vec<u8>> = literal_chars(&literal.0)?
                .map(|c| class_byte(u32::from(c)))
                .collect();
            Hir::literal(bytes?)
        }
        HirKind::Class(class) => Hir::class(Class::Bytes(
            partition.bytes_of(&class_set(class)?, classes)?,
        )),
        HirKind::Look(look) => Hir::look(match look {
            Look::WordUnicode => Look::WordAscii,
            Look::WordUnicodeNegate => Look::WordAsciiNegate,
            Look::WordStartUnicode => Look::WordStartAscii,
            Look::WordEndUnicode => Look::WordEndAscii,
            Look::WordStartHalfUnicode => Look::WordStartHalfAscii,
            Look::WordEndHalfUnicode => Look::WordEndHalfAscii,
            other => *other,
        }),
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            min: r.min,
            max: r.max,
            greedy: r.greedy,
            sub: Box::new(rewrite(&r.sub, partition, classes, depth)?),
        }),
        // Captures are not reported: the group alone.
        HirKind::Capture(c) => rewrite(&c.sub, partition, classes, depth)?,
        HirKind::Concat(parts) => Hir::concat(
            parts
                .iter()
                .map(|p| rewrite(p, partition, classes, depth))
                .collect::<Option<_>>()?,
        ),
        HirKind::Alternation(parts) => Hir::alternation(
            parts
                .iter()
                .map(|p| rewrite(p, partition, classes, depth))
                .collect::<Option<_>>()?,
        ),
    })
}
