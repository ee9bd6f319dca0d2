//! Limits of the sensor runtime. Format limits are in `dcf_parser::limits`.

/// Compiled size limit of one regular expression (regex crate `size_limit`), in bytes.
pub const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Lazy DFA cache limit of one regular expression (regex crate `dfa_size_limit`), in bytes.
pub const REGEX_DFA_SIZE_LIMIT: usize = 2 << 20;
/// Nesting limit of a regular expression's syntax tree.
pub const REGEX_NEST_LIMIT: u32 = 64;
/// Any-of lists longer than this use a hash set (equals) or the prefilter's hits (contains).
pub const LINEAR_LIST_MAX: usize = 8;
/// Most literal groups a rule's prefilter requires to hit before the rule is evaluated.
pub const MAX_PREFILTER_GROUPS: usize = 3;
/// Length of the atom (the window of a literal the prefilter automata are built over): longer
/// atoms hit ordinary text less often, shorter ones make smaller automata.
pub const ATOM_LEN: usize = 4;
/// Prefilters with at most this many literals search for each on its own instead of building
/// an automaton.
pub const FEW_LITERALS_MAX: usize = 8;
