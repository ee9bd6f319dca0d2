//! Building a match node's operands under the sensor's rules (`LOADER.md` LOAD-10): literal
//! values in comparison form, globs ([`Glob::parse`]), regexes ([`crate::check_regex`]'s
//! compiler, under `REGEX_*` limits) and CIDR blocks ([`Net::parse`]). These constructors
//! are the only definition of which operands a sensor accepts; the binder calls them and
//! reports every value they refuse.

use crate::prelude::*;

use dcf_parser::{Match, MatchKind, Operand, Target, ValueList};

use crate::fold::fold;
use crate::glob::Glob;
use crate::limits::{REGEX_DENSE_ALLOWANCE, REGEX_DENSE_SIZE_LIMIT};
use crate::net::Net;
use crate::regexes::{CompiledRegex, RegexError, compile_regex};

/// A match node's operands, built.
pub(crate) enum Operands {
    /// The operand is another field of the event.
    FieldRef {
        /// The subject field (0 for a keyword target, which the parser refuses with a field
        /// operand).
        field: u16,
        /// The other field.
        other: u16,
    },
    /// `equals`, `contains`, `starts_with`, `ends_with` values in comparison form (folded when
    /// the node is case-insensitive).
    Texts(Vec<Box<str>>),
    /// Glob patterns, over folded text when case-insensitive.
    Globs(Vec<Glob>),
    /// Compiled regexes.
    Regexes(Vec<CompiledRegex>),
    /// CIDR blocks on a field.
    Nets {
        /// The field holding addresses.
        field: u16,
        /// The blocks.
        nets: Vec<Net>,
    },
}

/// Why one operand value is refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OperandError {
    /// A regex the sensor cannot compile within its limits (E3201).
    Regex(RegexError),
    /// A malformed glob (E3202): why.
    Glob(String),
    /// A malformed CIDR operand (E3203): why.
    Cidr(String),
    /// A regex that would take the content's regexes over the sensor's memory budget (E3603,
    /// `LOADER.md` COST-4); once the budget is spent, new regexes are not compiled at all.
    Memory {
        /// Bytes the content's regexes would hold with this one (at least).
        needed: u64,
        /// The budget.
        budget: u64,
    },
}

/// The regexes built so far in one bind, by pattern and case-insensitivity (SigmaHQ's 171
/// regex operands hold 118 distinct patterns, and a compiled regex is shared by cloning), and
/// the memory they hold against the sensor's budget.
pub(crate) struct RegexCache {
    built: crate::HashMap<(Box<str>, bool), Result<CompiledRegex, RegexError>>,
    /// Bytes the distinct regexes accepted so far hold ([`crate::regexes::Regex::memory`]).
    used: u64,
    budget: u64,
    /// Determinization memory left for whole DFAs (`REGEX_DENSE_ALLOWANCE`): a failed
    /// attempt spends its limit, so a content of many regexes that do not fit costs a bounded
    /// time to load, and the regexes after the allowance run in the lazy DFA and PikeVM.
    dense_left: usize,
}

impl RegexCache {
    /// An empty cache for a sensor whose regexes may hold `budget` bytes.
    pub(crate) fn new(budget: u64) -> Self {
        RegexCache {
            built: crate::HashMap::default(),
            used: 0,
            budget,
            dense_left: REGEX_DENSE_ALLOWANCE,
        }
    }

    /// The regex `pattern`, compiled once per bind; refused when it would take the
    /// content's regexes over the memory budget.
    fn get(&mut self, pattern: &str, folded: bool) -> Result<CompiledRegex, OperandError> {
        let key = (Box::from(pattern), folded);
        if let Some(built) = self.built.get(&key) {
            return built.clone().map_err(OperandError::Regex);
        }
        if self.used >= self.budget {
            return Err(OperandError::Memory {
                needed: self.used.saturating_add(1),
                budget: self.budget,
            });
        }
        let dense = self.dense_left >= REGEX_DENSE_SIZE_LIMIT;
        let built = compile_regex(pattern, folded, dense).map(|(regex, spent)| {
            self.dense_left = self.dense_left.saturating_sub(spent);
            regex
        });
        if let Ok(regex) = &built {
            let needed = self.used.saturating_add(regex.regex.memory() as u64);
            if needed > self.budget {
                // Not cached: the same pattern later is refused the same way, and the
                // memory is not counted.
                return Err(OperandError::Memory {
                    needed,
                    budget: self.budget,
                });
            }
            self.used = needed;
        }
        self.built.insert(key, built.clone());
        built.map_err(OperandError::Regex)
    }
}

/// Builds the operands of `m`, or returns every value refused, by index in its value list.
pub(crate) fn build(
    m: &Match<ValueList<'_>>,
    regexes: &mut RegexCache,
) -> Result<Operands, Vec<(usize, OperandError)>> {
    let subject = match m.target {
        Target::Field(f) => f,
        Target::Keyword => 0,
    };
    let list = match &m.operand {
        Operand::Field(other) => {
            return Ok(Operands::FieldRef {
                field: subject,
                other: *other,
            });
        }
        Operand::Values(list) => list,
    };
    let folded = !m.case_sensitive;
    let mut refused = Vec::new();
    let operands = match m.kind {
        MatchKind::Equals | MatchKind::Contains | MatchKind::StartsWith | MatchKind::EndsWith => {
            // Each value once, in comparison form; the leaf takes ownership (no copy per value).
            Operands::Texts(
                list.iter()
                    .map(|v| {
                        if folded {
                            fold(v).into_boxed_str()
                        } else {
                            Box::from(v)
                        }
                    })
                    .collect(),
            )
        }
        MatchKind::Glob => {
            let mut globs = Vec::new();
            for (i, pattern) in list.iter().enumerate() {
                // Parsed as written, so a refusal points into the operand the author wrote;
                // then from its folded form, which is what the interpreter compares.
                match Glob::parse(pattern) {
                    Err(why) => refused.push((i, OperandError::Glob(why))),
                    Ok(glob) if !folded => globs.push(glob),
                    Ok(_) => {
                        let lower = fold(pattern);
                        // Folding never makes or breaks an escape (no character folds to `*`,
                        // `?` or `\`); if it ever did, the value is refused, not guessed at.
                        match Glob::parse(&lower) {
                            Ok(folded_glob) => globs.push(folded_glob),
                            Err(why) => refused.push((i, OperandError::Glob(why))),
                        }
                    }
                }
            }
            Operands::Globs(globs)
        }
        MatchKind::Regex => {
            let mut compiled = Vec::new();
            for (i, pattern) in list.iter().enumerate() {
                match regexes.get(pattern, folded) {
                    Ok(regex) => compiled.push(regex),
                    Err(why) => refused.push((i, why)),
                }
            }
            Operands::Regexes(compiled)
        }
        MatchKind::Cidr => {
            let mut nets = Vec::new();
            for (i, text) in list.iter().enumerate() {
                match Net::parse(text) {
                    Ok(net) => nets.push(net),
                    Err(why) => refused.push((i, OperandError::Cidr(why))),
                }
            }
            Operands::Nets {
                field: subject,
                nets,
            }
        }
    };
    if refused.is_empty() {
        Ok(operands)
    } else {
        Err(refused)
    }
}
