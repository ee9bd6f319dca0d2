//! The searches a compiled regex runs, each with the worst case the cost model charges it
//! (`LOADER.md` COST-2), from the cheapest:
//!
//! - a whole DFA over the regex's alphabet (`alphabet.rs`): per character one look-up of its
//!   class byte and one transition;
//! - a lazy DFA over the same alphabet, for a regex whose whole DFA is too big: per character
//!   the look-up and a transition, or, where the transition is new, the NFA states the new
//!   DFA state is made of. It never gives up: when its cache fills it clears it and goes on,
//!   so the worst case is the NFA's states per character, of the NFA over class bytes, which
//!   is a fraction of the NFA over UTF-8 (SigmaHQ's largest on `CommandLine`: 569 states
//!   against 2,361);
//! - for a regex that has no alphabet (it mixes Unicode and ASCII word boundaries, or
//!   matches raw bytes), the lazy DFA over UTF-8 and, where it gives up, the PikeVM: the
//!   NFA's states per byte.
//!
//! Both searches over class bytes are driven a character at a time, so the text is never
//! copied.

use crate::prelude::*;

use core::panic::{RefUnwindSafe, UnwindSafe};

use regex_automata::dfa::dense::{self, DFA as DenseDfa};
use regex_automata::dfa::{Automaton, StartKind};
use regex_automata::hybrid::dfa::{Cache as LazyCache, DFA as LazyDfa};
use regex_automata::nfa::thompson::pikevm::{Cache as PikeCache, PikeVM};
use regex_automata::nfa::thompson::{self, NFA, WhichCaptures};
use regex_automata::util::pool::Pool;
use regex_automata::util::primitives::StateID;
use regex_automata::util::start;
use regex_automata::{Anchored, Input};
use regex_syntax::hir::Hir;

use crate::alphabet::{Alphabet, compress};
use crate::limits::{
    REGEX_DENSE_SIZE_LIMIT, REGEX_DENSE_STEPS, REGEX_DFA_SIZE_LIMIT, REGEX_LAZY_STEPS,
    REGEX_SIZE_LIMIT, REGEX_STEPS_PER_STATE, REGEX_UNICODE_STEPS,
};

/// One thread's search state.
struct Caches {
    lazy: Option<LazyCache>,
    pike: Option<PikeCache>,
}

type MakeCaches = Box<dyn Fn() -> Caches + Send + Sync + UnwindSafe + RefUnwindSafe>;

/// How a regex is searched.
enum Search {
    /// A whole DFA over class bytes.
    Whole {
        alphabet: Alphabet,
        dfa: DenseDfa<Vec<u32>>,
        /// The unanchored start state at the start of a text.
        start: StateID,
    },
    /// A lazy DFA over class bytes that never gives up.
    Lazy {
        alphabet: Alphabet,
        dfa: LazyDfa,
        states: usize,
    },
    /// The lazy DFA over UTF-8, and the PikeVM where it gives up.
    Unicode { dfa: Option<LazyDfa>, pike: PikeVM },
}

/// A regex's search, with its caches and what it holds.
pub(crate) struct Engine {
    search: Search,
    caches: Pool<Caches, MakeCaches>,
    memory: usize,
}

impl core::fmt::Debug for Engine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let kind = match &self.search {
            Search::Whole { .. } => "whole DFA",
            Search::Lazy { .. } => "lazy DFA over classes",
            Search::Unicode { .. } => "lazy DFA and PikeVM",
        };
        f.debug_struct("Engine")
            .field("search", &kind)
            .field("states", &self.states())
            .finish()
    }
}

/// The NFA over class bytes of a rewritten regex.
fn class_nfa(rewritten: &Hir) -> Option<NFA> {
    thompson::Compiler::new()
        .configure(
            thompson::Config::new()
                .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                .which_captures(WhichCaptures::None)
                .utf8(false),
        )
        .build_from_hir(rewritten)
        .ok()
}

/// The whole DFA of `nfa` within `REGEX_DENSE_SIZE_LIMIT`, and its start state.
fn whole_dfa(nfa: &NFA) -> Option<(DenseDfa<Vec<u32>>, StateID)> {
    let dfa = dense::Builder::new()
        .configure(
            // The search steps the DFA itself, a character at a time: acceleration, which only
            // the crate's own searches use, would be built for nothing.
            dense::Config::new()
                .accelerate(false)
                .start_kind(StartKind::Unanchored)
                .dfa_size_limit(Some(REGEX_DENSE_SIZE_LIMIT))
                .determinize_size_limit(Some(REGEX_DENSE_SIZE_LIMIT))
                .minimize(false),
        )
        .build_from_nfa(nfa)
        .ok()?;
    let start = dfa
        .start_state(&start::Config::new().anchored(Anchored::No))
        .ok()?;
    Some((dfa, start))
}

/// A lazy DFA over `nfa` with a cache of `REGEX_DFA_SIZE_LIMIT`.
fn lazy_dfa(nfa: NFA, unicode_word_boundary: bool) -> Option<LazyDfa> {
    LazyDfa::builder()
        .configure(
            LazyDfa::config()
                .cache_capacity(REGEX_DFA_SIZE_LIMIT)
                .unicode_word_boundary(unicode_word_boundary),
        )
        .build_from_nfa(nfa)
        .ok()
}

impl Engine {
    /// The search of a regex whose parsed tree is `hir` and Unicode NFA `nfa`: over its
    /// alphabet when it has one, with a whole DFA if `whole` allows the attempt and it fits.
    /// The second value is what the attempt at a whole DFA spent (its size, or
    /// `REGEX_DENSE_SIZE_LIMIT` when it did not fit), which the binder counts against the
    /// content's allowance (`LOADER.md` COST-4); the alphabet's own work is bounded per regex
    /// by `ALPHABET_WORK_LIMIT`, like its compilation by `REGEX_SIZE_LIMIT`.
    pub(crate) fn build(hir: &Hir, nfa: NFA, whole: bool) -> Result<(Engine, usize), String> {
        let mut spent = 0usize;
        if let Some((alphabet, rewritten)) = compress(hir)
            && let Some(class_nfa) = class_nfa(&rewritten)
        {
            let alphabet_memory = alphabet.memory();
            if whole {
                let built = whole_dfa(&class_nfa);
                spent = built
                    .as_ref()
                    .map_or(REGEX_DENSE_SIZE_LIMIT, |(d, _)| d.memory_usage());
                if let Some((dfa, start)) = built {
                    let memory = dfa.memory_usage().saturating_add(alphabet_memory);
                    let search = Search::Whole {
                        alphabet,
                        dfa,
                        start,
                    };
                    return Ok((Engine::new(search, memory), spent));
                }
            }
            let (states, nfa_memory) = (class_nfa.states().len(), class_nfa.memory_usage());
            if let Some(dfa) = lazy_dfa(class_nfa, false) {
                let memory = nfa_memory
                    .saturating_add(alphabet_memory)
                    .saturating_add(dfa.memory_usage())
                    .saturating_add(REGEX_DFA_SIZE_LIMIT);
                let search = Search::Lazy {
                    alphabet,
                    dfa,
                    states,
                };
                return Ok((Engine::new(search, memory), spent));
            }
        }
        let nfa_memory = nfa.memory_usage();
        let pike = PikeVM::new_from_nfa(nfa.clone()).map_err(|e| e.to_string())?;
        let dfa = lazy_dfa(nfa, true);
        let memory = nfa_memory
            .saturating_add(pike.create_cache().memory_usage())
            .saturating_add(
                dfa.as_ref()
                    .map_or(0, |d| d.memory_usage().saturating_add(REGEX_DFA_SIZE_LIMIT)),
            );
        Ok((Engine::new(Search::Unicode { dfa, pike }, memory), spent))
    }

    fn new(search: Search, memory: usize) -> Engine {
        let (lazy, pike) = match &search {
            Search::Whole { .. } => (None, None),
            Search::Lazy { dfa, .. } => (Some(dfa.clone()), None),
            Search::Unicode { dfa, pike } => (dfa.clone(), Some(pike.clone())),
        };
        let make: MakeCaches = Box::new(move || Caches {
            lazy: lazy.as_ref().map(LazyCache::new),
            pike: pike.as_ref().map(PikeVM::create_cache),
        });
        Engine {
            search,
            caches: Pool::new(make),
            memory,
        }
    }

    /// States of the NFA the search's worst case visits per character (none for a whole
    /// DFA, whose states are looked up, not visited).
    fn states(&self) -> usize {
        match &self.search {
            Search::Whole { .. } => 0,
            Search::Lazy { states, .. } => *states,
            Search::Unicode { pike, .. } => pike.get_nfa().states().len(),
        }
    }

    /// Steps a search takes at most per byte of text (`LOADER.md` COST-2).
    pub(crate) fn steps_per_byte(&self) -> u64 {
        let visit = |states: usize| (states as u64).saturating_mul(REGEX_STEPS_PER_STATE);
        match &self.search {
            Search::Whole { alphabet, .. } => {
                REGEX_DENSE_STEPS.saturating_add(alphabet.lookup_steps())
            }
            Search::Lazy {
                alphabet, states, ..
            } => visit(*states)
                .saturating_add(REGEX_LAZY_STEPS)
                .saturating_add(alphabet.lookup_steps()),
            Search::Unicode { pike, .. } => {
                visit(pike.get_nfa().states().len()).saturating_add(REGEX_UNICODE_STEPS)
            }
        }
    }

    /// Steps whatever the text: starting the search (the start state's NFA states, or one
    /// look-up).
    pub(crate) fn fixed_steps(&self) -> u64 {
        (self.states() as u64).max(1)
    }

    /// Whether a whole DFA answers every search.
    #[cfg(test)]
    pub(crate) fn is_whole(&self) -> bool {
        matches!(self.search, Search::Whole { .. })
    }

    /// Bytes the search holds at most: its automata and one thread's caches at capacity.
    pub(crate) fn memory(&self) -> usize {
        self.memory
    }

    /// Whether the regex matches somewhere in `text`.
    pub(crate) fn is_match(&self, text: &str) -> bool {
        match &self.search {
            Search::Whole {
                alphabet,
                dfa,
                start,
            } => whole_is_match(alphabet, dfa, *start, text),
            Search::Lazy { alphabet, dfa, .. } => {
                let mut caches = self.caches.get();
                match caches.lazy.as_mut() {
                    Some(cache) => lazy_is_match(alphabet, dfa, cache, text),
                    // `new` makes a cache for every lazy DFA.
                    None => false,
                }
            }
            Search::Unicode { dfa, pike } => {
                let input = Input::new(text).earliest(true);
                let mut caches = self.caches.get();
                let caches = &mut *caches;
                if let (Some(dfa), Some(cache)) = (dfa, caches.lazy.as_mut())
                    && let Ok(found) = dfa.try_search_fwd(cache, &input)
                {
                    return found.is_some();
                }
                match caches.pike.as_mut() {
                    Some(cache) => pike.is_match(cache, input),
                    None => false,
                }
            }
        }
    }
}

/// A whole DFA's search, a character at a time: by bytes when the text is ASCII (most are),
/// looking each up in the alphabet's table, and by decoded characters otherwise. Its word
/// boundaries are ASCII ones over class bytes, so it has no quit bytes and always answers.
fn whole_is_match(
    alphabet: &Alphabet,
    dfa: &DenseDfa<Vec<u32>>,
    start: StateID,
    text: &str,
) -> bool {
    let mut state = start;
    // Whether the search is decided at `state`.
    let decided = |state: StateID| -> Option<bool> {
        if !dfa.is_special_state(state) {
            return None;
        }
        if dfa.is_match_state(state) {
            return Some(true);
        }
        dfa.is_dead_state(state).then_some(false)
    };
    if text.is_ascii() {
        for &b in text.as_bytes() {
            state = dfa.next_state(state, alphabet.class_of_ascii(b));
            if let Some(found) = decided(state) {
                return found;
            }
        }
    } else {
        for c in text.chars() {
            state = dfa.next_state(state, alphabet.class_of(c));
            if let Some(found) = decided(state) {
                return found;
            }
        }
    }
    dfa.is_match_state(dfa.next_eoi_state(state))
}

/// A lazy DFA's search, a character at a time. Built without a minimum of cache clears, it
/// never gives up, and without Unicode word boundaries it never quits; either would be an
/// error of the engine, answered as no match.
fn lazy_is_match(alphabet: &Alphabet, dfa: &LazyDfa, cache: &mut LazyCache, text: &str) -> bool {
    let config = start::Config::new().anchored(Anchored::No);
    let Ok(mut state) = dfa.start_state(cache, &config) else {
        return false;
    };
    for c in text.chars() {
        let Ok(next) = dfa.next_state(cache, state, alphabet.class_of(c)) else {
            return false;
        };
        state = next;
        if state.is_tagged() {
            if state.is_match() {
                return true;
            }
            if state.is_dead() || state.is_quit() {
                return false;
            }
        }
    }
    dfa.next_eoi_state(cache, state)
        .is_ok_and(|end| end.is_match())
}
