//! Finders of which of a set of literals occur in a text: the facade the prefilter and the
//! `contains`-any matchers call, over one file per strategy.
//!
//! [`LiteralFinder`] picks the strategy by the number of literals: up to
//! [`FEW_LITERALS_MAX`] are each searched for directly ([`few`]), a few dozen go through one
//! pass of bucketed shift-or ([`shift_or`]: cheaper per byte than a probe per atom length, but
//! its buckets blur as they fill), and larger sets use a table of atoms ([`atoms`]), which
//! hands literals shorter than an atom to direct tables ([`short`]). Every strategy's answer
//! is exact: a literal is reported if and only if it occurs. Strategies report through
//! [`LiteralSink`], which the facade defines and the strategies import; no strategy imports
//! another except the atom table its short-literal pass.

mod atoms;
mod few;
mod shift_or;
mod short;

use atoms::AtomFinder;
use few::FewLiterals;
use shift_or::ShiftOr;

use crate::cost::Cost;
use crate::limits::{FEW_LITERALS_MAX, SHIFT_OR_LITERALS_MAX};

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
    strategy: Strategy,
}

/// How a [`LiteralFinder`] searches, chosen by the number of literals.
#[derive(Debug)]
enum Strategy {
    /// At most [`FEW_LITERALS_MAX`] literals, each searched for on its own with a SIMD
    /// substring search, which a long text (a script block) does not slow down.
    Few(FewLiterals),
    /// A few dozen literals: one pass of bucketed shift-or.
    Buckets(ShiftOr),
    /// Many literals: a table of their atoms.
    Atoms(AtomFinder),
}

impl From<Strategy> for LiteralFinder {
    fn from(strategy: Strategy) -> LiteralFinder {
        LiteralFinder { strategy }
    }
}

/// Bits of a power-of-two table holding about `entries`, within `min..=max` bits.
pub(super) fn table_bits(entries: usize, min: u32, max: u32) -> u32 {
    entries
        .checked_next_power_of_two()
        .map_or(max, usize::trailing_zeros)
        .clamp(min, max)
}

impl LiteralFinder {
    /// Builds a finder over `literals` (distinct, for reports to be useful).
    pub(crate) fn new<S: AsRef<[u8]>>(literals: &[S]) -> LiteralFinder {
        if literals.len() <= FEW_LITERALS_MAX {
            return Strategy::Few(FewLiterals::new(literals)).into();
        }
        if literals.len() <= SHIFT_OR_LITERALS_MAX {
            return Strategy::Buckets(ShiftOr::new(literals)).into();
        }
        Strategy::Atoms(AtomFinder::new(literals)).into()
    }

    /// The most steps [`LiteralFinder::find`] takes on a text (`LOADER.md` COST-2): each
    /// strategy's scan, plus the comparisons of every literal that a position can make it
    /// verify.
    pub(crate) fn worst_case(&self) -> Cost {
        match &self.strategy {
            Strategy::Few(few) => few.worst_case(),
            Strategy::Buckets(buckets) => buckets.worst_case(),
            Strategy::Atoms(atoms) => atoms.worst_case(),
        }
    }

    /// Tells `sink` of every literal occurring in `text` and not yet known to it.
    pub(crate) fn find(&self, text: &str, sink: &mut impl LiteralSink) {
        match &self.strategy {
            Strategy::Few(few) => few.find(text.as_bytes(), sink),
            Strategy::Buckets(buckets) => buckets.find(text.as_bytes(), sink),
            Strategy::Atoms(atoms) => atoms.find(text, sink),
        }
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
            Strategy::Few(FewLiterals::new(literals)).into(),
            Strategy::Buckets(ShiftOr::new(literals)).into(),
            Strategy::Atoms(AtomFinder::new(literals)).into(),
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
            LiteralFinder::new(&literals(FEW_LITERALS_MAX)).strategy,
            Strategy::Few(_)
        ));
        for n in [FEW_LITERALS_MAX + 1, SHIFT_OR_LITERALS_MAX] {
            assert!(matches!(
                LiteralFinder::new(&literals(n)).strategy,
                Strategy::Buckets(_)
            ));
        }
        assert!(matches!(
            LiteralFinder::new(&literals(SHIFT_OR_LITERALS_MAX + 1)).strategy,
            Strategy::Atoms(_)
        ));
    }

    /// Every strategy against `str::contains`, on random literals and texts over a small
    /// alphabet (so atoms collide and share, and shift-or buckets pass often), with literals of
    /// every length from 0 to 16, atoms of 4 and 7 bytes, and sets of 1 to 400 literals.
    #[test]
    fn agrees_with_substring_search() {
        let mut rng = dcf_test_support::Rng::new(0x2545_f491_4f6c_dd1d);
        let mut next = |n: usize| rng.below(n);
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
