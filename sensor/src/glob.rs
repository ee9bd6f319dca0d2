//! Glob matching (`SPEC.md`, GLOB) without a regex engine.
//!
//! A glob is a sequence of segments separated by `*`; a segment is literal text and `?`s. The
//! first segment is anchored at the start of the value unless the glob starts with `*`, the
//! last at its end unless the glob ends with `*`, and every segment between is placed at its
//! leftmost occurrence after the previous one: for globs, leftmost placement finds a match
//! whenever one exists. A segment of one literal is found by a two-way substring search; one
//! with `?`s and at most 64 characters by shift-and, one bit per character of the segment
//! updated once per character of text; a longer one by comparing it at each occurrence of its
//! first literal. Every search is linear in the value (`LOADER.md` COST-2), and none needs
//! compilation: building a regex per glob was a third of the time to load SigmaHQ's rules.

use crate::prelude::*;

/// One piece of a segment.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Item {
    /// Text that must occur as is.
    Literal(Box<str>),
    /// `?`: exactly one character.
    AnyChar,
}

/// Literal text and `?`s between two `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Segment {
    items: Vec<Item>,
    /// Characters the segment spans (every match has this many).
    chars: usize,
    /// The shift-and masks of a segment with a `?` and at most 64 characters.
    masks: Option<Box<ShiftAnd>>,
}

/// Shift-and masks of a segment: bit `i` of a character's mask is set when the segment's
/// character `i` is that character or a `?`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct ShiftAnd {
    ascii: [u64; 128],
    /// The masks of the segment's non-ASCII characters, sorted by character.
    others: Vec<(char, u64)>,
    /// The mask of every other character: the `?`s.
    any: u64,
    /// The bit of the segment's last character.
    last: u64,
}

/// Steps per character of a shift-and search: the mask's look-up (a binary search of at most
/// 64 characters for a non-ASCII one, which takes two bytes or more) and the update.
const SHIFT_AND_STEPS: u64 = 6;

impl ShiftAnd {
    fn new(items: &[Item], chars: usize) -> Option<ShiftAnd> {
        if chars == 0 || chars > 64 || !items.contains(&Item::AnyChar) {
            return None;
        }
        let mut masks = ShiftAnd {
            ascii: [0; 128],
            others: Vec::new(),
            any: 0,
            last: 1u64.checked_shl(u32::try_from(chars.checked_sub(1)?).ok()?)?,
        };
        let mut others: Vec<(char, u64)> = Vec::new();
        let mut bit = 1u64;
        for item in items {
            match item {
                Item::AnyChar => {
                    masks.any |= bit;
                    bit = bit.wrapping_shl(1);
                }
                Item::Literal(text) => {
                    for c in text.chars() {
                        match masks.ascii.get_mut(c as usize) {
                            Some(slot) => *slot |= bit,
                            None => others.push((c, bit)),
                        }
                        bit = bit.wrapping_shl(1);
                    }
                }
            }
        }
        others.sort_unstable();
        for (c, bit) in others {
            match masks.others.last_mut() {
                Some((last, mask)) if *last == c => *mask |= bit,
                _ => masks.others.push((c, bit)),
            }
        }
        let any = masks.any;
        masks.ascii.iter_mut().for_each(|m| *m |= any);
        masks.others.iter_mut().for_each(|(_, m)| *m |= any);
        Some(masks)
    }

    fn mask(&self, c: char) -> u64 {
        if let Some(&m) = self.ascii.get(c as usize) {
            return m;
        }
        self.others
            .binary_search_by_key(&c, |&(k, _)| k)
            .ok()
            .and_then(|i| self.others.get(i))
            .map_or(self.any, |&(_, m)| m)
    }

    /// The end of the leftmost match within `text[start..end]`: every match spans the same
    /// number of characters, so the first to end is also the first to start.
    fn find(&self, text: &str, start: usize, end: usize) -> Option<usize> {
        let window = text.get(start..end)?;
        let mut state = 0u64;
        for (at, c) in window.char_indices() {
            state = (state.wrapping_shl(1) | 1) & self.mask(c);
            if state & self.last != 0 {
                return start.checked_add(at)?.checked_add(c.len_utf8());
            }
        }
        None
    }
}

/// A parsed glob.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    segments: Vec<Segment>,
    /// No leading `*`: the first segment starts the value.
    anchored_start: bool,
    /// No trailing `*`: the last segment ends the value.
    anchored_end: bool,
}

impl Glob {
    /// Parses `pattern`: `*` any run of characters, `?` one character, `\*` `\?` `\\` the
    /// character itself. Any other `\` sequence, or a `\` ending the pattern, is malformed
    /// (`SPEC.md` GLOB, `LOADER.md` LOAD-10): the one glob rule, which the loader, the
    /// validator and the dry run all call. Says why when it refuses.
    pub fn parse(pattern: &str) -> Result<Glob, String> {
        let mut segments = Vec::new();
        let mut current = Segment {
            items: Vec::new(),
            chars: 0,
            masks: None,
        };
        let mut literal = String::new();
        let mut stars = 0usize;
        let mut chars = pattern.char_indices();
        let flush = |literal: &mut String, segment: &mut Segment| {
            if !literal.is_empty() {
                segment
                    .items
                    .push(Item::Literal(core::mem::take(literal).into_boxed_str()));
            }
        };
        while let Some((at, c)) = chars.next() {
            match c {
                '*' => {
                    stars = stars.saturating_add(1);
                    flush(&mut literal, &mut current);
                    if !current.items.is_empty() {
                        segments.push(core::mem::replace(
                            &mut current,
                            Segment {
                                items: Vec::new(),
                                chars: 0,
                                masks: None,
                            },
                        ));
                    }
                }
                '?' => {
                    flush(&mut literal, &mut current);
                    current.items.push(Item::AnyChar);
                    current.chars = current.chars.saturating_add(1);
                }
                '\\' => match chars.next() {
                    Some((_, escaped @ ('*' | '?' | '\\'))) => {
                        literal.push(escaped);
                        current.chars = current.chars.saturating_add(1);
                    }
                    Some((_, other)) => {
                        return Err(format!(
                            "`\\` at byte {at} escapes `{other}`, but only `*`, `?` and `\\` can be escaped"
                        ));
                    }
                    None => return Err("the pattern ends with a lone `\\`".to_string()),
                },
                other => {
                    literal.push(other);
                    current.chars = current.chars.saturating_add(1);
                }
            }
        }
        flush(&mut literal, &mut current);
        // With no `*` at all, the one segment (even an empty one) must be the whole value.
        if !current.items.is_empty() || stars == 0 {
            segments.push(current);
        }
        for segment in &mut segments {
            segment.masks = ShiftAnd::new(&segment.items, segment.chars).map(Box::new);
        }
        Ok(Glob {
            segments,
            anchored_start: !pattern.starts_with('*'),
            anchored_end: stars == 0 || !ends_with_star(pattern),
        })
    }

    /// Steps per byte of value that [`Glob::matches`] takes at most (`LOADER.md` COST-2).
    /// An anchored first or last segment is compared once, whatever the value's length; each
    /// other segment is placed by searching forward from where the previous one ended, so
    /// those searches together cover the value once, each at its segment's rate (see
    /// [`Segment::steps_per_byte`]): the glob's rate is the costliest. Linear in the value.
    pub(crate) fn steps_per_byte(&self) -> u64 {
        let placed = self.placed_segments();
        placed
            .iter()
            .map(Segment::steps_per_byte)
            .max()
            .unwrap_or(0)
    }

    /// The segments [`Glob::matches`] places by a search, not at an anchored end.
    fn placed_segments(&self) -> &[Segment] {
        let mut placed = self.segments.as_slice();
        if self.anchored_start {
            placed = placed.split_first().map_or(&[][..], |(_, rest)| rest);
        }
        if self.anchored_end {
            placed = placed.split_last().map_or(&[][..], |(_, rest)| rest);
        }
        placed
    }

    /// Steps whatever the value: comparing the anchored segments (a `?` up to 4 bytes, and
    /// as many to step back over for a last one), preparing each search, and its last window.
    pub(crate) fn fixed_steps(&self) -> u64 {
        self.segments
            .iter()
            .flat_map(|s| s.items.iter())
            .fold(1u64, |sum, item| {
                sum.saturating_add(match item {
                    Item::Literal(text) => (text.len() as u64).saturating_mul(3),
                    Item::AnyChar => 8,
                })
            })
    }

    /// Whether the glob matches every value (it is only `*`s).
    pub fn matches_everything(&self) -> bool {
        self.segments.is_empty()
    }

    /// The longest run of literal text the glob requires: a value matching the glob contains it.
    pub fn longest_literal(&self) -> &str {
        self.segments
            .iter()
            .flat_map(|s| s.items.iter())
            .filter_map(|item| match item {
                Item::Literal(text) => Some(&**text),
                Item::AnyChar => None,
            })
            .max_by_key(|text| text.len())
            .unwrap_or("")
    }

    /// Whether the glob matches all of `text`.
    pub fn matches(&self, text: &str) -> bool {
        let mut segments = self.segments.as_slice();
        let mut start = 0;
        let mut end = text.len();
        if self.anchored_start {
            let Some((first, rest)) = segments.split_first() else {
                return text.is_empty();
            };
            let Some(after) = first.match_at(text, 0, end) else {
                return false;
            };
            if rest.is_empty() && self.anchored_end {
                // No `*`: the one segment is the whole value.
                return after == end;
            }
            start = after;
            segments = rest;
        }
        if self.anchored_end
            && let Some((last, rest)) = segments.split_last()
        {
            let Some(at) = back_chars(text, end, last.chars).filter(|&at| at >= start) else {
                return false;
            };
            if last.match_at(text, at, end) != Some(end) {
                return false;
            }
            end = at;
            segments = rest;
        }
        for segment in segments {
            match segment.find(text, start, end) {
                Some(after) => start = after,
                None => return false,
            }
        }
        true
    }
}

/// Whether `pattern` ends with a `*` that is not escaped.
fn ends_with_star(pattern: &str) -> bool {
    let Some(body) = pattern.strip_suffix('*') else {
        return false;
    };
    let backslashes = body.bytes().rev().take_while(|&b| b == b'\\').count();
    backslashes % 2 == 0
}

/// The byte index `count` characters before `end`, if there are that many.
fn back_chars(text: &str, end: usize, count: usize) -> Option<usize> {
    let before = text.get(..end)?;
    if count == 0 {
        return Some(end);
    }
    before
        .char_indices()
        .rev()
        .nth(count.checked_sub(1)?)
        .map(|(at, _)| at)
}

impl Segment {
    /// Steps per byte of text a search for the segment takes: a two-way search for a single
    /// literal (at most two comparisons per byte), a shift-and step per character, or else a
    /// search for its first literal and a comparison of the segment (its bytes, a `?` being
    /// up to 4, and 2 for each piece) at each candidate position.
    fn steps_per_byte(&self) -> u64 {
        if self.masks.is_some() {
            return SHIFT_AND_STEPS;
        }
        if let [Item::Literal(_)] = self.items.as_slice() {
            return 2;
        }
        let compared = self.items.iter().fold(0u64, |sum, item| {
            sum.saturating_add(match item {
                Item::Literal(text) => (text.len() as u64).saturating_mul(3).saturating_add(2),
                Item::AnyChar => 6,
            })
        });
        compared.saturating_add(2)
    }

    /// Where a match of the segment starting at `at` ends, if it stays within `end`.
    fn match_at(&self, text: &str, at: usize, end: usize) -> Option<usize> {
        let window = text.get(..end)?;
        let mut at = at;
        for item in &self.items {
            let rest = window.get(at..)?;
            match item {
                Item::Literal(literal) => {
                    if !rest.starts_with(&**literal) {
                        return None;
                    }
                    at = at.checked_add(literal.len())?;
                }
                Item::AnyChar => {
                    at = at.checked_add(rest.chars().next()?.len_utf8())?;
                }
            }
        }
        Some(at)
    }

    /// The end of the leftmost match of the segment within `text[start..end]`.
    fn find(&self, text: &str, start: usize, end: usize) -> Option<usize> {
        if let Some(masks) = &self.masks {
            return masks.find(text, start, end);
        }
        let window = text.get(..end)?;
        // A single literal: its first occurrence is the match.
        if let [Item::Literal(literal)] = self.items.as_slice() {
            let at = start.checked_add(window.get(start..)?.find(&**literal)?)?;
            return at.checked_add(literal.len());
        }
        let mut from = start;
        loop {
            let candidate = match self.items.first() {
                Some(Item::Literal(literal)) => {
                    from.checked_add(window.get(from..)?.find(&**literal)?)?
                }
                _ => from,
            };
            if let Some(after) = self.match_at(text, candidate, end) {
                return Some(after);
            }
            let next = window.get(candidate..)?.chars().next()?;
            from = candidate.checked_add(next.len_utf8())?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Glob;

    fn m(glob: &str, text: &str) -> bool {
        Glob::parse(glob).unwrap().matches(text)
    }

    #[test]
    fn anchoring_stars_and_question_marks() {
        assert!(m("abc", "abc"));
        assert!(!m("abc", "abcd"));
        assert!(!m("abc", "xabc"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("*", ""));
        assert!(m("**", "anything"));
        assert!(m("a*", "abc"));
        assert!(!m("a*", "bac"));
        assert!(m("*c", "abc"));
        assert!(!m("*c", "cab"));
        assert!(m("*\\\\cmd.exe", "c:\\windows\\cmd.exe"));
        assert!(m("a*b*c", "a-b-c"));
        assert!(m("a*b*c", "abc"));
        assert!(!m("a*b*c", "acb"));
        // The last segment must not overlap the first.
        assert!(!m("ab*ba", "aba"));
        assert!(m("ab*ba", "abba"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("a?c", "aéc"));
        assert!(m("*?", "x"));
        assert!(!m("*?", ""));
        assert!(m("?*?", "ab"));
        assert!(m("*x?z*", "..xyz.."));
        assert!(m("*x?z*", "xxyz"));
        assert!(!m("*x?z*", "xz"));
        assert!(m("*é?*", "aébc"));
    }

    #[test]
    fn escapes() {
        assert!(m("a\\*b", "a*b"));
        assert!(!m("a\\*b", "axb"));
        assert!(m("a\\?", "a?"));
        assert!(!m("a\\?", "ab"));
        assert!(m("x\\\\*", "x\\anything"));
        // `\*` at the end is a literal star: the glob is anchored at the end.
        assert!(m("a\\*", "a*"));
        assert!(!m("a\\*", "a*b"));
        assert!(Glob::parse("a\\b").is_err());
        assert!(Glob::parse("a\\").is_err());
    }

    #[test]
    fn literals_and_everything() {
        let g = Glob::parse("*\\\\system32\\\\*.exe").unwrap();
        assert_eq!(g.longest_literal(), "\\system32\\");
        assert!(Glob::parse("***").unwrap().matches_everything());
        assert!(!Glob::parse("*?*").unwrap().matches_everything());
        assert_eq!(Glob::parse("a?bc").unwrap().longest_literal(), "bc");
    }

    /// Leftmost placement against a brute-force matcher, over every glob and text of a small
    /// alphabet.
    #[test]
    fn agrees_with_brute_force() {
        fn brute(glob: &[char], text: &[char]) -> bool {
            match glob.split_first() {
                None => text.is_empty(),
                Some(('*', rest)) => (0..=text.len()).any(|i| brute(rest, &text[i..])),
                Some(('?', rest)) => !text.is_empty() && brute(rest, &text[1..]),
                Some((c, rest)) => text.first() == Some(c) && brute(rest, &text[1..]),
            }
        }
        fn all(alphabet: &[char], len: usize) -> Vec<String> {
            let mut out = vec![String::new()];
            let mut layer = vec![String::new()];
            for _ in 0..len {
                layer = layer
                    .iter()
                    .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                    .collect();
                out.extend(layer.iter().cloned());
            }
            out
        }
        let mut checked = 0;
        // How many of the checks matched.
        let mut check = |globs: &[String], texts: &[String]| -> usize {
            let mut matched = 0;
            for glob in globs {
                let parsed = Glob::parse(glob).unwrap();
                let g: Vec<char> = glob.chars().collect();
                for text in texts {
                    let t: Vec<char> = text.chars().collect();
                    let expected = brute(&g, &t);
                    assert_eq!(parsed.matches(text), expected, "{glob:?} on {text:?}");
                    checked += 1;
                    matched += usize::from(expected);
                }
            }
            matched
        };
        check(&all(&['a', 'b', '*', '?'], 5), &all(&['a', 'b'], 5));
        // Non-ASCII characters, which a `?` spans whole and shift-and looks up apart.
        check(&all(&['é', 'a', '*', '?'], 4), &all(&['é', 'a', 'b'], 5));
        // Segments longer than shift-and's 64 characters, and as long.
        let mut rng = dcf_test_support::Rng::new(0x61_0b5);
        let long = [
            format!("*{}b*", "a?".repeat(33)),
            format!("*{}b*", "a?".repeat(31)),
            format!("{}*", "?a".repeat(40)),
            format!("*{}", "?a".repeat(32)),
        ];
        let texts: Vec<String> = (0..200)
            .map(|_| {
                (0..60 + rng.below(60))
                    .map(|_| if rng.below(40) == 0 { 'b' } else { 'a' })
                    .collect()
            })
            .collect();
        let long_matched = check(&long, &texts);
        assert_eq!(checked, 1365 * 63 + 341 * 364 + 800);
        assert!(
            long_matched > 100 && long_matched < 700,
            "{long_matched} of 800"
        );
    }
}
