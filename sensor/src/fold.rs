//! Case folding for case-insensitive comparisons: each character is replaced by its Unicode
//! lowercase mapping, one character at a time, with no context rules. Per-character mapping
//! keeps the property the prefilter relies on: if `t` is a substring of `s`, then `fold(t)` is
//! a substring of `fold(s)`.

use crate::prelude::*;

/// Appends the folded form of `s` to `out`. ASCII runs are lowered in bulk; only the other
/// characters go through Unicode's mapping (product and company names carry `®`, which made
/// whole values take the slow path).
pub fn fold_into(s: &str, out: &mut String) {
    out.reserve(s.len());
    let mut rest = s;
    while !rest.is_empty() {
        let ascii = rest
            .bytes()
            .position(|b| !b.is_ascii())
            .unwrap_or(rest.len());
        let Some((run, tail)) = rest.split_at_checked(ascii) else {
            return;
        };
        let start = out.len();
        out.push_str(run);
        if let Some(added) = out.get_mut(start..) {
            added.make_ascii_lowercase();
        }
        let mut chars = tail.chars();
        if let Some(c) = chars.next() {
            out.extend(c.to_lowercase());
        }
        rest = chars.as_str();
    }
}

/// The folded form of `s`.
pub fn fold(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    fold_into(s, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_ascii_and_unicode_per_character() {
        assert_eq!(fold("C:\\Windows\\CMD.EXE"), "c:\\windows\\cmd.exe");
        assert_eq!(fold("ÉVÈNEMENT"), "évènement");
        // No final-sigma context rule: the fold of a substring stays a substring.
        assert_eq!(fold("ΟΔΟΣ"), "οδοσ");
        assert!(fold("xΟΔΟΣy").contains(&fold("ΟΣ")));
        assert_eq!(fold("Microsoft® Windows® OS"), "microsoft® windows® os");
        assert_eq!(fold("ÀB"), "àb");
        assert_eq!(fold(""), "");
    }

    /// The cost model charges a folded text at `FOLD_GROWTH_NUM / FOLD_GROWTH_DEN` times the
    /// unfolded length (`LOADER.md` COST-2): no character grows by more when folded.
    #[test]
    fn folding_grows_no_character_beyond_the_cost_models_factor() {
        use crate::limits::{FOLD_GROWTH_DEN, FOLD_GROWTH_NUM};
        let mut widest = (0u64, 1u64);
        for c in (0..=char::MAX as u32).filter_map(char::from_u32) {
            let mut buf = [0u8; 4];
            let folded = fold(c.encode_utf8(&mut buf)).len() as u64;
            let len = c.len_utf8() as u64;
            assert!(
                folded * FOLD_GROWTH_DEN <= len * FOLD_GROWTH_NUM,
                "{c:?} folds from {len} to {folded} bytes"
            );
            if folded * widest.1 > widest.0 * len {
                widest = (folded, len);
            }
        }
        // The factor is tight: some character (U+0130) reaches it.
        assert_eq!(widest.0 * FOLD_GROWTH_DEN, widest.1 * FOLD_GROWTH_NUM);
    }
}
