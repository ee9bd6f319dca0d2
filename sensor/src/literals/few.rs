//! Up to [`crate::limits::FEW_LITERALS_MAX`] literals, each searched for on its own with a
//! SIMD substring search, which a long text (a script block) does not slow down.

use crate::prelude::*;

use memchr::memmem::Finder;

use super::LiteralSink;
use crate::cost::Cost;

/// One substring searcher per literal.
#[derive(Debug)]
pub(super) struct FewLiterals {
    finders: Vec<Finder<'static>>,
}

impl FewLiterals {
    /// A SIMD substring search per literal, linear in the text (two-way in its worst case:
    /// at most two comparisons per byte).
    pub(super) fn worst_case(&self) -> Cost {
        self.finders.iter().fold(Cost::default(), |sum, f| Cost {
            per_byte: sum.per_byte.saturating_add(2),
            fixed: sum
                .fixed
                .saturating_add(f.needle().len() as u64)
                .saturating_add(1),
        })
    }

    pub(super) fn new<S: AsRef<[u8]>>(literals: &[S]) -> FewLiterals {
        FewLiterals {
            finders: literals
                .iter()
                .map(|l| Finder::new(l.as_ref()).into_owned())
                .collect(),
        }
    }

    pub(super) fn find(&self, text: &[u8], sink: &mut impl LiteralSink) {
        for (literal, finder) in self.finders.iter().enumerate() {
            let literal = literal as u32;
            if !sink.known(literal) && finder.find(text).is_some() {
                sink.found(literal);
            }
        }
    }
}
