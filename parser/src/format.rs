//! Format definitions: magic, offsets, record sizes, section tags, opcodes and flag bits.
//!
//! These constants are the byte-level vocabulary of `format-spec/SPEC.md`; the reader
//! (`view`) and the writer (`encode`) both use them, so a change here changes both at once.
//! Every name refers to the spec's table of the same name.

/// The eight magic bytes that open every dcf file (`\x89DCF\r\n\x1a\n`).
///
/// Like PNG's signature: the high first byte catches 7-bit transfers, the CR LF pair and the
/// lone LF catch line-ending translation, and `\x1a` stops `type` on old consoles.
pub const MAGIC: [u8; 8] = [0x89, b'D', b'C', b'F', b'\r', b'\n', 0x1a, b'\n'];

/// The format major version this crate reads and writes. Any other major is rejected.
pub const FORMAT_MAJOR: u16 = 1;
/// The format minor version this crate writes and fully understands.
pub const FORMAT_MINOR: u16 = 0;

/// Size in bytes of the fixed header (spec table `Header`).
pub const HEADER_LEN: usize = 56;
/// Size in bytes of the SHA-256 digest that follows the body.
pub const DIGEST_LEN: usize = 32;
/// Size in bytes of a key id in the signature block.
pub const KEY_ID_LEN: usize = 16;
/// Size in bytes of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Size in bytes of the optional signature block (key id, then signature).
pub const SIGNATURE_BLOCK_LEN: usize = 80;
/// Size in bytes of a section header (tag, then payload length).
pub const SECTION_HEADER_LEN: usize = 8;

/// Byte offsets of the header fields (spec table `Header`).
pub mod header {
    /// `magic`: 8 bytes.
    pub const MAGIC: usize = 0;
    /// `major`: u16.
    pub const MAJOR: usize = 8;
    /// `minor`: u16.
    pub const MINOR: usize = 10;
    /// `flags`: u32.
    pub const FLAGS: usize = 12;
    /// `channel`: u32.
    pub const CHANNEL: usize = 16;
    /// `sequence`: u64.
    pub const SEQUENCE: usize = 20;
    /// `created_at`: u64, seconds since the Unix epoch.
    pub const CREATED_AT: usize = 28;
    /// `expires_at`: u64, seconds since the Unix epoch.
    pub const EXPIRES_AT: usize = 36;
    /// `sensor_min`: three u16 (major, minor, patch).
    pub const SENSOR_MIN: usize = 44;
    /// `sensor_max`: three u16 (major, minor, patch).
    pub const SENSOR_MAX: usize = 50;
}

/// Header flag: a signature block follows the digest. All other bits are reserved (zero).
pub const FLAG_SIGNED: u32 = 0x0000_0001;
/// Mask of every header flag bit defined by major version 1.
pub const KNOWN_FLAGS: u32 = FLAG_SIGNED;

/// Section tags, in the order the sections must appear.
pub mod tag {
    /// The interned string table.
    pub const STRINGS: u32 = 1;
    /// The declared interface: template types and their input fields.
    pub const INTERFACE: u32 = 2;
    /// Rule attributes (key/value string pairs).
    pub const ATTRIBUTES: u32 = 3;
    /// Value lists of match predicates (string references).
    pub const VALUES: u32 = 4;
    /// Rule records.
    pub const RULES: u32 = 5;
    /// Expression nodes of all rules, in postfix order.
    pub const NODES: u32 = 6;
    /// Every section tag that major version 1, minor version 0 requires, in order.
    pub const REQUIRED: [u32; 6] = [STRINGS, INTERFACE, ATTRIBUTES, VALUES, RULES, NODES];
}

/// Record sizes of the fixed-size tables.
pub mod record {
    /// A string table entry's end offset (u32) and its sorted-index entry (u32) are each this.
    pub const STRING_INDEX: usize = 4;
    /// Template record: id u32, name u32, first_field u32, field_count u32.
    pub const TEMPLATE: usize = 16;
    /// Field record: name u32, type u8.
    pub const FIELD: usize = 5;
    /// Attribute record: key u32, value u32.
    pub const ATTRIBUTE: usize = 8;
    /// Value record: string u32.
    pub const VALUE: usize = 4;
    /// Rule record, see the spec's `Rule` table.
    pub const RULE: usize = 44;
    /// Node record: op u8, flags u8, field u16, a u32, b u32.
    pub const NODE: usize = 12;
}

/// Field type codes (spec table `Field types`).
pub mod field_type {
    /// UTF-8 text.
    pub const STRING: u8 = 1;
    /// Signed 64-bit integer.
    pub const INTEGER: u8 = 2;
    /// IPv4 or IPv6 address.
    pub const IP: u8 = 3;
}

/// Severity codes.
pub mod severity {
    /// Informational.
    pub const INFORMATIONAL: u8 = 0;
    /// Low.
    pub const LOW: u8 = 1;
    /// Medium.
    pub const MEDIUM: u8 = 2;
    /// High.
    pub const HIGH: u8 = 3;
    /// Critical.
    pub const CRITICAL: u8 = 4;
}

/// Action codes.
pub mod action {
    /// Record the match in telemetry only.
    pub const LOG: u8 = 0;
    /// Raise a detection.
    pub const DETECT: u8 = 1;
    /// Raise a detection and block the activity.
    pub const BLOCK: u8 = 2;
}

/// Expression node opcodes (spec table `Opcodes`).
pub mod op {
    /// Pops `a` operands; true when all are true (true when `a` is 0).
    pub const AND: u8 = 0x01;
    /// Pops `a` operands; true when any is true (false when `a` is 0).
    pub const OR: u8 = 0x02;
    /// Pops one operand and negates it.
    pub const NOT: u8 = 0x03;
    /// Pops `b` operands; true when at least `a` of them are true.
    pub const AT_LEAST: u8 = 0x04;
    /// Wildcard: any value of `field`, present or not.
    pub const ANY: u8 = 0x10;
    /// `field` has a value.
    pub const EXISTS: u8 = 0x11;
    /// `field` has no value (absent or null).
    pub const IS_NULL: u8 = 0x12;
    /// The field value equals an operand.
    pub const EQUALS: u8 = 0x20;
    /// The field value contains an operand.
    pub const CONTAINS: u8 = 0x21;
    /// The field value starts with an operand.
    pub const STARTS_WITH: u8 = 0x22;
    /// The field value ends with an operand.
    pub const ENDS_WITH: u8 = 0x23;
    /// The field value matches a glob operand (`*`, `?`, `\` escapes).
    pub const GLOB: u8 = 0x24;
    /// The field value matches a regular expression operand.
    pub const REGEX: u8 = 0x25;
    /// The field value is an IP address inside a CIDR operand.
    pub const CIDR: u8 = 0x26;
    /// The field value, as an integer, equals the operand.
    pub const NUM_EQ: u8 = 0x30;
    /// The field value, as an integer, is less than the operand.
    pub const NUM_LT: u8 = 0x31;
    /// The field value, as an integer, is at most the operand.
    pub const NUM_LE: u8 = 0x32;
    /// The field value, as an integer, is greater than the operand.
    pub const NUM_GT: u8 = 0x33;
    /// The field value, as an integer, is at least the operand.
    pub const NUM_GE: u8 = 0x34;
}

/// Flag bits of match nodes (opcodes `0x20..=0x26`).
pub mod match_flag {
    /// Compare bytes exactly; otherwise compare with Unicode simple case folding.
    pub const CASE_SENSITIVE: u8 = 0x01;
    /// Every operand must match; otherwise any one operand suffices.
    pub const ALL_OF: u8 = 0x02;
    /// Keyword search: the predicate is tried on every string field of the event.
    pub const KEYWORD: u8 = 0x04;
    /// The operand is another field of the same event (`a` is its index), not a value list.
    pub const FIELD_REF: u8 = 0x08;
    /// Every match flag bit.
    pub const ALL: u8 = CASE_SENSITIVE | ALL_OF | KEYWORD | FIELD_REF;
}

/// Domain-separation prefix of the signed message: the message is this prefix followed by
/// the 32-byte digest.
pub const SIGNATURE_CONTEXT: &[u8] = b"dcf content signature v1\0";
/// Domain-separation prefix hashed before a public key to derive its key id.
pub const KEY_ID_CONTEXT: &[u8] = b"dcf key id v1\0";
