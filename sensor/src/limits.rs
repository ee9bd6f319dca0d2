//! Limits of the sensor runtime. Format limits are in `dcf_parser::limits`.

/// Compiled size limit of one regular expression (regex crate `size_limit`), in bytes.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Lazy DFA cache limit of one regular expression (regex crate `dfa_size_limit`), in bytes.
pub const REGEX_DFA_SIZE_LIMIT: usize = 256 << 10;
/// Largest whole (dense) DFA of one regex, and the most memory building it may take, in
/// bytes. A regex within it costs one transition per byte of text; a larger one runs in the
/// lazy DFA and PikeVM, at a cost per byte that grows with its automaton (`LOADER.md` COST-2).
pub const REGEX_DENSE_SIZE_LIMIT: usize = 16 << 10;
/// Determinization memory one content's regexes may spend on whole DFAs, in bytes: an attempt
/// that does not fit spends [`REGEX_DENSE_SIZE_LIMIT`], so this bounds
/// the time whole DFAs add to a load.
pub const REGEX_DENSE_ALLOWANCE: usize = 1 << 20;
/// Most steps (an interval of code points visited, or a class) cutting one regex's characters
/// into the classes of its alphabet may take (`alphabet.rs`); a regex that needs more is
/// searched over UTF-8 bytes.
pub const ALPHABET_WORK_LIMIT: usize = 1 << 16;
/// Nesting limit of a regular expression's syntax tree.
pub const REGEX_NEST_LIMIT: u32 = 64;
/// Any-of lists longer than this use a hash set (equals) or the prefilter's hits (contains).
pub const LINEAR_LIST_MAX: usize = 8;
/// Most literal groups a rule's prefilter requires to hit before the rule is evaluated.
pub const MAX_PREFILTER_GROUPS: usize = 3;
/// Shortest atom (the window of a literal the prefilter looks up at every text position) of a
/// literal at least this long: windows of 4 bytes tell most literals apart.
pub const ATOM_LEN_MIN: usize = 4;
/// Longest atom: a prefilter whose literals are all at least this long (hash lists) uses atoms
/// of this length, which random-looking text (other hashes, GUIDs) almost never hits.
pub const ATOM_LEN_MAX: usize = 7;
/// Prefilters with at most this many literals search for each on its own. From two literals
/// on, one shift-or pass over an event's short fields was faster than a search per literal
/// (SigmaHQ end to end: 8 literals per search 178 K events/s, 1 literal 182 K, 0 184 K, within
/// noise of each other); one literal keeps the SIMD search for long texts.
pub const FEW_LITERALS_MAX: usize = 1;
/// Prefilters with more literals than [`FEW_LITERALS_MAX`] and at most this many filter text
/// with a bucketed shift-or; larger ones look up atoms. With eight buckets of at most eight
/// literals, a bucket's union of bytes per position still dismisses most positions.
pub const SHIFT_OR_LITERALS_MAX: usize = 64;

/// Default of a sensor's [`crate::Budget::steps_per_byte`]: the most steps (bytes compared,
/// automaton states visited) the matchers reading one field may take per byte of its text.
pub const DEFAULT_STEPS_PER_BYTE: u64 = 1 << 15;
/// Default of [`crate::Budget::steps_per_event`]: steps of one event whatever its size.
pub const DEFAULT_STEPS_PER_EVENT: u64 = 1 << 24;
/// Default of [`crate::Budget::memory`]: bytes the regexes of one content may hold.
pub const DEFAULT_MATCHER_MEMORY: u64 = 128 << 20;
/// Steps a regex without a whole DFA costs per byte and per state of its NFA: the lazy DFA
/// building a state of at most every NFA state at each byte (and, for a regex without an
/// alphabet, the PikeVM visiting each where the lazy DFA gives up). Weighted so that a step
/// takes about as long as in the other matchers, some 0.3 ns: a state costs some 4 ns per
/// byte (`sensor/benches/adversarial.rs`).
pub const REGEX_STEPS_PER_STATE: u64 = 16;
/// Steps a regex answered by a whole DFA costs per byte besides its character's class
/// look-up: decoding the character and one transition, counted as the few byte comparisons
/// they cost (`sensor/benches/adversarial.rs`: some 2 ns per byte).
pub const REGEX_DENSE_STEPS: u64 = 6;
/// Steps a regex searched by a lazy DFA over its alphabet costs per byte besides its states:
/// where every transition is new, building a DFA state (hashing it, caching it, clearing the
/// cache when full) at each byte, some 250 ns whatever the NFA's size
/// (`sensor/benches/adversarial.rs`).
pub const REGEX_LAZY_STEPS: u64 = 1 << 10;
/// The same for a regex without an alphabet: the lazy DFA over UTF-8 bytes gives up where it
/// thrashes, and the PikeVM starts over, some 500 ns per byte whatever the NFA's size.
pub const REGEX_UNICODE_STEPS: u64 = 1 << 11;
/// Folding makes a text at most `FOLD_GROWTH_NUM / FOLD_GROWTH_DEN` times as long (a two-byte
/// capital whose lowercase takes three bytes).
pub const FOLD_GROWTH_NUM: u64 = 3;
/// See [`FOLD_GROWTH_NUM`].
pub const FOLD_GROWTH_DEN: u64 = 2;
/// Exhaustive evaluation (no prefilter: what dry runs use) may take this many times the
/// sensor's budget for an event: it compares every value of the long lists that the
/// prefilter answers from its hits.
pub const EXHAUSTIVE_BUDGET_FACTOR: u64 = 64;
