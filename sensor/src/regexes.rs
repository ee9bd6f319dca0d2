//! Regular expressions: parsed once, compiled under the sensor's limits, and asked for the
//! literals every match starts with.
//!
//! A rule made only of regexes had no literal for the prefilter, so it ran on every event:
//! ten such SigmaHQ rules ran a regex over every process creation. The regex syntax crate
//! extracts, from a pattern's syntax tree, a finite set of literals one of which every match
//! starts with (or says there is none); folded, they serve as the leaf's prefilter group like
//! any `contains` list. The tree is parsed once and compiled from.

use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::Arc;

use regex_automata::Input;
use regex_automata::hybrid::dfa::{Cache as DfaCache, DFA};
use regex_automata::nfa::thompson::pikevm::{Cache as PikeCache, PikeVM};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::pool::Pool;
use regex_syntax::ParserBuilder;
use regex_syntax::hir::Hir;
use regex_syntax::hir::literal::{ExtractKind, Extractor};

use crate::fold::fold;
use crate::limits::{REGEX_DFA_SIZE_LIMIT, REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT};

/// Search state of one regex for one thread.
struct Caches {
    dfa: Option<DfaCache>,
    pike: PikeCache,
}

type MakeCaches = Box<dyn Fn() -> Caches + Send + Sync + UnwindSafe + RefUnwindSafe>;

/// A compiled regex that answers whether it matches somewhere in a text. Cloning shares it.
///
/// The sensor only asks `is_match`, so only what a forward search needs is built: the
/// Thompson NFA without capture states, a lazy DFA over it, and the PikeVM the lazy DFA falls
/// back on when it gives up (its cache thrashes, or a Unicode word boundary meets non-ASCII
/// text). The `regex` crate's engine also builds a reverse NFA and literal strategies to find
/// where matches start; that was a third of the time to load SigmaHQ's rules.
#[derive(Clone)]
pub(crate) struct Regex(Arc<Compiled>);

struct Compiled {
    dfa: Option<DFA>,
    pike: PikeVM,
    caches: Pool<Caches, MakeCaches>,
}

impl std::fmt::Debug for Regex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Regex")
            .field("states", &self.0.pike.get_nfa().states().len())
            .finish()
    }
}

impl Regex {
    /// Whether the regex matches somewhere in `text`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        let input = Input::new(text).earliest(true);
        let mut caches = self.0.caches.get();
        if let (Some(dfa), Some(cache)) = (&self.0.dfa, caches.dfa.as_mut())
            && let Ok(found) = dfa.try_search_fwd(cache, &input)
        {
            return found.is_some();
        }
        self.0.pike.is_match(&mut caches.pike, input)
    }
}

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
    let nfa = thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                .which_captures(WhichCaptures::None),
        )
        .build_from_hir(&hir)
        .map_err(|e| e.to_string())?;
    let pike = PikeVM::new_from_nfa(nfa.clone()).map_err(|e| e.to_string())?;
    // Without a lazy DFA (one that cannot be built within its cache), the PikeVM answers.
    let dfa = DFA::builder()
        .configure(
            DFA::config()
                .cache_capacity(REGEX_DFA_SIZE_LIMIT)
                .unicode_word_boundary(true),
        )
        .build_from_nfa(nfa)
        .ok();
    let (for_dfa, for_pike) = (dfa.clone(), pike.clone());
    let make: MakeCaches = Box::new(move || Caches {
        dfa: for_dfa.as_ref().map(DfaCache::new),
        pike: for_pike.create_cache(),
    });
    Ok(CompiledRegex {
        regex: Regex(Arc::new(Compiled {
            dfa,
            pike,
            caches: Pool::new(make),
        })),
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

    /// Against the `regex` crate, which compiles the same syntax its own way: word boundaries
    /// on ASCII and non-ASCII text (where the lazy DFA gives up and the PikeVM answers), case
    /// folding, anchors, classes and empty matches.
    #[test]
    fn agrees_with_the_regex_crate() {
        let patterns = [
            r"\bcmd\b",
            r"(?i)invoke-(expression|webrequest)",
            r"^[a-z]{3,8}\.exe$",
            r"\$\{?[eE][nN][vV]:",
            r"a*",
            r"\w+@\w+",
            r"(?i)straße",
            r"é\b",
            r"[^\x00-\x7f]{2}",
            r"(a|b)*c{2,}",
        ];
        let texts = [
            "",
            "cmd",
            "xcmd",
            "run cmd now",
            "Invoke-WebRequest x",
            "calc.exe",
            "CALC.exe",
            "${env:x}",
            "$ENV:",
            "bob@host",
            "STRASSE",
            "straße",
            "café",
            "caféx",
            "日本",
            "é",
            "abcc",
            "abc",
        ];
        let mut checked = 0;
        for pattern in patterns {
            for ci in [false, true] {
                let ours = compile_regex(pattern, ci).unwrap().regex;
                let theirs = regex::RegexBuilder::new(pattern)
                    .case_insensitive(ci)
                    .build()
                    .unwrap();
                for text in texts {
                    assert_eq!(
                        ours.is_match(text),
                        theirs.is_match(text),
                        "{pattern:?} (case-insensitive {ci}) on {text:?}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 360);
    }
}
