//! Regular expressions: parsed once, compiled under the sensor's limits, and asked for the
//! literals every match contains.
//!
//! A rule made only of regexes had no literal for the prefilter, so it ran on every event:
//! ten such SigmaHQ rules ran a regex over every process creation. The regex syntax crate
//! extracts, from a pattern's syntax tree, a finite set of literals one of which every match
//! starts (or ends) with; applied to each part of the tree, it also finds literals a match
//! holds in its middle. Folded, the strongest such set serves as the leaf's prefilter group
//! like any `contains` list. The tree is parsed once and compiled from.

use std::panic::{RefUnwindSafe, UnwindSafe};
use std::sync::Arc;

use regex_automata::Input;
use regex_automata::dfa::Automaton;
use regex_automata::dfa::dense::{self, DFA as DenseDfa};
use regex_automata::hybrid::dfa::{Cache as DfaCache, DFA};
use regex_automata::nfa::thompson::pikevm::{Cache as PikeCache, PikeVM};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::pool::Pool;
use regex_syntax::ParserBuilder;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Class, Hir, HirKind};

use crate::fold::fold;
use crate::limits::{
    REGEX_DENSE_SIZE_LIMIT, REGEX_DFA_SIZE_LIMIT, REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT,
};

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
    /// The whole DFA, built at load when it fits `REGEX_DENSE_SIZE_LIMIT` and the pattern has
    /// no Unicode word boundary: one transition per byte of text, whatever the text.
    dense: Option<DenseDfa<Vec<u32>>>,
    dfa: Option<DFA>,
    pike: PikeVM,
    caches: Pool<Caches, MakeCaches>,
    /// See [`Regex::memory`].
    memory: usize,
}

impl std::fmt::Debug for Regex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Regex")
            .field("states", &self.0.pike.get_nfa().states().len())
            .finish()
    }
}

impl Regex {
    /// States of the regex's automaton: the PikeVM visits each at most once per byte of
    /// text, the bound of its worst case (`LOADER.md` COST-2).
    pub(crate) fn states(&self) -> usize {
        self.0.pike.get_nfa().states().len()
    }

    /// Bytes the regex holds at most: its automaton, and one thread's search state (the
    /// PikeVM's, and the lazy DFA's cache at its capacity): `LOADER.md` COST-4.
    pub(crate) fn memory(&self) -> usize {
        self.0.memory
    }

    /// Whether a whole DFA answers every search: then a search costs one transition per byte
    /// (`LOADER.md` COST-2), and no cache is needed.
    pub(crate) fn is_dense(&self) -> bool {
        self.0.dense.is_some()
    }

    /// Whether the regex matches somewhere in `text`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        let input = Input::new(text).earliest(true);
        // Built without quit bytes (no Unicode word boundary), the whole DFA never gives up.
        if let Some(dense) = &self.0.dense
            && let Ok(found) = dense.try_search_fwd(&input)
        {
            return found.is_some();
        }
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

/// Why a regex operand is refused (`LOADER.md` LOAD-10).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegexError {
    /// The pattern does not parse in the sensor's syntax (the `regex` crate's: no look-around,
    /// no back-references), or nests deeper than `REGEX_NEST_LIMIT`: the parser's reason.
    Syntax(String),
    /// Its compiled automaton exceeds `limit` (`REGEX_SIZE_LIMIT`) bytes.
    TooBig {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl std::fmt::Display for RegexError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RegexError::Syntax(why) => f.write_str(why),
            RegexError::TooBig { limit } => {
                write!(f, "its compiled program exceeds the limit of {limit} bytes")
            }
        }
    }
}

/// The reason in an error of the regex parser, whose text shows the pattern and a caret
/// before it: its last non-empty line, without the `error: ` lead.
fn reason(text: &str) -> String {
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("syntax error")
        .trim()
        .trim_start_matches("error: ")
        .to_string()
}

/// Whether `pattern` compiles as the sensor compiles it, under its limits (`LOADER.md`
/// LOAD-10), or why not. The one regex rule: the loader, the validator and the Sigma importer
/// all decide with this.
pub fn check_regex(pattern: &str, case_insensitive: bool) -> Result<(), RegexError> {
    compile_regex(pattern, case_insensitive, false).map(|_| ())
}

/// Whether a regex the sensor accepts matches every value: it can match the empty string
/// without a look-around assertion, so an unanchored search succeeds on any text. An analysis
/// of the validator's (`VAL-OPD-5`); `false` for a pattern that does not parse.
pub fn regex_matches_everything(pattern: &str, case_insensitive: bool) -> bool {
    ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .parse(pattern)
        .is_ok_and(|h| {
            let p = h.properties();
            p.minimum_len() == Some(0) && p.look_set().is_empty()
        })
}

/// Parses and compiles `pattern`, or says why it cannot be. With `dense`, also tries to build
/// the whole DFA within `REGEX_DENSE_SIZE_LIMIT` (when the pattern has no Unicode word
/// boundary, which a whole DFA can only approximate); the second value is the determinization
/// memory that attempt spent (the DFA's size, or the limit when it did not fit), which the
/// binder counts against the content's allowance (`LOADER.md` COST-4).
pub(crate) fn compile_regex(
    pattern: &str,
    case_insensitive: bool,
    dense: bool,
) -> Result<(CompiledRegex, usize), RegexError> {
    let hir = ParserBuilder::new()
        .case_insensitive(case_insensitive)
        .nest_limit(REGEX_NEST_LIMIT)
        .build()
        .parse(pattern)
        .map_err(|e| RegexError::Syntax(reason(&e.to_string())))?;
    let nfa = thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                .which_captures(WhichCaptures::None),
        )
        .build_from_hir(&hir)
        .map_err(|e| match e.size_limit() {
            Some(limit) => RegexError::TooBig { limit },
            None => RegexError::Syntax(reason(&e.to_string())),
        })?;
    let nfa_memory = nfa.memory_usage();
    let mut spent = 0usize;
    let whole = if dense && !hir.properties().look_set().contains_word_unicode() {
        let built = dense::Builder::new()
            .configure(
                dense::Config::new()
                    .dfa_size_limit(Some(REGEX_DENSE_SIZE_LIMIT))
                    .determinize_size_limit(Some(REGEX_DENSE_SIZE_LIMIT))
                    .minimize(false),
            )
            .build_from_nfa(&nfa)
            .ok();
        spent = built
            .as_ref()
            .map_or(REGEX_DENSE_SIZE_LIMIT, |d| d.memory_usage());
        built
    } else {
        None
    };
    let pike = PikeVM::new_from_nfa(nfa.clone())
        .map_err(|e| RegexError::Syntax(reason(&e.to_string())))?;
    // A whole DFA answers every search alone. Without one, a lazy DFA answers, and the
    // PikeVM where the lazy DFA cannot be built within its cache or gives up.
    let dfa = if whole.is_some() {
        None
    } else {
        DFA::builder()
            .configure(
                DFA::config()
                    .cache_capacity(REGEX_DFA_SIZE_LIMIT)
                    .unicode_word_boundary(true),
            )
            .build_from_nfa(nfa)
            .ok()
    };
    let pike_cache = if whole.is_some() {
        0
    } else {
        pike.create_cache().memory_usage()
    };
    let memory = nfa_memory
        .saturating_add(pike_cache)
        .saturating_add(whole.as_ref().map_or(0, DenseDfa::memory_usage))
        .saturating_add(
            dfa.as_ref()
                .map_or(0, |d| d.memory_usage().saturating_add(REGEX_DFA_SIZE_LIMIT)),
        );
    let (for_dfa, for_pike) = (dfa.clone(), pike.clone());
    let make: MakeCaches = Box::new(move || Caches {
        dfa: for_dfa.as_ref().map(DfaCache::new),
        pike: for_pike.create_cache(),
    });
    Ok((
        CompiledRegex {
            regex: Regex(Arc::new(Compiled {
                dense: whole,
                dfa,
                pike,
                caches: Pool::new(make),
                memory,
            })),
            required: required_literals(&hir),
        },
        spent,
    ))
}

/// The folded literals one of which occurs in every text `hir` matches, or `None` when no
/// finite set of non-empty literals is found.
///
/// The literals a match starts or ends with (regex-syntax's extractor) are candidates, and so
/// are the literals inside: `\.exe\s+[^"]{0,64}werfaultsecure\.exe` starts with `.exe`, which
/// nearly every command line holds, but also requires `werfaultsecure.exe`. The strongest
/// candidate wins (see [`strength`]). Inner literals come from one walk of the tree, not from
/// the extractor at every node: that took a quarter of the time to load SigmaHQ's rules.
fn required_literals(hir: &Hir) -> Option<Vec<String>> {
    let mut best = extracted(hir, ExtractKind::Prefix);
    keep_stronger(&mut best, extracted(hir, ExtractKind::Suffix));
    keep_stronger(&mut best, inner_requirement(hir, REGEX_NEST_LIMIT));
    best
}

/// The strongest set of literals the tree requires in a match, from runs of fixed text in its
/// concatenations; `depth` bounds the recursion.
fn inner_requirement(hir: &Hir, depth: u32) -> Option<Vec<String>> {
    let depth = depth.checked_sub(1)?;
    match hir.kind() {
        HirKind::Literal(_) | HirKind::Class(_) => fixed_text(hir).map(|text| vec![text]),
        // Every part of a concatenation is matched: each run of parts of fixed text is
        // required (`(?i)exe` is three one-letter classes, `exe` once folded), and so is
        // whatever each part requires.
        HirKind::Concat(parts) => {
            let mut best = None;
            let mut run = String::new();
            for part in parts {
                match fixed_text(part) {
                    Some(text) => run.push_str(&text),
                    None => {
                        if !run.is_empty() {
                            keep_stronger(&mut best, Some(vec![std::mem::take(&mut run)]));
                        }
                        keep_stronger(&mut best, inner_requirement(part, depth));
                    }
                }
            }
            if !run.is_empty() {
                keep_stronger(&mut best, Some(vec![run]));
            }
            best
        }
        // One branch is matched: each branch must require something, and any of it will do.
        HirKind::Alternation(branches) => {
            let mut union = Vec::new();
            for branch in branches {
                union.extend(inner_requirement(branch, depth)?);
            }
            union.sort_unstable();
            union.dedup();
            Some(union)
        }
        HirKind::Repetition(repetition) if repetition.min > 0 => {
            inner_requirement(&repetition.sub, depth)
        }
        HirKind::Capture(capture) => inner_requirement(&capture.sub, depth),
        _ => None,
    }
}

/// The folded text every match of `hir` is, when there is one: a literal, or a class whose
/// characters all fold to the same text (a letter under case folding).
fn fixed_text(hir: &Hir) -> Option<String> {
    match hir.kind() {
        HirKind::Literal(literal) => {
            let text = std::str::from_utf8(&literal.0).ok()?;
            (!text.is_empty()).then(|| fold(text))
        }
        HirKind::Class(Class::Unicode(class)) => {
            let mut chars = class.iter().flat_map(|range| range.start()..=range.end());
            let first = fold(chars.next()?.encode_utf8(&mut [0; 4]));
            // `(?i)k` is `[Kk\u{212A}]`; a wider class is not fixed text.
            for (seen, c) in chars.enumerate() {
                if seen >= 3 || fold(c.encode_utf8(&mut [0; 4])) != first {
                    return None;
                }
            }
            Some(first)
        }
        HirKind::Capture(capture) => fixed_text(&capture.sub),
        _ => None,
    }
}

/// The folded literals every match of `hir` starts (or ends) with, by regex-syntax's extractor.
fn extracted(hir: &Hir, kind: ExtractKind) -> Option<Vec<String>> {
    let seq = Extractor::new().kind(kind).extract(hir);
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

/// How well a set of literals filters benign text: its shortest literal first (a long literal
/// occurs by chance less often), then fewer literals.
fn strength(literals: &[String]) -> (usize, std::cmp::Reverse<usize>) {
    let shortest = literals.iter().map(String::len).min().unwrap_or(0);
    (shortest, std::cmp::Reverse(literals.len()))
}

/// Replaces `best` with `candidate` if that is stronger.
fn keep_stronger(best: &mut Option<Vec<String>>, candidate: Option<Vec<String>>) {
    if let Some(candidate) = candidate
        && best
            .as_deref()
            .is_none_or(|best| strength(&candidate) > strength(best))
    {
        *best = Some(candidate);
    }
}

#[cfg(test)]
mod tests {
    use super::{CompiledRegex, RegexError, compile_regex};

    /// The regex as a sensor compiles it with the whole-DFA allowance left.
    fn compile(pattern: &str, ci: bool) -> Result<CompiledRegex, RegexError> {
        compile_regex(pattern, ci, true).map(|(regex, _)| regex)
    }

    fn lits(pattern: &str, ci: bool) -> Option<Vec<String>> {
        compile(pattern, ci).ok()?.required
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
    fn literals_required_anywhere_in_a_match() {
        assert_eq!(lits(".*abc", false), Some(vec!["abc".into()]));
        assert_eq!(lits("\\w+@", false), Some(vec!["@".into()]));
        // The longer literal inside beats the prefix.
        assert_eq!(
            lits(r#"\.exe\s+[^"]{0,64}werfaultsecure\.exe\s+\d{2,10}"#, false),
            Some(vec!["werfaultsecure.exe".into()])
        );
        // Case-insensitive: the extractor's variants fold into one literal (cut short where
        // its variants would be too many).
        let ci = lits(r"(?i)\.exe\s+werfaultsecure", false).unwrap();
        assert_eq!(ci.len(), 1);
        assert!(
            "werfaultsecure".starts_with(ci[0].as_str()) && ci[0].len() > 4,
            "{ci:?}"
        );
        // From each branch of an alternation, or none when a branch requires nothing.
        assert_eq!(
            lits("x(?:.+-abcd|.+_efgh)", false),
            Some(vec!["-abcd".into(), "_efgh".into()])
        );
        assert_eq!(lits("(?:q+ab|[a-z]+)", false), None);
        // Inside a repetition of at least one, not of zero or more.
        assert_eq!(lits("(?:[a-z]abcd)+", false), Some(vec!["abcd".into()]));
        assert_eq!(lits("[a-z](?:abcd)*", false), None);
    }

    /// Soundness, on random patterns and texts: whenever a regex matches a text, one of its
    /// required literals occurs in the folded text. Patterns mix literals, classes, `.`,
    /// alternations and repetitions over a small alphabet, with and without case folding.
    #[test]
    fn every_match_holds_a_required_literal() {
        let mut rng = dcf_test_support::Rng::new(0x9e37_79b9_7f4a_7c15);
        let mut next = |n: usize| rng.below(n);
        fn pattern(next: &mut impl FnMut(usize) -> usize, depth: u32) -> String {
            let atoms = [
                "a", "b", "C", "é", "-", "[ab]", "[^a]", ".", "\\w", "\\s", "ab",
            ];
            let parts = 1 + next(4);
            let mut out = String::new();
            for _ in 0..parts {
                let mut part = if depth > 0 && next(4) == 0 {
                    let left = pattern(next, depth - 1);
                    let right = pattern(next, depth - 1);
                    format!("(?:{left}|{right})")
                } else {
                    atoms[next(atoms.len())].to_string()
                };
                part.push_str(["", "", "", "*", "+", "?", "{2}", "{0,2}"][next(8)]);
                out.push_str(&part);
            }
            out
        }
        let alphabet = ['a', 'b', 'c', 'A', 'B', 'C', 'é', 'É', '-', ' '];
        let (mut matched, mut required) = (0, 0);
        for _ in 0..3000 {
            let source = pattern(&mut next, 2);
            let ci = next(2) == 0;
            let compiled = compile(&source, ci).unwrap();
            let Some(literals) = compiled.required else {
                continue;
            };
            required += 1;
            for _ in 0..30 {
                let text: String = (0..next(12))
                    .map(|_| alphabet[next(alphabet.len())])
                    .collect();
                if compiled.regex.is_match(&text) {
                    matched += 1;
                    let folded = crate::fold::fold(&text);
                    assert!(
                        literals.iter().any(|l| folded.contains(l.as_str())),
                        "{source:?} (case-insensitive {ci}) matches {text:?} without any of {literals:?}"
                    );
                }
            }
        }
        // The property was exercised, not vacuous.
        assert!(required > 1000 && matched > 3000, "{required} {matched}");
    }

    #[test]
    fn no_requirement_when_a_match_needs_no_literal() {
        assert_eq!(lits("a?b?", false), None);
        assert_eq!(lits("[^a]", false), None);
        assert_eq!(lits("\\w+", false), None);
    }

    #[test]
    fn compiles_like_the_regex_crate_under_limits() {
        let re = compile("^a.c$", true).unwrap().regex;
        assert!(re.is_match("AéC"));
        assert!(!re.is_match("abbc"));
        assert!(compile("(unclosed", false).is_err());
        assert!(compile("(a{1000}){1000}", false).is_err());
        assert!(compile(&format!("{}a{}", "(".repeat(100), ")".repeat(100)), false).is_err());
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
        let (mut checked, mut dense_built) = (0, 0);
        for pattern in patterns {
            for ci in [false, true] {
                let theirs = regex::RegexBuilder::new(pattern)
                    .case_insensitive(ci)
                    .build()
                    .unwrap();
                // With a whole DFA where one fits, and in the lazy DFA and PikeVM.
                for dense in [true, false] {
                    let ours = compile_regex(pattern, ci, dense).unwrap().0.regex;
                    dense_built += usize::from(ours.is_dense());
                    for text in texts {
                        assert_eq!(
                            ours.is_match(text),
                            theirs.is_match(text),
                            "{pattern:?} (case-insensitive {ci}, dense {dense}) on {text:?}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 720);
        // Most of them fit a whole DFA; `\b` (Unicode) never does.
        assert!(dense_built >= 10, "{dense_built} whole DFAs");
    }
}
