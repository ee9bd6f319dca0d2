//! Literals a regex cannot match without: one of them begins every match.
//!
//! A rule made only of regexes had no literal for the prefilter, so it ran on every event:
//! ten such SigmaHQ rules ran a regex over every process creation. The regex syntax crate
//! extracts, from a pattern's syntax tree, a finite set of literals one of which every match
//! starts with (or says there is none); folded, they serve as the leaf's prefilter group like
//! any `contains` list.

use regex_syntax::ParserBuilder;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use crate::fold::fold;
use crate::limits::REGEX_NEST_LIMIT;

/// The folded literals one of which occurs in every text `pattern` matches, or `None` when
/// there is no such finite set of non-empty literals (or the pattern does not parse: the
/// regex build reports that).
pub(crate) fn required_literals(pattern: &str, case_insensitive: bool) -> Option<Vec<String>> {
    let hir = ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .parse(pattern)
        .ok()?;
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(&hir);
    let literals = seq.literals()?;
    // An empty set means the regex matches nothing; leave that to the regex itself.
    if literals.is_empty() {
        return None;
    }
    let mut folded = Vec::with_capacity(literals.len());
    for literal in literals {
        // A literal that is not whole UTF-8 (a class cut inside a character) or empty (the
        // match may start anywhere) gives no usable requirement.
        let text = std::str::from_utf8(literal.as_bytes()).ok()?;
        if text.is_empty() {
            return None;
        }
        folded.push(fold(text));
    }
    folded.sort_unstable();
    folded.dedup();
    Some(folded)
}

#[cfg(test)]
mod tests {
    use super::required_literals;

    fn lits(pattern: &str, ci: bool) -> Option<Vec<String>> {
        required_literals(pattern, ci)
    }

    #[test]
    fn prefixes_of_every_match() {
        assert_eq!(lits("abc", false), Some(vec!["abc".into()]));
        assert_eq!(
            lits("(?:Invoke|IEX)-x", false),
            Some(vec!["iex-x".into(), "invoke-x".into()])
        );
        assert_eq!(lits("[eE]nv:", false), Some(vec!["env:".into()]));
        assert_eq!(lits("abc", true), Some(vec!["abc".into()]));
        // Prefixes, not whole matches: what follows a repetition is not required.
        assert_eq!(lits("ab+c", false), Some(vec!["ab".into()]));
    }

    #[test]
    fn no_requirement_when_a_match_can_start_anywhere() {
        assert_eq!(lits(".*abc", false), None);
        assert_eq!(lits("a?b?", false), None);
        assert_eq!(lits("\\w+@", false), None);
        assert_eq!(lits("(unclosed", false), None);
        assert_eq!(lits("[^a]", false), None);
    }
}
