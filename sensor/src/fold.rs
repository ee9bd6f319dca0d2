//! Case folding for case-insensitive comparisons: each character is replaced by its Unicode
//! lowercase mapping, one character at a time, with no context rules. Per-character mapping
//! keeps the property the prefilter relies on: if `t` is a substring of `s`, then `fold(t)` is
//! a substring of `fold(s)`.

/// Appends the folded form of `s` to `out`.
pub fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        if let Some(added) = out.get_mut(start..) {
            added.make_ascii_lowercase();
        }
    } else {
        for c in s.chars() {
            out.extend(c.to_lowercase());
        }
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
    }
}
