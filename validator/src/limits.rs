//! Every limit the validator enforces, in one place (`format-spec/DIAGNOSTICS.md`, section
//! `Limits`). The format's own limits are in `dcf_parser::limits`; these come on top of them
//! and bound what a sensor spends on one event, so that no content can starve the fleet.

/// The regex limits are the sensor's (`dcf_sensor::limits`), defined there once: the validator
/// judges regexes only through the sensor's binder, and re-exports them for the table in
/// `DIAGNOSTICS.md` and for the dry run's samplers.
pub use dcf_sensor::limits::{REGEX_DFA_SIZE_LIMIT, REGEX_NEST_LIMIT, REGEX_SIZE_LIMIT};

// The cost budgets are the sensor's (`dcf_sensor::Budget`, `LOADER.md` COST-5): each manifest
// carries its sensor's, and the binder decides them (E1301–E1303 show its E3601–E3603).

/// Largest authoring source file (YAML or JSON) the compiler reads, in bytes (E9003).
pub const MAX_SOURCE_SIZE: u64 = 16 * 1024 * 1024;
/// Deepest nesting of sequences and mappings in an authoring source (E2016).
pub const MAX_SOURCE_DEPTH: usize = 256;
/// Largest sensor manifest, in bytes (E9003).
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;
/// Largest key file, in bytes (E9003).
pub const MAX_KEY_FILE_SIZE: u64 = 4096;
/// Largest events file `dcf test` reads (`--events`, `--benign`), in bytes (E9003).
pub const MAX_EVENTS_FILE_SIZE: u64 = 256 * 1024 * 1024;

/// Sequence numbers a content must leave after its own (E1405): a sensor that loads a content
/// refuses every later one whose sequence is not greater (E3008), so a sequence near
/// `u64::MAX` bricks its channel. 2^32 leaves room for an update a second for 136 years.
pub const SEQUENCE_RESERVE: u64 = 1 << 32;
/// Sequence numbers from which a content is warned about (E1406): the upper half of the range,
/// which no counter or clock in seconds reaches by accident.
pub const SEQUENCE_WARNING: u64 = 1 << 63;
/// Largest step over the `--previous` content's sequence without `--allow-sequence-jump`
/// (E1407). The compiler's default sequence is the creation time in seconds, so a step from a
/// hand-numbered sequence to a clock-based one stays below this until the year 2106.
pub const MAX_SEQUENCE_JUMP: u64 = 1 << 32;
/// Deepest directory level below a command-line argument that input expansion enters (E9006
/// for what lies deeper).
pub const MAX_WALK_DEPTH: usize = 32;
/// Most threads `dcf validate -j` starts.
pub const MAX_JOBS: usize = 256;
