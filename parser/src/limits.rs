//! Every limit of the format, in one place (spec table `Limits`).
//!
//! A reader rejects a file that exceeds any of them with the code named beside it, and the
//! writer refuses to produce one. The limits bound memory and time: every declared count is
//! also checked against the bytes that remain, so no allocation is ever sized by a count that
//! the input has not paid for in bytes.

/// Largest accepted file, in bytes (E0101). Checked before anything else is read.
pub const MAX_FILE_SIZE: usize = 64 * 1024 * 1024;
/// Most entries in the string table (E0301).
pub const MAX_STRINGS: u32 = 1 << 20;
/// Longest string, in bytes (E0303).
pub const MAX_STRING_LEN: u32 = 64 * 1024;
/// Most template types in the declared interface (E0401).
pub const MAX_TEMPLATES: u32 = 1024;
/// Most input fields of one template type (E0404). Field indexes are u16 on the wire.
pub const MAX_FIELDS_PER_TEMPLATE: u32 = 1024;
/// Most input fields over all template types (E0408).
pub const MAX_TOTAL_FIELDS: u32 = 1 << 16;
/// Most attribute records in the file (E0501).
pub const MAX_ATTRIBUTES: u32 = 1 << 22;
/// Most attributes of one rule (E0608).
pub const MAX_ATTRIBUTES_PER_RULE: u32 = 256;
/// Most value records in the file (E0502).
pub const MAX_VALUES: u32 = 1 << 22;
/// Most operands of one match node (E0707).
pub const MAX_VALUES_PER_NODE: u32 = 1 << 16;
/// Most rules (E0601).
pub const MAX_RULES: u32 = 1 << 20;
/// Most expression nodes in the file (E0713).
pub const MAX_NODES: u32 = 1 << 24;
/// Most expression nodes of one rule (E0611). This also bounds the postfix stack.
pub const MAX_NODES_PER_RULE: u32 = 2048;
/// Deepest expression tree, counting a lone leaf as depth 1 (E0710).
pub const MAX_EXPRESSION_DEPTH: u8 = 64;

// The postfix checker keeps one byte of depth per stack slot on the native stack; these
// assertions keep that array small enough for a kernel stack and the depth in a u8.
const _: () = assert!(MAX_NODES_PER_RULE <= 4096);
const _: () = assert!(MAX_FIELDS_PER_TEMPLATE <= u16::MAX as u32 + 1);
const _: () = assert!(MAX_FILE_SIZE <= u32::MAX as usize);
