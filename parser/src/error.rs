//! The parser's error: a stable code, an absolute byte offset and what was found.

use core::fmt;

crate::code_table! {
    /// Stable error codes of the format (spec table `Error codes`).
    ///
    /// A code's number and meaning never change once published; new codes get new numbers.
    pub enum ErrorCode: u16 prefix "E0" {
        /// The file is larger than `MAX_FILE_SIZE`.
        FileTooLarge = 101, "file larger than the format's size limit";
        /// The first eight bytes are not the dcf magic.
        BadMagic = 102, "not a dcf file: bad magic bytes";
        /// The file ends inside the fixed header.
        TruncatedHeader = 103, "file ends inside the header";
        /// The major version is not one this reader implements.
        UnsupportedMajor = 104, "unsupported format major version";
        /// A reserved header flag bit is set.
        ReservedFlags = 105, "reserved header flag bit set";
        /// The file is too short to hold the digest and, if flagged, the signature block.
        TruncatedTrailer = 106, "file too short for its digest and signature block";
        /// The SHA-256 digest does not match the digested bytes.
        DigestMismatch = 107, "SHA-256 digest does not match the content";
        /// `created_at` is not before `expires_at`.
        InvalidTimeRange = 108, "creation time is not before expiry time";
        /// `sensor_min` is greater than `sensor_max`.
        InvalidSensorRange = 109, "minimum sensor version above maximum";
        /// Fewer than eight bytes remain where a section header is expected.
        TruncatedSectionHeader = 201, "body ends inside a section header";
        /// A section's length runs past the end of the body.
        SectionOverrun = 202, "section length runs past the end of the body";
        /// A section's tag is not greater than the previous section's tag.
        SectionOrder = 203, "section out of order or repeated";
        /// A required section is absent.
        MissingSection = 204, "required section missing";
        /// A section tag unknown to a reader of the same or a later minor version.
        UnknownSection = 205, "unknown section tag";
        /// A section's payload has bytes after its last structure.
        SectionTrailingBytes = 206, "trailing bytes in section";
        /// A structure runs past the end of its section's payload.
        SectionTruncated = 207, "section payload ends inside a structure";
        /// The string table has more entries than `MAX_STRINGS`.
        TooManyStrings = 301, "too many strings";
        /// A string's end offset is less than the previous one.
        StringOffsetsDecrease = 302, "string end offsets decrease";
        /// A string is longer than `MAX_STRING_LEN`.
        StringTooLong = 303, "string longer than the limit";
        /// A string is not valid UTF-8.
        InvalidUtf8 = 304, "string is not valid UTF-8";
        /// A sorted-index entry is not a valid string index.
        SortedIndexOutOfRange = 305, "sorted string index out of range";
        /// Two neighbours of the sorted index name equal strings (two equal strings, or one
        /// index listed twice).
        DuplicateString = 306, "duplicate string, or an index listed twice, in the string table";
        /// The sorted index does not list strings in ascending byte order.
        StringsNotSorted = 307, "sorted string index not in ascending order";
        /// A string reference is not below the string count.
        StringIndexOutOfRange = 308, "string index out of range";
        /// A string is referenced for the first time before a string listed ahead of it.
        StringOutOfFirstUseOrder = 309, "string table not in order of first use";
        /// A string of the table is never referenced.
        UnreferencedString = 310, "string never referenced";
        /// The interface declares more templates than `MAX_TEMPLATES`.
        TooManyTemplates = 401, "too many template types";
        /// Two templates have the same id.
        DuplicateTemplateId = 402, "duplicate template type id";
        /// Template ids are not in ascending order.
        TemplatesNotSorted = 403, "template types not sorted by id";
        /// A template declares more fields than `MAX_FIELDS_PER_TEMPLATE`.
        TooManyFields = 404, "template declares too many fields";
        /// A template's `first_field` is not the sum of the field counts before it.
        FieldRangeMismatch = 405, "template field range does not follow the previous one";
        /// A field type code is not defined.
        InvalidFieldType = 406, "unknown field type";
        /// The field table's count is not the sum of the templates' field counts.
        FieldCountMismatch = 407, "field table size differs from the templates' field counts";
        /// The interface declares more fields in all than `MAX_TOTAL_FIELDS`.
        TooManyTotalFields = 408, "too many fields in all";
        /// More attribute records than `MAX_ATTRIBUTES`.
        TooManyAttributes = 501, "too many attributes";
        /// More value records than `MAX_VALUES`.
        TooManyValues = 502, "too many values";
        /// More rules than `MAX_RULES`.
        TooManyRules = 601, "too many rules";
        /// Two rules have the same id.
        DuplicateRuleId = 602, "duplicate rule id";
        /// Rule ids are not in ascending order.
        RulesNotSorted = 603, "rules not sorted by id";
        /// A rule's template index is not below the template count.
        TemplateIndexOutOfRange = 604, "rule names an undeclared template type";
        /// A severity code is not defined.
        InvalidSeverity = 605, "unknown severity";
        /// An action code is not defined.
        InvalidAction = 606, "unknown action";
        /// A rule's `attr_first` is not where the previous rule's attributes end.
        AttributeRangeMismatch = 607, "rule attribute range does not follow the previous one";
        /// A rule has more attributes than `MAX_ATTRIBUTES_PER_RULE`.
        TooManyRuleAttributes = 608, "rule has too many attributes";
        /// The rules' attribute ranges do not cover the attribute table exactly.
        AttributeCountMismatch = 609, "attribute table size differs from the rules' attribute counts";
        /// A rule's `node_first` is not where the previous rule's nodes end.
        NodeRangeMismatch = 610, "rule node range does not follow the previous one";
        /// A rule's expression is empty or longer than `MAX_NODES_PER_RULE`.
        ExpressionSize = 611, "rule expression empty or too long";
        /// A node's opcode is not defined.
        UnknownOpcode = 701, "unknown opcode";
        /// A node's flags are not allowed for its opcode.
        InvalidFlags = 702, "flags not allowed for the opcode";
        /// A node's field index is not below its template's field count.
        FieldIndexOutOfRange = 703, "field index out of range for the rule's template type";
        /// A node's opcode does not apply to its field's type.
        FieldTypeMismatch = 704, "opcode does not apply to the field's type";
        /// A node field that must be zero for its opcode is not.
        NonZeroReserved = 705, "operand that must be zero is not";
        /// A node's value range does not start where the previous node's ends.
        ValueRangeMismatch = 706, "value range does not follow the previous one";
        /// A match node has no operand or more than `MAX_VALUES_PER_NODE`.
        ValueCountOutOfRange = 707, "match node has no operands or too many";
        /// An operator pops more operands than the expression has pushed.
        StackUnderflow = 708, "operator has fewer operands than it takes";
        /// A rule's expression does not leave exactly one result.
        NotSingleRoot = 709, "expression does not reduce to one result";
        /// A rule's expression is deeper than `MAX_EXPRESSION_DEPTH`.
        ExpressionTooDeep = 710, "expression nested too deeply";
        /// The node table's count is not the sum of the rules' node counts.
        NodeCountMismatch = 711, "node table size differs from the rules' node counts";
        /// The nodes' value ranges do not cover the value table exactly.
        ValueCountMismatch = 712, "value table size differs from the nodes' operand counts";
        /// More nodes than `MAX_NODES`.
        TooManyNodes = 713, "too many expression nodes";
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rejection: which rule of the spec was broken, where, and with what value.
///
/// `offset` is absolute: the index of the first byte of the offending structure or field in
/// the whole file. `found` and `expected` carry the numbers that make the message precise
/// where the check compares numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    code: ErrorCode,
    offset: usize,
    found: Option<u64>,
    expected: Option<u64>,
}

impl Error {
    /// An error with a code and an absolute offset.
    pub const fn new(code: ErrorCode, offset: usize) -> Self {
        Error {
            code,
            offset,
            found: None,
            expected: None,
        }
    }

    /// Adds the value that was found at the offset.
    #[must_use]
    pub const fn found(mut self, found: u64) -> Self {
        self.found = Some(found);
        self
    }

    /// Adds the value or bound that was expected.
    #[must_use]
    pub const fn expected(mut self, expected: u64) -> Self {
        self.expected = Some(expected);
        self
    }

    /// The stable error code.
    pub const fn code(&self) -> ErrorCode {
        self.code
    }

    /// Absolute byte offset of the offending structure or field.
    pub const fn offset(&self) -> usize {
        self.offset
    }

    /// The value found, where the check compared one.
    pub const fn found_value(&self) -> Option<u64> {
        self.found
    }

    /// The value or bound expected, where the check compared one.
    pub const fn expected_value(&self) -> Option<u64> {
        self.expected
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} at offset {}: {}",
            self.code,
            self.offset,
            self.code.description()
        )?;
        match (self.expected, self.found) {
            (Some(e), Some(v)) => write!(f, " (expected {e}, found {v})"),
            (None, Some(v)) => write!(f, " (found {v})"),
            (Some(e), None) => write!(f, " (expected {e})"),
            (None, None) => Ok(()),
        }
    }
}

impl core::error::Error for Error {}
