//! Case folding for case-insensitive comparisons: each character is replaced by its Unicode
//! lowercase mapping, one character at a time, with no context rules. Per-character mapping
//! keeps the property the prefilter relies on: if `t` is a substring of `s`, then `fold(t)` is
//! a substring of `fold(s)`.

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
}
