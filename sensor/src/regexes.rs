//! Regular expressions: parsed once, compiled under the sensor's limits, and asked for the
//! literals every match contains.
//!
//! A rule made only of regexes had no literal for the prefilter, so it ran on every event:
//! ten such SigmaHQ rules ran a regex over every process creation. The regex syntax crate
//! extracts, from a pattern's syntax tree, a finite set of literals one of which every match
//! starts (or ends) with; applied to each part of the tree, it also finds literals a match
//! holds in its middle. Folded, the strongest such set serves as the leaf's prefilter group
//! like any `contains` list. The tree is parsed once and compiled from.

use crate::prelude::*;

use alloc::sync::Arc;

use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_syntax::ParserBuilder;
use regex_syntax::hir::literal::{ExtractKind, Extractor};
use regex_syntax::hir::{Class, Hir, HirKind};

use crate::engines::Engine;
use crate::fold::fold;
use crate::limits::{REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT};

/// A compiled regex that answers whether it matches somewhere in a text. Cloning shares it.
///
/// The sensor only asks `is_match`, so only what a forward search needs is built (the
/// Thompson NFA without capture states, and the searches of `engines.rs`). The `regex`
/// crate's engine also builds a reverse NFA and literal strategies to find where matches
/// start; that was a third of the time to load SigmaHQ's rules.
#[derive(Clone, Debug)]
pub(crate) struct Regex(Arc<Engine>);

impl Regex {
    /// Bytes the regex holds at most: its automata, and one thread's search state at
    /// capacity (`LOADER.md` COST-4).
    pub(crate) fn memory(&self) -> usize {
        self.0.memory()
    }

    /// Whether a whole DFA answers every search: then no cache is needed.
    #[cfg(test)]
    pub(crate) fn is_dense(&self) -> bool {
        self.0.is_whole()
    }

    /// Steps a search takes at most per byte of text (`LOADER.md` COST-2).
    pub(crate) fn steps_per_byte(&self) -> u64 {
        self.0.steps_per_byte()
    }

    /// Steps a search takes whatever the text.
    pub(crate) fn fixed_steps(&self) -> u64 {
        self.0.fixed_steps()
    }

    /// Whether the regex matches somewhere in `text`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        self.0.is_match(text)
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

impl core::fmt::Display for RegexError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
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

/// Parses and compiles `pattern`, or says why it cannot be. With `dense`, also tries the
/// searches over the pattern's alphabet (`engines.rs`); the second value is what that attempt
/// spent, which the binder counts against the content's allowance (`LOADER.md` COST-4).
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
    let (engine, spent) =
        Engine::build(&hir, nfa, dense).map_err(|why| RegexError::Syntax(reason(&why)))?;
    Ok((
        CompiledRegex {
            regex: Regex(Arc::new(engine)),
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
                            keep_stronger(&mut best, Some(vec![core::mem::take(&mut run)]));
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
            let text = core::str::from_utf8(&literal.0).ok()?;
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
        let text = core::str::from_utf8(literal.as_bytes()).ok()?;
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
fn strength(literals: &[String]) -> (usize, core::cmp::Reverse<usize>) {
    let shortest = literals.iter().map(String::len).min().unwrap_or(0);
    (shortest, core::cmp::Reverse(literals.len()))
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

    /// Asserts that `ours` and `theirs` agree on every text; how many texts that was.
    fn assert_agrees(
        ours: &super::Regex,
        theirs: &regex::Regex,
        texts: &[impl AsRef<str>],
        label: &str,
    ) -> usize {
        for text in texts {
            let text = text.as_ref();
            assert_eq!(
                ours.is_match(text),
                theirs.is_match(text),
                "{label} on {text:?}"
            );
        }
        texts.len()
    }

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
                    let label = format!("{pattern:?} (case-insensitive {ci}, dense {dense})");
                    checked += assert_agrees(&ours, &theirs, &texts, &label);
                }
            }
        }
        assert_eq!(checked, 720);
        // Every one of them fits a whole DFA over its alphabet, Unicode word boundaries too.
        assert_eq!(dense_built, 20, "{dense_built} whole DFAs");
    }

    /// The whole DFA over a regex's alphabet (`alphabet.rs`) against the regex crate, on
    /// generated patterns of the classes, literals and assertions the rewrite treats apart
    /// (characters that fold to ASCII letters, Unicode word, space and digit characters, line
    /// anchors, both kinds of word boundary) and texts of characters from each of them.
    #[test]
    fn the_alphabet_dfa_agrees_with_the_regex_crate() {
        let atoms = [
            "a",
            "k",
            "s",
            "é",
            "ß",
            "日",
            "\\w",
            "\\W",
            "\\s",
            "\\d",
            ".",
            "(?s:.)",
            "[^a]",
            "[a-zé]",
            "\\pL",
            "[[:alpha:]]",
            "\\b",
            "\\B",
            "(?-u:\\b)",
            "^",
            "$",
            "(?m:^)",
            "(?m:$)",
            "(?Rm:$)",
            "\\n",
            "_",
            "\\x{212A}",
            "[0-9]",
        ];
        let chars = [
            "a", "A", "é", "É", "k", "K", "\u{212A}", "s", "S", "\u{17F}", "ß", " ", "\u{2003}",
            "\n", "\r", "1", "\u{663}", "_", "-", "日", "x",
        ];
        let mut rng = dcf_test_support::Rng::new(0x5eed_a1fa_be75);
        let mut next = |n: usize| rng.below(n);
        let (mut checked, mut dense_built) = (0usize, 0usize);
        for _ in 0..400 {
            let mut pattern = String::new();
            for _ in 0..1 + next(4) {
                let atom = atoms[next(atoms.len())];
                match next(6) {
                    0 => pattern.push_str(&format!("(?:{atom})+")),
                    1 => pattern.push_str(&format!("(?:{atom}|{})", atoms[next(atoms.len())])),
                    2 => pattern.push_str(&format!("(?:{atom}){{1,3}}")),
                    _ => pattern.push_str(atom),
                }
            }
            let texts: Vec<String> = (0..40)
                .map(|_| (0..next(8)).map(|_| chars[next(chars.len())]).collect())
                .collect();
            for ci in [false, true] {
                let theirs = regex::RegexBuilder::new(&pattern)
                    .case_insensitive(ci)
                    .build()
                    .unwrap();
                let ours = compile_regex(&pattern, ci, true).unwrap().0.regex;
                dense_built += usize::from(ours.is_dense());
                let label = format!("{pattern:?} (case-insensitive {ci})");
                checked += assert_agrees(&ours, &theirs, &texts, &label);
            }
        }
        assert_eq!(checked, 32_000);
        // All but the patterns with both kinds of word boundary.
        assert!(dense_built > 700, "{dense_built} of 800 whole DFAs");
    }
}
