//! Regular expressions: parsed once, compiled under the sensor's limits, and asked for the
//! literals every match starts with.
//!
//! A rule made only of regexes had no literal for the prefilter, so it ran on every event:
//! ten such SigmaHQ rules ran a regex over every process creation. The regex syntax crate
//! extracts, from a pattern's syntax tree, a finite set of literals one of which every match
//! starts with (or says there is none); folded, they serve as the leaf's prefilter group like
//! any `contains` list. The tree is parsed once and compiled from, as the `regex` crate would
//! compile the pattern (leftmost-first, matches never split a character).

use regex_automata::meta;
use regex_syntax::ParserBuilder;
use regex_syntax::hir::Hir;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use crate::fold::fold;
use crate::limits::{REGEX_DFA_SIZE_LIMIT, REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT};

/// A compiled regex. Cloning shares the compiled program.
pub(crate) type Regex = meta::Regex;

/// A regex compiled under the sensor's limits, with its required literals.
#[derive(Clone, Debug)]
pub(crate) struct CompiledRegex {
    pub(crate) regex: Regex,
    /// See [`required_literals`].
    pub(crate) required: Option<Vec<String>>,
}

/// Parses and compiles `pattern`, or says why it cannot be.
pub(crate) fn compile_regex(
    pattern: &str,
    case_insensitive: bool,
) -> Result<CompiledRegex, String> {
    let hir = ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .parse(pattern)
        .map_err(|e| e.to_string())?;
    let config = meta::Config::new()
        .match_kind(regex_automata::MatchKind::LeftmostFirst)
        .utf8_empty(true)
        .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
        .hybrid_cache_capacity(REGEX_DFA_SIZE_LIMIT)
        // No full DFAs, whatever features other crates enable: building them was an eighth
        // of the time to load SigmaHQ's rules, for no faster search than the lazy DFA's.
        .dfa(false)
        // Only `is_match` is asked, so no one-pass DFA: it serves searches for capture groups.
        .onepass(false);
    let regex = meta::Builder::new()
        .configure(config)
        .build_from_hir(&hir)
        .map_err(|e| e.to_string())?;
    Ok(CompiledRegex {
        regex,
        required: required_literals(&hir),
    })
}

/// The folded literals one of which occurs in every text `hir` matches, or `None` when there
/// is no such finite set of non-empty literals.
fn required_literals(hir: &Hir) -> Option<Vec<String>> {
    let seq = Extractor::new().kind(ExtractKind::Prefix).extract(hir);
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
    use super::compile_regex;

    fn lits(pattern: &str, ci: bool) -> Option<Vec<String>> {
        compile_regex(pattern, ci).ok()?.required
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
        assert_eq!(lits("[^a]", false), None);
    }

    #[test]
    fn compiles_like_the_regex_crate_under_limits() {
        let re = compile_regex("^a.c$", true).unwrap().regex;
        assert!(re.is_match("AéC"));
        assert!(!re.is_match("abbc"));
        assert!(compile_regex("(unclosed", false).is_err());
        assert!(compile_regex("(a{1000}){1000}", false).is_err());
        assert!(compile_regex(&format!("{}a{}", "(".repeat(100), ")".repeat(100)), false).is_err());
    }
}
