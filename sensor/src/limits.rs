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
